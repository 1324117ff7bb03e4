#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/Errors.h"
#include "core/Image.h"
#include "core/Level.h"
#include "core/Normalize.h"

using namespace stmlens;

TEST(Image, RejectsNonPositiveAndAbsurdSizes) {
    EXPECT_THROW(Image(0, 10), InputError);
    EXPECT_THROW(Image(10, -1), InputError);
    EXPECT_THROW(Image(1000000, 1000000), InputError);
}

TEST(Image, MaskNonFiniteReplacesAndMarksInvalid) {
    Image img(4, 3, 2.0f);
    img.at(1, 1) = NAN;
    img.at(2, 2) = INFINITY;
    EXPECT_EQ(img.maskNonFinite(), 2u);
    EXPECT_FALSE(img.isValid(1, 1));
    EXPECT_FALSE(img.isValid(2, 2));
    EXPECT_TRUE(img.isValid(0, 0));
    EXPECT_FLOAT_EQ(img.at(1, 1), 2.0f);
    EXPECT_EQ(img.validCount(), 10u);
}

TEST(Image, ValidRowRangeOfAbortedScan) {
    Image img(5, 6, 1.0f);
    for (int y = 4; y < 6; ++y)
        for (int x = 0; x < 5; ++x) img.at(x, y) = NAN;
    img.maskNonFinite();
    EXPECT_EQ(img.validRowRange(), std::make_pair(0, 3));
}

TEST(Image, CropKeepsPixelSizeAndValues) {
    Image img(10, 8);
    img.pixelSize = {0.1, 0.2};
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 10; ++x) img.at(x, y) = static_cast<float>(10 * y + x);
    Image c = crop(img, {2, 3, 4, 2});
    ASSERT_EQ(c.width(), 4);
    ASSERT_EQ(c.height(), 2);
    EXPECT_FLOAT_EQ(c.at(0, 0), 32.0f);
    EXPECT_FLOAT_EQ(c.at(3, 1), 45.0f);
    EXPECT_DOUBLE_EQ(c.pixelSize.y_nm, 0.2);
    EXPECT_THROW(crop(img, {20, 20, 3, 3}), InputError);
}

TEST(PixelSize, ParsesOneOrTwoValuesAndRejectsBadOnes) {
    auto p = PixelSize::parse("0.1");
    EXPECT_DOUBLE_EQ(p.x_nm, 0.1);
    EXPECT_DOUBLE_EQ(p.y_nm, 0.1);
    p = PixelSize::parse("0.097,0.099");
    EXPECT_DOUBLE_EQ(p.x_nm, 0.097);
    EXPECT_DOUBLE_EQ(p.y_nm, 0.099);
    EXPECT_THROW(PixelSize::parse("0"), InputError);
    EXPECT_THROW(PixelSize::parse("-0.1"), InputError);
    EXPECT_THROW(PixelSize::parse("abc"), InputError);
    EXPECT_THROW(PixelSize::parse("0.1,"), InputError);
    EXPECT_THROW(PixelSize::parse("nan"), InputError);
}

TEST(Level, PlaneRemovalLeavesFlatImage) {
    Image img(64, 48);
    for (int y = 0; y < 48; ++y)
        for (int x = 0; x < 64; ++x) img.at(x, y) = 3.0f + 0.5f * x - 0.25f * y;
    subtractPolynomial(img, 1);
    for (float v : img.pixels()) EXPECT_NEAR(v, 0.0f, 1e-3f);
}

TEST(Level, PlaneFitIgnoresMaskedPixelsAndSubsamplesLargeImages) {
    // 600 x 500 is subsampled (every second pixel) for the fit; the masked lines hold garbage that would tilt it.
    Image img(600, 500);
    for (int y = 0; y < 500; ++y)
        for (int x = 0; x < 600; ++x) img.at(x, y) = 2.0f - 0.01f * x + 0.02f * y;
    for (int y = 100; y < 140; ++y)
        for (int x = 0; x < 600; ++x) {
            img.at(x, y) = 1e6f;
            img.setValid(x, y, false);
        }
    subtractPolynomial(img, 1);
    for (int y = 0; y < 500; y += 7)
        for (int x = 0; x < 600; x += 7)
            if (img.isValid(x, y)) ASSERT_NEAR(img.at(x, y), 0.0f, 1e-3f) << x << "," << y;
}

TEST(Level, QuadraticBowRemovedByOrder2NotByPlane) {
    Image a(64, 64);
    for (int y = 0; y < 64; ++y)
        for (int x = 0; x < 64; ++x) a.at(x, y) = 0.01f * (x - 30) * (x - 30) + 0.02f * y;
    Image b = a;
    subtractPolynomial(a, 2);
    subtractPolynomial(b, 1);
    const auto ra = valueRange(a), rb = valueRange(b);
    EXPECT_LT(ra.max - ra.min, 1e-2f);
    EXPECT_GT(rb.max - rb.min, 5.0f);
    EXPECT_THROW(subtractPolynomial(a, 9), InputError);
}

