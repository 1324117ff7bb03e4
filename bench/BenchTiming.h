#pragma once
// Timing and arguments shared by the benchmarks.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nn/Model.h"

namespace stmlens::bench {

// Median wall time in ms of `runs` calls of f, after `warmUp` untimed calls (first-touch allocations, thread
// pools, oneDNN primitive creation).
inline double medianMs(int runs, const std::function<void()>& f, int warmUp = 0) {
    for (int i = 0; i < warmUp; ++i) f();
    std::vector<double> t;
    for (int i = 0; i < runs; ++i) {
        const auto a = std::chrono::steady_clock::now();
        f();
        t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    }
    std::sort(t.begin(), t.end());
    return t.empty() ? 0.0 : t[t.size() / 2];
}

// --precision NAME of a benchmark, or nullopt after printing why it is refused (the caller exits with 2).
inline std::optional<Precision> precisionArg(const char* bench, const std::string& name) {
    try {
        return parsePrecision(name);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", bench, e.what());
        return std::nullopt;
    }
}

}  // namespace stmlens::bench
