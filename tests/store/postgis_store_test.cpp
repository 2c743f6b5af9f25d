#include "qiancun/error.hpp"
#include "qiancun/geometry.hpp"
#include "qiancun/layer_styles.hpp"
#include "qiancun/registry.hpp"

#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace qiancun {
namespace {

using ::testing::HasSubstr;
using testing::psql;
using testing::TempDir;
using testing::TempSchema;

Feature village(std::int64_t row, const std::string &code, const std::string &township,
                const std::string &wkt) {
    const auto &k = builtin_kinds().front();
    Feature f;
    f.row = row;
    f.values.assign(k.attributes.size(), Value{});
    f.values[0] = code;
    f.values[1] = "村" + code.substr(9);
    f.values[static_cast<std::size_t>(k.attribute_index("township"))] = township;
    f.values[static_cast<std::size_t>(k.attribute_index("population"))] = std::int64_t{1200};
    f.wkb = geometry::check(geometry::wkb_from_wkt(wkt), GeometryKind::polygon, false).wkb;
    return f;
}

Feature plant(std::int64_t row, const std::string &id, double x, double y,
              const std::string &status = "operating") {
    const auto &k = builtin_kinds()[4];
    EXPECT_EQ(k.key, "sewage_plant");
    Feature f;
    f.row = row;
    f.values.assign(k.attributes.size(), Value{});
    f.values[0] = id;
    f.values[1] = status;
    const int capacity = k.attribute_index("capacity_m3d");
    if (capacity >= 0)
        f.values[static_cast<std::size_t>(capacity)] = 12.5 + static_cast<double>(row) / 3.0;
    f.wkb = geometry::wkb_from_wkt(fmt::format("POINT ({} {})", x, y));
    return f;
}

ImportRecord record(const std::string &kind, const std::string &source = "test.src",
                    const std::string &date = "") {
    ImportRecord r;
    r.kind = kind;
    r.source = source;
    r.effective_date = date;
    return r;
}

/// Sq. km villages sharing the border x = 501000 in two townships.
void fill(Registry &reg) {
    std::vector<Feature> v{village(1, "330604101202", "东关街道",
                                   "POLYGON((501000 3320000, 502000 3320000, 502000 3321000, "
                                   "501000 3321000, 501000 3320000))"),
                           village(2, "330604101201", "百官街道",
                                   "POLYGON((500000 3320000, 501000 3320000, 501000 3321000, "
                                   "500000 3321000, 500000 3320000))")};
    {
        Registry::Transaction tx(reg);
        auto rec = record("village");
        reg.write(reg.kind("village"), v, WriteMode::upsert, rec);
        tx.commit();
    }
    std::vector<Feature> p{plant(1, "A", 501000.0, 3320500.0),    // on the shared border
                           plant(2, "B", 501000.0005, 3320500.0), // 0.5 mm inside the east
                           plant(3, "C", 501000.01, 3320500.0),   // 10 mm inside the east
                           plant(4, "D", 500500.0, 3320500.0, "planned"),
                           plant(5, "E", 499000.0, 3320500.0)}; // outside every village
    {
        Registry::Transaction tx(reg);
        auto rec = record("sewage_plant", "plants.csv", "2025-01-01");
        reg.write(reg.kind("sewage_plant"), p, WriteMode::upsert, rec);
        reg.link_villages();
        tx.commit();
    }
    // D starts operating in June.
    p[3] = plant(4, "D", 500500.0, 3320500.0, "operating");
    Registry::Transaction tx(reg);
    auto rec = record("sewage_plant", "plants.csv", "2025-06-01");
    reg.write(reg.kind("sewage_plant"), p, WriteMode::upsert, rec);
    reg.link_villages();
    tx.commit();
}

std::string cells(const Rows &rows, bool skip_time) {
    std::string out;
    for (const auto &c : rows.columns)
        out += c + "|";
    out += "\n";
    for (const auto &r : rows.rows) {
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (skip_time && rows.columns[i] == "updated_at")
                continue;
            out += fmt::format("{}:{}|", r[i].index(), value_to_text(r[i]));
        }
        out += "\n";
    }
    return out;
}

std::string scanned(const Registry &reg, const ScanRequest &request) {
    std::string out;
    reg.scan(request, [&](const ScanRow &row) {
        for (const auto &v : row.values)
            out += fmt::format("{}:{}|", v.index(), value_to_text(v));
        out += fmt::format("wkb {} bytes|", row.wkb.size());
        if (!row.wkb.empty())
            out += geometry::wkt_from_wkb(row.wkb, 6) + "|";
        if (row.xy)
            out += fmt::format("xy {} {}|", row.xy->first, row.xy->second);
        if (row.bbox)
            out += fmt::format("bbox {} {} {} {}|", (*row.bbox)[0], (*row.bbox)[1], (*row.bbox)[2],
                               (*row.bbox)[3]);
        out += "\n";
    });
    return out;
}

std::string statuses(const std::vector<StatusChange> &changes) {
    std::string out;
    for (const auto &c : changes)
        out += fmt::format("{} {} {} {} {}\n", c.kind, c.id, c.status, c.valid_from, c.source);
    return out;
}

/// The output of `sql` run with psql; a failing psql fails the test with its message.
std::string query(const std::string &sql) {
    const auto r = psql(sql);
    EXPECT_EQ(r.exit_code, 0) << sql << "\n" << r.err;
    return r.out;
}

/// A query of the one-column GiST indexes of `schema` (indexname, attname) read from the
/// catalog tables alone: pg_indexes computes pg_get_indexdef for every index of the database
/// before it filters by schema, which fails ("could not open relation with OID …") when
/// another session drops a schema meanwhile.
std::string gist_indexes(const std::string &schema) {
    return fmt::format(
        "SELECT i.relname AS indexname, a.attname FROM pg_index x JOIN pg_class i ON i.oid = "
        "x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace JOIN pg_am am ON am.oid = "
        "i.relam JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] "
        "WHERE n.nspname = '{}' AND am.amname = 'gist' AND x.indnatts = 1",
        schema);
}

