#pragma once
// Levelling, as every STM viewer does before anything else:
//   levelScan(img);               // what every scan gets before analysis: the three steps below
//   subtractPolynomial(img, 1);   // plane (order 1) or polynomial background up to order 5
//   alignRows(img);               // remove per-scan-line offsets (median of line differences)
//   removeScars(img);             // single-line spikes and glitches (Gwyddion's "remove scars")
#include "core/Image.h"

namespace stmlens {

// Least-squares fit of a 2-D polynomial of total degree `order` (0..5) to the valid pixels, subtracted in place.
void subtractPolynomial(Image& img, int order);

// Removes per-scan-line offsets (median of line differences: drift, jumps, jitter, glitch lines). Where the
// offsets carry a strong periodic part at the dimer-row period (rows parallel to the fast scan axis; the period
// comes from the pixel size when known, else 3-40 lines) that part is the lattice and is kept.
// Lines without valid pixels are left as they are.
void alignRows(Image& img);

// Replaces single-scan-line outliers (tip spikes, glitch dashes) by the mean of the lines above and below: pixels
// that stand out from both vertical neighbours, in the same direction, by more than `threshold` robust spreads of
// the line-to-line differences, while those neighbours agree with each other. Real surface features span
// several lines at any pixel size the networks use, so they are left alone. Returns the pixels replaced.
size_t removeScars(Image& img, double threshold = 4.0);

// Plane, scan-line alignment, then scar removal: the levelling of the pipeline, of network inputs in training and inference,
// of `convert --level` and of simulated previews (one definition, so they cannot drift apart).
void levelScan(Image& img);

}  // namespace stmlens
