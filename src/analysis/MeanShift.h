#pragma once
// Mean-shift clustering of feature vectors (defect descriptors), with a KD-tree for neighbour search.
//
//   MeanShiftOptions opt;                 // flat kernel, automatic bandwidth, bin seeding
//   MeanShiftResult r = meanShift(points, n, d, opt);   // points: n x d, row-major
//   r.labels[i]     -> cluster of point i (0 = largest cluster), -1 = outlier (cluster below minClusterSize)
//   r.modes[c]      -> the density maximum cluster c converged to; r.sizes[c] its number of points
//
// Method (as scikit-learn's MeanShift, made to scale): seeds from a grid of bandwidth-sized bins; each seed
// climbs to a density maximum by repeated (kernel-weighted) means of its neighbours within the bandwidth;
// maxima closer than the bandwidth are merged, keeping the one with the most neighbours; every point takes
// the label of its nearest maximum. Deterministic for a given input, whatever the thread count.
#include <cstddef>
#include <functional>
#include <vector>

namespace stmlens {

struct MeanShiftOptions {
    // Flat: plain mean of the neighbours within the bandwidth. Gaussian: weights exp(-r^2 / (2 s^2)) with
    // s = bandwidth / 2, truncated at the bandwidth (so both kernels cost the same neighbour search).
    enum class Kernel { Flat, Gaussian } kernel = Kernel::Flat;
    double bandwidth = 0;            // 0 = estimateBandwidth(points, bandwidthQuantile)
    double bandwidthQuantile = 0.3;
    // The automatic bandwidth reaches at least this many other points: with few points quantile x n rounds to
    // the point itself (distance 0) and every point would become its own cluster.
    int minBandwidthNeighbours = 3;
    bool binSeeding = true;          // false: every point is a seed (slow for large n)
    int minBinFreq = 1;              // bins with fewer points give no seed
    int minClusterSize = 1;          // smaller clusters -> label -1, or the nearest kept mode
    bool assignOutliers = false;     // true: points of small clusters join the nearest kept mode
    int maxIterations = 300;         // per seed
    int threads = 0;                 // 0 = hardware concurrency
    // Called as seeds finish climbing (done, total), from worker threads; must be thread-safe (ProgressBar is).
    std::function<void(size_t done, size_t total)> progress;
};

struct MeanShiftResult {
    std::vector<int> labels;                   // per point; -1 = outlier
    std::vector<std::vector<float>> modes;     // per cluster, sorted by size (largest first)
    std::vector<int> sizes;                    // points per cluster
    double bandwidth = 0;                      // the bandwidth used
};

// Throws InputError for NaN/Inf features, a size mismatch or bad options. n = 0 gives an empty result;
// n = 1 or identical points give one cluster.
MeanShiftResult meanShift(const std::vector<float>& points, int n, int d, const MeanShiftOptions& options = {});

// Mean, over (up to maxSamples randomly drawn) points, of the distance to their k-th nearest neighbour among
// the drawn points, k = quantile * samples (scikit-learn's estimate_bandwidth: the point itself counts as the
// first), raised to minK (capped at the samples). 0 when all points coincide.
double estimateBandwidth(const std::vector<float>& points, int n, int d, double quantile = 0.3,
                         int maxSamples = 1000, unsigned seed = 0, int minK = 1);

}  // namespace stmlens
