#include "qiancun/error.hpp"
#include "qiancun/importer.hpp"
#include "qiancun/inspect.hpp"

#include "testing/testing.hpp"
#include "testing/zip_writer.hpp"

#include <fmt/format.h>

#include <gdal_priv.h>
#include <nlohmann/json.hpp>
#include <ogrsf_frmts.h>
#include <set>
#include <tuple>

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using importers::InspectOptions;
using importers::LayerInspection;

/// Degrees: the lon/lat extent against the transformed corners of the source extent.
constexpr double kExtentTolDeg = 0.01;

importers::Inspection inspect(const fs::path &source, const std::string &kind = "",
                              const std::string &layer = "") {
    InspectOptions o;
    o.source = source;
    o.kind = kind;
    o.layer = layer;
    auto kinds = builtin_kinds();
    return importers::inspect(o, kinds);
}

/// The layer's extent as GDAL's OGRLayer::GetExtent gives it, in the source's own CRS.
std::array<double, 4> gdal_extent(const fs::path &file, const std::string &layer) {
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GDALDataset::Open(file.c_str(), GDAL_OF_VECTOR));
    auto *l = layer.empty() ? ds->GetLayer(0) : ds->GetLayerByName(layer.c_str());
    OGREnvelope e;
    EXPECT_EQ(l->GetExtent(&e, TRUE), OGRERR_NONE);
    return {e.MinX, e.MinY, e.MaxX, e.MaxY};
}

struct SampleFacts {
    const char *file;
    const char *count_key; ///< counts.json key
    const char *driver;
    const char *geometry;
    const char *crs; ///< "" = none
    int epsg;        ///< of the CRS, for the extent check; 0 = none
    const char *encoding;
    bool declared;
};

TEST(Inspect, KeyFactsOfEverySampleFile) {
    const auto counts =
        nlohmann::json::parse(testing::read_file(testing::sample_maps_dir() / "counts.json"));
    const SampleFacts facts[] = {
        {"villages.shp", "village", "ESRI Shapefile", "Polygon", "EPSG:4549", 4549, "GBK", false},
        {"settlements.shp", "settlement", "ESRI Shapefile", "Point", "EPSG:4549", 4549, "UTF-8",
         true},
        {"urban.geojson", "urban", "GeoJSON", "Polygon", "EPSG:4326", 4326, "UTF-8", true},
        {"hazard_zones.geojson", "hazard", "GeoJSON", "Polygon", "EPSG:4326", 4326, "UTF-8", true},
        {"sewage_plants.csv", "sewage_plant", "CSV", "None", "", 0, "UTF-8", true},
        {"roads.gpkg", "rural_road", "GPKG", "Line String", "EPSG:4490", 4490, "UTF-8", true},
        {"base_stations_5g.xlsx", "base_station_5g", "XLSX", "None", "", 0, "UTF-8", true},
        {"cultural_halls.geojson", "cultural_hall", "GeoJSON", "Unknown (any)", "EPSG:4326", 4326,
         "UTF-8", true},
        {"courier_stations.kml", "courier_station", "LIBKML", "Unknown (any)", "EPSG:4326", 4326,
         "UTF-8", true},
        {"clinics.geojson", "clinic", "GeoJSON", "Point", "EPSG:4326", 4326, "UTF-8", true},
    };
    for (const auto &f : facts) {
        SCOPED_TRACE(f.file);
        const auto path = testing::sample_maps_dir() / f.file;
        const auto in = inspect(path);
        ASSERT_EQ(in.layers.size(), 1u);
        const auto &l = in.layers[0];
        EXPECT_EQ(l.file, path.string());
        EXPECT_EQ(l.driver, f.driver);
        EXPECT_EQ(l.geometry_type, f.geometry);
        EXPECT_EQ(l.feature_count, counts.at(f.count_key).get<std::int64_t>());
        EXPECT_EQ(l.crs, f.crs);
        EXPECT_EQ(l.encoding, f.encoding);
        EXPECT_EQ(l.encoding_declared, f.declared);
        ASSERT_TRUE(l.extent_raw);
        if (f.epsg != 0) {
            const auto e = gdal_extent(path, "");
            for (int i = 0; i < 4; ++i)
                EXPECT_NEAR((*l.extent_raw)[i], e[i], 1e-9) << i;
            ASSERT_TRUE(l.extent_lonlat);
            const auto [w, s] = testing::ogr_transform(f.epsg, 4490, e[0], e[1]);
            const auto [east, n] = testing::ogr_transform(f.epsg, 4490, e[2], e[3]);
            EXPECT_NEAR((*l.extent_lonlat)[0], w, kExtentTolDeg);
            EXPECT_NEAR((*l.extent_lonlat)[1], s, kExtentTolDeg);
            EXPECT_NEAR((*l.extent_lonlat)[2], east, kExtentTolDeg);
            EXPECT_NEAR((*l.extent_lonlat)[3], n, kExtentTolDeg);
        } else {
            EXPECT_FALSE(l.extent_lonlat);
            EXPECT_EQ(l.x_field, "lon");
            EXPECT_EQ(l.y_field, "lat");
            ASSERT_EQ(l.hints.size(), 1u);
            EXPECT_THAT(l.hints[0], ::testing::StartsWith("no CRS, and the points lie in China"));
        }
        // The county lies around 120.87°E, 30.02°N.
        const auto ll = l.extent_lonlat ? *l.extent_lonlat : *l.extent_raw;
        EXPECT_GT(ll[0], 120.5);
        EXPECT_LT(ll[2], 121.3);
        EXPECT_GT(ll[1], 29.7);
        EXPECT_LT(ll[3], 30.4);
    }
}

