#include "sim/Terraces.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace stmlens::sim {

namespace {
uint64_t mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
double unit(uint64_t h) { return (h >> 11) * 0x1.0p-53; }
}  // namespace

Terraces::Terraces(double baseAngleRad, double normalRad, double widthNm, double originNm, bool doubleSteps,
                   double roughSA, double roughSB, double extentNm, Rng& rng, double facetNm)
    : stepped_(true), base_(baseAngleRad), normal_(normalRad), width_(widthNm), origin_(originNm),
      doubleSteps_(doubleSteps), roughSA_(roughSA), roughSB_(roughSB) {
    seed_ = rng.next();
    const double nx = std::cos(normal_), ny = std::sin(normal_);
    const double lo = -0.25 * extentNm, hi = 1.25 * extentNm;
    double xmin = 1e300, xmax = -1e300, tmin = 1e300, tmax = -1e300;
    for (double cx : {lo, hi})
        for (double cy : {lo, hi}) {
            const double x = cx * nx + cy * ny - origin_, t = -cx * ny + cy * nx;
            xmin = std::min(xmin, x);
            xmax = std::max(xmax, x);
            tmin = std::min(tmin, t);
            tmax = std::max(tmax, t);
        }
    kFirst_ = static_cast<int>(std::floor(xmin / width_)) - 1;
    const int kLast = static_cast<int>(std::floor(xmax / width_)) + 2;
    tMin_ = tmin;
    dt_ = std::max(0.05, (tmax - tmin) / 20000.0);
    const int n = static_cast<int>((tmax - tmin) / dt_) + 2;
    const double maxOff = 0.42 * width_;
    for (int k = kFirst_; k <= kLast; ++k) {
        std::vector<float> prof(n);
        const bool sb = edgeIsSB(k);
        // Every edge wanders on the scale of the terrace width (a few random sinusoids); on top, S_A edges get
        // a gentle, long-correlated roughness and S_B edges a jagged one (short correlation, kinks of a row).
        struct Wave {
            double k, phase, amp;
        };
        Wave waves[4];
        const double wander = (sb ? rng.uniform(0.08, 0.25) : rng.uniform(0.03, 0.15)) * width_;
        for (auto& w : waves) {
            const double lambda = width_ * rng.logUniform(sb ? 0.6 : 1.5, 15.0);
            w = {2 * M_PI / lambda, rng.uniform(0, 2 * M_PI), wander * rng.uniform(0.3, 1.0) / 2};
        }
        const double corr = sb ? rng.uniform(2.0, 8.0) : rng.uniform(5.0, 20.0);   // nm along the edge
        const double rough = sb ? roughSB_ : roughSA_;
        const double keep = std::exp(-dt_ / corr), drive = rough * std::sqrt(1 - keep * keep);
        double ou = rough * rng.normal();
        for (int i = 0; i < n; ++i) {
            const double t = tMin_ + i * dt_;
            ou = keep * ou + drive * rng.normal();
            if (sb && rng.chance(dt_ / 6.0)) ou += (rng.chance(0.5) ? 1 : -1) * kRowPitchNm;   // kinks
            double off = ou;
            for (const auto& w : waves) off += w.amp * std::sin(w.k * t + w.phase);
            prof[i] = static_cast<float>(off);
        }
        if (facetNm > 0) addFacets(prof, k, facetNm);
        for (auto& v : prof) v = static_cast<float>(std::clamp<double>(v, -maxOff, maxOff));
        profiles_.push_back(std::move(prof));
    }
}

// A faceted edge follows its wandering course as a staircase: it runs along one row direction until it is h
// past the course, then along the other until it is h past on the other side, h drawn for each facet. Along the
// edge's mean line the two directions have the slopes -tan(phi) and cot(phi), phi the rows' angle to that line,
// so the facets stay parallel to the rows whatever the course does. Own generator: a seed's other draws stay.
void Terraces::addFacets(std::vector<float>& prof, int k, double facetNm) const {
    const double phi = std::remainder(base_ - (normal_ + M_PI / 2), M_PI / 2);
    if (std::abs(phi) < 0.02) return;   // along the rows: nothing to facet
    Rng rng(mix(seed_ ^ mix(static_cast<uint64_t>(static_cast<int64_t>(k)) + 0xFACE7)));
    const double up = std::max(-std::tan(phi), 1 / std::tan(phi)), down = std::min(-std::tan(phi), 1 / std::tan(phi));
    auto drawH = [&]() { return 0.25 * facetNm * rng.uniform(0.4, 1.6); };
    double f = prof.empty() ? 0.0 : prof[0], h = drawH();
    bool rising = rng.chance(0.5);
    for (auto& v : prof) {
        const double course = v;
        if (rising && f > course + h) rising = false, h = drawH();
        else if (!rising && f < course - h) rising = true, h = drawH();
        v = static_cast<float>(f);
        f += (rising ? up : down) * dt_;
    }
}

bool Terraces::edgeIsSB(int k) const {
    const double upper = lattice(k - 1).angleRad;
    const double tangent = normal_ + M_PI / 2;
    return std::abs(std::sin(upper - tangent)) > 0.5;
}

double Terraces::edgePos(int k, double t) const {
    double off = 0;
    const int idx = k - kFirst_;
    if (idx >= 0 && idx < static_cast<int>(profiles_.size())) {
        const auto& p = profiles_[idx];
        const int i = std::clamp(static_cast<int>((t - tMin_) / dt_), 0, static_cast<int>(p.size()) - 1);
        off = p[i];
    }
    return k * width_ + off;
}

int Terraces::terraceAt(double sx, double sy, double* distToEdge, int* edgeIndex) const {
    if (!stepped_) {
        if (distToEdge) *distToEdge = std::numeric_limits<double>::infinity();
        if (edgeIndex) *edgeIndex = 0;
        return 0;
    }
    const double nx = std::cos(normal_), ny = std::sin(normal_);
    const double x = sx * nx + sy * ny - origin_, t = -sx * ny + sy * nx;
    const int k0 = static_cast<int>(std::floor(x / width_));
    const double e0 = edgePos(k0, t), e1 = edgePos(k0 + 1, t);
    const int T = k0 - 1 + (x >= e0 ? 1 : 0) + (x >= e1 ? 1 : 0);
    const double d0 = x - e0, d1 = x - e1;
    if (distToEdge) *distToEdge = std::abs(d0) < std::abs(d1) ? d0 : d1;
    if (edgeIndex) *edgeIndex = std::abs(d0) < std::abs(d1) ? k0 : k0 + 1;
    return T;
}

TerraceLattice Terraces::lattice(int terrace) const {
    TerraceLattice l;
    const bool turned = !doubleSteps_ && (terrace & 1);
    l.angleRad = base_ + (turned ? M_PI / 2 : 0.0);
    l.c = std::cos(l.angleRad);
    l.s = std::sin(l.angleRad);
    const uint64_t h = mix(seed_ ^ mix(static_cast<uint64_t>(static_cast<int64_t>(terrace)) + 17));
    l.offU = terrace == 0 ? 0.0 : unit(h) * kDimerPitchNm;
    l.offV = terrace == 0 ? 0.0 : unit(mix(h)) * kRowPitchNm;
    l.heightNm = -terrace * stepHeight();
    return l;
}

}  // namespace stmlens::sim
