#include "qiancun/error.hpp"
#include "qiancun/geometry.hpp"
#include "qiancun/registry.hpp"

#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>

namespace qiancun {
namespace {

using ::testing::HasSubstr;
using testing::psql;
using testing::run_qiancun;
using testing::TempDir;
using testing::TempSchema;

std::atomic<int> g_role_serial{0};

/// A role name unique in the cluster (roles are not per database).
std::string role_name(const std::string &what) {
    return fmt::format("{}_{}_{}", what, ::getpid(), g_role_serial++);
}

/// The registry URI of `schema` as the login role `role` connects to it.
std::string uri_as(const std::string &role, const std::string &schema) {
    return fmt::format("postgresql://{}@127.0.0.1:{}/{}?schema={}", role,
                       testing::pg_server().get("PGPORT"), testing::pg_server().get("PGDATABASE"),
                       schema);
}

/// Two villages sharing the border x = 501000: 330604101201 (west) in 百官街道 and
/// 330604101202 (east) in 东关街道; plant W in the west, plant E in the east.
struct Roles : ::testing::Test {
    TempSchema schema{::testing::UnitTest::GetInstance()->current_test_info()->name()};
    TempDir dir;
    std::string uri = schema.uri();
    std::string table; ///< "schema".sewage_plant

    void SetUp() override {
        table = fmt::format("\"{}\".sewage_plant", schema.name());
        testing::write_vector(
            dir / "villages.geojson", "GeoJSON", "villages", 4549, {"code", "name", "township"},
            {{"POLYGON ((500000 3320000, 501000 3320000, 501000 3321000, 500000 "
              "3321000, 500000 3320000))",
              {{"code", "330604101201"}, {"name", "东山村"}, {"township", "百官街道"}}},
             {"POLYGON ((501000 3320000, 502000 3320000, 502000 3321000, 501000 "
              "3321000, 501000 3320000))",
              {{"code", "330604101202"}, {"name", "下管村"}, {"township", "东关街道"}}}});
        testing::write_file(dir / "plants.csv", "id,status,x,y\n"
                                                "W,operating,500500,3320500\n"
                                                "E,operating,501500,3320500\n");
        for (const auto &args : std::vector<std::vector<std::string>>{
                 {"init", uri, "--crs", "EPSG:4549"},
                 {"import", uri, (dir / "villages.geojson").string(), "--as", "village"}}) {
            const auto r = run_qiancun(args);
            ASSERT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
        }
        // The plants straight through the library, as the owner.
        auto reg = Registry::open(Location::parse(uri));
        const auto &k = reg.kind("sewage_plant");
        std::vector<Feature> plants;
        for (const auto &[id, x] : {std::pair{"W", 500500.0}, std::pair{"E", 501500.0}}) {
            Feature f;
            f.row = static_cast<std::int64_t>(plants.size() + 1);
            f.values.assign(k.attributes.size(), Value{});
            f.values[0] = std::string(id);
            f.values[1] = std::string("operating");
            f.wkb = geometry::wkb_from_wkt(fmt::format("POINT ({} 3320500)", x));
            plants.push_back(std::move(f));
        }
        Registry::Transaction tx(reg);
        ImportRecord rec;
        rec.kind = "sewage_plant";
        rec.source = (dir / "plants.csv").string();
        reg.write(k, plants, WriteMode::upsert, rec);
        reg.link_villages();
        tx.commit();
    }

    std::string add_editor(const std::vector<std::string> &options) {
        const auto name = role_name("editor");
        std::vector<std::string> args{"role", "add", uri, name};
        args.insert(args.end(), options.begin(), options.end());
        const auto r = run_qiancun(args);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return name;
    }

