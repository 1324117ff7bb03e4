#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "analysis/Instances.h"
#include "core/Errors.h"

using namespace stmlens;

namespace {

// Three-class softmax-like maps: 0 lattice, 1 bright, 2 step_edge; paint(c, rect, p) gives class c probability p.
struct Maps {
    std::vector<Image> probs;
    explicit Maps(int w, int h) : probs{Image(w, h, 0.9f), Image(w, h, 0.05f), Image(w, h, 0.05f)} {}
    void paint(int c, Rect r, float p) {
        for (int y = r.y; y < r.y + r.height; ++y)
            for (int x = r.x; x < r.x + r.width; ++x) {
                for (auto& m : probs) m.at(x, y) = (1 - p) / 2;
                probs[c].at(x, y) = p;
            }
    }
};

const std::vector<std::string> kNames{"lattice", "bright", "step_edge"};

}  // namespace

TEST(Instances, ComponentsWithClassScoresAreaBboxAndExtent) {
    Maps m(100, 80);
    m.paint(1, {10, 20, 5, 5}, 0.8f);    // small bright defect, 0.25 nm^2
    m.paint(1, {50, 50, 1, 1}, 0.9f);    // one pixel: below the minimum area
    m.paint(2, {0, 70, 100, 2}, 0.7f);   // step edge: extended by class
    m.paint(1, {60, 5, 20, 20}, 0.6f);   // 4 nm^2 bright patch: extended by area
    InstanceOptions opt;
    auto defects = extractDefects(m.probs, kNames, PixelSize::square(0.1), opt);
    ASSERT_EQ(defects.size(), 3u);
    // Ordered top to bottom: the patch (y0 = 5), the small defect (y0 = 20), the step (y0 = 70).
    const Defect& patch = defects[0];
    EXPECT_EQ(patch.id, 1);
    EXPECT_EQ(patch.cls, "bright");
    EXPECT_TRUE(patch.extended);
    EXPECT_NEAR(patch.areaNm2, 4.0, 1e-9);

    const Defect& small = defects[1];
    EXPECT_EQ(small.id, 2);
    EXPECT_EQ(small.cls, "bright");
    EXPECT_FALSE(small.extended);
    EXPECT_NEAR(small.areaNm2, 0.25, 1e-9);
    EXPECT_NEAR(small.x, 12.0, 1e-9);
    EXPECT_NEAR(small.y, 22.0, 1e-9);
    EXPECT_EQ(small.bbox[0], 10);
    EXPECT_EQ(small.bbox[1], 20);
    EXPECT_EQ(small.bbox[2], 14);
    EXPECT_EQ(small.bbox[3], 24);
    EXPECT_NEAR(small.classScores.at("bright"), 0.8, 1e-6);
    EXPECT_NEAR(small.classScores.at("step_edge"), 0.1, 1e-6);
    EXPECT_EQ(small.classScores.count("lattice"), 0u);

    const Defect& step = defects[2];
    EXPECT_EQ(step.cls, "step_edge");
    EXPECT_TRUE(step.extended);
    EXPECT_EQ(step.bbox[2], 99);
}

TEST(Instances, TouchingClassesSplitAndDiagonalConnectivity) {
    Maps m(30, 30);
    m.paint(1, {5, 5, 4, 4}, 0.8f);
    m.paint(2, {9, 5, 4, 4}, 0.8f);    // touches the bright one: a separate instance of another class
    m.paint(1, {20, 20, 3, 3}, 0.8f);
    m.paint(1, {23, 23, 3, 3}, 0.8f);  // corner-touching: one instance with 8-connectivity, two with 4
    InstanceOptions opt;
    opt.minAreaNm2 = 0;
    opt.minLengthNm.clear();   // the 0.4 nm step-edge square stands for any second class here
    auto d8 = extractDefects(m.probs, kNames, PixelSize::square(0.1), opt);
    EXPECT_EQ(d8.size(), 3u);
    opt.eightConnected = false;
    EXPECT_EQ(extractDefects(m.probs, kNames, PixelSize::square(0.1), opt).size(), 4u);
    // Ignored classes and a probability floor.
    opt.ignoredClasses = {2};
    EXPECT_EQ(extractDefects(m.probs, kNames, PixelSize::square(0.1), opt).size(), 3u);
    opt.minProbability = 0.85;
    EXPECT_TRUE(extractDefects(m.probs, kNames, PixelSize::square(0.1), opt).empty());
}

