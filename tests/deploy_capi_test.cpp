// The C API: return codes, messages, no exceptions, same results as the command line, usable from threads,
// and the C example program builds and runs.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <sstream>
#include <thread>
#include <vector>

#include <stmlens/stmlens.h>

#include "DeployTestSupport.h"
#include "io/ScanReader.h"

using namespace stmlens;
using namespace stmlens::testing;
using nlohmann::json;

namespace {

class CApi : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        makeUntrainedModels(models());
    }
    static void TearDownTestSuite() { delete dir_; }
    static std::string models() { return dir_->str() + "/models"; }
    static TempDir* dir_;

    stmlens_context* openWithCdaPixelSize() {
        stmlens_options o = stmlens_default_options();
        o.pixel_size_x_nm = 0.097;
        o.pixel_size_y_nm = 0.100;
        return stmlens_open(models().c_str(), o);
    }
};
TempDir* CApi::dir_ = nullptr;

std::string runAndCapture(const std::string& cmd, int* status) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    *status = ::pclose(p);
    return out;
}

}  // namespace

TEST_F(CApi, DefaultOptions) {
    const stmlens_options o = stmlens_default_options();
    EXPECT_EQ(o.channel, nullptr);
    EXPECT_EQ(o.pixel_size_x_nm, 0.0);
    EXPECT_EQ(o.atom_threshold, 0.5);
    EXPECT_STREQ(stmlens_version(), "0.1.0");
}

TEST_F(CApi, OpenFailureSaysWhy) {
    const std::string missing = dir_->str() + "/no-such-models";
    EXPECT_EQ(stmlens_open(missing.c_str(), stmlens_default_options()), nullptr);
    EXPECT_NE(std::string(stmlens_last_error(nullptr)).find("no-such-models"), std::string::npos) << stmlens_last_error(nullptr);

    stmlens_options bad = stmlens_default_options();
    bad.pixel_size_x_nm = 0.1;   // y missing
    EXPECT_EQ(stmlens_open(models().c_str(), bad), nullptr);
    EXPECT_NE(std::string(stmlens_last_error(nullptr)).find("pixel"), std::string::npos);

    // Embedders set the row contrast through the environment (the options struct keeps its layout).
    ::setenv("STMLENS_ROW_CONTRAST", "dark", 1);
    EXPECT_EQ(stmlens_open(models().c_str(), stmlens_default_options()), nullptr);
    ::unsetenv("STMLENS_ROW_CONTRAST");
    EXPECT_NE(std::string(stmlens_last_error(nullptr)).find("STMLENS_ROW_CONTRAST"), std::string::npos)
        << stmlens_last_error(nullptr);
}

TEST_F(CApi, AnalyzesFileAndBufferAlike) {
    stmlens_context* ctx = openWithCdaPixelSize();
    ASSERT_NE(ctx, nullptr) << stmlens_last_error(nullptr);

    char* text = nullptr;
    ASSERT_EQ(stmlens_analyze_file(ctx, cdaScan().c_str(), &text), STMLENS_OK) << stmlens_last_error(ctx);
    ASSERT_NE(text, nullptr);
    const json fromFile = json::parse(text);
    stmlens_free(text);
    EXPECT_EQ(fromFile.at("schema"), "stmlens.analysis/1");
    EXPECT_STREQ(stmlens_last_error(ctx), "");

    const ScanFile f = readScanFile(cdaScan(), {});
    const Image& img = f.channels.front();
    EXPECT_EQ(fromFile.at("image").at("width"), img.width());
    EXPECT_EQ(fromFile.at("image").at("height"), img.height());
    ASSERT_EQ(stmlens_analyze_buffer(ctx, img.data(), img.width(), img.height(), 0.097, 0.100, &text), STMLENS_OK)
        << stmlens_last_error(ctx);
    const json fromBuffer = json::parse(text);
    stmlens_free(text);
    EXPECT_EQ(comparable(fromBuffer).dump(), comparable(fromFile).dump());
    stmlens_close(ctx);
}

