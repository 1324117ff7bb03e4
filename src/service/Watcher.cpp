#include "service/Watcher.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "analysis/ResultJson.h"
#include "core/Errors.h"
#include "io/ScanReader.h"
#include "library/DefectLibrary.h"
#include "library/LibraryClustering.h"
#include "library/Sha256.h"

namespace stmlens {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

bool isScanName(const std::string& name) {
    if (name.empty() || name[0] == '.') return false;   // hidden and our own temporary files
    const std::string ext = fileExtension(name);
    for (const auto& reader : scanReaders())
        for (const auto& e : reader->extensions())
            if (e == ext) return true;
    return false;
}

struct FileStamp {
    int64_t size = -1, mtimeNs = 0;
    bool operator==(const FileStamp&) const = default;
};

std::optional<FileStamp> stampOf(const fs::path& p) {
    std::error_code ec;
    const auto size = fs::file_size(p, ec);
    if (ec) return std::nullopt;
    const auto t = fs::last_write_time(p, ec);
    if (ec) return std::nullopt;
    return FileStamp{static_cast<int64_t>(size),
                     std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count()};
}

double ageSeconds(int64_t mtimeNs) {
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(fs::file_time_type::clock::now().time_since_epoch()).count();
    return (now - mtimeNs) * 1e-9;
}

Clock::duration seconds(double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); }

}  // namespace

Watcher::Watcher(const Pipeline& pipeline, WatchOptions options, Listener listener)
    : pipeline_(pipeline),
      options_(std::move(options)),
      listener_(std::move(listener)),
      state_(((options_.outDir.empty() ? fs::path(options_.dir) : fs::path(options_.outDir)) / ".stmlens-watch.json").string()) {
    if (!fs::is_directory(options_.dir)) throw InputError(options_.dir, "not a folder");
    if (options_.outDir.empty()) options_.outDir = options_.dir;
    fs::create_directories(options_.outDir);
    if (!options_.libraryPath.empty()) library_ = std::make_unique<DefectLibrary>(options_.libraryPath);
    stats_.doneTotal = state_.count("done");
}

Watcher::~Watcher() = default;

void Watcher::emit(WatchEvent::Kind kind, const std::string& file, const std::string& output, const std::string& message) {
    if (!listener_) return;
    try {
        listener_(WatchEvent{kind, file, output, message});
    } catch (...) {
        // A listener's failure (e.g. a closed terminal) must not stop the watcher.
    }
}

WatchStats Watcher::stats() const {
    WatchStats s = stats_;
    s.pending = pending_.size();
    return s;
}

size_t Watcher::poll() {
    const auto now = Clock::now();
    std::map<std::string, bool> present;
    std::error_code ec;
    fs::directory_iterator it(options_.dir, ec), end;
    if (ec) {
        emit(WatchEvent::Kind::Failed, options_.dir, "", "cannot list the folder: " + ec.message());
        return pending_.size();
    }
    for (; it != end; it.increment(ec)) {
        if (ec) break;
        const std::string name = it->path().filename().string();
        if (!isScanName(name) || !it->is_regular_file(ec)) continue;
        const auto stamp = stampOf(it->path());
        if (!stamp) continue;   // vanished meanwhile
        present[name] = true;
        if (const WatchedFile* w = state_.find(name); w && w->size == stamp->size && w->mtimeNs == stamp->mtimeNs) {
            pending_.erase(name);   // finished (done or reported as failed) and unchanged
            continue;
        }
        Candidate& c = pending_[name];
        if (c.size != stamp->size || c.mtimeNs != stamp->mtimeNs) {
            c.size = stamp->size;
            c.mtimeNs = stamp->mtimeNs;
            c.unchangedSince = now;
        }
    }
    for (auto p = pending_.begin(); p != pending_.end();)   // removed or renamed away before it was finished
        p = present.count(p->first) ? std::next(p) : pending_.erase(p);

    const auto stable = seconds(options_.stableSeconds);
    std::vector<std::string> ready;
    for (const auto& [name, c] : pending_)
        if (now - c.unchangedSince >= stable && now >= c.notBefore) ready.push_back(name);
    for (const auto& name : ready) {
        auto found = pending_.find(name);
        if (found == pending_.end()) continue;
        attempt(name, (fs::path(options_.dir) / name).string(), found->second);
    }
    return pending_.size();
}

