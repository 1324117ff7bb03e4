// stmlens analyze SCAN... : atoms, defects, lattice and a verdict for each scan.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "Commands.h"
#include "analysis/DefectClustering.h"
#include "analysis/HtmlReport.h"
#include "analysis/Overlay.h"
#include "analysis/Pipeline.h"
#include "analysis/ResultJson.h"
#include "analysis/ResultMasks.h"
#include "io/GwyWriter.h"
#include "core/Errors.h"
#include "core/ProgressBar.h"
#include "io/AtomicFile.h"
#include "library/DefectLibrary.h"
#include "library/LibraryClustering.h"
#include "library/Sha256.h"
#include "nn/Model.h"

namespace stmlens::cli {

namespace fs = std::filesystem;

namespace {
struct AnalyzeOptions {
    std::vector<std::string> scans;
    std::string pixelSize, json, csv, overlay, out, models, channel, direction, report, gwy;
    std::string precision = "auto";
    std::string rowContrast = "auto";
    bool mirrorAverage = false;
    bool gwyWanted = false;     // --gwy given (with or without a file name)
    int threads = 2;
    // Clustering, gallery and library (see the block "run-level clustering" below).
    bool cluster = false, noCluster = false, assignOutliers = false, mixClasses = false;
    std::string gallery, library, kernel = "flat";
    double bandwidth = 0, quantile = 0.05, windowNm = 2.5;
    double typeWeight = DefectDescriptorOptions{}.typeWeight;
    int minClusterSize = 1, components = 16;
    TypeMergeOptions typeMerge;
    bool noTypeMerge = false;
};

std::string stem(const std::string& path) { return fs::path(path).stem().string(); }

// One line per scan for the terminal, the same whether the outputs are written now or after clustering.
std::string summaryLine(const std::string& scanPath, const AnalysisResult& r) {
    char line[512];
    std::snprintf(line, sizeof line, "%s: %s, %zu atoms (%s), %zu defects, pixel %s (%s), %.0f ms", scanPath.c_str(),
                  r.assessment.verdict.c_str(), r.atoms.size(), r.lattice.found ? r.lattice.site.c_str() : "no lattice",
                  r.defects.size(),
                  r.pixelSize.str().c_str(), r.pixelSizeSource.c_str(), r.timingMs.count("total") ? r.timingMs.at("total") : 0.0);
    return line;
}

// Writes the outputs a user asked for; returns a one-line summary.
// The overlay (needs the maps) when maps is given, the other outputs when `rest`; with clustering the
// overlay is written right after the analysis and the rest once the run is clustered.
std::string writeOutputs(const AnalyzeOptions& o, const std::string& scanPath, const AnalysisResult& r,
                         const AnalysisMaps* maps, bool single, bool rest = true) {
    std::string json = o.json, overlay = o.overlay, csv = o.csv;
    if (!o.out.empty()) {
        fs::create_directories(o.out);
        const std::string base = (fs::path(o.out) / stem(scanPath)).string();
        if (json.empty() || !single) json = base + ".json";
        if (overlay.empty() || !single) overlay = base + ".overlay.png";
        if (csv.empty() || !single) csv = base + ".csv";
    }
    // The result's layers as masks, computed once for the overlay and the Gwyddion file.
    std::vector<NamedMask> layers;
    if (maps && (!overlay.empty() || o.gwyWanted)) layers = resultMasks(r, *maps);
    if (!overlay.empty() && maps) writeOverlayPng(overlay, maps->levelled, r, overlayOptionsWithMasks(layers));
    if (o.gwyWanted && maps) {
        // The levelled scan plus one mask channel per result layer, for Gwyddion.
        std::string gwy = o.gwy;
        if (gwy.empty() || !single) gwy = (fs::path(o.out) / (stem(scanPath) + ".gwy")).string();
        std::vector<std::pair<std::string, Image>> masks;
        for (auto& [name, m] : layers) masks.emplace_back("stmlens " + name, std::move(m));
        writeGwy(gwy, maps->levelled, masks);
    }
    if (!rest) return {};
    if (!json.empty()) writeResultJson(json, r);
    if (!csv.empty()) {
        // One CSV path names the defects table; atoms go beside it.
        const fs::path p(csv);
        writeDefectsCsv(csv, r);
        writeAtomsCsv((p.parent_path() / (p.stem().string() + ".atoms.csv")).string(), r);
    }
    if (json.empty() && overlay.empty() && csv.empty() && single) std::cout << toJson(r).dump(2) << "\n";
    return summaryLine(scanPath, r);
}

// --- run-level clustering: cluster every kept scan's defects together, then write the outputs ---
std::string reportPath(const AnalyzeOptions& o) {
    if (!o.report.empty()) return o.report;
    return o.out.empty() ? std::string() : (fs::path(o.out) / "report.html").string();
}

template <class KeptList>
int finishRun(const AnalyzeOptions& o, KeptList& kept, DefectLibrary* library, bool single,
              const std::vector<std::string>& failures, const std::map<std::string, std::string>& models) {
    std::vector<AnalysisResult*> results;
    std::vector<const DescriptorSet*> sets;
    size_t described = 0;
    for (auto& k : kept)
        if (k) {
            results.push_back(&k->result);
            sets.push_back(&k->descriptors);
            described += k->descriptors.described();
        }
    // A library needs every run's descriptors, however few (a scan at a time is a common way to build one).
    const bool cluster = !o.noCluster && (o.cluster || described > 5 || (library && described > 0));
    int status = 0;
    LibraryClustering lc;   // which descriptors the library can compare (all, when nothing was clustered)
    if (cluster) {
      try {
        ClusteringOptions co;
        co.meanShift.bandwidth = o.bandwidth;
        co.meanShift.bandwidthQuantile = o.quantile;
        co.meanShift.kernel = o.kernel == "gaussian" ? MeanShiftOptions::Kernel::Gaussian : MeanShiftOptions::Kernel::Flat;
        co.meanShift.minClusterSize = o.minClusterSize;
        co.meanShift.assignOutliers = o.assignOutliers;
        co.components = o.components;
        co.byClass = !o.mixClasses;
        co.typeMerge = o.typeMerge;
        co.typeMerge.enabled = !o.noTypeMerge;
        lc = clusterWithLibrary(results, sets, co, library);
        for (const auto& w : lc.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
        const ClusteringSummary& s = lc.summary;
        std::fprintf(stderr, "clustered %d defects of %zu scans: %d clusters (%d more joined by type), %d outliers "
                     "(bandwidth %.3g, %d dims)\n",
                     s.defects, results.size(), s.clusters, s.joinedByType, s.outliers, s.bandwidth, s.dims);
    } catch (const std::exception& e) {
        // The scans' own outputs are still worth writing, unclustered.
        for (auto* r : results) {
            for (auto& d : r->defects) d.cluster = -1, d.descriptor.clear();
            r->clusters.clear();
        }
        std::fprintf(stderr, "error: clustering failed: %s\n", e.what());
        status = 1;
      }
    } else if (!o.noCluster && described > 0) {
        std::fprintf(stderr, "%zu defects: too few to cluster (use --cluster to force)\n", described);
    }
    std::vector<uint8_t> galleryPng;
    if (!o.gallery.empty() || (!reportPath(o).empty() && cluster && status == 0)) {
        try {
            std::vector<const AnalysisResult*> cr(results.begin(), results.end());
            galleryPng = renderClusterGalleryPng(cr, sets);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "error: cluster gallery: %s\n", e.what());
            status = 1;
        }
    }
    if (!o.gallery.empty() && !galleryPng.empty()) {
        try {
            writeBytesAtomically(o.gallery, std::string_view(reinterpret_cast<const char*>(galleryPng.data()), galleryPng.size()), "gallery");
            std::fprintf(stderr, "wrote %s\n", o.gallery.c_str());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "error: %s\n", e.what());
            status = 1;
        }
    }
    if (const std::string path = reportPath(o); !path.empty()) {
        // One page for the run, scans in command-line order, failed ones with their error.
        try {
            std::vector<ReportScan> pages;
            for (size_t i = 0; i < kept.size(); ++i) {
                if (kept[i]) {
                    kept[i]->report.result = kept[i]->result;
                    pages.push_back(std::move(kept[i]->report));
                } else {
                    ReportScan failed;
                    failed.result.path = o.scans[i];
                    failed.error = failures[i].empty() ? "not analysed" : failures[i];
                    pages.push_back(std::move(failed));
                }
            }
            ReportRun run;
            run.models = models;
            run.galleryPng = std::move(galleryPng);
            writeHtmlReport(path, pages, run);
            std::fprintf(stderr, "wrote %s\n", path.c_str());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "error: report: %s\n", e.what());
            status = 1;
        }
    }
    for (auto& k : kept) {
        if (!k) continue;
        try {
            writeOutputs(o, k->path, k->result, nullptr, single);
            if (library) {
                const bool added = library->addScan(forLibrary(k->result, lc), sha256File(k->path));
                if (!added) std::fprintf(stderr, "%s: already in %s\n", k->path.c_str(), library->path().c_str());
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "error: %s\n", e.what());
            status = 1;
        }
    }
    return status;
}
}  // namespace

