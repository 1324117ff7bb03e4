#include "analysis/ResultJson.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/Errors.h"
#include "io/AtomicFile.h"

namespace stmlens {

using nlohmann::json;

namespace {

// Fixed decimals keep files readable and diffs stable; far below any physical precision.
double rounded(double v, int decimals) {
    const double f = std::pow(10.0, decimals);
    return std::isfinite(v) ? std::round(v * f) / f : 0.0;
}
constexpr int kPx = 3, kNm = 4, kScore = 4;

json physical(double pixel, double nmPerPixel) {
    return nmPerPixel > 0 ? json(rounded(pixel * nmPerPixel, kNm)) : json(nullptr);
}

json scoreMap(const std::map<std::string, double>& m) {
    json o = json::object();
    for (const auto& [k, v] : m) o[k] = rounded(v, kScore);
    return o;
}

void writeText(const std::string& path, const std::string& text) {
    writeAtomically(path, [&](const std::string& tmp) {
        std::ofstream f(tmp, std::ios::binary);
        if (!f) throw InputError(path, "cannot open for writing");
        f << text;
        f.close();
        if (!f) throw InputError(path, "write failed");
    });
}

std::string csvField(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

std::string num(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, std::isfinite(v) ? v : 0.0);
    return buf;
}

template <class T>
T get(const json& j, const char* key, T fallback) {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? fallback : it->get<T>();
}

}  // namespace

json toJson(const AnalysisResult& r) {
    const double sx = r.pixelSize.x_nm, sy = r.pixelSize.y_nm;
    json j;
    j["schema"] = kResultSchema;
    j["source"] = {{"path", r.path}, {"format", r.format}, {"channel", r.channel}, {"direction", r.direction}};
    j["image"] = {{"width", r.width},
                  {"height", r.height},
                  {"pixel_size_nm", json::array({r.pixelSize.x_nm, r.pixelSize.y_nm})},
                  {"pixel_size_source", r.pixelSizeSource}};
    j["assessment"] = {{"verdict", r.assessment.verdict},
                       {"reasons", r.assessment.reasons},
                       {"scores", scoreMap(r.assessment.scores)},
                       {"resolved_fraction", rounded(r.assessment.resolvedFraction, kScore)}};
    json domains = json::array();
    for (const auto& d : r.lattice.domains)
        domains.push_back({{"row_direction_deg", rounded(d.rowDirectionDeg, 3)}, {"area_fraction", rounded(d.areaFraction, kScore)}});
    j["lattice"] = {{"found", r.lattice.found},
                    {"row_direction_deg", rounded(r.lattice.rowDirectionDeg, 3)},
                    {"row_pitch_nm", rounded(r.lattice.rowPitchNm, kNm)},
                    {"dimer_pitch_nm", rounded(r.lattice.dimerPitchNm, kNm)},
                    {"site", r.lattice.site},
                    {"row_contrast", r.lattice.rowContrast},
                    {"domains", domains}};
    json atoms = json::array();
    for (const auto& a : r.atoms)
        atoms.push_back({{"x", rounded(a.x, kPx)},
                         {"y", rounded(a.y, kPx)},
                         {"x_nm", physical(a.x, sx)},
                         {"y_nm", physical(a.y, sy)},
                         {"score", rounded(a.score, kScore)},
                         {"domain", a.domain}});
    j["atoms"] = std::move(atoms);
    json defects = json::array();
    for (const auto& d : r.defects) {
        json o = {{"id", d.id},
                  {"x", rounded(d.x, kPx)},
                  {"y", rounded(d.y, kPx)},
                  {"x_nm", physical(d.x, sx)},
                  {"y_nm", physical(d.y, sy)},
                  {"class", d.cls},
                  {"class_scores", scoreMap(d.classScores)},
                  {"extent", d.extended ? "extended" : "localized"},
                  {"area_nm2", rounded(d.areaNm2, kNm)},
                  {"bbox", json::array({d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3]})},
                  {"cluster", d.cluster}};
        if (!d.typeScores.empty()) o["type_scores"] = scoreMap(d.typeScores);
        if (!d.descriptor.empty()) o["descriptor"] = d.descriptor;
        defects.push_back(std::move(o));
    }
    j["defects"] = std::move(defects);
    json clusters = json::array();
    for (const auto& c : r.clusters) {
        json o = {{"id", c.id},
                  {"size", c.size},
                  {"centroid_feature", c.centroidFeature},
                  {"example_defects", c.exampleDefects}};
        if (!c.typeScores.empty()) o["type_scores"] = scoreMap(c.typeScores);
        clusters.push_back(std::move(o));
    }
    j["clusters"] = std::move(clusters);
    json free = json::array();
    for (const auto& f : r.freeRegions)
        free.push_back({{"x", rounded(f.centerX, kPx)},
                        {"y", rounded(f.centerY, kPx)},
                        {"x_nm", physical(f.centerX, sx)},
                        {"y_nm", physical(f.centerY, sy)},
                        {"width_nm", rounded(f.widthNm, kNm)},
                        {"height_nm", rounded(f.heightNm, kNm)},
                        {"angle_deg", rounded(f.angleDeg, 3)}});
    j["regions"] = {{"contamination_fraction", rounded(r.contaminationFraction, kScore)},
                    {"step_edge_length_nm", rounded(r.stepEdgeLengthNm, kNm)},
                    {"free_regions", free}};
    j["models"] = r.models;
    if (!r.precision.empty()) j["inference_precision"] = r.precision;
    json timing = json::object();
    for (const auto& [k, v] : r.timingMs) timing[k] = rounded(v, 3);
    j["timing_ms"] = timing;
    j["warnings"] = r.warnings;
    return j;
}

