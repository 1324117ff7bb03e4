// The whole pipeline with the shipped models (models/), on simulated scans with known truth.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "analysis/Pipeline.h"
#include "core/Errors.h"
#include "nn/Metrics.h"
#include "nn/Model.h"
#include "sim/Simulator.h"

using namespace stmlens;

namespace {

sim::SimSample atomicScan(uint64_t seed, sim::SimMode mode = sim::SimMode::Random) {
    sim::SimParams p;
    p.width = p.height = 256;
    p.pixelSize = PixelSize::square(0.1);
    p.preset = sim::Preset::Atomic;
    p.mode = mode;
    sim::SimSample s = sim::simulate(p, seed);
    s.image.pixelSize = p.pixelSize;
    return s;
}

// Reported sites against the truth's dimer centres (the pipeline reports dimers at 0.1 nm/px), within 0.2 nm.
double dimerF1(const AnalysisResult& r, const sim::SimSample& s) {
    std::map<int, std::pair<Point2, int>> dimers;
    for (const auto& a : s.truth.atoms) {
        auto& d = dimers[a.dimerId];
        d.first.x += a.x, d.first.y += a.y, ++d.second;
    }
    std::vector<Point2> truth, pred;
    for (const auto& [id, d] : dimers) truth.push_back({d.first.x / d.second, d.first.y / d.second});
    for (const auto& a : r.atoms) pred.push_back({a.x, a.y});
    return matchPoints(pred, truth, 2.0).f1();
}

bool warns(const AnalysisResult& r, const std::string& what) {
    for (const auto& w : r.warnings)
        if (w.find(what) != std::string::npos) return true;
    return false;
}

bool warnsInverted(const AnalysisResult& r) { return warns(r, "contrast looks inverted"); }

}  // namespace

// Dark rows and bright troughs (inverted empty-state contrast, here made by negating a usual scan): the atom
// finder alone puts the dimers in the troughs; the pipeline notices it is unsure, finds it surer on the negated
// image, and reports the dimers on the rows, with a warning. A scan with the usual contrast is left alone.
// (A filled-state scan. Seed 900001 in random mode is now a constant-height frame with trough pits; negated, it
// shows bright pits between dimers in bright troughs, much like a usual scan half a row over, and an atom finder
// trained on such frames was about as sure of both.)
TEST(Pipeline, InvertedRowContrastIsDetectedAndTheDimersStayOnTheRows) {
    setTorchThreads(2);
    const sim::SimSample s = atomicScan(900001, sim::SimMode::FilledState);
    sim::SimSample inverted = s;
    for (float& v : inverted.image.pixels()) v = -v;

    Pipeline pipeline{PipelineOptions{}};
    const AnalysisResult usual = pipeline.analyzeImage(s.image);
    EXPECT_FALSE(warnsInverted(usual));
    EXPECT_EQ(usual.lattice.rowContrast, "normal");
    EXPECT_GT(dimerF1(usual, s), 0.95);

    const AnalysisResult checked = pipeline.analyzeImage(inverted.image);
    EXPECT_TRUE(warnsInverted(checked));
    EXPECT_EQ(checked.lattice.rowContrast, "inverted");
    EXPECT_GT(dimerF1(checked, s), 0.9);

    PipelineOptions normal;
    normal.rowContrast = RowContrast::Normal;
    const AnalysisResult unchecked = Pipeline(normal).analyzeImage(inverted.image);
    EXPECT_FALSE(warnsInverted(unchecked));
    EXPECT_EQ(unchecked.lattice.rowContrast, "normal");
    EXPECT_LT(dimerF1(unchecked, s), 0.5);
}

// --mirror-average: the same dimers, found from the atom finder's mean over the scan's mirror images; the row
// contrast check works with it too.
TEST(Pipeline, MirrorAveragedAtomFinderFindsTheDimers) {
    setTorchThreads(2);
    const sim::SimSample s = atomicScan(900001, sim::SimMode::FilledState);
    PipelineOptions o;
    o.mirrorAverageAtoms = true;
    const Pipeline pipeline{o};
    const AnalysisResult r = pipeline.analyzeImage(s.image);
    EXPECT_EQ(r.lattice.rowContrast, "normal");
    EXPECT_GT(dimerF1(r, s), 0.95);
    sim::SimSample inverted = s;
    for (float& v : inverted.image.pixels()) v = -v;
    const AnalysisResult ri = pipeline.analyzeImage(inverted.image);
    EXPECT_EQ(ri.lattice.rowContrast, "inverted");
    EXPECT_GT(dimerF1(ri, s), 0.9);
}

