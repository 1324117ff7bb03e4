#pragma once
// Physical size of one pixel, in nanometres. x (columns) and y (rows) may differ.
#include <string>

namespace stmlens {

struct PixelSize {
    double x_nm = 0.0;
    double y_nm = 0.0;

    PixelSize() = default;
    PixelSize(double x, double y) : x_nm(x), y_nm(y) {}
    static PixelSize square(double nm) { return {nm, nm}; }

    bool known() const { return x_nm > 0.0 && y_nm > 0.0; }
    // Parses "0.1" or "0.1,0.12" (nm). Throws InputError on malformed or non-positive values.
    static PixelSize parse(const std::string& text);
    std::string str() const;
};

}  // namespace stmlens
