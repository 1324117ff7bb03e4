#pragma once
// Which stripes are the dimer rows? Empty-state and some constant-height images show the rows dark and the
// troughs bright, and an atom finder that learnt bright rows then puts the dimers in the troughs. Two checks:
//
//   double phase = brightDefectRowPhase(defects, sitesOnScan, lattices, domains);   // +: sites on the rows
//   if (std::isnan(phase) || std::abs(phase) < kClearRowPhase)
//       inverted = rowContrastInverted(atomModel, resampled, peaks, threshold, minDistPx);
//   else
//       inverted = phase < 0;
#include <vector>

#include "analysis/LatticeCalibration.h"
#include "core/Image.h"
#include "core/Result.h"

namespace stmlens {

class Model;

// Bright point defects (DBs, siloxanes, raised Si) sit on the dimer rows in filled-state, empty-state and
// constant-height images alike. Around each bright, non-extended defect, the mean of cos(2 pi k . (site - defect))
// over the sites of its domain within 2.5 row pitches (k: the domain's row wave vector, cycles per pixel) is
// near +1 when the sites lie on the rows through the defect (+0.5 for a DB on one atom, 0.12 nm off the row
// centre) and as far below zero when they lie in the troughs beside it. Returns the mean over the defects with at
// least 6 such sites; NaN when fewer than 3 defects have them. Sites and defects in the same (input) pixels.
double brightDefectRowPhase(const std::vector<Defect>& defects, const std::vector<AtomSite>& sites,
                            const std::vector<RowLattice>& lattices, const DomainMap& domains);

// Below this size the phase is no clear answer. Simulated scans (bench_accuracy --scans 32, stop 23): the atom
// finder's wrong switches all had +0.78 to +0.96, the inverted scans it missed -0.47 and -0.53; double-tip scans
// with the usual contrast reached -0.16. The real cda frames give -0.19 to +0.24 (they report atoms, not dimers,
// which halves the cosines), so there the atom finder's confidence still decides.
constexpr double kClearRowPhase = 0.25;

// The atom finder's own check: unsure of its peaks (median score below 0.9), it tries a central crop negated, and
// takes the contrast as inverted when it is clearly surer there (median +0.05). `input` and `peaks` on the
// model's grid. Measured gains: inverted +0.02 to +0.25, usual -0.14 to +0.02; a margin of 0.015 caught more
// inverted scans but switched 3 of the 10 cda frames (2 of them for the worse) when given a square 0.1 nm pixel
// instead of 0.097 x 0.1 nm. Trough-pit constant-height frames fool it: negated, they look like a usual frame
// half a row over.
bool rowContrastInverted(const Model& atoms, const Image& input, const std::vector<AtomSite>& peaks, double threshold,
                         double minDistPx);

}  // namespace stmlens