// A constant-height frame with dark pits between the dimers: negated, it looks much like a usual frame half a row
// over, and the atom finder's own check took it as inverted (it put every dimer in the troughs). The bright point
// defects sit on the rows the finder saw, so the contrast is left as it is.
TEST(Pipeline, BrightDefectsKeepATroughPitFrameFromBeingTakenAsInverted) {
    setTorchThreads(2);
    const sim::SimSample s = atomicScan(910012);
    ASSERT_EQ(s.truth.mode, "current");
    ASSERT_FALSE(s.truth.rowsInverted);
    const AnalysisResult r = Pipeline{PipelineOptions{}}.analyzeImage(s.image);
    EXPECT_FALSE(warnsInverted(r));
    EXPECT_EQ(r.lattice.rowContrast, "normal");
    EXPECT_GT(dimerF1(r, s), 0.9);
}

// A user who knows the rows show dark says so, and the atoms are found on the negated scan without any guess
// (no warning); saying so of a usual scan puts them in the troughs, as it should. Bad names are refused.
TEST(Pipeline, GivenRowContrastIsUsedAsGiven) {
    setTorchThreads(2);
    const sim::SimSample s = atomicScan(900001, sim::SimMode::FilledState);
    sim::SimSample inverted = s;
    for (float& v : inverted.image.pixels()) v = -v;
    PipelineOptions given;
    given.rowContrast = RowContrast::Inverted;
    const Pipeline pipeline(given);
    const AnalysisResult r = pipeline.analyzeImage(inverted.image);
    EXPECT_FALSE(warnsInverted(r));
    EXPECT_EQ(r.lattice.rowContrast, "inverted");
    EXPECT_GT(dimerF1(r, s), 0.9);
    EXPECT_LT(dimerF1(pipeline.analyzeImage(s.image), s), 0.5);

    EXPECT_EQ(parseRowContrast("auto"), RowContrast::Auto);
    EXPECT_EQ(parseRowContrast("normal"), RowContrast::Normal);
    EXPECT_EQ(parseRowContrast("inverted"), RowContrast::Inverted);
    EXPECT_THROW(parseRowContrast("dark"), InputError);
}

// cda 0037, a usual frame of the 2022-08-19 bias series (its labelled sites sit on the bright rows: dimer F1 0.56
// as it is, 0.24 negated): the atom finder alone is surer of the negated scan, but the bright defects lean onto the
// rows it saw (row phase +0.17), so it is left as it is.
TEST(Pipeline, BrightDefectsKeepAUsualRealFrameFromBeingNegated) {
    setTorchThreads(2);
    const std::string scan = std::string(STMLENS_SHARED_DIR) + "/data/real/cda_20220819_bias_series_0037_clean.npy";
    const AnalysisResult r = Pipeline{PipelineOptions{}}.analyzeFile(scan, PixelSize(0.097, 0.1));
    EXPECT_FALSE(r.atoms.empty());
    EXPECT_FALSE(warnsInverted(r));
    EXPECT_EQ(r.lattice.rowContrast, "normal");
}

// A real frame with the usual contrast (cda 0007, bright rows) stays as it is when the pixel size given is a
// little off (a square 0.1 nm instead of 0.097 x 0.1 nm): the finder is unsure on real frames, and a small gain on
// the negated crop must not flip the dimers into the troughs.
TEST(Pipeline, RowContrastCheckLeavesUsualRealFramesAloneAtARoundedPixelSize) {
    setTorchThreads(2);
    const std::string scan = std::string(STMLENS_SHARED_DIR) + "/data/real/cda_20220819_bias_series_0007_clean.npy";
    Pipeline pipeline{PipelineOptions{}};
    for (const PixelSize px : {PixelSize(0.097, 0.1), PixelSize::square(0.1)}) {
        const AnalysisResult r = pipeline.analyzeFile(scan, px);
        EXPECT_FALSE(r.atoms.empty());
        EXPECT_FALSE(warnsInverted(r)) << "pixel " << px.x_nm << " x " << px.y_nm;
    }
}

