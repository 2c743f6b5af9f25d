#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

/// SPEC §8 filters: every enum option and `--where` value takes what import takes, an unknown
/// value is an error listing the valid ones (never an empty result), `--village` takes a code
/// or a unique name, `--township` filters every command that lists villages or assets, and a
/// valid filter that matches nothing says so.

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::run_qiancun;
using testing::TempDir;

/// Three 1 km squares in a row: 黄门村 and 东山村 in 横塘街道, a second 东山村 in 东关镇.
/// Plants with statuses as departments write them: P1 运行 and P2 在建 in 黄门村, P3 operating in
/// the first 东山村, P4 停用 (closed) in the second. One road crosses the two 横塘街道 villages.
struct FiltersCli : ::testing::Test {
    TempDir dir;
    std::string reg = testing::test_registry(dir.path(), "county.sqlite");

    void SetUp() override {
        auto square = [](int x0) {
            return fmt::format("POLYGON (({0} 3320000, {1} 3320000, {1} 3321000, {0} 3321000, {0} "
                               "3320000))",
                               x0, x0 + 1000);
        };
        testing::write_vector(
            dir / "villages.geojson", "GeoJSON", "villages", 4549, {"code", "name", "township"},
            {{square(500000),
              {{"code", "330604101201"}, {"name", "黄门村"}, {"township", "横塘街道"}}},
             {square(501000),
              {{"code", "330604101202"}, {"name", "东山村"}, {"township", "横塘街道"}}},
             {square(502000),
              {{"code", "330604102201"}, {"name", "东山村"}, {"township", "东关镇"}}}});
        testing::write_file(dir / "plants.csv", "id,status,x,y\n"
                                                "P1,运行,500500,3320500\n"
                                                "P2,在建,500600,3320600\n"
                                                "P3,operating,501500,3320500\n"
                                                "P4,停用,502500,3320500\n");
        testing::write_vector(
            dir / "roads.geojson", "GeoJSON", "roads", 4549, {"id", "status"},
            {{"LINESTRING (500100 3320100, 501900 3320100)", {{"id", "R1"}, {"status", "运行"}}}});
        for (const auto &args : std::vector<std::vector<std::string>>{
                 {"init", reg, "--crs", "EPSG:4549"},
                 {"import", reg, (dir / "villages.geojson").string(), "--as", "village"},
                 {"import", reg, (dir / "plants.csv").string(), "--as", "sewage_plant", "--src-crs",
                  "EPSG:4549"},
                 {"import", reg, (dir / "roads.geojson").string(), "--as", "rural_road"}}) {
            const auto r = run_qiancun(args);
            ASSERT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
        }
    }

    /// The first CSV column of every data row of `list`, sorted.
    std::vector<std::string> listed(const std::vector<std::string> &filter,
                                    const std::string &kind = "sewage_plant") {
        std::vector<std::string> args{"list", reg, kind, "--format", "csv"};
        args.insert(args.end(), filter.begin(), filter.end());
        const auto r = run_qiancun(args);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        auto lines = testing::split_lines(r.out);
        std::vector<std::string> ids;
        for (std::size_t i = 1; i < lines.size(); ++i)
            ids.push_back(lines[i].substr(0, lines[i].find(',')));
        std::sort(ids.begin(), ids.end());
        return ids;
    }

    /// The ids of the features `export` writes with `filter`.
    std::vector<std::string> exported(const std::string &layer,
                                      const std::vector<std::string> &filter) {
        const fs::path out = dir / "out.geojson";
        std::vector<std::string> args{"export", reg, layer, out.string()};
        args.insert(args.end(), filter.begin(), filter.end());
        const auto r = run_qiancun(args);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        std::vector<std::string> ids;
        for (const auto &row : testing::read_vector(out))
            ids.push_back(row.at(row.count("id") ? "id" : "code"));
        std::sort(ids.begin(), ids.end());
        return ids;
    }
};

const std::vector<std::string> kNone;

TEST_F(FiltersCli, ListStatusTakesTheChineseValuesImportTakes) {
    EXPECT_EQ(listed({"--status", "运行"}), (std::vector<std::string>{"P1", "P3"}));
    EXPECT_EQ(listed({"--status", "operating"}), (std::vector<std::string>{"P1", "P3"}));
    EXPECT_EQ(listed({"--status", "在建"}), (std::vector<std::string>{"P2"}));
    EXPECT_EQ(listed({"--status", "Closed"}), (std::vector<std::string>{"P4"}));
}

TEST_F(FiltersCli, UnknownStatusIsAnErrorListingTheValidOnes) {
    const auto r = run_qiancun({"list", reg, "sewage_plant", "--status", "operatng"});
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_EQ(r.out, "") << "no empty table";
    EXPECT_THAT(r.err, HasSubstr("'operatng' is not one of planned, building, operating, "
                                 "renovating, closed"));
}

TEST_F(FiltersCli, VillageTakesACodeOrAUniqueName) {
    EXPECT_EQ(listed({"--village", "黄门村"}), (std::vector<std::string>{"P1", "P2"}));
    EXPECT_EQ(listed({"--village", "330604101201"}), (std::vector<std::string>{"P1", "P2"}));
    EXPECT_EQ(listed({"--village", "黄门村"}, "rural_road"), (std::vector<std::string>{"R1"}));
    EXPECT_EQ(listed({"--village", "330604102201"}, "village"),
              (std::vector<std::string>{"330604102201"}));
}

