#include "store/store.hpp"

#include "ffi/pq.hpp"
#include "qiancun/crs.hpp"
#include "qiancun/digest.hpp"
#include "qiancun/error.hpp"
#include "qiancun/log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <limits>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "qiancun/i18n.hpp"

/// The registry in a schema of a PostgreSQL 15 + PostGIS 3 database (SPEC §9): the same tables
/// as the SpatiaLite file, with typmod geometry columns (geometry(POINT, srid) …) and GiST
/// indexes. Every text column sorts and compares by its bytes (COLLATE "C"), integers are
/// bigint, reals double precision, so that every value and order is the one SQLite gives.

namespace qiancun::store {

namespace {

/// Version of the PostgreSQL schema; migrations upgrade older ones in place. Version 3: a kind
/// taking points or polygons has a POINT `geom` and a MULTIPOLYGON `footprint`; version 4 names
/// it `footprint_geom`, as in the SpatiaLite file; version 5 audits each statement's rows at once
/// (statement-level triggers over transition tables) in place of a trigger call per row.
constexpr int kSchemaVersion = 5;
/// Points within this distance of a village belong to it (SPEC §3 border rule), metres.
constexpr double kBorderTolM = 0.001;
/// How long a writer waits for another writer of the same kind before giving up.
constexpr int kLockTimeoutMs = 10000;
/// The most rows one statement writes (fewer for wide kinds: 65,535 parameters at most).
constexpr std::size_t kWriteBatchRows = 1000;
/// The `owner` of the `layer_styles` rows qiancun writes, so that it replaces only its own.
constexpr const char *kStyleOwner = "qiancun";
/// Where QGIS's PostgreSQL provider finds layer styles (read in QGIS 3.22's provider): it asks
/// whether any relation is named `layer_styles` and then reads `layer_styles` unqualified,
/// i.e. the first on the connection's search path, which by default ("$user", public) is
/// public's; there it picks a layer's rows by f_table_catalog (the database), f_table_schema,
/// f_table_name and f_geometry_column, the default first. So the registry's styles are also
/// kept in public.layer_styles, which every registry of the database shares, row by schema.
constexpr const char *kQgisStyleSchema = "public";

constexpr Oid kOidBool = 16;
constexpr Oid kOidInt8 = 20;
constexpr Oid kOidInt2 = 21;
constexpr Oid kOidInt4 = 23;
constexpr Oid kOidFloat4 = 700;
constexpr Oid kOidFloat8 = 701;
constexpr Oid kOidNumeric = 1700;

using ffi::PgConn;
using ffi::PgParams;
using ffi::PgResult;

/// One of the audit's triggers on a kind's table: PostgreSQL gives transition tables only to a
/// trigger of one event, so there is one per operation, naming the tables the function reads.
struct AuditTrigger {
    const char *name;
    const char *event;
    const char *tables;
};
constexpr std::array<AuditTrigger, 3> kAuditTriggers{{
    {"qiancun_audit_insert", "INSERT", "NEW TABLE AS qiancun_new"},
    {"qiancun_audit_update", "UPDATE", "OLD TABLE AS qiancun_old NEW TABLE AS qiancun_new"},
    {"qiancun_audit_delete", "DELETE", "OLD TABLE AS qiancun_old"},
}};

std::string sql_type(ValueType t) {
    switch (t) {
    case ValueType::integer:
    case ValueType::boolean:
    case ValueType::year:
        return "bigint";
    case ValueType::real:
        return "double precision";
    case ValueType::text:
    case ValueType::choice:
    case ValueType::date:
        return "text COLLATE \"C\"";
    }
    return "text COLLATE \"C\"";
}

/// Kinds whose rows carry a `village_code` link.
/// The geometry of a kind's rows as analysis reads it (the footprint where there is one), of
/// the table aliased `alias` ("" for none).
std::string geometry_sql(const KindDef &k, std::string_view alias = "") {
    const std::string a = alias.empty() ? std::string() : std::string(alias) + ".";
    return has_footprint(k) ? fmt::format("COALESCE({0}footprint_geom, {0}geom)", a) : a + "geom";
}

bool has_village_link(const KindDef &k) {
    return k.role == KindRole::settlement || k.role == KindRole::asset;
}

/// A result value by its column type: integers (and booleans, as 0/1) as int64, floating
/// numbers as double, everything else as text; NULL as monostate.
Value value_at(const PgResult &r, int row, int column) {
    if (r.is_null(row, column))
        return {};
    switch (r.type(column)) {
    case kOidBool:
        return std::int64_t{r.boolean(row, column) ? 1 : 0};
    case kOidInt2:
    case kOidInt4:
    case kOidInt8:
        return r.integer(row, column);
    case kOidFloat4:
    case kOidFloat8:
    case kOidNumeric:
        return r.real(row, column);
    default:
        return std::string(r.text(row, column));
    }
}

std::string text_at(const PgResult &r, int row, int column) {
    return r.is_null(row, column) ? std::string() : std::string(r.text(row, column));
}

void add_value(PgParams &p, const Value &v) {
    if (const auto *i = std::get_if<std::int64_t>(&v))
        p.integer(*i);
    else if (const auto *d = std::get_if<double>(&v))
        p.real(*d);
    else if (const auto *s = std::get_if<std::string>(&v))
        p.text(*s);
    else
        p.null();
}

int lock_timeout_ms() {
    if (const char *env = std::getenv("QIANCUN_BUSY_TIMEOUT_MS")) {
        char *end = nullptr;
        const long ms = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && ms >= 0 && ms <= 600000)
            return static_cast<int>(ms);
    }
    return kLockTimeoutMs;
}

class PostgisStore final : public Store {
public:
    Location where;
    PgConn m_conn;
    std::string m_schema; ///< quoted
    bool m_read_only = false;
    std::vector<KindDef> m_kinds;
    std::optional<int> epsg;
    std::optional<int> srid;
    mutable std::optional<crs::Definition> definition;

    PostgisStore(Location location, bool read_only)
        : where(std::move(location)), m_conn(where.conninfo(), where.display()),
          m_read_only(read_only) {
        m_schema = m_conn.quote_identifier(where.schema());
        // PostGIS's functions and types wherever the database keeps them (public by default);
        // the registry's own tables are always named with their schema.
        m_conn.exec("setting the search path", "SELECT set_config('search_path', $1, false)",
                    PgParams().text(m_schema + ", public"));
        m_conn.exec("setting the lock timeout", "SELECT set_config('lock_timeout', $1, false)",
                    PgParams().text(std::to_string(lock_timeout_ms())));
    }

    /// `name` in the registry's schema, quoted.
    std::string t(std::string_view name) const {
        return m_schema + "." + m_conn.quote_identifier(name);
    }
    std::string q(std::string_view name) const { return m_conn.quote_identifier(name); }

    [[noreturn]] void fail(const std::string &message) const {
        throw DatabaseError(fmt::format("{}: {}", where.display(), message));
    }

    /// The kind (relkind) of the relation `name` in the schema, compared exactly.
    bool relation_exists(std::string_view name) const {
        return m_conn
                   .exec("looking for a table",
                         "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                         "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN "
                         "('r', 'v', 'm', 'p', 'f')",
                         PgParams().text(where.schema()).text(name))
                   .rows() > 0;
    }

