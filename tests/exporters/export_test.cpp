#include "qiancun/error.hpp"
#include "qiancun/exporter.hpp"
#include "testing/testing.hpp"

#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
using qiancun::exporters::export_layer;
using qiancun::exporters::ExportOptions;
using qiancun::exporters::ExportResult;
using qiancun::testing::FixtureFeature;
using qiancun::testing::geometry_near;
using qiancun::testing::kCoordTolM;
using qiancun::testing::read_file;
using qiancun::testing::read_vector;
using qiancun::testing::TempDir;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

/// Degrees: 1e-7° is about 1 cm on the ground.
constexpr double kTolDeg = 1e-7;
constexpr int kWorkingEpsg = 4549; // CGCS2000 / 3-degree Gauss-Kruger CM 120E

struct FixtureField {
    std::string name;
    OGRFieldType type = OFTString;
};

struct FixtureLayer {
    std::string name;
    OGRwkbGeometryType type = wkbUnknown;
    std::vector<FixtureField> fields;
    std::vector<FixtureFeature> features;
};

/// Writes a SpatiaLite database shaped like a registry: one table per layer with `fid`, typed
/// columns and a `geom` column registered with SRID 4549 and a spatial index. The testing
/// helper write_vector cannot pass the SPATIALITE=YES dataset option, hence this one.
void write_registry(const fs::path &path, const std::vector<FixtureLayer> &layers) {
    GDALAllRegister();
    GDALDriver *driver = GetGDALDriverManager()->GetDriverByName("SQLite");
    ASSERT_NE(driver, nullptr);
    const char *dsco[] = {"SPATIALITE=YES", nullptr};
    GDALDatasetUniquePtr ds(
        driver->Create(path.c_str(), 0, 0, 0, GDT_Unknown, const_cast<char **>(dsco)));
    ASSERT_TRUE(ds);
    OGRSpatialReference srs;
    srs.importFromEPSG(kWorkingEpsg);
    srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    for (const auto &spec : layers) {
        const char *lco[] = {"GEOMETRY_NAME=geom", "FID=fid", "SPATIAL_INDEX=YES", nullptr};
        OGRLayer *layer =
            ds->CreateLayer(spec.name.c_str(), &srs, spec.type, const_cast<char **>(lco));
        ASSERT_NE(layer, nullptr);
        for (const auto &f : spec.fields) {
            OGRFieldDefn fd(f.name.c_str(), f.type);
            ASSERT_EQ(layer->CreateField(&fd), OGRERR_NONE);
        }
        for (const auto &f : spec.features) {
            OGRFeatureUniquePtr feat(OGRFeature::CreateFeature(layer->GetLayerDefn()));
            for (const auto &[k, v] : f.fields)
                if (!v.empty())
                    feat->SetField(k.c_str(), v.c_str());
            OGRGeometry *g = nullptr;
            ASSERT_EQ(OGRGeometryFactory::createFromWkt(f.wkt.c_str(), &srs, &g), OGRERR_NONE)
                << f.wkt;
            feat->SetGeometryDirectly(g);
            ASSERT_EQ(layer->CreateFeature(feat.get()), OGRERR_NONE);
        }
    }
}

const std::vector<FixtureField> kBookkeeping{{"village_code", OFTString},
                                             {"source_file", OFTString},
                                             {"source_row", OFTInteger64},
                                             {"updated_at", OFTString}};

std::vector<FixtureField> with_bookkeeping(std::vector<FixtureField> fields) {
    fields.insert(fields.end(), kBookkeeping.begin(), kBookkeeping.end());
    return fields;
}

