// Omicron MATRIX reader. Real files: the matching pair in ../shared/data/formats/mtrx (with its _0001.mtrx
// parameter file) and the NavigatingTheMatrix data files in ../shared/data/real/raw (no parameter files).
// Expected raw counts were decoded once by hand with Debian's python3: struct.unpack('<i') on the DATA ("ATAD")
// block, sample (line*2*nx + x) for the trace and (line*2*nx + nx + (nx-1-x)) for the retrace, with
// line = ny-1-y for the up-scan. The parameter file's transfer functions (see manifest.csv) give
// Z[m] = counts / 2.4e15 and I[A] = (1 - -0.01) * counts / (6.4489e15 * 1.01).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "IoTestFiles.h"
#include "io/MatrixReader.h"
#include "io/NpyReader.h"

using namespace stmlens;
using namespace stmlens::testing;

namespace {
const std::string kPair = formatsDir() + "mtrx/";
const std::string kReal = std::string(STMLENS_SHARED_DIR) + "/data/real/";
const std::string kRaw = kReal + "raw/NavigatingTheMatrix/";
}  // namespace

TEST(MatrixReader, ParameterFileFoundByName) {
    EXPECT_EQ(matrixParameterPath("/d/20201111--4_1.Z_mtrx"), "/d/20201111_0001.mtrx");
    EXPECT_EQ(matrixParameterPath("/d/a--b--12_1.I_mtrx"), "/d/a--b_0001.mtrx");
    EXPECT_EQ(matrixParameterPath("/d/plain.Z_mtrx"), "");
}

TEST(MatrixReader, CalibratedZFromParameterFile) {
    const ScanFile f = readScanFile(kPair + "20201111--4_1.Z_mtrx", {});
    EXPECT_EQ(f.format, "omicron-matrix");
    EXPECT_TRUE(f.warnings.empty()) << f.warnings.front();
    ASSERT_EQ(f.channels.size(), 2u);  // X_Retrace true, Y_Retrace false
    const Image& z = f.select("Z", "forward");
    EXPECT_EQ(z.width(), 400);
    EXPECT_EQ(z.height(), 400);
    EXPECT_NEAR(z.widthNm(), 100.0, 1e-9);
    EXPECT_NEAR(z.heightNm(), 100.0, 1e-9);
    EXPECT_EQ(z.meta.units, "nm");
    EXPECT_NEAR(*z.meta.biasV, 0.6, 1e-12);
    EXPECT_NEAR(*z.meta.setpointA, 3e-10, 1e-22);
    EXPECT_NEAR(*z.meta.scanAngleDeg, 0.0, 1e-12);
    EXPECT_FALSE(z.hasMask());
    EXPECT_NEAR(z.at(0, 0), -1227369708 / 2.4e6, 1e-3);
    EXPECT_NEAR(z.at(0, 399), -1231369839 / 2.4e6, 1e-3);
    EXPECT_NEAR(z.at(123, 45), -1228671403 / 2.4e6, 1e-3);
    const Image& zb = f.select("Z", "backward");
    EXPECT_NEAR(zb.at(0, 0), -1227368589 / 2.4e6, 1e-3);
    EXPECT_NEAR(zb.at(399, 399), -1232981281 / 2.4e6, 1e-3);
}

TEST(MatrixReader, CalibratedCurrent) {
    const ScanFile f = readScanFile(kPair + "20201111--4_1.I_mtrx", {});
    const Image& i = f.select("I", "forward");
    EXPECT_EQ(i.meta.units, "A");
    const double perCount = 1.01 / (6.4489e15 * 1.01);
    EXPECT_NEAR(i.at(123, 45), 2048512 * perCount, 1e-15);
    EXPECT_NEAR(f.select("I", "backward").at(399, 399), 1517056 * perCount, 1e-15);
    EXPECT_NEAR(valueRange(i).mean, 3e-10, 0.5e-10);  // feedback holds the 0.3 nA setpoint
}

TEST(MatrixReader, WithoutParameterFileRawCountsAndWarning) {
    const ScanFile f = readScanFile(kRaw + "20181123-122007_STM_AtomManipulation-Earls_Court-Si_100_-H_term--18_1.Z_mtrx", {});
    ASSERT_FALSE(f.warnings.empty());
    EXPECT_NE(f.warnings[0].find("not found"), std::string::npos);
    const Image& z = f.select("Z", "forward");
    EXPECT_EQ(z.width(), 512);
    EXPECT_EQ(z.height(), 512);
    EXPECT_FALSE(z.pixelSize.known());
    EXPECT_EQ(z.meta.units, "counts");
    EXPECT_NEAR(z.at(0, 511), -204726069.0, 16);
    EXPECT_NEAR(z.at(7, 500), -202587974.0, 16);
    // 594784 of 1048576 samples: the up-scan is complete, the down-scan was interrupted.
    EXPECT_FALSE(z.hasMask());
    const Image& down = f.select("Z_down", "forward");
    EXPECT_TRUE(down.hasMask());
    // 70496 down-scan samples = 68 full lines of 1024 + 864, of which the first 512 are a trace.
    EXPECT_EQ(down.validCount(), 68u * 512 + 512);
}

