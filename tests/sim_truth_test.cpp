// Ground truth agrees with the rendered image: defect labels on the features, distortions moving both,
// determinism, and parameter checking.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

#include "core/Errors.h"
#include "core/Median.h"
#include "sim/Simulator.h"

using namespace stmlens;
using namespace stmlens::sim;

namespace {

SimParams defectScene(double px, bool warp) {
    SimParams p;
    p.width = p.height = 256;
    p.pixelSize = PixelSize::square(px);
    p.preset = Preset::Atomic;
    p.mode = SimMode::FilledState;
    p.artefacts = false;
    p.distortion = warp;
    p.distortionScale = 3;
    p.steps = false;
    p.defectDensity = 0.02;
    return p;
}

bool isolated(const SimSample& s, const SimDefect& d, double radiusNm) {
    const double px = s.image.pixelSize.x_nm;
    for (const auto& o : s.truth.defects) {
        if (&o == &d) continue;
        if (std::hypot(o.x - d.x, o.y - d.y) * px < radiusNm) return false;
    }
    // Nor at the rim of a contamination blob (a tall blob's centroid can be far while its flank is near).
    const int r = static_cast<int>(std::ceil(1.2 / px));
    for (int y = static_cast<int>(d.y) - r; y <= static_cast<int>(d.y) + r; ++y)
        for (int x = static_cast<int>(d.x) - r; x <= static_cast<int>(d.x) + r; ++x)
            if (x >= 0 && y >= 0 && x < s.truth.labels.width() && y < s.truth.labels.height() &&
                s.truth.labels.at(x, y) == float(PixelClass::Contamination))
                return false;
    return true;
}

// Offset (nm) of the extreme value within radiusNm of the defect centroid.
double extremumOffsetNm(const Image& img, double cx, double cy, double radiusNm, bool wantMax) {
    const double px = img.pixelSize.x_nm;
    const int r = static_cast<int>(std::ceil(radiusNm / px));
    double best = wantMax ? -1e9 : 1e9, off = 1e9;
    for (int y = static_cast<int>(cy) - r; y <= static_cast<int>(cy) + r + 1; ++y)
        for (int x = static_cast<int>(cx) - r; x <= static_cast<int>(cx) + r + 1; ++x) {
            if (x < 0 || y < 0 || x >= img.width() || y >= img.height()) continue;
            const double d = std::hypot(x - cx, y - cy) * px;
            if (d > radiusNm) continue;
            const double v = img.at(x, y);
            if (wantMax ? v > best : v < best) best = v, off = d;
        }
    return off;
}

// Each dimer's centre (mean of its truth atoms), in pixels.
std::vector<std::pair<double, double>> dimerCentres(const SimSample& s) {
    std::map<int, std::array<double, 3>> dimers;
    for (const auto& a : s.truth.atoms) {
        auto& d = dimers[a.dimerId];
        d[0] += a.x, d[1] += a.y, d[2] += 1;
    }
    std::vector<std::pair<double, double>> out;
    for (const auto& [id, d] : dimers) out.push_back({d[0] / d[2], d[1] / d[2]});
    return out;
}

}  // namespace

TEST(SimTruth, BrightDefectsOnMaximaDarkOnMinima) {
    for (bool warp : {false, true})
        for (double px : {0.05, 0.1}) {
            int checkedBright = 0, checkedDark = 0;
            for (uint64_t seed = 1; seed <= 12; ++seed) {
                const SimSample s = simulate(defectScene(px, warp), seed);
                for (const auto& d : s.truth.defects) {
                    if (d.x < 10 || d.y < 10 || d.x > 245 || d.y > 245 || !isolated(s, d, 2.0)) continue;
                    const int ix = static_cast<int>(std::lround(d.x)), iy = static_cast<int>(std::lround(d.y));
                    if (d.type == "dangling_bond" || d.type == "bare_dimer" || d.type == "raised_si") {
                        EXPECT_EQ(s.truth.labels.at(ix, iy), float(PixelClass::Bright)) << d.type;
                        EXPECT_LE(extremumOffsetNm(s.image, d.x, d.y, 0.8, true), 0.2) << d.type << " px " << px << " seed " << seed << " warp " << warp << " at " << d.x << "," << d.y;
                        ++checkedBright;
                    } else if (d.type == "missing_dimer") {
                        EXPECT_EQ(s.truth.labels.at(ix, iy), float(PixelClass::Dark)) << d.type;
                        EXPECT_LE(extremumOffsetNm(s.image, d.x, d.y, 0.6, false), 0.3) << d.type << " px " << px;
                        ++checkedDark;
                    }
                }
            }
            EXPECT_GT(checkedBright, 5);
            EXPECT_GT(checkedDark, 2);
        }
}

