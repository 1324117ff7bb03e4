#pragma once
// Helpers for reader tests: real files from ../shared, and malformed copies written to a temp dir.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/Errors.h"
#include "io/ScanReader.h"

namespace stmlens::testing {

inline std::string formatsDir() { return std::string(STMLENS_SHARED_DIR) + "/data/formats/"; }

inline std::string fileBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Writes bytes to <tmp>/stmlens-io-tests/<name> and returns the path.
inline std::string writeTemp(const std::string& name, const std::string& bytes) {
    const auto dir = std::filesystem::temp_directory_path() / "stmlens-io-tests";
    std::filesystem::create_directories(dir);
    const auto p = dir / name;
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p.string();
}

// Reading must fail with InputError (never crash, never another exception type).
inline void expectInputError(const std::string& name, const std::string& bytes) {
    const std::string path = writeTemp(name, bytes);
    try {
        (void)readScanFile(path, {});
        ADD_FAILURE() << name << ": expected InputError, read succeeded";
    } catch (const InputError& e) {
        SUCCEED() << e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << name << ": expected InputError, got " << e.what();
    }
}

// Replaces the first occurrence of from (which must exist) with to.
inline std::string replaced(std::string s, const std::string& from, const std::string& to) {
    const auto p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    if (p != std::string::npos) s.replace(p, from.size(), to);
    return s;
}

}  // namespace stmlens::testing
