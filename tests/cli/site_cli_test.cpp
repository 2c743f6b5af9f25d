#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <filesystem>
#include <regex>
#include <stdexcept>

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::run_qiancun;
using testing::TempDir;

/// The first value of a SpatiaLite SQL query run through GDAL: the independent reference.
double sql_number(const fs::path &registry, const std::string &sql) {
    GDALAllRegister();
    const char *const drivers[] = {"SQLite", "GPKG", nullptr};
    GDALDatasetUniquePtr ds(
        GDALDataset::Open(registry.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, nullptr));
    if (!ds)
        throw std::runtime_error("GDAL cannot open " + registry.string());
    OGRLayer *result = ds->ExecuteSQL(sql.c_str(), nullptr, "SQLite");
    if (!result)
        throw std::runtime_error("SQL failed: " + sql);
    OGRFeatureUniquePtr f(result->GetNextFeature());
    const double value = f ? f->GetFieldAsDouble(0) : -1.0;
    ds->ReleaseResultSet(result);
    return value;
}

/// `key=value` of the machine summary line (on standard error with --format csv or json).
std::int64_t key_value(const std::string &text, const std::string &key) {
    std::smatch m;
    if (!std::regex_search(text, m, std::regex("\\b" + key + "=([0-9]+)")))
        throw std::runtime_error("no " + key + " in: " + text);
    return std::stoll(m[1]);
}

