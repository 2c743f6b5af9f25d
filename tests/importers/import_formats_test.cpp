#include "qiancun/error.hpp"
#include "qiancun/gcj02.hpp"
#include "qiancun/importer.hpp"

#include "testing/testing.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace qiancun {
namespace {

using importers::ImportOptions;
using testing::FixtureFeature;
using testing::TempDir;

/// A point of Shangyu in WGS84/CGCS2000 lon/lat.
constexpr double kLon = 120.8712345;
constexpr double kLat = 30.0234567;

struct Imported {
    double x = 0.0;
    double y = 0.0;
    std::map<std::string, std::string> fields;
};

/// Imports `opt` into a fresh registry with working CRS EPSG:4549 and returns the rows.
std::vector<Imported> import_and_list(const TempDir &dir, ImportOptions opt,
                                      std::optional<int> epsg = 4549) {
    auto path = dir / "r.sqlite";
    std::filesystem::remove(path);
    auto reg = Registry::create(path, epsg);
    importers::import_file(reg, opt);
    ListFilter f;
    f.with_wkt = true;
    auto rows = reg.list(opt.kind, f);
    std::vector<Imported> out;
    for (const auto &r : rows.rows) {
        Imported imp;
        for (std::size_t i = 0; i < rows.columns.size(); ++i)
            imp.fields[rows.columns[i]] = value_to_text(r[i]);
        std::sscanf(imp.fields["wkt"].c_str(), "POINT(%lf %lf)", &imp.x, &imp.y);
        out.push_back(std::move(imp));
    }
    return out;
}

void expect_at(const Imported &imp, int from_epsg, double sx, double sy) {
    auto [ex, ey] = testing::ogr_transform(from_epsg, 4549, sx, sy);
    EXPECT_NEAR(imp.x, ex, testing::kCoordTolM) << imp.fields.at("wkt");
    EXPECT_NEAR(imp.y, ey, testing::kCoordTolM) << imp.fields.at("wkt");
}

TEST(ImportFormats, ShapefileInGeographicCgcs2000) {
    TempDir dir;
    testing::write_vector(dir / "plants.shp", "ESRI Shapefile", "plants", 4490,
                          {"id", "status", "capacity"},
                          {{fmt::format("POINT ({:.7f} {:.7f})", kLon, kLat),
                            {{"id", "WS1"}, {"status", "运行"}, {"capacity", "30"}}}});
    ImportOptions o;
    o.kind = "sewage_plant";
    o.source = dir / "plants.shp";
    o.field_map = {{"capacity_m3d", "capacity"}};
    auto rows = import_and_list(dir, o);
    ASSERT_EQ(rows.size(), 1u);
    expect_at(rows[0], 4490, kLon, kLat);
    EXPECT_EQ(rows[0].fields["status"], "operating");
    EXPECT_EQ(rows[0].fields["capacity_m3d"], "30");
    EXPECT_EQ(rows[0].fields["source_row"], "1");
}

TEST(ImportFormats, GeoPackageLinesInEpsg4490) {
    TempDir dir;
    testing::write_vector(
        dir / "roads.gpkg", "GPKG", "roads", 4490, {"id", "grade", "surface", "status"},
        {{fmt::format("LINESTRING ({:.7f} {:.7f}, {:.7f} {:.7f})", kLon, kLat, kLon + 0.01,
                      kLat + 0.01),
          {{"id", "R1"}, {"grade", "村道"}, {"surface", "硬化"}, {"status", "operating"}}}});
    ImportOptions o;
    o.kind = "rural_road";
    o.source = dir / "roads.gpkg";
    auto path = dir / "r.sqlite";
    auto reg = Registry::create(path, 4549);
    importers::import_file(reg, o);
    ListFilter f;
    f.with_wkt = true;
    auto rows = reg.list("rural_road", f);
    ASSERT_EQ(rows.rows.size(), 1u);
    auto [x0, y0] = testing::ogr_transform(4490, 4549, kLon, kLat);
    auto [x1, y1] = testing::ogr_transform(4490, 4549, kLon + 0.01, kLat + 0.01);
    EXPECT_TRUE(testing::geometry_near(
        std::get<std::string>(rows.rows[0].back()),
        fmt::format("MULTILINESTRING (({:.4f} {:.4f}, {:.4f} {:.4f}))", x0, y0, x1, y1),
        testing::kCoordTolM));
    EXPECT_EQ(std::get<std::string>(rows.rows[0][3]), "village");
    EXPECT_EQ(std::get<std::string>(rows.rows[0][4]), "hardened");
}

TEST(ImportFormats, GeoJsonPolygonsAndPoints) {
    TempDir dir;
    testing::write_vector(dir / "halls.geojson", "GeoJSON", "halls", 4326,
                          {"id", "stars", "status"},
                          {{fmt::format("POINT ({:.7f} {:.7f})", kLon, kLat),
                            {{"id", "H1"}, {"stars", "5"}, {"status", "operating"}}},
                           {fmt::format("POLYGON (({0:.7f} {1:.7f}, {2:.7f} {1:.7f}, {2:.7f} "
                                        "{3:.7f}, {0:.7f} {3:.7f}, {0:.7f} {1:.7f}))",
                                        kLon, kLat, kLon + 0.0003, kLat + 0.0002),
                            {{"id", "H2"}, {"stars", "3"}, {"status", "building"}}}});
    ImportOptions o;
    o.kind = "cultural_hall";
    o.source = dir / "halls.geojson";
    auto rows = import_and_list(dir, o);
    ASSERT_EQ(rows.size(), 2u);
    expect_at(rows[0], 4326, kLon, kLat);
    EXPECT_EQ(rows[1].fields["wkt"].rfind("MULTIPOLYGON", 0), 0u) << rows[1].fields["wkt"];
    EXPECT_EQ(rows[1].fields["stars"], "3");
}

TEST(ImportFormats, KmlPlacemarks) {
    TempDir dir;
    testing::write_vector(dir / "courier.kml", "KML", "courier", 4326, {"id", "level", "status"},
                          {{fmt::format("POINT ({:.7f} {:.7f})", kLon, kLat),
                            {{"id", "KD1"}, {"level", "村级"}, {"status", "operating"}}}});
    ImportOptions o;
    o.kind = "courier_station";
    o.source = dir / "courier.kml";
    auto rows = import_and_list(dir, o);
    ASSERT_EQ(rows.size(), 1u);
    expect_at(rows[0], 4326, kLon, kLat);
    EXPECT_EQ(rows[0].fields["level"], "village");
}

TEST(ImportFormats, CsvWithLonLatColumnsAndChineseHeaders) {
    TempDir dir;
    testing::write_file(
        dir / "plants.csv",
        fmt::format("编号,规模,状态,lon,lat\nWS1,25,运行,{:.7f},{:.7f}\nWS2,,规划,{:.7f},{:.7f}\n",
                    kLon, kLat, kLon + 0.001, kLat));
    ImportOptions o;
    o.kind = "sewage_plant";
    o.source = dir / "plants.csv";
    o.src_crs = "EPSG:4326";
    o.x_field = "lon";
    o.y_field = "lat";
    o.field_map = {{"id", "编号"}, {"capacity_m3d", "规模"}, {"status", "状态"}};
    auto rows = import_and_list(dir, o);
    ASSERT_EQ(rows.size(), 2u);
    expect_at(rows[0], 4326, kLon, kLat);
    expect_at(rows[1], 4326, kLon + 0.001, kLat);
    EXPECT_EQ(rows[0].fields["capacity_m3d"], "25");
    EXPECT_EQ(rows[1].fields["capacity_m3d"], "");
    EXPECT_EQ(rows[1].fields["status"], "planned");
}

TEST(ImportFormats, XlsxWithLonLatColumns) {
    TempDir dir;
    testing::write_vector(dir / "bs.xlsx", "XLSX", "stations", 0,
                          {"id", "band", "status", "lon", "lat"},
                          {{"",
                            {{"id", "JZ1"},
                             {"band", "700"},
                             {"status", "operating"},
                             {"lon", fmt::format("{:.7f}", kLon)},
                             {"lat", fmt::format("{:.7f}", kLat)}}}});
    ImportOptions o;
    o.kind = "base_station_5g";
    o.source = dir / "bs.xlsx";
    o.src_crs = "EPSG:4326";
    auto rows = import_and_list(dir, o);
    ASSERT_EQ(rows.size(), 1u);
    expect_at(rows[0], 4326, kLon, kLat);
    EXPECT_EQ(rows[0].fields["band"], "700");
}

TEST(ImportFormats, Gcj02AndBd09CoordinatesLandOnTheTruePoint) {
    TempDir dir;
    const auto g = gcj02::wgs84_to_gcj02({kLon, kLat});
    const auto b = gcj02::wgs84_to_bd09({kLon, kLat});
    for (auto [crs, p] : {std::pair{std::string("GCJ02"), g}, std::pair{std::string("BD09"), b}}) {
        testing::write_file(
            dir / "p.csv",
            fmt::format("id,status,lon,lat\nA,operating,{:.9f},{:.9f}\n", p.lon, p.lat));
        ImportOptions o;
        o.kind = "sewage_plant";
        o.source = dir / "p.csv";
        o.src_crs = crs;
        auto rows = import_and_list(dir, o);
        ASSERT_EQ(rows.size(), 1u);
        auto [ex, ey] = testing::ogr_transform(4326, 4549, kLon, kLat);
        // The offsets are hundreds of metres; the corrected point is within 0.5 m (in fact mm).
        EXPECT_NEAR(rows[0].x, ex, 0.01) << crs;
        EXPECT_NEAR(rows[0].y, ey, 0.01) << crs;
    }
}

TEST(ImportFormats, FirstImportFixesTheGaussKrugerZoneOfTheData) {
    TempDir dir;
    testing::write_vector(
        dir / "s.geojson", "GeoJSON", "s", 4326, {"id", "name", "population"},
        {{"POINT (117.2 31.8)", {{"id", "S1"}, {"name", "合肥"}, {"population", "10"}}}});
    ImportOptions o;
    o.kind = "settlement";
    o.source = dir / "s.geojson";
    auto path = dir / "r.sqlite";
    auto reg = Registry::create(path, std::nullopt);
    importers::import_file(reg, o);
    EXPECT_EQ(reg.working_epsg(), 4548); // CM 117E
}

TEST(ImportFormats, VillageSeatColumnsAreTransformedWithTheFile) {
    TempDir dir;
    testing::write_vector(dir / "v.shp", "ESRI Shapefile", "v", 4490,
                          {"code", "name", "seat_x", "seat_y"},
                          {{fmt::format("POLYGON (({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))",
                                        120.86, 30.02, 120.88, 30.03),
                            {{"code", "330604101201"},
                             {"name", "东山村"},
                             {"seat_x", "120.87"},
                             {"seat_y", "30.025"}}},
                           {fmt::format("POLYGON (({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))",
                                        120.88, 30.02, 120.90, 30.03),
                            {{"code", "330604101202"}, {"name", "西山村"}}}});
    ImportOptions o;
    o.kind = "village";
    o.source = dir / "v.shp";
    auto rows = import_and_list(dir, o);
    ASSERT_EQ(rows.size(), 2u);
    auto [sx, sy] = testing::ogr_transform(4490, 4549, 120.87, 30.025);
    EXPECT_NEAR(std::stod(rows[0].fields["seat_x"]), sx, testing::kCoordTolM);
    EXPECT_NEAR(std::stod(rows[0].fields["seat_y"]), sy, testing::kCoordTolM);
    EXPECT_EQ(rows[1].fields["seat_x"], "");
    EXPECT_EQ(rows[0].fields["name"], "东山村");
}

/// Writes a GBK shapefile as departments hand them over: no .cpg, language driver byte 0.
void write_gbk_villages(const std::filesystem::path &shp) {
    testing::write_vector(shp, "ESRI Shapefile", "v", 4549, {"代码", "村名"},
                          {{"POLYGON ((500000 3320000, 501000 3320000, 501000 3321000, 500000 "
                            "3321000, 500000 3320000))",
                            {{"代码", "330604101201"}, {"村名", "东山村"}}},
                           {"POLYGON ((501000 3320000, 502000 3320000, 502000 3321000, 501000 "
                            "3321000, 501000 3320000))",
                            {{"代码", "330604101202"}, {"村名", "下管村"}}}},
                          {"ENCODING=CP936"});
    testing::strip_encoding_declaration(shp);
}

TEST(ImportFormats, GbkDbfWithoutCpgNeedsEncodingAndIsThenExact) {
    TempDir dir;
    write_gbk_villages(dir / "v.shp");
    ImportOptions o;
    o.kind = "village";
    o.source = dir / "v.shp";
    o.field_map = {{"code", "代码"}, {"name", "村名"}};
    // Without the encoding the Chinese field names cannot even be found, and the message says why.
    try {
        import_and_list(dir, o);
        FAIL();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("--encoding GBK"), std::string::npos) << e.what();
    }
    o.encoding = "GBK";
    auto rows = import_and_list(dir, o);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].fields["name"], "东山村");
    EXPECT_EQ(rows[1].fields["name"], "下管村");
}

