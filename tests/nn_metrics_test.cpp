// Object-level detection metrics used to pick checkpoints and to report model accuracy.
#include <gtest/gtest.h>

#include "nn/Metrics.h"

using namespace stmlens;

namespace {
Image rect(Image m, int x0, int y0, int x1, int y1) {
    for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x) m.at(x, y) = 1.0f;
    return m;
}
}  // namespace

TEST(Metrics, PointsMatchOneToOneWithinTolerance) {
    // Two truth points; one prediction near each, one far away, and a second prediction competing for the same truth.
    const std::vector<Point2> truth{{10, 10}, {30, 30}};
    const std::vector<Point2> pred{{10.5, 10}, {10, 11}, {31, 30}, {50, 50}};
    const DetectionCounts c = matchPoints(pred, truth, 1.5);
    EXPECT_EQ(c.truePositives, 2);
    EXPECT_EQ(c.falsePositives, 2);
    EXPECT_EQ(c.falseNegatives, 0);
    EXPECT_DOUBLE_EQ(c.precision(), 0.5);
    EXPECT_DOUBLE_EQ(c.recall(), 1.0);
}


TEST(Metrics, DontCarePointsAbsorbPredictionsWithoutCounting) {
    // One scored truth point, one don't-care point just past the edge of the scored area.
    const std::vector<Point2> truth{{10, 10}};
    const std::vector<Point2> dontCare{{-0.5, 20}};
    // A hit, a prediction on the don't-care point, a second one there (only one can take it), one far away.
    const std::vector<Point2> pred{{10, 10.5}, {0.3, 20}, {0.2, 20.4}, {40, 40}};
    const DetectionCounts c = matchPoints(pred, truth, dontCare, 1.5);
    EXPECT_EQ(c.truePositives, 1);
    EXPECT_EQ(c.ignored, 1);
    EXPECT_EQ(c.falsePositives, 2);
    EXPECT_EQ(c.falseNegatives, 0);
    // Closest pairs first: a prediction nearer the scored point takes it even when a don't-care point is near too.
    const DetectionCounts d = matchPoints({{9.6, 10}}, truth, {{8.5, 10}}, 1.5);
    EXPECT_EQ(d.truePositives, 1);
    EXPECT_EQ(d.ignored, 0);
    // Without don't-care points the old counts hold.
    const DetectionCounts e = matchPoints(pred, truth, 1.5);
    EXPECT_EQ(e.truePositives, 1);
    EXPECT_EQ(e.falsePositives, 3);
    EXPECT_EQ(e.ignored, 0);
}
TEST(Metrics, RegionsMatchByOverlap) {
    Image empty(64, 64);
    // Truth: two 10x10 squares. Prediction: one shifted by 2 px (IoU 64/136 = 0.47), one shifted far
    // (IoU 0), plus a spurious region and a region too small to count.
    Image truth = rect(rect(empty, 5, 5, 14, 14), 40, 40, 49, 49);
    Image pred = rect(rect(rect(empty, 7, 7, 16, 16), 47, 47, 56, 56), 25, 25, 30, 30);
    pred.at(60, 2) = 1.0f;   // 1 pixel, below minArea
    const DetectionCounts strict = matchRegions(pred, truth, 0.3, 4);
    EXPECT_EQ(strict.truePositives, 1);
    EXPECT_EQ(strict.falsePositives, 2);
    EXPECT_EQ(strict.falseNegatives, 1);
    // A looser IoU threshold accepts the far-shifted square too (overlap 3x3 = 9, IoU 9/191).
    const DetectionCounts loose = matchRegions(pred, truth, 0.04, 4);
    EXPECT_EQ(loose.truePositives, 2);
    EXPECT_EQ(loose.falsePositives, 1);
    EXPECT_EQ(loose.falseNegatives, 0);
}

TEST(Metrics, RegionsRefuseMasksOfDifferentSize) {
    EXPECT_THROW(matchRegions(Image(10, 10), Image(12, 10), 0.5, 1), std::invalid_argument);
}

TEST(Metrics, ExtendedObjectsMatchByContact) {
    // A labelled step: a chain of sites along x = 20. Found as two pieces 2 px beside it (one line each, IoU 0 with
    // a one-pixel label), plus a spurious blob far away. A second labelled object (a patch at 50,50) is missed.
    Image ids(64, 64);
    for (int y = 5; y < 30; ++y) ids.at(22, y) = 1.0f;
    for (int y = 33; y < 60; ++y) ids.at(22, y) = 2.0f;
    for (int y = 5; y < 8; ++y)
        for (int x = 40; x < 43; ++x) ids.at(x, y) = 3.0f;
    std::vector<Point2> step;
    for (double y = 4; y < 60; y += 3.9) step.push_back({20.0, y});
    const std::vector<std::vector<Point2>> objects{step, {{50, 50}, {51, 50}}};
    const ContactCounts c = matchByContact(ids, objects, 2.5);
    EXPECT_EQ(c.instances, 3);
    EXPECT_EQ(c.instancesTouching, 2);
    EXPECT_EQ(c.objects, 2);
    EXPECT_EQ(c.objectsTouched, 1);
    EXPECT_NEAR(c.f1(), 2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5), 1e-12);
    // Beyond the tolerance nothing touches.
    const ContactCounts far = matchByContact(ids, objects, 1.5);
    EXPECT_EQ(far.instancesTouching, 0);
    EXPECT_EQ(far.objectsTouched, 0);
    EXPECT_EQ(far.f1(), 0.0);
}
