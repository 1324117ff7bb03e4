#include "core/Normalize.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace stmlens {

namespace {
std::vector<float> validValues(const Image& img) {
    std::vector<float> v;
    v.reserve(img.size());
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x)
            if (img.isValid(x, y) && std::isfinite(img.at(x, y))) v.push_back(img.at(x, y));
    return v;
}

float quantile(std::vector<float>& v, double q) {
    if (v.empty()) return 0.0f;
    const size_t k = static_cast<size_t>(std::clamp(q, 0.0, 1.0) * (v.size() - 1) + 0.5);
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return v[k];
}
}  // namespace

std::pair<float, float> percentileRange(const Image& img, double loPct, double hiPct) {
    auto v = validValues(img);
    const float lo = quantile(v, loPct / 100.0);
    const float hi = quantile(v, hiPct / 100.0);
    return {lo, hi};
}

void normalizeRobust(Image& img, double loPct, double hiPct) {
    const auto [lo, hi] = percentileRange(img, loPct, hiPct);
    const float span = hi - lo;
    for (float& p : img.pixels()) p = span > 0 ? (p - lo) / span : 0.0f;
}

void standardizeRobust(Image& img) {
    auto v = validValues(img);
    if (v.empty()) return;
    const float med = quantile(v, 0.5);
    for (float& x : v) x = std::fabs(x - med);
    float spread = 1.4826f * quantile(v, 0.5);
    if (!(spread > 0)) {
        const auto [lo, hi] = percentileRange(img, 1, 99);
        spread = hi > lo ? (hi - lo) / 4.0f : 1.0f;
    }
    for (float& p : img.pixels()) p = (p - med) / spread;
}

}  // namespace stmlens
