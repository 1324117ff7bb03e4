#pragma once
// Model's private state (torch). Only nn/*.cpp include this.
#include "nn/Model.h"
#include "nn/UNetModule.h"

namespace stmlens {

struct Model::Impl {
    explicit Impl(const ModelCard& c) : card(c), net(nn::UNet(c.net)) { useChannelsLast(); }
    // oneDNN convolutions on CPU run 1.5-2.5x faster on channels-last (NHWC) tensors than on NCHW ones with
    // our few-channel layers (bench_inference_speed); weights and inputs are kept in that layout.
    void useChannelsLast() {
        for (auto& p : net->parameters())
            if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
    }
    ModelCard card;
    nn::UNet net;
    // BatchNorm-folded copy for inference, made when a model is loaded; training drops it (it would go stale).
    nn::UNet inference{nullptr};
};

}  // namespace stmlens
