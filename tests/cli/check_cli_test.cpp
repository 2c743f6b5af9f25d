#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <fmt/format.h>

#include <filesystem>
#include <map>

// `qiancun check` and the duplicate hint of import/load, on the real binary: a hand-built
// county with exact rows, and the sample county against SpatiaLite SQL.

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::run_qiancun;
using testing::split_lines;
using testing::TempDir;

/// One number from SpatiaLite SQL (GDAL's SQLite driver loads SpatiaLite) on `registry`.
double sql_number(const fs::path &registry, const std::string &sql) {
    GDALAllRegister();
    const char *const drivers[] = {"SQLite", nullptr};
    GDALDatasetUniquePtr ds(
        GDALDataset::Open(registry.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, nullptr));
    if (!ds)
        throw std::runtime_error("GDAL cannot open " + registry.string());
    OGRLayer *result = ds->ExecuteSQL(sql.c_str(), nullptr, nullptr);
    if (!result)
        throw std::runtime_error("SQL failed: " + sql);
    OGRFeatureUniquePtr f(result->GetNextFeature());
    const double value = f ? f->GetFieldAsDouble(0) : -1.0;
    ds->ReleaseResultSet(result);
    return value;
}

/// Findings per check in `check --format csv` output.
std::map<std::string, int> counts_of(const std::string &csv) {
    std::map<std::string, int> out;
    const auto lines = split_lines(csv);
    for (std::size_t i = 1; i < lines.size(); ++i)
        ++out[lines[i].substr(0, lines[i].find(','))];
    return out;
}

std::string square(double x, double y) {
    return fmt::format("POLYGON (({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))", x, y, x + 1000,
                       y + 1000);
}

struct CheckCli : ::testing::Test {
    TempDir dir;
    std::string reg = testing::test_registry(dir.path(), "county.sqlite");

    void SetUp() override {
        testing::write_vector(
            dir / "villages.geojson", "GeoJSON", "villages", 4549, {"code", "name", "population"},
            {{square(500000, 3320000),
              {{"code", "330604101201"}, {"name", "黄门村"}, {"population", "900"}}}},
            {}, {}, {"population"});
        testing::write_file(dir / "settlements.csv", "id,population,x,y\nS1,900,500500,3320500\n");
        for (const auto &args : std::vector<std::vector<std::string>>{
                 {"init", reg, "--crs", "EPSG:4549"},
                 {"import", reg, (dir / "villages.geojson").string(), "--as", "village"},
                 {"import", reg, (dir / "settlements.csv").string(), "--as", "settlement",
                  "--src-crs", "EPSG:4549"}}) {
            const auto r = run_qiancun(args);
            ASSERT_EQ(r.exit_code, 0) << args[1] << ": " << r.err;
        }
    }
};

