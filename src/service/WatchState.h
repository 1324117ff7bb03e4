#pragma once
// What the watcher has finished, kept in a small JSON file in its output folder, so a restart never repeats
// finished work and still picks up files that arrived while it was down.
//
//   WatchState state("out/.stmlens-watch.json");            // loads it when present
//   if (const WatchedFile* f = state.find("scan_0001.sxm"); f && f->size == size && f->mtimeNs == mtime) skip;
//   state.record("scan_0001.sxm", {size, mtime, sha, "done", "", "out/scan_0001.json"});   // saved at once
//
// The file is rewritten atomically after every change (never half-written). One WatchState per folder and
// process; a state file that is not ours is refused (InputError naming it).
#include <cstdint>
#include <map>
#include <string>

namespace stmlens {

struct WatchedFile {
    int64_t size = 0;
    int64_t mtimeNs = 0;          // last write time, file clock, ns
    std::string sha256;
    std::string status;           // "done" | "failed"
    std::string message;          // why it failed
    std::string output;           // result JSON written for it
};

class WatchState {
public:
    static constexpr const char* kFormat = "stmlens.watch-state/1";
    explicit WatchState(std::string path);

    const WatchedFile* find(const std::string& name) const;
    void record(const std::string& name, const WatchedFile& file);
    size_t count(const std::string& status) const;
    const std::string& path() const { return path_; }

private:
    void save() const;
    std::string path_;
    std::map<std::string, WatchedFile> files_;
};

}  // namespace stmlens