TEST(SimTruth, LabelsCoverFootprintsAndStayInRange) {
    for (Preset preset : {Preset::Atomic, Preset::Survey, Preset::Stepped, Preset::Dirty, Preset::BadTip,
                          Preset::Noisy, Preset::Mixed})
        for (double px : {0.02, 0.1, 0.5}) {
            SimParams p;
            p.width = p.height = 128;
            p.pixelSize = PixelSize::square(px);
            p.preset = preset;
            const SimSample s = simulate(p, 77);
            ASSERT_EQ(s.image.width(), 128);
            ASSERT_EQ(s.truth.labels.width(), 128);
            ASSERT_EQ(s.truth.atomMap.height(), 128);
            for (size_t i = 0; i < s.image.size(); ++i) {
                ASSERT_TRUE(std::isfinite(s.image.data()[i]));
                const float l = s.truth.labels.data()[i];
                ASSERT_TRUE(l >= 0 && l <= 5 && l == std::floor(l));
                ASSERT_LE(s.truth.atomMap.data()[i], 1.0f + 1e-6f);
            }
            static const std::set<std::string> qualities = {"good", "unresolved", "double_tip", "tip_change",
                                                            "heavy_noise", "contaminated"};
            EXPECT_TRUE(qualities.count(s.truth.quality)) << s.truth.quality;
            EXPECT_NE(s.truth.preset, Preset::Mixed);
            for (const auto& d : s.truth.defects) {
                EXPECT_LE(d.bbox[0], d.bbox[2]);
                EXPECT_LE(d.bbox[1], d.bbox[3]);
                for (int site : d.sites) EXPECT_LT(site, static_cast<int>(s.truth.atoms.size()));
                if (d.type == "dangling_bond" && d.bbox[0] > 0 && d.bbox[2] < 127 && d.bbox[1] > 0 && d.bbox[3] < 127) {
                    // a disc of ~0.5 nm radius, at least one pixel across
                    const double w = (d.bbox[2] - d.bbox[0] + 1) * px;
                    EXPECT_GE(w, std::min(0.8, px));
                }
            }
        }
}

TEST(SimTruth, DistortionMovesTruthWithImage) {
    const SimSample flat = simulate(defectScene(0.05, false), 5);
    const SimSample warped = simulate(defectScene(0.05, true), 5);
    // Same scene (same defect types in the same order), different geometry.
    ASSERT_FALSE(flat.truth.defects.empty());
    double moved = 0;
    int n = 0;
    for (const auto& a : flat.truth.defects)
        for (const auto& b : warped.truth.defects)
            if (a.type == b.type && std::hypot(a.x - b.x, a.y - b.y) < 30) {
                moved = std::max(moved, std::hypot(a.x - b.x, a.y - b.y));
                ++n;
                break;
            }
    EXPECT_GT(n, 0);
    EXPECT_GT(moved, 1.0);   // the warp really moved things
    // and in the warped image, the bright defects still sit on the maxima (see BrightDefectsOnMaxima...)
    for (const auto& d : warped.truth.defects)
        if (d.type == "dangling_bond" && d.x > 10 && d.y > 10 && d.x < 245 && d.y < 245 && isolated(warped, d, 3.0))
            EXPECT_LE(extremumOffsetNm(warped.image, d.x, d.y, 0.8, true), 0.2);
}

TEST(SimTruth, DeterministicBySeed) {
    SimParams p;
    p.width = p.height = 96;
    const SimSample a = simulate(p, 42), b = simulate(p, 42), c = simulate(p, 43);
    EXPECT_EQ(a.image.pixels(), b.image.pixels());
    EXPECT_EQ(a.truth.labels.pixels(), b.truth.labels.pixels());
    EXPECT_EQ(a.truth.atoms.size(), b.truth.atoms.size());
    EXPECT_EQ(a.truth.defects.size(), b.truth.defects.size());
    EXPECT_EQ(a.truth.quality, b.truth.quality);
    EXPECT_NE(a.image.pixels(), c.image.pixels());
}

