#include "qiancun/asset_types.hpp"
#include "qiancun/config.hpp"

#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <set>

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using testing::run_qiancun;
using testing::TempDir;

std::vector<std::string> lines(const std::string &s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < s.size()) {
        auto end = s.find('\n', start);
        if (end == std::string::npos)
            end = s.size();
        out.push_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::vector<std::string> cells(const std::string &line) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        auto comma = line.find(',', start);
        out.push_back(line.substr(start, comma == std::string::npos ? comma : comma - start));
        if (comma == std::string::npos)
            return out;
        start = comma + 1;
    }
}

/// Disc polygons are short of circles by at most 0.2 % at 16 segments per quarter (SPEC §3
/// allows 0.01 in any ratio).
constexpr double kRatioTol = 0.002;

/// Two 1 km squares side by side: 东山村 (…201) with a plant of radius 1000 m on its south-west
/// corner, so a quarter disc covers π/4 of it; 下管村 (…202) with one settlement of 100 people,
/// touched by that disc at one point only, and a closed plant in its middle, which must not
/// count.
struct MetricsCli : ::testing::Test {
    TempDir dir;
    std::string reg = testing::test_registry(dir.path(), "county.sqlite");

    void SetUp() override {
        testing::write_two_square_villages(dir / "villages.geojson");
        testing::write_vector(
            dir / "settlements.geojson", "GeoJSON", "settlements", 4549,
            {"id", "name", "population"},
            {{"POINT (501500 3320500)", {{"id", "S1"}, {"name", "下管"}, {"population", "100"}}}},
            {}, {}, {"population"});
        testing::write_file(dir / "plants.csv", "id,status,service_radius_m,x,y\n"
                                                "WS1,operating,1000,500000,3320000\n"
                                                "WS2,closed,,501500,3320500\n");
        for (const auto &args : std::vector<std::vector<std::string>>{
                 {"init", reg, "--crs", "EPSG:4549"},
                 {"import", reg, (dir / "villages.geojson").string(), "--as", "village"},
                 {"import", reg, (dir / "settlements.geojson").string(), "--as", "settlement"},
                 {"import", reg, (dir / "plants.csv").string(), "--as", "sewage_plant", "--src-crs",
                  "EPSG:4549"}}) {
            const auto r = run_qiancun(args);
            ASSERT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
        }
    }
};

