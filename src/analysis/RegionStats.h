#pragma once
// Surface-wide figures for the result's "regions": the share of the scan a mask covers (contamination) and the
// total length of step edges from a step mask.
//
//   result.contaminationFraction = maskFraction(contaminationMask);
//   result.stepEdgeLengthNm = stepEdgeLengthNm(stepMask, scan.pixelSize);
#include "core/Image.h"

namespace stmlens {

// Fraction of the valid pixels with mask > 0.5 (0 for an empty mask).
double maskFraction(const Image& mask);

// Total length of the thin structures in a step mask (> 0.5), in nm: half the perimeter of each connected
// piece, which for a band of any width is its length (plus its width). Components shorter than minLengthNm are
// noise and left out. Throws InputError when the pixel size is unknown.
double stepEdgeLengthNm(const Image& stepMask, PixelSize px, double minLengthNm = 1.0);

}  // namespace stmlens
