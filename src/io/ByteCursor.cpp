#include "io/ByteCursor.h"

#include <filesystem>
#include <fstream>

namespace stmlens {

std::string readFileBytes(const std::string& path, size_t maxBytes) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) throw InputError(path, "cannot read: " + ec.message());
    if (size > maxBytes) throw InputError(path, "file is too large (" + std::to_string(size) + " bytes)");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path, "cannot open for reading");
    std::string bytes(static_cast<size_t>(size), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (static_cast<size_t>(in.gcount()) != bytes.size()) throw InputError(path, "read error");
    return bytes;
}

}  // namespace stmlens
