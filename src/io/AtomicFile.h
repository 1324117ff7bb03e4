#pragma once
// Writes go to "<path>.tmp-XXXX" first and are renamed into place only when complete,
// so an error never leaves a partial output file behind.
#include <functional>
#include <string>

namespace stmlens {

// Calls write(tmpPath); on success renames tmpPath to path; on any exception removes tmpPath and rethrows.
void writeAtomically(const std::string& path, const std::function<void(const std::string& tmpPath)>& write);

}  // namespace stmlens
