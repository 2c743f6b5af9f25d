#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::run_qiancun;
using testing::TempDir;
using testing::TempSchema;

/// CSV text without the column `drop` (a column of the time of the run).
std::string without_column(const std::string &csv, const std::string &drop) {
    const auto lines = testing::split_lines(csv);
    if (lines.empty())
        return csv;
    const auto header = testing::csv_fields(lines[0]);
    const auto at = std::find(header.begin(), header.end(), drop) - header.begin();
    std::string out;
    for (const auto &line : lines) {
        const auto cells = testing::csv_fields(line);
        for (std::size_t i = 0; i < cells.size(); ++i)
            if (static_cast<std::ptrdiff_t>(i) != at)
                out += cells[i] + ",";
        out += "\n";
    }
    return out;
}

/// The same commands on a SpatiaLite file and on a PostGIS schema.
struct PostgisCli : ::testing::Test {
    TempSchema schema{::testing::UnitTest::GetInstance()->current_test_info()->name()};
    TempDir dir;
    std::string file = (dir / "county.sqlite").string();
    std::string uri = schema.uri();

    /// Runs `args` with REGISTRY replaced by each registry; both must give `exit_code`.
    std::pair<testing::CommandResult, testing::CommandResult> both(std::vector<std::string> args,
                                                                   int exit_code = 0) {
        std::pair<testing::CommandResult, testing::CommandResult> out;
        for (const auto *reg : {&file, &uri}) {
            auto a = args;
            std::replace(a.begin(), a.end(), std::string("REGISTRY"), *reg);
            auto r = run_qiancun(a);
            EXPECT_EQ(r.exit_code, exit_code) << *reg << ": " << r.err;
            (reg == &file ? out.first : out.second) = std::move(r);
        }
        return out;
    }
};

TEST_F(PostgisCli, InitImportListAndInfoOnAUriAsOnAFile) {
    auto [f, p] = both({"init", "REGISTRY", "--crs", "EPSG:4549"});
    EXPECT_EQ(p.out, fmt::format("created {} (working CRS EPSG:4549 CGCS2000 / 3-degree "
                                 "Gauss-Kruger CM 120E)\n",
                                 uri));
    const auto villages = (testing::sample_maps_dir() / "villages.shp").string();
    const auto manifest = (testing::sample_maps_dir() / "county.toml").string();
    std::tie(f, p) = both(
        {"import", "REGISTRY", villages, "--like", "village_boundaries", "--manifest", manifest});
    EXPECT_EQ(p.out, f.out);
    EXPECT_THAT(p.out, HasSubstr("new    300"));
    std::tie(f, p) = both({"list", "REGISTRY", "village", "--format", "csv"});
    EXPECT_EQ(testing::split_lines(p.out).size(), 301u);
    EXPECT_EQ(without_column(p.out, "updated_at"), without_column(f.out, "updated_at"));
    std::tie(f, p) =
        both({"list", "REGISTRY", "village", "--township", "百关街道", "--format", "csv"});
    EXPECT_EQ(without_column(p.out, "updated_at"), without_column(f.out, "updated_at"));
    EXPECT_EQ(testing::split_lines(p.out).size(), 23u);
    std::tie(f, p) = both({"info", "REGISTRY", "--format", "json"});
    EXPECT_THAT(p.out, HasSubstr("\"count\": 300"));
}

TEST_F(PostgisCli, TheSampleCountyGivesByteIdenticalTablesFromAFileAndFromPostgis) {
    both({"init", "REGISTRY", "--crs", "EPSG:4549"});
    const auto manifest = (testing::sample_maps_dir() / "county.toml").string();
    auto [f, p] = both({"load", "REGISTRY", manifest, "--as-of", "2026-09-30"});
    ASSERT_EQ(p.exit_code, 0);
    // The warnings name the registry they were loaded into.
    std::string file_err = f.err;
    for (auto at = file_err.find(file); at != std::string::npos; at = file_err.find(file, at))
        file_err.replace(at, file.size(), uri), at += uri.size();
    EXPECT_EQ(p.err, file_err);
    EXPECT_THAT(p.err, HasSubstr(fmt::format("see `qiancun check {}`", uri)));

    const std::vector<std::vector<std::string>> commands = {
        {"metrics", "REGISTRY", "--network", "--format", "csv"},
        {"metrics", "REGISTRY", "--format", "csv"},
        {"gaps", "REGISTRY", "--type", "sewage_plant", "--format", "csv"},
        {"gaps", "REGISTRY", "--type", "courier_station", "--format", "csv"},
        {"classify", "REGISTRY", "--format", "csv"},
        {"indicators", "REGISTRY", "--format", "csv"},
        {"indicators", "REGISTRY", "--by", "township", "--format", "csv"},
        {"check", "REGISTRY", "--format", "csv"},
    };
    for (const auto &args : commands) {
        std::tie(f, p) = both(args);
        EXPECT_EQ(p.out, f.out) << fmt::format("{}", fmt::join(args, " "));
        EXPECT_GT(testing::split_lines(p.out).size(), 7u)
            << fmt::format("{}", fmt::join(args, " "));
    }
    for (const auto &kind : {"village", "sewage_plant", "rural_road", "settlement"}) {
        std::tie(f, p) = both({"list", "REGISTRY", kind, "--format", "csv", "--wkt"});
        EXPECT_EQ(without_column(p.out, "updated_at"), without_column(f.out, "updated_at")) << kind;
    }
}

