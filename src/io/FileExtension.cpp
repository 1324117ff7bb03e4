// fileExtension (declared in io/ScanReader.h) lives on its own so readers link without the registry
// (the fuzz build compiles only the readers).
#include <algorithm>
#include <cctype>
#include <filesystem>

#include "io/ScanReader.h"

namespace stmlens {

std::string fileExtension(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext;
}

}  // namespace stmlens
