#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "analysis/ResultJson.h"
#include "core/Errors.h"

using namespace stmlens;
using nlohmann::json;

namespace {

AnalysisResult sample() {
    AnalysisResult r;
    r.path = "scan.sxm";
    r.format = "nanonis-sxm";
    r.channel = "Z";
    r.direction = "forward";
    r.width = 512;
    r.height = 480;
    r.pixelSize = {0.098, 0.1};
    r.pixelSizeSource = "file";
    r.assessment.verdict = "degraded";
    r.assessment.reasons = {"double_tip"};
    r.assessment.scores = {{"usable", 0.2}, {"double_tip", 0.7}};
    r.assessment.resolvedFraction = 0.91;
    r.lattice.found = true;
    r.lattice.rowDirectionDeg = 90.5;
    r.lattice.rowPitchNm = 0.77;
    r.lattice.dimerPitchNm = 0.385;
    r.lattice.site = "dimer";
    r.lattice.rowContrast = "inverted";
    r.lattice.domains = {{90.5, 0.7}, {0.4, 0.3}};
    r.atoms = {{10.25, 33.9, 0.98, 0}, {11.5, 40.125, 0.75, 1}};
    Defect d;
    d.id = 1;
    d.x = 120.4;
    d.y = 87.0;
    d.cls = "bright";
    d.classScores = {{"bright", 0.9}, {"dark", 0.05}};
    d.typeScores = {{"siloxane", 0.7}, {"dangling_bond", 0.3}};
    d.extended = false;
    d.areaNm2 = 0.6;
    d.bbox[0] = 116, d.bbox[1] = 83, d.bbox[2] = 125, d.bbox[3] = 91;
    d.cluster = 3;
    d.descriptor = {0.5f, -1.25f};
    Defect e = d;
    e.id = 2;
    e.cls = "step,edge";  // a comma, to check CSV quoting
    e.extended = true;
    e.cluster = -1;
    e.descriptor.clear();
    e.typeScores.clear();
    r.defects = {d, e};
    r.clusters = {{3, 41, {0.1f, 0.2f}, {1, 7, 9}, {{"siloxane", 0.8}, {"dangling_bond", 0.2}}}};
    r.freeRegions = {{200.5, 100.25, 12.5, 4.0, 90.5}};
    r.contaminationFraction = 0.02;
    r.stepEdgeLengthNm = 48;
    r.models = {{"atoms", "atoms-v1"}, {"defects", "defects-v1"}};
    r.timingMs = {{"total", 180.0}};
    r.warnings = {"pixel size calibrated from the lattice"};
    return r;
}

std::string tempPath(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("stmlens_resultjson_" + name)).string();
}

std::vector<std::string> lines(const std::string& path) {
    std::ifstream f(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(f, l);) out.push_back(l);
    return out;
}

}  // namespace

TEST(ResultJson, HasEverySchemaField) {
    const json j = toJson(sample());
    EXPECT_EQ(j["schema"], "stmlens.analysis/1");
    for (const char* k : {"source", "image", "assessment", "lattice", "atoms", "defects", "clusters", "regions", "models", "timing_ms"})
        EXPECT_TRUE(j.contains(k)) << k;
    for (const char* k : {"path", "format", "channel", "direction"}) EXPECT_TRUE(j["source"].contains(k)) << k;
    EXPECT_EQ(j["image"]["pixel_size_nm"], json::array({0.098, 0.1}));
    EXPECT_EQ(j["image"]["pixel_size_source"], "file");
    for (const char* k : {"verdict", "reasons", "scores", "resolved_fraction"}) EXPECT_TRUE(j["assessment"].contains(k)) << k;
    for (const char* k : {"row_direction_deg", "row_pitch_nm", "dimer_pitch_nm", "domains", "site", "row_contrast"})
        EXPECT_TRUE(j["lattice"].contains(k)) << k;
    EXPECT_EQ(j["lattice"]["site"], "dimer");
    EXPECT_EQ(j["lattice"]["row_contrast"], "inverted");
    const json& a = j["atoms"][0];
    EXPECT_DOUBLE_EQ(a["x"].get<double>(), 10.25);
    EXPECT_NEAR(a["x_nm"].get<double>(), 10.25 * 0.098, 1e-4);
    EXPECT_NEAR(a["y_nm"].get<double>(), 33.9 * 0.1, 1e-4);
    const json& d = j["defects"][0];
    for (const char* k : {"id", "x", "y", "x_nm", "y_nm", "class", "class_scores", "extent", "area_nm2", "bbox", "cluster"})
        EXPECT_TRUE(d.contains(k)) << k;
    EXPECT_EQ(d["extent"], "localized");
    EXPECT_EQ(j["defects"][1]["extent"], "extended");
    EXPECT_EQ(d["bbox"], json::array({116, 83, 125, 91}));
    EXPECT_EQ(d["type_scores"]["siloxane"], 0.7);
    EXPECT_FALSE(j["defects"][1].contains("type_scores"));   // written only where the type network ran
    for (const char* k : {"id", "size", "centroid_feature", "example_defects"}) EXPECT_TRUE(j["clusters"][0].contains(k)) << k;
    for (const char* k : {"contamination_fraction", "step_edge_length_nm", "free_regions"})
        EXPECT_TRUE(j["regions"].contains(k)) << k;
    EXPECT_EQ(j["timing_ms"]["total"], 180.0);
}

