// libFuzzer target: CreatecReader::parse on arbitrary bytes must return or throw InputError, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/Errors.h"
#include "io/CreatecReader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const stmlens::CreatecReader reader;
    try {
        (void)reader.parse(std::string_view(reinterpret_cast<const char*>(data), size), "scan.dat");
    } catch (const stmlens::InputError&) {
    }
    return 0;
}