struct PostgisStore : ::testing::Test {
    TempSchema schema{::testing::UnitTest::GetInstance()->current_test_info()->name()};
    TempDir dir;
};

TEST_F(PostgisStore, InitMakesTypedGeometryColumnsWithGistIndexesAndTheRegistryTables) {
    auto reg = Registry::create(Location::parse(schema.uri()), 4549);
    EXPECT_EQ(reg.working_epsg(), 4549);
    EXPECT_EQ(reg.working_srid(), 4549);
    const auto columns = psql(
        fmt::format("SELECT f_table_name || ' ' || type || ' ' || srid FROM geometry_columns WHERE "
                    "f_table_schema = '{}' ORDER BY 1",
                    schema.name()));
    ASSERT_EQ(columns.exit_code, 0) << columns.err;
    for (const auto &expected : {"village MULTIPOLYGON 4549", "settlement POINT 4549",
                                 "sewage_plant POINT 4549", "rural_road MULTILINESTRING 4549",
                                 "base_station_5g POINT 4549", "cultural_hall POINT 4549",
                                 "cultural_hall MULTIPOLYGON 4549", "courier_station POINT 4549"})
        EXPECT_THAT(columns.out, HasSubstr(std::string(expected) + "\n"));
    const auto gist = query(fmt::format("SELECT count(*) FROM ({}) g WHERE attname IN ('geom', "
                                        "'footprint_geom')",
                                        gist_indexes(schema.name())));
    const auto geometry_tables = query(fmt::format(
        "SELECT count(*) FROM geometry_columns WHERE f_table_schema = '{}'", schema.name()));
    EXPECT_EQ(gist, geometry_tables);
    EXPECT_NE(geometry_tables, "0\n");
    const auto tables = query(fmt::format("SELECT string_agg(tablename, ',' ORDER BY tablename) "
                                          "FROM pg_tables WHERE schemaname = '{}' AND tablename IN "
                                          "('meta', 'import_log', 'status_history', "
                                          "'result_layers', 'layer_styles')",
                                          schema.name()));
    EXPECT_EQ(tables, "import_log,layer_styles,meta,result_layers,status_history\n");
    const auto version = query(
        fmt::format("SELECT value FROM \"{}\".meta WHERE key = 'schema_version'", schema.name()));
    EXPECT_EQ(version, "5\n");
}

TEST_F(PostgisStore, StylesAreKeptInTheSchemaAndWhereQgisLooksAndRewrittenOnlyWhenChanged) {
    auto reg = Registry::create(Location::parse(schema.uri()), 4549);
    const TableStyles villages{"village", "geom", {{"class", "按分类", "<qgis/>", true}}};
    const TableStyles halls{
        "cultural_hall", "footprint_geom", {{"status", "按状态", "<qgis h=\"1\"/>", true}}};
    store_layer_styles(reg, {villages, halls});
    const auto rows_in = [&](const std::string &styles) {
        return psql(fmt::format("SELECT f_table_catalog, f_table_name, f_geometry_column, "
                                "stylename, styleqml, useasdefault, owner FROM {} WHERE "
                                "f_table_schema = '{}' ORDER BY id",
                                styles, schema.name()))
            .out;
    };
    const std::string own = fmt::format("\"{}\".layer_styles", schema.name());
    const auto &db = testing::pg_server().get("PGDATABASE");
    const std::string expected =
        fmt::format("{0}|village|geom|class|<qgis/>|t|qiancun\n"
                    "{0}|cultural_hall|footprint_geom|status|<qgis h=\"1\"/>|t|qiancun\n",
                    db);
    EXPECT_EQ(rows_in(own), expected);
    EXPECT_EQ(rows_in("public.layer_styles"), expected);

    const auto ids = [&] {
        return psql(fmt::format("SELECT string_agg(id::text, ',' ORDER BY id) FROM {0} UNION ALL "
                                "SELECT string_agg(id::text, ',' ORDER BY id) FROM "
                                "public.layer_styles WHERE f_table_schema = '{1}'",
                                own, schema.name()))
            .out;
    };
    const auto before = ids();
    store_layer_styles(reg, {villages, halls});
    EXPECT_EQ(ids(), before);

    // A default the user saved from QGIS (in the table QGIS writes, owned by their role) stays
    // the default there, and is what QGIS's query picks.
    ASSERT_EQ(psql(fmt::format("INSERT INTO public.layer_styles (f_table_catalog, "
                               "f_table_schema, f_table_name, f_geometry_column, stylename, "
                               "styleqml, useasdefault, owner) VALUES (current_database(), '{}', "
                               "'village', 'geom', 'mine', XMLPARSE(DOCUMENT '<qgis m=\"1\"/>'), "
                               "true, 'planner')",
                               schema.name()))
                  .exit_code,
              0);
    store_layer_styles(reg, {villages, halls});
    EXPECT_EQ(rows_in("public.layer_styles"),
              fmt::format("{0}|village|geom|mine|<qgis m=\"1\"/>|t|planner\n"
                          "{0}|village|geom|class|<qgis/>|f|qiancun\n"
                          "{0}|cultural_hall|footprint_geom|status|<qgis h=\"1\"/>|t|qiancun\n",
                          db));
    EXPECT_EQ(rows_in(own), expected);
    EXPECT_EQ(psql(fmt::format("SELECT stylename FROM layer_styles WHERE f_table_catalog = "
                               "current_database() AND f_table_schema = '{}' AND f_table_name = "
                               "'village' AND f_geometry_column = 'geom' ORDER BY CASE WHEN "
                               "useAsDefault THEN 1 ELSE 2 END, update_time DESC LIMIT 1",
                               schema.name()))
                  .out,
              "mine\n");
}

