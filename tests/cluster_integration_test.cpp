// Defect clustering wired to the analysis: descriptors from the maps, run-level clusters, gallery, and the
// analyze command's --library/--gallery options.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <set>

#include "TestTempDir.h"
#include "analysis/DefectClustering.h"
#include "core/Errors.h"
#include "io/NpyReader.h"
#include "library/DefectLibrary.h"
#include "nn/Model.h"
#include "nn/Tasks.h"
#include "sim/Simulator.h"

using namespace stmlens;
namespace fs = std::filesystem;

namespace {

// A simulated scan with its exact truth as the "network outputs": what the clustering sees with perfect models.
struct Scan {
    AnalysisResult result;
    AnalysisMaps maps;
};

Scan truthScan(uint64_t seed, int size = 160) {
    sim::SimParams p;
    p.width = p.height = size;
    p.pixelSize = PixelSize::square(0.1);
    p.preset = sim::Preset::Atomic;
    p.defectDensity = 0.04;
    sim::SimSample s = sim::simulate(p, seed);
    Scan out;
    AnalysisResult& r = out.result;
    r.path = "sim-" + std::to_string(seed);
    r.width = size;
    r.height = size;
    r.pixelSize = p.pixelSize;
    r.lattice.found = true;
    // The simulator's angle turns clockwise on screen (y down); the result's counter-clockwise.
    r.lattice.rowDirectionDeg = std::fmod(360.0 - s.truth.rotationDeg, 180.0);
    int id = 0;
    for (const auto& t : s.truth.defects) {
        Defect d;
        d.id = id++;
        d.x = t.x;
        d.y = t.y;
        d.cls = sim::pixelClassName(t.cls);
        d.extended = t.extended;
        r.defects.push_back(d);
    }
    out.maps.levelled = s.image;
    out.maps.atomProb = s.truth.atomMap;
    out.maps.resolved = s.truth.resolvedMask;
    for (int c = 0; c < sim::kPixelClassCount; ++c) {
        Image m(size, size);
        for (size_t i = 0; i < m.size(); ++i) m.pixels()[i] = std::lround(s.truth.labels.pixels()[i]) == c ? 1.0f : 0.0f;
        out.maps.defectProb.push_back(std::move(m));
        out.maps.defectClasses.push_back(sim::pixelClassName(static_cast<sim::PixelClass>(c)));
    }
    return out;
}

size_t localized(const AnalysisResult& r) {
    size_t n = 0;
    for (const auto& d : r.defects) n += !d.extended;
    return n;
}

// Every clustered defect's id is in the scan's cluster list, whose sizes count exactly those defects.
void expectConsistent(const AnalysisResult& r, const ClusteringSummary& s) {
    std::map<int, int> counted;
    for (const auto& d : r.defects) {
        EXPECT_GE(d.cluster, -1);
        EXPECT_LT(d.cluster, s.clusters);
        if (d.cluster >= 0) ++counted[d.cluster];
        if (!d.extended) {
            EXPECT_EQ(static_cast<int>(d.descriptor.size()), s.dims);
        }
    }
    ASSERT_EQ(r.clusters.size(), counted.size());
    for (const auto& c : r.clusters) {
        EXPECT_EQ(c.size, counted[c.id]);
        EXPECT_EQ(static_cast<int>(c.centroidFeature.size()), s.dims);
        EXPECT_FALSE(c.exampleDefects.empty());
        for (int id : c.exampleDefects) EXPECT_EQ(r.defects.at(id).cluster, c.id);
    }
}

}  // namespace

TEST(ClusterIntegration, DescriptorsFromMaps) {
    Scan s = truthScan(11);
    ASSERT_GT(localized(s.result), 3u);
    DescriptorSet d = describeDefects(s.result, s.maps);
    const int area = 16 * 16;
    EXPECT_EQ(d.dims, (1 + 1 + sim::kPixelClassCount + 1) * area);
    ASSERT_EQ(d.values.size(), s.result.defects.size());
    EXPECT_EQ(d.described(), localized(s.result));
    for (size_t i = 0; i < d.values.size(); ++i) {
        if (s.result.defects[i].extended) {
            EXPECT_TRUE(d.values[i].empty());
            continue;
        }
        ASSERT_EQ(static_cast<int>(d.values[i].size()), d.dims);
        ASSERT_EQ(static_cast<int>(d.patches[i].size()), area);
        for (float v : d.values[i]) ASSERT_TRUE(std::isfinite(v));
        // Probability channels keep their 0..1 range; the defect's own class is lit near the centre.
        const float* dprob = d.values[i].data() + 2 * area;
        float lit = 0;
        for (int c = 1; c < sim::kPixelClassCount; ++c) lit = std::max(lit, dprob[c * area + 8 * 16 + 8]);
        EXPECT_GT(lit, 0.5f) << "defect " << i;
    }
    // Channel choice: image only, and image + resolved.
    DefectDescriptorOptions only;
    only.channels = kChannelImage;
    EXPECT_EQ(describeDefects(s.result, s.maps, only).dims, area);
    only.channels = kChannelImage | kChannelResolved;
    only.window.samples = 8;
    EXPECT_EQ(describeDefects(s.result, s.maps, only).dims, 2 * 64);
    only.channels = 0;
    EXPECT_THROW(describeDefects(s.result, s.maps, only), InputError);
}