Runner addAnalyzeCommand(CLI::App& app) {
    auto o = std::make_shared<AnalyzeOptions>();
    auto* cmd = app.add_subcommand("analyze", "Find atoms and defects, assess the scan, write JSON/CSV/overlay");
    cmd->add_option("scans", o->scans, "Scan files (any supported format)")->required();
    cmd->add_option("--pixel-size", o->pixelSize, "Pixel size in nm, X[,Y] (overrides the file; needed for NPY/PNG without calibration unless the lattice can calibrate it), or 'lattice': calibrate it from the dimer rows even where the file gives one");
    cmd->add_option("--json", o->json, "Result JSON (schema stmlens.analysis/1); one scan only");
    cmd->add_option("--csv", o->csv, "Defects CSV (atoms go to NAME.atoms.csv beside it); one scan only");
    cmd->add_option("--overlay", o->overlay, "Overlay PNG (atoms, defects by class, free regions, scale bar); one scan only");
    cmd->add_option("--out", o->out, "Directory for NAME.json, NAME.csv, NAME.atoms.csv, NAME.overlay.png per scan and report.html for the run");
    cmd->add_option("--report", o->report, "Self-contained HTML report of the run (default with --out: DIR/report.html)");
    cmd->add_option("--gwy", o->gwy, "Gwyddion .gwy file: the levelled scan plus mask channels (atoms, each defect class, "
                                     "unresolved); without a name, NAME.gwy in --out")
        ->expected(0, 1);
    cmd->add_option("--models", o->models, "Model directory (default: the shipped models/)");
    cmd->add_option("--channel", o->channel, "Channel to analyse (default: topography)");
    cmd->add_option("--direction", o->direction, "forward | backward")->check(CLI::IsMember({"forward", "backward"}));
    addPrecisionOption(cmd, o->precision);
    addRowContrastOption(cmd, o->rowContrast);
    addMirrorAverageOption(cmd, o->mirrorAverage);
    cmd->add_option("--threads", o->threads, "Worker threads")->capture_default_str()->check(CLI::Range(1, 256));
    // --- run-level clustering, gallery and defect library ---
    auto* clusterFlag = cmd->add_flag("--cluster", o->cluster,
                                      "Cluster the defects of all scans together (default when the run has more than 5 defects)");
    cmd->add_flag("--no-cluster", o->noCluster, "Do not cluster the defects")->excludes(clusterFlag);
    cmd->add_option("--gallery", o->gallery, "Cluster gallery PNG for the run (mean and example patches per cluster)");
    cmd->add_option("--library", o->library, "Append each scan and its defects (with descriptors) to this SQLite defect library");
    cmd->add_option("--bandwidth", o->bandwidth, "Mean-shift bandwidth in descriptor units (0 = automatic)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--quantile", o->quantile, "Quantile of neighbour distances for the automatic bandwidth")
        ->capture_default_str()->check(CLI::Range(0.001, 1.0));
    cmd->add_option("--kernel", o->kernel, "Mean-shift kernel: flat or gaussian")->check(CLI::IsMember({"flat", "gaussian"}));
    cmd->add_option("--min-cluster-size", o->minClusterSize, "Smaller clusters become outliers (cluster -1)")
        ->check(CLI::PositiveNumber);
    cmd->add_flag("--assign-outliers", o->assignOutliers, "Put members of small clusters in the nearest cluster instead");
    cmd->add_flag("--mix-classes", o->mixClasses,
                  "Cluster every defect class together (default: each class - bright, dark, ... - on its own)");
    cmd->add_option("--window", o->windowNm, "Descriptor window side in nm")->capture_default_str()->check(CLI::Range(0.3, 20.0));
    cmd->add_option("--type-weight", o->typeWeight, "Weight of the defect type network's probabilities in the descriptor "
                                                    "(models/types; 0 leaves them out)")
        ->capture_default_str()->check(CLI::Range(0.0, 100.0));
    cmd->add_option("--components", o->components, "PCA dimensions of the descriptors (0 = no reduction)")
        ->capture_default_str()->check(CLI::Range(0, 1024));
    addTypeMergeOptions(*cmd, o->typeMerge, o->noTypeMerge);
    return [o, cmd]() {
        const bool single = o->scans.size() == 1;
        o->gwyWanted = cmd->count("--gwy") > 0;
        if (!single && (!o->json.empty() || !o->csv.empty() || !o->overlay.empty() || !o->gwy.empty()))
            throw InputError("--json/--csv/--overlay/--gwy name one file; with several scans use --out DIR");
        if (o->gwyWanted && o->gwy.empty() && o->out.empty()) throw InputError("--gwy needs a file name, or --out DIR");
        PipelineOptions po;
        po.modelsDir = o->models;
        po.precision = parsePrecision(o->precision);
        po.rowContrast = parseRowContrast(o->rowContrast);
        po.mirrorAverageAtoms = o->mirrorAverage;
        if (o->pixelSize == "lattice")
            po.pixelSizeFromLattice = true;
        else if (!o->pixelSize.empty())
            po.pixelSize = PixelSize::parse(o->pixelSize);
        po.channel = o->channel;
        po.direction = o->direction;
        po.keepMaps = true;
        const int workers = std::min<int>(o->threads, static_cast<int>(o->scans.size()));
        // One scan: all threads inside the networks. Several: one scan per worker.
        setTorchThreads(single ? o->threads : 1);
        Pipeline pipeline(po);

        // --- run-level clustering: results and descriptors are kept until every scan is analysed ---
        const bool deferred = !o->noCluster || !o->library.empty() || !o->gallery.empty() || !reportPath(*o).empty();
        DefectDescriptorOptions dopt;
        dopt.window.windowNm = o->windowNm;
        dopt.typeModel = o->typeWeight > 0 ? pipeline.typeModel() : nullptr;
        dopt.typeWeight = static_cast<float>(o->typeWeight);
        struct Kept {
            std::string path;
            AnalysisResult result;
            DescriptorSet descriptors;
            ReportScan report;   // pictures and terraces for the HTML report, taken while the maps exist
        };
        std::vector<std::string> failures(o->scans.size());
        std::vector<std::unique_ptr<Kept>> kept(o->scans.size());
        std::unique_ptr<DefectLibrary> library;
        if (!o->library.empty()) library = std::make_unique<DefectLibrary>(o->library);   // fail early on a bad file

        std::atomic<size_t> next{0};
        std::atomic<int> inputErrors{0}, analysisErrors{0};
        ProgressBar bar("analysing", o->scans.size(), single ? 0 : -1);
        auto work = [&] {
            for (size_t i; (i = next.fetch_add(1)) < o->scans.size();) {
                const std::string& path = o->scans[i];
                std::string msg;
                try {
                    AnalysisMaps maps;
                    AnalysisResult r = pipeline.analyzeFile(path, &maps);
                    if (deferred) {
                        // Descriptors now, so the maps can go; the other outputs wait for the run's clusters.
                        writeOutputs(*o, path, r, &maps, single, false);
                        DescriptorSet d;
                        try {
                            d = describeDefects(r, maps, dopt);
                            copyTypeScores(d, r);
                        } catch (const InputError& e) {
                            // The scan's own results stand; its defects just stay unclustered.
                            r.warnings.push_back(std::string("defects not described for clustering: ") + e.what());
                            d.values.assign(r.defects.size(), {});
                            d.patches.assign(r.defects.size(), {});
                        }
                        ReportScan report;
                        if (!reportPath(*o).empty()) report = prepareReportScan(r, maps);
                        maps = AnalysisMaps{};
                        msg = summaryLine(path, r);
                        for (const auto& w : r.warnings) msg += "\n  warning: " + w;
                        kept[i] = std::make_unique<Kept>(Kept{path, std::move(r), std::move(d), std::move(report)});
                    } else {
                        msg = writeOutputs(*o, path, r, &maps, single);
                        for (const auto& w : r.warnings) msg += "\n  warning: " + w;
                    }
                } catch (const InputError& e) {
                    ++inputErrors;
                    msg = std::string("error: ") + e.what();
                    failures[i] = e.what();
                } catch (const std::exception& e) {
                    ++analysisErrors;
                    msg = path + ": analysis failed: " + e.what();
                    failures[i] = std::string("analysis failed: ") + e.what();
                }
                bar.note(msg);
                bar.advance();
            }
        };
        std::vector<std::thread> pool;
        for (int w = 0; w < workers; ++w) pool.emplace_back(work);
        for (auto& th : pool) th.join();
        bar.finish();
        if (deferred) {
            if (finishRun(*o, kept, library.get(), single, failures, pipeline.modelNames()) != 0) ++analysisErrors;
        }
        if (!single)
            std::fprintf(stderr, "%zu scans: %zu analysed, %d failed\n", o->scans.size(),
                         o->scans.size() - inputErrors - analysisErrors, inputErrors + analysisErrors);
        if (analysisErrors > 0) return 1;
        if (inputErrors > 0) return 2;
        return 0;
    };
}

}  // namespace stmlens::cli
