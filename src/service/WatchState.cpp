#include "service/WatchState.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "core/Errors.h"
#include "io/AtomicFile.h"

namespace stmlens {

using nlohmann::json;

WatchState::WatchState(std::string path) : path_(std::move(path)) {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;   // first run
    try {
        const json j = json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
        if (j.value("format", "") != kFormat) throw InputError(path_, "not an stmlens watch state file");
        for (const auto& [name, f] : j.at("files").items()) {
            WatchedFile w;
            w.size = f.at("size").get<int64_t>();
            w.mtimeNs = f.at("mtime_ns").get<int64_t>();
            w.sha256 = f.value("sha256", "");
            w.status = f.value("status", "done");
            w.message = f.value("message", "");
            w.output = f.value("output", "");
            files_[name] = w;
        }
    } catch (const json::exception& e) {
        throw InputError(path_, std::string("unreadable watch state (delete it to start over): ") + e.what());
    }
}

const WatchedFile* WatchState::find(const std::string& name) const {
    auto it = files_.find(name);
    return it == files_.end() ? nullptr : &it->second;
}

void WatchState::record(const std::string& name, const WatchedFile& file) {
    files_[name] = file;
    save();
}

size_t WatchState::count(const std::string& status) const {
    size_t n = 0;
    for (const auto& [name, f] : files_) n += f.status == status;
    return n;
}

void WatchState::save() const {
    json files = json::object();
    for (const auto& [name, f] : files_)
        files[name] = {{"size", f.size}, {"mtime_ns", f.mtimeNs}, {"sha256", f.sha256}, {"status", f.status},
                       {"message", f.message}, {"output", f.output}};
    const std::string text = json{{"format", kFormat}, {"files", files}}.dump(1);
    writeAtomically(path_, [&](const std::string& tmp) {
        std::ofstream out(tmp, std::ios::binary);
        out << text;
        out.close();
        if (!out) throw InputError(path_, "cannot write the watch state");
    });
}

}  // namespace stmlens
