#include "analysis/MeanShift.h"

#include <nanoflann.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <thread>

#include "core/Errors.h"

namespace stmlens {

namespace {

// Row-major n x d floats, as nanoflann wants to see them.
struct PointCloud {
    const float* data;
    size_t n;
    size_t d;
    size_t kdtree_get_point_count() const { return n; }
    float kdtree_get_pt(size_t i, size_t k) const { return data[i * d + k]; }
    template <class BBox>
    bool kdtree_get_bbox(BBox&) const { return false; }
};

using KdTree = nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Adaptor<float, PointCloud, float>, PointCloud, -1,
                                                   uint32_t>;

// nanoflann result set that sums the neighbours as they are found, instead of storing them.
struct MeanAccumulator {
    float radius2;
    const PointCloud& cloud;
    bool gaussian;
    double gaussScale;          // 1 / (2 s^2)
    std::vector<double>& sum;
    double wsum = 0;
    size_t count = 0;

    void init() {}
    size_t size() const { return count; }
    bool full() const { return true; }
    float worstDist() const { return radius2; }
    bool addPoint(float dist2, uint32_t index) {
        if (dist2 > radius2) return true;
        const float* p = cloud.data + static_cast<size_t>(index) * cloud.d;
        const double w = gaussian ? std::exp(-dist2 * gaussScale) : 1.0;
        for (size_t k = 0; k < cloud.d; ++k) sum[k] += w * p[k];
        wsum += w;
        ++count;
        return true;
    }
};

void checkInput(const std::vector<float>& points, int n, int d) {
    if (n < 0 || d < 0) throw InputError("mean-shift", "negative point count or dimension");
    if (n > 0 && d == 0) throw InputError("mean-shift", "features have zero dimensions");
    if (points.size() != static_cast<size_t>(n) * static_cast<size_t>(d))
        throw InputError("mean-shift", "expected " + std::to_string(n) + " x " + std::to_string(d) + " values, got " +
                                           std::to_string(points.size()));
    for (size_t i = 0; i < points.size(); ++i)
        if (!std::isfinite(points[i]))
            throw InputError("mean-shift", "feature " + std::to_string(i % d) + " of point " + std::to_string(i / d) +
                                               " is not a finite number (NaN or Inf in the descriptors)");
}

int threadCount(int requested, size_t work) {
    int t = requested > 0 ? requested : static_cast<int>(std::thread::hardware_concurrency());
    t = std::max(1, t);
    return static_cast<int>(std::min<size_t>(static_cast<size_t>(t), std::max<size_t>(1, work)));
}

// Runs fn(i) for i in [0, count) on `threads` threads.
template <class Fn>
void parallelFor(size_t count, int threads, Fn fn) {
    if (threads <= 1 || count < 2) {
        for (size_t i = 0; i < count; ++i) fn(i);
        return;
    }
    std::atomic<size_t> next{0};
    auto worker = [&]() {
        for (size_t i = next++; i < count; i = next++) fn(i);
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
}

// Centres of the bandwidth-sized grid cells holding at least minFreq points (scikit-learn's get_bin_seeds),
// most populated first. Falls back to the points themselves when binning does not reduce anything.
std::vector<float> binSeeds(const std::vector<float>& points, size_t n, size_t d, double binSize, int minFreq) {
    std::vector<int64_t> keys(n * d);
    for (size_t i = 0; i < n * d; ++i) {
        const double q = std::round(points[i] / binSize);
        keys[i] = static_cast<int64_t>(std::clamp(q, -4e18, 4e18));
    }
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    auto keyLess = [&](uint32_t a, uint32_t b) {
        return std::lexicographical_compare(&keys[a * d], &keys[a * d] + d, &keys[b * d], &keys[b * d] + d);
    };
    std::sort(order.begin(), order.end(), keyLess);
    struct Bin { uint32_t first; int count; };
    std::vector<Bin> bins;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && std::equal(&keys[order[i] * d], &keys[order[i] * d] + d, &keys[order[j] * d])) ++j;
        if (static_cast<int>(j - i) >= minFreq) bins.push_back({order[i], static_cast<int>(j - i)});
        i = j;
    }
    if (bins.size() == n) return points;
    std::stable_sort(bins.begin(), bins.end(), [](const Bin& a, const Bin& b) { return a.count > b.count; });
    std::vector<float> seeds;
    seeds.reserve(bins.size() * d);
    for (const Bin& b : bins)
        for (size_t k = 0; k < d; ++k) seeds.push_back(static_cast<float>(keys[b.first * d + k] * binSize));
    return seeds;
}

double dist2(const float* a, const float* b, size_t d) {
    double s = 0;
    for (size_t k = 0; k < d; ++k) {
        const double t = static_cast<double>(a[k]) - b[k];
        s += t * t;
    }
    return s;
}

// Index of the nearest of the modes (row-major, m x d) for every point.
std::vector<int> nearestModes(const std::vector<float>& points, size_t n, size_t d, const std::vector<float>& modes,
                              int threads) {
    const size_t m = modes.size() / d;
    std::vector<int> out(n, -1);
    if (m == 0) return out;
    PointCloud cloud{modes.data(), m, d};
    KdTree tree(static_cast<int>(d), cloud, nanoflann::KDTreeSingleIndexAdaptorParams(48));
    parallelFor(n, threadCount(threads, n / 4096 + 1), [&](size_t i) {
        uint32_t idx = 0;
        float dd = 0;
        tree.knnSearch(&points[i * d], 1, &idx, &dd);
        out[i] = static_cast<int>(idx);
    });
    return out;
}

// Maxima (row-major) with their support; the first `count` are considered. Keeps the best supported and
// drops every other within the bandwidth of a kept one, most supported first. Zero support = no maximum.
std::vector<float> mergeModes(const std::vector<float>& modes, const std::vector<size_t>& support, size_t count,
                              size_t d, float radius2) {
    std::vector<uint32_t> order;
    for (size_t s = 0; s < count; ++s)
        if (support[s] > 0) order.push_back(static_cast<uint32_t>(s));
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return support[a] > support[b]; });
    std::vector<float> sorted, kept;
    sorted.reserve(order.size() * d);
    for (uint32_t s : order) sorted.insert(sorted.end(), modes.begin() + s * d, modes.begin() + (s + 1) * d);
    const size_t m = order.size();
    if (m == 0) return kept;
    std::vector<char> suppressed(m, 0);
    PointCloud modeCloud{sorted.data(), m, d};
    KdTree modeTree(static_cast<int>(d), modeCloud, nanoflann::KDTreeSingleIndexAdaptorParams(10));
    std::vector<std::pair<uint32_t, float>> near;
    for (size_t i = 0; i < m; ++i) {
        if (suppressed[i]) continue;
        kept.insert(kept.end(), sorted.begin() + i * d, sorted.begin() + (i + 1) * d);
        modeTree.radiusSearch(&sorted[i * d], radius2, near, nanoflann::SearchParams(32, 0, false));
        for (const auto& nb : near) suppressed[nb.first] = 1;
    }
    return kept;
}

}  // namespace

