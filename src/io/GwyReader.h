#pragma once
// Gwyddion .gwy (GWYP serialisation of a GwyContainer): every "/N/data" GwyDataField becomes an Image with
// its title as channel name, xreal/yreal and SI units converted to nm. Legacy GWYO (Gwyddion 1.x) files are
// read too (their container items carry GType ids; values in base SI units, as Gwyddion reads them).
#include "io/ScanReader.h"

namespace stmlens {

class GwyReader : public ScanReader {
public:
    std::string name() const override { return "gwyddion-gwy"; }
    std::vector<std::string> extensions() const override { return {".gwy"}; }
    int probe(std::string_view head, const std::string& path) const override;
    ScanFile read(const std::string& path, const ReadOptions& options) const override;
    ScanFile parse(std::string_view bytes, const std::string& path) const;
};

}  // namespace stmlens
