#pragma once
// RHK .sm4 ("STiMage 005.004" after a u16 header size, UTF-16LE): a page index lists pages, each with a
// header (sizes, x/y/z scale and offset, bias, current, angle, scan direction), UTF-16 strings (label, units)
// and int32 data. Image pages become Images (value = raw * z_scale + z_offset; columns mirrored as Gwyddion
// does, since RHK's x scale is negative); line/spectroscopy pages are skipped. A file without any image page
// is an InputError.
#include "io/ScanReader.h"

namespace stmlens {

class Sm4Reader : public ScanReader {
public:
    std::string name() const override { return "rhk-sm4"; }
    std::vector<std::string> extensions() const override { return {".sm4"}; }
    int probe(std::string_view head, const std::string& path) const override;
    ScanFile read(const std::string& path, const ReadOptions& options) const override;
    ScanFile parse(std::string_view bytes, const std::string& path) const;
};

}  // namespace stmlens
