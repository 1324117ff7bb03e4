// Mean-shift speed and accuracy on Gaussian blobs, against scikit-learn's MeanShift on the same data.
//   bench_meanshift_speed [n=100000] [d=16] [clusters=10] [threads=2] [--no-sklearn]
// The bandwidth is estimated with quantile 0.05 (below each blob's share of the points; at scikit-learn's 0.3
// ten equal blobs merge into one). Prints the time and the adjusted Rand index against the generating blobs; when /usr/bin/python3 has
// scikit-learn, runs bench/meanshift_sklearn.py on the same points (written as .npy) and prints the ratio.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>

#include "analysis/ClusterMetrics.h"
#include "analysis/MeanShift.h"

using namespace stmlens;

namespace {
template <class T>
void writeNpy(const std::string& path, const std::vector<T>& v, size_t rows, size_t cols, const char* dtype) {
    std::string header = std::string("{'descr': '") + dtype + "', 'fortran_order': False, 'shape': (" +
                         std::to_string(rows) + (cols ? ", " + std::to_string(cols) : std::string(",")) + "), }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::ofstream f(path, std::ios::binary);
    f.write("\x93NUMPY\x01\x00", 8);
    const uint16_t len = static_cast<uint16_t>(header.size());
    f.put(static_cast<char>(len & 0xff));
    f.put(static_cast<char>(len >> 8));
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
}
}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    bool sklearn = true;
    std::vector<int> nums;
    for (const auto& a : args) {
        if (a == "--no-sklearn") sklearn = false;
        else nums.push_back(std::atoi(a.c_str()));
    }
    const int n = nums.size() > 0 ? nums[0] : 100000;
    const int d = nums.size() > 1 ? nums[1] : 16;
    const int k = nums.size() > 2 ? nums[2] : 10;
    const int threads = nums.size() > 3 ? nums[3] : 2;

    // Blobs as scikit-learn's make_blobs: centres uniform in [-10, 10]^d, unit spread.
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> box(-10, 10);
    std::normal_distribution<double> noise(0, 1);
    std::vector<std::vector<double>> centres(k, std::vector<double>(d));
    for (auto& c : centres)
        for (auto& v : c) v = box(rng);
    std::vector<float> points(static_cast<size_t>(n) * d);
    std::vector<int> truth(n);
    for (int i = 0; i < n; ++i) {
        truth[i] = i % k;
        for (int j = 0; j < d; ++j) points[static_cast<size_t>(i) * d + j] = static_cast<float>(centres[i % k][j] + noise(rng));
    }

    MeanShiftOptions opt;
    opt.threads = threads;
    const auto t0 = std::chrono::steady_clock::now();
    opt.bandwidthQuantile = 0.05;
    const double bw = estimateBandwidth(points, n, d, opt.bandwidthQuantile);
    const auto t1 = std::chrono::steady_clock::now();
    opt.bandwidth = bw;
    const MeanShiftResult r = meanShift(points, n, d, opt);
    const auto t2 = std::chrono::steady_clock::now();
    const double tBw = std::chrono::duration<double>(t1 - t0).count();
    const double tMs = std::chrono::duration<double>(t2 - t1).count();
    std::printf("stmlens meanShift: n=%d d=%d blobs=%d threads=%d\n", n, d, k, threads);
    std::printf("  bandwidth %.4f (estimated in %.3f s)\n", bw, tBw);
    std::printf("  clustering %.3f s, total %.3f s, %zu clusters, ARI %.4f, NMI %.4f\n", tMs, tBw + tMs,
                r.modes.size(), adjustedRandIndex(truth, r.labels), normalizedMutualInformation(truth, r.labels));

    const std::string script = std::string(STMLENS_SOURCE_DIR) + "/bench/meanshift_sklearn.py";
    if (!sklearn || !std::filesystem::exists(script) || !std::filesystem::exists("/usr/bin/python3")) return 0;
    if (std::system("/usr/bin/python3 -c 'import sklearn' 2>/dev/null") != 0) {
        std::printf("scikit-learn not installed for /usr/bin/python3 (apt-get install python3-sklearn); skipped\n");
        return 0;
    }
    const auto dir = std::filesystem::temp_directory_path() / ("stmlens_meanshift_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    writeNpy((dir / "points.npy").string(), points, n, d, "<f4");
    writeNpy((dir / "truth.npy").string(), truth, n, 0, "<i4");
    const std::string cmd = "/usr/bin/python3 " + script + " " + (dir / "points.npy").string() + " " +
                            (dir / "truth.npy").string() + " " + std::to_string(bw) + " " + std::to_string(threads) +
                            " > " + (dir / "out.txt").string();
    std::printf("scikit-learn MeanShift(bin_seeding=True) on the same data...\n");
    std::fflush(stdout);
    const int rc = std::system(cmd.c_str());
    std::ifstream out(dir / "out.txt");
    std::string line;
    double skSeconds = 0;
    while (std::getline(out, line)) {
        std::printf("  %s\n", line.c_str());
        if (line.rfind("seconds ", 0) == 0) skSeconds = std::atof(line.c_str() + 8);
    }
    if (rc == 0 && skSeconds > 0) std::printf("speed-up over scikit-learn: %.1fx\n", skSeconds / tMs);
    std::filesystem::remove_all(dir);
    return 0;
}
