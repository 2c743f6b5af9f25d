#include "qiancun/layer_styles.hpp"

#include "ffi/sqlite.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace qiancun {

namespace {

using ffi::quote_identifier;
using ffi::SqliteStmt;

constexpr const char *kOwner = "qiancun";

/// The table as QGIS's SpatiaLite provider creates it (QGIS 3.22, "Save style … in database").
constexpr const char *kLayerStylesDdl =
    "CREATE TABLE IF NOT EXISTS layer_styles(id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "f_table_catalog varchar(256), f_table_schema varchar(256), f_table_name varchar(256), "
    "f_geometry_column varchar(256), styleName text, styleQML text, styleSLD text, "
    "useAsDefault boolean, description text, owner varchar(30), ui text, "
    "update_time timestamp DEFAULT CURRENT_TIMESTAMP)";

/// SpatiaLite's geometry_columns.geometry_type code (ISO: 1 point … 7 collection, 0 any; plus
/// 1000, 2000, 3000 for Z, M, ZM) as a type name.
std::string geometry_type_name(std::int64_t code) {
    static constexpr const char *kNames[] = {
        "GEOMETRY",   "POINT",           "LINESTRING",   "POLYGON",
        "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION"};
    const auto base = code % 1000;
    return base >= 0 && base < 8 ? kNames[base] : "GEOMETRY";
}

} // namespace

std::vector<SpatialLayer> spatial_layers(const Registry &registry) {
    auto *db = registry.handle();
    std::vector<SpatialLayer> out;
    {
        SqliteStmt st(db, "SELECT f_table_name, f_geometry_column, geometry_type "
                          "FROM geometry_columns ORDER BY rowid");
        while (st.step())
            out.push_back({st.get_text(0), st.get_text(1), geometry_type_name(st.get_int(2)), {}});
    }
    for (auto &layer : out) {
        SqliteStmt info(db, "SELECT name, pk, type FROM pragma_table_info(?)");
        info.bind_text(1, layer.table);
        while (info.step()) {
            std::string name = info.get_text(0);
            // GDAL reads an INTEGER PRIMARY KEY as the feature id, not as a field.
            const bool rowid_key = info.get_int(1) == 1 && info.get_text(2) == "INTEGER";
            if (rowid_key || name == layer.geometry_column)
                continue;
            layer.columns.push_back(std::move(name));
        }
    }
    return out;
}

std::optional<double> column_max(const Registry &registry, std::string_view table,
                                 std::string_view column) {
    SqliteStmt st(registry.handle(), fmt::format("SELECT MAX({}) FROM {}", quote_identifier(column),
                                                 quote_identifier(table)));
    if (!st.step() || st.is_null(0))
        return std::nullopt;
    return st.get_double(0);
}

void store_layer_styles(Registry &registry, const std::vector<TableStyles> &tables) {
    auto *db = registry.handle();
    Registry::Transaction tx(registry);
    SqliteStmt(db, kLayerStylesDdl).run();
    SqliteStmt(db, "DELETE FROM layer_styles WHERE owner = ?").bind_text(1, kOwner).run();
    SqliteStmt user_default(db, "SELECT 1 FROM layer_styles WHERE f_table_name = ? AND "
                                "useAsDefault = 1 AND (owner IS NULL OR owner <> ?)");
    SqliteStmt insert(db, "INSERT INTO layer_styles(f_table_catalog, f_table_schema, "
                          "f_table_name, f_geometry_column, styleName, styleQML, styleSLD, "
                          "useAsDefault, description, owner, ui) "
                          "VALUES('', ?, ?, ?, ?, ?, '', ?, ?, ?, '')");
    for (const auto &t : tables) {
        user_default.reset();
        user_default.bind_text(1, t.table).bind_text(2, kOwner);
        const bool theirs = user_default.step();
        for (const auto &style : t.styles) {
            for (const bool spatialite_row : {true, false}) {
                insert.reset();
                if (spatialite_row)
                    insert.bind_null(1);
                else
                    insert.bind_text(1, "");
                insert.bind_text(2, t.table).bind_text(3, t.geometry_column);
                insert.bind_text(4, style.name).bind_text(5, style.qml);
                insert.bind_int(6, style.is_default && !theirs ? 1 : 0);
                insert.bind_text(7, style.description).bind_text(8, kOwner);
                insert.run();
            }
        }
    }
    tx.commit();
}

} // namespace qiancun
