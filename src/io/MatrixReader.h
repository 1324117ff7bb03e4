#pragma once
// Omicron MATRIX: one data file per channel (*.Z_mtrx, *.I_mtrx: "ONTMATRX0101", a BKLT block holding a DESC
// block with the intended and captured sample counts and a DATA block of int32 samples in acquisition order:
// each line's trace then retrace (reversed in x), the up-scan (bottom to top) then the down-scan) and a session
// parameter file "<stem>_0001.mtrx" found by name next to it (the data file name up to its last "--").
// The parameter file gives the grid, the scan size, bias, setpoint and the counts -> physical transfer function.
// Without it we still read the data as raw counts, infer a square grid from the sample count, and warn.
#include <optional>

#include "io/ScanReader.h"

namespace stmlens {

class MatrixReader : public ScanReader {
public:
    std::string name() const override { return "omicron-matrix"; }
    std::vector<std::string> extensions() const override { return {".z_mtrx", ".i_mtrx"}; }
    int probe(std::string_view head, const std::string& path) const override;
    ScanFile read(const std::string& path, const ReadOptions& options) const override;
    // Data file contents plus the parameter file's contents when there is one (used by read and by fuzzing).
    ScanFile parse(std::string_view data, const std::string& path, std::optional<std::string_view> params,
                   const std::string& paramPath) const;
};

// "<dir>/<stem>--12_1.Z_mtrx" -> "<dir>/<stem>_0001.mtrx" ("" when the name has no "--").
std::string matrixParameterPath(const std::string& dataPath);

}  // namespace stmlens
