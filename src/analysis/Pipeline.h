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
#include "nn/DefectTypeModel.h"
#include "nn/Model.h"

namespace stmlens {

// How the atom finder reads the dimer-row contrast. Auto: as the scan is, unless the checks of
// analysis/RowContrast.h (where the bright point defects sit against the reported sites, else the atom finder's
// confidence) find the rows dark; Normal: as the scan is (bright rows); Inverted: dark rows and bright troughs
// (empty-state images at some biases), so the atoms are found on the negated scan. The checks are a guess and
// can be fooled (docs/accuracy.md); users who know their contrast say so.
enum class RowContrast { Auto, Normal, Inverted };
// "auto" | "normal" | "inverted"; anything else throws InputError naming `where`.
RowContrast parseRowContrast(const std::string& name, const std::string& where = "--row-contrast");

struct PipelineOptions {
    std::string modelsDir;               // "" = $STMLENS_MODELS, else the models/ folder next to the build
    std::optional<PixelSize> pixelSize;  // overrides the file's
    // Calibrate the pixel size from the dimer rows (0.768 nm, and the dimers or a second domain for x and y apart)
    // even when the file or pixelSize gives one: real files' calibrations are often off by 3-9 % (real survey
    // files of ../shared/data/real); where no rows show, the given pixel size is kept, with a warning.
    bool pixelSizeFromLattice = false;
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
    // Auto follows $STMLENS_ROW_CONTRAST (auto|normal|inverted) when set, for embedders (C API) without the option.
    RowContrast rowContrast = RowContrast::Auto;
    // Where dimers are reported, two sites closer than 0.3 nm (both atoms of one dimer) become one.
    bool mergeDimerAtoms = true;
    // The atom finder averaged over the scan's mirror images (Model::setMirrorAverage): atom F1 +0.001 to
    // +0.009 on every simulated row (bench_accuracy), about twice the analysis time, so off by default. Off follows
    // $STMLENS_MIRROR_AVERAGE (1|on|0|off) when set, for embedders.
    bool mirrorAverageAtoms = false;
    int freeRegions = 5;                 // largest defect-free rectangles to report
    double minFreeRegionNm2 = 4.0;
    bool keepMaps = false;               // keep per-pixel maps in AnalysisMaps (descriptors, overlays, exports)
    Precision precision = Precision::Auto;   // bf16 where the CPU runs it natively, else fp32; Auto follows
                                             // $STMLENS_PRECISION (auto|fp32|bf16) when set
};

// Settings of one call that override the pipeline's options: a service takes them per request (a bias series
// can invert the row contrast from one frame to the next).
struct CallOptions {
    std::optional<PixelSize> pixelSize;       // nullopt: the options' (else the file's)
    std::optional<RowContrast> rowContrast;   // nullopt: the options'
    std::optional<bool> pixelSizeFromLattice; // nullopt: the options'
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
    AnalysisResult analyzeFile(const std::string& path, const CallOptions& call, AnalysisMaps* maps = nullptr) const;
    AnalysisResult analyzeImage(const Image& scan, AnalysisMaps* maps = nullptr) const;
    AnalysisResult analyzeImage(const Image& scan, const CallOptions& call, AnalysisMaps* maps = nullptr) const;
    // Model names by role, for reports and the service ("types" only where the models folder has one).
    std::map<std::string, std::string> modelNames() const;
    // The defect type network of the models folder (its types/ subfolder), or null: the clustering descriptor
    // takes its probabilities (DefectDescriptorOptions::typeModel).
    const DefectTypeModel* typeModel() const;
    // Inference arithmetic in use: "fp32" or "bf16".
    std::string precisionName() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Where models are looked for when PipelineOptions::modelsDir is empty.
std::string defaultModelsDir();

}  // namespace stmlens
