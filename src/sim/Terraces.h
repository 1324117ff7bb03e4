#pragma once
// Terraces of a (vicinal) Si(100) surface, in surface nanometres: parallel step edges with rough profiles.
// Single-layer steps (0.136 nm) turn the dimer rows by 90 degrees, so edges alternate between smooth S_A
// (upper terrace's rows parallel to the edge) and rough, kinked S_B. Double steps (0.272 nm) keep the rows.
#include <vector>

#include "sim/Rng.h"

namespace stmlens::sim {

constexpr double kDimerPitchNm = 0.384;   // along a row
constexpr double kRowPitchNm = 0.768;     // across rows
constexpr double kDimerBondNm = 0.24;     // the two atoms of a dimer, across the row
constexpr double kSingleStepNm = 0.136;   // a/4

struct TerraceLattice {
    double angleRad = 0;      // dimer-row direction
    double c = 1, s = 0;      // its cosine and sine
    double offU = 0, offV = 0;  // lattice origin shift, nm (along / across the row)
    double heightNm = 0;
};

class Terraces {
public:
    Terraces() = default;   // one flat terrace
    // Edges perpendicular to `normalRad`, spacing `widthNm`, the first at `originNm` along the normal.
    // Surface coordinates are expected within [-extentNm/4, 5/4 extentNm] in x and y. `facetNm` > 0 makes edges
    // that are oblique to the rows staircases of facets along the two row directions, about that long.
    Terraces(double baseAngleRad, double normalRad, double widthNm, double originNm, bool doubleSteps,
             double roughSA, double roughSB, double extentNm, Rng& rng, double facetNm = 0);
    explicit Terraces(double baseAngleRad) : base_(baseAngleRad) {}

    bool flat() const { return !stepped_; }
    // Terrace index at a surface point; distToEdge gets the signed distance (nm) to the nearest edge along the
    // normal (negative on the upper side), upperHeight/lowerHeight the two terraces' heights there.
    int terraceAt(double sx, double sy, double* distToEdge = nullptr, int* edgeIndex = nullptr) const;
    TerraceLattice lattice(int terrace) const;
    double stepHeight() const { return doubleSteps_ ? 2 * kSingleStepNm : kSingleStepNm; }
    // Edge k separates terrace k-1 (upper) from terrace k (lower).
    bool edgeIsSB(int k) const;
    double normalRad() const { return normal_; }

private:
    double edgePos(int k, double t) const;
    void addFacets(std::vector<float>& prof, int k, double facetNm) const;

    bool stepped_ = false;
    double base_ = 0, normal_ = 0, width_ = 1e9, origin_ = 0;
    bool doubleSteps_ = false;
    double roughSA_ = 0, roughSB_ = 0;
    uint64_t seed_ = 0;
    int kFirst_ = 0;                              // profiles_[i] belongs to edge kFirst_ + i
    double tMin_ = 0, dt_ = 0.05;
    std::vector<std::vector<float>> profiles_;   // per edge: offset along the normal, sampled along t
};

}  // namespace stmlens::sim
