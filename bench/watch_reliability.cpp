// Watch-folder reliability: N scans (default 200) written in bursts by a simulated instrument (some at once, some
// slowly, some partially then completed, some corrupt), with the watcher restarted in the middle. Prints how many
// good scans were analysed exactly once, lost or repeated, how many corrupt ones were reported, and the latency
// from a file's last write to its result.
//
//   bench_watch_reliability [N] [MODELS_DIR]     (no MODELS_DIR: small untrained models in a temp folder)
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include "../tests/DeployTestSupport.h"
#include "../tests/WatchScenario.h"
#include "analysis/Pipeline.h"
#include "service/Watcher.h"

using namespace stmlens;
using namespace stmlens::testing;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 200;
    TempDir work;
    std::string models = argc > 2 ? argv[2] : "";
    if (models.empty()) {
        models = work.str() + "/models";
        makeUntrainedModels(models);
    }
    PipelineOptions po;
    po.modelsDir = models;
    Pipeline pipeline(po);
    const std::string in = work.str() + "/in", out = work.str() + "/out";
    fs::create_directories(in);
    const auto files = makeScenario(n, work.str());

    WatchOptions o;
    o.dir = in;
    o.outDir = out;
    o.pixelSize = PixelSize::square(0.1);
    o.stableSeconds = 1.0;
    o.retrySeconds = 5.0;
    o.pollSeconds = 0.1;
    std::mutex m;
    std::map<std::string, int> analysed, failed;
    std::map<std::string, std::chrono::steady_clock::time_point> written;
    std::vector<double> latency;
    auto listener = [&](const WatchEvent& e) {
        std::lock_guard<std::mutex> lock(m);
        const std::string name = fs::path(e.file).filename().string();
        if (e.kind == WatchEvent::Kind::Analysed) {
            ++analysed[name];
            if (written.count(name))
                latency.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - written[name]).count());
        }
        if (e.kind == WatchEvent::Kind::Failed) ++failed[name];
    };

    const auto t0 = std::chrono::steady_clock::now();
    std::atomic<bool> stop{false};
    auto watcher = std::make_unique<Watcher>(pipeline, o, listener);
    std::thread watching([&] { watcher->run(stop); });
    for (int i = 0; i < n; ++i) {
        writeLikeInstrument(in, files[i], 1.5);
        {
            std::lock_guard<std::mutex> lock(m);
            written[files[i].name] = std::chrono::steady_clock::now();
        }
        if (i == n / 2) {   // restart in the middle
            stop = true;
            watching.join();
            watcher.reset();
            stop = false;
            watcher = std::make_unique<Watcher>(pipeline, o, listener);
            watching = std::thread([&] { watcher->run(stop); });
            std::printf("restarted the watcher after %d files\n", i + 1);
        }
        if (i % 20 == 19) std::this_thread::sleep_for(std::chrono::milliseconds(500));   // between bursts
    }
    stop = true;
    watching.join();
    o.once = true;
    stop = false;
    Watcher(pipeline, o, listener).run(stop);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    int good = 0, once = 0, lost = 0, repeated = 0, corrupt = 0, reported = 0, wrong = 0;
    for (const auto& f : files) {
        if (f.kind == ScenarioFile::Kind::Corrupt) {
            ++corrupt;
            reported += failed[f.name] == 1;
            wrong += analysed[f.name] != 0;
            continue;
        }
        ++good;
        once += analysed[f.name] == 1;
        lost += analysed[f.name] == 0;
        repeated += analysed[f.name] > 1;
        wrong += !fs::exists(out + "/" + fs::path(f.name).stem().string() + ".json");
    }
    std::sort(latency.begin(), latency.end());
    auto pct = [&](double p) { return latency.empty() ? 0.0 : latency[std::min(latency.size() - 1, size_t(p * latency.size()))]; };
    std::printf("%d scans in %.1f s: %d good, %d analysed exactly once, %d lost, %d repeated; %d corrupt, %d reported once; %d wrong\n",
                n, seconds, good, once, lost, repeated, corrupt, reported, wrong);
    std::printf("latency last write -> result: p50 %.2f s, p90 %.2f s, max %.2f s (stable time %.1f s)\n", pct(0.5), pct(0.9),
                latency.empty() ? 0.0 : latency.back(), o.stableSeconds);
    return (once == good && reported == corrupt && wrong == 0) ? 0 : 1;
}
