#include "store/store.hpp"

#include "ffi/geos.hpp"
#include "ffi/sqlite.hpp"
#include "qiancun/crs.hpp"
#include "qiancun/digest.hpp"
#include "qiancun/error.hpp"
#include "qiancun/log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <boost/geometry.hpp>

#include <boost/geometry/index/rtree.hpp>
#include <filesystem>

#include <algorithm>
#include <chrono>
#include <limits>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "qiancun/i18n.hpp"

namespace qiancun::store {

namespace {

/// Version 3: a kind taking points or polygons has a POINT `geom` and a MULTIPOLYGON
/// `footprint_geom` (version 1: one GEOMETRY column; version 2 named it `footprint`); older
/// versions are upgraded when opened.
constexpr int kSchemaVersion = 3;
/// Points within this distance of a village belong to it (SPEC §3 border rule), metres.
constexpr double kBorderTolM = 0.001;

namespace bgi = boost::geometry::index;

using ffi::quote_identifier;
using ffi::SqliteDb;
using ffi::SqliteStmt;

std::string sql_type(ValueType t) {
    switch (t) {
    case ValueType::integer:
    case ValueType::boolean:
    case ValueType::year:
        return "INTEGER";
    case ValueType::real:
        return "REAL";
    case ValueType::text:
    case ValueType::choice:
    case ValueType::date:
        return "TEXT";
    }
    return "TEXT";
}

std::string sql_string(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += '\'';
        out += c;
    }
    return out + "'";
}

/// Kinds whose rows carry a `village_code` link.
bool has_village_link(const KindDef &k) {
    return k.role == KindRole::settlement || k.role == KindRole::asset;
}

/// The geometry of a kind's rows as analysis reads it: the footprint where there is one.
std::string geometry_sql(const KindDef &k) {
    return has_footprint(k) ? "COALESCE(footprint_geom, geom)" : "geom";
}

bool table_exists(sqlite3 *db, std::string_view name) {
    SqliteStmt st(db, "SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND name = ?");
    st.bind_text(1, name);
    return st.step();
}

/// Drops the two tables SpatiaLite 5 makes that a registry never uses and that GDAL does not
/// count as SpatiaLite's own, so QGIS's OGR provider (which lists every table) offered them as
/// layers: the KNN virtual table (nearest-neighbour queries) and data_licenses (for raster and
/// vector coverages).
void drop_unused_spatialite_tables(const SqliteDb &db) {
    db.exec("DROP TABLE IF EXISTS KNN; DROP TABLE IF EXISTS data_licenses");
}

/// Rows from which a write inserts with SpatiaLite's per-row triggers of its table down and
/// does their work once, after the rows are in (BulkWrite). A write that brings fewer rows, or
/// less than a quarter of the table, keeps the triggers: the index is then rebuilt from the
/// whole table.
constexpr std::size_t kBulkRows = 2000;

/// A bulk write into one kind's table. SpatiaLite keeps a geometry column with triggers that
/// run for every row: `ggi_` checks type and SRID (a subquery on geometry_columns), `tmi_`/`tmu_`
/// stamp geometry_columns_time, `gii_`/`giu_`/`gid_` keep the R*Tree (formatting and parsing
/// one SQL statement per row). On a bulk import they cost more than the rows themselves. Like
/// GDAL, which builds the index after copying, the constructor drops these triggers (keeping
/// their SQL); finish() builds the R*Tree from the table in one statement, checks every
/// geometry's type and SRID in one pass, stamps geometry_columns_time once and restores the
/// triggers exactly as they were. All inside the caller's transaction: a failure rolls the
/// triggers and the index back with the rows. The update and delete checks (`ggu_`, `tmd_`)
/// stay on.
class BulkWrite {
public:
    BulkWrite(sqlite3 *db, const std::string &table) : m_db(db), m_table(table) {
        for (const char *prefix : {"ggi", "tmi", "tmu", "gii", "giu", "gid"}) {
            SqliteStmt st(db, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND "
                              "tbl_name = ? AND name = ?");
            st.bind_text(1, table).bind_text(2, fmt::format("{}_{}_geom", prefix, table));
            if (st.step())
                m_triggers.emplace_back(st.get_text(0), st.get_text(1));
        }
        for (const auto &[name, sql] : m_triggers)
            SqliteStmt(db, fmt::format("DROP TRIGGER {}", quote_identifier(name))).run();
    }

    /// Index, checks and stamps; restores the triggers. `source`/`layer` name the input in the
    /// error for a geometry the column does not take.
    void finish(bool inserted, bool updated, const std::string &source, const std::string &layer) {
        const std::string t = quote_identifier(m_table);
        if (has("gii")) {
            const std::string idx = quote_identifier("idx_" + m_table + "_geom");
            SqliteStmt(m_db, fmt::format("DELETE FROM {}", idx)).run();
            // What SpatiaLite's own index build inserts (the R*Tree rounds outwards to floats).
            SqliteStmt(m_db, fmt::format("INSERT INTO {} (pkid, xmin, xmax, ymin, ymax) SELECT "
                                         "fid, MbrMinX(geom), MbrMaxX(geom), MbrMinY(geom), "
                                         "MbrMaxY(geom) FROM {} WHERE MbrMinX(geom) IS NOT NULL",
                                         idx, t))
                .run();
        }
        if (has("ggi")) {
            SqliteStmt col(m_db, "SELECT geometry_type, srid FROM geometry_columns WHERE "
                                 "lower(f_table_name) = lower(?) AND f_geometry_column = 'geom'");
            col.bind_text(1, m_table);
            if (col.step()) {
                const auto type = col.get_int(0), srid = col.get_int(1);
                SqliteStmt bad(m_db, fmt::format("SELECT source_row FROM {} WHERE geom IS NOT NULL "
                                                 "AND GeometryConstraints(geom, ?, ?) IS NOT 1 "
                                                 "ORDER BY fid LIMIT 1",
                                                 t));
                bad.bind_int(1, type).bind_int(2, srid);
                if (bad.step())
                    throw InputError(source, layer,
                                     bad.is_null(0) ? std::nullopt : std::optional(bad.get_int(0)),
                                     fmt::format("{}.geom violates Geometry constraint [geom-type "
                                                 "or SRID not allowed]",
                                                 m_table));
            }
        }
        for (const auto &[prefix, column, done] :
             {std::tuple{"tmi", "last_insert", inserted}, {"tmu", "last_update", updated}})
            if (done && has(prefix)) {
                SqliteStmt stamp(m_db, fmt::format("UPDATE geometry_columns_time SET {} = "
                                                   "strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE "
                                                   "lower(f_table_name) = lower(?) AND "
                                                   "lower(f_geometry_column) = 'geom'",
                                                   column));
                stamp.bind_text(1, m_table).run();
            }
        for (const auto &[name, sql] : m_triggers)
            SqliteStmt(m_db, sql).run();
        m_triggers.clear();
    }

private:
    bool has(std::string_view prefix) const {
        const std::string name = fmt::format("{}_{}_geom", prefix, m_table);
        for (const auto &[n, sql] : m_triggers)
            if (n == name)
                return true;
        return false;
    }
    sqlite3 *m_db;
    std::string m_table;
    std::vector<std::pair<std::string, std::string>> m_triggers; ///< name, CREATE TRIGGER …
};

/// The catalogue of result layers: every table a command stored as its result, the only
/// tables a command may drop or replace. Names compare case-insensitively, as SQLite's do.
constexpr const char *kResultLayersDdl =
    "CREATE TABLE result_layers (name TEXT PRIMARY KEY COLLATE NOCASE, created_by TEXT NOT NULL, "
    "created_at TEXT NOT NULL)";

constexpr const char *kStatusHistoryDdl =
    "CREATE TABLE status_history (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, "
    "asset_id TEXT NOT NULL, status TEXT, valid_from TEXT NOT NULL, source TEXT, "
    "recorded_at TEXT NOT NULL); "
    "CREATE INDEX status_history_asset ON status_history(kind, asset_id, valid_from)";

/// Creates the status history of a registry made before it existed, seeded with every asset's
/// current status from the date of its last import.
void ensure_status_history(const SqliteDb &db, const std::vector<KindDef> &kinds) {
    if (table_exists(db.get(), "status_history"))
        return;
    db.exec(kStatusHistoryDdl);
    for (const auto &k : kinds) {
        if (!k.is_asset() || !table_exists(db.get(), k.key))
            continue;
        SqliteStmt seed(
            db.get(), fmt::format("INSERT INTO status_history(kind, asset_id, status, valid_from, "
                                  "source, recorded_at) SELECT ?, id, status, "
                                  "substr(updated_at, 1, 10), source_file, updated_at FROM {}",
                                  quote_identifier(k.key)));
        seed.bind_text(1, k.key).run();
    }
}

/// Raises `worst` to the largest scale error of the working CRS over the geometries of
/// `table`: at the four corners of each geometry's bounding box (one corner for a point), in
/// lon/lat by the inverse projection. Over a box a few km wide the scale error of the
/// transverse Mercator and conic projections is monotonic in longitude offset and latitude, so
/// its largest value lies at a corner.
void worst_scale_error(sqlite3 *db, const crs::ScaleGauge &gauge, const KindDef &kind,
                       std::optional<RegistryInfo::ScaleError> &worst) {
    const std::string &table = kind.key;
    SqliteStmt st(db, fmt::format("SELECT MbrMinX({0}), MbrMinY({0}), MbrMaxX({0}), "
                                  "MbrMaxY({0}) FROM {1} WHERE {0} IS NOT NULL",
                                  geometry_sql(kind), quote_identifier(table)));
    while (st.step()) {
        if (st.is_null(0))
            continue;
        const double x0 = st.get_double(0), y0 = st.get_double(1);
        const double x1 = st.get_double(2), y1 = st.get_double(3);
        if (!worst)
            worst = RegistryInfo::ScaleError{};
        ++worst->geometries;
        const std::array<std::pair<double, double>, 4> corners{
            std::pair{x0, y0}, std::pair{x1, y0}, std::pair{x0, y1}, std::pair{x1, y1}};
        const std::size_t n = (x0 == x1 && y0 == y1) ? 1 : corners.size();
        for (std::size_t i = 0; i < n; ++i) {
            const auto ll = gauge.to_lonlat(corners[i].first, corners[i].second);
            const double e =
                ll ? gauge.at(ll->first, ll->second) : std::numeric_limits<double>::infinity();
            if (worst->layer.empty() || e > worst->error) {
                worst->error = e;
                worst->lon = ll ? ll->first : 0.0;
                worst->lat = ll ? ll->second : 0.0;
                worst->layer = table;
            }
        }
    }
}

/// The villages of a registry as prepared polygons in an R-tree of their envelopes: the
/// SPEC §3 border rule for linking rows to villages.
class VillageIndex {
public:
    VillageIndex(sqlite3 *db, const std::filesystem::path &path) : m_ctx(ffi::geos_context()) {
        std::vector<std::pair<Box, std::size_t>> boxes;
        SqliteStmt vs(db, "SELECT code, AsBinary(geom) FROM village");
        while (vs.step()) {
            Village v{vs.get_text(0), ffi::read_wkb(m_ctx, vs.get_blob(1)), nullptr};
            v.prepared = ffi::prepare(m_ctx, v.geom.get());
            double minx = 0, miny = 0, maxx = 0, maxy = 0;
            // Each returns 0 on a GEOS exception (an empty geometry): never a box at 0, 0.
            if (GEOSGeom_getXMin_r(m_ctx.handle(), v.geom.get(), &minx) == 0 ||
                GEOSGeom_getYMin_r(m_ctx.handle(), v.geom.get(), &miny) == 0 ||
                GEOSGeom_getXMax_r(m_ctx.handle(), v.geom.get(), &maxx) == 0 ||
                GEOSGeom_getYMax_r(m_ctx.handle(), v.geom.get(), &maxy) == 0)
                throw DatabaseError(
                    fmt::format(fmt::runtime(_("{}: village {} has no extent (empty geometry?)")),
                                path.string(), v.code));
            boxes.emplace_back(Box({minx, miny}, {maxx, maxy}), m_villages.size());
            m_villages.push_back(std::move(v));
        }
        m_tree = Tree(boxes.begin(), boxes.end());
    }