FixtureLayer village_layer() {
    return {"village",
            wkbMultiPolygon,
            with_bookkeeping({{"code", OFTString},
                              {"name", OFTString},
                              {"township", OFTString},
                              {"population", OFTInteger64},
                              {"households", OFTInteger64},
                              {"hemei_year", OFTInteger64},
                              {"area_cov_sewage_plant", OFTReal}}),
            {
                {"MULTIPOLYGON(((500000 3300000,501000 3300000,501000 3301000,500000 3301000,"
                 "500000 3300000)))",
                 {{"code", "330100000001"},
                  {"name", "东山村"},
                  {"township", "前村镇"},
                  {"population", "1520"},
                  {"households", "480"},
                  {"hemei_year", "2023"},
                  {"area_cov_sewage_plant", "0.75"},
                  {"source_file", "村界.shp"},
                  {"source_row", "1"},
                  {"updated_at", "2024-05-01T08:30:00Z"}}},
                {"MULTIPOLYGON(((501000 3300000,502000 3300000,502000 3301000,501000 3301000,"
                 "501000 3300000)))",
                 {{"code", "330100000002"},
                  {"name", "下管村"},
                  {"township", "前村镇"},
                  {"population", "860"},
                  {"households", "301"},
                  {"area_cov_sewage_plant", "0.5"},
                  {"source_file", "村界.shp"},
                  {"source_row", "2"},
                  {"updated_at", "2024-05-01T08:30:00Z"}}},
                {"MULTIPOLYGON(((502000 3300000,503000 3300000,503000 3301000,502000 3301000,"
                 "502000 3300000)))",
                 {{"code", "330100000003"},
                  {"name", "西岭村"},
                  {"township", "下管镇"},
                  {"population", "240"},
                  {"source_file", "村界.shp"},
                  {"source_row", "3"}}},
            }};
}

/// Three point halls and two footprints: the layer a Shapefile cannot hold in one file.
FixtureLayer hall_layer() {
    auto hall = [](std::string wkt, std::string id, std::string name, std::string radius,
                   std::string village) {
        return FixtureFeature{std::move(wkt),
                              {{"id", std::move(id)},
                               {"name", std::move(name)},
                               {"status", "operating"},
                               {"stars", "4"},
                               {"service_radius_m", std::move(radius)},
                               {"village_code", std::move(village)},
                               {"source_file", "礼堂.xlsx"},
                               {"source_row", "1"},
                               {"updated_at", "2024-05-02T09:00:00Z"}}};
    };
    return {
        "cultural_hall",
        wkbUnknown,
        with_bookkeeping({{"id", OFTString},
                          {"name", OFTString},
                          {"status", OFTString},
                          {"stars", OFTInteger64},
                          {"service_radius_m", OFTReal}}),
        {
            hall("POINT(500100.123 3300200.456)", "H1", "东山村文化礼堂", "800.5", "330100000001"),
            hall("POINT(501500 3300500)", "H2", "下管村文化礼堂", "", "330100000002"),
            hall("POINT(502500 3300500)", "H3", "西岭村文化礼堂", "", "330100000003"),
            hall("MULTIPOLYGON(((500200 3300200,500260 3300200,500260 3300240,500200 "
                 "3300240,500200 3300200)))",
                 "H4", "东山村礼堂新馆", "1200", "330100000001"),
            hall("MULTIPOLYGON(((501200 3300600,501250 3300600,501250 3300650,501200 "
                 "3300650,501200 3300600)))",
                 "H5", "下管村礼堂", "", "330100000002"),
        }};
}

/// A registry file in a temporary directory, with exports written beside it.
class ExportTest : public ::testing::Test {
protected:
    void SetUp() override {
        m_registry = m_dir / "registry.sqlite";
        write_registry(m_registry, {village_layer(), hall_layer()});
    }

    ExportResult run(const std::string &layer, const std::string &output,
                     std::optional<std::string> t_srs = std::nullopt,
                     std::optional<std::string> where = std::nullopt) {
        return export_layer(m_registry, ExportOptions{.layer = layer,
                                                      .output = m_dir / output,
                                                      .t_srs = std::move(t_srs),
                                                      .where = std::move(where)});
    }

    /// The message of the UsageError `f` throws, or a test failure.
    template <typename F> std::string usage_error(F f) {
        try {
            f();
        } catch (const qiancun::UsageError &e) {
            return e.what();
        }
        ADD_FAILURE() << "no UsageError";
        return {};
    }

    fs::path path(const std::string &name) const { return m_dir / name; }

    TempDir m_dir;
    fs::path m_registry;
};

std::vector<std::string> field_names_of(const fs::path &path) {
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR));
    if (!ds)
        throw std::runtime_error("cannot open " + path.string());
    std::vector<std::string> names;
    const OGRFeatureDefn *defn = ds->GetLayer(0)->GetLayerDefn();
    for (int i = 0; i < defn->GetFieldCount(); ++i)
        names.emplace_back(defn->GetFieldDefn(i)->GetNameRef());
    return names;
}

std::vector<std::string> column(const std::vector<std::map<std::string, std::string>> &rows,
                                const std::string &name) {
    std::vector<std::string> out;
    for (const auto &r : rows)
        out.push_back(r.at(name));
    return out;
}

