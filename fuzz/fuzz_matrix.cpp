// libFuzzer target: MatrixReader::parse on arbitrary bytes must return or throw InputError, nothing else.
// The first byte chooses the case: odd = data file alone (no parameter file); even = the rest is split at a
// position given by the next two bytes into a data file and a parameter file.
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/Errors.h"
#include "io/MatrixReader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const stmlens::MatrixReader reader;
    if (size < 3) return 0;
    const std::string_view all(reinterpret_cast<const char*>(data) + 3, size - 3);
    try {
        if (data[0] & 1) {
            (void)reader.parse(all, "s--1_1.Z_mtrx", std::nullopt, "s_0001.mtrx");
        } else {
            const size_t split = std::min<size_t>(all.size(), data[1] | (data[2] << 8));
            (void)reader.parse(all.substr(0, split), "s--1_1.Z_mtrx", all.substr(split), "s_0001.mtrx");
        }
    } catch (const stmlens::InputError&) {
    }
    return 0;
}
