#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <unistd.h>

#include "analysis/Pca.h"
#include "core/Errors.h"

using namespace stmlens;

namespace {
// Points along a line in 3-D (direction (1, 2, 2) / 3) plus a little noise across it.
std::vector<float> linePoints(int n) {
    std::mt19937 rng(7);
    std::normal_distribution<double> t(0, 5), e(0, 0.01);
    std::vector<float> v;
    for (int i = 0; i < n; ++i) {
        const double s = t(rng);
        v.push_back(static_cast<float>(1 + s / 3 + e(rng)));
        v.push_back(static_cast<float>(2 + 2 * s / 3 + e(rng)));
        v.push_back(static_cast<float>(-1 + 2 * s / 3 + e(rng)));
    }
    return v;
}
}  // namespace

TEST(Pca, FindsTheMainDirection) {
    const auto v = linePoints(500);
    const Pca p = Pca::fit(v, 500, 3, 1);
    EXPECT_EQ(p.components(), 1);
    EXPECT_EQ(p.inputDims(), 3);
    EXPECT_GT(p.explainedVarianceRatio(), 0.999);
    // The projection is the coordinate along the line: distances along it are preserved.
    const auto r = p.transform(v, 500);
    const double dx = v[3] - v[0], dy = v[4] - v[1], dz = v[5] - v[2];
    EXPECT_NEAR(std::abs(r[1] - r[0]), std::sqrt(dx * dx + dy * dy + dz * dz), 0.05);
}

TEST(Pca, JsonRoundTripGivesTheSameProjection) {
    const auto v = linePoints(200);
    const Pca p = Pca::fit(v, 200, 3, 2);
    const Pca q = Pca::fromJson(p.toJson());
    EXPECT_EQ(q.components(), 2);
    EXPECT_EQ(p.transform(v, 200), q.transform(v, 200));
    const auto path = std::filesystem::temp_directory_path() / ("stmlens_pca_" + std::to_string(::getpid()) + ".json");
    p.save(path.string());
    const Pca r = Pca::load(path.string());
    std::filesystem::remove(path);
    EXPECT_EQ(p.transform(v, 200), r.transform(v, 200));
}

TEST(Pca, ComponentsCappedAndBadInputRejected) {
    const auto v = linePoints(2);
    EXPECT_EQ(Pca::fit(v, 2, 3, 16).components(), 2);
    EXPECT_THROW(Pca::fit({}, 0, 3, 2), InputError);
    EXPECT_THROW(Pca::fit({1.f, NAN, 2.f}, 1, 3, 1), InputError);
    const Pca p = Pca::fit(linePoints(10), 10, 3, 2);
    EXPECT_THROW(p.transform({1.f, 2.f}, 1), InputError);
    EXPECT_THROW(Pca::fromJson("{\"schema\": \"other\"}"), InputError);
    EXPECT_THROW(Pca::fromJson("not json"), InputError);
    EXPECT_THROW(Pca::load("/nonexistent/pca.json"), InputError);
}
