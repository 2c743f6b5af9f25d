#include "qiancun/exporter.hpp"
#include "qiancun/qml.hpp"

#include "testing/testing.hpp"

#include <cpl_minixml.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <fmt/format.h>

#include <gmock/gmock.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using exporters::export_layer;
using exporters::ExportOptions;
using ::testing::Contains;
using testing::TempDir;

/// What a QGIS reader takes from a .qml: the renderer, its classes and the field aliases.
struct Qml {
    std::string renderer;
    std::string attr;
    struct Range {
        double lower;
        double upper;
        std::string label;
    };
    std::vector<Range> ranges;
    std::vector<std::string> symbol_types;
    std::vector<std::pair<std::string, std::string>> aliases; ///< field → alias
    std::string geometry_type;

    /// The label QGIS shows for `value`: the first range whose closed interval holds it.
    std::string label_for(double value) const {
        for (const auto &r : ranges)
            if (r.lower <= value && value <= r.upper)
                return r.label;
        return "(none)";
    }
    std::vector<std::string> named_fields() const {
        std::vector<std::string> out;
        if (!attr.empty())
            out.push_back(attr);
        for (const auto &a : aliases)
            out.push_back(a.first);
        return out;
    }
};

struct XmlDeleter {
    void operator()(CPLXMLNode *n) const noexcept { CPLDestroyXMLNode(n); }
};

/// Parses a .qml with GDAL's XML parser; fails the test when it is not well-formed.
::testing::AssertionResult parse_qml(const std::string &text, Qml &out) {
    CPLErrorReset();
    std::unique_ptr<CPLXMLNode, XmlDeleter> tree(CPLParseXMLString(text.c_str()));
    if (!tree || CPLGetLastErrorType() == CE_Failure)
        return ::testing::AssertionFailure()
               << "not well-formed XML: " << CPLGetLastErrorMsg() << "\n"
               << text;
    const CPLXMLNode *qgis = CPLSearchXMLNode(tree.get(), "=qgis");
    if (!qgis)
        return ::testing::AssertionFailure() << "no <qgis> root element";
    const CPLXMLNode *renderer = CPLGetXMLNode(qgis, "renderer-v2");
    if (!renderer)
        return ::testing::AssertionFailure() << "no <renderer-v2>";
    out.renderer = CPLGetXMLValue(renderer, "type", "");
    out.attr = CPLGetXMLValue(renderer, "attr", "");
    out.geometry_type = CPLGetXMLValue(qgis, "layerGeometryType", "");
    if (const CPLXMLNode *ranges = CPLGetXMLNode(renderer, "ranges"))
        for (const CPLXMLNode *r = ranges->psChild; r; r = r->psNext)
            if (r->eType == CXT_Element && std::string_view(r->pszValue) == "range")
                out.ranges.push_back({CPLAtof(CPLGetXMLValue(r, "lower", "nan")),
                                      CPLAtof(CPLGetXMLValue(r, "upper", "nan")),
                                      CPLGetXMLValue(r, "label", "")});
    if (const CPLXMLNode *symbols = CPLGetXMLNode(renderer, "symbols"))
        for (const CPLXMLNode *s = symbols->psChild; s; s = s->psNext)
            if (s->eType == CXT_Element && std::string_view(s->pszValue) == "symbol")
                out.symbol_types.emplace_back(CPLGetXMLValue(s, "type", ""));
    if (const CPLXMLNode *aliases = CPLGetXMLNode(qgis, "aliases"))
        for (const CPLXMLNode *a = aliases->psChild; a; a = a->psNext)
            if (a->eType == CXT_Element && std::string_view(a->pszValue) == "alias")
                out.aliases.emplace_back(CPLGetXMLValue(a, "field", ""),
                                         CPLGetXMLValue(a, "name", ""));
    return ::testing::AssertionSuccess();
}

/// The field names of `layer` (default: the first) of a vector file, read with GDAL.
std::vector<std::string> fields_of(const fs::path &path, const std::string &layer = "") {
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY));
    if (!ds)
        throw std::runtime_error("cannot open " + path.string());
    OGRLayer *l = layer.empty() ? ds->GetLayer(0) : ds->GetLayerByName(layer.c_str());
    if (!l)
        throw std::runtime_error("no layer " + layer + " in " + path.string());
    std::vector<std::string> out;
    for (int i = 0; i < l->GetLayerDefn()->GetFieldCount(); ++i)
        out.emplace_back(l->GetLayerDefn()->GetFieldDefn(i)->GetNameRef());
    return out;
}