TEST_F(PostgisStore, ADroppedSchemaLeavesNoStylesWhereQgisLooks) {
    const auto in_public = [](const std::string &name) {
        return psql(fmt::format("SELECT count(*) FROM public.layer_styles WHERE f_table_catalog = "
                                "current_database() AND f_table_schema = '{}'",
                                name))
            .out;
    };
    {
        auto reg = Registry::create(Location::parse(schema.uri()), 4549);
        store_layer_styles(reg,
                           {{"village", "geom", {{"class", "按分类", "<qgis/>", true}}},
                            {"sewage_plant", "geom", {{"status", "按状态", "<qgis/>", true}}}});
    }
    // A style the user saved from QGIS for a layer of the registry goes with it too.
    ASSERT_EQ(psql(fmt::format("INSERT INTO public.layer_styles (f_table_catalog, f_table_schema, "
                               "f_table_name, f_geometry_column, stylename, styleqml, "
                               "useasdefault, owner) VALUES (current_database(), '{}', 'village', "
                               "'geom', 'mine', XMLPARSE(DOCUMENT '<qgis/>'), false, 'planner')",
                               schema.name()))
                  .exit_code,
              0);
    ASSERT_EQ(in_public(schema.name()), "3\n");
    // The test server's superuser made the registry, so a DROP SCHEMA removes them at once.
    const auto dropped = psql(fmt::format("DROP SCHEMA \"{}\" CASCADE", schema.name()));
    ASSERT_EQ(dropped.exit_code, 0) << dropped.err;
    EXPECT_EQ(dropped.err, "");
    EXPECT_EQ(in_public(schema.name()), "0\n");

    // Rows of a schema dropped while the trigger could not see it (here: put there by hand) go
    // when any registry of the database next saves its styles (another test's may already).
    const std::string gone = schema.name() + "_gone";
    const auto put = psql(fmt::format(
        "INSERT INTO public.layer_styles (f_table_catalog, f_table_schema, f_table_name, "
        "f_geometry_column, stylename, styleqml, useasdefault, owner) VALUES (current_database(), "
        "'{}', 'village', 'geom', 'class', XMLPARSE(DOCUMENT '<qgis/>'), true, 'qiancun') "
        "RETURNING f_table_schema",
        gone));
    ASSERT_EQ(put.exit_code, 0) << put.err;
    ASSERT_EQ(put.out, gone + "\n");
    TempSchema other{"styles_other"};
    auto reg = Registry::create(Location::parse(other.uri()), 4549);
    store_layer_styles(reg, {{"village", "geom", {{"class", "按分类", "<qgis/>", true}}}});
    EXPECT_EQ(in_public(gone), "0\n");
    EXPECT_EQ(in_public(other.name()), "1\n");
}

TEST_F(PostgisStore, InitRefusesAnExistingRegistryAndOpenAMissingOne) {
    Registry::create(Location::parse(schema.uri()), 4549);
    try {
        Registry::create(Location::parse(schema.uri()), 4549);
        FAIL() << "created twice";
    } catch (const UsageError &e) {
        EXPECT_THAT(e.what(), HasSubstr("already exists"));
    }
    const TempSchema missing("missing");
    try {
        Registry::open(Location::parse(missing.uri()));
        FAIL() << "opened a missing schema";
    } catch (const UsageError &e) {
        EXPECT_THAT(e.what(), HasSubstr("does not exist; create it with 'qiancun init"));
    }
}

TEST_F(PostgisStore, RefusesASchemaNewerThanItKnows) {
    Registry::create(Location::parse(schema.uri()), 4549);
    ASSERT_EQ(psql(fmt::format("UPDATE \"{}\".meta SET value = '99' WHERE key = "
                               "'schema_version'",
                               schema.name()))
                  .exit_code,
              0);
    try {
        Registry::open(Location::parse(schema.uri()));
        FAIL() << "opened a newer schema";
    } catch (const DatabaseError &e) {
        EXPECT_THAT(e.what(), HasSubstr("has schema version 99, newer than this qiancun knows"));
    }
}

TEST_F(PostgisStore, AVersion1SchemaIsUpgradedInPlaceWithItsData) {
    {
        auto reg = Registry::create(Location::parse(schema.uri()), 4549);
        fill(reg);
    }
    // Back to version 1: no audit, no roles, no row-level security.
    const auto downgrade = psql(fmt::format(
        "SET search_path = \"{0}\", public; "
        "DO $$ DECLARE p record; BEGIN FOR p IN SELECT policyname, tablename FROM pg_policies "
        "WHERE schemaname = '{0}' LOOP EXECUTE format('DROP POLICY %I ON \"{0}\".%I', "
        "p.policyname, p.tablename); END LOOP; END $$; "
        "DROP FUNCTION qiancun_audit() CASCADE; DROP TABLE audit_log, roles, role_townships; "
        "UPDATE meta SET value = '1' WHERE key = 'schema_version'",
        schema.name()));
    ASSERT_EQ(downgrade.exit_code, 0) << downgrade.err;
    // Any command upgrades it, a reader too.
    auto reg = Registry::open(Location::parse(schema.uri()), true);
    EXPECT_EQ(psql(fmt::format("SELECT value FROM \"{}\".meta WHERE key = 'schema_version'",
                               schema.name()))
                  .out,
              "5\n");
    EXPECT_EQ(reg.count("sewage_plant"), 5);
    EXPECT_EQ(psql(fmt::format("SELECT count(*) FROM pg_policies WHERE schemaname = '{}' AND "
                               "tablename = 'sewage_plant'",
                               schema.name()))
                  .out,
              "2\n");
    // The audit trigger is back on the old tables.
    ASSERT_EQ(psql(fmt::format("UPDATE \"{}\".sewage_plant SET status = 'closed' WHERE id = 'A'",
                               schema.name()))
                  .exit_code,
              0);
    EXPECT_EQ(Registry::open(Location::parse(schema.uri()), true).audit("sewage_plant", "A").size(),
              1u);
}

