#pragma once
// One self-contained HTML page for a run of `stmlens analyze` (pictures inline as data: URLs, no network
// access): a summary row per scan, then per scan the verdict and its reasons, the picture with switchable
// overlays (atoms, defects by class or by cluster, step edges, contamination, unresolved regions, defect-free
// rectangles) and a physical scale bar, plots (defects per class and cluster, density per terrace, nearest-
// neighbour distances), and a defect table whose rows point at the defect in the picture; the run's cluster
// gallery at the end.
//
//   std::vector<ReportScan> scans{prepareReportScan(result, maps)};
//   writeHtmlReport("report.html", scans, ReportRun{});
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "analysis/ReportScan.h"

namespace stmlens {

struct ReportRun {
    std::string title = "stmlens report";
    std::string generated;                       // when, as text (empty = now, local time)
    std::string command;                         // the command line, shown for reproducibility
    std::map<std::string, std::string> models;   // role -> model name
    std::vector<uint8_t> galleryPng;             // the run's cluster gallery; empty = none
};

std::string renderHtmlReport(const std::vector<ReportScan>& scans, const ReportRun& run);

// Written atomically. Throws InputError when the file cannot be written.
void writeHtmlReport(const std::string& path, const std::vector<ReportScan>& scans, const ReportRun& run);

// Nearest-neighbour distances (nm) between the localized defects of a result; empty with fewer than two.
std::vector<double> defectNearestNeighbourNm(const AnalysisResult& result);

}  // namespace stmlens
