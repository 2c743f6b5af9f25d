#pragma once

#include "qiancun/location.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

/// Registry → files for QGIS: ESRI Shapefile (.prj, .cpg, DBF field names mapped by a fixed
/// rule with a sidecar), GeoPackage, GeoJSON and CSV, chosen by the output's extension.

namespace qiancun::exporters {

struct ExportOptions {
    std::string layer;            ///< registry table or view, e.g. "village"
    std::filesystem::path output; ///< .shp .gpkg .geojson .json .csv
    /// Target CRS ("EPSG:4326", any CRS GDAL reads); "GCJ02" or "BD09" for the Chinese web-map
    /// offsets: lon/lat moved by the exact forward formulas (gcj02.hpp), written with the CRS
    /// of EPSG:4326 and a note. Default: the working CRS.
    std::optional<std::string> t_srs;
    /// Attribute filter, an OGR SQL expression on the layer's fields. A string compared with a
    /// coded attribute (`status = '运行'`, `grade IN ('县道')`) may be spelled as import takes
    /// it; a value that is not one of the attribute's is a UsageError listing them.
    std::optional<std::string> where = {};
    /// Only features of these villages (by code): on their `village_code` field, else their
    /// `code` field (villages and per-village layers), else those whose geometry intersects
    /// one of these villages (roads).
    std::optional<std::vector<std::string>> village_codes = {};
    /// GeoPackage only: add the layer to an existing file (replacing a layer of the same name)
    /// instead of overwriting the file.
    bool append = false;
    /// Ship a QGIS style for the layers that have one (registry kinds, `village_metrics`,
    /// `gaps_*` …; see qml.hpp `layer_styles`): the default one as `<stem>.qml` beside each
    /// file written (in append mode `<stem><style_suffix>.qml`; none beside a CSV), and for a
    /// GeoPackage every named one in its `layer_styles` table, the default marked.
    bool style = true;
    /// Append mode: what follows the file's stem in the name of the layer's `.qml`, the suffix
    /// its own file would have in a one-layer format (`_settlements`: `gaps.gpkg` gets
    /// `gaps_settlements.qml`, as `gaps.shp` gets `gaps_settlements.shp`); empty: `_<layer>`.
    std::string style_suffix = {};
};

/// One layer file written: `villages.shp`, or `halls_point.shp` and `halls_polygon.shp` when a
/// layer mixing points and polygons is split for the Shapefile format.
struct ExportedFile {
    std::filesystem::path path;                  ///< the main file (.shp .gpkg .geojson .csv)
    std::int64_t features = 0;                   ///< features written to it
    std::vector<std::filesystem::path> sidecars; ///< files written with it (.shx … .fields.csv)
};

struct ExportResult {
    std::string driver;                       ///< GDAL driver used
    std::int64_t features = 0;                ///< features written, over all files
    std::vector<std::filesystem::path> files; ///< every file written
    std::vector<std::pair<std::string, std::string>> field_names; ///< full → written name
    std::vector<ExportedFile> outputs; ///< per layer file, in `files` order
    std::vector<std::string> notes;    ///< things the reader of the files must know
};

/// The DBF name (≤ 10 bytes, unique, case-insensitive) of each of `names`, in order. Fixed rule:
/// names that fit stay; known long names use the table in exporters/src/dbf_names.cpp;
/// others are cut to 10, and clashes get _1, _2 … in place of their last characters.
std::vector<std::string> dbf_field_names(const std::vector<std::string> &names);

/// Writes one layer of the registry at `registry` (a file, or a PostgreSQL schema read through
/// Registry::gdal_name) to `options.output` (overwriting it and,
/// for a Shapefile, its sidecars and any `<stem>_point|_line|_polygon` set of an earlier
/// export). The format follows the extension; coordinates stay in the working CRS unless
/// `t_srs` is given (GeoJSON then carries a `crs` member naming it). A Shapefile holds one
/// geometry family, so a layer mixing them is written as `<stem>_point.shp`,
/// `<stem>_line.shp`, `<stem>_polygon.shp`; field names follow `dbf_field_names` and
/// `<stem>.fields.csv` (header `field,dbf_field`) lists them. CSV carries the geometry as a
/// WKT column. The metric layers get a QGIS style (see `ExportOptions::style`). Throws UsageError
/// for an unknown extension, layer or CRS and a bad `where`, DatabaseError when the registry cannot
/// be read, Error when a file cannot be written.
ExportResult export_layer(const Location &registry, const ExportOptions &options);

/// RFC 4180 quoting of one CSV cell (quoted only when it holds a comma, quote or newline).
std::string csv_cell(const std::string &s);

} // namespace qiancun::exporters
