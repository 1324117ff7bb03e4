// HTTP service under load: R requests (default 1000) from 8 concurrent clients on loopback, 10 % malformed.
// Prints status counts, latency percentiles, and the process's RSS before and after.
//
//   bench_serve_load [REQUESTS] [MODELS_DIR]     (no MODELS_DIR: small untrained models in a temp folder)
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "../tests/DeployTestSupport.h"
#include "analysis/Pipeline.h"
#include "analysis/ResultJson.h"
#include "io/NpyReader.h"
#include "service/http/HttpService.h"
#include "sim/Simulator.h"

using namespace stmlens;
using namespace stmlens::testing;

namespace {
double rssMiB() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
    return 0;
}
}  // namespace

int main(int argc, char** argv) {
    const int requests = argc > 1 ? std::atoi(argv[1]) : 1000;
    const int clients = 8;
    TempDir work;
    std::string models = argc > 2 ? argv[2] : "";
    if (models.empty()) {
        models = work.str() + "/models";
        makeUntrainedModels(models);
    }
    PipelineOptions po;
    po.modelsDir = models;
    Pipeline pipeline(po);
    sim::SimParams p;
    p.width = p.height = 128;
    p.preset = sim::Preset::Atomic;
    const sim::SimSample s = sim::simulate(p, 7);
    writeNpy(work.str() + "/scan.npy", s.image.data(), 128, 128);
    const std::string good = readText(work.str() + "/scan.npy");
    const std::string expected = comparable(toJson(pipeline.analyzeFile(work.str() + "/scan.npy", PixelSize::square(0.1)))).dump();

    ServeOptions o;
    o.port = 0;
    o.workers = 2;
    o.queueLimit = 16;
    HttpService service(pipeline, o);
    const int port = service.bind();
    std::thread server([&] { service.listen(); });

    // Warm-up, so the "before" figure includes the loaded models and first allocations.
    { httplib::Client c("127.0.0.1", port); c.Post("/v1/analyze?filename=w.npy&pixel_size=0.1", good, "application/octet-stream"); }
    const double rssBefore = rssMiB();

    std::atomic<int> next{0}, ok{0}, correct{0}, rejected{0}, busy{0}, other{0}, malformedSent{0};
    std::mutex m;
    std::vector<double> latencyMs;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int c = 0; c < clients; ++c)
        pool.emplace_back([&] {
            httplib::Client client("127.0.0.1", port);
            client.set_read_timeout(120, 0);
            for (int i; (i = next.fetch_add(1)) < requests;) {
                const bool malformed = i % 10 == 5;
                std::string body = good, query = "/v1/analyze?filename=s.npy&pixel_size=0.1";
                if (malformed) {
                    ++malformedSent;
                    switch (i % 4) {
                        case 0: body = good.substr(0, good.size() / 3); break;         // truncated
                        case 1: query = "/v1/analyze?pixel_size=0.1"; break;           // no filename
                        case 2: query = "/v1/analyze?filename=s.npy&pixel_size=x"; break;
                        default: body = "garbage"; break;
                    }
                }
                const auto t = std::chrono::steady_clock::now();
                auto r = client.Post(query, body, "application/octet-stream");
                const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
                { std::lock_guard<std::mutex> lock(m); latencyMs.push_back(ms); }
                if (!r) { ++other; continue; }
                if (r->status == 200) {
                    ++ok;
                    correct += !malformed && comparable(nlohmann::json::parse(r->body)).dump() == expected;
                } else if (r->status == 400) {
                    rejected += malformed;
                    other += !malformed;
                } else if (r->status == 503) {
                    ++busy;
                } else {
                    ++other;
                }
            }
        });
    for (auto& t : pool) t.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double rssAfter = rssMiB();
    service.stop();
    server.join();

    std::sort(latencyMs.begin(), latencyMs.end());
    auto pct = [&](double q) { return latencyMs[std::min(latencyMs.size() - 1, size_t(q * latencyMs.size()))]; };
    std::printf("%d requests, %d clients, %.1f s (%.1f req/s)\n", requests, clients, seconds, requests / seconds);
    std::printf("200: %d (correct %d), malformed sent %d -> 400 %d, 503 busy %d, other %d\n", ok.load(), correct.load(),
                malformedSent.load(), rejected.load(), busy.load(), other.load());
    std::printf("latency ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", pct(0.5), pct(0.9), pct(0.99), latencyMs.back());
    std::printf("RSS MiB: before %.1f  after %.1f  (%+.1f)\n", rssBefore, rssAfter, rssAfter - rssBefore);
    return (other == 0 && rejected == malformedSent && correct == ok) ? 0 : 1;
}