    /// The code of the village a row's geometry (ISO WKB) belongs to: a point its own, a
    /// polygon by its point-on-surface; among villages within 1 mm the smallest code. Nothing
    /// when it is in no village; `problem` says why when there is no point to link by.
    const std::string *code_at(std::string_view wkb, std::string *problem = nullptr) const {
        auto g = ffi::read_wkb(m_ctx, wkb);
        const int type = GEOSGeomTypeId_r(m_ctx.handle(), g.get());
        if (type < 0) {
            if (problem)
                *problem = _("has a geometry GEOS cannot read");
            return nullptr;
        }
        if (type != GEOS_POINT)
            g = ffi::own(m_ctx, GEOSPointOnSurface_r(m_ctx.handle(), g.get()), "point on surface");
        // 0 on a GEOS exception (an empty point): never read as the point 0, 0.
        double x = 0, y = 0;
        if (GEOSGeomGetX_r(m_ctx.handle(), g.get(), &x) == 0 ||
            GEOSGeomGetY_r(m_ctx.handle(), g.get(), &y) == 0) {
            if (problem)
                *problem = _("has no point to link by (empty geometry?)");
            return nullptr;
        }
        const Box query({x - kBorderTolM, y - kBorderTolM}, {x + kBorderTolM, y + kBorderTolM});
        const std::string *best = nullptr;
        for (auto it = m_tree.qbegin(bgi::intersects(query)); it != m_tree.qend(); ++it) {
            const auto &v = m_villages[it->second];
            if ((!best || v.code < *best) &&
                ffi::predicate(m_ctx,
                               GEOSPreparedDistanceWithin_r(m_ctx.handle(), v.prepared.get(),
                                                            g.get(), kBorderTolM),
                               "distance within"))
                best = &v.code;
        }
        return best;
    }

private:
    using Box = boost::geometry::model::box<boost::geometry::model::d2::point_xy<double>>;
    using Tree = bgi::rtree<std::pair<Box, std::size_t>, bgi::rstar<16>>;
    struct Village {
        std::string code;
        ffi::GeosGeometry geom;
        ffi::GeosPrepared prepared;
    };
    ffi::GeosContext &m_ctx;
    std::vector<Village> m_villages;
    Tree m_tree;
};

class SpatiaLiteStore final : public Store {
public:
    Location where;
    std::filesystem::path path;
    SqliteDb m_db;
    std::vector<KindDef> m_kinds;
    std::optional<int> epsg;
    std::optional<int> srid; ///< set once the working CRS is fixed
    /// The working CRS's definition, read on first use (registries made before custom CRSs
    /// store only `crs_epsg`: their definition comes from PROJ's database).
    mutable std::optional<crs::Definition> definition;
    /// The villages for linking rows as they are written; within one transaction only.
    std::unique_ptr<VillageIndex> m_villages;

    SpatiaLiteStore(std::filesystem::path p, SqliteDb d)
        : where(Location::file(p)), path(std::move(p)), m_db(std::move(d)) {}

    /// Reads the working CRS from `meta`: `crs_srid` (absent before custom CRSs: the EPSG
    /// code), `crs_epsg` when it has one, `crs_wkt` and `crs_name`.
    void load_crs() {
        epsg.reset();
        srid.reset();
        definition.reset();
        if (auto e = meta("crs_epsg"))
            epsg = std::stoi(*e);
        if (auto s = meta("crs_srid"))
            srid = std::stoi(*s);
        else
            srid = epsg;
    }

    const crs::Definition &crs_definition() const {
        if (!definition) {
            auto wkt = meta("crs_wkt");
            if (wkt && !wkt->empty())
                definition = crs::Definition{*wkt, epsg, meta("crs_name").value_or("")};
            else if (epsg)
                definition = crs::from_epsg(*epsg);
            else
                throw DatabaseError(
                    fmt::format(fmt::runtime(_("{}: the working CRS has no definition in meta")),
                                path.string()));
        }
        return *definition;
    }

    std::optional<std::string> meta(std::string_view key) const override {
        SqliteStmt st(m_db.get(), "SELECT value FROM meta WHERE key = ?");
        st.bind_text(1, key);
        if (st.step())
            return st.get_text(0);
        return std::nullopt;
    }

