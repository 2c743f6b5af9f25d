#include "metrics/spatial_table.hpp"

#include "ffi/sqlite.hpp"
#include "qiancun/crs.hpp"
#include "qiancun/error.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
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

std::string now_utc() {
    auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", now);
}

std::string lower_ascii(std::string s) {
    for (auto &c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
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

bool is_kind_table(const Registry &registry, std::string_view name) {
    for (const auto &k : registry.kinds())
        if (lower_ascii(k.key) == lower_ascii(std::string(name)))
            return true;
    return false;
}

/// Creates the catalogue in a registry made before it existed, listing the tables that can
/// only be results: named like one and no kind's table.
void ensure_catalogue(const Registry &registry) {
    sqlite3 *db = registry.handle();
    if (exists(db, "result_layers"))
        return;
    exec(db, kResultLayersDdl);
    std::vector<std::string> found;
    {
        SqliteStmt st(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND ("
                          "lower(name) IN ('village_metrics', 'village_classes', 'route') OR "
                          "lower(name) LIKE 'gaps\\_%' ESCAPE '\\' OR "
                          "lower(name) LIKE 'service\\_area\\_%' ESCAPE '\\')");
        while (st.step())
            found.push_back(st.get_text(0));
    }
    SqliteStmt ins(db, "INSERT INTO result_layers(name, created_by, created_at) "
                       "VALUES(?, 'an earlier qiancun', ?)");
    for (const auto &name : found) {
        if (is_kind_table(registry, name))
            continue;
        ins.reset();
        ins.bind_text(1, name).bind_text(2, now_utc()).run();
    }
}

/// The name of the table or view called `name` in any case, if there is one.
std::optional<std::string> existing_name(sqlite3 *db, const std::string &name) {
    SqliteStmt st(db, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                      "AND lower(name) = lower(?)");
    st.bind_text(1, name);
    if (st.step())
        return st.get_text(0);
    return std::nullopt;
}

bool catalogued(sqlite3 *db, const std::string &name) {
    SqliteStmt st(db, "SELECT 1 FROM result_layers WHERE name = ?");
    st.bind_text(1, name);
    return st.step();
}

/// Removes `table` with its geometry registration, triggers and spatial index.
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

} // namespace

SqliteStmt create_spatial_table(const Registry &registry, const std::string &table,
                                const std::vector<ColumnDef> &columns,
                                const std::string &geometry_type, int srid,
                                std::string_view created_by) {
    sqlite3 *db = registry.handle();
    ensure_catalogue(registry);
    if (const auto existing = existing_name(db, table)) {
        if (!catalogued(db, *existing))
            throw DatabaseError(fmt::format(
                "{}: cannot store the result layer '{}': the registry has a table '{}' that "
                "holds {}, not a result qiancun wrote; it is left as it is",
                registry.path().string(), table, *existing,
                is_kind_table(registry, *existing) ? fmt::format("the kind '{}'", *existing)
                                                   : std::string("other data")));
        drop_spatial_table(db, *existing);
    }
    std::string defs = "fid INTEGER PRIMARY KEY AUTOINCREMENT";
    for (const auto &c : columns)
        defs += fmt::format(", {} {}", quote_identifier(c.name), c.sql_type);
    exec(db, fmt::format("CREATE TABLE {} ({})", quote_identifier(table), defs));
    SqliteStmt add(db, "SELECT AddGeometryColumn(?, 'geom', ?, ?, 'XY')");
    add.bind_text(1, table).bind_int(2, srid).bind_text(3, geometry_type);
    if (!add.step() || add.get_int(0) != 1)
        throw DatabaseError(fmt::format("cannot add the geometry column of {}", table));
    call(db, "CreateSpatialIndex", table);
    SqliteStmt record(db, "INSERT INTO result_layers(name, created_by, created_at) VALUES(?, ?, ?) "
                          "ON CONFLICT(name) DO UPDATE SET name = excluded.name, "
                          "created_by = excluded.created_by, created_at = excluded.created_at");
    record.bind_text(1, table).bind_text(2, created_by).bind_text(3, now_utc()).run();
    std::string names, params;
    for (const auto &c : columns) {
        names += quote_identifier(c.name) + ", ";
        params += "?, ";
    }
    return SqliteStmt(db, fmt::format("INSERT INTO {} ({}geom) VALUES ({}GeomFromWKB(?, {}))",
                                      quote_identifier(table), names, params, srid));
}

int working_srid(const Registry &registry) {
    const auto srid = registry.working_srid();
    if (!srid)
        throw UsageError(fmt::format("{} has no working CRS yet", registry.path().string()));
    return *srid;
}

void require_planar_crs(const Registry &registry) {
    const auto working = registry.working_crs();
    if (!working)
        throw UsageError(fmt::format("{} has no working CRS yet", registry.path().string()));
    try {
        crs::check_working(*working);
    } catch (const UsageError &e) {
        throw UsageError(fmt::format("{}: {}; distances and areas in it would be wrong, so "
                                     "create a registry with such a CRS (qiancun init --crs) and "
                                     "load the data again",
                                     registry.path().string(), e.what()));
    }
}

} // namespace qiancun::metrics
