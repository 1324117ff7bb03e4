// Joining mean-shift clusters by the type network's most probable type (analysis/TypeMerge.h), and the same
// wired into clusterDefects.
#include <gtest/gtest.h>

#include <random>

#include "analysis/DefectClustering.h"
#include "analysis/TypeMerge.h"
#include "core/Errors.h"

using namespace stmlens;

namespace {
// Type probabilities over three types with `top` on type t and the rest shared by the others.
std::vector<float> probs(int t, float top) {
    std::vector<float> p(3, (1 - top) / 2);
    p[t] = top;
    return p;
}
}  // namespace

TEST(TypeMerge, ClustersOfDifferentClassesJoinOnAPlainMajority) {
    // Cluster 0 (bright) and 1 (dark) both lean to type 0 at 0.6; cluster 2 (dark) is sure of type 1.
    std::vector<int> labels{0, 0, 1, 1, 2, 2};
    const std::vector<std::vector<float>> p{probs(0, 0.6f), probs(0, 0.6f), probs(0, 0.6f),
                                            probs(0, 0.6f), probs(1, 0.95f), probs(1, 0.95f)};
    const std::vector<std::string> cls{"bright", "bright", "dark", "dark", "dark", "dark"};
    std::vector<int> l = labels;
    EXPECT_EQ(mergeClustersByType(l, p, cls, {}), 1);
    EXPECT_EQ(l, (std::vector<int>{0, 0, 0, 0, 1, 1}));
    // Above what the means give, nothing joins.
    l = labels;
    TypeMergeOptions strict;
    strict.across = 0.7;
    EXPECT_EQ(mergeClustersByType(l, p, cls, strict), 0);
    EXPECT_EQ(l, labels);
}

TEST(TypeMerge, ClustersOfOneClassNeedASureNetwork) {
    const std::vector<std::string> cls(4, "bright");
    const std::vector<std::vector<float>> p{probs(2, 0.75f), probs(2, 0.75f), probs(2, 0.9f), probs(2, 0.9f)};
    std::vector<int> l{0, 0, 1, 1};
    EXPECT_EQ(mergeClustersByType(l, p, cls, {}), 0);   // 0.75 < 0.8
    EXPECT_EQ(l, (std::vector<int>{0, 0, 1, 1}));
    TypeMergeOptions loose;
    loose.within = 0.7;
    EXPECT_EQ(mergeClustersByType(l, p, cls, loose), 1);
    EXPECT_EQ(l, (std::vector<int>{0, 0, 0, 0}));
}

TEST(TypeMerge, DifferentTypesNeverJoinHoweverSure) {
    std::vector<int> l{0, 1, 2};
    const std::vector<std::vector<float>> p{probs(0, 1.0f), probs(1, 1.0f), probs(2, 1.0f)};
    TypeMergeOptions any;
    any.across = any.within = 0;
    EXPECT_EQ(mergeClustersByType(l, p, {"a", "b", "a"}, any), 0);
    EXPECT_EQ(l, (std::vector<int>{0, 1, 2}));
}

TEST(TypeMerge, RelabelsInOrderKeepsOutliersAndRewritesTheSummary) {
    // Clusters 1 and 3 (classes dark and bright) join; outliers stay -1; ids become 0..2 by smallest old id.
    std::vector<int> l{3, -1, 0, 1, 2, 3, 1};
    const std::vector<std::vector<float>> p{probs(1, 0.9f), probs(1, 0.9f), probs(0, 0.9f), probs(1, 0.9f),
                                            probs(2, 0.9f), probs(1, 0.9f), {}};
    const std::vector<std::string> cls{"bright", "bright", "dark", "dark", "dark", "bright", "dark"};
    ClusteringSummary s;
    s.clusters = 4;
    s.sizes = {1, 2, 1, 2};
    s.clusterClasses = {"dark", "dark", "dark", "bright"};
    EXPECT_EQ(mergeClustersByType(l, p, cls, {}, &s), 1);
    EXPECT_EQ(l, (std::vector<int>{1, -1, 0, 1, 2, 1, 1}));
    EXPECT_EQ(s.clusters, 3);
    EXPECT_EQ(s.sizes, (std::vector<int>{1, 4, 1}));
    EXPECT_EQ(s.clusterClasses, (std::vector<std::string>{"dark", "bright+dark", "dark"}));
}

TEST(TypeMerge, WithoutProbabilitiesOrSwitchedOffNothingChanges) {
    std::vector<int> l{0, 1, 1};
    EXPECT_EQ(mergeClustersByType(l, {{}, {}, {}}, {"a", "b", "b"}, {}), 0);
    EXPECT_EQ(l, (std::vector<int>{0, 1, 1}));
    TypeMergeOptions off;
    off.enabled = false;
    EXPECT_EQ(mergeClustersByType(l, {probs(0, 1), probs(0, 1), probs(0, 1)}, {"a", "b", "b"}, off), 0);
    EXPECT_EQ(l, (std::vector<int>{0, 1, 1}));
    std::vector<int> empty;
    EXPECT_EQ(mergeClustersByType(empty, {}, {}, {}), 0);
}

