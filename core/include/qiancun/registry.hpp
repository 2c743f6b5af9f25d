#pragma once

#include "qiancun/asset_types.hpp"
#include "qiancun/crs.hpp"
#include "qiancun/layer_styles.hpp"
#include "qiancun/location.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

/// The registry: one SpatiaLite database file per county that QGIS opens directly, or a schema
/// of a PostgreSQL/PostGIS database (SPEC §9). A table per kind (layer name = kind key) with
/// typed columns, a spatial index on `geom`, and the bookkeeping columns `village_code`,
/// `source_file`, `source_row`, `updated_at`; a `meta` table (working CRS, schema version,
/// configured kinds) and an `import_log`. Analysis code reads through `scan` and writes result
/// layers through `create_result_layer`; only the store implementations know SQL.

namespace qiancun {

namespace store {
class Store;
}

/// One feature ready to be stored: values parallel to `KindDef::attributes`, geometry as
/// ISO WKB in the working CRS, already valid.
struct Feature {
    std::int64_t row = 0; ///< 1-based row in the source
    std::vector<Value> values;
    std::string wkb;
};

enum class WriteMode {
    /// New keys are inserted; a known key is updated when its row came from a source file of
    /// the same name (re-importing a source), and is a duplicate (InputError) when another
    /// source brought it.
    upsert,
    /// New keys are inserted, known keys updated whatever source brought them.
    update_any,
    replace ///< every row of the kind is removed first
};

/// What one import did; also the row of `import_log`.
struct ImportRecord {
    std::string kind;
    std::string source; ///< source path as given
    std::string layer;
    std::string imported_at; ///< ISO 8601 UTC, set by the registry
    std::int64_t rows_read = 0;
    std::int64_t inserted = 0;
    std::int64_t updated = 0;
    std::int64_t repaired = 0;
    std::int64_t rejected = 0;
    std::string content_hash; ///< SHA-256 of the source file(s)
    /// Date (YYYY-MM-DD) from which the asset statuses written hold, for the status history;
    /// empty = the UTC date of the import.
    std::string effective_date;
};

/// One entry of the status history: from `valid_from` on, asset `id` of `kind` has `status`
/// (empty = removed from the registry by a replacing import).
struct StatusChange {
    std::string kind;
    std::string id;
    std::string status;
    std::string valid_from; ///< YYYY-MM-DD
    std::string source;     ///< the source file that recorded it
};

/// Where a kind's rows stand: both ids only grow, so a kind whose stamp moved has changed.
struct ChangeStamp {
    std::int64_t import_id = 0; ///< its latest `import_log` entry (0: never imported)
    /// PostgreSQL: its latest `audit_log` entry, which also sees edits made outside qiancun
    /// (psql, QGIS); 0 in a SpatiaLite file, which keeps no such log.
    std::int64_t edit_id = 0;
    bool operator==(const ChangeStamp &) const = default;
};

/// True for a valid calendar date written YYYY-MM-DD.
bool is_iso_date(std::string_view text);

/// Per-layer summary for `info`.
struct LayerInfo {
    std::string kind;
    std::string label;
    std::string geometry_type;
    std::int64_t count = 0;
    std::optional<std::array<double, 4>> extent; ///< minx, miny, maxx, maxy in the working CRS
    bool builtin = true;
};

struct RegistryInfo {
    std::filesystem::path path; ///< the file of a SpatiaLite registry, else empty
    std::string location;       ///< the registry for people: its path or URI
    int schema_version = 0;
    std::optional<int> epsg; ///< EPSG code of the working CRS, when it has one
    std::optional<int> srid; ///< SRID of the geometry columns (= epsg, or a custom one)
    std::string crs_name;
    std::string crs_proj; ///< PROJ string of the working CRS ("" when PROJ has none)
    /// Worst scale error of the working CRS over the stored geometries, checked at the corners
    /// of each geometry's bounding box (and at each point), with where it occurs.
    struct ScaleError {
        double error = 0.0;
        double lon = 0.0;
        double lat = 0.0;
        std::string layer;
        std::int64_t geometries = 0; ///< geometries checked
    };
    std::optional<ScaleError> scale_error; ///< empty when nothing is stored
    std::vector<LayerInfo> layers;
    std::vector<ImportRecord> last_imports; ///< newest first
};

/// A table of text cells for `list` and friends.
struct Rows {
    std::vector<std::string> columns;
    std::vector<std::vector<Value>> rows;
};

struct ListFilter {
    std::optional<std::string> village_code; ///< only rows linked to (or, for lines and
                                             ///< polygons, intersecting) this village
    std::optional<std::string> status;       ///< as import takes it: "operating" or "运行"
    std::optional<std::string> township;     ///< only rows of this township's villages (lines:
                                             ///< crossing one of them)
    /// Only rows this formula over the kind's attributes holds for (the expressions of SPEC
    /// §5.1 without functions: "scenic_level = '金3A' AND population >= 1000"); unknown is no.
    std::optional<std::string> where;
    std::optional<std::int64_t> limit;
    bool with_wkt = false; ///< add a `wkt` column with the geometry
};

/// One condition of a scan: a column compared with a value, never SQL text.
struct ScanCondition {
    enum class Op { equals, is_null, is_not_null };
    std::string column; ///< an attribute column of the table, or "geom" for its geometry
    Op op = Op::equals;
    Value value; ///< for `equals`: text compares byte for byte, numbers as numbers

