#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// QGIS styles kept in the registry itself, in the `layer_styles` table that QGIS's SpatiaLite
/// and OGR providers read a layer's default style from when they open it. Core stores the
/// documents it is given; it does not write them (QML is made by the exporters).

namespace qiancun {

class Registry;

/// One style of a layer, as a row of `layer_styles`.
struct StyleRecord {
    std::string name;        ///< styleName: a stable key ("class", "status", "cov_sewage_plant")
    std::string description; ///< for people, in Chinese
    std::string qml;         ///< the QGIS style document
    bool is_default = false; ///< the one QGIS applies when it opens the layer
};

/// A table with a registered geometry column (SpatiaLite's `geometry_columns`).
struct SpatialLayer {
    std::string table;
    std::string geometry_column;
    std::string geometry_type; ///< POINT, MULTILINESTRING, MULTIPOLYGON … or GEOMETRY (any)
    std::vector<std::string> columns; ///< attribute columns in table order, without the integer
                                      ///< primary key and the geometry (what GDAL calls fields)
};

/// Every spatial table of the registry, in the order their geometry columns were registered.
std::vector<SpatialLayer> spatial_layers(const Registry &registry);

/// The largest value of `column` in `table`; empty when the table has no non-NULL value.
std::optional<double> column_max(const Registry &registry, std::string_view table,
                                 std::string_view column);

/// The styles of one spatial table.
struct TableStyles {
    std::string table;
    std::string geometry_column;
    std::vector<StyleRecord> styles;
};

/// Replaces every style qiancun stored in the registry (rows owned by "qiancun") by `tables`,
/// in one transaction; creates `layer_styles` with QGIS's own schema when it is missing. Each
/// style is stored twice, because QGIS's two providers select a layer's rows differently
/// (measured on QGIS 3.22): SpatiaLite's with `f_table_schema` NULL, OGR's with it empty. A
/// default stays a default only when the user has not saved a default of their own for the
/// table (theirs wins). Throws DatabaseError when the registry cannot be written.
void store_layer_styles(Registry &registry, const std::vector<TableStyles> &tables);

} // namespace qiancun
