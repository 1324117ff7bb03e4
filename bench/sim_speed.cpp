// Simulator throughput: milliseconds per scan for each preset and a few sizes / pixel sizes.
#include <chrono>
#include <cstdio>

#include "sim/Simulator.h"

using namespace stmlens;

static double timeMs(const sim::SimParams& p, int reps, uint64_t seed0) {
    const auto t0 = std::chrono::steady_clock::now();
    size_t sink = 0;
    for (int i = 0; i < reps; ++i) sink += sim::simulate(p, seed0 + i).truth.atoms.size();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (sink == 12345678) std::printf(" ");
    return ms / reps;
}

int main() {
    std::printf("%-8s %6s %8s %10s\n", "preset", "size", "px nm", "ms/scan");
    for (auto preset : {sim::Preset::Atomic, sim::Preset::Survey, sim::Preset::Stepped, sim::Preset::Dirty,
                        sim::Preset::BadTip, sim::Preset::Noisy, sim::Preset::Mixed}) {
        sim::SimParams p;
        p.preset = preset;
        std::printf("%-8s %6d %8.3f %10.2f\n", sim::presetName(preset).c_str(), 256, 0.1, timeMs(p, 40, 100));
    }
    struct Case { int size; double px; int reps; };
    for (Case c : {Case{128, 0.1, 100}, Case{512, 0.1, 10}, Case{512, 0.03, 10}, Case{512, 0.2, 10},
                   Case{1024, 0.2, 4}, Case{2048, 0.1, 2}, Case{2048, 0.5, 2}}) {
        sim::SimParams p;
        p.width = p.height = c.size;
        p.pixelSize = PixelSize::square(c.px);
        std::printf("%-8s %6d %8.3f %10.2f\n", "mixed", c.size, c.px, timeMs(p, c.reps, 200));
    }
    sim::SimParams clean;
    clean.artefacts = clean.distortion = false;
    clean.preset = sim::Preset::Atomic;
    std::printf("%-8s %6d %8.3f %10.2f  (no artefacts, no warp)\n", "atomic", 256, 0.1, timeMs(clean, 40, 300));
    return 0;
}
