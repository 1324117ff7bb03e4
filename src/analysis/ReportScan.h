#pragma once
// What the HTML report needs of one scan, taken from the per-pixel maps while they exist (the maps of a
// large batch cannot all be kept until the run is clustered): a picture of the levelled scan, translucent mask
// layers, and the terraces (regions between step edges) with the defects on each.
//
//   AnalysisMaps maps;  AnalysisResult r = pipeline.analyzeFile(path, &maps);
//   ReportScan rs = prepareReportScan(r, maps);      // maps may go after this
//   rs.result = r;                                   // the final result, after run-level clustering
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/Pipeline.h"
#include "core/Result.h"

namespace stmlens {

struct ReportLayer {
    std::string key, label;              // "steps", "Step edges"
    std::array<uint8_t, 3> rgb{};
    std::vector<uint8_t> png;            // RGBA PNG on the display grid
    double fraction = 0;                 // of the scan area
};

struct Terrace {
    double areaNm2 = 0;
    int defects = 0;
    double rowDirectionDeg = -1;         // most common row direction on it, -1 unknown
    double densityPer100Nm2() const { return areaNm2 > 0 ? 100.0 * defects / areaNm2 : 0.0; }
};

struct ReportScan {
    AnalysisResult result;
    std::string error;                   // set for a scan that could not be analysed (the rest is empty)
    int displayWidth = 0, displayHeight = 0;
    std::vector<uint8_t> imagePng;       // levelled scan, grey, robust contrast, display grid
    std::vector<ReportLayer> layers;
    std::vector<Terrace> terraces;       // largest first
    std::vector<int> defectTerrace;      // per defect of the result at preparation time: index or -1 (on a step)
};

struct ReportScanOptions {
    int maxDisplayPx = 1024;             // longer side of the embedded picture (larger scans are shrunk)
    double minTerraceFraction = 0.01;    // smaller regions between steps are not terraces
};

// Throws InputError when the maps are missing or not on the result's grid.
ReportScan prepareReportScan(const AnalysisResult& result, const AnalysisMaps& maps,
                             const ReportScanOptions& options = {});

}  // namespace stmlens
