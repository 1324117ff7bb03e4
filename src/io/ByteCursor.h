#pragma once
// Bounds-checked reading of binary file contents: every read past the end throws InputError naming the file,
// so a truncated or lying header can never make a reader touch memory it does not own.
//
//   std::string bytes = readFileBytes(path);
//   ByteCursor c(bytes, path);
//   uint32_t n = c.le<uint32_t>();
//   std::string_view payload = c.bytes(n);
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/Errors.h"

namespace stmlens {

// Whole file into memory. Throws InputError if it cannot be read or is larger than maxBytes.
std::string readFileBytes(const std::string& path, size_t maxBytes = size_t{2} << 30);

class ByteCursor {
public:
    ByteCursor(std::string_view data, std::string path) : data_(data), path_(std::move(path)) {}

    size_t pos() const { return pos_; }
    size_t size() const { return data_.size(); }
    size_t remaining() const { return data_.size() - pos_; }
    std::string_view data() const { return data_; }
    const std::string& path() const { return path_; }

    void seek(size_t p) {
        if (p > data_.size()) fail("offset " + std::to_string(p) + " lies beyond the end of the file");
        pos_ = p;
    }
    void skip(size_t n) { need(n), pos_ += n; }

    std::string_view bytes(size_t n) {
        need(n);
        std::string_view v = data_.substr(pos_, n);
        pos_ += n;
        return v;
    }

    template <typename T>
    T le() { return load<T>(std::endian::little); }
    template <typename T>
    T be() { return load<T>(std::endian::big); }

    // Bytes up to the next NUL (consumed, not returned).
    std::string cstring() {
        const size_t end = data_.find('\0', pos_);
        if (end == std::string_view::npos) fail("unterminated string at offset " + std::to_string(pos_));
        std::string s(data_.substr(pos_, end - pos_));
        pos_ = end + 1;
        return s;
    }

    [[noreturn]] void fail(const std::string& problem) const { throw InputError(path_, problem); }

private:
    void need(size_t n) const {
        if (n > data_.size() - pos_)
            fail("truncated: needs " + std::to_string(n) + " more bytes at offset " + std::to_string(pos_) +
                 " but the file ends at " + std::to_string(data_.size()));
    }
    template <typename T>
    T load(std::endian order) {
        need(sizeof(T));
        unsigned char b[sizeof(T)];
        std::memcpy(b, data_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        if (order != std::endian::native)
            for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
        T v;
        std::memcpy(&v, b, sizeof(T));
        return v;
    }

    std::string_view data_;
    std::string path_;
    size_t pos_ = 0;
};

}  // namespace stmlens
