#include "nn/Metrics.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

namespace stmlens {

DetectionCounts matchPoints(const std::vector<Point2>& pred, const std::vector<Point2>& truth, double tol) {
    return matchPoints(pred, truth, {}, tol);
}

DetectionCounts matchPoints(const std::vector<Point2>& pred, const std::vector<Point2>& truth,
                            const std::vector<Point2>& dontCare, double tol) {
    struct Pair {
        double d;
        int p, t;
    };
    // Truth indices past truth.size() are the don't-care points.
    const int nTruth = static_cast<int>(truth.size());
    const int nAll = nTruth + static_cast<int>(dontCare.size());
    auto point = [&](int t) -> const Point2& { return t < nTruth ? truth[t] : dontCare[t - nTruth]; };
    std::vector<Pair> pairs;
    // Bucket truth points on a grid of cell size tol so matching stays near-linear for many points.
    const double cell = std::max(tol, 1e-9);
    std::unordered_multimap<long long, int> grid;
    auto key = [&](long long gx, long long gy) { return gx * 1000003LL + gy; };
    for (int t = 0; t < nAll; ++t) grid.emplace(key(std::floor(point(t).x / cell), std::floor(point(t).y / cell)), t);
    for (int p = 0; p < static_cast<int>(pred.size()); ++p) {
        const long long gx = std::floor(pred[p].x / cell), gy = std::floor(pred[p].y / cell);
        for (long long dx = -1; dx <= 1; ++dx)
            for (long long dy = -1; dy <= 1; ++dy) {
                auto range = grid.equal_range(key(gx + dx, gy + dy));
                for (auto it = range.first; it != range.second; ++it) {
                    const double d = std::hypot(pred[p].x - point(it->second).x, pred[p].y - point(it->second).y);
                    if (d <= tol) pairs.push_back({d, p, it->second});
                }
            }
    }
    std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.d < b.d; });
    std::vector<char> usedP(pred.size(), 0), usedT(static_cast<size_t>(nAll), 0);
    DetectionCounts c;
    for (const auto& pr : pairs) {
        if (usedP[pr.p] || usedT[pr.t]) continue;
        usedP[pr.p] = usedT[pr.t] = 1;
        ++(pr.t < nTruth ? c.truePositives : c.ignored);
    }
    c.falsePositives = static_cast<int>(pred.size()) - c.truePositives - c.ignored;
    c.falseNegatives = nTruth - c.truePositives;
    return c;
}

std::vector<Point2> componentCentroids(const Image& map, float threshold, int minArea) {
    cv::Mat bin(map.height(), map.width(), CV_8U);
    for (int y = 0; y < map.height(); ++y)
        for (int x = 0; x < map.width(); ++x) bin.at<uint8_t>(y, x) = map.at(x, y) > threshold ? 1 : 0;
    cv::Mat labels, stats, centroids;
    const int n = cv::connectedComponentsWithStats(bin, labels, stats, centroids, 8, CV_32S);
    std::vector<Point2> out;
    for (int i = 1; i < n; ++i)
        if (stats.at<int>(i, cv::CC_STAT_AREA) >= minArea) out.push_back({centroids.at<double>(i, 0), centroids.at<double>(i, 1)});
    return out;
}

DetectionCounts matchRegions(const Image& predicted, const Image& truth, double minIoU, int minArea) {
    if (predicted.width() != truth.width() || predicted.height() != truth.height())
        throw std::invalid_argument("matchRegions: masks differ in size");
    auto label = [minArea](const Image& m, cv::Mat& labels, std::vector<int>& area) {
        cv::Mat bin(m.height(), m.width(), CV_8U);
        for (int y = 0; y < m.height(); ++y)
            for (int x = 0; x < m.width(); ++x) bin.at<uint8_t>(y, x) = m.at(x, y) > 0.5f ? 1 : 0;
        cv::Mat stats, centroids;
        const int n = cv::connectedComponentsWithStats(bin, labels, stats, centroids, 8, CV_32S);
        area.assign(n, 0);
        for (int i = 1; i < n; ++i) area[i] = stats.at<int>(i, cv::CC_STAT_AREA);
        int kept = 0;
        for (int i = 1; i < n; ++i) kept += area[i] >= minArea;
        return kept;
    };
    cv::Mat pl, tl;
    std::vector<int> pa, ta;
    const int np = label(predicted, pl, pa), nt = label(truth, tl, ta);
    std::map<std::pair<int, int>, int> overlap;
    for (int y = 0; y < pl.rows; ++y)
        for (int x = 0; x < pl.cols; ++x) {
            const int a = pl.at<int>(y, x), b = tl.at<int>(y, x);
            if (a > 0 && b > 0 && pa[a] >= minArea && ta[b] >= minArea) ++overlap[{a, b}];
        }
    std::vector<std::tuple<double, int, int>> pairs;
    for (const auto& [ab, inter] : overlap) {
        const double iou = double(inter) / (pa[ab.first] + ta[ab.second] - inter);
        if (iou >= minIoU) pairs.emplace_back(iou, ab.first, ab.second);
    }
    std::sort(pairs.begin(), pairs.end(), [](const auto& l, const auto& r) { return std::get<0>(l) > std::get<0>(r); });
    std::set<int> usedP, usedT;
    DetectionCounts c;
    for (const auto& [iou, a, b] : pairs)
        if (!usedP.count(a) && !usedT.count(b)) {
            usedP.insert(a);
            usedT.insert(b);
            ++c.truePositives;
        }
    c.falsePositives = np - c.truePositives;
    c.falseNegatives = nt - c.truePositives;
    return c;
}

ContactCounts matchByContact(const Image& ids, const std::vector<std::vector<Point2>>& objects, double tol) {
    ContactCounts c;
    std::set<int> present, touching;
    for (int y = 0; y < ids.height(); ++y)
        for (int x = 0; x < ids.width(); ++x)
            if (ids.at(x, y) > 0.5f) present.insert(static_cast<int>(std::lround(ids.at(x, y))));
    const int r = static_cast<int>(std::ceil(tol));
    for (const auto& object : objects) {
        bool touched = false;
        for (const auto& p : object)
            for (int y = static_cast<int>(std::floor(p.y)) - r; y <= static_cast<int>(std::ceil(p.y)) + r; ++y)
                for (int x = static_cast<int>(std::floor(p.x)) - r; x <= static_cast<int>(std::ceil(p.x)) + r; ++x) {
                    if (x < 0 || y < 0 || x >= ids.width() || y >= ids.height() || ids.at(x, y) < 0.5f) continue;
                    if (std::hypot(x - p.x, y - p.y) > tol) continue;
                    touching.insert(static_cast<int>(std::lround(ids.at(x, y))));
                    touched = true;
                }
        c.objectsTouched += touched;
    }
    c.objects = static_cast<int>(objects.size());
    c.instances = static_cast<int>(present.size());
    c.instancesTouching = static_cast<int>(touching.size());
    return c;
}

}  // namespace stmlens
