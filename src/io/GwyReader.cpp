#include "io/GwyReader.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <memory>
#include <variant>

#include "core/Errors.h"
#include "io/ByteCursor.h"
#include "io/HeaderText.h"

namespace stmlens {

namespace {

constexpr int kMaxDepth = 16;  // containers nest a few levels; a deeper file is malformed

struct GwyObject;
struct DoubleArray {
    std::string_view bytes;  // little-endian float64
};
using GwyValue = std::variant<std::monostate, bool, long long, double, std::string, std::shared_ptr<GwyObject>, DoubleArray>;

struct GwyObject {
    std::string type;
    std::map<std::string, GwyValue> items;
    template <typename T>
    const T* get(const std::string& key) const {
        auto it = items.find(key);
        return it == items.end() ? nullptr : std::get_if<T>(&it->second);
    }
};

std::shared_ptr<GwyObject> readObject(ByteCursor& c, int depth, bool legacy = false);

GwyValue readComponentValue(ByteCursor& c, char type, int depth) {
    auto arrayCount = [&](size_t itemSize) {
        const uint32_t n = c.le<uint32_t>();
        if (itemSize && n > c.remaining() / itemSize) c.fail("array of " + std::to_string(n) + " items runs past the end of the file");
        return n;
    };
    switch (type) {
        case 'b': return c.bytes(1)[0] != 0;
        case 'c': c.skip(1); return std::monostate{};
        case 'i': return static_cast<long long>(c.le<int32_t>());
        case 'q': return static_cast<long long>(c.le<int64_t>());
        case 'd': return c.le<double>();
        case 's': return c.cstring();
        case 'o': return readObject(c, depth + 1);
        case 'C': c.skip(arrayCount(1)); return std::monostate{};
        case 'I': c.skip(static_cast<size_t>(arrayCount(4)) * 4); return std::monostate{};
        case 'Q': c.skip(static_cast<size_t>(arrayCount(8)) * 8); return std::monostate{};
        case 'D': {
            const uint32_t n = arrayCount(8);
            return DoubleArray{c.bytes(static_cast<size_t>(n) * 8)};
        }
        case 'S': {
            const uint32_t n = arrayCount(1);
            for (uint32_t i = 0; i < n; ++i) c.cstring();
            return std::monostate{};
        }
        case 'O': {
            const uint32_t n = arrayCount(1);
            for (uint32_t i = 0; i < n; ++i) readObject(c, depth + 1);
            return std::monostate{};
        }
        default:
            c.fail("unknown GWY component type '" + toUtf8(std::string_view(&type, 1)) + "' at offset " + std::to_string(c.pos() - 1));
    }
}

// The component type char for a GLib fundamental type id (G_TYPE_BOOLEAN = 5 << 2, ...), as Gwyddion 1.x
// (GWYO) containers tag their items; 0 for a type they do not use.
char componentTypeOfGType(uint32_t gtype) {
    switch (gtype) {
        case 20: return 'b';
        case 24: return 'i';
        case 40: return 'q';
        case 60: return 'd';
        case 64: return 's';
        case 80: return 'o';
        default: return 0;
    }
}

// name\0, u32 size, components filling exactly size bytes: (name\0, type char, value), or in a GWYO
// container (legacy) (u32 GType id, name\0, value). Objects inside a GWYO container are GWYP-style.
std::shared_ptr<GwyObject> readObject(ByteCursor& c, int depth, bool legacy) {
    if (depth > kMaxDepth) c.fail("objects nested too deeply");
    auto obj = std::make_shared<GwyObject>();
    obj->type = c.cstring();
    const uint32_t size = c.le<uint32_t>();
    if (size > c.remaining()) c.fail("object '" + toUtf8(obj->type) + "' claims " + std::to_string(size) + " bytes but only " + std::to_string(c.remaining()) + " remain");
    const size_t end = c.pos() + size;
    while (c.pos() < end) {
        const uint32_t gtype = legacy ? c.le<uint32_t>() : 0;
        std::string key = c.cstring();
        const char type = legacy ? componentTypeOfGType(gtype) : c.bytes(1)[0];
        if (legacy && !type) c.fail("unknown GType " + std::to_string(gtype) + " of legacy container item '" + toUtf8(key) + "'");
        obj->items[std::move(key)] = readComponentValue(c, type, depth);
        if (c.pos() > end) c.fail("component overruns object '" + toUtf8(obj->type) + "'");
    }
    return obj;
}

std::string unitString(const GwyObject& field, const std::string& key) {
    if (auto u = field.get<std::shared_ptr<GwyObject>>(key); u && *u)
        if (auto s = (*u)->get<std::string>("unitstr")) return toUtf8(*s);
    return "";
}

// Metres per unit for the length units Gwyddion writes ("m", "nm", "µm", ...); 0 for anything else.
double metresPer(const std::string& unit) {
    static const std::map<std::string, double> table = {
        {"m", 1.0}, {"mm", 1e-3}, {"um", 1e-6}, {"\xC2\xB5m", 1e-6}, {"\xCE\xBCm", 1e-6}, {"nm", 1e-9}, {"pm", 1e-12},
        {"A", 0}, {"\xC3\x85", 1e-10}};
    auto it = table.find(unit);
    return it == table.end() ? 0.0 : it->second;
}

std::string guessDirection(const std::string& title) {
    std::string t = title;
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (t.find("retrace") != std::string::npos || t.find("backward") != std::string::npos || t.find("bwd") != std::string::npos)
        return "backward";
    if (t.find("trace") != std::string::npos || t.find("forward") != std::string::npos || t.find("fwd") != std::string::npos)
        return "forward";
    return "";
}

}  // namespace

int GwyReader::probe(std::string_view head, const std::string& path) const {
    if (head.substr(0, 4) == "GWYP" || head.substr(0, 4) == "GWYO") return 2;
    return fileExtension(path) == ".gwy" ? 1 : 0;
}

ScanFile GwyReader::read(const std::string& path, const ReadOptions&) const { return parse(readFileBytes(path), path); }

ScanFile GwyReader::parse(std::string_view bytes, const std::string& path) const {
    const bool legacy = bytes.substr(0, 4) == "GWYO";
    if (!legacy && bytes.substr(0, 4) != "GWYP") throw InputError(path, "not a Gwyddion .gwy file (no GWYP or GWYO magic)");
    ByteCursor c(bytes, path);
    c.seek(4);
    const auto root = readObject(c, 0, legacy);
    if (root->type != "GwyContainer") throw InputError(path, "top-level object is '" + toUtf8(root->type) + "', not a GwyContainer");

    ScanFile f;
    f.format = name();
    for (const auto& [key, value] : root->items) {
        // "/<N>/data" holds channel N's GwyDataField.
        if (key.size() < 7 || key[0] != '/' || key.substr(key.size() - 5) != "/data") continue;
        const std::string id = key.substr(1, key.size() - 6);
        if (id.empty() || id.size() > 9 || !std::all_of(id.begin(), id.end(), [](unsigned char ch) { return std::isdigit(ch); })) continue;
        const auto* fieldPtr = std::get_if<std::shared_ptr<GwyObject>>(&value);
        if (!fieldPtr || !*fieldPtr || (*fieldPtr)->type != "GwyDataField") continue;
        const GwyObject& field = **fieldPtr;
        const long long* xres = field.get<long long>("xres");
        const long long* yres = field.get<long long>("yres");
        const DoubleArray* data = field.get<DoubleArray>("data");
        if (!xres || !yres || !data) throw InputError(path, key + ": data field lacks xres/yres/data");
        if (*xres < 1 || *yres < 1 || *xres > kMaxScanPixelsPerSide || *yres > kMaxScanPixelsPerSide)
            throw InputError(path, key + ": absurd size " + std::to_string(*xres) + " x " + std::to_string(*yres));
        if (data->bytes.size() != static_cast<size_t>(*xres) * static_cast<size_t>(*yres) * 8)
            throw InputError(path, key + ": data holds " + std::to_string(data->bytes.size() / 8) + " values, not " +
                                       std::to_string(*xres) + " x " + std::to_string(*yres));
        const double* xreal = field.get<double>("xreal");
        const double* yreal = field.get<double>("yreal");
        if (!xreal || !yreal || !(*xreal > 0) || !(*yreal > 0) || !std::isfinite(*xreal) || !std::isfinite(*yreal))
            throw InputError(path, key + ": xreal/yreal missing or not positive");

        Image img(static_cast<int>(*xres), static_cast<int>(*yres));
        const std::string xy = unitString(field, "si_unit_xy");
        const std::string z = unitString(field, "si_unit_z");
        // Gwyddion keeps values in base SI units and drops a prefix written in the unit string, as Gwyddion 1.x
        // files do ("\xC2\xB5m" beside an xreal of 8e-5 m): follow it for those files.
        auto lengthFactor = [legacy](const std::string& unit) {
            const double m = metresPer(unit);
            return legacy && m > 0 ? 1.0 : m;
        };
        if (const double m = lengthFactor(xy); m > 0) {
            img.pixelSize = PixelSize(*xreal * m * 1e9 / *xres, *yreal * m * 1e9 / *yres);
            img.meta.pixelSizeSource = "file";
        } else {
            f.warnings.push_back(key + ": lateral unit '" + xy + "' is not a length; pixel size unknown");
        }
        double zScale = 1.0;
        img.meta.units = z;
        if (const double m = lengthFactor(z); m > 0) {
            zScale = m * 1e9;
            img.meta.units = "nm";
        }
        ByteCursor d(data->bytes, path);
        for (size_t i = 0; i < img.size(); ++i) img.data()[i] = static_cast<float>(d.le<double>() * zScale);
        std::string title = "channel " + id;
        if (auto t = root->items.find(key + "/title"); t != root->items.end())
            if (auto s = std::get_if<std::string>(&t->second)) title = toUtf8(*s);
        img.meta.channel = title;
        img.meta.direction = guessDirection(title);
        img.meta.sourceFormat = name();
        img.meta.extra["gwyChannel"] = id;
        if (auto meta = root->items.find(std::string("/").append(id).append("/meta")); meta != root->items.end())
            if (auto m = std::get_if<std::shared_ptr<GwyObject>>(&meta->second); m && *m)
                for (const auto& [mk, mv] : (*m)->items)
                    if (auto s = std::get_if<std::string>(&mv)) img.meta.extra[toUtf8(mk)] = toUtf8(*s);
        img.maskNonFinite();
        f.channels.push_back(std::move(img));
    }
    // Keys sort as strings ("/10" before "/2"); present channels in numeric order.
    std::stable_sort(f.channels.begin(), f.channels.end(), [](const Image& a, const Image& b) {
        return std::stoll(a.meta.extra.at("gwyChannel")) < std::stoll(b.meta.extra.at("gwyChannel"));
    });
    if (f.channels.empty()) throw InputError(path, "Gwyddion file holds no data fields");
    if (legacy) f.warnings.push_back("legacy Gwyddion 1.x file (GWYO): values taken in base SI units, as Gwyddion reads it");
    return f;
}

}  // namespace stmlens
