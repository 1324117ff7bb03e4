// Where the bright point defects sit against the sites the atom finder reported: on the rows or in the troughs.
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/RowContrast.h"

using namespace stmlens;

namespace {

// Rows along x, 7.68 px apart (0.768 nm at 0.1 nm/px), dimer centres every 3.84 px along them; one domain.
struct Rows {
    std::vector<AtomSite> sites;
    std::vector<RowLattice> lattices;
    DomainMap domains;
};

Rows horizontalRows(int size = 200) {
    Rows r;
    for (double y = 0; y < size; y += 7.68)
        for (double x = 0; x < size; x += 3.84) {
            AtomSite a;
            a.x = x;
            a.y = y;
            r.sites.push_back(a);
        }
    RowLattice l;
    l.found = true;
    l.pitchPx = 7.68;
    l.waveX = 0;
    l.waveY = 1 / 7.68;
    r.lattices.push_back(l);
    r.domains.label = Image(size, size, 0.0f);
    return r;
}

Defect defectAt(double x, double y, const char* cls = "bright", bool extended = false) {
    Defect d;
    d.x = x;
    d.y = y;
    d.cls = cls;
    d.extended = extended;
    return d;
}

}  // namespace

TEST(RowContrast, BrightDefectsOnTheRowsGiveAPositivePhase) {
    const Rows r = horizontalRows();
    // On the row lines: a siloxane on a dimer centre, and DBs on one atom of a dimer (0.12 nm = 1.2 px across).
    const std::vector<Defect> defects{defectAt(50, 7.68 * 5), defectAt(100, 7.68 * 10 + 1.2), defectAt(150, 7.68 * 15 - 1.2)};
    const double phase = brightDefectRowPhase(defects, r.sites, r.lattices, r.domains);
    EXPECT_GT(phase, kOnRowsPhase);
    EXPECT_NEAR(phase, (1 + 2 * std::cos(2 * M_PI * 1.2 / 7.68)) / 3, 0.02);
}

TEST(RowContrast, BrightDefectsInTheTroughsGiveANegativePhase) {
    // The finder put its sites on the troughs: the defects sit half a pitch from every site row.
    const Rows r = horizontalRows();
    const std::vector<Defect> defects{defectAt(50, 7.68 * 5.5), defectAt(100, 7.68 * 10.5), defectAt(150, 7.68 * 15.5),
                                      defectAt(60, 7.68 * 20.5)};
    const double phase = brightDefectRowPhase(defects, r.sites, r.lattices, r.domains);
    EXPECT_LT(phase, -kTroughRowPhase);
    EXPECT_NEAR(phase, -1.0, 0.01);
}

TEST(RowContrast, TooFewBrightPointDefectsGiveNoAnswer) {
    const Rows r = horizontalRows();
    // Dark and extended defects do not count (dihydride pairs and residue need not sit on the rows), nor do defects
    // outside every domain or without sites around them.
    Rows partial = r;
    for (int y = 0; y < 200; ++y)
        for (int x = 150; x < 200; ++x) partial.domains.label.at(x, y) = -1;
    const std::vector<Defect> defects{defectAt(50, 7.68 * 5), defectAt(100, 7.68 * 10), defectAt(60, 7.68 * 15, "dark"),
                                      defectAt(80, 7.68 * 20, "bright", true), defectAt(170, 7.68 * 12)};
    EXPECT_TRUE(std::isnan(brightDefectRowPhase(defects, partial.sites, partial.lattices, partial.domains)));
    EXPECT_TRUE(std::isnan(brightDefectRowPhase(defects, {}, r.lattices, r.domains)));
    EXPECT_TRUE(std::isnan(brightDefectRowPhase({}, r.sites, r.lattices, r.domains)));
    // With the third defect on the rows inside the domain there is an answer.
    std::vector<Defect> three = defects;
    three.push_back(defectAt(120, 7.68 * 8));
    EXPECT_GT(brightDefectRowPhase(three, partial.sites, partial.lattices, partial.domains), 0.9);
}