// Scans with nothing to find give a verdict and no invented atoms: blank, white noise, all rows NaN but a few,
// and a hexagonal surface (three-fold lattice: not Si(100) 2x1). A scan smaller than the networks' input and a
// scan without rows or pixel size are clear errors.
TEST(Pipeline, ScansWithoutALatticeGiveAVerdictAndNoAtoms) {
    setTorchThreads(2);
    const Pipeline pipeline{PipelineOptions{}};
    const PixelSize px = PixelSize::square(0.1);
    Image blank(256, 256);
    blank.pixelSize = px;
    const AnalysisResult rb = pipeline.analyzeImage(blank);
    EXPECT_TRUE(rb.atoms.empty());
    EXPECT_EQ(rb.assessment.verdict, "unusable");

    Image noise(256, 256);
    noise.pixelSize = px;
    std::mt19937 rng(7);
    std::normal_distribution<float> n(0.0f, 1.0f);
    for (float& v : noise.pixels()) v = n(rng);
    const AnalysisResult rn = pipeline.analyzeImage(noise);
    EXPECT_TRUE(rn.atoms.empty());
    EXPECT_NE(rn.assessment.verdict, "usable");

    sim::SimSample s = atomicScan(900003, sim::SimMode::FilledState);
    Image holes = s.image;
    for (int y = 0; y < holes.height(); ++y)
        if (y % 16 != 0)
            for (int x = 0; x < holes.width(); ++x) holes.at(x, y) = std::numeric_limits<float>::quiet_NaN();
    const AnalysisResult rh = pipeline.analyzeImage(holes);
    EXPECT_TRUE(rh.atoms.empty());
    for (const auto& d : rh.defects) EXPECT_TRUE(std::isfinite(d.x) && std::isfinite(d.y));

    // Three sets of rows 60 degrees apart at the dimer-row pitch: as dense and periodic as H-Si rows, but hexagonal.
    Image hex(256, 256);
    hex.pixelSize = px;
    for (int y = 0; y < 256; ++y)
        for (int x = 0; x < 256; ++x) {
            double v = 0;
            for (double deg : {15.0, 75.0, 135.0}) {
                const double a = deg * M_PI / 180;
                v += std::cos(2 * M_PI * (std::sin(a) * x + std::cos(a) * y) * 0.1 / 0.768);
            }
            hex.at(x, y) = static_cast<float>(v + 0.3 * n(rng));
        }
    const AnalysisResult rx = pipeline.analyzeImage(hex);
    EXPECT_TRUE(rx.atoms.empty());
    EXPECT_EQ(rx.assessment.verdict, "unusable");
    EXPECT_NE(std::find(rx.assessment.reasons.begin(), rx.assessment.reasons.end(), "not_si100_2x1"), rx.assessment.reasons.end());
    EXPECT_TRUE(warns(rx, "three-fold"));
    Image hexNoScale = hex;
    hexNoScale.pixelSize = PixelSize{};
    try {
        pipeline.analyzeImage(hexNoScale);
        ADD_FAILURE() << "a three-fold lattice without a pixel size was calibrated";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("three-fold"), std::string::npos) << e.what();
    }

    Image tiny(24, 24);
    tiny.pixelSize = px;
    EXPECT_THROW(pipeline.analyzeImage(tiny), InputError);
    Image unscaled = noise;
    unscaled.pixelSize = PixelSize{};
    EXPECT_THROW(pipeline.analyzeImage(unscaled), InputError);
}

bool hasReason(const AnalysisResult& r, const std::string& reason) {
    return std::find(r.assessment.reasons.begin(), r.assessment.reasons.end(), reason) != r.assessment.reasons.end();
}

// A real scan of another surface (Au on mica, Nanonis, 0.016 nm/px) whose spectrum has no dimer rows: the
// assessment network rated it usable; without rows it is at best degraded, says why, and reports no atoms.
TEST(Pipeline, AScanWithoutDimerRowsIsAtBestDegraded) {
    setTorchThreads(2);
    const Pipeline pipeline{PipelineOptions{}};
    const AnalysisResult r =
        pipeline.analyzeFile(std::string(STMLENS_SHARED_DIR) + "/data/formats/sxm/pynxtools_Au_mica_2023_Y_A_diPAMY_195.sxm");
    EXPECT_FALSE(r.lattice.found);
    EXPECT_TRUE(r.atoms.empty());
    EXPECT_NE(r.assessment.verdict, "usable");
    EXPECT_TRUE(hasReason(r, "no_dimer_rows"));
    EXPECT_TRUE(warns(r, "no dimer-row periodicity"));
}

