// Createc .dat reader on real files from ../shared/data/formats/createc.
// Spot values were decoded once by hand with Debian's python3: zlib.decompress of the bytes after "\nDATA",
// then struct.unpack('<f') at byte 4 + 4*(k*nx*ny + y*nx + x) for channel k; Z in nm = DAC * Dacto[A]z * GainZ / 10
// with the header's Dacto[A]z = 0.00037 and GainZ = 10.
#include <gtest/gtest.h>

#include "IoTestFiles.h"
#include "io/CreatecReader.h"

using namespace stmlens;
using namespace stmlens::testing;

namespace {
const std::string kDir = formatsDir() + "createc/";
constexpr double kNmPerDac = 0.00037 * 10 * 0.1;
}  // namespace

TEST(CreatecReader, CompleteFrameShortenedHeader) {
    // DATA marker at byte 16268, not the usual 16380: found by searching.
    const ScanFile f = readScanFile(kDir + "probeflow_createc_scan_close_100nm.dat", {});
    EXPECT_EQ(f.format, "createc-dat");
    ASSERT_EQ(f.channels.size(), 4u);
    const Image& z = f.select("Z", "forward");
    EXPECT_EQ(z.width(), 256);
    EXPECT_EQ(z.height(), 256);
    EXPECT_NEAR(z.widthNm(), 99.8468, 1e-6);  // Length x[A]=998.4680
    EXPECT_EQ(z.meta.units, "nm");
    EXPECT_NEAR(*z.meta.biasV, -0.350, 1e-12);
    EXPECT_NEAR(*z.meta.setpointA, 101e-12, 1e-20);
    EXPECT_FALSE(z.hasMask());
    EXPECT_TRUE(f.warnings.empty());
    EXPECT_NEAR(z.at(0, 0), -366670.125 * kNmPerDac, 1e-4);
    EXPECT_NEAR(z.at(100, 50), -367712.84375 * kNmPerDac, 1e-4);
    EXPECT_NEAR(f.select("Current", "forward").at(7, 3), -5562.0859375, 1e-3);
    EXPECT_EQ(f.select("Current", "forward").meta.units, "DAC");
    EXPECT_NEAR(f.select("Z", "backward").at(255, 8), -367525.15625 * kNmPerDac, 1e-4);
}

TEST(CreatecReader, PartialScanRowsMaskedInvalid) {
    const ScanFile f = readScanFile(kDir + "probeflow_A250407.141806.dat", {});  // ImageYPosMax=10
    const Image& z = f.select("Z", "forward");
    EXPECT_EQ(z.validRowRange(), std::make_pair(0, 8));
    EXPECT_EQ(z.validCount(), 9u * 256);
    EXPECT_NEAR(z.at(0, 0), -404580.625 * kNmPerDac, 1e-4);
    EXPECT_NEAR(f.select("Current", "forward").at(7, 3), 8640.8984375, 1e-3);
    EXPECT_NEAR(*z.meta.biasV, 0.6538, 1e-12);
    ASSERT_FALSE(f.warnings.empty());
    EXPECT_NE(f.warnings[0].find("9 of 256 rows"), std::string::npos) << f.warnings[0];

    const ScanFile g = readScanFile(kDir + "probeflow_A250320.191933.dat", {});  // 2 channels, forward only
    ASSERT_EQ(g.channels.size(), 2u);
    EXPECT_EQ(g.channels[0].width(), 512);
    EXPECT_EQ(g.channels[0].validRowRange(), std::make_pair(0, 59));
}

TEST(CreatecReader, TenChannelAfm) {
    const ScanFile f = readScanFile(kDir + "probeflow_createc_afm.dat", {});
    EXPECT_EQ(f.channels.size(), 10u);
    EXPECT_NEAR(f.channels[0].widthNm(), 15.00046, 1e-6);  // Length x[A]=150.0046
    EXPECT_EQ(f.channels[5].meta.direction, "backward");
}

TEST(CreatecReader, BadInputIsAnInputError) {
    const std::string good = fileBytes(kDir + "probeflow_createc_scan_close_100nm.dat");
    expectInputError("trunc.dat", good.substr(0, good.size() / 2));
    expectInputError("trunc-head.dat", good.substr(0, 2000));
    expectInputError("magic.dat", "[Paramxx32]" + good.substr(11));
    expectInputError("more.dat", replaced(good, "Num.Y=256", "Num.Y=512"));
    expectInputError("absurd.dat", replaced(good, "Num.X=256", "Num.X=9999999"));
    expectInputError("negative.dat", replaced(good, "Num.X=256", "Num.X=-25"));
    expectInputError("zero-range.dat", replaced(good, "Length x[A]=998.4680", "Length x[A]=000.0000"));
    expectInputError("neg-range.dat", replaced(good, "Length x[A]=998.4680", "Length x[A]=-98.4680"));
    expectInputError("latin1.dat", replaced(good, "Num.X=256", "Num.X=2\xB5\xFF"));
    std::string corrupt = good;
    for (size_t i = corrupt.find("\nDATA") + 40; i < corrupt.size(); i += 97) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5A);
    expectInputError("corrupt.dat", corrupt);
    expectInputError("empty.dat", "[Paramco32]\r\n");
}
