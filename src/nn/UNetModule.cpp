#include "nn/UNetModule.h"

namespace stmlens::nn {

namespace F = torch::nn::functional;

ConvBlockImpl::ConvBlockImpl(int in, int out, int dilation) {
    auto conv = [&](int i) {
        return torch::nn::Conv2d(torch::nn::Conv2dOptions(i, out, 3).padding(dilation).dilation(dilation).bias(false));
    };
    body = register_module("body", torch::nn::Sequential(conv(in), torch::nn::BatchNorm2d(out), torch::nn::ReLU(true),
                                                         conv(out), torch::nn::BatchNorm2d(out), torch::nn::ReLU(true)));
}

torch::Tensor ConvBlockImpl::forward(torch::Tensor x) { return body->forward(x); }

namespace {
torch::nn::Sequential convBnRelu(int in, int out, int stride) {
    return torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)),
                                 torch::nn::BatchNorm2d(out), torch::nn::ReLU(true));
}
}  // namespace

UNetImpl::UNetImpl(const NetSpec& s) : spec(s) {
    int ch = s.inChannels;
    if (s.stemStride == 2) {
        stem = register_module("stem", convBnRelu(ch, s.width, 2));
        ch = s.width;
    }
    for (int level = 0; level < s.depth; ++level) {
        const int out = s.width << level;
        down.push_back(register_module("down" + std::to_string(level), ConvBlock(ch, out)));
        ch = out;
    }
    const int bottom = s.width << s.depth;
    bottleneck = register_module("bottleneck", ConvBlock(ch, bottom, s.dilatedBottleneck ? 2 : 1));
    ch = bottom;
    for (int level = s.depth - 1; level >= 0; --level) {
        const int skip = s.width << level;
        upReduce.push_back(register_module("reduce" + std::to_string(level),
                                           torch::nn::Conv2d(torch::nn::Conv2dOptions(ch, skip, 1))));
        up.push_back(register_module("up" + std::to_string(level), ConvBlock(2 * skip, skip)));
        ch = skip;
    }
    if (s.stemStride == 2) {
        const int half = std::max(1, s.width / 2);
        fine = register_module("fine", convBnRelu(s.inChannels, half, 1));
        refine = register_module("refine", convBnRelu(ch + half, half, 1));
        ch = half;
    }
    head = register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(ch, s.outChannels, 1)));
    if (s.imageClasses > 0) imageHead = register_module("image_head", torch::nn::Linear(bottom, s.imageClasses));
}

UNetOutput UNetImpl::forward(torch::Tensor x) {
    const torch::Tensor input = x;
    if (stem) x = stem->forward(x);
    std::vector<torch::Tensor> skips;
    for (auto& block : down) {
        x = block->forward(x);
        skips.push_back(x);
        x = F::max_pool2d(x, F::MaxPool2dFuncOptions(2));
    }
    x = bottleneck->forward(x);
    UNetOutput out;
    if (imageHead) out.imageLogits = imageHead->forward(x.mean({2, 3}));
    for (size_t i = 0; i < up.size(); ++i) {
        const auto& skip = skips[skips.size() - 1 - i];
        x = F::interpolate(x, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{skip.size(2), skip.size(3)})
                                  .mode(torch::kBilinear)
                                  .align_corners(false));
        x = upReduce[i]->forward(x);
        x = up[i]->forward(torch::cat({x, skip}, 1));
    }
    if (stem) {
        x = F::interpolate(x, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{input.size(2), input.size(3)})
                                  .mode(torch::kBilinear)
                                  .align_corners(false));
        x = refine->forward(torch::cat({x, fine->forward(input)}, 1));
    }
    out.pixelLogits = head->forward(x);
    return out;
}

}  // namespace stmlens::nn
