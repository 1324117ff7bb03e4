#pragma once
// NumPy .npy arrays (format 1.0-3.0): 2-D float32/float64/int16/uint16/int32/uint8 (+ big-endian variants),
// C or Fortran order. NPY carries no pixel size: it comes from ReadOptions (--pixel-size).
#include "io/ScanReader.h"

namespace stmlens {

class NpyReader : public ScanReader {
public:
    std::string name() const override { return "npy"; }
    std::vector<std::string> extensions() const override { return {".npy"}; }
    int probe(std::string_view head, const std::string& path) const override;
    ScanFile read(const std::string& path, const ReadOptions& options) const override;
};

// A decoded .npy array of any supported dtype, values converted to double-precision-safe float.
struct NpyArray {
    std::vector<size_t> shape;
    std::string dtype;  // as in the header, e.g. "<f4"
    std::vector<float> values;  // row-major (C order) regardless of the file's order
};
NpyArray readNpy(const std::string& path);

// Writes a float32 C-order 2-D array (via a temporary file and rename).
void writeNpy(const std::string& path, const float* data, int width, int height);
// Writes a uint8 C-order 2-D array (label maps).
void writeNpyU8(const std::string& path, const uint8_t* data, int width, int height);

}  // namespace stmlens
