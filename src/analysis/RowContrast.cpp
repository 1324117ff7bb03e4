#include "analysis/RowContrast.h"

#include <algorithm>
#include <cmath>

#include <nanoflann.hpp>

#include "analysis/KdPoints.h"
#include "analysis/Peaks.h"
#include "core/Median.h"
#include "nn/Model.h"

namespace stmlens {

double brightDefectRowPhase(const std::vector<Defect>& defects, const std::vector<AtomSite>& sites,
                            const std::vector<RowLattice>& lattices, const DomainMap& domains) {
    constexpr int kMinSites = 6, kMinDefects = 3;
    if (sites.empty()) return NAN;
    using KdTree = nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<double, KdPoints2>, KdPoints2, 2, uint32_t>;
    KdPoints2 pts;
    std::vector<int> siteDomain;
    for (const AtomSite& a : sites) {
        pts.xy.push_back(a.x);
        pts.xy.push_back(a.y);
        siteDomain.push_back(domains.domainAt(a.x, a.y));
    }
    KdTree tree(2, pts, nanoflann::KDTreeSingleIndexAdaptorParams(10));
    std::vector<std::pair<uint32_t, double>> near;
    double sum = 0;
    int used = 0;
    for (const Defect& d : defects) {
        if (d.cls != "bright" || d.extended) continue;
        const int dom = domains.domainAt(d.x, d.y);
        if (dom < 0 || dom >= static_cast<int>(lattices.size())) continue;
        const double kx = lattices[dom].waveX, ky = lattices[dom].waveY;
        const double k2 = kx * kx + ky * ky;
        if (!(k2 > 0)) continue;
        const double at[2] = {d.x, d.y};
        tree.radiusSearch(at, 2.5 * 2.5 / k2, near, nanoflann::SearchParams(32, 0, false));   // 2.5 pitches
        double c = 0;
        int n = 0;
        for (const auto& [i, dist2] : near) {
            if (siteDomain[i] != dom) continue;
            c += std::cos(2 * M_PI * (kx * (pts.xy[2 * i] - d.x) + ky * (pts.xy[2 * i + 1] - d.y)));
            ++n;
        }
        if (n < kMinSites) continue;
        sum += c / n;
        ++used;
    }
    return used >= kMinDefects ? sum / used : NAN;
}

bool rowContrastInverted(const Model& atoms, const Image& input, const std::vector<AtomSite>& peaks, double threshold,
                         double minDistPx) {
    constexpr double kUnsure = 0.9, kMargin = 0.05;
    constexpr int kCrop = 256, kMinPeaks = 20;
    std::vector<double> all;
    for (const auto& a : peaks) all.push_back(a.score);
    if (all.size() < kMinPeaks || medianInPlace(all) >= kUnsure) return false;
    const int cw = std::min(kCrop, input.width()), ch = std::min(kCrop, input.height());
    const Rect box{(input.width() - cw) / 2, (input.height() - ch) / 2, cw, ch};
    std::vector<double> here;
    for (const auto& a : peaks)
        if (a.x >= box.x && a.y >= box.y && a.x < box.x + cw && a.y < box.y + ch) here.push_back(a.score);
    Image negated = crop(input, box);
    for (float& v : negated.pixels()) v = -v;
    std::vector<double> there;
    // The model predicts as it found the peaks (mirror-averaged or not), so the two medians compare like with like.
    for (const auto& a : findPeaks(atoms.predictImage(negated)[1], threshold, minDistPx)) there.push_back(a.score);
    if (here.size() < kMinPeaks || there.size() < kMinPeaks) return false;
    return medianInPlace(there) >= medianInPlace(here) + kMargin;
}

}  // namespace stmlens