TEST_F(FiltersCli, AmbiguousVillageNameListsTheCandidatesWithCodes) {
    const auto r = run_qiancun({"list", reg, "sewage_plant", "--village", "东山村"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, HasSubstr("2 villages are named '东山村'"));
    EXPECT_THAT(r.err, HasSubstr("330604101202 (横塘街道)"));
    EXPECT_THAT(r.err, HasSubstr("330604102201 (东关镇)"));
}

TEST_F(FiltersCli, UnknownVillageIsAnError) {
    for (const char *kind : {"sewage_plant", "village", "rural_road"}) {
        const auto r = run_qiancun({"list", reg, kind, "--village", "西山村"});
        EXPECT_EQ(r.exit_code, 2) << kind;
        EXPECT_THAT(r.err, HasSubstr("no village has the code or name '西山村'"));
    }
    const auto r = run_qiancun({"metrics", reg, "--village", "西山村"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("no village has the code or name '西山村'"));
}

TEST_F(FiltersCli, TownshipFiltersListMetricsGapsClassifyAndExport) {
    EXPECT_EQ(listed({"--township", "横塘街道"}), (std::vector<std::string>{"P1", "P2", "P3"}));
    EXPECT_EQ(listed({"--township", "东关镇"}), (std::vector<std::string>{"P4"}));
    EXPECT_EQ(listed({"--township", "横塘街道"}, "rural_road"), (std::vector<std::string>{"R1"}));
    EXPECT_EQ(listed({"--township", "东关镇"}, "village"),
              (std::vector<std::string>{"330604102201"}));

    auto r = run_qiancun({"metrics", reg, "--township", "东关镇", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = testing::split_lines(r.out);
    ASSERT_EQ(lines.size(), 2u) << r.out;
    EXPECT_EQ(lines[1].substr(0, 13), "330604102201,");

    // Only the 东关镇 village is a gap: P3 reaches 500 m into it, P4 is closed.
    r = run_qiancun({"gaps", reg, "--type", "sewage_plant", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(testing::split_lines(r.out).size(), 2u) << r.out;
    r = run_qiancun(
        {"gaps", reg, "--type", "sewage_plant", "--township", "横塘街道", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(testing::split_lines(r.out).size(), 1u) << r.out;
    r = run_qiancun({"gaps", reg, "--type", "sewage_plant", "--township", "东关镇"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("1 of 1 villages below the threshold"));

    r = run_qiancun({"classify", reg, "--no-store", "--township", "横塘街道", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    lines = testing::split_lines(r.out);
    ASSERT_EQ(lines.size(), 3u) << r.out;
    EXPECT_EQ(lines[1].substr(0, 13), "330604101201,");
    EXPECT_EQ(lines[2].substr(0, 13), "330604101202,");

    EXPECT_EQ(exported("sewage_plant", {"--township", "横塘街道"}),
              (std::vector<std::string>{"P1", "P2", "P3"}));
    EXPECT_EQ(exported("rural_road", {"--township", "横塘街道"}), (std::vector<std::string>{"R1"}));
    EXPECT_EQ(exported("village", {"--township", "东关镇"}),
              (std::vector<std::string>{"330604102201"}));
    EXPECT_EQ(exported("sewage_plant", {"--village", "黄门村"}),
              (std::vector<std::string>{"P1", "P2"}));
}

TEST_F(FiltersCli, UnknownTownshipIsAnErrorListingTheValidOnes) {
    const std::vector<std::vector<std::string>> commands{
        {"list", reg, "sewage_plant"},
        {"metrics", reg},
        {"gaps", reg, "--type", "sewage_plant"},
        {"classify", reg, "--no-store"},
        {"export", reg, "sewage_plant", (dir / "x.gpkg").string()}};
    for (auto args : commands) {
        SCOPED_TRACE(args[0]);
        args.insert(args.end(), {"--township", "东关"});
        const auto r = run_qiancun(args);
        EXPECT_EQ(r.exit_code, 2) << r.out;
        EXPECT_THAT(r.err, HasSubstr("no township '东关'; the townships are: 东关镇, 横塘街道"));
    }
    EXPECT_FALSE(fs::exists(dir / "x.gpkg"));
}

TEST_F(FiltersCli, ExportWhereTakesChineseCodedValues) {
    const auto operating = exported("sewage_plant", {"--where", "status = 'operating'"});
    EXPECT_EQ(operating, (std::vector<std::string>{"P1", "P3"}));
    EXPECT_EQ(exported("sewage_plant", {"--where", "status = '运行'"}), operating);
    EXPECT_EQ(exported("sewage_plant", {"--where", "'运行中' = status"}), operating);
    EXPECT_EQ(exported("sewage_plant", {"--where", "status IN ('在建', '停用')"}),
              (std::vector<std::string>{"P2", "P4"}));
    EXPECT_EQ(exported("sewage_plant", {"--where", "status <> '运行' AND id <> 'P4'"}),
              (std::vector<std::string>{"P2"}));
}

TEST_F(FiltersCli, ExportWhereWithAnUnknownCodedValueIsAnError) {
    const auto r = run_qiancun({"export", reg, "sewage_plant", (dir / "x.csv").string(), "--where",
                                "status = 'operatng'"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("'operatng' is not one of planned, building, operating"));
    EXPECT_FALSE(fs::exists(dir / "x.csv"));
}

TEST_F(FiltersCli, AValidFilterThatMatchesNothingSaysSo) {
    auto r = run_qiancun({"list", reg, "sewage_plant", "--status", "renovating"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("no sewage_plant matches the filter"));
    r = run_qiancun(
        {"export", reg, "sewage_plant", (dir / "x.gpkg").string(), "--where", "status = '改造'"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("no feature of sewage_plant matches the filter"));
    r = run_qiancun(
        {"export", reg, "rural_road", (dir / "y.gpkg").string(), "--township", "东关镇"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("no feature of rural_road matches the filter"));
}

} // namespace
} // namespace qiancun
