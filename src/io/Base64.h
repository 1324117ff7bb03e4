#pragma once
// Base64 (RFC 4648, with padding), for images embedded in self-contained HTML as data: URLs.
#include <cstdint>
#include <string>
#include <vector>

namespace stmlens {

std::string base64Encode(const std::vector<uint8_t>& bytes);

}  // namespace stmlens
