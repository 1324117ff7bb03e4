#pragma once
// Scans published with their labels burned in: a grey STM image in an RGB file where each labelled lattice
// site is one pixel painted in its class colour (SiQAD's lattice overlay, as in the cda-tum
// sidb-defect-aware-physical-design frames). Decoding gives back the grey image, with every painted pixel
// replaced by the mean of its unpainted 8-neighbours, and a label map (label id per pixel, 0 = no label).
//
//   LatticeOverlay o = readLatticeOverlay("frame.png", {{1, {255, 0, 0}}, {14, {0, 0, 255}}});
//   o.image, o.labels, o.paintedPixels
#include <array>
#include <map>
#include <string>

#include "core/Image.h"

namespace stmlens {

using OverlayPalette = std::map<int, std::array<int, 3>>;   // label id -> R, G, B

struct LatticeOverlay {
    Image image;    // grey values as stored (0-255), no pixel size
    Image labels;   // label id per pixel as float, 0 where unpainted
    size_t paintedPixels = 0;
};

// Throws InputError for unreadable files, images that are not RGB, and palettes with repeated colours.
LatticeOverlay readLatticeOverlay(const std::string& path, const OverlayPalette& palette);

}  // namespace stmlens
