// stmlens analyze SCAN... : atoms, defects, lattice and a verdict for each scan.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "Commands.h"
#include "analysis/Overlay.h"
#include "analysis/Pipeline.h"
#include "analysis/ResultJson.h"
#include "core/Errors.h"
#include "nn/Model.h"

namespace stmlens::cli {

namespace fs = std::filesystem;

namespace {
struct AnalyzeOptions {
    std::vector<std::string> scans;
    std::string pixelSize, json, csv, overlay, out, models, channel, direction;
    int threads = 2;
};

std::string stem(const std::string& path) { return fs::path(path).stem().string(); }

// Writes the outputs a user asked for; returns a one-line summary.
std::string writeOutputs(const AnalyzeOptions& o, const std::string& scanPath, const AnalysisResult& r,
                         const AnalysisMaps& maps, bool single) {
    std::string json = o.json, overlay = o.overlay, csv = o.csv;
    if (!o.out.empty()) {
        fs::create_directories(o.out);
        const std::string base = (fs::path(o.out) / stem(scanPath)).string();
        if (json.empty() || !single) json = base + ".json";
        if (overlay.empty() || !single) overlay = base + ".overlay.png";
        if (csv.empty() || !single) csv = base + ".csv";
    }
    if (!json.empty()) writeResultJson(json, r);
    if (!csv.empty()) {
        // One CSV path names the defects table; atoms go beside it.
        const fs::path p(csv);
        writeDefectsCsv(csv, r);
        writeAtomsCsv((p.parent_path() / (p.stem().string() + ".atoms.csv")).string(), r);
    }
    if (!overlay.empty()) writeOverlayPng(overlay, maps.levelled, r, OverlayOptions{});
    if (json.empty() && overlay.empty() && csv.empty() && single) std::cout << toJson(r).dump(2) << "\n";
    char line[512];
    std::snprintf(line, sizeof line, "%s: %s, %zu atoms (%s), %zu defects, pixel %s (%s), %.0f ms", scanPath.c_str(),
                  r.assessment.verdict.c_str(), r.atoms.size(), r.lattice.site.c_str(), r.defects.size(),
                  r.pixelSize.str().c_str(), r.pixelSizeSource.c_str(), r.timingMs.count("total") ? r.timingMs.at("total") : 0.0);
    return line;
}
}  // namespace

Runner addAnalyzeCommand(CLI::App& app) {
    auto o = std::make_shared<AnalyzeOptions>();
    auto* cmd = app.add_subcommand("analyze", "Find atoms and defects, assess the scan, write JSON/CSV/overlay");
    cmd->add_option("scans", o->scans, "Scan files (any supported format)")->required();
    cmd->add_option("--pixel-size", o->pixelSize, "Pixel size in nm, X[,Y] (overrides the file; needed for NPY/PNG without calibration unless the lattice can calibrate it)");
    cmd->add_option("--json", o->json, "Result JSON (schema stmlens.analysis/1); one scan only");
    cmd->add_option("--csv", o->csv, "Defects CSV (atoms go to NAME.atoms.csv beside it); one scan only");
    cmd->add_option("--overlay", o->overlay, "Overlay PNG (atoms, defects by class, free regions, scale bar); one scan only");
    cmd->add_option("--out", o->out, "Directory for NAME.json, NAME.csv, NAME.atoms.csv, NAME.overlay.png per scan");
    cmd->add_option("--models", o->models, "Model directory (default: the shipped models/)");
    cmd->add_option("--channel", o->channel, "Channel to analyse (default: topography)");
    cmd->add_option("--direction", o->direction, "forward | backward")->check(CLI::IsMember({"forward", "backward"}));
    cmd->add_option("--threads", o->threads, "Worker threads")->capture_default_str()->check(CLI::Range(1, 256));
    return [o]() {
        const bool single = o->scans.size() == 1;
        if (!single && (!o->json.empty() || !o->csv.empty() || !o->overlay.empty()))
            throw InputError("--json/--csv/--overlay name one file; with several scans use --out DIR");
        PipelineOptions po;
        po.modelsDir = o->models;
        if (!o->pixelSize.empty()) po.pixelSize = PixelSize::parse(o->pixelSize);
        po.channel = o->channel;
        po.direction = o->direction;
        po.keepMaps = true;
        const int workers = std::min<int>(o->threads, static_cast<int>(o->scans.size()));
        // One scan: all threads inside the networks. Several: one scan per worker.
        setTorchThreads(single ? o->threads : 1);
        Pipeline pipeline(po);

        std::atomic<size_t> next{0}, done{0};
        std::atomic<int> inputErrors{0}, analysisErrors{0};
        std::mutex io;
        const bool tty = ::isatty(STDERR_FILENO) && !single;
        auto work = [&] {
            for (size_t i; (i = next.fetch_add(1)) < o->scans.size();) {
                const std::string& path = o->scans[i];
                std::string msg;
                try {
                    AnalysisMaps maps;
                    AnalysisResult r = pipeline.analyzeFile(path, &maps);
                    msg = writeOutputs(*o, path, r, maps, single);
                    for (const auto& w : r.warnings) msg += "\n  warning: " + w;
                } catch (const InputError& e) {
                    ++inputErrors;
                    msg = std::string("error: ") + e.what();
                } catch (const std::exception& e) {
                    ++analysisErrors;
                    msg = path + ": analysis failed: " + e.what();
                }
                std::lock_guard<std::mutex> lock(io);
                ++done;
                if (tty) std::fprintf(stderr, "\r\033[K");
                std::fprintf(stderr, "%s\n", msg.c_str());
                if (tty) std::fprintf(stderr, "[%zu/%zu scans]", done.load(), o->scans.size());
            }
        };
        std::vector<std::thread> pool;
        for (int w = 0; w < workers; ++w) pool.emplace_back(work);
        for (auto& th : pool) th.join();
        if (tty) std::fprintf(stderr, "\r\033[K");
        if (!single)
            std::fprintf(stderr, "%zu scans: %zu analysed, %d failed\n", o->scans.size(),
                         o->scans.size() - inputErrors - analysisErrors, inputErrors + analysisErrors);
        if (analysisErrors > 0) return 1;
        if (inputErrors > 0) return 2;
        return 0;
    };
}

}  // namespace stmlens::cli
