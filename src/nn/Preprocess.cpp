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
    return prepareLevelledForModel(levelled, modelPixelSizeNm);
}

PreparedInput prepareLevelledForModel(const Image& levelled, double modelPixelSizeNm) {
    PreparedInput p;
    p.resampled = resampleToPixelSize(levelled, PixelSize::square(modelPixelSizeNm));
    standardizeRobust(p.resampled.image);
    for (float& v : p.resampled.image.pixels()) v = std::clamp(v, -kInputClip, kInputClip);
    return p;
}

Image mapToScanGrid(const Image& m, const ResampleMap& map, int w, int h) {
    return std::move(mapToScanGrid(std::vector<Image>{m}, map, w, h).front());
}

std::vector<Image> mapToScanGrid(const std::vector<Image>& maps, const ResampleMap& map, int w, int h) {
    // Sample each model-grid map at every scan pixel's position on that grid.
    cv::Mat mx(h, w, CV_32F), my(h, w, CV_32F);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            mx.at<float>(y, x) = static_cast<float>(map.toOutputX(x));
            my.at<float>(y, x) = static_cast<float>(map.toOutputY(y));
        }
    std::vector<Image> result;
    for (const Image& m : maps) {
        cv::Mat src(m.height(), m.width(), CV_32F, const_cast<float*>(m.data())), dst;
        cv::remap(src, dst, mx, my, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
        Image out(w, h);
        for (int y = 0; y < h; ++y) std::memcpy(out.row(y), dst.ptr<float>(y), sizeof(float) * w);
        result.push_back(std::move(out));
    }
    return result;
}

}  // namespace stmlens
