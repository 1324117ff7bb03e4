#include "nn/Preprocess.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/Errors.h"
#include "core/Level.h"
#include "core/Normalize.h"

namespace stmlens {

namespace {
// Median 0, robust spread 1, clipped: what the networks see.
void standardizeForNetwork(Image& img) {
    standardizeRobust(img);
    for (float& v : img.pixels()) v = std::clamp(v, -kInputClip, kInputClip);
}
}  // namespace

void levelAndStandardize(Image& img) {
    levelScan(img);
    standardizeForNetwork(img);
}

PreparedInput prepareForModel(const Image& scan, double modelPixelSizeNm) {
    Image levelled = scan;
    levelScan(levelled);
    return prepareLevelledForModel(levelled, modelPixelSizeNm);
}

PreparedInput prepareLevelledForModel(const Image& levelled, double modelPixelSizeNm) {
    PreparedInput p;
    p.resampled = resampleToPixelSize(levelled, PixelSize::square(modelPixelSizeNm));
    standardizeForNetwork(p.resampled.image);
    return p;
}

namespace {

// Bilinear taps along one axis: for each scan pixel, the two model-grid pixels around its position and their
// weights, quantised to 1/32 pixel with the border replicated, as cv::remap does with float coordinates. The
// resampling is separable, so the taps of a row and a column give every pixel; that is bit for bit what the
// remap of a full coordinate grid gave, at a fraction of its cost (six class maps on every scan).
struct Tap {
    int i0, i1;
    float w0, w1;
};

std::vector<Tap> axisTaps(int n, int srcN, double (ResampleMap::*toOutput)(double) const, const ResampleMap& map) {
    constexpr int kSteps = 32;   // cv::INTER_TAB_SIZE
    std::vector<Tap> taps(static_cast<size_t>(n));
    for (int x = 0; x < n; ++x) {
        const float c = static_cast<float>((map.*toOutput)(x));
        const int q = static_cast<int>(std::lrint(c * static_cast<float>(kSteps)));
        const int i = q >= 0 ? q / kSteps : -((-q + kSteps - 1) / kSteps);   // floor
        const float w1 = static_cast<float>(q - i * kSteps) / kSteps;
        taps[x] = {std::clamp(i, 0, srcN - 1), std::clamp(i + 1, 0, srcN - 1), 1.0f - w1, w1};
    }
    return taps;
}

struct GridTaps {
    std::vector<Tap> x, y;
};

GridTaps scanGridTaps(const ResampleMap& map, int w, int h, int srcW, int srcH) {
    return {axisTaps(w, srcW, &ResampleMap::toOutputX, map), axisTaps(h, srcH, &ResampleMap::toOutputY, map)};
}

Image remapToScanGrid(const Image& m, const GridTaps& taps) {
    Image out(static_cast<int>(taps.x.size()), static_cast<int>(taps.y.size()));
    for (int y = 0; y < out.height(); ++y) {
        const Tap& ty = taps.y[y];
        const float *r0 = m.row(ty.i0), *r1 = m.row(ty.i1);
        float* o = out.row(y);
        for (int x = 0; x < out.width(); ++x) {
            const Tap& tx = taps.x[x];
            o[x] = r0[tx.i0] * (tx.w0 * ty.w0) + r0[tx.i1] * (tx.w1 * ty.w0) + r1[tx.i0] * (tx.w0 * ty.w1) + r1[tx.i1] * (tx.w1 * ty.w1);
        }
    }
    return out;
}

}  // namespace

Image mapToScanGrid(const Image& m, const ResampleMap& map, int w, int h) {
    return remapToScanGrid(m, scanGridTaps(map, w, h, m.width(), m.height()));
}

std::vector<Image> mapToScanGrid(const std::vector<Image>& maps, const ResampleMap& map, int w, int h) {
    std::vector<Image> result;
    if (maps.empty()) return result;
    const GridTaps taps = scanGridTaps(map, w, h, maps[0].width(), maps[0].height());   // shared by every class map
    for (const Image& m : maps) {
        if (m.width() != maps[0].width() || m.height() != maps[0].height())
            throw InputError("class maps", "maps differ in size");
        result.push_back(remapToScanGrid(m, taps));
    }
    return result;
}

}  // namespace stmlens