/// The sample county's configured village attributes (county.toml [village_attributes]) on both
/// stores: loaded with the villages, in `list`, `export --where`, the indicators and the rules;
/// the numbers against the villages' DBF read by GDAL itself.
TEST_F(PostgisCli, ConfiguredVillageAttributesWorkInEveryCommandAsOnAFile) {
    both({"init", "REGISTRY", "--crs", "EPSG:4549"});
    const auto maps = testing::sample_maps_dir();
    both({"load", "REGISTRY", (maps / "county.toml").string(), "--as-of", "2026-09-30"});

    // What the DBF says, read as GBK by GDAL.
    const auto dbf = testing::read_vector(maps / "villages.shp", "", {"ENCODING=CP936"});
    ASSERT_EQ(dbf.size(), 300u);
    int electrified = 0, gold = 0, ecommerce = 0, with_income = 0, over_80 = 0;
    double income = 0.0;
    for (const auto &v : dbf) {
        const auto year = v.at("电气化村");
        electrified += !year.empty() && std::stoi(year) >= 2023 && std::stoi(year) <= 2026;
        gold += v.at("景区村") == "金3A";
        ecommerce += v.at("电商专业村") == "是";
        if (!v.at("集体收入").empty())
            income += std::stod(v.at("集体收入"));
        if (!v.at("经营收入").empty()) {
            ++with_income;
            over_80 += std::stod(v.at("经营收入")) >= 80.0;
        }
    }
    ASSERT_GT(electrified, 0);
    ASSERT_GT(gold, 0);
    ASSERT_GT(ecommerce, 0);
    ASSERT_GT(with_income, over_80);

    // list: every configured column, the same from both stores.
    auto [f, p] = both({"list", "REGISTRY", "village", "--format", "csv"});
    EXPECT_EQ(without_column(p.out, "updated_at"), without_column(f.out, "updated_at"));
    EXPECT_THAT(testing::split_lines(p.out).at(0),
                HasSubstr("future_village_year,electrified_year,scenic_level,ecommerce_village,"
                          "collective_income_10k,operating_income_10k"));
    EXPECT_EQ(testing::csv_cell(p.out, "code"), "330604101201");

    // export --where takes the coded value as the file writes it.
    for (const auto *reg : {&file, &uri}) {
        const auto out = dir / (reg == &file ? "gold_file.csv" : "gold_pg.csv");
        const auto r = run_qiancun(
            {"export", *reg, "village", out.string(), "--where", "scenic_level = '金3A'"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(testing::read_vector(out).size(), static_cast<std::size_t>(gold)) << *reg;
    }

    // The indicators of the sample file that read them.
    std::tie(f, p) =
        both({"indicators", "REGISTRY", "--as-of", "2026-09-30", "--indicators",
              (maps / "indicators.toml").string(), "--only",
              "electrified_villages,gold_3a_villages,ecommerce_villages,collective_income,"
              "operating_income_80",
              "--format", "csv"});
    EXPECT_EQ(p.out, f.out);
    const auto lines = testing::split_lines(p.out);
    ASSERT_EQ(lines.size(), 6u) << p.out;
    auto actual = [&](std::size_t line) {
        std::vector<std::string> cells;
        std::size_t from = 0;
        for (std::size_t at = lines[line].find(','); at != std::string::npos;
             at = lines[line].find(',', from)) {
            cells.push_back(lines[line].substr(from, at - from));
            from = at + 1;
        }
        return std::stod(cells.at(4));
    };
    EXPECT_EQ(actual(1), electrified);
    EXPECT_EQ(actual(2), gold);
    EXPECT_EQ(actual(3), ecommerce);
    EXPECT_NEAR(actual(4), income, 0.005);
    EXPECT_EQ(actual(5), std::round(10000.0 * over_80 / with_income) / 100.0);

    // A county's rule on an attribute: the villages it names get the rule, the others the
    // default; villages without the year are passed over, never guessed.
    const auto rules = dir / "rules.toml";
    testing::write_file(rules, "[[rule]]\nname = \"electrified_cluster\"\nclass = \"cluster\"\n"
                               "when = [\"electrified_year >= 2023\"]\n\n"
                               "[[rule]]\nname = \"default\"\nclass = \"improve\"\n");
    std::tie(f, p) =
        both({"classify", "REGISTRY", "--rules", rules.string(), "--no-store", "--format", "csv"});
    EXPECT_EQ(p.out, f.out);
    int fired = 0;
    for (const auto &line : testing::split_lines(p.out))
        fired += line.find(",electrified_cluster,") != std::string::npos;
    int recent = 0;
    for (const auto &v : dbf)
        recent += !v.at("电气化村").empty() && std::stoi(v.at("电气化村")) >= 2023;
    EXPECT_EQ(fired, recent);
    EXPECT_THAT(p.out, HasSubstr(",cluster,electrified_cluster,electrified_year 2024 ≥ 2023,"));

    // A bad value is refused naming the file, the row and the attribute; nothing changes.
    const auto bad = dir / "bad_villages.geojson";
    testing::write_file(bad, R"({"type": "FeatureCollection", "features": [
{"type": "Feature", "properties": {"code": "330604101201", "electrified_year": "2024"},
 "geometry": {"type": "Polygon", "coordinates": [[[120.8, 30.0], [120.81, 30.0], [120.81, 30.01], [120.8, 30.0]]]}},
{"type": "Feature", "properties": {"code": "330604101202", "electrified_year": "二〇二四年"},
 "geometry": {"type": "Polygon", "coordinates": [[[120.82, 30.0], [120.83, 30.0], [120.83, 30.01], [120.82, 30.0]]]}}]})");
    const auto before = both({"list", "REGISTRY", "village", "--format", "csv"});
    std::tie(f, p) = both({"import", "REGISTRY", bad.string(), "--as", "village"}, 3);
    for (const auto *r : {&f, &p}) {
        EXPECT_THAT(r->err, HasSubstr(bad.string())) << r->err;
        EXPECT_THAT(r->err, HasSubstr("row 2")) << r->err;
        EXPECT_THAT(r->err, HasSubstr("electrified_year '二〇二四年' is not a year")) << r->err;
    }
    const auto after = both({"list", "REGISTRY", "village", "--format", "csv"});
    EXPECT_EQ(after.first.out, before.first.out);
    EXPECT_EQ(after.second.out, before.second.out);

    // An attribute defined again differently is refused, naming it.
    const auto types = dir / "types.toml";
    testing::write_file(types, "[village_attributes]\nelectrified_year = { type = \"integer\" }\n"
                               "[[source]]\nkind = \"village\"\npath = \"" +
                                   bad.string() + "\"\n");
    std::tie(f, p) = both({"load", "REGISTRY", types.string()}, 2);
    EXPECT_THAT(p.err, HasSubstr("village attribute 'electrified_year' is already defined "
                                 "differently"));
}

