#pragma once
// What a reader returns: every image channel found in a file, with its physical units.
//
//   ScanFile f = readScanFile("scan.sxm", {});          // picks the reader by content
//   const Image& z = f.select("Z", "forward");           // or f.channels.front()
#include <optional>
#include <string>
#include <vector>

#include "core/Image.h"

namespace stmlens {

struct ReadOptions {
    // Pixel size for formats that carry none (NPY, plain PNG/TIFF) or to override the file's.
    std::optional<PixelSize> pixelSize;
};

struct ScanFile {
    std::string path;
    std::string format;            // reader name, e.g. "npy", "nanonis-sxm"
    std::vector<Image> channels;   // each with meta.channel / meta.direction filled where known
    std::vector<std::string> warnings;  // non-fatal problems worth telling the user (e.g. missing calibration)

    // First channel matching name (case-insensitive; empty = any) and direction (empty = any).
    // Throws InputError listing the available channels when none matches.
    const Image& select(const std::string& channel, const std::string& direction) const;
};

}  // namespace stmlens
