#include "sim/SimWriter.h"

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "core/Errors.h"
#include "core/Level.h"
#include "io/AtomicFile.h"
#include "io/ImageWriter.h"
#include "io/NpyReader.h"

namespace stmlens::sim {

nlohmann::json truthToJson(const SimSample& s, uint64_t seed) {
    using nlohmann::json;
    const auto& t = s.truth;
    json j;
    j["schema"] = "stmlens.sim/1";
    j["seed"] = seed;
    j["preset"] = presetName(t.preset);
    j["mode"] = t.mode;
    j["width"] = s.image.width();
    j["height"] = s.image.height();
    j["pixel_size_nm"] = {s.image.pixelSize.x_nm, s.image.pixelSize.y_nm};
    j["units"] = s.image.meta.units;
    j["channel"] = s.image.meta.channel;
    j["rotation_deg"] = t.rotationDeg;
    j["rows_inverted"] = t.rowsInverted;
    j["quality"] = t.quality;
    j["quality_reasons"] = t.qualityReasons;
    j["atoms_resolved"] = t.atomsResolved;
    json classes = json::array();
    for (int c = 0; c < kPixelClassCount; ++c) classes.push_back(pixelClassName(static_cast<PixelClass>(c)));
    j["label_classes"] = classes;
    // Columnar: a 50 nm frame holds ~17,000 atoms.
    json ax = json::array(), ay = json::array(), ad = json::array(), at = json::array(), ah = json::array();
    for (const auto& a : t.atoms) {
        ax.push_back(std::round(a.x * 1000) / 1000);
        ay.push_back(std::round(a.y * 1000) / 1000);
        ad.push_back(a.dimerId);
        at.push_back(a.terraceId);
        ah.push_back(a.hydrogenated ? 1 : 0);
    }
    j["atoms"] = {{"x", ax}, {"y", ay}, {"dimer", ad}, {"terrace", at}, {"hydrogenated", ah}};
    json defects = json::array();
    for (const auto& d : t.defects) {
        defects.push_back({{"type", d.type},
                           {"class", pixelClassName(d.cls)},
                           {"x", std::round(d.x * 1000) / 1000},
                           {"y", std::round(d.y * 1000) / 1000},
                           {"bbox", {d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3]}},
                           {"extended", d.extended},
                           {"sites", d.sites}});
    }
    j["defects"] = defects;
    return j;
}

namespace {
// Colour per PixelClass for the label preview (BGR).
const cv::Vec3b kColours[kPixelClassCount] = {
    {60, 60, 60}, {0, 220, 255}, {255, 80, 0}, {0, 200, 0}, {180, 0, 200}, {0, 0, 230},
};
}  // namespace

void writeSimSample(const std::string& dir, const std::string& stem, const SimSample& s, uint64_t seed) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw InputError(dir, "cannot create directory: " + ec.message());
    const std::string base = (fs::path(dir) / stem).string();
    const int W = s.image.width(), H = s.image.height();
    writeNpy(base + ".npy", s.image.data(), W, H);
    Image preview = s.image;   // levelled like the real previews in ../shared/data/real
    levelScan(preview);
    writePreviewPng(base + ".png", preview);
    std::vector<uint8_t> labels(s.truth.labels.size()), resolved(s.truth.resolvedMask.size());
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<uint8_t>(s.truth.labels.data()[i]);
    for (size_t i = 0; i < resolved.size(); ++i) resolved[i] = s.truth.resolvedMask.data()[i] > 0.5f ? 1 : 0;
    writeNpyU8(base + "_labels.npy", labels.data(), W, H);
    writeNpyU8(base + "_resolved.npy", resolved.data(), W, H);
    writeNpy(base + "_atoms.npy", s.truth.atomMap.data(), W, H);
    cv::Mat colour(H, W, CV_8UC3);
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) colour.at<cv::Vec3b>(y, x) = kColours[std::min<int>(labels[y * W + x], kPixelClassCount - 1)];
    writeAtomically(base + "_labels.png", [&](const std::string& tmp) {
        if (!cv::imwrite(tmp, colour)) throw InputError(base + "_labels.png", "cannot write");
    });
    const std::string json = truthToJson(s, seed).dump();
    writeAtomically(base + "_truth.json", [&](const std::string& tmp) {
        std::ofstream f(tmp, std::ios::binary);
        f << json;
        if (!f) throw InputError(base + "_truth.json", "cannot write");
    });
}

}  // namespace stmlens::sim
