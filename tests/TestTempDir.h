#pragma once
// A fresh, empty temporary folder per test name and process (tests run in parallel under ctest -j).
#include <unistd.h>

#include <filesystem>
#include <string>

inline std::filesystem::path tempDir(const std::string& name) {
    auto p = std::filesystem::temp_directory_path() / ("stmlens-test-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(p);
    std::filesystem::create_directories(p);
    return p;
}
