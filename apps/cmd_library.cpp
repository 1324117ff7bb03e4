// stmlens library cluster|export|stats: work on a defect library built with `--library lib.sqlite`.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <map>
#include <mutex>
#include <set>
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
    TypeMergeOptions typeMerge;
    bool noTypeMerge = false;
};

// The stored type probabilities as vectors over one list of type names (a type a defect lacks counts 0).
std::vector<std::vector<float>> typeVectors(const std::vector<std::map<std::string, double>>& scores,
                                            std::vector<std::string>& typeNames) {
    std::set<std::string> names;
    for (const auto& m : scores)
        for (const auto& [k, v] : m) names.insert(k);
    typeNames.assign(names.begin(), names.end());
    std::vector<std::vector<float>> out(scores.size());
    for (size_t i = 0; i < scores.size(); ++i) {
        if (scores[i].empty()) continue;
        for (const auto& n : names) {
            const auto it = scores[i].find(n);
            out[i].push_back(it == scores[i].end() ? 0.0f : static_cast<float>(it->second));
        }
    }
    return out;
}

int runCluster(const LibraryOptions& o) {
    DefectLibrary lib(o.library);
    // Hold the write lock from reading to writing back, so scans added meanwhile are not left half-clustered.
    auto lock = lib.lockForWriting();
    LibraryDescriptors all = lib.allDescriptors();
    if (all.n == 0) {
        std::printf("%s: no defects with descriptors; nothing to cluster\n", o.library.c_str());
        return 0;
    }
    ClusteringOptions co;
    co.meanShift.kernel = o.kernel == "gaussian" ? MeanShiftOptions::Kernel::Gaussian : MeanShiftOptions::Kernel::Flat;
    co.meanShift.bandwidth = o.bandwidth;
    co.meanShift.bandwidthQuantile = o.quantile;
    co.meanShift.minClusterSize = o.minClusterSize;
    co.meanShift.assignOutliers = o.assignOutliers;
    co.meanShift.threads = o.threads;
    co.components = o.components;
    // As `analyze` does: each class on its own unless the library was reduced with one projection for all.
    co.byClass = !o.mixClasses && !lib.property("pca");
    // One bar per group of defects clustered together (each group reports its own seed count).
    std::unique_ptr<ProgressBar> bar;
    size_t left = 0;
    std::mutex barMutex;
    co.meanShift.progress = [&](size_t /*done*/, size_t total) {
        std::lock_guard<std::mutex> lock(barMutex);
        if (!bar) bar = std::make_unique<ProgressBar>("mean-shift seeds", total), left = total;   // total known only now
        bar->advance();   // one call per seed, in any order
        if (--left == 0) bar->finish(), bar.reset();
    };
    DescriptorClustering c = clusterDescriptorGroups(all.values, all.n, all.dims, all.classes, co);
    if (bar) bar->finish();
    TypeMergeOptions merge = o.typeMerge;
    merge.enabled = !o.noTypeMerge;
    std::vector<std::string> typeNames;
    const std::vector<std::vector<float>> probs = typeVectors(all.typeScores, typeNames);
    const int joined = mergeClustersByType(c.labels, probs, all.classes, merge, &c.summary);
    // The type network's suggestion per cluster: the most probable type of its members' mean.
    const std::vector<std::vector<double>> typeMeans = clusterTypeMeans(c.labels, probs, c.summary.clusters);
    auto reportPca = [&](const std::string& key, const Pca& pca) {
        lib.setProperty(key, pca.toJson());
        std::printf("%s: PCA %d -> %d dimensions, %.1f%% of the variance kept\n", key.c_str(), all.dims,
                    pca.components(), 100.0 * pca.explainedVarianceRatio());
    };
    if (c.summary.pca) reportPca("pca", *c.summary.pca);
    for (const auto& [cls, pca] : c.summary.classPcas) reportPca("pca." + cls, pca);
    lib.setClusters(all.defectIds, c.labels);
    lock.commit();
    std::printf("%d defects, %d clusters (%d more joined by type; bandwidth %.4g, %s kernel), %d outliers\n", all.n,
                c.summary.clusters, joined, c.summary.bandwidth, o.kernel.c_str(), c.summary.outliers);
    for (const auto& [cls, h] : c.summary.classBandwidths) std::printf("  %s: bandwidth %.4g\n", cls.empty() ? "(no class)" : cls.c_str(), h);
    for (size_t k = 0; k < c.summary.sizes.size(); ++k) {
        std::string likely;
        if (k < typeMeans.size() && !typeMeans[k].empty()) {
            const auto& m = typeMeans[k];
            const size_t best = std::max_element(m.begin(), m.end()) - m.begin();
            likely = "  (type network: " + typeNames[best] + " " + std::to_string(m[best]).substr(0, 4) + ")";
        }
        std::printf("  cluster %zu%s: %d%s\n", k,
                    k < c.summary.clusterClasses.size() ? (" (" + c.summary.clusterClasses[k] + ")").c_str() : "",
                    c.summary.sizes[k], likely.c_str());
    }
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
    addTypeMergeOptions(*cluster, opt->typeMerge, opt->noTypeMerge);

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
