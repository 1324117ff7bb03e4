// stmlens watch DIR : analyse every scan the instrument writes into DIR, once, as soon as it is complete.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "Commands.h"
#include "analysis/Pipeline.h"
#include "core/Errors.h"
#include "nn/Model.h"
#include "service/Watcher.h"

namespace stmlens::cli {

namespace {
struct WatchCliOptions {
    std::string dir, out, library, models, pixelSize;
    std::string precision = "auto";
    std::string rowContrast = "auto";
    bool mirrorAverage = false;
    double stable = 1.0, retry = 10.0, poll = 0.25;
    bool once = false;
    int threads = 2;
};

std::atomic<bool> stopRequested{false};
extern "C" void onStopSignal(int) { stopRequested.store(true); }
}  // namespace

Runner addWatchCommand(CLI::App& app) {
    auto o = std::make_shared<WatchCliOptions>();
    auto* cmd = app.add_subcommand("watch", "Analyse every new scan in a folder as the instrument writes it");
    cmd->add_option("dir", o->dir, "Folder the instrument writes scans into")->required();
    cmd->add_option("--out", o->out, "Folder for NAME.json results and the watch state (default: next to the scans)");
    cmd->add_option("--library", o->library, "Defect library (SQLite) every analysed scan is added to");
    cmd->add_option("--models", o->models, "Model directory (default: the shipped models/)");
    cmd->add_option("--pixel-size", o->pixelSize, "Pixel size in nm, X[,Y] (for formats without calibration, or to override), or 'lattice': calibrate it from the dimer rows");
    cmd->add_option("--stable", o->stable, "Seconds a file's size and time must stay unchanged before it is read")
        ->capture_default_str()->check(CLI::Range(0.0, 3600.0));
    cmd->add_option("--retry", o->retry, "Seconds after its last change during which a file that fails to parse is retried")
        ->capture_default_str()->check(CLI::Range(0.0, 86400.0));
    cmd->add_option("--poll", o->poll, "Seconds between looks at the folder")->capture_default_str()->check(CLI::Range(0.01, 60.0));
    cmd->add_flag("--once", o->once, "Process what is in the folder, then exit (for cron and tests)");
    addPrecisionOption(cmd, o->precision);
    addRowContrastOption(cmd, o->rowContrast);
    addMirrorAverageOption(cmd, o->mirrorAverage);
    cmd->add_option("--threads", o->threads, "Threads inside the networks")->capture_default_str()->check(CLI::Range(1, 256));
    return [o]() {
        PipelineOptions po;
        po.modelsDir = o->models;
        po.precision = parsePrecision(o->precision);
        po.rowContrast = parseRowContrast(o->rowContrast);
        po.mirrorAverageAtoms = o->mirrorAverage;
        setTorchThreads(o->threads);
        WatchOptions wo;
        wo.dir = o->dir;
        wo.outDir = o->out;
        wo.libraryPath = o->library;
        if (o->pixelSize == "lattice")
            po.pixelSizeFromLattice = true;
        else if (!o->pixelSize.empty())
            wo.pixelSize = PixelSize::parse(o->pixelSize);
        wo.stableSeconds = o->stable;
        wo.retrySeconds = o->retry;
        wo.pollSeconds = o->poll;
        wo.once = o->once;
        Pipeline pipeline(po);

        const bool tty = ::isatty(STDERR_FILENO);
        std::mutex io;
        Watcher* self = nullptr;
        auto status = [&] {
            if (!tty || !self) return;
            const WatchStats s = self->stats();
            std::fprintf(stderr, "\r\033[K[watch %s] %zu analysed, %zu failed, %zu pending (%zu done in all)", o->dir.c_str(),
                         s.analysed, s.failed, s.pending, s.doneTotal);
            std::fflush(stderr);
        };
        Watcher watcher(pipeline, wo, [&](const WatchEvent& e) {
            std::lock_guard<std::mutex> lock(io);
            if (tty) std::fprintf(stderr, "\r\033[K");
            switch (e.kind) {
                case WatchEvent::Kind::Analysed: std::fprintf(stderr, "%s: %s -> %s\n", e.file.c_str(), e.message.c_str(), e.output.c_str()); break;
                case WatchEvent::Kind::Failed: std::fprintf(stderr, "error: %s (skipped)\n", e.message.c_str()); break;
                case WatchEvent::Kind::Retrying: std::fprintf(stderr, "%s: not readable yet, will retry: %s\n", e.file.c_str(), e.message.c_str()); break;
            }
            status();
        });
        self = &watcher;
        stopRequested.store(false);
        std::signal(SIGINT, onStopSignal);
        std::signal(SIGTERM, onStopSignal);
        if (!tty) std::fprintf(stderr, "watching %s (state %s)\n", o->dir.c_str(), watcher.statePath().c_str());
        watcher.run(stopRequested);
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGTERM, SIG_DFL);
        const WatchStats s = watcher.stats();
        if (tty) std::fprintf(stderr, "\r\033[K");
        std::fprintf(stderr, "%s: %zu analysed, %zu failed, %zu pending%s\n", o->dir.c_str(), s.analysed, s.failed, s.pending,
                     stopRequested.load() ? " (stopped)" : "");
        return 0;
    };
}

}  // namespace stmlens::cli
