#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <numbers>
#include <random>
#include <opencv2/core.hpp>

#include "analysis/LatticeCalibration.h"
#include "core/Level.h"
#include "io/LatticeOverlay.h"
#include "io/NpyReader.h"
#include "nn/DefectTypeTraining.h"
#include "sim/Simulator.h"

using namespace stmlens;

namespace {

const std::string kReal = std::string(STMLENS_SHARED_DIR) + "/data/real/";

Image loadNpy(const std::string& name) {
    NpyArray a = readNpy(kReal + name);
    Image img(static_cast<int>(a.shape[1]), static_cast<int>(a.shape[0]));
    img.pixels() = a.values;
    img.maskNonFinite();
    subtractPolynomial(img, 1);
    return img;
}

// Stripes whose crests run along directionDeg (counter-clockwise on screen, y down), period pitchPx.
Image stripes(int w, int h, double directionDeg, double pitchPx, double noise, unsigned seed = 1) {
    const double a = directionDeg * std::numbers::pi / 180.0;
    // Row direction on screen (cos a, -sin a); normal (sin a, cos a).
    const double nx = std::sin(a), ny = std::cos(a);
    std::mt19937 rng(seed);
    std::normal_distribution<float> n(0.0f, 1.0f);
    Image img(w, h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            img.at(x, y) = static_cast<float>(std::cos(2 * std::numbers::pi * (nx * x + ny * y) / pitchPx)) +
                           static_cast<float>(noise) * n(rng);
    return img;
}

double angleDiff(double a, double b) {
    double d = std::fmod(std::abs(a - b), 180.0);
    return std::min(d, 180.0 - d);
}

}  // namespace

TEST(LatticeCalibration, SyntheticStripesAtSeveralAnglesAndPitches) {
    for (double angle : {0.0, 17.0, 45.0, 90.0, 123.0, 160.0})
        for (double pitch : {3.8, 5.0, 7.7, 12.0}) {
            SCOPED_TRACE(testing::Message() << "angle " << angle << " pitch " << pitch);
            Image img = stripes(256, 240, angle, pitch, 1.0);
            auto rows = findRowLattices(img);
            ASSERT_FALSE(rows.empty());
            EXPECT_NEAR(rows[0].pitchPx, pitch, 0.02 * pitch);
            EXPECT_LT(angleDiff(rows[0].directionDeg, angle), 1.5);
            EXPECT_GT(rows[0].strength, 20.0);
            EXPECT_EQ(rows.size(), 1u);
        }
}

TEST(LatticeCalibration, PhysicalPitchAndAngleWithNonSquarePixels) {
    // 0.1 x 0.2 nm pixels: rows along the screen diagonal in pixels are steeper physically.
    Image img = stripes(256, 256, 45.0, 6.0, 0.5);
    img.pixelSize = {0.1, 0.2};
    auto rows = findRowLattices(img);
    ASSERT_FALSE(rows.empty());
    // Row direction (1, -1) px -> (0.1, -0.2) nm: atan(2) = 63.43 degrees.
    EXPECT_NEAR(rows[0].directionDeg, 63.43, 1.0);
    // Wave vector (1,1)/(6 sqrt2) cycles/px -> (1/0.1, 1/0.2)/(6 sqrt2) cycles/nm.
    const double k = std::hypot(10.0, 5.0) / (6 * std::sqrt(2.0));
    EXPECT_NEAR(rows[0].pitchNm, 1.0 / k, 0.01);
}

TEST(LatticeCalibration, TwoPerpendicularDomainsCalibrateXAndYSeparately) {
    // Rows along x in the top half (pitch measured along y), along y in the bottom (pitch along x);
    // pixels 0.1 x 0.11 nm, so the same 0.768 nm pitch is 6.98 px in y and 7.68 px in x.
    const double sx = 0.1, sy = 0.11;
    Image a = stripes(256, 256, 0, kRowPitchNm / sy, 0.5, 1), b = stripes(256, 256, 90, kRowPitchNm / sx, 0.5, 2);
    for (int y = 128; y < 256; ++y)
        for (int x = 0; x < 256; ++x) a.at(x, y) = b.at(x, y);
    auto px = calibratePixelSize(a);
    ASSERT_TRUE(px.has_value());
    EXPECT_NEAR(px->x_nm, sx, 0.002);
    EXPECT_NEAR(px->y_nm, sy, 0.002);
    // Diagonal domains cannot separate x from y: square.
    Image c = stripes(256, 256, 45, 6.0, 0.5, 1), d = stripes(256, 256, 135, 6.0, 0.5, 2);
    for (int y = 128; y < 256; ++y)
        for (int x = 0; x < 256; ++x) c.at(x, y) = d.at(x, y);
    px = calibratePixelSize(c);
    ASSERT_TRUE(px.has_value());
    EXPECT_DOUBLE_EQ(px->x_nm, px->y_nm);
    EXPECT_NEAR(px->x_nm, kRowPitchNm / 6.0, 0.003);
}

TEST(LatticeCalibration, NoiseOnlyFindsNothing) {
    Image img = stripes(256, 256, 0, 5, 0.0);
    std::mt19937 rng(3);
    std::normal_distribution<float> n(0.0f, 1.0f);
    for (float& v : img.pixels()) v = n(rng);
    EXPECT_TRUE(findRowLattices(img).empty());
    EXPECT_FALSE(calibratePixelSize(img).has_value());
}

// Rows drowned in white noise until their peak alone is below the lone-peak threshold: the dimer peak
// perpendicular to it at twice the frequency still confirms it. (A filled-state 'atomic' scan plus white noise of
// 1.85 times its spread; the simulated 'atomic' frames themselves no longer fall in the narrow band between the
// two thresholds since constant-height frames carry subsurface charges and steps.)
TEST(LatticeCalibration, FaintRowsConfirmedByTheirDimerPeak) {
    sim::SimParams p;
    p.width = p.height = 256;
    p.pixelSize = PixelSize::square(0.1);
    p.preset = sim::Preset::Atomic;
    p.mode = sim::SimMode::FilledState;
    p.rotationDeg = 0;
    sim::SimSample s = sim::simulate(p, 901708);
    Image img = s.image;
    img.pixelSize = p.pixelSize;
    cv::Scalar mean, spread;
    cv::meanStdDev(cv::Mat(img.height(), img.width(), CV_32F, img.data()), mean, spread);
    std::mt19937 rng(3);
    std::normal_distribution<float> noise(0.0f, 1.0f);
    for (float& v : img.pixels()) v += static_cast<float>(1.85 * spread[0]) * noise(rng);
    subtractPolynomial(img, 1);
    alignRows(img);
    const auto rows = findRowLattices(img);
    ASSERT_FALSE(rows.empty());
    EXPECT_NEAR(rows[0].pitchNm, 0.768, 0.03);
    EXPECT_NEAR(rows[0].dimerPitchNm, 0.384, 0.02);
    EXPECT_LT(rows[0].strength, LatticeOptions{}.minStrength);
    LatticeOptions lone;
    lone.minConfirmedStrength = lone.minStrength;  // no confirmation by the dimer peak
    EXPECT_TRUE(findRowLattices(img, lone).empty());
}

// Rows plus strong peaks at 2 x rows +- dimers (0.27 nm, at +-45 degrees: equal and perpendicular, like two
// domains): those are the 2x1 lattice's own sums, not a second lattice.
TEST(LatticeCalibration, SumPeaksOfRowsAndDimersAreNoDomains) {
    const int n = 256;
    const double pitch = 7.68;
    Image img(n, n);
    std::mt19937 rng(5);
    std::normal_distribution<float> noise(0.0f, 0.3f);
    for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x) {
            const double r = 2 * std::numbers::pi * y / pitch, d = 2 * std::numbers::pi * x / (pitch / 2);
            img.at(x, y) = static_cast<float>(0.4 * std::cos(r) + 0.3 * std::cos(d) + std::cos(2 * r + d) +
                                              std::cos(2 * r - d)) + noise(rng);
        }
    img.pixelSize = PixelSize::square(0.1);
    const auto rows = findRowLattices(img);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_NEAR(rows[0].pitchPx, pitch, 0.1);
    EXPECT_LT(angleDiff(rows[0].directionDeg, 0), 1.5);
    // Limits on the pitch apply when the pixel size is known.
    LatticeOptions narrow;
    narrow.minPitchNm = 0.9;
    EXPECT_TRUE(findRowLattices(img, narrow).empty());
    img.pixelSize = PixelSize();
    EXPECT_FALSE(findRowLattices(img, narrow).empty());
}