    /// The relation named `name` in any case, if there is one.
    std::optional<std::pair<std::string, std::string>> existing_ci(std::string_view name) const {
        const auto r = m_conn.exec(
            "looking for a table",
            "SELECT c.relname, CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' "
            "WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' ELSE 'relation' END "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND lower(c.relname) = lower($2) ORDER BY c.relname LIMIT 1",
            PgParams().text(where.schema()).text(name));
        if (r.rows() == 0)
            return std::nullopt;
        return std::pair{text_at(r, 0, 0), text_at(r, 0, 1)};
    }

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
                fail(_("the working CRS has no definition in meta"));
        }
        return *definition;
    }

    void load_kinds() {
        m_kinds = builtin_kinds();
        if (auto toml = meta("asset_types"); toml && !toml->empty())
            for (auto &k : parse_kinds_toml(*toml, where.display() + " (meta.asset_types)", true))
                m_kinds.push_back(std::move(k));
        m_kinds =
            with_village_attributes(std::move(m_kinds), meta("village_attributes").value_or(""),
                                    where.display() + " (meta.village_attributes)");
    }

    const KindDef *find_kind(std::string_view key) const {
        for (const auto &k : m_kinds)
            if (k.key == key)
                return &k;
        return nullptr;
    }

    void create_kind_table(const KindDef &k) {
        if (!srid)
            return;
        if (const auto existing = existing_ci(k.key))
            fail(fmt::format(
                fmt::runtime(_("cannot create the table of kind '{}': the schema already has a {} "
                               "named '{}'")),
                k.key, existing->second, existing->first));
        std::string cols = "fid bigserial PRIMARY KEY";
        for (std::size_t i = 0; i < k.attributes.size(); ++i) {
            const auto &a = k.attributes[i];
            cols += fmt::format(", {} {}", q(a.name), sql_type(a.type));
            if (i == 0)
                cols += " NOT NULL UNIQUE";
            else if (a.required)
                cols += " NOT NULL";
            if (a.type == ValueType::choice) {
                // Choices are the configuration's own words; as literals they are escaped by
                // the server (quote_literal), never pasted.
                std::string list;
                for (const auto &c : a.choices)
                    list += (list.empty() ? "" : ", ") + m_conn.quote_literal(c);
                cols += fmt::format(" CHECK ({} IN ({}))", q(a.name), list);
            }
        }
        if (has_village_link(k))
            cols += ", village_code text COLLATE \"C\"";
        cols +=
            ", source_file text COLLATE \"C\", source_row bigint, updated_at text COLLATE \"C\"";
        if (k.is_event()) {
            m_conn.exec(fmt::format("creating the table of {}", k.key),
                        fmt::format("CREATE TABLE {} ({})", t(k.key), cols));
            // Events are looked up by their asset and date.
            m_conn.exec(fmt::format("indexing the events of {}", k.key),
                        fmt::format("CREATE INDEX {} ON {} (asset_id, date)",
                                    q(k.key + "_asset_date"), t(k.key)));
            secure_kind_table(k);
            return;
        }
        cols +=
            fmt::format(", geom geometry({}, {}) NOT NULL", geometry_type_name(k.geometry), *srid);
        m_conn.exec(fmt::format("creating the table of {}", k.key),
                    fmt::format("CREATE TABLE {} ({})", t(k.key), cols));
        m_conn.exec(
            fmt::format("indexing the geometries of {}", k.key),
            fmt::format("CREATE INDEX {} ON {} USING GIST (geom)", q(k.key + "_geom"), t(k.key)));
        if (has_footprint(k))
            add_footprint_column(k);
        if (has_village_link(k))
            m_conn.exec(fmt::format("indexing the villages of {}", k.key),
                        fmt::format("CREATE INDEX {} ON {} (village_code)",
                                    q(k.key + "_village_code"), t(k.key)));
        secure_kind_table(k);
    }

    /// The nullable MULTIPOLYGON `footprint_geom` of a point-or-polygon kind, with its own index.
    void add_footprint_column(const KindDef &k) {
        m_conn.exec(fmt::format("adding the footprints of {}", k.key),
                    fmt::format("ALTER TABLE {} ADD COLUMN {} geometry(MULTIPOLYGON, {})", t(k.key),
                                kFootprintColumn, *srid));
        m_conn.exec(fmt::format("indexing the footprints of {}", k.key),
                    fmt::format("CREATE INDEX {} ON {} USING GIST ({})",
                                q(k.key + "_" + kFootprintColumn), t(k.key), kFootprintColumn));
    }

    /// Version 2 → 3: the one GEOMETRY column of each point-or-polygon kind becomes a POINT
    /// `geom` (a polygon's point-on-surface, GEOS's as at import) and a MULTIPOLYGON
    /// `footprint_geom`, each indexed; the edit policy, which reads `geom`, is made again, and the
    /// audit does not record the move (no value changed).
    void migrate_footprints() {
        for (const auto &k : m_kinds) {
            if (!has_footprint(k) || !relation_exists(k.key) ||
                m_conn.exec("looking for footprints",
                            "SELECT 1 FROM information_schema.columns WHERE table_schema = $1 "
                            "AND table_name = $2 AND column_name = $3",
                            PgParams().text(where.schema()).text(k.key).text(kFootprintColumn))
                        .rows() > 0)
                continue;
            const std::string table = t(k.key);
            add_footprint_column(k);
            pause_audit(table, true);
            m_conn.exec(fmt::format("moving the footprints of {}", k.key),
                        fmt::format("UPDATE {} SET footprint_geom = ST_Multi(geom) WHERE "
                                    "GeometryType(geom) <> 'POINT'",
                                    table));
            const auto rows = m_conn.exec(
                fmt::format("reading the footprints of {}", k.key),
                fmt::format(
                    "SELECT fid, ST_AsBinary(footprint_geom) FROM {} WHERE footprint_geom IS NOT "
                    "NULL ORDER BY fid",
                    table));
            for (int i = 0; i < rows.rows(); ++i)
                m_conn.exec(
                    fmt::format("placing the point of {} row {}", k.key, rows.integer(i, 0)),
                    fmt::format("UPDATE {} SET geom = ST_GeomFromWKB($1, {}) WHERE fid = $2", table,
                                *srid),
                    PgParams()
                        .bytes(split_point_or_polygon(rows.bytes(i, 1)).point)
                        .integer(rows.integer(i, 0)));
            pause_audit(table, false);
            m_conn.exec(fmt::format("dropping the edit policy of {}", k.key),
                        fmt::format("DROP POLICY IF EXISTS qiancun_edit ON {}", table));
            m_conn.exec(fmt::format("making the geometries of {} points", k.key),
                        fmt::format("ALTER TABLE {} ALTER COLUMN geom TYPE geometry(POINT, {})",
                                    table, *srid));
            const std::string cond = edit_condition(k);
            m_conn.exec(fmt::format("creating the edit policy of {}", k.key),
                        fmt::format("CREATE POLICY qiancun_edit ON {} FOR ALL USING ({}) WITH "
                                    "CHECK ({})",
                                    table, cond, cond));
        }
    }

    /// The condition under which the session's role may write a row of `k` (policy SQL): a
    /// grant of the kind, for all townships or for the row's.
    std::string edit_condition(const KindDef &k) const {
        const std::string row = q(k.key); // the policy's table, by its name
        std::string township;
        if (k.role == KindRole::village)
            township = fmt::format("EXISTS (SELECT 1 FROM {} rt WHERE rt.role = current_user AND "
                                   "rt.township = {}.township)",
                                   t("role_townships"), row);
        else if (k.is_event())
            // An event is its asset's: the township of the asset's village.
            township =
                fmt::format("EXISTS (SELECT 1 FROM {} a JOIN {} v ON v.code = a.village_code "
                            "JOIN {} rt ON rt.township = v.township WHERE rt.role = "
                            "current_user AND a.id = {}.asset_id)",
                            t(k.asset_kind), t("village"), t("role_townships"), row);
        else if (k.geometry == GeometryKind::line || k.role == KindRole::area)
            township = fmt::format("EXISTS (SELECT 1 FROM {} v JOIN {} rt ON rt.township = "
                                   "v.township WHERE rt.role = current_user AND "
                                   "ST_Intersects(v.geom, {}.geom))",
                                   t("village"), t("role_townships"), row);
        else
            township = fmt::format(
                "EXISTS (SELECT 1 FROM {0} v JOIN {1} rt ON rt.township = v.township WHERE "
                "rt.role = current_user AND ST_DWithin(v.geom, CASE WHEN GeometryType({2}.geom) "
                "= 'POINT' THEN {2}.geom ELSE ST_PointOnSurface({2}.geom) END, {3}))",
                t("village"), t("role_townships"), row, kBorderTolM);
        return fmt::format("EXISTS (SELECT 1 FROM {} r WHERE r.role = current_user AND r.kind = "
                           "{} AND (r.all_townships OR {}))",
                           t("roles"), m_conn.quote_literal(k.key), township);
    }

    /// Row-level security and the audit triggers on the table of `k`: everyone the schema is
    /// granted to reads every row; a role writes only what edit_condition allows; the owner
    /// (who ran init) is not bound.
    void secure_kind_table(const KindDef &k) {
        const std::string table = t(k.key);
        const std::string cond = edit_condition(k);
        const std::array<std::pair<const char *, std::string>, 3> ddl{{
            {"enabling row-level security",
             fmt::format("ALTER TABLE {} ENABLE ROW LEVEL SECURITY", table)},
            {"creating the read policy",
             fmt::format("CREATE POLICY qiancun_read ON {} FOR SELECT USING (true)", table)},
            {"creating the edit policy",
             fmt::format("CREATE POLICY qiancun_edit ON {} FOR ALL USING ({}) WITH CHECK ({})",
                         table, cond, cond)},
        }};
        for (const auto &[purpose, sql] : ddl)
            m_conn.exec(fmt::format("{} of {}", purpose, k.key), sql);
        create_audit_triggers(k);
    }

    /// The audit's triggers on the table of `k`, after each statement that writes it; the
    /// function reads the key from the column named by its argument.
    void create_audit_triggers(const KindDef &k) {
        for (const auto &trigger : kAuditTriggers)
            m_conn.exec(fmt::format("creating the audit trigger of {}", k.key),
                        fmt::format("CREATE TRIGGER {} AFTER {} ON {} REFERENCING {} FOR EACH "
                                    "STATEMENT EXECUTE FUNCTION {}.qiancun_audit({})",
                                    trigger.name, trigger.event, t(k.key), trigger.tables, m_schema,
                                    m_conn.quote_literal(k.key_field())));
    }

    /// Stops (`pause`) or restarts the audit of `table` (qualified), for a change that is no
    /// change of values.
    void pause_audit(const std::string &table, bool pause) {
        for (const auto &trigger : kAuditTriggers)
            m_conn.exec(pause ? "pausing the audit" : "resuming the audit",
                        fmt::format("ALTER TABLE {} {} TRIGGER {}", table,
                                    pause ? "DISABLE" : "ENABLE", trigger.name));
    }

    /// The audit function (made again by the version 5 upgrade). Each statement's rows go into
    /// audit_log at once, as a row-level trigger logged them one by one: the time, the session's
    /// role, the operation, the kind, the key (the new row's, the old one's for a DELETE) and
    /// the old and new rows as JSON. An UPDATE's transition tables hold its old and new rows
    /// in the same order, one pair per row updated, so they are paired by position: a changed
    /// fid or key is still one change. Each statement is planned when it runs (EXECUTE), for
    /// the rows there are: a plan kept from a statement of a few rows would pair a large one
    /// by a nested loop, in quadratic time; a statement that wrote no rows (an upsert's UPDATE
    /// when it only inserted) plans nothing. SECURITY DEFINER: roles write the audit only
    /// through these triggers, never directly.
    std::string audit_function_sql() const {
        const auto insert = [&](const std::string &select) {
            return m_conn.quote_literal(fmt::format(
                "INSERT INTO {} (at, role, operation, kind, key, old_values, new_values) SELECT "
                "clock_timestamp(), session_user, $1, $2, {}",
                t("audit_log"), select));
        };
        return fmt::format(
            "CREATE OR REPLACE FUNCTION {}.qiancun_audit() RETURNS trigger LANGUAGE plpgsql "
            "SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $f$ BEGIN "
            "IF TG_OP = 'INSERT' THEN IF EXISTS (SELECT FROM qiancun_new) THEN EXECUTE {} USING "
            "TG_OP, TG_TABLE_NAME, TG_ARGV[0]; END IF; ELSIF TG_OP = 'DELETE' THEN IF EXISTS "
            "(SELECT FROM qiancun_old) THEN EXECUTE {} USING TG_OP, TG_TABLE_NAME, TG_ARGV[0]; "
            "END IF; ELSIF EXISTS (SELECT FROM qiancun_new) THEN EXECUTE {} USING TG_OP, "
            "TG_TABLE_NAME, TG_ARGV[0]; END IF; RETURN NULL; END $f$",
            m_schema,
            insert("n.new_row ->> $3, NULL, n.new_row FROM (SELECT to_jsonb(qiancun_new) AS "
                   "new_row FROM qiancun_new) n"),
            insert("o.old_row ->> $3, o.old_row, NULL FROM (SELECT to_jsonb(qiancun_old) AS "
                   "old_row FROM qiancun_old) o"),
            insert("n.new_row ->> $3, o.old_row, n.new_row FROM (SELECT to_jsonb(qiancun_old) "
                   "AS old_row, row_number() OVER () AS i FROM qiancun_old) o JOIN (SELECT "
                   "to_jsonb(qiancun_new) AS new_row, row_number() OVER () AS i FROM "
                   "qiancun_new) n ON n.i = o.i ORDER BY n.i"));
    }

    /// Version 2: the audit table with its trigger function, the role grants, and row-level
    /// security on the import log and status history (a role logs only its own kinds).
    void create_security_tables() {
        const auto by_kind = [&](const char *table) {
            return fmt::format("EXISTS (SELECT 1 FROM {} r WHERE r.role = current_user AND "
                               "r.kind = {}.kind)",
                               t("roles"), table);
        };
        const std::array<std::pair<const char *, std::string>, 11> ddl{{
            {"creating audit_log",
             fmt::format("CREATE TABLE {} (id bigserial PRIMARY KEY, at timestamptz NOT NULL, role "
                         "text COLLATE \"C\" NOT NULL, operation text COLLATE \"C\" NOT NULL, "
                         "kind text COLLATE \"C\" NOT NULL, key text COLLATE \"C\", old_values "
                         "jsonb, new_values jsonb)",
                         t("audit_log"))},
            {"indexing audit_log",
             fmt::format("CREATE INDEX audit_log_key ON {} (kind, key, id)", t("audit_log"))},
            {"creating roles",
             fmt::format("CREATE TABLE {} (role text COLLATE \"C\" NOT NULL, kind text COLLATE "
                         "\"C\" NOT NULL, all_townships boolean NOT NULL, PRIMARY KEY (role, "
                         "kind))",
                         t("roles"))},
            {"creating role_townships",
             fmt::format("CREATE TABLE {} (role text COLLATE \"C\" NOT NULL, township text "
                         "COLLATE \"C\" NOT NULL, PRIMARY KEY (role, township))",
                         t("role_townships"))},
            {"creating the audit function", audit_function_sql()},
            {"protecting the import log",
             fmt::format("ALTER TABLE {} ENABLE ROW LEVEL SECURITY", t("import_log"))},
            {"protecting the import log",
             fmt::format("CREATE POLICY qiancun_read ON {} FOR SELECT USING (true)",
                         t("import_log"))},
            {"protecting the import log",
             fmt::format("CREATE POLICY qiancun_log ON {} FOR INSERT WITH CHECK ({})",
                         t("import_log"), by_kind("import_log"))},
            {"protecting the status history",
             fmt::format("ALTER TABLE {} ENABLE ROW LEVEL SECURITY", t("status_history"))},
            {"protecting the status history",
             fmt::format("CREATE POLICY qiancun_read ON {} FOR SELECT USING (true)",
                         t("status_history"))},
            {"protecting the status history",
             fmt::format("CREATE POLICY qiancun_log ON {} FOR INSERT WITH CHECK ({})",
                         t("status_history"), by_kind("status_history"))},
        }};
        for (const auto &[purpose, sql] : ddl)
            m_conn.exec(purpose, sql);
    }

    void create_schema_tables() {
        const std::array<std::pair<const char *, std::string>, 5> ddl{{
            {"creating meta", fmt::format("CREATE TABLE {} (key text COLLATE \"C\" PRIMARY KEY, "
                                          "value text COLLATE \"C\" NOT NULL)",
                                          t("meta"))},
            {"creating result_layers",
             fmt::format("CREATE TABLE {} (name text COLLATE \"C\" PRIMARY KEY, created_by text "
                         "COLLATE \"C\" NOT NULL, created_at text COLLATE \"C\" NOT NULL)",
                         t("result_layers"))},
            {"creating import_log",
             fmt::format("CREATE TABLE {} (id bigserial PRIMARY KEY, kind text COLLATE \"C\" NOT "
                         "NULL, source text COLLATE \"C\" NOT NULL, layer text COLLATE \"C\", "
                         "imported_at text COLLATE \"C\" NOT NULL, rows_read bigint, inserted "
                         "bigint, updated bigint, repaired bigint, rejected bigint, content_hash "
                         "text COLLATE \"C\")",
                         t("import_log"))},
            {"creating status_history",
             fmt::format("CREATE TABLE {} (id bigserial PRIMARY KEY, kind text COLLATE \"C\" NOT "
                         "NULL, asset_id text COLLATE \"C\" NOT NULL, status text COLLATE \"C\", "
                         "valid_from text COLLATE \"C\" NOT NULL, source text COLLATE \"C\", "
                         "recorded_at text COLLATE \"C\" NOT NULL)",
                         t("status_history"))},
            {"indexing status_history",
             fmt::format("CREATE INDEX status_history_asset ON {} (kind, asset_id, valid_from)",
                         t("status_history"))},
        }};
        for (const auto &[purpose, sql] : ddl)
            m_conn.exec(purpose, sql);
        m_conn.exec("indexing result_layers",
                    fmt::format("CREATE UNIQUE INDEX result_layers_name_ci ON {} (lower(name))",
                                t("result_layers")));
        create_layer_styles();
        create_security_tables();
    }

    /// QGIS's own layout of `layer_styles` (the PostgreSQL provider's, QGIS 3.22) as `table`
    /// (qualified), when there is none.
    void create_layer_styles(const std::string &table) {
        m_conn.exec("creating layer_styles",
                    fmt::format("CREATE TABLE IF NOT EXISTS {} (id serial PRIMARY KEY, "
                                "f_table_catalog varchar, f_table_schema varchar, f_table_name "
                                "varchar, f_geometry_column varchar, stylename text, styleqml xml, "
                                "stylesld xml, useasdefault boolean, description text, owner "
                                "varchar(63) DEFAULT CURRENT_USER, ui xml, update_time timestamp "
                                "DEFAULT CURRENT_TIMESTAMP, type varchar)",
                                table));
    }
    void create_layer_styles() { create_layer_styles(t("layer_styles")); }

    /// Makes qiancun's rows of this registry in the `layer_styles` table `styles` (qualified)
    /// equal `tables`, writing nothing when they already are (so that an editor's import, which
    /// changes no style, needs no right to the table). A default style someone else saved for
    /// a layer stays its default.
    void sync_layer_styles(const std::string &styles, const std::vector<TableStyles> &tables);
    /// Keeps the shared `styles` (qualified, public's) free of the rows of schemas that are
    /// gone: removes those left by a DROP SCHEMA and, when the session may, installs the event
    /// trigger that removes a dropped schema's rows at once.
    void forget_dropped_styles(const std::string &styles);
    /// Runs `work` inside a savepoint; when the server refuses it for lack of privilege, undoes
    /// it, logs a warning saying what was skipped and returns false.
    bool where_allowed(const std::string &purpose, const std::function<void()> &work);

    /// Upgrades an older schema in place, one version at a time, in one transaction.
    void migrate(int from) {
        if (from == kSchemaVersion)
            return;
        ffi::PgTransaction tx(m_conn);
        load_kinds();
        if (from < 2) {
            // Version 2: roles, row-level security and the audit table (as audited now).
            create_security_tables();
            for (const auto &k : m_kinds)
                if (relation_exists(k.key))
                    secure_kind_table(k);
        } else if (from < 5) {
            // Version 5: the row-level audit trigger becomes statement-level ones writing the
            // same rows; first, so that the footprint move below pauses the triggers of now.
            m_conn.exec("making the audit function again", audit_function_sql());
            for (const auto &k : m_kinds) {
                if (!relation_exists(k.key))
                    continue;
                std::vector<std::string> names{"qiancun_audit"};
                for (const auto &trigger : kAuditTriggers)
                    names.emplace_back(trigger.name);
                for (const auto &name : names)
                    m_conn.exec(fmt::format("removing the audit triggers of {}", k.key),
                                fmt::format("DROP TRIGGER IF EXISTS {} ON {}", name, t(k.key)));
                create_audit_triggers(k);
            }
        }
        if (from < 3) {
            load_crs();
            if (srid)
                migrate_footprints();
        }
        if (from == 3)
            for (const auto &k : m_kinds)
                if (has_footprint(k) &&
                    m_conn.exec("looking for footprints",
                                "SELECT 1 FROM information_schema.columns WHERE table_schema = "
                                "$1 AND table_name = $2 AND column_name = 'footprint'",
                                PgParams().text(where.schema()).text(k.key))
                            .rows() > 0) {
                    m_conn.exec(fmt::format("renaming the footprints of {}", k.key),
                                fmt::format("ALTER TABLE {} RENAME COLUMN footprint TO {}",
                                            t(k.key), kFootprintColumn));
                    m_conn.exec(fmt::format("renaming the footprint index of {}", k.key),
                                fmt::format("ALTER INDEX IF EXISTS {}.{} RENAME TO {}", m_schema,
                                            q(k.key + "_footprint"),
                                            q(k.key + "_" + kFootprintColumn)));
                }
        set_meta("schema_version", std::to_string(kSchemaVersion));
        tx.commit();
    }

    std::optional<std::string> meta(std::string_view key) const override {
        const auto r = m_conn.exec("reading meta",
                                   fmt::format("SELECT value FROM {} WHERE key = $1", t("meta")),
                                   PgParams().text(key));
        if (r.rows() == 0)
            return std::nullopt;
        return text_at(r, 0, 0);
    }

    void set_meta(std::string_view key, std::string_view value) override {
        m_conn.exec("writing meta",
                    fmt::format("INSERT INTO {} (key, value) VALUES ($1, $2) ON CONFLICT (key) "
                                "DO UPDATE SET value = excluded.value",
                                t("meta")),
                    PgParams().text(key).text(value));
    }

    const Location &location() const noexcept override { return where; }
    std::string gdal_name() const override {
        return fmt::format("PG:{} schemas={}", where.conninfo(), where.schema());
    }
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
    bool has_table(std::string_view name) const override { return relation_exists(name); }
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
    void add_role(const RoleSpec &role) override;
    std::vector<RoleSpec> roles() const override;
    std::vector<AuditEntry> audit(const KindDef &kind, std::string_view id) const override;

    /// A write the database refused for the session's role, as the error a person reads.
    [[noreturn]] void refused(const ffi::PgError &e, const KindDef &kind,
                              const std::string &what) const {
        throw DatabaseError(
            fmt::format(fmt::runtime(_("{}: role {} may not write {} {}: {}; nothing was changed")),
                        where.display(), m_conn.user(), kind.key, what, e.server_message()));
    }
};

