#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "analysis/FreeRegions.h"
#include "core/Errors.h"

using namespace stmlens;

TEST(FreeRegions, EmptyImageIsOneRegion) {
    Image blocked(100, 50);
    auto r = findFreeRegions(blocked, PixelSize::square(0.1), 0.0, 3, 0.5);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_NEAR(r[0].widthNm, 10.0, 1e-9);
    EXPECT_NEAR(r[0].heightNm, 5.0, 1e-9);
    EXPECT_NEAR(r[0].centerX, 49.5, 1e-9);
    EXPECT_NEAR(r[0].centerY, 24.5, 1e-9);
}

TEST(FreeRegions, LargestFirstAroundDefects) {
    Image blocked(100, 50);
    for (int y = 0; y < 50; ++y) blocked.at(30, y) = 1;  // a wall at x = 30
    for (int y = 20; y < 23; ++y)
        for (int x = 70; x < 73; ++x) blocked.at(x, y) = 1;  // a defect in the right part
    auto r = findFreeRegions(blocked, PixelSize::square(0.1), 0.0, 10, 0.5);
    ASSERT_GE(r.size(), 3u);
    // Right of the wall, left of the defect: x 31..69 full height, 39 x 50 px = 19.5 nm^2 (beats 69 x 27 below
    // the defect); then left of the wall: 30 x 50 px = 15 nm^2.
    EXPECT_NEAR(r[0].widthNm * r[0].heightNm, 19.5, 1e-9);
    EXPECT_NEAR(r[0].centerX, 50.0, 1e-9);
    EXPECT_NEAR(r[0].centerY, 24.5, 1e-9);
    EXPECT_NEAR(r[1].widthNm * r[1].heightNm, 15.0, 1e-9);
    EXPECT_NEAR(r[1].centerX, 14.5, 1e-9);
    for (size_t i = 1; i < r.size(); ++i)
        EXPECT_LE(r[i].widthNm * r[i].heightNm, r[i - 1].widthNm * r[i - 1].heightNm);
    for (const auto& f : r) EXPECT_GE(f.widthNm * f.heightNm, 0.5);
}

TEST(FreeRegions, RotatedFreeStripAlongTheRows) {
    // Everything blocked except a 80 x 24 px rectangle whose long side runs at 30 degrees (counter-clockwise
    // on screen), centred at (100, 100).
    const double a = 30 * std::numbers::pi / 180;
    const double ux = std::cos(a), uy = -std::sin(a);  // along the rows, on screen
    const double vx = std::sin(a), vy = std::cos(a);   // across
    Image blocked(200, 200, 1.0f);
    for (int y = 0; y < 200; ++y)
        for (int x = 0; x < 200; ++x) {
            const double dx = x - 100, dy = y - 100;
            if (std::abs(dx * ux + dy * uy) <= 40 && std::abs(dx * vx + dy * vy) <= 12) blocked.at(x, y) = 0;
        }
    auto r = findFreeRegions(blocked, PixelSize::square(0.1), 30.0, 1, 0.1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_NEAR(r[0].widthNm, 8.0, 0.5);
    EXPECT_NEAR(r[0].heightNm, 2.4, 0.5);
    EXPECT_NEAR(r[0].centerX, 100, 1.5);
    EXPECT_NEAR(r[0].centerY, 100, 1.5);
    EXPECT_DOUBLE_EQ(r[0].angleDeg, 30.0);
    // Searched at 45 degrees to the strip, the best aligned rectangle is much smaller.
    auto wrong = findFreeRegions(blocked, PixelSize::square(0.1), 75.0, 1, 0.1);
    ASSERT_EQ(wrong.size(), 1u);
    EXPECT_LT(wrong[0].widthNm * wrong[0].heightNm, 0.5 * r[0].widthNm * r[0].heightNm);
}

TEST(FreeRegions, NonSquarePixelsAndUnknownSize) {
    Image blocked(100, 50);
    auto r = findFreeRegions(blocked, PixelSize(0.1, 0.2), 0.0, 1, 0.0);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_NEAR(r[0].widthNm, 10.0, 1e-9);
    EXPECT_NEAR(r[0].heightNm, 10.0, 1e-9);
    EXPECT_NEAR(r[0].centerX, 49.5, 1e-6);
    EXPECT_NEAR(r[0].centerY, 24.5, 1e-6);
    EXPECT_THROW(findFreeRegions(blocked, PixelSize(), 0.0, 1, 0.0), InputError);
    Image full(10, 10, 1.0f);
    EXPECT_TRUE(findFreeRegions(full, PixelSize::square(0.1), 0.0, 3, 0.0).empty());
}

TEST(FreeRegions, LargeScanSearchedOnACoarserGridStaysFree) {
    Image blocked(2100, 1500);
    for (int y = 0; y < 1500; ++y) blocked.at(700, y) = 1;  // wall at x = 700: right part 1399 x 1500 px
    auto r = findFreeRegions(blocked, PixelSize::square(0.1), 0.0, 2, 1.0);
    ASSERT_EQ(r.size(), 2u);
    // Within a coarse pixel (3 px here) per side of the exact answer, never larger.
    EXPECT_LE(r[0].widthNm, 139.9 + 1e-9);
    EXPECT_GT(r[0].widthNm, 139.9 - 0.7);
    EXPECT_NEAR(r[0].heightNm, 150.0, 0.7);
    EXPECT_NEAR(r[0].centerX, 1400, 4);
    EXPECT_LE(r[1].widthNm, 70.0 + 1e-9);
    EXPECT_GT(r[1].widthNm, 70.0 - 0.7);
    // The wall is never inside a region.
    for (const auto& f : r) EXPECT_GT(std::abs(f.centerX - 700) * 0.1, f.widthNm / 2);
}

TEST(FreeRegions, BlockedByDefectsGrowsBoxesByTheMargin) {
    Defect d;
    d.bbox[0] = 10, d.bbox[1] = 20, d.bbox[2] = 12, d.bbox[3] = 21;
    Image b = blockedByDefects(40, 40, {d}, PixelSize(0.1, 0.2), 0.3);
    // 3 px margin in x, 2 px in y (0.3 nm / 0.2 nm rounds up).
    EXPECT_EQ(b.at(7, 18), 1.0f);
    EXPECT_EQ(b.at(15, 23), 1.0f);
    EXPECT_EQ(b.at(6, 20), 0.0f);
    EXPECT_EQ(b.at(11, 17), 0.0f);
    EXPECT_EQ(b.at(16, 20), 0.0f);
    double sum = 0;
    for (float v : b.pixels()) sum += v;
    EXPECT_EQ(sum, 9 * 6);
}