/// A hall of `wkt` (a point or a polygon), operating.
Feature hall(std::int64_t row, const std::string &id, const std::string &wkt) {
    const KindDef *k = nullptr;
    for (const auto &kind : builtin_kinds())
        if (kind.key == "cultural_hall")
            k = &kind;
    Feature f;
    f.row = row;
    f.values.assign(k->attributes.size(), Value{});
    f.values[0] = id;
    f.values[static_cast<std::size_t>(k->attribute_index("status"))] = std::string("operating");
    f.wkb = geometry::check(geometry::wkb_from_wkt(wkt), GeometryKind::point_or_polygon, false).wkb;
    return f;
}

TEST_F(PostgisStore, HallsKeepAPointColumnAndAFootprintColumnAndVersion2IsUpgraded) {
    {
        auto reg = Registry::create(Location::parse(schema.uri()), 4549);
        fill(reg);
        std::vector<Feature> halls{hall(1, "H1",
                                        "POLYGON((500100 3320100, 500200 3320100, 500200 3320150, "
                                        "500100 3320150, 500100 3320100))"),
                                   hall(2, "H2", "POINT (501500 3320500)")};
        Registry::Transaction tx(reg);
        auto rec = record("cultural_hall");
        reg.write(reg.kind("cultural_hall"), halls, WriteMode::upsert, rec);
        reg.link_villages("cultural_hall");
        tx.commit();
    }
    // The polygon's GEOS point-on-surface by hand: (500150, 3320125), the middle of the widest
    // run of the line through the middle of its box.
    const std::string halls_sql =
        fmt::format("SELECT id || ' ' || ST_AsText(geom) || ' ' || "
                    "coalesce(ST_AsText(footprint_geom), '-') || ' ' "
                    "|| village_code FROM \"{}\".cultural_hall ORDER BY id",
                    schema.name());
    const std::string expected =
        "H1 POINT(500150 3320125) MULTIPOLYGON(((500100 3320100,500200 3320100,500200 3320150,"
        "500100 3320150,500100 3320100))) 330604101201\n"
        "H2 POINT(501500 3320500) - 330604101202\n";
    EXPECT_EQ(psql(halls_sql).out, expected);
    const auto audited =
        Registry::open(Location::parse(schema.uri()), true).audit("cultural_hall", "H1");
    // Back to version 2: points and footprints in one GEOMETRY column, without the edit policy
    // that reads it.
    const auto downgrade = psql(fmt::format(
        "SET search_path = \"{0}\", public; DROP POLICY qiancun_edit ON cultural_hall; "
        "ALTER TABLE cultural_hall ALTER COLUMN geom TYPE geometry(GEOMETRY, 4549) USING "
        "coalesce(footprint_geom, geom); ALTER TABLE cultural_hall DROP COLUMN footprint_geom; "
        "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
        schema.name()));
    ASSERT_EQ(downgrade.exit_code, 0) << downgrade.err;
    // A reader upgrades it: the same rows, the same village links, the edit policy back, and no
    // audit entry for the move.
    auto reg = Registry::open(Location::parse(schema.uri()), true);
    EXPECT_EQ(psql(fmt::format("SELECT value FROM \"{}\".meta WHERE key = 'schema_version'",
                               schema.name()))
                  .out,
              "5\n");
    EXPECT_EQ(psql(halls_sql).out, expected);
    EXPECT_EQ(psql(fmt::format("SELECT string_agg(f_geometry_column || ' ' || type, ',' ORDER BY "
                               "f_geometry_column) FROM geometry_columns WHERE f_table_schema = "
                               "'{}' AND f_table_name = 'cultural_hall'",
                               schema.name()))
                  .out,
              "footprint_geom MULTIPOLYGON,geom POINT\n");
    EXPECT_EQ(psql(fmt::format("SELECT string_agg(policyname, ',' ORDER BY policyname) FROM "
                               "pg_policies WHERE schemaname = '{}' AND tablename = "
                               "'cultural_hall'",
                               schema.name()))
                  .out,
              "qiancun_edit,qiancun_read\n");
    EXPECT_EQ(reg.audit("cultural_hall", "H1").size(), audited.size());
    // Analysis reads the footprint where there is one.
    std::vector<std::string> read;
    reg.scan({.table = "cultural_hall", .columns = {"id"}, .wkb = true},
             [&](const ScanRow &r) { read.push_back(geometry::wkt_from_wkb(r.wkb, 0)); });
    std::sort(read.begin(), read.end());
    EXPECT_EQ(read, (std::vector<std::string>{"MULTIPOLYGON (((500100 3320100, 500200 3320100, "
                                              "500200 3320150, 500100 3320150, 500100 "
                                              "3320100)))",
                                              "POINT (501500 3320500)"}));
}

