#include "core/Resample.h"

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/Errors.h"

namespace stmlens {

Resampled resampleToSize(const Image& img, int width, int height) {
    if (img.empty()) throw InputError("cannot resample an empty image");
    if (width <= 0 || height <= 0 || static_cast<long long>(width) * height > (1LL << 31))
        throw InputError("resample target " + std::to_string(width) + " x " + std::to_string(height) + " is not sensible");
    Resampled r;
    r.map.scaleX = static_cast<double>(img.width()) / width;
    r.map.scaleY = static_cast<double>(img.height()) / height;
    cv::Mat src(img.height(), img.width(), CV_32F, const_cast<float*>(img.data()));
    cv::Mat dst;
    // Area averaging where the image shrinks a good deal (so fine detail does not alias); a slight shrink (a
    // 0.0995 nm pixel to the atom finder's 0.1) by area weights is a half-pixel box blur in places, which merged the
    // two atoms of the cda frames' dimers (20220819 0011: 14444 -> 12999 sites), so it is bicubic like an enlargement.
    const bool shrinking = width < 0.8 * img.width() || height < 0.8 * img.height();
    if (width == img.width() && height == img.height()) dst = src.clone();
    else cv::resize(src, dst, cv::Size(width, height), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_CUBIC);
    r.image = Image(width, height);
    for (int y = 0; y < height; ++y) std::memcpy(r.image.row(y), dst.ptr<float>(y), sizeof(float) * width);
    r.image.meta = img.meta;
    if (img.pixelSize.known())
        r.image.pixelSize = {img.pixelSize.x_nm * r.map.scaleX, img.pixelSize.y_nm * r.map.scaleY};
    if (img.hasMask()) {
        cv::Mat m(img.height(), img.width(), CV_8U);
        for (int y = 0; y < img.height(); ++y)
            for (int x = 0; x < img.width(); ++x) m.at<uint8_t>(y, x) = img.isValid(x, y) ? 255 : 0;
        cv::Mat md;
        cv::resize(m, md, cv::Size(width, height), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x)
                if (md.at<uint8_t>(y, x) < 255) r.image.setValid(x, y, false);
    }
    return r;
}

Image resizeNearest(const Image& img, int width, int height) {
    cv::Mat src(img.height(), img.width(), CV_32F, const_cast<float*>(img.data())), dst;
    cv::resize(src, dst, cv::Size(width, height), 0, 0, cv::INTER_NEAREST);
    Image out(width, height);
    for (int y = 0; y < height; ++y) std::memcpy(out.row(y), dst.ptr<float>(y), sizeof(float) * width);
    return out;
}

Resampled resampleToPixelSize(const Image& img, PixelSize target) {
    if (!target.known()) throw InputError("resample target pixel size must be positive");
    if (!img.pixelSize.known()) throw InputError(img.meta.sourcePath.empty() ? std::string("image") : img.meta.sourcePath,
                                                 "pixel size unknown; cannot resample to " + target.str());
    const int w = std::max(1, static_cast<int>(std::lround(img.width() * img.pixelSize.x_nm / target.x_nm)));
    const int h = std::max(1, static_cast<int>(std::lround(img.height() * img.pixelSize.y_nm / target.y_nm)));
    return resampleToSize(img, w, h);
}

}  // namespace stmlens