::testing::AssertionResult names_existing_fields(const Qml &qml,
                                                 const std::vector<std::string> &fields) {
    for (const auto &f : qml.named_fields())
        if (std::find(fields.begin(), fields.end(), f) == fields.end())
            return ::testing::AssertionFailure()
                   << "the style names field '" << f << "', which the file lacks; it has: "
                   << fmt::format("{}", fmt::join(fields, ", "));
    return ::testing::AssertionSuccess();
}

constexpr const char *kSquare = "POLYGON ((500000 3320000, 501000 3320000, 501000 3321000, "
                                "500000 3321000, 500000 3320000))";
constexpr const char *kSquare2 = "POLYGON ((501000 3320000, 502000 3320000, 502000 3321000, "
                                 "501000 3321000, 501000 3320000))";

/// The columns `MetricsTable::to_rows` gives for `types` (SPEC §3 names).
std::vector<std::string> metric_columns(const std::vector<std::string> &types) {
    std::vector<std::string> cols{"code", "name"};
    for (const auto &t : types)
        for (const auto &c :
             {fmt::format("n_{}", t), fmt::format("nearest_{}_m", t), fmt::format("area_cov_{}", t),
              fmt::format("pop_cov_{}", t), fmt::format("cov_{}", t), fmt::format("gap_{}", t)})
            cols.push_back(c);
    return cols;
}

/// A SQLite source standing in for a registry: one metric-like layer made with GDAL, so the
/// style tests do not depend on the metrics engine.
struct Qmls : ::testing::Test {
    TempDir dir;
    fs::path source = dir / "registry.sqlite";

    void write_metrics_layer(const std::string &layer, const std::vector<std::string> &types) {
        const auto cols = metric_columns(types);
        std::vector<std::string> reals;
        for (const auto &c : cols)
            if (c != "code" && c != "name")
                reals.push_back(c);
        std::vector<testing::FixtureFeature> rows;
        int i = 0;
        for (const char *wkt : {kSquare, kSquare2}) {
            testing::FixtureFeature f{wkt,
                                      {{"code", fmt::format("33060410120{}", ++i)},
                                       {"name", i == 1 ? "东山村" : "下管村"}}};
            for (const auto &c : reals)
                f.fields[c] = i == 1 ? "0.5" : "0.9";
            rows.push_back(std::move(f));
        }
        testing::write_vector(source, "SQLite", layer, 4549, cols, rows, {}, reals);
    }

    exporters::ExportResult run(const std::string &layer, const fs::path &output,
                                bool append = false) {
        ExportOptions o;
        o.layer = layer;
        o.output = output;
        o.append = append;
        return export_layer(source, o);
    }
};

TEST_F(Qmls, VillageMetricsShapefileStyleNamesTheShortDbfFields) {
    write_metrics_layer("village_metrics", {"sewage_plant", "courier_station"});
    const auto result = run("village_metrics", dir / "metrics.shp");
    const fs::path qml_path = dir / "metrics.qml";
    ASSERT_TRUE(fs::exists(qml_path));
    EXPECT_NE(std::find(result.files.begin(), result.files.end(), qml_path), result.files.end());

    Qml qml;
    ASSERT_TRUE(parse_qml(testing::read_file(qml_path), qml));
    EXPECT_EQ(qml.renderer, "graduatedSymbol");
    EXPECT_EQ(qml.attr, "cov_sew");
    EXPECT_TRUE(names_existing_fields(qml, fields_of(dir / "metrics.shp")));
    const auto has_alias = [&](const std::string &field, const std::string &alias) {
        return std::find(qml.aliases.begin(), qml.aliases.end(), std::pair{field, alias}) !=
               qml.aliases.end();
    };
    EXPECT_TRUE(has_alias("acov_sew", "area_cov_sewage_plant"));
    EXPECT_TRUE(has_alias("nr_cour_m", "nearest_courier_station_m"));
    EXPECT_TRUE(has_alias("code", "code"));
    EXPECT_EQ(qml.aliases.size(), 14u);
    EXPECT_EQ(qml.geometry_type, "2");
}

