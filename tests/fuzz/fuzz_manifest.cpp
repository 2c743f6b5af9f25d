#include "qiancun/error.hpp"
#include "qiancun/importer.hpp"

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

/// libFuzzer target: the county manifest parser (read_manifest) on arbitrary TOML text.
/// A qiancun::Error is an accepted answer; anything else is a bug.

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    static const std::filesystem::path path =
        std::filesystem::temp_directory_path() /
        ("qiancun-fuzz-manifest-" + std::to_string(::getpid()) + ".toml");
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
    }
    try {
        (void)qiancun::importers::read_manifest(path);
    } catch (const qiancun::Error &) {
    }
    return 0;
}
