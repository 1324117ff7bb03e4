// The simulated lattice has the physical periods: row pitch in the power spectrum at any rotation and pixel size,
// and the right number of atoms per area.
#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/core.hpp>

#include "sim/LatticeProfile.h"
#include "sim/Simulator.h"
#include "sim/Terraces.h"

using namespace stmlens;
using namespace stmlens::sim;

namespace {

SimParams cleanFlat(int size, double px, double rotDeg) {
    SimParams p;
    p.width = p.height = size;
    p.pixelSize = PixelSize::square(px);
    p.preset = Preset::Atomic;
    p.rotationDeg = rotDeg;
    p.mode = SimMode::FilledState;
    p.artefacts = false;
    p.distortion = false;
    p.defects = false;
    p.steps = false;
    return p;
}

struct Peak {
    double periodNm, angleDeg;   // angle of the wave vector, [0, 180)
};

// Strongest spatial frequency between 1/3 nm^-1 and 2 nm^-1 (the row peak; excludes DC and the dimer peak).
Peak strongestPeak(const Image& img) {
    const int W = img.width(), H = img.height();
    double mean = 0;
    for (float v : img.pixels()) mean += v;
    mean /= img.size();
    cv::Mat m(H, W, CV_64F);
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
            const double wx = 0.5 - 0.5 * std::cos(2 * M_PI * (x + 0.5) / W);
            const double wy = 0.5 - 0.5 * std::cos(2 * M_PI * (y + 0.5) / H);
            m.at<double>(y, x) = (img.at(x, y) - mean) * wx * wy;
        }
    cv::Mat F;
    cv::dft(m, F, cv::DFT_COMPLEX_OUTPUT);
    double best = -1;
    Peak pk{0, 0};
    for (int ky = 0; ky < H; ++ky)
        for (int kx = 0; kx < W; ++kx) {
            const int fx = kx <= W / 2 ? kx : kx - W, fy = ky <= H / 2 ? ky : ky - H;
            const double ux = fx / (W * img.pixelSize.x_nm), uy = fy / (H * img.pixelSize.y_nm);
            const double k = std::hypot(ux, uy);
            if (k < 1.0 / 3 || k > 2.0) continue;
            const auto c = F.at<cv::Vec2d>(ky, kx);
            const double pw = c[0] * c[0] + c[1] * c[1];
            if (pw > best) {
                best = pw;
                double a = std::atan2(uy, ux) * 180 / M_PI;
                if (a < 0) a += 180;
                if (a >= 180) a -= 180;
                pk = {1 / k, a};
            }
        }
    return pk;
}

double angleDiff(double a, double b) {
    double d = std::fmod(std::abs(a - b), 180.0);
    return std::min(d, 180 - d);
}

}  // namespace

TEST(SimLattice, RowPitchPeakAtAnyRotationAndPixelSize) {
    for (double px : {0.05, 0.1, 0.2})
        for (double rot : {0.0, 17.0, 45.0, 90.0, 133.0}) {
            const SimSample s = simulate(cleanFlat(256, px, rot), 11);
            const Peak pk = strongestPeak(s.image);
            // frequency resolution: one bin = 1/(256 px) -> a relative period error of about period/extent
            const double tol = 0.768 * 0.768 / (256 * px) + 0.01;
            EXPECT_NEAR(pk.periodNm, 0.768, tol) << "px " << px << " rot " << rot;
            // rows run along rot, so the row wave vector points across them
            EXPECT_LT(angleDiff(pk.angleDeg, rot + 90), 4.0) << "px " << px << " rot " << rot;
        }
}

TEST(SimLattice, AtomsPerAreaMatchTwoByOneCell) {
    // 2 atoms per 0.384 x 0.768 nm cell = 6.78 atoms/nm^2 (Si(100): 6.78e14 cm^-2).
    for (double px : {0.03, 0.1, 0.25}) {
        const int size = 300;
        const SimSample s = simulate(cleanFlat(size, px, 31.0), 3);
        const double area = size * px * size * px;
        const double density = s.truth.atoms.size() / area;
        const double edge = 4 * size * px * 0.5 / area;   // boundary uncertainty: half a cell along the perimeter
        EXPECT_NEAR(density, 2 / (0.384 * 0.768), 6.78 * edge + 0.05) << "px " << px;
        // two atoms per dimer, ids unique per dimer
        std::map<int, int> perDimer;
        for (const auto& a : s.truth.atoms) ++perDimer[a.dimerId];
        int pairs = 0;
        for (const auto& [id, n] : perDimer) {
            EXPECT_LE(n, 2);
            pairs += n == 2;
        }
        EXPECT_GT(pairs, 0.8 * perDimer.size());
    }
}

