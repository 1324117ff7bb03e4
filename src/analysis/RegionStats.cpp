#include "analysis/RegionStats.h"

#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "core/Errors.h"

namespace stmlens {

double maskFraction(const Image& mask) {
    size_t on = 0, valid = 0;
    for (int y = 0; y < mask.height(); ++y)
        for (int x = 0; x < mask.width(); ++x) {
            if (!mask.isValid(x, y)) continue;
            ++valid;
            on += mask.at(x, y) > 0.5f;
        }
    return valid ? static_cast<double>(on) / valid : 0.0;
}

double stepEdgeLengthNm(const Image& stepMask, PixelSize px, double minLengthNm) {
    if (!px.known()) throw InputError("step edges", "the pixel size is unknown");
    if (stepMask.empty()) return 0.0;
    cv::Mat m(stepMask.height(), stepMask.width(), CV_8U);
    for (int y = 0; y < stepMask.height(); ++y)
        for (int x = 0; x < stepMask.width(); ++x) m.at<uint8_t>(y, x) = stepMask.at(x, y) > 0.5f ? 1 : 0;
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(m, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
    double total = 0;
    for (const auto& c : contours) {
        // Perimeter in nm through the pixel centres (non-square pixels scale each step).
        double perimeter = 0;
        for (size_t i = 0; i < c.size(); ++i) {
            const cv::Point a = c[i], b = c[(i + 1) % c.size()];
            perimeter += std::hypot((b.x - a.x) * px.x_nm, (b.y - a.y) * px.y_nm);
        }
        // A one-pixel-wide line's contour runs there and back along the centres: half is its length; a
        // wider band's contour runs along its outer pixel centres, so add back a pixel for the ends.
        const double length = perimeter / 2 + std::min(px.x_nm, px.y_nm);
        if (length >= minLengthNm) total += length;
    }
    return total;
}

}  // namespace stmlens
