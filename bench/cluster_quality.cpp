// Quality of the unsupervised defect classification (descriptors + PCA + mean-shift), printed as tables:
//   1. simulated scans with the simulator's exact maps instead of network outputs (no models needed): the
//      clustering method itself, against the simulator's fine defect types; channel ablation; bandwidth quantile;
//   2. simulated scans through the full pipeline (--models): predicted defects matched to the nearest truth
//      defect within 0.5 nm give the fine type;
//   3. the real labelled cda_* frames (../shared/data/real), through the pipeline: predicted defects matched to
//      labelled objects within 0.5 nm, and (to separate detection from clustering) descriptors taken at the
//      labelled positions.
// Clusters are run-level: every defect of every scan of a part is clustered together.
// Usage: bench_cluster_quality [--models DIR | --untrained DIR] [--scans N] [--quantile Q] [--components N]
//                              [--image-weight W] [--image-clip C] [--gallery DIR] [--truth-only]
//                              [--mode filled|empty|current]   (simulated scans of one imaging mode only)
//                              [--mix-classes]   (all classes clustered together instead of each on its own)
//                              [--types DIR] [--type-weight W]   (the defect type network's probabilities join the
//                                                                 descriptor; default models/types when it exists)
//                              [--type-power P]   (probabilities raised to P and renormalised)
//                              [--type-confidence]   (each defect's type part scaled by the network's certainty)
//                              [--no-types]
//                              [--no-type-merge | --type-merge-across A --type-merge-within W]
//                                 (clusters the type network puts in one type joined; default 0.5 / 0.8)
//                              [--dump DIR]   (each part's descriptors, classes, true types and clusters as CSV)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>

#include "analysis/ClusterMetrics.h"
#include "analysis/DefectClustering.h"
#include "analysis/Pipeline.h"
#include "core/Level.h"
#include "nn/DefectTypeTraining.h"
#include "nn/LabelledScans.h"
#include "nn/Model.h"
#include "nn/Tasks.h"
#include "sim/Simulator.h"

using namespace stmlens;
namespace fs = std::filesystem;

