#pragma once
// Raster image files: PNG (8/16-bit, with Gwyddion's calibration text chunks when present) and
// TIFF (8/16-bit integer, 32-bit float). Colour images are converted to grey.
#include "io/ScanReader.h"

namespace stmlens {

class PngReader : public ScanReader {
public:
    std::string name() const override { return "png"; }
    std::vector<std::string> extensions() const override { return {".png"}; }
    int probe(std::string_view head, const std::string& path) const override;
    ScanFile read(const std::string& path, const ReadOptions& options) const override;
};

class TiffReader : public ScanReader {
public:
    std::string name() const override { return "tiff"; }
    std::vector<std::string> extensions() const override { return {".tif", ".tiff"}; }
    int probe(std::string_view head, const std::string& path) const override;
    ScanFile read(const std::string& path, const ReadOptions& options) const override;
};

}  // namespace stmlens
