#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "analysis/ClusterMetrics.h"
#include "analysis/MeanShift.h"
#include "core/Errors.h"

using namespace stmlens;

namespace {
// Gaussian blobs: `k` centres on a scaled simplex-like grid, `per` points each, spread sigma.
struct Blobs {
    std::vector<float> points;
    std::vector<int> truth;
    int n = 0;
};

Blobs makeBlobs(int k, int per, int d, double separation, double sigma, unsigned seed, std::vector<int> sizes = {}) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0.0, sigma);
    std::uniform_real_distribution<double> box(-1.0, 1.0);
    Blobs b;
    std::vector<std::vector<double>> centres;
    for (int c = 0; c < k; ++c) {
        std::vector<double> ctr(d);
        for (;;) {  // keep centres at least `separation` apart
            for (auto& v : ctr) v = box(rng) * separation * 2;
            bool ok = true;
            for (const auto& o : centres) {
                double s = 0;
                for (int j = 0; j < d; ++j) s += (o[j] - ctr[j]) * (o[j] - ctr[j]);
                ok = ok && std::sqrt(s) >= separation;
            }
            if (ok) break;
        }
        centres.push_back(ctr);
        const int count = sizes.empty() ? per : sizes[c];
        for (int i = 0; i < count; ++i) {
            for (int j = 0; j < d; ++j) b.points.push_back(static_cast<float>(ctr[j] + noise(rng)));
            b.truth.push_back(c);
        }
    }
    b.n = static_cast<int>(b.truth.size());
    return b;
}
}  // namespace

TEST(MeanShift, FindsSeparatedBlobsIn2D) {
    const Blobs b = makeBlobs(4, 200, 2, 10.0, 0.5, 1);
    MeanShiftOptions opt;
    opt.bandwidthQuantile = 0.1;  // below the share of the smallest blob, or blobs merge (as in scikit-learn)
    const MeanShiftResult r = meanShift(b.points, b.n, 2, opt);
    EXPECT_EQ(r.modes.size(), 4u);
    EXPECT_GT(r.bandwidth, 0.0);
    EXPECT_DOUBLE_EQ(adjustedRandIndex(b.truth, r.labels), 1.0);
    for (size_t c = 1; c < r.sizes.size(); ++c) EXPECT_GE(r.sizes[c - 1], r.sizes[c]);
}

TEST(MeanShift, FindsBlobsIn16DWithBothKernels) {
    const Blobs b = makeBlobs(6, 300, 16, 12.0, 1.0, 2);
    for (auto kernel : {MeanShiftOptions::Kernel::Flat, MeanShiftOptions::Kernel::Gaussian}) {
        MeanShiftOptions opt;
        opt.kernel = kernel;
        opt.bandwidthQuantile = 0.1;
        const MeanShiftResult r = meanShift(b.points, b.n, 16, opt);
        EXPECT_EQ(r.modes.size(), 6u);
        EXPECT_GT(adjustedRandIndex(b.truth, r.labels), 0.99);
        ASSERT_EQ(r.modes[0].size(), 16u);
    }
}

// Modes land near the blob centres: the mean of each cluster's points.
TEST(MeanShift, ModesSitAtClusterCentres) {
    const Blobs b = makeBlobs(3, 400, 3, 10.0, 0.5, 3);
    MeanShiftOptions opt;
    opt.bandwidth = 2.0;
    const MeanShiftResult r = meanShift(b.points, b.n, 3, opt);
    ASSERT_EQ(r.modes.size(), 3u);
    EXPECT_DOUBLE_EQ(r.bandwidth, 2.0);
    for (size_t c = 0; c < 3; ++c) {
        double mean[3] = {0, 0, 0};
        int count = 0;
        for (int i = 0; i < b.n; ++i)
            if (r.labels[i] == static_cast<int>(c)) {
                for (int j = 0; j < 3; ++j) mean[j] += b.points[i * 3 + j];
                ++count;
            }
        for (int j = 0; j < 3; ++j) EXPECT_NEAR(r.modes[c][j], mean[j] / count, 0.15);
    }
}

TEST(MeanShift, SameResultWhateverTheThreadCount) {
    const Blobs b = makeBlobs(5, 300, 8, 8.0, 1.0, 4);
    MeanShiftOptions one, many;
    one.threads = 1;
    many.threads = 4;
    const MeanShiftResult a = meanShift(b.points, b.n, 8, one), c = meanShift(b.points, b.n, 8, many);
    EXPECT_EQ(a.labels, c.labels);
    EXPECT_EQ(a.modes, c.modes);
}