const std::map<std::string, std::string> &
row_where(const std::vector<std::map<std::string, std::string>> &rows, const std::string &field,
          const std::string &value) {
    auto it = std::find_if(rows.begin(), rows.end(),
                           [&](const auto &r) { return r.count(field) && r.at(field) == value; });
    if (it == rows.end())
        throw std::runtime_error("no row with " + field + " = " + value);
    return *it;
}

/// The (x, y) of a POINT WKT.
std::pair<double, double> point_xy(const std::string &wkt) {
    OGRGeometry *g = nullptr;
    OGRGeometryFactory::createFromWkt(wkt.c_str(), nullptr, &g);
    std::unique_ptr<OGRGeometry> owned(g);
    if (!g || wkbFlatten(g->getGeometryType()) != wkbPoint)
        throw std::runtime_error("not a point: " + wkt);
    return {g->toPoint()->getX(), g->toPoint()->getY()};
}

TEST_F(ExportTest, ShapefileHasPrjNamingTheCrsAndCpgSayingUtf8) {
    const auto result = run("village", "villages.shp");
    EXPECT_EQ(result.driver, "ESRI Shapefile");
    EXPECT_EQ(result.features, 3);
    EXPECT_THAT(result.files,
                ElementsAre(path("villages.shp"), path("villages.shx"), path("villages.dbf"),
                            path("villages.prj"), path("villages.cpg"), path("villages.fields.csv"),
                            path("villages.qml")));
    for (const auto &f : result.files)
        EXPECT_TRUE(fs::exists(f)) << f;
    EXPECT_THAT(read_file(path("villages.prj")),
                AllOf(HasSubstr("CGCS2000"), HasSubstr("120E"), HasSubstr("Gauss_Kruger")));
    EXPECT_EQ(read_file(path("villages.cpg")), "UTF-8");
}

TEST_F(ExportTest, ShapefileReadsBackTheSameChineseStrings) {
    run("village", "villages.shp");
    const auto rows = read_vector(path("villages.shp"));
    EXPECT_THAT(column(rows, "name"), ElementsAre("东山村", "下管村", "西岭村"));
    EXPECT_THAT(column(rows, "township"), ElementsAre("前村镇", "前村镇", "下管镇"));
    EXPECT_EQ(row_where(rows, "code", "330100000002").at("src_file"), "村界.shp");
}

TEST_F(ExportTest, ShapefileFieldNamesFollowTheDbfRule) {
    const auto result = run("village", "villages.shp");
    EXPECT_THAT(field_names_of(path("villages.shp")),
                ElementsAre("code", "name", "township", "population", "households", "hemei_year",
                            "acov_sew", "vill_code", "src_file", "source_row", "updated_at"));
    run("cultural_hall", "halls.shp");
    EXPECT_THAT(field_names_of(path("halls_point.shp")),
                ElementsAre("id", "name", "status", "stars", "svc_rad_m", "vill_code", "src_file",
                            "source_row", "updated_at"));
    EXPECT_THAT(result.field_names,
                Contains(std::pair<std::string, std::string>("area_cov_sewage_plant", "acov_sew")));
}

TEST_F(ExportTest, ShapefileSidecarListsEveryField) {
    run("cultural_hall", "halls.shp");
    EXPECT_EQ(read_file(path("halls.fields.csv")), "field,dbf_field\n"
                                                   "id,id\n"
                                                   "name,name\n"
                                                   "status,status\n"
                                                   "stars,stars\n"
                                                   "service_radius_m,svc_rad_m\n"
                                                   "village_code,vill_code\n"
                                                   "source_file,src_file\n"
                                                   "source_row,source_row\n"
                                                   "updated_at,updated_at\n");
}

TEST_F(ExportTest, ShapefileKeepsValues) {
    run("cultural_hall", "halls.shp");
    const auto rows = read_vector(path("halls_point.shp"));
    const auto &h1 = row_where(rows, "id", "H1");
    EXPECT_EQ(h1.at("name"), "东山村文化礼堂");
    EXPECT_DOUBLE_EQ(std::stod(h1.at("svc_rad_m")), 800.5);
    EXPECT_EQ(h1.at("vill_code"), "330100000001");
    EXPECT_EQ(h1.at("updated_at"), "2024-05-02T09:00:00Z");
    EXPECT_EQ(row_where(rows, "id", "H2").at("svc_rad_m"), "");
    EXPECT_TRUE(geometry_near(h1.at("WKT"), "POINT (500100.123 3300200.456)", kCoordTolM));
}