    static ScanCondition eq(std::string column, Value value) {
        return {std::move(column), Op::equals, std::move(value)};
    }
    static ScanCondition null(std::string column) { return {std::move(column), Op::is_null, {}}; }
    static ScanCondition not_null(std::string column) {
        return {std::move(column), Op::is_not_null, {}};
    }
};

/// What to read from one table of the registry (a kind or a result layer).
struct ScanRequest {
    std::string table = {};
    /// Attribute columns, read as values by their storage type: INTEGER (also boolean and
    /// year) as int64, REAL as double, TEXT as string, NULL as monostate.
    std::vector<std::string> columns = {};
    bool wkb = false;  ///< fill ScanRow::wkb with the geometry as ISO WKB (working CRS)
    bool xy = false;   ///< fill ScanRow::xy for a point geometry (nothing for other types)
    bool bbox = false; ///< fill ScanRow::bbox with the geometry's envelope
    std::vector<ScanCondition> where = {}; ///< all must hold
    /// Columns to order by, ascending; text by its bytes (SQLite's BINARY, PostgreSQL's "C"
    /// collation), NULL first. Without it the order is unspecified.
    std::vector<std::string> order_by = {};
    std::optional<std::int64_t> limit = {};
};

/// One row of a scan. Geometry parts are empty/absent when the row's geometry is NULL.
struct ScanRow {
    std::vector<Value> values; ///< parallel to ScanRequest::columns
    std::string wkb;
    std::optional<std::pair<double, double>> xy; ///< x, y in the working CRS, metres
    std::optional<std::array<double, 4>> bbox;   ///< minx, miny, maxx, maxy, metres