TEST(SimLattice, AtomsAreOnImageMaximaAtFinePixels) {
    // With single atoms resolved, every truth atom sits on a bright spot of the image, also under heavy warp.
    for (uint64_t seed = 21; seed < 29; ++seed)
    for (bool warp : {false, true}) {
        SimParams p = cleanFlat(200, 0.025, 23.0 + seed);
        p.distortion = warp;
        p.distortionScale = 3;
        p.defects = false;
        const SimSample s = simulate(p, seed);
        ASSERT_GT(s.truth.atoms.size(), 100u);
        // Sites: atoms when they are resolved, else dimer centres (as in the atom map).
        std::vector<std::pair<double, double>> sites;
        if (s.truth.atomsResolved) {
            for (const auto& a : s.truth.atoms) sites.emplace_back(a.x, a.y);
        } else {
            for (size_t i = 0; i + 1 < s.truth.atoms.size(); ++i)
                if (s.truth.atoms[i].dimerId == s.truth.atoms[i + 1].dimerId)
                    sites.emplace_back(0.5 * (s.truth.atoms[i].x + s.truth.atoms[i + 1].x),
                                       0.5 * (s.truth.atoms[i].y + s.truth.atoms[i + 1].y));
        }
        int good = 0, n = 0;
        for (const auto& [ax, ay] : sites) {
            const int x = static_cast<int>(std::lround(ax)), y = static_cast<int>(std::lround(ay));
            if (x < 5 || y < 5 || x >= 195 || y >= 195) continue;
            ++n;
            // the brightest pixel within 0.1 nm lies within 0.07 nm of the truth position (blur moves apparent
            // maxima of a dimer's two atoms slightly towards each other)
            double best = -1e9;
            int bx = 0, by = 0;
            for (int dy = -4; dy <= 4; ++dy)
                for (int dx = -4; dx <= 4; ++dx)
                    if (s.image.at(x + dx, y + dy) > best) best = s.image.at(x + dx, y + dy), bx = dx, by = dy;
            if (std::hypot(bx + x - ax, by + y - ay) <= 2.8) ++good;
        }
        EXPECT_GT(good, 0.85 * n) << "warp " << warp << " seed " << seed << " resolved " << s.truth.atomsResolved;
    }
}

// Trough pits (the cda 2022-08-19 constant-height look): the trough is darker between two dimers than beside one,
// and the rows' centre line, which the pits barely reach, changes far less.
TEST(SimLattice, TroughPitsDarkenTheTroughBetweenDimers) {
    Appearance plain;
    plain.atomAmp = 0.02;
    Appearance pitted = plain;
    pitted.troughPitAmp = -0.06;
    pitted.troughPitSigma = 0.1;
    pitted.troughPitWidth = 0.15;
    const LatticeProfile a(plain), b(pitted);
    const double trough = kRowPitchNm / 2, between = kDimerPitchNm / 2;
    EXPECT_NEAR(a.value(between, trough), a.value(0, trough), 0.2 * std::abs(a.value(0, trough)) + 1e-3);
    EXPECT_LT(b.value(between, trough), b.value(0, trough) - 0.02);
    EXPECT_LT(b.value(between, trough), a.value(between, trough) - 0.02);
    const double inTrough = std::abs(b.value(between, trough) - a.value(between, trough));
    EXPECT_LT(std::abs(b.value(between, 0) - a.value(between, 0)), 0.15 * inTrough);
}

// An edge 45 degrees off the rows, faceted, runs as a staircase of facets along the two row directions: walked
// line by line, its position stays put for many lines (a facet across the lines) and then jumps (one along
// them). Unfaceted, it moves a pixel or two a line.
TEST(SimTerraces, FacetedEdgesRunAlongTheRowDirections) {
    auto obliqueShare = [](double facetNm) {
        sim::Rng rng(7);
        // rows along x, the edge normal at 45 degrees, no roughness: only the facets break the line
        const sim::Terraces t(0.0, M_PI / 4, 40.0, 20.0, false, 0.0, 0.0, 40.0, rng, facetNm);
        const double px = 0.1;   // the profile is sampled every 0.05 nm along the edge
        int oblique = 0, lines = 0, last = -1;
        for (int y = 0; y < 400; ++y) {
            int edge = -1;
            for (int x = 1; x < 400 && edge < 0; ++x)
                if (t.terraceAt(x * px, y * px) != t.terraceAt((x - 1) * px, y * px)) edge = x;
            if (edge < 0) continue;
            if (last >= 0) {
                ++lines;
                oblique += std::abs(edge - last) >= 1 && std::abs(edge - last) <= 2;
            }
            last = edge;
        }
        EXPECT_GT(lines, 150);
        return static_cast<double>(oblique) / std::max(lines, 1);
    };
    EXPECT_GT(obliqueShare(0), 0.4);   // 0.53 with this seed
    EXPECT_LT(obliqueShare(2.0), 0.1);
}
