#include "io/GwyWriter.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>

#include "core/Errors.h"
#include "io/AtomicFile.h"

namespace stmlens {

namespace {

// GWYP serialisation: objects are "Type\0" + u32 size + components; a component is "name\0" + type char + value.
void putU32(std::string& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}
void putDouble(std::string& out, double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    for (int i = 0; i < 8; ++i) out += static_cast<char>((bits >> (8 * i)) & 0xFF);
}
std::string object(const std::string& type, const std::string& components) {
    std::string out = type;
    out += '\0';
    putU32(out, static_cast<uint32_t>(components.size()));
    return out + components;
}
std::string header(const std::string& name, char type) {
    std::string out = name;
    out.push_back('\0');
    out.push_back(type);
    return out;
}
std::string comp(const std::string& name, const std::string& s) {
    std::string out = header(name, 's') + s;
    out.push_back('\0');
    return out;
}
std::string compObject(const std::string& name, const std::string& obj) { return header(name, 'o') + obj; }
std::string compInt(const std::string& name, int32_t v) {
    std::string out = header(name, 'i');
    putU32(out, static_cast<uint32_t>(v));
    return out;
}
std::string compDouble(const std::string& name, double v) {
    std::string out = header(name, 'd');
    putDouble(out, v);
    return out;
}
std::string compBool(const std::string& name, bool v) { return header(name, 'b') + static_cast<char>(v ? 1 : 0); }
std::string siUnit(const std::string& unit) { return object("GwySIUnit", comp("unitstr", unit)); }

// Lengths go out in metres; a scan without a pixel size is written in pixels (Gwyddion needs xreal > 0).
std::string dataField(const Image& img, const std::vector<double>& values, const std::string& zUnit) {
    const bool known = img.pixelSize.known();
    const double xreal = known ? img.widthNm() * 1e-9 : img.width();
    const double yreal = known ? img.heightNm() * 1e-9 : img.height();
    std::string c = compInt("xres", img.width()) + compInt("yres", img.height()) + compDouble("xreal", xreal) +
                    compDouble("yreal", yreal) + compObject("si_unit_xy", siUnit(known ? "m" : "")) +
                    compObject("si_unit_z", siUnit(zUnit));
    c += header("data", 'D');
    putU32(c, static_cast<uint32_t>(values.size()));
    for (double v : values) putDouble(c, v);
    return object("GwyDataField", c);
}

}  // namespace

void writeGwy(const std::string& path, const Image& scan, const std::vector<std::pair<std::string, Image>>& masks) {
    if (scan.empty()) throw InputError(path, "nothing to write: the scan is empty");
    // Z: nm -> m so Gwyddion shows proper SI prefixes; other units as they are ("counts" has no SI unit).
    const bool nm = scan.meta.units == "nm";
    const double zScale = nm ? 1e-9 : 1.0;
    const std::string zUnit = nm ? "m" : (scan.meta.units == "counts" ? "" : scan.meta.units);
    std::vector<double> values(scan.size());
    for (size_t i = 0; i < values.size(); ++i) {
        const float v = scan.data()[i];
        values[i] = std::isfinite(v) ? v * zScale : 0.0;
    }
    std::string items = compObject("/0/data", dataField(scan, values, zUnit));
    items += comp("/0/data/title", scan.meta.channel.empty() ? "scan" : scan.meta.channel +
                                       (scan.meta.direction.empty() ? "" : " (" + scan.meta.direction + ")"));
    items += compBool("/0/data/visible", true);
    if (scan.hasMask()) {  // Gwyddion's mask marks the pixels to exclude: here the invalid ones
        std::vector<double> m(scan.size());
        for (int y = 0; y < scan.height(); ++y)
            for (int x = 0; x < scan.width(); ++x) m[static_cast<size_t>(y) * scan.width() + x] = scan.isValid(x, y) ? 0.0 : 1.0;
        items += compObject("/0/mask", dataField(scan, m, ""));
    }
    int id = 1;
    for (const auto& [name, mask] : masks) {
        if (mask.width() != scan.width() || mask.height() != scan.height())
            throw InputError(path, "mask '" + name + "' is " + std::to_string(mask.width()) + " x " +
                                       std::to_string(mask.height()) + ", the scan " + std::to_string(scan.width()) +
                                       " x " + std::to_string(scan.height()));
        std::vector<double> m(mask.size());
        for (size_t i = 0; i < m.size(); ++i) m[i] = mask.data()[i] != 0.0f ? 1.0 : 0.0;
        std::string key = "/";   // appended: GCC 12 warns falsely (-Wrestrict) about "/" + std::to_string(...)
        key += std::to_string(id++);
        items += compObject(key + "/data", dataField(scan, m, ""));
        items += comp(key + "/data/title", name);
    }
    const std::string bytes = "GWYP" + object("GwyContainer", items);
    writeAtomically(path, [&](const std::string& tmp) {
        std::ofstream out(tmp, std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out) throw InputError(path, "cannot write");
    });
}

}  // namespace stmlens
