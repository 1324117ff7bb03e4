#pragma once
// Training of the defect type network (nn/DefectTypeModel.h) on simulated scans: each scan is levelled and scaled
// as the pipeline does it, and every point defect of its truth gives one window at its true position moved by up
// to jitterNm (detections sit off the truth by that much), turned to the rows of its terrace.
//
//   DefectTypeTrainOptions o; o.outDir = "models/types"; o.scans = 3000;
//   DefectTypeReport r = trainDefectTypes(o);
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/DefectTypeModel.h"
#include "sim/Simulator.h"

namespace stmlens {

struct TypedWindows {
    int side = 0;
    std::vector<float> windows;   // n x side x side
    std::vector<int> labels;      // index into defectTypeNames()
    size_t size() const { return labels.size(); }
};

// Row direction (degrees, counter-clockwise on screen, [0, 180)) of a simulated scan at a pixel position:
// perpendicular to the bond of the nearest dimer whose two atoms are listed; NAN when none is.
double simulatedRowDirection(const sim::SimSample& sample, double x, double y);

// Windows of every point defect of a simulated scan whose type the model knows; jitter seeded by `seed`.
void appendSimulatedWindows(const sim::SimSample& sample, const DefectTypeModel& model, double jitterNm, uint64_t seed,
                            TypedWindows& out);

struct DefectTypeTrainOptions {
    std::string outDir;          // best model (weights.pt + card.json) and log.csv
    std::string name;            // the card's model name ("" = types-v1)
    int scans = 3000;            // simulated training scans (256 x 256, 0.07-0.14 nm/px, presets below)
    int validationScans = 300;   // simulated validation scans (another seed range)
    int epochs = 30;
    double minutes = 0;          // stop after this much wall time (0 = no limit)
    int batch = 128;
    double learningRate = 2e-3;
    uint64_t seed = 1;
    int threads = 2;
    int width = 16;
    DescriptorOptions window{2.5, 32};
    double jitterNm = 0.25;
    bool progress = true;
    std::string command;         // recorded in the card
};

struct DefectTypeReport {
    int epochs = 0;
    double minutes = 0;
    size_t trainWindows = 0, validationWindows = 0;
    nlohmann::json bestMetrics;
};

// Validation metrics of a model on windows: accuracy, per-type recall and counts, "score" = accuracy.
nlohmann::json evaluateDefectTypes(const DefectTypeModel& model, const TypedWindows& data);

DefectTypeReport trainDefectTypes(const DefectTypeTrainOptions& options);

}  // namespace stmlens
