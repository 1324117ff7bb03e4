#pragma once
// The largest defect-free rectangles, aligned to the dimer rows: where a lithography user can place a pattern.
//
//   // blocked: 1 where a defect, step, contamination or unresolved region is (or within a safety margin of one)
//   std::vector<FreeRegion> free = findFreeRegions(blocked, scan.pixelSize, lattice.rowDirectionDeg, 5, 4.0);
//   // free[0]: centre in the input's pixels, widthNm along the rows, heightNm across them
#include <vector>

#include "core/Image.h"
#include "core/Result.h"

namespace stmlens {

// Up to maxCount non-overlapping rectangles, largest first (greedy: the largest, then the largest in what is
// left, ...), none smaller than minAreaNm2. Pixels > 0.5 in `blocked`, invalid pixels of its mask and
// everything outside the image count as blocked. Non-square pixels are handled (the search runs on a square
// grid). Throws InputError when the pixel size is unknown.
std::vector<FreeRegion> findFreeRegions(const Image& blocked, PixelSize px, double rowDirectionDeg, int maxCount,
                                        double minAreaNm2);

// A blocked mask for findFreeRegions: each defect's bounding box grown by marginNm on every side
// (extended and localized alike); pixel size from px. Other masks (steps, unresolved) can be OR-ed in.
Image blockedByDefects(int width, int height, const std::vector<Defect>& defects, PixelSize px, double marginNm);

}  // namespace stmlens
