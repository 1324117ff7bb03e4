#include "nn/Preprocess.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "core/Errors.h"
#include "core/Level.h"
#include "core/Normalize.h"

namespace stmlens {

void levelAndStandardize(Image& img) {
    subtractPolynomial(img, 1);
    alignRows(img);
    standardizeRobust(img);
    for (float& v : img.pixels()) v = std::clamp(v, -kInputClip, kInputClip);
}

PreparedInput prepareForModel(const Image& scan, double modelPixelSizeNm) {
    Image levelled = scan;
    subtractPolynomial(levelled, 1);
    alignRows(levelled);
    PreparedInput p;
    p.resampled = resampleToPixelSize(levelled, PixelSize::square(modelPixelSizeNm));
    standardizeRobust(p.resampled.image);
    for (float& v : p.resampled.image.pixels()) v = std::clamp(v, -kInputClip, kInputClip);
    return p;
}

Image mapToScanGrid(const Image& m, const ResampleMap& map, int w, int h) {
    // Sample the model-grid map at each scan pixel's position on that grid.
    cv::Mat src(m.height(), m.width(), CV_32F, const_cast<float*>(m.data()));
    cv::Mat mx(h, w, CV_32F), my(h, w, CV_32F);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            mx.at<float>(y, x) = static_cast<float>(map.toOutputX(x));
            my.at<float>(y, x) = static_cast<float>(map.toOutputY(y));
        }
    cv::Mat dst;
    cv::remap(src, dst, mx, my, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    Image out(w, h);
    for (int y = 0; y < h; ++y) std::memcpy(out.row(y), dst.ptr<float>(y), sizeof(float) * w);
    return out;
}

}  // namespace stmlens
