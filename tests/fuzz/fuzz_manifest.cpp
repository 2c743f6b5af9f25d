#include "qiancun/error.hpp"
#include "qiancun/importer.hpp"
#include "scratch_path.hpp"

#include <cstddef>
#include <cstdint>
#include <fstream>

/// libFuzzer target: the county manifest parser (read_manifest) on arbitrary TOML text.
/// A qiancun::Error is an accepted answer; anything else is a bug.

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    static const ScratchPath file("qiancun-fuzz-manifest", ".toml");
    {
        std::ofstream out(file.path(), std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
    }
    try {
        (void)qiancun::importers::read_manifest(file.path());
    } catch (const qiancun::Error &) {
    }
    return 0;
}
