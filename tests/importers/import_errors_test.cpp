#include "qiancun/error.hpp"
#include "qiancun/importer.hpp"

#include "testing/testing.hpp"

#include <fmt/format.h>

namespace qiancun {
namespace {

using importers::ImportOptions;
using testing::TempDir;

constexpr const char *kSquare =
    "POLYGON ((500000 3320000, 501000 3320000, 501000 3321000, 500000 3321000, 500000 3320000))";

/// A registry that already holds one village and one plant, and its checksum.
struct ErrorFixture : ::testing::Test {
    TempDir dir;
    Registry reg = Registry::create(dir / "r.sqlite", 4549);
    std::string before;

    void SetUp() override {
        testing::write_vector(dir / "v.geojson", "GeoJSON", "v", 4549, {"code", "name"},
                              {{kSquare, {{"code", "330604101201"}, {"name", "东山村"}}}});
        ImportOptions v;
        v.kind = "village";
        v.source = dir / "v.geojson";
        v.src_crs = "EPSG:4549";
        importers::import_file(reg, v);
        testing::write_file(dir / "ok.csv", "id,status,x,y\nA,operating,500500,3320500\n");
        importers::import_file(reg, csv("ok.csv"));
        before = reg.content_checksum();
    }

    ImportOptions csv(const std::string &name) const {
        ImportOptions o;
        o.kind = "sewage_plant";
        o.source = dir / name;
        o.src_crs = "EPSG:4549";
        return o;
    }

    /// Imports `o`, expects an InputError whose message contains `expected`, and checks that
    /// the registry is exactly as it was.
    void expect_rejected(const ImportOptions &o, const std::string &expected) {
        try {
            importers::import_file(reg, o);
            ADD_FAILURE() << "no error; expected: " << expected;
        } catch (const InputError &e) {
            EXPECT_NE(std::string(e.what()).find(expected), std::string::npos)
                << "message: " << e.what() << "\nexpected to contain: " << expected;
            EXPECT_NE(std::string(e.what()).find(o.source.filename().string()), std::string::npos)
                << "the message must name the file: " << e.what();
        }
        EXPECT_EQ(reg.content_checksum(), before) << "the registry changed";
    }
};

TEST_F(ErrorFixture, BadStatusNamesTheRow) {
    testing::write_file(dir / "p.csv",
                        "id,status,x,y\nB,operating,500100,3320100\nC,open,500200,3320200\n");
    expect_rejected(csv("p.csv"),
                    "row 2: status 'open' is not one of planned, building, operating");
}

TEST_F(ErrorFixture, YearThatIsNotANumber) {
    testing::write_file(dir / "p.csv",
                        "id,status,built_year,x,y\nB,operating,2019年,500100,3320100\n");
    expect_rejected(csv("p.csv"), "row 1: built_year '2019年' is not a year");
}

TEST_F(ErrorFixture, DuplicateIdWithinTheSource) {
    testing::write_file(dir / "p.csv",
                        "id,status,x,y\nB,operating,500100,3320100\nB,operating,500200,3320200\n");
    expect_rejected(csv("p.csv"), "row 2: id 'B' appears twice in the source (rows 1 and 2)");
}

TEST_F(ErrorFixture, MissingNonNumericSwappedAndNanCoordinates) {
    testing::write_file(dir / "p.csv", "id,status,lon,lat\nB,operating,,30.0\n");
    auto o = csv("p.csv");
    o.src_crs = "EPSG:4326";
    expect_rejected(o, "row 1: lon is empty");
    testing::write_file(dir / "p.csv", "id,status,lon,lat\nB,operating,120.8E,30.0\n");
    expect_rejected(o, "row 1: coordinate lon '120.8E' is not a number");
    testing::write_file(dir / "p.csv", "id,status,lon,lat\nB,operating,30.02,120.87\n");
    expect_rejected(o, "row 1: lon 30.02 and lat 120.87 look swapped");
    testing::write_file(dir / "p.csv", "id,status,lon,lat\nB,operating,nan,30.0\n");
    expect_rejected(o, "row 1: coordinate lon 'nan' is not a number");
}

TEST_F(ErrorFixture, CoordinatesOutsideTheWorkingCrsArea) {
    testing::write_file(dir / "p.csv", "id,status,lon,lat\nB,operating,113.26,23.13\n");
    auto o = csv("p.csv");
    o.src_crs = "EPSG:4326";
    // 6.74° west of the central meridian at 23°N: k − 1 ≈ (Δλ cos φ)² / 2 = 0.59 %.
    expect_rejected(o, "row 1: coordinates (113.260000, 23.130000) lie where the working CRS "
                       "EPSG:4549 CGCS2000 / 3-degree Gauss-Kruger CM 120E has a scale error of "
                       "0.591 %, above the 0.1 % that planar metrics allow");
}

TEST_F(ErrorFixture, SourceWithoutCrsIsAnErrorNotAGuess) {
    testing::write_vector(dir / "noprj.shp", "ESRI Shapefile", "noprj", 0, {"id", "status"},
                          {{"POINT (500100 3320100)", {{"id", "B"}, {"status", "operating"}}}});
    ImportOptions o;
    o.kind = "sewage_plant";
    o.source = dir / "noprj.shp";
    expect_rejected(
        o, "the source has no coordinate system (no .prj or CRS); say which it is with --src-crs");
}

TEST_F(ErrorFixture, EmptyGeometryIsRejectedWithItsRow) {
    testing::write_vector(dir / "v2.geojson", "GeoJSON", "v2", 4326, {"code"},
                          {{"POLYGON ((120.87 30.02, 120.88 30.02, 120.88 30.03, 120.87 30.02))",
                            {{"code", "330604101202"}}},
                           {"POLYGON EMPTY", {{"code", "330604101203"}}}});
    ImportOptions o;
    o.kind = "village";
    o.source = dir / "v2.geojson";
    expect_rejected(o, "row 2: ");
}

TEST_F(ErrorFixture, FeatureWithoutGeometryIsRejectedWithItsRow) {
    testing::write_file(dir / "v2.geojson", R"({"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"code":"330604101202"},"geometry":{"type":"Point","coordinates":[120.87,30.02]}},
{"type":"Feature","properties":{"code":"330604101203"},"geometry":null}]})");
    ImportOptions o;
    o.kind = "courier_station";
    o.source = dir / "v2.geojson";
    o.defaults = {{"status", "operating"}};
    expect_rejected(o, "row 2: the feature has no geometry");
}

