#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <opencv2/imgproc.hpp>

#include "analysis/FreeRegions.h"
#include "analysis/Instances.h"
#include "analysis/Overlay.h"
#include "analysis/ResultMasks.h"
#include "core/Level.h"
#include "io/NpyReader.h"

using namespace stmlens;

namespace {

const std::string kReal = std::string(STMLENS_SHARED_DIR) + "/data/real/";

Image npyImage(const std::string& name) {
    NpyArray a = readNpy(kReal + name);
    Image img(static_cast<int>(a.shape[1]), static_cast<int>(a.shape[0]));
    img.pixels() = a.values;
    return img;
}

// class id -> name from cda_label_classes.csv (label_id,overlay_rgb,class; the rgb field is quoted).
std::map<int, std::string> cdaClassNames() {
    std::ifstream f(kReal + "cda_label_classes.csv");
    std::map<int, std::string> names;
    std::string line;
    std::getline(f, line);
    while (std::getline(f, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto comma = line.find(','), last = line.rfind(',');
        names[std::stoi(line.substr(0, comma))] = line.substr(last + 1);
    }
    return names;
}

// Detections from the cda ground truth: H sites as atoms, defect sites (grown by 2 px, so the sites of one defect join) as
// instances through extractDefects, step-edge sites as a mask, free rectangles around everything.
struct CdaScene {
    Image scan;
    AnalysisResult result;
    Image stepMask;
};

CdaScene cdaScene(const std::string& stem) {
    CdaScene s;
    s.scan = npyImage(stem + "_clean.npy");
    s.scan.pixelSize = {0.097, 0.099};
    subtractPolynomial(s.scan, 1);
    const Image labels = npyImage(stem + "_labels.npy");
    const int w = labels.width(), h = labels.height();
    auto names = cdaClassNames();
    std::vector<std::string> classNames{"lattice"};
    std::map<int, size_t> classIndex;
    for (auto& [id, name] : names)
        if (id >= 2 && id != 11) {
            classIndex[id] = classNames.size();
            classNames.push_back(name);
        }
    std::vector<Image> probs(classNames.size(), Image(w, h, 0.0f));
    for (float& v : probs[0].pixels()) v = 1.0f;
    s.stepMask = Image(w, h);
    AnalysisResult& r = s.result;
    r.width = w;
    r.height = h;
    r.pixelSize = s.scan.pixelSize;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const int id = static_cast<int>(labels.at(x, y));
            if (id == 1) r.atoms.push_back({static_cast<double>(x), static_cast<double>(y), 1.0, 0});
            if (id == 11) s.stepMask.at(x, y) = 1;
            if (!classIndex.count(id)) continue;
            for (int dy = -2; dy <= 2; ++dy)
                for (int dx = -2; dx <= 2; ++dx) {
                    const int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
                    for (auto& p : probs) p.at(xx, yy) = 0;
                    probs[classIndex[id]].at(xx, yy) = 1;
                }
        }
    InstanceOptions opt;
    opt.minAreaNm2 = 0;
    r.defects = extractDefects(probs, classNames, r.pixelSize, opt);
    // Blocked: defects and steps grown by ~0.5 nm.
    cv::Mat blocked(h, w, CV_32F, cv::Scalar(0));
    for (const Defect& d : r.defects) cv::rectangle(blocked, cv::Point(d.bbox[0], d.bbox[1]), cv::Point(d.bbox[2], d.bbox[3]), 1.0, cv::FILLED);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            if (s.stepMask.at(x, y) > 0) blocked.at<float>(y, x) = 1;
    cv::dilate(blocked, blocked, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(11, 11)));
    Image blockedImg(w, h);
    std::copy(blocked.ptr<float>(), blocked.ptr<float>() + static_cast<size_t>(w) * h, blockedImg.data());
    r.lattice.rowDirectionDeg = 0;
    r.freeRegions = findFreeRegions(blockedImg, r.pixelSize, 0.0, 3, 1.0);
    return s;
}

}  // namespace