TEST(LatticeCalibration, TwoDomainsAndTheirMap) {
    // Left half rows at 30 degrees, right half at 120, same pitch.
    Image a = stripes(256, 256, 30, 5.0, 0.5, 1), b = stripes(256, 256, 120, 5.0, 0.5, 2);
    for (int y = 0; y < 256; ++y)
        for (int x = 128; x < 256; ++x) a.at(x, y) = b.at(x, y);
    auto rows = findRowLattices(a);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_NEAR(angleDiff(rows[0].directionDeg, rows[1].directionDeg), 90.0, 2.0);
    DomainMap dm = mapDomains(a, rows, 48);
    const int left = dm.domainAt(40, 128), right = dm.domainAt(215, 128);
    ASSERT_GE(left, 0);
    ASSERT_GE(right, 0);
    EXPECT_NE(left, right);
    EXPECT_LT(angleDiff(rows[left].directionDeg, 30), 2.0);
    EXPECT_LT(angleDiff(rows[right].directionDeg, 120), 2.0);
    EXPECT_NEAR(dm.areaFractions[0] + dm.areaFractions[1], 1.0, 0.05);
    EXPECT_NEAR(dm.areaFractions[0], 0.5, 0.1);
    a.pixelSize = PixelSize::square(0.15);
    rows = findRowLattices(a);
    LatticeInfo info = latticeInfo(rows, dm);
    EXPECT_TRUE(info.found);
    ASSERT_EQ(info.domains.size(), 2u);
    EXPECT_NEAR(info.rowPitchNm, 0.75, 0.02);
    EXPECT_NEAR(info.dimerPitchNm, 0.375, 0.01);  // not resolved: half the row pitch
    std::vector<AtomSite> sites{{40, 128, 1, -1}, {215, 128, 1, -1}};
    assignDomains(sites, dm);
    EXPECT_EQ(sites[0].domain, left);
    EXPECT_EQ(sites[1].domain, right);
    Image dir = rowDirectionMap(a, 48);
    EXPECT_LT(angleDiff(dir.at(20, 20), 30), 2.0);
    EXPECT_LT(angleDiff(dir.at(230, 230), 120), 2.0);
}

