#pragma once
// Model's private state (torch). Only nn/*.cpp include this.
#include "nn/Model.h"
#include "nn/UNetModule.h"

namespace stmlens {

struct Model::Impl {
    explicit Impl(const ModelCard& c) : card(c), net(nn::UNet(c.net)) {}
    ModelCard card;
    nn::UNet net;
};

}  // namespace stmlens