// Coarse pixels. At 0.5 nm/px the 0.768 nm rows are beyond the grid's Nyquist limit (1.5 px a row): no lattice,
// no atoms, a warning that says why (not "check the pixel size", which is right) and a verdict no better than
// degraded; the defects are still found as blobs. An overview scan (here 20 nm/px, a 2.6 um field) gets a
// verdict and nothing else, not an error.
TEST(Pipeline, CoarsePixelsGiveAVerdictAndNoLattice) {
    setTorchThreads(2);
    const Pipeline pipeline{PipelineOptions{}};
    sim::SimParams p;
    p.width = p.height = 128;
    p.pixelSize = PixelSize::square(0.5);
    p.preset = sim::Preset::Survey;
    sim::SimSample s = sim::simulate(p, 5);
    s.image.pixelSize = p.pixelSize;
    const AnalysisResult r = pipeline.analyzeImage(s.image);
    EXPECT_FALSE(r.lattice.found);
    EXPECT_TRUE(r.atoms.empty());
    EXPECT_NE(r.assessment.verdict, "usable");
    EXPECT_TRUE(hasReason(r, "pixel_too_coarse"));
    EXPECT_TRUE(warns(r, "coarser than half the dimer-row pitch"));
    EXPECT_FALSE(warns(r, "check the pixel size"));
    EXPECT_FALSE(r.defects.empty());

    Image overview(128, 128);
    overview.pixelSize = PixelSize::square(20.0);
    for (int y = 0; y < 128; ++y)
        for (int x = 0; x < 128; ++x) overview.at(x, y) = static_cast<float>(std::sin(0.1 * x) + 0.01 * y);
    AnalysisMaps maps;
    const AnalysisResult o = pipeline.analyzeImage(overview, &maps);
    EXPECT_EQ(o.assessment.verdict, "unusable");
    EXPECT_TRUE(hasReason(o, "pixel_too_coarse"));
    EXPECT_TRUE(o.atoms.empty());
    EXPECT_TRUE(o.defects.empty());
    EXPECT_TRUE(warns(o, "overview scan"));
    EXPECT_EQ(maps.levelled.width(), 128);
}

// A pixel size far off the scan's real one: the rows come out far from 0.768 nm and a warning says so (here
// 0.1 nm/px given as 0.08: rows 0.61 nm); a pixel size a few % off passes quietly.
TEST(Pipeline, RowPitchFarFromSi100WarnsAboutThePixelSize) {
    setTorchThreads(2);
    const Pipeline pipeline{PipelineOptions{}};
    sim::SimSample s = atomicScan(900003, sim::SimMode::FilledState);
    s.image.pixelSize = PixelSize::square(0.08);
    const AnalysisResult off = pipeline.analyzeImage(s.image);
    EXPECT_TRUE(warns(off, "off the 0.768 nm")) << off.lattice.rowPitchNm;
    s.image.pixelSize = PixelSize::square(0.095);
    EXPECT_FALSE(warns(pipeline.analyzeImage(s.image), "off the 0.768 nm"));
}

// Real files' calibrations are often a few % off (the real survey files by 3-9 %). From 6 % the pipeline says so,
// with the pixel size the rows imply, and --pixel-size lattice (pixelSizeFromLattice) uses that one instead.
TEST(Pipeline, AMiscalibratedPixelSizeIsCalledOffAndTheRowsCanCalibrateIt) {
    setTorchThreads(2);
    sim::SimSample s = atomicScan(900003, sim::SimMode::FilledState);
    const Pipeline pipeline{PipelineOptions{}};
    EXPECT_FALSE(warns(pipeline.analyzeImage(s.image), "looks off"));
    s.image.pixelSize = PixelSize::square(0.109);
    const AnalysisResult off = pipeline.analyzeImage(s.image);
    EXPECT_TRUE(warns(off, "--pixel-size lattice")) << off.lattice.rowPitchNm;
    EXPECT_FALSE(warns(off, "off the 0.768 nm"));   // within the 15 % where the rows are still taken
    EXPECT_EQ(off.pixelSizeSource, "file");

    PipelineOptions o;
    o.pixelSizeFromLattice = true;
    const Pipeline calibrating{o};
    const AnalysisResult r = calibrating.analyzeImage(s.image);
    EXPECT_EQ(r.pixelSizeSource, "calibrated");
    EXPECT_NEAR(r.pixelSize.x_nm, 0.1, 0.003);
    EXPECT_NEAR(r.pixelSize.y_nm, 0.1, 0.003);
    EXPECT_NEAR(r.lattice.rowPitchNm, 0.768, 0.015);
    EXPECT_TRUE(warns(r, "instead of 0.109"));
    EXPECT_FALSE(warns(r, "looks off"));

    // No rows to calibrate from: the given pixel size stays, and the user is told.
    Image noise(256, 256);
    std::mt19937 rng(4);
    std::normal_distribution<float> n(0.0f, 0.01f);
    for (float& v : noise.pixels()) v = n(rng);
    noise.pixelSize = PixelSize::square(0.1);
    const AnalysisResult flat = calibrating.analyzeImage(noise);
    EXPECT_NE(flat.pixelSizeSource, "calibrated");
    EXPECT_NEAR(flat.pixelSize.x_nm, 0.1, 1e-9);
    EXPECT_TRUE(warns(flat, "no dimer rows to calibrate the pixel size from"));
}