AnalysisResult resultFromJson(const json& j) {
    if (!j.is_object() || get<std::string>(j, "schema", "") != kResultSchema)
        throw InputError("result", std::string("not an ") + kResultSchema + " object");
    try {
        AnalysisResult r;
        const json src = j.value("source", json::object());
        r.path = get<std::string>(src, "path", "");
        r.format = get<std::string>(src, "format", "");
        r.channel = get<std::string>(src, "channel", "");
        r.direction = get<std::string>(src, "direction", "");
        const json img = j.value("image", json::object());
        r.width = get<int>(img, "width", 0);
        r.height = get<int>(img, "height", 0);
        if (img.contains("pixel_size_nm") && img["pixel_size_nm"].is_array() && img["pixel_size_nm"].size() == 2)
            r.pixelSize = {img["pixel_size_nm"][0].get<double>(), img["pixel_size_nm"][1].get<double>()};
        r.pixelSizeSource = get<std::string>(img, "pixel_size_source", "");
        const json as = j.value("assessment", json::object());
        r.assessment.verdict = get<std::string>(as, "verdict", "unusable");
        r.assessment.reasons = get<std::vector<std::string>>(as, "reasons", {});
        r.assessment.scores = get<std::map<std::string, double>>(as, "scores", {});
        r.assessment.resolvedFraction = get<double>(as, "resolved_fraction", 0.0);
        const json lat = j.value("lattice", json::object());
        r.lattice.rowDirectionDeg = get<double>(lat, "row_direction_deg", 0.0);
        r.lattice.rowPitchNm = get<double>(lat, "row_pitch_nm", 0.0);
        r.lattice.dimerPitchNm = get<double>(lat, "dimer_pitch_nm", 0.0);
        r.lattice.found = get<bool>(lat, "found", r.lattice.rowPitchNm > 0);
        r.lattice.site = get<std::string>(lat, "site", "atom");
        r.lattice.rowContrast = get<std::string>(lat, "row_contrast", "normal");
        for (const auto& d : lat.value("domains", json::array()))
            r.lattice.domains.push_back({get<double>(d, "row_direction_deg", 0.0), get<double>(d, "area_fraction", 0.0)});
        for (const auto& a : j.value("atoms", json::array())) {
            AtomSite s;
            s.x = a.at("x").get<double>();
            s.y = a.at("y").get<double>();
            s.score = get<double>(a, "score", 0.0);
            s.domain = get<int>(a, "domain", -1);
            r.atoms.push_back(s);
        }
        for (const auto& o : j.value("defects", json::array())) {
            Defect d;
            d.id = get<int>(o, "id", 0);
            d.x = o.at("x").get<double>();
            d.y = o.at("y").get<double>();
            d.cls = get<std::string>(o, "class", "");
            d.classScores = get<std::map<std::string, double>>(o, "class_scores", {});
            d.typeScores = get<std::map<std::string, double>>(o, "type_scores", {});
            d.extended = get<std::string>(o, "extent", "localized") == "extended";
            d.areaNm2 = get<double>(o, "area_nm2", 0.0);
            if (o.contains("bbox") && o["bbox"].is_array() && o["bbox"].size() == 4)
                for (int k = 0; k < 4; ++k) d.bbox[k] = o["bbox"][k].get<int>();
            d.cluster = get<int>(o, "cluster", -1);
            d.descriptor = get<std::vector<float>>(o, "descriptor", {});
            r.defects.push_back(std::move(d));
        }
        for (const auto& o : j.value("clusters", json::array())) {
            Cluster c;
            c.id = get<int>(o, "id", 0);
            c.size = get<int>(o, "size", 0);
            c.centroidFeature = get<std::vector<float>>(o, "centroid_feature", {});
            c.exampleDefects = get<std::vector<int>>(o, "example_defects", {});
            c.typeScores = get<std::map<std::string, double>>(o, "type_scores", {});
            r.clusters.push_back(std::move(c));
        }
        const json reg = j.value("regions", json::object());
        r.contaminationFraction = get<double>(reg, "contamination_fraction", 0.0);
        r.stepEdgeLengthNm = get<double>(reg, "step_edge_length_nm", 0.0);
        for (const auto& o : reg.value("free_regions", json::array())) {
            FreeRegion f;
            f.centerX = o.at("x").get<double>();
            f.centerY = o.at("y").get<double>();
            f.widthNm = get<double>(o, "width_nm", 0.0);
            f.heightNm = get<double>(o, "height_nm", 0.0);
            f.angleDeg = get<double>(o, "angle_deg", 0.0);
            r.freeRegions.push_back(f);
        }
        r.models = get<std::map<std::string, std::string>>(j, "models", {});
        r.precision = get<std::string>(j, "inference_precision", "");
        r.timingMs = get<std::map<std::string, double>>(j, "timing_ms", {});
        r.warnings = get<std::vector<std::string>>(j, "warnings", {});
        return r;
    } catch (const json::exception& e) {
        throw InputError("result", std::string("malformed: ") + e.what());
    }
}

