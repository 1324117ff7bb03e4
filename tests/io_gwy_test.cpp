// Gwyddion .gwy reader and writer. Real files from ../shared/data/formats/gwy.
// Spot values were decoded once by hand with Debian's python3: the k-th "\0data\0D" component in the file,
// then struct.unpack('<I') for the count and '<d' for value (y*xres + x); Gwyddion stores row 0 = top.
#include <gtest/gtest.h>

#include <filesystem>

#include "IoTestFiles.h"
#include "io/ByteCursor.h"
#include "io/GwyReader.h"
#include "io/GwyWriter.h"

using namespace stmlens;
using namespace stmlens::testing;

namespace {
const std::string kDir = formatsDir() + "gwy/";
}

TEST(GwyReader, SingleStmImageInMetres) {
    const ScanFile f = readScanFile(kDir + "mulfile_test_single_image.gwy", {});
    EXPECT_EQ(f.format, "gwyddion-gwy");
    ASSERT_EQ(f.channels.size(), 1u);
    const Image& z = f.channels[0];
    EXPECT_EQ(z.meta.channel, "test_single_image_1");
    EXPECT_EQ(z.width(), 512);
    EXPECT_EQ(z.height(), 512);
    EXPECT_NEAR(z.widthNm(), 30.0, 1e-9);  // xreal = 3e-08 m
    EXPECT_EQ(z.meta.units, "nm");
    EXPECT_NEAR(z.at(0, 0), -3.905514705882354, 1e-5);
    EXPECT_NEAR(z.at(10, 3), -3.895955882352942, 1e-5);
    EXPECT_NEAR(z.at(511, 511), -3.6555147058823537, 1e-5);
    EXPECT_FALSE(z.meta.extra.empty());  // /0/meta strings (Bias, Current, ...)
}

TEST(GwyReader, FourChannelsWithTitlesAndUnits) {
    const ScanFile f = readScanFile(kDir + "scifireaders_PTO_110_Virgin0001.gwy", {});
    ASSERT_EQ(f.channels.size(), 4u);
    EXPECT_EQ(f.channels[0].meta.channel, "HeightRetrace");
    EXPECT_EQ(f.channels[0].meta.direction, "backward");
    EXPECT_EQ(f.channels[3].meta.channel, "PhaseRetrace");
    EXPECT_EQ(f.channels[3].meta.units, "deg");
    EXPECT_NEAR(f.channels[0].pixelSize.x_nm, 1.00392e-05 * 1e9 / 256, 1e-3);
    EXPECT_NEAR(f.channels[0].at(10, 3), -0.7966605153342243, 1e-5);
    EXPECT_NEAR(f.channels[0].at(255, 255), -2.7791884349426255, 1e-5);
    EXPECT_NEAR(f.channels[3].at(0, 0), -47.29185104370117, 1e-4);
}

TEST(GwyReader, UnitlessFieldHasUnknownPixelSize) {
    const ScanFile f = readScanFile(kDir + "gwyfile_test.gwy", {});
    ASSERT_EQ(f.channels.size(), 1u);
    EXPECT_EQ(f.channels[0].meta.channel, "Test");
    EXPECT_EQ(f.channels[0].width(), 128);
    EXPECT_FALSE(f.channels[0].pixelSize.known());
    EXPECT_FALSE(f.warnings.empty());
}

TEST(GwyReader, LegacyGwyoFileInBaseUnits) {
    // Gwyddion 1.x container: items are (u32 GType, key, value); the data field inside is GWYP-style. Its unit
    // strings are Latin-1 "\xB5m" (lateral) and "nm" (z) beside xreal = 8e-05 and heights near 1.8e-05: Gwyddion
    // takes values in base SI units, so the scan is 80 um wide (266.7 nm/px) and 18 um high.
    const ScanFile f = readScanFile(kDir + "scifireaders_chip.gwy", {});
    EXPECT_EQ(f.format, "gwyddion-gwy");
    ASSERT_EQ(f.channels.size(), 1u);
    const Image& z = f.channels[0];
    EXPECT_EQ(z.width(), 300);
    EXPECT_EQ(z.height(), 300);
    EXPECT_NEAR(z.pixelSize.x_nm, 8e-05 * 1e9 / 300, 1e-6);
    EXPECT_NEAR(z.pixelSize.y_nm, 8e-05 * 1e9 / 300, 1e-6);
    EXPECT_EQ(z.meta.units, "nm");
    EXPECT_NEAR(z.at(0, 0), 18345.124, 0.01);
    EXPECT_NEAR(z.at(10, 3), 18109.46, 0.01);
    EXPECT_NEAR(z.at(299, 299), 16730.496, 0.01);
    EXPECT_FALSE(f.warnings.empty());   // says how the legacy units were taken
}

