#include "core/ProgressBar.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace stmlens {

namespace {
std::string clock(double seconds) {
    const long s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}
}  // namespace

ProgressBar::ProgressBar(std::string label, size_t total, int enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled < 0 ? ::isatty(STDERR_FILENO) != 0 : enabled > 0),
      start_(std::chrono::steady_clock::now()) {
    std::lock_guard<std::mutex> lock(mutex_);
    drawLocked(true);
}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::advance(size_t steps) {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = std::min(total_, done_ + steps);
    drawLocked(done_ == total_);
}

void ProgressBar::set(size_t done) {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = std::min(total_, done);
    drawLocked(done_ == total_);
}

void ProgressBar::note(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (enabled_ && !finished_) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "%s\n", text.c_str());
    drawLocked(true);
}

void ProgressBar::finish() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    finished_ = true;
    if (enabled_) {
        std::fprintf(stderr, "\r\033[K");
        std::fflush(stderr);
    }
}

std::string ProgressBar::line() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return lineLocked();
}

std::string ProgressBar::lineLocked() const {
    constexpr int kWidth = 24;
    const double frac = total_ ? static_cast<double>(done_) / total_ : 1.0;
    const int filled = static_cast<int>(frac * kWidth);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::string s = label_ + " [" + std::string(filled, '#') + std::string(kWidth - filled, ' ') + "] " +
                    std::to_string(done_) + "/" + std::to_string(total_);
    if (done_ > 0 && elapsed > 0) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "  %.1f/s", done_ / elapsed);
        s += buf;
        if (done_ < total_) s += "  ETA " + clock(elapsed / done_ * (total_ - done_));
        else s += "  " + clock(elapsed);
    }
    return s;
}

void ProgressBar::drawLocked(bool force) {
    if (!enabled_ || finished_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - lastDraw_ < std::chrono::milliseconds(100)) return;
    lastDraw_ = now;
    std::fprintf(stderr, "\r\033[K%s", lineLocked().c_str());
    std::fflush(stderr);
}

}  // namespace stmlens
