#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>

#include "core/Errors.h"
#include "core/Resample.h"
#include "core/Tiling.h"

using namespace stmlens;

namespace {
// A Gaussian spot at (cx, cy) on a w x h grid; its centroid is the spot centre.
Image spot(int w, int h, double cx, double cy, double sigma) {
    Image img(w, h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            img.at(x, y) = static_cast<float>(std::exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * sigma * sigma)));
    return img;
}
std::pair<double, double> centroid(const Image& img) {
    double sx = 0, sy = 0, s = 0;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) {
            sx += x * img.at(x, y);
            sy += y * img.at(x, y);
            s += img.at(x, y);
        }
    return {sx / s, sy / s};
}
}  // namespace

TEST(Resample, ShrinkMapsCoordinatesBackExactly) {
    Image img = spot(300, 200, 137.3, 91.7, 6.0);
    img.pixelSize = {0.05, 0.05};
    auto r = resampleToPixelSize(img, PixelSize::square(0.1));
    EXPECT_EQ(r.image.width(), 150);
    EXPECT_EQ(r.image.height(), 100);
    EXPECT_NEAR(r.image.pixelSize.x_nm, 0.1, 1e-12);
    auto [u, v] = centroid(r.image);
    EXPECT_NEAR(r.map.toInputX(u), 137.3, 0.05);
    EXPECT_NEAR(r.map.toInputY(v), 91.7, 0.05);
}

TEST(Resample, EnlargeMapsCoordinatesBackExactly) {
    Image img = spot(101, 77, 40.2, 33.9, 3.0);
    img.pixelSize = {0.2, 0.25};
    auto r = resampleToPixelSize(img, PixelSize::square(0.1));
    EXPECT_EQ(r.image.width(), 202);
    EXPECT_EQ(r.image.height(), 193);  // 77 * 2.5 = 192.5 rounds to 193
    EXPECT_NEAR(r.image.pixelSize.y_nm, 0.25 * 77 / 193.0, 1e-12);
    auto [u, v] = centroid(r.image);
    EXPECT_NEAR(r.map.toInputX(u), 40.2, 0.05);
    EXPECT_NEAR(r.map.toInputY(v), 33.9, 0.05);
    EXPECT_NEAR(r.map.toOutputX(r.map.toInputX(12.3)), 12.3, 1e-12);
}

// A slight shrink (a 0.0995 nm pixel to a network's 0.1) must keep fine detail: the two atoms of a dimer, 0.24 nm
// apart, are a 2.4-2.6 px period. Area weights kept 0.64 of such a pattern's spread (and merged the cda frames'
// atom pairs); bicubic keeps 0.81. A strong shrink still averages areas, so the pattern does not alias.
TEST(Resample, ASlightShrinkKeepsAtomicDetail) {
    auto spread = [](const Image& img) {
        double sum = 0, sum2 = 0;
        for (float v : img.pixels()) sum += v, sum2 += double(v) * v;
        const double n = static_cast<double>(img.size()), mean = sum / n;
        return std::sqrt(sum2 / n - mean * mean);
    };
    Image img(64, 512);
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) img.at(x, y) = static_cast<float>(std::cos(2 * M_PI * y / 2.6));
    img.pixelSize = PixelSize(0.1, 0.0995);
    const Resampled slight = resampleToPixelSize(img, PixelSize::square(0.1));
    ASSERT_EQ(slight.image.height(), 509);
    EXPECT_GT(spread(slight.image), 0.75 * spread(img));
    const Resampled strong = resampleToPixelSize(img, PixelSize::square(0.2));   // 2.6 px -> 1.3 px: beyond Nyquist
    EXPECT_LT(spread(strong.image), 0.5 * spread(img));
}

TEST(Resample, RefusesUnknownPixelSize) {
    Image img(10, 10);
    EXPECT_THROW(resampleToPixelSize(img, PixelSize::square(0.1)), InputError);
    img.pixelSize = PixelSize::square(0.1);
    EXPECT_THROW(resampleToPixelSize(img, PixelSize{}), InputError);
}

