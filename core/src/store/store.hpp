#pragma once

#include "qiancun/asset_types.hpp"
#include "qiancun/crs.hpp"
#include "qiancun/layer_styles.hpp"
#include "qiancun/location.hpp"
#include "qiancun/registry.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

/// The storage interface behind Registry: one implementation per store (SpatiaLite file,
/// PostgreSQL/PostGIS schema), each the only place that knows its SQL dialect and C client.
/// Analysis code never sees a Store; it goes through Registry, which checks arguments
/// (kinds, filters, dates) before it calls here and does what needs no SQL itself.
///
/// Common rules for every implementation:
/// - Geometries cross this interface as ISO WKB (2D) in the working CRS, metres.
/// - Values cross as `Value` by storage type: INTEGER (integer, boolean, year) as int64, REAL as
///   double, TEXT (text, choice) as string, NULL as monostate.
/// - Every kind's table and result layer has an integer key `fid` in insertion order, which
///   scan can read and order by (sums over rows in `fid` order are the same in every store).
/// - Text orders and compares by its bytes (SQLite BINARY, PostgreSQL COLLATE "C"), so results
///   are identical in every store.
/// - Failures of the database are DatabaseError naming `location().display()`; a caller's
///   mistake is UsageError; bad input data is InputError (file, layer, row).
/// - Writes happen inside begin()/commit(); a rollback leaves the store exactly as it was,
///   including the kinds and working CRS the object holds in memory.

namespace qiancun::store {

/// A column as Registry::copy moves it between stores.
struct CopyColumn {
    std::string name;
    bool geometry = false; ///< read and written as ISO WKB in the working CRS
};

class Store {
public:
    Store() = default;
    Store(const Store &) = delete;
    Store &operator=(const Store &) = delete;
    virtual ~Store() = default;

    /// Where the store lives.
    virtual const Location &location() const noexcept = 0;
    /// What GDAL opens to read the layers: the file path, or `PG:dbname=… schemas=NAME`.
    virtual std::string gdal_name() const = 0;

    /// The value under `key` in `meta`, or nothing.
    virtual std::optional<std::string> meta(std::string_view key) const = 0;
    /// Sets `key` in `meta`, replacing it.
    virtual void set_meta(std::string_view key, std::string_view value) = 0;

    /// EPSG code of the working CRS once fixed, when it has one.
    virtual std::optional<int> working_epsg() const = 0;
    /// SRID of the geometry columns once the working CRS is fixed (the EPSG code, or a free
    /// SRID ≥ 900001 under which a custom CRS is registered).
    virtual std::optional<int> working_srid() const = 0;
    /// The working CRS once fixed.
    virtual std::optional<crs::Definition> working_crs() const = 0;
    /// Fixes the working CRS and creates the table of every kind. Throws UsageError when it is
    /// already fixed to another CRS or cannot be a working CRS (crs::check_working with
    /// `data_lon`). Runs in its own transaction when none is open.
    virtual void set_working_crs(const crs::Definition &crs, std::optional<double> data_lon) = 0;

    /// Every kind: builtin first, then configured ones in the order added.
    virtual const std::vector<KindDef> &kinds() const noexcept = 0;
    /// Adds a configured kind: keeps its TOML in `meta.asset_types` and creates its table once
    /// the CRS is fixed. Precondition: `def.key` is no kind's and not reserved (Registry::add_kind
    /// checks that, store-neutrally, before calling).
    virtual void add_kind(const KindDef &def) = 0;
    /// Adds a configured village attribute: keeps the configured ones' TOML in
    /// `meta.village_attributes` and adds the column to the village table when it exists.
    /// Precondition: the village kind has no attribute of that name (Registry checks).
    virtual void add_village_attribute(const AttributeDef &attribute) = 0;

    /// Starts the write transaction (SQLite: BEGIN IMMEDIATE). Throws DatabaseError when the
    /// store stays locked by another writer past the busy timeout, naming the holder.
    virtual void begin() = 0;
    virtual void commit() = 0;
    /// Rolls back and reloads the kinds and CRS; never throws.
    virtual void rollback() noexcept = 0;

    /// Registry::write: stores `features` of `kind`, keeps the status history, logs the import.
    /// Preconditions: inside begin()/commit(); the working CRS is fixed. Throws as
    /// Registry::write documents.
    virtual void write(const KindDef &kind, std::span<const Feature> features, WriteMode mode,
                       ImportRecord &record) = 0;
    /// Registry::link_villages (border rule: within 1 mm, the smallest code).
    virtual void link_villages(std::string_view kind) = 0;

