#pragma once
// Model's private state (torch). Only nn/*.cpp include this.
#include "nn/Model.h"
#include "nn/UNetModule.h"

namespace stmlens {

struct Model::Impl {
    explicit Impl(const ModelCard& c) : card(c), net(nn::UNet(c.net)) { nn::toChannelsLast(net); }
    ModelCard card;
    nn::UNet net;
    // BatchNorm-folded copy for inference, made when a model is loaded; training drops it (it would go stale).
    nn::UNet inference{nullptr};
    bool bf16 = false;   // the inference copy runs in bfloat16
    bool mirrorAverage = false;   // predictImage averages over the image's mirror images
};

}  // namespace stmlens
