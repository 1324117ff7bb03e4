#include "nn/ModelCard.h"

#include <fstream>

#include "core/Errors.h"
#include "io/AtomicFile.h"

namespace stmlens {

nlohmann::json ModelCard::toJson() const {
    return {{"format", kFormat},
            {"name", name},
            {"task", task},
            {"version", version},
            {"architecture",
             {{"kind", net.kind}, {"in_channels", net.inChannels}, {"out_channels", net.outChannels},
              {"depth", net.depth}, {"width", net.width}, {"dilated_bottleneck", net.dilatedBottleneck},
              {"image_classes", net.imageClasses}, {"stem_stride", net.stemStride}}},
            {"input", {{"pixel_size_nm", pixelSizeNm}, {"tile_size", tileSize}, {"tile_overlap", tileOverlap},
                       {"normalization", normalization}}},
            {"classes", classes},
            {"image_classes", imageClasses},
            {"training", training},
            {"metrics", metrics}};
}

ModelCard ModelCard::fromJson(const nlohmann::json& j, const std::string& where) {
    try {
        if (j.value("format", "") != kFormat)
            throw InputError(where, "not a stmlens model card (format is '" + j.value("format", "") + "', expected " + kFormat + ")");
        ModelCard c;
        c.name = j.at("name").get<std::string>();
        c.task = j.at("task").get<std::string>();
        c.version = j.value("version", 1);
        const auto& a = j.at("architecture");
        c.net.kind = a.at("kind").get<std::string>();
        c.net.inChannels = a.at("in_channels").get<int>();
        c.net.outChannels = a.at("out_channels").get<int>();
        c.net.depth = a.at("depth").get<int>();
        c.net.width = a.at("width").get<int>();
        c.net.dilatedBottleneck = a.value("dilated_bottleneck", true);
        c.net.imageClasses = a.value("image_classes", 0);
        c.net.stemStride = a.value("stem_stride", 1);
        const auto& in = j.at("input");
        c.pixelSizeNm = in.at("pixel_size_nm").get<double>();
        c.tileSize = in.at("tile_size").get<int>();
        c.tileOverlap = in.value("tile_overlap", 32);
        c.normalization = in.value("normalization", std::string(kWholeImage));
        c.classes = j.at("classes").get<std::vector<std::string>>();
        c.imageClasses = j.value("image_classes", std::vector<std::string>{});
        c.training = j.value("training", nlohmann::json::object());
        c.metrics = j.value("metrics", nlohmann::json::object());
        c.validate(where);
        return c;
    } catch (const nlohmann::json::exception& e) {
        throw InputError(where, std::string("malformed model card: ") + e.what());
    }
}

void ModelCard::validate(const std::string& where) const {
    if (task != "assess" && task != "atoms" && task != "defects" && task != "types")
        throw InputError(where, "model card task '" + task + "' is not assess, atoms, defects or types");
    if (net.kind != "unet" && net.kind != "patch_cnn") throw InputError(where, "unknown architecture '" + net.kind + "'");
    if ((net.kind == "patch_cnn") != (task == "types"))
        throw InputError(where, "task 'types' goes with architecture 'patch_cnn' and every other task with 'unet'");
    if (net.depth < 1 || net.depth > 6 || net.width < 1 || net.width > 256 || net.inChannels < 1 || net.outChannels < 1)
        throw InputError(where, "architecture sizes out of range");
    if (net.stemStride != 1 && net.stemStride != 2) throw InputError(where, "stem_stride must be 1 or 2");
    if (net.stemStride == 2 && net.width < 2) throw InputError(where, "a strided stem needs a width of at least 2");
    if (static_cast<int>(classes.size()) != net.outChannels)
        throw InputError(where, "card lists " + std::to_string(classes.size()) + " classes but the network has " +
                                    std::to_string(net.outChannels) + " outputs");
    if (static_cast<int>(imageClasses.size()) != net.imageClasses)
        throw InputError(where, "card lists " + std::to_string(imageClasses.size()) + " image classes but the network has " +
                                    std::to_string(net.imageClasses));
    if (!(pixelSizeNm > 0.0 && pixelSizeNm < 10.0)) throw InputError(where, "model pixel size must be in (0, 10) nm");
    const int multiple = net.stride();
    if (tileSize < multiple * 2 || tileSize % multiple != 0)
        throw InputError(where, "tile size must be a multiple of " + std::to_string(multiple));
    if (tileOverlap < 0 || tileOverlap >= tileSize) throw InputError(where, "tile overlap must be in [0, tile size)");
    if (task == "types") {
        if (normalization != kDefectWindow)
            throw InputError(where, "a defect type model must read '" + std::string(kDefectWindow) + "' windows");
        return;
    }
    if (normalization != kWholeImage && normalization != kPerTile)
        throw InputError(where, "unknown input normalization '" + normalization + "' (expected '" + kWholeImage + "' or '" +
                                    kPerTile + "')");
}

ModelCard ModelCard::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw InputError(path, "cannot open model card");
    nlohmann::json j;
    try {
        in >> j;
    } catch (const nlohmann::json::exception& e) {
        throw InputError(path, std::string("model card is not valid JSON: ") + e.what());
    }
    return fromJson(j, path);
}

void ModelCard::save(const std::string& path) const {
    writeAtomically(path, [&](const std::string& tmp) {
        std::ofstream out(tmp);
        out << toJson().dump(2) << "\n";
        if (!out) throw InputError(path, "write failed");
    });
}

}  // namespace stmlens
