#pragma once
// Resampling to a target pixel size, with the exact coordinate map back to the input grid.
//
//   Resampled r = resampleToPixelSize(scan, PixelSize::square(0.1));
//   ... find a feature at (u, v) in r.image ...
//   double x = r.map.toInputX(u), y = r.map.toInputY(v);   // same feature in the scan's own pixels
//
// Convention: pixel centres at integer coordinates, top-left centre (0, 0); so an output pixel u covers
// input [u*s - 0.5, (u+1)*s - 0.5) and its centre is at (u + 0.5) * s - 0.5, where s = input px per output px.
#include "core/Image.h"

namespace stmlens {

struct ResampleMap {
    double scaleX = 1.0;  // input pixels per output pixel
    double scaleY = 1.0;
    double toInputX(double u) const { return (u + 0.5) * scaleX - 0.5; }
    double toInputY(double v) const { return (v + 0.5) * scaleY - 0.5; }
    double toOutputX(double x) const { return (x + 0.5) / scaleX - 0.5; }
    double toOutputY(double y) const { return (y + 0.5) / scaleY - 0.5; }
};

struct Resampled {
    Image image;
    ResampleMap map;
};

// Resizes so that the pixel size is as close to `target` as whole pixel counts allow; the exact resulting
// pixel size is in image.pixelSize and the exact ratio in map. Area averaging when either side shrinks below 0.8
// of its length, else bicubic (a slight shrink by area weights blurs atomic detail). The validity mask follows (a
// pixel is valid only if everything it covers was).
Resampled resampleToPixelSize(const Image& img, PixelSize target);

// Resizes to exactly width x height (same rules). Pixel size scales accordingly when known.
Resampled resampleToSize(const Image& img, int width, int height);

// Nearest-neighbour resize to width x height, for label maps (class ids must not be blended).
Image resizeNearest(const Image& img, int width, int height);

}  // namespace stmlens