TEST_F(Qmls, CoverageLegendReadsInPercentAndBoundariesBelongToTheClassAbove) {
    write_metrics_layer("village_metrics", {"sewage_plant"});
    run("village_metrics", dir / "metrics.shp");
    Qml qml;
    ASSERT_TRUE(parse_qml(testing::read_file(dir / "metrics.qml"), qml));
    ASSERT_EQ(qml.ranges.size(), 5u);
    EXPECT_EQ(qml.symbol_types, std::vector<std::string>(5, "fill"));
    EXPECT_EQ(qml.label_for(0.0), "< 50 %");
    EXPECT_EQ(qml.label_for(0.4999), "< 50 %");
    EXPECT_EQ(qml.label_for(0.5), "50–70 %");
    EXPECT_EQ(qml.label_for(0.75), "70–80 %");
    EXPECT_EQ(qml.label_for(0.8999), "80–90 %");
    // 0.9 is not a gap at the default threshold (gap is cov < 0.9): it must read "≥ 90 %".
    EXPECT_EQ(qml.label_for(0.9), "≥ 90 %");
    EXPECT_EQ(qml.label_for(1.0), "≥ 90 %");
}

TEST_F(Qmls, VillageMetricsGeoPackageStyleNamesFullFieldsAndIsTheLayerDefault) {
    write_metrics_layer("village_metrics", {"sewage_plant", "courier_station"});
    run("village_metrics", dir / "metrics.gpkg");
    const fs::path qml_path = dir / "metrics.qml";
    ASSERT_TRUE(fs::exists(qml_path));
    Qml qml;
    ASSERT_TRUE(parse_qml(testing::read_file(qml_path), qml));
    EXPECT_EQ(qml.attr, "cov_sewage_plant");
    EXPECT_TRUE(names_existing_fields(qml, fields_of(dir / "metrics.gpkg", "village_metrics")));

    // QGIS applies the default style it finds in the GeoPackage's layer_styles table; the
    // other coverage gets a named style of its own, offered in QGIS's list of styles.
    const auto styles = testing::read_vector(dir / "metrics.gpkg", "layer_styles");
    ASSERT_EQ(styles.size(), 2u);
    EXPECT_EQ(styles[0].at("f_table_name"), "village_metrics");
    EXPECT_EQ(styles[0].at("f_geometry_column"), "geom");
    EXPECT_EQ(styles[0].at("styleName"), "cov_sewage_plant");
    EXPECT_EQ(styles[0].at("useAsDefault"), "1");
    EXPECT_EQ(styles[0].at("styleQML"), testing::read_file(qml_path));
    EXPECT_EQ(styles[1].at("f_table_name"), "village_metrics");
    EXPECT_EQ(styles[1].at("styleName"), "cov_courier_station");
    EXPECT_EQ(styles[1].at("useAsDefault"), "0");
    Qml courier;
    ASSERT_TRUE(parse_qml(styles[1].at("styleQML"), courier));
    EXPECT_EQ(courier.attr, "cov_courier_station");
}

TEST_F(Qmls, WithoutSewageTheFirstCoverageFieldIsClassified) {
    write_metrics_layer("village_metrics", {"courier_station", "cultural_hall"});
    run("village_metrics", dir / "metrics.shp");
    Qml qml;
    ASSERT_TRUE(parse_qml(testing::read_file(dir / "metrics.qml"), qml));
    EXPECT_EQ(qml.attr, "cov_cour");
    EXPECT_TRUE(names_existing_fields(qml, fields_of(dir / "metrics.shp")));
}

