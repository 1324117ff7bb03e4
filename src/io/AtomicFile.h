#pragma once
// Writes go to "<path>.tmp-XXXX" first and are renamed into place only when complete,
// so an error never leaves a partial output file behind.
#include <functional>
#include <string>
#include <string_view>

namespace stmlens {

// Calls write(tmpPath); on success renames tmpPath to path; on any exception removes tmpPath and rethrows.
void writeAtomically(const std::string& path, const std::function<void(const std::string& tmpPath)>& write);

// The same for bytes already in memory (an encoded PNG, a page of HTML). Throws InputError when they cannot be
// written; `what` names the content in the message ("cannot write the report").
void writeBytesAtomically(const std::string& path, std::string_view bytes, const std::string& what);

}  // namespace stmlens