TEST(ImportFormats, GbkCsvIsRecoded) {
    TempDir dir;
    std::string gbk_name = "\xB6\xAB\xC9\xBD\xB4\xE5"; // 东山村 in GBK
    testing::write_file(dir / "s.csv", "id,name,population,lon,lat\nS1," + gbk_name +
                                           fmt::format(",100,{},{}\n", kLon, kLat));
    ImportOptions o;
    o.kind = "settlement";
    o.source = dir / "s.csv";
    o.src_crs = "EPSG:4490";
    try {
        import_and_list(dir, o);
        FAIL();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("row 1: name is not valid UTF-8"), std::string::npos)
            << e.what();
    }
    o.encoding = "GBK";
    auto rows = import_and_list(dir, o);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].fields["name"], "东山村");
}

TEST(ImportFormats, ReimportUpdatesByIdInsteadOfDuplicating) {
    TempDir dir;
    testing::write_vector(
        dir / "p.geojson", "GeoJSON", "p", 4326, {"id", "status"},
        {{fmt::format("POINT ({} {})", kLon, kLat), {{"id", "A"}, {"status", "operating"}}},
         {fmt::format("POINT ({} {})", kLon + 0.01, kLat), {{"id", "B"}, {"status", "closed"}}}});
    auto reg = Registry::create(dir / "r.sqlite", 4549);
    ImportOptions o;
    o.kind = "sewage_plant";
    o.source = dir / "p.geojson";
    auto first = importers::import_file(reg, o);
    auto second = importers::import_file(reg, o);
    EXPECT_EQ(first.record.inserted, 2);
    EXPECT_EQ(second.record.inserted, 0);
    EXPECT_EQ(second.record.updated, 2);
    EXPECT_EQ(reg.count("sewage_plant"), 2);
    o.replace = true;
    importers::import_file(reg, o);
    EXPECT_EQ(reg.count("sewage_plant"), 2);
}

