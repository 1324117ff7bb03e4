#include "io/Sm4Reader.h"

#include <cmath>

#include "core/Errors.h"
#include "io/ByteCursor.h"
#include "io/HeaderText.h"
#include "io/ScanOrientation.h"

namespace stmlens {

namespace {

const std::string kSignature("S\0T\0i\0M\0a\0g\0e\0 \0", 16);  // UTF-16LE "STiMage "
constexpr uint32_t kMaxObjects = 1 << 16;

enum ObjectType : uint32_t { PageIndexHeader = 1, PageIndexArray = 2, PageHeader = 3, PageData = 4, StringData = 10 };

struct Object {
    uint32_t type = 0, offset = 0, size = 0;
};

std::vector<Object> readObjects(ByteCursor& c, uint32_t count) {
    if (count > kMaxObjects || static_cast<size_t>(count) * 12 > c.remaining()) c.fail("object list of " + std::to_string(count) + " entries runs past the end of the file");
    std::vector<Object> objs(count);
    for (auto& o : objs) {
        o.type = c.le<uint32_t>();
        o.offset = c.le<uint32_t>();
        o.size = c.le<uint32_t>();
        if (static_cast<size_t>(o.offset) + o.size > c.size())
            c.fail("object of type " + std::to_string(o.type) + " at " + std::to_string(o.offset) + " (" + std::to_string(o.size) + " bytes) lies beyond the end of the file");
    }
    return objs;
}

const Object* find(const std::vector<Object>& objs, uint32_t type) {
    for (const auto& o : objs)
        if (o.type == type && o.size > 0) return &o;
    return nullptr;
}

std::string utf16(std::string_view raw) {
    std::string out;
    for (size_t i = 0; i + 1 < raw.size(); i += 2) {
        const unsigned v = static_cast<unsigned char>(raw[i]) | (static_cast<unsigned char>(raw[i + 1]) << 8);
        if (v == 0) continue;
        if (v < 0x80) out += static_cast<char>(v);
        else if (v < 0x800) {
            out += static_cast<char>(0xC0 | (v >> 6));
            out += static_cast<char>(0x80 | (v & 0x3F));
        } else if (v < 0xD800 || v > 0xDFFF) {
            out += static_cast<char>(0xE0 | (v >> 12));
            out += static_cast<char>(0x80 | ((v >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (v & 0x3F));
        } else {
            out += '?';  // surrogate halves: not in any real label
        }
    }
    return toUtf8(out);
}

struct Page {
    uint32_t dataType = 0;
    std::vector<std::string> strings;  // label, system, session, user, path, date, time, x/y/z units, ...
    uint32_t pageType = 0, xSize = 0, ySize = 0, scanDir = 0;
    float xScale = 0, yScale = 0, zScale = 0, zOffset = 0, bias = 0, current = 0, angle = 0;
    Object data;
};

}  // namespace

int Sm4Reader::probe(std::string_view head, const std::string& path) const {
    if (head.size() >= 2 + kSignature.size() && head.substr(2, kSignature.size()) == kSignature) return 2;
    return fileExtension(path) == ".sm4" ? 1 : 0;
}

ScanFile Sm4Reader::read(const std::string& path, const ReadOptions&) const { return parse(readFileBytes(path), path); }

ScanFile Sm4Reader::parse(std::string_view bytes, const std::string& path) const {
    ByteCursor c(bytes, path);
    const uint16_t headerSize = c.le<uint16_t>();
    if (bytes.size() < 2 + kSignature.size() || bytes.substr(2, kSignature.size()) != kSignature)
        throw InputError(path, "not an RHK .sm4 file (no STiMage signature)");
    if (headerSize < 56) throw InputError(path, "RHK file header of " + std::to_string(headerSize) + " bytes is too short");
    c.skip(36);
    const uint32_t pageCount = c.le<uint32_t>();
    const uint32_t objectCount = c.le<uint32_t>();
    c.seek(2 + static_cast<size_t>(headerSize));
    const auto fileObjects = readObjects(c, objectCount);
    const Object* pih = find(fileObjects, PageIndexHeader);
    if (!pih) throw InputError(path, "RHK file has no page index header");
    ByteCursor h(bytes, path);
    h.seek(pih->offset);
    const uint32_t pages = h.le<uint32_t>();
    const uint32_t pihObjects = h.le<uint32_t>();
    h.skip(8);
    if (pages != pageCount) throw InputError(path, "page counts disagree (" + std::to_string(pageCount) + " vs " + std::to_string(pages) + ")");
    const auto indexObjects = readObjects(h, pihObjects);
    const Object* array = find(indexObjects, PageIndexArray);
    if (!array) throw InputError(path, "RHK file has no page index array");
    ByteCursor a(bytes, path);  // the array's size covers the fixed entries only; their object lists follow
    a.seek(array->offset);
    if (pages > kMaxObjects) throw InputError(path, "absurd page count " + std::to_string(pages));

    ScanFile f;
    f.format = name();
    size_t skipped = 0;
    for (uint32_t p = 0; p < pages; ++p) {
        Page page;
        a.skip(16);  // page id
        page.dataType = a.le<uint32_t>();
        a.skip(4);  // source
        const uint32_t nObj = a.le<uint32_t>();
        a.skip(4);  // minor version
        const auto objs = readObjects(a, nObj);
        if (page.dataType != 0) {  // 0 = image; lines, spectra, annotations are not images
            ++skipped;
            continue;
        }
        const Object* ph = find(objs, PageHeader);
        const Object* pd = find(objs, PageData);
        if (!ph || !pd) throw InputError(path, "image page " + std::to_string(p) + " lacks its header or data");
        ByteCursor r(bytes.substr(0, static_cast<size_t>(ph->offset) + ph->size), path);
        r.seek(ph->offset);
        r.skip(2);
        const uint16_t stringCount = r.le<uint16_t>();
        page.pageType = r.le<uint32_t>();
        r.skip(12);  // sub source, line type, x coord
        r.skip(4);   // y coord
        page.xSize = r.le<uint32_t>();
        page.ySize = r.le<uint32_t>();
        r.skip(4);  // image type
        page.scanDir = r.le<uint32_t>();
        r.skip(16);  // group id, data size, min, max
        page.xScale = r.le<float>();
        page.yScale = r.le<float>();
        page.zScale = r.le<float>();
        r.skip(4);  // xy scale
        r.skip(8);  // x, y offset
        page.zOffset = r.le<float>();
        r.skip(4);  // period
        page.bias = r.le<float>();
        page.current = r.le<float>();
        page.angle = r.le<float>();
        if (page.xSize < 1 || page.ySize < 1 || page.xSize > kMaxScanPixelsPerSide || page.ySize > kMaxScanPixelsPerSide)
            throw InputError(path, "image page " + std::to_string(p) + " has absurd size " + std::to_string(page.xSize) + " x " + std::to_string(page.ySize));
        if (static_cast<size_t>(pd->size) != static_cast<size_t>(page.xSize) * page.ySize * 4)
            throw InputError(path, "image page " + std::to_string(p) + ": data holds " + std::to_string(pd->size) + " bytes, not " +
                                       std::to_string(page.xSize) + " x " + std::to_string(page.ySize) + " int32");
        if (!std::isfinite(page.xScale) || !std::isfinite(page.yScale) || page.xScale == 0 || page.yScale == 0)
            throw InputError(path, "image page " + std::to_string(p) + " has a zero or invalid x/y scale");
        if (!std::isfinite(page.zScale) || !std::isfinite(page.zOffset))
            throw InputError(path, "image page " + std::to_string(p) + " has an invalid z scale");
        // The header's own object list (strings, drift, ...) follows its 116 fixed bytes and 64 reserved ones.
        r.skip(12);  // colour info count, grid x, grid y
        const uint32_t headerObjects = r.le<uint32_t>();
        ByteCursor hl(bytes, path);
        hl.seek(static_cast<size_t>(ph->offset) + 180);
        const auto pageObjects = readObjects(hl, headerObjects);
        if (const Object* sd = find(pageObjects, StringData)) {
            ByteCursor s(bytes.substr(0, static_cast<size_t>(sd->offset) + sd->size), path);
            s.seek(sd->offset);
            for (uint16_t k = 0; k < stringCount && k < 32; ++k) {
                const uint16_t len = s.le<uint16_t>();
                page.strings.push_back(utf16(s.bytes(static_cast<size_t>(len) * 2)));
            }
        }
        page.strings.resize(std::max<size_t>(page.strings.size(), 10));

        Image img(static_cast<int>(page.xSize), static_cast<int>(page.ySize));
        const std::string& xUnit = page.strings[7];
        const bool metresXY = xUnit == "m";
        if (metresXY) {
            img.pixelSize = PixelSize(std::abs(page.xScale) * 1e9, std::abs(page.yScale) * 1e9);
            img.meta.pixelSizeSource = "file";
        } else {
            f.warnings.push_back("page " + std::to_string(p) + ": lateral unit '" + xUnit + "' is not metres; pixel size unknown");
        }
        const bool metresZ = page.strings[9] == "m";
        img.meta.units = metresZ ? "nm" : page.strings[9];
        const double zs = metresZ ? 1e9 : 1.0;
        ByteCursor d(bytes, path);
        d.seek(pd->offset);
        for (size_t i = 0; i < img.size(); ++i) img.data()[i] = static_cast<float>((d.le<int32_t>() * double(page.zScale) + page.zOffset) * zs);
        mirrorColumns(img);
        img.meta.sourceFormat = name();
        const std::string label(trimText(page.strings[0]));
        img.meta.channel = label.empty() ? "page " + std::to_string(p) : label;
        img.meta.direction = page.scanDir == 0 ? "forward" : page.scanDir == 1 ? "backward" : "";
        if (std::isfinite(page.bias)) img.meta.biasV = page.bias;
        if (std::isfinite(page.current)) img.meta.setpointA = page.current;
        if (std::isfinite(page.angle)) img.meta.scanAngleDeg = page.angle;
        static const char* kDirs[] = {"right", "left", "up", "down"};
        if (page.scanDir < 4) img.meta.extra["scanDirection"] = kDirs[page.scanDir];
        img.meta.extra["pageType"] = std::to_string(page.pageType);
        img.meta.extra["page"] = std::to_string(p);
        if (page.strings.size() > 6 && !page.strings[5].empty()) img.meta.extra["date"] = page.strings[5] + " " + page.strings[6];
        if (!page.strings[2].empty()) img.meta.extra["session"] = page.strings[2];
        img.maskNonFinite();
        f.channels.push_back(std::move(img));
    }
    if (f.channels.empty())
        throw InputError(path, "RHK file holds no image pages (" + std::to_string(skipped) + " line/spectroscopy page(s) only)");
    return f;
}

}  // namespace stmlens