// Stripes 4 nm apart at a given 0.1 nm/px are no Si(100) dimer rows: a warning, and no atoms on them.
TEST_F(CApi, RowsFarFromTheDimerRowPitchAreNoLattice) {
    stmlens_context* ctx = stmlens_open(models().c_str(), stmlens_default_options());
    ASSERT_NE(ctx, nullptr) << stmlens_last_error(nullptr);
    std::vector<float> px(256 * 256);
    for (int y = 0; y < 256; ++y)
        for (int x = 0; x < 256; ++x) px[y * 256 + x] = static_cast<float>(std::cos(2 * M_PI * x / 40.0));
    char* text = nullptr;
    ASSERT_EQ(stmlens_analyze_buffer(ctx, px.data(), 256, 256, 0.1, 0.1, &text), STMLENS_OK) << stmlens_last_error(ctx);
    const json r = json::parse(text);
    stmlens_free(text);
    EXPECT_FALSE(r.at("lattice").at("found").get<bool>());
    EXPECT_TRUE(r.at("atoms").empty());
    bool warned = false;
    for (const auto& w : r.at("warnings")) warned = warned || w.get<std::string>().find("not the 0.768 nm") != std::string::npos;
    EXPECT_TRUE(warned) << r.at("warnings").dump();
    stmlens_close(ctx);
}

// STMLENS_PIXEL_SIZE_LATTICE: the pixel size from the dimer rows, for a file (a .npy carries none) and for a
// buffer, alike; a buffer without rows is refused with a message. (The pipeline tests check that the rows
// override a pixel size the file gives.)
TEST_F(CApi, PixelSizeFromTheLattice) {
    stmlens_options o = stmlens_default_options();
    o.pixel_size_x_nm = STMLENS_PIXEL_SIZE_LATTICE;
    stmlens_context* ctx = stmlens_open(models().c_str(), o);
    ASSERT_NE(ctx, nullptr) << stmlens_last_error(nullptr);
    char* text = nullptr;
    ASSERT_EQ(stmlens_analyze_file(ctx, cdaScan().c_str(), &text), STMLENS_OK) << stmlens_last_error(ctx);
    const json fromFile = json::parse(text);
    stmlens_free(text);
    EXPECT_EQ(fromFile.at("image").at("pixel_size_source"), "calibrated");
    EXPECT_NEAR(fromFile.at("image").at("pixel_size_nm").at(0).get<double>(), 0.097, 0.0015);
    EXPECT_NEAR(fromFile.at("image").at("pixel_size_nm").at(1).get<double>(), 0.099, 0.0025);

    const ScanFile f = readScanFile(cdaScan(), {});
    const Image& img = f.channels.front();
    ASSERT_EQ(stmlens_analyze_buffer(ctx, img.data(), img.width(), img.height(), STMLENS_PIXEL_SIZE_LATTICE, 0, &text),
              STMLENS_OK) << stmlens_last_error(ctx);
    const json fromBuffer = json::parse(text);
    stmlens_free(text);
    EXPECT_EQ(fromBuffer.at("image").at("pixel_size_source"), "calibrated");
    EXPECT_EQ(fromBuffer.at("image").at("pixel_size_nm"), fromFile.at("image").at("pixel_size_nm"));
    stmlens_close(ctx);

    // Without the option, a buffer needs its pixel size; with it, a buffer without rows has none to give.
    ctx = stmlens_open(models().c_str(), stmlens_default_options());
    ASSERT_NE(ctx, nullptr) << stmlens_last_error(nullptr);
    std::vector<float> flat(128 * 128, 1.0f);
    EXPECT_EQ(stmlens_analyze_buffer(ctx, flat.data(), 128, 128, STMLENS_PIXEL_SIZE_LATTICE, 0, &text), STMLENS_ERR_INPUT);
    EXPECT_EQ(text, nullptr);
    EXPECT_NE(std::string(stmlens_last_error(ctx)).find("no dimer rows"), std::string::npos) << stmlens_last_error(ctx);
    EXPECT_EQ(stmlens_analyze_buffer(ctx, flat.data(), 128, 128, -2.0, 0.1, &text), STMLENS_ERR_ARGUMENT);
    stmlens_close(ctx);
}