    /// Registry::info.
    virtual RegistryInfo info() const = 0;
    /// Rows of `kind` (0 without a table).
    virtual std::int64_t count(const KindDef &kind) const = 0;
    /// Rows of `kind` for `list`, ordered by the key. Preconditions (Registry checks them):
    /// `filter.village_code` is a village code of the store, `filter.township` a township of
    /// it, `filter.status` a canonical status ("operating") of an asset kind. Columns: the
    /// attributes, `village_code` (settlements and assets), `source_file`, `source_row`,
    /// `updated_at`, and `wkt` with `filter.with_wkt`. Lines belong to every village they
    /// intersect.
    virtual Rows list(const KindDef &kind, const ListFilter &filter) const = 0;

    /// Registry::statuses_as_of, for one kind or (empty) all; `date` is a valid YYYY-MM-DD.
    virtual std::vector<StatusChange> statuses_as_of(std::string_view date,
                                                     std::string_view kind) const = 0;
    /// Registry::statuses_known_from.
    virtual std::optional<std::string> statuses_known_from(const KindDef &kind) const = 0;
    /// Registry::status_history.
    virtual std::vector<StatusChange> status_history(const KindDef &kind,
                                                     std::string_view id) const = 0;
    /// SHA-256 over every row of meta, import log, status history and every kind's table, to
    /// check that a failed command left the store as it was. Only comparable within a store.
    virtual std::string content_checksum() const = 0;

    /// Registry::has_table.
    virtual bool has_table(std::string_view name) const = 0;
    /// Registry::scan. Column names are checked against the table (DatabaseError naming the
    /// table and column), never pasted into SQL unquoted.
    virtual void scan(const ScanRequest &request,
                      const std::function<void(const ScanRow &)> &row) const = 0;

    /// Registry::create_result_layer (keeps the `result_layers` catalogue; inside a
    /// transaction).
    virtual std::unique_ptr<ResultLayerWriter>
    create_result_layer(const std::string &name, const std::vector<ResultColumn> &columns,
                        const std::string &geometry_type, std::string_view created_by) = 0;

    /// Registry::update_result_rows (inside a transaction).
    virtual std::int64_t update_result_rows(const std::string &name,
                                            const std::vector<ResultColumn> &columns,
                                            std::span<const std::vector<Value>> rows) = 0;
    /// Registry::change_stamps.
    virtual std::map<std::string, ChangeStamp> change_stamps() const = 0;

    /// Registry::spatial_layers.
    virtual std::vector<SpatialLayer> spatial_layers() const = 0;
    /// Registry::column_max.
    virtual std::optional<double> column_max(std::string_view table,
                                             std::string_view column) const = 0;
    /// Replaces the rows owned by "qiancun" in `layer_styles` (QGIS's own table layout, created
    /// when missing) by `tables`, in its own transaction; a user's default style stays the
    /// default. PostgreSQL: the registry schema's table and public.layer_styles, where QGIS
    /// looks; rows already equal are not written again.
    virtual void save_layer_styles(const std::vector<TableStyles> &tables) = 0;

    /// Calls `row` for every row of `table` with the values of `columns` (a geometry column as
    /// ISO WKB, NULL as monostate; the rest by storage type), ordered by the first column, a
    /// key. For Registry::copy, which names the columns both stores have; DatabaseError for a
    /// missing table or column.
    virtual void read_rows(std::string_view table, const std::vector<CopyColumn> &columns,
                           const std::function<void(std::span<const Value>)> &row) const = 0;
    /// The attribute columns of a result layer `table` with their types, in table order
    /// (without `fid` and the geometry), for Registry::copy to make the same layer elsewhere.
    virtual std::vector<ResultColumn> result_columns(std::string_view table) const = 0;
    /// Writes `rows` (values parallel to `columns`, as read_rows reads them) into the existing
    /// `table`, keeping every value given, keys included; a row whose first column matches a
    /// row of the table replaces it. Inside a transaction; keys generated later continue after
    /// the largest one written.
    virtual void write_rows(std::string_view table, const std::vector<CopyColumn> &columns,
                            std::span<const std::vector<Value>> rows) = 0;

