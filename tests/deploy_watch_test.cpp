// Watch-folder mode: every good scan analysed exactly once through slow, partial and corrupt writes and a restart;
// the command line's --once mode; results identical to `stmlens analyze`; the defect library.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "DeployTestSupport.h"
#include "WatchScenario.h"
#include "analysis/Pipeline.h"
#include "core/Errors.h"
#include "analysis/DefectClustering.h"
#include "library/DefectLibrary.h"
#include "service/Watcher.h"

using namespace stmlens;
using namespace stmlens::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

class Watch : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        makeUntrainedModels(models());
        PipelineOptions po;
        po.modelsDir = models();
        pipeline_ = new Pipeline(po);
    }
    static void TearDownTestSuite() {
        delete pipeline_;
        delete dir_;
    }
    static std::string models() { return dir_->str() + "/models"; }
    static TempDir* dir_;
    static Pipeline* pipeline_;
};
TempDir* Watch::dir_ = nullptr;
Pipeline* Watch::pipeline_ = nullptr;

struct EventLog {
    std::mutex m;
    std::map<std::string, int> analysed, failed;
    void operator()(const WatchEvent& e) {
        std::lock_guard<std::mutex> lock(m);
        const std::string name = fs::path(e.file).filename().string();
        if (e.kind == WatchEvent::Kind::Analysed) ++analysed[name];
        if (e.kind == WatchEvent::Kind::Failed) ++failed[name];
    }
};

std::string runCli(const std::string& args, int* status) {
    const std::string cmd = std::string(STMLENS_CLI) + " " + args + " 2>&1";
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    *status = ::pclose(p);
    return out;
}

