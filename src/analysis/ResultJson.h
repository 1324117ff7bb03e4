#pragma once
// The analysis result on disk: JSON in the stmlens.analysis/1 schema (../shared/docs/output-schema.md) and
// CSV tables of atoms and defects. Every writer goes through a temporary file (never a partial output).
//
//   writeResultJson("scan.json", result);
//   AnalysisResult back = resultFromJson(nlohmann::json::parse(text));   // the same result
//   writeAtomsCsv("scan_atoms.csv", result);  writeDefectsCsv("scan_defects.csv", result);
//
// Fields beyond the schema's example (allowed: "fields may be added"): lattice.found, atoms[].domain,
// defects[].descriptor (when computed), regions.free_regions, warnings. Physical coordinates (x_nm, y_nm) are
// null when the pixel size is unknown.
#include <string>

#include <nlohmann/json.hpp>

#include "core/Result.h"

namespace stmlens {

inline constexpr const char* kResultSchema = "stmlens.analysis/1";

nlohmann::json toJson(const AnalysisResult& result);

// Throws InputError("result", ...) when the object is not an stmlens.analysis/1 result.
AnalysisResult resultFromJson(const nlohmann::json& j);

void writeResultJson(const std::string& path, const AnalysisResult& result);
// Reads a file written by writeResultJson. Throws InputError on a missing or malformed file.
AnalysisResult readResultJson(const std::string& path);

// Header "x,y,x_nm,y_nm,score,domain", one line per atom.
void writeAtomsCsv(const std::string& path, const AnalysisResult& result);
// Header "id,class,extent,x,y,x_nm,y_nm,area_nm2,bbox_x0,bbox_y0,bbox_x1,bbox_y1,score,cluster", one line per
// defect; score is the probability of the defect's own class.
void writeDefectsCsv(const std::string& path, const AnalysisResult& result);

}  // namespace stmlens
