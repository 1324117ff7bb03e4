// stmlens library cluster|export|stats: work on a defect library built with `--library lib.sqlite`.
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "Commands.h"
#include "analysis/DefectClustering.h"
#include "analysis/MeanShift.h"
#include "analysis/Pca.h"
#include "core/Errors.h"
#include "core/ProgressBar.h"
#include "library/DefectLibrary.h"

namespace stmlens::cli {

namespace {
struct LibraryOptions {
    std::string library;
    std::string csv;
    double bandwidth = 0;
    double quantile = ClusteringOptions::defaultMeanShift().bandwidthQuantile;   // as `analyze`
    std::string kernel = "flat";
    int minClusterSize = 1;
    bool assignOutliers = false, mixClasses = false;
    int components = 16;
    int threads = 0;
};

int runCluster(const LibraryOptions& o) {
    MeanShiftOptions ms;
    ms.kernel = o.kernel == "gaussian" ? MeanShiftOptions::Kernel::Gaussian : MeanShiftOptions::Kernel::Flat;
    ms.bandwidth = o.bandwidth;
    ms.bandwidthQuantile = o.quantile;
    ms.minClusterSize = o.minClusterSize;
    ms.assignOutliers = o.assignOutliers;
    ms.threads = o.threads;

    DefectLibrary lib(o.library);
    // Hold the write lock from reading to writing back, so scans added meanwhile are not left half-clustered.
    auto lock = lib.lockForWriting();
    LibraryDescriptors all = lib.allDescriptors();
    if (all.n == 0) {
        std::printf("%s: no defects with descriptors; nothing to cluster\n", o.library.c_str());
        return 0;
    }
    // As `analyze` does: each class on its own unless the library was reduced with one projection for all.
    const bool byClass = !o.mixClasses && !lib.property("pca");
    std::map<std::string, std::vector<int>> groups;
    for (int i = 0; i < all.n; ++i) groups[byClass ? all.classes[i] : std::string()].push_back(i);
    std::vector<int> labels(all.n, -1);
    int clusters = 0, outliers = 0;
    const size_t dd = static_cast<size_t>(all.dims);
    for (const auto& [cls, members] : groups) {
        const int n = static_cast<int>(members.size());
        std::vector<float> features;
        features.reserve(members.size() * dd);
        for (int i : members) features.insert(features.end(), all.values.begin() + i * dd, all.values.begin() + (i + 1) * dd);
        int dims = all.dims;
        const std::string name = byClass ? (cls.empty() ? "(no class)" : cls) : "all";
        if (o.components > 0 && dims > o.components && n > 1) {
            const Pca pca = Pca::fit(features, n, dims, o.components);
            features = pca.transform(features, n);
            dims = pca.components();
            lib.setProperty(byClass ? "pca." + cls : "pca", pca.toJson());
            std::printf("%s: PCA %d -> %d dimensions, %.1f%% of the variance kept\n", name.c_str(), all.dims, dims,
                        100.0 * pca.explainedVarianceRatio());
        }
        std::unique_ptr<ProgressBar> bar;
        std::mutex barMutex;
        ms.progress = [&](size_t /*done*/, size_t total) {
            std::lock_guard<std::mutex> lock(barMutex);
            if (!bar) bar = std::make_unique<ProgressBar>("mean-shift seeds (" + name + ")", total);   // total known only now
            bar->advance();   // one call per seed, in any order
        };
        const MeanShiftResult r = meanShift(features, n, dims, ms);
        if (bar) bar->finish();
        for (int m = 0; m < n; ++m) labels[members[m]] = r.labels[m] < 0 ? -1 : r.labels[m] + clusters;
        int out = 0;
        for (int l : r.labels) out += l < 0;
        std::printf("%s: %d defects, %zu clusters (ids %d-%d, bandwidth %.4g, %s kernel), %d outliers\n", name.c_str(), n,
                    r.modes.size(), clusters, clusters + static_cast<int>(r.modes.size()) - 1, r.bandwidth,
                    o.kernel.c_str(), out);
        for (size_t c = 0; c < r.sizes.size(); ++c) std::printf("  cluster %zu: %d\n", clusters + c, r.sizes[c]);
        clusters += static_cast<int>(r.modes.size());
        outliers += out;
    }
    lib.setClusters(all.defectIds, labels);
    lock.commit();
    std::printf("%d defects, %d clusters, %d outliers\n", all.n, clusters, outliers);
    return 0;
}

int runStats(const LibraryOptions& o) {
    DefectLibrary lib(o.library);
    const LibraryStats s = lib.stats();
    std::printf("%s: %lld scans, %lld defects\n", o.library.c_str(), static_cast<long long>(s.scans),
                static_cast<long long>(s.defects));
    std::printf("per cluster:\n");
    for (const auto& [c, n] : s.perCluster)
        std::printf("  %-12s %lld\n", c < 0 ? "none/outlier" : std::to_string(c).c_str(), static_cast<long long>(n));
    std::printf("per class:\n");
    for (const auto& [cls, n] : s.perClass)
        std::printf("  %-12s %lld\n", cls.empty() ? "(none)" : cls.c_str(), static_cast<long long>(n));
    std::printf("per scan:\n");
    for (const auto& d : s.perScan) {
        if (d.areaNm2 > 0)
            std::printf("  %4lld  %6lld defects  %10.1f nm^2  %.4g defects/nm^2  %s\n", static_cast<long long>(d.scanId),
                        static_cast<long long>(d.defects), d.areaNm2, d.defectsPerNm2, d.path.c_str());
        else
            std::printf("  %4lld  %6lld defects  (pixel size unknown)  %s\n", static_cast<long long>(d.scanId),
                        static_cast<long long>(d.defects), d.path.c_str());
    }
    return 0;
}
}  // namespace

Runner addLibraryCommand(CLI::App& app) {
    auto opt = std::make_shared<LibraryOptions>();
    auto* cmd = app.add_subcommand("library", "Work on a defect library (SQLite) built with --library");
    cmd->require_subcommand(1);

    auto* cluster = cmd->add_subcommand("cluster", "Re-cluster every defect in the library with mean-shift");
    cluster->add_option("--library", opt->library, "Library file")->required();
    cluster->add_option("--bandwidth", opt->bandwidth, "Kernel bandwidth in descriptor units (0 = automatic)")
        ->check(CLI::NonNegativeNumber);
    cluster->add_option("--quantile", opt->quantile, "Quantile of neighbour distances for the automatic bandwidth")
        ->check(CLI::Range(0.001, 1.0));
    cluster->add_option("--kernel", opt->kernel, "flat or gaussian")->check(CLI::IsMember({"flat", "gaussian"}));
    cluster->add_option("--min-cluster-size", opt->minClusterSize, "Smaller clusters become outliers (-1)")
        ->check(CLI::PositiveNumber);
    cluster->add_flag("--assign-outliers", opt->assignOutliers, "Put members of small clusters in the nearest one");
    cluster->add_option("--components", opt->components, "Reduce descriptors by PCA to this many dimensions (0 = no)")
        ->check(CLI::NonNegativeNumber);
    cluster->add_option("--threads", opt->threads, "Threads (0 = all cores)")->check(CLI::NonNegativeNumber);
    cluster->add_flag("--mix-classes", opt->mixClasses,
                      "Cluster every defect class together (default: each class on its own, as `analyze`)");

    auto* exp = cmd->add_subcommand("export", "Write every defect of the library to CSV");
    exp->add_option("--library", opt->library, "Library file")->required();
    exp->add_option("--csv", opt->csv, "Output CSV file")->required();

    auto* stats = cmd->add_subcommand("stats", "Counts per cluster and class, defect density per scan");
    stats->add_option("--library", opt->library, "Library file")->required();

    return [opt, cluster, exp, stats]() {
        // Reading commands never create a library by accident (a typo would otherwise leave an empty file).
        if (!std::filesystem::exists(opt->library)) throw InputError(opt->library, "no such library file");
        if (cluster->parsed()) return runCluster(*opt);
        if (exp->parsed()) {
            DefectLibrary lib(opt->library);
            lib.exportCsv(opt->csv);
            std::printf("wrote %s\n", opt->csv.c_str());
            return 0;
        }
        if (stats->parsed()) return runStats(*opt);
        return 2;
    };
}

}  // namespace stmlens::cli
