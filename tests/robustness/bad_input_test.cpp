#include "robustness.hpp"

#include "qiancun/importer.hpp"
#include "qiancun/registry.hpp"

#include <cpl_vsi.h>
#include <fmt/format.h>

#include <unistd.h>

#include <fstream>
#include <functional>

/// The bad-input catalogue of SPEC §7: every case runs the real `qiancun import` on a broken
/// file made here, and must fail with exit code 3 and one line naming the file, the row or
/// feature and the problem, leaving every table of the registry exactly as it was.
///
/// Choices documented here: "the county" is the area of use of the registry's working CRS
/// (EPSG:4549, 118.5–121.5°E): a village outside it cannot belong to this county's registry.
/// An id already in the registry is the same asset, so importing it again is an update (see
/// ImportsUpdateAnIdAlreadyInTheRegistry), not a duplicate; duplicates are within one file.

namespace qiancun {
namespace {

using testing::FixtureFeature;
using testing::TempDir;
namespace fs = std::filesystem;

constexpr const char *kSquare =
    "POLYGON ((500000 3320000, 501000 3320000, 501000 3321000, 500000 3321000, 500000 3320000))";

/// One bad input: `make` writes it into the directory and returns the import arguments after
/// the registry (source, --as, options); the message must contain each of `expected`.
struct BadInput {
    std::string name;
    std::function<std::vector<std::string>(const fs::path &dir)> make;
    std::vector<std::string> expected;
};

void write_bytes(const fs::path &path, const std::string &bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

/// Overwrites `bytes` at `offset` of a file.
void patch(const fs::path &path, std::size_t offset, const std::string &bytes) {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::string> plant_args(const fs::path &src) {
    return {src.string(), "--as", "sewage_plant"};
}

/// A CSV of sewage plants with x,y columns in the working CRS.
std::vector<std::string> csv_args(const fs::path &src) {
    return {src.string(), "--as", "sewage_plant", "--src-crs", "EPSG:4549"};
}

void PrintTo(const BadInput &c, std::ostream *os) {
    *os << c.name;
}

/// A Shapefile of three sewage plants in EPSG:4549 (`epsg` 0: without .prj).
fs::path plants_shp(const fs::path &dir, int epsg = 4549,
                    const std::vector<std::string> &options = {}) {
    std::vector<FixtureFeature> features;
    for (int i = 0; i < 3; ++i)
        features.push_back(
            {fmt::format("POINT ({} {})", 500100 + 100 * i, 3320100),
             {{"id", fmt::format("P{}", i)}, {"status", "operating"}, {"name", "东山污水站"}}});
    const auto path = dir / "plants.shp";
    testing::write_vector(path, "ESRI Shapefile", "plants", epsg, {"id", "status", "name"},
                          features, options);
    return path;
}

/// A CSV of one sewage plant with lon/lat text `lon`, `lat` (EPSG:4326).
std::vector<std::string> csv_point(const fs::path &dir, const std::string &lon,
                                   const std::string &lat) {
    testing::write_file(dir / "p.csv",
                        fmt::format("id,status,lon,lat\nB,operating,120.87,30.02\nC,operating,{},{}"
                                    "\n",
                                    lon, lat));
    return {(dir / "p.csv").string(), "--as", "sewage_plant", "--src-crs", "EPSG:4326"};
}

/// A one-sheet XLSX written by hand (GDAL's /vsizip/), its header row's C1:D1 merged.
fs::path merged_header_xlsx(const fs::path &dir) {
    const auto path = dir / "stations.xlsx";
    const std::map<std::string, std::string> parts{
        {"[Content_Types].xml",
         R"(<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>)"},
        {"_rels/.rels",
         R"(<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>)"},
        {"xl/workbook.xml",
         R"(<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="基站清单" sheetId="1" r:id="rId1"/></sheets></workbook>)"},
        {"xl/_rels/workbook.xml.rels",
         R"(<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>)"},
        {"xl/worksheets/sheet1.xml",
         R"(<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>)"
         R"(<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c><c r="B1" t="inlineStr"><is><t>status</t></is></c><c r="C1" t="inlineStr"><is><t>坐标</t></is></c></row>)"
         R"(<row r="2"><c r="A2" t="inlineStr"><is><t>S1</t></is></c><c r="B2" t="inlineStr"><is><t>operating</t></is></c><c r="C2"><v>120.87</v></c><c r="D2"><v>30.02</v></c></row>)"
         R"(</sheetData><mergeCells count="1"><mergeCell ref="C1:D1"/></mergeCells></worksheet>)"}};
    for (const auto &[name, text] : parts) {
        const std::string vsi = fmt::format("/vsizip/{}/{}", path.string(), name);
        VSILFILE *f = VSIFOpenL(vsi.c_str(), "wb");
        if (!f)
            throw std::runtime_error("cannot write " + vsi);
        VSIFWriteL(text.data(), 1, text.size(), f);
        VSIFCloseL(f);
    }
    return path;
}

std::vector<BadInput> catalogue() {
    std::vector<BadInput> c;
    c.push_back({"ShpWithoutShx",
                 [](const fs::path &d) {
                     auto shp = plants_shp(d);
                     fs::remove(d / "plants.shx");
                     return plant_args(shp);
                 },
                 {"plants.shp", "plants.shx is missing"}});
    c.push_back({"ShpWithoutDbf",
                 [](const fs::path &d) {
                     auto shp = plants_shp(d);
                     fs::remove(d / "plants.dbf");
                     return plant_args(shp);
                 },
                 {"plants.shp", "plants.dbf is missing"}});
    c.push_back({"ShpWithoutPrj",
                 [](const fs::path &d) { return plant_args(plants_shp(d, 0)); },
                 {"plants.shp", "the source has no coordinate system (no .prj or CRS)"}});
    c.push_back({"TruncatedShp",
                 [](const fs::path &d) {
                     auto shp = plants_shp(d);
                     fs::resize_file(shp, 150);
                     return plant_args(shp);
                 },
                 {"plants.shp", "the .shp is truncated: its header says 184 bytes, the file has "
                                "150"}});
    c.push_back({"ShpHeaderOfTwoGigabytes",
                 [](const fs::path &d) {
                     auto shp = plants_shp(d);
                     patch(shp, 24, std::string("\x7f\xff\xff\xff", 4));
                     return plant_args(shp);
                 },
                 {"plants.shp", "its header says 4294967294 bytes, the file has 184"}});
    c.push_back({"DbfRecordCountDisagreesWithShp",
                 [](const fs::path &d) {
                     auto shp = plants_shp(d);
                     patch(d / "plants.dbf", 4, std::string("\x02\x00\x00\x00", 4));
                     return plant_args(shp);
                 },
                 {"plants.shp", "plants.dbf has 2 records but the index plants.shx has 3 shapes"}});
    c.push_back({"DbfHeaderClaimingTwoBillionRecords",
                 [](const fs::path &d) {
                     auto shp = plants_shp(d);
                     patch(d / "plants.dbf", 4, std::string("\xff\xff\xff\x7f", 4));
                     return plant_args(shp);
                 },
                 {"plants.shp", "plants.dbf claims 2147483647 records",
                  "truncated or its header "
                  "is damaged"}});
    c.push_back({"GbkShapefileReadAsUtf8",
                 [](const fs::path &d) {
                     auto shp = plants_shp(d, 4549, {"ENCODING=CP936"});
                     testing::strip_encoding_declaration(shp);
                     auto args = plant_args(shp);
                     args.insert(args.end(), {"--encoding", "UTF-8"});
                     return args;
                 },
                 {"plants.shp", "row 1: name is not valid UTF-8 text (if the source is GBK, pass "
                                "--encoding GBK)"}});
    c.push_back({"GbkCsvReadAsUtf8",
                 [](const fs::path &d) {
                     // "东山" in GBK.
                     write_bytes(d / "p.csv", "id,status,name,x,y\nB,operating,\xb6\xab\xc9\xbd,"
                                              "500100,3320100\n");
                     return csv_args(d / "p.csv");
                 },
                 {"p.csv", "row 1: name is not valid UTF-8 text"}});
    c.push_back(
        {"Utf8CsvReadAsGbk",
         [](const fs::path &d) {
             testing::write_file(d / "p.csv", "id,status,name,x,y\nB,operating,东山村污水站,"
                                              "500100,3320100\n");
             auto args = csv_args(d / "p.csv");
             args.insert(args.end(), {"--encoding", "GBK"});
             return args;
         },
         {"p.csv", "row 1: name '东山村污水站' is UTF-8 text, but --encoding GBK was given"}});
    c.push_back({"GeoJsonSyntaxErrorNamesTheLine",
                 [](const fs::path &d) {
                     testing::write_file(d / "v.geojson",
                                         "{\"type\":\"FeatureCollection\",\n\"features\":[\n"
                                         "{\"type\":\"Feature\",\n\"properties\":{\"id\":\"A\" "
                                         "\"status\":\"operating\"},\n\"geometry\":null}]}\n");
                     return plant_args(d / "v.geojson");
                 },
                 {"v.geojson", "GDAL cannot read it", "line 4"}});
    c.push_back({"CsvMissingCoordinate",
                 [](const fs::path &d) { return csv_point(d, "", "30.0"); },
                 {"p.csv", "row 2: lon is empty"}});
    c.push_back({"CsvNonNumericCoordinate",
                 [](const fs::path &d) { return csv_point(d, "120.8E", "30.0"); },
                 {"p.csv", "row 2: coordinate lon '120.8E' is not a number"}});
    c.push_back({"CsvSwappedCoordinates",
                 [](const fs::path &d) { return csv_point(d, "30.02", "120.87"); },
                 {"p.csv", "row 2: lon 30.02 and lat 120.87 look swapped"}});
    c.push_back({"CsvNanCoordinate",
                 [](const fs::path &d) { return csv_point(d, "120.8", "NaN"); },
                 {"p.csv", "row 2: coordinate lat 'NaN' is not a number"}});
    c.push_back({"CsvOutOfRangeCoordinates",
                 [](const fs::path &d) { return csv_point(d, "200.5", "95"); },
                 {"p.csv", "row 2: lon 200.5 / lat 95 is not a longitude/latitude"}});
    c.push_back({"CsvInfiniteCoordinate",
                 [](const fs::path &d) { return csv_point(d, "1e999", "30.0"); },
                 {"p.csv", "row 2: coordinate lon '1e999' is not a number"}});
    c.push_back(
        {"KmlWithoutPlacemarks",
         [](const fs::path &d) {
             testing::write_file(d / "c.kml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml "
                                              "xmlns=\"http://www.opengis.net/kml/2.2\"><Document>"
                                              "<name>快递站</name></Document></kml>\n");
             return std::vector<std::string>{(d / "c.kml").string(), "--as", "courier_station"};
         },
         {"c.kml", "no placemarks"}});
    c.push_back({"XlsxWithMergedHeaderCells",
                 [](const fs::path &d) {
                     return std::vector<std::string>{merged_header_xlsx(d).string(), "--as",
                                                     "base_station_5g", "--src-crs", "EPSG:4326"};
                 },
                 {"stations.xlsx", "no lon/lat columns",
                  "column 4 has no name in the header row: merged or blank header cells?"}});
    c.push_back(
        {"NullGeometry",
         [](const fs::path &d) {
             testing::write_file(d / "c.geojson",
                                 R"({"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"K1","status":"operating"},"geometry":{"type":"Point","coordinates":[120.87,30.02]}},
{"type":"Feature","properties":{"id":"K2","status":"operating"},"geometry":null}]})");
             return std::vector<std::string>{(d / "c.geojson").string(), "--as", "courier_station"};
         },
         {"c.geojson", "row 2: the feature has no geometry"}});
    c.push_back({"EmptyGeometry",
                 [](const fs::path &d) {
                     testing::write_vector(d / "v.geojson", "GeoJSON", "v", 4549, {"code"},
                                           {{kSquare, {{"code", "330604101202"}}},
                                            {"POLYGON EMPTY", {{"code", "330604101203"}}}});
                     return std::vector<std::string>{(d / "v.geojson").string(), "--as", "village"};
                 },
                 {"v.geojson", "row 2: the feature has no geometry"}});
    c.push_back({"SelfIntersectingPolygonRejected",
                 [](const fs::path &d) {
                     testing::write_vector(d / "bow.geojson", "GeoJSON", "bow", 4549, {"code"},
                                           {{"POLYGON ((502000 3320000, 503000 3321000, 503000 "
                                             "3320000, 502000 3321000, 502000 3320000))",
                                             {{"code", "330604101209"}}}});
                     return std::vector<std::string>{(d / "bow.geojson").string(), "--as",
                                                     "village", "--reject-invalid"};
                 },
                 {"bow.geojson", "row 1: Self-intersection"}});
    c.push_back(
        {"RingNotClosed",
         [](const fs::path &d) {
             testing::write_file(
                 d / "r.geojson",
                 R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"330604101299"},"geometry":{"type":"Polygon","coordinates":[[[120.87,30.02],[120.88,30.02],[120.88,30.03],[120.87,30.03]]]}}]})");
             return std::vector<std::string>{(d / "r.geojson").string(), "--as", "village"};
         },
         {"r.geojson", "row 1: ", "not closed"}});
    c.push_back(
        {"VillageOutsideTheCounty",
         [](const fs::path &d) {
             // A village in Guangzhou: outside the working CRS's zone, so not this county.
             testing::write_vector(d / "far.geojson", "GeoJSON", "far", 4326, {"code"},
                                   {{"POLYGON ((113.26 23.13, 113.27 23.13, 113.27 "
                                     "23.14, 113.26 23.13))",
                                     {{"code", "440104001001"}}}});
             return std::vector<std::string>{(d / "far.geojson").string(), "--as", "village"};
         },
         {"far.geojson", "row 1: coordinates (113.260000, 23.130000) lie outside the area "
                         "of use of the working CRS EPSG:4549"}});
    c.push_back({"DuplicateIdWithinTheFile",
                 [](const fs::path &d) {
                     testing::write_file(d / "p.csv", "id,status,x,y\nB,operating,500100,3320100\n"
                                                      "C,operating,500150,3320100\n"
                                                      "B,operating,500200,3320200\n");
                     return csv_args(d / "p.csv");
                 },
                 {"p.csv", "row 3: id 'B' appears twice in the source (rows 1 and 3)"}});
    c.push_back({"StatusOfTheWrongType",
                 [](const fs::path &d) {
                     testing::write_file(d / "p.csv", "id,status,x,y\nB,1,500100,3320100\n");
                     return csv_args(d / "p.csv");
                 },
                 {"p.csv", "row 1: status '1' is not one of planned, building, operating"}});
    c.push_back({"YearOfTheWrongType",
                 [](const fs::path &d) {
                     testing::write_file(d / "p.csv", "id,status,built_year,x,y\n"
                                                      "B,operating,二〇一九,500100,3320100\n");
                     return csv_args(d / "p.csv");
                 },
                 {"p.csv", "row 1: built_year '二〇一九' is not a year"}});
    c.push_back({"PathThatDoesNotExist",
                 [](const fs::path &d) { return plant_args(d / "nope.csv"); },
                 {"nope.csv", "the file does not exist"}});
    c.push_back({"EmptyFile",
                 [](const fs::path &d) {
                     write_bytes(d / "empty.geojson", "");
                     return plant_args(d / "empty.geojson");
                 },
                 {"empty.geojson", "GDAL cannot read it as a vector file"}});
    c.push_back({"GarbageWithAShapefileName",
                 [](const fs::path &d) {
                     write_bytes(d / "junk.shp", std::string(300, '\x07'));
                     write_bytes(d / "junk.shx", std::string(100, '\0'));
                     write_bytes(d / "junk.dbf", "not a dbf");
                     return plant_args(d / "junk.shp");
                 },
                 {"junk.shp", "the .shp is truncated or not a Shapefile"}});
    return c;
}

