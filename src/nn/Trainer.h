#pragma once
// The training loop: samples generated on the fly in background threads (every seed used once),
// augmentation, class-balanced cross-entropy + Dice, Adam with a cosine schedule, a fixed validation set,
// best-checkpoint keeping, early stopping, resume, a progress line with ETA and a CSV log.
//
//   TrainOptions o; o.outDir = "models/defects"; o.minutes = 30;
//   TrainReport r = trainModel(model, generator, o, evaluate);
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/Model.h"
#include "nn/TrainingSample.h"

namespace stmlens {

struct TrainOptions {
    std::string outDir;            // best model (weights.pt + card.json), checkpoint.pt, log.csv
    int steps = 0;                 // stop after this many steps (0 = no step limit)
    double minutes = 0;            // stop after this much wall time (0 = no time limit)
    int batch = 8;
    double learningRate = 2e-3;
    uint64_t seed = 1;             // training samples use seeds seed*1e9 + i; validation uses a disjoint range
    int threads = 2;               // LibTorch threads
    int loaderThreads = 1;         // sample generator threads
    int validationCount = 32;
    int validateEvery = 100;       // steps
    int patience = 8;              // validations without improvement before stopping
    bool resume = false;           // continue from outDir/checkpoint.pt
    bool progress = true;          // progress line on a terminal
    AugmentOptions augmentation;
    bool augment = true;
    std::string command;           // recorded in the card
    SampleGenerator validation;    // when set, the validation set comes from here (e.g. held-out real scans)
    std::string metricsKey = "validation_simulated";   // where the card keeps the best validation metrics
    // When set, testCount samples from here are scored with each new best checkpoint and kept in the card under
    // testMetricsKey; they never decide which checkpoint is best (frames kept apart from the validation ones).
    SampleGenerator test;
    int testCount = 32;
    std::string testMetricsKey = "test_real";
};

// Evaluates the model on the fixed validation set: returns metrics; "score" (higher is better) picks the best.
using Evaluator = std::function<nlohmann::json(const Model&, const std::vector<TrainingSample>&)>;

struct TrainReport {
    int steps = 0;
    double minutes = 0;
    double firstLoss = 0, lastLoss = 0;   // mean training loss over the first and last 20 steps
    nlohmann::json bestMetrics;
    bool stoppedEarly = false;
};

TrainReport trainModel(Model& model, const SampleGenerator& generator, const TrainOptions& options,
                       const Evaluator& evaluate);

// Fraction of pixels per class over samples -> inverse-sqrt-frequency class weights, normalised to mean 1.
std::vector<float> classWeights(const std::vector<TrainingSample>& samples, int classes);

}  // namespace stmlens