double estimateBandwidth(const std::vector<float>& points, int n, int d, double quantile, int maxSamples,
                         unsigned seed, int minK) {
    checkInput(points, n, d);
    if (!(quantile > 0 && quantile <= 1)) throw InputError("mean-shift", "bandwidth quantile must be in (0, 1]");
    if (n < 2) return 0;
    std::vector<uint32_t> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0u);
    const size_t m = std::min<size_t>(static_cast<size_t>(n), static_cast<size_t>(std::max(2, maxSamples)));
    if (m < idx.size()) {  // partial Fisher-Yates: the first m are a uniform sample without replacement
        std::mt19937 rng(seed);
        for (size_t i = 0; i < m; ++i) {
            std::uniform_int_distribution<size_t> pick(i, idx.size() - 1);
            std::swap(idx[i], idx[pick(rng)]);
        }
        idx.resize(m);
    }
    const size_t k = std::min(m, std::max({size_t{1}, static_cast<size_t>(std::max(minK, 1)),
                                           static_cast<size_t>(static_cast<double>(m) * quantile)}));
    const size_t dd = static_cast<size_t>(d);
    double total = 0;
    std::vector<double> dist(m);
    for (size_t i = 0; i < m; ++i) {
        for (size_t j = 0; j < m; ++j) dist[j] = dist2(&points[idx[i] * dd], &points[idx[j] * dd], dd);
        std::nth_element(dist.begin(), dist.begin() + (k - 1), dist.end());
        total += std::sqrt(dist[k - 1]);
    }
    return total / static_cast<double>(m);
}