/// Every case starts from the same registry: one village, one sewage plant.
class BadInputTest : public ::testing::TestWithParam<BadInput> {
protected:
    static void SetUpTestSuite() {
        s_dir = new TempDir;
        const auto reg = *s_dir / "template.sqlite";
        auto r = Registry::create(reg, 4549);
        testing::write_vector(*s_dir / "v.geojson", "GeoJSON", "v", 4549, {"code", "name"},
                              {{kSquare, {{"code", "330604101201"}, {"name", "东山村"}}}});
        importers::ImportOptions v;
        v.kind = "village";
        v.source = *s_dir / "v.geojson";
        importers::import_file(r, v);
        testing::write_file(*s_dir / "ok.csv", "id,status,x,y\nA,operating,500500,3320500\n");
        importers::ImportOptions p;
        p.kind = "sewage_plant";
        p.source = *s_dir / "ok.csv";
        p.src_crs = "EPSG:4549";
        importers::import_file(r, p);
    }
    static void TearDownTestSuite() {
        delete s_dir;
        s_dir = nullptr;
    }
    static TempDir *s_dir;
};

TempDir *BadInputTest::s_dir = nullptr;

TEST_P(BadInputTest, FailsWithFileRowAndProblemAndLeavesTheRegistryUnchanged) {
    const BadInput &c = GetParam();
    TempDir dir;
    const auto reg = dir / "r.sqlite";
    fs::copy_file(*s_dir / "template.sqlite", reg);
    const std::string before = testing::checksum(reg);
    std::vector<std::string> args{"import", reg.string()};
    for (auto &a : c.make(dir.path()))
        args.push_back(std::move(a));
    const auto r = testing::run_qiancun(args);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    const auto lines = testing::split_lines(r.err);
    ASSERT_FALSE(lines.empty());
    const std::string &last = lines.back();
    EXPECT_EQ(last.rfind("qiancun: ", 0), 0u) << last;
    for (const auto &e : c.expected)
        EXPECT_NE(last.find(e), std::string::npos)
            << "message: " << last << "\nexpected to contain: " << e;
    EXPECT_EQ(testing::checksum(reg), before) << "the registry changed";
    EXPECT_EQ(testing::integrity_check(reg), "ok");
}

