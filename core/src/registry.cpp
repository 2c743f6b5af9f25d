#include "qiancun/registry.hpp"

#include "ffi/geos.hpp"
#include "ffi/sqlite.hpp"
#include "metrics/spatial_table.hpp"
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

#include <chrono>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace qiancun {

namespace {

constexpr int kSchemaVersion = 1;
/// Points within this distance of a village belong to it (SPEC §3 border rule), metres.
constexpr double kBorderTolM = 0.001;

using ffi::quote_identifier;
using ffi::SqliteDb;
using ffi::SqliteStmt;

std::string now_utc() {
    auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", now);
}

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
        return "TEXT";
    }
    return "TEXT";
}

std::string spatialite_geometry_type(GeometryKind g) {
    switch (g) {
    case GeometryKind::point:
        return "POINT";
    case GeometryKind::line:
        return "MULTILINESTRING";
    case GeometryKind::polygon:
        return "MULTIPOLYGON";
    case GeometryKind::point_or_polygon:
        return "GEOMETRY";
    }
    return "GEOMETRY";
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

bool table_exists(sqlite3 *db, std::string_view name) {
    SqliteStmt st(db, "SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND name = ?");
    st.bind_text(1, name);
    return st.step();
}

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
void worst_scale_error(sqlite3 *db, const crs::ScaleGauge &gauge, const std::string &table,
                       std::optional<RegistryInfo::ScaleError> &worst) {
    SqliteStmt st(db, fmt::format("SELECT MbrMinX(geom), MbrMinY(geom), MbrMaxX(geom), "
                                  "MbrMaxY(geom) FROM {} WHERE geom IS NOT NULL",
                                  quote_identifier(table)));
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

} // namespace

bool is_iso_date(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-')
        return false;
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (text[i] < '0' || text[i] > '9')
            return false;
    const int y = std::stoi(std::string(text.substr(0, 4)));
    const int m = std::stoi(std::string(text.substr(5, 2)));
    const int d = std::stoi(std::string(text.substr(8, 2)));
    const std::chrono::year_month_day ymd{std::chrono::year{y},
                                          std::chrono::month{static_cast<unsigned>(m)},
                                          std::chrono::day{static_cast<unsigned>(d)}};
    return ymd.ok();
}

struct Registry::Impl {
    std::filesystem::path path;
    SqliteDb db;
    std::vector<KindDef> kinds;
    std::optional<int> epsg;
    std::optional<int> srid; ///< set once the working CRS is fixed
    /// The working CRS's definition, read on first use (registries made before custom CRSs
    /// store only `crs_epsg`: their definition comes from PROJ's database).
    mutable std::optional<crs::Definition> definition;

    Impl(std::filesystem::path p, SqliteDb d) : path(std::move(p)), db(std::move(d)) {}

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

    const crs::Definition &working_crs() const {
        if (!definition) {
            auto wkt = meta("crs_wkt");
            if (wkt && !wkt->empty())
                definition = crs::Definition{*wkt, epsg, meta("crs_name").value_or("")};
            else if (epsg)
                definition = crs::from_epsg(*epsg);
            else
                throw DatabaseError(
                    fmt::format("{}: the working CRS has no definition in meta", path.string()));
        }
        return *definition;
    }

    std::optional<std::string> meta(std::string_view key) const {
        SqliteStmt st(db.get(), "SELECT value FROM meta WHERE key = ?");
        st.bind_text(1, key);
        if (st.step())
            return st.get_text(0);
        return std::nullopt;
    }

    void set_meta(std::string_view key, std::string_view value) {
        SqliteStmt st(db.get(), "INSERT INTO meta(key, value) VALUES(?, ?) "
                                "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
        st.bind_text(1, key).bind_text(2, value).run();
    }

    void load_kinds() {
        kinds = builtin_kinds();
        if (auto toml = meta("asset_types"); toml && !toml->empty())
            // A kind stored before reserved names were refused still opens.
            for (auto &k : parse_kinds_toml(*toml, path.string() + " (meta.asset_types)", true))
                kinds.push_back(std::move(k));
    }

    /// Creates the table of a kind that has none yet; any other table, view or index of that
    /// name (in any case) is an error, never a reason to skip.
    void create_kind_table(const KindDef &k) {
        if (!srid)
            return;
        {
            SqliteStmt st(db.get(), "SELECT type, name FROM sqlite_master WHERE lower(name) = "
                                    "lower(?)");
            st.bind_text(1, k.key);
            if (st.step())
                throw DatabaseError(fmt::format(
                    "{}: cannot create the table of kind '{}': the database already has a {} "
                    "named '{}'",
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
        db.exec(fmt::format("CREATE TABLE {} ({})", t, cols));
        SqliteStmt add(db.get(), "SELECT AddGeometryColumn(?, 'geom', ?, ?, 'XY', 1)");
        add.bind_text(1, k.key).bind_int(2, *srid).bind_text(3,
                                                             spatialite_geometry_type(k.geometry));
        if (!add.step() || add.get_int(0) != 1)
            throw DatabaseError(fmt::format("cannot add the geometry column of {}", k.key));
        SqliteStmt idx(db.get(), "SELECT CreateSpatialIndex(?, 'geom')");
        idx.bind_text(1, k.key);
        if (!idx.step() || idx.get_int(0) != 1)
            throw DatabaseError(fmt::format("cannot create the spatial index of {}", k.key));
        if (has_village_link(k))
            db.exec(fmt::format("CREATE INDEX {} ON {}(village_code)",
                                quote_identifier(k.key + "_village_code"), t));
    }

    const KindDef *find_kind(std::string_view key) const {
        for (const auto &k : kinds)
            if (k.key == key)
                return &k;
        return nullptr;
    }
};

Registry::Registry(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Registry::Registry(Registry &&) noexcept = default;
Registry &Registry::operator=(Registry &&) noexcept = default;
Registry::~Registry() = default;

Registry Registry::create(const std::filesystem::path &path, std::optional<int> epsg) {
    if (!epsg)
        return create_with(path, std::nullopt);
    return create_with(path, crs::from_epsg(*epsg));
}

Registry Registry::create(const std::filesystem::path &path, const crs::Definition &crs) {
    return create_with(path, crs);
}

Registry Registry::create_with(const std::filesystem::path &path,
                               const std::optional<crs::Definition> &crs) {
    if (std::filesystem::exists(path))
        throw UsageError(
            fmt::format("{} already exists; open it, or remove it first", path.string()));
    if (crs)
        crs::check_working(*crs); // before the file exists
    try {
        auto impl = std::make_unique<Impl>(path, SqliteDb(path, true, false));
        auto &db = impl->db;
        db.exec("PRAGMA journal_mode = WAL");
        db.exec("BEGIN");
        SqliteStmt init(db.get(), "SELECT InitSpatialMetaData(0)");
        init.run();
        db.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
        db.exec(metrics::kResultLayersDdl);
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
        Registry r(std::move(impl));
        if (crs)
            r.set_working_crs(*crs);
        return r;
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove(path, ec);
        std::filesystem::remove(path.string() + "-wal", ec);
        std::filesystem::remove(path.string() + "-shm", ec);
        throw;
    }
}

Registry Registry::open(const std::filesystem::path &path, bool read_only) {
    if (!std::filesystem::exists(path))
        throw UsageError(fmt::format("{} does not exist; create it with 'qiancun init {}'",
                                     path.string(), path.string()));
    auto impl = std::make_unique<Impl>(path, SqliteDb(path, false, read_only));
    // A reader sees one committed state for its whole life, however many queries it runs
    // while a writer commits (WAL keeps its snapshot); closing ends the read transaction.
    if (read_only)
        impl->db.exec("BEGIN DEFERRED; SELECT COUNT(*) FROM sqlite_master");
    if (!table_exists(impl->db.get(), "meta"))
        throw DatabaseError(
            fmt::format("{} is not a qiancun registry (no meta table)", path.string()));
    auto version = impl->meta("schema_version");
    if (!version || std::stoi(*version) != kSchemaVersion)
        throw DatabaseError(fmt::format("{} has schema version {}, this qiancun reads {}",
                                        path.string(), version.value_or("?"), kSchemaVersion));
    impl->load_crs();
    impl->load_kinds();
    return Registry(std::move(impl));
}

const std::filesystem::path &Registry::path() const noexcept {
    return m_impl->path;
}

std::optional<int> Registry::working_epsg() const {
    return m_impl->epsg;
}

std::optional<int> Registry::working_srid() const {
    return m_impl->srid;
}

std::optional<crs::Definition> Registry::working_crs() const {
    if (!m_impl->srid)
        return std::nullopt;
    return m_impl->working_crs();
}

void Registry::set_working_epsg(int epsg) {
    set_working_crs(crs::from_epsg(epsg));
}

void Registry::set_working_crs(const crs::Definition &definition, std::optional<double> data_lon) {
    if (m_impl->srid) {
        const auto &current = m_impl->working_crs();
        if (!crs::same(current, definition))
            throw UsageError(fmt::format("the working CRS of {} is already {}",
                                         m_impl->path.string(), current.describe()));
        return;
    }
    crs::check_working(definition, data_lon);
    auto *db = m_impl->db.get();
    const bool outer = sqlite3_get_autocommit(db) != 0;
    if (outer)
        m_impl->db.exec("BEGIN IMMEDIATE");
    try {
        int srid = 0;
        if (definition.epsg) {
            srid = *definition.epsg;
            SqliteStmt check(db, "SELECT 1 FROM spatial_ref_sys WHERE srid = ?");
            check.bind_int(1, srid);
            if (!check.step()) {
                // SpatiaLite's own list lacks this code: add it from PROJ's database.
                SqliteStmt ins(db,
                               "INSERT INTO spatial_ref_sys(srid, auth_name, auth_srid, "
                               "ref_sys_name, proj4text, srtext) VALUES(?, 'epsg', ?, ?, ?, ?)");
                ins.bind_int(1, srid)
                    .bind_int(2, srid)
                    .bind_text(3, definition.name)
                    .bind_text(4, crs::proj_string(definition))
                    .bind_text(5, crs::wkt1(definition, false));
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
                .bind_text(3, definition.name.empty() || definition.name == "unknown"
                                  ? std::string("qiancun working CRS")
                                  : definition.name)
                .bind_text(4, crs::proj_string(definition))
                .bind_text(5, crs::wkt1(definition, false));
            ins.run();
        }
        if (definition.epsg)
            m_impl->set_meta("crs_epsg", std::to_string(*definition.epsg));
        m_impl->set_meta("crs_srid", std::to_string(srid));
        m_impl->set_meta("crs_wkt", definition.wkt);
        m_impl->set_meta("crs_name", definition.name);
        m_impl->epsg = definition.epsg;
        m_impl->srid = srid;
        m_impl->definition = definition;
        for (const auto &k : m_impl->kinds)
            m_impl->create_kind_table(k);
        if (outer)
            m_impl->db.exec("COMMIT");
    } catch (...) {
        m_impl->epsg.reset();
        m_impl->srid.reset();
        m_impl->definition.reset();
        if (outer)
            m_impl->db.exec("ROLLBACK");
        throw;
    }
}

const std::vector<KindDef> &Registry::kinds() const noexcept {
    return m_impl->kinds;
}

const KindDef &Registry::kind(std::string_view key) const {
    if (const auto *k = m_impl->find_kind(key))
        return *k;
    std::string known;
    for (const auto &k : m_impl->kinds)
        known += (known.empty() ? "" : ", ") + k.key;
    throw UsageError(fmt::format("unknown kind '{}'; known kinds: {}", key, known));
}

void Registry::add_kind(const KindDef &def) {
    if (const auto *existing = m_impl->find_kind(def.key)) {
        if (existing->builtin)
            throw UsageError(fmt::format("'{}' is a built-in kind", def.key));
        if (kinds_to_toml({*existing}) != kinds_to_toml({def}))
            throw UsageError(fmt::format("asset type '{}' is already defined differently in {}",
                                         def.key, m_impl->path.string()));
        return;
    }
    if (is_reserved_table_name(def.key))
        throw UsageError(fmt::format("asset type key '{}' is reserved for the registry's own "
                                     "tables and result layers",
                                     def.key));
    m_impl->kinds.push_back(def);
    std::vector<KindDef> configured;
    for (const auto &k : m_impl->kinds)
        if (!k.builtin)
            configured.push_back(k);
    m_impl->set_meta("asset_types", kinds_to_toml(configured));
    m_impl->create_kind_table(m_impl->kinds.back());
}

Registry::Transaction::Transaction(Registry &registry) : m_registry(&registry) {
    registry.m_impl->db.exec("BEGIN IMMEDIATE");
    registry.m_impl->db.note_writer();
}

Registry::Transaction::~Transaction() {
    if (!m_done) {
        m_registry->m_impl->db.clear_writer_note();
        try {
            m_registry->m_impl->db.exec("ROLLBACK");
            // Configured kinds added inside the transaction are gone again.
            m_registry->m_impl->load_kinds();
            m_registry->m_impl->load_crs();
        } catch (...) {
            // A destructor must not throw; the connection rolls back on close anyway.
        }
    }
}

void Registry::Transaction::commit() {
    m_registry->m_impl->db.exec("COMMIT");
    m_registry->m_impl->db.clear_writer_note();
    m_done = true;
}

void Registry::write(const KindDef &kind, std::span<const Feature> features, WriteMode mode,
                     ImportRecord &record) {
    if (sqlite3_get_autocommit(m_impl->db.get()) != 0)
        throw Error(fmt::format("writing {} to {} outside a transaction: open a "
                                "Registry::Transaction first, so that a failure leaves nothing",
                                kind.key, m_impl->path.string()));
    if (!m_impl->srid)
        throw UsageError("the registry has no working CRS yet");
    if (!table_exists(m_impl->db.get(), kind.key))
        m_impl->create_kind_table(kind);
    auto *db = m_impl->db.get();
    const std::string t = quote_identifier(kind.key);
    const std::string &key = kind.key_field();

    std::unordered_map<std::string, std::int64_t> seen;
    for (const auto &f : features) {
        if (f.values.size() != kind.attributes.size())
            throw Error(fmt::format("feature of row {} has {} values, {} expects {}", f.row,
                                    f.values.size(), kind.key, kind.attributes.size()));
        const auto *k = std::get_if<std::string>(&f.values.front());
        if (!k || k->empty())
            throw InputError(record.source, record.layer, f.row, fmt::format("{} is empty", key));
        auto [it, inserted] = seen.emplace(*k, f.row);
        if (!inserted)
            throw InputError(record.source, record.layer, f.row,
                             fmt::format("{} '{}' appears twice in the source (rows {} and {})",
                                         key, *k, it->second, f.row));
    }

    if (!record.effective_date.empty() && !is_iso_date(record.effective_date))
        throw UsageError(
            fmt::format("effective date '{}' is not a date YYYY-MM-DD", record.effective_date));
    const std::string stamp = now_utc();
    const std::string valid_from =
        record.effective_date.empty() ? stamp.substr(0, 10) : record.effective_date;

    // Status history (assets only): the status each key had before this write.
    const bool track = kind.is_asset() && kind.attribute_index("status") >= 0;
    const std::size_t status_index =
        track ? static_cast<std::size_t>(kind.attribute_index("status")) : 0;
    std::unordered_map<std::string, std::string> before;
    std::optional<SqliteStmt> history;
    if (track) {
        ensure_status_history(m_impl->db, m_impl->kinds);
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

    if (mode == WriteMode::replace) {
        m_impl->db.exec(fmt::format("DELETE FROM {}", t));
        if (track)
            for (const auto &[id, status] : before)
                if (!seen.count(id))
                    record_status(id, Value{});
    }

    std::string names, params, updates;
    for (const auto &a : kind.attributes) {
        names += quote_identifier(a.name) + ", ";
        params += "?, ";
        if (&a != &kind.attributes.front())
            updates += fmt::format("{0} = excluded.{0}, ", quote_identifier(a.name));
    }
    names += "source_file, source_row, updated_at, geom";
    params += fmt::format("?, ?, ?, GeomFromWKB(?, {})", *m_impl->srid);
    updates += "source_file = excluded.source_file, source_row = excluded.source_row, "
               "updated_at = excluded.updated_at, geom = excluded.geom";
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
        exists.reset();
        exists.bind(1, f.values.front());
        const bool known = exists.step();
        if (known && mode == WriteMode::upsert) {
            // Re-importing a source updates its rows; an id that another department's file
            // already brought is two assets claiming one id, unless the user says this source
            // takes it over.
            const std::string other = exists.is_null(0) ? std::string() : exists.get_text(0);
            if (file_name(other) != this_file)
                throw InputError(
                    record.source, record.layer, f.row,
                    fmt::format("{} '{}' is already in the registry from {}{}; re-import that "
                                "source to update it, or import this one with --update (manifest: "
                                "update = true) to let it take the id over",
                                key, std::get<std::string>(f.values.front()),
                                other.empty() ? std::string("another source") : file_name(other),
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
        upsert.bind_blob(i++, f.wkb);
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

void Registry::link_villages(std::string_view only_kind) {
    if (!m_impl->srid || !table_exists(m_impl->db.get(), "village"))
        return;
    auto *db = m_impl->db.get();
    auto &ctx = ffi::geos_context();
    namespace bgi = boost::geometry::index;
    using Box = boost::geometry::model::box<boost::geometry::model::d2::point_xy<double>>;

    // Villages once: prepared polygons in an R-tree of their envelopes.
    struct Village {
        std::string code;
        ffi::GeosGeometry geom;
        ffi::GeosPrepared prepared;
    };
    std::vector<Village> villages;
    std::vector<std::pair<Box, std::size_t>> boxes;
    SqliteStmt vs(db, "SELECT code, AsBinary(geom) FROM village");
    while (vs.step()) {
        Village v{vs.get_text(0), ffi::read_wkb(ctx, vs.get_blob(1)), nullptr};
        v.prepared = ffi::prepare(ctx, v.geom.get());
        double minx = 0, miny = 0, maxx = 0, maxy = 0;
        // Each returns 0 on a GEOS exception (an empty geometry): never a box at 0, 0.
        if (GEOSGeom_getXMin_r(ctx.handle(), v.geom.get(), &minx) == 0 ||
            GEOSGeom_getYMin_r(ctx.handle(), v.geom.get(), &miny) == 0 ||
            GEOSGeom_getXMax_r(ctx.handle(), v.geom.get(), &maxx) == 0 ||
            GEOSGeom_getYMax_r(ctx.handle(), v.geom.get(), &maxy) == 0)
            throw DatabaseError(fmt::format("{}: village {} has no extent (empty geometry?)",
                                            path().string(), v.code));
        boxes.emplace_back(Box({minx, miny}, {maxx, maxy}), villages.size());
        villages.push_back(std::move(v));
    }
    bgi::rtree<std::pair<Box, std::size_t>, bgi::rstar<16>> tree(boxes.begin(), boxes.end());

    for (const auto &k : m_impl->kinds) {
        if (!has_village_link(k) || k.geometry == GeometryKind::line ||
            (!only_kind.empty() && k.key != only_kind) || !table_exists(db, k.key))
            continue;
        const std::string t = quote_identifier(k.key);
        SqliteStmt rows(db, fmt::format("SELECT fid, AsBinary(geom) FROM {}", t));
        SqliteStmt update(db, fmt::format("UPDATE {} SET village_code = ? WHERE fid = ?", t));
        while (rows.step()) {
            auto g = ffi::read_wkb(ctx, rows.get_blob(1));
            // Polygon assets belong by their point-on-surface; a point is its own.
            const int type = GEOSGeomTypeId_r(ctx.handle(), g.get());
            if (type < 0)
                throw DatabaseError(fmt::format("{}: cannot read the geometry of {} row {}",
                                                path().string(), k.key, rows.get_int(0)));
            if (type != GEOS_POINT)
                g = ffi::own(ctx, GEOSPointOnSurface_r(ctx.handle(), g.get()), "point on surface");
            // 0 on a GEOS exception (an empty point): never read as the point 0, 0.
            double x = 0, y = 0;
            if (GEOSGeomGetX_r(ctx.handle(), g.get(), &x) == 0 ||
                GEOSGeomGetY_r(ctx.handle(), g.get(), &y) == 0)
                throw DatabaseError(fmt::format("{}: {} row {} has no point to link by (empty "
                                                "geometry?)",
                                                path().string(), k.key, rows.get_int(0)));
            const Box query({x - kBorderTolM, y - kBorderTolM}, {x + kBorderTolM, y + kBorderTolM});
            // SPEC §3 border rule: among villages within 1 mm, the smallest code.
            const std::string *best = nullptr;
            for (auto it = tree.qbegin(bgi::intersects(query)); it != tree.qend(); ++it) {
                const auto &v = villages[it->second];
                if ((!best || v.code < *best) &&
                    ffi::predicate(ctx,
                                   GEOSPreparedDistanceWithin_r(ctx.handle(), v.prepared.get(),
                                                                g.get(), kBorderTolM),
                                   "distance within"))
                    best = &v.code;
            }
            update.reset();
            if (best)
                update.bind_text(1, *best);
            else
                update.bind_null(1);
            update.bind_int(2, rows.get_int(0));
            update.run();
        }
    }
}

std::int64_t Registry::count(std::string_view kind) const {
    const auto &k = this->kind(kind);
    if (!table_exists(m_impl->db.get(), k.key))
        return 0;
    SqliteStmt st(m_impl->db.get(),
                  fmt::format("SELECT COUNT(*) FROM {}", quote_identifier(k.key)));
    st.step();
    return st.get_int(0);
}

std::optional<std::string> Registry::property(std::string_view key) const {
    return m_impl->meta(key);
}

void Registry::set_property(std::string_view key, std::string_view value) {
    m_impl->set_meta(key, value);
}

RegistryInfo Registry::info() const {
    RegistryInfo info;
    info.path = m_impl->path;
    info.schema_version = kSchemaVersion;
    info.epsg = m_impl->epsg;
    info.srid = m_impl->srid;
    std::optional<crs::ScaleGauge> gauge;
    if (info.srid) {
        const auto &definition = m_impl->working_crs();
        info.crs_name = definition.name;
        info.crs_proj = crs::proj_string(definition);
        gauge.emplace(definition);
    }
    auto *db = m_impl->db.get();
    for (const auto &k : m_impl->kinds) {
        LayerInfo li;
        li.kind = k.key;
        li.label = k.label;
        li.builtin = k.builtin;
        li.geometry_type = spatialite_geometry_type(k.geometry);
        if (table_exists(db, k.key)) {
            SqliteStmt st(db,
                          fmt::format("SELECT COUNT(*), MIN(MbrMinX(geom)), MIN(MbrMinY(geom)), "
                                      "MAX(MbrMaxX(geom)), MAX(MbrMaxY(geom)) FROM {}",
                                      quote_identifier(k.key)));
            st.step();
            li.count = st.get_int(0);
            if (li.count > 0 && !st.is_null(1))
                li.extent = std::array<double, 4>{st.get_double(1), st.get_double(2),
                                                  st.get_double(3), st.get_double(4)};
            if (gauge && li.count > 0)
                worst_scale_error(db, *gauge, k.key, info.scale_error);
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

Rows Registry::list(std::string_view kind_key, const ListFilter &filter) const {
    const auto &k = kind(kind_key);
    Rows rows;
    auto *db = m_impl->db.get();
    if (!table_exists(db, k.key))
        return rows;
    const std::string t = quote_identifier(k.key);
    std::string cols;
    for (const auto &a : k.attributes)
        cols += quote_identifier(a.name) + ", ";
    if (has_village_link(k))
        cols += "village_code, ";
    cols += "source_file, source_row, updated_at";
    if (filter.with_wkt)
        cols += ", AsText(geom) AS wkt";

    std::string where = "1";
    std::vector<std::string> params; // every filter value is text
    // Roads and other lines belong to every village they cross; `villages` is a subquery of
    // codes bound to `param`.
    auto in_villages = [&](const std::string &villages) {
        if (k.role == KindRole::village)
            return fmt::format(" AND code IN ({})", villages);
        if (has_village_link(k) && k.geometry != GeometryKind::line)
            return fmt::format(" AND village_code IN ({})", villages);
        return fmt::format(
            " AND EXISTS (SELECT 1 FROM village v WHERE v.code IN ({0}) AND ST_Intersects({1}.geom,"
            " v.geom) = 1 AND {1}.ROWID IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = {2}"
            " AND f_geometry_column = 'geom' AND search_frame = v.geom))",
            villages, t, sql_string(k.key));
    };
    if (filter.village_code) {
        params.emplace_back(resolve_village(*filter.village_code));
        where += in_villages(fmt::format("?{}", params.size()));
    }
    if (filter.township) {
        township_villages(*filter.township); // names the townships when unknown
        params.emplace_back(*filter.township);
        where += in_villages(
            fmt::format("SELECT code FROM village WHERE township = ?{}", params.size()));
    }
    if (filter.status) {
        const int at = k.attribute_index("status");
        if (!k.is_asset() || at < 0)
            throw UsageError(fmt::format("{} has no status", k.key));
        const auto parsed = parse_value(k.attributes[static_cast<std::size_t>(at)], *filter.status);
        if (const auto *problem = std::get_if<std::string>(&parsed))
            throw UsageError(*problem);
        if (!std::holds_alternative<std::string>(std::get<Value>(parsed)))
            throw UsageError(fmt::format("status '{}' is not one of {}", *filter.status,
                                         fmt::join(asset_statuses(), ", ")));
        params.push_back(value_to_text(std::get<Value>(parsed)));
        where += fmt::format(" AND status = ?{}", params.size());
    }
    std::string sql = fmt::format("SELECT {} FROM {} WHERE {} ORDER BY {}", cols, t, where,
                                  quote_identifier(k.key_field()));
    if (filter.limit)
        sql += fmt::format(" LIMIT {}", *filter.limit);
    SqliteStmt st(db, sql);
    for (std::size_t i = 0; i < params.size(); ++i)
        st.bind_text(static_cast<int>(i + 1), params[i]);
    for (int i = 0; i < st.columns(); ++i)
        rows.columns.push_back(st.column_name(i));
    while (st.step()) {
        std::vector<Value> row;
        for (int i = 0; i < st.columns(); ++i)
            row.push_back(st.get_value(i));
        rows.rows.push_back(std::move(row));
    }
    return rows;
}

std::string Registry::resolve_village(std::string_view code_or_name) const {
    auto *db = m_impl->db.get();
    if (!table_exists(db, "village"))
        throw UsageError(fmt::format("no village '{}': {} has no villages", code_or_name,
                                     m_impl->path.string()));
    SqliteStmt by_code(db, "SELECT code FROM village WHERE code = ?1");
    by_code.bind_text(1, std::string(code_or_name));
    if (by_code.step())
        return by_code.get_text(0);
    SqliteStmt by_name(db, "SELECT code, township FROM village WHERE name = ?1 ORDER BY code");
    by_name.bind_text(1, std::string(code_or_name));
    std::vector<std::string> codes;
    std::vector<std::string> candidates;
    while (by_name.step()) {
        codes.push_back(by_name.get_text(0));
        const std::string township = by_name.get_text(1);
        candidates.push_back(township.empty() ? codes.back()
                                              : fmt::format("{} ({})", codes.back(), township));
    }
    if (codes.size() == 1)
        return codes.front();
    if (codes.empty())
        throw UsageError(fmt::format("no village has the code or name '{}' in {}", code_or_name,
                                     m_impl->path.string()));
    throw UsageError(fmt::format("{} villages are named '{}': {}; give the code", codes.size(),
                                 code_or_name, fmt::join(candidates, ", ")));
}

std::vector<std::string> Registry::townships() const {
    auto *db = m_impl->db.get();
    std::vector<std::string> out;
    if (!table_exists(db, "village"))
        return out;
    SqliteStmt st(db, "SELECT DISTINCT township FROM village WHERE township IS NOT NULL AND "
                      "township <> '' ORDER BY township");
    while (st.step())
        out.push_back(st.get_text(0));
    return out;
}

std::vector<std::string> Registry::township_villages(std::string_view township) const {
    auto *db = m_impl->db.get();
    std::vector<std::string> codes;
    if (table_exists(db, "village")) {
        SqliteStmt st(db, "SELECT code FROM village WHERE township = ?1 ORDER BY code");
        st.bind_text(1, std::string(township));
        while (st.step())
            codes.push_back(st.get_text(0));
    }
    if (codes.empty()) {
        const auto known = townships();
        throw UsageError(known.empty() ? fmt::format("no township '{}': the villages of {} name "
                                                     "no township",
                                                     township, m_impl->path.string())
                                       : fmt::format("no township '{}'; the townships are: {}",
                                                     township, fmt::join(known, ", ")));
    }
    return codes;
}

std::vector<StatusChange> Registry::statuses_as_of(std::string_view date,
                                                   std::string_view kind_key) const {
    if (!is_iso_date(date))
        throw UsageError(fmt::format("'{}' is not a date YYYY-MM-DD", date));
    auto *db = m_impl->db.get();
    const bool has_history = table_exists(db, "status_history");
    std::vector<StatusChange> out;
    for (const auto &k : m_impl->kinds) {
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

std::optional<std::string> Registry::statuses_known_from(std::string_view kind_key) const {
    const auto &k = kind(kind_key);
    auto *db = m_impl->db.get();
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

std::vector<StatusChange> Registry::status_history(std::string_view kind_key,
                                                   std::string_view id) const {
    const auto &k = kind(kind_key);
    std::vector<StatusChange> out;
    auto *db = m_impl->db.get();
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

std::string Registry::content_checksum() const {
    auto *db = m_impl->db.get();
    Sha256 h;
    std::vector<std::string> tables{"meta", "import_log"};
    if (table_exists(db, "status_history"))
        tables.push_back("status_history");
    for (const auto &k : m_impl->kinds)
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

sqlite3 *Registry::handle() const noexcept {
    return m_impl->db.get();
}

} // namespace qiancun