TEST(ClusterIntegration, MissingMapsAreAClearError) {
    Scan s = truthScan(12, 96);
    ASSERT_FALSE(s.result.defects.empty());
    AnalysisMaps none;
    EXPECT_THROW(describeDefects(s.result, none), InputError);
    s.maps.atomProb = Image(10, 10);
    EXPECT_THROW(describeDefects(s.result, s.maps), InputError);
    // No atom map (the atom network does not run on unusable scans): a zero channel, not an error.
    s.maps.atomProb = Image();
    const DescriptorSet d = describeDefects(s.result, s.maps);
    const int area = 16 * 16;
    for (const auto& v : d.values)
        if (!v.empty())
            for (int k = 0; k < area; ++k) ASSERT_EQ(v[area + k], 0.0f);
}

TEST(ClusterIntegration, FillsClusterIdsConsistently) {
    Scan s = truthScan(13);
    DescriptorSet d = describeDefects(s.result, s.maps);
    ClusteringSummary sum = clusterDefects({&s.result}, {&d});
    EXPECT_EQ(sum.defects, static_cast<int>(localized(s.result)));
    EXPECT_GE(sum.clusters, 1);
    EXPECT_LE(sum.dims, 16);
    expectConsistent(s.result, sum);
    // By class (the default): every cluster holds one class, and each class present has its projection.
    std::map<int, std::set<std::string>> classesOf;
    std::set<std::string> described;
    for (const auto& def : s.result.defects) {
        if (def.extended) {
            EXPECT_EQ(def.cluster, -1);
        } else {
            described.insert(def.cls);
            if (def.cluster >= 0) classesOf[def.cluster].insert(def.cls);
        }
    }
    for (const auto& [id, classes] : classesOf) EXPECT_EQ(classes.size(), 1u) << "cluster " << id;
    EXPECT_FALSE(sum.pca.has_value());
    for (const auto& cls : described) EXPECT_TRUE(sum.classPcas.count(cls) || sum.classBandwidths.count(cls)) << cls;
    // All classes together: one projection for the run.
    ClusteringOptions mixed;
    mixed.byClass = false;
    ClusteringSummary together = clusterDefects({&s.result}, {&d}, mixed);
    ASSERT_TRUE(together.pca.has_value());
    EXPECT_TRUE(together.classPcas.empty());
    expectConsistent(s.result, together);
}

TEST(ClusterIntegration, BatchSharesClustersAcrossScans) {
    Scan a = truthScan(21), b = truthScan(22);
    // The same scan twice in one run: each defect must land in the same cluster in both copies.
    Scan a2 = truthScan(21);
    DescriptorSet da = describeDefects(a.result, a.maps), db = describeDefects(b.result, b.maps),
                  da2 = describeDefects(a2.result, a2.maps);
    ClusteringOptions opt;
    opt.byClass = false;                // one projection for the run (tested below)
    opt.meanShift.minClusterSize = 2;   // so outliers (-1) occur and are handled
    ClusteringSummary s = clusterDefects({&a.result, &b.result, &a2.result}, {&da, &db, &da2}, opt);
    EXPECT_EQ(s.defects, static_cast<int>(localized(a.result) * 2 + localized(b.result)));
    for (auto* r : {&a.result, &b.result, &a2.result}) expectConsistent(*r, s);
    for (size_t i = 0; i < a.result.defects.size(); ++i) {
        EXPECT_EQ(a.result.defects[i].cluster, a2.result.defects[i].cluster);
        EXPECT_EQ(a.result.defects[i].descriptor, a2.result.defects[i].descriptor);
    }
    int total = 0;
    for (int n : s.sizes) total += n;
    EXPECT_EQ(total + s.outliers, s.defects);

    // A given projection is used as is; one of the wrong size is refused.
    ClusteringOptions given;
    given.byClass = false;
    given.projection = s.pca;
    ClusteringSummary again = clusterDefects({&b.result}, {&db}, given);
    EXPECT_EQ(again.dims, s.pca->components());
    given.projection = Pca::fit(std::vector<float>(20, 0.5f), 2, 10, 2);
    EXPECT_THROW(clusterDefects({&b.result}, {&db}, given), InputError);
    EXPECT_THROW(clusterDefects({&b.result, &a.result}, {&db}), InputError);
}

