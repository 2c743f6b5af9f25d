#pragma once

#include "qiancun/asset_types.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

/// What is in a delivery before importing it: per layer its driver, geometry, features, CRS,
/// extent in lon/lat, encoding and fields with sample values, hints about web-map offsets and
/// swapped coordinates, and — for a kind — the field mapping an import would use.

namespace qiancun::importers {

struct InspectOptions {
    std::filesystem::path source; ///< file, or zip (every vector file inside unless `layer`)
    std::string layer;            ///< "" = every layer; in a zip, the file (`villages.shp`)
    std::string kind;             ///< "" = no mapping; else the kind to map onto
    std::string encoding;         ///< as ImportOptions::encoding; "" = detect
    std::string src_crs;          ///< as ImportOptions::src_crs
    std::string x_field;          ///< as ImportOptions::x_field / y_field
    std::string y_field;
    std::size_t samples = 3; ///< distinct non-empty sample values per field
};

struct FieldInspection {
    std::string name; ///< as qiancun reads it (decoded with the detected encoding)
    /// The name as a reader that assumes no encoding shows it (Latin-1 mojibake), when the
    /// detected encoding differs from the declared one; else "".
    std::string name_as_read;
    std::string type; ///< GDAL's field type: String, Integer, Real, Date, …
    std::vector<std::string> samples;
};

struct AttributeMapping {
    std::string attribute;
    std::string field;      ///< source field, "" = none
    std::string matched_by; ///< "option" (--field), "name", "label", or "" when unmatched
};

/// The mapping an import as `kind` would use, what is missing, and how to say it.
struct MappingInspection {
    std::string kind;
    std::vector<AttributeMapping> attributes; ///< every attribute of the kind, in order
    std::vector<std::string> missing;         ///< attributes without a field
    std::vector<std::string> unused_fields;   ///< source fields no attribute reads
    /// What the import still needs ("--src-crs: the source has no CRS", …); empty = ready.
    std::vector<std::string> needs;
    std::vector<std::string> options; ///< ready command-line options, e.g. "--field id=编号"
    std::string manifest_block;       ///< a `[[source]]` block to paste into a manifest
};

struct LayerInspection {
    std::string file;  ///< what was read ("delivery.zip/water/plants.shp")
    std::string layer; ///< layer name
    std::string driver;
    std::string geometry_type;    ///< OGR's name ("Point", "Line String", …); "None" for a table
    std::string x_field, y_field; ///< coordinate columns of a table ("" when none found)
    std::int64_t feature_count = 0; ///< features read
    std::string crs;                ///< "EPSG:4549" (or the CRS's name); "" = none
    std::string crs_name;           ///< the CRS's name; ""
    /// west, south, east, north in lon/lat (CGCS2000; GCJ-02/BD-09 when --src-crs says so);
    /// none when there is no CRS or no geometry.
    std::optional<std::array<double, 4>> extent_lonlat;
    /// minx, miny, maxx, maxy of the coordinates as read, in the source's own units.
    std::optional<std::array<double, 4>> extent_raw;
    std::string encoding;           ///< "UTF-8", "GBK" or "ASCII" (text is plain ASCII)
    bool encoding_declared = true;  ///< false: detected, an import needs --encoding
    std::vector<std::string> hints; ///< heuristics (web-map offsets, swapped lon/lat, …)
    std::vector<FieldInspection> fields;
    std::optional<MappingInspection> mapping;
};

struct Inspection {
    std::string source;                     ///< as given
    std::vector<std::string> archive_files; ///< vector files inside a zip (inner paths)
    std::vector<LayerInspection> layers;
};

/// Inspects a source without importing it. `kinds` are the kinds `options.kind` may name.
/// Throws InputError (naming the file) when it cannot be read, UsageError for an unknown kind.
Inspection inspect(const InspectOptions &options, const std::vector<KindDef> &kinds);

} // namespace qiancun::importers
