// Real labelled scans for fine-tuning: the cda_* frames of ../shared/data/real with configs/cda-labels.json.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "nn/LabelledScans.h"
#include "nn/Tasks.h"

using namespace stmlens;

namespace {
const std::string kDir = STMLENS_SHARED_DIR "/data/real";
const std::string kConfig = STMLENS_SOURCE_DIR "/configs/cda-labels.json";

std::vector<LabelledScan> frames() {
    return loadLabelledScans(kDir, LabelConfig::load(kConfig), defaultCard("defects").classes);
}
}  // namespace

TEST(LabelledScans, LoadsTheCdaFramesWithSitesAndObjects) {
    ASSERT_TRUE(std::filesystem::exists(kDir)) << kDir;
    const auto scans = frames();
    ASSERT_EQ(scans.size(), 10u);
    for (const auto& s : scans) {
        EXPECT_NEAR(s.scan.pixelSize.x_nm, 0.097, 1e-9);
        EXPECT_NEAR(s.scan.pixelSize.y_nm, 0.100, 1e-9);
        // A 50 x 51 nm frame holds ~17000 H sites (two per 0.384 x 0.768 nm^2 cell); the overlay labels most of
        // the frame, and most labelled sites are clean (7500-8500 in these frames).
        EXPECT_GT(s.latticeSites.size(), 5000u) << s.path;
        EXPECT_LT(s.latticeSites.size(), 20000u) << s.path;
        EXPECT_FALSE(s.objects.empty()) << s.path;
        double known = 0;
        for (float v : s.known.pixels()) known += v;
        EXPECT_GT(known / s.known.size(), 0.3) << s.path;
    }
}

TEST(LabelledScans, AtomSamplesMarkSitesWhereKnown) {
    auto scans = frames();
    scans.resize(2);
    const SampleGenerator gen = labelledAtomSamples(scans, 0.1, 64);
    size_t points = 0, onTarget = 0, known = 0;
    for (uint64_t seed = 1; seed <= 6; ++seed) {
        const TrainingSample s = gen(seed);
        ASSERT_EQ(s.image.width(), 64);
        ASSERT_EQ(s.target.width(), 64);
        ASSERT_EQ(s.known.width(), 64);
        EXPECT_EQ(gen(seed).points.size(), s.points.size());   // deterministic in the seed
        for (const auto& [u, v] : s.points) {
            ASSERT_GE(u, 0.0);
            ASSERT_LT(u, 64.0);
            const int x = static_cast<int>(std::lround(u)), y = static_cast<int>(std::lround(v));
            if (x > 63 || y > 63) continue;
            ++points;
            onTarget += s.target.at(x, y) > 0.5f;
            known += s.known.at(x, y) > 0.5f;
        }
    }
    // 64 x 64 tiles at 0.1 nm/px hold ~40 nm^2, ~270 sites each.
    EXPECT_GT(points, 6u * 150u);
    EXPECT_EQ(onTarget, points);
    EXPECT_GT(known, points * 8 / 10);   // sites next to defects are left unknown
}

TEST(LabelledScans, DefectSamplesCarryClassesAndUnknowns) {
    auto scans = frames();
    scans.resize(2);
    const SampleGenerator gen = labelledSamples(scans, 0.2, 64);
    bool sawDefect = false, sawUnknown = false;
    for (uint64_t seed = 1; seed <= 10; ++seed) {
        const TrainingSample s = gen(seed);
        for (size_t i = 0; i < s.target.size(); ++i) {
            const float t = s.target.pixels()[i];
            ASSERT_GE(t, 0.0f);
            ASSERT_LE(t, 5.0f);
            sawDefect |= t >= 1.0f && s.known.pixels()[i] > 0.5f;
            sawUnknown |= s.known.pixels()[i] < 0.5f;
        }
    }
    EXPECT_TRUE(sawDefect);
    EXPECT_TRUE(sawUnknown);
}
