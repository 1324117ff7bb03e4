// RHK .sm4 reader on real files from ../shared/data/formats/sm4.
// Spot values were decoded once by hand with Debian's python3: walking the object lists with struct.unpack
// ('<3I' entries), page 4's header gives z_scale = 2.975463842327941e-13 m and its data (131072 bytes at
// offset 272114) raw int32 -284 at (row 0, col 0), 484 at (row 127, col 255), -404 at (row 10, col 20).
// Like Gwyddion we mirror columns (RHK's x scale is negative): stored column j is our x = 255 - j.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "IoTestFiles.h"
#include "io/Sm4Reader.h"

using namespace stmlens;
using namespace stmlens::testing;

namespace {
const std::string kDir = formatsDir() + "sm4/";
constexpr double kZ = 2.975463842327941e-13 * 1e9;  // nm per count
}  // namespace

TEST(Sm4Reader, StmImagePagesWithScalesLinePagesSkipped) {
    const ScanFile f = readScanFile(kDir + "analysistool_Co_Ru0001_1300.SM4", {});
    EXPECT_EQ(f.format, "rhk-sm4");
    ASSERT_EQ(f.channels.size(), 4u);  // 2 line pages skipped
    const Image& z = f.select("Topography", "forward");
    EXPECT_EQ(z.width(), 256);
    EXPECT_EQ(z.height(), 128);
    EXPECT_NEAR(z.pixelSize.x_nm, 0.11718749581834942, 1e-6);  // |x scale| 1.172e-10 m: non-square pixels
    EXPECT_NEAR(z.pixelSize.y_nm, 0.05859374790917471, 1e-6);
    EXPECT_NEAR(z.widthNm(), 30.0, 1e-4);
    EXPECT_NEAR(z.heightNm(), 7.5, 1e-4);
    EXPECT_EQ(z.meta.units, "nm");
    EXPECT_NEAR(*z.meta.biasV, -0.5503082275390625, 1e-7);
    EXPECT_NEAR(*z.meta.setpointA, 1.5014648413469445e-09, 1e-15);
    EXPECT_NEAR(z.at(255, 0), -284 * kZ, 1e-6);
    EXPECT_NEAR(z.at(0, 127), 484 * kZ, 1e-6);
    EXPECT_NEAR(z.at(235, 10), -404 * kZ, 1e-6);
    EXPECT_EQ(f.select("Topography", "backward").meta.extra.at("scanDirection"), "left");
    EXPECT_EQ(f.select("Aux2", "forward").meta.units, "V");
}

TEST(Sm4Reader, TenImagePageAfm) {
    const ScanFile f = readScanFile(kDir + "rhksm4_C_M_lito_fluo_rojo_0004.sm4", {});
    ASSERT_EQ(f.channels.size(), 10u);
    const Image& z = f.select("Topography", "");
    EXPECT_NEAR(z.widthNm(), 80000.0, 1e-1);  // 256 x 3.125e-07 m
    EXPECT_EQ(z.meta.extra.at("scanDirection"), "up");
}

TEST(Sm4Reader, SpectroscopyOnlyFileIsAClearError) {
    try {
        readScanFile(kDir + "sm4file_test_iv.SM4", {});
        FAIL() << "expected InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("no image pages"), std::string::npos) << e.what();
    }
}

TEST(Sm4Reader, BadInputIsAnInputError) {
    const std::string good = fileBytes(kDir + "analysistool_Co_Ru0001_1300.SM4");
    auto patchU32 = [&](size_t at, uint32_t v) {
        std::string s = good;
        for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
        return s;
    };
    auto patchF32 = [&](size_t at, float v) {
        std::string s = good;
        std::memcpy(s.data() + at, &v, 4);
        return s;
    };
    constexpr size_t kPage4Header = 271286;  // page 4's header object (from the hand decode)
    expectInputError("trunc.sm4", good.substr(0, good.size() / 2));
    expectInputError("trunc-head.sm4", good.substr(0, 30));
    expectInputError("magic.sm4", good.substr(0, 2) + "X" + good.substr(3));
    expectInputError("more.sm4", patchU32(kPage4Header + 28, 512));        // y size 128 -> 512: more than its data
    expectInputError("absurd.sm4", patchU32(kPage4Header + 24, 0x7fffffff));  // x size
    expectInputError("zero-size.sm4", patchU32(kPage4Header + 24, 0));
    expectInputError("zero-scale.sm4", patchF32(kPage4Header + 56, 0.0f));    // x scale
    expectInputError("nan-scale.sm4", patchF32(kPage4Header + 64, std::nanf("")));  // z scale
    expectInputError("objects.sm4", patchU32(2 + 56 + 4, 0xfffffff0));       // first object's offset
    expectInputError("pages.sm4", patchU32(2 + 36, 0x7fffffff));              // page count
    expectInputError("empty.sm4", "");
    // Non-UTF-16 garbage in the label must not crash; the label is sanitised.
    std::string latin = good;
    for (size_t i = 0; i < 20; ++i) latin[271574 + 2 + i] = static_cast<char>(0xD8 + (i % 3));
    EXPECT_NO_THROW(readScanFile(writeTemp("latin.sm4", latin), {}));
}
