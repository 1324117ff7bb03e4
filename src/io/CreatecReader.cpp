#include "io/CreatecReader.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <optional>
#include <map>

#include "core/Errors.h"
#include "io/ByteCursor.h"
#include "io/HeaderText.h"
#include "io/ScanOrientation.h"

namespace stmlens {

namespace {

constexpr std::string_view kCompressed = "[Paramco32]";
constexpr std::string_view kPlain = "[Paramet32]";
constexpr size_t kMaxHeader = 1 << 20;

// "Long name / Key=value": stored under both the long name and the short key.
std::map<std::string, std::string> parseHeader(std::string_view text) {
    std::map<std::string, std::string> h;
    size_t i = 0;
    while (i < text.size()) {
        size_t e = text.find('\n', i);
        if (e == std::string_view::npos) e = text.size();
        const std::string_view line = trimText(text.substr(i, e - i));
        i = e + 1;
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos) continue;
        const std::string_view left = line.substr(0, eq), value = trimText(line.substr(eq + 1));
        const size_t slash = left.find(" / ");
        if (slash != std::string_view::npos) {
            h[std::string(trimText(left.substr(0, slash)))] = std::string(value);
            h[std::string(trimText(left.substr(slash + 3)))] = std::string(value);
        } else {
            h[std::string(trimText(left))] = std::string(value);
        }
    }
    return h;
}

// Inflates exactly `want` bytes (more in the stream is ignored, so a hostile stream cannot blow up memory).
std::string inflateExactly(std::string_view in, size_t want, const std::string& path) {
    std::string out(want, '\0');
    z_stream zs{};
    if (inflateInit(&zs) != Z_OK) throw InputError(path, "zlib initialisation failed");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(std::min<size_t>(in.size(), UINT32_MAX));
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(want);
    const int rc = inflate(&zs, Z_FINISH);
    const size_t got = want - zs.avail_out;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END && rc != Z_OK && !(rc == Z_BUF_ERROR && got == want))
        throw InputError(path, std::string("compressed data is corrupt or truncated (zlib: ") + (zs.msg ? zs.msg : "error") +
                                   ", " + std::to_string(got) + " of " + std::to_string(want) + " bytes)");
    if (got < want)
        throw InputError(path, "data holds " + std::to_string(got) + " bytes but the header promises " + std::to_string(want));
    return out;
}

std::string channelName(int bit) {
    if (bit == 0) return "Z";
    if (bit == 1) return "Current";
    return "ADC" + std::to_string(bit - 1);
}

}  // namespace

int CreatecReader::probe(std::string_view head, const std::string& /*path*/) const {
    if (head.substr(0, kCompressed.size()) == kCompressed || head.substr(0, kPlain.size()) == kPlain) return 2;
    return 0;  // ".dat" alone says nothing (Nanonis spectra, ...)
}

ScanFile CreatecReader::read(const std::string& path, const ReadOptions&) const { return parse(readFileBytes(path), path); }