TEST(Overlay, RealCdaFrameWithGroundTruthDetections) {
    CdaScene s = cdaScene("cda_20220822_bias_series_0030");
    ASSERT_FALSE(s.result.atoms.empty());
    ASSERT_FALSE(s.result.defects.empty());
    OverlayOptions opt;
    opt.masks.push_back({s.stepMask, {255, 200, 0}, 0.5, "step edge"});
    const RgbImage img = renderOverlay(s.scan, s.result, opt);
    const int k = overlayScale(s.scan, opt);
    EXPECT_EQ(k, 2);
    EXPECT_EQ(img.width, 1024);
    EXPECT_EQ(img.height, 1024);
    // A defect's box is drawn in its class colour just outside its bbox.
    const Defect* pick = nullptr;
    for (const Defect& d : s.result.defects)
        if (d.bbox[1] > 200 && d.bbox[1] < 400 && d.bbox[0] > 50 && d.bbox[0] < 450) {
            pick = &d;
            break;
        }
    ASSERT_NE(pick, nullptr);
    EXPECT_EQ(img.at(pick->bbox[0] * k - 1, (pick->bbox[1] + pick->bbox[3]) / 2 * k), classColor(pick->cls));
    // The scale bar is white near the bottom-left corner.
    EXPECT_EQ(img.at(24, img.height - 18), (std::array<uint8_t, 3>{255, 255, 255}));

    const auto path = std::filesystem::temp_directory_path() / "stmlens_overlay_cda_0030.png";
    writeOverlayPng(path.string(), s.scan, s.result, opt);
    EXPECT_GT(std::filesystem::file_size(path), 10000u);
    if (!std::getenv("STMLENS_KEEP_TEST_OUTPUT")) std::filesystem::remove(path);
}

TEST(Overlay, SmallScanIsEnlargedAndUnknownPixelSizeHasNoScaleBar) {
    Image scan(64, 48);
    for (int y = 0; y < 48; ++y)
        for (int x = 0; x < 64; ++x) scan.at(x, y) = static_cast<float>((x + y) % 7);
    AnalysisResult r;
    r.atoms = {{10, 10, 1, 0}};
    OverlayOptions opt;
    const RgbImage img = renderOverlay(scan, r, opt);
    EXPECT_EQ(img.width, 64 * 8);  // capped at 8x
    const int k = 8;
    // The atom dot's centre is coloured (not grey).
    const auto c = img.at(10 * k + k / 2, 10 * k + k / 2);
    EXPECT_FALSE(c[0] == c[1] && c[1] == c[2]);
    // Without a pixel size there is no bar: the bottom-left stays grey.
    const auto b = img.at(24, img.height - 18);
    EXPECT_TRUE(b[0] == b[1] && b[1] == b[2]);
    EXPECT_THROW(writeOverlayPng("/nonexistent-dir/x.png", scan, r, opt), std::exception);
}

// A step edge is drawn by its pixels, not by a box that spans the scan; unresolved areas are shaded.
TEST(Overlay, StepEdgesAsLinesAndUnresolvedShadedWithMaps) {
    const int w = 64, h = 64;
    AnalysisResult r;
    r.width = w;
    r.height = h;
    r.pixelSize = PixelSize::square(0.1);
    Defect step;
    step.id = 1;
    step.cls = "step_edge";
    step.extended = true;
    step.x = 32;
    step.y = 32;
    step.bbox[0] = 0;
    step.bbox[1] = 0;
    step.bbox[2] = 63;
    step.bbox[3] = 63;
    r.defects.push_back(step);
    AnalysisMaps maps;
    maps.levelled = Image(w, h, 0.0f);
    maps.levelled.pixelSize = r.pixelSize;
    maps.resolved = Image(w, h, 1.0f);
    for (int y = 0; y < h; ++y)
        for (int x = 48; x < w; ++x) maps.resolved.at(x, y) = 0.0f;   // right quarter unresolved
    maps.defectClasses = {"lattice", "step_edge"};
    maps.defectProb = {Image(w, h, 0.9f), Image(w, h, 0.1f)};
    for (int y = 0; y < h; ++y) {   // the diagonal is the step
        maps.defectProb[0].at(y, y) = 0.1f;
        maps.defectProb[1].at(y, y) = 0.9f;
    }
    OverlayOptions o = overlayOptionsWithMasks(resultMasks(r, maps));
    o.legend = o.scaleBar = o.freeRegions = false;
    const RgbImage img = renderOverlay(maps.levelled, r, o);
    const int k = img.width / w;
    auto px = [&](int x, int y) { return &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3]; };
    // Box corner (top-right; the step runs top-left to bottom-right) stays scan-coloured, the step pixels take
    // the step-edge colour (yellow: red and green high, blue low).
    const uint8_t* corner = px(img.width - 1 - 2 * k, 0);
    EXPECT_FALSE(corner[0] > 200 && corner[1] > 150 && corner[2] < 80);
    const uint8_t* onStep = px(10 * k + k / 2, 10 * k + k / 2);
    EXPECT_GT(onStep[0], 100);
    EXPECT_GT(onStep[1], 80);
    EXPECT_LT(onStep[2], 40);
    // Unresolved quarter: reddish shade over the black scan.
    const uint8_t* unres = px(56 * k, 40 * k);
    EXPECT_GT(unres[0], unres[1] + 20);
    const uint8_t* resolved = px(20 * k, 40 * k);
    EXPECT_LT(resolved[0], 10);
}
