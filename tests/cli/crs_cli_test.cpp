#include "qiancun/gcj02.hpp"
#include "qiancun/registry.hpp"

#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <cmath>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

/// SPEC §8 "Working CRS" and `export --t-srs GCJ02|BD09`, through the real `qiancun` binary.

namespace qiancun {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::run_qiancun;
using testing::TempDir;

constexpr double kDeg = 0.017453292519943295;
constexpr const char *kTmerc1205 =
    "+proj=tmerc +lat_0=0 +lon_0=120.5 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs";
/// PROJ's proj_factors differentiates numerically: a bias of about 1e-8 in the scale error.
constexpr double kScaleTol = 2e-8;

/// Scale error k − 1 of the transverse Mercator (k0 = 1, CGCS2000 ellipsoid) at (lon, lat)
/// by Snyder's series (Map Projections: A Working Manual, eq. 8-11): the independent reference.
double tm_scale_error(double lon, double lat, double lon0) {
    const double f = 1 / 298.257222101, e2 = f * (2 - f), ep2 = e2 / (1 - e2);
    const double phi = lat * kDeg;
    const double t = std::tan(phi) * std::tan(phi);
    const double c = ep2 * std::cos(phi) * std::cos(phi);
    const double a = (lon - lon0) * kDeg * std::cos(phi);
    return (1 + c) * a * a / 2 +
           (5 - 4 * t + 42 * c + 13 * c * c - 28 * ep2) * std::pow(a, 4) / 24 +
           (61 - 148 * t + 16 * t * t) * std::pow(a, 6) / 720;
}

/// The number after `prefix` in `text` (e.g. the "0.591" of "scale error of 0.591 %"); NaN
/// when absent.
double number_after(const std::string &text, const std::string &prefix) {
    const auto at = text.find(prefix);
    if (at == std::string::npos)
        return std::nan("");
    return std::stod(text.substr(at + prefix.size()));
}

/// A square village of `side` degrees with its south-west corner at (lon, lat).
testing::FixtureFeature square(const std::string &code, double lon, double lat, double side) {
    return {fmt::format("POLYGON (({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))", lon, lat,
                        lon + side, lat + side),
            {{"code", code}, {"name", "村" + code.substr(9)}}};
}

/// (x, y) of the first POINT in `text`.
std::pair<double, double> first_point(const std::string &text) {
    double x = 0, y = 0;
    const auto at = text.find("POINT");
    if (at == std::string::npos || std::sscanf(text.c_str() + at, "POINT (%lf %lf)", &x, &y) != 2)
        if (std::sscanf(text.c_str() + at, "POINT(%lf %lf)", &x, &y) != 2)
            return {std::nan(""), std::nan("")};
    return {x, y};
}

struct CrsCli : ::testing::Test {
    TempDir dir;
    std::string reg = testing::test_registry(dir.path(), "r.sqlite");
};

TEST_F(CrsCli, InitRefusesGeographicAndWebMercatorNamingTheZone) {
    for (const char *crs : {"EPSG:4490", "EPSG:4326", "EPSG:3857"}) {
        const auto r = run_qiancun({"init", reg, "--crs", crs});
        EXPECT_EQ(r.exit_code, 2) << crs << ": " << r.err;
        EXPECT_THAT(r.err, HasSubstr(std::string(crs) + " ")) << crs;
        EXPECT_THAT(r.err, HasSubstr("cannot be the working CRS")) << crs;
        EXPECT_THAT(r.err, HasSubstr("CGCS2000 3-degree Gauss-Kruger zone")) << crs;
        EXPECT_THAT(r.err, HasSubstr("e.g. EPSG:4549 for 120E")) << crs;
        EXPECT_FALSE(std::filesystem::exists(reg)) << crs;
    }
    const auto r = run_qiancun({"init", reg, "--crs", "EPSG:3857"});
    EXPECT_THAT(r.err, HasSubstr("its scale error is 13.79 % at 104.5E 28.5N"));
}

TEST_F(CrsCli, ManifestWithAGeographicCrsIsRefusedNamingTheZoneOfTheData) {
    testing::write_vector(
        dir / "v.geojson", "GeoJSON", "v", 4490, {"code", "name"},
        {square("340102001001", 116.9, 31.8, 0.02), square("340102001002", 117.0, 31.8, 0.02)});
    testing::write_file(dir / "county.toml", "[registry]\ncrs = \"EPSG:4490\"\n\n[[source]]\n"
                                             "kind = \"village\"\npath = \"v.geojson\"\n");
    ASSERT_EQ(run_qiancun({"init", reg}).exit_code, 0);
    const auto before = Registry::open(reg, true).content_checksum();
    const auto r = run_qiancun({"load", reg, (dir / "county.toml").string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr("county.toml: [registry] crs: EPSG:4490"));
    EXPECT_THAT(r.err, HasSubstr("it is geographic (degrees)"));
    EXPECT_THAT(r.err, HasSubstr("zone of the data, EPSG:4548 (CGCS2000 / 3-degree Gauss-Kruger "
                                 "CM 117E)"));
    EXPECT_EQ(Registry::open(reg, true).content_checksum(), before);
    EXPECT_FALSE(Registry::open(reg, true).working_srid());
}

// Issue 10, case 2: 3,000 villages centred at 120.9°E, some past 121.5°E (EPSG:4549's edge).
TEST_F(CrsCli, VillagesPastTheZoneEdgeLoadIntoZone40WithOneNote) {
    std::vector<testing::FixtureFeature> villages;
    int beyond = 0;
    double worst_beyond = 0;
    for (int i = 0; i < 60; ++i)
        for (int j = 0; j < 50; ++j) {
            const double lon = 120.2 + i * 0.0237, lat = 29.6 + j * 0.016;
            villages.push_back(square(fmt::format("330604{:03}{:03}", i, j), lon, lat, 0.015));
            if (lon + 0.015 > 121.5) {
                ++beyond;
                worst_beyond = std::max(worst_beyond, tm_scale_error(lon + 0.015, lat, 120.0));
            }
        }
    ASSERT_EQ(beyond, 250); // five columns of 50
    testing::write_vector(dir / "v.geojson", "GeoJSON", "v", 4490, {"code", "name"}, villages);
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);
    const auto r = run_qiancun({"import", reg, (dir / "v.geojson").string(), "--as", "village"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("new   3000"));
    EXPECT_THAT(r.err, HasSubstr("250 features lie beyond the area of use of the working CRS "
                                 "EPSG:4549 CGCS2000 / 3-degree Gauss-Kruger CM 120E "
                                 "(118.5-121.5E, "));
    EXPECT_NEAR(number_after(r.err, "with a scale error of at most ") / 100, worst_beyond, 1e-5)
        << r.err;
    // Once per import, not per row.
    EXPECT_EQ(r.err.find("lie beyond"), r.err.rfind("lie beyond")) << r.err;

    // info: the worst corner is the south-east one of the easternmost column, 121.6183E 29.6N.
    const auto info = run_qiancun({"info", reg});
    ASSERT_EQ(info.exit_code, 0) << info.err;
    EXPECT_THAT(info.out,
                HasSubstr("CRS:       EPSG:4549 CGCS2000 / 3-degree Gauss-Kruger CM 120E"));
    EXPECT_THAT(info.out, HasSubstr("over the bounding-box corners of 3000 stored geometries"));
    const double lon = 120.2 + 59 * 0.0237 + 0.015;
    EXPECT_NEAR(number_after(info.out, "worst scale error of the data ") / 100,
                tm_scale_error(lon, 29.6, 120.0), 1e-6)
        << info.out;
    EXPECT_NEAR(number_after(info.out, " % at "), lon, 1e-3) << info.out;
}

// Issue 10, case 2: a province from 118° to 123°E in one transverse Mercator of its own.
TEST_F(CrsCli, ProvinceAcrossTwoZonesLoadsIntoOneTransverseMercator) {
    std::vector<testing::FixtureFeature> villages;
    std::string plants = "id,status,lon,lat\n";
    for (int i = 0; i <= 10; ++i) {
        const double lon = 118.0 + 0.5 * i;
        villages.push_back(square(fmt::format("330604101{:03}", i), lon - 0.01, 28.0, 0.02));
        plants += fmt::format("P{},运行,{},{}\n", i, lon, 28.01);
    }
    testing::write_vector(dir / "v.geojson", "GeoJSON", "v", 4490, {"code", "name"}, villages);
    testing::write_file(dir / "p.csv", plants);
    const std::vector<std::string> import_plants{
        "import", reg, (dir / "p.csv").string(), "--as", "sewage_plant", "--src-crs", "EPSG:4490"};

    // The zone of the data's centre (EPSG:4549, CM 120E) is 0.107 % off at 123E 28N: refused,
    // with the CRS to use instead, and the registry left as it was.
    ASSERT_EQ(run_qiancun({"init", reg}).exit_code, 0);
    auto r = run_qiancun({"import", reg, (dir / "v.geojson").string(), "--as", "village"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_THAT(r.err, HasSubstr("v.geojson (layer v), row 11: coordinates (123.010000, "
                                 "28.000000) lie where the working CRS EPSG:4549"));
    EXPECT_THAT(r.err, HasSubstr("--crs '+proj=tmerc +lon_0=120.5 +k=1"));
    EXPECT_FALSE(Registry::open(reg, true).working_srid());
    testing::remove_registry(reg);

    r = run_qiancun({"init", reg, "--crs", kTmerc1205});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("working CRS custom CRS +proj=tmerc +lat_0=0 +lon_0=120.5"));
    r = run_qiancun({"import", reg, (dir / "v.geojson").string(), "--as", "village"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_qiancun(import_plants);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("lie beyond")));

    // Stored in the custom CRS: P10 (123E) where GDAL puts it.
    r = run_qiancun({"list", reg, "sewage_plant", "--format", "csv", "--wkt"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = testing::split_lines(r.out);
    ASSERT_EQ(lines.size(), 12u) << r.out;
    OGRSpatialReference from, to;
    from.importFromEPSG(4490);
    from.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    to.SetFromUserInput(kTmerc1205);
    to.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(&from, &to));
    ASSERT_TRUE(ct);
    double x = 123.0, y = 28.01;
    ASSERT_TRUE(ct->Transform(1, &x, &y));
    bool found = false;
    for (const auto &line : lines)
        if (line.rfind("P10,", 0) == 0) {
            found = true;
            const auto [sx, sy] = first_point(line);
            EXPECT_NEAR(sx, x, testing::kCoordTolM) << line;
            EXPECT_NEAR(sy, y, testing::kCoordTolM) << line;
        }
    EXPECT_TRUE(found) << r.out;

    r = run_qiancun({"info", reg});
    EXPECT_THAT(r.out, HasSubstr("CRS:       custom (+proj=tmerc +lat_0=0 +lon_0=120.5 +k=1 "
                                 "+x_0=500000 +y_0=0 +ellps=GRS80 +units=m), SRID 9"));
    // A file registers the first free custom SRID of its own; a PostgreSQL database holds one
    // spatial_ref_sys for all its schemas, where other registries may have taken the first.
    if (testing::registries_on_postgis())
        EXPECT_GE(number_after(r.out, "), SRID "), 900001) << r.out;
    else
        EXPECT_EQ(number_after(r.out, "), SRID "), 900001) << r.out;
    EXPECT_NEAR(number_after(r.out, "worst scale error of the data ") / 100,
                tm_scale_error(118.0 - 0.01, 28.0, 120.5), 1e-6)
        << r.out;

    // Downstream: metrics and their stored layer, exports with the CRS in .prj and GeoPackage.
    r = run_qiancun({"metrics", reg, "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(testing::split_lines(r.out).size(), 12u) << r.out;
    r = run_qiancun({"export", reg, "village_metrics", (dir / "m.gpkg").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_qiancun({"export", reg, "sewage_plant", (dir / "p.shp").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string prj = testing::read_file(dir / "p.prj");
    EXPECT_THAT(prj, HasSubstr("PROJECTION[\"Transverse_Mercator\"]"));
    EXPECT_THAT(prj, HasSubstr("PARAMETER[\"Central_Meridian\",120.5]"));
    for (const auto &file : {dir / "m.gpkg", dir / "p.shp"}) {
        GDALAllRegister();
        GDALDatasetUniquePtr ds(GDALDataset::Open(file.c_str(), GDAL_OF_VECTOR));
        ASSERT_TRUE(ds) << file;
        const OGRSpatialReference *srs = ds->GetLayer(0)->GetSpatialRef();
        ASSERT_TRUE(srs) << file;
        if (file.extension() == ".gpkg") {
            const char *const same[] = {"CRITERION=EQUIVALENT_EXCEPT_AXIS_ORDER_GEOGCRS",
                                        "IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES", nullptr};
            EXPECT_TRUE(srs->IsSame(&to, same)) << file;
        }
        // The .prj (ESRI WKT) renames the datum; the projection itself must be the same.
        EXPECT_STREQ(srs->GetAttrValue("PROJECTION"), SRS_PT_TRANSVERSE_MERCATOR) << file;
        EXPECT_DOUBLE_EQ(srs->GetNormProjParm(SRS_PP_CENTRAL_MERIDIAN), 120.5) << file;
        EXPECT_DOUBLE_EQ(srs->GetNormProjParm(SRS_PP_LATITUDE_OF_ORIGIN), 0.0) << file;
        EXPECT_DOUBLE_EQ(srs->GetNormProjParm(SRS_PP_SCALE_FACTOR), 1.0) << file;
        EXPECT_DOUBLE_EQ(srs->GetNormProjParm(SRS_PP_FALSE_EASTING), 500000.0) << file;
        EXPECT_DOUBLE_EQ(srs->GetNormProjParm(SRS_PP_FALSE_NORTHING), 0.0) << file;
        EXPECT_DOUBLE_EQ(srs->GetSemiMajor(), 6378137.0) << file;
        EXPECT_NEAR(srs->GetInvFlattening(), 298.257222101, 1e-9) << file;
        EXPECT_DOUBLE_EQ(srs->GetLinearUnits(), 1.0) << file;
    }
    // GeoJSON can name a CRS only by a code: refused rather than read as degrees.
    r = run_qiancun({"export", reg, "sewage_plant", (dir / "p.geojson").string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr("GeoJSON can name a CRS only by its EPSG code"));
    r = run_qiancun(
        {"export", reg, "sewage_plant", (dir / "p.geojson").string(), "--t-srs", "EPSG:4490"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Issue 10, case 2: data at 126°E are 0.41 % off in EPSG:4549.
TEST_F(CrsCli, DataFarBeyondTheBoundAreRefusedWithRowPositionAndScaleError) {
    testing::write_file(dir / "p.csv", "id,status,lon,lat\nA,运行,120.9,30.0\nB,运行,126.0,30.0\n");
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);
    const auto before = Registry::open(reg, true).content_checksum();
    const auto r = run_qiancun({"import", reg, (dir / "p.csv").string(), "--as", "sewage_plant",
                                "--src-crs", "EPSG:4490"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_THAT(r.err, HasSubstr("p.csv (layer p), row 2: coordinates (126.000000, 30.000000) lie "
                                 "where the working CRS EPSG:4549 CGCS2000 / 3-degree "
                                 "Gauss-Kruger CM 120E has a scale error of "));
    EXPECT_NEAR(number_after(r.err, "has a scale error of ") / 100,
                tm_scale_error(126.0, 30.0, 120.0), 1e-5)
        << r.err;
    EXPECT_EQ(Registry::open(reg, true).content_checksum(), before);
}

// Issue 10, case 9: export for web maps.
TEST_F(CrsCli, ExportToGcj02AndBd09AppliesTheForwardOffsetAndImportsBack) {
    constexpr double kX = 583927.85, kY = 3322649.26; // Shangyu, EPSG:4549
    testing::write_vector(
        dir / "p.geojson", "GeoJSON", "p", 4549, {"id", "status"},
        {{fmt::format("POINT ({} {})", kX, kY), {{"id", "WS1"}, {"status", "operating"}}}});
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);
    ASSERT_EQ(run_qiancun({"import", reg, (dir / "p.geojson").string(), "--as", "sewage_plant"})
                  .exit_code,
              0);
    const auto [lon, lat] = testing::ogr_transform(4549, 4326, kX, kY);
    const auto gcj = gcj02::wgs84_to_gcj02({lon, lat});
    const auto bd = gcj02::gcj02_to_bd09(gcj);

    for (const auto &[target, expected, maps] :
         {std::tuple{"GCJ02", gcj, "GCJ-02 offset of Amap/Tencent"},
          std::tuple{"BD09", bd, "BD-09 offset of Baidu"}}) {
        const auto out = dir / fmt::format("web_{}.geojson", target);
        const auto r =
            run_qiancun({"export", reg, "sewage_plant", out.string(), "--t-srs", target});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_THAT(r.out, HasSubstr(fmt::format("note: the coordinates carry the {}", maps)));
        const auto rows = testing::read_vector(out);
        ASSERT_EQ(rows.size(), 1u);
        const auto [x, y] = first_point(rows[0].at("WKT"));
        EXPECT_NEAR(x, expected.lon, 1e-9) << target;
        EXPECT_NEAR(y, expected.lat, 1e-9) << target;
        // The offset is real: tens to hundreds of metres from WGS84.
        EXPECT_GT(std::hypot(x - lon, y - lat), 1e-4) << target;
        EXPECT_THAT(testing::read_file(out), HasSubstr("urn:ogc:def:crs:OGC:1.3:CRS84"));

        // Back with --src-crs: the original position within 0.5 m.
        const std::string back =
            testing::test_registry(dir.path(), fmt::format("back_{}.sqlite", target));
        ASSERT_EQ(run_qiancun({"init", back, "--crs", "EPSG:4549"}).exit_code, 0);
        auto imp = run_qiancun(
            {"import", back, out.string(), "--as", "sewage_plant", "--src-crs", target});
        ASSERT_EQ(imp.exit_code, 0) << imp.err;
        imp = run_qiancun({"list", back, "sewage_plant", "--format", "csv", "--wkt"});
        const auto [bx, by] = first_point(imp.out);
        EXPECT_LT(std::hypot(bx - kX, by - kY), 0.5) << target << " " << imp.out;
    }

    // A shapefile for a web map: .prj of EPSG:4326.
    const auto r = run_qiancun(
        {"export", reg, "sewage_plant", (dir / "web.shp").string(), "--t-srs", "gcj02"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(testing::read_file(dir / "web.prj"), HasSubstr("GEOGCS[\"GCS_WGS_1984\""));
}

} // namespace
} // namespace qiancun