    std::string plants() const {
        return psql(fmt::format("SELECT id, status, ST_AsText(geom) FROM {} ORDER BY id", table))
            .out;
    }
};

TEST_F(Roles, ATownshipEditorCannotChangeAnotherTownshipsRowsEvenWithPsql) {
    const auto editor = add_editor({"--edit", "sewage_plant", "--township", "百官街道"});
    const auto before = plants();
    ASSERT_EQ(before, "E|operating|POINT(501500 3320500)\nW|operating|POINT(500500 3320500)\n");

    // The east plant is invisible to the editor's writes: nothing is updated or deleted.
    auto r = psql(fmt::format("UPDATE {} SET status = 'closed' WHERE id = 'E' RETURNING id", table),
                  editor);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");
    r = psql(fmt::format("DELETE FROM {} WHERE id = 'E' RETURNING id", table), editor);
    EXPECT_EQ(r.out, "");
    // A new plant in the east, or the west plant moved east, is refused.
    r = psql(fmt::format("INSERT INTO {} (id, status, geom) VALUES ('X', 'operating', "
                         "ST_SetSRID(ST_MakePoint(501600, 3320500), 4549))",
                         table),
             editor);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_THAT(r.err, HasSubstr("new row violates row-level security policy for table "
                                 "\"sewage_plant\""));
    r = psql(fmt::format("UPDATE {} SET geom = ST_SetSRID(ST_MakePoint(501600, 3320500), 4549) "
                         "WHERE id = 'W'",
                         table),
             editor);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_THAT(r.err, HasSubstr("row-level security"));
    // Other kinds, the audit table and the grants are not the editor's.
    r = psql(fmt::format("UPDATE \"{}\".village SET population = 0", schema.name()), editor);
    EXPECT_THAT(r.err, HasSubstr("permission denied for table village"));
    r = psql(fmt::format("DELETE FROM \"{}\".audit_log", schema.name()), editor);
    EXPECT_THAT(r.err, HasSubstr("permission denied for table audit_log"));
    r = psql(fmt::format("ALTER TABLE {} DISABLE ROW LEVEL SECURITY", table), editor);
    EXPECT_THAT(r.err, HasSubstr("must be owner of table sewage_plant"));
    EXPECT_EQ(plants(), before);

    // Its own township's plant it may change, and the audit shows who did.
    r = psql(fmt::format("UPDATE {} SET status = 'closed' WHERE id = 'W' RETURNING id", table),
             editor);
    EXPECT_EQ(r.out, "W\n") << r.err;
    EXPECT_EQ(plants(), "E|operating|POINT(501500 3320500)\nW|closed|POINT(500500 3320500)\n");
    const auto audit = psql(fmt::format("SELECT role, operation, old_values->>'status', "
                                        "new_values->>'status' FROM \"{}\".audit_log WHERE kind = "
                                        "'sewage_plant' AND key = 'W' ORDER BY id",
                                        schema.name()));
    // Inserted and linked to its village by the owner, then closed by the editor.
    EXPECT_EQ(audit.out, fmt::format("postgres|INSERT||operating\npostgres|UPDATE|operating|"
                                     "operating\n{}|UPDATE|operating|closed\n",
                                     editor));
    const auto super = psql(fmt::format(
        "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = '{}'", editor));
    EXPECT_EQ(super.out, "f|f|f\n");
}

TEST_F(Roles, AnImportOfAnotherTownshipsIdIsRefusedNamingRoleKindAndRow) {
    const auto editor = add_editor({"--edit", "sewage_plant", "--township", "百官街道"});
    const auto before = plants();
    const auto log_before =
        psql(fmt::format("SELECT count(*) FROM \"{}\".import_log", schema.name()));
    // A crafted row: the east plant's id, from the file that brought it, moved west.
    testing::write_file(dir / "plants.csv", "id,status,x,y\nE,closed,500600,3320500\n");
    const auto editor_uri = uri_as(editor, schema.name());
    const auto r = run_qiancun({"import", editor_uri, (dir / "plants.csv").string(), "--as",
                                "sewage_plant", "--src-crs", "EPSG:4549"});
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_THAT(r.err, HasSubstr(fmt::format("role {} may not write sewage_plant row 1 (id 'E'): "
                                             "new row violates row-level security policy",
                                             editor)));
    EXPECT_THAT(r.err, HasSubstr("nothing was changed"));
    // The same refusal in Chinese; the server's own words stay as PostgreSQL gives them.
    const auto zh =
        run_qiancun({"--lang", "zh", "import", editor_uri, (dir / "plants.csv").string(), "--as",
                     "sewage_plant", "--src-crs", "EPSG:4549"});
    EXPECT_EQ(zh.exit_code, 4) << zh.err;
    EXPECT_THAT(zh.err, HasSubstr(fmt::format("qiancun: {}：角色 {} 不得写入 sewage_plant 第 1 行"
                                              "（id“E”）：new row violates row-level security "
                                              "policy",
                                              editor_uri, editor)));
    EXPECT_THAT(zh.err, ::testing::EndsWith("；未做任何更改\n"));
    EXPECT_EQ(plants(), before);
    EXPECT_EQ(psql(fmt::format("SELECT count(*) FROM \"{}\".import_log", schema.name())).out,
              log_before.out);
}

TEST_F(Roles, AnEditorImportsWithoutRightsToTheStylesAndReadsThemAsQgisDoes) {
    const auto editor = add_editor({"--edit", "sewage_plant", "--township", "百官街道"});
    const auto styles = [&] {
        return psql(fmt::format("SELECT id, stylename FROM \"{0}\".layer_styles UNION ALL SELECT "
                                "id, stylename FROM public.layer_styles WHERE f_table_schema = "
                                "'{0}' ORDER BY 1, 2",
                                schema.name()))
            .out;
    };
    const auto before = styles();
    testing::write_file(dir / "west.csv", "id,status,x,y\nW2,planned,500400,3320400\n");
    const auto editor_uri = uri_as(editor, schema.name());
    const auto r = run_qiancun({"import", editor_uri, (dir / "west.csv").string(), "--as",
                                "sewage_plant", "--src-crs", "EPSG:4549"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(psql(fmt::format("SELECT id, status FROM {} WHERE id = 'W2'", table)).out,
              "W2|planned\n");
    // Its import changed no style, so none was written again.
    EXPECT_EQ(styles(), before);
    // What QGIS's PostgreSQL provider asks when the editor opens the plants: `layer_styles`
    // unqualified, on the role's default search path.
    const auto qgis = psql(fmt::format("SELECT stylename FROM layer_styles WHERE f_table_catalog "
                                       "= current_database() AND f_table_schema = '{}' AND "
                                       "f_table_name = 'sewage_plant' AND f_geometry_column = "
                                       "'geom' ORDER BY CASE WHEN useAsDefault THEN 1 ELSE 2 "
                                       "END, update_time DESC LIMIT 1",
                                       schema.name()),
                           editor);
    EXPECT_EQ(qgis.exit_code, 0) << qgis.err;
    EXPECT_EQ(qgis.out, "status\n");
}

TEST_F(Roles, RoleAddGrantsReadingOfQgisStylesItDidNotMake) {
    // public.layer_styles exists (the set-up's import saved the styles); QGIS or another tool
    // may have made it without granting it to PUBLIC, so each role gets its own grant.
    const auto granted = [](const std::string &role) {
        return psql(fmt::format("SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a JOIN "
                                "pg_roles r ON r.oid = a.grantee WHERE c.oid = "
                                "'public.layer_styles'::regclass AND r.rolname = '{}' AND "
                                "a.privilege_type = 'SELECT'",
                                role))
            .out;
    };
    const auto editor = add_editor({"--edit", "sewage_plant"});
    EXPECT_EQ(granted(editor), "1\n");
    const auto reader = role_name("reader");
    const auto r = run_qiancun({"role", "add", uri, reader, "--read-only"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(granted(reader), "1\n");
}

TEST_F(Roles, RoleAddSaysInChineseWhenItMayNotLetTheRoleReadQgisStyles) {
    // The registry handed to an owner who is no superuser: public.layer_styles (made by the
    // set-up's import as the superuser, as QGIS would) is not theirs to grant.
    const auto owner = role_name("owner");
    const auto r0 = psql(fmt::format(
        "CREATE ROLE {0} LOGIN CREATEROLE; ALTER SCHEMA \"{1}\" OWNER TO {0}; DO $$ DECLARE t "
        "record; BEGIN FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
        "c.relnamespace WHERE n.nspname = '{1}' AND c.relkind IN ('r', 'v', 'm', 'p') LOOP "
        "EXECUTE format('ALTER TABLE %I.%I OWNER TO %I', '{1}', t.relname, '{0}'); END LOOP; "
        "END $$",
        owner, schema.name()));
    ASSERT_EQ(r0.exit_code, 0) << r0.err;
    const auto owner_uri = uri_as(owner, schema.name());
    const auto reader = role_name("reader");
    auto r = run_qiancun({"--lang", "zh", "role", "add", owner_uri, reader, "--read-only"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err,
              fmt::format("警告：{0}：角色 {1} 无权让 {2} 读取 \"public\".\"layer_styles\"：在该表"
                          "的所有者运行 GRANT SELECT ON \"public\".\"layer_styles\" TO "
                          "\"{2}\" 之前，QGIS 为该角色打开的图层没有样式\n",
                          owner_uri, owner, reader));
    EXPECT_EQ(r.out, fmt::format("角色 {} 可读取 {}\n", reader, owner_uri));
    r = run_qiancun({"role", "add", owner_uri, reader, "--read-only"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, fmt::format("warning: {0}: role {1} may not let {2} read "
                                 "\"public\".\"layer_styles\": QGIS opens the layers unstyled for "
                                 "it until the table's owner runs GRANT SELECT ON "
                                 "\"public\".\"layer_styles\" TO \"{2}\"\n",
                                 owner_uri, owner, reader));
    // The rest of the access is given: the role reads the registry.
    const auto reader_uri = uri_as(reader, schema.name());
    r = run_qiancun({"list", reader_uri, "sewage_plant", "--format", "csv"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(testing::split_lines(r.out).size(), 3u);
}

TEST_F(Roles, AReadOnlyRoleReadsAndWritesNothing) {
    const auto reader = role_name("reader");
    auto r = run_qiancun({"role", "add", uri, reader, "--read-only"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, fmt::format("role {} reads {}\n", reader, uri));
    const auto reader_uri = uri_as(reader, schema.name());
    r = run_qiancun({"list", reader_uri, "sewage_plant", "--format", "csv"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(testing::split_lines(r.out).size(), 3u);
    r = run_qiancun({"import", reader_uri, (dir / "plants.csv").string(), "--as", "sewage_plant",
                     "--src-crs", "EPSG:4549"});
    EXPECT_EQ(r.exit_code, 4);
    EXPECT_THAT(r.err, HasSubstr(fmt::format("role {} may not write sewage_plant", reader)));
    EXPECT_THAT(psql(fmt::format("DELETE FROM {}", table), reader).err,
                HasSubstr("permission denied for table sewage_plant"));
}

TEST_F(Roles, RoleListAndHistoryShowGrantsAndChanges) {
    const auto editor =
        add_editor({"--edit", "sewage_plant,courier_station", "--township", "百官街道"});
    const auto reader = role_name("reader");
    ASSERT_EQ(run_qiancun({"role", "add", uri, reader, "--read-only"}).exit_code, 0);
    auto r = run_qiancun({"role", "list", uri, "--format", "csv"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, fmt::format("role,access,kinds,townships\n"
                                 "{},edit,\"courier_station,sewage_plant\",百官街道\n"
                                 "{},read,,\n",
                                 editor, reader));
    psql(fmt::format("UPDATE {} SET status = 'closed' WHERE id = 'W'", table), editor);
    r = run_qiancun({"history", uri, "sewage_plant", "W", "--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("\"operation\": \"INSERT\""));
    EXPECT_THAT(r.out, HasSubstr(fmt::format("\"role\": \"{}\"", editor)));
    EXPECT_THAT(r.out, HasSubstr("\\\"status\\\": \\\"closed\\\""));
    // Unknown kinds and townships are named; roles need PostgreSQL.
    r = run_qiancun({"role", "add", uri, role_name("x"), "--edit", "sewage"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("unknown kind 'sewage'"));
    r = run_qiancun(
        {"role", "add", uri, role_name("x"), "--edit", "sewage_plant", "--township", "东关"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("no township '东关'; the townships are: 东关街道, 百官街道"));
    ASSERT_EQ(run_qiancun({"init", (dir / "r.sqlite").string(), "--crs", "EPSG:4549"}).exit_code,
              0);
    r = run_qiancun({"role", "list", (dir / "r.sqlite").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("need a PostgreSQL registry"));
}

TEST_F(Roles, RoleAddListAndHistorySayKindsAccessAndOperationsInChinese) {
    const auto editor = role_name("editor");
    auto r = run_qiancun({"--lang", "zh", "role", "add", uri, editor, "--edit",
                          "sewage_plant,courier_station", "--township", "百官街道"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, ::testing::StartsWith(fmt::format("角色 {} 可写入 ", editor)));
    EXPECT_THAT(r.out,
                ::testing::EndsWith(" 中百官街道的农村生活污水处理设施、村级寄递物流综合服务站\n"));

    r = run_qiancun({"--lang", "zh", "role", "list", uri});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = testing::split_lines(r.out);
    ASSERT_EQ(lines.size(), 3u) << r.out;
    EXPECT_THAT(lines[0], ::testing::MatchesRegex("角色 +权限 +类型 +乡镇"));
    EXPECT_THAT(lines[1], ::testing::MatchesRegex(
                              editor + " +编辑 +村级寄递物流综合服务站、农村生活污水处理设施 +"
                                       "百官街道"));
    EXPECT_EQ(lines[2], "（1 行）");

    psql(fmt::format("UPDATE {} SET status = 'closed' WHERE id = 'W'", table), editor);
    r = run_qiancun({"--lang", "zh", "history", uri, "sewage_plant", "W"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto history = testing::split_lines(r.out);
    // The insert and the village link as the owner, then the editor's change.
    ASSERT_EQ(history.size(), 5u) << r.out;
    EXPECT_THAT(history[0], ::testing::MatchesRegex("时间 +角色 +操作 +类型 +编号 +原值 +新值"));
    EXPECT_THAT(history[1], HasSubstr("  新增  农村生活污水处理设施  W  "));
    EXPECT_THAT(history[3], HasSubstr(fmt::format("{}  修改  农村生活污水处理设施  W  ", editor)));
    for (const char *english : {"INSERT", "UPDATE", "sewage_plant", "operation"})
        EXPECT_THAT(r.out, Not(HasSubstr(english))) << english;
}

} // namespace
} // namespace qiancun