class SiteCli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        s_dir = new TempDir();
        if (testing::registries_on_postgis())
            return;
        const auto reg = registry();
        auto r = run_qiancun({"init", reg.string(), "--crs", "EPSG:4549"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        r = run_qiancun(
            {"load", reg.string(), (testing::sample_maps_dir() / "county.toml").string()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    void SetUp() override {
        if (testing::registries_on_postgis())
            GTEST_SKIP() << "a file only: SpatiaLite SQL on the file is the independent check";
    }
    static void TearDownTestSuite() {
        delete s_dir;
        s_dir = nullptr;
    }
    static fs::path registry() { return s_dir->path() / "county.sqlite"; }
    static TempDir *s_dir;
};
TempDir *SiteCli::s_dir = nullptr;

TEST_F(SiteCli, FortySewageSitesOnTheSampleCountyAgreeWithSpatialiteSql) {
    const fs::path out = s_dir->path() / "sites.gpkg";
    const auto r = run_qiancun({"site", registry().string(), "--type", "sewage_plant", "--add",
                                "40", "--format", "csv", "-o", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("sewage_plant: 40 new sites proposed"));
    EXPECT_THAT(r.err, HasSubstr("short of the optimum"));
    // People in settlements of a village, and those within reach of a serving plant (SPEC §3
    // radius precedence: own radius when above 0, else 1000 m), by SpatiaLite itself.
    const auto total = static_cast<std::int64_t>(sql_number(
        registry(), "SELECT SUM(population) FROM settlement WHERE village_code IS NOT NULL AND "
                    "population > 0"));
    const auto before = static_cast<std::int64_t>(sql_number(
        registry(),
        "SELECT SUM(s.population) FROM settlement s WHERE s.village_code IS NOT NULL AND "
        "s.population > 0 AND EXISTS (SELECT 1 FROM sewage_plant p WHERE p.status IN "
        "('operating', 'renovating') AND ST_Distance(s.geom, p.geom) <= CASE WHEN "
        "p.service_radius_m > 0 THEN p.service_radius_m ELSE 1000 END)"));
    EXPECT_EQ(key_value(r.err, "total_population"), total);
    EXPECT_EQ(key_value(r.err, "covered_before"), before);
    EXPECT_EQ(key_value(r.err, "sites"), 40);
    const std::int64_t added = key_value(r.err, "added_population");
    EXPECT_GE(key_value(r.err, "upper_bound_population"), added);

    // The layer: 40 ranked points whose gains add up, in a styled GeoPackage.
    const auto rows = testing::read_vector(out, "sites_sewage_plant");
    ASSERT_EQ(rows.size(), 40u);
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        EXPECT_EQ(rows[i].at("rank"), std::to_string(i + 1));
        sum += std::stoll(rows[i].at("added_population"));
        EXPECT_EQ(std::stoll(rows[i].at("cumulative_population")), sum);
        EXPECT_EQ(rows[i].at("village_code").size(), 12u);
    }
    EXPECT_EQ(sum, added);
    EXPECT_EQ(sql_number(out, "SELECT COUNT(*) FROM layer_styles WHERE f_table_name = "
                              "'sites_sewage_plant'"),
              1.0);

    // Each new site really reaches the people it claims: settlements not yet reached within
    // 1000 m of site 1, counted by SpatiaLite in the registry's stored layer.
    const auto first = static_cast<std::int64_t>(sql_number(
        registry(),
        "SELECT SUM(s.population) FROM settlement s, sites_sewage_plant t WHERE t.rank = 1 AND "
        "s.village_code IS NOT NULL AND s.population > 0 AND ST_Distance(s.geom, t.geom) <= "
        "1000 AND NOT EXISTS (SELECT 1 FROM sewage_plant p WHERE p.status IN ('operating', "
        "'renovating') AND ST_Distance(s.geom, p.geom) <= CASE WHEN p.service_radius_m > 0 "
        "THEN p.service_radius_m ELSE 1000 END)"));
    EXPECT_EQ(std::stoll(rows[0].at("added_population")), first);
}

TEST_F(SiteCli, CoverTargetCsvAndUsageErrors) {
    const fs::path csv = s_dir->path() / "sites.csv";
    auto r = run_qiancun({"site", registry().string(), "--type", "courier_station", "--cover", "99",
                          "--exclude", "hazard", "--format", "json", "-o", csv.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::int64_t total = key_value(r.err, "total_population");
    EXPECT_GE(key_value(r.err, "covered_after") * 100, 99 * total);
    // The Lagrangian bound proves the 9 sites of the sample county optimal, and says so.
    EXPECT_EQ(key_value(r.err, "sites"), 9);
    EXPECT_EQ(key_value(r.err, "lower_bound_sites"), 9);
    EXPECT_EQ(key_value(r.err, "sites_over_optimum_at_most"), 0);
    EXPECT_THAT(r.err, HasSubstr("(optimum ≥ 9, this answer at most 0 more sites)"));
    const auto lines = testing::split_lines(testing::read_file(csv));
    ASSERT_GE(lines.size(), 2u);
    EXPECT_EQ(lines[0], "\xEF\xBB\xBFrank,x,y,candidate,village_code,added_population,"
                        "cumulative_population,added_villages");
    EXPECT_EQ(static_cast<std::int64_t>(lines.size()) - 1, key_value(r.err, "sites"));

    r = run_qiancun({"site", registry().string(), "--type", "sewage_plant"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("either --add N"));
    r = run_qiancun({"site", registry().string(), "--type", "rural_road", "--add", "3"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("line type"));
    r = run_qiancun({"site", registry().string(), "--type", "sewage_plant", "--add", "3",
                     "--candidates", "grid:0"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("grid:250"));
    r = run_qiancun({"site", registry().string(), "--type", "sewage_plant", "--add", "3", "-o",
                     (s_dir->path() / "sites.txt").string()});
    EXPECT_EQ(r.exit_code, 2);
    r = run_qiancun({"site", registry().string(), "--type", "sewage_plant", "--add", "3",
                     "--exclude", "water"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("only 'hazard'"));
}

/// (gap villages, villages) from the gaps summary line.
std::pair<std::int64_t, std::int64_t> gap_villages(const std::string &out) {
    std::smatch m;
    if (!std::regex_search(out, m, std::regex("([0-9]+) of ([0-9]+) villages below the threshold")))
        throw std::runtime_error("no gaps summary in: " + out);
    return {std::stoll(m[1]), std::stoll(m[2])};
}

TEST_F(SiteCli, VillagesCoverCountsVillagesAsGapsDoesAndProvesSmallAnswersOptimal) {
    // Every village of 曹浦镇 reached by sewage: 7 of its 16 are no gap now; 12 sites reach
    // the other 9, and the exact search proves that no 11 do.
    const fs::path csv = s_dir->path() / "village_sites.csv";
    const auto r =
        run_qiancun({"site", registry().string(), "--type", "sewage_plant", "--cover", "100",
                     "--villages", "--township", "曹浦镇", "--format", "csv", "-o", csv.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto before = run_qiancun(
        {"gaps", registry().string(), "--type", "sewage_plant", "--township", "曹浦镇"});
    ASSERT_EQ(before.exit_code, 0) << before.err;
    const auto [gaps_before, villages] = gap_villages(before.out);
    EXPECT_EQ(key_value(r.err, "villages"), villages);
    EXPECT_EQ(key_value(r.err, "villages_reached_before"), villages - gaps_before);
    EXPECT_EQ(key_value(r.err, "target_villages"), villages);
    EXPECT_EQ(key_value(r.err, "sites"), 12);
    EXPECT_EQ(key_value(r.err, "lower_bound_sites"), 12);
    EXPECT_THAT(r.err, HasSubstr("proven_optimal=yes"));
    EXPECT_THAT(r.err, HasSubstr("villages covered (a village when 90.0% of its people are "
                                 "within reach) 43.7% → 100.0%, target 16 villages; no fewer "
                                 "sites can do it (proven)"));
    // `gaps` with the sites counted as serving finds no gap village left.
    const auto after = run_qiancun({"gaps", registry().string(), "--type", "sewage_plant",
                                    "--township", "曹浦镇", "--with-sites", csv.string()});
    ASSERT_EQ(after.exit_code, 0) << after.err;
    EXPECT_EQ(gap_villages(after.out).first, 0);
    EXPECT_EQ(key_value(r.err, "villages_reached_after"), villages);

    // The whole county at 98 % of the villages: as many reached as `gaps` then counts.
    const fs::path all = s_dir->path() / "village_sites_all.csv";
    const auto county =
        run_qiancun({"site", registry().string(), "--type", "sewage_plant", "--cover", "98",
                     "--villages", "--format", "csv", "-o", all.string()});
    ASSERT_EQ(county.exit_code, 0) << county.err;
    const auto county_after = run_qiancun(
        {"gaps", registry().string(), "--type", "sewage_plant", "--with-sites", all.string()});
    ASSERT_EQ(county_after.exit_code, 0) << county_after.err;
    const auto [gaps_after, all_villages] = gap_villages(county_after.out);
    EXPECT_EQ(key_value(county.err, "villages_reached_after"), all_villages - gaps_after);
    EXPECT_GE(key_value(county.err, "villages_reached_after") * 100, 98 * all_villages);
    EXPECT_LE(key_value(county.err, "lower_bound_sites"), key_value(county.err, "sites"));

    // --villages goes with --cover only.
    const auto bad = run_qiancun(
        {"site", registry().string(), "--type", "sewage_plant", "--add", "3", "--villages"});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_THAT(bad.err, HasSubstr("--villages requires --cover"));
}

/// (people uncovered in the gap villages, in all villages) from the gaps summary line.
std::pair<std::int64_t, std::int64_t> gap_people(const std::string &out) {
    std::smatch m;
    if (!std::regex_search(out, m,
                           std::regex("uncovered population ([0-9]+) in these villages, "
                                      "([0-9]+) in all villages")))
        throw std::runtime_error("no gaps summary in: " + out);
    return {std::stoll(m[1]), std::stoll(m[2])};
}

TEST_F(SiteCli, GapsWithTheProposedSitesLeaveExactlyTheirPeopleLessUncovered) {
    for (const std::string ext : {".gpkg", ".csv"}) {
        SCOPED_TRACE(ext);
        const fs::path sites = s_dir->path() / ("gap_sites" + ext);
        auto r = run_qiancun({"site", registry().string(), "--type", "courier_station", "--add",
                              "6", "--format", "csv", "-o", sites.string()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const std::int64_t added = key_value(r.err, "added_population");
        ASSERT_GT(added, 0);
        const auto before = run_qiancun({"gaps", registry().string(), "--type", "courier_station"});
        ASSERT_EQ(before.exit_code, 0) << before.err;
        const auto after = run_qiancun({"gaps", registry().string(), "--type", "courier_station",
                                        "--with-sites", sites.string()});
        ASSERT_EQ(after.exit_code, 0) << after.err;
        EXPECT_THAT(after.out, HasSubstr("with 6 proposed courier_station sites"));
        EXPECT_EQ(gap_people(before.out).second - gap_people(after.out).second, added);
    }
    // A bad row is named by file and row, and nothing is written.
    const fs::path bad = s_dir->path() / "bad_sites.csv";
    testing::write_file(bad, "rank,x,y,candidate\n1,590000,3320000,A\n2,abc,3320000,B\n");
    const auto r = run_qiancun(
        {"gaps", registry().string(), "--type", "courier_station", "--with-sites", bad.string()});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_THAT(r.err, HasSubstr("bad_sites.csv"));
    EXPECT_THAT(r.err, HasSubstr("row 2"));
}

} // namespace
} // namespace qiancun
