#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "analysis/Peaks.h"

using namespace stmlens;

namespace {

void addGaussian(Image& img, double cx, double cy, double sigma, double amp) {
    const int r = static_cast<int>(std::ceil(4 * sigma));
    for (int y = std::max(0, static_cast<int>(cy) - r); y <= std::min(img.height() - 1, static_cast<int>(cy) + r + 1); ++y)
        for (int x = std::max(0, static_cast<int>(cx) - r); x <= std::min(img.width() - 1, static_cast<int>(cx) + r + 1); ++x)
            img.at(x, y) += static_cast<float>(amp * std::exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * sigma * sigma)));
}

}  // namespace

TEST(Peaks, SubPixelCentroidsOfGaussianBlobs) {
    Image img(64, 64);
    struct P { double x, y; };
    std::vector<P> truth{{10.3, 12.8}, {30.0, 30.0}, {45.45, 20.1}, {20.7, 50.35}};
    for (auto& p : truth) addGaussian(img, p.x, p.y, 1.2, 0.9);
    auto sites = findPeaks(img, 0.5, 3.0);
    ASSERT_EQ(sites.size(), truth.size());
    for (auto& p : truth) {
        double best = 1e9;
        for (auto& s : sites) best = std::min(best, std::hypot(s.x - p.x, s.y - p.y));
        EXPECT_LT(best, 0.08) << p.x << "," << p.y;
    }
    for (auto& s : sites) {
        EXPECT_GT(s.score, 0.8);
        EXPECT_LE(s.score, 0.91);
    }
}

TEST(Peaks, DenseLatticeAtFourPixelSpacingWithNoise) {
    // A 2x1-like lattice of sites 3.9 px apart along x and 7.7 px across, each offset by a fraction of a pixel.
    Image img(128, 128);
    std::vector<std::pair<double, double>> truth;
    for (double y = 4.3; y < 124; y += 7.7)
        for (double x = 3.1; x < 124; x += 3.9) {
            truth.emplace_back(x, y);
            addGaussian(img, x, y, 0.9, 1.0);
        }
    std::mt19937 rng(5);
    std::normal_distribution<float> n(0.0f, 0.03f);
    for (float& v : img.pixels()) v += n(rng);
    auto sites = findPeaks(img, 0.5, 2.5);
    EXPECT_EQ(sites.size(), truth.size());
    double worst = 0;
    for (auto& [x, y] : truth) {
        double best = 1e9;
        for (auto& s : sites) best = std::min(best, std::hypot(s.x - x, s.y - y));
        worst = std::max(worst, best);
    }
    EXPECT_LT(worst, 0.2);
}

TEST(Peaks, SuppressesNearbyWeakerMaximaAndRespectsThreshold) {
    Image img(40, 40);
    addGaussian(img, 20, 20, 1.0, 0.9);
    addGaussian(img, 23.5, 20, 1.0, 0.6);  // within minDistance: suppressed
    addGaussian(img, 5, 5, 1.0, 0.3);      // below threshold
    auto sites = findPeaks(img, 0.4, 4.0);
    ASSERT_EQ(sites.size(), 1u);
    // The suppressed neighbour's flank pulls the centroid a little towards it.
    EXPECT_NEAR(sites[0].x, 20.0, 0.6);
    EXPECT_NEAR(sites[0].y, 20, 0.05);
    // With a smaller exclusion distance both strong maxima stay.
    EXPECT_EQ(findPeaks(img, 0.4, 2.0).size(), 2u);
}

TEST(Peaks, PlateauGivesOnePeakAndInvalidPixelsNone) {
    Image img(10, 10);
    img.at(4, 4) = img.at(5, 4) = img.at(4, 5) = img.at(5, 5) = 0.8f;
    auto sites = findPeaks(img, 0.5, 1.0);
    ASSERT_EQ(sites.size(), 1u);
    EXPECT_NEAR(sites[0].x, 4.5, 1e-3);
    EXPECT_NEAR(sites[0].y, 4.5, 1e-3);
    img.setValid(4, 4, false);
    img.setValid(5, 4, false);
    img.setValid(4, 5, false);
    img.setValid(5, 5, false);
    EXPECT_TRUE(findPeaks(img, 0.5, 1.0).empty());
    EXPECT_TRUE(findPeaks(Image(8, 8), 0.5, 2.0).empty());
}
