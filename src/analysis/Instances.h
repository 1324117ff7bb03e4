#pragma once
// Defect instances from per-class probability maps (a segmentation network's softmax output on the scan's own
// grid): argmax labelling, connected components per class, then per instance its class, mean class scores,
// centroid, bounding box, area in nm^2, and whether it is extended.
//
//   InstanceOptions opt;                      // background class 0, extended: step_edge, contamination, bare_si
//   std::vector<Defect> defects = extractDefects(probs, {"lattice", "bright", "dark", "step_edge"}, scan.pixelSize, opt);
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/Image.h"
#include "core/Result.h"

namespace stmlens {

struct InstanceOptions {
    int backgroundClass = 0;                 // the defect-free lattice (never an instance)
    std::set<int> ignoredClasses;            // further classes that are not defects (e.g. "unresolved")
    double minAreaNm2 = 0.05;                // smaller components are noise
    double minProbability = 0.0;             // a pixel joins its argmax class only above this probability
    std::set<std::string> extendedClasses{"step_edge", "contamination", "bare_si"};
    double extendedAreaNm2 = 3.0;            // any defect larger than this (several lattice cells) is extended
    // Classes whose instances must reach this length (the longer bounding-box side, nm): a step edge is a line
    // across the scan, and the few-pixel "step edges" the network marks on the rim of a pit or blob are not.
    std::map<std::string, double> minLengthNm{{"step_edge", 2.0}};
    bool eightConnected = true;
    // Point-defect classes (those not extended): a connected blob with two probability peaks, each standing at
    // least this much above where they meet, is two defects (two defects side by side). 0 = one per blob.
    double splitPersistence = 0.0;
    // Point-defect classes: an instance whose mean probability of its own class is below this is dropped (a
    // faint blob the network is unsure of). 0 = keep every instance.
    double minMeanScore = 0.0;
};

// Instances ordered by their position (top to bottom, then left to right), ids from 1.
// Throws InputError when the maps disagree in size or the names do not match the maps.
std::vector<Defect> extractDefects(const std::vector<Image>& classProb, const std::vector<std::string>& classNames,
                                   PixelSize px, const InstanceOptions& options = {});

// The argmax class per pixel (as the labelling above uses; -1 where no class passes minProbability).
std::vector<int> argmaxLabels(const std::vector<Image>& classProb, double minProbability = 0.0);

}  // namespace stmlens
