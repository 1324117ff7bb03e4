#include "io/MatrixReader.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <variant>

#include "core/Errors.h"
#include "io/ByteCursor.h"
#include "io/HeaderText.h"

namespace stmlens {

namespace {

constexpr std::string_view kMagic = "ONTMATRX0101";
constexpr uint32_t kMaxSamples = 1u << 28;

// MATRIX strings: u32 character count, then UTF-16LE. We keep the ASCII subset (parameter names are ASCII).
std::string readString(ByteCursor& c) {
    const uint32_t n = c.le<uint32_t>();
    if (n > c.remaining() / 2) c.fail("string length " + std::to_string(n) + " runs past the end of its block");
    const std::string_view raw = c.bytes(static_cast<size_t>(n) * 2);
    std::string s;
    for (size_t i = 0; i + 1 < raw.size(); i += 2) {
        const unsigned v = static_cast<unsigned char>(raw[i]) | (static_cast<unsigned char>(raw[i + 1]) << 8);
        s += v >= 0x20 && v < 0x7F ? static_cast<char>(v) : '?';
    }
    return s;
}

using Value = std::variant<bool, long long, double, std::string>;

// Typed value: 4-char tag (stored reversed: "BUOD" = DOUB) then its payload.
Value readValue(ByteCursor& c) {
    const std::string tag(c.bytes(4));
    if (tag == "LOOB") return c.le<uint32_t>() != 0;
    if (tag == "GNOL") return static_cast<long long>(c.le<int32_t>());
    if (tag == "BUOD") return c.le<double>();
    if (tag == "GRTS") return readString(c);
    c.fail("unknown MATRIX value type '" + toUtf8(tag) + "' at offset " + std::to_string(c.pos() - 4));
}

double asNumber(const Value& v) {
    if (auto d = std::get_if<double>(&v)) return *d;
    if (auto l = std::get_if<long long>(&v)) return static_cast<double>(*l);
    if (auto b = std::get_if<bool>(&v)) return *b ? 1 : 0;
    return std::nan("");
}

struct TransferFunction {
    std::string name, unit;
    std::map<std::string, double> params;
    // counts -> physical value.
    std::optional<double> apply(double raw) const {
        auto p = [&](const char* k) -> std::optional<double> {
            auto it = params.find(k);
            return it == params.end() ? std::nullopt : std::optional<double>(it->second);
        };
        if (name == "TFF_Linear1D" && p("Factor") && p("Offset") && *p("Factor") != 0)
            return (raw - *p("Offset")) / *p("Factor");
        if (name == "TFF_MultiLinear1D" && p("NeutralFactor") && p("PreFactor") && p("Offset") && p("PreOffset") &&
            p("Raw_1") && *p("NeutralFactor") * *p("PreFactor") != 0)
            return (*p("Raw_1") - *p("PreOffset")) * (raw - *p("Offset")) / (*p("NeutralFactor") * *p("PreFactor"));
        return std::nullopt;
    }
};

struct Session {
    std::map<std::string, Value> values;  // "Instance.Property"
    std::map<uint32_t, TransferFunction> transfer;  // by channel id
    std::map<uint32_t, uint32_t> channelOfData;     // "CD" index (named in the data file) -> channel id
    bool foundReference = false;

