#pragma once
// PNG tEXt chunks (key -> value), e.g. Gwyddion's "Gwy::XReal" calibration in its 16-bit exports.
#include <map>
#include <string>

namespace stmlens {

// Reads every tEXt chunk of a PNG file. Throws InputError on a malformed chunk structure.
std::map<std::string, std::string> readPngText(const std::string& path);

}  // namespace stmlens
