#include <gtest/gtest.h>

#include <cmath>

#include "analysis/ClusterMetrics.h"
#include "core/Errors.h"

using namespace stmlens;

// Worked by hand: contingency {{2,1,0},{0,1,2}}; sum C(cells,2) = 2, rows 3+3 = 6, columns 1+1+1 = 3,
// C(6,2) = 15, expected 6*3/15 = 1.2, max 4.5 -> ARI = 0.8/3.3.
TEST(ClusterMetrics, AdjustedRandIndexByHand) {
    const std::vector<int> truth{0, 0, 0, 1, 1, 1}, pred{0, 0, 1, 1, 2, 2};
    EXPECT_NEAR(adjustedRandIndex(truth, pred), 0.8 / 3.3, 1e-12);
    EXPECT_NEAR(adjustedRandIndex(pred, truth), 0.8 / 3.3, 1e-12);  // symmetric
}

TEST(ClusterMetrics, PermutedLabelsArePerfect) {
    const std::vector<int> truth{0, 0, 1, 1, 2, 2}, pred{5, 5, -1, -1, 3, 3};
    EXPECT_DOUBLE_EQ(adjustedRandIndex(truth, pred), 1.0);
    EXPECT_NEAR(normalizedMutualInformation(truth, pred), 1.0, 1e-12);
    EXPECT_DOUBLE_EQ(purity(truth, pred), 1.0);
}

// MI = 2 * (2/6) ln(2*6/(3*2)) = (2/3) ln 2; H(truth) = ln 2, H(pred) = ln 3 -> NMI = (4/3) ln 2 / ln 6.
TEST(ClusterMetrics, NormalizedMutualInformationByHand) {
    const std::vector<int> truth{0, 0, 0, 1, 1, 1}, pred{0, 0, 1, 1, 2, 2};
    EXPECT_NEAR(normalizedMutualInformation(truth, pred), (4.0 / 3.0) * std::log(2.0) / std::log(6.0), 1e-12);
}

// Clusters' majorities: 2 + 1 + 2 of 6.
TEST(ClusterMetrics, PurityByHand) {
    EXPECT_NEAR(purity({0, 0, 0, 1, 1, 1}, {0, 0, 1, 1, 2, 2}), 5.0 / 6.0, 1e-12);
    EXPECT_NEAR(purity({0, 1, 2, 3}, {7, 7, 7, 7}), 0.25, 1e-12);
}

// One cluster against several classes carries no information; chance-level ARI is 0.
TEST(ClusterMetrics, OneClusterScoresZero) {
    const std::vector<int> truth{0, 0, 1, 1}, pred{0, 0, 0, 0};
    EXPECT_NEAR(adjustedRandIndex(truth, pred), 0.0, 1e-12);
    EXPECT_NEAR(normalizedMutualInformation(truth, pred), 0.0, 1e-12);
}

TEST(ClusterMetrics, ConfusionTableCounts) {
    const ConfusionTable t = confusionTable({1, 1, 0, 0, 0}, {-1, 3, 3, 3, -1});
    ASSERT_EQ(t.classes, (std::vector<int>{0, 1}));
    ASSERT_EQ(t.clusters, (std::vector<int>{-1, 3}));
    EXPECT_EQ(t.counts[0], (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(t.counts[1], (std::vector<int64_t>{1, 1}));
    const std::string md = formatConfusionTable(t, {"DB", "dimer"});
    EXPECT_NE(md.find("| DB | 1 | 2 |"), std::string::npos) << md;
    EXPECT_NE(md.find("outlier"), std::string::npos) << md;
}

TEST(ClusterMetrics, EdgeCases) {
    EXPECT_DOUBLE_EQ(adjustedRandIndex({}, {}), 1.0);
    EXPECT_DOUBLE_EQ(adjustedRandIndex({3}, {4}), 1.0);
    EXPECT_DOUBLE_EQ(normalizedMutualInformation({2, 2}, {1, 1}), 1.0);
    EXPECT_THROW(adjustedRandIndex({0, 1}, {0}), InputError);
}

TEST(ClusterMetrics, EncodeLabels) {
    std::vector<std::string> names;
    EXPECT_EQ(encodeLabels({"DB", "SiH2", "DB", "DV"}, &names), (std::vector<int>{0, 1, 0, 2}));
    EXPECT_EQ(names, (std::vector<std::string>{"DB", "SiH2", "DV"}));
}
