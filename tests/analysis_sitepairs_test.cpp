#include <gtest/gtest.h>

#include <algorithm>

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
