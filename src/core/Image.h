#pragma once
// A scan image: float32 pixels in row-major order (row 0 = top, as the instrument's viewer shows it),
// its physical pixel size, where it came from, and which pixels hold real data.
//
//   Image img(512, 512);                 // zero-filled
//   img.pixelSize = PixelSize::square(0.1);
//   img.at(x, y) = 1.0f;
//   if (!img.isValid(x, y)) ...          // e.g. rows never scanned in an aborted frame
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/PixelSize.h"

namespace stmlens {

struct ScanMetadata {
    std::string channel;        // e.g. "Z", "Current"
    std::string direction;      // "forward" | "backward" | "" (unknown)
    std::string units;          // units of the pixel values after reading, e.g. "nm", "A", "counts"
    std::string sourceFormat;   // e.g. "npy", "png", "nanonis-sxm"
    std::string sourcePath;
    std::optional<double> biasV;
    std::optional<double> setpointA;
    std::optional<double> scanAngleDeg;
    std::string pixelSizeSource;  // "file" | "user" | "calibrated" | "" (none)
    std::map<std::string, std::string> extra;  // vendor header fields worth keeping
};

class Image {
public:
    Image() = default;
    Image(int width, int height, float fill = 0.0f);

    int width() const { return width_; }
    int height() const { return height_; }
    size_t size() const { return pixels_.size(); }
    bool empty() const { return pixels_.empty(); }

    float& at(int x, int y) { return pixels_[static_cast<size_t>(y) * width_ + x]; }
    float at(int x, int y) const { return pixels_[static_cast<size_t>(y) * width_ + x]; }
    float* row(int y) { return pixels_.data() + static_cast<size_t>(y) * width_; }
    const float* row(int y) const { return pixels_.data() + static_cast<size_t>(y) * width_; }
    float* data() { return pixels_.data(); }
    const float* data() const { return pixels_.data(); }
    std::vector<float>& pixels() { return pixels_; }
    const std::vector<float>& pixels() const { return pixels_; }

    // Validity mask: empty means every pixel is valid. Invalid pixels hold NaN-free filler values
    // (so filters never see NaN), but must not be trusted.
    bool hasMask() const { return !valid_.empty(); }
    bool isValid(int x, int y) const { return valid_.empty() || valid_[static_cast<size_t>(y) * width_ + x] != 0; }
    void setValid(int x, int y, bool v);
    const std::vector<uint8_t>& mask() const { return valid_; }
    void clearMask() { valid_.clear(); }
    size_t validCount() const;
    // Rows that contain at least one valid pixel, as a contiguous [first, last] range; {-1,-1} if none.
    std::pair<int, int> validRowRange() const;

    // Replaces NaN/Inf pixels with the mean of the finite ones and marks them invalid.
    // Returns the number of pixels replaced.
    size_t maskNonFinite();

    // Physical extent, in nm (0 when the pixel size is unknown).
    double widthNm() const { return width_ * pixelSize.x_nm; }
    double heightNm() const { return height_ * pixelSize.y_nm; }

    PixelSize pixelSize;
    ScanMetadata meta;

private:
    int width_ = 0;
    int height_ = 0;
    std::vector<float> pixels_;
    std::vector<uint8_t> valid_;
};

// Pixel rectangle [x, x+width) x [y, y+height).
struct Rect {
    int x = 0, y = 0, width = 0, height = 0;
    bool contains(int px, int py) const { return px >= x && py >= y && px < x + width && py < y + height; }
    int area() const { return width * height; }
};

// Copy of a rectangle (clipped to the image); pixel size, metadata and mask travel with it.
Image crop(const Image& img, Rect r);

// Minimum, maximum, mean over valid finite pixels.
struct ValueRange {
    float min = 0, max = 0;
    double mean = 0;
};
ValueRange valueRange(const Image& img);

}  // namespace stmlens
