// Simulator throughput: milliseconds per scan for each preset and a few sizes / pixel sizes.
#include <chrono>
#include <cstdio>
#include <ctime>

#include "sim/Simulator.h"

using namespace stmlens;

// Wall and CPU milliseconds per scan (CPU time is the fair figure on a shared, loaded machine).
struct Timing {
    double wall, cpu;
};
static Timing timeMs(const sim::SimParams& p, int reps, uint64_t seed0) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    size_t sink = 0;
    for (int i = 0; i < reps; ++i) sink += sim::simulate(p, seed0 + i).truth.atoms.size();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = 1000.0 * (std::clock() - c0) / CLOCKS_PER_SEC;
    if (sink == 12345678) std::printf(" ");
    return {ms / reps, cpu / reps};
}

int main() {
    std::printf("%-8s %6s %8s %10s %10s\n", "preset", "size", "px nm", "wall ms", "cpu ms");
    for (auto preset : {sim::Preset::Atomic, sim::Preset::Survey, sim::Preset::Stepped, sim::Preset::Dirty,
                        sim::Preset::BadTip, sim::Preset::Noisy, sim::Preset::Mixed}) {
        sim::SimParams p;
        p.preset = preset;
        const Timing t = timeMs(p, 40, 100);
        std::printf("%-8s %6d %8.3f %10.2f %10.2f\n", sim::presetName(preset).c_str(), 256, 0.1, t.wall, t.cpu);
    }
    struct Case { int size; double px; int reps; };
    for (Case c : {Case{128, 0.1, 100}, Case{512, 0.1, 10}, Case{512, 0.03, 10}, Case{512, 0.2, 10},
                   Case{1024, 0.2, 4}, Case{2048, 0.1, 2}, Case{2048, 0.5, 2}}) {
        sim::SimParams p;
        p.width = p.height = c.size;
        p.pixelSize = PixelSize::square(c.px);
        const Timing t = timeMs(p, c.reps, 200);
        std::printf("%-8s %6d %8.3f %10.2f %10.2f\n", "mixed", c.size, c.px, t.wall, t.cpu);
    }
    sim::SimParams clean;
    clean.artefacts = clean.distortion = false;
    clean.preset = sim::Preset::Atomic;
    const Timing t = timeMs(clean, 40, 300);
    std::printf("%-8s %6d %8.3f %10.2f %10.2f  (no artefacts, no warp)\n", "atomic", 256, 0.1, t.wall, t.cpu);
    return 0;
}