    bool is_null(std::size_t i) const { return std::holds_alternative<std::monostate>(values[i]); }
    /// Value `i` as text: "" for NULL, numbers as value_to_text writes them.
    std::string text(std::size_t i) const;
    /// Value `i` as a number; nothing for NULL or text.
    std::optional<double> number(std::size_t i) const;
    /// Value `i` as an integer (a real truncated toward zero); nothing for NULL or text.
    std::optional<std::int64_t> integer(std::size_t i) const;
};

/// Column types of a result layer.
enum class ColumnType { text, integer, real, boolean };

/// One attribute column of a result layer.
struct ResultColumn {
    std::string name;
    ColumnType type = ColumnType::text;
};

/// Adds rows to a result layer made by Registry::create_result_layer; valid while the
/// Transaction it was made in is open.
class ResultLayerWriter {
public:
    virtual ~ResultLayerWriter() = default;
    /// One row: `values` parallel to the layer's columns (monostate = NULL; a boolean as an
    /// int64 0/1), `wkb` the geometry as ISO WKB in the working CRS (empty = NULL). Throws
    /// DatabaseError.
    virtual void add(std::span<const Value> values, std::string_view wkb) = 0;
};

/// Who may do what in a PostgreSQL registry (SPEC §9), enforced by the database itself: a
/// login role that reads everything and writes only `kinds` (none: read-only), and of those only
/// the rows in `townships` (empty: all). A row's township is its village's: a village's own,
/// a point's or polygon's by the village within 1 mm of it (polygons by their point-on-surface),
/// a line's by every village it crosses.
struct RoleSpec {
    std::string name;
    std::vector<std::string> kinds;
    std::vector<std::string> townships;
    bool read_only() const noexcept { return kinds.empty(); }
};

/// One row of the audit table: a change made to a kind's table, by whom and when.
struct AuditEntry {
    std::string at;        ///< ISO 8601 UTC, to the microsecond
    std::string role;      ///< the database role of the session
    std::string operation; ///< INSERT, UPDATE or DELETE
    std::string kind;
    std::string id;
    std::string old_values; ///< the row before, as JSON (geometry as GeoJSON); "" for INSERT
    std::string new_values; ///< the row after; "" for DELETE
};

/// One table Registry::copy moved, with its rows (the same in both registries).
struct CopiedTable {
    std::string table;
    std::int64_t rows = 0;
};

/// An open registry. Move-only; closes the database on destruction.
class Registry {
public:
    /// Creates a new registry file (an error if it exists). `epsg` fixes the working CRS now;
    /// without it the first import fixes it. A CRS that cannot be a working CRS
    /// (crs::check_working) is a UsageError.
    static Registry create(const Location &location, std::optional<int> epsg);
    /// Creates a new registry with any working CRS PROJ reads (crs::parse).
    static Registry create(const Location &location, const crs::Definition &crs);
    /// Opens an existing registry; throws DatabaseError if it is not one, UsageError if it
    /// does not exist.
    static Registry open(const Location &location, bool read_only = false);

    /// Copies the registry at `source` into a new one at `destination` (a file to a
    /// PostgreSQL schema, back, or alike): the working CRS, configured kinds, meta, every
    /// kind's rows as they are (keys, sources, times, village links), the import log, the
    /// status history and the result layers; then `finish` (e.g. storing the layer styles) runs
    /// on the new registry inside the same transaction. Roles and the audit log stay behind.
    /// The rows of every table are counted in both afterwards; any difference is a
    /// DatabaseError. UsageError when `destination` already exists (a file, or a schema with
    /// tables), naming the rows it holds; on any failure the destination is left as it was
    /// (a registry made there is removed). Returns the tables copied, in order.
    static std::vector<CopiedTable> copy(const Location &source, const Location &destination,
                                         const std::function<void(Registry &)> &finish = {});

    Registry(Registry &&) noexcept;
    Registry &operator=(Registry &&) noexcept;
    Registry(const Registry &) = delete;
    Registry &operator=(const Registry &) = delete;
    ~Registry();

    /// Where the registry lives.
    const Location &location() const noexcept;
    /// The file of a SpatiaLite registry; empty for a PostgreSQL one.
    const std::filesystem::path &path() const noexcept;
    /// The registry named for messages: its path or URI.
    std::string display() const;
    /// What GDAL opens to read the registry's layers: the file path, or for PostgreSQL
    /// `PG:dbname=… host=… port=… user=… schemas=NAME`.
    std::string gdal_name() const;

