#pragma once
// Lattice sites paired with their closest neighbour: the two atoms of a dimer (0.24 nm apart across the row,
// while the next site is at least 0.38 nm away), joined where a scan is reported as dimers.
#include <utility>
#include <vector>

#include "core/PixelSize.h"
#include "core/Result.h"

namespace stmlens {

// Pairs (i, j), i < j, of points at most maxDist apart, closest first, each point in at most one pair.
// xs and ys hold the points' coordinates, in any one unit.
std::vector<std::pair<int, int>> closestPairs(const std::vector<double>& xs, const std::vector<double>& ys, double maxDist);

// Where a scan is reported as dimers: two sites closer than 0.3 nm across the rows (and within 0.1 nm along
// them) are both atoms of one dimer and become one site at their midpoint, with the better score. Each site is
// paired in the row direction of its domain (lattice.domains, else lattice.rowDirectionDeg).
void mergeDimerAtoms(std::vector<AtomSite>& sites, PixelSize px, const LatticeInfo& lattice);

// Share of the sites (0..1) that mergeDimerAtoms would pair as the two atoms of a dimer; 0 without sites.
double dimerPairedFraction(const std::vector<AtomSite>& sites, PixelSize px, const LatticeInfo& lattice);

}  // namespace stmlens
