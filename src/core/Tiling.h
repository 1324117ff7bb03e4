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
// The same with rectangular tiles (tileWidth x tileHeight).
std::vector<Rect> tileGrid(int width, int height, int tileWidth, int tileHeight, int overlap);

// The smallest tile side (a multiple of `multiple`, at most maxTile) that covers `size` with the fewest tiles of at
// most maxTile overlapping by `overlap`: tiles are spread evenly instead of the last one mostly repeating its
// neighbour (1024 px with 512 px tiles: three tiles of 368, not three of 512).
int balancedTileSide(int size, int maxTile, int overlap, int multiple);

class TileBlender {
public:
    TileBlender(int width, int height, int channels, int overlap);
    // data: channels x rect.height x rect.width, channel-major (as a network's output).
    void add(const Rect& rect, const float* data);
    // One image per channel, weighted average of every tile that covered each pixel.
    std::vector<Image> finish() const;
    // The same for the top-left width x height only (an input padded for the tiles), built straight from the
    // sums, which are then released: no full-size copy beside them (a 4096 px scan's atom maps are 64 MiB each).
    std::vector<Image> finishCropped(int width, int height);

private:
    float weight(int i, int n, bool atStart, bool atEnd) const;
    std::vector<Image> blended(int width, int height) const;   // the top-left width x height of every channel
    int width_, height_, channels_, overlap_;
    std::vector<float> acc_;   // channels x height x width
    std::vector<float> wsum_;  // height x width
};

}  // namespace stmlens