// Simulated constant-height current scans (seeds chosen as ones that failed). The lower terraces' rows are far
// fainter than the upper one's (the current falls off exponentially with the gap), so the raw spectrum showed
// one domain, or none.
namespace {
Image levelledSim(uint64_t seed, sim::SimSample& s, sim::Preset preset = sim::Preset::Atomic, double pixelNm = 0.1) {
    sim::SimParams p;
    p.width = p.height = 256;
    p.pixelSize = PixelSize::square(pixelNm);
    p.preset = preset;
    s = sim::simulate(p, seed);
    Image img = s.image;
    img.pixelSize = p.pixelSize;
    levelScan(img);
    return img;
}
LatticeOptions pipelineWindow() {
    LatticeOptions lo;
    lo.minPitchNm = 0.7 * kRowPitchNm;
    lo.maxPitchNm = 1.4 * kRowPitchNm;
    return lo;
}
// Every 7th truth atom with a row direction: how many there are, and at how many the map's domain has it (within
// 10 degrees; no domain counts as wrong).
struct RowDirectionScore {
    int right = 0, sampled = 0;
    double fraction() const { return sampled ? double(right) / sampled : 0.0; }
};
RowDirectionScore scoreRowDirections(const sim::SimSample& s, const std::vector<RowLattice>& rows, const DomainMap& dm) {
    RowDirectionScore score;
    for (size_t a = 0; a < s.truth.atoms.size(); a += 7) {
        const double want = simulatedRowDirection(s, s.truth.atoms[a].x, s.truth.atoms[a].y);
        if (!std::isfinite(want)) continue;
        ++score.sampled;
        const int d = dm.domainAt(s.truth.atoms[a].x, s.truth.atoms[a].y);
        score.right += d >= 0 && angleDiff(rows[d].directionDeg, want) < 10;
    }
    return score;
}
}  // namespace

