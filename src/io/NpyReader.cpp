#include "io/NpyReader.h"

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include "core/Errors.h"
#include "io/AtomicFile.h"

namespace stmlens {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMaxHeader = 1 << 20;
constexpr size_t kMaxDim = 1 << 20;  // 1M pixels per side

template <typename T>
T loadValue(const char* p, bool swap) {
    unsigned char b[sizeof(T)];
    std::memcpy(b, p, sizeof(T));
    if (swap)
        for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
    T v;
    std::memcpy(&v, b, sizeof(T));
    return v;
}

}  // namespace

int NpyReader::probe(std::string_view head, const std::string& path) const {
    if (head.size() >= 6 && head.substr(0, 6) == std::string_view(kMagic, 6)) return 2;
    return fileExtension(path) == ".npy" ? 1 : 0;
}

NpyArray readNpy(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path, "cannot open for reading");
    char pre[10];
    in.read(pre, 10);
    if (in.gcount() < 10 || std::memcmp(pre, kMagic, 6) != 0) throw InputError(path, "not a NumPy .npy file (bad magic)");
    const int major = static_cast<unsigned char>(pre[6]);
    size_t headerLen = 0, dataStart = 0;
    if (major == 1) {
        headerLen = static_cast<unsigned char>(pre[8]) | (static_cast<unsigned char>(pre[9]) << 8);
        dataStart = 10;
    } else if (major == 2 || major == 3) {
        char extra[2];
        in.read(extra, 2);
        if (in.gcount() < 2) throw InputError(path, "truncated .npy header");
        headerLen = static_cast<uint32_t>(static_cast<unsigned char>(pre[8])) |
                    (static_cast<uint32_t>(static_cast<unsigned char>(pre[9])) << 8) |
                    (static_cast<uint32_t>(static_cast<unsigned char>(extra[0])) << 16) |
                    (static_cast<uint32_t>(static_cast<unsigned char>(extra[1])) << 24);
        dataStart = 12;
    } else {
        throw InputError(path, ".npy format version " + std::to_string(major) + " is not supported");
    }
    if (headerLen == 0 || headerLen > kMaxHeader) throw InputError(path, "implausible .npy header length");
    std::string header(headerLen, '\0');
    in.read(header.data(), static_cast<std::streamsize>(headerLen));
    if (static_cast<size_t>(in.gcount()) != headerLen) throw InputError(path, "truncated .npy header");
    dataStart += headerLen;

    NpyArray a;
    std::smatch m;
    if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([<>|=])([a-zA-Z])(\d+)')")))
        throw InputError(path, ".npy header has no readable 'descr' (dtype)");
    const char order = m[1].str()[0];
    const char kind = m[2].str()[0];
    const int bytes = std::stoi(m[3].str());
    a.dtype = m[1].str() + m[2].str() + m[3].str();
    const bool fortran = std::regex_search(header, std::regex(R"('fortran_order'\s*:\s*True)"));
    if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
        throw InputError(path, ".npy header has no readable 'shape'");
    const std::string dims = m[1].str();
    const std::regex number(R"(\d+)");
    for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
        const std::string d = it->str();
        if (d.size() > 9) throw InputError(path, "absurd array dimension " + d);
        a.shape.push_back(std::stoul(d));
    }
    // Squeeze leading/trailing singleton axes so (1, H, W) and (H, W, 1) still read as images.
    while (a.shape.size() > 2 && a.shape.front() == 1) a.shape.erase(a.shape.begin());
    while (a.shape.size() > 2 && a.shape.back() == 1) a.shape.pop_back();
    if (a.shape.size() != 2)
        throw InputError(path, "expected a 2-D array, found " + std::to_string(a.shape.size()) + "-D (shape '" + dims + "')");
    const size_t h = a.shape[0], w = a.shape[1];
    if (h == 0 || w == 0) throw InputError(path, "array has zero size (shape '" + dims + "')");
    if (h > kMaxDim || w > kMaxDim || h * w > (size_t{1} << 32))
        throw InputError(path, "absurd array size " + std::to_string(h) + " x " + std::to_string(w));

    const bool swap = (order == '>' && std::endian::native == std::endian::little) ||
                      (order == '<' && std::endian::native == std::endian::big);
    using Conv = float (*)(const char*, bool);
    Conv conv = nullptr;
    const std::string key = std::string(1, kind) + std::to_string(bytes);
    if (key == "f4") conv = [](const char* p, bool s) { return loadValue<float>(p, s); };
    else if (key == "f8") conv = [](const char* p, bool s) { return static_cast<float>(loadValue<double>(p, s)); };
    else if (key == "i2") conv = [](const char* p, bool s) { return static_cast<float>(loadValue<int16_t>(p, s)); };
    else if (key == "u2") conv = [](const char* p, bool s) { return static_cast<float>(loadValue<uint16_t>(p, s)); };
    else if (key == "i4") conv = [](const char* p, bool s) { return static_cast<float>(loadValue<int32_t>(p, s)); };
    else if (key == "u4") conv = [](const char* p, bool s) { return static_cast<float>(loadValue<uint32_t>(p, s)); };
    else if (key == "i8") conv = [](const char* p, bool s) { return static_cast<float>(loadValue<int64_t>(p, s)); };
    else if (key == "u1") conv = [](const char* p, bool) { return static_cast<float>(static_cast<uint8_t>(*p)); };
    else if (key == "i1") conv = [](const char* p, bool) { return static_cast<float>(static_cast<int8_t>(*p)); };
    else if (key == "b1") conv = [](const char* p, bool) { return *p ? 1.0f : 0.0f; };
    else throw InputError(path, "unsupported .npy dtype '" + a.dtype + "'");

    const size_t nbytes = h * w * static_cast<size_t>(bytes);
    std::error_code ec;
    const auto fileSize = std::filesystem::file_size(path, ec);
    if (ec || fileSize < dataStart + nbytes)
        throw InputError(path, "truncated .npy data: header promises " + std::to_string(nbytes) + " bytes, file holds " +
                                   std::to_string(ec ? 0 : fileSize - std::min<uintmax_t>(fileSize, dataStart)));
    std::vector<char> raw(nbytes);
    in.seekg(static_cast<std::streamoff>(dataStart));
    in.read(raw.data(), static_cast<std::streamsize>(nbytes));
    if (static_cast<size_t>(in.gcount()) != nbytes) throw InputError(path, "truncated .npy data");
    a.values.resize(h * w);
    for (size_t i = 0; i < h * w; ++i) {
        // Fortran order stores column after column: element (r, c) sits at c*h + r.
        const size_t src = fortran ? (i % w) * h + (i / w) : i;
        a.values[i] = conv(raw.data() + src * bytes, swap);
    }
    return a;
}

