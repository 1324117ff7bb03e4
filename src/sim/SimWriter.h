#pragma once
// Writing a simulated scan and its truth to disk (used by `stmlens simulate` and by dataset builders):
//   <stem>.npy            image, float32 (nm or arbitrary current units, see the JSON)
//   <stem>.png            8-bit preview
//   <stem>_truth.json     atoms, defects, quality, pixel size (schema stmlens.sim/1)
//   <stem>_labels.npy     PixelClass per pixel, uint8;  <stem>_labels.png  colour view of it
//   <stem>_atoms.npy      atom-map target, float32;      <stem>_resolved.npy  resolved mask, uint8
#include <nlohmann/json.hpp>
#include <string>

#include "sim/Simulator.h"

namespace stmlens::sim {

nlohmann::json truthToJson(const SimSample& sample, uint64_t seed);
// Every file goes through a temporary name, so an error never leaves a partial file.
void writeSimSample(const std::string& dir, const std::string& stem, const SimSample& sample, uint64_t seed);

}  // namespace stmlens::sim
