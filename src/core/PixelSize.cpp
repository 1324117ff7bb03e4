#include "core/PixelSize.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "core/Errors.h"

namespace stmlens {

namespace {
double parseOne(const std::string& s, const std::string& whole) {
    if (s.empty()) throw InputError("pixel size '" + whole + "': empty value");
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || *end != '\0')
        throw InputError("pixel size '" + whole + "': '" + s + "' is not a number (expected nm, e.g. 0.1 or 0.1,0.12)");
    if (!std::isfinite(v) || v <= 0.0)
        throw InputError("pixel size '" + whole + "': must be a positive number of nm");
    if (v > 1.0e6) throw InputError("pixel size '" + whole + "': " + s + " nm per pixel is absurd");
    return v;
}
}  // namespace

PixelSize PixelSize::parse(const std::string& text) {
    const auto comma = text.find(',');
    if (comma == std::string::npos) {
        const double v = parseOne(text, text);
        return {v, v};
    }
    return {parseOne(text.substr(0, comma), text), parseOne(text.substr(comma + 1), text)};
}

std::string PixelSize::str() const {
    std::ostringstream os;
    os.precision(5);
    if (!known()) return "unknown";
    if (x_nm == y_nm) os << x_nm << " nm";
    else os << x_nm << " x " << y_nm << " nm";
    return os.str();
}

}  // namespace stmlens
