#pragma once
// Timing shared by the benchmarks.
#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

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

}  // namespace stmlens::bench