size_t countOf(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_F(Watch, EveryGoodScanExactlyOnceAcrossARestart) {
    TempDir work;
    const std::string in = work.str() + "/in", out = work.str() + "/out";
    fs::create_directories(in);
    const auto files = makeScenario(20, work.str());

    WatchOptions o;
    o.dir = in;
    o.outDir = out;
    o.pixelSize = PixelSize::square(0.1);
    o.stableSeconds = 0.3;
    o.retrySeconds = 1.5;
    o.pollSeconds = 0.05;
    EventLog log;
    auto listener = [&](const WatchEvent& e) { log(e); };

    std::atomic<bool> stop{false};
    auto watcher = std::make_unique<Watcher>(*pipeline_, o, listener);
    std::thread watching([&] { watcher->run(stop); });
    // Bursts of five; the watcher is restarted after the second burst while a partial file may be half written.
    for (size_t i = 0; i < files.size(); ++i) {
        writeLikeInstrument(in, files[i], 0.8);
        if (i == 9) {
            stop = true;
            watching.join();
            watcher.reset();
            stop = false;
            watcher = std::make_unique<Watcher>(*pipeline_, o, listener);
            watching = std::thread([&] { watcher->run(stop); });
        }
        if (i % 5 == 4) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    stop = true;
    watching.join();
    // A last run in --once mode finishes whatever is left (and reports the corrupt files once they are old).
    o.once = true;
    stop = false;
    Watcher(*pipeline_, o, listener).run(stop);

    for (const auto& f : files) {
        const std::string result = out + "/" + fs::path(f.name).stem().string() + ".json";
        SCOPED_TRACE(f.name + " (" + kindName(f.kind) + ")");
        if (f.kind == ScenarioFile::Kind::Corrupt) {
            EXPECT_EQ(log.analysed[f.name], 0);
            EXPECT_EQ(log.failed[f.name], 1);
            EXPECT_FALSE(fs::exists(result));
        } else {
            EXPECT_EQ(log.analysed[f.name], 1);
            EXPECT_EQ(log.failed[f.name], 0);
            ASSERT_TRUE(fs::exists(result));
            const json j = json::parse(readText(result));
            EXPECT_EQ(j.at("image").at("width"), 64);
        }
    }
    // A restart with nothing new does nothing.
    EventLog again;
    Watcher(*pipeline_, o, [&](const WatchEvent& e) { again(e); }).run(stop);
    EXPECT_TRUE(again.analysed.empty());
    EXPECT_TRUE(again.failed.empty());
}

TEST_F(Watch, ChangedFileIsAnalysedAgainTouchedFileIsNot) {
    TempDir work;
    fs::copy_file(cdaScan(), work.str() + "/a.npy");
    WatchOptions o;
    o.dir = work.str();
    o.pixelSize = PixelSize(0.097, 0.100);
    o.stableSeconds = 0.05;
    o.retrySeconds = 0;
    o.pollSeconds = 0.02;
    o.once = true;
    EventLog log;
    std::atomic<bool> stop{false};
    Watcher(*pipeline_, o, [&](const WatchEvent& e) { log(e); }).run(stop);
    EXPECT_EQ(log.analysed["a.npy"], 1);
    EXPECT_TRUE(fs::exists(work.str() + "/a.json"));
    EXPECT_TRUE(fs::exists(work.str() + "/.stmlens-watch.json"));

    // Same bytes, new time: not analysed again.
    fs::last_write_time(work.str() + "/a.npy", fs::file_time_type::clock::now() - std::chrono::hours(1));
    Watcher(*pipeline_, o, [&](const WatchEvent& e) { log(e); }).run(stop);
    EXPECT_EQ(log.analysed["a.npy"], 1);

    // New content under the same name: analysed again.
    fs::copy_file(std::string(STMLENS_SHARED_DIR) + "/data/real/cda_20220819_bias_series_0017_clean.npy", work.str() + "/a.npy",
                  fs::copy_options::overwrite_existing);
    Watcher(*pipeline_, o, [&](const WatchEvent& e) { log(e); }).run(stop);
    EXPECT_EQ(log.analysed["a.npy"], 2);
}

TEST_F(Watch, MissingFolderAndForeignStateAreInputErrors) {
    WatchOptions o;
    o.dir = dir_->str() + "/does-not-exist";
    EXPECT_THROW(Watcher(*pipeline_, o), InputError);
    TempDir work;
    { std::ofstream(work.str() + "/.stmlens-watch.json") << "{\"format\": \"something else\"}"; }
    o.dir = work.str();
    EXPECT_THROW(Watcher(*pipeline_, o), InputError);
}

TEST_F(Watch, CommandLineOnceWithLibraryMatchesAnalyze) {
    TempDir work;
    const std::string in = work.str() + "/in", out = work.str() + "/out", lib = work.str() + "/lib.sqlite";
    fs::create_directories(in);
    fs::copy_file(cdaScan(), in + "/cda7.npy");
    fs::copy_file(std::string(STMLENS_SHARED_DIR) + "/data/real/cda_20220819_bias_series_0017_clean.npy", in + "/cda17.npy");
    { std::ofstream(in + "/broken.npy") << "not a scan"; }
    { std::ofstream(in + "/notes.txt") << "ignored: no reader claims .txt"; }
    const std::string args = "watch " + in + " --out " + out + " --library " + lib + " --models " + models() +
                             " --pixel-size 0.097,0.100 --once --stable 0.1 --retry 0 --poll 0.05";
    int status = -1;
    std::string log = runCli(args, &status);
    ASSERT_EQ(status, 0) << log;
    EXPECT_EQ(countOf(log, "broken.npy"), 1u) << log;
    EXPECT_EQ(countOf(log, "notes.txt"), 0u) << log;
    EXPECT_NE(log.find("2 analysed, 1 failed"), std::string::npos) << log;
    EXPECT_TRUE(fs::exists(out + "/cda7.json"));
    EXPECT_TRUE(fs::exists(out + "/cda17.json"));
    EXPECT_FALSE(fs::exists(out + "/broken.json"));
    {
        DefectLibrary library(lib);
        EXPECT_EQ(library.stats().scans, 2);
    }

    // Same result as `stmlens analyze` with the same models and pixel size.
    ASSERT_EQ(std::system((std::string(STMLENS_CLI) + " analyze " + in + "/cda7.npy --models " + models() +
                           " --pixel-size 0.097,0.100 --json " + work.str() + "/analyze.json 2>/dev/null").c_str()),
              0);
    EXPECT_EQ(comparable(json::parse(readText(out + "/cda7.json"))).dump(),
              comparable(json::parse(readText(work.str() + "/analyze.json"))).dump());

    // Restarted: nothing repeated, the broken file not reported again; a new scan is picked up.
    log = runCli(args, &status);
    EXPECT_NE(log.find("0 analysed, 0 failed"), std::string::npos) << log;
    fs::copy_file(cdaScan(), in + "/later.npy");
    log = runCli(args, &status);
    EXPECT_NE(log.find("1 analysed, 0 failed"), std::string::npos) << log;
    DefectLibrary library(lib);
    EXPECT_EQ(library.stats().scans, 2);   // later.npy has cda7's bytes: the library keeps one copy
}

// Each watched scan's defects go into the library described, reduced with the library's projection of their class
// (here seeded, as a first `analyze --library` run with enough defects would), so `library cluster` takes them in.
// The shipped models: the untrained ones report no defects on this frame.
TEST_F(Watch, LibraryGetsEveryDescribedDefectReducedWithItsProjection) {
    PipelineOptions po;
    po.modelsDir = std::string(STMLENS_SOURCE_DIR) + "/models";
    const Pipeline shipped(po);
    TempDir work;
    const std::string in = work.str() + "/in", lib = work.str() + "/lib.sqlite";
    fs::create_directories(in);
    fs::copy_file(cdaScan(), in + "/cda7.npy");
    const PixelSize px = PixelSize::square(0.1);
    AnalysisMaps maps;
    const AnalysisResult r = shipped.analyzeFile(cdaScan(), std::optional<PixelSize>(px), &maps);
    DefectDescriptorOptions dopt;
    dopt.typeModel = shipped.typeModel();
    const DescriptorSet d = describeDefects(r, maps, dopt);
    ASSERT_GT(d.described(), 0u);
    {
        DefectLibrary library(lib);
        std::set<std::string> classes;
        for (const Defect& def : r.defects) classes.insert(def.cls);
        std::vector<float> spread(64 * static_cast<size_t>(d.dims));
        for (size_t i = 0; i < spread.size(); ++i) spread[i] = static_cast<float>((i * 7919) % 101) / 101.0f;
        const Pca pca = Pca::fit(spread, 64, d.dims, 8);
        for (const auto& cls : classes) library.setProperty("pca." + cls, pca.toJson());
    }
    WatchOptions o;
    o.dir = in;
    o.outDir = work.str() + "/out";
    o.libraryPath = lib;
    o.pixelSize = px;
    o.stableSeconds = 0;
    o.once = true;
    std::atomic<bool> stop{false};
    Watcher(shipped, o).run(stop);
    DefectLibrary library(lib);
    const LibraryDescriptors all = library.allDescriptors();
    EXPECT_EQ(all.n, static_cast<int>(d.described()));
    EXPECT_EQ(all.dims, ClusteringOptions{}.components);   // 8 axes, padded with zeros to the run's length
    // And the scan's result carries each described defect's type scores, as `analyze` writes them.
    const json out = json::parse(readText(o.outDir + "/cda7.json"));
    ASSERT_EQ(out["defects"].size(), r.defects.size());
    size_t scored = 0;
    for (const auto& def : out["defects"]) scored += def.contains("type_scores");
    EXPECT_EQ(scored, d.described());
}

TEST_F(Watch, CommandRunsUntilSigtermThenStopsCleanly) {
    TempDir work;
    const std::string in = work.str() + "/in", log = work.str() + "/watch.log";
    fs::create_directories(in);
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(fd, STDERR_FILENO);
        const std::string models = Watch::models();
        ::execl(STMLENS_CLI, STMLENS_CLI, "watch", in.c_str(), "--models", models.c_str(), "--pixel-size", "0.097,0.100",
                "--stable", "0.1", "--poll", "0.05", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ASSERT_GT(pid, 0);
    fs::copy_file(cdaScan(), in + "/.incoming.tmp");
    fs::rename(in + "/.incoming.tmp", in + "/live.npy");
    // Bounded wait for the result (the watcher loads torch and the models first).
    for (int i = 0; i < 1200 && !fs::exists(in + "/live.json"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(fs::exists(in + "/live.json"));
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    const std::string text = readText(log);
    EXPECT_NE(text.find("1 analysed, 0 failed, 0 pending (stopped)"), std::string::npos) << text;
}
