#pragma once
// The analysis result, one per scan: the in-memory form of the stmlens.analysis/1 JSON schema
// (../shared/docs/output-schema.md). Pixel coordinates are in the input scan's own grid
// (x = column, y = row, centre of the top-left pixel at (0, 0)); *_nm = pixel coordinate * pixel size.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/PixelSize.h"

namespace stmlens {

struct AtomSite {
    double x = 0, y = 0;   // input pixels, sub-pixel
    double score = 0;      // peak probability 0..1
    int domain = -1;       // index into LatticeInfo::domains, -1 unknown
};

struct Defect {
    int id = 0;
    double x = 0, y = 0;               // centroid, input pixels
    std::string cls;                   // coarse class from the defect finder's vocabulary
    std::map<std::string, double> classScores;
    // The defect type network's probability per fine type (empty when it did not run on this defect).
    std::map<std::string, double> typeScores;
    bool extended = false;             // step edges, contamination, clusters/patches spanning several cells
    double areaNm2 = 0;
    int bbox[4] = {0, 0, 0, 0};        // x0, y0, x1, y1 inclusive, input pixels
    int cluster = -1;                  // unsupervised mean-shift cluster, -1 = not clustered / outlier
    std::vector<float> descriptor;     // multi-feature descriptor (reduced), empty if not computed
};

struct LatticeDomain {
    double rowDirectionDeg = 0;  // direction the dimer rows run, degrees from +x, counter-clockwise, [0, 180)
    double areaFraction = 0;
};

struct LatticeInfo {
    bool found = false;
    double rowDirectionDeg = 0;
    double rowPitchNm = 0;
    double dimerPitchNm = 0;
    std::string site = "atom";   // "atom" when single atoms are listed, "dimer" when only dimers/rows resolve
    std::string rowContrast = "normal";   // "inverted" when the atoms were found on the negated scan (dark rows)
    std::vector<LatticeDomain> domains;
};

struct Assessment {
    std::string verdict = "unusable";   // usable | degraded | unusable
    std::vector<std::string> reasons;
    std::map<std::string, double> scores;
    double resolvedFraction = 0;
};

struct Cluster {
    int id = 0;
    int size = 0;
    std::vector<float> centroidFeature;
    std::vector<int> exampleDefects;     // defect ids
    // Mean of the members' type network probabilities over the run (empty without a type network): what the
    // cluster most likely is, as a suggestion for naming it.
    std::map<std::string, double> typeScores;
};

struct FreeRegion {                      // defect-free rectangle, aligned to the rows
    double centerX = 0, centerY = 0;     // input pixels
    double widthNm = 0, heightNm = 0;    // along and across the rows
    double angleDeg = 0;                 // rectangle orientation (= row direction)
};

struct AnalysisResult {
    // source
    std::string path, format, channel, direction;
    // image
    int width = 0, height = 0;
    PixelSize pixelSize;
    std::string pixelSizeSource;         // file | user | calibrated
    Assessment assessment;
    LatticeInfo lattice;
    std::vector<AtomSite> atoms;
    std::vector<Defect> defects;
    std::vector<Cluster> clusters;
    std::vector<FreeRegion> freeRegions;
    double contaminationFraction = 0;
    double stepEdgeLengthNm = 0;
    std::map<std::string, std::string> models;   // role -> model name
    std::string precision;                       // inference arithmetic: "fp32" or "bf16"
    std::map<std::string, double> timingMs;
    std::vector<std::string> warnings;
};

}  // namespace stmlens