LibraryClustering Watcher::describeForLibrary(AnalysisResult& r, const AnalysisMaps& maps) const {
    // As `analyze --library --cluster` does for a run of one scan: descriptors and type scores, clustered
    // with the library's projections, so that `library cluster` can take the scan's defects in.
    DefectDescriptorOptions dopt;
    dopt.typeModel = pipeline_.typeModel();
    DescriptorSet d;
    try {
        d = describeDefects(r, maps, dopt);
    } catch (const InputError& e) {
        r.warnings.push_back(std::string("defects not described for the library: ") + e.what());
        return {};
    }
    copyTypeScores(d, r);
    if (!d.described()) return {};
    LibraryClustering lc = clusterWithLibrary({&r}, {&d}, ClusteringOptions{}, library_.get());
    for (const auto& w : lc.warnings) r.warnings.push_back("library: " + w);
    return lc;
}

void Watcher::attempt(const std::string& name, const std::string& path, Candidate& c) {
    const FileStamp before{c.size, c.mtimeNs};
    auto changed = [&] {
        const auto now = stampOf(path);
        return !now || !(*now == before);
    };
    std::string sha;
    try {
        sha = sha256File(path);
        if (changed()) return;   // still being written: the next poll sees the new stamp
        // Rewritten with the same bytes (copied again, touched): nothing new to analyse.
        if (const WatchedFile* w = state_.find(name); w && w->status == "done" && w->sha256 == sha) {
            WatchedFile same = *w;
            same.size = before.size;
            same.mtimeNs = before.mtimeNs;
            state_.record(name, same);
            pending_.erase(name);
            return;
        }
        AnalysisMaps maps;
        AnalysisResult r = pipeline_.analyzeFile(path, options_.pixelSize, library_ ? &maps : nullptr);
        if (changed()) return;   // analysed a file that was still moving: do it again when it settles
        const LibraryClustering lc = library_ ? describeForLibrary(r, maps) : LibraryClustering{};
        maps = AnalysisMaps{};
        const std::string out = (fs::path(options_.outDir) / (fs::path(name).stem().string() + ".json")).string();
        writeResultJson(out, r);
        if (library_) library_->addScan(forLibrary(r, lc), sha);
        state_.record(name, WatchedFile{before.size, before.mtimeNs, sha, "done", "", out});
        ++stats_.analysed;
        ++stats_.doneTotal;
        pending_.erase(name);
        char summary[256];
        std::snprintf(summary, sizeof summary, "%s, %zu atoms, %zu defects", r.assessment.verdict.c_str(), r.atoms.size(),
                      r.defects.size());
        emit(WatchEvent::Kind::Analysed, path, out, summary);
    } catch (const InputError& e) {
        if (changed()) return;
        // Young files may still be in writing (the instrument pauses between chunks): try again later.
        if (ageSeconds(before.mtimeNs) < options_.retrySeconds) {
            if (c.lastError.empty()) emit(WatchEvent::Kind::Retrying, path, "", e.what());
            c.lastError = e.what();
            c.notBefore = Clock::now() + seconds(std::max(options_.stableSeconds, options_.pollSeconds));
            return;
        }
        try {
            state_.record(name, WatchedFile{before.size, before.mtimeNs, sha, "failed", e.what(), ""});
        } catch (const std::exception&) {
        }
        ++stats_.failed;
        pending_.erase(name);
        emit(WatchEvent::Kind::Failed, path, "", e.what());
    } catch (const std::exception& e) {
        // Valid input the analysis cannot handle, or an output/library problem: report once, move on.
        try {
            state_.record(name, WatchedFile{before.size, before.mtimeNs, sha, "failed", e.what(), ""});
        } catch (const std::exception&) {
        }
        ++stats_.failed;
        pending_.erase(name);
        emit(WatchEvent::Kind::Failed, path, "", e.what());
    }
}

void Watcher::run(const std::atomic<bool>& stop) {
    bool first = true;
    while (!stop.load()) {
        const size_t left = poll();
        if (options_.once && !first && left == 0) break;
        first = false;
        // Sleep in short steps so a stop request is seen quickly.
        const auto until = Clock::now() + seconds(options_.pollSeconds);
        while (!stop.load() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace stmlens