TEST(ClusterIntegration, NoDefectsAndOneDefect) {
    Scan s = truthScan(31, 96);
    AnalysisResult empty = s.result;
    empty.defects.clear();
    DescriptorSet d0 = describeDefects(empty, s.maps);
    EXPECT_EQ(d0.described(), 0u);
    ClusteringSummary s0 = clusterDefects({&empty}, {&d0});
    EXPECT_EQ(s0.defects, 0);
    EXPECT_EQ(s0.clusters, 0);
    EXPECT_TRUE(empty.clusters.empty());

    AnalysisResult one = s.result;
    one.defects.clear();
    Defect d;
    d.id = 0;
    d.x = 40;
    d.y = 50;
    d.cls = "bright";
    one.defects.push_back(d);
    DescriptorSet d1 = describeDefects(one, s.maps);
    ClusteringSummary s1 = clusterDefects({&one}, {&d1});
    EXPECT_EQ(s1.defects, 1);
    EXPECT_EQ(s1.clusters, 1);
    EXPECT_EQ(one.defects[0].cluster, 0);
    ASSERT_EQ(one.clusters.size(), 1u);
    EXPECT_EQ(one.clusters[0].size, 1);

    const fs::path dir = tempDir("cluster-empty");
    writeClusterGallery((dir / "empty.png").string(), {&empty}, {&d0});
    writeClusterGallery((dir / "one.png").string(), {&one}, {&d1});
    EXPECT_FALSE(cv::imread((dir / "empty.png").string()).empty());
    EXPECT_FALSE(cv::imread((dir / "one.png").string()).empty());
    fs::remove_all(dir);
}

TEST(ClusterIntegration, GalleryHasOneRowPerCluster) {
    Scan a = truthScan(41), b = truthScan(42);
    DescriptorSet da = describeDefects(a.result, a.maps), db = describeDefects(b.result, b.maps);
    ClusteringOptions opt;
    opt.meanShift.minClusterSize = 2;
    ClusteringSummary s = clusterDefects({&a.result, &b.result}, {&da, &db}, opt);
    const fs::path dir = tempDir("cluster-gallery");
    const std::string png = (dir / "gallery.png").string();
    GalleryOptions g;
    g.tilePx = 64;
    writeClusterGallery(png, {&a.result, &b.result}, {&da, &db}, g);
    cv::Mat img = cv::imread(png);
    ASSERT_FALSE(img.empty());
    const int rows = std::min(s.clusters, g.maxClusters) + (s.outliers > 0 ? 1 : 0);
    EXPECT_EQ(img.rows, rows * (64 + 4) + 4 + 20);
    EXPECT_GT(img.cols, 9 * 64);
    fs::remove_all(dir);
}

// The analyze command with (untrained, small) models: --library appends each scan once, --gallery is written.
TEST(ClusterIntegration, AnalyzeAppendsToLibraryWithoutDuplicates) {
    const fs::path dir = tempDir("cluster-analyze");
    for (const char* task : {"assess", "atoms", "defects"}) {
        ModelCard c = defaultCard(task);
        c.net.depth = 2;
        c.net.width = 4;
        Model::create(c, 1).save((dir / "models" / task).string());
    }
    const std::string sim = std::string(STMLENS_CLI) + " simulate --count 2 --size 96 --preset atomic --seed 5 --out " +
                            (dir / "scans").string() + " > /dev/null 2>&1";
    ASSERT_EQ(std::system(sim.c_str()), 0);
    std::vector<std::string> scans;
    for (const auto& e : fs::directory_iterator(dir / "scans")) {
        const std::string name = e.path().filename().string();
        const std::string suffix = "_truth.json";
        if (name.size() > suffix.size() && name.ends_with(suffix))
            scans.push_back((dir / "scans" / (name.substr(0, name.size() - suffix.size()) + ".npy")).string());
    }
    std::sort(scans.begin(), scans.end());
    ASSERT_FALSE(scans.empty());
    std::string list;
    for (const auto& s : scans) list += " " + s;
    const std::string lib = (dir / "lib.sqlite").string();
    const std::string cmd = std::string(STMLENS_CLI) + " analyze" + list + " --pixel-size 0.1 --models " +
                            (dir / "models").string() + " --out " + (dir / "out").string() + " --library " + lib +
                            " --gallery " + (dir / "gallery.png").string() + " --cluster > " +
                            (dir / "log.txt").string() + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << std::ifstream(dir / "log.txt").rdbuf();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << std::ifstream(dir / "log.txt").rdbuf();
    EXPECT_TRUE(fs::exists(dir / "gallery.png"));
    DefectLibrary l(lib);
    EXPECT_EQ(l.stats().scans, static_cast<int64_t>(scans.size()));
    for (const auto& s : scans) EXPECT_TRUE(fs::exists(dir / "out" / (fs::path(s).stem().string() + ".json")));
    fs::remove_all(dir);
}

