#include "core/Level.h"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <vector>

#include "core/Errors.h"
#include "core/Median.h"

namespace stmlens {

void subtractPolynomial(Image& img, int order) {
    if (order < 0 || order > 5) throw InputError("polynomial order must be 0..5, got " + std::to_string(order));
    // Terms x^i y^j with i + j <= order, on coordinates scaled to [-1, 1] for conditioning.
    constexpr int kMaxTerms = 21;   // (5 + 1) * (5 + 2) / 2
    int ti[kMaxTerms], tj[kMaxTerms], nt = 0;
    for (int d = 0; d <= order; ++d)
        for (int i = d; i >= 0; --i) ti[nt] = i, tj[nt] = d - i, ++nt;
    const int W = img.width(), H = img.height();
    const double sx = W > 1 ? 2.0 / (W - 1) : 0.0;
    const double sy = H > 1 ? 2.0 / (H - 1) : 0.0;
    // Powers of each column's and each line's coordinate, once: this runs on every inference tile, and
    // recomputing them per pixel cost more than the fit itself.
    std::vector<double> xp(static_cast<size_t>(W) * (order + 1)), yp(static_cast<size_t>(H) * (order + 1));
    auto fillPowers = [order](std::vector<double>& p, int n, double scale) {
        for (int c = 0; c < n; ++c) {
            double* q = &p[static_cast<size_t>(c) * (order + 1)];
            const double u = c * scale - 1.0;
            q[0] = 1.0;
            for (int k = 1; k <= order; ++k) q[k] = q[k - 1] * u;
        }
    };
    fillPowers(xp, W, sx);
    fillPowers(yp, H, sy);
    double row[kMaxTerms];
    auto terms = [&](int x, int y) {
        const double* px = &xp[static_cast<size_t>(x) * (order + 1)];
        const double* py = &yp[static_cast<size_t>(y) * (order + 1)];
        for (int t = 0; t < nt; ++t) row[t] = px[ti[t]] * py[tj[t]];
    };
    // Subsample large images: the background is smooth, and the normal equations need few points.
    const int step = std::max(1, static_cast<int>(std::sqrt(static_cast<double>(img.size()) / 65536.0)));
    double ata[kMaxTerms][kMaxTerms] = {}, atb[kMaxTerms] = {};
    size_t n = 0;
    for (int y = 0; y < H; y += step) {
        const float* line = img.row(y);
        if (order == 1) {   // the plane of every levelling, spelt out (the same sums in the same order)
            const double v = yp[static_cast<size_t>(y) * 2 + 1];
            for (int x = 0; x < W; x += step) {
                if (!img.isValid(x, y)) continue;
                const double u = xp[static_cast<size_t>(x) * 2 + 1], z = line[x];
                const double r1 = u * 1.0, r2 = 1.0 * v;
                atb[0] += 1.0 * z, atb[1] += r1 * z, atb[2] += r2 * z;
                ata[0][0] += 1.0, ata[0][1] += r1, ata[0][2] += r2;
                ata[1][1] += r1 * r1, ata[1][2] += r1 * r2, ata[2][2] += r2 * r2;
                ++n;
            }
            continue;
        }
        for (int x = 0; x < W; x += step) {
            if (!img.isValid(x, y)) continue;
            terms(x, y);
            const double z = line[x];
            for (int a = 0; a < nt; ++a) {
                atb[a] += row[a] * z;
                for (int b = a; b < nt; ++b) ata[a][b] += row[a] * row[b];
            }
            ++n;
        }
    }
    if (n < static_cast<size_t>(nt)) return;  // too few valid pixels to fit: leave the image alone
    cv::Mat A(nt, nt, CV_64F), B(nt, 1, CV_64F);
    for (int a = 0; a < nt; ++a) {
        B.at<double>(a) = atb[a];
        for (int b = 0; b < nt; ++b) A.at<double>(a, b) = b >= a ? ata[a][b] : ata[b][a];
    }
    cv::Mat coefMat;
    if (!cv::solve(A, B, coefMat, cv::DECOMP_SVD)) return;
    double coef[kMaxTerms];
    for (int t = 0; t < nt; ++t) coef[t] = coefMat.at<double>(t);
    for (int y = 0; y < H; ++y) {
        float* line = img.row(y);
        if (order == 1) {
            const double v = yp[static_cast<size_t>(y) * 2 + 1];
            for (int x = 0; x < W; ++x) {
                const double u = xp[static_cast<size_t>(x) * 2 + 1];
                line[x] -= static_cast<float>(coef[0] * 1.0 + coef[1] * (u * 1.0) + coef[2] * (1.0 * v));
            }
            continue;
        }
        for (int x = 0; x < W; ++x) {
            terms(x, y);
            double bg = 0;
            for (int t = 0; t < nt; ++t) bg += coef[t] * row[t];
            line[x] -= static_cast<float>(bg);
        }
    }
}

namespace {

// H-Si(100) 2x1 dimer-row pitch. Core code cannot see the lattice headers of analysis/ or sim/.
constexpr double kRowPitchNm = 0.768;
constexpr int kHarmonics = 3;

// Least-squares fit of a constant plus kHarmonics harmonics of angular frequency w to (t, r); returns the fit at t.
std::vector<double> fitHarmonics(const std::vector<int>& t, const std::vector<double>& r, double w) {
    const int k = 1 + 2 * kHarmonics;
    cv::Mat A(static_cast<int>(t.size()), k, CV_64F), b(static_cast<int>(t.size()), 1, CV_64F), coef;
    for (size_t i = 0; i < t.size(); ++i) {
        A.at<double>(static_cast<int>(i), 0) = 1.0;
        for (int h = 1; h <= kHarmonics; ++h) {
            A.at<double>(static_cast<int>(i), 2 * h - 1) = std::cos(h * w * t[i]);
            A.at<double>(static_cast<int>(i), 2 * h) = std::sin(h * w * t[i]);
        }
        b.at<double>(static_cast<int>(i), 0) = r[i];
    }
    cv::solve(A, b, coef, cv::DECOMP_SVD);
    std::vector<double> fit(t.size());
    for (size_t i = 0; i < t.size(); ++i) {
        double v = 0;
        for (int j = 0; j < k; ++j) v += A.at<double>(static_cast<int>(i), j) * coef.at<double>(j, 0);
        fit[i] = v;
    }
    return fit;
}

}  // namespace

void alignRows(Image& img) {
    // Offset of each valid scan line against the one above: the running sum of median line differences.
    std::vector<int> lines;
    std::vector<double> offset;
    std::vector<float> diffs;
    diffs.reserve(img.width());
    int prev = -1;
    double acc = 0;
    for (int y = 0; y < img.height(); ++y) {
        bool any = false;
        for (int x = 0; x < img.width() && !any; ++x) any = img.isValid(x, y);
        if (!any) continue;
        if (prev >= 0) {
            diffs.clear();
            const float *cur = img.row(y), *above = img.row(prev);
            if (!img.hasMask())
                for (int x = 0; x < img.width(); ++x) diffs.push_back(cur[x] - above[x]);
            else
                for (int x = 0; x < img.width(); ++x)
                    if (img.isValid(x, y) && img.isValid(x, prev)) diffs.push_back(cur[x] - above[x]);
            if (!diffs.empty()) acc += medianInPlace(diffs);
        }
        lines.push_back(y);
        offset.push_back(acc);
        prev = y;
    }
    const size_t n = lines.size();
    std::vector<double> correction = offset;

    // Dimer rows parallel to the fast scan axis are themselves a per-line offset, periodic at the row pitch:
    // removing all of it (what Gwyddion's median alignment does) erases the rows and leaves a pattern the
    // networks misread (dimers placed in the troughs of the cda frames). When the offsets carry a strong
    // periodic part at a plausible row period, keep that part and remove only the rest (drift, jumps, jitter).
    double pMin = 3, pMax = 40;   // period in lines when the pixel size is unknown
    if (img.pixelSize.known()) {
        pMin = std::max(2.5, 0.85 * kRowPitchNm / img.pixelSize.y_nm);
        pMax = 1.15 * kRowPitchNm / img.pixelSize.y_nm;
    }
    if (n >= 24 && pMax >= pMin && n >= 3 * pMin) {
        pMax = std::min(pMax, n / 3.0);
        // Remove slow drift first (running median over about two periods keeps jumps sharp).
        const int half = std::max(2, static_cast<int>(std::ceil(1.1 * pMax)));
        auto runningMedian = [&](const std::vector<double>& v) {
            std::vector<double> out(n), window;
            for (size_t i = 0; i < n; ++i) {
                const size_t a = i >= static_cast<size_t>(half) ? i - half : 0, b = std::min(n - 1, i + half);
                window.assign(v.begin() + static_cast<long>(a), v.begin() + static_cast<long>(b) + 1);
                out[i] = medianInPlace(window);
            }
            return out;
        };
        std::vector<double> detrended(n);
        const std::vector<double> trend0 = runningMedian(offset);
        for (size_t i = 0; i < n; ++i) detrended[i] = offset[i] - trend0[i];
        double mean = 0, var = 0;
        for (double v : detrended) mean += v;
        mean /= n;
        for (double v : detrended) var += (v - mean) * (v - mean);
        var /= n;
        double bestFrac = 0, bestW = 0;
        const double fMin = 1.0 / pMax, fMax = 1.0 / pMin, df = 1.0 / (4.0 * img.height());
        // cos and sin of w * line for every line by rotation (exact values every 64 lines, so rounding cannot
        // build up): this runs on every inference tile, and two library calls per line and frequency were most
        // of its levelling.
        std::vector<double> cw(img.height()), sw(img.height());
        for (double f = fMin; f <= fMax; f += df) {
            const double w = 2 * M_PI * f, c1 = std::cos(w), s1 = std::sin(w);
            for (int y = 0; y < img.height(); ++y) {
                if (y % 64 == 0) cw[y] = std::cos(w * y), sw[y] = std::sin(w * y);
                else cw[y] = cw[y - 1] * c1 - sw[y - 1] * s1, sw[y] = sw[y - 1] * c1 + cw[y - 1] * s1;
            }
            double c = 0, s = 0;
            for (size_t i = 0; i < n; ++i) {
                c += (detrended[i] - mean) * cw[lines[i]];
                s += (detrended[i] - mean) * sw[lines[i]];
            }
            // Fraction of the variance in this one sinusoid (1 for a pure sine, about 2/n for noise).
            const double frac = var > 0 ? 2.0 * (c * c + s * s) / (static_cast<double>(n) * n * var) : 0.0;
            if (frac > bestFrac) bestFrac = frac, bestW = w;
        }
        if (bestFrac >= 0.2) {
            // The median over a window that is not a whole number of periods keeps part of the rows: take the
            // trend again with the first fit of the rows removed, then fit the rows on what the trend leaves.
            std::vector<double> rows = fitHarmonics(lines, detrended, bestW), rest(n);
            for (size_t i = 0; i < n; ++i) rest[i] = offset[i] - rows[i];
            const std::vector<double> trend = runningMedian(rest);
            for (size_t i = 0; i < n; ++i) detrended[i] = offset[i] - trend[i];
            rows = fitHarmonics(lines, detrended, bestW);
            for (size_t i = 0; i < n; ++i) correction[i] = offset[i] - (rows[i] - rows[0]);
        }
    }
    for (size_t i = 0; i < n; ++i) {
        float* r = img.row(lines[i]);
        const float shift = static_cast<float>(correction[i]);
        for (int x = 0; x < img.width(); ++x) r[x] -= shift;
    }
}

size_t removeScars(Image& img, double threshold) {
    const int w = img.width(), h = img.height();
    if (h < 3 || w < 1) return 0;
    // Robust spread of the line-to-line differences, from a sample of at most about 65k of them (plenty for a
    // median, and cheap next to the networks).
    std::vector<float> diffs;
    const size_t total = static_cast<size_t>(w) * (h - 1);
    const size_t stride = std::max<size_t>(1, total / 65536);
    diffs.reserve(total / stride + 1);
    // Sample i of the flattened lines 1..h-1 is pixel (i % w, i / w + 1), walked without dividing.
    size_t x = 0;
    int y = 1;
    for (size_t i = 0; i < total; i += stride) {
        if (img.isValid(static_cast<int>(x), y) && img.isValid(static_cast<int>(x), y - 1))
            diffs.push_back(img.row(y)[x] - img.row(y - 1)[x]);
        x += stride;
        while (x >= static_cast<size_t>(w)) x -= w, ++y;
    }
    if (diffs.size() < 16) return 0;
    const float centre = medianInPlace(diffs);
    for (float& d : diffs) d = std::abs(d - centre);
    const double spread = 1.4826 * medianInPlace(diffs);
    if (!(spread > 0)) return 0;
    const float limit = static_cast<float>(threshold * spread);
    // Decide on the original values, then replace: a replaced pixel must not change its neighbours' verdicts.
    std::vector<std::pair<size_t, float>> repl;
    for (int y = 1; y + 1 < h; ++y) {
        const float* up = img.row(y - 1);
        const float* mid = img.row(y);
        const float* dn = img.row(y + 1);
        const bool masked = img.hasMask();
        for (int x = 0; x < w; ++x) {
            if (masked && (!img.isValid(x, y - 1) || !img.isValid(x, y) || !img.isValid(x, y + 1))) continue;
            const float a = mid[x] - up[x], b = mid[x] - dn[x];
            if ((a > 0) != (b > 0) || std::min(std::abs(a), std::abs(b)) <= limit) continue;
            if (std::abs(up[x] - dn[x]) >= std::min(std::abs(a), std::abs(b))) continue;
            repl.push_back({static_cast<size_t>(y) * w + x, 0.5f * (up[x] + dn[x])});
        }
    }
    for (const auto& [i, v] : repl) img.pixels()[i] = v;
    return repl.size();
}

void levelScan(Image& img) {
    subtractPolynomial(img, 1);
    alignRows(img);
    removeScars(img);
}

}  // namespace stmlens
