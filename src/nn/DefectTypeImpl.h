#pragma once
// DefectTypeModel's private state and its LibTorch module. Only nn/*.cpp include this.
#include <torch/torch.h>

#include "nn/DefectTypeModel.h"
#include "nn/UNetModule.h"

namespace stmlens {

namespace nn {
// depth x (conv block, 2x2 max-pool), then a 2 x 2 average pool, a hidden layer and the type logits.
// The 2 x 2 pool keeps where in the window the feature sits (a dangling bond sits on one atom, a bare dimer
// on the dimer's centre) without tying the answer to the exact pixel.
struct PatchNetImpl : torch::nn::Module {
    explicit PatchNetImpl(const NetSpec& spec);
    torch::Tensor forward(torch::Tensor x);   // N x 1 x side x side -> N x types
    std::vector<ConvBlock> blocks;
    torch::nn::Linear hidden{nullptr}, head{nullptr};
    torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(PatchNet);
}  // namespace nn

struct DefectTypeModel::Impl {
    explicit Impl(const ModelCard& c) : card(c), net(nn::PatchNet(c.net)) {}
    ModelCard card;
    nn::PatchNet net;
};

}  // namespace stmlens