    void set_meta(std::string_view key, std::string_view value) override {
        SqliteStmt st(m_db.get(), "INSERT INTO meta(key, value) VALUES(?, ?) "
                                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
        st.bind_text(1, key).bind_text(2, value).run();
    }

    void load_kinds() {
        m_kinds = builtin_kinds();
        if (auto toml = meta("asset_types"); toml && !toml->empty())
            // A kind stored before reserved names were refused still opens.
            for (auto &k : parse_kinds_toml(*toml, path.string() + " (meta.asset_types)", true))
                m_kinds.push_back(std::move(k));
        m_kinds =
            with_village_attributes(std::move(m_kinds), meta("village_attributes").value_or(""),
                                    path.string() + " (meta.village_attributes)");
    }

    /// Creates the table of a kind that has none yet; any other table, view or index of that
    /// name (in any case) is an error, never a reason to skip.
    void create_kind_table(const KindDef &k) {
        if (!srid)
            return;
        {
            SqliteStmt st(m_db.get(), "SELECT type, name FROM sqlite_master WHERE lower(name) = "
                                      "lower(?)");
            st.bind_text(1, k.key);
            if (st.step())
                throw DatabaseError(fmt::format(
                    fmt::runtime(
                        _("{}: cannot create the table of kind '{}': the database already has a {} "
                          "named '{}'")),
                    path.string(), k.key, st.get_text(0), st.get_text(1)));
        }
        const std::string t = quote_identifier(k.key);
        std::string cols = "fid INTEGER PRIMARY KEY AUTOINCREMENT";
        for (std::size_t i = 0; i < k.attributes.size(); ++i) {
            const auto &a = k.attributes[i];
            cols += fmt::format(", {} {}", quote_identifier(a.name), sql_type(a.type));
            if (i == 0)
                cols += " NOT NULL UNIQUE";
            else if (a.required)
                cols += " NOT NULL";
            if (a.type == ValueType::choice) {
                std::string list;
                for (const auto &c : a.choices)
                    list += (list.empty() ? "" : ", ") + sql_string(c);
                cols += fmt::format(" CHECK ({} IS NULL OR {} IN ({}))", quote_identifier(a.name),
                                    quote_identifier(a.name), list);
            }
        }
        if (has_village_link(k))
            cols += ", village_code TEXT";
        cols += ", source_file TEXT, source_row INTEGER, updated_at TEXT";
        m_db.exec(fmt::format("CREATE TABLE {} ({})", t, cols));
        if (k.is_event()) {
            // Events are looked up by their asset and date.
            m_db.exec(fmt::format("CREATE INDEX {} ON {}(asset_id, date)",
                                  quote_identifier(k.key + "_asset_date"), t));
            return;
        }
        SqliteStmt add(m_db.get(), "SELECT AddGeometryColumn(?, 'geom', ?, ?, 'XY', 1)");
        add.bind_text(1, k.key).bind_int(2, *srid).bind_text(3, geometry_type_name(k.geometry));
        if (!add.step() || add.get_int(0) != 1)
            throw DatabaseError(
                fmt::format(fmt::runtime(_("cannot add the geometry column of {}")), k.key));
        SqliteStmt idx(m_db.get(), "SELECT CreateSpatialIndex(?, 'geom')");
        idx.bind_text(1, k.key);
        if (!idx.step() || idx.get_int(0) != 1)
            throw DatabaseError(
                fmt::format(fmt::runtime(_("cannot create the spatial index of {}")), k.key));
        if (has_footprint(k))
            add_footprint_column(k);
        if (has_village_link(k))
            m_db.exec(fmt::format("CREATE INDEX {} ON {}(village_code)",
                                  quote_identifier(k.key + "_village_code"), t));
    }

    /// The nullable MULTIPOLYGON `footprint_geom` of a point-or-polygon kind, with its own index.
    void add_footprint_column(const KindDef &k) {
        SqliteStmt add(m_db.get(), "SELECT AddGeometryColumn(?, ?, ?, 'MULTIPOLYGON', 'XY')");
        add.bind_text(1, k.key).bind_text(2, kFootprintColumn).bind_int(3, *srid);
        if (!add.step() || add.get_int(0) != 1)
            throw DatabaseError(
                fmt::format(fmt::runtime(_("cannot add the footprint column of {}")), k.key));
        SqliteStmt idx(m_db.get(), "SELECT CreateSpatialIndex(?, ?)");
        idx.bind_text(1, k.key).bind_text(2, kFootprintColumn);
        if (!idx.step() || idx.get_int(0) != 1)
            throw DatabaseError(fmt::format(
                fmt::runtime(_("cannot create the spatial index of the footprints of {}")), k.key));
    }

    /// Version 1 → 2: the one GEOMETRY column of each point-or-polygon kind becomes a POINT
    /// `geom` (a polygon's point-on-surface) and a MULTIPOLYGON `footprint_geom`, each indexed.
    /// Inside the caller's transaction.
    void migrate_footprints() {
        auto *db = m_db.get();
        for (const auto &k : m_kinds) {
            if (!has_footprint(k) || !table_exists(db, k.key))
                continue;
            {
                SqliteStmt done(db, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
                done.bind_text(1, k.key).bind_text(2, kFootprintColumn);
                if (done.step())
                    continue;
            }
            const std::string t = quote_identifier(k.key);
            add_footprint_column(k);
            m_db.exec(fmt::format("UPDATE {} SET footprint_geom = CastToMultiPolygon(geom) "
                                  "WHERE geom IS NOT NULL AND GeometryType(geom) <> 'POINT'",
                                  t));
            // The point of each footprint, as import computes it (GEOS point-on-surface).
            std::vector<std::pair<std::int64_t, std::string>> points;
            {
                SqliteStmt rows(db, fmt::format("SELECT fid, AsBinary(footprint_geom) FROM {} "
                                                "WHERE footprint_geom IS NOT NULL",
                                                t));
                while (rows.step())
                    points.emplace_back(rows.get_int(0),
                                        split_point_or_polygon(rows.get_blob(1)).point);
            }
            SqliteStmt set(
                db, fmt::format("UPDATE {} SET geom = GeomFromWKB(?, {}) WHERE fid = ?", t, *srid));
            for (const auto &[fid, point] : points) {
                set.reset();
                set.bind_blob(1, point).bind_int(2, fid);
                set.run();
            }
            SqliteStmt retype(db, "SELECT DisableSpatialIndex(?, 'geom'), "
                                  "DiscardGeometryColumn(?, 'geom')");
            retype.bind_text(1, k.key).bind_text(2, k.key);
            retype.step();
            m_db.exec(
                fmt::format("DROP TABLE IF EXISTS {}", quote_identifier("idx_" + k.key + "_geom")));
            SqliteStmt recover(db, "SELECT RecoverGeometryColumn(?, 'geom', ?, 'POINT', 'XY')");
            recover.bind_text(1, k.key).bind_int(2, *srid);
            if (!recover.step() || recover.get_int(0) != 1)
                throw DatabaseError(
                    fmt::format(fmt::runtime(_("{}: cannot make the geometry column of {} a "
                                               "POINT column")),
                                path.string(), k.key));
            SqliteStmt idx(db, "SELECT CreateSpatialIndex(?, 'geom')");
            idx.bind_text(1, k.key);
            if (!idx.step() || idx.get_int(0) != 1)
                throw DatabaseError(
                    fmt::format(fmt::runtime(_("cannot create the spatial index of {}")), k.key));
        }
    }

    /// Version 2 → 3: `footprint` becomes `footprint_geom`, whose spatial index tables QGIS's OGR
    /// provider hides (it hides `idx_<table>_geom…` only). Inside the caller's transaction.
    void rename_footprints() {
        auto *db = m_db.get();
        for (const auto &k : m_kinds) {
            if (!has_footprint(k) || !table_exists(db, k.key))
                continue;
            {
                SqliteStmt old(db, "SELECT 1 FROM geometry_columns WHERE f_table_name = "
                                   "lower(?) AND f_geometry_column = 'footprint'");
                old.bind_text(1, k.key);
                if (!old.step())
                    continue;
            }
            const std::string t = quote_identifier(k.key);
            add_footprint_column(k);
            m_db.exec(fmt::format("UPDATE {} SET footprint_geom = footprint", t));
            SqliteStmt discard(db, "SELECT DisableSpatialIndex(?, 'footprint'), "
                                   "DiscardGeometryColumn(?, 'footprint')");
            discard.bind_text(1, k.key).bind_text(2, k.key);
            discard.step();
            m_db.exec(fmt::format("DROP TABLE IF EXISTS {}; ALTER TABLE {} DROP COLUMN footprint",
                                  quote_identifier("idx_" + k.key + "_footprint"), t));
        }
    }

    /// The schema version in `meta` (0 when unreadable), inside the writer's lock.
    int read_version_unlocked() const {
        const auto version = meta("schema_version");
        try {
            return version ? std::stoi(*version) : 0;
        } catch (const std::exception &) {
            return 0;
        }
    }

    const KindDef *find_kind(std::string_view key) const {
        for (const auto &k : m_kinds)
            if (k.key == key)
                return &k;
        return nullptr;
    }

    const Location &location() const noexcept override { return where; }
    std::string gdal_name() const override { return path.string(); }
    std::optional<int> working_epsg() const override { return epsg; }
    std::optional<int> working_srid() const override { return srid; }
    std::optional<crs::Definition> working_crs() const override {
        if (!srid)
            return std::nullopt;
        return crs_definition();
    }
    void set_working_crs(const crs::Definition &crs, std::optional<double> data_lon) override;
    const std::vector<KindDef> &kinds() const noexcept override { return m_kinds; }
    void add_kind(const KindDef &def) override;
    void add_village_attribute(const AttributeDef &attribute) override;
    void begin() override;
    void commit() override;
    void rollback() noexcept override;
    void write(const KindDef &kind, std::span<const Feature> features, WriteMode mode,
               ImportRecord &record) override;
    void link_villages(std::string_view kind) override;
    RegistryInfo info() const override;
    std::int64_t count(const KindDef &kind) const override;
    Rows list(const KindDef &kind, const ListFilter &filter) const override;
    std::vector<StatusChange> statuses_as_of(std::string_view date,
                                             std::string_view kind) const override;
    std::optional<std::string> statuses_known_from(const KindDef &kind) const override;
    std::vector<StatusChange> status_history(const KindDef &kind,
                                             std::string_view id) const override;
    std::string content_checksum() const override;
    bool has_table(std::string_view name) const override;
    void scan(const ScanRequest &request,
              const std::function<void(const ScanRow &)> &row) const override;
    std::unique_ptr<ResultLayerWriter> create_result_layer(const std::string &name,
                                                           const std::vector<ResultColumn> &columns,
                                                           const std::string &geometry_type,
                                                           std::string_view created_by) override;
    std::int64_t update_result_rows(const std::string &name,
                                    const std::vector<ResultColumn> &columns,
                                    std::span<const std::vector<Value>> rows) override;
    std::map<std::string, ChangeStamp> change_stamps() const override;
    std::vector<SpatialLayer> spatial_layers() const override;
    std::optional<double> column_max(std::string_view table,
                                     std::string_view column) const override;
    void save_layer_styles(const std::vector<TableStyles> &tables) override;
    void read_rows(std::string_view table, const std::vector<CopyColumn> &columns,
                   const std::function<void(std::span<const Value>)> &row) const override;
    void write_rows(std::string_view table, const std::vector<CopyColumn> &columns,
                    std::span<const std::vector<Value>> rows) override;
    std::vector<ResultColumn> result_columns(std::string_view table) const override;
};

} // namespace

std::unique_ptr<Store> create_spatialite(const std::filesystem::path &path,
                                         const std::optional<crs::Definition> &crs) {
    if (std::filesystem::exists(path))
        throw UsageError(fmt::format(
            fmt::runtime(_("{} already exists; open it, or remove it first")), path.string()));
    if (crs)
        crs::check_working(*crs); // before the file exists
    try {
        auto impl = std::make_unique<SpatiaLiteStore>(path, SqliteDb(path, true, false));
        auto &db = impl->m_db;
        db.exec("PRAGMA journal_mode = WAL");
        db.exec("BEGIN");
        SqliteStmt init(db.get(), "SELECT InitSpatialMetaData(0)");
        init.run();
        drop_unused_spatialite_tables(db);
        db.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
        db.exec(kResultLayersDdl);
        db.exec("CREATE TABLE import_log (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT "
                "NULL, source TEXT NOT NULL, layer TEXT, imported_at TEXT NOT NULL, rows_read "
                "INTEGER, inserted INTEGER, updated INTEGER, repaired INTEGER, rejected INTEGER, "
                "content_hash TEXT)");
        db.exec(kStatusHistoryDdl);
        impl->set_meta("schema_version", std::to_string(kSchemaVersion));
        impl->set_meta("created_at", now_utc());
        impl->set_meta("asset_types", "");
        impl->load_kinds();
        db.exec("COMMIT");
        if (crs)
            impl->set_working_crs(*crs, std::nullopt);
        return impl;
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove(path, ec);
        std::filesystem::remove(path.string() + "-wal", ec);
        std::filesystem::remove(path.string() + "-shm", ec);
        throw;
    }
}

std::unique_ptr<Store> open_spatialite(const std::filesystem::path &path, bool read_only) {
    if (!std::filesystem::exists(path))
        throw UsageError(
            fmt::format(fmt::runtime(_("{} does not exist; create it with 'qiancun init {}'")),
                        path.string(), path.string()));
    auto impl = std::make_unique<SpatiaLiteStore>(path, SqliteDb(path, false, read_only));
    if (!table_exists(impl->m_db.get(), "meta"))
        throw DatabaseError(fmt::format(
            fmt::runtime(_("{} is not a qiancun registry (no meta table)")), path.string()));
    const auto read_version = [&] {
        const auto version = impl->meta("schema_version");
        int v = 0;
        try {
            v = version ? std::stoi(*version) : 0;
        } catch (const std::exception &) {
            v = 0;
        }
        if (v < 1 || v > kSchemaVersion)
            throw DatabaseError(
                fmt::format(fmt::runtime(_("{} has schema version {}, this qiancun reads {}")),
                            path.string(), version.value_or("?"), kSchemaVersion));
        return v;
    };
    if (const int v = read_version(); v < kSchemaVersion) {
        // Any command upgrades an older registry in place, readers too (through a writing
        // connection of their own), all or nothing.
        try {
            auto writer = std::make_unique<SpatiaLiteStore>(path, SqliteDb(path, false, false));
            writer->begin();
            try {
                if (writer->read_version_unlocked() < kSchemaVersion) {
                    writer->load_crs();
                    writer->load_kinds();
                    if (v < 2 && writer->srid)
                        writer->migrate_footprints();
                    if (v < 2)
                        drop_unused_spatialite_tables(writer->m_db);
                    if (v == 2 && writer->srid)
                        writer->rename_footprints();
                    writer->set_meta("schema_version", std::to_string(kSchemaVersion));
                }
            } catch (...) {
                writer->rollback();
                throw;
            }
            writer->commit();
        } catch (const DatabaseError &e) {
            throw DatabaseError(
                fmt::format(fmt::runtime(_("{} has schema version {} and could not be upgraded "
                                           "to {}: {}")),
                            path.string(), v, kSchemaVersion, e.what()));
        }
    }
    // A reader sees one committed state for its whole life, however many queries it runs
    // while a writer commits (WAL keeps its snapshot); closing ends the read transaction.
    if (read_only)
        impl->m_db.exec("BEGIN DEFERRED; SELECT COUNT(*) FROM sqlite_master");
    read_version();
    impl->load_crs();
    impl->load_kinds();
    return impl;
}

void SpatiaLiteStore::set_working_crs(const crs::Definition &wanted,
                                      std::optional<double> data_lon) {
    if (srid) {
        const auto &current = crs_definition();
        if (!crs::same(current, wanted))
            throw UsageError(fmt::format(fmt::runtime(_("the working CRS of {} is already {}")),
                                         path.string(), current.describe()));
        return;
    }
    crs::check_working(wanted, data_lon);
    auto *db = m_db.get();
    const bool outer = sqlite3_get_autocommit(db) != 0;
    if (outer)
        m_db.exec("BEGIN IMMEDIATE");
    try {
        int srid = 0;
        if (wanted.epsg) {
            srid = *wanted.epsg;
            SqliteStmt check(db, "SELECT 1 FROM spatial_ref_sys WHERE srid = ?");
            check.bind_int(1, srid);
            if (!check.step()) {
                // SpatiaLite's own list lacks this code: add it from PROJ's database.
                SqliteStmt ins(db,
                               "INSERT INTO spatial_ref_sys(srid, auth_name, auth_srid, "
                               "ref_sys_name, proj4text, srtext) VALUES(?, 'epsg', ?, ?, ?, ?)");
                ins.bind_int(1, srid)
                    .bind_int(2, srid)
                    .bind_text(3, wanted.name)
                    .bind_text(4, crs::proj_string(wanted))
                    .bind_text(5, crs::wkt1(wanted, false));
                ins.run();
            }
        } else {
            // A custom CRS gets the first free SRID from 900001 on, registered under the
            // authority "qiancun" with its PROJ string and WKT, which GDAL and QGIS read.
            SqliteStmt free(db, "SELECT MAX(MAX(srid) + 1, 900001) FROM spatial_ref_sys "
                                "WHERE srid >= 900001");
            free.step();
            srid = free.is_null(0) ? 900001 : static_cast<int>(free.get_int(0));
            SqliteStmt ins(db, "INSERT INTO spatial_ref_sys(srid, auth_name, auth_srid, "
                               "ref_sys_name, proj4text, srtext) VALUES(?, 'qiancun', ?, ?, ?, ?)");
            ins.bind_int(1, srid)
                .bind_int(2, srid)
                .bind_text(3, wanted.name.empty() || wanted.name == "unknown"
                                  ? std::string("qiancun working CRS")
                                  : wanted.name)
                .bind_text(4, crs::proj_string(wanted))
                .bind_text(5, crs::wkt1(wanted, false));
            ins.run();
        }
        if (wanted.epsg)
            set_meta("crs_epsg", std::to_string(*wanted.epsg));
        set_meta("crs_srid", std::to_string(srid));
        set_meta("crs_wkt", wanted.wkt);
        set_meta("crs_name", wanted.name);
        epsg = wanted.epsg;
        this->srid = srid;
        definition = wanted;
        for (const auto &k : m_kinds)
            create_kind_table(k);
        if (outer)
            m_db.exec("COMMIT");
    } catch (...) {
        epsg.reset();
        srid.reset();
        definition.reset();
        if (outer)
            m_db.exec("ROLLBACK");
        throw;
    }
}

void SpatiaLiteStore::add_kind(const KindDef &def) {
    m_kinds.push_back(def);
    std::vector<KindDef> configured;
    for (const auto &k : m_kinds)
        if (!k.builtin)
            configured.push_back(k);
    set_meta("asset_types", kinds_to_toml(configured));
    create_kind_table(m_kinds.back());
}

void SpatiaLiteStore::add_village_attribute(const AttributeDef &a) {
    auto village = std::find_if(m_kinds.begin(), m_kinds.end(),
                                [](const KindDef &k) { return k.role == KindRole::village; });
    if (village == m_kinds.end())
        throw DatabaseError(fmt::format("{}: no village kind", path.string()));
    village->attributes.push_back(a);
    set_meta("village_attributes",
             village_attributes_to_toml(configured_village_attributes(*village)));
    if (!table_exists(m_db.get(), village->key))
        return; // created with the column once the CRS is fixed
    std::string column = fmt::format("{} {}", quote_identifier(a.name), sql_type(a.type));
    if (a.type == ValueType::choice) {
        std::string list;
        for (const auto &c : a.choices)
            list += (list.empty() ? "" : ", ") + sql_string(c);
        column += fmt::format(" CHECK ({} IS NULL OR {} IN ({}))", quote_identifier(a.name),
                              quote_identifier(a.name), list);
    }
    // Rows already there have no value: a required attribute is required of imports from now.
    m_db.exec(fmt::format("ALTER TABLE {} ADD COLUMN {}", quote_identifier(village->key), column));
}

void SpatiaLiteStore::begin() {
    m_villages.reset();
    // 64 MiB of page cache instead of SQLite's 2 MB: a large write otherwise spills and
    // rewrites index pages into the WAL over and over (province load: 2.5 s of system time
    // against 1.1 s). Pages are only allocated as they are used.
    m_db.exec("PRAGMA cache_size = -65536");
    m_db.exec("BEGIN IMMEDIATE");
    m_db.note_writer();
}

void SpatiaLiteStore::rollback() noexcept {
    m_villages.reset();
    m_db.clear_writer_note();
    try {
        m_db.exec("ROLLBACK");
        // Configured kinds added inside the transaction are gone again.
        load_kinds();
        load_crs();
    } catch (...) {
        // Never throws; the connection rolls back on close anyway.
    }
}

void SpatiaLiteStore::commit() {
    m_villages.reset();
    m_db.exec("COMMIT");
    m_db.clear_writer_note();
}

void SpatiaLiteStore::write(const KindDef &kind, std::span<const Feature> features, WriteMode mode,
                            ImportRecord &record) {
    if (sqlite3_get_autocommit(m_db.get()) != 0)
        throw Error(fmt::format("writing {} to {} outside a transaction: open a "
                                "Registry::Transaction first, so that a failure leaves nothing",
                                kind.key, path.string()));
    if (!srid)
        throw UsageError(_("the registry has no working CRS yet"));
    if (!table_exists(m_db.get(), kind.key))
        create_kind_table(kind);
    auto *db = m_db.get();
    const std::string t = quote_identifier(kind.key);
    const std::string &key = kind.key_field();

    const auto seen = check_write(kind, features, record); // key -> row
    const WriteStamp when = write_stamp(record);
    const std::string &stamp = when.stamp;
    const std::string &valid_from = when.valid_from;

    // Status history (assets only): the status each key had before this write.
    const bool track = kind.is_asset() && kind.attribute_index("status") >= 0;
    const std::size_t status_index =
        track ? static_cast<std::size_t>(kind.attribute_index("status")) : 0;
    std::unordered_map<std::string, std::string> before;
    std::optional<SqliteStmt> history;
    if (track) {
        ensure_status_history(m_db, m_kinds);
        SqliteStmt old(db, fmt::format("SELECT {}, status FROM {}", quote_identifier(key), t));
        while (old.step())
            before.emplace(old.get_text(0), old.is_null(1) ? std::string() : old.get_text(1));
        history.emplace(db, "INSERT INTO status_history(kind, asset_id, status, valid_from, "
                            "source, recorded_at) VALUES(?, ?, ?, ?, ?, ?)");
    }
    auto record_status = [&](const std::string &id, const Value &status) {
        history->reset();
        history->bind_text(1, kind.key).bind_text(2, id).bind(3, status);
        history->bind_text(4, valid_from).bind_text(5, record.source).bind_text(6, stamp);
        history->run();
    };

    // Rows already in the table: none means no key can be known and a bulk write may take
    // the triggers down (kBulkRows).
    std::int64_t existing = 0;
    {
        SqliteStmt rows(db, fmt::format("SELECT COUNT(*) FROM {}", t));
        rows.step();
        existing = rows.get_int(0);
    }
    std::optional<BulkWrite> bulk;
    if (features.size() >= kBulkRows && features.size() * 4 >= static_cast<std::size_t>(existing))
        bulk.emplace(db, kind.key);
    if (mode == WriteMode::replace) {
        m_db.exec(fmt::format("DELETE FROM {}", t));
        existing = 0;
        if (track)
            for (const auto &[id, status] : before)
                if (!seen.count(id))
                    record_status(id, Value{});
    }

    // Rows are linked to their village as they are written (link_villages then finds nothing
    // to change); villages move every link, so a village write drops the cached villages.
    const bool link = has_village_link(kind) && kind.geometry != GeometryKind::line &&
                      table_exists(db, "village");
    if (kind.role == KindRole::village)
        m_villages.reset();
    if (link && !m_villages)
        m_villages = std::make_unique<VillageIndex>(db, path);

    std::string names, params, updates;
    for (const auto &a : kind.attributes) {
        names += quote_identifier(a.name) + ", ";
        params += "?, ";
        if (&a != &kind.attributes.front())
            updates += fmt::format("{0} = excluded.{0}, ", quote_identifier(a.name));
    }
    const bool spatial = kind.geometry != GeometryKind::none;
    names += spatial ? "source_file, source_row, updated_at, geom"
                     : "source_file, source_row, updated_at";
    params += spatial ? fmt::format("?, ?, ?, GeomFromWKB(?, {})", *srid) : std::string("?, ?, ?");
    updates += "source_file = excluded.source_file, source_row = excluded.source_row, "
               "updated_at = excluded.updated_at";
    if (spatial)
        updates += ", geom = excluded.geom";
    const bool footprint = has_footprint(kind);
    if (footprint) {
        names += ", footprint_geom";
        params += fmt::format(", CastToMultiPolygon(GeomFromWKB(?, {}))", *srid);
        updates += ", footprint_geom = excluded.footprint_geom";
    }
    if (link) {
        names += ", village_code";
        params += ", ?";
        updates += ", village_code = excluded.village_code";
    }
    SqliteStmt upsert(db, fmt::format("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT({}) DO UPDATE "
                                      "SET {}",
                                      t, names, params, quote_identifier(key), updates));
    SqliteStmt exists(db, fmt::format("SELECT source_file, source_row FROM {} WHERE {} = ?", t,
                                      quote_identifier(key)));
    const auto file_name = [](const std::string &path) {
        return std::filesystem::path(path).filename().string();
    };
    const std::string this_file = file_name(record.source);

    record.imported_at = stamp;
    record.inserted = 0;
    record.updated = 0;
    for (const auto &f : features) {
        bool known = false;
        if (existing > 0) {
            exists.reset();
            exists.bind(1, f.values.front());
            known = exists.step();
        }
        if (known && mode == WriteMode::upsert) {
            // Re-importing a source updates its rows; an id that another department's file
            // already brought is two assets claiming one id, unless the user says this source
            // takes it over.
            const std::string other = exists.is_null(0) ? std::string() : exists.get_text(0);
            if (file_name(other) != this_file)
                throw InputError(
                    record.source, record.layer, f.row,
                    fmt::format(
                        fmt::runtime(
                            _("{} '{}' is already in the registry from {}{}; re-import that "
                              "source to update it, or import this one with --update (manifest: "
                              "update = true) to let it take the id over")),
                        key, std::get<std::string>(f.values.front()),
                        other.empty() ? std::string(_("another source")) : file_name(other),
                        exists.is_null(1) ? std::string()
                                          : fmt::format(" (row {})", exists.get_int(1))));
        }
        upsert.reset();
        int i = 1;
        for (const auto &v : f.values)
            upsert.bind(i++, v);
        upsert.bind_text(i++, record.source);
        upsert.bind_int(i++, f.row);
        upsert.bind_text(i++, stamp);
        if (footprint) {
            const auto split = split_point_or_polygon(f.wkb);
            upsert.bind_blob(i++, split.point);
            if (split.footprint)
                upsert.bind_blob(i++, *split.footprint);
            else
                upsert.bind_null(i++);
        } else if (spatial) {
            upsert.bind_blob(i++, f.wkb);
        }
        if (link) {
            if (const auto *code = m_villages->code_at(f.wkb))
                upsert.bind_text(i++, *code);
            else
                upsert.bind_null(i++);
        }
        try {
            upsert.run();
        } catch (const DatabaseError &e) {
            throw InputError(record.source, record.layer, f.row, e.what());
        }
        ++(known ? record.updated : record.inserted);
        if (track) {
            const auto &id = std::get<std::string>(f.values.front());
            const Value &status = f.values[status_index];
            const auto it = before.find(id);
            if (it == before.end() || it->second != value_to_text(status))
                record_status(id, status);
        }
    }

    if (bulk)
        bulk->finish(record.inserted > 0, record.updated > 0, record.source, record.layer);

    SqliteStmt log(db, "INSERT INTO import_log(kind, source, layer, imported_at, rows_read, "
                       "inserted, updated, repaired, rejected, content_hash) "
                       "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    log.bind_text(1, kind.key)
        .bind_text(2, record.source)
        .bind_text(3, record.layer)
        .bind_text(4, record.imported_at)
        .bind_int(5, record.rows_read)
        .bind_int(6, record.inserted)
        .bind_int(7, record.updated)
        .bind_int(8, record.repaired)
        .bind_int(9, record.rejected)
        .bind_text(10, record.content_hash)
        .run();
}

void SpatiaLiteStore::link_villages(std::string_view only_kind) {
    if (!srid || !table_exists(m_db.get(), "village"))
        return;
    auto *db = m_db.get();
    if (!m_villages)
        m_villages = std::make_unique<VillageIndex>(db, path);
    for (const auto &k : m_kinds) {
        if (!has_village_link(k) || k.geometry == GeometryKind::line ||
            (!only_kind.empty() && k.key != only_kind) || !table_exists(db, k.key))
            continue;
        const std::string t = quote_identifier(k.key);
        // Only links that change are written (rows written since the villages were are
        // linked already).
        std::vector<std::pair<std::int64_t, const std::string *>> changes;
        {
            SqliteStmt rows(db, fmt::format("SELECT fid, village_code, AsBinary({}) FROM {}",
                                            geometry_sql(k), t));
            std::string problem;
            while (rows.step()) {
                const std::string *best = m_villages->code_at(rows.get_blob(2), &problem);
                if (!problem.empty())
                    throw DatabaseError(fmt::format(fmt::runtime(_("{}: {} row {} {}")),
                                                    path.string(), k.key, rows.get_int(0),
                                                    problem));
                const bool had = !rows.is_null(1);
                if (had != (best != nullptr) || (best && rows.get_text(1) != *best))
                    changes.emplace_back(rows.get_int(0), best);
            }
        }
        SqliteStmt update(db, fmt::format("UPDATE {} SET village_code = ? WHERE fid = ?", t));
        for (const auto &[fid, code] : changes) {
            update.reset();
            if (code)
                update.bind_text(1, *code);
            else
                update.bind_null(1);
            update.bind_int(2, fid);
            update.run();
        }
    }
}

std::int64_t SpatiaLiteStore::count(const KindDef &k) const {
    if (!table_exists(m_db.get(), k.key))
        return 0;
    SqliteStmt st(m_db.get(), fmt::format("SELECT COUNT(*) FROM {}", quote_identifier(k.key)));
    st.step();
    return st.get_int(0);
}

RegistryInfo SpatiaLiteStore::info() const {
    RegistryInfo info;
    info.path = path;
    info.schema_version = kSchemaVersion;
    info.epsg = epsg;
    info.srid = srid;
    std::optional<crs::ScaleGauge> gauge;
    if (info.srid) {
        const auto &definition = crs_definition();
        info.crs_name = definition.name;
        info.crs_proj = crs::proj_string(definition);
        gauge.emplace(definition);
    }
    auto *db = m_db.get();
    for (const auto &k : m_kinds) {
        LayerInfo li;
        li.kind = k.key;
        li.label = k.label;
        li.builtin = k.builtin;
        li.geometry_type = geometry_type_name(k.geometry);
        if (table_exists(db, k.key) && k.geometry == GeometryKind::none) {
            li.count = count(k);
        } else if (table_exists(db, k.key)) {
            SqliteStmt st(db, fmt::format("SELECT COUNT(*), MIN(MbrMinX({0})), MIN(MbrMinY({0})), "
                                          "MAX(MbrMaxX({0})), MAX(MbrMaxY({0})) FROM {1}",
                                          geometry_sql(k), quote_identifier(k.key)));
            st.step();
            li.count = st.get_int(0);
            if (li.count > 0 && !st.is_null(1))
                li.extent = std::array<double, 4>{st.get_double(1), st.get_double(2),
                                                  st.get_double(3), st.get_double(4)};
            if (gauge && li.count > 0)
                worst_scale_error(db, *gauge, k, info.scale_error);
        }
        info.layers.push_back(std::move(li));
    }
    SqliteStmt log(db,
                   "SELECT kind, source, layer, imported_at, rows_read, inserted, updated, "
                   "repaired, rejected, content_hash FROM import_log ORDER BY id DESC LIMIT 20");
    while (log.step()) {
        ImportRecord r;
        r.kind = log.get_text(0);
        r.source = log.get_text(1);
        r.layer = log.get_text(2);
        r.imported_at = log.get_text(3);
        r.rows_read = log.get_int(4);
        r.inserted = log.get_int(5);
        r.updated = log.get_int(6);
        r.repaired = log.get_int(7);
        r.rejected = log.get_int(8);
        r.content_hash = log.get_text(9);
        info.last_imports.push_back(std::move(r));
    }
    return info;
}

Rows SpatiaLiteStore::list(const KindDef &k, const ListFilter &filter) const {
    Rows rows;
    auto *db = m_db.get();
    if (!table_exists(db, k.key))
        return rows;
    const std::string t = quote_identifier(k.key);
    std::string cols;
    for (const auto &a : k.attributes)
        cols += quote_identifier(a.name) + ", ";
    if (has_village_link(k))
        cols += "village_code, ";
    cols += "source_file, source_row, updated_at";
    if (filter.with_wkt && k.geometry != GeometryKind::none)
        cols += fmt::format(", AsBinary({}) AS wkt", geometry_sql(k));

    std::string where = "1";
    std::vector<std::string> params; // every filter value is text
    // Roads and other lines belong to every village they cross; `villages` is a subquery of
    // codes bound to `param`.
    auto in_villages = [&](const std::string &villages) {
        if (k.role == KindRole::village)
            return fmt::format(" AND code IN ({})", villages);
        // An event belongs to its asset's village.
        if (k.is_event())
            return fmt::format(" AND asset_id IN (SELECT id FROM {} WHERE village_code IN ({}))",
                               quote_identifier(k.asset_kind), villages);
        if (has_village_link(k) && k.geometry != GeometryKind::line)
            return fmt::format(" AND village_code IN ({})", villages);
        return fmt::format(
            " AND EXISTS (SELECT 1 FROM village v WHERE v.code IN ({0}) AND ST_Intersects({1}.geom,"
            " v.geom) = 1 AND {1}.ROWID IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = {2}"
            " AND f_geometry_column = 'geom' AND search_frame = v.geom))",
            villages, t, sql_string(k.key));
    };
    if (filter.village_code) {
        params.emplace_back(*filter.village_code);
        where += in_villages(fmt::format("?{}", params.size()));
    }
    if (filter.township) {
        params.emplace_back(*filter.township);
        where += in_villages(
            fmt::format("SELECT code FROM village WHERE township = ?{}", params.size()));
    }
    if (filter.status) {
        params.push_back(*filter.status);
        where += fmt::format(" AND status = ?{}", params.size());
    }
    // Events by asset, then date: each asset's history reads downwards.
    std::string sql = fmt::format("SELECT {} FROM {} WHERE {} ORDER BY {}", cols, t, where,
                                  k.is_event() ? std::string("asset_id, date, id")
                                               : quote_identifier(k.key_field()));
    if (filter.limit)
        sql += fmt::format(" LIMIT {}", *filter.limit);
    SqliteStmt st(db, sql);
    for (std::size_t i = 0; i < params.size(); ++i)
        st.bind_text(static_cast<int>(i + 1), params[i]);
    for (int i = 0; i < st.columns(); ++i)
        rows.columns.push_back(st.column_name(i));
    const int wkt_column =
        filter.with_wkt && k.geometry != GeometryKind::none ? st.columns() - 1 : -1;
    while (st.step()) {
        std::vector<Value> row;
        for (int i = 0; i < st.columns(); ++i) {
            row.push_back(st.get_value(i));
            if (i == wkt_column)
                if (const auto *wkb = std::get_if<std::string>(&row.back()))
                    row.back() = list_wkt(*wkb);
        }
        rows.rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<StatusChange> SpatiaLiteStore::statuses_as_of(std::string_view date,
                                                          std::string_view kind_key) const {
    if (!is_iso_date(date))
        throw UsageError(fmt::format(fmt::runtime(_("'{}' is not a date YYYY-MM-DD")), date));
    auto *db = m_db.get();
    const bool has_history = table_exists(db, "status_history");
    std::vector<StatusChange> out;
    for (const auto &k : m_kinds) {
        if (!k.is_asset() || (!kind_key.empty() && k.key != kind_key) || !table_exists(db, k.key))
            continue;
        const std::string t = quote_identifier(k.key);
        // Latest entry valid on the date per asset; assets with no entry at all fall back to
        // their current row.
        const std::string sql =
            has_history
                ? fmt::format(
                      "SELECT asset_id, status, valid_from, source FROM ("
                      " SELECT asset_id, status, valid_from, source, row_number() OVER ("
                      "  PARTITION BY asset_id ORDER BY valid_from DESC, id DESC) AS n"
                      " FROM status_history WHERE kind = ?1 AND valid_from <= ?2) WHERE n = 1"
                      " UNION ALL SELECT id, status, substr(updated_at, 1, 10), source_file"
                      " FROM {0} WHERE substr(updated_at, 1, 10) <= ?2 AND id NOT IN"
                      " (SELECT asset_id FROM status_history WHERE kind = ?1)"
                      " ORDER BY 1",
                      t)
                : fmt::format("SELECT id, status, substr(updated_at, 1, 10), source_file "
                              "FROM {} WHERE ?1 = ?1 AND substr(updated_at, 1, 10) <= ?2 "
                              "ORDER BY 1",
                              t);
        SqliteStmt st(db, sql);
        st.bind_text(1, k.key).bind_text(2, date);
        while (st.step()) {
            if (st.is_null(1))
                continue; // removed by then
            out.push_back({k.key, st.get_text(0), st.get_text(1), st.get_text(2),
                           st.is_null(3) ? std::string() : st.get_text(3)});
        }
    }
    return out;
}

std::optional<std::string> SpatiaLiteStore::statuses_known_from(const KindDef &k) const {
    auto *db = m_db.get();
    std::optional<std::string> first;
    auto consider = [&](SqliteStmt &st) {
        if (st.step() && !st.is_null(0) && (!first || st.get_text(0) < *first))
            first = st.get_text(0);
    };
    const bool has_history = table_exists(db, "status_history");
    if (has_history) {
        SqliteStmt st(db, "SELECT MIN(valid_from) FROM status_history WHERE kind = ?");
        st.bind_text(1, k.key);
        consider(st);
    }
    if (table_exists(db, k.key)) {
        SqliteStmt st(db, fmt::format("SELECT MIN(substr(updated_at, 1, 10)) FROM {} WHERE {}",
                                      quote_identifier(k.key),
                                      has_history ? "id NOT IN (SELECT asset_id FROM "
                                                    "status_history WHERE kind = ?1)"
                                                  : "?1 = ?1"));
        st.bind_text(1, k.key);
        consider(st);
    }
    return first;
}

std::vector<StatusChange> SpatiaLiteStore::status_history(const KindDef &k,
                                                          std::string_view id) const {
    std::vector<StatusChange> out;
    auto *db = m_db.get();
    if (!table_exists(db, "status_history"))
        return out;
    SqliteStmt st(db, "SELECT status, valid_from, source FROM status_history "
                      "WHERE kind = ? AND asset_id = ? ORDER BY valid_from, id");
    st.bind_text(1, k.key).bind_text(2, id);
    while (st.step())
        out.push_back({k.key, std::string(id), st.is_null(0) ? std::string() : st.get_text(0),
                       st.get_text(1), st.is_null(2) ? std::string() : st.get_text(2)});
    return out;
}

std::string SpatiaLiteStore::content_checksum() const {
    auto *db = m_db.get();
    Sha256 h;
    std::vector<std::string> tables{"meta", "import_log"};
    if (table_exists(db, "status_history"))
        tables.push_back("status_history");
    for (const auto &k : m_kinds)
        if (table_exists(db, k.key))
            tables.push_back(k.key);
    for (const auto &t : tables) {
        h.update(t);
        SqliteStmt st(db, fmt::format("SELECT * FROM {} ORDER BY 1", quote_identifier(t)));
        while (st.step()) {
            for (int i = 0; i < st.columns(); ++i) {
                const auto v = st.get_value(i);
                h.update(std::string(1, static_cast<char>('0' + v.index())));
                h.update(value_to_text(v));
                h.update(std::string_view("\x1f", 1));
            }
            h.update("\n");
        }
    }
    return h.hex();
}

bool SpatiaLiteStore::has_table(std::string_view name) const {
    return table_exists(m_db.get(), name);
}

void SpatiaLiteStore::scan(const ScanRequest &request,
                           const std::function<void(const ScanRow &)> &row) const {
    auto *db = m_db.get();
    if (!table_exists(db, request.table))
        throw DatabaseError(fmt::format(fmt::runtime(_("{}: no table '{}' to read")), path.string(),
                                        request.table));
    std::unordered_set<std::string> known;
    {
        SqliteStmt info(db, "SELECT name FROM pragma_table_info(?)");
        info.bind_text(1, request.table);
        while (info.step())
            known.insert(info.get_text(0));
    }
    const auto column = [&](const std::string &name) {
        if (!known.count(name))
            throw DatabaseError(fmt::format(fmt::runtime(_("{}: table '{}' has no column '{}'")),
                                            path.string(), request.table, name));
        return quote_identifier(name);
    };
    std::string select;
    for (const auto &c : request.columns)
        select += column(c) + ", ";
    // Geometry parts after the attributes, each at a fixed offset.
    const int n = static_cast<int>(request.columns.size());
    // A kind's footprint stands for its point where there is one.
    const bool footprint = known.count(kFootprintColumn) && find_kind(request.table) &&
                           has_footprint(*find_kind(request.table));
    select += known.count("geom")
                  ? fmt::format("{0} IS NULL, AsBinary({0}), X({0}), Y({0}), MbrMinX({0}), "
                                "MbrMinY({0}), MbrMaxX({0}), MbrMaxY({0})",
                                footprint ? "COALESCE(footprint_geom, geom)" : "geom")
                  : "1, NULL, NULL, NULL, NULL, NULL, NULL, NULL";
    std::string where;
    std::vector<const Value *> params;
    for (const auto &c : request.where) {
        where += where.empty() ? " WHERE " : " AND ";
        const std::string col = column(c.column);
        switch (c.op) {
        case ScanCondition::Op::equals:
            params.push_back(&c.value);
            where += fmt::format("{} = ?{}", col, params.size());
            break;
        case ScanCondition::Op::is_null:
            where += col + " IS NULL";
            break;
        case ScanCondition::Op::is_not_null:
            where += col + " IS NOT NULL";
            break;
        }
    }
    std::string order;
    for (const auto &c : request.order_by)
        order += (order.empty() ? " ORDER BY " : ", ") + column(c);
    std::string sql =
        fmt::format("SELECT {} FROM {}{}{}", select, quote_identifier(request.table), where, order);
    if (request.limit)
        sql += fmt::format(" LIMIT {}", *request.limit);
    SqliteStmt st(db, sql);
    for (std::size_t i = 0; i < params.size(); ++i)
        st.bind(static_cast<int>(i + 1), *params[i]);
    ScanRow out;
    while (st.step()) {
        out.values.clear();
        for (int i = 0; i < n; ++i)
            out.values.push_back(st.get_value(i));
        out.wkb.clear();
        out.xy.reset();
        out.bbox.reset();
        if (st.get_int(n) == 0) {
            if (request.wkb)
                out.wkb = st.get_blob(n + 1);
            if (request.xy && !st.is_null(n + 2))
                out.xy = std::pair{st.get_double(n + 2), st.get_double(n + 3)};
            if (request.bbox && !st.is_null(n + 4))
                out.bbox = std::array<double, 4>{st.get_double(n + 4), st.get_double(n + 5),
                                                 st.get_double(n + 6), st.get_double(n + 7)};
        }
        row(out);
    }
}

namespace {

bool exists_ci(sqlite3 *db, const std::string &name) {
    SqliteStmt st(db, "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') "
                      "AND lower(name) = lower(?)");
    st.bind_text(1, name);
    return st.step();
}

std::string lower_ascii(std::string s) {
    for (auto &c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

/// Runs a SpatiaLite function of (table, 'geom') that answers 1 on success.
void call(sqlite3 *db, const std::string &function, const std::string &table) {
    SqliteStmt st(db, fmt::format("SELECT {}(?, 'geom')", function));
    st.bind_text(1, table);
    if (!st.step() || st.get_int(0) != 1)
        throw DatabaseError(fmt::format("{}('{}', 'geom') failed", function, table));
}

bool is_kind_table(const std::vector<KindDef> &kinds, std::string_view name) {
    for (const auto &k : kinds)
        if (lower_ascii(k.key) == lower_ascii(std::string(name)))
            return true;
    return false;
}

/// Creates the catalogue in a registry made before it existed, listing the tables that can
/// only be results: named like one and no kind's table.
void ensure_catalogue(sqlite3 *db, const std::vector<KindDef> &kinds) {
    if (exists_ci(db, "result_layers"))
        return;
    SqliteStmt(db, kResultLayersDdl).run();
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
        if (is_kind_table(kinds, name))
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
        SqliteStmt(
            db, fmt::format("DROP TABLE IF EXISTS {}", quote_identifier("idx_" + table + "_geom")))
            .run();
        call(db, "DiscardGeometryColumn", table);
    }
    // Rows SpatiaLite keeps about the column elsewhere; foreign-key cascades are off by default.
    for (const char *aux : {"geometry_columns_auth", "geometry_columns_statistics",
                            "geometry_columns_field_infos", "geometry_columns_time"}) {
        if (!exists_ci(db, aux))
            continue;
        SqliteStmt del(db, fmt::format("DELETE FROM {} WHERE lower(f_table_name) = lower(?)", aux));
        del.bind_text(1, table).run();
    }
    if (exists_ci(db, table))
        SqliteStmt(db, fmt::format("DROP TABLE {}", quote_identifier(table))).run();
}

std::string column_sql_type(ColumnType t) {
    switch (t) {
    case ColumnType::text:
        return "TEXT";
    case ColumnType::integer:
        return "INTEGER";
    case ColumnType::real:
        return "REAL";
    case ColumnType::boolean:
        return "BOOLEAN";
    }
    return "TEXT";
}

class SpatiaLiteLayerWriter final : public ResultLayerWriter {
public:
    SpatiaLiteLayerWriter(SqliteStmt insert, std::size_t columns)
        : m_insert(std::move(insert)), m_columns(columns) {}

    void add(std::span<const Value> values, std::string_view wkb) override {
        if (values.size() != m_columns)
            throw Error(fmt::format(fmt::runtime(_("a result row of {} values for {} columns")),
                                    values.size(), m_columns));
        m_insert.reset();
        int i = 1;
        for (const auto &v : values)
            m_insert.bind(i++, v);
        if (wkb.empty())
            m_insert.bind_null(i);
        else
            m_insert.bind_blob(i, wkb);
        m_insert.run();
    }

private:
    SqliteStmt m_insert;
    std::size_t m_columns;
};

} // namespace

std::unique_ptr<ResultLayerWriter> SpatiaLiteStore::create_result_layer(
    const std::string &table, const std::vector<ResultColumn> &columns,
    const std::string &geometry_type, std::string_view created_by) {
    if (!srid)
        throw UsageError(fmt::format(fmt::runtime(_("{} has no working CRS yet")), path.string()));
    sqlite3 *db = m_db.get();
    ensure_catalogue(db, m_kinds);
    if (const auto existing = existing_name(db, table)) {
        if (!catalogued(db, *existing))
            throw DatabaseError(fmt::format(
                fmt::runtime(
                    _("{}: cannot store the result layer '{}': the registry has a table '{}' that "
                      "holds {}, not a result qiancun wrote; it is left as it is")),
                path.string(), table, *existing,
                is_kind_table(m_kinds, *existing)
                    ? fmt::format(fmt::runtime(_("the kind '{}'")), *existing)
                    : std::string(_("other data"))));
        drop_spatial_table(db, *existing);
    }
    std::string defs = "fid INTEGER PRIMARY KEY AUTOINCREMENT";
    for (const auto &c : columns)
        defs += fmt::format(", {} {}", quote_identifier(c.name), column_sql_type(c.type));
    SqliteStmt(db, fmt::format("CREATE TABLE {} ({})", quote_identifier(table), defs)).run();
    SqliteStmt add(db, "SELECT AddGeometryColumn(?, 'geom', ?, ?, 'XY')");
    add.bind_text(1, table).bind_int(2, *srid).bind_text(3, geometry_type);
    if (!add.step() || add.get_int(0) != 1)
        throw DatabaseError(
            fmt::format(fmt::runtime(_("cannot add the geometry column of {}")), table));
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
    return std::make_unique<SpatiaLiteLayerWriter>(
        SqliteStmt(db, fmt::format("INSERT INTO {} ({}geom) VALUES ({}GeomFromWKB(?, {}))",
                                   quote_identifier(table), names, params, *srid)),
        columns.size());
}

std::int64_t SpatiaLiteStore::update_result_rows(const std::string &name,
                                                 const std::vector<ResultColumn> &columns,
                                                 std::span<const std::vector<Value>> rows) {
    sqlite3 *db = m_db.get();
    if (sqlite3_get_autocommit(db) != 0)
        throw Error(fmt::format("updating {} in {} outside a transaction", name, path.string()));
    if (!exists_ci(db, "result_layers") || !catalogued(db, name) || !table_exists(db, name))
        throw DatabaseError(fmt::format(
            fmt::runtime(_("{}: '{}' is no result layer of the registry")), path.string(), name));
    std::string sets;
    for (std::size_t i = 1; i < columns.size(); ++i)
        sets +=
            fmt::format("{}{} = ?{}", i > 1 ? ", " : "", quote_identifier(columns[i].name), i + 1);
    SqliteStmt update(db, fmt::format("UPDATE {} SET {} WHERE {} = ?1", quote_identifier(name),
                                      sets, quote_identifier(columns.front().name)));
    std::int64_t updated = 0;
    for (const auto &row : rows) {
        if (row.size() != columns.size())
            throw Error(fmt::format(fmt::runtime(_("a result row of {} values for {} columns")),
                                    row.size(), columns.size()));
        update.reset();
        int i = 1;
        for (const auto &v : row)
            update.bind(i++, v);
        update.run();
        if (sqlite3_changes(db) != 1)
            throw DatabaseError(fmt::format(fmt::runtime(_("{}: {} has no row with {} = {}")),
                                            path.string(), name, columns.front().name,
                                            value_to_text(row.front())));
        ++updated;
    }
    return updated;
}

std::map<std::string, ChangeStamp> SpatiaLiteStore::change_stamps() const {
    std::map<std::string, ChangeStamp> stamps;
    SqliteStmt st(m_db.get(), "SELECT kind, MAX(id) FROM import_log GROUP BY kind");
    while (st.step())
        stamps[st.get_text(0)].import_id = st.get_int(1);
    return stamps;
}

namespace {

constexpr const char *kStyleOwner = "qiancun";

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

std::vector<SpatialLayer> SpatiaLiteStore::spatial_layers() const {
    auto *db = m_db.get();
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
            const bool geometry = std::any_of(out.begin(), out.end(), [&](const SpatialLayer &g) {
                return g.table == layer.table && g.geometry_column == name;
            });
            if (rowid_key || geometry)
                continue;
            layer.columns.push_back(std::move(name));
        }
    }
    return out;
}

std::optional<double> SpatiaLiteStore::column_max(std::string_view table,
                                                  std::string_view column) const {
    SqliteStmt st(m_db.get(), fmt::format("SELECT MAX({}) FROM {}", quote_identifier(column),
                                          quote_identifier(table)));
    if (!st.step() || st.is_null(0))
        return std::nullopt;
    return st.get_double(0);
}

void SpatiaLiteStore::save_layer_styles(const std::vector<TableStyles> &tables) {
    auto *db = m_db.get();
    const bool own = sqlite3_get_autocommit(db) != 0; // else part of the caller's transaction
    if (own)
        begin();
    try {
        SqliteStmt(db, kLayerStylesDdl).run();
        SqliteStmt(db, "DELETE FROM layer_styles WHERE owner = ?").bind_text(1, kStyleOwner).run();
        SqliteStmt user_default(db, "SELECT 1 FROM layer_styles WHERE f_table_name = ? AND "
                                    "useAsDefault = 1 AND (owner IS NULL OR owner <> ?)");
        SqliteStmt insert(db, "INSERT INTO layer_styles(f_table_catalog, f_table_schema, "
                              "f_table_name, f_geometry_column, styleName, styleQML, styleSLD, "
                              "useAsDefault, description, owner, ui) "
                              "VALUES('', ?, ?, ?, ?, ?, '', ?, ?, ?, '')");
        for (const auto &t : tables) {
            user_default.reset();
            user_default.bind_text(1, t.table).bind_text(2, kStyleOwner);
            const bool theirs = user_default.step();
            for (const auto &style : t.styles) {
                for (const bool spatialite_row : {true, false}) {
                    insert.reset();
                    if (spatialite_row)
                        insert.bind_null(1);
                    else
                        insert.bind_text(1, "");
                    // GDAL names the layer of a table's second geometry column
                    // `table(column)`, and QGIS's OGR provider looks its styles up by that name.
                    insert.bind_text(2, spatialite_row || t.geometry_column == "geom"
                                            ? t.table
                                            : t.table + "(" + t.geometry_column + ")");
                    insert.bind_text(3, t.geometry_column);
                    insert.bind_text(4, style.name).bind_text(5, style.qml);
                    insert.bind_int(6, style.is_default && !theirs ? 1 : 0);
                    insert.bind_text(7, style.description).bind_text(8, kStyleOwner);
                    insert.run();
                }
            }
        }
    } catch (...) {
        if (own)
            rollback();
        throw;
    }
    if (own)
        commit();
}

std::vector<ResultColumn> SpatiaLiteStore::result_columns(std::string_view table) const {
    auto *db = m_db.get();
    std::set<std::string> geometry;
    {
        SqliteStmt st(db, "SELECT f_geometry_column FROM geometry_columns WHERE "
                          "lower(f_table_name) = lower(?)");
        st.bind_text(1, table);
        while (st.step())
            geometry.insert(st.get_text(0));
    }
    SqliteStmt st(db, "SELECT name, upper(type), pk FROM pragma_table_info(?)");
    st.bind_text(1, table);
    std::vector<ResultColumn> out;
    while (st.step()) {
        std::string name = st.get_text(0);
        const std::string type = st.get_text(1);
        if ((st.get_int(2) == 1 && type == "INTEGER") || geometry.count(name))
            continue;
        ResultColumn c{std::move(name), ColumnType::text};
        if (type == "INTEGER")
            c.type = ColumnType::integer;
        else if (type == "REAL" || type == "DOUBLE")
            c.type = ColumnType::real;
        else if (type == "BOOLEAN")
            c.type = ColumnType::boolean;
        out.push_back(std::move(c));
    }
    return out;
}

void SpatiaLiteStore::read_rows(std::string_view table, const std::vector<CopyColumn> &columns,
                                const std::function<void(std::span<const Value>)> &row) const {
    if (columns.empty())
        throw Error(fmt::format("reading {}: no columns", table));
    std::string select;
    for (const auto &c : columns)
        select += (select.empty() ? "" : ", ") +
                  (c.geometry ? fmt::format("AsBinary({})", quote_identifier(c.name))
                              : quote_identifier(c.name));
    SqliteStmt st(m_db.get(),
                  fmt::format("SELECT {} FROM {} ORDER BY {}", select, quote_identifier(table),
                              quote_identifier(columns.front().name)));
    std::vector<Value> values(columns.size());
    while (st.step()) {
        for (std::size_t c = 0; c < columns.size(); ++c)
            values[c] = st.get_value(static_cast<int>(c));
        row(values);
    }
}

void SpatiaLiteStore::write_rows(std::string_view table, const std::vector<CopyColumn> &columns,
                                 std::span<const std::vector<Value>> rows) {
    if (sqlite3_get_autocommit(m_db.get()) != 0)
        throw Error(fmt::format("writing {} to {} outside a transaction", table, path.string()));
    if (columns.empty())
        throw Error(fmt::format("writing {}: no columns", table));
    std::string names, params, updates;
    for (const auto &c : columns) {
        const std::string sep = names.empty() ? "" : ", ";
        const std::string name = quote_identifier(c.name);
        if (!names.empty())
            updates += fmt::format("{}{} = excluded.{}", updates.empty() ? "" : ", ", name, name);
        names += sep + name;
        params += sep + (c.geometry ? fmt::format("GeomFromWKB(?, {})", srid.value_or(0)) : "?");
    }
    SqliteStmt insert(m_db.get(),
                      fmt::format("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT({}) DO {}",
                                  quote_identifier(table), names, params,
                                  quote_identifier(columns.front().name),
                                  updates.empty() ? "NOTHING" : "UPDATE SET " + updates));
    for (const auto &r : rows) {
        if (r.size() != columns.size())
            throw Error(fmt::format("a row of {} values for the {} columns of {}", r.size(),
                                    columns.size(), table));
        insert.reset();
        for (std::size_t c = 0; c < r.size(); ++c) {
            const auto *wkb = std::get_if<std::string>(&r[c]);
            if (columns[c].geometry && wkb)
                insert.bind_blob(static_cast<int>(c + 1), *wkb);
            else
                insert.bind(static_cast<int>(c + 1), r[c]);
        }
        insert.run();
    }
}

} // namespace qiancun::store
