#include "analysis/DefectDescriptor.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/Errors.h"
#include "core/Median.h"

namespace stmlens {

namespace {
void checkStack(const std::vector<const Image*>& channels, PixelSize px, const DescriptorOptions& opt) {
    if (channels.empty()) throw InputError("defect descriptor", "no channels to sample");
    for (size_t c = 0; c < channels.size(); ++c) {
        if (!channels[c] || channels[c]->empty())
            throw InputError("defect descriptor", "channel " + std::to_string(c) + " is empty");
        if (channels[c]->width() != channels[0]->width() || channels[c]->height() != channels[0]->height())
            throw InputError("defect descriptor", "channel " + std::to_string(c) + " is not on the scan's grid (" +
                                                      std::to_string(channels[c]->width()) + " x " +
                                                      std::to_string(channels[c]->height()) + " px)");
    }
    if (!px.known()) throw InputError("defect descriptor", "the pixel size is unknown");
    if (!(opt.windowNm > 0) || opt.samples < 1 || opt.samples > 1024)
        throw InputError("defect descriptor", "window must be > 0 nm with 1..1024 samples per side");
}

float bilinear(const Image& img, double x, double y) {
    const int w = img.width(), h = img.height();
    x = std::clamp(x, 0.0, static_cast<double>(w - 1));
    y = std::clamp(y, 0.0, static_cast<double>(h - 1));
    const int x0 = std::min(static_cast<int>(x), std::max(0, w - 2)), y0 = std::min(static_cast<int>(y), std::max(0, h - 2));
    const int x1 = std::min(x0 + 1, w - 1), y1 = std::min(y0 + 1, h - 1);
    const double fx = x - x0, fy = y - y0;
    const double top = img.at(x0, y0) * (1 - fx) + img.at(x1, y0) * fx;
    const double bottom = img.at(x0, y1) * (1 - fx) + img.at(x1, y1) * fx;
    return static_cast<float>(top * (1 - fy) + bottom * fy);
}

std::vector<float> sample(const std::vector<const Image*>& channels, double x, double y, PixelSize px,
                          double rowDirectionDeg, const DescriptorOptions& opt) {
    if (!std::isfinite(x) || !std::isfinite(y) || !std::isfinite(rowDirectionDeg))
        throw InputError("defect descriptor", "defect position or row direction is not a finite number");
    const double a = rowDirectionDeg * M_PI / 180.0;
    // Unit vectors in nm: along the rows, and across them (pointing down on screen when the rows are horizontal).
    const double rx = std::cos(a), ry = -std::sin(a);
    const double nx = std::sin(a), ny = std::cos(a);
    const int s = opt.samples;
    const double step = opt.windowNm / s;
    std::vector<float> out(channels.size() * static_cast<size_t>(s) * s);
    size_t at = 0;
    for (const Image* img : channels)
        for (int j = 0; j < s; ++j) {
            const double v = (j - (s - 1) / 2.0) * step;
            for (int i = 0; i < s; ++i) {
                const double u = (i - (s - 1) / 2.0) * step;
                out[at++] = bilinear(*img, x + (u * rx + v * nx) / px.x_nm, y + (u * ry + v * ny) / px.y_nm);
            }
        }
    return out;
}
}  // namespace

std::vector<float> defectDescriptor(const std::vector<const Image*>& channels, double x, double y, PixelSize px,
                                    double rowDirectionDeg, const DescriptorOptions& opt) {
    checkStack(channels, px, opt);
    return sample(channels, x, y, px, rowDirectionDeg, opt);
}

std::vector<std::vector<float>> defectDescriptors(const std::vector<const Image*>& channels,
                                                  const std::vector<Defect>& defects, PixelSize px,
                                                  const std::vector<double>& rowDirectionsDeg,
                                                  const DescriptorOptions& opt) {
    std::vector<std::vector<float>> out;
    if (defects.empty()) return out;
    checkStack(channels, px, opt);
    if (rowDirectionsDeg.size() != 1 && rowDirectionsDeg.size() != defects.size())
        throw InputError("defect descriptor", "give one row direction, or one per defect (" +
                                                  std::to_string(defects.size()) + ")");
    out.reserve(defects.size());
    for (size_t i = 0; i < defects.size(); ++i)
        out.push_back(sample(channels, defects[i].x, defects[i].y, px,
                             rowDirectionsDeg.size() == 1 ? rowDirectionsDeg[0] : rowDirectionsDeg[i], opt));
    return out;
}

Image robustlyScaledScan(const Image& img) {
    std::vector<float> v;
    v.reserve(std::min<size_t>(img.size(), 200000));
    const size_t step = std::max<size_t>(1, img.size() / 200000);
    for (size_t i = 0; i < img.size(); i += step) {
        const int x = static_cast<int>(i % img.width()), y = static_cast<int>(i / img.width());
        if (img.isValid(x, y) && std::isfinite(img.data()[i])) v.push_back(img.data()[i]);
    }
    Image out = img;
    if (v.empty()) return out;
    const float median = medianInPlace(v);
    for (float& x : v) x = std::fabs(x - median);
    double spread = 1.4826 * medianInPlace(v);
    if (!(spread > 1e-12)) spread = 1;
    for (float& p : out.pixels()) p = std::isfinite(p) ? static_cast<float>((p - median) / spread) : 0.0f;
    return out;
}

std::vector<float> normalisedImageWindow(const Image& scaled, double x, double y, PixelSize px, double rowDirectionDeg,
                                         const DescriptorOptions& opt, float clip) {
    if (!(clip > 0)) throw InputError("defect descriptor", "the window clip must be positive");
    std::vector<float> w = defectDescriptor({&scaled}, x, y, px, rowDirectionDeg, opt);
    std::vector<float> copy = w;
    const float m = medianInPlace(copy);
    for (float& v : w) v = std::isfinite(v) ? std::clamp(v - m, -clip, clip) / clip : 0.0f;
    return w;
}

}  // namespace stmlens
