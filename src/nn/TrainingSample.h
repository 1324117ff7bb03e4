#pragma once
// One training example: a normalised image tile and its per-pixel class targets (same grid),
// plus an optional image-level class (assessment) and a per-pixel weight of 0 where labels are unknown.
#include <functional>
#include <random>

#include "core/Image.h"

namespace stmlens {

struct TrainingSample {
    Image image;          // normalised input
    Image target;         // class index per pixel, stored as float
    Image known;          // optional: 1 where the target is known, 0 to ignore (empty = all known)
    int imageClass = -1;  // image-level class, -1 = none
    std::vector<std::pair<double, double>> points;  // object positions for object-level metrics (e.g. atom sites), tile pixels
};

// Makes the sample for a given seed; must be deterministic in the seed and safe to call from several threads.
using SampleGenerator = std::function<TrainingSample(uint64_t seed)>;

struct AugmentOptions {
    bool flips = true;
    bool rotate90 = true;
    double zoom = 0.1;           // scale factor drawn from [1 - zoom, 1 + zoom]
    double noise = 0.15;         // max white-noise sigma (in normalised units)
    double blur = 1.0;           // max Gaussian blur sigma (px)
    double gamma = 0.3;          // contrast/gamma jitter
    double lineJitter = 0.2;     // max per-scan-line offset sigma
    double background = 0.5;     // max plane tilt amplitude across the tile
};

// Applies the same geometric transform to image, target and known; intensity changes to the image only.
void augment(TrainingSample& s, std::mt19937_64& rng, const AugmentOptions& options);

}  // namespace stmlens
