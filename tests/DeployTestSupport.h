#pragma once
// Shared by the deployment tests (C API, watch, serve): a private temporary folder and three small untrained
// models in it. Untrained models give meaningless detections but run every path of the pipeline.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "nn/Model.h"
#include "nn/Tasks.h"

namespace stmlens::testing {

// A fresh folder under the system temp dir, removed with the object.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "stmlens-test-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string str() const { return path.string(); }
};

// Writes assess/, atoms/, defects/ under dir (narrow networks, so tests stay fast).
inline void makeUntrainedModels(const std::string& dir, uint64_t seed = 1) {
    for (const char* task : {"assess", "atoms", "defects"}) {
        ModelCard card = defaultCard(task);
        card.net.width = 4;
        card.name = std::string(task) + "-untrained";
        Model::create(card, seed).save(dir + "/" + task);
    }
}

inline std::string cdaScan() { return std::string(STMLENS_SHARED_DIR) + "/data/real/cda_20220819_bias_series_0007_clean.npy"; }

inline std::string readText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace stmlens::testing

#include <nlohmann/json.hpp>

namespace stmlens::testing {

// The parts of a result that must agree between interfaces: everything but timings and where the scan came from.
inline nlohmann::json comparable(nlohmann::json j) {
    j.erase("timing_ms");
    j.erase("source");
    if (j.contains("image")) j["image"].erase("pixel_size_source");
    return j;
}

}  // namespace stmlens::testing