    /// Registry::add_role (a PostgreSQL store; UsageError elsewhere). `role` is checked.
    virtual void add_role(const RoleSpec &role);
    /// Registry::roles.
    virtual std::vector<RoleSpec> roles() const;
    /// Registry::audit.
    virtual std::vector<AuditEntry> audit(const KindDef &kind, std::string_view id) const;
};

/// Opens the store at `location` (dispatching on its type). UsageError when it does not exist,
/// DatabaseError when it is no registry or of another schema version.
std::unique_ptr<Store> open(const Location &location, bool read_only);
/// Creates a new, empty store at `location` (UsageError when one exists there), with the
/// working CRS when given (checked by crs::check_working before anything is created).
std::unique_ptr<Store> create(const Location &location, const std::optional<crs::Definition> &crs);

/// What a location holds before a registry is made there.
enum class Presence {
    nothing,      ///< no file; no schema
    empty_schema, ///< a PostgreSQL schema without tables
    something,    ///< a file, or a schema with tables
};
Presence presence(const Location &location);
/// Removes the registry made at `location` where there was `before` (nothing or an empty
/// schema): the file with its journals, or the schema (an empty schema is emptied again, not
/// dropped). Never throws; for undoing a copy that failed after it made the registry.
void remove_made(const Location &location, Presence before) noexcept;
Presence presence_postgis(const Location &location);
void remove_made_postgis(const Location &location, Presence before);

std::unique_ptr<Store> open_spatialite(const std::filesystem::path &path, bool read_only);
std::unique_ptr<Store> create_spatialite(const std::filesystem::path &path,
                                         const std::optional<crs::Definition> &crs);
/// The PostgreSQL/PostGIS store (core/src/store/postgis_store.cpp).
std::unique_ptr<Store> open_postgis(const Location &location, bool read_only);
std::unique_ptr<Store> create_postgis(const Location &location,
                                      const std::optional<crs::Definition> &crs);

/// The current UTC time, ISO 8601 to the second ("2026-11-30T22:38:16Z"): the stamp of imports,
/// result layers and `created_at`, the same in both stores.
std::string now_utc();
/// What Store::write checks before it touches a store, the same in both: every feature has a
/// value per attribute and a non-empty key that appears once (InputError naming file and row),
/// and the record's effective date, if any, is a date (UsageError). Each key's row.
std::unordered_map<std::string, std::int64_t>
check_write(const KindDef &kind, std::span<const Feature> features, const ImportRecord &record);
/// The stamp and status-history date of one write: now, and the record's effective date or
/// today's.
struct WriteStamp {
    std::string stamp;      ///< now_utc()
    std::string valid_from; ///< YYYY-MM-DD
};
WriteStamp write_stamp(const ImportRecord &record);
/// The name of a kind's `geom` column type as both SpatiaLite and PostGIS spell it (POINT,
/// MULTILINESTRING, MULTIPOLYGON; POINT for a kind taking points or polygons, whose polygons
/// live in its `footprint_geom` column).
std::string geometry_type_name(GeometryKind g);
/// The WKT that `list --wkt` shows for a geometry, the same from both stores: SpatiaLite's
/// AsText layout (`MULTIPOLYGON(((x y, x y, …)), ((…)))`), each coordinate in metres with 6
/// decimals, trailing zeros trimmed and -0 written 0. `wkb` is 2D WKB of either byte order;
/// DatabaseError when it is not.
std::string list_wkt(std::string_view wkb);

/// A kind taking points or polygons (halls) has two geometry columns, one type each, so that
/// QGIS and GDAL see two layers: `geom` (POINT, never NULL) and `footprint_geom` (MULTIPOLYGON,
/// NULL for an asset given as a point). The name ends in `_geom` because QGIS's OGR provider,
/// which lists every table of a SQLite file, hides spatial index tables only when they are
/// named `idx_<table>_geom…`. A polygon asset's `geom` is the point-on-surface of its
/// footprint (GEOS), for the map only: every read through this interface (scan, list, info,
/// village links) sees the footprint where there is one, else the point, so metrics count a
/// footprint as SPEC §3 says.
inline constexpr const char *kFootprintColumn = "footprint_geom";
/// Whether `kind`'s table has the `footprint_geom` column.
bool has_footprint(const KindDef &kind);

/// The two columns of a point-or-polygon asset, as ISO WKB.
struct PointAndFootprint {
    std::string point;
    std::optional<std::string> footprint; ///< the (Multi)Polygon as given; empty for a point
};
/// Splits a point-or-polygon asset's geometry (ISO WKB, working CRS) into its `geom` and
/// `footprint_geom` columns: a point stays itself with no footprint; a polygon becomes the
/// footprint and its GEOS point-on-surface. Throws Error for unreadable WKB.
PointAndFootprint split_point_or_polygon(std::string_view wkb);

} // namespace qiancun::store