TEST(SimTruth, BadParametersThrowInputError) {
    auto bad = [](auto mutate) {
        SimParams p;
        mutate(p);
        return p;
    };
    EXPECT_THROW(simulate(bad([](SimParams& p) { p.width = 0; }), 1), InputError);
    EXPECT_THROW(simulate(bad([](SimParams& p) { p.height = 100000; }), 1), InputError);
    EXPECT_THROW(simulate(bad([](SimParams& p) { p.pixelSize = PixelSize::square(0); }), 1), InputError);
    EXPECT_THROW(simulate(bad([](SimParams& p) { p.pixelSize = PixelSize::square(NAN); }), 1), InputError);
    EXPECT_THROW(simulate(bad([](SimParams& p) { p.pixelSize = PixelSize::square(50); }), 1), InputError);
    EXPECT_THROW(simulate(bad([](SimParams& p) { p.rotationDeg = INFINITY; }), 1), InputError);
    EXPECT_THROW(simulate(bad([](SimParams& p) { p.defectDensity = -0.1; }), 1), InputError);
    EXPECT_THROW(simulate(bad([](SimParams& p) { p.noiseScale = -1; }), 1), InputError);
    EXPECT_THROW(parsePreset("weird"), InputError);
    EXPECT_EQ(parsePreset("BadTip"), Preset::BadTip);
    EXPECT_EQ(parsePreset("mixed"), Preset::Mixed);
}

// Constant-height frames may cross a step (as the 2022-08-22 cda frames do): the lower terrace (higher id, 0.136 nm
// further from the tip) reads less current than the upper one, by more than the same pixels differ in the same
// scene drawn without steps, and the edge is labelled there only.
TEST(SimTruth, ConstantHeightStepsDarkenTheLowerTerrace) {
    SimParams p;
    p.width = p.height = 256;
    p.pixelSize = PixelSize::square(0.1);
    p.preset = Preset::Atomic;
    p.mode = SimMode::ConstantHeight;
    int tested = 0;
    for (uint64_t seed = 1; seed < 80 && tested < 3; ++seed) {
        const SimSample s = simulate(p, seed);
        int upper = 1 << 30, lower = -(1 << 30);
        std::map<int, int> count;
        for (const auto& a : s.truth.atoms) ++count[a.terraceId];
        for (const auto& [terrace, n] : count)
            if (n >= 300) upper = std::min(upper, terrace), lower = std::max(lower, terrace);
        if (upper >= lower) continue;
        SimParams flat = p;
        flat.steps = false;
        const SimSample f = simulate(flat, seed);
        std::vector<float> su, sl, fu, fl;
        for (const auto& a : s.truth.atoms) {
            if (a.terraceId != upper && a.terraceId != lower) continue;
            const int x = static_cast<int>(std::lround(a.x)), y = static_cast<int>(std::lround(a.y));
            (a.terraceId == upper ? su : sl).push_back(s.image.at(x, y));
            (a.terraceId == upper ? fu : fl).push_back(f.image.at(x, y));
        }
        ++tested;
        const double stepped = double(medianInPlace(sl)) / medianInPlace(su);
        const double same = double(medianInPlace(fl)) / medianInPlace(fu);
        EXPECT_LT(stepped, 0.9 * same) << "seed " << seed;
        bool edgeLabel = false, flatEdge = false;
        for (size_t i = 0; i < s.truth.labels.size(); ++i) {
            edgeLabel |= s.truth.labels.pixels()[i] == static_cast<float>(PixelClass::StepEdge);
            flatEdge |= f.truth.labels.pixels()[i] == static_cast<float>(PixelClass::StepEdge);
        }
        EXPECT_TRUE(edgeLabel) << "seed " << seed;
        EXPECT_FALSE(flatEdge) << "seed " << seed;
    }
    EXPECT_EQ(tested, 3);
}

// rowsInverted says what the render shows: the image between the rows (half a row pitch across them from each
// dimer centre) is brighter than at the dimer centres exactly when the truth calls the rows inverted. Empty-state
// scans are inverted now and then, filled-state ones never (clean flat renders, rows along x).
TEST(SimTruth, RowsInvertedMatchesTheRenderedContrast) {
    SimParams p;
    p.width = p.height = 128;
    p.pixelSize = PixelSize::square(0.05);
    p.preset = Preset::Atomic;
    p.rotationDeg = 0;
    p.artefacts = p.steps = p.defects = false;
    int inverted = 0, usual = 0;
    for (const SimMode mode : {SimMode::EmptyState, SimMode::FilledState})
        for (uint64_t seed = 1; seed <= 30; ++seed) {
            p.mode = mode;
            const SimSample s = simulate(p, seed);
            const double halfRow = 0.5 * 0.768 / p.pixelSize.y_nm;
            std::vector<double> onRows, between;
            for (const auto& [cx, cy] : dimerCentres(s)) {
                const int x = static_cast<int>(std::lround(cx)), y = static_cast<int>(std::lround(cy));
                const int yt = static_cast<int>(std::lround(cy + halfRow));
                if (x < 0 || x >= p.width || y < 0 || yt >= p.height) continue;
                onRows.push_back(s.image.at(x, y));
                between.push_back(s.image.at(x, yt));
            }
            ASSERT_GT(onRows.size(), 100u) << "seed " << seed;
            const bool brighterBetween = medianInPlace(between) > medianInPlace(onRows);
            EXPECT_EQ(brighterBetween, s.truth.rowsInverted) << (mode == SimMode::EmptyState ? "empty" : "filled") << " seed " << seed;
            if (mode == SimMode::FilledState) EXPECT_FALSE(s.truth.rowsInverted) << "seed " << seed;
            (s.truth.rowsInverted ? inverted : usual) += 1;
        }
    EXPECT_GE(inverted, 3);
    EXPECT_GE(usual, 30);
}

