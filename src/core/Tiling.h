#pragma once
// Tiled processing of large scans in bounded memory: cut overlapping tiles, process each, and blend the
// per-tile outputs back with weights that fall smoothly to zero towards tile borders inside the image
// (so seams never show), but stay at 1 on the image's own borders.
//
//   for (Rect t : tileGrid(w, h, 256, 32)) blender.add(t, process(crop(img, t)));
//   std::vector<Image> maps = blender.finish();
#include <vector>

#include "core/Image.h"

namespace stmlens {

// Tiles of at most tile x tile covering the image, neighbours overlapping by at least `overlap`;
// the last tile in each direction is shifted back to end at the image border.
std::vector<Rect> tileGrid(int width, int height, int tile, int overlap);

class TileBlender {
public:
    TileBlender(int width, int height, int channels, int overlap);
    // data: channels x rect.height x rect.width, channel-major (as a network's output).
    void add(const Rect& rect, const float* data);
    // One image per channel, weighted average of every tile that covered each pixel.
    std::vector<Image> finish() const;

private:
    float weight(int i, int n, bool atStart, bool atEnd) const;
    int width_, height_, channels_, overlap_;
    std::vector<float> acc_;   // channels x height x width
    std::vector<float> wsum_;  // height x width
};

}  // namespace stmlens