TEST(Instances, RejectsMismatchedInput) {
    Maps m(10, 10);
    EXPECT_THROW(extractDefects(m.probs, {"a", "b"}, PixelSize::square(0.1)), InputError);
    m.probs[2] = Image(9, 10);
    EXPECT_THROW(extractDefects(m.probs, kNames, PixelSize::square(0.1)), InputError);
    EXPECT_TRUE(extractDefects({}, {}, PixelSize::square(0.1)).empty());
}

// A step edge is a line across terraces: a 1 nm "step edge" on the rim of a pit is dropped, a 2.5 nm one kept;
// bright defects of the same size are kept (no length limit for them).
TEST(Instances, ShortStepEdgesAreDropped) {
    Maps m(100, 80);
    m.paint(2, {10, 10, 10, 2}, 0.8f);   // 1.0 nm long
    m.paint(2, {40, 10, 25, 2}, 0.8f);   // 2.5 nm long
    m.paint(1, {10, 50, 10, 2}, 0.8f);   // bright, 1.0 nm long
    auto defects = extractDefects(m.probs, kNames, PixelSize::square(0.1), InstanceOptions{});
    ASSERT_EQ(defects.size(), 2u);
    EXPECT_EQ(defects[0].cls, "step_edge");
    EXPECT_EQ(defects[0].bbox[0], 40);
    EXPECT_EQ(defects[1].cls, "bright");
    InstanceOptions keepAll;
    keepAll.minLengthNm.clear();
    EXPECT_EQ(extractDefects(m.probs, kNames, PixelSize::square(0.1), keepAll).size(), 3u);
}

// Two bright defects side by side form one connected blob of the class but two probability peaks: with a split
// persistence they are two instances at their own centres; a single defect with a small ripple stays one.
TEST(Instances, SplitPersistenceSeparatesTouchingDefectsByTheirPeaks) {
    const int w = 80, h = 40;
    auto blobs = [&](std::vector<std::pair<double, double>> centres, float ripple) {
        Maps m(w, h);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                double p = 0;
                for (const auto& [cx, cy] : centres)
                    p = std::max(p, 0.95 * std::exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / 18.0));
                p += ripple * std::sin(x * 1.3) * (p > 0.5);
                if (p > 0.45) {
                    const float v = static_cast<float>(std::min(p, 0.99));
                    for (auto& mm : m.probs) mm.at(x, y) = (1 - v) / 2;
                    m.probs[1].at(x, y) = v;
                }
            }
        return m;
    };
    InstanceOptions split;
    split.splitPersistence = 0.1;
    const Maps two = blobs({{30, 20}, {36, 20}}, 0.0f);   // 0.6 nm apart at 0.1 nm/px: the blobs touch
    ASSERT_EQ(extractDefects(two.probs, kNames, PixelSize::square(0.1)).size(), 1u);
    const auto parts = extractDefects(two.probs, kNames, PixelSize::square(0.1), split);
    ASSERT_EQ(parts.size(), 2u);
    std::vector<double> xs{parts[0].x, parts[1].x};
    std::sort(xs.begin(), xs.end());
    EXPECT_NEAR(xs[0], 30, 1.0);
    EXPECT_NEAR(xs[1], 36, 1.0);
    for (const auto& d : parts) EXPECT_NEAR(d.y, 20, 0.5);
    const Maps one = blobs({{40, 20}}, 0.02f);            // ripples well below the persistence
    EXPECT_EQ(extractDefects(one.probs, kNames, PixelSize::square(0.1), split).size(), 1u);
}

// A faint point defect (mean probability of its class below minMeanScore) is dropped; a confident one and an
// extended instance of the same faintness are kept (extent says more than one pixel's doubt there).
TEST(Instances, MinMeanScoreDropsFaintPointDefectsOnly) {
    Maps m(100, 80);
    m.paint(1, {10, 10, 5, 5}, 0.9f);    // confident point defect
    m.paint(1, {30, 10, 5, 5}, 0.5f);    // faint point defect
    m.paint(1, {60, 40, 20, 20}, 0.5f);  // faint, but extended by area (4 nm^2)
    InstanceOptions opt;
    EXPECT_EQ(extractDefects(m.probs, kNames, PixelSize::square(0.1), opt).size(), 3u);
    opt.minMeanScore = 0.6;
    const auto kept = extractDefects(m.probs, kNames, PixelSize::square(0.1), opt);
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_NEAR(kept[0].x, 12, 0.01);
    EXPECT_FALSE(kept[0].extended);
    EXPECT_TRUE(kept[1].extended);
}