MeanShiftResult meanShift(const std::vector<float>& points, int nIn, int dIn, const MeanShiftOptions& opt) {
    checkInput(points, nIn, dIn);
    if (opt.bandwidth < 0 || !std::isfinite(opt.bandwidth)) throw InputError("mean-shift", "bandwidth must be >= 0");
    if (opt.maxIterations < 1) throw InputError("mean-shift", "maxIterations must be >= 1");
    MeanShiftResult res;
    const size_t n = static_cast<size_t>(nIn), d = static_cast<size_t>(dIn);
    res.bandwidth = opt.bandwidth;
    if (n == 0) return res;

    double h = opt.bandwidth > 0 ? opt.bandwidth
                                 : estimateBandwidth(points, nIn, dIn, opt.bandwidthQuantile, 1000, 0,
                                                     opt.minBandwidthNeighbours + 1);
    if (!(h > 0)) {
        // Every sampled point coincides with its neighbours: use a small fraction of the data's extent (any
        // positive value when all points are identical).
        double extent2 = 0;
        for (size_t i = 1; i < n; ++i) extent2 = std::max(extent2, dist2(&points[0], &points[i * d], d));
        h = extent2 > 0 ? 1e-3 * std::sqrt(extent2) : 1.0;
    }
    res.bandwidth = h;

    // Copy the points in the tree's leaf order and index the copy: each leaf's points are then contiguous in
    // memory, which matters when a search visits thousands of them.
    std::vector<float> ordered(points.size());
    {
        PointCloud raw{points.data(), n, d};
        KdTree rawTree(static_cast<int>(d), raw, nanoflann::KDTreeSingleIndexAdaptorParams(32));
        for (size_t i = 0; i < n; ++i)
            std::copy(points.begin() + rawTree.vAcc[i] * d, points.begin() + (rawTree.vAcc[i] + 1) * d,
                      ordered.begin() + i * d);
    }
    PointCloud cloud{ordered.data(), n, d};
    KdTree tree(static_cast<int>(d), cloud, nanoflann::KDTreeSingleIndexAdaptorParams(32));

    std::vector<float> seeds = opt.binSeeding ? binSeeds(points, n, d, h, std::max(1, opt.minBinFreq)) : points;
    const size_t nSeeds = seeds.size() / d;

    // Climb from every seed. The most populated seeds (they come first) climb unhindered; the others stop as
    // soon as they come within h/2 of a maximum those found, since merging would fold them into it anyway.
    // The first group is fixed by the input alone, so the result does not depend on the thread count.
    std::vector<float> modes(nSeeds * d);
    std::vector<size_t> support(nSeeds, 0);  // neighbours within h of the converged mode; 0 = none/absorbed
    const float radius2 = static_cast<float>(h * h);
    const double stop2 = (1e-3 * h) * (1e-3 * h);
    const double absorb2 = 0.25 * h * h;
    const bool gaussian = opt.kernel == MeanShiftOptions::Kernel::Gaussian;
    const double gaussScale = 2.0 / (h * h);  // s = h / 2
    std::vector<float> leaders;               // maxima of the first group, merged
    auto climb = [&](size_t s, bool mayBeAbsorbed) {
        std::vector<float> mean(seeds.begin() + s * d, seeds.begin() + (s + 1) * d);
        std::vector<double> sum(d);
        size_t count = 0;
        for (int it = 0; it < opt.maxIterations; ++it) {
            if (mayBeAbsorbed)
                for (size_t l = 0; l < leaders.size() / d; ++l)
                    if (dist2(mean.data(), &leaders[l * d], d) < absorb2) return;
            std::fill(sum.begin(), sum.end(), 0.0);
            MeanAccumulator acc{radius2, cloud, gaussian, gaussScale, sum};
            tree.findNeighbors(acc, mean.data(), nanoflann::SearchParams(32, 0, false));
            count = acc.count;
            if (count == 0 || !(acc.wsum > 0)) break;
            double shift2 = 0;
            for (size_t k = 0; k < d; ++k) {
                const float next = static_cast<float>(sum[k] / acc.wsum);
                shift2 += (static_cast<double>(next) - mean[k]) * (static_cast<double>(next) - mean[k]);
                mean[k] = next;
            }
            if (shift2 <= stop2) break;
        }
        std::copy(mean.begin(), mean.end(), modes.begin() + s * d);
        support[s] = count;
    };
    std::atomic<size_t> climbed{0};
    auto climbAndReport = [&](size_t s, bool mayBeAbsorbed) {
        climb(s, mayBeAbsorbed);
        const size_t c = ++climbed;
        if (opt.progress) opt.progress(c, nSeeds);
    };
    const size_t firstGroup = std::min(nSeeds, std::max<size_t>(64, nSeeds / 32));
    const int threads = threadCount(opt.threads, nSeeds);
    parallelFor(firstGroup, threads, [&](size_t s) { climbAndReport(s, false); });
    leaders = mergeModes(modes, support, firstGroup, d, radius2);
    parallelFor(nSeeds - firstGroup, threads, [&](size_t i) { climbAndReport(firstGroup + i, true); });

    std::vector<float> kept = mergeModes(modes, support, nSeeds, d, radius2);
    if (kept.empty()) {
        if (!opt.binSeeding) throw AnalysisError("mean-shift: no seed has a neighbour within the bandwidth");
        // No seed had a neighbour (bin centres far from every point in many dimensions): the points
        // themselves are always within the bandwidth of something, so this cannot recur.
        MeanShiftOptions again = opt;
        again.bandwidth = h;
        again.binSeeding = false;
        return meanShift(points, nIn, dIn, again);
    }

    // Label by nearest maximum; drop clusters below minClusterSize; sort by size.
    std::vector<int> labels = nearestModes(points, n, d, kept, opt.threads);
    size_t m = kept.size() / d;
    std::vector<int> sizes(m, 0);
    for (int l : labels) ++sizes[l];
    std::vector<int> keep;
    for (size_t c = 0; c < m; ++c)
        if (sizes[c] >= std::max(1, opt.minClusterSize)) keep.push_back(static_cast<int>(c));
    if (keep.size() < m) {
        std::vector<float> survivors;
        for (int c : keep) survivors.insert(survivors.end(), kept.begin() + c * d, kept.begin() + (c + 1) * d);
        std::vector<int> remap(m, -1);
        for (size_t i = 0; i < keep.size(); ++i) remap[keep[i]] = static_cast<int>(i);
        if (opt.assignOutliers && !keep.empty()) {
            labels = nearestModes(points, n, d, survivors, opt.threads);
        } else {
            for (int& l : labels) l = remap[l];
        }
        kept = std::move(survivors);
        m = keep.size();
        sizes.assign(m, 0);
        for (int l : labels)
            if (l >= 0) ++sizes[l];
    }
    std::vector<int> bySize(m);
    std::iota(bySize.begin(), bySize.end(), 0);
    std::stable_sort(bySize.begin(), bySize.end(), [&](int a, int b) { return sizes[a] > sizes[b]; });
    std::vector<int> rank(m);
    for (size_t r = 0; r < m; ++r) rank[bySize[r]] = static_cast<int>(r);
    for (int& l : labels)
        if (l >= 0) l = rank[l];
    res.labels = std::move(labels);
    for (int c : bySize) {
        res.modes.emplace_back(kept.begin() + c * d, kept.begin() + (c + 1) * d);
        res.sizes.push_back(sizes[c]);
    }
    return res;
}

}  // namespace stmlens