// The second domain's row peak (perpendicular to the first's, at its frequency) was taken as part of the first
// lattice: one domain, and every site on the other terraces had its rows turned by 90 degrees.
TEST(LatticeCalibration, PerpendicularPeakAtTheRowFrequencyIsASecondDomain) {
    sim::SimSample s;
    const Image img = levelledSim(1004, s);
    ASSERT_EQ(s.truth.mode, "current");
    const auto rows = findRowLattices(img, pipelineWindow());
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_NEAR(angleDiff(rows[0].directionDeg, rows[1].directionDeg), 90.0, 3.0);
    const DomainMap dm = mapDomains(img, rows);
    int right = 0, sampled = 0;
    for (size_t a = 0; a < s.truth.atoms.size(); a += 7) {
        const double want = simulatedRowDirection(s, s.truth.atoms[a].x, s.truth.atoms[a].y);
        const int d = dm.domainAt(s.truth.atoms[a].x, s.truth.atoms[a].y);
        if (!std::isfinite(want) || d < 0) continue;
        ++sampled;
        right += angleDiff(rows[d].directionDeg, want) < 10;
    }
    ASSERT_GT(sampled, 300);
    EXPECT_GT(double(right) / sampled, 0.88) << right << " of " << sampled;
}

// A vicinal surface at 0.15 nm/px: terraces 3-5 nm wide, the rows turning by 90 degrees at every step. Windows
// of nine row pitches straddled two or three terraces and gave 53 % / 60 % of these scans' sites the other
// terrace's direction; the Gabor map, two pitches wide, follows the terraces.
TEST(LatticeCalibration, NarrowTerracesOfASteppedSurfaceAreMappedEachToItsOwnRows) {
    for (uint64_t seed : {1003, 1006}) {
        sim::SimSample s;
        const Image img = levelledSim(seed, s, sim::Preset::Stepped, 0.15);
        const auto rows = findRowLattices(img, pipelineWindow());
        ASSERT_EQ(rows.size(), 2u) << seed;
        const RowDirectionScore score = scoreRowDirections(s, rows, mapDomains(img, rows));
        ASSERT_GT(score.sampled, 1000) << seed;
        EXPECT_GT(score.fraction(), 0.85) << seed << ": " << score.right << " of " << score.sampled;
    }
}

// Where the spectrum gives one lattice of a two-domain vicinal scan (the step staircase's ridge runs through the
// other domain's row peak), the turned rows are found locally, and with them the terraces map to their own rows
// (0.73 and 0.87 of the sampled sites right, against 0.53 and 0.56 with one domain). Single-domain scans get none.
TEST(LatticeCalibration, SecondDomainTheSpectrumHidIsFoundLocally) {
    for (uint64_t seed : {1019, 1024}) {
        sim::SimSample s;
        const Image img = levelledSim(seed, s, sim::Preset::Stepped, 0.15);
        auto rows = findRowLattices(img, pipelineWindow());
        ASSERT_EQ(rows.size(), 1u) << seed;
        const auto turned = perpendicularDomain(img, rows[0]);
        ASSERT_TRUE(turned.has_value()) << seed;
        EXPECT_NEAR(angleDiff(turned->directionDeg, rows[0].directionDeg), 90.0, 1.0);
        EXPECT_NEAR(turned->pitchNm, rows[0].pitchNm, 1e-9);
        rows.push_back(*turned);
        const RowDirectionScore score = scoreRowDirections(s, rows, mapDomains(img, rows));
        ASSERT_GT(score.sampled, 1000) << seed;
        EXPECT_GT(score.fraction(), 0.65) << seed << ": " << score.right << " of " << score.sampled;
    }
    for (uint64_t seed : {1001, 1003}) {
        sim::SimSample s;
        const Image img = levelledSim(seed, s);
        const auto rows = findRowLattices(img, pipelineWindow());
        ASSERT_EQ(rows.size(), 1u) << seed;
        for (size_t a = 0; a < s.truth.atoms.size(); a += 7) {   // the premise: one domain
            const double want = simulatedRowDirection(s, s.truth.atoms[a].x, s.truth.atoms[a].y);
            if (std::isfinite(want)) ASSERT_LT(angleDiff(rows[0].directionDeg, want), 10) << seed;
        }
        EXPECT_FALSE(perpendicularDomain(img, rows[0]).has_value()) << seed;
    }
}