    /// EPSG code of the working CRS, once fixed, when it has one (a custom CRS has none).
    std::optional<int> working_epsg() const;
    /// SRID of the geometry columns, once the working CRS is fixed: its EPSG code, or a free
    /// SRID (≥ 900001) under which a custom CRS is registered in `spatial_ref_sys`.
    std::optional<int> working_srid() const;
    /// The working CRS, once fixed.
    std::optional<crs::Definition> working_crs() const;
    /// Fixes the working CRS; an error if it is already fixed to another one. UsageError when
    /// it cannot be a working CRS (crs::check_working; `data_lon`, the mean longitude of the
    /// data that fix it, names their zone in the message).
    void set_working_crs(const crs::Definition &crs, std::optional<double> data_lon = {});
    /// set_working_crs(crs::from_epsg(epsg)).
    void set_working_epsg(int epsg);

    /// A value kept in the registry's `meta` table under `key` (e.g. `manifest`: the manifest
    /// `load` read last), or nothing.
    std::optional<std::string> property(std::string_view key) const;
    /// Keeps `value` under `key` in the `meta` table, replacing it.
    void set_property(std::string_view key, std::string_view value);

    /// Every kind: builtin first, then configured ones in the order added.
    const std::vector<KindDef> &kinds() const noexcept;
    /// The kind with this key; throws UsageError naming the known keys.
    const KindDef &kind(std::string_view key) const;
    /// Adds a configured kind (creates its table) or checks that an existing one is identical.
    void add_kind(const KindDef &def);
    /// Adds configured village attributes (parse_village_attributes_toml): a new one gets its
    /// column, one the registry has must be defined identically. Throws UsageError naming the
    /// attribute when it is built in or defined differently.
    void add_village_attributes(const std::vector<AttributeDef> &attributes);

    /// Guard of one write transaction (BEGIN IMMEDIATE); rolls back unless commit() is called.
    class Transaction {
    public:
        explicit Transaction(Registry &registry);
        Transaction(const Transaction &) = delete;
        Transaction &operator=(const Transaction &) = delete;
        ~Transaction();
        void commit();

    private:
        Registry *m_registry;
        bool m_done = false;
    };

    /// Stores `features` of `kind` and logs the import; must run inside a Transaction.
    /// Fills record.inserted/updated/imported_at. Throws InputError on a duplicate key
    /// within `features` or (WriteMode::upsert) against rows another source brought, UsageError on
    /// a malformed `record.effective_date`. For an asset kind, every inserted row, every status
    /// change and every row a replace removes is added to the status history, valid from
    /// `record.effective_date`.
    void write(const KindDef &kind, std::span<const Feature> features, WriteMode mode,
               ImportRecord &record);

    /// Recomputes `village_code` of the settlements and point/polygon assets of `kind` (all
    /// kinds when empty). Border rule: within 1 mm of several villages → the smallest code;
    /// polygons by their point-on-surface; outside every village → NULL.
    void link_villages(std::string_view kind = {});

    RegistryInfo info() const;
    std::int64_t count(std::string_view kind) const;
    /// Rows of `kind` matching `filter`. `village_code` may also be a unique village name. Throws
    /// UsageError for an unknown status (listing the valid ones), village or township.
    Rows list(std::string_view kind, const ListFilter &filter) const;

    /// The code of the village `code_or_name` names: one of the registry's codes, or the name of
    /// exactly one village. Throws UsageError when none matches, or listing the candidates
    /// (name and code) when several villages have that name.
    std::string resolve_village(std::string_view code_or_name) const;
    /// Every township named by a village, sorted.
    std::vector<std::string> townships() const;
    /// The codes of the villages of `township`, sorted; throws UsageError listing the townships
    /// when no village has it.
    std::vector<std::string> township_villages(std::string_view township) const;

