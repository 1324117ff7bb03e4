#pragma once
// The defect type network: a small CNN that reads the image window around one point defect, turned so the dimer
// rows run horizontally, and gives a probability per fine defect type of the simulator (dangling bond, bare dimer,
// missing dimer, ...). Trained on simulated scans only (nn/DefectTypeTraining.h). Its probabilities join the
// clustering descriptor (analysis/DefectClustering.h): the per-pixel networks learnt coarse classes (bright,
// dark, ...) and their maps say little about the fine type (docs/clustering.md).
//
//   DefectTypeModel m = DefectTypeModel::load("models/types");
//   std::vector<float> w = normalisedImageWindow(scaled, x, y, px, rowDeg, m.window());   // per defect
//   std::vector<float> p = m.predict(windows, n);   // n x m.card().classes.size()
#include <memory>
#include <string>
#include <vector>

#include "analysis/DefectDescriptor.h"
#include "nn/ModelCard.h"

namespace stmlens {

// The fine point-defect types of the simulator the network tells apart (its classes, in this order).
const std::vector<std::string>& defectTypeNames();

// Card of a new type network: window side (nm) and samples per side, first block's channels.
ModelCard defectTypeCard(const DescriptorOptions& window = {2.5, 32}, int width = 16);

class DefectTypeModel {
public:
    static DefectTypeModel create(const ModelCard& card, uint64_t seed = 1);
    // Loads dir/card.json and dir/weights.pt; refuses a card of another task or weights of another shape.
    static DefectTypeModel load(const std::string& dir);
    void save(const std::string& dir) const;

    const ModelCard& card() const;
    ModelCard& card();
    // The window the network reads: side card.pixelSizeNm * card.tileSize nm, card.tileSize samples per side.
    DescriptorOptions window() const;
    size_t parameterCount() const;

    // Class probabilities of n windows (n x side x side, from normalisedImageWindow), each the mean over the window
    // and its three mirror images: which atom of the dimer, or which sign of the row direction, does not change
    // the type. Throws InputError when the size does not match.
    std::vector<float> predict(const std::vector<float>& windows, int n) const;

    struct Impl;
    std::shared_ptr<Impl> impl() const { return impl_; }

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace stmlens