TEST(Level, AlignRowsRemovesLineOffsetsButKeepsFeatures) {
    // Irregular per-line offsets (jumps and jitter, no period): removed entirely.
    const float jumps[20] = {0, 5, 5, 2, 9, -3, -3, -3, 4, 1, 7, 7, 0, -6, 2, 8, 8, 3, -1, 6};
    Image img(50, 20);
    for (int y = 0; y < 20; ++y)
        for (int x = 0; x < 50; ++x) img.at(x, y) = jumps[y] + ((x == 25 && y == 10) ? 1.0f : 0.0f);
    alignRows(img);
    // Every row now has the same median; the single bright pixel survives.
    for (int y = 1; y < 20; ++y) EXPECT_NEAR(img.at(0, y), img.at(0, 0), 1e-5f);
    EXPECT_NEAR(img.at(25, 10) - img.at(24, 10), 1.0f, 1e-5f);
}

TEST(Level, AlignRowsKeepsDimerRowsParallelToTheScanLines) {
    // Rows along x at 0.1 nm/px (period 7.68 lines) plus line jumps: the rows are lattice and must survive
    // (median alignment alone flattens them); the jumps must go.
    const int w = 64, h = 128;
    Image img(w, h);
    img.pixelSize = PixelSize::square(0.1);
    std::vector<float> rows(h), jump(h);
    for (int y = 0; y < h; ++y) {
        rows[y] = static_cast<float>(std::cos(2 * M_PI * y * 0.1 / 0.768));
        jump[y] = (y >= 40 ? 3.0f : 0.0f) + (y == 90 ? -4.0f : 0.0f) + 0.05f * static_cast<float>((y * 37) % 11 - 5);
        for (int x = 0; x < w; ++x) img.at(x, y) = rows[y] + jump[y] + 0.1f * static_cast<float>(std::sin(1.7 * x));
    }
    alignRows(img);
    // What is left per line is the row profile up to a constant: correlation with it close to 1.
    double mr = 0, ml = 0;
    std::vector<double> line(h);
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) line[y] += img.at(x, y) / w;
        mr += rows[y] / h;
        ml += line[y] / h;
    }
    double sxy = 0, sxx = 0, syy = 0;
    for (int y = 0; y < h; ++y) {
        sxy += (rows[y] - mr) * (line[y] - ml);
        sxx += (rows[y] - mr) * (rows[y] - mr);
        syy += (line[y] - ml) * (line[y] - ml);
    }
    EXPECT_GT(sxy / std::sqrt(sxx * syy), 0.97);
    // Rows kept at their full amplitude, not flattened.
    EXPECT_NEAR(std::sqrt(syy / sxx), 1.0, 0.1);
}

TEST(Level, RemoveScarsTakesSpikesAndLeavesLatticeAndBlobs) {
    // Atom-like lattice (period 4 px along x, 7.7 lines along y, as at 0.1 nm/px), a Gaussian blob 0.5 nm wide
    // (a dangling bond: several lines tall), a 3-pixel spike on one line and a bright dash across part of a line.
    const int w = 96, h = 96;
    Image img(w, h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            img.at(x, y) = 0.05f * static_cast<float>(std::cos(2 * M_PI * x / 4.0) + std::cos(2 * M_PI * y / 7.68)) +
                           0.3f * static_cast<float>(std::exp(-((x - 30) * (x - 30) + (y - 30) * (y - 30)) / 8.0));
    const Image clean = img;
    for (int x = 60; x < 63; ++x) img.at(x, 70) += 0.4f;
    for (int x = 10; x < 50; ++x) img.at(x, 80) -= 0.3f;
    EXPECT_EQ(removeScars(img), 43u);
    double worst = 0;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            if (y != 70 && y != 80) worst = std::max(worst, std::abs(double(img.at(x, y) - clean.at(x, y))));
    EXPECT_EQ(worst, 0.0);                                    // nothing off the two scar lines changed
    for (int x = 60; x < 63; ++x) EXPECT_NEAR(img.at(x, 70), clean.at(x, 70), 0.03f);
    for (int x = 10; x < 50; ++x) EXPECT_NEAR(img.at(x, 80), clean.at(x, 80), 0.03f);
    // Blank and tiny images: nothing to do, no crash.
    Image flat(32, 32);
    EXPECT_EQ(removeScars(flat), 0u);
    Image two(8, 2);
    EXPECT_EQ(removeScars(two), 0u);
}

TEST(Normalize, RobustToOutliers) {
    Image img(100, 100);
    for (int i = 0; i < 10000; ++i) img.pixels()[i] = static_cast<float>(i % 100) / 99.0f;
    img.at(0, 0) = 1e6f;  // a spike
    normalizeRobust(img, 1, 99);
    EXPECT_NEAR(img.at(50, 1), 0.5f, 0.03f);
    Image flat(10, 10, 3.0f);
    normalizeRobust(flat);
    for (float v : flat.pixels()) EXPECT_EQ(v, 0.0f);
}