TEST_F(Qmls, GapAreasAreRedTranslucentFillsAndSettlementsRedMarkers) {
    testing::write_vector(source, "SQLite", "gaps_sewage_plant", 4549,
                          {"code", "name", "cov", "uncovered_area_km2", "uncovered_population"},
                          {{kSquare,
                            {{"code", "330604101201"},
                             {"name", "东山村"},
                             {"cov", "0.4"},
                             {"uncovered_area_km2", "0.6"},
                             {"uncovered_population", "120"}}}},
                          {}, {"cov", "uncovered_area_km2"}, {"uncovered_population"});
    run("gaps_sewage_plant", dir / "uncovered.shp");
    Qml areas;
    ASSERT_TRUE(parse_qml(testing::read_file(dir / "uncovered.qml"), areas));
    EXPECT_EQ(areas.renderer, "singleSymbol");
    EXPECT_EQ(areas.symbol_types, std::vector<std::string>{"fill"});
    EXPECT_TRUE(names_existing_fields(areas, fields_of(dir / "uncovered.shp")));
    const std::string text = testing::read_file(dir / "uncovered.qml");
    EXPECT_NE(text.find("<prop k=\"color\" v=\"227,26,28,110\"/>"), std::string::npos) << text;

    GDALAllRegister();
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open(source.c_str(), GDAL_OF_VECTOR | GDAL_OF_UPDATE));
        ASSERT_TRUE(ds);
        OGRSpatialReference srs;
        srs.importFromEPSG(4549);
        OGRLayer *l = ds->CreateLayer("gaps_sewage_plant_settlements", &srs, wkbPoint, nullptr);
        ASSERT_TRUE(l);
        for (const char *name : {"id", "name", "village_code"}) {
            OGRFieldDefn fd(name, OFTString);
            ASSERT_EQ(l->CreateField(&fd), OGRERR_NONE);
        }
        OGRFieldDefn pop("population", OFTInteger64);
        ASSERT_EQ(l->CreateField(&pop), OGRERR_NONE);
        OGRFeatureUniquePtr f(OGRFeature::CreateFeature(l->GetLayerDefn()));
        f->SetField("id", "S1");
        f->SetField("village_code", "330604101201");
        f->SetField("population", 120);
        OGRPoint p(500900, 3320900);
        f->SetGeometry(&p);
        ASSERT_EQ(l->CreateFeature(f.get()), OGRERR_NONE);
    }
    run("gaps_sewage_plant_settlements", dir / "uncovered_settlements.geojson");
    Qml points;
    ASSERT_TRUE(parse_qml(testing::read_file(dir / "uncovered_settlements.qml"), points));
    EXPECT_EQ(points.renderer, "singleSymbol");
    EXPECT_EQ(points.symbol_types, std::vector<std::string>{"marker"});
    EXPECT_EQ(points.geometry_type, "0");
    EXPECT_TRUE(names_existing_fields(points, fields_of(dir / "uncovered_settlements.geojson")));

    // Both layers in one GeoPackage: each its own default style.
    run("gaps_sewage_plant", dir / "gaps.gpkg");
    run("gaps_sewage_plant_settlements", dir / "gaps.gpkg", true);
    EXPECT_TRUE(fs::exists(dir / "gaps.qml"));
    EXPECT_TRUE(fs::exists(dir / "gaps_gaps_sewage_plant_settlements.qml"));
    const auto styles = testing::read_vector(dir / "gaps.gpkg", "layer_styles");
    ASSERT_EQ(styles.size(), 2u);
    EXPECT_EQ(styles[0].at("f_table_name"), "gaps_sewage_plant");
    EXPECT_EQ(styles[1].at("f_table_name"), "gaps_sewage_plant_settlements");
    EXPECT_EQ(testing::read_vector(dir / "gaps.gpkg", "gaps_sewage_plant").size(), 1u);
    EXPECT_EQ(testing::read_vector(dir / "gaps.gpkg", "gaps_sewage_plant_settlements").size(), 1u);
    EXPECT_TRUE(names_existing_fields(
        points, fields_of(dir / "gaps.gpkg", "gaps_sewage_plant_settlements")));
}

TEST_F(Qmls, OtherLayersGetNoStyleAndAStaleStyleIsRemoved) {
    write_metrics_layer("village_metrics", {"sewage_plant"});
    run("village_metrics", dir / "out.shp");
    ASSERT_TRUE(fs::exists(dir / "out.qml"));
    {
        GDALDatasetUniquePtr ds(GDALDataset::Open(source.c_str(), GDAL_OF_VECTOR | GDAL_OF_UPDATE));
        ASSERT_TRUE(ds);
        OGRLayer *l = ds->CreateLayer("notes", nullptr, wkbPolygon, nullptr);
        ASSERT_TRUE(l);
    }
    const auto result = run("notes", dir / "out.shp");
    EXPECT_FALSE(fs::exists(dir / "out.qml"));
    for (const auto &f : result.files)
        EXPECT_NE(f.extension(), ".qml") << f;

    ExportOptions o;
    o.layer = "village_metrics";
    o.output = dir / "plain.gpkg";
    o.style = false;
    export_layer(source, o);
    EXPECT_FALSE(fs::exists(dir / "plain.qml"));
}