TEST(ResultJson, RoundTripThroughAFile) {
    const AnalysisResult r = sample();
    const std::string path = tempPath("roundtrip.json");
    writeResultJson(path, r);
    const AnalysisResult b = readResultJson(path);
    std::filesystem::remove(path);
    EXPECT_EQ(toJson(b), toJson(r));
    EXPECT_EQ(b.path, r.path);
    EXPECT_EQ(b.width, 512);
    EXPECT_DOUBLE_EQ(b.pixelSize.y_nm, 0.1);
    ASSERT_EQ(b.atoms.size(), 2u);
    EXPECT_EQ(b.atoms[1].domain, 1);
    ASSERT_EQ(b.defects.size(), 2u);
    EXPECT_EQ(b.defects[0].descriptor, r.defects[0].descriptor);
    EXPECT_EQ(b.defects[0].typeScores, r.defects[0].typeScores);
    EXPECT_TRUE(b.defects[1].typeScores.empty());
    ASSERT_EQ(b.clusters.size(), 1u);
    EXPECT_EQ(b.clusters[0].typeScores, r.clusters[0].typeScores);
    EXPECT_TRUE(b.defects[1].extended);
    EXPECT_EQ(b.defects[1].cls, "step,edge");
    EXPECT_EQ(b.lattice.domains.size(), 2u);
    EXPECT_EQ(b.lattice.rowContrast, "inverted");
    ASSERT_EQ(b.freeRegions.size(), 1u);
    EXPECT_DOUBLE_EQ(b.freeRegions[0].widthNm, 12.5);
    EXPECT_EQ(b.warnings, r.warnings);
}

TEST(ResultJson, ReadsTheSchemaDocumentsExample) {
    std::ifstream f(std::string(STMLENS_SHARED_DIR) + "/docs/output-schema.md");
    ASSERT_TRUE(f) << "output-schema.md";
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string md = ss.str();
    const size_t start = md.find("```json"), end = md.find("```", start + 7);
    ASSERT_NE(start, std::string::npos);
    const json example = json::parse(md.substr(start + 7, end - start - 7));
    const AnalysisResult r = resultFromJson(example);
    EXPECT_EQ(r.format, "nanonis-sxm");
    ASSERT_EQ(r.atoms.size(), 1u);
    EXPECT_DOUBLE_EQ(r.atoms[0].y, 33.9);
    ASSERT_EQ(r.defects.size(), 1u);
    EXPECT_EQ(r.defects[0].cls, "bright");
    EXPECT_EQ(r.defects[0].cluster, 3);
    EXPECT_EQ(r.defects[0].bbox[2], 125);
    EXPECT_EQ(r.clusters[0].exampleDefects, (std::vector<int>{1, 7, 9}));
    EXPECT_DOUBLE_EQ(r.stepEdgeLengthNm, 48.0);
    EXPECT_EQ(r.models.at("atoms"), "atoms-v1");
}

TEST(ResultJson, RejectsOtherObjectsAndBadFiles) {
    EXPECT_THROW(resultFromJson(json{{"schema", "other/1"}}), InputError);
    EXPECT_THROW(resultFromJson(json::array()), InputError);
    json bad = toJson(sample());
    bad["atoms"][0].erase("x");
    EXPECT_THROW(resultFromJson(bad), InputError);
    const std::string path = tempPath("bad.json");
    { std::ofstream(path) << "{not json"; }
    EXPECT_THROW(readResultJson(path), InputError);
    std::filesystem::remove(path);
    EXPECT_THROW(readResultJson(tempPath("missing.json")), InputError);
}

TEST(ResultJson, UnknownPixelSizeGivesNullPhysicalCoordinates) {
    AnalysisResult r = sample();
    r.pixelSize = {};
    const json j = toJson(r);
    EXPECT_TRUE(j["atoms"][0]["x_nm"].is_null());
    EXPECT_NO_THROW(resultFromJson(j));
}

TEST(ResultJson, CsvTables) {
    const AnalysisResult r = sample();
    const std::string atoms = tempPath("atoms.csv"), defects = tempPath("defects.csv");
    writeAtomsCsv(atoms, r);
    writeDefectsCsv(defects, r);
    auto a = lines(atoms), d = lines(defects);
    std::filesystem::remove(atoms);
    std::filesystem::remove(defects);
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(a[0], "x,y,x_nm,y_nm,score,domain");
    EXPECT_EQ(a[1], "10.250,33.900,1.0045,3.3900,0.9800,0");
    ASSERT_EQ(d.size(), 3u);
    EXPECT_EQ(d[0], "id,class,extent,x,y,x_nm,y_nm,area_nm2,bbox_x0,bbox_y0,bbox_x1,bbox_y1,score,cluster");
    EXPECT_EQ(d[1], "1,bright,localized,120.400,87.000,11.7992,8.7000,0.6000,116,83,125,91,0.9000,3");
    EXPECT_EQ(d[2].substr(0, 24), "2,\"step,edge\",extended,1");
}