TEST_F(PostgisStore, AVersion3SchemaGetsItsFootprintsRenamed) {
    {
        auto reg = Registry::create(Location::parse(schema.uri()), 4549);
        fill(reg);
        std::vector<Feature> halls{hall(1, "H1",
                                        "POLYGON((500100 3320100, 500200 3320100, 500200 3320150, "
                                        "500100 3320150, 500100 3320100))")};
        Registry::Transaction tx(reg);
        auto rec = record("cultural_hall");
        reg.write(reg.kind("cultural_hall"), halls, WriteMode::upsert, rec);
        tx.commit();
    }
    const auto downgrade = psql(fmt::format(
        "SET search_path = \"{0}\", public; ALTER TABLE cultural_hall RENAME COLUMN "
        "footprint_geom TO footprint; ALTER INDEX cultural_hall_footprint_geom RENAME TO "
        "cultural_hall_footprint; UPDATE meta SET value = '3' WHERE key = 'schema_version'",
        schema.name()));
    ASSERT_EQ(downgrade.exit_code, 0) << downgrade.err;
    auto reg = Registry::open(Location::parse(schema.uri()), true);
    EXPECT_EQ(psql(fmt::format("SELECT value FROM \"{}\".meta WHERE key = 'schema_version'",
                               schema.name()))
                  .out,
              "5\n");
    EXPECT_EQ(psql(fmt::format("SELECT string_agg(f_geometry_column || ' ' || type, ',' ORDER BY "
                               "f_geometry_column) FROM geometry_columns WHERE f_table_schema = "
                               "'{}' AND f_table_name = 'cultural_hall'",
                               schema.name()))
                  .out,
              "footprint_geom MULTIPOLYGON,geom POINT\n");
    EXPECT_EQ(query(fmt::format("SELECT indexname FROM ({}) g WHERE attname = 'footprint_geom'",
                                gist_indexes(schema.name()))),
              "cultural_hall_footprint_geom\n");
    std::vector<std::string> read;
    reg.scan({.table = "cultural_hall", .columns = {"id"}, .wkb = true},
             [&](const ScanRow &r) { read.push_back(geometry::wkt_from_wkb(r.wkb, 0)); });
    EXPECT_EQ(read, (std::vector<std::string>{"MULTIPOLYGON (((500100 3320100, 500200 3320100, "
                                              "500200 3320150, 500100 3320150, 500100 "
                                              "3320100)))"}));
}

/// Back to version 4 in `schema`: the audit as versions 2 to 4 made it, one row-level trigger
/// per kind table calling a function that logs the row it is called for.
std::string row_level_audit(const std::string &schema) {
    return fmt::format(
        "SET search_path = \"{0}\", public; "
        "CREATE OR REPLACE FUNCTION \"{0}\".qiancun_audit() RETURNS trigger LANGUAGE plpgsql "
        "SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $f$ BEGIN INSERT INTO "
        "\"{0}\".audit_log (at, role, operation, kind, key, old_values, new_values) VALUES "
        "(clock_timestamp(), session_user, TG_OP, TG_TABLE_NAME, CASE WHEN TG_OP = 'DELETE' THEN "
        "to_jsonb(OLD) ELSE to_jsonb(NEW) END ->> TG_ARGV[0], CASE WHEN TG_OP = 'INSERT' THEN "
        "NULL ELSE to_jsonb(OLD) END, CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) "
        "END); RETURN NULL; END $f$; "
        "DO $$ DECLARE t record; BEGIN FOR t IN SELECT c.relname, split_part(encode(g.tgargs, "
        "'escape'), '\\000', 1) AS key FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{0}' AND g.tgname = "
        "'qiancun_audit_insert' LOOP EXECUTE format('DROP TRIGGER qiancun_audit_insert ON %1$I; "
        "DROP TRIGGER qiancun_audit_update ON %1$I; DROP TRIGGER qiancun_audit_delete ON %1$I; "
        "CREATE TRIGGER qiancun_audit AFTER INSERT OR UPDATE OR DELETE ON %1$I FOR EACH ROW "
        "EXECUTE FUNCTION qiancun_audit(%2$L)', t.relname, t.key); END LOOP; END $$; "
        "UPDATE meta SET value = '4' WHERE key = 'schema_version'",
        schema);
}

