#include "core/Image.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/Errors.h"

namespace stmlens {

namespace {
// Largest image we accept: 64k x 64k pixels is far beyond any STM frame, and 16 GiB of floats.
constexpr long long kMaxPixels = 1LL << 32;
}  // namespace

Image::Image(int width, int height, float fill) : width_(width), height_(height) {
    if (width <= 0 || height <= 0)
        throw InputError("image size " + std::to_string(width) + " x " + std::to_string(height) + " is not positive");
    if (static_cast<long long>(width) * height > kMaxPixels)
        throw InputError("image size " + std::to_string(width) + " x " + std::to_string(height) + " is absurdly large");
    pixels_.assign(static_cast<size_t>(width) * height, fill);
}

void Image::setValid(int x, int y, bool v) {
    if (valid_.empty()) {
        if (v) return;
        valid_.assign(pixels_.size(), 1);
    }
    valid_[static_cast<size_t>(y) * width_ + x] = v ? 1 : 0;
}

size_t Image::validCount() const {
    if (valid_.empty()) return pixels_.size();
    return static_cast<size_t>(std::count(valid_.begin(), valid_.end(), uint8_t{1}));
}

std::pair<int, int> Image::validRowRange() const {
    int first = -1, last = -1;
    for (int y = 0; y < height_; ++y) {
        bool any = valid_.empty();
        for (int x = 0; x < width_ && !any; ++x) any = isValid(x, y);
        if (any) {
            if (first < 0) first = y;
            last = y;
        }
    }
    return {first, last};
}

size_t Image::maskNonFinite() {
    double sum = 0;
    size_t n = 0, bad = 0;
    for (size_t i = 0; i < pixels_.size(); ++i) {
        if (std::isfinite(pixels_[i]) && (valid_.empty() || valid_[i])) {
            sum += pixels_[i];
            ++n;
        } else if (!std::isfinite(pixels_[i])) {
            ++bad;
        }
    }
    if (bad == 0) return 0;
    const float fill = n ? static_cast<float>(sum / n) : 0.0f;
    if (valid_.empty()) valid_.assign(pixels_.size(), 1);
    for (size_t i = 0; i < pixels_.size(); ++i) {
        if (!std::isfinite(pixels_[i])) {
            pixels_[i] = fill;
            valid_[i] = 0;
        }
    }
    return bad;
}

Image crop(const Image& img, Rect r) {
    const int x0 = std::clamp(r.x, 0, img.width()), y0 = std::clamp(r.y, 0, img.height());
    const int x1 = std::clamp(r.x + r.width, 0, img.width()), y1 = std::clamp(r.y + r.height, 0, img.height());
    if (x1 <= x0 || y1 <= y0) throw InputError("crop rectangle lies outside the image");
    Image out(x1 - x0, y1 - y0);
    out.pixelSize = img.pixelSize;
    out.meta = img.meta;
    for (int y = y0; y < y1; ++y) {
        std::copy(img.row(y) + x0, img.row(y) + x1, out.row(y - y0));
        if (img.hasMask())
            for (int x = x0; x < x1; ++x)
                if (!img.isValid(x, y)) out.setValid(x - x0, y - y0, false);
    }
    return out;
}

ValueRange valueRange(const Image& img) {
    ValueRange r;
    r.min = std::numeric_limits<float>::infinity();
    r.max = -std::numeric_limits<float>::infinity();
    double sum = 0;
    size_t n = 0;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) {
            const float v = img.at(x, y);
            if (!img.isValid(x, y) || !std::isfinite(v)) continue;
            r.min = std::min(r.min, v);
            r.max = std::max(r.max, v);
            sum += v;
            ++n;
        }
    if (n == 0) return ValueRange{};
    r.mean = sum / n;
    return r;
}

}  // namespace stmlens
