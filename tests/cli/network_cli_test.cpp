#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using testing::run_qiancun;
using testing::TempDir;

/// Network distances here are sums of a few whole metres.
constexpr double kTolM = 1e-6;

using testing::csv_cell;

/// Two 1 km villages cut by a river along y = 3320500 with one bridge at their east end
/// (x = 502000): a road on each bank. A plant (radius 1000 m) 10 m south of the south road at
/// x = 500100; settlement S1 across the river 200 m from it in a straight line and 4020 m by
/// road, S2 on the same bank 820 m away by road. A farm track in the east village joins
/// nothing.
struct NetworkCli : ::testing::Test {
    TempDir dir;
    std::string reg = testing::test_registry(dir.path(), "county.sqlite");

    void SetUp() override {
        testing::write_river_county(dir.path(), "WS1,operating,1000,500100,3320390", true);
        for (const auto &args : testing::river_county_loads(reg, dir.path())) {
            const auto r = run_qiancun(args);
            ASSERT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
        }
    }
};

TEST_F(NetworkCli, MetricsNetworkAddsColumnsThatSeeTheRiver) {
    auto r =
        run_qiancun({"metrics", reg, "--type", "sewage_plant", "--network", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Straight line: both settlements within 1000 m; by road only S2 (300 of 400 people).
    EXPECT_NEAR(std::stod(csv_cell(r.out, "pop_cov_sewage_plant")), 1.0, kTolM);
    EXPECT_NEAR(std::stod(csv_cell(r.out, "net_pop_cov_sewage_plant")), 0.75, kTolM);
    EXPECT_FALSE(csv_cell(r.out, "net_nearest_sewage_plant_m").empty());

    r = run_qiancun({"metrics", reg, "--type", "sewage_plant", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find("net_"), std::string::npos) << "network columns only when asked";
}

TEST_F(NetworkCli, RouteCrossesTheBridge) {
    auto r = run_qiancun(
        {"route", reg, "--from", "S1", "--to-nearest", "sewage_plant", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(csv_cell(r.out, "asset_id"), "WS1");
    EXPECT_EQ(csv_cell(r.out, "from_kind"), "settlement");
    EXPECT_NEAR(std::stod(csv_cell(r.out, "distance_m")), 10 + 1900 + 200 + 1900 + 10, kTolM);

    r = run_qiancun({"route", reg, "--from", "S1", "--to-nearest", "sewage_plant"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("4020.0 m"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("LINESTRING"), std::string::npos) << r.out;

    const fs::path path = dir / "path.geojson";
    r = run_qiancun(
        {"route", reg, "--from", "S1", "--to-nearest", "sewage_plant", "-o", path.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto features = testing::read_vector(path);
    ASSERT_EQ(features.size(), 1u);
    EXPECT_TRUE(testing::geometry_near(
        features[0].at("WKT"),
        "LINESTRING (500100 3320610, 500100 3320600, 502000 3320600, 502000 3320400, "
        "500100 3320400, 500100 3320390)",
        1e-3));

    // From a village: its demand point.
    r = run_qiancun({"route", reg, "--from", "330604101202", "--to-nearest", "sewage_plant",
                     "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(csv_cell(r.out, "from_kind"), "village");
}

TEST_F(NetworkCli, AKindNamedRouteIsRefusedAtConfiguration) {
    testing::write_file(dir / "types.toml", "[asset_types.route]\nlabel = \"公交线路\"\n"
                                            "geometry = \"line\"\n");
    const auto r = run_qiancun(
        {"init", (dir / "new.sqlite").string(), "--types", (dir / "types.toml").string()});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("asset type key 'route' is reserved"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("village_metrics, village_classes, route, gaps_*, service_area_*"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(dir / "new.sqlite"));
}

TEST_F(NetworkCli, RouteNeverReplacesTheDataOfAKindNamedRoute) {
    // A registry configured before such keys were refused: a line kind `route` (bus lines).
    testing::registry_sql(reg,
                          "UPDATE meta SET value = '[asset_types.route]\nlabel = \"公交线路\"\n"
                          "geometry = \"line\"\n' WHERE key = 'asset_types'");
    testing::write_vector(
        dir / "bus.geojson", "GeoJSON", "bus", 4549, {"id", "status"},
        {{"LINESTRING (500000 3320500, 502000 3320500)", {{"id", "B1"}, {"status", "operating"}}}});
    auto r = run_qiancun({"import", reg, (dir / "bus.geojson").string(), "--as", "route"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string before = testing::registry_sql(
        reg, "SELECT id, CASE WHEN geom IS NULL THEN 0 ELSE 1 END FROM route");
    ASSERT_EQ(before, "B1|1\n");

    const fs::path path = dir / "path.gpkg";
    r = run_qiancun(
        {"route", reg, "--from", "S1", "--to-nearest", "sewage_plant", "-o", path.string()});
    EXPECT_EQ(r.exit_code, 4) << r.out;
    EXPECT_NE(r.err.find("cannot store the result layer 'route': the registry has a table "
                         "'route' that holds the kind 'route', not a result qiancun wrote; it is "
                         "left as it is"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(testing::registry_sql(
                  reg, "SELECT id, CASE WHEN geom IS NULL THEN 0 ELSE 1 END FROM route"),
              before);
    EXPECT_EQ(testing::registry_sql(reg, "SELECT count(*) FROM route"), "1\n");
    EXPECT_FALSE(fs::exists(path));
}

TEST_F(NetworkCli, ResultLayersAreCataloguedAndOnlyTheyAreReplaced) {
    const std::string path = (dir / "path.geojson").string();
    auto r =
        run_qiancun({"route", reg, "--from", "S1", "--to-nearest", "sewage_plant", "-o", path});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(testing::registry_sql(reg, "SELECT name, created_by FROM result_layers"),
              "route|route\n");
    r = run_qiancun({"route", reg, "--from", "S2", "--to-nearest", "sewage_plant", "-o", path});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(testing::registry_sql(reg, "SELECT from_id FROM route"), "S2\n");

    // A table someone made by hand, named like a result layer in another case, is kept.
    testing::registry_sql(reg, "CREATE TABLE \"Village_Metrics\" (note TEXT); "
                               "INSERT INTO \"Village_Metrics\" VALUES ('mine')");
    r = run_qiancun({"metrics", reg});
    EXPECT_EQ(r.exit_code, 4) << r.out;
    EXPECT_NE(r.err.find("the registry has a table 'Village_Metrics' that holds other data"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(testing::registry_sql(reg, "SELECT note FROM \"Village_Metrics\""), "mine\n");
}

TEST_F(NetworkCli, RouteFromAnUnknownPlaceIsAUsageError) {
    const auto r = run_qiancun({"route", reg, "--from", "nowhere", "--to-nearest", "sewage_plant"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("nowhere"), std::string::npos) << r.err;
}

TEST_F(NetworkCli, ServiceAreaWritesLinesAndBufferWithStyles) {
    const fs::path out = dir / "reach.gpkg";
    auto r = run_qiancun({"service-area", reg, "--type", "sewage_plant", "--distance", "500",
                          "--width", "50", "-o", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("WS1"), std::string::npos) << r.out;
    const auto lines = testing::read_vector(out, "service_area_sewage_plant");
    ASSERT_EQ(lines.size(), 2u); // west to the road's end, east up to the cut
    double longest = 0.0;
    for (const auto &l : lines) {
        EXPECT_EQ(l.at("facility"), "WS1");
        longest = std::max(longest, std::stod(l.at("distance_m")));
    }
    EXPECT_NEAR(longest, 500.0, kTolM);
    EXPECT_TRUE(testing::geometry_near(
        std::find_if(lines.begin(), lines.end(),
                     [](const auto &l) { return std::stod(l.at("distance_m")) > 400; })
            ->at("WKT"),
        "LINESTRING (500100 3320400, 500590 3320400)", 1e-6));
    const auto buffer = testing::read_vector(out, "service_area_sewage_plant_buffer");
    ASSERT_EQ(buffer.size(), 1u);
    EXPECT_NEAR(std::stod(buffer[0].at("road_km")), 0.1 + 0.49, kTolM);
    // Each layer's style is named as its own file would be: <stem>.qml and <stem>_buffer.qml.
    std::set<std::string> styles;
    for (const auto &f : fs::directory_iterator(dir.path()))
        if (f.path().extension() == ".qml")
            styles.insert(f.path().filename().string());
    EXPECT_EQ(styles, (std::set<std::string>{"reach.qml", "reach_buffer.qml"}));

    r = run_qiancun({"service-area", reg, "--type", "rural_road", "--distance", "500"});
    EXPECT_EQ(r.exit_code, 2) << r.out;
}

TEST_F(NetworkCli, InfoNetworkReportsTheDisconnectedTrack) {
    const auto r = run_qiancun({"info", reg, "--network", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto rows = testing::split_lines(r.out);
    ASSERT_EQ(rows.size(), 3u) << r.out;
    EXPECT_EQ(rows[0], "piece,edges,km,villages");
    EXPECT_EQ(csv_cell(r.out, "piece", 1), "main");
    EXPECT_NEAR(std::stod(csv_cell(r.out, "km", 1)), 4.2, kTolM);
    EXPECT_NEAR(std::stod(csv_cell(r.out, "km", 2)), 0.3, kTolM);
    EXPECT_EQ(csv_cell(r.out, "villages", 2), "330604101202");

    const auto table = run_qiancun({"info", reg, "--network"});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_NE(table.out.find("disconnected pieces: 1 (0.3 km)"), std::string::npos) << table.out;
}

/// A square loop of side 1000 m at (500000, 3320000): the south side a village road of earth
/// (30 km/h × 0.4 = 12 km/h by default, 0.3 s/m), west and north county roads (60 km/h,
/// 0.06 s/m), east hardened without a grade (the village speed, 30 km/h, 0.12 s/m). Settlement
/// S1 10 m south of the road at x = 500010, courier station C1 10 m south at x = 500990.
struct NetworkTimeCli : ::testing::Test {
    TempDir dir;
    std::string reg = testing::test_registry(dir.path(), "county.sqlite");

    void SetUp() override {
        testing::write_vector(
            dir / "villages.geojson", "GeoJSON", "villages", 4549, {"code", "name"},
            {{"POLYGON ((499900 3319900, 501100 3319900, 501100 3321100, 499900 3321100, "
              "499900 3319900))",
              {{"code", "330604101201"}, {"name", "东山村"}}}});
        testing::write_vector(dir / "settlements.geojson", "GeoJSON", "settlements", 4549,
                              {"id", "population"},
                              {{"POINT (500010 3319990)", {{"id", "S1"}, {"population", "100"}}}},
                              {}, {}, {"population"});
        testing::write_vector(
            dir / "roads.geojson", "GeoJSON", "roads", 4549, {"id", "status", "grade", "surface"},
            {{"LINESTRING (500000 3320000, 501000 3320000)",
              {{"id", "S"}, {"status", "operating"}, {"grade", "村道"}, {"surface", "土路"}}},
             {"LINESTRING (501000 3320000, 501000 3321000)",
              {{"id", "E"}, {"status", "operating"}, {"surface", "hardened"}}},
             {"LINESTRING (501000 3321000, 500000 3321000)",
              {{"id", "N"}, {"status", "operating"}, {"grade", "county"}, {"surface", "hardened"}}},
             {"LINESTRING (500000 3321000, 500000 3320000)",
              {{"id", "W"}, {"status", "operating"}, {"grade", "县道"}, {"surface", "hardened"}}}});
        testing::write_file(dir / "couriers.csv", "id,status,x,y\nC1,operating,500990,3319990\n");
        for (const auto &args : std::vector<std::vector<std::string>>{
                 {"init", reg, "--crs", "EPSG:4549"},
                 {"import", reg, (dir / "villages.geojson").string(), "--as", "village"},
                 {"import", reg, (dir / "settlements.geojson").string(), "--as", "settlement"},
                 {"import", reg, (dir / "roads.geojson").string(), "--as", "rural_road"},
                 {"import", reg, (dir / "couriers.csv").string(), "--as", "courier_station",
                  "--src-crs", "EPSG:4549"}}) {
            const auto r = run_qiancun(args);
            ASSERT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
        }
    }
};

/// Minutes here are sums of a few lengths times 3.6 / speed, over 60.
constexpr double kTolMin = 1e-6;

TEST_F(NetworkTimeCli, RouteByTimeTakesTheLongerFasterWay) {
    auto r = run_qiancun(
        {"route", reg, "--from", "S1", "--to-nearest", "courier_station", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NEAR(std::stod(csv_cell(r.out, "distance_m")), 10 + 980 + 10, kTolM);
    EXPECT_EQ(testing::split_lines(r.out)[0].find("minutes"), std::string::npos) << r.out;

    // 10 m walked (9 s), 10 m of earth (3 s), west and north (60 + 60 s), east (120 s), 10 m
    // of earth (3 s), 10 m walked (9 s): 264 s = 4.4 min over 3040 m. Straight: 312 s.
    r = run_qiancun({"route", reg, "--from", "S1", "--to-nearest", "courier_station", "--cost",
                     "time", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(csv_cell(r.out, "asset_id"), "C1");
    EXPECT_NEAR(std::stod(csv_cell(r.out, "minutes")), 4.4, kTolMin);
    EXPECT_NEAR(std::stod(csv_cell(r.out, "distance_m")), 3040.0, kTolM);

    const fs::path wkt = dir / "fastest.wkt";
    r = run_qiancun({"route", reg, "--from", "S1", "--to-nearest", "courier_station", "--cost",
                     "time", "-o", wkt.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("fastest courier_station C1: 4.4 min, 3040.0 m"), std::string::npos)
        << r.out;
    EXPECT_TRUE(testing::geometry_near(
        testing::read_file(wkt),
        "LINESTRING (500010 3319990, 500010 3320000, 500000 3320000, 500000 3321000, "
        "501000 3321000, 501000 3320000, 500990 3320000, 500990 3319990)",
        1e-3));

    // Village roads at 60 km/h make the earth road 24 km/h (0.15 s/m): straight is 18 + 147 =
    // 165 s; round the loop 18 + 3 + 60 + 60 + 60 = 201 s.
    testing::write_file(dir / "speeds.toml", "[network.speed_kmh]\nvillage = 60\n");
    r = run_qiancun({"route", reg, "--from", "S1", "--to-nearest", "courier_station", "--cost",
                     "time", "--config", (dir / "speeds.toml").string(), "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NEAR(std::stod(csv_cell(r.out, "minutes")), 165.0 / 60.0, kTolMin);
    EXPECT_NEAR(std::stod(csv_cell(r.out, "distance_m")), 1000.0, kTolM);

    testing::write_file(dir / "bad.toml", "[network.speed_kmh]\ncounty = 60\nvillage = 0\n");
    r = run_qiancun({"route", reg, "--from", "S1", "--to-nearest", "courier_station", "--cost",
                     "time", "--config", (dir / "bad.toml").string()});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("line 3"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("network.speed_kmh.village"), std::string::npos) << r.err;

    r = run_qiancun(
        {"route", reg, "--from", "S1", "--to-nearest", "courier_station", "--cost", "fuel"});
    EXPECT_NE(r.exit_code, 0);
}

TEST_F(NetworkTimeCli, ServiceAreaByMinutesCutsAtTheTimeReached) {
    const fs::path out = dir / "reach.gpkg";
    auto r = run_qiancun(
        {"service-area", reg, "--type", "courier_station", "--minutes", "1", "-o", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("within 1 min"), std::string::npos) << r.out;
    // 9 s of leg leave 51 s: 170 m west on earth; east 10 m (3 s), then 48 s / 0.12 = 400 m
    // north.
    const auto lines = testing::read_vector(out, "service_area_courier_station");
    ASSERT_EQ(lines.size(), 3u);
    double longest = 0.0;
    for (const auto &l : lines) {
        EXPECT_EQ(l.at("facility"), "C1");
        longest = std::max(longest, std::stod(l.at("minutes")));
        if (l.at("road_id") == "E") {
            EXPECT_NEAR(std::stod(l.at("from_min")), 0.2, kTolMin);
            EXPECT_NEAR(std::stod(l.at("minutes")), 1.0, kTolMin);
            EXPECT_NEAR(std::stod(l.at("distance_m")), 420.0, kTolM);
            EXPECT_TRUE(testing::geometry_near(
                l.at("WKT"), "LINESTRING (501000 3320000, 501000 3320400)", 1e-6));
        }
    }
    EXPECT_NEAR(longest, 1.0, kTolMin);
    const auto buffer = testing::read_vector(out, "service_area_courier_station_buffer");
    ASSERT_EQ(buffer.size(), 1u);
    EXPECT_NEAR(std::stod(buffer[0].at("reach_min")), 1.0, kTolMin);
    EXPECT_NEAR(std::stod(buffer[0].at("road_km")), 0.17 + 0.01 + 0.4, kTolM);
    // The style colours the lines by the time reached, in minutes up to the furthest (1 min).
    const std::string qml = testing::read_file(dir / "reach.qml");
    EXPECT_NE(qml.find("attr=\"minutes\""), std::string::npos) << qml;
    EXPECT_NE(qml.find("label=\"0–0.2 min\""), std::string::npos) << qml;
    EXPECT_NE(qml.find("label=\"0.8–1 min\""), std::string::npos) << qml;

    r = run_qiancun(
        {"service-area", reg, "--type", "courier_station", "--minutes", "1", "--distance", "500"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--minutes"), std::string::npos) << r.err;
}

} // namespace
} // namespace qiancun