TEST(MeanShift, SmallClustersBecomeOutliersOrJoinTheNearest) {
    const Blobs b = makeBlobs(3, 0, 2, 10.0, 0.3, 5, {200, 150, 4});
    MeanShiftOptions opt;
    opt.bandwidth = 2.0;
    opt.minClusterSize = 10;
    MeanShiftResult r = meanShift(b.points, b.n, 2, opt);
    ASSERT_EQ(r.modes.size(), 2u);
    EXPECT_EQ(r.sizes, (std::vector<int>{200, 150}));
    for (int i = 350; i < 354; ++i) EXPECT_EQ(r.labels[i], -1);
    opt.assignOutliers = true;
    r = meanShift(b.points, b.n, 2, opt);
    ASSERT_EQ(r.modes.size(), 2u);
    EXPECT_EQ(r.sizes[0] + r.sizes[1], 354);
    for (int l : r.labels) EXPECT_GE(l, 0);
}

TEST(MeanShift, NoPointsOnePointIdenticalPoints) {
    MeanShiftResult r = meanShift({}, 0, 16);
    EXPECT_TRUE(r.labels.empty());
    EXPECT_TRUE(r.modes.empty());

    r = meanShift({1.f, 2.f, 3.f}, 1, 3);
    ASSERT_EQ(r.labels, std::vector<int>{0});
    EXPECT_EQ(r.modes[0], (std::vector<float>{1.f, 2.f, 3.f}));

    std::vector<float> same(50 * 4, 0.25f);
    r = meanShift(same, 50, 4);
    EXPECT_EQ(r.modes.size(), 1u);
    EXPECT_EQ(r.sizes, std::vector<int>{50});
    EXPECT_GT(r.bandwidth, 0.0);

    // Two groups of duplicates: the estimated bandwidth may be 0, clustering must still work.
    std::vector<float> two;
    std::vector<int> truth;
    for (int i = 0; i < 40; ++i) {
        two.push_back(i < 30 ? 0.f : 5.f);
        truth.push_back(i < 30 ? 0 : 1);
    }
    r = meanShift(two, 40, 1);
    EXPECT_DOUBLE_EQ(adjustedRandIndex(truth, r.labels), 1.0);
}

TEST(MeanShift, RejectsBadInput) {
    std::vector<float> p{0.f, 1.f, std::numeric_limits<float>::quiet_NaN(), 2.f};
    try {
        meanShift(p, 2, 2);
        FAIL() << "NaN accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("point 1"), std::string::npos) << e.what();
    }
    EXPECT_THROW(meanShift({0.f, 1.f, 2.f}, 2, 2), InputError);
    MeanShiftOptions opt;
    opt.bandwidth = -1;
    EXPECT_THROW(meanShift({0.f, 1.f}, 2, 1, opt), InputError);
}

TEST(MeanShift, EstimateBandwidthIsKthNeighbourDistance) {
    // Points on a line at 0, 1, 2, ..., 9; quantile 0.2 -> k = 2: the nearest other point, at distance 1.
    std::vector<float> line;
    for (int i = 0; i < 10; ++i) line.push_back(static_cast<float>(i));
    EXPECT_NEAR(estimateBandwidth(line, 10, 1, 0.2), 1.0, 1e-9);
    // k = 3: the second neighbour, at 1 for the two ends... {0:2, 1..8:1, 9:2} -> mean 1.2.
    EXPECT_NEAR(estimateBandwidth(line, 10, 1, 0.3), 1.2, 1e-9);
    EXPECT_EQ(estimateBandwidth(std::vector<float>(8, 1.f), 8, 1), 0.0);
    // quantile 0.05 of 10 points rounds to the point itself; minK 4 reaches the third neighbour:
    // {0:3, 1:2, 2..7:... } -> ends 3, next 2, the rest 2 (i-2 or i+2 on the far side): mean 2.2.
    EXPECT_NEAR(estimateBandwidth(line, 10, 1, 0.05, 1000, 0, 4), 2.2, 1e-9);
}

// A handful of defects in two tight groups: the automatic bandwidth must not shrink to the self-distance and make
// every point its own cluster.
TEST(MeanShift, FewPointsStillFormClusters) {
    std::vector<float> pts;
    for (int i = 0; i < 6; ++i) pts.insert(pts.end(), {0.1f * i, 0.0f});
    for (int i = 0; i < 6; ++i) pts.insert(pts.end(), {10.0f + 0.1f * i, 5.0f});
    MeanShiftOptions opt;
    opt.bandwidthQuantile = 0.05;
    const MeanShiftResult r = meanShift(pts, 12, 2, opt);
    EXPECT_EQ(r.modes.size(), 2u);
    for (int i = 1; i < 6; ++i) EXPECT_EQ(r.labels[i], r.labels[0]);
    for (int i = 7; i < 12; ++i) EXPECT_EQ(r.labels[i], r.labels[6]);
}
