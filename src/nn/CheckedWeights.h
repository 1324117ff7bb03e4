#pragma once
// Loading saved weights into a module built from a card, with every tensor's shape checked: torch::load replaces
// tensors without comparing shapes, so weights of another architecture would otherwise load silently.
// Internal to src/nn (includes torch).
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/Errors.h"

namespace stmlens::nn {

// Throws InputError naming weightsPath (and the first mismatching tensor) when the file does not fit the module.
template <class Module>
void loadCheckedWeights(Module& net, const std::string& weightsPath) {
    std::vector<std::pair<std::string, std::vector<int64_t>>> expected;
    for (const auto& p : net->named_parameters()) expected.push_back({p.key(), p.value().sizes().vec()});
    for (const auto& b : net->named_buffers()) expected.push_back({b.key(), b.value().sizes().vec()});
    try {
        torch::load(net, weightsPath);
        size_t i = 0;
        for (const auto& p : net->named_parameters())
            if (p.value().sizes().vec() != expected[i++].second)
                throw InputError(weightsPath, "weights do not match the architecture in card.json (tensor '" + p.key() + "' has another shape)");
        for (const auto& b : net->named_buffers())
            if (b.value().sizes().vec() != expected[i++].second)
                throw InputError(weightsPath, "weights do not match the architecture in card.json (buffer '" + b.key() + "' has another shape)");
    } catch (const c10::Error& e) {
        // Shapes or names differ: the weights were trained for another architecture than the card says.
        throw InputError(weightsPath, "weights do not match the architecture in card.json (" +
                                          std::string(e.what_without_backtrace()).substr(0, 200) + ")");
    }
}

}  // namespace stmlens::nn