TEST_F(ExportTest, MixedLayerIsSplitIntoPointAndPolygonShapefiles) {
    const auto result = run("cultural_hall", "halls.shp");
    EXPECT_EQ(result.features, 5);
    ASSERT_EQ(result.outputs.size(), 2u);
    EXPECT_EQ(result.outputs[0].path, path("halls_point.shp"));
    EXPECT_EQ(result.outputs[0].features, 3);
    EXPECT_EQ(result.outputs[1].path, path("halls_polygon.shp"));
    EXPECT_EQ(result.outputs[1].features, 2);
    EXPECT_THAT(result.outputs[1].sidecars,
                ElementsAre(path("halls_polygon.shx"), path("halls_polygon.dbf"),
                            path("halls_polygon.prj"), path("halls_polygon.cpg"),
                            path("halls.fields.csv"), path("halls_polygon.qml")));
    EXPECT_FALSE(fs::exists(path("halls.shp")));
    EXPECT_EQ(result.files.size(), 13u);
    for (const auto &f : result.files)
        EXPECT_TRUE(fs::exists(f)) << f;

    const auto points = read_vector(path("halls_point.shp"));
    EXPECT_THAT(column(points, "id"), ElementsAre("H1", "H2", "H3"));
    const auto polygons = read_vector(path("halls_polygon.shp"));
    EXPECT_THAT(column(polygons, "id"), ElementsAre("H4", "H5"));
    EXPECT_THAT(column(polygons, "name"), ElementsAre("东山村礼堂新馆", "下管村礼堂"));
    EXPECT_TRUE(geometry_near(row_where(polygons, "id", "H5").at("WKT"),
                              "POLYGON((501200 3300600,501250 3300600,501250 3300650,501200 "
                              "3300650,501200 3300600))",
                              kCoordTolM));
}

TEST_F(ExportTest, ShapefilesItDidNotWriteSurviveAnExport) {
    // Someone's own layers that happen to be named like the parts of a split export.
    qiancun::testing::write_vector(path("halls_point.shp"), "ESRI Shapefile", "halls_point", 4549,
                                   {"note"}, {{"POINT (500000 3300000)", {{"note", "mine"}}}});
    qiancun::testing::write_vector(
        path("halls_line.shp"), "ESRI Shapefile", "halls_line", 4549, {"note"},
        {{"LINESTRING (500000 3300000, 500100 3300000)", {{"note", "mine"}}}});
    const auto single = run("cultural_hall", "halls.shp", std::nullopt, "id IN ('H4', 'H5')");
    ASSERT_EQ(single.outputs.size(), 1u);
    ASSERT_EQ(read_vector(path("halls_line.shp")).size(), 1u);
    EXPECT_EQ(read_vector(path("halls_line.shp"))[0].at("note"), "mine");
    ASSERT_EQ(read_vector(path("halls_point.shp")).size(), 1u);
    EXPECT_EQ(read_vector(path("halls_point.shp"))[0].at("note"), "mine");

    // A split export replaces the part it writes, and its own parts go when it is redone.
    run("cultural_hall", "halls.shp");
    EXPECT_EQ(read_vector(path("halls_point.shp")).size(), 3u);
    run("cultural_hall", "halls.shp", std::nullopt, "id = 'H1'");
    EXPECT_FALSE(fs::exists(path("halls_point.shp")));
    EXPECT_FALSE(fs::exists(path("halls_polygon.shp")));
    EXPECT_EQ(read_vector(path("halls_line.shp"))[0].at("note"), "mine");
}

TEST_F(ExportTest, SingleFamilySelectionOfAMixedLayerIsOneShapefile) {
    const auto result = run("cultural_hall", "halls.shp", std::nullopt, "id IN ('H4', 'H5')");
    ASSERT_EQ(result.outputs.size(), 1u);
    EXPECT_EQ(result.outputs[0].path, path("halls.shp"));
    EXPECT_EQ(result.outputs[0].features, 2);
    EXPECT_THAT(column(read_vector(path("halls.shp")), "id"), ElementsAre("H4", "H5"));
}