// A real constant-height frame across a single step: the spectrum shows the upper terrace's rows (along x) only;
// the lower terrace, left of the step, has its rows along y (its dimers show as lines across them, 0.384 nm apart).
TEST(LatticeCalibration, RealCdaFrameLowerTerraceGetsItsOwnRows) {
    Image img = loadNpy("cda_20220822_bias_series_0030_clean.npy");
    img.pixelSize = PixelSize{0.097, 0.099};
    levelScan(img);
    auto rows = findRowLattices(img, pipelineWindow());
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_LT(angleDiff(rows[0].directionDeg, 0), 3.0);
    const auto turned = perpendicularDomain(img, rows[0]);
    ASSERT_TRUE(turned.has_value());
    EXPECT_LT(angleDiff(turned->directionDeg, 90), 3.0);
    rows.push_back(*turned);
    const DomainMap dm = mapDomains(img, rows);
    int lower = 0, upper = 0, n = 0;
    for (int y = 300; y < 396; y += 8)
        for (int x = 40; x < 136; x += 8, ++n) lower += dm.domainAt(x, y) == 1;
    for (int y = 300; y < 396; y += 8)
        for (int x = 380; x < 476; x += 8) upper += dm.domainAt(x, y) == 0;
    EXPECT_GT(lower, 0.75 * n);   // 120 of 144 sampled points (before: none)
    EXPECT_GT(upper, 0.6 * n);    // 101 (a charge halo and defects leave some unmapped)
}

// No lattice in the raw spectrum at all; with the pixel size known, the contrast-equalised one finds it.
TEST(LatticeCalibration, ConstantHeightScanWithDarkTerracesIsReadEqualised) {
    sim::SimSample s;
    const Image img = levelledSim(1000, s);
    ASSERT_EQ(s.truth.mode, "current");
    LatticeOptions lo = pipelineWindow();
    const auto rows = findRowLattices(img, lo);
    ASSERT_FALSE(rows.empty());
    for (const auto& r : rows) EXPECT_NEAR(r.pitchNm, 0.768, 0.03);
    lo.equaliseContrast = false;
    EXPECT_TRUE(findRowLattices(img, lo).empty());
}

TEST(LatticeCalibration, RealCdaFramesRowsAlongXCalibrateToAbout0p1nm) {
    for (const char* name :
         {"cda_20220819_bias_series_0007_clean.npy", "cda_20220819_bias_series_0017_clean.npy",
          "cda_20220819_bias_series_0027_clean.npy", "cda_20220819_bias_series_0037_clean.npy",
          "cda_20220819_bias_series_0047_clean.npy", "cda_20220822_bias_series_0010_clean.npy",
          "cda_20220822_bias_series_0020_clean.npy", "cda_20220822_bias_series_0030_clean.npy",
          "cda_20220822_bias_series_0041_clean.npy", "cda_20220822_bias_series_0051_clean.npy"}) {
        SCOPED_TRACE(name);
        Image img = loadNpy(name);
        auto rows = findRowLattices(img);
        ASSERT_FALSE(rows.empty());
        EXPECT_LT(angleDiff(rows[0].directionDeg, 0.0), 2.0);
        // Row pitch 0.768 nm across the rows (along y), pixel ~0.099 nm in y.
        EXPECT_NEAR(rows[0].pitchPx, 0.768 / 0.0990, 0.25);
        auto px = calibratePixelSize(img);
        ASSERT_TRUE(px.has_value());
        // Rows (0.768 nm along y) and dimers (0.384 nm along x) both show: x and y come out separately,
        // matching the overlay lattice's 0.097 x 0.098-0.100 nm.
        EXPECT_NEAR(px->x_nm, 0.097, 0.0015);
        EXPECT_NEAR(px->y_nm, 0.099, 0.0025);
        // The dimers along the rows (0.384 nm, ~3.95 px along x) resolve in these frames.
        EXPECT_NEAR(rows[0].dimerPitchPx, 0.384 / 0.097, 0.15);
        img.pixelSize = *px;
        const LatticeInfo info = latticeInfo(findRowLattices(img), mapDomains(img, findRowLattices(img), 64));
        EXPECT_NEAR(info.rowPitchNm, 0.768, 0.005);
        EXPECT_NEAR(info.dimerPitchNm, 0.384, 0.01);
        ASSERT_EQ(info.domains.size(), 1u);
        EXPECT_GT(info.domains[0].areaFraction, 0.5);
    }
}