TEST_F(CApi, ErrorsAreCodesNotExceptions) {
    stmlens_context* ctx = openWithCdaPixelSize();
    ASSERT_NE(ctx, nullptr) << stmlens_last_error(nullptr);
    char* text = reinterpret_cast<char*>(0x1);   // must be reset to NULL on failure

    const std::string missing = dir_->str() + "/missing.sxm";
    EXPECT_EQ(stmlens_analyze_file(ctx, missing.c_str(), &text), STMLENS_ERR_INPUT);
    EXPECT_EQ(text, nullptr);
    EXPECT_NE(std::string(stmlens_last_error(ctx)).find("missing.sxm"), std::string::npos);

    const std::string garbage = dir_->str() + "/garbage.npy";
    { std::ofstream(garbage) << "this is not a numpy file"; }
    EXPECT_EQ(stmlens_analyze_file(ctx, garbage.c_str(), &text), STMLENS_ERR_INPUT);
    EXPECT_NE(std::string(stmlens_last_error(ctx)).find("garbage.npy"), std::string::npos);

    std::vector<float> px(64 * 64, 0.0f);
    EXPECT_EQ(stmlens_analyze_buffer(ctx, nullptr, 64, 64, 0.1, 0.1, &text), STMLENS_ERR_ARGUMENT);
    EXPECT_EQ(stmlens_analyze_buffer(ctx, px.data(), 0, 64, 0.1, 0.1, &text), STMLENS_ERR_ARGUMENT);
    EXPECT_EQ(stmlens_analyze_buffer(ctx, px.data(), 64, 64, 0.0, 0.1, &text), STMLENS_ERR_ARGUMENT);
    EXPECT_EQ(stmlens_analyze_buffer(ctx, px.data(), 64, 64, NAN, 0.1, &text), STMLENS_ERR_ARGUMENT);
    EXPECT_EQ(stmlens_analyze_buffer(ctx, px.data(), 64, 64, 0.1, 0.1, nullptr), STMLENS_ERR_ARGUMENT);
    EXPECT_EQ(stmlens_analyze_buffer(nullptr, px.data(), 64, 64, 0.1, 0.1, &text), STMLENS_ERR_ARGUMENT);
    // All NaN: no valid data is bad input, not a crash.
    std::vector<float> nan(64 * 64, NAN);
    EXPECT_EQ(stmlens_analyze_buffer(ctx, nan.data(), 64, 64, 0.1, 0.1, &text), STMLENS_ERR_INPUT);
    EXPECT_FALSE(std::string(stmlens_last_error(ctx)).empty());
    stmlens_free(nullptr);
    stmlens_close(ctx);
    stmlens_close(nullptr);
}

TEST_F(CApi, OneContextManyThreads) {
    stmlens_context* ctx = openWithCdaPixelSize();
    ASSERT_NE(ctx, nullptr) << stmlens_last_error(nullptr);
    const ScanFile f = readScanFile(cdaScan(), {});
    const Image img = crop(f.channels.front(), Rect{0, 0, 160, 160});
    std::vector<std::string> results(4);
    std::vector<int> codes(4, -1);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            char* text = nullptr;
            codes[t] = stmlens_analyze_buffer(ctx, img.data(), img.width(), img.height(), 0.097, 0.1, &text);
            if (text) results[t] = comparable(json::parse(text)).dump();
            stmlens_free(text);
            // A failure on this thread is reported to this thread only.
            char* none = nullptr;
            stmlens_analyze_file(ctx, "/nonexistent/thread.sxm", &none);
            if (std::string(stmlens_last_error(ctx)).find("thread.sxm") == std::string::npos) codes[t] = -2;
        });
    for (auto& th : threads) th.join();
    for (int t = 0; t < 4; ++t) {
        EXPECT_EQ(codes[t], STMLENS_OK);
        EXPECT_EQ(results[t], results[0]);
    }
    stmlens_close(ctx);
}

TEST_F(CApi, SameResultAsCommandLine) {
    const std::string out = dir_->str() + "/cli.json";
    const std::string cmd = std::string(STMLENS_CLI) + " analyze " + cdaScan() + " --models " + models() +
                            " --pixel-size 0.097,0.100 --json " + out + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    const json cli = json::parse(readText(out));

    stmlens_context* ctx = openWithCdaPixelSize();
    ASSERT_NE(ctx, nullptr);
    char* text = nullptr;
    ASSERT_EQ(stmlens_analyze_file(ctx, cdaScan().c_str(), &text), STMLENS_OK);
    EXPECT_EQ(comparable(json::parse(text)).dump(), comparable(cli).dump());
    stmlens_free(text);
    stmlens_close(ctx);
}

TEST_F(CApi, ExampleProgramRuns) {
    int status = -1;
    const std::string out = runAndCapture(std::string(STMLENS_CAPI_EXAMPLE) + " " + models() + " " + cdaScan() +
                                              " 0.097 0.100",
                                          &status);
    ASSERT_EQ(status, 0) << out;
    std::istringstream lines(out);
    std::string first, second;
    std::getline(lines, first);
    std::getline(lines, second);
    EXPECT_EQ(json::parse(first).at("schema"), "stmlens.analysis/1");
    EXPECT_EQ(json::parse(second).at("image").at("width"), 128);

    // Bad input: the example reports it and exits with the status code.
    const std::string bad = std::string(STMLENS_CAPI_EXAMPLE) + " " + models() + " /nonexistent.sxm 2>/dev/null";
    runAndCapture(bad, &status);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), STMLENS_ERR_INPUT);
}