TEST_F(MetricsCli, CsvHasTheSpecColumnsAndAHandComputedCoverage) {
    const auto r = run_qiancun({"metrics", reg, "--type", "sewage_plant", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto out = lines(r.out);
    ASSERT_EQ(out.size(), 3u) << r.out;
    EXPECT_EQ(out[0], "code,n_sewage_plant,nearest_sewage_plant_m,area_cov_sewage_plant,"
                      "pop_cov_sewage_plant,cov_sewage_plant,gap_sewage_plant");
    const auto a = cells(out[1]);
    const auto b = cells(out[2]);
    ASSERT_EQ(a.size(), 7u) << out[1];
    ASSERT_EQ(b.size(), 7u) << out[2];
    EXPECT_EQ(a[0], "330604101201");
    EXPECT_EQ(a[1], "1");
    EXPECT_NEAR(std::stod(a[3]), std::numbers::pi / 4, kRatioTol);
    EXPECT_EQ(a[4], "") << "no settlement population: pop_cov is empty";
    EXPECT_NEAR(std::stod(a[5]), std::numbers::pi / 4, kRatioTol);
    EXPECT_TRUE(a[6] == "1" || a[6] == "true") << a[6];

    EXPECT_EQ(b[0], "330604101202");
    EXPECT_EQ(b[1], "0") << "the closed plant does not count";
    EXPECT_NEAR(std::stod(b[3]), 0.0, kRatioTol);
    EXPECT_NEAR(std::stod(b[4]), 0.0, kRatioTol);
    EXPECT_TRUE(b[6] == "1" || b[6] == "true") << b[6];
}

TEST_F(MetricsCli, FullRunStoresVillageMetricsThatExportsWithAStyle) {
    auto r = run_qiancun({"metrics", reg});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("sewage_plant"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("东山村"), std::string::npos) << r.out;

    r = run_qiancun({"export", reg, "village_metrics", (dir / "metrics.shp").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::exists(dir / "metrics.qml"));
    const auto rows = testing::read_vector(dir / "metrics.shp");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_NEAR(std::stod(rows[0].at("acov_sew")), std::numbers::pi / 4, kRatioTol);
}

TEST_F(MetricsCli, SubsetIsNotStoredAndOutputGoesToTheFile) {
    const fs::path csv = dir / "sewage.csv";
    auto r = run_qiancun(
        {"metrics", reg, "--type", "sewage_plant", "--format", "csv", "-o", csv.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");
    const auto written = lines(testing::read_file(csv));
    ASSERT_EQ(written.size(), 3u);
    EXPECT_EQ(written[0].substr(0, 23), "\xEF\xBB\xBF"
                                        "code,n_sewage_plant,")
        << "UTF-8 with BOM";

    r = run_qiancun({"export", reg, "village_metrics", (dir / "m.gpkg").string()});
    EXPECT_NE(r.exit_code, 0) << "a --type run must not store village_metrics";

    r = run_qiancun({"metrics", reg, "--village", "330604101202", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("\"code\": \"330604101202\""), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("330604101201"), std::string::npos) << r.out;
}

TEST_F(MetricsCli, GapsWorstFirstAndBothLayersIntoOneGeoPackageWithAStyle) {
    const fs::path gpkg = dir / "uncovered.gpkg";
    auto r = run_qiancun(
        {"gaps", reg, "--type", "sewage_plant", "--format", "csv", "-o", gpkg.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto out = lines(r.out);
    ASSERT_EQ(out.size(), 3u) << r.out;
    EXPECT_EQ(out[0], "code,name,cov,uncovered_area_km2,uncovered_population,"
                      "uncovered_settlements");
    const auto worst = cells(out[1]);
    const auto next = cells(out[2]);
    EXPECT_EQ(worst[0], "330604101202");
    EXPECT_NEAR(std::stod(worst[2]), 0.0, kRatioTol);
    EXPECT_NEAR(std::stod(worst[3]), 1.0, kRatioTol);
    EXPECT_EQ(worst[4], "100");
    EXPECT_EQ(next[0], "330604101201");
    EXPECT_NEAR(std::stod(next[3]), 1 - std::numbers::pi / 4, kRatioTol);
    EXPECT_EQ(next[4], "0");

    EXPECT_EQ(testing::read_vector(gpkg, "gaps_sewage_plant").size(), 2u);
    const auto points = testing::read_vector(gpkg, "gaps_sewage_plant_settlements");
    ASSERT_EQ(points.size(), 1u);
    EXPECT_EQ(points[0].at("population"), "100");
    EXPECT_EQ(testing::read_vector(gpkg, "layer_styles").size(), 2u);
    // The demo's names: each layer's style is named as its own file would be in a one-layer
    // format (uncovered.shp, uncovered_settlements.shp), the layer name never doubled.
    std::set<std::string> styles;
    for (const auto &f : fs::directory_iterator(dir.path()))
        if (f.path().extension() == ".qml")
            styles.insert(f.path().filename().string());
    EXPECT_EQ(styles, (std::set<std::string>{"uncovered.qml", "uncovered_settlements.qml"}));
    EXPECT_THAT(r.out + r.err,
                ::testing::HasSubstr("uncovered.gpkg (+ uncovered_settlements.qml)"));

    r = run_qiancun({"gaps", reg, "--type", "sewage_plant", "-o", (dir / "gaps.shp").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("2 of 2 villages"), std::string::npos) << r.out;
    for (const char *f : {"gaps.shp", "gaps.qml", "gaps_settlements.shp", "gaps_settlements.qml"})
        EXPECT_TRUE(fs::exists(dir / f)) << f;
}

TEST_F(MetricsCli, ConfigPrintParsesBackToTheDefaults) {
    auto r = run_qiancun({"config", "--print"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto kinds = builtin_kinds();
    const auto parsed = MetricsConfig::from_toml(r.out, "config --print", kinds);
    EXPECT_EQ(parsed, MetricsConfig::defaults(kinds));
    EXPECT_NE(r.out.find("planning assumption"), std::string::npos) << r.out;

    r = run_qiancun({"config", "--print", "--registry", reg, "-o", (dir / "radii.toml").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string text = testing::read_file(dir / "radii.toml");
    EXPECT_EQ(MetricsConfig::from_toml(text, "radii.toml", kinds), MetricsConfig::defaults(kinds));

    // An edited copy changes the answer: with a threshold of 0.5, 东山村 (π/4 covered) has
    // no sewage gap any more.
    std::string edited = text;
    const auto section = edited.find("[types.sewage_plant]");
    ASSERT_NE(section, std::string::npos) << text;
    const auto key = edited.find("gap_threshold = ", section);
    ASSERT_NE(key, std::string::npos) << text;
    edited.replace(key, edited.find('\n', key) - key, "gap_threshold = 0.5");
    testing::write_file(dir / "edited.toml", edited);
    r = run_qiancun({"gaps", reg, "--type", "sewage_plant", "--format", "csv", "--config",
                     (dir / "edited.toml").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto out = lines(r.out);
    ASSERT_EQ(out.size(), 2u) << r.out;
    EXPECT_EQ(out[1].substr(0, 12), "330604101202");
}

TEST_F(MetricsCli, ErrorsExitNonZeroWithOneLine) {
    for (const auto &args : std::vector<std::vector<std::string>>{
             {"metrics", reg, "--type", "hospital"},
             {"gaps", reg, "--type", "hospital"},
             {"gaps", reg, "--type", "village"},
             {"metrics", reg, "--config", (dir / "missing.toml").string()},
             {"metrics", (dir / "missing.sqlite").string()}}) {
        const auto r = run_qiancun(args);
        EXPECT_NE(r.exit_code, 0) << fmt::format("{}", fmt::join(args, " "));
        const auto err = lines(r.err);
        ASSERT_EQ(err.size(), 1u) << r.err;
        EXPECT_EQ(err[0].substr(0, 9), "qiancun: ") << r.err;
    }
    const auto r = run_qiancun({"metrics", reg, "--type", "hospital"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("hospital"), std::string::npos) << r.err;
}

} // namespace
} // namespace qiancun