TEST_F(PostgisStore, AVersion4SchemaIsUpgradedToStatementAuditWritingTheSameRows) {
    // Two registries with the same rows; `old` goes back to version 4 (its rows audited so far
    // by the triggers of now), `now` stays as init made it.
    TempSchema now_schema{"audit_now"};
    const std::array<std::string, 2> names{schema.name(), now_schema.name()};
    const std::array<std::string, 2> uris{schema.uri(), now_schema.uri()};
    for (const auto &uri : uris) {
        auto reg = Registry::create(Location::parse(uri), 4549);
        fill(reg);
    }
    const auto sql = [](const std::string &name, const std::string &query) {
        const auto r = psql(fmt::format("SET search_path = \"{}\", public; {}", name, query));
        EXPECT_EQ(r.exit_code, 0) << query << "\n" << r.err;
        return r.out;
    };
    const auto downgrade = psql(row_level_audit(names[0]));
    ASSERT_EQ(downgrade.exit_code, 0) << downgrade.err;
    const auto triggers = [&](const std::string &name) {
        return sql(name, fmt::format("SELECT c.relname, g.tgname, g.tgtype, g.tgenabled, "
                                     "encode(g.tgargs, 'escape'), g.tgoldtable, g.tgnewtable "
                                     "FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN "
                                     "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = "
                                     "'{}' AND NOT g.tgisinternal ORDER BY 1, 2",
                                     name));
    };
    const auto row_triggers = triggers(names[0]);
    ASSERT_THAT(row_triggers, HasSubstr("\nsewage_plant|qiancun_audit|29|O|id\\000||\n"));
    ASSERT_THAT(row_triggers, HasSubstr("\nvillage|qiancun_audit|29|O|code\\000||\n"));
    // Every kind of change, by hand as in QGIS or psql: rows inserted, an upsert that inserts
    // one and updates another, a changed fid and a changed key, rows deleted, every village.
    const std::string point = "ST_SetSRID(ST_MakePoint({}, 3320100), 4549)";
    const auto edit = [&](const std::string &round) {
        return fmt::format(
            "INSERT INTO sewage_plant (id, status, geom) VALUES ('{0}1', 'planned', {1}), "
            "('{0}2', 'planned', {2}); INSERT INTO sewage_plant (id, status, geom) VALUES "
            "('{0}1', 'operating', {1}), ('{0}3', 'planned', {3}) ON CONFLICT (id) DO UPDATE SET "
            "status = excluded.status; UPDATE sewage_plant SET fid = fid + 1000, status = "
            "'closed' WHERE id IN ('A', 'B'); UPDATE sewage_plant SET id = '{0}A' WHERE id = 'A'; "
            "UPDATE sewage_plant SET id = 'A' WHERE id = '{0}A'; DELETE FROM sewage_plant WHERE "
            "id IN ('C', '{0}2'); UPDATE village SET population = population + 1",
            round, fmt::format(fmt::runtime(point), 500100),
            fmt::format(fmt::runtime(point), 500200), fmt::format(fmt::runtime(point), 500300));
    };
    // The whole audit but the times (of the log and of the writes, a second apart perhaps),
    // key by key in order.
    const std::string audit_rows =
        "SELECT kind, key, operation, role, old_values - 'updated_at', new_values - 'updated_at' "
        "FROM audit_log ORDER BY kind, key, id";
    for (const auto &name : names)
        sql(name, edit("X"));
    const auto logged = sql(names[0], audit_rows);
    EXPECT_EQ(sql(names[1], audit_rows), logged);
    const std::string changes =
        "SELECT key, operation, old_values->>'fid', new_values->>'fid', old_values->>'status', "
        "new_values->>'status' FROM audit_log WHERE kind = 'sewage_plant' AND (key LIKE 'X%' OR "
        "id > (SELECT max(id) FROM audit_log WHERE key = 'X1')) ORDER BY key, id";
    const auto changed = sql(names[1], changes);
    EXPECT_EQ(changed, "A|UPDATE|1|1001|operating|closed\n"
                       "A|UPDATE|1001|1001|closed|closed\n"
                       "B|UPDATE|2|1002|operating|closed\n"
                       "C|DELETE|3||operating|\n"
                       "X1|INSERT||11||planned\n"
                       "X1|UPDATE|11|11|planned|operating\n"
                       "X2|INSERT||12||planned\n"
                       "X2|DELETE|12||planned|\n"
                       "X3|INSERT||14||planned\n"
                       "XA|UPDATE|1001|1001|closed|closed\n");
    EXPECT_EQ(sql(names[0], changes), changed);

    // A reader upgrades it: the triggers and the function of now, the same policies, the
    // audit kept, and the next changes logged as `now` logs them.
    Registry::open(Location::parse(uris[0]), true);
    EXPECT_EQ(sql(names[0], "SELECT value FROM meta WHERE key = 'schema_version'"), "5\n");
    const auto statement_triggers = triggers(names[1]);
    EXPECT_THAT(statement_triggers,
                HasSubstr("sewage_plant|qiancun_audit_delete|8|O|id\\000|qiancun_old|\n"
                          "sewage_plant|qiancun_audit_insert|4|O|id\\000||qiancun_new\n"
                          "sewage_plant|qiancun_audit_update|16|O|id\\000|qiancun_old|"
                          "qiancun_new\n"));
    EXPECT_EQ(triggers(names[0]), statement_triggers);
    const auto function = [&](const std::string &name) {
        return sql(name, fmt::format("SELECT replace(prosrc, '{0}', 'S'), prosecdef, proconfig "
                                     "FROM pg_proc WHERE proname = 'qiancun_audit' AND "
                                     "pronamespace = '\"{0}\"'::regnamespace",
                                     name));
    };
    EXPECT_EQ(function(names[0]), function(names[1]));
    const auto policies = [&](const std::string &name) {
        return sql(name, fmt::format("SELECT tablename, policyname, cmd, replace(qual, '{0}', "
                                     "'S'), replace(with_check, '{0}', 'S') FROM pg_policies "
                                     "WHERE schemaname = '{0}' ORDER BY 1, 2",
                                     name));
    };
    EXPECT_EQ(policies(names[0]), policies(names[1]));
    EXPECT_EQ(sql(names[0], audit_rows), logged);
    for (const auto &name : names)
        sql(name, edit("Y"));
    for (const auto &uri : uris) {
        auto writer = Registry::open(Location::parse(uri));
        Registry::Transaction tx(writer);
        auto rec = record("sewage_plant", "plants.csv", "2025-09-01");
        writer.write(writer.kind("sewage_plant"),
                     std::vector<Feature>{plant(1, "D", 500500.0, 3320500.0, "closed"),
                                          plant(2, "F", 500600.0, 3320500.0)},
                     WriteMode::upsert, rec);
        tx.commit();
    }
    EXPECT_EQ(sql(names[0], audit_rows), sql(names[1], audit_rows));
    // The status before and after, as `qiancun history` shows the rows.
    const auto status = [](const std::string &json) {
        const std::string tag = "\"status\": \"";
        const auto at = json.find(tag);
        if (at == std::string::npos)
            return std::string("-");
        const auto from = at + tag.size();
        return json.substr(from, json.find('"', from) - from);
    };
    std::string history;
    for (const auto &e : Registry::open(Location::parse(uris[0]), true).audit("sewage_plant", "D"))
        history += fmt::format("{} {} {} {} {}\n", e.role, e.operation, e.id, status(e.old_values),
                               status(e.new_values));
    EXPECT_EQ(history, "postgres INSERT D - planned\n"
                       "postgres UPDATE D planned planned\n"
                       "postgres UPDATE D planned operating\n"
                       "postgres UPDATE D operating closed\n");
}

TEST_F(PostgisStore, OtherTablesInTheSchemaAreNeverTakenOver) {
    ASSERT_EQ(
        psql(fmt::format("CREATE SCHEMA \"{0}\"; CREATE TABLE \"{0}\".mine (v int)", schema.name()))
            .exit_code,
        0);
    EXPECT_THROW(Registry::create(Location::parse(schema.uri()), 4549), UsageError);
    EXPECT_EQ(
        psql(fmt::format("SELECT count(*) FROM pg_tables WHERE schemaname = '{}'", schema.name()))
            .out,
        "1\n");
}

