#pragma once

#include "qiancun/crs.hpp"
#include "qiancun/gcj02.hpp"

#include "qiancun/importer.hpp"

#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

/// Reading one layer of a GDAL vector source as UTF-8 text fields plus a geometry, and the
/// coordinate transformations from its CRS (including GCJ-02/BD-09) to lon/lat and on to
/// the working CRS.

namespace qiancun::importers::detail {

/// The source's offset system, when its coordinates are Chinese web-map coordinates.
using WebOffset = gcj02::WebMap;

/// One feature as read: field texts (UTF-8, "" for NULL) parallel to `GdalSource::fields()`.
struct SourceRecord {
    std::int64_t row = 0; ///< 1-based position in the layer
    std::vector<std::string> fields;
    OGRGeometryUniquePtr geometry;
    std::string read_error; ///< GDAL's failure while reading this feature; "" = none
};

class GdalSource {
public:
    /// Opens `options.source` (layer `options.layer`, or the first one). Throws InputError
    /// naming the file when it cannot be opened or the layer does not exist.
    explicit GdalSource(const ImportOptions &options);
    GdalSource(const GdalSource &) = delete;
    GdalSource &operator=(const GdalSource &) = delete;
    ~GdalSource();

    const std::string &file() const noexcept { return m_file; }
    const std::string &layer_name() const noexcept { return m_layer_name; }
    const std::vector<std::string> &fields() const noexcept { return m_fields; }
    /// The GDAL driver's name ("ESRI Shapefile", "CSV", …).
    std::string driver_name() const;
    /// Every layer of the dataset, in order.
    std::vector<std::string> layer_names() const;
    /// OGR's name of the layer's geometry type ("Point", "Line String", "Unknown (any)").
    std::string geometry_type_name() const;
    /// OGR's name of each field's type ("String", "Integer", "Real", …), parallel to fields().
    std::vector<std::string> field_types() const;
    /// Number of features when cheap to know, else 0.
    std::int64_t feature_count() const;
    /// True when the layer has a geometry column of its own.
    bool has_geometry() const;
    /// The layer's CRS, or null.
    const OGRSpatialReference *layer_srs() const;
    /// True when the source's text is recoded from `options.encoding` by us (not the driver).
    bool recodes() const noexcept { return !m_recode_from.empty(); }

    /// Reads the next feature; false at the end.
    bool next(SourceRecord &record);

    /// A text value read so far that is UTF-8 Chinese although the source was declared GBK,
    /// when no value at all was invalid UTF-8: the declaration is wrong.
    struct MisdeclaredText {
        std::int64_t row = 0;
        std::string field;
        std::string text;
    };
    std::optional<MisdeclaredText> utf8_declared_gbk() const;

private:
    std::string recode(const char *text) const;

    /// A /vsimem/ file, unlinked on destruction (after the dataset reading it is closed).
    struct MemoryFile {
        std::string path;
        MemoryFile() = default;
        MemoryFile(const MemoryFile &) = delete;
        MemoryFile &operator=(const MemoryFile &) = delete;
        MemoryFile(MemoryFile &&) = delete;
        MemoryFile &operator=(MemoryFile &&) = delete;
        ~MemoryFile() {
            if (!path.empty())
                VSIUnlink(path.c_str());
        }
    };

    std::string m_file;
    std::string m_layer_name;
    MemoryFile m_memory_copy; ///< an archived workbook, unpacked
    GDALDatasetUniquePtr m_dataset;
    OGRLayer *m_layer = nullptr;
    std::vector<std::string> m_fields;
    std::string m_recode_from;
    std::int64_t m_row = 0;
    bool m_saw_non_utf8 = false;
    std::optional<MisdeclaredText> m_utf8_example;
    std::vector<std::string> m_config_keys; ///< thread-local GDAL options to reset
};

/// Releases a transformation with OGRCoordinateTransformation::DestroyCT instead of delete.
/// GDAL then keeps it in its process-wide cache (keyed by source CRS, target CRS and
/// options), so the next OGRCreateCoordinateTransformation for the same pair reuses it instead
/// of searching PROJ's database for the candidate operations again, the costly part of an
/// import of a small file. A cached transformation is handed to one caller at a time.
struct TransformDeleter {
    void operator()(OGRCoordinateTransformation *ct) const noexcept {
        OGRCoordinateTransformation::DestroyCT(ct);
    }
};
using TransformPtr = std::unique_ptr<OGRCoordinateTransformation, TransformDeleter>;

/// Source CRS → CGCS2000 lon/lat (EPSG:4490) → working CRS.
class CoordinatePipeline {
public:
    /// `src_crs` as in ImportOptions (empty: use `layer_srs`). Throws InputError naming
    /// `file` when no CRS is known or it cannot be parsed.
    CoordinatePipeline(const std::string &file, const std::string &src_crs,
                       const OGRSpatialReference *layer_srs);

    /// True when the source coordinates are geographic (lon/lat) degrees.
    bool source_is_geographic() const noexcept { return m_geographic; }
    WebOffset offset() const noexcept { return m_offset; }
    std::string source_description() const;
    /// The CRS's name ("CGCS2000 / 3-degree Gauss-Kruger CM 120E"); "" for the web-map offsets.
    std::string source_name() const;

    /// Transforms a source geometry in place to lon/lat (EPSG:4490, lon first). False on
    /// failure.
    bool to_lonlat(OGRGeometry &g) const;
    /// Fixes the working CRS; must be called before `to_working`.
    void set_working(const crs::Definition &working);
    /// Transforms a source geometry in place to the working CRS (directly when PROJ can,
    /// through lon/lat for the web-map offsets). False on failure.
    bool to_working(OGRGeometry &g) const;

private:
    WebOffset m_offset = WebOffset::none;
    bool m_geographic = false;
    OGRSpatialReference m_source;
    OGRSpatialReference m_lonlat;
    OGRSpatialReference m_working;
    TransformPtr m_to_lonlat;
    TransformPtr m_to_working;
};

/// Checks that a Shapefile's parts agree before GDAL reads them: the .shx and .dbf exist, the
/// .shp is as long as its header says, and the .dbf's record count fits its size and matches
/// the .shx. `shp` is a GDAL path (on disk or /vsizip/…). Throws InputError naming `display`
/// and the problem.
void check_shapefile_parts(const std::string &shp, const std::string &display);

/// Registers GDAL drivers once and routes GDAL's messages into qiancun::log.
void ensure_gdal();

/// True when `text` is not UTF-8, or looks like Chinese GBK bytes decoded as Latin-1.
bool looks_mis_decoded(const std::string &text);

} // namespace qiancun::importers::detail
