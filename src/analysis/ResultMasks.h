#pragma once
// The analysis as named 0/1 masks on the scan's grid, for Gwyddion export and report layers:
// "atoms" (a small disc at each atom or dimer site), one mask per defect class except the lattice (the
// arg-max of the defect maps, as the pipeline counts areas), and "unresolved" (resolved probability < 0.5).
#include <string>
#include <utility>
#include <vector>

#include "analysis/Pipeline.h"
#include "core/Result.h"

namespace stmlens {

using NamedMask = std::pair<std::string, Image>;

// Throws InputError when the maps are not on the result's grid.
std::vector<NamedMask> resultMasks(const AnalysisResult& result, const AnalysisMaps& maps);

// The mask with this name, or nullptr.
const Image* findMask(const std::vector<NamedMask>& masks, const std::string& name);

}  // namespace stmlens
