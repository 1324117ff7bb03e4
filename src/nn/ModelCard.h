#pragma once
// The JSON card that travels with every model file: what the network is, what it expects, what it outputs,
// how it was trained and how well it does. Loading checks it, so a wrong or mismatched file is refused.
//
//   ModelCard card = ModelCard::load("models/defects/card.json");
//   card.pixelSizeNm, card.classes, card.tileSize ...
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace stmlens {

// Network shape. kind "patch_cnn" (task "types" only): a small classifier of one defect window, `depth` conv
// blocks of `width` channels doubling per block, `outChannels` types (nn/DefectTypeModel.h).
// kind "unet": encoder-decoder segmentation, `depth` poolings, `width` channels at the top level
// doubling per level; optional dilated bottleneck (wider receptive field at no resolution cost) and optional
// image-level classification head on the bottleneck (`imageClasses` > 0).
struct NetSpec {
    std::string kind = "unet";
    int inChannels = 1;
    int outChannels = 2;
    int depth = 3;
    int width = 16;
    bool dilatedBottleneck = true;
    int imageClasses = 0;
    // 2: a strided stem runs the U-Net at half resolution and a light full-resolution stage restores detail,
    // which cuts the cost of a fine-grid network (atoms at 0.1 nm/px) about threefold. 1: plain U-Net.
    int stemStride = 1;
    // Input sides must be a multiple of this.
    int stride() const { return stemStride << depth; }
};

struct ModelCard {
    static constexpr const char* kFormat = "stmlens.model/1";
    std::string name;            // e.g. "defects-v1"
    std::string task;            // "assess" | "atoms" | "defects" | "types"
    int version = 1;
    NetSpec net;
    double pixelSizeNm = 0.1;    // the network sees scans resampled to this pixel size
    int tileSize = 256;          // inference tile (pixels at pixelSizeNm)
    int tileOverlap = 32;
    // How inputs are standardised. kWholeImage: once over the whole scan (models before 2026-12-01).
    // kPerTile: every inference tile on its own, as every training tile is; a scan spanning many terraces
    // otherwise reaches the network with its atomic corrugation shrunk by the step heights.
    static constexpr const char* kWholeImage = "level-plane+align-rows+robust-standardize";
    static constexpr const char* kPerTile = "per-tile:level-plane+align-rows+robust-standardize";
    // The defect type network (task "types"): a window of tileSize x tileSize samples, pixelSizeNm apart, around the
    // defect and turned to the rows, of the levelled scan in robust-spread units (analysis/DefectDescriptor.h).
    static constexpr const char* kDefectWindow = "defect-window:robust-spread+window-median+clip3";
    std::string normalization = kPerTile;
    bool normalizesPerTile() const { return normalization == kPerTile; }
    std::vector<std::string> classes;        // per-pixel classes (outChannels)
    std::vector<std::string> imageClasses;   // image-level classes (assessment)
    nlohmann::json training = nlohmann::json::object();  // command, seed, steps, minutes, data, commit
    nlohmann::json metrics = nlohmann::json::object();   // held-out simulated and real results

    nlohmann::json toJson() const;
    static ModelCard fromJson(const nlohmann::json& j, const std::string& where);
    static ModelCard load(const std::string& path);
    void save(const std::string& path) const;
    // Throws InputError unless the card is complete and self-consistent.
    void validate(const std::string& where) const;
};

}  // namespace stmlens
