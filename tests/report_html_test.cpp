// The HTML report's parts: base64, charts, report layers and terraces from maps, and the page itself.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "analysis/HtmlReport.h"
#include "analysis/ResultMasks.h"
#include "analysis/SvgPlot.h"
#include "core/Errors.h"
#include "io/Base64.h"

using namespace stmlens;

namespace {

size_t countOf(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
}

// A 100 x 80 scan at 0.2 nm/px: a vertical step edge at x = 60..61 splits it into two terraces (left 60 px wide,
// right 38 px); a contamination blob at the top left; three point defects left of the step, one right of it.
struct Fixture {
    AnalysisResult result;
    AnalysisMaps maps;
    Fixture() {
        const int w = 100, h = 80;
        result.path = "scans/<odd & name>.sxm";
        result.width = w;
        result.height = h;
        result.pixelSize = PixelSize::square(0.2);
        result.pixelSizeSource = "file";
        result.assessment.verdict = "usable";
        maps.levelled = Image(w, h);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) maps.levelled.at(x, y) = static_cast<float>(x % 4 + y % 3);
        maps.defectClasses = {"lattice", "bright", "dark", "step_edge", "contamination", "bare_si"};
        maps.defectProb.assign(6, Image(w, h));
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                int c = 0;
                if (x == 60 || x == 61) c = 3;
                else if (x < 10 && y < 10) c = 4;
                maps.defectProb[c].at(x, y) = 1.0f;
            }
        maps.resolved = Image(w, h, 1.0f);
        for (int y = 70; y < h; ++y)
            for (int x = 0; x < w; ++x) maps.resolved.at(x, y) = 0.0f;
        maps.rowDirection = Image(w, h, 30.0f);
        const double pos[4][2] = {{20, 20}, {30, 40}, {40, 60}, {80, 30}};
        for (int i = 0; i < 4; ++i) {
            Defect d;
            d.id = i;
            d.x = pos[i][0];
            d.y = pos[i][1];
            d.cls = i == 3 ? "dark" : "bright";
            d.bbox[0] = static_cast<int>(d.x) - 1, d.bbox[1] = static_cast<int>(d.y) - 1;
            d.bbox[2] = static_cast<int>(d.x) + 1, d.bbox[3] = static_cast<int>(d.y) + 1;
            d.cluster = i % 2;
            result.defects.push_back(d);
        }
        result.atoms.push_back({5.0, 5.0, 0.9, 0});
        result.atoms.push_back({50.0, 50.0, 0.8, 0});
    }
};

}  // namespace

TEST(Base64, Rfc4648Vectors) {
    auto enc = [](const std::string& s) { return base64Encode(std::vector<uint8_t>(s.begin(), s.end())); };
    EXPECT_EQ(enc(""), "");
    EXPECT_EQ(enc("f"), "Zg==");
    EXPECT_EQ(enc("fo"), "Zm8=");
    EXPECT_EQ(enc("foo"), "Zm9v");
    EXPECT_EQ(enc("foob"), "Zm9vYg==");
    EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
}

TEST(SvgPlot, BarsHistogramAndEscaping) {
    const std::string bars = svgBarChart({{"a<b", 3}, {"c", 5}}, {"Title & more", "x", "y"});
    EXPECT_EQ(countOf(bars, "<rect "), 2u);
    EXPECT_NE(bars.find("a&lt;b"), std::string::npos);
    EXPECT_NE(bars.find("Title &amp; more"), std::string::npos);
    // 6 values in 3 bins over [0, 5] (a round maximum): counts 1, 2, 3.
    const std::string hist = svgHistogram({0.5, 2.0, 2.5, 4.0, 4.5, 5.0}, 3, {"h", "", ""});
    EXPECT_EQ(countOf(hist, "<rect "), 3u);
    EXPECT_NE(hist.find(": 1</title>"), std::string::npos);
    EXPECT_NE(hist.find(": 2</title>"), std::string::npos);
    EXPECT_NE(hist.find(": 3</title>"), std::string::npos);
    EXPECT_NE(svgBarChart({}, {"empty", "", ""}).find("no data"), std::string::npos);
}

