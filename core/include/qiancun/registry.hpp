#pragma once

#include "qiancun/asset_types.hpp"
#include "qiancun/crs.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

/// The registry: one SpatiaLite database file per county that QGIS opens directly. A table
/// per kind (layer name = kind key) with typed columns, a spatial index on `geom`, and the
/// bookkeeping columns `village_code`, `source_file`, `source_row`, `updated_at`; a `meta`
/// table (working CRS, schema version, configured kinds) and an `import_log`.

struct sqlite3;

namespace qiancun {

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
    std::filesystem::path path;
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
    std::optional<std::int64_t> limit;
    bool with_wkt = false; ///< add a `wkt` column with the geometry
};

/// An open registry. Move-only; closes the database on destruction.
class Registry {
public:
    /// Creates a new registry file (an error if it exists). `epsg` fixes the working CRS now;
    /// without it the first import fixes it. A CRS that cannot be a working CRS
    /// (crs::check_working) is a UsageError.
    static Registry create(const std::filesystem::path &path, std::optional<int> epsg);
    /// Creates a new registry with any working CRS PROJ reads (crs::parse).
    static Registry create(const std::filesystem::path &path, const crs::Definition &crs);
    /// Opens an existing registry; throws DatabaseError if it is not one.
    static Registry open(const std::filesystem::path &path, bool read_only = false);

    Registry(Registry &&) noexcept;
    Registry &operator=(Registry &&) noexcept;
    Registry(const Registry &) = delete;
    Registry &operator=(const Registry &) = delete;
    ~Registry();

    const std::filesystem::path &path() const noexcept;

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

    /// The underlying connection (SpatiaLite loaded), for core's own analysis code.
    sqlite3 *handle() const noexcept;

private:
    struct Impl;
    explicit Registry(std::unique_ptr<Impl> impl);
    static Registry create_with(const std::filesystem::path &path,
                                const std::optional<crs::Definition> &crs);
    std::unique_ptr<Impl> m_impl;
};

} // namespace qiancun
