#include "io/LatticeOverlay.h"

#include <opencv2/imgcodecs.hpp>

#include "core/Errors.h"

namespace stmlens {

LatticeOverlay readLatticeOverlay(const std::string& path, const OverlayPalette& palette) {
    std::map<std::array<int, 3>, int> byColour;
    for (const auto& [id, rgb] : palette) {
        if (id <= 0) throw InputError(path, "overlay label ids must be positive (0 means unlabelled)");
        if (!byColour.emplace(rgb, id).second) throw InputError(path, "two overlay labels share one colour");
    }
    const cv::Mat bgr = cv::imread(path, cv::IMREAD_UNCHANGED);
    if (bgr.empty()) throw InputError(path, "cannot decode image (corrupt or truncated file)");
    if (bgr.depth() != CV_8U || (bgr.channels() != 3 && bgr.channels() != 4))
        throw InputError(path, "a lattice overlay must be an 8-bit RGB image");
    const int w = bgr.cols, h = bgr.rows, nc = bgr.channels();
    LatticeOverlay o;
    o.image = Image(w, h);
    o.labels = Image(w, h, 0.0f);
    for (int y = 0; y < h; ++y) {
        const uint8_t* p = bgr.ptr<uint8_t>(y);
        for (int x = 0; x < w; ++x, p += nc) {
            const std::array<int, 3> rgb{p[2], p[1], p[0]};
            auto it = byColour.find(rgb);
            if (it != byColour.end()) {
                o.labels.at(x, y) = static_cast<float>(it->second);
                ++o.paintedPixels;
            }
            // The image itself is grey; a painted pixel's value is filled in below.
            o.image.at(x, y) = static_cast<float>((rgb[0] + rgb[1] + rgb[2]) / 3.0);
        }
    }
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            if (o.labels.at(x, y) == 0.0f) continue;
            double sum = 0;
            int n = 0;
            for (int dy = -1; dy <= 1; ++dy)
                for (int dx = -1; dx <= 1; ++dx) {
                    const int u = x + dx, v = y + dy;
                    if ((dx || dy) && u >= 0 && v >= 0 && u < w && v < h && o.labels.at(u, v) == 0.0f) {
                        sum += o.image.at(u, v);
                        ++n;
                    }
                }
            if (n) o.image.at(x, y) = static_cast<float>(sum / n);
        }
    return o;
}

}  // namespace stmlens
