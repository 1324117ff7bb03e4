#pragma once
// Writes one image, the format chosen by the output extension:
//   .npy  float32 values as they are
//   .png  16-bit grey spanning the value range, with Gwyddion calibration text chunks
//         (Gwy::XReal/YReal/ZMin/ZMax...), so Gwyddion and stmlens read the physical units back
//   .tif/.tiff  float32 values
//   .gwy  Gwyddion file with physical units and the validity mask
// Output goes through a temporary file: an error never leaves a partial file.
#include <string>

#include "core/Image.h"

namespace stmlens {

void writeImage(const std::string& path, const Image& img);

// 8-bit grey preview with a robust (0.5-99.5 %) contrast stretch, for looking at.
void writePreviewPng(const std::string& path, const Image& img);

}  // namespace stmlens
