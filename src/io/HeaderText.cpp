#include "io/HeaderText.h"

#include <charconv>
#include <cmath>
#include <cctype>
#include <cstdlib>

#include "core/Errors.h"

namespace stmlens {

std::string_view trimText(std::string_view s) {
    const char* ws = " \t\r\n\v\f";
    const size_t b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    const size_t e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

bool isValidUtf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t n;
        if (c < 0x80) n = 0;
        else if ((c >> 5) == 0x6) n = 1;
        else if ((c >> 4) == 0xE) n = 2;
        else if ((c >> 3) == 0x1E) n = 3;
        else return false;
        if (n > s.size() - i - 1) return false;
        for (size_t k = 1; k <= n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
        i += n + 1;
    }
    return true;
}

std::string toUtf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    const bool utf8 = isValidUtf8(s);
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 && c != '\t') continue;  // NUL padding, stray control bytes
        if (c == 0x7F) continue;
        if (utf8 || c < 0x80) {
            out += ch;
        } else {
            out += static_cast<char>(0xC0 | (c >> 6));
            out += static_cast<char>(0x80 | (c & 0x3F));
        }
    }
    return out;
}

std::vector<std::string> splitFields(std::string_view s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        size_t j = i;
        while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
        if (j > i) out.emplace_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

double parseNumber(std::string_view text, const std::string& path, const std::string& what) {
    const std::string t(trimText(text));
    if (t.empty()) throw InputError(path, what + ": missing number");
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (end != t.c_str() + t.size() || !std::isfinite(v))
        throw InputError(path, what + ": '" + toUtf8(t.substr(0, 40)) + "' is not a finite number");
    return v;
}

long long parseInteger(std::string_view text, const std::string& path, const std::string& what, long long lo,
                       long long hi) {
    const double v = parseNumber(text, path, what);
    if (v != std::floor(v)) throw InputError(path, what + ": " + std::string(trimText(text)) + " is not an integer");
    if (v < static_cast<double>(lo) || v > static_cast<double>(hi))
        throw InputError(path, what + ": " + std::string(trimText(text)) + " is outside [" + std::to_string(lo) +
                                   ", " + std::to_string(hi) + "]");
    return static_cast<long long>(v);
}

}  // namespace stmlens
