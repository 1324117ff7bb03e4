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

namespace {

// Splits the mask into one instance per probability peak: pixels are taken in order of falling probability and
// join the region of their neighbours; where two regions meet, the one with the lower peak stays separate only
// if its peak stands at least `persistence` above the meeting point (else it merges). Two defects side by side
// are one connected blob of the class but two peaks; one defect's small ripples are not. Writes the instance
// per pixel (0 = none, 1.. regions) and returns the number of labels including 0.
int splitByPeaks(const cv::Mat& mask, const Image& prob, double persistence, bool eight, std::vector<int>& comp) {
    const int w = mask.cols, h = mask.rows;
    std::fill(comp.begin(), comp.end(), 0);
    std::vector<size_t> order;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            if (mask.at<uint8_t>(y, x)) order.push_back(static_cast<size_t>(y) * w + x);
    const float* p = prob.data();
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
    std::vector<int> parent{0};
    std::vector<float> peak{0.0f};
    auto find = [&](int r) {
        while (parent[r] != r) r = parent[r] = parent[parent[r]];
        return r;
    };
    std::vector<int> region(comp.size(), 0);
    const int dx[8] = {-1, 1, 0, 0, -1, 1, -1, 1}, dy[8] = {0, 0, -1, 1, -1, -1, 1, 1};
    for (size_t i : order) {
        const int x = static_cast<int>(i % w), y = static_cast<int>(i / w);
        int roots[8], nr = 0;
        for (int k = 0; k < (eight ? 8 : 4); ++k) {
            const int xx = x + dx[k], yy = y + dy[k];
            if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
            const int r = region[static_cast<size_t>(yy) * w + xx];
            if (r == 0) continue;
            const int root = find(r);
            if (std::find(roots, roots + nr, root) == roots + nr) roots[nr++] = root;
        }
        if (nr == 0) {
            parent.push_back(static_cast<int>(parent.size()));
            peak.push_back(p[i]);
            region[i] = static_cast<int>(parent.size()) - 1;
            continue;
        }
        int main = roots[0];
        for (int k = 1; k < nr; ++k)
            if (peak[roots[k]] > peak[main]) main = roots[k];
        for (int k = 0; k < nr; ++k)
            if (roots[k] != main && peak[roots[k]] - p[i] < persistence) parent[roots[k]] = main;
        region[i] = main;
    }
    // Roots -> consecutive instance labels.
    std::vector<int> id(parent.size(), 0);
    int n = 1;
    for (size_t i : order) {
        const int r = find(region[i]);
        if (id[r] == 0) id[r] = n++;
        comp[i] = id[r];
    }
    return n;
}

}  // namespace

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
    cv::Mat mask(h, w, CV_8U), comps;
    std::vector<int> comp(static_cast<size_t>(w) * h);   // instance per pixel of the current class, 0 = none
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
        int n = 0;
        const bool split = options.splitPersistence > 0 && !options.extendedClasses.count(classNames[c]);
        if (split) {
            n = splitByPeaks(mask, classProb[c], options.splitPersistence, options.eightConnected, comp);
        } else {
            n = cv::connectedComponents(mask, comps, options.eightConnected ? 8 : 4, CV_32S);
            for (int y = 0; y < h; ++y) std::copy_n(comps.ptr<int>(y), w, comp.begin() + static_cast<long>(y) * w);
        }
        // Per instance: area, box, probability-weighted centroid and mean class probabilities.
        struct Acc {
            double sw = 0, sx = 0, sy = 0;
            int area = 0, x0 = 1 << 30, y0 = 1 << 30, x1 = -1, y1 = -1;
            std::vector<double> sums;
        };
        std::vector<Acc> acc(static_cast<size_t>(n));
        for (auto& a : acc) a.sums.assign(classProb.size(), 0.0);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const size_t i = static_cast<size_t>(y) * w + x;
                if (comp[i] == 0) continue;
                Acc& a = acc[static_cast<size_t>(comp[i])];
                const double wgt = classProb[c].data()[i];
                a.sw += wgt;
                a.sx += wgt * x;
                a.sy += wgt * y;
                ++a.area;
                a.x0 = std::min(a.x0, x), a.y0 = std::min(a.y0, y), a.x1 = std::max(a.x1, x), a.y1 = std::max(a.y1, y);
                for (size_t k = 0; k < classProb.size(); ++k) a.sums[k] += classProb[k].data()[i];
            }
        for (int k = 1; k < n; ++k) {
            const Acc& a = acc[static_cast<size_t>(k)];
            if (a.area == 0) continue;
            const double areaNm2 = a.area * pixelArea;
            if (pixelArea > 0 && areaNm2 < options.minAreaNm2) continue;
            Defect d;
            d.x = a.sw > 0 ? a.sx / a.sw : 0.5 * (a.x0 + a.x1);
            d.y = a.sw > 0 ? a.sy / a.sw : 0.5 * (a.y0 + a.y1);
            d.cls = classNames[c];
            for (size_t j = 0; j < classProb.size(); ++j) {
                if (static_cast<int>(j) == options.backgroundClass || options.ignoredClasses.count(static_cast<int>(j))) continue;
                d.classScores[classNames[j]] = a.sums[j] / a.area;
            }
            d.areaNm2 = areaNm2;
            d.extended = options.extendedClasses.count(d.cls) > 0 || (pixelArea > 0 && areaNm2 > options.extendedAreaNm2);
            if (!d.extended && a.sums[c] / a.area < options.minMeanScore) continue;
            d.bbox[0] = a.x0;
            d.bbox[1] = a.y0;
            d.bbox[2] = a.x1;
            d.bbox[3] = a.y1;
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
