#include "qiancun/error.hpp"
#include "qiancun/importer.hpp"
#include "qiancun/registry.hpp"
#include "scratch_path.hpp"

#include <cpl_vsi.h>

#include <cstddef>
#include <cstdint>
#include <string>

/// libFuzzer target: the importer's read-and-check entry point (prepare_import) on one
/// in-memory file (GDAL /vsimem/) of the format QIANCUN_FUZZ_EXT, against a registry in the
/// working CRS EPSG:4549. A qiancun::Error is an accepted answer; anything else is a bug.

#ifndef QIANCUN_FUZZ_EXT
#error "define QIANCUN_FUZZ_EXT (csv, geojson, kml)"
#endif

namespace {

qiancun::Registry &registry() {
    // Constructed first, so destroyed after the registry that holds the file open.
    static const ScratchPath file("qiancun-fuzz", ".sqlite");
    static qiancun::Registry reg = qiancun::Registry::create(file.path(), 4549);
    return reg;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    auto &reg = registry();
    const std::string path = std::string("/vsimem/fuzz.") + QIANCUN_FUZZ_EXT;
    VSILFILE *f = VSIFileFromMemBuffer(path.c_str(), const_cast<GByte *>(data),
                                       static_cast<vsi_l_offset>(size), FALSE);
    VSIFCloseL(f);
    qiancun::importers::ImportOptions o;
    o.source = path;
    // CSV: point assets from lon/lat columns; GeoJSON: villages (polygons, the seat checks);
    // KML: courier stations (points with a default status).
    const std::string ext = QIANCUN_FUZZ_EXT;
    o.kind = ext == "csv" ? "sewage_plant" : ext == "geojson" ? "village" : "courier_station";
    if (ext == "csv")
        o.src_crs = "EPSG:4326";
    if (ext == "kml")
        o.defaults = {{"status", "operating"}};
    try {
        (void)qiancun::importers::prepare_import(reg, o);
    } catch (const qiancun::Error &) {
    }
    VSIUnlink(path.c_str());
    return 0;
}