/// Connects and checks that the database has PostGIS.
std::unique_ptr<PostgisStore> connect(const Location &location, bool read_only) {
    auto store = std::make_unique<PostgisStore>(location, read_only);
    const auto r = store->m_conn.exec(
        "looking for PostGIS", "SELECT extversion FROM pg_extension WHERE extname = 'postgis'");
    if (r.rows() == 0)
        throw DatabaseError(fmt::format(
            "{}: the database {} has no PostGIS; a superuser runs CREATE EXTENSION postgis in it",
            location.display(), location.database()));
    return store;
}

bool schema_has_relations(const PostgisStore &s, bool &schema_exists) {
    const auto r = s.m_conn.exec(
        "looking at the schema",
        "SELECT n.oid, (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid) "
        "FROM pg_namespace n WHERE n.nspname = $1",
        PgParams().text(s.where.schema()));
    schema_exists = r.rows() > 0;
    return schema_exists && r.integer(0, 1) > 0;
}

} // namespace

Presence presence_postgis(const Location &location) {
    const PgConn conn(location.conninfo(), location.display());
    bool exists = false;
    const auto r =
        conn.exec("looking at the schema",
                  "SELECT (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid) "
                  "FROM pg_namespace n WHERE n.nspname = $1",
                  PgParams().text(location.schema()));
    exists = r.rows() > 0;
    if (!exists)
        return Presence::nothing;
    return r.integer(0, 0) > 0 ? Presence::something : Presence::empty_schema;
}

void remove_made_postgis(const Location &location, Presence before) {
    const PgConn conn(location.conninfo(), location.display());
    const std::string schema = conn.quote_identifier(location.schema());
    ffi::PgTransaction tx(conn);
    if (before == Presence::nothing) {
        conn.exec("removing the schema", fmt::format("DROP SCHEMA IF EXISTS {} CASCADE", schema));
    } else {
        // The schema was there, empty, perhaps with its owner and grants: empty it again.
        const auto tables = conn.exec(
            "listing the tables made",
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relkind = 'r'",
            PgParams().text(location.schema()));
        for (int i = 0; i < tables.rows(); ++i)
            conn.exec("removing a table made",
                      fmt::format("DROP TABLE IF EXISTS {}.{} CASCADE", schema,
                                  conn.quote_identifier(text_at(tables, i, 0))));
        conn.exec("removing the audit function",
                  fmt::format("DROP FUNCTION IF EXISTS {}.qiancun_audit() CASCADE", schema));
    }
    tx.commit();
}

std::unique_ptr<Store> create_postgis(const Location &location,
                                      const std::optional<crs::Definition> &crs) {
    if (crs)
        crs::check_working(*crs); // before anything exists
    auto store = connect(location, false);
    bool exists = false;
    if (schema_has_relations(*store, exists)) {
        if (store->relation_exists("meta"))
            throw UsageError(fmt::format(
                fmt::runtime(_("{} already exists; open it, or drop the schema {} first")),
                location.display(), location.schema()));
        throw UsageError(
            fmt::format(fmt::runtime(_("{}: the schema {} already holds other tables; choose "
                                       "another schema")),
                        location.display(), location.schema()));
    }
    ffi::PgTransaction tx(store->m_conn);
    if (!exists)
        store->m_conn.exec("creating the schema", "CREATE SCHEMA " + store->m_schema);
    store->create_schema_tables();
    store->set_meta("schema_version", std::to_string(kSchemaVersion));
    store->set_meta("created_at", now_utc());
    store->set_meta("asset_types", "");
    store->load_kinds();
    if (crs)
        store->set_working_crs(*crs, std::nullopt);
    tx.commit();
    return store;
}