TEST(ImportFormats, RepeatedImportsInOneProcessGiveIdenticalGeometry) {
    // The coordinate transformations are reused across imports and threads: every reuse must
    // give the bytes of the first import.
    TempDir dir;
    testing::write_file(dir / "p.csv",
                        fmt::format("id,status,lon,lat\nA,operating,{:.7f},{:.7f}\nB,closed,{:.7f},"
                                    "{:.7f}\n",
                                    kLon, kLat, kLon + 0.05, kLat - 0.02));
    const auto g = gcj02::wgs84_to_gcj02({kLon, kLat});
    testing::write_file(
        dir / "g.csv", fmt::format("id,status,lon,lat\nG,operating,{:.9f},{:.9f}\n", g.lon, g.lat));
    ImportOptions wgs84;
    wgs84.kind = "sewage_plant";
    wgs84.source = dir / "p.csv";
    wgs84.src_crs = "EPSG:4326";
    ImportOptions cgcs2000 = wgs84;
    cgcs2000.src_crs = "EPSG:4490";
    ImportOptions web = wgs84;
    web.source = dir / "g.csv";
    web.src_crs = "GCJ02";

    auto wkbs = [](const Registry &reg, const ImportOptions &o) {
        std::vector<std::string> out;
        for (const auto &f : importers::prepare_import(reg, o).features)
            out.push_back(f.wkb);
        return out;
    };
    const auto reg = Registry::create(dir / "r.sqlite", 4549);
    const auto first = wkbs(reg, wgs84);
    const auto first_cgcs2000 = wkbs(reg, cgcs2000);
    const auto first_web = wkbs(reg, web);
    ASSERT_EQ(first.size(), 2u);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(wkbs(reg, wgs84), first);
        EXPECT_EQ(wkbs(reg, cgcs2000), first_cgcs2000);
        EXPECT_EQ(wkbs(reg, web), first_web);
    }

    // Two threads at once, each with its own registry, take transformations of the same pairs.
    std::vector<int> mismatches(2, 0);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < mismatches.size(); ++t)
        threads.emplace_back([&, t] {
            const auto own = Registry::create(dir / fmt::format("r{}.sqlite", t), 4549);
            for (int i = 0; i < 6; ++i)
                mismatches[t] +=
                    i % 2 ? wkbs(own, cgcs2000) != first_cgcs2000 : wkbs(own, wgs84) != first;
        });
    for (auto &th : threads)
        th.join();
    EXPECT_EQ(mismatches, std::vector<int>(2, 0));

    auto rows = import_and_list(dir, wgs84);
    ASSERT_EQ(rows.size(), 2u);
    expect_at(rows[0], 4326, kLon, kLat);
    expect_at(rows[1], 4326, kLon + 0.05, kLat - 0.02);
}

} // namespace
} // namespace qiancun
