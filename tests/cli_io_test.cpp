// The command line on real files and on every kind of bad input: one clear message naming the file,
// exit code 2, no crash, no partial output file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "io/NpyReader.h"
#include "io/ScanReader.h"

namespace fs = std::filesystem;

namespace {

struct Run {
    int code;
    std::string out;
};

Run run(const std::string& args) {
    const std::string cmd = std::string(STMLENS_CLI) + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    const int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class CliIo : public ::testing::Test {
protected:
    void SetUp() override {
        dir = fs::temp_directory_path() / ("stmlens-cli-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    void TearDown() override { fs::remove_all(dir); }
    std::string path(const std::string& name) const { return (dir / name).string(); }
    void write(const std::string& name, const std::string& bytes) const { std::ofstream(dir / name, std::ios::binary) << bytes; }
    // Only the named file may exist in the output folder: no temporaries, no partial outputs.
    size_t fileCount() const { return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator())); }
    fs::path dir;
};

std::string npyHeader(const std::string& dict) {
    std::string h = "\x93NUMPY";
    h += '\x01';
    h += '\x00';
    std::string d = dict;
    while ((10 + d.size() + 1) % 64) d += ' ';
    d += '\n';
    h += static_cast<char>(d.size() & 0xff);
    h += static_cast<char>(d.size() >> 8);
    return h + d;
}

}  // namespace

TEST_F(CliIo, InfoOnEveryRealNpyAndPng) {
    const fs::path real = fs::path(STMLENS_SHARED_DIR) / "data/real";
    ASSERT_TRUE(fs::exists(real)) << real;
    // One invocation for all files: each start of the binary loads LibTorch.
    int files = 0;
    std::string args;
    for (const auto& e : fs::directory_iterator(real)) {
        const auto ext = e.path().extension();
        if (ext != ".npy" && ext != ".png") continue;
        args += " '" + e.path().string() + "'";
        ++files;
    }
    auto r = run("info" + args);
    EXPECT_EQ(r.code, 0) << r.out;
    size_t reported = 0;
    for (size_t pos = 0; (pos = r.out.find("  format ", pos)) != std::string::npos; ++pos) ++reported;
    EXPECT_EQ(reported, static_cast<size_t>(files)) << r.out;
    EXPECT_EQ(r.out.find("error"), std::string::npos) << r.out;
    EXPECT_GT(files, 50);
}

TEST_F(CliIo, GwyddionPngExportShowsItsCalibration) {
    const auto png = fs::path(STMLENS_SHARED_DIR) / "data/real/raw/NavigatingTheMatrix/20200219-180436_Hainault-Si_001_-H--38_1.png";
    auto r = run("info '" + png.string() + "'");
    ASSERT_EQ(r.code, 0) << r.out;
    // Gwy::XReal = 2e-7 m over 1024 px.
    EXPECT_NE(r.out.find("0.19531"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("200 x 200 nm"), std::string::npos) << r.out;
}

TEST_F(CliIo, ConvertRoundTripKeepsValuesAndPixelSize) {
    const auto src = fs::path(STMLENS_SHARED_DIR) / "data/real/cda_20220819_bias_series_0007_clean.npy";
    auto r = run("convert '" + src.string() + "' " + path("a.npy"));
    ASSERT_EQ(r.code, 0) << r.out;
    auto a = stmlens::readNpy(src.string()), b = stmlens::readNpy(path("a.npy"));
    ASSERT_EQ(a.values.size(), b.values.size());
    for (size_t i = 0; i < a.values.size(); i += 997) EXPECT_EQ(a.values[i], b.values[i]);
    // PNG keeps the pixel size in Gwyddion's text chunks.
    r = run("convert '" + src.string() + "' " + path("a.png") + " --pixel-size 0.097,0.1");
    ASSERT_EQ(r.code, 0) << r.out;
    auto f = stmlens::readScanFile(path("a.png"), {});
    EXPECT_NEAR(f.channels[0].pixelSize.x_nm, 0.097, 1e-9);
    EXPECT_NEAR(f.channels[0].pixelSize.y_nm, 0.1, 1e-9);
    r = run("convert '" + src.string() + "' " + path("a.tiff"));
    ASSERT_EQ(r.code, 0) << r.out;
    auto t = stmlens::readScanFile(path("a.tiff"), {});
    EXPECT_EQ(t.channels[0].at(100, 200), a.values[200 * 512 + 100]);
}

TEST_F(CliIo, MissingFile) {
    auto r = run("info " + path("nope.npy"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("nope.npy: no such file"), std::string::npos) << r.out;
}

TEST_F(CliIo, UnknownAndMisleadingExtension) {
    write("scan.xyz", "hello world, not a scan");
    auto r = run("info " + path("scan.xyz"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("unrecognised file format"), std::string::npos) << r.out;
    write("scan.npy", "this is text pretending to be npy");
    r = run("info " + path("scan.npy"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("scan.npy"), std::string::npos) << r.out;
    // A real PNG named .npy is read as the PNG it is.
    fs::copy_file(fs::path(STMLENS_SHARED_DIR) / "data/real/cda_20220819_bias_series_0007_clean.png", path("png.npy"));
    r = run("info " + path("png.npy"));
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("format png"), std::string::npos) << r.out;
}

TEST_F(CliIo, TruncatedAndCorruptFiles) {
    write("trunc.npy", npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (512, 512), }") + std::string(1000, '\0'));
    auto r = run("info " + path("trunc.npy"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("truncated"), std::string::npos) << r.out;
    write("bad.png", std::string("\x89PNG\r\n\x1a\n", 8) + "garbage garbage garbage");
    r = run("info " + path("bad.png"));
    EXPECT_EQ(r.code, 2) << r.out;
    write("bad.tiff", std::string("II*\0", 4) + std::string(20, '\xff'));
    r = run("info " + path("bad.tiff"));
    EXPECT_EQ(r.code, 2) << r.out;
}

TEST_F(CliIo, AbsurdAndZeroDimensions) {
    write("huge.npy", npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }"));
    auto r = run("info " + path("huge.npy"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("absurd"), std::string::npos) << r.out;
    write("zero.npy", npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }"));
    r = run("info " + path("zero.npy"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("zero size"), std::string::npos) << r.out;
    write("cube.npy", npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }") + std::string(96, '\0'));
    r = run("info " + path("cube.npy"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.out.find("2-D"), std::string::npos) << r.out;
}

TEST_F(CliIo, NanPixelsAreMaskedNotPropagated) {
    std::vector<float> v(20 * 10, 1.5f);
    for (int x = 0; x < 20; ++x) v[9 * 20 + x] = NAN;  // last row never scanned
    v[3] = INFINITY;
    stmlens::writeNpy(path("holes.npy"), v.data(), 20, 10);
    auto r = run("info " + path("holes.npy"));
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("179 of 200 pixels valid"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("nan"), std::string::npos) << r.out;
}

TEST_F(CliIo, NonPositivePixelSizeRefused) {
    const auto src = fs::path(STMLENS_SHARED_DIR) / "data/real/cda_20220819_bias_series_0007_clean.npy";
    for (const char* bad : {"0", "-0.1", "abc", "0.1,-1"}) {
        auto r = run("convert '" + src.string() + "' " + path("out.png") + " --pixel-size=" + bad);
        EXPECT_EQ(r.code, 2) << bad << ": " << r.out;
        EXPECT_NE(r.out.find("pixel size"), std::string::npos) << r.out;
    }
    EXPECT_EQ(fileCount(), 0u);
}

TEST_F(CliIo, FailedWriteLeavesNoPartialFile) {
    const auto src = fs::path(STMLENS_SHARED_DIR) / "data/real/cda_20220819_bias_series_0007_clean.npy";
    auto r = run("convert '" + src.string() + "' " + path("out.bmp"));
    EXPECT_EQ(r.code, 2) << r.out;
    r = run("convert '" + src.string() + "' " + path("missing-dir/out.npy"));
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_EQ(fileCount(), 0u);
}

TEST_F(CliIo, UsageErrorsExitWithTwo) {
    EXPECT_EQ(run("").code, 2);
    EXPECT_EQ(run("info").code, 2);
    EXPECT_EQ(run("frobnicate x").code, 2);
    EXPECT_EQ(run("analyze x.npy --row-contrast dark").code, 2);
    EXPECT_EQ(run("--help").code, 0);
    EXPECT_EQ(run("convert --help").code, 0);
}
