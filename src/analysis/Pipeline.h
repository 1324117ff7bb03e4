#pragma once
// The whole analysis of one scan: read -> level -> scale -> assess -> segment -> locate -> report.
//
//   Pipeline pipeline(PipelineOptions{});                 // loads the three models once
//   AnalysisResult r = pipeline.analyzeFile("scan.sxm");  // or analyzeImage(image)
//   writeResultJson("scan.json", r);
//
// A Pipeline is safe to use from several threads at once (models are only read).
#include <memory>
#include <optional>
#include <string>

#include "core/Image.h"
#include "core/Result.h"
#include "nn/Model.h"

namespace stmlens {

struct PipelineOptions {
    std::string modelsDir;               // "" = $STMLENS_MODELS, else the models/ folder next to the build
    std::optional<PixelSize> pixelSize;  // overrides the file's
    std::string channel;                 // "" = the first topography-like channel
    std::string direction;               // "" = forward when there is one
    double atomThreshold = 0.5;          // peak probability for an atom
    double minDefectAreaNm2 = 0.1;
    // InstanceOptions::splitPersistence: a blob of one class with two clear probability peaks is two defects
    // (bench_accuracy: simulated dirty bright/dark F1 0.916/0.930 -> 0.943/0.979 at 0.1; real frames up too).
    double defectSplitPersistence = 0.1;
    // InstanceOptions::minMeanScore for point defects (bench_accuracy, real cda frames: held-out bright/dark F1
    // 0.631/0.582 -> 0.672/0.621 at 0.6; simulated F1 within 0.01).
    double defectMinScore = 0.6;
    // When the atom finder is unsure of its sites, check whether the row contrast is inverted (dark rows) and
    // if so find the atoms on the negated image (rowContrastInverted in Pipeline.cpp).
    bool checkRowContrast = true;
    // Where dimers are reported, two sites closer than 0.3 nm (both atoms of one dimer) become one.
    bool mergeDimerAtoms = true;
    int freeRegions = 5;                 // largest defect-free rectangles to report
    double minFreeRegionNm2 = 4.0;
    bool keepMaps = false;               // keep per-pixel maps in AnalysisMaps (descriptors, overlays, exports)
    Precision precision = Precision::Auto;   // bf16 where the CPU runs it natively, else fp32; Auto follows
                                             // $STMLENS_PRECISION (auto|fp32|bf16) when set
};

// Per-pixel outputs on the scan's own grid, for descriptors, overlays and exports.
struct AnalysisMaps {
    Image levelled;                      // levelled scan (plane + scan-line alignment)
    Image atomProb;                      // atom probability
    std::vector<Image> defectProb;       // per defect class
    std::vector<std::string> defectClasses;
    Image resolved;                      // probability the lattice is resolved
    Image rowDirection;                  // degrees, -1 unknown
};

class Pipeline {
public:
    explicit Pipeline(const PipelineOptions& options);
    ~Pipeline();
    AnalysisResult analyzeFile(const std::string& path, AnalysisMaps* maps = nullptr) const;
    // Same, with this call's pixel size overriding the file's (and the options'); nullopt = the options' value.
    AnalysisResult analyzeFile(const std::string& path, const std::optional<PixelSize>& pixelSize,
                               AnalysisMaps* maps = nullptr) const;
    AnalysisResult analyzeImage(const Image& scan, AnalysisMaps* maps = nullptr) const;
    // Model names by role, for reports and the service.
    std::map<std::string, std::string> modelNames() const;
    // Inference arithmetic in use: "fp32" or "bf16".
    std::string precisionName() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Where models are looked for when PipelineOptions::modelsDir is empty.
std::string defaultModelsDir();

}  // namespace stmlens
