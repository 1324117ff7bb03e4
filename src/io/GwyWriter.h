#pragma once
// Writes a Gwyddion .gwy file (GWYP): channel 0 is the scan (lengths in m, Z in m when the scan is in nm,
// its invalid pixels as Gwyddion's mask), then one channel per named mask (1 = marked), so results can be
// opened and overlaid in Gwyddion. Written atomically.
#include <string>
#include <utility>
#include <vector>

#include "core/Image.h"

namespace stmlens {

void writeGwy(const std::string& path, const Image& scan, const std::vector<std::pair<std::string, Image>>& masks);

}  // namespace stmlens
