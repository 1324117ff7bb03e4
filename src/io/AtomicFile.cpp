#include "io/AtomicFile.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "core/Errors.h"

namespace stmlens {

void writeAtomically(const std::string& path, const std::function<void(const std::string& tmpPath)>& write) {
    static std::atomic<unsigned> counter{0};
    namespace fs = std::filesystem;
    const fs::path target(path);
    // Keep the real extension last: writers such as OpenCV pick the encoder from it.
    const std::string tmp = (target.parent_path() / (".tmp-" + std::to_string(::getpid()) + "-" +
                                                     std::to_string(counter++) + "-" + target.filename().string()))
                                .string();
    try {
        write(tmp);
        std::error_code ec;
        fs::rename(tmp, target, ec);
        if (ec) throw InputError(path, "cannot write: " + ec.message());
    } catch (...) {
        std::error_code ec;
        fs::remove(tmp, ec);
        throw;
    }
}

void writeBytesAtomically(const std::string& path, std::string_view bytes, const std::string& what) {
    writeAtomically(path, [&](const std::string& tmp) {
        std::ofstream f(tmp, std::ios::binary);
        f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!f) throw InputError(path, "cannot write the " + what);
    });
}

}  // namespace stmlens