// With their pixel size given and the pitch window the pipeline uses, levelled as the pipeline levels them. In
// frame 0051 the dimer wave along the rows is by far the strongest peak (0.384 nm, too fine to be rows) and the
// row peak is faint; that frame's rows were once taken at 0.54 nm and 132 degrees (a sum peak).
TEST(LatticeCalibration, RealCdaFramesFindTheRowsEvenWhereOnlyTheDimerWaveIsStrong) {
    for (const char* name :
         {"cda_20220819_bias_series_0007_clean.npy", "cda_20220819_bias_series_0037_clean.npy",
          "cda_20220822_bias_series_0010_clean.npy", "cda_20220822_bias_series_0030_clean.npy",
          "cda_20220822_bias_series_0041_clean.npy", "cda_20220822_bias_series_0051_clean.npy"}) {
        SCOPED_TRACE(name);
        Image img = loadNpy(name);
        img.pixelSize = PixelSize(0.097, 0.099);
        levelScan(img);
        LatticeOptions window;
        window.minPitchNm = 0.7 * kRowPitchNm;
        window.maxPitchNm = 1.4 * kRowPitchNm;
        const auto rows = findRowLattices(img, window);
        ASSERT_FALSE(rows.empty());
        EXPECT_LT(angleDiff(rows[0].directionDeg, 0.0), 2.0);
        EXPECT_NEAR(rows[0].pitchNm, 0.768, 0.02);
        EXPECT_NEAR(rows[0].dimerPitchNm, 0.384, 0.01);
        // The calibration reads the pixel grid: the same with the pixel size given or not (the pipeline relies on it).
        Image grid = img;
        grid.pixelSize = PixelSize();
        const auto given = calibratePixelSize(img), none = calibratePixelSize(grid);
        ASSERT_TRUE(given && none);
        EXPECT_EQ(given->x_nm, none->x_nm);
        EXPECT_EQ(given->y_nm, none->y_nm);
        // And it is right: 0051 once calibrated to 0.194 nm/px (its dimer wave read as rows), as its row peak is
        // faint; the sums of the dimer and row waves, both clear, place the rows.
        EXPECT_NEAR(none->x_nm, 0.097, 0.0015);
        EXPECT_NEAR(none->y_nm, 0.099, 0.0025);
    }
}

// All 46 published cda frames (0.097 x 0.098-0.100 nm by their overlay lattice), levelled as the pipeline levels
// them, given no pixel size. Seven once came out wrong: 0.194 nm/px where the dimer wave dwarfs a faint row peak
// (its sums placed the rows only above a leakage bound, or lay 2.8 bins from where square pixels put them), and
// 0.33 nm/px where two unexplained peaks 72 degrees apart outweighed the 2x1 lattice whose sums outshine its rows.
TEST(LatticeCalibration, EveryPublishedCdaFrameCalibratesWithoutItsPixelSize) {
    const std::filesystem::path dir = kReal + "raw/sidb-defect-aware-physical-design/lattice_overlay";
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir;
    int frames = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".png") continue;
        SCOPED_TRACE(entry.path().filename().string());
        Image img = readLatticeOverlay(entry.path().string(), {}).image;
        levelScan(img);
        const auto px = calibratePixelSize(img);
        ASSERT_TRUE(px.has_value());
        EXPECT_NEAR(px->x_nm, 0.097, 0.0015);
        EXPECT_NEAR(px->y_nm, 0.099, 0.004);
        ++frames;
    }
    EXPECT_EQ(frames, 46);
}

TEST(LatticeCalibration, RealAmershamDiagonalRowsPeriod4p11px) {
    for (const char* name : {"ntm_amersham_20220913_18_1_I_traceup.npy", "ntm_amersham_20220913_18_1_I_retraceup.npy"}) {
        SCOPED_TRACE(name);
        Image img = loadNpy(name);
        auto rows = findRowLattices(img);
        ASSERT_FALSE(rows.empty());
        EXPECT_NEAR(rows[0].pitchPx, 4.11, 0.12);
        // Diagonal rows: well away from both axes.
        EXPECT_GT(angleDiff(rows[0].directionDeg, 0), 20.0);
        EXPECT_GT(angleDiff(rows[0].directionDeg, 90), 20.0);
    }
}