ScanFile CreatecReader::parse(std::string_view bytes, const std::string& path) const {
    const bool compressed = bytes.substr(0, kCompressed.size()) == kCompressed;
    if (!compressed && bytes.substr(0, kPlain.size()) != kPlain)
        throw InputError(path, "not a Createc .dat file (expected [Paramco32] or [Paramet32]; older [Parameter] files are not supported)");
    // The marker is "DATA" on a line of its own; search, as anonymised headers are shorter.
    size_t marker = bytes.substr(0, kMaxHeader).find("\nDATA");
    if (marker == std::string_view::npos) throw InputError(path, "no DATA marker after the Createc header (truncated?)");
    const auto h = parseHeader(bytes.substr(0, marker));
    size_t start = marker + 5;
    // Some writers end the marker line with CR LF; a zlib stream starts with 0x78.
    while (start < bytes.size() && (bytes[start] == '\r' || bytes[start] == '\n') && compressed) ++start;

    auto need = [&](const char* key) -> const std::string& {
        auto it = h.find(key);
        if (it == h.end()) throw InputError(path, std::string("Createc header lacks ") + key);
        return it->second;
    };
    const int nx = static_cast<int>(parseInteger(need("Num.X"), path, "Num.X", 1, kMaxScanPixelsPerSide));
    const int ny = static_cast<int>(parseInteger(need("Num.Y"), path, "Num.Y", 1, kMaxScanPixelsPerSide));
    const int channels = static_cast<int>(parseInteger(need("Channels"), path, "Channels", 1, 64));
    const double lx = parseNumber(need("Length x[A]"), path, "Length x[A]");
    const double ly = parseNumber(need("Length y[A]"), path, "Length y[A]");
    if (!(lx > 0) || !(ly > 0)) throw InputError(path, "scan lengths must be positive, got " + need("Length x[A]") + " x " + need("Length y[A]"));

    const size_t perImage = static_cast<size_t>(nx) * ny;
    const size_t wantBytes = (1 + perImage * channels) * 4;
    const std::string_view payload = bytes.substr(std::min(start, bytes.size()));
    std::string inflated;
    std::string_view floats;
    // zlib cannot expand more than ~1032:1; a header promising more than that is lying (and must not make us
    // allocate gigabytes).
    if (wantBytes / 1032 > payload.size() + 64)
        throw InputError(path, "header promises " + std::to_string(wantBytes) + " bytes of data but the file holds only " +
                                   std::to_string(payload.size()));
    if (compressed) {
        inflated = inflateExactly(payload, wantBytes, path);
        floats = inflated;
    } else {
        if (payload.size() < wantBytes)
            throw InputError(path, "data holds " + std::to_string(payload.size()) + " bytes but the header promises " + std::to_string(wantBytes));
        floats = payload.substr(0, wantBytes);
    }

    // Channel names from the selection bit mask; the stored channels are the selected ones, forward then backward.
    std::vector<std::string> names;
    if (auto it = h.find("Channelselectval"); it != h.end()) {
        const long long sel = parseInteger(it->second, path, "Channelselectval", 0, (1LL << 31) - 1);
        for (int bit = 0; bit < 31; ++bit)
            if (sel & (1LL << bit)) names.push_back(channelName(bit));
    }
    std::vector<std::pair<std::string, std::string>> layout;  // name, direction
    if (!names.empty() && static_cast<int>(names.size()) * 2 == channels) {
        for (const auto& n : names) layout.emplace_back(n, "forward");
        for (const auto& n : names) layout.emplace_back(n, "backward");
    } else if (!names.empty() && static_cast<int>(names.size()) == channels) {
        for (const auto& n : names) layout.emplace_back(n, "forward");
    } else {
        for (int k = 0; k < channels; ++k) layout.emplace_back(k == 0 ? "Z" : "Channel" + std::to_string(k), "");
    }

    ScanMetadata meta;
    meta.sourceFormat = name();
    meta.pixelSizeSource = "file";
    if (auto it = h.find("Biasvolt[mV]"); it != h.end()) meta.biasV = parseNumber(it->second, path, "Biasvolt[mV]") * 1e-3;
    if (auto it = h.find("FBLogIset"); it != h.end()) meta.setpointA = parseNumber(it->second, path, "FBLogIset") * 1e-12;
    if (auto it = h.find("Rotation"); it != h.end()) meta.scanAngleDeg = parseNumber(it->second, path, "Rotation");
    for (const char* k : {"Titel", "Dacto[A]z", "GainZ", "ZPiezoconst", "ImageYPosMax", "DAC-Type"})
        if (auto it = h.find(k); it != h.end()) meta.extra[k] = toUtf8(it->second);

    // Topography: DAC units x Dacto[A]z (Angstrom per DAC unit at unit gain) x GainZ.
    std::optional<double> zPerDacNm;
    if (auto a = h.find("Dacto[A]z"), g = h.find("GainZ"); a != h.end() && g != h.end()) {
        const double v = parseNumber(a->second, path, "Dacto[A]z") * parseNumber(g->second, path, "GainZ") * 0.1;
        if (v > 0) zPerDacNm = v;
    }

    // A stopped scan records rows [0, ImageYPosMax - 1); the rest stay zero.
    int recorded = ny;
    if (auto it = h.find("ImageYPosMax"); it != h.end())
        recorded = static_cast<int>(std::clamp<long long>(parseInteger(it->second, path, "ImageYPosMax", -1, 1LL << 31) - 1, 0, ny));

    ScanFile f;
    f.format = name();
    ByteCursor c(floats, path);
    c.skip(4);  // leading value, not a pixel
    const PixelSize ps(lx * 0.1 / nx, ly * 0.1 / ny);
    for (const auto& [chName, dir] : layout) {
        Image img(nx, ny);
        img.pixelSize = ps;
        img.meta = meta;
        img.meta.channel = chName;
        img.meta.direction = dir;
        const bool topo = chName == "Z" && zPerDacNm;
        img.meta.units = topo ? "nm" : "DAC";
        const double scale = topo ? *zPerDacNm : 1.0;
        for (size_t i = 0; i < perImage; ++i) img.data()[i] = static_cast<float>(c.le<float>() * scale);
        if (recorded < ny) {
            // Filler for never-scanned rows: the mean of the recorded ones, so no filter sees a cliff.
            double sum = 0;
            for (size_t i = 0; i < static_cast<size_t>(recorded) * nx; ++i) sum += img.data()[i];
            const float fill = recorded > 0 ? static_cast<float>(sum / (static_cast<double>(recorded) * nx)) : 0.0f;
            for (size_t i = static_cast<size_t>(recorded) * nx; i < perImage; ++i) img.data()[i] = fill;
            markRowsInvalid(img, recorded, ny);
        }
        img.maskNonFinite();
        f.channels.push_back(std::move(img));
    }
    if (recorded < ny)
        f.warnings.push_back("partial scan: " + std::to_string(recorded) + " of " + std::to_string(ny) +
                             " rows recorded (ImageYPosMax); the rest are masked invalid");
    if (!zPerDacNm) f.warnings.push_back("no Dacto[A]z / GainZ in the header: topography left in DAC units");
    return f;
}

}  // namespace stmlens
