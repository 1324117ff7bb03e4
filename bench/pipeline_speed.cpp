// End-to-end speed and peak memory on simulated H-Si(100) scans of 512, 1024 and 4096 px at 0.1 nm/px, side by
// side with the Python peer (bench/pipeline_peer.py: the same design and weights in python3-torch + scipy +
// scikit-learn). Analysis times are warm and in-process, without start-up and model loading (stmlens:
// Pipeline::analyzeFile, median of --runs after a warm-up; peer: its own median, measured the same way). Peak
// memory is that of a whole process (peak RSS from wait4): one `stmlens analyze` run, and the peer's run.
// Usage: bench_pipeline_speed [--sizes 512,1024,4096] [--peer-max 1024] [--runs 3] [--cli PATH] [--models DIR]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "BenchTiming.h"
#include "analysis/Pipeline.h"
#include "io/ImageWriter.h"
#include "nn/Model.h"
#include "sim/Simulator.h"

using namespace stmlens;
using bench::medianMs;
namespace fs = std::filesystem;

namespace {

struct Run {
    int status = -1;
    double wallMs = 0, peakMiB = 0;
    std::string out;
};

// Runs argv with stdout to a file; returns exit status, wall time and the child's peak RSS.
Run runProcess(const std::vector<std::string>& argv, const fs::path& stdoutFile) {
    Run r;
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
        FILE* f = std::fopen(stdoutFile.c_str(), "w");
        if (f) dup2(fileno(f), STDOUT_FILENO);
        FILE* n = std::fopen("/dev/null", "w");
        if (n) dup2(fileno(n), STDERR_FILENO);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    rusage ru{};
    wait4(pid, &status, 0, &ru);
    r.wallMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.peakMiB = ru.ru_maxrss / 1024.0;
    std::ifstream f(stdoutFile);
    std::stringstream s;
    s << f.rdbuf();
    r.out = s.str();
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<int> sizes{512, 1024, 4096};
    int peerMax = 1024, runs = 3;
    std::string cli = fs::path(argv[0]).parent_path().parent_path() / "stmlens";
    std::string models = defaultModelsDir();
    std::string precision = "auto";
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--sizes") && i + 1 < argc) {
            sizes.clear();
            std::stringstream s(argv[++i]);
            for (std::string t; std::getline(s, t, ',');) sizes.push_back(std::stoi(t));
        } else if (!std::strcmp(argv[i], "--peer-max") && i + 1 < argc) peerMax = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) runs = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--cli") && i + 1 < argc) cli = argv[++i];
        else if (!std::strcmp(argv[i], "--models") && i + 1 < argc) models = argv[++i];
        else if (!std::strcmp(argv[i], "--precision") && i + 1 < argc) precision = argv[++i];
        else {
            std::fprintf(stderr, "usage: bench_pipeline_speed [--sizes A,B] [--peer-max N] [--runs N] [--cli PATH] [--models DIR] "
                                 "[--precision auto|fp32|bf16]\n");
            return 2;
        }
    }
    const fs::path peer = fs::path(STMLENS_SOURCE_DIR) / "bench" / "pipeline_peer.py";
    const bool havePeer = fs::exists("/usr/bin/python3") &&
                          std::system("/usr/bin/python3 -c 'import torch, scipy, sklearn' > /dev/null 2>&1") == 0;
    const fs::path dir = fs::temp_directory_path() / ("stmlens_speed_" + std::to_string(getpid()));
    fs::create_directories(dir);

    PipelineOptions po;
    po.modelsDir = models;
    const auto parsed = bench::precisionArg("bench_pipeline_speed", precision);
    if (!parsed) return 2;
    po.precision = *parsed;
    setTorchThreads(2);
    Pipeline pipeline(po);
    // The peer runs the networks in the same arithmetic.
    const std::string used = pipeline.precisionName();
    std::printf("simulated H-Si(100) scans (preset atomic) at 0.1 nm/px; stmlens %s, 2 threads; models %s; networks in %s "
                "(stmlens and peer)\n", cli.c_str(), models.c_str(), used.c_str());
    if (!havePeer) std::printf("(Python peer skipped: apt-get install python3-torch python3-scipy python3-sklearn)\n");
    std::printf("\n| size | stmlens analysis ms | stmlens CLI process ms (cold) | stmlens peak MiB | peer analysis ms | peer peak MiB | peer / stmlens |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (int n : sizes) {
        sim::SimParams p;
        p.width = p.height = n;
        p.pixelSize = PixelSize::square(0.1);
        p.preset = sim::Preset::Atomic;
        Image img = sim::simulate(p, 11).image;
        const fs::path scan = dir / ("scan" + std::to_string(n) + ".npy");
        writeImage(scan.string(), img);
        const double analysisMs = medianMs(runs, [&] { (void)pipeline.analyzeFile(scan.string(), PixelSize::square(0.1)); }, 1);
        const fs::path json = dir / "out.json";
        const Run cliRun = runProcess({cli, "analyze", scan.string(), "--pixel-size", "0.1", "--json", json.string(), "--models",
                                       models, "--threads", "2", "--no-cluster", "--precision", used},
                                      dir / "cli.txt");
        const bool ok = cliRun.status == 0;
        std::printf("| %dx%d | ", n, n);
        if (!ok) {
            std::printf("failed | | | | | |\n");
            continue;
        }
        std::printf("%.0f | %.0f | %.0f | ", analysisMs, cliRun.wallMs, cliRun.peakMiB);
        if (havePeer && n <= peerMax) {
            Run r = runProcess({"/usr/bin/python3", peer.string(), scan.string(), "0.1", models, std::to_string(runs), used},
                               dir / "peer.txt");
            double ms = 0;
            if (const auto pos = r.out.find("ms_median "); pos != std::string::npos) ms = std::stod(r.out.substr(pos + 10));
            if (r.status == 0 && ms > 0)
                std::printf("%.0f | %.0f | %.2f |\n", ms, r.peakMiB, ms / analysisMs);
            else
                std::printf("failed (%d) | | |\n", r.status);
        } else {
            std::printf("- | - | - |\n");
        }
        std::fflush(stdout);
    }
    fs::remove_all(dir);
    return 0;
}