TEST(TypeMerge, ScaledOrBrokenProbabilitiesAreNormalisedOrIgnored) {
    // Weighted (sum 6) probabilities count as their normalised selves; a NaN member does not spoil its cluster.
    std::vector<int> l{0, 1, 1};
    std::vector<float> scaled = probs(0, 0.6f);
    for (float& x : scaled) x *= 6;
    const std::vector<std::vector<float>> p{scaled, probs(0, 0.6f), {NAN, NAN, NAN}};
    EXPECT_EQ(mergeClustersByType(l, p, {"a", "b", "b"}, {}), 1);
    EXPECT_EQ(l, (std::vector<int>{0, 0, 0}));
}

// The per-cluster means every caller (merge, the clusters' type_scores, library cluster) reads.
TEST(TypeMerge, ClusterMeansNormaliseEachMemberAndSkipWhatHasNone) {
    const std::vector<int> labels{0, 0, 1, -1, 2};
    const std::vector<std::vector<float>> p{{3, 1, 0}, {0, 1, 1}, {}, {1, 0, 0}, {NAN, -1, 2}};
    const auto m = clusterTypeMeans(labels, p, 4);
    ASSERT_EQ(m.size(), 4u);
    ASSERT_EQ(m[0].size(), 3u);
    EXPECT_DOUBLE_EQ(m[0][0], 0.375);   // (0.75 + 0) / 2
    EXPECT_DOUBLE_EQ(m[0][1], 0.375);   // (0.25 + 0.5) / 2
    EXPECT_DOUBLE_EQ(m[0][2], 0.25);
    EXPECT_TRUE(m[1].empty());           // no member with probabilities
    EXPECT_EQ(m[2], (std::vector<double>{0, 0, 1}));   // NaN and negative count 0
    EXPECT_TRUE(m[3].empty());           // no members
    EXPECT_THROW(clusterTypeMeans(labels, {{1}}, 4), InputError);
    EXPECT_THROW(clusterTypeMeans({0, 1}, {{1, 0}, {1, 0, 0}}, 2), InputError);
}

TEST(TypeMerge, BadInputIsAClearError) {
    std::vector<int> l{0, 1};
    EXPECT_THROW(mergeClustersByType(l, {probs(0, 1)}, {"a", "b"}, {}), InputError);
    EXPECT_THROW(mergeClustersByType(l, {probs(0, 1), probs(0, 1)}, {"a"}, {}), InputError);
    EXPECT_THROW(mergeClustersByType(l, {probs(0, 1), {1.0f, 0.0f}}, {"a", "b"}, {}), InputError);
    TypeMergeOptions bad;
    bad.across = 1.5;
    EXPECT_THROW(mergeClustersByType(l, {probs(0, 1), probs(0, 1)}, {"a", "b"}, bad), InputError);
    bad.across = NAN;
    EXPECT_THROW(mergeClustersByType(l, {probs(0, 1), probs(0, 1)}, {"a", "b"}, bad), InputError);
}

// clusterDefects joins a class's cluster with another class's when the type network says they are one type,
// and reports it; without probabilities the classes stay apart.
TEST(TypeMerge, ClusterDefectsJoinsClassesOfOneType) {
    std::mt19937 rng(7);
    std::normal_distribution<float> noise(0.0f, 0.05f);
    AnalysisResult r;
    r.path = "scan";
    DescriptorSet set;
    set.dims = 4;
    set.typeNames = {"siloxane", "dangling_bond", "missing_dimer"};
    for (int i = 0; i < 24; ++i) {
        Defect d;
        d.id = i;
        d.cls = i % 2 ? "bright" : "dark";
        r.defects.push_back(d);
        std::vector<float> v(4);
        for (float& x : v) x = noise(rng);
        set.values.push_back(v);
        set.patches.emplace_back();
        set.typeProbs.push_back(probs(0, 0.9f));
    }
    ClusteringOptions opt;
    opt.components = 0;
    opt.meanShift.bandwidth = 1.0;   // each class one cluster
    ClusteringSummary s = clusterDefects({&r}, {&set}, opt);
    EXPECT_EQ(s.clusters, 1);
    EXPECT_EQ(s.joinedByType, 1);
    ASSERT_EQ(s.clusterClasses.size(), 1u);
    EXPECT_EQ(s.clusterClasses[0], "bright+dark");
    for (const auto& d : r.defects) EXPECT_EQ(d.cluster, 0);
    ASSERT_EQ(r.clusters.size(), 1u);
    EXPECT_EQ(r.clusters[0].size, 24);
    // The cluster's run-level mean type probabilities, named.
    EXPECT_NEAR(r.clusters[0].typeScores.at("siloxane"), 0.9, 1e-6);
    EXPECT_NEAR(r.clusters[0].typeScores.at("missing_dimer"), 0.05, 1e-6);

    for (auto& p : set.typeProbs) p.clear();
    s = clusterDefects({&r}, {&set}, opt);
    EXPECT_EQ(s.clusters, 2);
    EXPECT_EQ(s.joinedByType, 0);
    for (const auto& c : r.clusters) EXPECT_TRUE(c.typeScores.empty());
}
