#pragma once
// LibTorch module for NetSpec "unet". Internal to src/nn: includes torch, so only nn/*.cpp include it.
#include <torch/torch.h>

#include "nn/ModelCard.h"

namespace stmlens::nn {

// conv3x3-BN-ReLU twice; dilation widens the receptive field in the bottleneck.
struct ConvBlockImpl : torch::nn::Module {
    ConvBlockImpl(int in, int out, int dilation = 1);
    torch::Tensor forward(torch::Tensor x);
    torch::nn::Sequential body{nullptr};
};
TORCH_MODULE(ConvBlock);

struct UNetOutput {
    torch::Tensor pixelLogits;  // N x outChannels x H x W
    torch::Tensor imageLogits;  // N x imageClasses (undefined when the net has no image head)
};

struct UNetImpl : torch::nn::Module {
    explicit UNetImpl(const NetSpec& spec);
    UNetOutput forward(torch::Tensor x);

    NetSpec spec;
    std::vector<ConvBlock> down;
    ConvBlock bottleneck{nullptr};
    std::vector<torch::nn::Conv2d> upReduce;  // 1x1 conv after bilinear upsampling
    std::vector<ConvBlock> up;
    torch::nn::Conv2d head{nullptr};
    torch::nn::Linear imageHead{nullptr};
    // Strided stem (stemStride 2): stem halves the input; fine sees it at full resolution; refine merges both.
    torch::nn::Sequential stem{nullptr}, fine{nullptr}, refine{nullptr};
};
TORCH_MODULE(UNet);

// Puts the 4-D weights in the channels-last (NHWC) layout: oneDNN convolutions on CPU run 1.5-2.5x faster on
// it than on NCHW with our few-channel layers (bench_inference_speed). Inputs are given the same layout.
void toChannelsLast(UNet& net);

// An inference copy of net with every BatchNorm folded into the convolution before it (eval-mode statistics):
// the same function, one pass over memory less per layer. Training keeps the original.
UNet foldBatchNorm(const UNet& net);

}  // namespace stmlens::nn
