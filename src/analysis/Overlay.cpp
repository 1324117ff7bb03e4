#include "analysis/Overlay.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numbers>
#include <set>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/Errors.h"
#include "core/Normalize.h"
#include "core/ScaleBar.h"
#include "io/AtomicFile.h"

namespace stmlens {

namespace {

cv::Scalar bgr(const std::array<uint8_t, 3>& c) { return cv::Scalar(c[2], c[1], c[0]); }

constexpr int kShift = 4;  // sub-pixel drawing: coordinates in 1/16 pixel
cv::Point fixedPoint(double x, double y) {
    return {static_cast<int>(std::lround(x * (1 << kShift))), static_cast<int>(std::lround(y * (1 << kShift)))};
}

}  // namespace

std::array<uint8_t, 3> classColor(const std::string& cls) {
    static const std::map<std::string, std::array<uint8_t, 3>> known{
        {"bright", {255, 60, 60}},       {"db", {255, 60, 60}},           {"dark", {60, 120, 255}},
        {"vacancy", {60, 120, 255}},     {"step_edge", {255, 210, 0}},    {"contamination", {200, 120, 40}},
        {"bare_si", {190, 80, 255}},     {"cluster", {255, 140, 0}},      {"siloxane", {64, 224, 208}},
        {"etch_pit", {255, 255, 0}},     {"dihydride", {150, 90, 230}},   {"missing_dimer", {227, 28, 121}},
        {"raised_silicon", {150, 170, 190}}};
    if (auto it = known.find(cls); it != known.end()) return it->second;
    static const std::array<std::array<uint8_t, 3>, 8> palette{{{230, 25, 75}, {60, 180, 75}, {255, 225, 25},
                                                                {0, 130, 200}, {245, 130, 48}, {145, 30, 180},
                                                                {70, 240, 240}, {240, 50, 230}}};
    size_t h = 1469598103u;
    for (char c : cls) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    return palette[h % palette.size()];
}

OverlayOptions overlayOptionsWithMasks(const std::vector<std::pair<std::string, Image>>& masks) {
    OverlayOptions o;
    for (const auto& [name, mask] : masks) {
        if (name == "step_edge") {
            o.masks.push_back({mask, classColor("step_edge"), 0.55, ""});
            o.unboxedClasses.insert("step_edge");
        } else if (name == "unresolved") {
            o.masks.push_back({mask, {150, 30, 30}, 0.3, "unresolved"});
        }
    }
    return o;
}

int overlayScale(const Image& scan, const OverlayOptions& options) {
    const int longSide = std::max(scan.width(), scan.height());
    if (longSide <= 0) return 1;
    return std::clamp((options.minLongSidePx + longSide - 1) / longSide, 1, 8);
}

RgbImage renderOverlay(const Image& scan, const AnalysisResult& result, const OverlayOptions& options) {
    if (scan.empty()) throw InputError("overlay", "empty scan");
    const int w = scan.width(), h = scan.height();
    const int k = overlayScale(scan, options);
    const auto [lo, hi] = percentileRange(scan, 1.0, 99.0);
    const float span = hi > lo ? hi - lo : 1.0f;
    cv::Mat grey(h, w, CV_32F);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            grey.at<float>(y, x) = scan.isValid(x, y) ? std::clamp((scan.at(x, y) - lo) / span, 0.0f, 1.0f) * 255.0f : 0.0f;
    cv::Mat big;
    cv::resize(grey, big, cv::Size(w * k, h * k), 0, 0, k > 1 ? cv::INTER_CUBIC : cv::INTER_LINEAR);
    cv::Mat grey8;
    big.convertTo(grey8, CV_8U);
    cv::Mat canvas;
    cv::cvtColor(grey8, canvas, cv::COLOR_GRAY2BGR);
    auto toOut = [k](double v) { return (v + 0.5) * k - 0.5; };

    // Masks: translucent colour where inside.
    for (const OverlayMask& m : options.masks) {
        if (m.mask.empty()) continue;
        cv::Mat mm(m.mask.height(), m.mask.width(), CV_32F, const_cast<float*>(m.mask.data()));
        cv::Mat inside;
        cv::resize(mm, inside, canvas.size(), 0, 0, cv::INTER_NEAREST);
        const cv::Vec3f c(m.rgb[2], m.rgb[1], m.rgb[0]);
        const float a = static_cast<float>(std::clamp(m.alpha, 0.0, 1.0));
        for (int y = 0; y < canvas.rows; ++y) {
            const float* in = inside.ptr<float>(y);
            cv::Vec3b* px = canvas.ptr<cv::Vec3b>(y);
            for (int x = 0; x < canvas.cols; ++x)
                if (in[x] > 0.5f)
                    for (int ch = 0; ch < 3; ++ch)
                        px[x][ch] = cv::saturate_cast<uint8_t>((1 - a) * px[x][ch] + a * c[ch]);
        }
    }

    const int thick = std::max(1, k / 2);
    // Defect-free rectangles: corners built in nm (the region's angle is physical), drawn in pixels.
    if (options.freeRegions && result.pixelSize.known()) {
        const double sx = result.pixelSize.x_nm, sy = result.pixelSize.y_nm;
        for (const FreeRegion& f : result.freeRegions) {
            const double a = f.angleDeg * std::numbers::pi / 180;
            const double ux = std::cos(a), uy = -std::sin(a), vx = std::sin(a), vy = std::cos(a);
            std::vector<cv::Point> pts;
            for (auto [p, q] : {std::pair{-1, -1}, std::pair{1, -1}, std::pair{1, 1}, std::pair{-1, 1}}) {
                const double nx = p * f.widthNm / 2 * ux + q * f.heightNm / 2 * vx;
                const double ny = p * f.widthNm / 2 * uy + q * f.heightNm / 2 * vy;
                // Outer edge of the border pixels: half a pixel beyond the centres.
                pts.push_back(fixedPoint(toOut(f.centerX + nx / sx), toOut(f.centerY + ny / sy)));
            }
            cv::polylines(canvas, pts, true, cv::Scalar(80, 255, 80), thick, cv::LINE_AA, kShift);
        }
    }

    if (options.atoms) {
        const int r = std::max(1, k / 3);
        for (const AtomSite& s : result.atoms) {
            const cv::Scalar c = s.domain == 1 ? cv::Scalar(60, 255, 160) : cv::Scalar(255, 220, 0);
            cv::circle(canvas, fixedPoint(toOut(s.x), toOut(s.y)), r << kShift, c, cv::FILLED, cv::LINE_AA, kShift);
        }
    }

    std::set<std::string> classesShown;
    if (options.defects) {
        for (const Defect& d : result.defects) {
            const cv::Scalar c = bgr(classColor(d.cls));
            if (!options.unboxedClasses.count(d.cls)) {
                // The box encloses the bbox pixels entirely.
                const cv::Point p0(d.bbox[0] * k - 1, d.bbox[1] * k - 1), p1((d.bbox[2] + 1) * k, (d.bbox[3] + 1) * k);
                cv::rectangle(canvas, p0, p1, c, d.extended ? thick + 1 : thick, cv::LINE_8);
            }
            const double cx = toOut(d.x), cy = toOut(d.y), arm = std::max(2, k);
            cv::line(canvas, fixedPoint(cx - arm, cy), fixedPoint(cx + arm, cy), c, 1, cv::LINE_AA, kShift);
            cv::line(canvas, fixedPoint(cx, cy - arm), fixedPoint(cx, cy + arm), c, 1, cv::LINE_AA, kShift);
            classesShown.insert(d.cls);
        }
    }

    const double font = std::max(0.4, canvas.cols / 1600.0);
    const int fontThick = std::max(1, static_cast<int>(std::lround(font * 1.5)));
    auto label = [&](const std::string& text, cv::Point at, cv::Scalar colour) {
        cv::putText(canvas, text, at, cv::FONT_HERSHEY_SIMPLEX, font, cv::Scalar(0, 0, 0), fontThick + 2, cv::LINE_AA);
        cv::putText(canvas, text, at, cv::FONT_HERSHEY_SIMPLEX, font, colour, fontThick, cv::LINE_AA);
    };
    const int lineH = static_cast<int>(std::lround(28 * font)) + 4;

    // Free-region sizes at their centres: what a lithography user reads off first.
    if (options.freeRegions && result.pixelSize.known())
        for (const FreeRegion& f : result.freeRegions) {
            char text[64];
            std::snprintf(text, sizeof text, "%.1f x %.1f nm", f.widthNm, f.heightNm);
            const cv::Size ts = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, font * 0.8, fontThick, nullptr);
            const cv::Point at(static_cast<int>(toOut(f.centerX)) - ts.width / 2, static_cast<int>(toOut(f.centerY)) + ts.height / 2);
            cv::putText(canvas, text, at, cv::FONT_HERSHEY_SIMPLEX, font * 0.8, cv::Scalar(0, 0, 0), fontThick + 2, cv::LINE_AA);
            cv::putText(canvas, text, at, cv::FONT_HERSHEY_SIMPLEX, font * 0.8, cv::Scalar(80, 255, 80), fontThick, cv::LINE_AA);
        }

