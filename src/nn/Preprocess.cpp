#include "nn/Preprocess.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <opencv2/imgproc.hpp>

#include "core/Errors.h"
#include "core/Level.h"
#include "core/Normalize.h"

namespace stmlens {

namespace {
// Median 0, robust spread 1, clipped: what the networks see.
void standardizeForNetwork(Image& img) {
    standardizeRobust(img);
    for (float& v : img.pixels()) v = std::clamp(v, -kInputClip, kInputClip);
}
}  // namespace

void levelAndStandardize(Image& img) {
    levelScan(img);
    standardizeForNetwork(img);
}

PreparedInput prepareForModel(const Image& scan, double modelPixelSizeNm) {
    Image levelled = scan;
    levelScan(levelled);
    return prepareLevelledForModel(levelled, modelPixelSizeNm);
}

PreparedInput prepareLevelledForModel(const Image& levelled, double modelPixelSizeNm) {
    PreparedInput p;
    p.resampled = resampleToPixelSize(levelled, PixelSize::square(modelPixelSizeNm));
    standardizeForNetwork(p.resampled.image);
    return p;
}

namespace {

// Position of every scan pixel on the model grid, for cv::remap.
std::pair<cv::Mat, cv::Mat> scanGridCoordinates(const ResampleMap& map, int w, int h) {
    cv::Mat mx(h, w, CV_32F), my(h, w, CV_32F);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            mx.at<float>(y, x) = static_cast<float>(map.toOutputX(x));
            my.at<float>(y, x) = static_cast<float>(map.toOutputY(y));
        }
    return {mx, my};
}

Image remapToScanGrid(const Image& m, const std::pair<cv::Mat, cv::Mat>& coords) {
    cv::Mat src(m.height(), m.width(), CV_32F, const_cast<float*>(m.data())), dst;
    cv::remap(src, dst, coords.first, coords.second, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    Image out(dst.cols, dst.rows);
    for (int y = 0; y < dst.rows; ++y) std::memcpy(out.row(y), dst.ptr<float>(y), sizeof(float) * dst.cols);
    return out;
}

}  // namespace

Image mapToScanGrid(const Image& m, const ResampleMap& map, int w, int h) {
    return remapToScanGrid(m, scanGridCoordinates(map, w, h));
}

std::vector<Image> mapToScanGrid(const std::vector<Image>& maps, const ResampleMap& map, int w, int h) {
    const auto coords = scanGridCoordinates(map, w, h);   // shared by every class map
    std::vector<Image> result;
    for (const Image& m : maps) result.push_back(remapToScanGrid(m, coords));
    return result;
}

}  // namespace stmlens
