#include "sim/LatticeProfile.h"

#include <algorithm>
#include <cmath>

#include "sim/Terraces.h"

namespace stmlens::sim {

double Appearance::atomSigmaEff() const { return std::sqrt(atomSigma * atomSigma + blurSigma * blurSigma); }
double Appearance::atomPeak() const {
    const double e = atomSigmaEff();
    return atomAmp * (atomSigma * atomSigma) / (e * e);
}
double Appearance::blurred(double sigma) const { return std::sqrt(sigma * sigma + blurSigma * blurSigma); }

namespace {
constexpr int kSamples = 128;

// Periodic sum of unit Gaussians at the given centres (fractions of the period), sampled over one period.
std::vector<float> periodicGaussians(double period, double sigma, std::initializer_list<double> centres,
                                     double amp) {
    std::vector<float> t(kSamples + 1);
    const int reach = static_cast<int>(std::ceil(4 * sigma / period)) + 1;
    for (int s = 0; s <= kSamples; ++s) {
        const double x = period * s / kSamples;
        double acc = 0;
        for (double c : centres)
            for (int j = -reach; j <= reach; ++j) {
                const double d = x - (j + c) * period;
                acc += std::exp(-d * d / (2 * sigma * sigma));
            }
        t[s] = static_cast<float>(amp * acc);
    }
    return t;
}
}  // namespace

LatticeProfile::LatticeProfile(const Appearance& app) {
    invA1_ = 1.0 / kDimerPitchNm;
    invA2_ = 1.0 / kRowPitchNm;
    const double se = app.atomSigmaEff();
    const double half = 0.5 * kDimerBondNm / kRowPitchNm;
    pu_ = periodicGaussians(kDimerPitchNm, se, {0.0}, 1.0);
    pv_ = periodicGaussians(kRowPitchNm, se, {-half, half}, 1.0);
    peak_ = app.atomPeak() * app.gain;
    const double rs = app.blurred(app.rowSigma), ts = app.blurred(app.troughSigma);
    auto rows = periodicGaussians(kRowPitchNm, rs, {0.0}, app.rowAmp * app.rowSigma / rs * app.gain);
    auto troughs = periodicGaussians(kRowPitchNm, ts, {0.5}, app.troughAmp * app.troughSigma / ts * app.gain);
    if (app.troughPitAmp != 0) {
        // Peak-normalised like the atoms: blur spreads the pit, conserving its volume.
        const double pu = app.blurred(app.troughPitSigma), pv = app.blurred(app.troughPitWidth);
        pit_ = app.troughPitAmp * (app.troughPitSigma / pu) * (app.troughPitWidth / pv) * app.gain;
        pitU_ = periodicGaussians(kDimerPitchNm, pu, {0.5}, 1.0);
        pitV_ = periodicGaussians(kRowPitchNm, pv, {0.5}, 1.0);
    }
    rv_.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) rv_[i] = rows[i] + troughs[i];

    double sum = 0, lo = 1e300, hi = -1e300;
    const int n = 48;
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b) {
            const double v = value(kDimerPitchNm * a / n, kRowPitchNm * b / n);
            sum += v;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    mean_ = sum / (n * n);
    p2p_ = hi - lo;
    double muPu = 0;
    for (int s = 0; s < kSamples; ++s) muPu += pu_[s];
    muPu /= kSamples;
    double rlo = 1e300, rhi = -1e300;
    for (int s = 0; s < kSamples; ++s) {
        const double v = peak_ * muPu * pv_[s] + rv_[s];
        rlo = std::min(rlo, v);
        rhi = std::max(rhi, v);
    }
    rowP2p_ = rhi - rlo;
    // Where across the row the dimer stands out most: at the centre (atoms merged) or off it (two atoms). With
    // inverted contrast the atoms are dips, so the profile is read negated.
    const double sign = app.inverted() ? -1.0 : 1.0;
    double best = -1e300;
    for (int k = 0; k <= 60; ++k) {
        const double v = 0.3 * k / 60, val = sign * value(0, v);
        if (val > best) best = val, apparentAtomV_ = v;
    }
    dip_ = best - sign * value(0, 0);
}

}  // namespace stmlens::sim
