// Accuracy of a defect type network (models/types) on simulated scans it was not trained on, split by preset and
// imaging mode, with the confusion table: which fine types it cannot yet tell apart, and where.
// Run: bench_type_accuracy [--types DIR] [--scans N] [--jitter NM] [--seed S]
//   --scans   simulated 256 x 256 scans per preset and imaging mode (default 12), pixel size 0.07-0.14 nm/px
//   --jitter  windows moved off the true position by up to this much, as detections are (default 0.25 nm)
//   --seed    first simulator seed (default 3000000000: no training command uses seeds this far)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "analysis/Pipeline.h"
#include "nn/DefectTypeModel.h"
#include "nn/DefectTypeTraining.h"
#include "sim/Rng.h"
#include "sim/Simulator.h"

using namespace stmlens;

int main(int argc, char** argv) {
    std::string typesDir = defaultModelsDir() + "/types";
    int scans = 12;
    double jitter = 0.25;
    uint64_t seed = 3000000000ull;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--types") typesDir = next();
        else if (a == "--scans") scans = std::atoi(next());
        else if (a == "--jitter") jitter = std::atof(next());
        else if (a == "--seed") seed = std::strtoull(next(), nullptr, 10);
        else {
            std::fprintf(stderr, "usage: bench_type_accuracy [--types DIR] [--scans N] [--jitter NM] [--seed S]\n");
            return 2;
        }
    }
    if (scans < 1) {
        std::fprintf(stderr, "--scans must be at least 1\n");
        return 2;
    }
    const DefectTypeModel model = DefectTypeModel::load(typesDir);
    const auto& names = model.card().classes;
    const int k = static_cast<int>(names.size());
    std::printf("type network %s (%s), %d scans per preset and mode, jitter %.2f nm, seeds from %llu\n\n",
                model.card().name.c_str(), typesDir.c_str(), scans, jitter, static_cast<unsigned long long>(seed));

    const std::vector<sim::Preset> presets = {sim::Preset::Atomic, sim::Preset::Dirty, sim::Preset::Stepped,
                                              sim::Preset::Noisy, sim::Preset::BadTip};
    const std::vector<std::pair<sim::SimMode, const char*>> modes = {{sim::SimMode::FilledState, "filled"},
                                                                      {sim::SimMode::EmptyState, "empty"},
                                                                      {sim::SimMode::ConstantHeight, "current"}};
    TypedWindows all;
    std::printf("| preset | filled | empty | current | windows |\n|---|---:|---:|---:|---:|\n");
    uint64_t s = seed;
    for (sim::Preset preset : presets) {
        std::printf("| %s |", presetName(preset).c_str());
        size_t windows = 0;
        for (const auto& [mode, modeName] : modes) {
            TypedWindows w;
            for (int i = 0; i < scans; ++i, ++s) {
                sim::Rng rng(s);
                sim::SimParams p;
                p.width = p.height = 256;
                p.preset = preset;
                p.mode = mode;
                p.pixelSize = PixelSize::square(rng.logUniform(0.07, 0.14));
                appendSimulatedWindows(sim::simulate(p, s), model, jitter, rng.next(), w);
            }
            const nlohmann::json j = evaluateDefectTypes(model, w);
            std::printf(" %.3f |", j["accuracy"].get<double>());
            windows += w.size();
            all.side = w.side;
            all.windows.insert(all.windows.end(), w.windows.begin(), w.windows.end());
            all.labels.insert(all.labels.end(), w.labels.begin(), w.labels.end());
        }
        std::printf(" %zu |\n", windows);
    }
    const nlohmann::json j = evaluateDefectTypes(model, all);
    std::printf("\nall: accuracy %.3f over %zu windows\n\nconfusion (rows: true type, columns: predicted; share of the "
                "row, %%)\n\n| true \\ predicted | n |",
                j["accuracy"].get<double>(), all.size());
    std::vector<int> present;
    for (int c = 0; c < k; ++c)
        if (j["confusion"].contains(names[c])) present.push_back(c);
    for (int c : present) std::printf(" %.8s |", names[c].c_str());
    std::printf("\n|---|---:|");
    for (size_t c = 0; c < present.size(); ++c) std::printf("---:|");
    std::printf("\n");
    for (int t : present) {
        const auto& row = j["confusion"][names[t]];
        const int n = j["recall"][names[t]]["n"].get<int>();
        std::printf("| %s | %d |", names[t].c_str(), n);
        for (int c : present) {
            const int v = row.value(names[c], 0);
            if (v) std::printf(" %.0f |", 100.0 * v / n);
            else std::printf(" |");
        }
        std::printf("\n");
    }
    return 0;
}
