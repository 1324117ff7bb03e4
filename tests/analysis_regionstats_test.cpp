#include <gtest/gtest.h>

#include <cmath>

#include "analysis/RegionStats.h"
#include "core/Errors.h"

using namespace stmlens;

TEST(RegionStats, MaskFractionCountsValidPixelsOnly) {
    Image m(10, 10);
    for (int x = 0; x < 10; ++x) m.at(x, 0) = 1;
    EXPECT_DOUBLE_EQ(maskFraction(m), 0.1);
    for (int x = 0; x < 10; ++x) m.setValid(x, 9, false);
    EXPECT_NEAR(maskFraction(m), 10.0 / 90.0, 1e-12);
    EXPECT_EQ(maskFraction(Image()), 0.0);
}

TEST(RegionStats, StepLengthOfLinesAndBands) {
    Image m(200, 100);
    for (int x = 10; x < 110; ++x) m.at(x, 20) = 1;  // 100 px line: 10 nm at 0.1 nm/px
    EXPECT_NEAR(stepEdgeLengthNm(m, PixelSize::square(0.1)), 10.0, 0.15);
    for (int y = 50; y < 54; ++y)
        for (int x = 20; x < 180; ++x) m.at(x, y) = 1;  // 160 px long, 4 px wide band: ~16 nm (+ width)
    const double total = stepEdgeLengthNm(m, PixelSize::square(0.1));
    EXPECT_NEAR(total, 10.0 + 16.0, 0.6);
    // A diagonal line, non-square pixels: 60 px steps of (0.1, 0.2) nm.
    Image d(100, 100);
    for (int i = 0; i < 60; ++i) d.at(10 + i, 10 + i) = 1;
    EXPECT_NEAR(stepEdgeLengthNm(d, PixelSize(0.1, 0.2)), 59 * std::hypot(0.1, 0.2) + 0.1, 0.2);
    // Specks shorter than the minimum length are noise.
    Image s(50, 50);
    s.at(5, 5) = 1;
    EXPECT_EQ(stepEdgeLengthNm(s, PixelSize::square(0.1), 1.0), 0.0);
    EXPECT_THROW(stepEdgeLengthNm(s, PixelSize()), InputError);
}
