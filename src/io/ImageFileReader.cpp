#include "io/ImageFileReader.h"

#include <cmath>
#include <cstdlib>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/Errors.h"
#include "io/PngText.h"

namespace stmlens {

namespace {

// Grey float image from whatever OpenCV decoded; returns the bit depth it had.
Image toImage(const cv::Mat& decoded, const std::string& path, int& bits) {
    if (decoded.empty()) throw InputError(path, "cannot decode image (corrupt or truncated file)");
    cv::Mat grey = decoded;
    if (decoded.channels() == 3) cv::cvtColor(decoded, grey, cv::COLOR_BGR2GRAY);
    else if (decoded.channels() == 4) cv::cvtColor(decoded, grey, cv::COLOR_BGRA2GRAY);
    else if (decoded.channels() != 1) throw InputError(path, "unsupported channel count " + std::to_string(decoded.channels()));
    switch (grey.depth()) {
        case CV_8U: case CV_8S: bits = 8; break;
        case CV_16U: case CV_16S: bits = 16; break;
        default: bits = 32;
    }
    cv::Mat f;
    grey.convertTo(f, CV_32F);
    Image img(f.cols, f.rows);
    for (int y = 0; y < f.rows; ++y) std::memcpy(img.row(y), f.ptr<float>(y), sizeof(float) * f.cols);
    return img;
}

bool parseDouble(const std::map<std::string, std::string>& kv, const std::string& key, double& out) {
    auto it = kv.find(key);
    if (it == kv.end()) return false;
    char* end = nullptr;
    out = std::strtod(it->second.c_str(), &end);
    return end != it->second.c_str() && std::isfinite(out);
}

// Metres -> nm for Gwyddion's SI unit strings; returns 0 for units we cannot convert.
double toNm(const std::string& unit) {
    if (unit == "m") return 1e9;
    if (unit == "nm") return 1.0;
    if (unit == "um" || unit == "\xc2\xb5m" || unit == "µm") return 1e3;
    if (unit == "pm") return 1e-3;
    return 0;
}

}  // namespace

int PngReader::probe(std::string_view head, const std::string& path) const {
    if (head.size() >= 8 && head.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return 2;
    return fileExtension(path) == ".png" ? 1 : 0;
}

ScanFile PngReader::read(const std::string& path, const ReadOptions&) const {
    const auto text = readPngText(path);
    int bits = 0;
    Image img = toImage(cv::imread(path, cv::IMREAD_UNCHANGED), path, bits);
    img.meta.sourceFormat = "png";
    img.meta.channel = "grey";
    img.meta.units = "grey levels";
    double xr = 0, yr = 0, zmin = 0, zmax = 0;
    const bool gwy = parseDouble(text, "Gwy::XReal", xr) && parseDouble(text, "Gwy::YReal", yr);
    ScanFile f;
    if (gwy) {
        auto unit = [&](const char* key, const char* fallback) {
            auto it = text.find(key);
            return it == text.end() || it->second.empty() ? std::string(fallback) : it->second;
        };
        const double xyScale = toNm(unit("Gwy::XYUnit", "m"));
        if (xyScale > 0 && xr > 0 && yr > 0) {
            img.pixelSize = {xr * xyScale / img.width(), yr * xyScale / img.height()};
            img.meta.pixelSizeSource = "file";
        } else {
            f.warnings.push_back("Gwyddion calibration present but its size or units are unusable; pixel size unknown");
        }
        if (parseDouble(text, "Gwy::ZMin", zmin) && parseDouble(text, "Gwy::ZMax", zmax) && zmax > zmin) {
            const double full = bits == 16 ? 65535.0 : (bits == 8 ? 255.0 : 1.0);
            const std::string zu = unit("Gwy::ZUnit", "m");
            const double zScale = toNm(zu) > 0 ? toNm(zu) : 1.0;
            for (float& v : img.pixels()) v = static_cast<float>((zmin + (zmax - zmin) * v / full) * zScale);
            img.meta.units = toNm(zu) > 0 ? "nm" : zu;
        }
        if (auto it = text.find("Gwy::Title"); it != text.end()) img.meta.channel = it->second;
        else if (auto t = text.find("Title"); t != text.end()) img.meta.channel = t->second;
        img.meta.extra["gwyddion_export"] = "yes";
    }
    img.meta.extra["bits"] = std::to_string(bits);
    f.channels.push_back(std::move(img));
    return f;
}

int TiffReader::probe(std::string_view head, const std::string& path) const {
    if (head.size() >= 4 && (head.substr(0, 4) == std::string_view("II*\0", 4) || head.substr(0, 4) == std::string_view("MM\0*", 4)))
        return 2;
    const auto ext = fileExtension(path);
    return ext == ".tif" || ext == ".tiff" ? 1 : 0;
}

ScanFile TiffReader::read(const std::string& path, const ReadOptions&) const {
    int bits = 0;
    Image img = toImage(cv::imread(path, cv::IMREAD_UNCHANGED), path, bits);
    img.meta.sourceFormat = "tiff";
    img.meta.channel = "data";
    img.meta.units = bits == 32 ? "" : "grey levels";
    img.meta.extra["bits"] = std::to_string(bits);
    ScanFile f;
    f.channels.push_back(std::move(img));
    return f;
}

}  // namespace stmlens
