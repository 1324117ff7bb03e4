#pragma once
// Nanonis .sxm: text header of ":KEY:" sections up to ":SCANIT_END:", then 0x1A 0x04 and the images as
// big-endian float32, one per channel and direction (forward, then backward for "both"), each stored in
// acquisition order. We mirror backward images to left-to-right and flip "up" scans so row 0 = top.
// Z in m becomes nm; other channels keep their units.
#include "io/ScanReader.h"

namespace stmlens {

class SxmReader : public ScanReader {
public:
    std::string name() const override { return "nanonis-sxm"; }
    std::vector<std::string> extensions() const override { return {".sxm"}; }
    int probe(std::string_view head, const std::string& path) const override;
    ScanFile read(const std::string& path, const ReadOptions& options) const override;
    // Parses file contents already in memory (used by read and by the fuzz target).
    ScanFile parse(std::string_view bytes, const std::string& path) const;
};

}  // namespace stmlens
