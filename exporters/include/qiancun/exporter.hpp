#pragma once

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
    std::string layer;               ///< registry table or view, e.g. "village"
    std::filesystem::path output;    ///< .shp .gpkg .geojson .json .csv
    std::optional<std::string> t_srs; ///< target CRS ("EPSG:4326"); default: working CRS
    std::optional<std::string> where; ///< attribute filter, SQL expression on the layer
};

struct ExportResult {
    std::string driver;                 ///< GDAL driver used
    std::int64_t features = 0;
    std::vector<std::filesystem::path> files; ///< every file written
    std::vector<std::pair<std::string, std::string>> field_names; ///< full → written name
};

/// The DBF name (≤ 10 bytes, unique, case-insensitive) of each of `names`, in order. Fixed rule:
/// names that fit stay; known long names use the table in exporters/src/dbf_names.cpp;
/// others are cut to 10, and clashes get _1, _2 … in place of their last characters.
std::vector<std::string> dbf_field_names(const std::vector<std::string>& names);

/// Writes one layer of the registry at `registry_path` to `options.output` (overwriting it).
ExportResult export_layer(const std::filesystem::path& registry_path,
                          const ExportOptions& options);

} // namespace qiancun::exporters
