#include "io/SxmReader.h"

#include <cmath>
#include <map>

#include "core/Errors.h"
#include "io/ByteCursor.h"
#include "io/HeaderText.h"
#include "io/ScanOrientation.h"

namespace stmlens {

namespace {

constexpr std::string_view kMagic = ":NANONIS_VERSION:";
constexpr std::string_view kEnd = ":SCANIT_END:";
constexpr size_t kMaxHeader = 1 << 20;

struct DataInfo {
    std::string name, unit, direction;
};

// ":KEY:" lines open a section; the lines after it, up to the next key, are its value.
std::map<std::string, std::string> parseSections(std::string_view header) {
    std::map<std::string, std::string> sections;
    std::string key;
    size_t i = 0;
    while (i < header.size()) {
        size_t e = header.find('\n', i);
        if (e == std::string_view::npos) e = header.size();
        std::string_view line = header.substr(i, e - i);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.size() >= 2 && line.front() == ':' && line.back() == ':') {
            key = std::string(line.substr(1, line.size() - 2));
            sections[key];
        } else if (!key.empty()) {
            auto& v = sections[key];
            if (!v.empty()) v += '\n';
            v += line;
        }
        i = e + 1;
    }
    return sections;
}

std::vector<DataInfo> parseDataInfo(const std::string& text, const std::string& path) {
    std::vector<DataInfo> out;
    size_t i = 0;
    bool first = true;
    while (i < text.size()) {
        size_t e = text.find('\n', i);
        if (e == std::string::npos) e = text.size();
        const std::string line = text.substr(i, e - i);
        i = e + 1;
        if (trimText(line).empty()) continue;
        if (first) {  // column titles
            first = false;
            continue;
        }
        std::vector<std::string> cols;
        size_t a = 0;
        while (a <= line.size()) {
            size_t b = line.find('\t', a);
            if (b == std::string::npos) b = line.size();
            const auto f = trimText(std::string_view(line).substr(a, b - a));
            if (!f.empty()) cols.emplace_back(f);
            a = b + 1;
        }
        if (cols.size() < 4) throw InputError(path, "DATA_INFO row '" + toUtf8(line) + "' has fewer than 4 columns");
        const std::string dir = cols[3];
        if (dir != "both" && dir != "forward" && dir != "backward")
            throw InputError(path, "DATA_INFO direction '" + toUtf8(dir) + "' is not forward/backward/both");
        out.push_back({toUtf8(cols[1]), toUtf8(cols[2]), dir});
    }
    if (out.empty()) throw InputError(path, "DATA_INFO lists no channels");
    return out;
}

// "2.500E-10 A" -> 2.5e-10 (the unit must be A to count as a current setpoint).
std::optional<double> parseSetpoint(const std::map<std::string, std::string>& s, const std::string& path) {
    auto it = s.find("Z-CONTROLLER");
    if (it != s.end()) {
        const auto nl = it->second.find('\n');
        if (nl != std::string::npos) {
            std::vector<std::string> titles, values;
            auto splitTabs = [](std::string_view line) {
                std::vector<std::string> v;
                size_t a = 0;
                while (a <= line.size()) {
                    size_t b = line.find('\t', a);
                    if (b == std::string_view::npos) b = line.size();
                    v.emplace_back(trimText(line.substr(a, b - a)));
                    a = b + 1;
                }
                return v;
            };
            titles = splitTabs(std::string_view(it->second).substr(0, nl));
            values = splitTabs(std::string_view(it->second).substr(nl + 1));
            for (size_t k = 0; k < titles.size() && k < values.size(); ++k)
                if (titles[k] == "Setpoint") {
                    const auto f = splitFields(values[k]);
                    if (f.size() == 2 && f[1] == "A") return parseNumber(f[0], path, "Z-CONTROLLER setpoint");
                }
        }
    }
    auto sp = s.find("Z-Controller>Setpoint");
    auto unit = s.find("Z-Controller>Setpoint unit");
    if (sp != s.end() && unit != s.end() && trimText(unit->second) == "A")
        return parseNumber(sp->second, path, "Z-Controller>Setpoint");
    return std::nullopt;
}

}  // namespace

int SxmReader::probe(std::string_view head, const std::string& path) const {
    if (head.substr(0, kMagic.size()) == kMagic) return 2;
    return fileExtension(path) == ".sxm" ? 1 : 0;
}

ScanFile SxmReader::read(const std::string& path, const ReadOptions&) const {
    const std::string bytes = readFileBytes(path);
    return parse(bytes, path);
}