    /// The status of every asset present on `date` (YYYY-MM-DD, the whole day included): per
    /// asset the latest history entry valid from `date` or earlier, ties going to the entry
    /// recorded last; assets without entries (imported before the history existed) count with
    /// their current status from the date of their last import. Removed assets are left out.
    /// Only `kind` when given; ordered by kind and id. Throws UsageError for a bad date.
    std::vector<StatusChange> statuses_as_of(std::string_view date,
                                             std::string_view kind = {}) const;
    /// The first date (YYYY-MM-DD) from which the registry knows the statuses of the assets of
    /// `kind`: its earliest status history entry, or for assets imported before the history
    /// existed the date of their last import. Empty when the kind has no rows and no history.
    std::optional<std::string> statuses_known_from(std::string_view kind) const;
    /// Every history entry of one asset, oldest first.
    std::vector<StatusChange> status_history(std::string_view kind, std::string_view id) const;

    /// SHA-256 over every row of every table (meta, import log, status history, kinds), for "left
    /// exactly as it was" checks.
    std::string content_checksum() const;

    /// True when the registry has a table (or view) `name`, compared exactly.
    bool has_table(std::string_view name) const;
    /// Calls `row` for every row of `request.table` that meets its conditions, in its order.
    /// A missing table is a DatabaseError (check has_table first); `row` may throw, which ends
    /// the scan. The ScanRow is reused between calls.
    void scan(const ScanRequest &request, const std::function<void(const ScanRow &)> &row) const;

    /// Replaces the result layer `name` by an empty one with `columns` and a geometry column
    /// `geom` of `geometry_type` (POINT, LINESTRING, MULTIPOLYGON, …, XY) in the working CRS,
    /// spatially indexed, and records it in `result_layers` as made by the command
    /// `created_by`. Must run inside a Transaction. Throws UsageError without a working CRS,
    /// DatabaseError, dropping nothing, when a table of that name (in any case) exists that
    /// the catalogue does not list: a kind's data is never replaced.
    std::unique_ptr<ResultLayerWriter> create_result_layer(const std::string &name,
                                                           const std::vector<ResultColumn> &columns,
                                                           const std::string &geometry_type,
                                                           std::string_view created_by);

    /// Updates rows of the result layer `name` in place: for each of `rows` (values parallel to
    /// `columns`, the first column the key), the row whose key equals the first value gets the
    /// other values. Must run inside a Transaction. Returns the rows updated; DatabaseError when
    /// `name` is no result layer or a key matches no row (nothing is left half-written once the
    /// transaction rolls back).
    std::int64_t update_result_rows(const std::string &name,
                                    const std::vector<ResultColumn> &columns,
                                    std::span<const std::vector<Value>> rows);
    /// The change stamp of every kind imported or edited at least once (kind → stamp): a kind
    /// whose stamp moved has been changed since.
    std::map<std::string, ChangeStamp> change_stamps() const;

    /// Every spatial table of the registry, in the order their geometry columns were
    /// registered.
    std::vector<SpatialLayer> spatial_layers() const;
    /// The largest value of `column` in `table`; empty when the table has no non-NULL value.
    std::optional<double> column_max(std::string_view table, std::string_view column) const;
    /// Replaces every style qiancun stored (see qiancun/layer_styles.hpp) by `tables`, in one
    /// transaction.
    void save_layer_styles(const std::vector<TableStyles> &tables);

    /// Creates the login role `role.name` (or, when it exists and is neither a superuser nor an
    /// owner of the registry, grants it) with the access `role` describes; a role given access
    /// again gets the new access in place of the old. PostgreSQL registries only (UsageError
    /// otherwise, and for an unknown kind or township).
    void add_role(const RoleSpec &role);
    /// The roles given access with add_role, by name.
    std::vector<RoleSpec> roles() const;
    /// Every change of the asset (or village) `id` of `kind` in the audit table, oldest first.
    std::vector<AuditEntry> audit(std::string_view kind, std::string_view id) const;

private:
    explicit Registry(std::unique_ptr<store::Store> store);
    std::unique_ptr<store::Store> m_store;
};

} // namespace qiancun
