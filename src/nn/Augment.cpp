#include <cmath>
#include <opencv2/imgproc.hpp>

#include "nn/TrainingSample.h"

namespace stmlens {

namespace {

cv::Mat asMat(Image& img) { return cv::Mat(img.height(), img.width(), CV_32F, img.data()); }

Image fromMat(const cv::Mat& m) {
    Image img(m.cols, m.rows);
    for (int y = 0; y < m.rows; ++y) std::memcpy(img.row(y), m.ptr<float>(y), sizeof(float) * m.cols);
    return img;
}

// flipCode as in cv::flip; rot in quarter turns.
void geometric(Image& img, int flipCode, int rot, double scale, bool nearest) {
    if (img.empty()) return;
    cv::Mat m = asMat(img).clone();
    if (flipCode != 2) cv::flip(m, m, flipCode);
    if (rot == 1) cv::rotate(m, m, cv::ROTATE_90_CLOCKWISE);
    else if (rot == 2) cv::rotate(m, m, cv::ROTATE_180);
    else if (rot == 3) cv::rotate(m, m, cv::ROTATE_90_COUNTERCLOCKWISE);
    if (std::abs(scale - 1.0) > 1e-3) {
        // Zoom about the centre, keeping the tile size: the same affine map for image and labels.
        const cv::Point2f c(m.cols / 2.0f, m.rows / 2.0f);
        cv::Mat a = cv::getRotationMatrix2D(c, 0.0, scale);
        cv::warpAffine(m, m, a, m.size(), nearest ? cv::INTER_NEAREST : cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
    }
    const auto px = img.pixelSize;
    img = fromMat(m);
    img.pixelSize = px;
}

}  // namespace

void augment(TrainingSample& s, std::mt19937_64& rng, const AugmentOptions& o) {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const int flipCode = !o.flips ? 2 : static_cast<int>(rng() % 4) - 1;  // -1, 0, 1 or 2 (none)
    const bool square = s.image.width() == s.image.height();
    const int rot = (o.rotate90 && square) ? static_cast<int>(rng() % 4) : 0;
    const double scale = 1.0 + o.zoom * (2 * u(rng) - 1);
    s.points.clear();  // object positions are for validation, which is never augmented
    geometric(s.image, flipCode, rot, scale, false);
    geometric(s.target, flipCode, rot, scale, true);
    if (!s.known.empty()) geometric(s.known, flipCode, rot, scale, true);

    cv::Mat m = asMat(s.image);
    if (o.blur > 0 && u(rng) < 0.3) {
        const double sigma = 0.3 + u(rng) * o.blur;
        cv::GaussianBlur(m, m, cv::Size(0, 0), sigma);
    }
    if (o.gamma > 0) {
        // Monotonic contrast change on the normalised values: tanh-shaped gamma around the median (0).
        const double g = 1.0 + o.gamma * (2 * u(rng) - 1);
        const double gain = 1.0 + 0.5 * o.gamma * (2 * u(rng) - 1);
        for (float& v : s.image.pixels()) v = static_cast<float>(gain * std::copysign(std::pow(std::fabs(v), g), v));
    }
    if (o.background > 0) {
        const double ax = o.background * (2 * u(rng) - 1), ay = o.background * (2 * u(rng) - 1);
        for (int y = 0; y < s.image.height(); ++y)
            for (int x = 0; x < s.image.width(); ++x)
                s.image.at(x, y) += static_cast<float>(ax * (x / double(s.image.width()) - 0.5) + ay * (y / double(s.image.height()) - 0.5));
    }
    std::normal_distribution<float> n01(0.0f, 1.0f);
    if (o.lineJitter > 0 && u(rng) < 0.5) {
        const float sigma = static_cast<float>(u(rng) * o.lineJitter);
        for (int y = 0; y < s.image.height(); ++y) {
            const float off = sigma * n01(rng);
            for (int x = 0; x < s.image.width(); ++x) s.image.at(x, y) += off;
        }
    }
    if (o.noise > 0) {
        const float sigma = static_cast<float>(u(rng) * o.noise);
        for (float& v : s.image.pixels()) v += sigma * n01(rng);
    }
}

}  // namespace stmlens