TEST_F(ErrorFixture, SelfIntersectingVillageIsRepairedAndReported) {
    testing::write_vector(dir / "bow.geojson", "GeoJSON", "bow", 4549, {"code"},
                          {{"POLYGON ((502000 3320000, 503000 3321000, 503000 3320000, 502000 "
                            "3321000, 502000 3320000))",
                            {{"code", "330604101209"}}}});
    ImportOptions o;
    o.kind = "village";
    o.source = dir / "bow.geojson";
    o.src_crs = "EPSG:4549";
    auto report = importers::import_file(reg, o);
    EXPECT_EQ(report.record.repaired, 1);
    ASSERT_EQ(report.issues.size(), 1u);
    EXPECT_EQ(report.issues[0].row, 1);
    EXPECT_NE(report.issues[0].message.find("Self-intersection"), std::string::npos)
        << report.issues[0].message;
    ListFilter f;
    f.village_code = "330604101209";
    f.with_wkt = true;
    auto rows = reg.list("village", f);
    ASSERT_EQ(rows.rows.size(), 1u);
    // The bow-tie becomes its two triangles.
    EXPECT_TRUE(testing::geometry_near(
        std::get<std::string>(rows.rows[0].back()),
        "MULTIPOLYGON (((502000 3320000, 502500 3320500, 502000 3321000, 502000 3320000)),"
        " ((503000 3320000, 502500 3320500, 503000 3321000, 503000 3320000)))",
        testing::kTolM));
    o.policy = importers::GeometryPolicy::reject;
    o.replace = true;
    before = reg.content_checksum();
    expect_rejected(o, "row 1: Self-intersection");
}

TEST_F(ErrorFixture, FailureHalfwayLeavesEveryTableAsItWas) {
    // Many good rows, then one bad one near the end: nothing of it may remain.
    std::string text = "id,status,x,y\n";
    for (int i = 0; i < 500; ++i)
        text += fmt::format("N{},operating,{},{}\n", i, 500000 + i, 3320000 + i);
    text += "BAD,operating,500000,\n";
    testing::write_file(dir / "p.csv", text);
    expect_rejected(csv("p.csv"), "row 501: y is empty");
    EXPECT_EQ(reg.count("sewage_plant"), 1);
}

TEST_F(ErrorFixture, MissingAndUnreadableFiles) {
    expect_rejected(csv("nope.csv"), "the file does not exist");
    testing::write_file(dir / "garbage.gpkg", "this is not a GeoPackage");
    ImportOptions o = csv("garbage.gpkg");
    expect_rejected(o, "GDAL cannot read it as a vector file");
}

TEST_F(ErrorFixture, UnknownFieldMappingListsTheFields) {
    testing::write_file(dir / "p.csv", "编号,状态,x,y\nB,operating,500100,3320100\n");
    auto o = csv("p.csv");
    o.field_map = {{"id", "编码"}};
    expect_rejected(o, "--field id=编码: no field '编码'; fields are: 编号, 状态, x, y");
}

} // namespace
} // namespace qiancun