ScanFile SxmReader::parse(std::string_view bytes, const std::string& path) const {
    if (bytes.substr(0, kMagic.size()) != kMagic) throw InputError(path, "not a Nanonis .sxm file (no :NANONIS_VERSION: at the start)");
    const size_t endPos = bytes.substr(0, kMaxHeader).find(kEnd);
    if (endPos == std::string_view::npos) throw InputError(path, "Nanonis header has no :SCANIT_END: (truncated?)");
    const size_t marker = bytes.find("\x1A\x04", endPos);
    if (marker == std::string_view::npos) throw InputError(path, "no data marker (0x1A 0x04) after the header");
    const auto s = parseSections(bytes.substr(0, endPos));

    auto need = [&](const char* key) -> const std::string& {
        auto it = s.find(key);
        if (it == s.end()) throw InputError(path, std::string("Nanonis header lacks :") + key + ":");
        return it->second;
    };
    const auto px = splitFields(need("SCAN_PIXELS"));
    if (px.size() != 2) throw InputError(path, "SCAN_PIXELS must hold two numbers");
    const int nx = static_cast<int>(parseInteger(px[0], path, "SCAN_PIXELS x", 1, kMaxScanPixelsPerSide));
    const int ny = static_cast<int>(parseInteger(px[1], path, "SCAN_PIXELS y", 1, kMaxScanPixelsPerSide));
    const auto range = splitFields(need("SCAN_RANGE"));
    if (range.size() != 2) throw InputError(path, "SCAN_RANGE must hold two numbers");
    const double rx = parseNumber(range[0], path, "SCAN_RANGE x"), ry = parseNumber(range[1], path, "SCAN_RANGE y");
    if (!(rx > 0) || !(ry > 0)) throw InputError(path, "SCAN_RANGE must be positive, got " + range[0] + " x " + range[1]);

    const auto type = splitFields(need("SCANIT_TYPE"));
    if (type.size() != 2 || type[0] != "FLOAT" || (type[1] != "MSBFIRST" && type[1] != "LSBFIRST"))
        throw InputError(path, "unsupported SCANIT_TYPE '" + toUtf8(trimText(need("SCANIT_TYPE"))) + "' (expected FLOAT MSBFIRST)");
    const bool bigEndian = type[1] == "MSBFIRST";

    std::string scanDir = "down";
    if (auto it = s.find("SCAN_DIR"); it != s.end()) scanDir = std::string(trimText(it->second));
    if (scanDir != "up" && scanDir != "down") throw InputError(path, "SCAN_DIR '" + toUtf8(scanDir) + "' is neither up nor down");

    const auto info = parseDataInfo(need("DATA_INFO"), path);
    size_t images = 0;
    for (const auto& d : info) images += d.direction == "both" ? 2 : 1;
    const size_t perImage = static_cast<size_t>(nx) * ny * 4;
    ByteCursor c(bytes, path);
    c.seek(marker + 2);
    if (images * perImage > c.remaining())
        throw InputError(path, "header promises " + std::to_string(images) + " images of " + std::to_string(nx) + " x " +
                                   std::to_string(ny) + " float32 (" + std::to_string(images * perImage) +
                                   " bytes) but only " + std::to_string(c.remaining()) + " bytes follow the header");

    ScanMetadata meta;
    meta.sourceFormat = name();
    meta.pixelSizeSource = "file";
    if (auto it = s.find("BIAS"); it != s.end() && !trimText(it->second).empty())
        meta.biasV = parseNumber(it->second, path, "BIAS");
    else if (auto b = s.find("Bias>Bias (V)"); b != s.end())
        meta.biasV = parseNumber(b->second, path, "Bias>Bias (V)");
    meta.setpointA = parseSetpoint(s, path);
    if (auto it = s.find("SCAN_ANGLE"); it != s.end() && !trimText(it->second).empty())
        meta.scanAngleDeg = parseNumber(it->second, path, "SCAN_ANGLE");
    for (const char* k : {"NANONIS_VERSION", "REC_DATE", "REC_TIME", "REC_TEMP", "ACQ_TIME", "SCAN_OFFSET", "SCAN_FILE",
                          "COMMENT", "SCAN_DIR"})
        if (auto it = s.find(k); it != s.end()) meta.extra[k] = toUtf8(trimText(it->second));

    ScanFile f;
    f.format = name();
    const PixelSize ps(rx * 1e9 / nx, ry * 1e9 / ny);
    for (const auto& d : info) {
        std::vector<std::string> dirs;
        if (d.direction == "both") dirs = {"forward", "backward"};
        else dirs = {d.direction};
        const bool metres = d.unit == "m";
        for (const auto& dir : dirs) {
            Image img(nx, ny);
            img.pixelSize = ps;
            img.meta = meta;
            img.meta.channel = d.name;
            img.meta.direction = dir;
            img.meta.units = metres ? "nm" : d.unit;
            const double scale = metres ? 1e9 : 1.0;
            float* p = img.data();
            for (size_t k = 0; k < img.size(); ++k) {
                const float v = bigEndian ? c.be<float>() : c.le<float>();
                p[k] = static_cast<float>(v * scale);
            }
            if (dir == "backward") mirrorColumns(img);
            if (scanDir == "up") flipRows(img);
            img.maskNonFinite();
            f.channels.push_back(std::move(img));
        }
    }
    for (const Image& img : f.channels) {
        const int bad = countInvalidRows(img);
        if (bad > 0) {
            f.warnings.push_back("scan aborted or incomplete: " + std::to_string(bad) + " of " + std::to_string(ny) +
                                 " rows hold no data (masked invalid)");
            break;
        }
    }
    return f;
}

}  // namespace stmlens
