#include "analysis/Instances.h"

#include <algorithm>
#include <tuple>

#include <opencv2/imgproc.hpp>

#include "core/Errors.h"

namespace stmlens {

std::vector<int> argmaxLabels(const std::vector<Image>& classProb, double minProbability) {
    if (classProb.empty()) return {};
    const size_t n = classProb[0].size();
    std::vector<int> label(n, 0);
    std::vector<float> best(classProb[0].pixels());
    for (size_t c = 1; c < classProb.size(); ++c) {
        const float* p = classProb[c].data();
        for (size_t i = 0; i < n; ++i)
            if (p[i] > best[i]) {
                best[i] = p[i];
                label[i] = static_cast<int>(c);
            }
    }
    if (minProbability > 0)
        for (size_t i = 0; i < n; ++i)
            if (best[i] < minProbability) label[i] = -1;
    return label;
}

std::vector<Defect> extractDefects(const std::vector<Image>& classProb, const std::vector<std::string>& classNames,
                                   PixelSize px, const InstanceOptions& options) {
    if (classProb.empty()) return {};
    if (classNames.size() != classProb.size())
        throw InputError("class maps", std::to_string(classProb.size()) + " maps but " +
                                           std::to_string(classNames.size()) + " class names");
    const int w = classProb[0].width(), h = classProb[0].height();
    for (const Image& m : classProb)
        if (m.width() != w || m.height() != h) throw InputError("class maps", "maps differ in size");
    const double pixelArea = px.known() ? px.x_nm * px.y_nm : 0.0;
    const std::vector<int> label = argmaxLabels(classProb, options.minProbability);
    const Image& any = classProb[0];

    std::vector<Defect> out;
    cv::Mat mask(h, w, CV_8U), comps, stats, centroids;
    for (size_t c = 0; c < classProb.size(); ++c) {
        const int ci = static_cast<int>(c);
        if (ci == options.backgroundClass || options.ignoredClasses.count(ci)) continue;
        size_t count = 0;
        for (int y = 0; y < h; ++y) {
            uint8_t* m = mask.ptr<uint8_t>(y);
            for (int x = 0; x < w; ++x) {
                const bool on = label[static_cast<size_t>(y) * w + x] == ci && any.isValid(x, y);
                m[x] = on ? 1 : 0;
                count += on;
            }
        }
        if (count == 0) continue;
        const int n = cv::connectedComponentsWithStats(mask, comps, stats, centroids, options.eightConnected ? 8 : 4, CV_32S);
        // Per component: probability-weighted centroid and mean class probabilities.
        struct Acc {
            double sw = 0, sx = 0, sy = 0;
            std::vector<double> sums;
        };
        std::vector<Acc> acc(static_cast<size_t>(n));
        for (auto& a : acc) a.sums.assign(classProb.size(), 0.0);
        for (int y = 0; y < h; ++y) {
            const int* l = comps.ptr<int>(y);
            for (int x = 0; x < w; ++x) {
                if (l[x] == 0) continue;
                Acc& a = acc[static_cast<size_t>(l[x])];
                const size_t i = static_cast<size_t>(y) * w + x;
                const double wgt = classProb[c].data()[i];
                a.sw += wgt;
                a.sx += wgt * x;
                a.sy += wgt * y;
                for (size_t k = 0; k < classProb.size(); ++k) a.sums[k] += classProb[k].data()[i];
            }
        }
        for (int k = 1; k < n; ++k) {
            const int area = stats.at<int>(k, cv::CC_STAT_AREA);
            const double areaNm2 = area * pixelArea;
            if (pixelArea > 0 && areaNm2 < options.minAreaNm2) continue;
            Defect d;
            const Acc& a = acc[static_cast<size_t>(k)];
            d.x = a.sw > 0 ? a.sx / a.sw : centroids.at<double>(k, 0);
            d.y = a.sw > 0 ? a.sy / a.sw : centroids.at<double>(k, 1);
            d.cls = classNames[c];
            for (size_t j = 0; j < classProb.size(); ++j) {
                if (static_cast<int>(j) == options.backgroundClass || options.ignoredClasses.count(static_cast<int>(j))) continue;
                d.classScores[classNames[j]] = a.sums[j] / area;
            }
            d.areaNm2 = areaNm2;
            d.bbox[0] = stats.at<int>(k, cv::CC_STAT_LEFT);
            d.bbox[1] = stats.at<int>(k, cv::CC_STAT_TOP);
            d.bbox[2] = d.bbox[0] + stats.at<int>(k, cv::CC_STAT_WIDTH) - 1;
            d.bbox[3] = d.bbox[1] + stats.at<int>(k, cv::CC_STAT_HEIGHT) - 1;
            d.extended = options.extendedClasses.count(d.cls) > 0 || (pixelArea > 0 && areaNm2 > options.extendedAreaNm2);
            if (auto it = options.minLengthNm.find(d.cls); it != options.minLengthNm.end() && pixelArea > 0) {
                const double lengthNm = std::max((d.bbox[2] - d.bbox[0] + 1) * px.x_nm, (d.bbox[3] - d.bbox[1] + 1) * px.y_nm);
                if (lengthNm < it->second) continue;
            }
            out.push_back(std::move(d));
        }
    }
    std::sort(out.begin(), out.end(), [](const Defect& a, const Defect& b) {
        return std::tie(a.bbox[1], a.bbox[0], a.cls) < std::tie(b.bbox[1], b.bbox[0], b.cls);
    });
    for (size_t i = 0; i < out.size(); ++i) out[i].id = static_cast<int>(i) + 1;
    return out;
}

}  // namespace stmlens