// Groups on plain vectors: ids unique over the classes, every class's clusters pure, one descriptor length; a
// given class projection longer than --components keeps its axes (padding the others), never zeroes them.
TEST(ClusterIntegration, DescriptorGroupsHaveRunUniqueIdsAndOneLength) {
    std::mt19937 rng(4);
    std::normal_distribution<float> noise(0.0f, 0.05f);
    const int dims = 12;
    std::vector<float> values;
    std::vector<std::string> classes;
    for (int i = 0; i < 40; ++i) {
        const int type = i % 4;   // bright: types 0, 1; dark: types 2, 3
        for (int k = 0; k < dims; ++k) values.push_back((k == type ? 3.0f : 0.0f) + noise(rng));
        classes.push_back(type < 2 ? "bright" : "dark");
    }
    ClusteringOptions opt;
    opt.components = 2;
    opt.classProjections.emplace("dark", Pca::fit(std::vector<float>(values.begin(), values.begin() + 10 * dims), 10, dims, 4));
    const DescriptorClustering c = clusterDescriptorGroups(values, 40, dims, classes, opt);
    ASSERT_EQ(c.summary.dims, 4);
    ASSERT_EQ(c.reduced.size(), 40u * 4);
    ASSERT_EQ(c.summary.clusterClasses.size(), static_cast<size_t>(c.summary.clusters));
    EXPECT_GE(c.summary.clusters, 4);
    for (int i = 0; i < 40; ++i) {
        ASSERT_GE(c.labels[i], 0);
        EXPECT_EQ(c.summary.clusterClasses[c.labels[i]], classes[i]);
        double norm = 0;
        for (int k = 0; k < 4; ++k) norm += std::abs(c.reduced[i * 4 + k]);
        EXPECT_GT(norm, 0.1) << "descriptor " << i << " zeroed";
    }
    EXPECT_TRUE(c.summary.classPcas.count("bright"));
    EXPECT_EQ(c.summary.classPcas.count("dark"), 1u);   // the given one
    EXPECT_THROW(clusterDescriptorGroups(values, 40, dims, {"bright"}, opt), InputError);
}

// `analyze SCAN --library` one scan at a time, each with only a few defects (shipped models; a small crop of a
// cda frame): a library whose projections an earlier run fixed stores their descriptors, although a run of five
// defects or fewer is otherwise too small to cluster; a fresh library stores none (its projection is not fixed by
// four defects) and says so.
TEST(ClusterIntegration, AnalyzeOneSmallScanAtATimeIntoALibrary) {
    const fs::path dir = tempDir("cluster-small-runs");
    const std::string real = std::string(STMLENS_SHARED_DIR) + "/data/real/";
    const NpyArray frame = readNpy(real + "cda_20220819_bias_series_0007_clean.npy");
    ASSERT_EQ(frame.shape.size(), 2u);
    const int fw = static_cast<int>(frame.shape[1]);
    std::vector<float> crop;
    for (int y = 92; y < 172; ++y)
        for (int x = 168; x < 264; ++x) crop.push_back(frame.values[static_cast<size_t>(y) * fw + x]);
    const std::string small = (dir / "crop.npy").string();
    writeNpy(small, crop.data(), 96, 80);
    auto analyze = [&](const std::string& scans, const std::string& lib) {
        const std::string log = (dir / "log.txt").string();
        const std::string cmd = std::string(STMLENS_CLI) + " analyze " + scans + " --pixel-size 0.097,0.100 --models " +
                                STMLENS_SOURCE_DIR + "/models --library " + lib + " > " + log + " 2>&1";
        EXPECT_EQ(std::system(cmd.c_str()), 0);
        std::ifstream in(log);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    auto storedWithDescriptors = [](const std::string& lib) {
        DefectLibrary l(lib);
        return l.allDescriptors().n;
    };
    const std::string fresh = (dir / "fresh.sqlite").string();
    const std::string out = analyze(small, fresh);
    EXPECT_NE(out.find("too few to fix the library's projection"), std::string::npos) << out;
    EXPECT_EQ(storedWithDescriptors(fresh), 0);

    const std::string seeded = (dir / "seeded.sqlite").string();
    analyze(real + "cda_20220819_bias_series_0017_clean.npy " + real + "cda_20220819_bias_series_0027_clean.npy", seeded);
    ASSERT_TRUE(DefectLibrary(seeded).property("pca.bright").has_value());
    const int before = storedWithDescriptors(seeded);
    analyze(small, seeded);
    EXPECT_GT(storedWithDescriptors(seeded), before);
    fs::remove_all(dir);
}