TEST(Inspect, GbkShapefileShowsNamesBothWays) {
    const auto in = inspect(testing::sample_maps_dir() / "villages.shp");
    const auto &l = in.layers.at(0);
    std::vector<std::string> names;
    for (const auto &f : l.fields)
        names.push_back(f.name);
    EXPECT_EQ(names, (std::vector<std::string>{"代码", "村名", "乡镇", "人口", "户数", "村庄分类",
                                               "历史村落", "和美年份", "村委X", "村委Y", "未来乡村",
                                               "电气化村", "景区村", "电商专业村", "集体收入",
                                               "经营收入"}));
    // GBK 代码 = B4 FA C2 EB, read as Latin-1 characters.
    EXPECT_EQ(l.fields[0].name_as_read, "\xC2\xB4\xC3\xBA\xC3\x82\xC3\xAB");
    EXPECT_EQ(l.fields[0].samples,
              (std::vector<std::string>{"330604101201", "330604101202", "330604101203"}));
}

/// The manifest's fields of the source of `kind`, as "attribute=field".
std::set<std::string> manifest_fields(const std::string &kind) {
    const auto m = importers::read_manifest(testing::sample_maps_dir() / "county.toml");
    std::set<std::string> out;
    for (const auto &s : m.sources)
        if (s.kind == kind)
            for (const auto &[a, f] : s.field_map)
                out.insert(a + "=" + f);
    return out;
}

TEST(Inspect, MappingAgreesWithTheSampleManifest) {
    // The sample manifest maps every field by hand; what inspect finds by name and label is
    // part of it, and the rest is reported missing (the manifest maps those from other names).
    const std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> cases{
        {"villages.shp", "village", {"code", "heritage", "hemei_year", "seat_x", "seat_y"}},
        {"sewage_plants.csv", "sewage_plant", {"service_radius_m", "capacity_m3d"}},
        {"roads.gpkg", "rural_road", {"service_radius_m"}},
        {"settlements.shp", "settlement", {}}};
    for (const auto &[file, kind, missing] : cases) {
        SCOPED_TRACE(file);
        const auto in = inspect(testing::sample_maps_dir() / file, kind);
        const auto &m = *in.layers.at(0).mapping;
        const auto manifest = manifest_fields(kind);
        for (const auto &a : m.attributes) {
            if (!a.field.empty()) {
                EXPECT_TRUE(manifest.count(a.attribute + "=" + a.field)) << a.attribute;
            }
        }
        EXPECT_EQ(m.missing, missing);
    }
}

TEST(Inspect, ZipWithTwoFilesInspectsBoth) {
    testing::TempDir dir;
    auto entries = testing::entries_of(testing::sample_maps_dir(), "settlements", "a");
    for (auto &e : testing::entries_of(testing::sample_maps_dir(), "villages", "b"))
        entries.push_back(e);
    testing::write_zip(dir / "d.zip", entries);
    auto in = inspect(dir / "d.zip");
    EXPECT_EQ(in.archive_files, (std::vector<std::string>{"a/settlements.shp", "b/villages.shp"}));
    ASSERT_EQ(in.layers.size(), 2u);
    EXPECT_EQ(in.layers[0].file, (dir / "d.zip/a/settlements.shp").string());
    EXPECT_EQ(in.layers[0].feature_count, 1803);
    EXPECT_EQ(in.layers[1].file, (dir / "d.zip/b/villages.shp").string());
    EXPECT_EQ(in.layers[1].encoding, "GBK");
    in = inspect(dir / "d.zip", "village", "villages");
    ASSERT_EQ(in.layers.size(), 1u);
    EXPECT_EQ(in.layers[0].mapping->options.at(1), "--layer villages");
}

TEST(Inspect, HintsAtSwappedAndWebMapCoordinates) {
    testing::TempDir dir;
    testing::write_file(dir / "高德坐标.csv", "id,lon,lat\nA,120.871234,30.023456\n");
    auto l = inspect(dir / "高德坐标.csv").layers.at(0);
    ASSERT_EQ(l.hints.size(), 1u);
    EXPECT_THAT(l.hints[0], ::testing::StartsWith("the file or field names mention '高德': the "
                                                  "lon/lat may be GCJ-02 web-map coordinates"));
    testing::write_file(dir / "p.csv", "id,lng,lat,百度经度\nA,30.023456,120.871234,1\n");
    l = inspect(dir / "p.csv").layers.at(0);
    ASSERT_EQ(l.hints.size(), 1u);
    EXPECT_EQ(l.hints[0], "longitude and latitude look swapped: x runs 30.0235–30.0235, a "
                          "latitude of China, and y 120.8712–120.8712, a longitude (pass --x "
                          "lat --y lng)");
    testing::write_file(dir / "m.csv", "id,x,y\nA,500100,3320100\n");
    l = inspect(dir / "m.csv").layers.at(0);
    ASSERT_EQ(l.hints.size(), 1u);
    EXPECT_THAT(l.hints[0], ::testing::StartsWith("no CRS, and the coordinates are not degrees"));
}

TEST(Inspect, UnknownKindAndMissingFileAreErrors) {
    EXPECT_THROW(inspect(testing::sample_maps_dir() / "villages.shp", "pond"), UsageError);
    EXPECT_THROW(inspect(testing::sample_maps_dir() / "nope.shp"), InputError);
}

} // namespace
} // namespace qiancun