TEST_F(ExportTest, OverwritesAnEarlierExportWithItsSidecars) {
    run("cultural_hall", "halls.shp");
    ASSERT_TRUE(fs::exists(path("halls_polygon.shp")));
    const auto result = run("cultural_hall", "halls.shp", std::nullopt, "id = 'H1'");
    EXPECT_EQ(result.features, 1);
    EXPECT_EQ(read_vector(path("halls.shp")).size(), 1u);
    // The split set of the first export would otherwise sit beside the new one.
    EXPECT_FALSE(fs::exists(path("halls_point.shp")));
    EXPECT_FALSE(fs::exists(path("halls_polygon.dbf")));

    run("village", "v.gpkg");
    EXPECT_EQ(run("village", "v.gpkg", std::nullopt, "code = '330100000003'").features, 1);
    EXPECT_EQ(read_vector(path("v.gpkg")).size(), 1u);
}

TEST_F(ExportTest, GeoPackageRoundTripsCountsNamesAndCoordinates) {
    const auto result = run("cultural_hall", "halls.gpkg");
    EXPECT_EQ(result.driver, "GPKG");
    EXPECT_EQ(result.features, 5);
    EXPECT_THAT(result.files, ElementsAre(path("halls.gpkg"), path("halls.qml")));
    const auto rows = read_vector(path("halls.gpkg"), "cultural_hall");
    ASSERT_EQ(rows.size(), 5u);
    const auto &h1 = row_where(rows, "id", "H1");
    EXPECT_EQ(h1.at("name"), "东山村文化礼堂");
    EXPECT_DOUBLE_EQ(std::stod(h1.at("service_radius_m")), 800.5);
    EXPECT_TRUE(geometry_near(h1.at("WKT"), "POINT (500100.123 3300200.456)", kCoordTolM));
    EXPECT_THAT(result.field_names, Contains(std::pair<std::string, std::string>(
                                        "service_radius_m", "service_radius_m")));
}

TEST_F(ExportTest, GeoJsonKeepsTheWorkingCrs) {
    const auto result = run("village", "villages.geojson");
    EXPECT_EQ(result.driver, "GeoJSON");
    EXPECT_EQ(result.features, 3);
    EXPECT_THAT(read_file(path("villages.geojson")), HasSubstr("EPSG::4549"));
    const auto rows = read_vector(path("villages.geojson"));
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_TRUE(geometry_near(row_where(rows, "name", "下管村").at("WKT"),
                              "MULTIPOLYGON(((501000 3300000,502000 3300000,502000 3301000,501000 "
                              "3301000,501000 3300000)))",
                              kCoordTolM));
    EXPECT_EQ(run("village", "villages.json").driver, "GeoJSON");
}

TEST_F(ExportTest, CsvCarriesTheGeometryAsWkt) {
    const auto result = run("cultural_hall", "halls.csv");
    EXPECT_EQ(result.driver, "CSV");
    EXPECT_EQ(result.features, 5);
    EXPECT_THAT(result.files, ElementsAre(path("halls.csv"), path("halls.csvt")));
    const std::string text = read_file(path("halls.csv"));
    EXPECT_THAT(text, HasSubstr("WKT,id,name"));
    EXPECT_THAT(text, HasSubstr("东山村文化礼堂"));
    const auto rows = read_vector(path("halls.csv"));
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_TRUE(geometry_near(row_where(rows, "id", "H1").at("WKT"),
                              "POINT (500100.123 3300200.456)", kCoordTolM));
    EXPECT_TRUE(geometry_near(row_where(rows, "id", "H4").at("WKT"),
                              "MULTIPOLYGON(((500200 3300200,500260 3300200,500260 3300240,500200 "
                              "3300240,500200 3300200)))",
                              kCoordTolM));
}

TEST_F(ExportTest, TargetCrsReprojectsLikeAnIndependentTransform) {
    const auto [lon, lat] =
        qiancun::testing::ogr_transform(kWorkingEpsg, 4326, 500100.123, 3300200.456);
    for (const std::string output : {"halls4326.geojson", "halls4326.gpkg", "halls4326.shp"}) {
        run("cultural_hall", output, "EPSG:4326");
        const fs::path file = output.ends_with(".shp") ? path("halls4326_point.shp") : path(output);
        const auto [x, y] = point_xy(row_where(read_vector(file), "id", "H1").at("WKT"));
        EXPECT_NEAR(x, lon, kTolDeg) << output;
        EXPECT_NEAR(y, lat, kTolDeg) << output;
    }
    EXPECT_THAT(read_file(path("halls4326_point.prj")), HasSubstr("GCS_WGS_1984"));
}