TEST(QmlStyle, LayerNamesDecideTheStyle) {
    using exporters::LayerStyle;
    using exporters::style_for_layer;
    EXPECT_EQ(style_for_layer("village_metrics"), LayerStyle::village_metrics);
    EXPECT_EQ(style_for_layer("village_metrics_2024"), LayerStyle::village_metrics);
    EXPECT_EQ(style_for_layer("gaps_base_station_5g"), LayerStyle::gap_areas);
    EXPECT_EQ(style_for_layer("gaps_base_station_5g_settlements"), LayerStyle::gap_settlements);
    EXPECT_EQ(style_for_layer("village"), std::nullopt);
    EXPECT_EQ(style_for_layer("sewage_plant"), std::nullopt);
    EXPECT_EQ(exporters::coverage_field({"code", "cov_courier_station", "cov_sewage_plant"}),
              "cov_sewage_plant");
    EXPECT_EQ(exporters::coverage_field({"code", "pop_cov_x", "cov_clinic"}), "cov_clinic");
    EXPECT_EQ(exporters::coverage_field({"code"}), "");
}

/// The styles of a kind table whose fields keep their names.
std::vector<exporters::NamedStyle> kind_styles(const std::string &key) {
    const auto &kinds = builtin_kinds();
    const auto it =
        std::find_if(kinds.begin(), kinds.end(), [&](const KindDef &k) { return k.key == key; });
    std::vector<std::pair<std::string, std::string>> fields;
    for (const auto &a : it->attributes)
        fields.emplace_back(a.name, a.name);
    fields.emplace_back("village_code", "village_code");
    exporters::StyleContext context;
    context.kind = &*it;
    return exporters::layer_styles(key, fields, context);
}

TEST(QmlStyle, RegistryKindsAreStyledByClassStatusGradeAndSurface) {
    testing::bind_catalogue();
    const auto village = kind_styles("village");
    ASSERT_EQ(village.size(), 1u);
    Qml v;
    ASSERT_TRUE(parse_qml(village[0].qml, v));
    EXPECT_EQ(v.renderer, "categorizedSymbol");
    EXPECT_EQ(v.attr, "class");
    EXPECT_TRUE(village[0].is_default);
    EXPECT_NE(village[0].qml.find("labelsEnabled=\"1\""), std::string::npos);
    EXPECT_NE(village[0].qml.find("fieldName=\"name\""), std::string::npos);
    EXPECT_NE(village[0].qml.find("scaleMax=\"250000\""), std::string::npos);
    EXPECT_THAT(v.aliases, Contains(std::pair<std::string, std::string>("name", "村名")));

    const auto plants = kind_styles("sewage_plant");
    ASSERT_EQ(plants.size(), 1u);
    Qml p;
    ASSERT_TRUE(parse_qml(plants[0].qml, p));
    EXPECT_EQ(p.attr, "status");
    EXPECT_EQ(p.symbol_types, std::vector<std::string>(5, "marker"));
    EXPECT_NE(plants[0].qml.find("label=\"运行\""), std::string::npos);
    EXPECT_NE(plants[0].qml.find("labelsEnabled=\"0\""), std::string::npos);

    const auto roads = kind_styles("rural_road");
    ASSERT_EQ(roads.size(), 3u);
    EXPECT_EQ(roads[0].name, "grade");
    EXPECT_TRUE(roads[0].is_default);
    EXPECT_EQ(roads[1].name, "status");
    EXPECT_FALSE(roads[1].is_default);
    EXPECT_EQ(roads[2].name, "surface");
    Qml surface;
    ASSERT_TRUE(parse_qml(roads[2].qml, surface));
    EXPECT_EQ(surface.attr, "surface");
    EXPECT_NE(roads[2].qml.find("v=\"dash\""), std::string::npos);

    // Points and footprints in one layer: a marker rule and a fill rule per status.
    const auto halls = kind_styles("cultural_hall");
    ASSERT_EQ(halls.size(), 1u);
    Qml h;
    ASSERT_TRUE(parse_qml(halls[0].qml, h));
    EXPECT_EQ(h.renderer, "RuleRenderer");
    EXPECT_EQ(h.geometry_type, "3");
    EXPECT_EQ(std::count(h.symbol_types.begin(), h.symbol_types.end(), "marker"), 5);
    EXPECT_EQ(std::count(h.symbol_types.begin(), h.symbol_types.end(), "fill"), 5);
}

