#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "analysis/SitePairs.h"

using namespace stmlens;

// Dimers of a 2x1 lattice (atoms 0.24 nm apart across the row, dimers 0.384 nm along it, rows 0.768 nm apart):
// every atom pairs with its own partner, never with the next dimer; a lone atom stays unpaired.
TEST(SitePairs, AtomsPairWithinTheirDimer) {
    std::vector<double> xs, ys;
    for (int row = 0; row < 3; ++row)
        for (int k = 0; k < 5; ++k)
            for (double side : {-0.12, 0.12}) {
                xs.push_back(row * 0.768 + side);
                ys.push_back(k * 0.384);
            }
    xs.push_back(5.0), ys.push_back(5.0);   // alone
    const auto pairs = closestPairs(xs, ys, 0.3);
    ASSERT_EQ(pairs.size(), 15u);
    for (const auto& [i, j] : pairs) {
        EXPECT_LT(i, j);
        EXPECT_EQ(j, i + 1) << "site " << i << " paired with " << j;
        EXPECT_EQ(i % 2, 0);
    }
}

// Closest first: of three points in a line, the nearer two pair and the third stays alone.
TEST(SitePairs, ClosestFirstAndEmptyInputs) {
    const auto pairs = closestPairs({0.0, 0.25, 0.1}, {0.0, 0.0, 0.0}, 0.3);
    ASSERT_EQ(pairs.size(), 1u);
    EXPECT_EQ(pairs[0], std::make_pair(0, 2));
    EXPECT_TRUE(closestPairs({}, {}, 0.3).empty());
    EXPECT_TRUE(closestPairs({1.0}, {1.0}, 0.3).empty());
    EXPECT_TRUE(closestPairs({0.0, 0.1}, {0.0, 0.0}, 0.0).empty());
}

// Rows at 30 degrees (counter-clockwise as displayed, y down), 0.1 nm/px: every other dimer carries both of its
// atoms, the rest one site at the centre. After the merge there is one site per dimer, at its centre. Told the
// wrong row direction, the atoms of a dimer look 0.24 nm apart along the rows and stay apart.
TEST(SitePairs, MergeDimerAtomsLeavesOneSitePerDimerAlongTheDomainRows) {
    const double deg = 30, px = 0.1;
    const double tx = std::cos(deg * M_PI / 180), ty = -std::sin(deg * M_PI / 180);   // along the rows
    const double nx = -ty, ny = tx;                                                     // across
    std::vector<AtomSite> sites;
    std::vector<std::pair<double, double>> centres;
    int dimers = 0;
    for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 5; ++j) {
            const double cx = 50 + (i * 0.384 * tx + j * 0.768 * nx) / px, cy = 50 + (i * 0.384 * ty + j * 0.768 * ny) / px;
            centres.push_back({cx, cy});
            ++dimers;
            if ((i + j) % 2 == 0) {
                sites.push_back({cx + 1.2 * nx, cy + 1.2 * ny, 0.9, 0});
                sites.push_back({cx - 1.2 * nx, cy - 1.2 * ny, 0.8, 0});
            } else {
                sites.push_back({cx, cy, 0.95, 0});
            }
        }
    LatticeInfo lattice;
    lattice.found = true;
    lattice.rowDirectionDeg = deg;
    lattice.domains = {{deg, 1.0}};
    std::vector<AtomSite> wrong = sites;
    mergeDimerAtoms(sites, PixelSize::square(px), lattice);
    ASSERT_EQ(static_cast<int>(sites.size()), dimers);
    for (const auto& s : sites) {
        double best = 1e9;
        for (const auto& [cx, cy] : centres) best = std::min(best, std::hypot(s.x - cx, s.y - cy));
        EXPECT_LT(best, 1e-6);
    }
    LatticeInfo turned = lattice;
    turned.rowDirectionDeg = deg + 90;
    turned.domains = {{deg + 90, 1.0}};
    const size_t before = wrong.size();
    mergeDimerAtoms(wrong, PixelSize::square(px), turned);
    EXPECT_EQ(wrong.size(), before);
}

// The share of sites that pair as dimer atoms tells atoms from dimers: both atoms of every dimer pair (1), one
// site per dimer pairs with none (0), and so do the ghost copies of a double tip, offset obliquely to the rows,
// although they double the count of sites as resolved atoms would.
TEST(SitePairs, PairedFractionTellsAtomsFromDimersAndGhosts) {
    const double deg = 30, px = 0.1;
    const double tx = std::cos(deg * M_PI / 180), ty = -std::sin(deg * M_PI / 180);   // along the rows
    const double nx = -ty, ny = tx;                                                     // across
    std::vector<AtomSite> atoms, dimers, ghosts;
    for (int i = 0; i < 10; ++i)
        for (int j = 0; j < 6; ++j) {
            const double cx = 50 + (i * 0.384 * tx + j * 0.768 * nx) / px, cy = 50 + (i * 0.384 * ty + j * 0.768 * ny) / px;
            atoms.push_back({cx + 1.2 * nx, cy + 1.2 * ny, 0.9, 0});
            atoms.push_back({cx - 1.2 * nx, cy - 1.2 * ny, 0.9, 0});
            dimers.push_back({cx, cy, 0.9, 0});
            ghosts.push_back({cx, cy, 0.9, 0});
            ghosts.push_back({cx + 1.6 * tx + 1.0 * nx, cy + 1.6 * ty + 1.0 * ny, 0.6, 0});   // 0.19 nm along, 0.1 across
        }
    LatticeInfo lattice;
    lattice.found = true;
    lattice.rowDirectionDeg = deg;
    lattice.domains = {{deg, 1.0}};
    const PixelSize p = PixelSize::square(px);
    EXPECT_DOUBLE_EQ(dimerPairedFraction(atoms, p, lattice), 1.0);
    EXPECT_DOUBLE_EQ(dimerPairedFraction(dimers, p, lattice), 0.0);
    EXPECT_DOUBLE_EQ(dimerPairedFraction(ghosts, p, lattice), 0.0);
    EXPECT_DOUBLE_EQ(dimerPairedFraction({}, p, lattice), 0.0);
    std::vector<AtomSite> half(atoms.begin(), atoms.begin() + 60);   // 30 dimers with both atoms ...
    half.insert(half.end(), dimers.begin() + 30, dimers.end());     // ... and 30 with one site
    EXPECT_DOUBLE_EQ(dimerPairedFraction(half, p, lattice), 60.0 / 90.0);
}
