#pragma once
// Multi-channel descriptor of a defect: a square window centred on it, turned so the dimer rows run
// horizontally, sampled from every channel of the stack and flattened (channel, then row, then column).
//
//   std::vector<const Image*> stack{&levelled, &atomProb, &dbProb, &dvProb, &resolved};   // one grid
//   auto f = defectDescriptor(stack, d.x, d.y, scan.pixelSize, lattice.rowDirectionDeg);
//   auto all = defectDescriptors(stack, result.defects, scan.pixelSize, {lattice.rowDirectionDeg});
//
// Row direction: degrees from +x, counter-clockwise as seen on screen (row 0 at the top), so its direction in
// pixel coordinates is (cos a, -sin a). Rows have no sign: a and a + 180 give windows turned by half a turn.
// Sampling is bilinear; samples outside the image take the nearest border pixel.
#include <vector>

#include "core/Image.h"
#include "core/Result.h"

namespace stmlens {

struct DescriptorOptions {
    double windowNm = 2.5;   // side of the square window
    int samples = 16;        // samples per side
};

// channels.size() * samples^2 values. Throws InputError when the stack is empty, the channels differ in size,
// the pixel size is unknown or the options are out of range.
std::vector<float> defectDescriptor(const std::vector<const Image*>& channels, double x, double y,
                                    PixelSize pixelSize, double rowDirectionDeg, const DescriptorOptions& options = {});

// One descriptor per defect; rowDirectionsDeg holds one direction for all or one per defect.
std::vector<std::vector<float>> defectDescriptors(const std::vector<const Image*>& channels,
                                                  const std::vector<Defect>& defects, PixelSize pixelSize,
                                                  const std::vector<double>& rowDirectionsDeg,
                                                  const DescriptorOptions& options = {});

// The levelled scan in robust-spread units (median 0, 1.4826 MAD = 1; a subsample of big scans sets both):
// what the descriptor's image channel and the defect type network sample. Non-finite pixels become 0.
Image robustlyScaledScan(const Image& levelled);

// The image window of one defect as the defect type network reads it: sampled from robustlyScaledScan's output,
// the window's median removed (a defect on a higher terrace is the same defect), clipped to +-clip and divided
// by clip, so the values lie in [-1, 1]. Same checks as defectDescriptor.
std::vector<float> normalisedImageWindow(const Image& scaled, double x, double y, PixelSize pixelSize,
                                         double rowDirectionDeg, const DescriptorOptions& options, float clip = 3.0f);

}  // namespace stmlens