TEST(GwyReader, TruncatedLegacyGwyoIsAClearError) {
    const std::string bytes = readFileBytes(kDir + "scifireaders_chip.gwy");
    for (size_t cut : {size_t(4), size_t(20), size_t(60), size_t(200), bytes.size() - 8}) {
        try {
            GwyReader().parse(std::string_view(bytes).substr(0, cut), "cut.gwy");
            FAIL() << "expected InputError at " << cut;
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find("cut.gwy"), std::string::npos) << e.what();
        }
    }
}

TEST(GwyWriter, RoundTripWithMasks) {
    Image scan(6, 4);
    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 6; ++x) scan.at(x, y) = 0.1f * x - 0.25f * y;
    scan.pixelSize = PixelSize(0.2, 0.3);
    scan.meta.channel = "Z";
    scan.meta.direction = "forward";
    scan.meta.units = "nm";
    scan.setValid(5, 3, false);
    Image atoms(6, 4);
    atoms.at(2, 1) = 1;
    const std::string path = (std::filesystem::temp_directory_path() / "stmlens-io-tests" / "roundtrip.gwy").string();
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    writeGwy(path, scan, {{"atoms", atoms}});
    const ScanFile f = readScanFile(path, {});
    ASSERT_EQ(f.channels.size(), 2u);
    const Image& z = f.channels[0];
    EXPECT_EQ(z.meta.channel, "Z (forward)");
    EXPECT_EQ(z.meta.direction, "forward");
    EXPECT_EQ(z.meta.units, "nm");
    EXPECT_NEAR(z.pixelSize.x_nm, 0.2, 1e-12);
    EXPECT_NEAR(z.pixelSize.y_nm, 0.3, 1e-12);
    EXPECT_NEAR(z.at(4, 3), 0.4f - 0.75f, 1e-6);
    EXPECT_EQ(f.channels[1].meta.channel, "atoms");
    EXPECT_EQ(f.channels[1].at(2, 1), 1.0f);
    EXPECT_EQ(f.channels[1].at(3, 1), 0.0f);
    EXPECT_THROW(writeGwy(path, scan, {{"bad", Image(3, 3)}}), InputError);
    // The failed write left the earlier file intact.
    EXPECT_EQ(readScanFile(path, {}).channels.size(), 2u);
}

TEST(GwyReader, BadInputIsAnInputError) {
    const std::string good = fileBytes(kDir + "gwyfile_test.gwy");
    expectInputError("trunc.gwy", good.substr(0, good.size() / 2));
    expectInputError("trunc-head.gwy", good.substr(0, 20));
    expectInputError("magic.gwy", "GWYQ" + good.substr(4));
    expectInputError("more.gwy", replaced(good, std::string("xres\0i\x80\0\0\0", 10), std::string("xres\0i\x00\x01\0\0", 10)));
    expectInputError("absurd.gwy", replaced(good, std::string("xres\0i\x80\0\0\0", 10), std::string("xres\0i\xff\xff\xff\x7f", 10)));
    expectInputError("negative.gwy", replaced(good, std::string("xres\0i\x80\0\0\0", 10), std::string("xres\0i\x80\xff\xff\xff", 10)));
    std::string zero = good;
    const size_t xr = zero.find(std::string("xreal\0d", 7));
    zero.replace(xr + 7, 8, std::string(8, '\0'));
    expectInputError("zero-range.gwy", zero);
    expectInputError("bad-size.gwy", replaced(good, std::string("GwyContainer\0", 13), std::string("GwyContainer\0\xff\xff\xff\x7f", 17)).erase(21, 4));
    expectInputError("latin1-type.gwy", replaced(good, std::string("GwyContainer", 12), "Gwy\xB5ontainer"));
    expectInputError("empty.gwy", "");
}