TEST_F(ExportTest, WhereSelectsFeatures) {
    const auto result = run("village", "v.shp", std::nullopt, "name = '下管村'");
    EXPECT_EQ(result.features, 1);
    EXPECT_THAT(column(read_vector(path("v.shp")), "code"), ElementsAre("330100000002"));
    EXPECT_EQ(run("village", "none.gpkg", std::nullopt, "population > 100000").features, 0);
}

TEST_F(ExportTest, WhereRejectsSemicolonsAndBadExpressions) {
    EXPECT_THAT(
        usage_error([&] { run("village", "v.shp", std::nullopt, "1=1; DROP TABLE village"); }),
        HasSubstr("';'"));
    EXPECT_THAT(usage_error([&] { run("village", "v.shp", std::nullopt, "no_such_column = 3"); }),
                HasSubstr("--where"));
    EXPECT_EQ(read_vector(m_registry, "village").size(), 3u);
}

TEST_F(ExportTest, UnknownLayerNamesTheExistingOnes) {
    const auto message = usage_error([&] { run("villages", "v.shp"); });
    EXPECT_THAT(message,
                AllOf(HasSubstr("'villages'"), HasSubstr("village,"), HasSubstr("cultural_hall")));
}

TEST_F(ExportTest, UnknownExtensionListsTheSupportedOnes) {
    const auto message = usage_error([&] { run("village", "villages.kml"); });
    EXPECT_THAT(message, AllOf(HasSubstr("villages.kml"), HasSubstr(".shp"), HasSubstr(".gpkg"),
                               HasSubstr(".geojson"), HasSubstr(".json"), HasSubstr(".csv")));
    EXPECT_FALSE(fs::exists(path("villages.kml")));
}

TEST_F(ExportTest, UnknownTargetCrsIsAUsageError) {
    EXPECT_THAT(usage_error([&] { run("village", "v.geojson", "EPSG:999999"); }),
                HasSubstr("EPSG:999999"));
}

TEST_F(ExportTest, ExtensionIsCaseInsensitive) {
    // GDAL writes the Shapefile's extensions in lower case whatever the case asked for.
    const auto result = run("village", "VILLAGES.SHP");
    EXPECT_EQ(result.driver, "ESRI Shapefile");
    ASSERT_EQ(result.outputs.size(), 1u);
    EXPECT_EQ(result.outputs[0].path, path("VILLAGES.shp"));
    for (const auto &f : result.files)
        EXPECT_TRUE(fs::exists(f)) << f;
    EXPECT_EQ(run("village", "villages.GeoJSON").driver, "GeoJSON");
}

TEST_F(ExportTest, EmptySelectionWritesAnEmptyShapefileOfTheDeclaredType) {
    const auto result = run("village", "none.shp", std::nullopt, "population > 100000");
    EXPECT_EQ(result.features, 0);
    EXPECT_THAT(result.files, Contains(path("none.shp")));
    GDALDatasetUniquePtr ds(GDALDataset::Open(path("none.shp").c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(ds);
    EXPECT_EQ(ds->GetLayer(0)->GetFeatureCount(), 0);
    EXPECT_EQ(wkbFlatten(ds->GetLayer(0)->GetGeomType()), wkbPolygon);
}

TEST_F(ExportTest, CliPrintsOneLinePerWrittenFile) {
    const auto ok = qiancun::testing::run_qiancun(
        {"export", "registry.sqlite", "cultural_hall", "halls.shp"}, m_dir.path());
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_EQ(ok.out,
              "wrote 3 features to halls_point.shp (+ .shx .dbf .prj .cpg .qml, halls.fields.csv)\n"
              "wrote 2 features to halls_polygon.shp (+ .shx .dbf .prj .cpg .qml, "
              "halls.fields.csv)\n");

    const auto wgs84 =
        qiancun::testing::run_qiancun({"export", "registry.sqlite", "village", "v.csv", "--t-srs",
                                       "EPSG:4326", "--where", "name = '东山村'"},
                                      m_dir.path());
    EXPECT_EQ(wgs84.exit_code, 0) << wgs84.err;
    EXPECT_EQ(wgs84.out, "wrote 1 feature to v.csv (+ .csvt)\n");

    const auto bad = qiancun::testing::run_qiancun(
        {"export", "registry.sqlite", "villages", "v.shp"}, m_dir.path());
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_THAT(bad.err, HasSubstr("no layer 'villages'"));
    EXPECT_EQ(bad.out, "");
}

} // namespace