TEST(LatticeCalibration, RealHornchurchTwoTerracesWithRotatedRows) {
    Image img = loadNpy("ntm_hornchurch_20220624_17_1_I_traceup.npy");
    auto rows = findRowLattices(img);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_NEAR(rows[0].pitchPx, 3.79, 0.12);
    EXPECT_NEAR(rows[1].pitchPx, 3.79, 0.12);
    // Physically the rows turn by 90 degrees; this frame is skewed (drift, uncalibrated aspect), so in pixel
    // space they meet at about 78 degrees.
    const double turn = angleDiff(rows[0].directionDeg, rows[1].directionDeg);
    EXPECT_GT(turn, 70.0);
    EXPECT_LE(turn, 90.0);
    DomainMap dm = mapDomains(img, rows, 64);
    // Both terraces are large (see the preview): each domain covers a sizeable part of the frame.
    EXPECT_GT(dm.areaFractions[0], 0.2);
    EXPECT_GT(dm.areaFractions[1], 0.1);
    // Upper right is one terrace, lower left the other.
    const int upperRight = dm.domainAt(420, 80), lowerLeft = dm.domainAt(80, 380);
    EXPECT_GE(upperRight, 0);
    EXPECT_GE(lowerLeft, 0);
    EXPECT_NE(upperRight, lowerLeft);
}

TEST(LatticeCalibration, DegenerateInputsGiveNothingAndNeverThrow) {
    EXPECT_TRUE(findRowLattices(Image(8, 8)).empty());         // too small
    EXPECT_TRUE(findRowLattices(Image(128, 128, 3.0f)).empty());  // blank
    EXPECT_FALSE(calibratePixelSize(Image(128, 128, 3.0f)).has_value());
    DomainMap none = mapDomains(Image(64, 64), {}, 32);
    EXPECT_EQ(none.domainAt(10, 10), -1);
    EXPECT_EQ(latticeInfo({}, none).found, false);
    // A narrow strip: the spectrum's band is empty, still no throw.
    EXPECT_NO_THROW(findRowLattices(stripes(400, 20, 0, 5, 0.1)));
}

TEST(LatticeCalibration, AbortedScanWithInvalidRowsStillFindsTheRows) {
    Image img = stripes(256, 256, 60, 6.0, 0.5);
    for (int y = 170; y < 256; ++y)
        for (int x = 0; x < 256; ++x) img.at(x, y) = NAN;
    img.maskNonFinite();
    auto rows = findRowLattices(img);
    ASSERT_FALSE(rows.empty());
    EXPECT_NEAR(rows[0].pitchPx, 6.0, 0.12);
    EXPECT_LT(angleDiff(rows[0].directionDeg, 60), 1.5);
}

TEST(LatticeCalibration, RealFslScanTwoDomainsNearTheNominalPitch) {
    // FSL scans: nominally 512 px per 100 nm, so rows 0.768 / (100 / 512) = 3.93 px apart; drift and piezo
    // calibration make the two domains differ by several percent.
    Image img = loadNpy("fsl_brockley_20221213_23_2_Z_trace_nm.npy");
    auto rows = findRowLattices(img);
    ASSERT_EQ(rows.size(), 2u);
    for (const auto& r : rows) EXPECT_NEAR(r.pitchPx, 3.93, 0.12 * 3.93);
    EXPECT_GT(angleDiff(rows[0].directionDeg, rows[1].directionDeg), 80.0);
    auto px = calibratePixelSize(img);
    ASSERT_TRUE(px.has_value());
    EXPECT_NEAR(px->x_nm, 100.0 / 512, 0.02);
}

