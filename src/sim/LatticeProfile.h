#pragma once
// The rendered 2x1 lattice as a fast per-pixel function. A rectangular lattice of Gaussian atoms is separable:
// sum_i,j g(u - i a1) g(v - v_j) = Pu(u) * Pv(v), so each terrace costs two table look-ups per pixel, exactly,
// at any blur. Rows (the dimer backbone) and troughs add a term in v only.
#include <cmath>
#include <vector>

namespace stmlens::sim {

// How the tip and the bias render the surface (sampled per scan; a tip change swaps it mid-frame).
struct Appearance {
    double atomSigma = 0.09;    // apparent width of one H-terminated Si atom, nm (sharp tip, no blur)
    double blurSigma = 0.03;    // tip and pixel blur, nm (adds in quadrature)
    double atomAmp = 0.03;      // atom height before blur, nm
    double rowAmp = 0.04;       // dimer-row backbone height, nm (negative: inverted, empty-state-like)
    double rowSigma = 0.2;      // row backbone width, nm
    double troughAmp = 0.0;     // brightness between rows, nm (empty states)
    double troughSigma = 0.12;
    // Dark pits in the troughs between neighbouring dimers (nm, <= 0). The 2022-08-19 cda constant-height frames
    // show their dimer contrast there: the trough narrows beside each dimer and deepens between dimers
    // (bench_sim_realism, row-dimer column).
    double troughPitAmp = 0.0;
    double troughPitSigma = 0.1;   // along the row, nm
    double troughPitWidth = 0.15;  // across the row, nm (wider than the trough: the gap between dimers shows
                                   // as a dark line across the row, darkest at the trough)
    double gain = 1.0;          // overall contrast (tip change alters it)
    double offset = 0.0;        // overall offset, nm (tip change: the tip gets longer or shorter)

    double atomSigmaEff() const;
    // Peak of one blurred atom: blur conserves volume.
    double atomPeak() const;
    // Broadens an intrinsic width by the blur.
    double blurred(double sigma) const;
    // Brighter between the rows than on them (inverted empty-state contrast).
    bool inverted() const { return troughAmp > rowAmp; }
};

class LatticeProfile {
public:
    explicit LatticeProfile(const Appearance& app);
    // Lattice height at lattice coordinates u (along the row) and v (across; row centre at v = 0), nm.
    float value(double u, double v) const {
        double h = peak_ * lookup(pu_, u * invA1_) * lookup(pv_, v * invA2_) + lookup(rv_, v * invA2_);
        if (pit_ != 0) h += pit_ * lookup(pitU_, u * invA1_) * lookup(pitV_, v * invA2_);
        return static_cast<float>(h);
    }
    double mean() const { return mean_; }
    double peakToPeak() const { return p2p_; }          // lattice contrast after blur, nm
    double rowContrast() const { return rowP2p_; }      // contrast at the row period only, nm
    // Depth of the dip between the two atoms of a dimer (nm); > 0 means they render as two maxima.
    double dimerDip() const { return dip_; }
    // Distance of the brightest point from the row centre, nm (0 when the dimer renders as one blob).
    double apparentAtomV() const { return apparentAtomV_; }

private:
    static double lookup(const std::vector<float>& t, double x) {
        x -= std::floor(x);
        const double f = x * (t.size() - 1);
        const size_t i = static_cast<size_t>(f);
        const double w = f - i;
        return t[i] + (i + 1 < t.size() ? (t[i + 1] - t[i]) * w : 0.0);
    }
    std::vector<float> pu_, pv_, rv_, pitU_, pitV_;
    double invA1_, invA2_, peak_, pit_ = 0;
    double mean_ = 0, p2p_ = 0, rowP2p_ = 0, dip_ = 0, apparentAtomV_ = 0;
};

}  // namespace stmlens::sim