    if (options.legend) {
        std::vector<std::pair<std::string, cv::Scalar>> entries;
        if (options.atoms && !result.atoms.empty())
            entries.emplace_back((result.lattice.site == "dimer" ? "dimers (" : "atoms (") + std::to_string(result.atoms.size()) + ")",
                                 cv::Scalar(255, 220, 0));
        for (const std::string& cls : classesShown) {
            const auto n = std::count_if(result.defects.begin(), result.defects.end(), [&](const Defect& d) { return d.cls == cls; });
            entries.emplace_back(cls + " (" + std::to_string(n) + ")", bgr(classColor(cls)));
        }
        for (const OverlayMask& m : options.masks)
            if (!m.label.empty()) entries.emplace_back(m.label, bgr(m.rgb));
        if (options.freeRegions && !result.freeRegions.empty()) entries.emplace_back("defect-free", cv::Scalar(80, 255, 80));
        // Darken the legend's corner so the text reads on any contrast.
        if (!entries.empty()) {
            int textW = 0;
            for (const auto& e : entries)
                textW = std::max(textW, cv::getTextSize(e.first, cv::FONT_HERSHEY_SIMPLEX, font, fontThick, nullptr).width);
            const cv::Rect box(0, 0, std::min(canvas.cols, textW + 24 + lineH / 2),
                               std::min(canvas.rows, lineH * static_cast<int>(entries.size()) + lineH / 2));
            canvas(box) *= 0.45;
        }
        int y = lineH;
        for (const auto& [text, colour] : entries) {
            cv::rectangle(canvas, cv::Point(8, y - lineH / 2 - 4), cv::Point(8 + lineH / 2, y - 4), colour, cv::FILLED);
            label(text, cv::Point(14 + lineH / 2, y), colour);
            y += lineH;
        }
    }