std::unique_ptr<Store> open_postgis(const Location &location, bool read_only) {
    auto store = connect(location, read_only);
    if (!store->relation_exists("meta")) {
        bool exists = false;
        schema_has_relations(*store, exists);
        if (!exists)
            throw UsageError(
                fmt::format(fmt::runtime(_("{} does not exist; create it with 'qiancun init {}'")),
                            location.display(), location.display()));
        throw DatabaseError(fmt::format(
            fmt::runtime(_("{} is not a qiancun registry (no meta table in schema {})")),
            location.display(), location.schema()));
    }
    const auto version = store->meta("schema_version");
    int v = 0;
    try {
        v = version ? std::stoi(*version) : 0;
    } catch (const std::exception &) {
        v = 0;
    }
    if (v > kSchemaVersion)
        throw DatabaseError(
            fmt::format(fmt::runtime(_("{} has schema version {}, newer than this qiancun knows "
                                       "({}); use a newer qiancun")),
                        location.display(), v, kSchemaVersion));
    if (v < 1)
        throw DatabaseError(fmt::format(fmt::runtime(_("{} has no valid schema version ('{}')")),
                                        location.display(), version.value_or("")));
    if (v < kSchemaVersion) {
        // Any command upgrades, readers too: the role that owns the schema can.
        try {
            store->migrate(v);
        } catch (const ffi::PgError &e) {
            throw DatabaseError(fmt::format(
                fmt::runtime(_("{} has schema version {} and cannot be upgraded to "
                               "{} by role {}: {}; run any qiancun command on it as "
                               "its owner")),
                location.display(), v, kSchemaVersion, store->m_conn.user(), e.server_message()));
        }
    }
    // A reader sees one committed state for its whole life, whatever writers commit meanwhile.
    if (read_only)
        store->m_conn.exec("starting a read-only snapshot",
                           "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    store->load_crs();
    store->load_kinds();
    return store;
}

void PostgisStore::set_working_crs(const crs::Definition &wanted, std::optional<double> data_lon) {
    if (srid) {
        const auto &current = crs_definition();
        if (!crs::same(current, wanted))
            throw UsageError(fmt::format(fmt::runtime(_("the working CRS of {} is already {}")),
                                         where.display(), current.describe()));
        return;
    }
    crs::check_working(wanted, data_lon);
    const bool outer = !m_conn.in_transaction();
    std::optional<ffi::PgTransaction> tx;
    if (outer)
        tx.emplace(m_conn);
    try {
        int id = 0;
        if (wanted.epsg) {
            id = *wanted.epsg;
            const auto known =
                m_conn.exec("looking up the CRS", "SELECT 1 FROM spatial_ref_sys WHERE srid = $1",
                            PgParams().integer(id));
            if (known.rows() == 0)
                m_conn.exec("registering the CRS",
                            "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, "
                            "proj4text) VALUES ($1, 'EPSG', $1, $2, $3)",
                            PgParams()
                                .integer(id)
                                .text(crs::wkt1(wanted, false))
                                .text(crs::proj_string(wanted)));
        } else {
            // A custom CRS: the SRID another registry of the database registered for the same
            // definition, else the first free one from 900001 on (PostGIS allows up to 998999).
            const auto same = m_conn.exec(
                "looking up the CRS",
                "SELECT srid FROM spatial_ref_sys WHERE auth_name = 'qiancun' AND srtext = $1 "
                "ORDER BY srid LIMIT 1",
                PgParams().text(crs::wkt1(wanted, false)));
            if (same.rows() > 0) {
                id = static_cast<int>(same.integer(0, 0));
            } else {
                const auto free =
                    m_conn.exec("choosing an SRID",
                                "SELECT greatest(coalesce(max(srid) + 1, 900001), 900001) FROM "
                                "spatial_ref_sys WHERE srid >= 900001 AND srid < 999000");
                id = static_cast<int>(free.integer(0, 0));
                m_conn.exec("registering the CRS",
                            "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, "
                            "proj4text) VALUES ($1, 'qiancun', $1, $2, $3)",
                            PgParams()
                                .integer(id)
                                .text(crs::wkt1(wanted, false))
                                .text(crs::proj_string(wanted)));
            }
        }
        if (wanted.epsg)
            set_meta("crs_epsg", std::to_string(*wanted.epsg));
        set_meta("crs_srid", std::to_string(id));
        set_meta("crs_wkt", wanted.wkt);
        set_meta("crs_name", wanted.name);
        epsg = wanted.epsg;
        srid = id;
        definition = wanted;
        for (const auto &k : m_kinds)
            create_kind_table(k);
        if (tx)
            tx->commit();
    } catch (...) {
        epsg.reset();
        srid.reset();
        definition.reset();
        throw;
    }
}

void PostgisStore::add_kind(const KindDef &def) {
    m_kinds.push_back(def);
    std::vector<KindDef> configured;
    for (const auto &k : m_kinds)
        if (!k.builtin)
            configured.push_back(k);
    set_meta("asset_types", kinds_to_toml(configured));
    create_kind_table(m_kinds.back());
}

void PostgisStore::add_village_attribute(const AttributeDef &a) {
    auto village = std::find_if(m_kinds.begin(), m_kinds.end(),
                                [](const KindDef &k) { return k.role == KindRole::village; });
    if (village == m_kinds.end())
        fail("no village kind");
    village->attributes.push_back(a);
    set_meta("village_attributes",
             village_attributes_to_toml(configured_village_attributes(*village)));
    if (!srid || !relation_exists(village->key))
        return; // created with the column once the CRS is fixed
    std::string column = fmt::format("{} {}", q(a.name), sql_type(a.type));
    if (a.type == ValueType::choice) {
        // The configuration's own words, escaped by the server (quote_literal).
        std::string list;
        for (const auto &c : a.choices)
            list += (list.empty() ? "" : ", ") + m_conn.quote_literal(c);
        column += fmt::format(" CHECK ({} IN ({}))", q(a.name), list);
    }
    // The audit trigger stores whole rows as JSON: the new column is in them from now on.
    m_conn.exec(fmt::format("adding the village attribute {}", a.name),
                fmt::format("ALTER TABLE {} ADD COLUMN {}", t(village->key), column));
}

void PostgisStore::begin() {
    if (m_read_only)
        throw UsageError(fmt::format(fmt::runtime(_("{} is open read-only")), where.display()));
    m_conn.exec("starting a transaction", "BEGIN");
}

void PostgisStore::commit() {
    m_conn.exec("committing", "COMMIT");
}

void PostgisStore::rollback() noexcept {
    try {
        m_conn.exec("rolling back", "ROLLBACK");
        load_kinds();
        load_crs();
    } catch (...) {
        // Never throws; the server rolls back when the connection closes.
    }
}

void PostgisStore::write(const KindDef &kind, std::span<const Feature> features, WriteMode mode,
                         ImportRecord &record) {
    if (!m_conn.in_transaction())
        throw Error(fmt::format("writing {} to {} outside a transaction: open a "
                                "Registry::Transaction first, so that a failure leaves nothing",
                                kind.key, where.display()));
    if (!srid)
        throw UsageError(_("the registry has no working CRS yet"));
    if (!relation_exists(kind.key))
        create_kind_table(kind);
    const std::string table = t(kind.key);
    const std::string &key = kind.key_field();

    // One writer per kind at a time: a second waits here (lock_timeout) while readers go on
    // reading the last committed state.
    try {
        m_conn.exec(fmt::format("locking {}", kind.key),
                    fmt::format("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE", table));
    } catch (const ffi::PgError &e) {
        if (e.sqlstate() == "42501")
            refused(e, kind, _("(no write grant on the kind)"));
        if (e.sqlstate() == "55P03")
            throw DatabaseError(fmt::format(
                fmt::runtime(_(
                    "the registry {} is busy: another session is writing {}; gave up after waiting "
                    "{:.1f} s, nothing was changed; try again later")),
                where.display(), kind.key, lock_timeout_ms() / 1000.0));
        throw;
    }

    const auto seen = check_write(kind, features, record); // key -> row
    const WriteStamp when = write_stamp(record);
    const std::string &stamp = when.stamp;
    const std::string &valid_from = when.valid_from;

    const bool track = kind.is_asset() && kind.attribute_index("status") >= 0;
    const std::size_t status_index =
        track ? static_cast<std::size_t>(kind.attribute_index("status")) : 0;

    // What the table holds now: source and status per key.
    struct Known {
        std::string source_file;
        std::optional<std::int64_t> source_row;
        std::string status;
    };
    std::unordered_map<std::string, Known> known;
    {
        const auto r = m_conn.exec(
            fmt::format("reading the keys of {}", kind.key),
            fmt::format("SELECT {}, source_file, source_row, {} FROM {}", q(key),
                        track ? std::string("status") : std::string("NULL::text"), table));
        for (int i = 0; i < r.rows(); ++i)
            known.emplace(
                text_at(r, i, 0),
                Known{text_at(r, i, 1),
                      r.is_null(i, 2) ? std::nullopt : std::optional<std::int64_t>(r.integer(i, 2)),
                      text_at(r, i, 3)});
    }
    // Status changes, written together after the rows (in the order they happened).
    struct StatusRow {
        std::string id;
        Value status;
    };
    std::vector<StatusRow> statuses;
    auto record_status = [&](const std::string &id, const Value &status) {
        statuses.push_back({id, status});
    };

    if (mode == WriteMode::replace) {
        m_conn.exec(fmt::format("emptying {}", kind.key), "DELETE FROM " + table);
        // Row-level security deletes only the rows the role may write: a replace by a
        // township's editor would silently keep the others.
        const auto left = m_conn.exec("counting what is left", "SELECT count(*) FROM " + table);
        if (left.integer(0, 0) > 0)
            throw DatabaseError(fmt::format(
                fmt::runtime(
                    _("{}: role {} may not replace {}: {} rows of it lie outside its townships; "
                      "nothing was changed")),
                where.display(), m_conn.user(), kind.key, left.integer(0, 0)));
        if (track)
            for (const auto &[id, was] : known)
                if (!seen.count(id))
                    record_status(id, Value{});
    }

    // Rows go in multi-row upserts of up to `batch` rows: one statement (parsed and planned
    // once) and one round trip for many rows.
    std::string names, updates;
    for (const auto &a : kind.attributes) {
        names += q(a.name) + ", ";
        if (&a != &kind.attributes.front())
            updates += fmt::format("{0} = excluded.{0}, ", q(a.name));
    }
    const bool spatial = kind.geometry != GeometryKind::none;
    names += "source_file, source_row, updated_at";
    updates += "source_file = excluded.source_file, source_row = excluded.source_row, "
               "updated_at = excluded.updated_at";
    if (spatial) {
        names += ", geom";
        updates += ", geom = excluded.geom";
    }
    const bool footprint = has_footprint(kind);
    if (footprint) {
        names += ", footprint_geom";
        updates += ", footprint_geom = excluded.footprint_geom";
    }
    const int per_row =
        static_cast<int>(kind.attributes.size()) + 3 + (spatial ? 1 : 0) + (footprint ? 1 : 0);
    // The placeholders of one row whose first parameter is $first.
    const auto row_values = [&](int first) {
        std::string v = "(";
        int n = first;
        for (std::size_t i = 0; i < kind.attributes.size() + 3; ++i)
            v += fmt::format("${}, ", n++);
        v.resize(v.size() - 2);
        if (spatial)
            v += fmt::format(", ST_GeomFromWKB(${}, {})", n++, *srid);
        if (footprint)
            v += fmt::format(", ST_Multi(ST_GeomFromWKB(${}, {}))", n++, *srid);
        return v + ")";
    };
    const auto upsert = [&](std::size_t rows) {
        std::string values;
        for (std::size_t i = 0; i < rows; ++i)
            values += (i ? ", " : "") + row_values(1 + static_cast<int>(i) * per_row);
        return fmt::format("INSERT INTO {} ({}) VALUES {} ON CONFLICT ({}) DO UPDATE SET {}", table,
                           names, values, q(key), updates);
    };
    // A statement takes at most 65,535 parameters.
    const std::size_t batch =
        std::clamp<std::size_t>(static_cast<std::size_t>(30000 / per_row), 1, kWriteBatchRows);
    const auto file_name = [](const std::string &path) {
        return std::filesystem::path(path).filename().string();
    };
    const std::string this_file = file_name(record.source);

    record.imported_at = stamp;
    record.inserted = 0;
    record.updated = 0;
    // First every check that needs no server, so that a refused row writes nothing.
    for (const auto &f : features) {
        const auto &id = std::get<std::string>(f.values.front());
        const auto it = known.find(id);
        const bool present = it != known.end() && mode != WriteMode::replace;
        if (present && mode == WriteMode::upsert && file_name(it->second.source_file) != this_file)
            throw InputError(
                record.source, record.layer, f.row,
                fmt::format(fmt::runtime(_(
                                "{} '{}' is already in the registry from {}{}; re-import that "
                                "source to update it, or import this one with --update (manifest: "
                                "update = true) to let it take the id over")),
                            key, id,
                            it->second.source_file.empty() ? std::string(_("another source"))
                                                           : file_name(it->second.source_file),
                            it->second.source_row ? fmt::format(" (row {})", *it->second.source_row)
                                                  : std::string()));
        ++(present ? record.updated : record.inserted);
        if (track) {
            const Value &status = f.values[status_index];
            if (it == known.end() || it->second.status != value_to_text(status))
                record_status(id, status);
        }
    }
    const auto add_row = [&](PgParams &p, const Feature &f) {
        for (const auto &v : f.values)
            add_value(p, v);
        p.text(record.source).integer(f.row).text(stamp);
        if (footprint) {
            const auto split = split_point_or_polygon(f.wkb);
            p.bytes(split.point);
            if (split.footprint)
                p.bytes(*split.footprint);
            else
                p.null();
        } else if (spatial) {
            p.bytes(f.wkb);
        }
    };
    // One row alone: a failure names it.
    const std::string upsert_one = upsert(1);
    const auto store_one = [&](const Feature &f) {
        PgParams p;
        add_row(p, f);
        try {
            m_conn.exec(fmt::format("storing {} row {}", kind.key, f.row), upsert_one, p);
        } catch (const ffi::PgError &e) {
            const auto &id = std::get<std::string>(f.values.front());
            if (e.sqlstate() == "42501")
                refused(e, kind, fmt::format(fmt::runtime(_("row {} ({} '{}')")), f.row, key, id));
            throw InputError(record.source, record.layer, f.row, e.server_message());
        }
    };
    const std::string upsert_full = upsert(batch);
    for (std::size_t start = 0; start < features.size(); start += batch) {
        const auto rows = features.subspan(start, std::min(batch, features.size() - start));
        if (rows.size() == 1) {
            store_one(rows.front());
            continue;
        }
        PgParams p;
        for (const auto &f : rows)
            add_row(p, f);
        m_conn.exec("writing a batch", "SAVEPOINT qiancun_batch");
        try {
            m_conn.exec(
                fmt::format("storing {} rows {}–{}", kind.key, rows.front().row, rows.back().row),
                rows.size() == batch ? upsert_full : upsert(rows.size()), p);
        } catch (const ffi::PgError &) {
            // Which row? Again one by one, where the first that fails says so.
            m_conn.exec("writing a batch", "ROLLBACK TO SAVEPOINT qiancun_batch");
            for (const auto &f : rows)
                store_one(f);
        }
        m_conn.exec("writing a batch", "RELEASE SAVEPOINT qiancun_batch");
    }

    for (std::size_t start = 0; start < statuses.size(); start += kWriteBatchRows) {
        const std::size_t rows = std::min(kWriteBatchRows, statuses.size() - start);
        std::string values;
        PgParams p;
        for (std::size_t i = 0; i < rows; ++i) {
            const int n = static_cast<int>(i) * 6;
            values += fmt::format("{}(${}, ${}, ${}, ${}, ${}, ${})", i ? ", " : "", n + 1, n + 2,
                                  n + 3, n + 4, n + 5, n + 6);
            const auto &change = statuses[start + i];
            p.text(kind.key).text(change.id);
            add_value(p, change.status);
            p.text(valid_from).text(record.source).text(stamp);
        }
        try {
            m_conn.exec("recording the statuses",
                        fmt::format("INSERT INTO {} (kind, asset_id, status, valid_from, source, "
                                    "recorded_at) VALUES {}",
                                    t("status_history"), values),
                        p);
        } catch (const ffi::PgError &e) {
            if (e.sqlstate() == "42501")
                refused(e, kind,
                        fmt::format(fmt::runtime(_("(the status history of {} '{}')")), key,
                                    statuses[start].id));
            throw;
        }
    }

    try {
        m_conn.exec(
            "logging the import",
            fmt::format("INSERT INTO {} (kind, source, layer, imported_at, rows_read, "
                        "inserted, updated, repaired, rejected, content_hash) VALUES ($1, $2, "
                        "$3, $4, $5, $6, $7, $8, $9, $10)",
                        t("import_log")),
            PgParams()
                .text(kind.key)
                .text(record.source)
                .text(record.layer)
                .text(record.imported_at)
                .integer(record.rows_read)
                .integer(record.inserted)
                .integer(record.updated)
                .integer(record.repaired)
                .integer(record.rejected)
                .text(record.content_hash));
    } catch (const ffi::PgError &e) {
        if (e.sqlstate() == "42501")
            refused(e, kind, _("(the import log)"));
        throw;
    }
}

void PostgisStore::link_villages(std::string_view only_kind) {
    if (!srid || !relation_exists("village"))
        return;
    for (const auto &k : m_kinds) {
        if (!has_village_link(k) || k.geometry == GeometryKind::line ||
            (!only_kind.empty() && k.key != only_kind) || !relation_exists(k.key))
            continue;
        // A role that may not write the kind leaves its links as they are.
        if (!m_conn
                 .exec("checking the grants", "SELECT has_table_privilege($1, 'UPDATE')",
                       PgParams().text(t(k.key)))
                 .boolean(0, 0))
            continue;
        // SPEC §3 border rule: among villages within 1 mm, the smallest code; polygons by
        // their point-on-surface (GEOS's, as in the SpatiaLite store). Only changed links are
        // written, so the audit shows real changes.
        m_conn.exec(
            fmt::format("linking {} to villages", k.key),
            fmt::format("UPDATE {0} a SET village_code = l.code FROM (SELECT b.fid, (SELECT "
                        "v.code FROM {1} v WHERE ST_DWithin(v.geom, CASE WHEN GeometryType({2}) "
                        "= 'POINT' THEN {2} ELSE ST_PointOnSurface({2}) END, $1) ORDER BY "
                        "v.code LIMIT 1) AS code FROM {0} b) l WHERE a.fid = l.fid AND "
                        "a.village_code IS DISTINCT FROM l.code",
                        t(k.key), t("village"), geometry_sql(k, "b")),
            PgParams().real(kBorderTolM));
    }
}

std::int64_t PostgisStore::count(const KindDef &k) const {
    if (!relation_exists(k.key))
        return 0;
    return m_conn.exec("counting rows", "SELECT count(*) FROM " + t(k.key)).integer(0, 0);
}

namespace {

/// Raises `worst` to the largest scale error of the working CRS over the geometries of
/// `table`, at the corners of each bounding box (see the SpatiaLite store).
void worst_scale_error(const PostgisStore &s, const crs::ScaleGauge &gauge, const KindDef &kind,
                       std::optional<RegistryInfo::ScaleError> &worst) {
    const std::string &table = kind.key;
    const auto r = s.m_conn.exec("measuring the scale error",
                                 fmt::format("SELECT ST_XMin({0}), ST_YMin({0}), ST_XMax({0}), "
                                             "ST_YMax({0}) FROM {1} WHERE {0} IS NOT NULL AND "
                                             "NOT ST_IsEmpty({0})",
                                             geometry_sql(kind), s.t(table)));
    for (int i = 0; i < r.rows(); ++i) {
        const double x0 = r.real(i, 0), y0 = r.real(i, 1);
        const double x1 = r.real(i, 2), y1 = r.real(i, 3);
        if (!worst)
            worst = RegistryInfo::ScaleError{};
        ++worst->geometries;
        const std::array<std::pair<double, double>, 4> corners{
            std::pair{x0, y0}, std::pair{x1, y0}, std::pair{x0, y1}, std::pair{x1, y1}};
        const std::size_t n = (x0 == x1 && y0 == y1) ? 1 : corners.size();
        for (std::size_t c = 0; c < n; ++c) {
            const auto ll = gauge.to_lonlat(corners[c].first, corners[c].second);
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

RegistryInfo PostgisStore::info() const {
    RegistryInfo info;
    info.path = where.display();
    info.schema_version = kSchemaVersion;
    info.epsg = epsg;
    info.srid = srid;
    std::optional<crs::ScaleGauge> gauge;
    if (srid) {
        const auto &d = crs_definition();
        info.crs_name = d.name;
        info.crs_proj = crs::proj_string(d);
        gauge.emplace(d);
    }
    for (const auto &k : m_kinds) {
        LayerInfo li;
        li.kind = k.key;
        li.label = k.label;
        li.builtin = k.builtin;
        li.geometry_type = geometry_type_name(k.geometry);
        if (relation_exists(k.key) && k.geometry == GeometryKind::none) {
            li.count = count(k);
        } else if (relation_exists(k.key)) {
            const auto r =
                m_conn.exec("summarising a layer",
                            fmt::format("SELECT count(*), min(ST_XMin({0})), min(ST_YMin({0})), "
                                        "max(ST_XMax({0})), max(ST_YMax({0})) FROM {1}",
                                        geometry_sql(k), t(k.key)));
            li.count = r.integer(0, 0);
            if (li.count > 0 && !r.is_null(0, 1))
                li.extent =
                    std::array<double, 4>{r.real(0, 1), r.real(0, 2), r.real(0, 3), r.real(0, 4)};
            if (gauge && li.count > 0)
                worst_scale_error(*this, *gauge, k, info.scale_error);
        }
        info.layers.push_back(std::move(li));
    }
    const auto log = m_conn.exec(
        "reading the import log",
        fmt::format("SELECT kind, source, layer, imported_at, rows_read, inserted, updated, "
                    "repaired, rejected, content_hash FROM {} ORDER BY id DESC LIMIT 20",
                    t("import_log")));
    for (int i = 0; i < log.rows(); ++i) {
        ImportRecord r;
        r.kind = text_at(log, i, 0);
        r.source = text_at(log, i, 1);
        r.layer = text_at(log, i, 2);
        r.imported_at = text_at(log, i, 3);
        r.rows_read = log.is_null(i, 4) ? 0 : log.integer(i, 4);
        r.inserted = log.is_null(i, 5) ? 0 : log.integer(i, 5);
        r.updated = log.is_null(i, 6) ? 0 : log.integer(i, 6);
        r.repaired = log.is_null(i, 7) ? 0 : log.integer(i, 7);
        r.rejected = log.is_null(i, 8) ? 0 : log.integer(i, 8);
        r.content_hash = text_at(log, i, 9);
        info.last_imports.push_back(std::move(r));
    }
    return info;
}

Rows PostgisStore::list(const KindDef &k, const ListFilter &filter) const {
    Rows rows;
    if (!relation_exists(k.key))
        return rows;
    const std::string table = t(k.key);
    std::string cols;
    for (const auto &a : k.attributes)
        cols += "a." + q(a.name) + ", ";
    if (has_village_link(k))
        cols += "a.village_code, ";
    cols += "a.source_file, a.source_row, a.updated_at";
    if (filter.with_wkt && k.geometry != GeometryKind::none)
        cols += fmt::format(", ST_AsBinary({}) AS wkt", geometry_sql(k, "a"));

    PgParams params;
    int n = 0;
    std::string where_sql = "TRUE";
    // Lines belong to every village they cross; `villages` is a subquery or parameter of codes.
    auto in_villages = [&](const std::string &villages) {
        if (k.role == KindRole::village)
            return fmt::format(" AND a.code IN ({})", villages);
        // An event belongs to its asset's village.
        if (k.is_event())
            return fmt::format(" AND a.asset_id IN (SELECT id FROM {} WHERE village_code IN ({}))",
                               t(k.asset_kind), villages);
        if (has_village_link(k) && k.geometry != GeometryKind::line)
            return fmt::format(" AND a.village_code IN ({})", villages);
        return fmt::format(" AND EXISTS (SELECT 1 FROM {} v WHERE v.code IN ({}) AND "
                           "ST_Intersects(a.geom, v.geom))",
                           t("village"), villages);
    };
    if (filter.village_code) {
        params.text(*filter.village_code);
        where_sql += in_villages(fmt::format("${}", ++n));
    }
    if (filter.township) {
        params.text(*filter.township);
        where_sql +=
            in_villages(fmt::format("SELECT code FROM {} WHERE township = ${}", t("village"), ++n));
    }
    if (filter.status) {
        params.text(*filter.status);
        where_sql += fmt::format(" AND a.status = ${}", ++n);
    }
    // Events by asset, then date: each asset's history reads downwards.
    std::string sql = fmt::format(
        "SELECT {} FROM {} a WHERE {} ORDER BY {}", cols, table, where_sql,
        k.is_event() ? std::string("a.asset_id, a.date, a.id") : "a." + q(k.key_field()));
    if (filter.limit) {
        params.integer(*filter.limit);
        sql += fmt::format(" LIMIT ${}", ++n);
    }
    const auto r = m_conn.exec(fmt::format("listing {}", k.key), sql, params);
    for (int c = 0; c < r.columns(); ++c)
        rows.columns.push_back(r.column_name(c));
    const int wkt_column =
        filter.with_wkt && k.geometry != GeometryKind::none ? r.columns() - 1 : -1;
    for (int i = 0; i < r.rows(); ++i) {
        std::vector<Value> row;
        for (int c = 0; c < r.columns(); ++c)
            row.push_back(c == wkt_column && !r.is_null(i, c) ? Value{list_wkt(r.bytes(i, c))}
                                                              : value_at(r, i, c));
        rows.rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<StatusChange> PostgisStore::statuses_as_of(std::string_view date,
                                                       std::string_view kind_key) const {
    if (!is_iso_date(date))
        throw UsageError(fmt::format(fmt::runtime(_("'{}' is not a date YYYY-MM-DD")), date));
    std::vector<StatusChange> out;
    for (const auto &k : m_kinds) {
        if (!k.is_asset() || (!kind_key.empty() && k.key != kind_key) || !relation_exists(k.key))
            continue;
        // Latest entry valid on the date per asset; assets with no entry at all count with
        // their current row.
        const auto r = m_conn.exec(
            "reading statuses",
            fmt::format("SELECT asset_id, status, valid_from, source FROM ("
                        " SELECT asset_id, status, valid_from, source, row_number() OVER ("
                        "  PARTITION BY asset_id ORDER BY valid_from DESC, id DESC) AS n"
                        " FROM {1} WHERE kind = $1 AND valid_from <= $2) h WHERE n = 1"
                        " UNION ALL SELECT id, status, substr(updated_at, 1, 10), source_file"
                        " FROM {0} WHERE substr(updated_at, 1, 10) <= $2 AND id NOT IN"
                        " (SELECT asset_id FROM {1} WHERE kind = $1)"
                        " ORDER BY 1",
                        t(k.key), t("status_history")),
            PgParams().text(k.key).text(date));
        for (int i = 0; i < r.rows(); ++i) {
            if (r.is_null(i, 1))
                continue; // removed by then
            out.push_back(
                {k.key, text_at(r, i, 0), text_at(r, i, 1), text_at(r, i, 2), text_at(r, i, 3)});
        }
    }
    return out;
}

std::optional<std::string> PostgisStore::statuses_known_from(const KindDef &k) const {
    std::optional<std::string> first;
    auto consider = [&](const PgResult &r) {
        if (r.rows() > 0 && !r.is_null(0, 0) && (!first || text_at(r, 0, 0) < *first))
            first = text_at(r, 0, 0);
    };
    consider(m_conn.exec(
        "reading the status history",
        fmt::format("SELECT min(valid_from) FROM {} WHERE kind = $1", t("status_history")),
        PgParams().text(k.key)));
    if (relation_exists(k.key))
        consider(m_conn.exec("reading the status history",
                             fmt::format("SELECT min(substr(updated_at, 1, 10)) FROM {} WHERE id "
                                         "NOT IN (SELECT asset_id FROM {} WHERE kind = $1)",
                                         t(k.key), t("status_history")),
                             PgParams().text(k.key)));
    return first;
}

std::vector<StatusChange> PostgisStore::status_history(const KindDef &k,
                                                       std::string_view id) const {
    std::vector<StatusChange> out;
    const auto r = m_conn.exec(
        "reading the status history",
        fmt::format("SELECT status, valid_from, source FROM {} WHERE kind = $1 AND asset_id = $2 "
                    "ORDER BY valid_from, id",
                    t("status_history")),
        PgParams().text(k.key).text(id));
    for (int i = 0; i < r.rows(); ++i)
        out.push_back(
            {k.key, std::string(id), text_at(r, i, 0), text_at(r, i, 1), text_at(r, i, 2)});
    return out;
}

std::string PostgisStore::content_checksum() const {
    Sha256 h;
    std::vector<std::string> tables{"meta", "import_log", "status_history"};
    for (const auto &k : m_kinds)
        if (relation_exists(k.key))
            tables.push_back(k.key);
    for (const auto &name : tables) {
        h.update(name);
        const auto r =
            m_conn.exec("checksumming", fmt::format("SELECT * FROM {} ORDER BY 1", t(name)));
        for (int i = 0; i < r.rows(); ++i) {
            for (int c = 0; c < r.columns(); ++c) {
                const auto v = value_at(r, i, c);
                h.update(std::string(1, static_cast<char>('0' + v.index())));
                h.update(value_to_text(v));
                h.update(std::string_view("\x1f", 1));
            }
            h.update("\n");
        }
    }
    return h.hex();
}

void PostgisStore::scan(const ScanRequest &request,
                        const std::function<void(const ScanRow &)> &row) const {
    std::unordered_set<std::string> known;
    {
        const auto r = m_conn.exec(
            "reading the columns",
            "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND "
            "c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
            PgParams().text(where.schema()).text(request.table));
        if (r.rows() == 0)
            fail(fmt::format(fmt::runtime(_("no table '{}'")), request.table));
        for (int i = 0; i < r.rows(); ++i)
            known.insert(text_at(r, i, 0));
    }
    const auto column = [&](const std::string &name) {
        if (!known.count(name))
            fail(
                fmt::format(fmt::runtime(_("table '{}' has no column '{}'")), request.table, name));
        return q(name);
    };
    std::string select;
    for (const auto &c : request.columns)
        select += column(c) + ", ";
    const int n = static_cast<int>(request.columns.size());
    // A kind's footprint stands for its point where there is one.
    const KindDef *kind = find_kind(request.table);
    const std::string g = known.count(kFootprintColumn) && kind && has_footprint(*kind)
                              ? geometry_sql(*kind)
                              : std::string("geom");
    select += known.count("geom")
                  ? fmt::format("{0} IS NULL, {1}, CASE WHEN GeometryType({0}) = 'POINT' AND "
                                "NOT ST_IsEmpty({0}) THEN ST_X({0}) END, CASE WHEN "
                                "GeometryType({0}) = 'POINT' AND NOT ST_IsEmpty({0}) THEN "
                                "ST_Y({0}) END, {2}",
                                g, request.wkb ? fmt::format("ST_AsBinary({})", g) : "NULL",
                                request.bbox ? fmt::format("ST_XMin({0}), ST_YMin({0}), "
                                                           "ST_XMax({0}), ST_YMax({0})",
                                                           g)
                                             : "NULL, NULL, NULL, NULL")
                  : "TRUE, NULL, NULL, NULL, NULL, NULL, NULL, NULL";
    std::string where_sql;
    PgParams params;
    int p = 0;
    for (const auto &c : request.where) {
        where_sql += where_sql.empty() ? " WHERE " : " AND ";
        const std::string col = column(c.column);
        switch (c.op) {
        case ScanCondition::Op::equals:
            add_value(params, c.value);
            where_sql += fmt::format("{} = ${}", col, ++p);
            break;
        case ScanCondition::Op::is_null:
            where_sql += col + " IS NULL";
            break;
        case ScanCondition::Op::is_not_null:
            where_sql += col + " IS NOT NULL";
            break;
        }
    }
    std::string order;
    for (const auto &c : request.order_by)
        order += (order.empty() ? " ORDER BY " : ", ") + column(c) + " NULLS FIRST";
    std::string sql =
        fmt::format("SELECT {} FROM {}{}{}", select, t(request.table), where_sql, order);
    if (request.limit) {
        params.integer(*request.limit);
        sql += fmt::format(" LIMIT ${}", ++p);
    }
    const auto r = m_conn.exec(fmt::format("reading {}", request.table), sql, params);
    ScanRow out;
    for (int i = 0; i < r.rows(); ++i) {
        out.values.clear();
        for (int c = 0; c < n; ++c)
            out.values.push_back(value_at(r, i, c));
        out.wkb.clear();
        out.xy.reset();
        out.bbox.reset();
        if (!r.boolean(i, n)) {
            if (request.wkb && !r.is_null(i, n + 1))
                out.wkb = r.bytes(i, n + 1);
            if (request.xy && !r.is_null(i, n + 2))
                out.xy = std::pair{r.real(i, n + 2), r.real(i, n + 3)};
            if (request.bbox && !r.is_null(i, n + 4))
                out.bbox = std::array<double, 4>{r.real(i, n + 4), r.real(i, n + 5),
                                                 r.real(i, n + 6), r.real(i, n + 7)};
        }
        row(out);
    }
}

namespace {

std::string column_sql_type(ColumnType type) {
    switch (type) {
    case ColumnType::text:
        return "text COLLATE \"C\"";
    case ColumnType::integer:
        return "bigint";
    case ColumnType::real:
        return "double precision";
    case ColumnType::boolean:
        return "boolean";
    }
    return "text COLLATE \"C\"";
}

bool is_kind_table(const std::vector<KindDef> &kinds, std::string_view name) {
    const auto lower = [](std::string s) {
        for (auto &c : s)
            if (c >= 'A' && c <= 'Z')
                c = static_cast<char>(c - 'A' + 'a');
        return s;
    };
    for (const auto &k : kinds)
        if (lower(k.key) == lower(std::string(name)))
            return true;
    return false;
}

class PostgisLayerWriter final : public ResultLayerWriter {
public:
    PostgisLayerWriter(const PgConn &conn, std::string insert, std::vector<ColumnType> types,
                       std::string table)
        : m_conn(conn), m_insert(std::move(insert)), m_types(std::move(types)),
          m_table(std::move(table)) {}

    void add(std::span<const Value> values, std::string_view wkb) override {
        if (values.size() != m_types.size())
            throw Error(fmt::format(fmt::runtime(_("a result row of {} values for {} columns")),
                                    values.size(), m_types.size()));
        PgParams p;
        for (std::size_t i = 0; i < values.size(); ++i) {
            const auto *b = std::get_if<std::int64_t>(&values[i]);
            if (m_types[i] == ColumnType::boolean && b)
                p.boolean(*b != 0);
            else
                add_value(p, values[i]);
        }
        if (wkb.empty())
            p.null();
        else
            p.bytes(wkb);
        m_conn.exec(fmt::format("storing a row of {}", m_table), m_insert, p);
    }

private:
    const PgConn &m_conn;
    std::string m_insert;
    std::vector<ColumnType> m_types;
    std::string m_table;
};

} // namespace

std::unique_ptr<ResultLayerWriter>
PostgisStore::create_result_layer(const std::string &name, const std::vector<ResultColumn> &columns,
                                  const std::string &geometry, std::string_view created_by) {
    if (!srid)
        throw UsageError(
            fmt::format(fmt::runtime(_("{} has no working CRS yet")), where.display()));
    if (const auto existing = existing_ci(name)) {
        const auto listed = m_conn.exec(
            "reading result_layers",
            fmt::format("SELECT 1 FROM {} WHERE lower(name) = lower($1)", t("result_layers")),
            PgParams().text(existing->first));
        if (listed.rows() == 0)
            fail(fmt::format(
                fmt::runtime(_("cannot store the result layer '{}': the registry has a {} '{}' "
                               "that holds {}, not a result qiancun wrote; it is left as it is")),
                name, existing->second, existing->first,
                is_kind_table(m_kinds, existing->first)
                    ? fmt::format(fmt::runtime(_("the kind '{}'")), existing->first)
                    : std::string(_("other data"))));
        m_conn.exec("dropping the old result layer", "DROP TABLE " + t(existing->first));
        m_conn.exec("forgetting the old result layer",
                    fmt::format("DELETE FROM {} WHERE lower(name) = lower($1)", t("result_layers")),
                    PgParams().text(existing->first));
    }
    // The geometry type is one of a few keywords; anything else is a caller's mistake, never SQL.
    static const std::unordered_set<std::string> kTypes{
        "POINT",        "LINESTRING",         "POLYGON", "MULTIPOINT", "MULTILINESTRING",
        "MULTIPOLYGON", "GEOMETRYCOLLECTION", "GEOMETRY"};
    if (!kTypes.count(geometry))
        throw Error(fmt::format(
            fmt::runtime(_("unknown geometry type '{}' for the result layer {}")), geometry, name));
    std::string defs = "fid bigserial PRIMARY KEY";
    std::string names, params;
    std::vector<ColumnType> types;
    int n = 0;
    for (const auto &c : columns) {
        defs += fmt::format(", {} {}", q(c.name), column_sql_type(c.type));
        names += q(c.name) + ", ";
        params += fmt::format("${}, ", ++n);
        types.push_back(c.type);
    }
    defs += fmt::format(", geom geometry({}, {})", geometry, *srid);
    m_conn.exec(fmt::format("creating the result layer {}", name),
                fmt::format("CREATE TABLE {} ({})", t(name), defs));
    m_conn.exec(fmt::format("indexing the result layer {}", name),
                fmt::format("CREATE INDEX {} ON {} USING GIST (geom)", q(name + "_geom"), t(name)));
    m_conn.exec("recording the result layer",
                fmt::format("INSERT INTO {} (name, created_by, created_at) VALUES ($1, $2, $3)",
                            t("result_layers")),
                PgParams().text(name).text(created_by).text(now_utc()));
    return std::make_unique<PostgisLayerWriter>(
        m_conn,
        fmt::format("INSERT INTO {} ({}geom) VALUES ({}ST_GeomFromWKB(${}, {}))", t(name), names,
                    params, n + 1, *srid),
        std::move(types), name);
}

std::int64_t PostgisStore::update_result_rows(const std::string &name,
                                              const std::vector<ResultColumn> &columns,
                                              std::span<const std::vector<Value>> rows) {
    if (!m_conn.in_transaction())
        throw Error(fmt::format("updating {} in {} outside a transaction", name, where.display()));
    const auto listed = m_conn.exec(
        "reading result_layers",
        fmt::format("SELECT 1 FROM {} WHERE name = $1", t("result_layers")), PgParams().text(name));
    if (listed.rows() == 0 || !relation_exists(name))
        fail(fmt::format(fmt::runtime(_("'{}' is no result layer of the registry")), name));
    std::string sets;
    for (std::size_t i = 1; i < columns.size(); ++i)
        sets += fmt::format("{}{} = ${}", i > 1 ? ", " : "", q(columns[i].name), i + 1);
    const std::string update =
        fmt::format("UPDATE {} SET {} WHERE {} = $1", t(name), sets, q(columns.front().name));
    std::int64_t updated = 0;
    for (const auto &row : rows) {
        if (row.size() != columns.size())
            throw Error(fmt::format(fmt::runtime(_("a result row of {} values for {} columns")),
                                    row.size(), columns.size()));
        PgParams p;
        for (std::size_t i = 0; i < row.size(); ++i) {
            const auto *b = std::get_if<std::int64_t>(&row[i]);
            if (columns[i].type == ColumnType::boolean && b)
                p.boolean(*b != 0);
            else
                add_value(p, row[i]);
        }
        if (m_conn.exec(fmt::format("updating a row of {}", name), update, p).affected() != 1)
            fail(fmt::format(fmt::runtime(_("{} has no row with {} = {}")), name,
                             columns.front().name, value_to_text(row.front())));
        ++updated;
    }
    return updated;
}

std::map<std::string, ChangeStamp> PostgisStore::change_stamps() const {
    std::map<std::string, ChangeStamp> stamps;
    const auto imports =
        m_conn.exec("reading import_log",
                    fmt::format("SELECT kind, MAX(id) FROM {} GROUP BY kind", t("import_log")));
    for (int i = 0; i < imports.rows(); ++i)
        stamps[text_at(imports, i, 0)].import_id = imports.integer(i, 1);
    // The audit trigger logs every row written, by qiancun or by hand.
    const auto edits =
        m_conn.exec("reading audit_log",
                    fmt::format("SELECT kind, MAX(id) FROM {} GROUP BY kind", t("audit_log")));
    for (int i = 0; i < edits.rows(); ++i)
        stamps[text_at(edits, i, 0)].edit_id = edits.integer(i, 1);
    return stamps;
}

std::vector<SpatialLayer> PostgisStore::spatial_layers() const {
    std::vector<SpatialLayer> out;
    // In the order the tables were made (their OIDs), like SpatiaLite's registration order.
    const auto r = m_conn.exec(
        "listing the spatial tables",
        "SELECT c.relname, a.attname, upper(postgis_typmod_type(a.atttypmod)) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind = 'r' AND a.atttypid = 'geometry'::regtype AND "
        "a.attnum > 0 AND NOT a.attisdropped ORDER BY c.oid, a.attnum",
        PgParams().text(where.schema()));
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({text_at(r, i, 0), text_at(r, i, 1), text_at(r, i, 2), {}});
    for (auto &layer : out) {
        const auto cols = m_conn.exec(
            "listing the columns",
            "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN "
            "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 "
            "AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'fid' AND "
            "a.atttypid <> 'geometry'::regtype ORDER BY a.attnum",
            PgParams().text(where.schema()).text(layer.table));
        for (int i = 0; i < cols.rows(); ++i)
            layer.columns.push_back(text_at(cols, i, 0));
    }
    return out;
}

std::optional<double> PostgisStore::column_max(std::string_view table,
                                               std::string_view column) const {
    const auto r =
        m_conn.exec("reading a maximum",
                    fmt::format("SELECT max({})::double precision FROM {}", q(column), t(table)));
    if (r.rows() == 0 || r.is_null(0, 0))
        return std::nullopt;
    return r.real(0, 0);
}

void PostgisStore::sync_layer_styles(const std::string &styles,
                                     const std::vector<TableStyles> &tables) {
    std::set<std::pair<std::string, std::string>> theirs;
    const auto defaults = m_conn.exec(
        "looking for a user's default style",
        fmt::format("SELECT f_table_name, f_geometry_column FROM {} WHERE f_table_schema = $1 AND "
                    "useasdefault AND owner IS DISTINCT FROM $2",
                    styles),
        PgParams().text(where.schema()).text(kStyleOwner));
    for (int i = 0; i < defaults.rows(); ++i)
        theirs.emplace(text_at(defaults, i, 0), text_at(defaults, i, 1));

    struct Row {
        std::string table, column, name, qml, description;
        bool is_default = false;
        bool operator==(const Row &) const = default;
    };
    std::vector<Row> wanted;
    for (const auto &table : tables)
        for (const auto &style : table.styles)
            wanted.push_back(
                {table.table, table.geometry_column, style.name, style.qml, style.description,
                 style.is_default && !theirs.count({table.table, table.geometry_column})});
    const auto stored = m_conn.exec(
        "reading qiancun's styles",
        fmt::format("SELECT f_table_name, f_geometry_column, stylename, styleqml::text, "
                    "coalesce(description, ''), useasdefault, f_table_catalog IS NOT DISTINCT "
                    "FROM $3 FROM {} WHERE f_table_schema = $1 AND owner = $2 ORDER BY id",
                    styles),
        PgParams().text(where.schema()).text(kStyleOwner).text(where.database()));
    bool same = stored.rows() == static_cast<int>(wanted.size());
    for (int i = 0; same && i < stored.rows(); ++i)
        same = stored.boolean(i, 6) && !stored.is_null(i, 5) &&
               Row{text_at(stored, i, 0), text_at(stored, i, 1), text_at(stored, i, 2),
                   text_at(stored, i, 3), text_at(stored, i, 4), stored.boolean(i, 5)} ==
                   wanted[static_cast<std::size_t>(i)];
    if (same)
        return;
    m_conn.exec("removing qiancun's styles",
                fmt::format("DELETE FROM {} WHERE f_table_schema = $1 AND owner = $2", styles),
                PgParams().text(where.schema()).text(kStyleOwner));
    for (const auto &row : wanted)
        m_conn.exec("storing a style",
                    fmt::format("INSERT INTO {} (f_table_catalog, f_table_schema, f_table_name, "
                                "f_geometry_column, stylename, styleqml, stylesld, useasdefault, "
                                "description, owner, ui) VALUES ($1, $2, $3, $4, $5, "
                                "XMLPARSE(DOCUMENT $6), NULL, $7, $8, $9, NULL)",
                                styles),
                    PgParams()
                        .text(where.database())
                        .text(where.schema())
                        .text(row.table)
                        .text(row.column)
                        .text(row.name)
                        .text(row.qml)
                        .boolean(row.is_default)
                        .text(row.description)
                        .text(kStyleOwner));
}

void PostgisStore::forget_dropped_styles(const std::string &styles) {
    const auto r = m_conn.exec(
        "looking at QGIS's styles",
        fmt::format("SELECT has_table_privilege($1, 'DELETE'), (SELECT rolsuper FROM pg_roles "
                    "WHERE rolname = current_user), EXISTS (SELECT 1 FROM pg_event_trigger WHERE "
                    "evtname = 'qiancun_forget_styles'), EXISTS (SELECT 1 FROM {} s WHERE "
                    "s.f_table_catalog = current_database() AND NOT EXISTS (SELECT 1 FROM "
                    "pg_namespace n WHERE n.nspname = s.f_table_schema))",
                    styles),
        PgParams().text(styles));
    if (r.boolean(0, 0) && r.boolean(0, 3))
        m_conn.exec("removing the styles of dropped schemas",
                    fmt::format("DELETE FROM {} s WHERE s.f_table_catalog = current_database() AND "
                                "NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = "
                                "s.f_table_schema)",
                                styles));
    if (!r.boolean(0, 1) || r.boolean(0, 2))
        return; // only a superuser makes event triggers
    m_conn.exec("waiting for QGIS's styles",
                "SELECT pg_advisory_xact_lock(hashtext('qiancun: forget dropped styles'))");
    if (m_conn
            .exec("looking for the style trigger",
                  "SELECT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = "
                  "'qiancun_forget_styles')")
            .boolean(0, 0))
        return;
    // A DROP SCHEMA takes the schema's rows out of QGIS's styles in the same transaction; the
    // function never stands in the way of a drop (the rows then go at the next save of styles).
    m_conn.exec(
        "making the style trigger",
        fmt::format("CREATE OR REPLACE FUNCTION {0}.qiancun_forget_styles() RETURNS event_trigger "
                    "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS "
                    "$f$ BEGIN IF to_regclass({1}) IS NOT NULL THEN DELETE FROM {2} s USING "
                    "pg_event_trigger_dropped_objects() d WHERE d.object_type = 'schema' AND "
                    "s.f_table_catalog = current_database() AND quote_ident(s.f_table_schema) "
                    "= d.object_identity; END IF; EXCEPTION WHEN OTHERS THEN RAISE WARNING "
                    "'qiancun: the layer styles of a dropped schema stay in %: %', {1}, SQLERRM; "
                    "END $f$",
                    q(kQgisStyleSchema), m_conn.quote_literal(styles), styles));
    m_conn.exec("making the style trigger",
                fmt::format("CREATE EVENT TRIGGER qiancun_forget_styles ON sql_drop EXECUTE "
                            "FUNCTION {}.qiancun_forget_styles()",
                            q(kQgisStyleSchema)));
}

bool PostgisStore::where_allowed(const std::string &purpose, const std::function<void()> &work) {
    m_conn.exec(purpose, "SAVEPOINT qiancun_styles");
    try {
        work();
    } catch (const ffi::PgError &e) {
        if (e.sqlstate() != "42501")
            throw;
        m_conn.exec(purpose, "ROLLBACK TO SAVEPOINT qiancun_styles");
        log(LogLevel::warning,
            fmt::format("{}: {} skipped: {}", where.display(), purpose, e.server_message()));
        return false;
    }
    m_conn.exec(purpose, "RELEASE SAVEPOINT qiancun_styles");
    return true;
}

void PostgisStore::save_layer_styles(const std::vector<TableStyles> &tables) {
    const bool own = !m_conn.in_transaction(); // else part of the caller's transaction
    if (own)
        begin();
    try {
        // A role that may not write the styles (an editor) still imports; the styles of the
        // kinds it writes do not change with their rows.
        where_allowed(fmt::format("refreshing the layer styles of role {}", m_conn.user()), [&] {
            if (!relation_exists("layer_styles"))
                create_layer_styles();
            sync_layer_styles(t("layer_styles"), tables);
        });
        if (where.schema() != kQgisStyleSchema) {
            const std::string qgis = q(kQgisStyleSchema) + "." + q("layer_styles");
            where_allowed(fmt::format("publishing the layer styles for QGIS in {} as role {} "
                                      "(QGIS opens the layers unstyled until the database owner "
                                      "grants it)",
                                      qgis, m_conn.user()),
                          [&] {
                              if (m_conn
                                      .exec("looking for QGIS's styles",
                                            "SELECT to_regclass($1) IS NULL", PgParams().text(qgis))
                                      .boolean(0, 0)) {
                                  // Two registries made at once would race to create it.
                                  m_conn.exec("waiting for QGIS's styles",
                                              "SELECT pg_advisory_xact_lock(hashtext('qiancun: "
                                              "QGIS layer_styles'))");
                                  create_layer_styles(qgis);
                                  // QGIS reads them as whoever opens a layer; they hold no data.
                                  m_conn.exec("sharing QGIS's styles",
                                              fmt::format("GRANT SELECT ON {} TO PUBLIC", qgis));
                              }
                              forget_dropped_styles(qgis);
                              sync_layer_styles(qgis, tables);
                          });
        }
    } catch (...) {
        if (own)
            rollback();
        throw;
    }
    if (own)
        commit();
}

std::vector<ResultColumn> PostgisStore::result_columns(std::string_view table) const {
    const auto r = m_conn.exec(
        fmt::format("reading the columns of {}", table),
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a JOIN pg_class "
        "c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = "
        "$1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'fid' "
        "AND a.atttypid <> 'geometry'::regtype ORDER BY a.attnum",
        PgParams().text(where.schema()).text(table));
    std::vector<ResultColumn> out;
    for (int i = 0; i < r.rows(); ++i) {
        const std::string type = text_at(r, i, 1);
        ResultColumn c{text_at(r, i, 0), ColumnType::text};
        if (type == "bigint" || type == "integer" || type == "smallint")
            c.type = ColumnType::integer;
        else if (type == "double precision" || type == "real" || type == "numeric")
            c.type = ColumnType::real;
        else if (type == "boolean")
            c.type = ColumnType::boolean;
        out.push_back(std::move(c));
    }
    return out;
}

void PostgisStore::read_rows(std::string_view table, const std::vector<CopyColumn> &columns,
                             const std::function<void(std::span<const Value>)> &row) const {
    if (columns.empty())
        throw Error(fmt::format("reading {}: no columns", table));
    std::string select;
    for (const auto &c : columns)
        select += (select.empty() ? "" : ", ") +
                  (c.geometry ? fmt::format("ST_AsBinary({})", q(c.name)) : q(c.name));
    const auto r = m_conn.exec(
        fmt::format("reading {}", table),
        fmt::format("SELECT {} FROM {} ORDER BY {}", select, t(table), q(columns.front().name)));
    std::vector<Value> values(columns.size());
    for (int i = 0; i < r.rows(); ++i) {
        for (std::size_t c = 0; c < columns.size(); ++c) {
            const int column = static_cast<int>(c);
            if (columns[c].geometry && !r.is_null(i, column))
                values[c] = r.bytes(i, column);
            else
                values[c] = value_at(r, i, column);
        }
        row(values);
    }
}

void PostgisStore::write_rows(std::string_view table, const std::vector<CopyColumn> &columns,
                              std::span<const std::vector<Value>> rows) {
    if (!m_conn.in_transaction())
        throw Error(fmt::format("writing {} to {} outside a transaction", table, where.display()));
    if (columns.empty())
        throw Error(fmt::format("writing {}: no columns", table));
    std::string names, params, updates;
    int n = 0;
    for (const auto &c : columns) {
        const std::string sep = names.empty() ? "" : ", ";
        names += sep + q(c.name);
        ++n;
        // Geometries take the working CRS's SRID; other values are typed by their column.
        params += sep + (c.geometry ? fmt::format("ST_GeomFromWKB(${}, {})", n, srid.value_or(0))
                                    : fmt::format("${}", n));
        if (n > 1)
            updates += fmt::format("{}{} = excluded.{}", updates.empty() ? "" : ", ", q(c.name),
                                   q(c.name));
    }
    const std::string sql = fmt::format("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO {}",
                                        t(table), names, params, q(columns.front().name),
                                        updates.empty() ? "NOTHING" : "UPDATE SET " + updates);
    const std::string purpose = fmt::format("writing {}", table);
    for (const auto &r : rows) {
        if (r.size() != columns.size())
            throw Error(fmt::format("a row of {} values for the {} columns of {}", r.size(),
                                    columns.size(), table));
        PgParams p;
        for (std::size_t c = 0; c < r.size(); ++c) {
            const auto *wkb = std::get_if<std::string>(&r[c]);
            if (columns[c].geometry && wkb)
                p.bytes(*wkb);
            else
                add_value(p, r[c]);
        }
        m_conn.exec(purpose, sql, p);
    }
    // A serial key (fid, id) goes on after the largest key written.
    const auto sequence =
        m_conn.exec("looking up the key sequence", "SELECT pg_get_serial_sequence($1, $2)",
                    PgParams().text(t(table)).text(columns.front().name));
    if (sequence.rows() > 0 && !sequence.is_null(0, 0))
        m_conn.exec("moving the key sequence on",
                    fmt::format("SELECT setval($1, max({0})) FROM {1} HAVING max({0}) IS NOT NULL",
                                q(columns.front().name), t(table)),
                    PgParams().text(text_at(sequence, 0, 0)));
}

void PostgisStore::add_role(const RoleSpec &role) {
    if (m_read_only)
        throw UsageError(fmt::format(fmt::runtime(_("{} is open read-only")), where.display()));
    const std::string name = q(role.name);
    ffi::PgTransaction tx(m_conn);
    const auto existing =
        m_conn.exec("looking up the role",
                    "SELECT rolsuper, pg_has_role(oid, 'USAGE') FROM pg_roles WHERE rolname = $1",
                    PgParams().text(role.name));
    if (existing.rows() == 0) {
        m_conn.exec("creating the role", fmt::format("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB "
                                                     "NOCREATEROLE NOINHERIT NOREPLICATION",
                                                     name));
    } else if (existing.boolean(0, 0) || role.name == m_conn.user()) {
        throw UsageError(
            fmt::format(fmt::runtime(_("{}: {} is a superuser or this registry's owner, whom "
                                       "row-level security does not bind; give the access to "
                                       "another role")),
                        where.display(), role.name));
    }
    const auto owned = m_conn.exec(
        "looking at the owners",
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN "
        "pg_roles r ON r.oid = c.relowner WHERE n.nspname = $1 AND r.rolname = $2",
        PgParams().text(where.schema()).text(role.name));
    if (owned.integer(0, 0) > 0)
        throw UsageError(
            fmt::format(fmt::runtime(_("{}: {} owns tables of this registry, which row-level "
                                       "security does not bind; give the access to another role")),
                        where.display(), role.name));
    // Access given again replaces the old.
    m_conn.exec("revoking the old grants",
                fmt::format("REVOKE ALL ON ALL TABLES IN SCHEMA {0} FROM {1}; ", m_schema, name));
    m_conn.exec("revoking the old grants",
                fmt::format("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {0} FROM {1}", m_schema, name));
    m_conn.exec("forgetting the old grants",
                fmt::format("DELETE FROM {} WHERE role = $1", t("roles")),
                PgParams().text(role.name));
    m_conn.exec("forgetting the old grants",
                fmt::format("DELETE FROM {} WHERE role = $1", t("role_townships")),
                PgParams().text(role.name));
    m_conn.exec("granting the schema",
                fmt::format("GRANT USAGE ON SCHEMA {} TO {}", m_schema, name));
    m_conn.exec("granting reading",
                fmt::format("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}", m_schema, name));
    m_conn.exec("granting reading of later layers",
                fmt::format("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}",
                            m_schema, name));
    // QGIS reads the styles from public.layer_styles as the role; one that QGIS or someone
    // else made before qiancun may not be readable by every role.
    const std::string qgis = q(kQgisStyleSchema) + "." + q("layer_styles");
    const auto styles = m_conn.exec(
        "looking at QGIS's styles",
        "SELECT CASE WHEN to_regclass($1) IS NULL THEN NULL ELSE has_table_privilege($1, "
        "'SELECT WITH GRANT OPTION') END",
        PgParams().text(qgis));
    if (!styles.is_null(0, 0)) {
        if (styles.boolean(0, 0))
            m_conn.exec("granting QGIS's styles",
                        fmt::format("GRANT SELECT ON {} TO {}", qgis, name));
        else
            log(LogLevel::warning,
                fmt::format(fmt::runtime(_("{}: role {} may not let {} read {}: QGIS opens the "
                                           "layers unstyled for it until the table's owner runs "
                                           "GRANT SELECT ON {} TO {}")),
                            where.display(), m_conn.user(), role.name, qgis, qgis, name));
    }
    if (role.read_only())
        m_conn.exec("recording the grant",
                    fmt::format("INSERT INTO {} (role, kind, all_townships) VALUES ($1, '', true)",
                                t("roles")),
                    PgParams().text(role.name));
    for (const auto &kind : role.kinds) {
        if (!relation_exists(kind))
            fail(fmt::format(
                fmt::runtime(_("kind {} has no table yet (the working CRS is not fixed)")), kind));
        m_conn.exec("granting writing",
                    fmt::format("GRANT INSERT, UPDATE, DELETE ON {} TO {}", t(kind), name));
        m_conn.exec("recording the grant",
                    fmt::format("INSERT INTO {} (role, kind, all_townships) VALUES ($1, $2, $3)",
                                t("roles")),
                    PgParams().text(role.name).text(kind).boolean(role.townships.empty()));
    }
    if (!role.read_only()) {
        m_conn.exec("granting the logs", fmt::format("GRANT INSERT ON {}, {} TO {}",
                                                     t("import_log"), t("status_history"), name));
        m_conn.exec("granting the sequences",
                    fmt::format("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}", m_schema, name));
    }
    for (const auto &township : role.townships)
        m_conn.exec(
            "recording the townships",
            fmt::format("INSERT INTO {} (role, township) VALUES ($1, $2)", t("role_townships")),
            PgParams().text(role.name).text(township));
    tx.commit();
}

std::vector<RoleSpec> PostgisStore::roles() const {
    std::vector<RoleSpec> out;
    const auto r = m_conn.exec(
        "reading the roles",
        fmt::format("SELECT r.role, coalesce(string_agg(NULLIF(r.kind, ''), ',' ORDER BY r.kind), "
                    "''), (SELECT coalesce(string_agg(t.township, ',' ORDER BY t.township), '') "
                    "FROM {} t WHERE t.role = r.role) FROM {} r GROUP BY r.role ORDER BY r.role",
                    t("role_townships"), t("roles")));
    auto split = [](std::string_view text) {
        std::vector<std::string> parts;
        while (!text.empty()) {
            const auto comma = text.find(',');
            parts.emplace_back(text.substr(0, comma));
            text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        }
        return parts;
    };
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({text_at(r, i, 0), split(r.text(i, 1)), split(r.text(i, 2))});
    return out;
}

std::vector<AuditEntry> PostgisStore::audit(const KindDef &kind, std::string_view id) const {
    std::vector<AuditEntry> out;
    const auto r = m_conn.exec(
        "reading the audit table",
        fmt::format("SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
                    "role, operation, kind, key, coalesce(old_values::text, ''), "
                    "coalesce(new_values::text, '') FROM {} WHERE kind = $1 AND key = $2 "
                    "ORDER BY id",
                    t("audit_log")),
        PgParams().text(kind.key).text(id));
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({text_at(r, i, 0), text_at(r, i, 1), text_at(r, i, 2), text_at(r, i, 3),
                       text_at(r, i, 4), text_at(r, i, 5), text_at(r, i, 6)});
    return out;
}

} // namespace qiancun::store
