#include "io/ImageWriter.h"

#include <png.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "core/Errors.h"
#include "core/Normalize.h"
#include "io/AtomicFile.h"
#include "io/GwyWriter.h"
#include "io/NpyReader.h"
#include "io/ScanReader.h"

namespace stmlens {

namespace {

std::string fmt(double v) {
    std::ostringstream os;
    os.precision(17);
    os << v;
    return os.str();
}

void writePng16(const std::string& tmp, const std::string& path, const Image& img) {
    const auto range = valueRange(img);
    const double lo = range.min, hi = range.max > range.min ? range.max : range.min + 1.0;
    std::unique_ptr<FILE, int (*)(FILE*)> fp(std::fopen(tmp.c_str(), "wb"), &std::fclose);
    if (!fp) throw InputError(path, "cannot open for writing");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!png || !info) throw InputError(path, "cannot initialise PNG writer");
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        throw InputError(path, "PNG write failed");
    }
    png_init_io(png, fp.get());
    png_set_IHDR(png, info, img.width(), img.height(), 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    // Values in nm are written in metres, as Gwyddion does; other units keep their values.
    const bool nm = img.meta.units == "nm";
    const double zs = nm ? 1e-9 : 1.0;
    std::vector<std::pair<std::string, std::string>> kv = {{"Software", "stmlens"}};
    if (img.pixelSize.known()) {
        kv.push_back({"Gwy::XReal", fmt(img.widthNm() * 1e-9)});
        kv.push_back({"Gwy::YReal", fmt(img.heightNm() * 1e-9)});
        kv.push_back({"Gwy::XYUnit", "m"});
    }
    kv.push_back({"Gwy::ZMin", fmt(lo * zs)});
    kv.push_back({"Gwy::ZMax", fmt(hi * zs)});
    kv.push_back({"Gwy::ZUnit", nm ? "m" : img.meta.units});
    kv.push_back({"Gwy::Title", img.meta.channel});
    std::vector<png_text> texts(kv.size());
    for (size_t i = 0; i < kv.size(); ++i) {
        texts[i] = png_text{};
        texts[i].compression = PNG_TEXT_COMPRESSION_NONE;
        texts[i].key = kv[i].first.data();
        texts[i].text = kv[i].second.data();
    }
    png_set_text(png, info, texts.data(), static_cast<int>(texts.size()));
    png_write_info(png, info);
    std::vector<unsigned char> row(static_cast<size_t>(img.width()) * 2);
    for (int y = 0; y < img.height(); ++y) {
        for (int x = 0; x < img.width(); ++x) {
            const double t = std::clamp((img.at(x, y) - lo) / (hi - lo), 0.0, 1.0);
            const auto v = static_cast<uint16_t>(std::lround(t * 65535.0));
            row[2 * x] = static_cast<unsigned char>(v >> 8);  // PNG is big-endian
            row[2 * x + 1] = static_cast<unsigned char>(v & 0xff);
        }
        png_write_row(png, row.data());
    }
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
}

}  // namespace

void writeImage(const std::string& path, const Image& img) {
    if (img.empty()) throw InputError(path, "nothing to write (empty image)");
    const std::string ext = fileExtension(path);
    if (ext == ".npy") {
        writeNpy(path, img.data(), img.width(), img.height());
    } else if (ext == ".png") {
        writeAtomically(path, [&](const std::string& tmp) { writePng16(tmp, path, img); });
    } else if (ext == ".tif" || ext == ".tiff") {
        writeAtomically(path, [&](const std::string& tmp) {
            cv::Mat m(img.height(), img.width(), CV_32F, const_cast<float*>(img.data()));
            if (!cv::imwrite(tmp, m)) throw InputError(path, "TIFF write failed");
        });
    } else if (ext == ".gwy") {
        writeGwy(path, img, {});
    } else {
        throw InputError(path, "cannot write '" + ext + "' files (use .npy, .png, .tiff or .gwy)");
    }
}

void writePreviewPng(const std::string& path, const Image& img) {
    const auto [lo, hi] = percentileRange(img, 0.5, 99.5);
    cv::Mat out(img.height(), img.width(), CV_8U);
    const float span = hi > lo ? hi - lo : 1.0f;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x)
            out.at<uint8_t>(y, x) = static_cast<uint8_t>(std::clamp((img.at(x, y) - lo) / span, 0.0f, 1.0f) * 255.0f + 0.5f);
    writeAtomically(path, [&](const std::string& tmp) {
        if (!cv::imwrite(tmp, out)) throw InputError(path, "PNG write failed");
    });
}

}  // namespace stmlens
