// Nanonis .sxm reader on real files from ../shared/data/formats/sxm.
// Spot values were decoded once by hand with Debian's python3 (struct.unpack('>f') on the bytes after
// ":SCANIT_END:" and 0x1A 0x04; image k starts k*nx*ny*4 bytes in; file row r is the r-th scanned line),
// then mapped to row 0 = top: "down" scans keep the file order, "up" scans are flipped, backward images mirrored.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <sys/wait.h>

#include "IoTestFiles.h"
#include "io/SxmReader.h"

using namespace stmlens;
using namespace stmlens::testing;

namespace {
const std::string kDir = formatsDir() + "sxm/";
}

TEST(SxmReader, OldHeaderDownScanChannelsUnitsAndValues) {
    const ScanFile f = readScanFile(kDir + "ethz_Si_7x7_051.sxm", {});
    EXPECT_EQ(f.format, "nanonis-sxm");
    ASSERT_EQ(f.channels.size(), 4u);  // Z and Current, both directions
    const Image& z = f.select("Z", "forward");
    EXPECT_EQ(z.width(), 256);
    EXPECT_EQ(z.height(), 256);
    EXPECT_NEAR(z.pixelSize.x_nm, 20.0 / 256, 1e-9);  // SCAN_RANGE 2.000000E-8 m
    EXPECT_NEAR(z.pixelSize.y_nm, 20.0 / 256, 1e-9);
    EXPECT_EQ(z.meta.units, "nm");
    ASSERT_TRUE(z.meta.biasV);
    EXPECT_DOUBLE_EQ(*z.meta.biasV, -2.0);
    ASSERT_TRUE(z.meta.setpointA);
    EXPECT_DOUBLE_EQ(*z.meta.setpointA, 2.5e-10);
    ASSERT_TRUE(z.meta.scanAngleDeg);
    EXPECT_DOUBLE_EQ(*z.meta.scanAngleDeg, 0.0);
    EXPECT_FALSE(z.hasMask());
    EXPECT_NEAR(z.at(0, 0), -67.925676, 1e-4);
    EXPECT_NEAR(z.at(5, 3), -67.933208, 1e-4);
    EXPECT_NEAR(z.at(255, 255), -68.369197, 1e-4);
    const Image& zb = f.select("Z", "backward");
    EXPECT_NEAR(zb.at(255, 0), -67.912907, 1e-4);  // first stored sample of the backward line is its right end
    EXPECT_NEAR(zb.at(0, 0), -67.927196, 1e-4);
    const Image& cur = f.select("Current", "forward");
    EXPECT_EQ(cur.meta.units, "A");
    EXPECT_NEAR(cur.at(0, 0), 2.408540e-10, 1e-15);
}

TEST(SxmReader, UpScanIsFlippedSoRowZeroIsTop) {
    const ScanFile f = readScanFile(kDir + "pyspm_test.sxm", {});
    const Image& z = f.select("Z", "forward");
    EXPECT_NEAR(z.pixelSize.x_nm, 5000.0 / 256, 1e-6);
    EXPECT_DOUBLE_EQ(*z.meta.biasV, 0.2);
    EXPECT_NEAR(z.at(0, 255), -485.94353, 1e-3);  // first scanned line is the bottom one
    EXPECT_NEAR(z.at(5, 252), -488.94469, 1e-3);
    EXPECT_NEAR(z.at(255, 0), -543.74436, 1e-3);
    const Image& zb = f.select("Z", "backward");
    EXPECT_NEAR(zb.at(255, 255), -444.37357, 1e-3);
    EXPECT_NEAR(zb.at(0, 255), -488.33084, 1e-3);
}

TEST(SxmReader, NonSquareGridAndAngle) {
    const ScanFile f = readScanFile(kDir + "spmimages_01581.sxm", {});
    ASSERT_EQ(f.channels.size(), 18u);
    const Image& z = f.select("Z", "forward");
    EXPECT_EQ(z.width(), 160);
    EXPECT_EQ(z.height(), 80);
    EXPECT_NEAR(z.widthNm(), 4.6, 1e-6);
    EXPECT_NEAR(z.heightNm(), 2.3, 1e-6);
    EXPECT_EQ(f.select("Frequency_Shift", "backward").meta.units, "Hz");

    const ScanFile g = readScanFile(kDir + "pynxtools_Au_mica_2023_Y_A_diPAMY_195.sxm", {});
    EXPECT_NEAR(*g.channels[0].meta.scanAngleDeg, 135.1, 1e-9);
    EXPECT_NEAR(*g.channels[0].meta.setpointA, 2.5e-11, 1e-20);
}

