#include "io/ScanOrientation.h"

#include <algorithm>

namespace stmlens {

namespace {
std::vector<uint8_t> maskCopy(const Image& img) { return img.mask(); }
void restoreMask(Image& img, const std::vector<uint8_t>& m) {
    img.clearMask();
    if (m.empty()) return;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x)
            if (!m[static_cast<size_t>(y) * img.width() + x]) img.setValid(x, y, false);
}
}  // namespace

void flipRows(Image& img) {
    const int h = img.height(), w = img.width();
    for (int y = 0; y < h / 2; ++y) std::swap_ranges(img.row(y), img.row(y) + w, img.row(h - 1 - y));
    if (img.hasMask()) {
        auto m = maskCopy(img);
        for (int y = 0; y < h / 2; ++y)
            std::swap_ranges(m.begin() + static_cast<long>(y) * w, m.begin() + static_cast<long>(y + 1) * w,
                             m.begin() + static_cast<long>(h - 1 - y) * w);
        restoreMask(img, m);
    }
}

void mirrorColumns(Image& img) {
    const int h = img.height(), w = img.width();
    for (int y = 0; y < h; ++y) std::reverse(img.row(y), img.row(y) + w);
    if (img.hasMask()) {
        auto m = maskCopy(img);
        for (int y = 0; y < h; ++y)
            std::reverse(m.begin() + static_cast<long>(y) * w, m.begin() + static_cast<long>(y + 1) * w);
        restoreMask(img, m);
    }
}

void markRowsInvalid(Image& img, int y0, int y1) {
    y0 = std::max(y0, 0);
    y1 = std::min(y1, img.height());
    for (int y = y0; y < y1; ++y)
        for (int x = 0; x < img.width(); ++x) img.setValid(x, y, false);
}

int countInvalidRows(const Image& img) {
    if (!img.hasMask()) return 0;
    int n = 0;
    for (int y = 0; y < img.height(); ++y) {
        bool any = false;
        for (int x = 0; x < img.width() && !any; ++x) any = img.isValid(x, y);
        n += any ? 0 : 1;
    }
    return n;
}

}  // namespace stmlens