    std::optional<double> number(const std::string& key) const {
        auto it = values.find(key);
        if (it == values.end()) return std::nullopt;
        const double v = asNumber(it->second);
        return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
    }
};

void readInitialParameters(ByteCursor c, Session& s) {
    c.skip(4);
    const uint32_t instances = c.le<uint32_t>();
    for (uint32_t i = 0; i < instances; ++i) {
        const std::string inst = readString(c);
        const uint32_t props = c.le<uint32_t>();
        for (uint32_t k = 0; k < props; ++k) {
            const std::string prop = readString(c);
            readString(c);  // unit
            c.skip(4);
            s.values[inst + "." + prop] = readValue(c);
        }
    }
}

void readParameterChange(ByteCursor c, Session& s) {
    c.skip(4);
    const std::string inst = readString(c);
    const std::string prop = readString(c);
    readString(c);  // unit
    c.skip(4);
    s.values[inst + "." + prop] = readValue(c);
}

// Channel definitions: "CD" entries name the data channels, a REFX section holds the transfer functions.
void readChannels(std::string_view block, const std::string& path, Session& s) {
    const std::string cd("C\0D\0", 4), ch("C\0 \0", 4);
    for (size_t p = block.find(cd); p != std::string_view::npos; p = block.find(cd, p + 4)) {
        if (p + 16 > block.size() || block.substr(p + 8, 4) != ch) continue;
        ByteCursor c(block.substr(p + 4, 12), path);
        const uint32_t index = c.le<uint32_t>();
        c.skip(4);
        s.channelOfData[index] = c.le<uint32_t>();
    }
    const size_t refx = block.find("REFX");
    if (refx == std::string_view::npos) return;
    ByteCursor c(block, path);
    c.seek(refx + 4);
    const uint32_t len = c.le<uint32_t>();
    if (len > c.remaining()) c.fail("REFX section runs past the end of its block");
    ByteCursor r(block.substr(c.pos(), len), path);
    while (r.remaining() >= 8 && r.data().substr(r.pos(), 4) == ch) {
        r.skip(4);
        const uint32_t id = r.le<uint32_t>();
        TransferFunction tf;
        tf.name = readString(r);
        tf.unit = readString(r);
        const uint32_t n = r.le<uint32_t>();
        for (uint32_t k = 0; k < n; ++k) {
            const std::string key = readString(r);
            tf.params[key] = asNumber(readValue(r));
        }
        s.transfer[id] = tf;
    }
}

// Replays the session log up to the reference to our data file, so the parameters are those in effect for it.
Session readSession(std::string_view bytes, const std::string& path, const std::string& dataName) {
    if (bytes.substr(0, kMagic.size()) != kMagic) throw InputError(path, "not an Omicron MATRIX parameter file (bad magic)");
    Session s;
    ByteCursor c(bytes, path);
    c.seek(kMagic.size());
    while (c.remaining() >= 16) {
        const std::string id(c.bytes(4));
        const uint32_t len = c.le<uint32_t>();
        c.skip(8);  // timestamp
        if (len > c.remaining()) c.fail("block '" + toUtf8(id) + "' runs past the end of the file");
        const std::string_view body = c.bytes(len);
        if (id == "APEE") readInitialParameters(ByteCursor(body, path), s);
        else if (id == "DOMP") readParameterChange(ByteCursor(body, path), s);
        else if (id == "YSCC") readChannels(body, path, s);
        else if (id == "FERB") {
            ByteCursor r(body, path);
            r.skip(4);
            if (readString(r) == dataName) {
                s.foundReference = true;
                break;
            }
        }
    }
    return s;
}

struct DataBlock {
    uint32_t intended = 0, captured = 0, channelIndex = 0;
    std::string_view samples;
};

DataBlock readDataFile(std::string_view bytes, const std::string& path) {
    if (bytes.substr(0, kMagic.size()) != kMagic) throw InputError(path, "not an Omicron MATRIX file (no ONTMATRX0101 magic)");
    ByteCursor c(bytes, path);
    c.seek(kMagic.size());
    const std::string first(c.bytes(4));
    if (first == "ATEM") throw InputError(path, "this is a MATRIX parameter file (_0001.mtrx); open a data file (*.Z_mtrx, *.I_mtrx) instead");
    if (first != "TLKB") throw InputError(path, "MATRIX data file does not start with a BKLT block");
    c.skip(4 + 8 + 4);  // length, timestamp, padding
    DataBlock d;
    bool haveDesc = false;
    while (c.remaining() >= 8) {
        const std::string id(c.bytes(4));
        const uint32_t len = c.le<uint32_t>();
        if (len > c.remaining())
            c.fail("block '" + toUtf8(id) + "' claims " + std::to_string(len) + " bytes but only " +
                   std::to_string(c.remaining()) + " remain (truncated file?)");
        const std::string_view body = c.bytes(len);
        if (id == "CSED") {
            ByteCursor b(body, path);
            b.skip(4);
            d.channelIndex = b.le<uint32_t>();
            b.skip(12);
            d.intended = b.le<uint32_t>();
            d.captured = b.le<uint32_t>();
            haveDesc = true;
        } else if (id == "ATAD") {
            d.samples = body;
            break;
        }
    }
    if (!haveDesc) throw InputError(path, "MATRIX data file has no DESC block");
    if (d.samples.data() == nullptr) throw InputError(path, "MATRIX data file has no DATA block");
    if (d.captured > d.intended) throw InputError(path, "captured sample count exceeds the intended count");
    // 4 images of 8192 x 8192 is far beyond any MATRIX frame; more is a corrupt count, not a scan.
    if (d.intended > kMaxSamples) throw InputError(path, "absurd intended sample count " + std::to_string(d.intended));
    if (static_cast<size_t>(d.captured) * 4 > d.samples.size())
        throw InputError(path, "header promises " + std::to_string(d.captured) + " samples but the DATA block holds " +
                                   std::to_string(d.samples.size() / 4));
    return d;
}

std::string channelFromExtension(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();  // ".Z_mtrx"
    if (ext.size() > 6 && ext.substr(ext.size() - 5) == "_mtrx") return ext.substr(1, ext.size() - 6);
    return "data";
}

}  // namespace

std::string matrixParameterPath(const std::string& dataPath) {
    const std::filesystem::path p(dataPath);
    const std::string name = p.filename().string();
    const size_t dash = name.rfind("--");
    if (dash == std::string::npos || dash == 0) return "";
    return (p.parent_path() / (name.substr(0, dash) + "_0001.mtrx")).string();
}

int MatrixReader::probe(std::string_view head, const std::string& path) const {
    if (head.substr(0, kMagic.size()) == kMagic) return 2;
    const std::string ext = fileExtension(path);
    return ext.size() > 5 && ext.substr(ext.size() - 5) == "_mtrx" ? 1 : 0;
}

ScanFile MatrixReader::read(const std::string& path, const ReadOptions&) const {
    const std::string data = readFileBytes(path);
    const std::string paramPath = matrixParameterPath(path);
    std::error_code ec;
    if (!paramPath.empty() && std::filesystem::is_regular_file(paramPath, ec)) {
        const std::string params = readFileBytes(paramPath);
        return parse(data, path, std::string_view(params), paramPath);
    }
    return parse(data, path, std::nullopt, paramPath);
}

ScanFile MatrixReader::parse(std::string_view bytes, const std::string& path, std::optional<std::string_view> params,
                             const std::string& paramPath) const {
    const DataBlock d = readDataFile(bytes, path);
    const std::string channel = channelFromExtension(path);
    ScanFile f;
    f.format = name();

    int nx = 0, ny = 0;
    bool xRetrace = true, yRetrace = true;
    std::optional<Session> session;
    if (params) {
        session = readSession(*params, paramPath, std::filesystem::path(path).filename().string());
        if (!session->foundReference)
            f.warnings.push_back("parameter file " + paramPath + " never mentions this data file; using the last parameters in it");
        const auto points = session->number("XYScanner.Points"), lines = session->number("XYScanner.Lines");
        if (!points || !lines || *points < 1 || *lines < 1 || *points > kMaxScanPixelsPerSide || *lines > kMaxScanPixelsPerSide)
            throw InputError(paramPath, "XYScanner.Points / Lines missing or out of range");
        nx = static_cast<int>(*points);
        ny = static_cast<int>(*lines);
        if (auto v = session->number("XYScanner.X_Retrace")) xRetrace = *v != 0;
        if (auto v = session->number("XYScanner.Y_Retrace")) yRetrace = *v != 0;
    } else {
        // Gwyddion's fallback, too: a square grid. 4 n^2 = trace+retrace, up+down; 2 n^2 = up only.
        for (const int images : {4, 2}) {
            const auto n = static_cast<long long>(std::llround(std::sqrt(static_cast<double>(d.intended) / images)));
            if (n > 0 && n <= kMaxScanPixelsPerSide && n * n * images == d.intended) {
                nx = ny = static_cast<int>(n);
                yRetrace = images == 4;
                break;
            }
        }
        if (nx == 0)
            throw InputError(path, "parameter file " + (paramPath.empty() ? std::string("(none: no '--' in the name)") : paramPath) +
                                       " is missing and the sample count " + std::to_string(d.intended) +
                                       " is not a square grid; cannot infer the image size");
        f.warnings.push_back("MATRIX parameter file " + (paramPath.empty() ? std::string("<stem>_0001.mtrx") : paramPath) +
                             " not found: values are raw counts, the pixel size is unknown (give --pixel-size), the " +
                             std::to_string(nx) + " x " + std::to_string(ny) + " grid is inferred from the sample count");
    }
    const int perLine = xRetrace ? 2 : 1;
    const size_t planned = static_cast<size_t>(nx) * ny * perLine * (yRetrace ? 2 : 1);
    if (planned > kMaxSamples)
        throw InputError(paramPath, "absurd grid " + std::to_string(nx) + " x " + std::to_string(ny) + " in the parameter file");
    if (planned != d.intended)
        f.warnings.push_back("grid " + std::to_string(nx) + " x " + std::to_string(ny) + " does not match the " +
                             std::to_string(d.intended) + " samples the data file intended");

    // Counts -> physical units.
    std::string units = "counts";
    std::optional<TransferFunction> tf;
    if (session) {
        auto ch = session->channelOfData.find(d.channelIndex);
        if (ch != session->channelOfData.end()) {
            auto t = session->transfer.find(ch->second);
            if (t != session->transfer.end() && t->second.apply(0.0)) tf = t->second;
        }
        if (!tf) f.warnings.push_back("no usable transfer function for this channel in the parameter file; values are raw counts");
    }
    double scale = 1.0;
    if (tf) {
        units = tf->unit;
        if (units == "m") {
            units = "nm";
            scale = 1e9;
        }
    }

    ScanMetadata meta;
    meta.sourceFormat = name();
    meta.extra["intendedSamples"] = std::to_string(d.intended);
    meta.extra["capturedSamples"] = std::to_string(d.captured);
    PixelSize ps;
    if (session) {
        const auto w = session->number("XYScanner.Width"), h = session->number("XYScanner.Height");
        if (!w || !h || !(*w > 0) || !(*h > 0)) throw InputError(paramPath, "XYScanner.Width / Height missing or not positive");
        ps = PixelSize(*w * 1e9 / nx, *h * 1e9 / ny);
        meta.pixelSizeSource = "file";
        meta.biasV = session->number("GapVoltageControl.Voltage");
        meta.setpointA = session->number("Regulator.Setpoint_1");
        meta.scanAngleDeg = session->number("XYScanner.Angle");
        meta.extra["parameterFile"] = paramPath;
    }

    // images: [up trace, up retrace, down trace, down retrace] (retrace only with X_Retrace).
    const int nImages = perLine * (yRetrace ? 2 : 1);
    std::vector<Image> imgs;
    std::vector<std::vector<uint8_t>> filled(nImages, std::vector<uint8_t>(static_cast<size_t>(nx) * ny, 0));
    for (int k = 0; k < nImages; ++k) {
        Image img(nx, ny);
        img.pixelSize = ps;
        img.meta = meta;
        const bool down = k >= perLine;
        img.meta.channel = down ? channel + "_down" : channel;
        img.meta.direction = (k % perLine == 0) ? "forward" : "backward";
        img.meta.extra["slowScan"] = down ? "down" : "up";
        img.meta.units = units;
        imgs.push_back(std::move(img));
    }
    const size_t n = std::min(static_cast<size_t>(d.captured), planned);
    ByteCursor c(d.samples, path);
    const size_t lineLen = static_cast<size_t>(nx) * perLine;
    for (size_t i = 0; i < n; ++i) {
        const int32_t raw = c.le<int32_t>();
        const size_t line = i / lineLen, pos = i % lineLen;
        const bool down = line >= static_cast<size_t>(ny);
        const int y = down ? static_cast<int>(line - ny) : ny - 1 - static_cast<int>(line);
        const bool retrace = pos >= static_cast<size_t>(nx);
        const int x = retrace ? 2 * nx - 1 - static_cast<int>(pos) : static_cast<int>(pos);
        const int k = (down ? perLine : 0) + (retrace ? 1 : 0);
        double v = raw;
        if (tf) v = *tf->apply(v) * scale;
        imgs[k].at(x, y) = static_cast<float>(v);
        filled[k][static_cast<size_t>(y) * nx + x] = 1;
    }
    size_t missing = 0;
    for (int k = 0; k < nImages; ++k) {
        size_t got = 0;
        for (auto v : filled[k]) got += v;
        if (got == 0) {
            ++missing;
            continue;  // never started (e.g. the down-scan of an interrupted frame)
        }
        if (got < filled[k].size()) {
            double sum = 0;
            for (size_t i = 0; i < filled[k].size(); ++i) sum += filled[k][i] ? imgs[k].data()[i] : 0.0;
            const float fill = static_cast<float>(sum / got);
            for (int y = 0; y < ny; ++y)
                for (int x = 0; x < nx; ++x)
                    if (!filled[k][static_cast<size_t>(y) * nx + x]) {
                        imgs[k].at(x, y) = fill;
                        imgs[k].setValid(x, y, false);
                    }
        }
        f.channels.push_back(std::move(imgs[k]));
    }
    if (d.captured < d.intended)
        f.warnings.push_back("partial scan: " + std::to_string(d.captured) + " of " + std::to_string(d.intended) +
                             " samples recorded; unrecorded pixels are masked invalid" +
                             (missing ? " and " + std::to_string(missing) + " never-started image(s) omitted" : ""));
    if (f.channels.empty()) throw InputError(path, "MATRIX data file holds no samples");
    return f;
}

}  // namespace stmlens
