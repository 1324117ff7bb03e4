#pragma once
// Real scans with human labels, for fine-tuning and for measuring accuracy on real data.
// A folder holds scans and label files side by side; a JSON config says how they pair up and what the label
// ids mean (configs/cda-labels.json describes the cda_* frames of ../shared/data/real):
//   { "scan_suffix": "_clean.npy", "label_suffix": "_labels.npy", "pixel_size_nm": [0.097, 0.1],
//     "site_labels": true, "site_radius_nm": 0.3, "lattice_label": 1,
//     "classes": { "14": ["db", "bright"], "6": ["unknown", "ignore"], ... } }
// Label files are images/arrays of label ids on the scan's grid: either a full mask, or (site_labels) one
// labelled pixel per lattice site, which becomes a disc of site_radius_nm; pixels far from every labelled site
// are unknown and ignored in training and scoring.
// With "overlay_palette": { "1": [255, 0, 0], ... } the labels are burned into the scan file itself, one pixel
// per site in its class colour (io/LatticeOverlay.h, configs/cda-overlay-labels.json); there is no label file.
#include <map>
#include <string>
#include <vector>

#include "core/Image.h"
#include "io/LatticeOverlay.h"
#include "nn/Metrics.h"
#include "nn/TrainingSample.h"

namespace stmlens {

struct LabelledObject {
    double x = 0, y = 0;     // centroid, scan pixels
    std::string fineClass;   // the label's own name, e.g. "db"
    std::string coarseClass; // the model class it maps to, e.g. "bright"
    int sites = 0;
    std::vector<Point2> points;   // its labelled sites, scan pixels (an extended object is scored by where it lies)
};

struct LabelledScan {
    std::string path;
    Image scan;              // with pixel size
    Image target;            // model class index per pixel (float), on the scan grid
    Image known;             // 1 where the label is known
    std::vector<LabelledObject> objects;   // defect instances (sites of one class grouped within ~0.6 nm)
    std::vector<LabelledObject> latticeSites;
};

struct LabelConfig {
    std::string scanSuffix = ".npy", labelSuffix = "_labels.npy", namePrefix;
    PixelSize pixelSize;
    bool siteLabels = true;
    double siteRadiusNm = 0.3;
    int latticeLabel = 1;
    std::map<int, std::pair<std::string, std::string>> classes;  // id -> (fine name, model class or "ignore")
    OverlayPalette overlayPalette;   // non-empty: labels are painted into the scan files in these colours
    static LabelConfig load(const std::string& path);
};

// Every scan in dir with a matching label file. modelClasses: the model card's class list (index = target value).
std::vector<LabelledScan> loadLabelledScans(const std::string& dir, const LabelConfig& config,
                                            const std::vector<std::string>& modelClasses);

// Random tiles (model pixel size, normalised as in inference) from the given scans, for fine-tuning.
SampleGenerator labelledSamples(std::vector<LabelledScan> scans, double modelPixelSizeNm, int tile);

// The same for the atom finder: the target marks each clean labelled lattice site (a small disc), the sites
// are the tile's points for the object-level metric, and only the neighbourhood of clean sites is known
// (defect sites and unlabelled areas are ignored). Load the scans with the defect finder's classes.
SampleGenerator labelledAtomSamples(std::vector<LabelledScan> scans, double modelPixelSizeNm, int tile);

// The same for the assessment: labelled lattice means a resolved lattice, so the labelled area is "resolved"
// (the rest unknown), and the tile is of image class goodClass (the frames worth labelling are good ones).
SampleGenerator labelledAssessSamples(std::vector<LabelledScan> scans, double modelPixelSizeNm, int tile, int goodClass);

}  // namespace stmlens