    if (options.scaleBar && result.pixelSize.known()) {
        const double lengthNm = scaleBarLengthNm(w * result.pixelSize.x_nm);
        const int barPx = static_cast<int>(std::lround(lengthNm / result.pixelSize.x_nm * k));
        const int barH = std::max(4, canvas.rows / 150);
        const int x0 = 16, y1 = canvas.rows - 16;
        cv::rectangle(canvas, cv::Point(x0 - 2, y1 - barH - 2), cv::Point(x0 + barPx + 1, y1 + 1), cv::Scalar(0, 0, 0), cv::FILLED);
        cv::rectangle(canvas, cv::Point(x0, y1 - barH), cv::Point(x0 + barPx - 1, y1 - 1), cv::Scalar(255, 255, 255), cv::FILLED);
        label(lengthLabel(lengthNm), cv::Point(x0, y1 - barH - 8), cv::Scalar(255, 255, 255));
    }

    RgbImage out;
    out.width = canvas.cols;
    out.height = canvas.rows;
    out.rgb.resize(static_cast<size_t>(out.width) * out.height * 3);
    cv::Mat rgb(out.height, out.width, CV_8UC3, out.rgb.data());
    cv::cvtColor(canvas, rgb, cv::COLOR_BGR2RGB);
    return out;
}

void writeOverlayPng(const std::string& path, const Image& scan, const AnalysisResult& result, const OverlayOptions& options) {
    RgbImage img = renderOverlay(scan, result, options);
    cv::Mat rgb(img.height, img.width, CV_8UC3, img.rgb.data()), bgrMat;
    cv::cvtColor(rgb, bgrMat, cv::COLOR_RGB2BGR);
    writeAtomically(path, [&](const std::string& tmp) {
        bool ok = false;
        try {
            ok = cv::imwrite(tmp, bgrMat);
        } catch (const cv::Exception& e) {
            throw InputError(path, std::string("cannot write overlay: ") + e.what());
        }
        if (!ok) throw InputError(path, "cannot write overlay");
    });
}

}  // namespace stmlens
