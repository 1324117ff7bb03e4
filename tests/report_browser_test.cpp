// The HTML report as a person sees it: `stmlens analyze --out` on a real H-Si(100) frame, then the page opened in
// headless Chromium (installed by scripts/bootstrap). The page must load without script errors, draw a marker
// for every defect of the JSON result, and render to a non-blank screenshot.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/core.hpp>
#include <regex>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

const char* kChromium = "/usr/bin/chromium";
const char* kFrame = STMLENS_SHARED_DIR "/data/real/cda_20220819_bias_series_0007_clean.npy";

int sh(const std::string& cmd) {
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

// Flags from the machine notes: no sandbox as root, and no background networking on a closed network.
std::string chromium(const fs::path& profile) {
    return std::string(kChromium) + " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
           "--disable-background-networking --disable-component-update --disable-sync --hide-scrollbars "
           "--user-data-dir=" + profile.string() + " ";
}

struct TempDir {
    fs::path dir = fs::temp_directory_path() / ("stmlens_report_" + std::to_string(::getpid()));
    TempDir() { fs::create_directories(dir); }
    ~TempDir() { fs::remove_all(dir); }
};

}  // namespace

TEST(ReportBrowser, PageLoadsAndShowsEveryDefect) {
    ASSERT_TRUE(fs::exists(kChromium)) << "Chromium is missing: run scripts/bootstrap";
    ASSERT_TRUE(fs::exists(kFrame)) << kFrame;
    TempDir t;
    const fs::path out = t.dir / "out";
    ASSERT_EQ(sh(std::string(STMLENS_CLI) + " analyze " + kFrame + " --pixel-size 0.097,0.100 --out " + out.string() +
                 " > " + (t.dir / "cli.log").string() + " 2>&1"),
              0)
        << slurp(t.dir / "cli.log");
    const fs::path report = out / "report.html";
    ASSERT_TRUE(fs::exists(report));
    const auto result = nlohmann::json::parse(slurp(out / "cda_20220819_bias_series_0007_clean.json"));
    const size_t defects = result.at("defects").size();

    // The DOM after the page's script ran.
    const fs::path dom = t.dir / "dom.html";
    ASSERT_EQ(sh(chromium(t.dir / "profile") + "--dump-dom file://" + report.string() + " > " + dom.string() +
                 " 2> " + (t.dir / "chromium.log").string()),
              0)
        << slurp(t.dir / "chromium.log");
    const std::string html = slurp(dom);
    std::smatch body;
    ASSERT_TRUE(std::regex_search(html, body, std::regex("<body[^>]*>"))) << html.substr(0, 500);
    const std::string tag = body.str();
    EXPECT_EQ(tag.find("data-js-error"), std::string::npos) << tag;
    EXPECT_NE(tag.find("data-ready=\"yes\""), std::string::npos) << tag;
    EXPECT_NE(tag.find("data-rendered-defects=\"" + std::to_string(defects) + "\""), std::string::npos)
        << tag << " expected " << defects;
    EXPECT_NE(tag.find("data-defects=\"" + std::to_string(defects) + "\""), std::string::npos) << tag;

    // A screenshot that shows something (not one flat colour).
    const fs::path shot = t.dir / "shot.png";
    ASSERT_EQ(sh(chromium(t.dir / "profile") + "--window-size=1300,1000 --screenshot=" + shot.string() + " file://" +
                 report.string() + " > /dev/null 2>&1"),
              0);
    const cv::Mat img = cv::imread(shot.string(), cv::IMREAD_GRAYSCALE);
    ASSERT_FALSE(img.empty());
    EXPECT_EQ(img.cols, 1300);
    cv::Scalar mean, sd;
    cv::meanStdDev(img, mean, sd);
    EXPECT_GT(sd[0], 20.0);
}
