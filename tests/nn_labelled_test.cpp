// Real labelled scans for fine-tuning: the cda_* frames of ../shared/data/real with configs/cda-labels.json.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/Errors.h"
#include "io/LatticeOverlay.h"
#include "io/ScanReader.h"
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

// Assessment tiles from labelled frames: resolved (class 1) exactly where the lattice is labelled, unknown
// elsewhere, and the image class given for good frames.
TEST(LabelledScans, AssessSamplesAreResolvedWhereLabelledAndGood) {
    auto scans = frames();
    scans.resize(2);
    const SampleGenerator gen = labelledAssessSamples(scans, 0.2, 64, 0);
    double known = 0, total = 0;
    for (uint64_t seed = 1; seed <= 6; ++seed) {
        const TrainingSample s = gen(seed);
        ASSERT_EQ(s.image.width(), 64);
        ASSERT_EQ(s.target.width(), 64);
        ASSERT_EQ(s.known.width(), 64);
        EXPECT_EQ(s.imageClass, 0);
        EXPECT_TRUE(s.points.empty());
        for (size_t i = 0; i < s.target.size(); ++i) {
            EXPECT_EQ(s.target.pixels()[i], s.known.pixels()[i]);
            known += s.known.pixels()[i] > 0.5f;
            ++total;
        }
    }
    EXPECT_GT(known, 0.2 * total);   // tiles are drawn where labels are
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

// The source publishes its frames as RGB PNGs with the SiQAD lattice overlay burned in; decoding them must give
// exactly the arrays exported for 10 of them (grey image with painted pixels filled in, label ids per site).
namespace {
const std::string kOverlayDir = kDir + "/raw/sidb-defect-aware-physical-design/lattice_overlay";
const std::string kOverlayConfig = STMLENS_SOURCE_DIR "/configs/cda-overlay-labels.json";
}  // namespace

TEST(LatticeOverlay, DecodesThePublishedFramesToTheExportedArrays) {
    ASSERT_TRUE(std::filesystem::exists(kOverlayDir)) << kOverlayDir;
    const LabelConfig cfg = LabelConfig::load(kOverlayConfig);
    const auto exported = frames();
    ASSERT_EQ(exported.size(), 10u);
    for (const auto& e : exported) {
        std::string name = std::filesystem::path(e.path).filename().string();   // cda_<frame>_clean.npy
        name = name.substr(4, name.size() - 4 - std::string("_clean.npy").size());
        const LatticeOverlay o = readLatticeOverlay(kOverlayDir + "/" + name + ".png", cfg.overlayPalette);
        const Image labels = readScanFile(kDir + "/cda_" + name + "_labels.npy", {}).channels.front();
        ASSERT_EQ(o.image.width(), e.scan.width());
        ASSERT_EQ(o.image.height(), e.scan.height());
        size_t labelled = 0, imageDiff = 0, labelDiff = 0;
        for (int y = 0; y < e.scan.height(); ++y)
            for (int x = 0; x < e.scan.width(); ++x) {
                imageDiff += o.image.at(x, y) != e.scan.at(x, y);
                labelDiff += o.labels.at(x, y) != labels.at(x, y);
                labelled += labels.at(x, y) != 0;
            }
        EXPECT_EQ(imageDiff, 0u) << name;
        EXPECT_EQ(labelDiff, 0u) << name;
        EXPECT_EQ(o.paintedPixels, labelled) << name;
        EXPECT_GT(labelled, 5000u) << name;
    }
}

TEST(LatticeOverlay, ConfigLoadsEveryPublishedFrameLikeTheExportedOnes) {
    const auto overlay = loadLabelledScans(kOverlayDir, LabelConfig::load(kOverlayConfig), defaultCard("defects").classes);
    ASSERT_EQ(overlay.size(), 46u);
    const auto exported = frames();
    size_t matched = 0;
    for (const auto& e : exported) {
        const std::string name = std::filesystem::path(e.path).filename().string().substr(4, 25);   // <date>_bias_series_<n>
        for (const auto& o : overlay) {
            if (std::filesystem::path(o.path).filename().string() != name + ".png") continue;
            ++matched;
            EXPECT_NEAR(o.scan.pixelSize.x_nm, 0.097, 1e-9);
            EXPECT_EQ(o.latticeSites.size(), e.latticeSites.size()) << name;
            EXPECT_EQ(o.objects.size(), e.objects.size()) << name;
            size_t diff = 0;
            for (size_t i = 0; i < o.target.size(); ++i)
                diff += o.target.pixels()[i] != e.target.pixels()[i] || o.known.pixels()[i] != e.known.pixels()[i];
            EXPECT_EQ(diff, 0u) << name;
        }
    }
    EXPECT_EQ(matched, exported.size());
}

TEST(LatticeOverlay, RefusesGreyImagesAndAmbiguousPalettes) {
    const OverlayPalette palette = LabelConfig::load(kOverlayConfig).overlayPalette;
    EXPECT_THROW(readLatticeOverlay(kDir + "/cda_20220819_bias_series_0007_clean.png", palette), InputError);   // grey preview
    EXPECT_THROW(readLatticeOverlay(kDir + "/no-such-frame.png", palette), InputError);
    OverlayPalette twice = palette;
    twice[99] = twice.begin()->second;
    EXPECT_THROW(readLatticeOverlay(kOverlayDir + "/20220819_bias_series_0007.png", twice), InputError);
    EXPECT_THROW(readLatticeOverlay(kOverlayDir + "/20220819_bias_series_0007.png", {{0, {1, 2, 3}}}), InputError);
}
