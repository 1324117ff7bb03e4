// libFuzzer target: GwyReader::parse on arbitrary bytes must return or throw InputError, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/Errors.h"
#include "io/GwyReader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const stmlens::GwyReader reader;
    try {
        (void)reader.parse(std::string_view(reinterpret_cast<const char*>(data), size), "scan.gwy");
    } catch (const stmlens::InputError&) {
    }
    return 0;
}
