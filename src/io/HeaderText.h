#pragma once
// Small helpers for the text parts of vendor headers: strict number parsing (a malformed number is an
// InputError naming the file and the field, never a silent 0) and text sanitising (vendor strings are
// often Latin-1; we keep valid UTF-8 and convert anything else from Latin-1).
#include <string>
#include <string_view>
#include <vector>

namespace stmlens {

std::string_view trimText(std::string_view s);
// Valid UTF-8 is returned unchanged (control characters other than tab dropped); otherwise the bytes are
// taken as Latin-1 and converted.
std::string toUtf8(std::string_view s);
bool isValidUtf8(std::string_view s);
// Whitespace-separated fields.
std::vector<std::string> splitFields(std::string_view s);
// Parses a whole (trimmed) field as a finite number; throws InputError(path, "<what>: ...") otherwise.
double parseNumber(std::string_view text, const std::string& path, const std::string& what);
// Same for an integer in [lo, hi].
long long parseInteger(std::string_view text, const std::string& path, const std::string& what, long long lo,
                       long long hi);
// Largest pixel count per side any reader accepts: far beyond any real scan, small enough to stay safe.
constexpr long long kMaxScanPixelsPerSide = 1 << 16;

}  // namespace stmlens