TEST_F(PostgisCli, MetricsAfterAnImportRecomputeWhatItReachesAsOnAFile) {
    both({"init", "REGISTRY", "--crs", "EPSG:4549"});
    const auto sample = testing::sample_maps_dir();
    const auto manifest = (sample / "county.toml").string();
    for (const auto &[file, source] :
         std::vector<std::pair<std::string, std::string>>{{"villages.shp", "village_boundaries"},
                                                          {"settlements.shp", "natural_villages"},
                                                          {"sewage_plants.csv", "water_bureau"}})
        both({"import", "REGISTRY", (sample / file).string(), "--like", source, "--manifest",
              manifest});
    auto [f, p] = both({"metrics", "REGISTRY"});
    EXPECT_THAT(p.err, HasSubstr("computed all 300 villages (no stored metrics to update)"));
    const auto changed = dir / "sewage_plants.csv";
    testing::write_changed_sample_plants(changed);
    both({"import", "REGISTRY", changed.string(), "--like", "water_bureau", "--manifest", manifest,
          "--replace"});
    std::tie(f, p) = both({"metrics", "REGISTRY", "--format", "csv"});
    EXPECT_THAT(p.err, HasSubstr("villages for sewage_plant (import 4); --full to recompute all"));
    EXPECT_EQ(testing::split_lines(p.err).front(), testing::split_lines(f.err).front());
    EXPECT_EQ(p.out, f.out);
    const auto incremental = p.out;
    // The stored layer: as the full run stores it, in each store (rows sorted: an update moves
    // a row in PostgreSQL's heap).
    const auto exported = [&] {
        std::vector<std::string> out;
        for (const auto *reg : {&file, &uri}) {
            const auto csv = dir / "exported.csv";
            fs::remove(csv);
            const auto r = run_qiancun({"export", *reg, "village_metrics", csv.string()});
            EXPECT_EQ(r.exit_code, 0) << r.err;
            auto rows = testing::split_lines(testing::read_file(csv));
            std::sort(rows.begin(), rows.end());
            out.push_back(fmt::format("{}", fmt::join(rows, "\n")));
        }
        return out;
    };
    const auto updated = exported();
    std::tie(f, p) = both({"metrics", "REGISTRY", "--format", "csv", "--full"});
    EXPECT_EQ(p.out, incremental);
    EXPECT_EQ(f.out, incremental);
    EXPECT_EQ(exported(), updated);
}