// Inverted, the dimers go dark with their rows: along a row they are the dips between brighter gaps, so a negated
// inverted frame looks like a usual one (what the pipeline's row-contrast check assumes).
TEST(SimTruth, InvertedFramesShowTheDimersAsDipsAlongTheRows) {
    SimParams p;
    p.width = p.height = 128;
    p.pixelSize = PixelSize::square(0.05);
    p.preset = Preset::Atomic;
    p.rotationDeg = 0;
    p.mode = SimMode::EmptyState;
    p.artefacts = p.steps = p.defects = false;
    int inverted = 0, usual = 0;
    for (uint64_t seed = 1; seed <= 30; ++seed) {
        const SimSample s = simulate(p, seed);
        const double halfDimer = 0.5 * 0.384 / p.pixelSize.x_nm;   // rows run along x here
        std::vector<double> atDimers, betweenDimers;
        for (const auto& [cx, cy] : dimerCentres(s)) {
            const int x = static_cast<int>(std::lround(cx)), y = static_cast<int>(std::lround(cy));
            const int xg = static_cast<int>(std::lround(cx + halfDimer));
            if (x < 0 || xg >= p.width || y < 0 || y >= p.height) continue;
            atDimers.push_back(s.image.at(x, y));
            betweenDimers.push_back(s.image.at(xg, y));
        }
        ASSERT_GT(atDimers.size(), 100u) << "seed " << seed;
        const bool dimersDarker = medianInPlace(atDimers) < medianInPlace(betweenDimers);
        EXPECT_EQ(dimersDarker, s.truth.rowsInverted) << "seed " << seed;
        (s.truth.rowsInverted ? inverted : usual) += 1;
    }
    EXPECT_GE(inverted, 3);
    EXPECT_GE(usual, 10);
}

// Lithographic patches: bare sites only, inside the patch's box, on every terrace the patch covers (the tip
// writes across steps), mostly bare Si in the label map, and from short lines to patches tens of nm long.
TEST(SimTruth, LithoPatchesAreBareAcrossTerracesAndLabelled) {
    int patches = 0, crossing = 0, long10 = 0;
    for (uint64_t seed = 1; seed <= 60 && (crossing == 0 || long10 == 0 || patches < 5); ++seed) {
        SimParams p;
        p.width = p.height = 256;
        p.pixelSize = PixelSize::square(0.2);
        p.preset = Preset::Survey;
        p.mode = SimMode::FilledState;
        p.artefacts = false;
        p.distortion = false;
        const SimSample s = simulate(p, seed);
        for (const auto& d : s.truth.defects) {
            if (d.type != "litho_patch" || d.sites.empty()) continue;
            ++patches;
            std::set<int> terraces;
            for (int i : d.sites) {
                const SimAtom& a = s.truth.atoms[static_cast<size_t>(i)];
                EXPECT_FALSE(a.hydrogenated);
                EXPECT_GE(a.x, d.bbox[0] - 2.0);
                EXPECT_LE(a.x, d.bbox[2] + 2.0);
                EXPECT_GE(a.y, d.bbox[1] - 2.0);
                EXPECT_LE(a.y, d.bbox[3] + 2.0);
                terraces.insert(a.terraceId);
            }
            crossing += terraces.size() > 1;
            long10 += std::max(d.bbox[2] - d.bbox[0], d.bbox[3] - d.bbox[1]) * 0.2 > 10.0;
            // The label marks the patch: most pixels around its bare sites are bare Si.
            int bare = 0;
            for (int i : d.sites) {
                const SimAtom& a = s.truth.atoms[static_cast<size_t>(i)];
                const int x = std::clamp(static_cast<int>(std::lround(a.x)), 0, 255), y = std::clamp(static_cast<int>(std::lround(a.y)), 0, 255);
                bare += s.truth.labels.at(x, y) == static_cast<float>(PixelClass::BareSi);
            }
            EXPECT_GT(bare, 0.5 * static_cast<double>(d.sites.size())) << "seed " << seed;
        }
    }
    EXPECT_GE(patches, 5);
    EXPECT_GE(crossing, 1) << "no patch crossed a step";
    EXPECT_GE(long10, 1) << "no patch longer than 10 nm";
}

