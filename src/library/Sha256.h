#pragma once
// SHA-256 (FIPS 180-4), for the file hashes that keep a scan from entering the defect library twice.
//
//   std::string hex = sha256File("scan.sxm");       // 64 lowercase hex digits
//   Sha256 h; h.update(data, size); std::string hex = h.hexDigest();
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace stmlens {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t size);
    std::array<uint8_t, 32> digest();   // finishes the hash; call once
    std::string hexDigest();            // digest() as lowercase hex

private:
    void block(const uint8_t* p);
    std::array<uint32_t, 8> h_;
    std::array<uint8_t, 64> buf_{};
    size_t bufLen_ = 0;
    uint64_t totalBytes_ = 0;
};

std::string sha256Hex(const void* data, size_t size);
std::string sha256Hex(const std::string& text);
// Throws InputError when the file cannot be read.
std::string sha256File(const std::string& path);

}  // namespace stmlens