ScanFile NpyReader::read(const std::string& path, const ReadOptions&) const {
    NpyArray a = readNpy(path);
    Image img(static_cast<int>(a.shape[1]), static_cast<int>(a.shape[0]));
    img.pixels() = std::move(a.values);
    img.meta.sourceFormat = "npy";
    img.meta.channel = "data";
    img.meta.extra["dtype"] = a.dtype;
    ScanFile f;
    f.channels.push_back(std::move(img));
    return f;
}

namespace {
void writeNpyRaw(const std::string& path, const char* descr, const void* data, size_t bytes, int width, int height) {
    if (width <= 0 || height <= 0) throw InputError(path, "cannot write an empty array");
    writeAtomically(path, [&](const std::string& tmp) {
        std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" +
                           std::to_string(height) + ", " + std::to_string(width) + "), }";
        // Pad so that magic + version + length + dict + '\n' is a multiple of 64 (NumPy's alignment).
        const size_t total = 10 + dict.size() + 1;
        dict.append((64 - total % 64) % 64, ' ');
        dict.push_back('\n');
        std::ofstream out(tmp, std::ios::binary);
        if (!out) throw InputError(path, "cannot open for writing");
        out.write(kMagic, 6);
        const char ver[2] = {1, 0};
        out.write(ver, 2);
        const uint16_t len = static_cast<uint16_t>(dict.size());
        const char lenBytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
        out.write(lenBytes, 2);
        out.write(dict.data(), static_cast<std::streamsize>(dict.size()));
        out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
        if (!out) throw InputError(path, "write failed (disk full?)");
    });
}
}  // namespace

void writeNpy(const std::string& path, const float* data, int width, int height) {
    static_assert(std::endian::native == std::endian::little, "writer assumes little-endian host");
    writeNpyRaw(path, "<f4", data, sizeof(float) * static_cast<size_t>(width) * height, width, height);
}

void writeNpyU8(const std::string& path, const uint8_t* data, int width, int height) {
    writeNpyRaw(path, "|u1", data, static_cast<size_t>(width) * height, width, height);
}

}  // namespace stmlens
