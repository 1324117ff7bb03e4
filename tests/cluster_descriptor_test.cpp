#include <gtest/gtest.h>

#include <cmath>

#include "analysis/DefectDescriptor.h"
#include "core/Errors.h"

using namespace stmlens;

namespace {
// A smooth, asymmetric pattern: stripes at an angle plus an off-centre bump, so any wrong turn shows.
Image pattern(int w, int h, double phase) {
    Image img(w, h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            img.at(x, y) = static_cast<float>(std::sin(0.7 * x + 0.3 * y + phase) +
                                              2.0 * std::exp(-((x - 30) * (x - 30) + (y - 22) * (y - 22)) / 20.0));
    img.pixelSize = PixelSize::square(0.1);
    return img;
}

// The same content turned a quarter turn counter-clockwise on screen: (x, y) -> (y, W - 1 - x).
Image rotateCcw(const Image& img) {
    const int w = img.width(), h = img.height();
    Image out(h, w);
    for (int y2 = 0; y2 < w; ++y2)
        for (int x2 = 0; x2 < h; ++x2) out.at(x2, y2) = img.at(w - 1 - y2, x2);
    out.pixelSize = img.pixelSize;
    return out;
}
}  // namespace

TEST(DefectDescriptor, QuarterTurnOfTheScanGivesTheSameDescriptor) {
    const Image a = pattern(64, 48, 0.0), b = pattern(64, 48, 1.0);
    const Image ra = rotateCcw(a), rb = rotateCcw(b);
    const double x = 31.3, y = 20.6, dir = 28.0;
    const auto f = defectDescriptor({&a, &b}, x, y, a.pixelSize, dir);
    const auto g = defectDescriptor({&ra, &rb}, y, a.width() - 1 - x, a.pixelSize, dir + 90.0);
    ASSERT_EQ(f.size(), 2u * 16 * 16);
    ASSERT_EQ(g.size(), f.size());
    for (size_t i = 0; i < f.size(); ++i) EXPECT_NEAR(f[i], g[i], 1e-4) << "sample " << i;
    // ... and a wrong direction does not.
    const auto wrong = defectDescriptor({&ra, &rb}, y, a.width() - 1 - x, a.pixelSize, dir);
    double diff = 0;
    for (size_t i = 0; i < f.size(); ++i) diff = std::max(diff, static_cast<double>(std::abs(f[i] - wrong[i])));
    EXPECT_GT(diff, 0.5);
}

// Rows horizontal, one sample per pixel, centre between pixels: the window is the pixels themselves.
TEST(DefectDescriptor, UnrotatedWindowSamplesThePixels) {
    const Image a = pattern(64, 48, 0.0);
    DescriptorOptions opt;
    opt.windowNm = 1.6;
    opt.samples = 16;
    const auto f = defectDescriptor({&a}, 20.5, 30.5, a.pixelSize, 0.0, opt);
    for (int j = 0; j < 16; ++j)
        for (int i = 0; i < 16; ++i) EXPECT_NEAR(f[j * 16 + i], a.at(13 + i, 23 + j), 1e-5);
}

TEST(DefectDescriptor, AllDefectsAndEdges) {
    const Image a = pattern(64, 48, 0.0);
    std::vector<Defect> defects(3);
    defects[0].x = 10;
    defects[0].y = 10;
    defects[1].x = 0;  // at the border: samples outside take the border pixels
    defects[1].y = 47;
    defects[2].x = 63;
    defects[2].y = 0;
    const auto all = defectDescriptors({&a}, defects, a.pixelSize, {15.0});
    ASSERT_EQ(all.size(), 3u);
    for (const auto& f : all) {
        ASSERT_EQ(f.size(), 256u);
        for (float v : f) EXPECT_TRUE(std::isfinite(v));
    }
    EXPECT_EQ(all[0], defectDescriptor({&a}, 10, 10, a.pixelSize, 15.0));
    EXPECT_TRUE(defectDescriptors({&a}, {}, a.pixelSize, {}).empty());
}

TEST(DefectDescriptor, RejectsBadStacks) {
    const Image a = pattern(64, 48, 0.0), small = pattern(32, 32, 0.0);
    EXPECT_THROW(defectDescriptor({}, 1, 1, a.pixelSize, 0), InputError);
    EXPECT_THROW(defectDescriptor({&a, &small}, 1, 1, a.pixelSize, 0), InputError);
    EXPECT_THROW(defectDescriptor({&a}, 1, 1, PixelSize(), 0), InputError);
    EXPECT_THROW(defectDescriptor({&a}, NAN, 1, a.pixelSize, 0), InputError);
    std::vector<Defect> two(2);
    EXPECT_THROW(defectDescriptors({&a}, two, a.pixelSize, {0.0, 1.0, 2.0}), InputError);
}
