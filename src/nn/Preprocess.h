#pragma once
// The one normalisation every network input goes through, in training and in inference alike:
// level (plane, scan-line alignment) at the scan's own pixel size, resample to the model's pixel size,
// robust standardisation (median 0, robust spread 1), clipped to +-kClip.
//
//   PreparedInput in = prepareForModel(scan, card.pixelSizeNm);
//   maps = model.predictImage(in.resampled.image);     // then map back with in.resampled.map
#include "core/Resample.h"

namespace stmlens {

constexpr float kInputClip = 6.0f;

struct PreparedInput {
    Resampled resampled;   // image at the model's pixel size, normalised; map back to the scan's grid
};

// Throws InputError when the scan has no pixel size.
PreparedInput prepareForModel(const Image& scan, double modelPixelSizeNm);
// The same for a scan already levelled (subtractPolynomial 1 + alignRows): the pipeline levels once and feeds
// three networks.
PreparedInput prepareLevelledForModel(const Image& levelledScan, double modelPixelSizeNm);

// Levelling + standardisation only (no resampling), for images already at the right pixel size.
void levelAndStandardize(Image& img);

// Brings per-pixel maps from the model's grid back onto the scan's own grid (bilinear, exact pixel-centre map).
Image mapToScanGrid(const Image& modelGridMap, const ResampleMap& map, int scanWidth, int scanHeight);
// Several maps on the same grid (one per class), sharing the coordinate tables.
std::vector<Image> mapToScanGrid(const std::vector<Image>& modelGridMaps, const ResampleMap& map, int scanWidth, int scanHeight);

}  // namespace stmlens
