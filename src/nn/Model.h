#pragma once
// A trained network with its card, usable without including torch.
//
//   Model m = Model::load("models/defects", "defects");   // refuses a missing or mismatched card
//   ModelOutput out = m.predict(tileBatch);                // probabilities
//   std::vector<Image> maps = m.predictImage(normalised);  // tiled, blended, on the image's own grid
#include <memory>
#include <string>
#include <vector>

#include "core/Image.h"
#include "nn/ModelCard.h"

namespace stmlens {

// Arithmetic of inference. bf16 (bfloat16) runs the convolutions on the CPU's bf16 units (AMX or AVX512-BF16:
// several times faster there, probabilities within about 1e-2 of fp32); Auto picks it only where the CPU has them.
enum class Precision { Auto, Float32, BFloat16 };
// "auto" | "fp32" | "bf16"; InputError naming `where` otherwise.
Precision parsePrecision(const std::string& name, const std::string& where = "--precision");
bool cpuHasFastBFloat16();

struct ModelOutput {
    int n = 0, classes = 0, height = 0, width = 0;
    std::vector<float> pixelProb;   // n x classes x height x width, softmax over classes
    std::vector<float> imageProb;   // n x imageClasses, softmax (empty without an image head)
};

class Model {
public:
    // A freshly initialised network for the card (weights random, seeded).
    static Model create(const ModelCard& card, uint64_t seed = 1);
    // Loads dir/card.json and dir/weights.pt. expectedTask "" accepts any task.
    static Model load(const std::string& dir, const std::string& expectedTask);
    // Writes dir/weights.pt and dir/card.json (atomically each).
    void save(const std::string& dir) const;

    // Inference arithmetic (load() uses fp32, so outputs match training exactly); returns what is now in use.
    Precision setPrecision(Precision p);
    Precision precision() const;
    // With mirror averaging on, predictImage returns the mean of its maps on the image and its three mirror images
    // (along x, along y, both), each mirrored back. The lattice looks the same mirrored and the network is not
    // exactly symmetric, so the mean cancels part of its position bias (atom finder: docs/accuracy.md). Four times
    // the cost; off by default.
    void setMirrorAverage(bool on);
    bool mirrorAverage() const;

    const ModelCard& card() const;
    ModelCard& card();
    size_t parameterCount() const;

    // Forward pass on a batch of normalised single-channel tiles (n x h x w), h and w multiples of 2^depth.
    ModelOutput predict(const float* tiles, int n, int height, int width) const;
    // Whole normalised image at the model's pixel size: padded, tiled with overlap, blended. With a per-tile card
    // (ModelCard::kPerTile) each tile is levelled and standardised again on its own before the forward pass.
    // Returns one probability map per class on the image's grid, plus the mean image-level probabilities.
    std::vector<Image> predictImage(const Image& normalised, std::vector<float>* imageProb = nullptr) const;

    struct Impl;
    std::shared_ptr<Impl> impl() const { return impl_; }

private:
    std::vector<Image> predictTiled(const Image& normalised, std::vector<float>* imageProb) const;
    std::shared_ptr<Impl> impl_;
};

// Number of threads LibTorch uses for this process (it defaults to 1 on Debian's build).
void setTorchThreads(int threads);

}  // namespace stmlens
