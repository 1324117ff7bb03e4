#pragma once
// One reader per file format, chosen by content (magic bytes), with the extension only as a tie-breaker.
//
//   class SxmReader : public ScanReader { ... };
//   // registered in ReaderRegistry.cpp: registry().add(std::make_unique<SxmReader>());
//   ScanFile f = readScanFile(path, options);
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/ScanFile.h"

namespace stmlens {

class ScanReader {
public:
    virtual ~ScanReader() = default;
    virtual std::string name() const = 0;              // "nanonis-sxm"
    virtual std::vector<std::string> extensions() const = 0;  // lower case, with dot: {".sxm"}
    // How sure the reader is that it can read this file, from its first bytes (up to 4 KiB) and its path:
    // 0 = not mine, 1 = extension only, 2 = content matches.
    virtual int probe(std::string_view head, const std::string& path) const = 0;
    // Reads every channel. Throws InputError("<path>: <problem>") on anything malformed.
    virtual ScanFile read(const std::string& path, const ReadOptions& options) const = 0;
};

// All readers, in registration order.
const std::vector<std::unique_ptr<ScanReader>>& scanReaders();

// Picks the reader by content and reads the file. Throws InputError for a missing, unreadable,
// unknown or malformed file. Applies options.pixelSize when given (the user's value wins, recorded as "user").
ScanFile readScanFile(const std::string& path, const ReadOptions& options);

// Lower-case extension with dot ("" if none); ".z_mtrx" style multi-part names keep only the last part.
std::string fileExtension(const std::string& path);

}  // namespace stmlens
