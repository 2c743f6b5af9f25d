#include "qiancun/exporter.hpp"
#include "qiancun/importer.hpp"

#include "testing/testing.hpp"

#include <gdal_priv.h>
#include <ogrsf_frmts.h>

namespace qiancun {
namespace {

using testing::TempDir;

/// A GBK village Shapefile as departments send it: no .cpg, DBF language driver byte 0.
void write_gbk_villages(const std::filesystem::path &shp) {
    testing::write_vector(shp, "ESRI Shapefile", "v", 4549, {"代码", "村名", "乡镇"},
                          {{"POLYGON ((500000 3320000, 501000 3320000, 501000 3321000, 500000 "
                            "3321000, 500000 3320000))",
                            {{"代码", "330604101201"}, {"村名", "东山村"}, {"乡镇", "章镇镇"}}},
                           {"POLYGON ((501000 3320000, 502000 3320000, 502000 3321000, 501000 "
                            "3321000, 501000 3320000))",
                            {{"代码", "330604101202"}, {"村名", "下管村"}, {"乡镇", "百官街道"}}}},
                          {"ENCODING=CP936"});
    testing::strip_encoding_declaration(shp);
}

TEST(RoundTrip, GbkShapefileInUtf8ShapefileOutSameChineseStrings) {
    TempDir dir;
    write_gbk_villages(dir / "v.shp");
    auto reg = Registry::create(dir / "r.sqlite", std::nullopt);
    importers::ImportOptions o;
    o.kind = "village";
    o.source = dir / "v.shp";
    o.encoding = "GBK";
    o.field_map = {{"code", "代码"}, {"name", "村名"}, {"township", "乡镇"}};
    importers::import_file(reg, o);
    EXPECT_EQ(reg.working_epsg(), 4549);

    exporters::ExportOptions e;
    e.layer = "village";
    e.output = dir / "out" / "villages.shp";
    std::filesystem::create_directories(dir / "out");
    auto result = exporters::export_layer(reg.path(), e);
    EXPECT_EQ(result.features, 2);
    EXPECT_EQ(testing::read_file(dir / "out" / "villages.cpg").substr(0, 5), "UTF-8");
    // Read back with GDAL and no options: the .cpg alone must make the strings right.
    auto rows = testing::read_vector(dir / "out" / "villages.shp");
    ASSERT_EQ(rows.size(), 2u);
    std::map<std::string, std::map<std::string, std::string>> by_code;
    for (auto &r : rows)
        by_code[r["code"]] = r;
    EXPECT_EQ(by_code["330604101201"]["name"], "东山村");
    EXPECT_EQ(by_code["330604101201"]["township"], "章镇镇");
    EXPECT_EQ(by_code["330604101202"]["name"], "下管村");
    EXPECT_EQ(by_code["330604101202"]["township"], "百官街道");
    EXPECT_TRUE(testing::geometry_near(by_code["330604101201"]["WKT"],
                                       "POLYGON ((500000 3320000, 501000 3320000, 501000 3321000, "
                                       "500000 3321000, 500000 3320000))",
                                       testing::kCoordTolM));
    const auto prj = testing::read_file(dir / "out" / "villages.prj");
    EXPECT_NE(prj.find("Gauss"), std::string::npos) << prj;
}

TEST(RoundTrip, RegistryOpensInGdalWithCrsAndSpatialIndex) {
    TempDir dir;
    write_gbk_villages(dir / "v.shp");
    {
        auto reg = Registry::create(dir / "r.sqlite", 4549);
        importers::ImportOptions o;
        o.kind = "village";
        o.source = dir / "v.shp";
        o.encoding = "GBK";
        o.field_map = {{"code", "代码"}, {"name", "村名"}};
        importers::import_file(reg, o);
    }
    // What QGIS does: open the file with GDAL's SQLite/SpatiaLite driver.
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GDALDataset::Open((dir / "r.sqlite").c_str(), GDAL_OF_VECTOR));
    ASSERT_TRUE(ds);
    EXPECT_STREQ(ds->GetDriver()->GetDescription(), "SQLite");
    auto *layer = ds->GetLayerByName("village");
    ASSERT_NE(layer, nullptr);
    EXPECT_EQ(layer->GetFeatureCount(), 2);
    ASSERT_NE(layer->GetSpatialRef(), nullptr);
    EXPECT_STREQ(layer->GetSpatialRef()->GetAuthorityCode(nullptr), "4549");
    EXPECT_TRUE(layer->TestCapability(OLCFastSpatialFilter));
    layer->SetSpatialFilterRect(500100, 3320100, 500200, 3320200);
    EXPECT_EQ(layer->GetFeatureCount(), 1);
}

} // namespace
} // namespace qiancun
