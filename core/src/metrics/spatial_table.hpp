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

/// The catalogue of result layers: every table a command stored as its result, the only
/// tables a command may drop or replace. Names compare case-insensitively, as SQLite's do.
inline constexpr const char *kResultLayersDdl =
    "CREATE TABLE result_layers (name TEXT PRIMARY KEY COLLATE NOCASE, created_by TEXT NOT NULL, "
    "created_at TEXT NOT NULL)";

/// Replaces the result layer `table` by an empty one with `fid`, `columns` and the geometry
/// column `geom` of `geometry_type` (POINT, MULTIPOLYGON, …, XY) in `srid`, spatially indexed,
/// and records it in `result_layers` as made by the command `created_by`. Run inside a
/// transaction. Throws DatabaseError, dropping nothing, when a table of that name (in any
/// case) exists that the catalogue does not list: a kind's data is never replaced. A registry
/// made before the catalogue gets one listing its tables named like result layers that are no
/// kind's. Returns the statement that inserts one row: parameters 1…n are `columns` in order,
/// n+1 the geometry as WKB.
ffi::SqliteStmt create_spatial_table(const Registry &registry, const std::string &table,
                                     const std::vector<ColumnDef> &columns,
                                     const std::string &geometry_type, int srid,
                                     std::string_view created_by);

/// The registry's working CRS as an SRID; UsageError when no import has fixed it yet.
int working_srid(const Registry &registry);

/// UsageError unless the registry's working CRS is fixed and fit for planar metrics
/// (crs::check_working): a registry made before that check with a geographic or Web Mercator
/// CRS is refused rather than read as metres.
void require_planar_crs(const Registry &registry);

} // namespace qiancun::metrics
