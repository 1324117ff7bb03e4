#include "analysis/SitePairs.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>
#include <tuple>
#include <vector>

namespace stmlens {

std::vector<std::pair<int, int>> closestPairs(const std::vector<double>& xs, const std::vector<double>& ys, double maxDist) {
    const int n = static_cast<int>(std::min(xs.size(), ys.size()));
    if (n < 2 || !(maxDist > 0)) return {};
    // Buckets of side maxDist (a hash of the cell, each bucket a linked list through `next`): a partner is in the
    // point's bucket or one of the eight around it.
    auto cellOf = [&](int i) {
        return std::pair<long long, long long>(static_cast<long long>(std::floor(xs[i] / maxDist)),
                                               static_cast<long long>(std::floor(ys[i] / maxDist)));
    };
    auto key = [](long long cx, long long cy) { return (cx << 32) ^ (cy & 0xffffffffLL); };
    std::unordered_map<long long, int> head;
    head.reserve(static_cast<size_t>(n) * 2);
    std::vector<int> next(static_cast<size_t>(n), -1);
    for (int i = 0; i < n; ++i) {
        const auto [cx, cy] = cellOf(i);
        auto [it, added] = head.try_emplace(key(cx, cy), i);
        if (!added) {
            next[i] = it->second;
            it->second = i;
        }
    }
    std::vector<std::tuple<double, int, int>> candidates;
    for (int i = 0; i < n; ++i) {
        const auto [cx, cy] = cellOf(i);
        for (long long dx = -1; dx <= 1; ++dx)
            for (long long dy = -1; dy <= 1; ++dy) {
                const auto it = head.find(key(cx + dx, cy + dy));
                if (it == head.end()) continue;
                for (int j = it->second; j >= 0; j = next[j]) {
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

// The two atoms of a dimer sit 0.24 nm apart across the row, the next dimer 0.384 nm along it. Sites closer than
// 0.3 nm across the row (and within 0.1 nm along it: distances along the row count three times) become one at
// their midpoint, with the better score. Each domain is paired in its own row direction.
void mergeDimerAtoms(std::vector<AtomSite>& sites, PixelSize px, const LatticeInfo& lattice) {
    std::map<int, std::vector<int>> byDomain;
    for (int i = 0; i < static_cast<int>(sites.size()); ++i) byDomain[sites[i].domain].push_back(i);
    std::vector<bool> drop(sites.size(), false);
    for (const auto& [domain, members] : byDomain) {
        const double deg = domain >= 0 && domain < static_cast<int>(lattice.domains.size())
                               ? lattice.domains[domain].rowDirectionDeg : lattice.rowDirectionDeg;
        // Counter-clockwise as displayed (y down): along the rows is (cos, -sin).
        const double c = std::cos(deg * M_PI / 180), sn = std::sin(deg * M_PI / 180);
        std::vector<double> us, vs;
        for (int i : members) {
            const double x = sites[i].x * px.x_nm, y = sites[i].y * px.y_nm;
            us.push_back(3.0 * (x * c - y * sn));
            vs.push_back(x * sn + y * c);
        }
        for (const auto& [a, b] : closestPairs(us, vs, 0.3)) {
            AtomSite& keep = sites[members[a]];
            const AtomSite& other = sites[members[b]];
            keep.x = 0.5 * (keep.x + other.x);
            keep.y = 0.5 * (keep.y + other.y);
            keep.score = std::max(keep.score, other.score);
            drop[members[b]] = true;
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < sites.size(); ++i)
        if (!drop[i]) sites[k++] = sites[i];
    sites.resize(k);
}

double dimerPairedFraction(const std::vector<AtomSite>& sites, PixelSize px, const LatticeInfo& lattice) {
    if (sites.empty()) return 0;
    std::vector<AtomSite> merged = sites;
    mergeDimerAtoms(merged, px, lattice);
    return 2.0 * static_cast<double>(sites.size() - merged.size()) / static_cast<double>(sites.size());
}

}  // namespace stmlens
