#pragma once
// Lattice sites paired with their closest neighbour: the two atoms of a dimer (0.24 nm apart across the row,
// while the next site is at least 0.38 nm away) when a scan is too coarse to tell them apart reliably.
#include <utility>
#include <vector>

namespace stmlens {

// Pairs (i, j), i < j, of points at most maxDist apart, closest first, each point in at most one pair.
// xs and ys hold the points' coordinates, in any one unit.
std::vector<std::pair<int, int>> closestPairs(const std::vector<double>& xs, const std::vector<double>& ys, double maxDist);

}  // namespace stmlens
