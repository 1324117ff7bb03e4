// Timings of the network-independent analysis steps on synthetic maps of 512x512 and 2048x2048:
// peaks (atom map -> sub-pixel sites), instances (per-class maps -> defects), lattice calibration (power
// spectrum), domain map, free regions, overlay rendering. Prints one line per step and size (median of several runs).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numbers>
#include <random>
#include <vector>

#include "BenchTiming.h"
#include "analysis/FreeRegions.h"
#include "analysis/Instances.h"
#include "analysis/LatticeCalibration.h"
#include "analysis/Overlay.h"
#include "analysis/Peaks.h"

using namespace stmlens;
using bench::medianMs;

namespace {

// Atom probability map: Gaussian blobs on a 2x1-like lattice (3.9 px along x, 7.7 px across), 0.1 nm/px.
Image atomMap(int n) {
    Image img(n, n);
    for (double cy = 2; cy < n; cy += 7.7)
        for (double cx = 2; cx < n; cx += 3.9)
            for (int y = std::max(0, static_cast<int>(cy) - 3); y <= std::min(n - 1, static_cast<int>(cy) + 3); ++y)
                for (int x = std::max(0, static_cast<int>(cx) - 3); x <= std::min(n - 1, static_cast<int>(cx) + 3); ++x)
                    img.at(x, y) = std::max(img.at(x, y), static_cast<float>(std::exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / 1.6)));
    return img;
}

// Four-class maps (lattice, bright, dark, step_edge) with ~1 defect per 25 nm^2.
std::vector<Image> classMaps(int n) {
    std::vector<Image> p{Image(n, n, 0.94f), Image(n, n, 0.02f), Image(n, n, 0.02f), Image(n, n, 0.02f)};
    std::mt19937 rng(1);
    std::uniform_int_distribution<int> pos(0, n - 8), cls(1, 2);
    for (int i = 0; i < n * n / 2500; ++i) {
        const int x0 = pos(rng), y0 = pos(rng), c = cls(rng);
        for (int y = y0; y < y0 + 6; ++y)
            for (int x = x0; x < x0 + 6; ++x) {
                for (auto& m : p) m.at(x, y) = 0.05f;
                p[c].at(x, y) = 0.85f;
            }
    }
    for (int x = 0; x < n; ++x)
        for (int y = n / 2; y < n / 2 + 3; ++y) {
            for (auto& m : p) m.at(x, y) = 0.05f;
            p[3].at(x, y) = 0.85f;
        }
    return p;
}

Image stripes(int n, double deg, double pitch) {
    Image img(n, n);
    const double a = deg * std::numbers::pi / 180, nx = std::sin(a), ny = std::cos(a);
    std::mt19937 rng(2);
    std::normal_distribution<float> noise(0.0f, 1.0f);
    for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x)
            img.at(x, y) = static_cast<float>(std::cos(2 * std::numbers::pi * (nx * x + ny * y) / pitch)) + noise(rng);
    return img;
}

}  // namespace

int main() {
    std::printf("%-28s %10s %10s %12s\n", "step", "size", "ms", "result");
    for (int n : {512, 2048}) {
        const int runs = n <= 512 ? 15 : 5;
        const Image atoms = atomMap(n);
        size_t found = 0;
        double ms = medianMs(runs, [&] { found = findPeaks(atoms, 0.5, 2.5).size(); });
        std::printf("%-28s %5dx%-4d %10.2f %9zu sites\n", "peaks", n, n, ms, found);

        const auto maps = classMaps(n);
        const std::vector<std::string> names{"lattice", "bright", "dark", "step_edge"};
        ms = medianMs(runs, [&] { found = extractDefects(maps, names, PixelSize::square(0.1)).size(); });
        std::printf("%-28s %5dx%-4d %10.2f %9zu defects\n", "instances (4 classes)", n, n, ms, found);

        const Image rows = stripes(n, 30, 7.7);
        double pitch = 0;
        ms = medianMs(runs, [&] {
            auto px = calibratePixelSize(rows);
            pitch = px ? kRowPitchNm / px->x_nm : 0;
        });
        std::printf("%-28s %5dx%-4d %10.2f %9.3f px pitch\n", "lattice calibration", n, n, ms, pitch);

        const auto lattices = findRowLattices(rows);
        ms = medianMs(std::max(3, runs / 3), [&] { mapDomains(rows, lattices, 64); });
        std::printf("%-28s %5dx%-4d %10.2f\n", "domain map (64 px windows)", n, n, ms);

        Image blocked(n, n);
        for (const Image& m : {maps[1], maps[2], maps[3]})
            for (size_t i = 0; i < blocked.size(); ++i)
                if (m.data()[i] > 0.5f) blocked.data()[i] = 1;
        ms = medianMs(std::max(3, runs / 3), [&] { found = findFreeRegions(blocked, PixelSize::square(0.1), 30.0, 5, 1.0).size(); });
        std::printf("%-28s %5dx%-4d %10.2f %9zu regions\n", "free regions (top 5, 30 deg)", n, n, ms, found);

        AnalysisResult result;
        result.pixelSize = PixelSize::square(0.1);
        result.atoms = findPeaks(atoms, 0.5, 2.5);
        result.defects = extractDefects(maps, names, result.pixelSize);
        size_t bytes = 0;
        ms = medianMs(3, [&] { bytes = renderOverlay(rows, result).rgb.size(); });
        std::printf("%-28s %5dx%-4d %10.2f %9.1f MB rgb\n", "overlay render", n, n, ms, bytes / 1e6);
    }
    return 0;
}
