#pragma once
// Atom (or dimer) positions from a probability map: local maxima above a threshold, non-maximum suppression
// closer than minDistancePx, then a sub-pixel, probability-weighted centroid around each maximum.
//
//   std::vector<AtomSite> atoms = findPeaks(atomProb, 0.5, 2.0);   // x, y in prob's pixels; score = peak value
#include <vector>

#include "core/Image.h"
#include "core/Result.h"

namespace stmlens {

// Sites sorted by descending score. Invalid pixels (prob's mask) never hold a peak.
std::vector<AtomSite> findPeaks(const Image& prob, double threshold, double minDistancePx);

}  // namespace stmlens