// A simulated 51 nm survey with terraces a few nm wide, the rows turning by 90 degrees at each single step: the
// domain map follows the terraces (the simulator's terrace of each atom says which domain it is in). Until
// 2026-12-01 a single-frequency projection over 64-px windows left 96-100 % of such scans unassigned.
TEST(LatticeCalibration, SimulatedTwoDomainSurveyIsMappedPerTerrace) {
    for (uint64_t seed : {102, 107}) {
        sim::SimParams p;
        p.width = p.height = 256;
        p.pixelSize = PixelSize::square(0.2);
        p.preset = sim::Preset::Survey;
        const sim::SimSample s = sim::simulate(p, seed);
        Image img = s.image;
        img.pixelSize = p.pixelSize;
        levelScan(img);
        const auto rows = findRowLattices(img);
        ASSERT_EQ(rows.size(), 2u) << seed;
        const DomainMap dm = mapDomains(img, rows);
        long counts[2][3] = {{0, 0, 0}, {0, 0, 0}}, n = 0;
        for (const auto& a : s.truth.atoms) {
            // Only where the rendered rows are resolved (not under residue or a blunt patch): elsewhere there is
            // nothing to map, as bench_accuracy treats it.
            const int xi = std::clamp(static_cast<int>(std::lround(a.x)), 0, s.truth.resolvedMask.width() - 1);
            const int yi = std::clamp(static_cast<int>(std::lround(a.y)), 0, s.truth.resolvedMask.height() - 1);
            if (s.truth.resolvedMask.at(xi, yi) < 0.5f) continue;
            const int d = dm.domainAt(a.x, a.y);
            ++counts[a.terraceId & 1][d + 1];
            ++n;
        }
        const double unassigned = double(counts[0][0] + counts[1][0]) / n;
        const double agree = std::max(counts[0][1] + counts[1][2], counts[0][2] + counts[1][1]) / double(n);
        EXPECT_LT(unassigned, 0.1) << seed;
        EXPECT_GT(agree, 0.75) << seed;
    }
}

// Three cosines 60 degrees apart (a hexagonal surface) are no Si(100) 2x1 rows: flagged, and no pixel size is
// calibrated from them. Two perpendicular domains of rows, or rows with their dimer peak, are never flagged.
TEST(LatticeCalibration, HexagonalLatticeIsThreeFoldAndIsNotCalibrated) {
    Image hex(256, 256);
    const Image a = stripes(256, 256, 10, 6.0, 0.0), b = stripes(256, 256, 70, 6.0, 0.0), c = stripes(256, 256, 130, 6.0, 0.0, 3);
    std::mt19937 rng(4);
    std::normal_distribution<float> n(0.0f, 0.5f);
    for (size_t i = 0; i < hex.size(); ++i) hex.pixels()[i] = a.pixels()[i] + b.pixels()[i] + c.pixels()[i] + n(rng);
    const auto lattices = findRowLattices(hex);
    ASSERT_EQ(lattices.size(), 1u);
    EXPECT_TRUE(lattices[0].threeFold);
    EXPECT_NEAR(lattices[0].threeFoldAngleDeg, 60, 3);
    EXPECT_FALSE(calibratePixelSize(hex).has_value());

    Image two = stripes(256, 256, 20, 6.0, 0.5, 1);
    const Image other = stripes(256, 256, 110, 6.0, 0.5, 2);
    for (int y = 128; y < 256; ++y)
        for (int x = 0; x < 256; ++x) two.at(x, y) = other.at(x, y);
    const auto domains = findRowLattices(two);
    ASSERT_EQ(domains.size(), 2u);
    EXPECT_FALSE(domains[0].threeFold);
    EXPECT_TRUE(calibratePixelSize(two).has_value());
}

// Of the real scans, only the trace image of the 2020 spectroscopy frame (a dot pattern with spots 66 degrees
// apart; its retrace shows rows) is three-fold; every H-Si(100) scan with rows is not.
TEST(LatticeCalibration, RealScansThreeFoldOnlyWhereTheSpotsAre) {
    const auto trace = findRowLattices(loadNpy("fsl_other_20200305_spectroscopy_29_4_trace.npy"));
    ASSERT_FALSE(trace.empty());
    EXPECT_TRUE(trace[0].threeFold);
    for (const char* name : {"cda_20220819_bias_series_0017_clean.npy", "cda_20220822_bias_series_0020_clean.npy",
                             "fsl_brockley_20221213_23_2_Z_retraceup_gwy.npy", "ntm_hornchurch_20220624_17_1_I_traceup.npy",
                             "ntm_hainault_20200219_38_1_Z_tracedown_gwy.npy", "ntm_amersham_20220913_18_1_I_traceup.npy"}) {
        const auto l = findRowLattices(loadNpy(name));
        ASSERT_FALSE(l.empty()) << name;
        EXPECT_FALSE(l[0].threeFold) << name;
    }
}
