#pragma once
// Createc .dat: a "[Paramco32]" text header of "Long name / Key=value" lines, a "DATA" marker found by
// searching (anonymised files shorten the header, so no fixed offset), then a zlib stream of little-endian
// float32: one leading value, then each channel's rows (row 0 = top, backward channels already left to right).
// "[Paramet32]" files hold the same floats uncompressed. Topography becomes nm via Dacto[A]z x GainZ;
// other channels stay in DAC units. Rows beyond ImageYPosMax (a stopped scan) are masked invalid.
#include "io/ScanReader.h"

namespace stmlens {

class CreatecReader : public ScanReader {
public:
    std::string name() const override { return "createc-dat"; }
    std::vector<std::string> extensions() const override { return {".dat"}; }
    int probe(std::string_view head, const std::string& path) const override;
    ScanFile read(const std::string& path, const ReadOptions& options) const override;
    ScanFile parse(std::string_view bytes, const std::string& path) const;
};

}  // namespace stmlens