/// The same writes on a SpatiaLite file and a PostGIS schema read back the same.
TEST_F(PostgisStore, ReadsBackWhatTheFileStoreReadsBack) {
    auto file = Registry::create(dir / "r.sqlite", 4549);
    auto pg = Registry::create(Location::parse(schema.uri()), 4549);
    fill(file);
    fill(pg);

    EXPECT_EQ(cells(pg.list("sewage_plant", {}), true), cells(file.list("sewage_plant", {}), true));
    EXPECT_EQ(cells(pg.list("village", {}), true), cells(file.list("village", {}), true));
    // The border rule: A on the border and B 0.5 mm inside the east go to the smaller code.
    const auto plants = pg.list("sewage_plant", {});
    const auto link = std::find(plants.columns.begin(), plants.columns.end(), "village_code") -
                      plants.columns.begin();
    std::map<std::string, std::string> linked;
    for (const auto &r : plants.rows)
        linked[value_to_text(r[0])] = value_to_text(r[static_cast<std::size_t>(link)]);
    EXPECT_EQ(linked, (std::map<std::string, std::string>{{"A", "330604101201"},
                                                          {"B", "330604101201"},
                                                          {"C", "330604101202"},
                                                          {"D", "330604101201"},
                                                          {"E", ""}}));
    std::vector<ListFilter> filters(3);
    filters[0].village_code = "330604101202";
    filters[1].township = "百官街道";
    filters[2].status = "运行";
    filters[2].limit = 2;
    for (const auto &filter : filters) {
        const auto a = cells(pg.list("sewage_plant", filter), true);
        EXPECT_EQ(a, cells(file.list("sewage_plant", filter), true));
        EXPECT_NE(a.find('\n'), a.size() - 1) << "no rows: " << a;
    }

    const ScanRequest points{.table = "sewage_plant",
                             .columns = {"id", "status", "capacity_m3d", "village_code"},
                             .wkb = true,
                             .xy = true,
                             .bbox = true,
                             .order_by = {"village_code", "id"}};
    const auto scanned_pg = scanned(pg, points);
    EXPECT_EQ(scanned_pg, scanned(file, points));
    // NULL first (E lies in no village); doubles exact.
    EXPECT_THAT(scanned_pg, ::testing::StartsWith("3:E|3:operating|2:14.166666666666666|0:|"));
    EXPECT_THAT(scanned_pg, HasSubstr("3:A|3:operating|2:12.833333333333334|3:330604101201|"));
    const ScanRequest villages{.table = "village",
                               .columns = {"code", "township", "population"},
                               .wkb = true,
                               .bbox = true,
                               .where = {ScanCondition::eq("township", std::string("东关街道"))}};
    EXPECT_EQ(scanned(pg, villages), scanned(file, villages));
    EXPECT_THAT(scanned(pg, villages), HasSubstr("330604101202"));

    EXPECT_EQ(statuses(pg.statuses_as_of("2025-03-01")),
              statuses(file.statuses_as_of("2025-03-01")));
    EXPECT_THAT(statuses(pg.statuses_as_of("2025-03-01")),
                HasSubstr("sewage_plant D planned 2025-01-01 plants.csv"));
    EXPECT_THAT(statuses(pg.statuses_as_of("2025-07-01")),
                HasSubstr("sewage_plant D operating 2025-06-01 plants.csv"));
    EXPECT_EQ(statuses(pg.status_history("sewage_plant", "D")),
              statuses(file.status_history("sewage_plant", "D")));
    EXPECT_EQ(pg.statuses_known_from("sewage_plant"), "2025-01-01");

    const auto a = pg.info();
    const auto b = file.info();
    ASSERT_EQ(a.layers.size(), b.layers.size());
    for (std::size_t i = 0; i < a.layers.size(); ++i) {
        EXPECT_EQ(a.layers[i].count, b.layers[i].count) << a.layers[i].kind;
        EXPECT_EQ(a.layers[i].extent, b.layers[i].extent) << a.layers[i].kind;
    }
    ASSERT_TRUE(a.scale_error && b.scale_error);
    EXPECT_EQ(a.scale_error->geometries, b.scale_error->geometries);
    EXPECT_EQ(a.scale_error->error, b.scale_error->error);
    EXPECT_EQ(a.last_imports.size(), 3u);
    EXPECT_EQ(pg.townships(), (std::vector<std::string>{"东关街道", "百官街道"}));
}

TEST_F(PostgisStore, AFailedImportLeavesTheSchemaAsItWas) {
    auto pg = Registry::create(Location::parse(schema.uri()), 4549);
    fill(pg);
    const auto before = pg.content_checksum();
    try {
        Registry::Transaction tx(pg);
        auto rec = record("sewage_plant", "plants.csv");
        pg.write(
            pg.kind("sewage_plant"),
            std::vector<Feature>{plant(1, "F", 500100, 3320100), plant(7, "F", 500200, 3320200)},
            WriteMode::upsert, rec);
        tx.commit();
        FAIL() << "a duplicate id was stored";
    } catch (const InputError &e) {
        EXPECT_STREQ(e.what(),
                     "plants.csv, row 7: id 'F' appears twice in the source (rows 1 and 7)");
    }
    // A value the schema refuses (a status outside the choices) fails on the server.
    try {
        Registry::Transaction tx(pg);
        auto rec = record("sewage_plant", "plants.csv");
        pg.write(pg.kind("sewage_plant"),
                 std::vector<Feature>{plant(1, "G", 500100, 3320100),
                                      plant(2, "H", 500200, 3320200, "bogus")},
                 WriteMode::upsert, rec);
        tx.commit();
        FAIL() << "a bad status was stored";
    } catch (const InputError &e) {
        EXPECT_EQ(e.row(), 2);
        EXPECT_THAT(e.what(), HasSubstr("check constraint"));
    }
    EXPECT_EQ(pg.content_checksum(), before);
    EXPECT_EQ(Registry::open(Location::parse(schema.uri())).content_checksum(), before);
}

