#include "core/Level.h"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <vector>

#include "core/Errors.h"

namespace stmlens {

void subtractPolynomial(Image& img, int order) {
    if (order < 0 || order > 5) throw InputError("polynomial order must be 0..5, got " + std::to_string(order));
    // Terms x^i y^j with i + j <= order, on coordinates scaled to [-1, 1] for conditioning.
    std::vector<std::pair<int, int>> terms;
    for (int d = 0; d <= order; ++d)
        for (int i = d; i >= 0; --i) terms.push_back({i, d - i});
    const int nt = static_cast<int>(terms.size());
    const double sx = img.width() > 1 ? 2.0 / (img.width() - 1) : 0.0;
    const double sy = img.height() > 1 ? 2.0 / (img.height() - 1) : 0.0;
    // Subsample large images: the background is smooth, and the normal equations need few points.
    const int step = std::max(1, static_cast<int>(std::sqrt(static_cast<double>(img.size()) / 65536.0)));
    cv::Mat ata = cv::Mat::zeros(nt, nt, CV_64F), atb = cv::Mat::zeros(nt, 1, CV_64F);
    std::vector<double> xp(order + 1), yp(order + 1), row(nt);
    auto powers = [&](int x, int y) {
        const double u = x * sx - 1.0, v = y * sy - 1.0;
        xp[0] = yp[0] = 1.0;
        for (int k = 1; k <= order; ++k) {
            xp[k] = xp[k - 1] * u;
            yp[k] = yp[k - 1] * v;
        }
        for (int t = 0; t < nt; ++t) row[t] = xp[terms[t].first] * yp[terms[t].second];
    };
    size_t n = 0;
    for (int y = 0; y < img.height(); y += step)
        for (int x = 0; x < img.width(); x += step) {
            if (!img.isValid(x, y)) continue;
            powers(x, y);
            const double z = img.at(x, y);
            for (int a = 0; a < nt; ++a) {
                atb.at<double>(a) += row[a] * z;
                for (int b = a; b < nt; ++b) ata.at<double>(a, b) += row[a] * row[b];
            }
            ++n;
        }
    if (n < static_cast<size_t>(nt)) return;  // too few valid pixels to fit: leave the image alone
    for (int a = 0; a < nt; ++a)
        for (int b = 0; b < a; ++b) ata.at<double>(a, b) = ata.at<double>(b, a);
    cv::Mat coef;
    if (!cv::solve(ata, atb, coef, cv::DECOMP_SVD)) return;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) {
            powers(x, y);
            double bg = 0;
            for (int t = 0; t < nt; ++t) bg += coef.at<double>(t) * row[t];
            img.at(x, y) -= static_cast<float>(bg);
        }
}

void alignRows(Image& img) {
    std::vector<float> diffs;
    diffs.reserve(img.width());
    int prev = -1;
    for (int y = 0; y < img.height(); ++y) {
        bool any = false;
        for (int x = 0; x < img.width() && !any; ++x) any = img.isValid(x, y);
        if (!any) continue;
        if (prev >= 0) {
            diffs.clear();
            for (int x = 0; x < img.width(); ++x)
                if (img.isValid(x, y) && img.isValid(x, prev)) diffs.push_back(img.at(x, y) - img.at(x, prev));
            if (!diffs.empty()) {
                auto mid = diffs.begin() + static_cast<long>(diffs.size() / 2);
                std::nth_element(diffs.begin(), mid, diffs.end());
                const float shift = *mid;
                float* r = img.row(y);
                for (int x = 0; x < img.width(); ++x) r[x] -= shift;
            }
        }
        prev = y;
    }
}

}  // namespace stmlens
