#include "analysis/SitePairs.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

namespace stmlens {

std::vector<std::pair<int, int>> closestPairs(const std::vector<double>& xs, const std::vector<double>& ys, double maxDist) {
    const int n = static_cast<int>(std::min(xs.size(), ys.size()));
    if (n < 2 || !(maxDist > 0)) return {};
    // Buckets of side maxDist: a partner is in the point's bucket or one of the eight around it.
    auto cell = [&](int i) { return std::pair<long, long>(std::lround(std::floor(xs[i] / maxDist)), std::lround(std::floor(ys[i] / maxDist))); };
    std::map<std::pair<long, long>, std::vector<int>> grid;
    for (int i = 0; i < n; ++i) grid[cell(i)].push_back(i);
    std::vector<std::tuple<double, int, int>> candidates;
    for (int i = 0; i < n; ++i) {
        const auto [cx, cy] = cell(i);
        for (long dx = -1; dx <= 1; ++dx)
            for (long dy = -1; dy <= 1; ++dy) {
                const auto it = grid.find({cx + dx, cy + dy});
                if (it == grid.end()) continue;
                for (int j : it->second) {
                    if (j <= i) continue;
                    const double d = std::hypot(xs[i] - xs[j], ys[i] - ys[j]);
                    if (d <= maxDist) candidates.emplace_back(d, i, j);
                }
            }
    }
    std::sort(candidates.begin(), candidates.end());
    std::vector<bool> used(static_cast<size_t>(n), false);
    std::vector<std::pair<int, int>> pairs;
    for (const auto& [d, i, j] : candidates)
        if (!used[i] && !used[j]) {
            used[i] = used[j] = true;
            pairs.emplace_back(i, j);
        }
    return pairs;
}

}  // namespace stmlens
