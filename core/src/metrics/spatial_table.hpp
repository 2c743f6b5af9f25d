#pragma once

#include "ffi/sqlite.hpp"
#include "qiancun/registry.hpp"

#include <string>
#include <vector>

/// Result layers stored in the registry as SpatiaLite tables that QGIS and GDAL open directly:
/// an integer `fid`, typed attribute columns, a registered geometry column `geom` with a
/// spatial index.

struct sqlite3;

namespace qiancun::metrics {

/// One attribute column; `sql_type` is TEXT, INTEGER, REAL or BOOLEAN (GDAL reads BOOLEAN as
/// an integer field of subtype boolean).
struct ColumnDef {
    std::string name;
    std::string sql_type;
};

/// Removes `table` with its geometry registration, triggers and spatial index, if it exists.
/// Run inside a transaction.
void drop_spatial_table(sqlite3 *db, const std::string &table);

/// Replaces `table` by an empty one with `fid`, `columns` and the geometry column `geom` of
/// `geometry_type` (POINT, MULTIPOLYGON, …, XY) in `srid`, spatially indexed. Run inside a
/// transaction. Returns the statement that inserts one row: parameters 1…n are `columns` in
/// order, n+1 the geometry as WKB.
ffi::SqliteStmt create_spatial_table(sqlite3 *db, const std::string &table,
                                     const std::vector<ColumnDef> &columns,
                                     const std::string &geometry_type, int srid);

/// The registry's working CRS as an SRID; UsageError when no import has fixed it yet.
int working_srid(const Registry &registry);

} // namespace qiancun::metrics
