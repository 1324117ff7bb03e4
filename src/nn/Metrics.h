#pragma once
// Object-level detection metrics: points matched one-to-one within a distance tolerance.
#include <vector>

#include "core/Image.h"

namespace stmlens {

struct Point2 {
    double x = 0, y = 0;
};

// Harmonic mean of precision and recall; 0 when both are 0.
inline double f1Score(double precision, double recall) {
    return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
}

struct DetectionCounts {
    int truePositives = 0, falsePositives = 0, falseNegatives = 0;
    int ignored = 0;   // predictions matched to a don't-care truth point: neither true nor false positives
    double precision() const { return truePositives + falsePositives ? double(truePositives) / (truePositives + falsePositives) : 1.0; }
    double recall() const { return truePositives + falseNegatives ? double(truePositives) / (truePositives + falseNegatives) : 1.0; }
    double f1() const { return f1Score(precision(), recall()); }
    DetectionCounts& operator+=(const DetectionCounts& o) {
        truePositives += o.truePositives;
        falsePositives += o.falsePositives;
        falseNegatives += o.falseNegatives;
        ignored += o.ignored;
        return *this;
    }
};

// Greedy one-to-one matching, closest pairs first, within `tolerance` (same units as the points).
DetectionCounts matchPoints(const std::vector<Point2>& predicted, const std::vector<Point2>& truth, double tolerance);
// The same with don't-care truth points (objects that exist but lie outside the scored area, such as a dimer
// whose centre is just past the image edge): they take part in the one-to-one matching, and a prediction they
// take is counted as `ignored`, not as a false positive; unmatched, they are not false negatives.
DetectionCounts matchPoints(const std::vector<Point2>& predicted, const std::vector<Point2>& truth,
                            const std::vector<Point2>& dontCare, double tolerance);

// Centroids of the connected components (8-connected) of mask > threshold with at least minArea pixels.
std::vector<Point2> componentCentroids(const Image& map, float threshold, int minArea);

// Extended objects (step edges, contamination, patches) have no meaningful centre: their connected components
// (8-connected, mask > 0.5, at least minArea pixels) are matched one-to-one, best overlap first, when their
// intersection over union reaches minIoU.
DetectionCounts matchRegions(const Image& predicted, const Image& truth, double minIoU, int minArea);

// Extended objects scored by contact, for thin or ragged shapes whose overlap is small even when they are found
// (a step edge one or two pixels off its label, a labelled step that is a chain of lattice sites): an instance
// and an object touch when a point of the object lies within `tolerance` pixels of a pixel of the instance.
// Not one-to-one: a step found as three pieces is three right instances and one found object.
struct ContactCounts {
    int instances = 0, instancesTouching = 0;   // reported instances, and those touching some object
    int objects = 0, objectsTouched = 0;        // true objects, and those touched by some instance
    double precision() const { return instances ? double(instancesTouching) / instances : 1.0; }
    double recall() const { return objects ? double(objectsTouched) / objects : 1.0; }
    double f1() const { return f1Score(precision(), recall()); }
    ContactCounts& operator+=(const ContactCounts& o) {
        instances += o.instances;
        instancesTouching += o.instancesTouching;
        objects += o.objects;
        objectsTouched += o.objectsTouched;
        return *this;
    }
};

// instanceIds: the instance number (1, 2, ...) of each pixel, 0 where none; every number present is an instance.
ContactCounts matchByContact(const Image& instanceIds, const std::vector<std::vector<Point2>>& objects, double tolerance);

}  // namespace stmlens
