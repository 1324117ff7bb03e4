#pragma once
// In-place flips used to bring vendor data into "row 0 = top, left to right" order (Gwyddion's convention).
#include "core/Image.h"

namespace stmlens {

void flipRows(Image& img);     // top <-> bottom
void mirrorColumns(Image& img);  // left <-> right
// Marks rows [y0, y1) invalid (never-recorded lines of a partial scan).
void markRowsInvalid(Image& img, int y0, int y1);
// Number of rows whose every pixel is invalid.
int countInvalidRows(const Image& img);

}  // namespace stmlens
