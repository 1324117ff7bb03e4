#pragma once
// A one-line progress bar on stderr with count, rate and ETA, for long work (batch analysis, library
// re-clustering). Quiet when stderr is not a terminal (logs, pipes, services), so output stays clean there.
// Thread-safe; redraws at most 10 times a second.
//
//   ProgressBar bar("clustering", seeds);
//   ... bar.advance(); ...         // from any thread
//   bar.finish();                  // clears the line (also on destruction)
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace stmlens {

class ProgressBar {
public:
    // enabled: -1 = when stderr is a terminal, 0 = never, 1 = always (tests).
    ProgressBar(std::string label, size_t total, int enabled = -1);
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    void advance(size_t steps = 1);
    void set(size_t done);
    // Prints text on its own line above the bar (the bar is redrawn under it).
    void note(const std::string& text);
    void finish();
    bool enabled() const { return enabled_; }
    // The line as it would be drawn now (no escape codes), e.g. "clustering [#####     ] 50/100  12.0/s  ETA 0:04".
    std::string line() const;

private:
    void drawLocked(bool force);
    std::string lineLocked() const;

    std::string label_;
    size_t total_, done_ = 0;
    bool enabled_, finished_ = false;
    std::chrono::steady_clock::time_point start_, lastDraw_;
    mutable std::mutex mutex_;
};

}  // namespace stmlens
