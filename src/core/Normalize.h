#pragma once
// Robust contrast: percentiles of the valid pixels, and scaling to them.
#include <utility>

#include "core/Image.h"

namespace stmlens {

// Values at the lo and hi percentiles (0..100) of the valid finite pixels.
std::pair<float, float> percentileRange(const Image& img, double loPct, double hiPct);

// Maps [p(loPct), p(hiPct)] to [0, 1] in place (values outside are not clipped).
// A flat image maps to all zeros.
void normalizeRobust(Image& img, double loPct = 1.0, double hiPct = 99.0);

// Subtracts the median and divides by a robust spread (1.4826 * MAD, or the percentile span when MAD is 0).
void standardizeRobust(Image& img);

}  // namespace stmlens
