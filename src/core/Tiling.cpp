#include "core/Tiling.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/Errors.h"

namespace stmlens {

namespace {
std::vector<int> starts(int size, int tile, int overlap) {
    std::vector<int> s;
    if (tile >= size) return {0};
    const int stride = tile - overlap;
    for (int p = 0;; p += stride) {
        if (p + tile >= size) {
            s.push_back(size - tile);
            break;
        }
        s.push_back(p);
    }
    return s;
}
}  // namespace

std::vector<Rect> tileGrid(int width, int height, int tile, int overlap) { return tileGrid(width, height, tile, tile, overlap); }

std::vector<Rect> tileGrid(int width, int height, int tileWidth, int tileHeight, int overlap) {
    if (width <= 0 || height <= 0) throw InputError("cannot tile an empty image");
    if (tileWidth <= 0 || tileHeight <= 0 || overlap < 0 || overlap >= std::min(tileWidth, tileHeight))
        throw InputError("tile size must be positive and larger than the overlap");
    std::vector<Rect> out;
    for (int y : starts(height, tileHeight, overlap))
        for (int x : starts(width, tileWidth, overlap))
            out.push_back({x, y, std::min(tileWidth, width), std::min(tileHeight, height)});
    return out;
}

int balancedTileSide(int size, int maxTile, int overlap, int multiple) {
    if (size <= 0 || maxTile <= overlap || multiple <= 0) throw InputError("bad tiling parameters");
    if (size <= maxTile) return size;
    const int n = (size - overlap + (maxTile - overlap) - 1) / (maxTile - overlap);   // tiles needed
    const int side = (size + (n - 1) * overlap + n - 1) / n;                         // even spread
    return std::min(maxTile, (side + multiple - 1) / multiple * multiple);
}

TileBlender::TileBlender(int width, int height, int channels, int overlap)
    : width_(width), height_(height), channels_(channels), overlap_(overlap),
      acc_(static_cast<size_t>(channels) * width * height, 0.0f), wsum_(static_cast<size_t>(width) * height, 0.0f) {
    if (width <= 0 || height <= 0 || channels <= 0) throw InputError("blender needs a positive size and channel count");
}

float TileBlender::weight(int i, int n, bool atStart, bool atEnd) const {
    // Linear ramp over the overlap, never exactly zero so a pixel covered by one tile keeps its value.
    const float ramp = std::max(1, overlap_);
    float w = 1.0f;
    if (!atStart) w = std::min(w, (i + 0.5f) / ramp);
    if (!atEnd) w = std::min(w, (n - i - 0.5f) / ramp);
    return std::max(w, 1e-3f);
}

void TileBlender::add(const Rect& r, const float* data) {
    const size_t plane = static_cast<size_t>(r.width) * r.height;
    for (int ty = 0; ty < r.height; ++ty) {
        const int y = r.y + ty;
        if (y < 0 || y >= height_) continue;
        const float wy = weight(ty, r.height, r.y == 0, r.y + r.height >= height_);
        for (int tx = 0; tx < r.width; ++tx) {
            const int x = r.x + tx;
            if (x < 0 || x >= width_) continue;
            const float w = wy * weight(tx, r.width, r.x == 0, r.x + r.width >= width_);
            const size_t o = static_cast<size_t>(y) * width_ + x;
            wsum_[o] += w;
            for (int c = 0; c < channels_; ++c)
                acc_[c * static_cast<size_t>(width_) * height_ + o] += w * data[c * plane + static_cast<size_t>(ty) * r.width + tx];
        }
    }
}

std::vector<Image> TileBlender::blended(int width, int height) const {
    std::vector<Image> out;
    for (int c = 0; c < channels_; ++c) {
        Image img(width, height);
        const float* a = acc_.data() + c * static_cast<size_t>(width_) * height_;
        for (int y = 0; y < height; ++y) {
            const size_t row = static_cast<size_t>(y) * width_;
            float* dst = img.row(y);
            for (int x = 0; x < width; ++x) dst[x] = wsum_[row + x] > 0 ? a[row + x] / wsum_[row + x] : 0.0f;
        }
        out.push_back(std::move(img));
    }
    return out;
}

std::vector<Image> TileBlender::finish() const { return blended(width_, height_); }

std::vector<Image> TileBlender::finishCropped(int width, int height) {
    if (width < 1 || height < 1 || width > width_ || height > height_)
        throw std::invalid_argument("TileBlender::finishCropped: the crop must lie within the blended area");
    std::vector<Image> out = blended(width, height);
    std::vector<float>().swap(acc_);
    std::vector<float>().swap(wsum_);
    return out;
}

}  // namespace stmlens
