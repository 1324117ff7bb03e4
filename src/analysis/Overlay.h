#pragma once
// A picture of the result for a person to judge: the levelled scan in grey (robust contrast), atoms as small
// dots, defects as boxes coloured by class with a centroid mark, masks (step edges, unresolved regions) as
// translucent colour, defect-free rectangles as outlines, a legend and a physical scale bar. Small scans are
// enlarged (integer factor) so the dots stay visible.
//
//   OverlayOptions opt;
//   opt.masks.push_back({stepMask, {255, 200, 0}, 0.35, "step edge"});
//   writeOverlayPng("scan_overlay.png", levelled, result, opt);
#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/Image.h"
#include "core/Result.h"

namespace stmlens {

struct OverlayMask {
    Image mask;                          // > 0.5 = inside; same grid as the scan (resized if not)
    std::array<uint8_t, 3> rgb{255, 0, 255};
    double alpha = 0.35;
    std::string label;                   // shown in the legend when not empty
};

struct OverlayOptions {
    std::vector<OverlayMask> masks;
    int minLongSidePx = 1024;            // enlarge until the longer side reaches this (at most 8x)
    bool atoms = true, defects = true, freeRegions = true, scaleBar = true, legend = true;
    // Classes drawn by their pixels (a mask above) rather than by a box: a step edge is a line, and its box
    // would span the scan.
    std::set<std::string> unboxedClasses;
};

struct RgbImage {
    int width = 0, height = 0;
    std::vector<uint8_t> rgb;            // row-major, 3 bytes per pixel
    std::array<uint8_t, 3> at(int x, int y) const {
        const size_t i = 3 * (static_cast<size_t>(y) * width + x);
        return {rgb[i], rgb[i + 1], rgb[i + 2]};
    }
};

// The overlay in memory; scale() is the enlargement factor used (output pixel = (input + 0.5) * scale - 0.5).
RgbImage renderOverlay(const Image& scan, const AnalysisResult& result, const OverlayOptions& options = {});
int overlayScale(const Image& scan, const OverlayOptions& options = {});

// Colour used for a defect class (fixed for common names, stable hash-picked otherwise).
std::array<uint8_t, 3> classColor(const std::string& cls);

// The overlay layers taken from the result's named masks (analysis/ResultMasks.h): step-edge pixels in the
// step-edge colour (and no step-edge boxes), and unresolved areas shaded dark red.
OverlayOptions overlayOptionsWithMasks(const std::vector<std::pair<std::string, Image>>& masks);

// Writes renderOverlay as PNG via a temporary file. Throws InputError when it cannot be written.
void writeOverlayPng(const std::string& path, const Image& scan, const AnalysisResult& result,
                     const OverlayOptions& options = {});

}  // namespace stmlens
