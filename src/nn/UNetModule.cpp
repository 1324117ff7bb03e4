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

// 2x2 max pooling as the maximum of four strided views: the same values as max_pool2d, which on CPU always
// computes the argmax indices too and is several times slower at inference.
torch::Tensor maxPool2x2(const torch::Tensor& x) {
    const int64_t h = x.size(2), w = x.size(3);
    if (h % 2 || w % 2) return F::max_pool2d(x, F::MaxPool2dFuncOptions(2));
    auto at = [&](int dy, int dx) { return x.slice(2, dy, h, 2).slice(3, dx, w, 2); };
    return torch::maximum(torch::maximum(at(0, 0), at(0, 1)), torch::maximum(at(1, 0), at(1, 1)));
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
        x = is_training() ? F::max_pool2d(x, F::MaxPool2dFuncOptions(2)) : maxPool2x2(x);
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

namespace {

// Conv2d (no bias or bias) followed by BatchNorm2d becomes one Conv2d with bias; everything else is kept.
torch::nn::Sequential foldSequential(const torch::nn::Sequential& seq) {
    torch::nn::Sequential out;
    const std::vector<torch::nn::AnyModule> items(seq->begin(), seq->end());
    for (size_t i = 0; i < items.size(); ++i) {
        auto conv = std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(items[i].ptr());
        auto bn = i + 1 < items.size() ? std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(items[i + 1].ptr()) : nullptr;
        if (!conv || !bn) {
            out->push_back(items[i]);
            continue;
        }
        const auto& c = conv->options;
        torch::nn::Conv2d fused(torch::nn::Conv2dOptions(c.in_channels(), c.out_channels(), c.kernel_size())
                                    .stride(c.stride())
                                    .padding(c.padding())
                                    .dilation(c.dilation())
                                    .groups(c.groups())
                                    .bias(true));
        const auto scale = bn->weight / torch::sqrt(bn->running_var + bn->options.eps());
        fused->weight.set_data(conv->weight * scale.view({-1, 1, 1, 1}));
        auto bias = bn->bias - bn->running_mean * scale;
        if (conv->bias.defined()) bias = bias + conv->bias * scale;
        fused->bias.set_data(bias.contiguous());
        out->push_back(fused);
        ++i;   // the BatchNorm is folded
    }
    return out;
}

}  // namespace

void toChannelsLast(UNet& net) {
    for (auto& p : net->parameters())
        if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
}

UNet foldBatchNorm(const UNet& net) {
    torch::NoGradGuard noGrad;
    UNet copy(net->spec);
    // Same weights and statistics, by name.
    auto srcParams = net->named_parameters(), srcBuffers = net->named_buffers();
    for (auto& p : copy->named_parameters()) p.value().set_data(srcParams[p.key()].detach().clone());
    for (auto& b : copy->named_buffers()) b.value().set_data(srcBuffers[b.key()].detach().clone());
    auto foldBlock = [](ConvBlock& block) { block->body = block->replace_module("body", foldSequential(block->body)); };
    for (auto& block : copy->down) foldBlock(block);
    for (auto& block : copy->up) foldBlock(block);
    foldBlock(copy->bottleneck);
    if (copy->stem) {
        copy->stem = copy->replace_module("stem", foldSequential(copy->stem));
        copy->fine = copy->replace_module("fine", foldSequential(copy->fine));
        copy->refine = copy->replace_module("refine", foldSequential(copy->refine));
    }
    toChannelsLast(copy);
    copy->eval();
    return copy;
}

}  // namespace stmlens::nn
