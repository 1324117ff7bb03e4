#include "io/PngText.h"

#include <cstring>
#include <fstream>

#include "core/Errors.h"

namespace stmlens {

std::map<std::string, std::string> readPngText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path, "cannot open for reading");
    char sig[8];
    in.read(sig, 8);
    if (in.gcount() != 8 || std::memcmp(sig, "\x89PNG\r\n\x1a\n", 8) != 0) throw InputError(path, "not a PNG file");
    std::map<std::string, std::string> text;
    while (true) {
        unsigned char hdr[8];
        in.read(reinterpret_cast<char*>(hdr), 8);
        if (in.gcount() != 8) break;  // end of file without IEND: OpenCV will judge the pixels
        const uint32_t len = (uint32_t{hdr[0]} << 24) | (uint32_t{hdr[1]} << 16) | (uint32_t{hdr[2]} << 8) | hdr[3];
        const std::string type(reinterpret_cast<char*>(hdr + 4), 4);
        if (len > (1u << 31)) throw InputError(path, "corrupt PNG chunk length");
        if (type == "IEND") break;
        if (type == "tEXt" && len < (1u << 20)) {
            std::string data(len, '\0');
            in.read(data.data(), len);
            if (static_cast<uint32_t>(in.gcount()) != len) throw InputError(path, "truncated PNG text chunk");
            const auto nul = data.find('\0');
            if (nul != std::string::npos) text[data.substr(0, nul)] = data.substr(nul + 1);
            in.seekg(4, std::ios::cur);  // CRC
        } else {
            in.seekg(static_cast<std::streamoff>(len) + 4, std::ios::cur);
        }
        if (!in) break;
    }
    return text;
}

}  // namespace stmlens
