#include "analysis/ReportScan.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "analysis/Overlay.h"
#include "analysis/ResultMasks.h"
#include "core/Errors.h"
#include "core/Normalize.h"

namespace stmlens {

namespace {

std::vector<uint8_t> encodePng(const cv::Mat& m) {
    std::vector<uint8_t> png;
    if (!cv::imencode(".png", m, png, {cv::IMWRITE_PNG_COMPRESSION, 6})) throw InputError("report", "cannot encode a PNG");
    return png;
}

// A mask (CV_8U, 0/1 on the scan grid) as a translucent colour layer on the display grid.
ReportLayer maskLayer(const std::string& key, const std::string& label, const std::array<uint8_t, 3>& rgb,
                      const cv::Mat& mask, cv::Size display) {
    ReportLayer l{key, label, rgb, {}, cv::countNonZero(mask) / static_cast<double>(mask.total())};
    cv::Mat small;
    cv::resize(mask, small, display, 0, 0, cv::INTER_NEAREST);
    cv::Mat bgra(display, CV_8UC4, cv::Scalar(0, 0, 0, 0));
    for (int y = 0; y < small.rows; ++y)
        for (int x = 0; x < small.cols; ++x)
            if (small.at<uint8_t>(y, x)) bgra.at<cv::Vec4b>(y, x) = {rgb[2], rgb[1], rgb[0], 115};
    l.png = encodePng(bgra);
    return l;
}

}  // namespace

ReportScan prepareReportScan(const AnalysisResult& result, const AnalysisMaps& maps, const ReportScanOptions& options) {
    const Image& scan = maps.levelled;
    const int w = result.width, h = result.height;
    if (scan.empty() || scan.width() != w || scan.height() != h)
        throw InputError(result.path, "report: the levelled scan is missing or not on the result's grid");
    if (options.maxDisplayPx < 16) throw InputError("report", "maxDisplayPx must be at least 16");

    ReportScan rs;
    rs.result = result;
    const double shrink = std::min(1.0, options.maxDisplayPx / static_cast<double>(std::max(w, h)));
    rs.displayWidth = std::max(1, static_cast<int>(std::lround(w * shrink)));
    rs.displayHeight = std::max(1, static_cast<int>(std::lround(h * shrink)));
    const cv::Size display(rs.displayWidth, rs.displayHeight);

    // The picture: robust contrast, missing pixels black.
    const auto [lo, hi] = percentileRange(scan, 1.0, 99.0);
    const float span = hi > lo ? hi - lo : 1.0f;
    cv::Mat grey(h, w, CV_8U);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            grey.at<uint8_t>(y, x) = scan.isValid(x, y)
                                         ? static_cast<uint8_t>(std::clamp((scan.at(x, y) - lo) / span, 0.0f, 1.0f) * 255.0f + 0.5f)
                                         : 0;
    cv::Mat shown;
    cv::resize(grey, shown, display, 0, 0, shrink < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    rs.imagePng = encodePng(shown);

    // Layers from the same masks the Gwyddion export writes.
    const std::vector<NamedMask> masks = resultMasks(result, maps);
    auto toMat = [&](const Image* m) {
        cv::Mat out = cv::Mat::zeros(h, w, CV_8U);
        if (m)
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x) out.at<uint8_t>(y, x) = m->at(x, y) > 0.5f;
        return out;
    };
    const Image* stepMask = findMask(masks, "step_edge");
    const cv::Mat steps = toMat(stepMask);
    if (stepMask) rs.layers.push_back(maskLayer("steps", "Step edges", classColor("step_edge"), steps, display));
    if (const Image* m = findMask(masks, "contamination"))
        rs.layers.push_back(maskLayer("contamination", "Contamination", classColor("contamination"), toMat(m), display));
    if (const Image* m = findMask(masks, "unresolved"))
        rs.layers.push_back(maskLayer("unresolved", "Not atomically resolved", {40, 170, 255}, toMat(m), display));

    // Terraces: the regions the step edges (widened a little, so a broken edge still separates) divide the scan into.
    cv::Mat wideSteps, open(h, w, CV_8U);
    cv::dilate(steps, wideSteps, cv::getStructuringElement(cv::MORPH_ELLIPSE, {5, 5}));
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) open.at<uint8_t>(y, x) = !wideSteps.at<uint8_t>(y, x) && scan.isValid(x, y);
    cv::Mat labels, stats, centroids;
    const int n = cv::connectedComponentsWithStats(open, labels, stats, centroids, 4, CV_32S);
    std::vector<std::pair<int, int>> byArea;   // (area, component)
    for (int i = 1; i < n; ++i)
        if (stats.at<int>(i, cv::CC_STAT_AREA) >= options.minTerraceFraction * w * h)
            byArea.emplace_back(stats.at<int>(i, cv::CC_STAT_AREA), i);
    std::sort(byArea.rbegin(), byArea.rend());
    std::map<int, int> terraceOf;   // component -> terrace index
    const double pixelNm2 = result.pixelSize.x_nm * result.pixelSize.y_nm;
    for (const auto& [area, comp] : byArea) {
        terraceOf[comp] = static_cast<int>(rs.terraces.size());
        Terrace t;
        t.areaNm2 = area * pixelNm2;
        rs.terraces.push_back(t);
    }
    if (!maps.rowDirection.empty()) {
        // Most common row direction (1-degree bins) on each terrace.
        std::vector<std::vector<int>> hist(rs.terraces.size(), std::vector<int>(180, 0));
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const auto it = terraceOf.find(labels.at<int>(y, x));
                const float d = maps.rowDirection.at(x, y);
                if (it != terraceOf.end() && d >= 0) ++hist[it->second][static_cast<int>(d) % 180];
            }
        for (size_t t = 0; t < rs.terraces.size(); ++t) {
            const auto m = std::max_element(hist[t].begin(), hist[t].end());
            if (*m > 0) rs.terraces[t].rowDirectionDeg = static_cast<double>(m - hist[t].begin());
        }
    }
    for (const auto& d : result.defects) {
        const int x = std::clamp(static_cast<int>(std::lround(d.x)), 0, w - 1), y = std::clamp(static_cast<int>(std::lround(d.y)), 0, h - 1);
        const auto it = terraceOf.find(labels.at<int>(y, x));
        const int t = it == terraceOf.end() ? -1 : it->second;
        rs.defectTerrace.push_back(t);
        if (t >= 0 && !d.extended) ++rs.terraces[t].defects;
    }
    return rs;
}

}  // namespace stmlens
