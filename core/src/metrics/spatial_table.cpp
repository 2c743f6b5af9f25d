#include "metrics/spatial_table.hpp"

#include "ffi/sqlite.hpp"
#include "qiancun/error.hpp"

#include <fmt/format.h>

#include <optional>

namespace qiancun::metrics {

namespace {

using ffi::quote_identifier;
using ffi::SqliteStmt;

bool exists(sqlite3 *db, const std::string &name) {
    SqliteStmt st(db, "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') "
                      "AND lower(name) = lower(?)");
    st.bind_text(1, name);
    return st.step();
}

void exec(sqlite3 *db, const std::string &sql) {
    SqliteStmt(db, sql).run();
}

/// Runs a SpatiaLite function of (table, 'geom') that answers 1 on success.
void call(sqlite3 *db, const std::string &function, const std::string &table) {
    SqliteStmt st(db, fmt::format("SELECT {}(?, 'geom')", function));
    st.bind_text(1, table);
    if (!st.step() || st.get_int(0) != 1)
        throw DatabaseError(fmt::format("{}('{}', 'geom') failed", function, table));
}

} // namespace

void drop_spatial_table(sqlite3 *db, const std::string &table) {
    std::optional<bool> indexed; // set when the geometry column is registered
    {
        SqliteStmt st(db, "SELECT spatial_index_enabled FROM geometry_columns "
                          "WHERE lower(f_table_name) = lower(?) AND f_geometry_column = 'geom'");
        st.bind_text(1, table);
        if (st.step())
            indexed = st.get_int(0) != 0;
    } // a pending SELECT would lock the tables dropped below
    if (indexed) {
        if (*indexed)
            call(db, "DisableSpatialIndex", table);
        exec(db,
             fmt::format("DROP TABLE IF EXISTS {}", quote_identifier("idx_" + table + "_geom")));
        call(db, "DiscardGeometryColumn", table);
    }
    // Rows SpatiaLite keeps about the column elsewhere; foreign-key cascades are off by default.
    for (const char *aux : {"geometry_columns_auth", "geometry_columns_statistics",
                            "geometry_columns_field_infos", "geometry_columns_time"}) {
        if (!exists(db, aux))
            continue;
        SqliteStmt del(db, fmt::format("DELETE FROM {} WHERE lower(f_table_name) = lower(?)", aux));
        del.bind_text(1, table).run();
    }
    if (exists(db, table))
        exec(db, fmt::format("DROP TABLE {}", quote_identifier(table)));
}

SqliteStmt create_spatial_table(sqlite3 *db, const std::string &table,
                                const std::vector<ColumnDef> &columns,
                                const std::string &geometry_type, int srid) {
    drop_spatial_table(db, table);
    std::string defs = "fid INTEGER PRIMARY KEY AUTOINCREMENT";
    for (const auto &c : columns)
        defs += fmt::format(", {} {}", quote_identifier(c.name), c.sql_type);
    exec(db, fmt::format("CREATE TABLE {} ({})", quote_identifier(table), defs));
    SqliteStmt add(db, "SELECT AddGeometryColumn(?, 'geom', ?, ?, 'XY')");
    add.bind_text(1, table).bind_int(2, srid).bind_text(3, geometry_type);
    if (!add.step() || add.get_int(0) != 1)
        throw DatabaseError(fmt::format("cannot add the geometry column of {}", table));
    call(db, "CreateSpatialIndex", table);
    std::string names, params;
    for (const auto &c : columns) {
        names += quote_identifier(c.name) + ", ";
        params += "?, ";
    }
    return SqliteStmt(db, fmt::format("INSERT INTO {} ({}geom) VALUES ({}GeomFromWKB(?, {}))",
                                      quote_identifier(table), names, params, srid));
}

int working_srid(const Registry &registry) {
    const auto epsg = registry.working_epsg();
    if (!epsg)
        throw UsageError(fmt::format("{} has no working CRS yet", registry.path().string()));
    return *epsg;
}

} // namespace qiancun::metrics
