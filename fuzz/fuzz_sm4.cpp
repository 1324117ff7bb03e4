// libFuzzer target: Sm4Reader::parse on arbitrary bytes must return or throw InputError, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/Errors.h"
#include "io/Sm4Reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const stmlens::Sm4Reader reader;
    try {
        (void)reader.parse(std::string_view(reinterpret_cast<const char*>(data), size), "scan.sm4");
    } catch (const stmlens::InputError&) {
    }
    return 0;
}