TEST(ResultMasks, AtomsClassesAndUnresolved) {
    Fixture f;
    const auto masks = resultMasks(f.result, f.maps);
    ASSERT_NE(findMask(masks, "atoms"), nullptr);
    EXPECT_EQ(findMask(masks, "atoms")->at(5, 5), 1.0f);
    EXPECT_EQ(findMask(masks, "atoms")->at(6, 6), 0.0f);
    EXPECT_EQ(findMask(masks, "lattice"), nullptr);
    ASSERT_NE(findMask(masks, "step_edge"), nullptr);
    EXPECT_EQ(findMask(masks, "step_edge")->at(60, 10), 1.0f);
    EXPECT_EQ(findMask(masks, "contamination")->at(3, 3), 1.0f);
    EXPECT_EQ(findMask(masks, "unresolved")->at(3, 75), 1.0f);
    EXPECT_EQ(findMask(masks, "unresolved")->at(3, 5), 0.0f);
    AnalysisMaps wrong = f.maps;
    wrong.defectProb[2] = Image(10, 10);
    EXPECT_THROW(resultMasks(f.result, wrong), InputError);
}

TEST(ReportScan, LayersAndTerraces) {
    Fixture f;
    ReportScanOptions opt;
    opt.maxDisplayPx = 50;   // shrinks the 100 x 80 picture to 50 x 40
    const ReportScan rs = prepareReportScan(f.result, f.maps, opt);
    EXPECT_EQ(rs.displayWidth, 50);
    EXPECT_EQ(rs.displayHeight, 40);
    ASSERT_EQ(rs.layers.size(), 3u);
    EXPECT_EQ(rs.layers[0].key, "steps");
    EXPECT_NEAR(rs.layers[0].fraction, 2.0 / 100, 1e-9);
    EXPECT_NEAR(rs.layers[1].fraction, 100.0 / 8000, 1e-9);
    // Two terraces, left (wider) first; the step (widened by 2 px each side) is on neither.
    ASSERT_EQ(rs.terraces.size(), 2u);
    EXPECT_NEAR(rs.terraces[0].areaNm2, 58 * 80 * 0.04, 1e-6);
    EXPECT_NEAR(rs.terraces[1].areaNm2, 36 * 80 * 0.04, 1e-6);
    EXPECT_EQ(rs.terraces[0].defects, 3);
    EXPECT_EQ(rs.terraces[1].defects, 1);
    EXPECT_DOUBLE_EQ(rs.terraces[0].rowDirectionDeg, 30.0);
    EXPECT_EQ(rs.defectTerrace, (std::vector<int>{0, 0, 0, 1}));
}

TEST(HtmlReport, PageHasEverySectionAndMarker) {
    Fixture f;
    std::vector<ReportScan> scans{prepareReportScan(f.result, f.maps)};
    ReportScan failed;
    failed.result.path = "broken.sxm";
    failed.error = "broken.sxm: not a Nanonis file";
    scans.push_back(failed);
    ReportRun run;
    run.generated = "2026-11-30";
    run.galleryPng = {1, 2, 3};
    const std::string html = renderHtmlReport(scans, run);
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_NE(html.find("data-scans=\"2\""), std::string::npos);
    EXPECT_NE(html.find("data-defects=\"4\""), std::string::npos);
    // Every defect twice (coloured by class and by cluster), each with a table row.
    EXPECT_EQ(countOf(html, "<rect data-marker="), 8u);
    EXPECT_EQ(countOf(html, "<tr data-defect="), 4u);
    // The file name is escaped, never raw HTML; the failed scan has a row and a section saying why.
    EXPECT_EQ(html.find("<odd & name>"), std::string::npos);
    EXPECT_NE(html.find("&lt;odd &amp; name&gt;.sxm"), std::string::npos);
    EXPECT_EQ(countOf(html, "not a Nanonis file"), 2u);
    // Pictures are inline (no external resources), the gallery included.
    EXPECT_EQ(countOf(html, "src=\"http"), 0u);
    EXPECT_NE(html.find("data:image/png;base64,AQID"), std::string::npos);
    // A 20 nm wide scan gets a 2 nm scale bar (1-2-5 steps near a fifth of the width).
    EXPECT_NE(html.find(">2 nm</text>"), std::string::npos);
}

TEST(HtmlReport, NearestNeighbourDistancesInNm) {
    Fixture f;
    const auto nn = defectNearestNeighbourNm(f.result);
    ASSERT_EQ(nn.size(), 4u);
    // (20,20)-(30,40): sqrt(500) px; (30,40)-(40,60) the same; (80,30)-(40,60): 50 px; at 0.2 nm/px.
    EXPECT_NEAR(nn[0], std::sqrt(500.0) * 0.2, 1e-9);
    EXPECT_NEAR(nn[1], std::sqrt(500.0) * 0.2, 1e-9);
    EXPECT_NEAR(nn[2], std::sqrt(500.0) * 0.2, 1e-9);
    EXPECT_NEAR(nn[3], 50.0 * 0.2, 1e-9);
}