TEST(SxmReader, EveryFileInTheFolderReads) {
    for (const char* name : {"probeflow_sxm_moire_10nm.sxm", "proespm_stm-nanonis-sxm.sxm",
                             "pynxtools_STM_nanonis_generic_4_5.sxm", "spmimagetycoon_Image_177.sxm"}) {
        const ScanFile f = readScanFile(kDir + name, {});
        EXPECT_GE(f.channels.size(), 4u) << name;
        EXPECT_TRUE(f.channels[0].pixelSize.known()) << name;
        EXPECT_EQ(f.channels[0].meta.direction, "forward");
        EXPECT_EQ(f.channels[1].meta.direction, "backward");
    }
}

TEST(SxmReader, AbortedScanIsMaskedAndWarned) {
    const ScanFile f = readScanFile(kDir + "spmimagetycoon_empty.sxm", {});
    ASSERT_EQ(f.channels.size(), 20u);
    const Image& z = f.channels[0];
    EXPECT_EQ(z.width(), 240);
    EXPECT_EQ(z.height(), 96);
    EXPECT_EQ(z.validCount(), 0u);  // every row NaN
    EXPECT_FALSE(std::isnan(z.at(0, 0)));
    ASSERT_FALSE(f.warnings.empty());
    EXPECT_NE(f.warnings[0].find("96 of 96 rows"), std::string::npos) << f.warnings[0];
    EXPECT_NEAR(*z.meta.scanAngleDeg, 31.0, 1e-9);
}

TEST(SxmReader, BadInputIsAnInputError) {
    const std::string good = fileBytes(kDir + "ethz_Si_7x7_051.sxm");
    expectInputError("trunc.sxm", good.substr(0, good.size() / 2));
    expectInputError("trunc-header.sxm", good.substr(0, 300));
    expectInputError("magic.sxm", "X" + good.substr(1));
    expectInputError("more.sxm", replaced(good, "       256       256", "       256       512"));
    expectInputError("absurd.sxm", replaced(good, "       256       256", "99999999999 99999999999"));
    expectInputError("negpix.sxm", replaced(good, "       256       256", "      -256       256"));
    expectInputError("zero-range.sxm", replaced(good, "2.000000E-8           2.000000E-8", "0.000000E-8           2.000000E-8"));
    expectInputError("neg-range.sxm", replaced(good, "2.000000E-8           2.000000E-8", "-2.00000E-8           2.000000E-8"));
    expectInputError("latin1.sxm", replaced(good, "       256       256", "       2\xB5\xFF       256"));
    expectInputError("type.sxm", replaced(good, "FLOAT", "DOUBL"));
    expectInputError("empty.sxm", "");
    expectInputError("only-magic.sxm", ":NANONIS_VERSION:\n");
}

TEST(SxmReader, NonUtf8CommentIsKeptAsText) {
    std::string bytes = fileBytes(kDir + "ethz_Si_7x7_051.sxm");
    bytes = replaced(bytes, ":COMMENT:\n", ":COMMENT:\n\xB5m");  // Latin-1 micro sign, not UTF-8
    const ScanFile f = readScanFile(writeTemp("latin1-comment.sxm", bytes), {});
    EXPECT_EQ(f.channels[0].meta.extra.at("COMMENT"), "\xC2\xB5m");
}

// The command line: info lists channels with directions, selects one, and exits 2 on a broken file.
TEST(SxmReader, InfoCommandListsAndSelectsChannels) {
    auto run = [](const std::string& args, std::string& out) {
        FILE* p = popen((std::string(STMLENS_CLI) + " " + args + " 2>&1").c_str(), "r");
        char buf[4096];
        out.clear();
        while (p && std::fgets(buf, sizeof buf, p)) out += buf;
        const int status = p ? pclose(p) : -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    };
    std::string out;
    EXPECT_EQ(run("info " + kDir + "ethz_Si_7x7_051.sxm", out), 0);
    EXPECT_NE(out.find("channels: Z (forward), Z (backward), Current (forward), Current (backward)"), std::string::npos) << out;
    EXPECT_EQ(run("info " + kDir + "ethz_Si_7x7_051.sxm --channel Current --direction backward", out), 0);
    EXPECT_NE(out.find("Current"), std::string::npos);
    EXPECT_EQ(out.find("channel Z "), std::string::npos) << out;
    const std::string good = fileBytes(kDir + "ethz_Si_7x7_051.sxm");
    EXPECT_EQ(run("info " + writeTemp("cli-trunc.sxm", good.substr(0, 5000)), out), 2) << out;
}
