// Inference time of the three shipped networks on a 512 x 512 scan at 0.1 nm/px (the budget: all three
// together well under 100 ms on 2 cores): levelling once, then each network's resampling, normalisation and
// prediction; then the whole pipeline (read excluded). Median of several runs after one warm-up.
// Usage: bench_inference_speed [--models DIR] [--threads N] [--runs N] [--size PX]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <functional>
#include <string>
#include <vector>

#include "BenchTiming.h"
#include "analysis/Pipeline.h"
#include "core/Level.h"
#include "nn/Model.h"
#include "nn/Preprocess.h"
#include "sim/Simulator.h"

using namespace stmlens;
using bench::medianMs;

int main(int argc, char** argv) {
    std::string models;
    int threads = 2, runs = 5, size = 512;
    std::string precisionName = "auto";
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--models") && i + 1 < argc) models = argv[++i];
        else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) runs = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--size") && i + 1 < argc) size = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--precision") && i + 1 < argc) precisionName = argv[++i];
        else {
            std::fprintf(stderr, "usage: bench_inference_speed [--models DIR] [--threads N] [--runs N] [--size PX] "
                                 "[--precision auto|fp32|bf16]\n");
            return 2;
        }
    }
    if (models.empty()) models = defaultModelsDir();
    const auto parsed = bench::precisionArg("bench_inference_speed", precisionName);
    if (!parsed) return 2;
    const Precision precision = *parsed;
    setTorchThreads(threads);
    sim::SimParams p;
    p.width = p.height = size;
    p.pixelSize = PixelSize::square(0.1);
    p.preset = sim::Preset::Atomic;
    Image scan = sim::simulate(p, 7).image;
    scan.pixelSize = p.pixelSize;

    std::printf("scan %dx%d at 0.1 nm/px, %d torch threads, median of %d runs, precision %s (CPU bf16 units: %s)\n\n", size,
                size, threads, runs, precisionName.c_str(), cpuHasFastBFloat16() ? "yes" : "no");
    std::printf("| network | parameters | input px | tile | prepare ms | predict ms | ms (prepare + predict) |\n|---|---|---|---|---|---|---|\n");
    // The pipeline levels the scan once (plane, scan lines) and prepares each network's input from that.
    Image levelled = scan;
    const double levelMs = medianMs(runs, [&] {
        levelled = scan;
        levelScan(levelled);
    }, 1);
    std::printf("| level (once, shared) | | %dx%d | | %.1f | | %.1f |\n", size, size, levelMs, levelMs);
    double sum = levelMs;
    for (const char* task : {"assess", "atoms", "defects"}) {
        Model m = Model::load(models + "/" + task, task);
        m.setPrecision(precision);
        const auto& c = m.card();
        PreparedInput in = prepareLevelledForModel(levelled, c.pixelSizeNm);
        const double prepMs = medianMs(runs, [&] { PreparedInput q = prepareLevelledForModel(levelled, c.pixelSizeNm); }, 1);
        const double predMs = medianMs(runs, [&] { auto out = m.predictImage(in.resampled.image); }, 1);
        const double ms = prepMs + predMs;
        sum += ms;
        std::printf("| %s (%s) | %zu | %dx%d | %d | %.1f | %.1f | %.1f |\n", task, c.name.c_str(), m.parameterCount(),
                    in.resampled.image.width(), in.resampled.image.height(), c.tileSize, prepMs, predMs, ms);
    }
    std::printf("| **three networks** | | | | | | **%.1f** |\n\n", sum);
    PipelineOptions po;
    po.modelsDir = models;
    po.precision = precision;
    Pipeline pipeline(po);
    std::map<std::string, std::vector<double>> stages;
    const double total = medianMs(runs, [&] {
        const AnalysisResult r = pipeline.analyzeImage(scan);
        for (const auto& [k, v] : r.timingMs) stages[k].push_back(v);
    }, 1);
    // The fastest run too: on a shared machine the median moves by a third from one minute to the next.
    const auto& totals = stages["total"];
    const double fastest = totals.empty() ? 0.0 : *std::min_element(totals.begin(), totals.end());
    std::printf("whole pipeline (analyzeImage, no file read): %.1f ms (fastest of %d: %.1f ms); median per stage:", total,
                runs, fastest);
    for (auto& [k, v] : stages) {
        std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
        if (k != "total") std::printf(" %s %.1f", k.c_str(), v[v.size() / 2]);
    }
    std::printf("\n");
    return 0;
}