TEST_F(PostgisStore, BulkWritesKeepAuditAndStatusHistoryExactAndNameTheBadRow) {
    // More rows than one statement writes (1,000), so rows go in several multi-row upserts.
    auto pg = Registry::create(Location::parse(schema.uri()), 4549);
    const auto many = [](int n, int closed_every) {
        std::vector<Feature> p;
        for (int i = 1; i <= n; ++i)
            p.push_back(plant(i, fmt::format("P{:04}", i), 500000.0 + i, 3320000.0 + i,
                              closed_every && i % closed_every == 0 ? "closed" : "operating"));
        return p;
    };
    const auto sql = [&](const std::string &query) {
        const auto r =
            psql(fmt::format("SET search_path = \"{}\", public; {}", schema.name(), query));
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.out;
    };
    {
        Registry::Transaction tx(pg);
        auto rec = record("sewage_plant", "plants.csv", "2025-01-01");
        pg.write(pg.kind("sewage_plant"), many(2345, 0), WriteMode::upsert, rec);
        EXPECT_EQ(rec.inserted, 2345);
        EXPECT_EQ(rec.updated, 0);
        tx.commit();
    }
    // Again with 10 more and every 7th closed: 2,345 updates, 10 inserts, 335 + 10 statuses.
    {
        Registry::Transaction tx(pg);
        auto rec = record("sewage_plant", "plants.csv", "2025-06-01");
        pg.write(pg.kind("sewage_plant"), many(2355, 7), WriteMode::upsert, rec);
        EXPECT_EQ(rec.inserted, 10);
        EXPECT_EQ(rec.updated, 2345);
        tx.commit();
    }
    EXPECT_EQ(sql("SELECT count(*), count(DISTINCT id), sum(source_row) FROM sewage_plant"),
              fmt::format("2355|2355|{}\n", 2355 * 2356 / 2));
    EXPECT_EQ(sql("SELECT count(*) FROM sewage_plant WHERE status = 'closed' AND id = 'P' || "
                  "lpad(source_row::text, 4, '0') AND ST_X(geom) = 500000 + source_row"),
              "336\n");
    EXPECT_EQ(sql("SELECT operation, count(*), count(DISTINCT key) FROM audit_log WHERE kind = "
                  "'sewage_plant' GROUP BY operation ORDER BY operation"),
              "INSERT|2355|2355\nUPDATE|2345|2345\n");
    EXPECT_EQ(sql("SELECT count(*) FROM audit_log WHERE operation = 'UPDATE' AND "
                  "old_values->>'status' = 'operating' AND new_values->>'status' = 'closed'"),
              "335\n");
    EXPECT_EQ(sql("SELECT valid_from, status, count(*) FROM status_history WHERE kind = "
                  "'sewage_plant' GROUP BY 1, 2 ORDER BY 1, 2"),
              "2025-01-01|operating|2345\n2025-06-01|closed|336\n2025-06-01|operating|9\n");
    EXPECT_EQ(sql("SELECT string_agg(valid_from || ' ' || status, ', ' ORDER BY id) FROM "
                  "status_history WHERE asset_id = 'P1400'"),
              "2025-01-01 operating, 2025-06-01 closed\n");

    // A row the server refuses in the middle of a statement's rows is named; nothing is kept.
    const auto before = pg.content_checksum();
    auto bad = many(2500, 0);
    bad[1699] = plant(1700, "P1700", 500500, 3320500, "bogus");
    try {
        Registry::Transaction tx(pg);
        auto rec = record("sewage_plant", "plants.csv");
        pg.write(pg.kind("sewage_plant"), bad, WriteMode::upsert, rec);
        tx.commit();
        FAIL() << "a bad status was stored";
    } catch (const InputError &e) {
        EXPECT_EQ(e.row(), 1700);
        EXPECT_THAT(e.what(), HasSubstr("plants.csv, row 1700: "));
        EXPECT_THAT(e.what(), HasSubstr("check constraint"));
    }
    EXPECT_EQ(pg.content_checksum(), before);
    EXPECT_EQ(sql("SELECT count(*) FROM audit_log"), "4700\n");
}

TEST_F(PostgisStore, ResultLayersReplaceOnlyTheirOwnTables) {
    auto pg = Registry::create(Location::parse(schema.uri()), 4549);
    fill(pg);
    for (int round = 0; round < 2; ++round) {
        Registry::Transaction tx(pg);
        auto w = pg.create_result_layer("village_metrics",
                                        {{"code", ColumnType::text},
                                         {"n", ColumnType::integer},
                                         {"cov", ColumnType::real},
                                         {"gap", ColumnType::boolean}},
                                        "MULTIPOLYGON", "metrics");
        const std::vector<Value> row{std::string("330604101201"), std::int64_t{round}, 0.1 + round,
                                     std::int64_t{1}};
        w->add(row, geometry::check(geometry::wkb_from_wkt("POLYGON((0 0, 1 0, 1 1, 0 0))"),
                                    GeometryKind::polygon, false)
                        .wkb);
        tx.commit();
    }
    EXPECT_EQ(scanned(pg, {.table = "village_metrics", .columns = {"code", "n", "cov", "gap"}}),
              "3:330604101201|1:1|2:1.1|1:1|wkb 0 bytes|\n");
    Registry::Transaction tx(pg);
    EXPECT_THROW(pg.create_result_layer("Sewage_Plant", {}, "POINT", "metrics"), DatabaseError);
}

} // namespace
} // namespace qiancun