// Each step is one truth instance with the sites along it: on both of its terraces, near its label, and spread
// along the whole step, where its label breaks into pieces along a kinked edge (stepped preset, with distortion).
TEST(SimTruth, StepEdgesAreOneInstanceEachWithTheSitesAlongThem) {
    int steps = 0, crossing = 0;
    for (uint64_t seed = 1; seed <= 4; ++seed) {
        SimParams p;
        p.width = p.height = 256;
        p.pixelSize = PixelSize::square(0.15);
        p.preset = Preset::Stepped;
        const SimSample s = simulate(p, seed);
        const Image& lab = s.truth.labels;
        for (const auto& d : s.truth.defects) {
            if (d.type != "step_edge") continue;
            ++steps;
            EXPECT_EQ(d.cls, PixelClass::StepEdge);
            EXPECT_TRUE(d.extended);
            ASSERT_FALSE(d.sites.empty()) << "seed " << seed;
            std::set<int> terraces;
            double x0 = 1e9, x1 = -1e9, y0 = 1e9, y1 = -1e9;
            int nearLabel = 0;
            for (int i : d.sites) {
                const SimAtom& a = s.truth.atoms[static_cast<size_t>(i)];
                terraces.insert(a.terraceId);
                x0 = std::min(x0, a.x), x1 = std::max(x1, a.x), y0 = std::min(y0, a.y), y1 = std::max(y1, a.y);
                // a step-edge pixel within 0.8 nm
                bool near = false;
                const int r = static_cast<int>(std::ceil(0.8 / 0.15));
                for (int y = std::max(0, static_cast<int>(a.y) - r); y <= std::min(255, static_cast<int>(a.y) + r) && !near; ++y)
                    for (int x = std::max(0, static_cast<int>(a.x) - r); x <= std::min(255, static_cast<int>(a.x) + r); ++x)
                        if (lab.at(x, y) == static_cast<float>(PixelClass::StepEdge) && std::hypot(x - a.x, y - a.y) <= r) {
                            near = true;
                            break;
                        }
                nearLabel += near;
            }
            // A defect drawn over the step takes its label here and there.
            EXPECT_GE(nearLabel, 0.95 * static_cast<double>(d.sites.size())) << "seed " << seed;
            // A step that crosses the frame (not one clipped at a corner): sites on both terraces, spread along it.
            const double boxSpan = std::max(d.bbox[2] - d.bbox[0], d.bbox[3] - d.bbox[1]);
            if (boxSpan * 0.15 < 5.0) continue;
            ++crossing;
            EXPECT_GE(terraces.size(), 2u) << "seed " << seed;
            EXPECT_GT(std::max(x1 - x0, y1 - y0), 0.7 * boxSpan) << "seed " << seed;
        }
    }
    EXPECT_GE(steps, 4);
    EXPECT_GE(crossing, 3);
}

// Survey etch pits are short dark dashes of at most 6 dimers along the row (the ntm/fsl surveys show no 5 nm
// pills); the small frames' etch pits run up to 13 dimers. Rows along x, no warp: a pit's box width is its length.
TEST(SimTruth, SurveyEtchPitsAreShortDashes) {
    auto longestPitNm = [](Preset preset) {
        double longest = 0;
        int pits = 0;
        for (uint64_t seed = 1; seed <= 40; ++seed) {
            SimParams p;
            p.width = p.height = 256;
            p.pixelSize = PixelSize::square(0.2);
            p.preset = preset;
            p.mode = SimMode::FilledState;
            p.rotationDeg = 0;
            p.artefacts = false;
            p.distortion = false;
            p.steps = false;
            p.defectDensity = 0.05;
            const SimSample s = simulate(p, seed);
            for (const auto& d : s.truth.defects) {
                if (d.type != "vacancy_cluster") continue;
                ++pits;
                longest = std::max(longest, (d.bbox[2] - d.bbox[0] + 1) * 0.2);
            }
        }
        EXPECT_GT(pits, 20);
        return longest;
    };
    // 6 dimers (2.3 nm) plus the label's rim; 13 dimers reach 5 nm.
    EXPECT_LE(longestPitNm(Preset::Survey), 3.6);
    EXPECT_GT(longestPitNm(Preset::Dirty), 4.0);
}
