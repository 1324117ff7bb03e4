#include "nn/DefectTypeModel.h"

#include <algorithm>
#include <filesystem>

#include "core/Errors.h"
#include "io/AtomicFile.h"
#include "nn/CheckedWeights.h"
#include "nn/DefectTypeImpl.h"

namespace stmlens {

namespace fs = std::filesystem;

namespace nn {
PatchNetImpl::PatchNetImpl(const NetSpec& spec) {
    int in = spec.inChannels, w = spec.width;
    for (int d = 0; d < spec.depth; ++d) {
        blocks.push_back(register_module("block" + std::to_string(d), ConvBlock(in, w)));
        in = w;
        w *= 2;
    }
    hidden = register_module("hidden", torch::nn::Linear(in * 4, 64));
    dropout = register_module("dropout", torch::nn::Dropout(0.2));
    head = register_module("head", torch::nn::Linear(64, spec.outChannels));
}

torch::Tensor PatchNetImpl::forward(torch::Tensor x) {
    for (auto& b : blocks) x = torch::max_pool2d(b->forward(x), 2);
    x = torch::adaptive_avg_pool2d(x, {2, 2}).flatten(1);
    return head(dropout(torch::relu(hidden(x))));
}
}  // namespace nn

const std::vector<std::string>& defectTypeNames() {
    // Every fine type the simulator places as a point defect (sim/Defects.cpp); vacancy clusters of one or two
    // dimers and small patches count as point defects there.
    static const std::vector<std::string> names = {"bare_dimer",       "dangling_bond", "dihydride_pair", "missing_dimer",
                                                   "patch_1x1",        "patch_3x1",     "raised_si",      "si_vacancy",
                                                   "siloxane",         "single_dihydride", "vacancy_cluster"};
    return names;
}

ModelCard defectTypeCard(const DescriptorOptions& window, int width) {
    if (!(window.windowNm > 0.5 && window.windowNm < 20) || window.samples < 16 || window.samples > 64 || window.samples % 8)
        throw InputError("defect type network", "window must be 0.5-20 nm with 16-64 samples per side, a multiple of 8");
    ModelCard c;
    c.task = "types";
    c.name = "types-v1";
    c.net.kind = "patch_cnn";
    c.net.inChannels = 1;
    c.net.depth = 3;
    c.net.width = width;
    c.net.dilatedBottleneck = false;
    c.classes = defectTypeNames();
    c.net.outChannels = static_cast<int>(c.classes.size());
    c.tileSize = window.samples;
    c.tileOverlap = 0;
    c.pixelSizeNm = window.windowNm / window.samples;
    c.normalization = ModelCard::kDefectWindow;
    return c;
}

DefectTypeModel DefectTypeModel::create(const ModelCard& card, uint64_t seed) {
    card.validate(card.name.empty() ? "model card" : card.name);
    if (card.task != "types") throw InputError(card.name, "not a defect type model card");
    torch::manual_seed(seed);
    DefectTypeModel m;
    m.impl_ = std::make_shared<Impl>(card);
    return m;
}

DefectTypeModel DefectTypeModel::load(const std::string& dir) {
    const std::string cardPath = (fs::path(dir) / "card.json").string();
    const std::string weightsPath = (fs::path(dir) / "weights.pt").string();
    if (!fs::is_directory(dir)) throw InputError(dir, "model directory not found");
    const ModelCard card = ModelCard::load(cardPath);
    if (card.task != "types") throw InputError(cardPath, "model is for task '" + card.task + "', expected 'types'");
    if (!fs::exists(weightsPath)) throw InputError(weightsPath, "model weights missing");
    DefectTypeModel m;
    m.impl_ = std::make_shared<Impl>(card);
    nn::loadCheckedWeights(m.impl_->net, weightsPath);
    m.impl_->net->eval();
    return m;
}

void DefectTypeModel::save(const std::string& dir) const {
    fs::create_directories(dir);
    writeAtomically((fs::path(dir) / "weights.pt").string(), [&](const std::string& tmp) { torch::save(impl_->net, tmp); });
    impl_->card.save((fs::path(dir) / "card.json").string());
}

const ModelCard& DefectTypeModel::card() const { return impl_->card; }
ModelCard& DefectTypeModel::card() { return impl_->card; }

DescriptorOptions DefectTypeModel::window() const {
    return {impl_->card.pixelSizeNm * impl_->card.tileSize, impl_->card.tileSize};
}

size_t DefectTypeModel::parameterCount() const {
    size_t n = 0;
    for (const auto& p : impl_->net->parameters()) n += static_cast<size_t>(p.numel());
    return n;
}

std::vector<float> DefectTypeModel::predict(const std::vector<float>& windows, int n) const {
    const int s = impl_->card.tileSize, k = impl_->card.net.outChannels;
    if (n < 0 || windows.size() != static_cast<size_t>(n) * s * s)
        throw InputError("defect type network", "expected " + std::to_string(n) + " windows of " + std::to_string(s) +
                                                    " x " + std::to_string(s) + " values");
    std::vector<float> out(static_cast<size_t>(n) * k);
    if (n == 0) return out;
    c10::InferenceMode guard;
    impl_->net->eval();
    // In batches: the activations of one batch, not of every defect of a survey, set the memory.
    constexpr int kBatch = 32;
    for (int start = 0; start < n; start += kBatch) {
        const int m = std::min(kBatch, n - start);
        const torch::Tensor x = torch::from_blob(const_cast<float*>(windows.data()) + static_cast<size_t>(start) * s * s,
                                                 {m, 1, s, s}, torch::kFloat32);
        torch::Tensor p = torch::zeros({m, k});
        for (const auto& dims : std::vector<std::vector<int64_t>>{{}, {3}, {2}, {2, 3}})
            p += torch::softmax(impl_->net->forward(dims.empty() ? x : x.flip(dims)), 1);
        p = (p / 4).contiguous();
        std::copy(p.data_ptr<float>(), p.data_ptr<float>() + static_cast<size_t>(m) * k,
                  out.begin() + static_cast<size_t>(start) * k);
    }
    return out;
}

}  // namespace stmlens
