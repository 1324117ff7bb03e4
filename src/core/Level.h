#pragma once
// Levelling, as every STM viewer does before anything else:
//   subtractPolynomial(img, 1);   // plane (order 1) or polynomial background up to order 5
//   alignRows(img);               // remove per-scan-line offsets (median of line differences)
#include "core/Image.h"

namespace stmlens {

// Least-squares fit of a 2-D polynomial of total degree `order` (0..5) to the valid pixels, subtracted in place.
void subtractPolynomial(Image& img, int order);

// Shifts each scan line so that the median difference to the line above is zero.
// Lines without valid pixels are left as they are.
void alignRows(Image& img);

}  // namespace stmlens
