#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <numbers>

/// SPEC §8 outputs: `-o` is chosen by its extension for every command — .csv (UTF-8 with a BOM
/// for Excel; stdout stays without), .xlsx (a real workbook), .json, and for layers .gpkg .shp
/// .geojson — and any other extension is refused before any work starts.

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::run_qiancun;
using testing::TempDir;

constexpr std::string_view kBom = "\xEF\xBB\xBF";
/// Disc polygons are short of circles by at most 0.2 % (SPEC §3 allows 0.01 in any ratio).
constexpr double kRatioTol = 0.002;

/// Two 1 km squares: 东山村 (…201) with a plant of radius 1000 m on its south-west corner (a
/// quarter disc covers π/4 of it), 下管村 (…202) with one settlement of 100 people and no plant.
struct OutputsCli : ::testing::Test {
    TempDir dir;
    std::string reg = testing::test_registry(dir.path(), "county.sqlite");

    void SetUp() override {
        // GDAL 3.6 guesses whether the first row is a header (an all-text table looks like
        // data); a workbook qiancun writes always has one.
        CPLSetConfigOption("OGR_XLSX_HEADERS", "FORCE");
        testing::write_vector(
            dir / "villages.geojson", "GeoJSON", "villages", 4549, {"code", "name", "township"},
            {{"POLYGON ((500000 3320000, 501000 3320000, 501000 3321000, 500000 3321000, "
              "500000 3320000))",
              {{"code", "330604101201"}, {"name", "东山村"}, {"township", "甲镇"}}},
             {"POLYGON ((501000 3320000, 502000 3320000, 502000 3321000, 501000 3321000, "
              "501000 3320000))",
              {{"code", "330604101202"}, {"name", "下管村"}, {"township", "甲镇"}}}});
        testing::write_vector(
            dir / "settlements.geojson", "GeoJSON", "settlements", 4549,
            {"id", "name", "population"},
            {{"POINT (501500 3320500)", {{"id", "S1"}, {"name", "下管"}, {"population", "100"}}}},
            {}, {}, {"population"});
        testing::write_file(dir / "plants.csv", "id,status,service_radius_m,x,y\n"
                                                "WS1,运行,1000,500000,3320000\n");
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

/// One member of a zip file (an .xlsx), read through GDAL's /vsizip/.
std::string zip_member(const fs::path &zip, const std::string &member) {
    const std::string path = fmt::format("/vsizip/{}/{}", zip.string(), member);
    VSILFILE *f = VSIFOpenL(path.c_str(), "rb");
    if (!f)
        return {};
    std::string out;
    char buf[4096];
    std::size_t n = 0;
    while ((n = VSIFReadL(buf, 1, sizeof buf, f)) > 0)
        out.append(buf, n);
    VSIFCloseL(f);
    return out;
}

/// Field name → OGR type name of the one layer `layer` of a workbook read by GDAL's XLSX driver.
std::map<std::string, std::string> xlsx_field_types(const fs::path &xlsx,
                                                    const std::string &layer) {
    GDALAllRegister();
    const char *const drivers[] = {"XLSX", nullptr};
    GDALDatasetUniquePtr ds(
        GDALDataset::Open(xlsx.c_str(), GDAL_OF_VECTOR, drivers, nullptr, nullptr));
    std::map<std::string, std::string> types;
    if (!ds)
        return types;
    OGRLayer *l = ds->GetLayerByName(layer.c_str());
    if (!l)
        return types;
    const OGRFeatureDefn *defn = l->GetLayerDefn();
    for (int i = 0; i < defn->GetFieldCount(); ++i)
        types[defn->GetFieldDefn(i)->GetNameRef()] =
            OGRFieldDefn::GetFieldTypeName(defn->GetFieldDefn(i)->GetType());
    return types;
}

TEST_F(OutputsCli, CsvFilesStartWithABomAndStdoutDoesNot) {
    const fs::path csv = dir / "m.csv";
    auto r = run_qiancun({"metrics", reg, "--type", "sewage_plant", "-o", csv.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string text = testing::read_file(csv);
    ASSERT_GE(text.size(), 3u);
    EXPECT_EQ(text.substr(0, 3), kBom);
    EXPECT_EQ(text.substr(3, 20), "code,n_sewage_plant,");

    r = run_qiancun({"metrics", reg, "--type", "sewage_plant", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.substr(0, 20), "code,n_sewage_plant,") << "stdout is plain UTF-8";

    for (const auto &args : std::vector<std::vector<std::string>>{
             {"classify", reg, "--no-store", "-o", (dir / "c.csv").string()},
             {"indicators", reg, "-o", (dir / "i.csv").string()}}) {
        r = run_qiancun(args);
        ASSERT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
        EXPECT_EQ(testing::read_file(args.back()).substr(0, 3), kBom) << args[0];
    }
}

TEST_F(OutputsCli, MetricsXlsxIsAWorkbookWithNumbersAsNumbersAndRatiosAsPercent) {
    const fs::path xlsx = dir / "m.xlsx";
    auto r = run_qiancun({"metrics", reg, "-o", xlsx.string(), "--headers", "en"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("wrote 2 villages to"));

    const auto types = xlsx_field_types(xlsx, "village_metrics");
    ASSERT_FALSE(types.empty()) << "GDAL cannot read " << xlsx;
    EXPECT_EQ(types.at("code"), "String") << "a 12-digit code stays text";
    EXPECT_EQ(types.at("n_sewage_plant"), "Integer");
    EXPECT_EQ(types.at("area_cov_sewage_plant"), "Real");
    EXPECT_EQ(types.at("nearest_sewage_plant_m"), "Real");

    const auto rows = testing::read_vector(xlsx, "village_metrics");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].at("code"), "330604101201");
    EXPECT_NEAR(std::stod(rows[0].at("area_cov_sewage_plant")), std::numbers::pi / 4, kRatioTol);
    EXPECT_EQ(rows[1].at("n_sewage_plant"), "0");

    // Header frozen, autofilter over the table, ratio columns formatted as percentages.
    const std::string sheet = zip_member(xlsx, "xl/worksheets/sheet1.xml");
    EXPECT_THAT(sheet, HasSubstr("ySplit=\"1\""));
    EXPECT_THAT(sheet, HasSubstr("state=\"frozen\""));
    EXPECT_THAT(sheet, HasSubstr("<autoFilter ref=\"A1:"));
    EXPECT_THAT(zip_member(xlsx, "xl/styles.xml"), HasSubstr("formatCode=\"0.0%\""));
}

TEST_F(OutputsCli, XlsxOfClassifyIndicatorsAndGaps) {
    auto r = run_qiancun({"classify", reg, "-o", (dir / "c.xlsx").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Workbooks are for people: Chinese headers by default.
    const auto classes = testing::read_vector(dir / "c.xlsx", "village_classes");
    ASSERT_EQ(classes.size(), 2u);
    EXPECT_EQ(classes[0].at("村代码"), "330604101201");

    r = run_qiancun({"indicators", reg, "-o", (dir / "i.xlsx").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto indicators = testing::read_vector(dir / "i.xlsx", "indicators");
    EXPECT_EQ(indicators.size(), 10u);
    EXPECT_EQ(xlsx_field_types(dir / "i.xlsx", "indicators").at("指标代码"), "String");

    // One sheet per table: the gap villages and the uncovered settlements.
    r = run_qiancun({"gaps", reg, "--type", "sewage_plant", "-o", (dir / "g.xlsx").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("wrote 2 villages and 1 settlements to"));
    EXPECT_EQ(testing::read_vector(dir / "g.xlsx", "gaps_sewage_plant").size(), 2u);
    const auto settlements = testing::read_vector(dir / "g.xlsx", "gaps_sewage_plant_settlements");
    ASSERT_EQ(settlements.size(), 1u);
    EXPECT_EQ(settlements[0].at("编号"), "S1");
    EXPECT_EQ(settlements[0].at("人口"), "100");
}

TEST_F(OutputsCli, HeadersAreChineseForPeopleAndKeysForMachines) {
    // A workbook: Chinese names, each with its key in a note; numbers stay numbers.
    const fs::path xlsx = dir / "m.xlsx";
    auto r = run_qiancun({"metrics", reg, "--type", "sewage_plant", "-o", xlsx.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto types = xlsx_field_types(xlsx, "village_metrics");
    EXPECT_EQ(types.size(), 7u);
    EXPECT_EQ(types.at("村代码"), "String");
    EXPECT_EQ(types.at("农村生活污水处理设施数量"), "Integer");
    EXPECT_EQ(types.at("最近农村生活污水处理设施距离（米）"), "Real");
    EXPECT_EQ(types.at("农村生活污水处理设施面积覆盖率"), "Real");
    EXPECT_EQ(types.count("code"), 0u);
    const std::string notes = zip_member(xlsx, "xl/comments1.xml");
    for (const char *key :
         {"code", "n_sewage_plant", "nearest_sewage_plant_m", "area_cov_sewage_plant",
          "pop_cov_sewage_plant", "cov_sewage_plant", "gap_sewage_plant"})
        EXPECT_THAT(notes, HasSubstr(fmt::format("<t>{}</t>", key)));
    EXPECT_EQ(testing::read_vector(xlsx, "village_metrics").at(0).at("村代码"), "330604101201");

    // --headers en: the keys, no notes; also under a Chinese interface.
    const fs::path keys = dir / "keys.xlsx";
    r = run_qiancun({"--lang", "zh", "metrics", reg, "--type", "sewage_plant", "--headers", "en",
                     "-o", keys.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(xlsx_field_types(keys, "village_metrics").at("n_sewage_plant"), "Integer");
    EXPECT_EQ(zip_member(keys, "xl/comments1.xml"), "");

    // CSV: the keys by default (machines read it), Chinese on request, under either language.
    const fs::path csv = dir / "c.csv";
    r = run_qiancun({"classify", reg, "--no-store", "--headers", "zh", "-o", csv.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(testing::split_lines(testing::read_file(csv)).at(0),
              std::string(kBom) + "村代码,名称,乡镇,建议类别,规则,理由,登记类别,类别不符");
    r = run_qiancun({"--lang", "zh", "classify", reg, "--no-store", "-o", csv.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(testing::split_lines(testing::read_file(csv)).at(0),
              std::string(kBom) +
                  "code,name,township,suggested_class,rule,reason,recorded_class,mismatch");
    r = run_qiancun({"metrics", reg, "--type", "sewage_plant", "--headers", "zh", "-o",
                     (dir / "m.csv").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string zh_start = std::string(kBom) + "村代码,农村生活污水处理设施数量,";
    EXPECT_EQ(testing::read_file(dir / "m.csv").substr(0, zh_start.size()), zh_start);

    // The other tables' workbooks.
    r = run_qiancun({"indicators", reg, "--only", "sewage_new", "--headers", "zh", "-o",
                     (dir / "i.csv").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(testing::split_lines(testing::read_file(dir / "i.csv")).at(0),
              std::string(kBom) + "指标代码,单位,目标,应达值,实际值,状态,未计入数");
    r = run_qiancun({"check", reg, "-o", (dir / "f.xlsx").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto summary = xlsx_field_types(dir / "f.xlsx", "summary");
    EXPECT_EQ(summary.count("检查项"), 1u);
    EXPECT_EQ(summary.count("名称"), 1u);
    EXPECT_EQ(summary.at("发现数"), "Integer");
    r = run_qiancun({"check", reg, "--headers", "oops", "-o", (dir / "f.xlsx").string()});
    EXPECT_EQ(r.exit_code, 2);
}

TEST_F(OutputsCli, ListWritesTablesExportRefusesWorkbooksConfigWritesToml) {
    auto r = run_qiancun({"list", reg, "village", "-o", (dir / "v.xlsx").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("wrote 2 rows to " + (dir / "v.xlsx").string()));
    const auto villages = testing::read_vector(dir / "v.xlsx", "village");
    ASSERT_EQ(villages.size(), 2u);
    EXPECT_EQ(villages[1].at("村代码"), "330604101202");
    EXPECT_EQ(villages[1].at("名称"), "下管村");

    r = run_qiancun({"list", reg, "village", "--status", "运行", "-o", (dir / "v.csv").string()});
    EXPECT_EQ(r.exit_code, 2) << "a village has no status: " << r.err;
    r = run_qiancun({"list", reg, "sewage_plant", "-o", (dir / "p.csv").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = testing::split_lines(testing::read_file(dir / "p.csv"));
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].substr(0, 3 + 3), std::string(kBom) + "id,");

    r = run_qiancun({"list", reg, "village", "-o", (dir / "v.txt").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("'.txt' is not an output format"));
    EXPECT_FALSE(fs::exists(dir / "v.txt"));

    // export writes layers; a workbook is refused before any work, naming what writes one.
    const std::string xlsx = (dir / "x.xlsx").string();
    r = run_qiancun({"export", reg, "village", xlsx});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, fmt::format("qiancun: {}: export writes map layers (.shp .gpkg .geojson .json "
                                 ".csv), not workbooks; for the rows of village as a workbook: "
                                 "qiancun list {} village -o {}\n",
                                 xlsx, reg, xlsx));
    EXPECT_FALSE(fs::exists(xlsx));

    // config -o: TOML only.
    for (const char *what : {"--print", "--print-targets"}) {
        r = run_qiancun({"config", what, "-o", (dir / "radii.txt").string()});
        EXPECT_EQ(r.exit_code, 2) << what;
        EXPECT_EQ(r.err, "qiancun: -o " + (dir / "radii.txt").string() +
                             ": config writes a TOML file; name it .toml (e.g. radii.toml)\n");
        EXPECT_FALSE(fs::exists(dir / "radii.txt"));
    }
    r = run_qiancun({"config", "--print", "-o", (dir / "radii.TOML").string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(testing::read_file(dir / "radii.TOML"), HasSubstr("[types.sewage_plant]"));
}

TEST_F(OutputsCli, LayerExtensionsWriteTheStoredLayer) {
    auto r = run_qiancun({"metrics", reg, "-o", (dir / "m.gpkg").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(testing::read_vector(dir / "m.gpkg", "village_metrics").size(), 2u);
    r = run_qiancun({"classify", reg, "-o", (dir / "c.geojson").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(testing::read_vector(dir / "c.geojson").size(), 2u);

    // A subset is not stored, so there is no layer to write: refused before the work.
    r = run_qiancun({"metrics", reg, "--type", "sewage_plant", "-o", (dir / "s.gpkg").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("only the full run stores"));
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(fs::exists(dir / "s.gpkg"));
}

TEST_F(OutputsCli, JsonFileIsAnArrayOfObjects) {
    auto r =
        run_qiancun({"metrics", reg, "--type", "sewage_plant", "-o", (dir / "m.json").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(testing::read_file(dir / "m.json"));
    ASSERT_TRUE(j.is_array());
    ASSERT_EQ(j.size(), 2u);
    EXPECT_EQ(j[0]["code"], "330604101201");
    EXPECT_NEAR(j[0]["area_cov_sewage_plant"].get<double>(), std::numbers::pi / 4, kRatioTol);
}

TEST_F(OutputsCli, UnknownExtensionIsRefusedBeforeAnyWork) {
    const std::string before = testing::registry_fingerprint(reg);
    const std::vector<std::vector<std::string>> commands{
        {"metrics", reg, "-o", (dir / "m.txt").string()},
        {"metrics", reg, "--format", "csv", "-o", (dir / "m").string()},
        {"classify", reg, "-o", (dir / "c.pdf").string()},
        {"indicators", reg, "-o", (dir / "i.docx").string()},
        {"gaps", reg, "--type", "sewage_plant", "-o", (dir / "g.txt").string()},
        {"service-area", reg, "--type", "sewage_plant", "-o", (dir / "s.kml").string()},
        {"route", reg, "--from", "S1", "--to-nearest", "sewage_plant", "-o",
         (dir / "r.txt").string()},
        {"export", reg, "village", (dir / "v.dxf").string()}};
    for (const auto &args : commands) {
        SCOPED_TRACE(args[0] + " " + args.back());
        const auto r = run_qiancun(args);
        EXPECT_EQ(r.exit_code, 2) << r.out;
        EXPECT_EQ(r.out, "") << "no table before the refusal";
        EXPECT_FALSE(fs::exists(args.back()));
        if (args[0] != "export") {
            EXPECT_THAT(r.err, HasSubstr("-o takes"));
        }
    }
    EXPECT_THAT(run_qiancun(commands[0]).err,
                HasSubstr("-o " + (dir / "m.txt").string() +
                          ": '.txt' is not an output format; -o takes .csv .xlsx .json .gpkg "
                          ".shp .geojson"));
    EXPECT_EQ(testing::registry_fingerprint(reg), before) << "nothing was stored";
}

} // namespace
} // namespace qiancun