// The README's exports (float32 of the raw int32, row 0 = top, retrace mirrored) agree within ~16 counts.
TEST(MatrixReader, MatchesReferenceExports) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"20181123-122007_STM_AtomManipulation-Earls_Court-Si_100_-H_term--18_1.Z_mtrx", "ntm_earlscourt_20181123_18_1_Z"},
        {"20230228-122033_Croxley-Si_001_H-STM_AtomManipulation--22_1.I_mtrx", "ntm_croxley_20230228_22_1_I"},
        {"20241007-142432_City_Thameslink_Si_001_H--STM_AtomManipulation--9_1.Z_mtrx", "ntm_citythameslink_20241007_9_1_Z"},
        {"20220913-130500_Amersham_V4B2-Si_001_H-STM_AtomManipulation--18_1.I_mtrx", "ntm_amersham_20220913_18_1_I"},
    };
    for (const auto& [raw, ref] : cases) {
        const ScanFile f = readScanFile(kRaw + raw, {});
        for (const auto& [dir, suffix] : {std::pair<std::string, std::string>{"forward", "_traceup.npy"}, {"backward", "_retraceup.npy"}}) {
            const Image& img = f.select("", dir);
            const NpyArray a = readNpy(kReal + ref + suffix);
            ASSERT_EQ(a.shape.size(), 2u);
            ASSERT_EQ(a.shape[1], 512u);
            const int rows = static_cast<int>(a.shape[0]);  // partial scans export only the recorded rows
            const int y0 = img.height() - rows;
            double worst = 0;
            for (int r = 0; r < rows; ++r)
                for (int x = 0; x < 512; ++x) {
                    ASSERT_TRUE(img.isValid(x, y0 + r)) << raw << " " << dir << " " << x << "," << y0 + r;
                    worst = std::max(worst, std::abs(double(img.at(x, y0 + r)) - a.values[static_cast<size_t>(r) * 512 + x]));
                }
            EXPECT_LE(worst, 16.0) << raw << " " << dir;
            // Rows above the recorded ones are masked, and a partial scan says so.
            if (y0 > 0) {
                EXPECT_FALSE(img.isValid(0, y0 - 1));
                EXPECT_NE(f.warnings.back().find("partial scan"), std::string::npos);
            }
        }
    }
}

TEST(MatrixReader, BadInputIsAnInputError) {
    const std::string good = fileBytes(kPair + "20201111--4_1.Z_mtrx");
    expectInputError("trunc--1_1.Z_mtrx", good.substr(0, good.size() / 2));
    expectInputError("trunc-head--1_1.Z_mtrx", good.substr(0, 40));
    expectInputError("magic--1_1.Z_mtrx", "ONTMATRX0102" + good.substr(12));
    std::string more = good;
    more.replace(0x40, 4, std::string("\x00\x00\x10\x00", 4));  // captured = 1048576 > 320000 intended
    expectInputError("more--1_1.Z_mtrx", more);
    std::string absurd = good;
    absurd.replace(0x3C, 8, std::string("\xff\xff\xff\xff\xfe\xff\xff\xff", 8));  // intended/captured ~4e9
    expectInputError("absurd--1_1.Z_mtrx", absurd);
    std::string badlen = good;
    badlen.replace(0x64, 4, std::string("\xff\xff\xff\x7f", 4));  // DATA block longer than the file
    expectInputError("badlen--1_1.Z_mtrx", badlen);
    expectInputError("empty--1_1.Z_mtrx", "");
    // The parameter file itself is not an image.
    expectInputError("x_0001.mtrx", fileBytes(kPair + "20201111_0001.mtrx").substr(0, 5000));

    // Parameter file problems: zero range, non-UTF-8 names, truncation, next to an intact data file.
    const auto dir = std::filesystem::temp_directory_path() / "stmlens-io-tests" / "mtrx";
    std::filesystem::create_directories(dir);
    const std::string params = fileBytes(kPair + "20201111_0001.mtrx");
    auto withParams = [&](const std::string& p) {
        std::ofstream((dir / "s--4_1.Z_mtrx").string(), std::ios::binary) << good;
        std::ofstream((dir / "s_0001.mtrx").string(), std::ios::binary) << p;
        return (dir / "s--4_1.Z_mtrx").string();
    };
    EXPECT_NO_THROW(readScanFile(withParams(params), {}));
    EXPECT_THROW(readScanFile(withParams(params.substr(0, params.size() / 3)), {}), InputError);
    EXPECT_THROW(readScanFile(withParams(params.substr(0, 100)), {}), InputError);
    const std::string width = std::string("W\0i\0d\0t\0h\0", 10);
    std::string zero = params;
    for (size_t p = zero.find(width); p != std::string::npos; p = zero.find(width, p + 1)) {
        const size_t tag = zero.find("BUOD", p);
        if (tag != std::string::npos && tag < p + 40) zero.replace(tag + 4, 8, std::string(8, '\0'));
    }
    EXPECT_THROW(readScanFile(withParams(zero), {}), InputError);
    std::string latin = params;
    const size_t tag = latin.find("GNOL");
    latin.replace(tag, 4, "\xB5\xFF\xFE\x80");  // a value type that is not text at all
    EXPECT_THROW(readScanFile(withParams(latin), {}), InputError);
}