TEST(Resample, MaskFollowsTheImage) {
    Image img(100, 100, 1.0f);
    img.pixelSize = PixelSize::square(0.1);
    for (int y = 80; y < 100; ++y)
        for (int x = 0; x < 100; ++x) img.setValid(x, y, false);
    auto r = resampleToPixelSize(img, PixelSize::square(0.2));
    EXPECT_TRUE(r.image.isValid(10, 30));
    EXPECT_FALSE(r.image.isValid(10, 45));
}

TEST(Tiling, GridCoversImageWithOverlap) {
    auto tiles = tileGrid(1000, 600, 256, 32);
    std::vector<int> cover(1000 * 600, 0);
    for (const auto& t : tiles) {
        EXPECT_LE(t.x + t.width, 1000);
        EXPECT_LE(t.y + t.height, 600);
        for (int y = t.y; y < t.y + t.height; ++y)
            for (int x = t.x; x < t.x + t.width; ++x) cover[y * 1000 + x]++;
    }
    for (int c : cover) EXPECT_GE(c, 1);
    EXPECT_EQ(tileGrid(100, 50, 256, 32).size(), 1u);
    EXPECT_THROW(tileGrid(100, 100, 32, 32), InputError);
}

TEST(Tiling, BalancedTilesSpreadEvenly) {
    // 1024 px with tiles of at most 512 overlapping by 32: three tiles are needed; 368 px each (a multiple of 8)
    // cover it, instead of three of 512 where the last one mostly repeats the second.
    EXPECT_EQ(balancedTileSide(1024, 512, 32, 8), 368);
    EXPECT_EQ(balancedTileSide(512, 512, 32, 8), 512);    // one tile
    EXPECT_EQ(balancedTileSide(300, 512, 32, 8), 300);    // smaller than a tile: the whole side
    EXPECT_EQ(balancedTileSide(520, 512, 32, 8), 280);    // two tiles of 276 -> 280
    for (int size : {513, 700, 1024, 2000, 4096}) {
        const int side = balancedTileSide(size, 512, 32, 8);
        EXPECT_LE(side, 512);
        EXPECT_EQ(side % 8, 0);
        const auto tiles = tileGrid(size, 64, side, 64, 32);
        int covered = 0;
        for (const auto& t : tiles) covered = std::max(covered, t.x + t.width);
        EXPECT_EQ(covered, size);
        // Never more tiles than the fixed 512 grid needs.
        EXPECT_LE(tiles.size(), tileGrid(size, 64, 512, 64, 32).size());
    }
    const auto rect = tileGrid(1000, 300, 400, 300, 20);
    ASSERT_EQ(rect.size(), 3u);
    EXPECT_EQ(rect[0].height, 300);
    EXPECT_EQ(rect[2].x + rect[2].width, 1000);
}

TEST(Tiling, BlendingReproducesAPerPixelFunctionWithoutSeams) {
    // Each tile "processes" by copying the smooth input: the blend must equal the input everywhere.
    const int w = 700, h = 333;
    Image img(w, h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) img.at(x, y) = std::sin(x * 0.05f) + std::cos(y * 0.03f);
    TileBlender blend(w, h, 2, 48);
    for (const auto& t : tileGrid(w, h, 128, 48)) {
        Image c = crop(img, t);
        std::vector<float> data(c.pixels());
        for (float v : c.pixels()) data.push_back(2 * v);  // second channel
        blend.add(t, data.data());
    }
    auto out = blend.finish();
    ASSERT_EQ(out.size(), 2u);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            ASSERT_NEAR(out[0].at(x, y), img.at(x, y), 1e-4f);
            ASSERT_NEAR(out[1].at(x, y), 2 * img.at(x, y), 2e-4f);
        }
    // Cropped straight from the sums (the networks' padded inputs): the same values, bit for bit.
    auto cropped = blend.finishCropped(650, 300);
    ASSERT_EQ(cropped.size(), 2u);
    ASSERT_EQ(cropped[1].width(), 650);
    ASSERT_EQ(cropped[1].height(), 300);
    for (int c = 0; c < 2; ++c)
        for (int y = 0; y < 300; ++y)
            for (int x = 0; x < 650; ++x) ASSERT_EQ(cropped[c].at(x, y), out[c].at(x, y));
    EXPECT_THROW(TileBlender(10, 10, 1, 2).finishCropped(11, 10), std::invalid_argument);
}
