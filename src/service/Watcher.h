#pragma once
// Watch-folder mode: analyses every scan the instrument writes into a folder, once, as soon as it is complete.
//
//   Pipeline pipeline(PipelineOptions{});
//   WatchOptions o;  o.dir = "/data/stm";  o.outDir = "/data/stm/results";
//   Watcher w(pipeline, o, [](const WatchEvent& e) { std::cerr << e.file << ": " << e.message << "\n"; });
//   w.run(stopFlag);            // polls until stopFlag is set; with o.once, until nothing is left to do
//
// A file is complete when its size and modification time have not changed for `stableSeconds`; it is then read
// and analysed. A file that fails to parse while it is young (modified less than `retrySeconds` ago) is assumed
// to be still in writing and tried again later; an older one is reported once and skipped (until it changes).
// Results go to OUT/NAME.json (writeAtomically); finished files (size, mtime, SHA-256) are kept in
// OUT/.stmlens-watch.json, so a restart repeats nothing and picks up what arrived meanwhile. With a library, each
// analysed scan is added to it (the library itself refuses a file hash twice), its defects described and
// clustered as `analyze --library --cluster` does for one scan, so they carry type scores and, reduced with the
// library's projections (library/LibraryClustering.h), descriptors that `library cluster` can use. Only the folder's top level is
// watched; files whose extension no reader claims are ignored. Nothing a file contains stops the watcher.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "analysis/Pipeline.h"
#include "library/LibraryClustering.h"
#include "service/WatchState.h"

namespace stmlens {

class DefectLibrary;

struct WatchOptions {
    std::string dir;                     // folder the instrument writes into
    std::string outDir;                  // "" = next to the scans
    std::string libraryPath;             // "" = no defect library
    std::optional<PixelSize> pixelSize;  // for formats without calibration (or to override the file's)
    double stableSeconds = 1.0;          // unchanged this long = complete
    double retrySeconds = 10.0;          // a parse failure of a file younger than this is retried
    double pollSeconds = 0.25;
    bool once = false;                   // run(): stop when every file present is done or failed
};

struct WatchEvent {
    enum class Kind { Analysed, Failed, Retrying };
    Kind kind = Kind::Analysed;
    std::string file;                    // full path of the scan
    std::string output;                  // result JSON (Analysed)
    std::string message;                 // summary or error
};

struct WatchStats {
    size_t analysed = 0, failed = 0;     // this run
    size_t pending = 0;                  // seen, not finished yet
    size_t doneTotal = 0;                // in the state file, all runs
};

class Watcher {
public:
    using Listener = std::function<void(const WatchEvent&)>;
    // Throws InputError when the folder does not exist or the state file is not ours.
    Watcher(const Pipeline& pipeline, WatchOptions options, Listener listener = {});
    ~Watcher();

    // Polls until stop is set, or (options.once) until no file is pending.
    void run(const std::atomic<bool>& stop);
    // One look at the folder: analyses every file that is complete. Returns the number still pending.
    size_t poll();
    WatchStats stats() const;
    std::string statePath() const { return state_.path(); }

private:
    struct Candidate {
        int64_t size = -1, mtimeNs = 0;
        std::chrono::steady_clock::time_point unchangedSince, notBefore;
        std::string lastError;
    };
    void attempt(const std::string& name, const std::string& path, Candidate& c);
    LibraryClustering describeForLibrary(AnalysisResult& r, const AnalysisMaps& maps) const;
    void emit(WatchEvent::Kind kind, const std::string& file, const std::string& output, const std::string& message);

    const Pipeline& pipeline_;
    WatchOptions options_;
    Listener listener_;
    WatchState state_;
    std::unique_ptr<DefectLibrary> library_;
    std::map<std::string, Candidate> pending_;
    WatchStats stats_;
};

}  // namespace stmlens