TEST_F(PostgisCli, QgisProjectNamesPostgresLayersByTheUriWithoutAPassword) {
    ASSERT_EQ(run_qiancun({"init", uri, "--crs", "EPSG:4549"}).exit_code, 0);
    const auto project = (dir / "county.qgs").string();
    // A password libpq would use is never written into the project.
    const auto r = run_qiancun({"qgis-project", uri, "-o", project}, std::nullopt,
                               {{"PGPASSWORD", "s3cret-word"}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, fmt::format("wrote {} (10 layers: 设施 6 基础 4)\n", project));
    const auto qgs = testing::read_file(project);
    const auto &server = testing::pg_server();
    const auto source = [&](const std::string &table, const std::string &type,
                            const std::string &column) {
        return fmt::format("<datasource>dbname=&apos;{}&apos; host=&apos;127.0.0.1&apos; port={} "
                           "user=&apos;postgres&apos; key=&apos;fid&apos; srid=4549 type={} "
                           "checkPrimaryKeyUnicity=&apos;1&apos; "
                           "table=&quot;{}&quot;.&quot;{}&quot; ({})</datasource>",
                           server.get("PGDATABASE"), server.get("PGPORT"), type, schema.name(),
                           table, column);
    };
    EXPECT_THAT(qgs, HasSubstr(source("village", "MultiPolygon", "geom")));
    EXPECT_THAT(qgs, HasSubstr(source("rural_road", "MultiLineString", "geom")));
    EXPECT_THAT(qgs, HasSubstr(source("cultural_hall", "Point", "geom")));
    EXPECT_THAT(qgs, HasSubstr(source("cultural_hall", "MultiPolygon", "footprint_geom")));
    EXPECT_THAT(qgs, HasSubstr("<provider encoding=\"UTF-8\">postgres</provider>"));
    EXPECT_THAT(qgs, ::testing::Not(HasSubstr("providerKey=\"ogr\"")));
    EXPECT_THAT(qgs, HasSubstr(fmt::format("<title>{}</title>", schema.name())));
    EXPECT_THAT(qgs, ::testing::Not(HasSubstr("s3cret")));
    EXPECT_THAT(qgs, ::testing::Not(HasSubstr("password")));
}

TEST_F(PostgisCli, ADatabaseWithoutPostGisIsADatabaseError) {
    const auto &server = testing::pg_server();
    const std::string db = fmt::format("nopostgis_{}", ::getpid());
    ASSERT_EQ(testing::psql("CREATE DATABASE " + db).exit_code, 0);
    const auto r = run_qiancun(
        {"init",
         fmt::format("postgresql://postgres@127.0.0.1:{}/{}?schema=s", server.get("PGPORT"), db),
         "--crs", "EPSG:4549"});
    testing::psql("DROP DATABASE " + db);
    EXPECT_EQ(r.exit_code, 4);
    EXPECT_THAT(r.err, HasSubstr(fmt::format("the database {} has no PostGIS; a superuser runs "
                                             "CREATE EXTENSION postgis in it",
                                             db)));
}

TEST_F(PostgisCli, AServerThatIsNotThereIsADatabaseErrorNamingIt) {
    const auto r = run_qiancun({"info", "postgresql://postgres@127.0.0.1:1/qiancun_test?schema=s"});
    EXPECT_EQ(r.exit_code, 4);
    EXPECT_THAT(r.err, HasSubstr("cannot connect to postgresql://postgres@127.0.0.1:1/"
                                 "qiancun_test?schema=s: "));
}

TEST_F(PostgisCli, AMissingSchemaIsNamedWithTheCommandThatMakesIt) {
    const auto r = run_qiancun({"info", uri});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err,
                HasSubstr(fmt::format("{} does not exist; create it with 'qiancun init", uri)));
}

} // namespace
} // namespace qiancun