TEST_F(CheckCli, ImportHintsAtTwoCourierStationsWithTheSameName14mApart) {
    // K1 and K2: the same name 14 m apart; K3: the same name 60 m from K1; K4: 10 m from K1
    // under another name.
    testing::write_file(dir / "couriers.csv", "id,status,name,x,y\n"
                                              "K1,运行,黄门村服务站,500300,3320300\n"
                                              "K2,运行,黄门村服务站,500314,3320300\n"
                                              "K3,运行,黄门村服务站,500240,3320300\n"
                                              "K4,运行,岭南村服务站,500300,3320310\n");
    auto r = run_qiancun({"import", reg, (dir / "couriers.csv").string(), "--as", "courier_station",
                          "--src-crs", "EPSG:4549"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err,
                HasSubstr(fmt::format("warning: 2 likely duplicate courier_station rows (same or "
                                      "near-same name within 50 m: K1 and K2 14.0 m apart), see "
                                      "`qiancun check {}` (duplicate_asset)",
                                      reg)));
    r = run_qiancun({"list", reg, "courier_station", "--format", "csv"});
    EXPECT_EQ(split_lines(r.out).size(), 5u) << r.out; // all four imported

    // Importing something else says nothing about them.
    testing::write_file(dir / "plants.csv",
                        "id,status,name,effluent_ok,x,y\nP1,运行,黄门村污水站,1,"
                        "500800,3320100\n");
    r = run_qiancun({"import", reg, (dir / "plants.csv").string(), "--as", "sewage_plant",
                     "--src-crs", "EPSG:4549"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("likely duplicate")));

    r = run_qiancun({"check", reg, "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "check,kind,id,village_code,detail,value\n"
                     "duplicate_asset,courier_station,K1,330604101201,\"same name as K2 "
                     "(黄门村服务站), 14.0 m apart\",14\n");
    EXPECT_THAT(r.err, HasSubstr("not checked: road_disconnected: no serving road"));
}

TEST_F(CheckCli, TableForPeopleWithChineseLabelsAndAFile) {
    testing::write_file(dir / "plants.csv", "id,status,x,y\nP1,运行,500800,3320100\n"
                                            "P2,运行,520000,3320100\n");
    auto r = run_qiancun({"import", reg, (dir / "plants.csv").string(), "--as", "sewage_plant",
                          "--src-crs", "EPSG:4549"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_qiancun({"check", reg});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("Findings per check (3 in all)"));
    EXPECT_THAT(r.out, HasSubstr("运行设施无出水检测结果"));
    EXPECT_THAT(r.out, HasSubstr("设施不在任何行政村内"));
    EXPECT_THAT(r.out, HasSubstr("outside every village"));

    const fs::path out = dir / "findings.csv";
    r = run_qiancun({"check", reg, "-o", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("wrote 3 findings to"));
    const auto lines = split_lines(testing::read_file(out));
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[1], "outside_villages,sewage_plant,P2,,outside every village,");
    EXPECT_EQ(lines[2], "plant_without_effluent,sewage_plant,P1,330604101201,"
                        "\"operating, effluent_ok empty\",");
    EXPECT_EQ(lines[3], "plant_without_effluent,sewage_plant,P2,,\"operating, effluent_ok "
                        "empty\",");
    // A workbook with the findings and a summary sheet; other extensions are refused.
    r = run_qiancun({"check", reg, "-o", (dir / "findings.xlsx").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_GT(fs::file_size(dir / "findings.xlsx"), 0u);
    r = run_qiancun({"check", reg, "-o", (dir / "findings.txt").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_FALSE(fs::exists(dir / "findings.txt"));
}

TEST(CheckCliSample, SampleCountyAgreesWithSpatialiteSql) {
    if (testing::registries_on_postgis())
        GTEST_SKIP() << "a file only: SpatiaLite SQL on the file is the independent check";
    TempDir dir;
    const fs::path reg = dir / "county.sqlite";
    auto r = run_qiancun({"init", reg.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_qiancun({"load", reg.string(), (testing::sample_maps_dir() / "county.toml").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("likely duplicate courier_station rows"));
    // One more plant, serving and without a result, 5 km east of the county.
    const double east = sql_number(reg, "SELECT MAX(MbrMaxX(geom)) FROM village");
    const double north = sql_number(reg, "SELECT MAX(MbrMaxY(geom)) FROM village");
    testing::write_file(dir / "extra.csv",
                        fmt::format("id,status,x,y\nWX1,operating,{},{}\n", east + 5000, north));
    r = run_qiancun({"import", reg.string(), (dir / "extra.csv").string(), "--as", "sewage_plant",
                     "--src-crs", "EPSG:4549"});
    ASSERT_EQ(r.exit_code, 0) << r.err;

    r = run_qiancun({"check", reg.string(), "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto counts = counts_of(r.out);

    // Same-name pairs within 50 m per named kind (near-same names add none in the sample).
    int pairs = 0;
    for (const char *kind : {"sewage_plant", "cultural_hall", "courier_station", "clinic"})
        pairs += static_cast<int>(sql_number(
            reg, fmt::format("SELECT COUNT(*) FROM \"{0}\" a JOIN \"{0}\" b ON a.id < b.id AND "
                             "trim(a.name) = trim(b.name) AND trim(a.name) <> '' AND "
                             "ST_Distance(a.geom, b.geom) <= 50",
                             kind)));
    EXPECT_EQ(pairs, 7);
    EXPECT_EQ(counts["duplicate_asset"], pairs);
    // Outside every village by geometry (not by the stored village_code).
    int outside = 0;
    for (const char *kind :
         {"sewage_plant", "cultural_hall", "courier_station", "base_station_5g", "clinic"})
        outside += static_cast<int>(sql_number(
            reg, fmt::format("SELECT COUNT(*) FROM \"{}\" a WHERE NOT EXISTS (SELECT 1 FROM "
                             "village v WHERE ST_Distance(v.geom, ST_PointOnSurface(a.geom)) <= "
                             "0.001)",
                             kind)));
    EXPECT_EQ(outside, 1);
    EXPECT_EQ(counts["outside_villages"], outside);
    EXPECT_EQ(counts["village_without_population"],
              sql_number(reg, "SELECT COUNT(*) FROM village WHERE population IS NULL OR "
                              "population <= 0"));
    EXPECT_EQ(counts["village_without_settlements"],
              sql_number(reg, "SELECT COUNT(*) FROM village v WHERE NOT EXISTS (SELECT 1 FROM "
                              "settlement s WHERE ST_Within(s.geom, v.geom))"));
    const double no_result =
        sql_number(reg, "SELECT COUNT(*) FROM sewage_plant WHERE status IN ('operating', "
                        "'renovating') AND effluent_ok IS NULL");
    EXPECT_EQ(no_result, 1);
    EXPECT_EQ(counts["plant_without_effluent"], no_result);
    // The sample's roads form one network, and every settlement lies within 1 km of a road.
    EXPECT_EQ(counts["road_disconnected"], 0);
    EXPECT_EQ(sql_number(reg, "SELECT COUNT(*) FROM settlement s WHERE NOT EXISTS (SELECT 1 "
                              "FROM rural_road r WHERE r.status IN ('operating', 'renovating') "
                              "AND ST_Distance(s.geom, r.geom) <= 1000)"),
              counts["settlement_off_road"]);
}

} // namespace
} // namespace qiancun