void writeResultJson(const std::string& path, const AnalysisResult& result) {
    writeText(path, toJson(result).dump(2) + "\n");
}

AnalysisResult readResultJson(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw InputError(path, "cannot open");
    json j = json::parse(f, nullptr, false);
    if (j.is_discarded()) throw InputError(path, "not valid JSON");
    try {
        return resultFromJson(j);
    } catch (const InputError& e) {
        throw InputError(path, e.what());
    }
}

void writeAtomsCsv(const std::string& path, const AnalysisResult& r) {
    std::ostringstream out;
    out << "x,y,x_nm,y_nm,score,domain\n";
    const bool nm = r.pixelSize.known();
    for (const auto& a : r.atoms)
        out << num(a.x, kPx) << ',' << num(a.y, kPx) << ',' << (nm ? num(a.x * r.pixelSize.x_nm, kNm) : "") << ','
            << (nm ? num(a.y * r.pixelSize.y_nm, kNm) : "") << ',' << num(a.score, kScore) << ',' << a.domain << '\n';
    writeText(path, out.str());
}

void writeDefectsCsv(const std::string& path, const AnalysisResult& r) {
    std::ostringstream out;
    out << "id,class,extent,x,y,x_nm,y_nm,area_nm2,bbox_x0,bbox_y0,bbox_x1,bbox_y1,score,cluster\n";
    const bool nm = r.pixelSize.known();
    for (const auto& d : r.defects) {
        const auto it = d.classScores.find(d.cls);
        out << d.id << ',' << csvField(d.cls) << ',' << (d.extended ? "extended" : "localized") << ',' << num(d.x, kPx)
            << ',' << num(d.y, kPx) << ',' << (nm ? num(d.x * r.pixelSize.x_nm, kNm) : "") << ','
            << (nm ? num(d.y * r.pixelSize.y_nm, kNm) : "") << ',' << num(d.areaNm2, kNm) << ',' << d.bbox[0] << ','
            << d.bbox[1] << ',' << d.bbox[2] << ',' << d.bbox[3] << ','
            << (it != d.classScores.end() ? num(it->second, kScore) : "") << ',' << d.cluster << '\n';
    }
    writeText(path, out.str());
}

}  // namespace stmlens