INSTANTIATE_TEST_SUITE_P(Catalogue, BadInputTest, ::testing::ValuesIn(catalogue()),
                         [](const auto &info) { return info.param.name; });

TEST(BadInput, UnreadableFileIsNamedEvenForRoot) {
    // Root reads anything, so as root the import runs as `nobody` (setpriv): a real check of
    // the permission path rather than a skipped one.
    TempDir dir;
    const auto reg = dir / "r.sqlite";
    Registry::create(reg, 4549);
    testing::write_file(dir / "p.csv", "id,status,x,y\nB,operating,500100,3320100\n");
    fs::permissions(dir / "p.csv", fs::perms::none);
    const std::string before = testing::checksum(reg);
    std::vector<std::string> argv;
    if (::geteuid() == 0) {
        if (!fs::exists("/usr/bin/setpriv"))
            GTEST_SKIP() << "running as root without setpriv to drop privileges";
        fs::permissions(dir.path(), fs::perms::all);
        fs::permissions(reg, fs::perms::all);
        argv = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
    }
    argv.push_back(QIANCUN_BINARY);
    argv.insert(argv.end(),
                {"import", reg.string(), (dir / "p.csv").string(), "--as", "sewage_plant"});
    const auto r = testing::run_command(argv);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_THAT(r.err, ::testing::HasSubstr("p.csv"));
    EXPECT_THAT(r.err, ::testing::HasSubstr("the file cannot be read (permission denied)"));
    EXPECT_EQ(testing::checksum(reg), before);
}

TEST(BadInput, ImportsUpdateAnIdAlreadyInTheRegistry) {
    // Same id = same asset: a second import updates it, it never doubles.
    TempDir dir;
    const auto reg = dir / "r.sqlite";
    Registry::create(reg, 4549);
    testing::write_file(dir / "a.csv", "id,status,x,y\nB,building,500100,3320100\n");
    testing::write_file(dir / "b.csv", "id,status,x,y\nB,operating,500100,3320100\n");
    for (const char *f : {"a.csv", "b.csv"}) {
        const auto r = testing::run_qiancun({"import", reg.string(), (dir / f).string(), "--as",
                                             "sewage_plant", "--src-crs", "EPSG:4549"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    auto r = Registry::open(reg, true);
    const auto rows = r.list("sewage_plant", {});
    ASSERT_EQ(rows.rows.size(), 1u);
    const auto history = r.status_history("sewage_plant", "B");
    ASSERT_FALSE(history.empty());
    EXPECT_EQ(history.back().status, "operating");
}

} // namespace
} // namespace qiancun
