#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "core/Errors.h"
#include "io/ImageFileReader.h"
#include "io/NpyReader.h"
#include "io/MatrixReader.h"
#include "io/GwyReader.h"
#include "io/CreatecReader.h"
#include "io/ScanReader.h"
#include "io/Sm4Reader.h"
#include "io/SxmReader.h"

namespace stmlens {

namespace fs = std::filesystem;

const std::vector<std::unique_ptr<ScanReader>>& scanReaders() {
    static const std::vector<std::unique_ptr<ScanReader>> readers = [] {
        std::vector<std::unique_ptr<ScanReader>> r;
        r.push_back(std::make_unique<NpyReader>());
        r.push_back(std::make_unique<PngReader>());
        r.push_back(std::make_unique<TiffReader>());
        r.push_back(std::make_unique<SxmReader>());
        r.push_back(std::make_unique<MatrixReader>());
        r.push_back(std::make_unique<GwyReader>());
        r.push_back(std::make_unique<CreatecReader>());
        r.push_back(std::make_unique<Sm4Reader>());
        return r;
    }();
    return readers;
}

const Image& ScanFile::select(const std::string& channel, const std::string& direction) const {
    auto lower = [](std::string s) {
        std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
        return s;
    };
    for (const Image& img : channels) {
        if (!channel.empty() && lower(img.meta.channel) != lower(channel)) continue;
        if (!direction.empty() && lower(img.meta.direction) != lower(direction)) continue;
        return img;
    }
    std::string avail;
    for (const Image& img : channels)
        avail += (avail.empty() ? "" : ", ") + img.meta.channel + (img.meta.direction.empty() ? "" : "/" + img.meta.direction);
    throw InputError(path, "no channel '" + channel + "'" + (direction.empty() ? "" : " (" + direction + ")") +
                               "; available: " + (avail.empty() ? "none" : avail));
}

ScanFile readScanFile(const std::string& path, const ReadOptions& options) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw InputError(path, "no such file");
    if (fs::is_directory(path, ec)) throw InputError(path, "is a directory, not a scan file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path, "cannot open for reading");
    std::string head(4096, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<size_t>(in.gcount()));
    if (head.empty()) throw InputError(path, "file is empty");

    const ScanReader* best = nullptr;
    int bestScore = 0;
    for (const auto& r : scanReaders()) {
        const int s = r->probe(head, path);
        if (s > bestScore) {
            best = r.get();
            bestScore = s;
        }
    }
    if (!best) {
        std::string names;
        for (const auto& r : scanReaders()) names += (names.empty() ? "" : ", ") + r->name();
        throw InputError(path, "unrecognised file format (supported: " + names + ")");
    }
    if (bestScore < 2) {
        // The extension says one thing but the content matches nothing: refuse rather than guess.
        throw InputError(path, "extension suggests " + best->name() + " but the content does not match that format");
    }
    ScanFile f = best->read(path, options);
    f.path = path;
    f.format = best->name();
    if (f.channels.empty()) throw InputError(path, "contains no image channels");
    for (Image& img : f.channels) {
        img.meta.sourcePath = path;
        if (img.meta.sourceFormat.empty()) img.meta.sourceFormat = f.format;
        if (options.pixelSize) {
            if (!options.pixelSize->known()) throw InputError(path, "pixel size must be positive");
            img.pixelSize = *options.pixelSize;
            img.meta.pixelSizeSource = "user";
        } else if (img.pixelSize.known() && img.meta.pixelSizeSource.empty()) {
            img.meta.pixelSizeSource = "file";
        }
        img.maskNonFinite();
    }
    return f;
}

}  // namespace stmlens
