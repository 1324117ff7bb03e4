// stmlens serve : a local HTTP service; models load once, scans arrive as POST bodies.
#include <csignal>
#include <cstdio>
#include <thread>

#include "Commands.h"
#include "analysis/Pipeline.h"
#include "core/Errors.h"
#include "nn/Model.h"
#include "service/http/HttpService.h"

namespace stmlens::cli {

namespace {
struct ServeCliOptions {
    ServeOptions serve;
    std::string models;
    std::string precision = "auto";
    std::string rowContrast = "auto";
    bool mirrorAverage = false;
    int threads = 1;
    double maxBodyMiB = 256;
};

HttpService* running = nullptr;
extern "C" void onServeStop(int) {
    // httplib's stop() only flips a flag and shuts the listening socket: safe enough from a signal handler.
    if (running) running->stop();
}
}  // namespace

Runner addServeCommand(CLI::App& app) {
    auto o = std::make_shared<ServeCliOptions>();
    auto* cmd = app.add_subcommand("serve", "Local HTTP service: POST /v1/analyze, GET /v1/health, GET /v1/models");
    cmd->add_option("--host", o->serve.host, "Address to bind (loopback by default; others need --token)")->capture_default_str();
    cmd->add_option("--port", o->serve.port, "Port (0 = any free port, printed at start)")->capture_default_str()->check(CLI::Range(0, 65535));
    cmd->add_option("--token", o->serve.token, "Require Authorization: Bearer TOKEN on every request");
    cmd->add_option("--models", o->models, "Model directory (default: the shipped models/)");
    cmd->add_option("--workers", o->serve.workers, "Analyses at once")->capture_default_str()->check(CLI::Range(1, 64));
    cmd->add_option("--queue", o->serve.queueLimit, "Waiting analyses before answering 503")->capture_default_str()->check(CLI::Range(0, 10000));
    cmd->add_option("--max-body-mib", o->maxBodyMiB, "Largest accepted scan, MiB (413 above)")->capture_default_str()->check(CLI::Range(0.001, 65536.0));
    cmd->add_option("--time-limit", o->serve.timeLimitSeconds, "Seconds per request, queue included (504 above)")->capture_default_str()->check(CLI::Range(0.1, 86400.0));
    addPrecisionOption(cmd, o->precision);
    addRowContrastOption(cmd, o->rowContrast);
    addMirrorAverageOption(cmd, o->mirrorAverage);
    cmd->add_option("--threads", o->threads, "Threads inside the networks, per analysis")->capture_default_str()->check(CLI::Range(1, 256));
    return [o]() {
        PipelineOptions po;
        po.modelsDir = o->models;
        po.precision = parsePrecision(o->precision);
        po.rowContrast = parseRowContrast(o->rowContrast);
        po.mirrorAverageAtoms = o->mirrorAverage;
        setTorchThreads(o->threads);
        o->serve.maxBodyBytes = static_cast<size_t>(o->maxBodyMiB * 1024 * 1024);
        Pipeline pipeline(po);
        HttpService service(pipeline, o->serve);
        const int port = service.bind();
        std::printf("stmlens serve: listening on http://%s:%d (%d workers, queue %d)\n", o->serve.host.c_str(), port,
                    o->serve.workers, o->serve.queueLimit);
        std::fflush(stdout);
        running = &service;
        std::signal(SIGINT, onServeStop);
        std::signal(SIGTERM, onServeStop);
        service.listen();
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGTERM, SIG_DFL);
        running = nullptr;
        std::fprintf(stderr, "stmlens serve: stopped\n");
        return 0;
    };
}

}  // namespace stmlens::cli
