#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/ClusterMetrics.h"
#include "library/DefectLibrary.h"

using namespace stmlens;
namespace fs = std::filesystem;

namespace {
int run(const std::string& args) {
    const int rc = std::system((std::string(STMLENS_CLI) + " " + args + " > /dev/null 2>&1").c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

struct TempDir {
    fs::path dir = fs::temp_directory_path() / ("stmlens_libcli_" + std::to_string(::getpid()));
    TempDir() { fs::create_directories(dir); }
    ~TempDir() { fs::remove_all(dir); }
};
}  // namespace

// Two scans whose 40-value descriptors come from three well-separated groups: `library cluster` must find the
// groups (after PCA to 16 dimensions) and write them back; export and stats must run.
TEST(LibraryCli, ClusterExportStats) {
    TempDir t;
    const std::string lib = (t.dir / "lib.sqlite").string();
    std::vector<int> truth;
    {
        DefectLibrary l(lib);
        std::mt19937 rng(3);
        std::normal_distribution<float> noise(0.f, 0.2f);
        for (int scan = 0; scan < 2; ++scan) {
            AnalysisResult r;
            r.path = "scan" + std::to_string(scan);
            r.width = r.height = 200;
            r.pixelSize = PixelSize::square(0.05);
            for (int i = 0; i < 60; ++i) {
                Defect d;
                d.id = i;
                d.x = i;
                d.y = i;
                const int group = i % 3;
                d.cls = "type" + std::to_string(group);
                for (int k = 0; k < 40; ++k) d.descriptor.push_back((k % 3 == group ? 5.f : 0.f) + noise(rng));
                r.defects.push_back(d);
                truth.push_back(group);
            }
            ASSERT_TRUE(l.addScan(r, "hash" + std::to_string(scan)));
        }
    }
    ASSERT_EQ(run("library cluster --library " + lib + " --quantile 0.1 --min-cluster-size 5 --assign-outliers"), 0);
    {
        DefectLibrary l(lib);
        const LibraryStats s = l.stats();
        EXPECT_EQ(s.perCluster.size(), 3u);
        // Each class clustered on its own, with its own projection.
        for (const char* cls : {"type0", "type1", "type2"}) EXPECT_TRUE(l.property(std::string("pca.") + cls).has_value());
        EXPECT_FALSE(l.property("pca").has_value());
    }
    const std::string csv = (t.dir / "out.csv").string();
    ASSERT_EQ(run("library export --library " + lib + " --csv " + csv), 0);
    std::ifstream f(csv);
    std::string line;
    int rows = -1;
    std::vector<int> clusters;
    while (std::getline(f, line)) {
        if (rows++ < 0) continue;
        // cluster is the 11th field; descriptors and paths here have no commas.
        size_t at = 0;
        for (int field = 0; field < 10; ++field) at = line.find(',', at) + 1;
        clusters.push_back(std::stoi(line.substr(at)));
    }
    EXPECT_EQ(rows, 120);
    EXPECT_DOUBLE_EQ(adjustedRandIndex(truth, clusters), 1.0);
    EXPECT_EQ(run("library stats --library " + lib), 0);
}

TEST(LibraryCli, BadLibrariesExitWithTwo) {
    TempDir t;
    const std::string text = (t.dir / "notes.txt").string();
    std::ofstream(text) << "not a database at all, but long enough to hold a header";
    EXPECT_EQ(run("library stats --library " + text), 2);
    EXPECT_EQ(run("library cluster --library " + text), 2);
    EXPECT_EQ(run("library cluster --library x.sqlite --kernel triangle"), 2);
    // An empty library: nothing to cluster is not an error.
    EXPECT_EQ(run("library stats --library " + (t.dir / "missing.sqlite").string()), 2);
    EXPECT_FALSE(fs::exists(t.dir / "missing.sqlite"));
    // An empty library: nothing to cluster is not an error.
    { DefectLibrary empty((t.dir / "empty.sqlite").string()); }
    EXPECT_EQ(run("library cluster --library " + (t.dir / "empty.sqlite").string()), 0);
}