TEST(QmlStyle, DescriptionsAndLegendWordsAreTheCataloguesChineseInAnEnglishInterface) {
    testing::bind_catalogue();
    ::unsetenv("LANGUAGE"); // the messages are English
    const auto has = [](const exporters::NamedStyle &s, const std::string &label) {
        return s.qml.find("label=\"" + label + "\"") != std::string::npos;
    };
    const auto village = kind_styles("village");
    EXPECT_EQ(village.at(0).description, "按村庄分类着色，标注村名");
    for (const char *label :
         {"城郊融合类", "集聚建设类", "整治提升类", "特色保护类", "搬迁撤并类", "未定类"})
        EXPECT_TRUE(has(village.at(0), label)) << label;
    const auto roads = kind_styles("rural_road");
    ASSERT_EQ(roads.size(), 3u);
    EXPECT_EQ(roads[0].description, "按公路等级");
    EXPECT_EQ(roads[1].description, "按状态（规划、在建、运行、改造、停用）");
    EXPECT_EQ(roads[2].description, "按路面（硬化、砂石、土路）");
    EXPECT_TRUE(has(roads[0], "未定"));
    EXPECT_TRUE(has(roads[2], "未定"));
    const auto halls = kind_styles("cultural_hall");
    EXPECT_TRUE(has(halls.at(0), "点位"));
    EXPECT_TRUE(has(halls.at(0), "范围"));
    EXPECT_EQ(kind_styles("settlement").at(0).description, "居民点");
    EXPECT_EQ(kind_styles("urban").at(0).description, "城镇建成区");
    EXPECT_EQ(kind_styles("hazard").at(0).description, "灾害风险区（红色斜线）");

    const auto result = [](const std::string &layer,
                           const std::vector<std::pair<std::string, std::string>> &fields) {
        exporters::StyleContext context;
        context.type_labels = {{"sewage_plant", "农村生活污水处理设施"}};
        return exporters::layer_styles(layer, fields, context).at(0).description;
    };
    EXPECT_EQ(result("village_metrics", {{"cov_sewage_plant", "cov_sewage_plant"}}),
              "农村生活污水处理设施覆盖率分级（cov_sewage_plant）");
    EXPECT_EQ(result("village_metrics", {{"code", "code"}}), "覆盖率分级");
    EXPECT_EQ(result("gaps_sewage_plant", {}), "未覆盖区域（红色）");
    EXPECT_EQ(result("gaps_sewage_plant_settlements", {}), "未覆盖居民点（红色）");
    EXPECT_EQ(result("village_classes", {}), "按建议分类着色，标注村名");
    EXPECT_EQ(result("service_area_sewage_plant", {}),
              "可达路段，按距离（米）或时间（分钟）分级，近为绿色");
    EXPECT_EQ(result("service_area_sewage_plant_buffer", {}), "服务范围");
    EXPECT_EQ(result("sites_sewage_plant", {}), "建议选址，按选择顺序标注");
}

TEST(QmlStyle, ServiceAreasAreClassedInMetresUpToTheFurthestWithNearGreen) {
    const std::vector<std::pair<std::string, std::string>> fields{{"facility", "facility"},
                                                                  {"distance_m", "distance_m"}};
    Qml q;
    ASSERT_TRUE(parse_qml(
        exporters::layer_qml(exporters::LayerStyle::service_area_lines, fields, "", 2000.0), q));
    EXPECT_EQ(q.attr, "distance_m");
    ASSERT_EQ(q.ranges.size(), 4u);
    EXPECT_EQ(q.ranges[0].label, "0–500 m");
    EXPECT_EQ(q.ranges[3].label, "1,500–2,000 m");
    EXPECT_EQ(q.label_for(500.0), "0–500 m"); // within 500 m is the near class
    EXPECT_EQ(q.label_for(1999.0), "1,500–2,000 m");
    const std::string text =
        exporters::layer_qml(exporters::LayerStyle::service_area_lines, fields, "", 2000.0);
    EXPECT_LT(text.find("26,150,65,255"), text.find("215,25,28,255")); // green first, red last

    Qml open;
    ASSERT_TRUE(
        parse_qml(exporters::layer_qml(exporters::LayerStyle::service_area_lines, fields), open));
    ASSERT_EQ(open.ranges.size(), 5u);
    EXPECT_EQ(open.ranges[4].label, "> 2,000 m");
}

TEST(QmlStyle, EscapesFieldNamesThatAreNotXmlSafe) {
    const std::string qml = exporters::layer_qml(exporters::LayerStyle::village_metrics,
                                                 {{"cov_<a&b>", "cov_\"x\""}}, "cov_<a&b>");
    Qml parsed;
    ASSERT_TRUE(parse_qml(qml, parsed));
    EXPECT_EQ(parsed.attr, "cov_\"x\"");
    ASSERT_EQ(parsed.aliases.size(), 1u);
    EXPECT_EQ(parsed.aliases[0].second, "cov_<a&b>");
}

} // namespace
} // namespace qiancun
