// libFuzzer target: SxmReader::parse on arbitrary bytes must return or throw InputError, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/Errors.h"
#include "io/SxmReader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const stmlens::SxmReader reader;
    try {
        (void)reader.parse(std::string_view(reinterpret_cast<const char*>(data), size), "scan.sxm");
    } catch (const stmlens::InputError&) {
    }
    return 0;
}