namespace {

struct Args {
    std::string models, gallery;
    int scans = 24;
    double quantile = 0.05;
    bool truthOnly = false;
    int components = 16;
    float imageWeight = 1.0f;
    float imageClip = 3.0f;
    bool asymmetric = false;
    std::string mode;   // simulated scans of this imaging mode only (filled | empty | current), as one session
    bool mixClasses = false;   // cluster every class together, as before 2026-12-01
    bool realOnly = false;     // skip the simulated parts
    DescriptorOptions window;  // descriptor window side and samples
    std::string types;         // defect type network
    bool noTypes = false;
    float typeWeight = DefectDescriptorOptions{}.typeWeight;
    float typePower = DefectDescriptorOptions{}.typePower;
    bool typeConfidence = false;
    TypeMergeOptions typeMerge;   // clusters joined by the type network's most probable type
    std::string dump;          // folder: the main descriptors of each part as CSV, for experiments outside
};
Args gArgs;
std::string gPart;
int gRowChecks[3] = {0, 0, 0};  // matched pipeline defects whose local row direction is off the truth's by <10, 10-45, >45 degrees             // the part being scored (file name stem for --dump)
std::optional<DefectTypeModel> gTypes;
// The descriptor the pipeline uses: every map, plus the type network when there is one.
unsigned mainChannels() { return kChannelsAll | (gTypes ? kChannelTypes : 0u); }

// One scan of a run: result, descriptors per channel choice, and the true fine type per defect ("" = unmatched).
struct Item {
    AnalysisResult result;
    AnalysisMaps maps;
    std::vector<std::string> truth;
};

AnalysisMaps mapsFromTruth(const sim::SimSample& s) {
    AnalysisMaps m;
    // Levelled as the pipeline levels every scan: the raw render carries tilt, bow and line offsets.
    m.levelled = s.image;
    levelScan(m.levelled);
    m.atomProb = s.truth.atomMap;
    m.resolved = s.truth.resolvedMask;
    for (int c = 0; c < sim::kPixelClassCount; ++c) {
        Image p(s.image.width(), s.image.height());
        for (size_t i = 0; i < p.size(); ++i) p.pixels()[i] = std::lround(s.truth.labels.pixels()[i]) == c ? 1.0f : 0.0f;
        m.defectProb.push_back(std::move(p));
        m.defectClasses.push_back(sim::pixelClassName(static_cast<sim::PixelClass>(c)));
    }
    return m;
}

// Nearest point within maxPx, each truth used at most once (greedy by distance).
template <class Truth>
std::vector<std::string> matchTypes(const std::vector<Defect>& defects, const std::vector<Truth>& truth,
                                    double maxPx, std::string (*typeOf)(const Truth&)) {
    std::vector<std::tuple<double, size_t, size_t>> pairs;
    for (size_t i = 0; i < defects.size(); ++i)
        for (size_t j = 0; j < truth.size(); ++j) {
            const double d = std::hypot(defects[i].x - truth[j].x, defects[i].y - truth[j].y);
            if (d <= maxPx) pairs.emplace_back(d, i, j);
        }
    std::sort(pairs.begin(), pairs.end());
    std::vector<std::string> out(defects.size());
    std::vector<bool> used(truth.size(), false);
    for (auto [d, i, j] : pairs)
        if (out[i].empty() && !used[j]) {
            out[i] = typeOf(truth[j]);
            used[j] = true;
        }
    return out;
}

std::string simType(const sim::SimDefect& d) { return d.type; }
std::string labelType(const LabelledObject& o) { return o.fineClass; }

struct Score {
    int n = 0, clusters = 0, outliers = 0;
    double ari = NAN, nmi = NAN, purity = NAN;
    std::string table;
    // Labelled reference in the same reduced space: each defect takes the majority type of its 5 nearest
    // neighbours of the same coarse class in the other scans. A supervised method using these descriptors
    // reaches about this; clustering without labels cannot be expected to beat it.
    double knnAccuracy = NAN, knnAri = NAN;
    // Supervised reference of the type network alone: each defect labelled with its most probable type.
    double argmaxAccuracy = NAN, argmaxAri = NAN, meanTop = NAN;
};

// Leave-one-scan-out k-nearest-neighbour vote over the reduced descriptors (Defect::descriptor) of the defects
// with a known type; neighbours come from the same coarse class (or any, when classes were clustered together).
void labelledNeighbourReference(const std::vector<Item>& items, bool byClass, Score& sc) {
    constexpr int kNeighbours = 5;
    struct Ref {
        int scan;
        const std::vector<float>* v;
        std::string cls, type;
    };
    std::vector<Ref> refs;
    for (size_t i = 0; i < items.size(); ++i)
        for (size_t k = 0; k < items[i].result.defects.size(); ++k) {
            const Defect& d = items[i].result.defects[k];
            if (!d.descriptor.empty() && !items[i].truth[k].empty())
                refs.push_back({static_cast<int>(i), &d.descriptor, byClass ? d.cls : "", items[i].truth[k]});
        }
    std::vector<std::string> truth, predicted;
    int right = 0;
    for (const Ref& q : refs) {
        std::vector<std::pair<double, const Ref*>> near;
        for (const Ref& r : refs) {
            if (r.scan == q.scan || r.cls != q.cls || r.v->size() != q.v->size()) continue;
            double d2 = 0;
            for (size_t j = 0; j < q.v->size(); ++j) d2 += ((*q.v)[j] - (*r.v)[j]) * ((*q.v)[j] - (*r.v)[j]);
            near.emplace_back(d2, &r);
        }
        if (near.empty()) continue;
        const size_t k = std::min<size_t>(kNeighbours, near.size());
        std::partial_sort(near.begin(), near.begin() + k, near.end(),
                          [](const auto& a, const auto& b) { return a.first < b.first; });
        std::map<std::string, int> votes;
        for (size_t j = 0; j < k; ++j) ++votes[near[j].second->type];
        // Most votes; ties go to the type of the nearest neighbour among the tied.
        std::string best;
        int most = 0;
        for (size_t j = 0; j < k; ++j) {
            const std::string& t = near[j].second->type;
            if (votes[t] > most) most = votes[t], best = t;
        }
        truth.push_back(q.type);
        predicted.push_back(q.cls + ":" + best);
        right += best == q.type;
    }
    if (truth.empty()) return;
    sc.knnAccuracy = double(right) / truth.size();
    sc.knnAri = adjustedRandIndex(encodeLabels(truth, nullptr), encodeLabels(predicted, nullptr));
}

// Clusters every described defect of the items together; scores those with a known type.
// minClusterShare > 0: clusters with fewer members than that share of the described defects join the nearest kept mode.
// withReference: also the labelled neighbour reference (only the run that prints it needs it).
Score score(std::vector<Item>& items, unsigned channels, double quantile, const std::string& galleryPath = "",
            double minClusterShare = 0, bool withReference = false) {
    DefectDescriptorOptions dopt;
    dopt.channels = channels;
    dopt.imageWeight = gArgs.imageWeight;
    dopt.imageClip = gArgs.imageClip;
    dopt.symmetric = !gArgs.asymmetric;
    dopt.window = gArgs.window;
    dopt.typeModel = gTypes ? &*gTypes : nullptr;
    dopt.typeWeight = gArgs.typeWeight;
    dopt.typePower = gArgs.typePower;
    dopt.typeConfidence = gArgs.typeConfidence;
    std::vector<DescriptorSet> sets;
    for (auto& it : items) sets.push_back(describeDefects(it.result, it.maps, dopt));
    std::vector<AnalysisResult*> rs;
    std::vector<const DescriptorSet*> ds;
    for (size_t i = 0; i < items.size(); ++i) {
        rs.push_back(&items[i].result);
        ds.push_back(&sets[i]);
    }
    ClusteringOptions co;
    co.meanShift.bandwidthQuantile = quantile;
    co.components = gArgs.components;
    co.byClass = !gArgs.mixClasses;
    co.typeMerge = gArgs.typeMerge;
    if (minClusterShare > 0) {
        size_t described = 0;
        for (const auto& set : sets)
            for (const auto& v : set.values) described += !v.empty();
        co.meanShift.minClusterSize = std::max(1, static_cast<int>(std::lround(minClusterShare * described)));
        co.meanShift.assignOutliers = true;
    }
    const ClusteringSummary s = clusterDefects(rs, ds, co);
    std::vector<std::string> truth;
    std::vector<int> pred;
    for (size_t i = 0; i < items.size(); ++i)
        for (size_t k = 0; k < items[i].result.defects.size(); ++k)
            if (!sets[i].values[k].empty() && !items[i].truth[k].empty()) {
                truth.push_back(items[i].truth[k]);
                pred.push_back(items[i].result.defects[k].cluster);
            }
    Score sc;
    sc.n = static_cast<int>(pred.size());
    sc.clusters = s.clusters;
    sc.outliers = s.outliers;
    if (pred.empty()) return sc;
    std::vector<std::string> names;
    const std::vector<int> t = encodeLabels(truth, &names);
    sc.ari = adjustedRandIndex(t, pred);
    sc.nmi = normalizedMutualInformation(t, pred);
    sc.purity = purity(t, pred);
    sc.table = formatConfusionTable(confusionTable(t, pred), names);
    if (withReference) labelledNeighbourReference(items, co.byClass, sc);
    if (withReference && !gArgs.dump.empty()) {
        // scan, defect, coarse class, true type, cluster, then the unreduced descriptor.
        const fs::path f = fs::path(gArgs.dump) / (gPart + ".csv");
        FILE* out = std::fopen(f.c_str(), "w");
        if (!out) throw std::runtime_error("cannot write " + f.string());
        for (size_t i = 0; i < items.size(); ++i)
            for (size_t k = 0; k < items[i].result.defects.size(); ++k) {
                const auto& v = sets[i].values[k];
                if (v.empty()) continue;
                const Defect& d = items[i].result.defects[k];
                std::fprintf(out, "%zu,%zu,%s,%s,%d", i, k, d.cls.c_str(),
                             items[i].truth[k].empty() ? "-" : items[i].truth[k].c_str(), d.cluster);
                for (float x : v) std::fprintf(out, ",%.5g", x);
                std::fputc('\n', out);
            }
        std::fclose(out);
    }
    if (withReference && (channels & kChannelTypes) && gTypes) {
        const auto& typeNames = gTypes->card().classes;
        const size_t k = typeNames.size();
        std::vector<std::string> tt, guess;
        int right = 0;
        double top = 0;   // how sure the network is: mean probability of its most probable type
        for (size_t i = 0; i < items.size(); ++i)
            for (size_t j = 0; j < items[i].result.defects.size(); ++j) {
                const auto& v = sets[i].values[j];
                if (v.size() < k || items[i].truth[j].empty()) continue;
                const size_t best = std::max_element(v.end() - k, v.end()) - (v.end() - k);
                tt.push_back(items[i].truth[j]);
                guess.push_back(typeNames[best]);
                top += v[v.size() - k + best] / std::accumulate(v.end() - k, v.end(), 0.0);
                right += guess.back() == tt.back();
            }
        if (!tt.empty()) {
            sc.argmaxAccuracy = double(right) / tt.size();
            sc.argmaxAri = adjustedRandIndex(encodeLabels(tt, nullptr), encodeLabels(guess, nullptr));
            sc.meanTop = top / tt.size();
        }
    }
    if (!galleryPath.empty()) {
        std::vector<const AnalysisResult*> cr(rs.begin(), rs.end());
        GalleryOptions g;   // small enough for docs/img
        g.tilePx = 48;
        g.examples = 6;
        g.maxClusters = 12;
        writeClusterGallery(galleryPath, cr, ds, g);
    }
    return sc;
}

void printScore(const char* name, const Score& s) {
    std::printf("| %-34s | %5d | %4d | %5d | %6.3f | %6.3f | %6.3f |\n", name, s.n, s.clusters, s.outliers, s.ari, s.nmi,
                s.purity);
}
void printHeader() {
    std::printf("| %-34s | %5s | %4s | %5s | %6s | %6s | %6s |\n", "", "n", "k", "outl.", "ARI", "NMI", "purity");
    std::printf("|%s|-------|------|-------|--------|--------|--------|\n", std::string(36, '-').c_str());
}

const std::vector<std::pair<const char*, unsigned>> kAblation = {
    {"image only", kChannelImage},
    {"image + atom prob", kChannelImage | kChannelAtom},
    {"image + atom + defect probs", kChannelImage | kChannelAtom | kChannelDefects},
    {"all (+ resolved)", kChannelsAll},
    {"defect probs only", kChannelDefects},
    {"all but image", kChannelsAll & ~kChannelImage},
    {"type network only", kChannelTypes},
    {"all + type network", kChannelsAll | kChannelTypes},
};

std::vector<Item> simulatedItems(const char* preset, int scans, const Pipeline* pipeline) {
    std::vector<Item> items;
    for (int k = 0; static_cast<int>(items.size()) < scans && k < 50 * scans; ++k) {
        sim::SimParams p;
        p.width = p.height = 256;
        p.pixelSize = PixelSize::square(0.1);
        p.preset = sim::parsePreset(preset);
        const sim::SimSample s = sim::simulate(p, 1000 + k);
        if (!gArgs.mode.empty() && s.truth.mode != gArgs.mode) continue;
        Item it;
        it.result.path = std::string(preset) + "-" + std::to_string(k);
        it.result.width = s.image.width();
        it.result.height = s.image.height();
        it.result.pixelSize = p.pixelSize;
        if (pipeline) {
            Image img = s.image;
            img.pixelSize = p.pixelSize;
            it.result = pipeline->analyzeImage(img, &it.maps);
            it.truth = matchTypes(it.result.defects, s.truth.defects, 0.5 / p.pixelSize.x_nm, simType);
            // How often the pipeline's local row direction at a matched defect is not the truth's (the windows
            // of the descriptor and of the type network turn with it).
            for (size_t i = 0; i < it.result.defects.size(); ++i) {
                if (it.truth[i].empty()) continue;
                const Defect& d = it.result.defects[i];
                double dir = it.result.lattice.found ? it.result.lattice.rowDirectionDeg : 0.0;
                if (!it.maps.rowDirection.empty()) {
                    const int xi = std::clamp(static_cast<int>(std::lround(d.x)), 0, it.result.width - 1);
                    const int yi = std::clamp(static_cast<int>(std::lround(d.y)), 0, it.result.height - 1);
                    const float local = it.maps.rowDirection.at(xi, yi);
                    if (std::isfinite(local) && local >= 0) dir = local;
                }
                const double truthDir = simulatedRowDirection(s, d.x, d.y);
                if (!std::isfinite(truthDir)) continue;
                double diff = std::fmod(std::abs(dir - truthDir), 180.0);
                diff = std::min(diff, 180.0 - diff);
                ++gRowChecks[diff < 10 ? 0 : diff < 45 ? 1 : 2];
            }
        } else {
            it.result.lattice.found = true;
            // The simulator's angle turns clockwise on screen (y down); the result's counter-clockwise.
            it.result.lattice.rowDirectionDeg = std::fmod(360.0 - s.truth.rotationDeg, 180.0);
            for (const auto& t : s.truth.defects) {
                Defect d;
                d.id = static_cast<int>(it.result.defects.size());
                d.x = t.x;
                d.y = t.y;
                d.cls = sim::pixelClassName(t.cls);
                d.extended = t.extended;
                it.result.defects.push_back(d);
                it.truth.push_back(t.type);
            }
            it.maps = mapsFromTruth(s);
            // Each defect's windows turn with the rows of its own terrace (steps turn them by 90 degrees), as the
            // pipeline's local row direction does; elsewhere unknown.
            it.maps.rowDirection = Image(s.image.width(), s.image.height(), -1.0f);
            for (const auto& t : s.truth.defects) {
                const int xi = std::clamp(static_cast<int>(std::lround(t.x)), 0, s.image.width() - 1);
                const int yi = std::clamp(static_cast<int>(std::lround(t.y)), 0, s.image.height() - 1);
                const double dir = simulatedRowDirection(s, t.x, t.y);
                if (std::isfinite(dir)) it.maps.rowDirection.at(xi, yi) = static_cast<float>(dir);
            }
        }
        items.push_back(std::move(it));
    }
    return items;
}

void runPart(const std::string& title, std::vector<Item>& items, const Args& a, const std::string& galleryName) {
    gPart = fs::path(galleryName).stem().string();
    std::printf("\n### %s\n\n", title.c_str());
    printHeader();
    Score best;
    for (const auto& [name, ch] : kAblation) {
        if ((ch & kChannelTypes) && !gTypes) continue;
        const bool all = ch == mainChannels();
        const std::string g = all && !a.gallery.empty() ? (fs::path(a.gallery) / galleryName).string() : "";
        Score s = score(items, ch, a.quantile, g, 0, all);
        printScore(name, s);
        if (all) best = s;
    }
    std::printf("\nLabelled reference, %s (each defect takes the majority true type of its 5 nearest "
                "neighbours of its class in the other scans, same reduced descriptors): accuracy %.3f, ARI %.3f "
                "(clustering: ARI %.3f)\n", gTypes ? "all channels + type network" : "all channels", best.knnAccuracy, best.knnAri, best.ari);
    if (gTypes)
        std::printf("Type network's most probable type as the label (supervised; real frames: their labels are not the "
                    "simulator's types): accuracy %.3f, ARI %.3f; mean probability of that type %.3f\n",
                    best.argmaxAccuracy, best.argmaxAri, best.meanTop);
    std::printf("\nBandwidth quantile, all channels:\n\n");
    printHeader();
    for (double q : {0.02, 0.03, 0.05, 0.1, 0.2, 0.3}) {
        char name[64];
        std::snprintf(name, sizeof name, "quantile %.2f", q);
        printScore(name, score(items, mainChannels(), q));
    }
    if (gTypes) {
        std::printf("\nWeight of the type network's probabilities (all channels + type network; type network only at "
                    "two quantiles):\n\n");
        printHeader();
        const float keep = gArgs.typeWeight;
        for (float w : {2.0f, 4.0f, 6.0f, 8.0f, 12.0f, 16.0f}) {
            gArgs.typeWeight = w;
            char name[64];
            std::snprintf(name, sizeof name, "weight %g", w);
            printScore(name, score(items, mainChannels(), a.quantile));
        }
        gArgs.typeWeight = keep;
        const float keepPower = gArgs.typePower;
        for (float pw : {1.0f, 2.0f, 4.0f}) {
            gArgs.typePower = pw;
            char name[64];
            std::snprintf(name, sizeof name, "power %g", pw);
            printScore(name, score(items, mainChannels(), a.quantile));
            std::snprintf(name, sizeof name, "power %g, type network only", pw);
            printScore(name, score(items, kChannelTypes, a.quantile));
        }
        gArgs.typePower = keepPower;
        const TypeMergeOptions keepMerge = gArgs.typeMerge;
        for (auto [across, within] : {std::pair{-1.0, -1.0}, {0.5, 1.0}, {0.5, 0.9}, {0.5, 0.8}, {0.5, 0.7}, {0.5, 0.6},
                                      {0.4, 0.8}, {0.6, 0.8}}) {
            gArgs.typeMerge.enabled = across >= 0;
            if (across >= 0) gArgs.typeMerge.across = across, gArgs.typeMerge.within = within;
            char name[64];
            if (across < 0) std::snprintf(name, sizeof name, "no type merge");
            else std::snprintf(name, sizeof name, "type merge across %.1f, within %.1f", across, within);
            printScore(name, score(items, mainChannels(), a.quantile));
        }
        gArgs.typeMerge = keepMerge;
        for (double q : {0.1, 0.2, 0.3}) {
            char name[64];
            std::snprintf(name, sizeof name, "type network only, quantile %.2f", q);
            printScore(name, score(items, kChannelTypes, q));
        }
    }
    std::printf("\nSmall clusters joined to the nearest kept mode (--min-cluster-size as a share of the defects, "
                "--assign-outliers), all channels:\n\n");
    printHeader();
    for (double q : {0.02, 0.05, 0.1})
        for (double share : {0.01, 0.02, 0.04}) {
            char name[64];
            std::snprintf(name, sizeof name, "quantile %.2f, min size %.0f %%", q, 100 * share);
            printScore(name, score(items, mainChannels(), q, "", share));
        }
    std::printf("\nConfusion (rows: true type, columns: cluster), all channels, quantile %.2f:\n\n%s\n", a.quantile,
                best.table.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--models") && i + 1 < argc) a.models = argv[++i];
        else if (!std::strcmp(argv[i], "--scans") && i + 1 < argc) a.scans = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--quantile") && i + 1 < argc) a.quantile = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--gallery") && i + 1 < argc) a.gallery = argv[++i];
        else if (!std::strcmp(argv[i], "--truth-only")) a.truthOnly = true;
        else if (!std::strcmp(argv[i], "--asymmetric")) a.asymmetric = true;
        else if (!std::strcmp(argv[i], "--mode") && i + 1 < argc) a.mode = argv[++i];
        else if (!std::strcmp(argv[i], "--mix-classes")) a.mixClasses = true;
        else if (!std::strcmp(argv[i], "--untrained") && i + 1 < argc) {
            // Small untrained networks, to exercise the pipeline parts before trained models exist.
            a.models = argv[++i];
            for (const char* task : {"assess", "atoms", "defects"}) {
                ModelCard c = defaultCard(task);
                c.net.depth = 2;
                c.net.width = 4;
                Model::create(c, 1).save((fs::path(a.models) / task).string());
            }
        }
        else if (!std::strcmp(argv[i], "--components") && i + 1 < argc) a.components = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--image-weight") && i + 1 < argc) a.imageWeight = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--image-clip") && i + 1 < argc) a.imageClip = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--window") && i + 1 < argc) a.window.windowNm = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--samples") && i + 1 < argc) a.window.samples = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--real-only")) a.realOnly = true;
        else if (!std::strcmp(argv[i], "--types") && i + 1 < argc) a.types = argv[++i];
        else if (!std::strcmp(argv[i], "--no-types")) a.noTypes = true;
        else if (!std::strcmp(argv[i], "--type-weight") && i + 1 < argc) a.typeWeight = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--type-power") && i + 1 < argc) a.typePower = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--type-confidence")) a.typeConfidence = true;
        else if (!std::strcmp(argv[i], "--dump") && i + 1 < argc) a.dump = argv[++i];
        else if (!std::strcmp(argv[i], "--no-type-merge")) a.typeMerge.enabled = false;
        else if (!std::strcmp(argv[i], "--type-merge-across") && i + 1 < argc) a.typeMerge.across = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--type-merge-within") && i + 1 < argc) a.typeMerge.within = std::atof(argv[++i]);
        else {
            std::fprintf(stderr, "usage: %s [--models DIR] [--scans N] [--quantile Q] [--gallery DIR] [--truth-only | --real-only] "
                                 "[--window NM] [--samples N]\n", argv[0]);
            return 2;
        }
    }
    if (a.truthOnly && a.realOnly) {
        // The exact maps are the simulator's and the real part needs the networks: together they leave nothing.
        std::fprintf(stderr, "%s: --truth-only and --real-only exclude each other (the exact-map parts are simulated)\n", argv[0]);
        return 2;
    }
    gArgs = a;
    if (!a.noTypes) {
        const std::string dir = !a.types.empty() ? a.types : std::string(STMLENS_SOURCE_DIR) + "/models/types";
        if (!a.types.empty() || fs::exists(fs::path(dir) / "card.json")) gTypes = DefectTypeModel::load(dir);
    }
    if (gTypes) std::printf("Type network: %s (%s), weight %g, power %g%s; type merge %s\n", gTypes->card().name.c_str(), a.types.empty() ? "models/types" : a.types.c_str(), a.typeWeight, a.typePower, a.typeConfidence ? ", scaled by confidence" : "",
                            a.typeMerge.enabled ? ("across " + std::to_string(a.typeMerge.across).substr(0, 4) + ", within " + std::to_string(a.typeMerge.within).substr(0, 4)).c_str() : "off");
    if (!a.gallery.empty()) fs::create_directories(a.gallery);
    if (!a.dump.empty()) fs::create_directories(a.dump);
    std::printf("# Defect clustering quality (window %.2g nm, %dx%d samples, PCA %d, flat kernel)\n", a.window.windowNm,
                a.window.samples, a.window.samples, a.components);
    for (const char* preset : {"atomic", "dirty"}) {
        if (a.realOnly) break;
        std::vector<Item> items = simulatedItems(preset, a.scans, nullptr);
        runPart(std::string("Simulated '") + preset + "', exact simulator maps (no networks), " +
                    std::to_string(a.scans) + " scans 256x256 at 0.1 nm/px",
                items, a, std::string("gallery-truth-") + preset + ".png");
    }
    if (a.truthOnly) return 0;

    setTorchThreads(2);
    PipelineOptions po;
    po.modelsDir = a.models;
    po.keepMaps = true;
    Pipeline pipeline(po);
    std::printf("\nModels: ");
    for (const auto& [role, name] : pipeline.modelNames()) std::printf("%s=%s ", role.c_str(), name.c_str());
    std::printf("(%s)\n", a.models.empty() ? defaultModelsDir().c_str() : a.models.c_str());
    for (const char* preset : {"atomic", "dirty"}) {
        if (a.realOnly) break;
        std::vector<Item> items = simulatedItems(preset, a.scans, &pipeline);
        std::printf("\nRow direction at the matched defects, pipeline against truth: %d within 10 degrees, %d 10-45, %d "
                    "more (a terrace read 90 degrees off)\n", gRowChecks[0], gRowChecks[1], gRowChecks[2]);
        gRowChecks[0] = gRowChecks[1] = gRowChecks[2] = 0;
        runPart(std::string("Simulated '") + preset + "', through the pipeline, defects matched within 0.5 nm",
                items, a, std::string("gallery-pipeline-") + preset + ".png");
    }

    const std::string realDir = std::string(STMLENS_SHARED_DIR) + "/data/real";
    const LabelConfig cfg = LabelConfig::load(std::string(STMLENS_SOURCE_DIR) + "/configs/cda-labels.json");
    const std::vector<LabelledScan> real = loadLabelledScans(realDir, cfg, defaultCard("defects").classes);
    std::vector<Item> detected, atLabels;
    for (const auto& lab : real) {
        Item it;
        it.result = pipeline.analyzeImage(lab.scan, &it.maps);
        it.truth = matchTypes(it.result.defects, lab.objects, 0.5 / lab.scan.pixelSize.x_nm, labelType);
        Item at;
        at.result = it.result;
        at.result.defects.clear();
        for (const auto& o : lab.objects) {
            Defect d;
            d.id = static_cast<int>(at.result.defects.size());
            d.x = o.x;
            d.y = o.y;
            d.cls = o.coarseClass;
            // Extended labelled classes are kept: here the window is all the clustering gets.
            at.result.defects.push_back(d);
            at.truth.push_back(o.fineClass);
        }
        at.maps = it.maps;
        detected.push_back(std::move(it));
        atLabels.push_back(std::move(at));
    }
    runPart("Real cda_* frames (" + std::to_string(real.size()) + "), predicted defects matched to labels within 0.5 nm",
            detected, a, "gallery-real-detected.png");
    runPart("Real cda_* frames, descriptors at the labelled defect positions", atLabels, a, "gallery-real-labels.png");
    return 0;
}
