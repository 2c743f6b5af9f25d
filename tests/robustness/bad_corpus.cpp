#include "bad_corpus.hpp"

#include "testing/testing.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

/// Choices documented here: "the county" is the area of use of the registry's working CRS
/// (EPSG:4549, 118.5–121.5°E): a village outside it cannot belong to this county's registry.
/// Ids: re-importing a source (a file of the same name) updates its rows by id; an id that
/// another source already brought is a duplicate against the registry (the user may let the
/// new source take it over with --update); an id twice in one file is a duplicate within it.
/// See BadInput.ReimportingTheSameSourceUpdatesItsRows and BadInput.UpdateLetsAnotherSource*.

namespace qiancun::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char *kSquare =
    "POLYGON ((500000 3320000, 501000 3320000, 501000 3321000, 500000 3321000, 500000 3320000))";

/// Written into every .dbf header instead of today's date, so the corpus is reproducible.
constexpr const char *kDbfDate = "DBF_DATE_LAST_UPDATE=2026-01-01";

void write_bytes(const fs::path &path, const std::string &bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
    if (!out)
        throw std::runtime_error("cannot write " + path.string());
}

/// Overwrites `bytes` at `offset` of a file.
void patch(const fs::path &path, std::size_t offset, const std::string &bytes) {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f)
        throw std::runtime_error("cannot patch " + path.string());
}

std::vector<std::string> plant_args(const std::string &src) {
    return {src, "--as", "sewage_plant"};
}

/// A CSV of sewage plants with x,y columns in the working CRS.
std::vector<std::string> csv_args(const std::string &src) {
    return {src, "--as", "sewage_plant", "--src-crs", "EPSG:4549"};
}

/// A Shapefile of three sewage plants in EPSG:4549 (`epsg` 0: without .prj).
std::string plants_shp(const fs::path &dir, int epsg = 4549,
                       std::vector<std::string> options = {}) {
    std::vector<FixtureFeature> features;
    for (int i = 0; i < 3; ++i)
        features.push_back(
            {fmt::format("POINT ({} {})", 500100 + 100 * i, 3320100),
             {{"id", fmt::format("P{}", i)}, {"status", "operating"}, {"name", "东山污水站"}}});
    options.push_back(kDbfDate);
    write_vector(dir / "plants.shp", "ESRI Shapefile", "plants", epsg, {"id", "status", "name"},
                 features, options);
    return "plants.shp";
}

/// A CSV of one sewage plant with lon/lat text `lon`, `lat` (EPSG:4326).
std::vector<std::string> csv_point(const fs::path &dir, const std::string &lon,
                                   const std::string &lat) {
    write_file(
        dir / "p.csv",
        fmt::format("id,status,lon,lat\nB,operating,120.87,30.02\nC,operating,{},{}\n", lon, lat));
    return {"p.csv", "--as", "sewage_plant", "--src-crs", "EPSG:4326"};
}

/// CRC-32 of ZIP (ISO 3309, reflected polynomial 0xEDB88320).
std::uint32_t crc32(const std::string &bytes) {
    std::uint32_t crc = 0xffffffffu;
    for (unsigned char b : bytes) {
        crc ^= b;
        for (int k = 0; k < 8; ++k)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

void put16(std::string &out, std::uint32_t v) {
    out.push_back(static_cast<char>(v & 0xff));
    out.push_back(static_cast<char>((v >> 8) & 0xff));
}

void put32(std::string &out, std::uint32_t v) {
    put16(out, v & 0xffff);
    put16(out, v >> 16);
}

/// A ZIP archive of `parts` stored uncompressed with a fixed date (1980-01-01), so the same
/// parts always give the same bytes (PKWARE APPNOTE 6.3: local headers, central directory,
/// end record).
std::string stored_zip(const std::map<std::string, std::string> &parts) {
    std::string out, central;
    for (const auto &[name, data] : parts) {
        const auto offset = static_cast<std::uint32_t>(out.size());
        const std::uint32_t crc = crc32(data);
        const auto size = static_cast<std::uint32_t>(data.size());
        const auto name_size = static_cast<std::uint32_t>(name.size());
        put32(out, 0x04034b50u);
        put16(out, 20);     // version needed
        put16(out, 0);      // flags
        put16(out, 0);      // stored
        put16(out, 0);      // time 00:00
        put16(out, 0x0021); // date 1980-01-01
        put32(out, crc);
        put32(out, size);
        put32(out, size);
        put16(out, name_size);
        put16(out, 0);
        out += name;
        out += data;

        put32(central, 0x02014b50u);
        put16(central, 20); // version made by
        put16(central, 20); // version needed
        put16(central, 0);
        put16(central, 0);
        put16(central, 0);
        put16(central, 0x0021);
        put32(central, crc);
        put32(central, size);
        put32(central, size);
        put16(central, name_size);
        put16(central, 0); // extra
        put16(central, 0); // comment
        put16(central, 0); // disk
        put16(central, 0); // internal attributes
        put32(central, 0); // external attributes
        put32(central, offset);
        central += name;
    }
    const auto central_offset = static_cast<std::uint32_t>(out.size());
    out += central;
    put32(out, 0x06054b50u);
    put16(out, 0);
    put16(out, 0);
    put16(out, static_cast<std::uint32_t>(parts.size()));
    put16(out, static_cast<std::uint32_t>(parts.size()));
    put32(out, static_cast<std::uint32_t>(central.size()));
    put32(out, central_offset);
    put16(out, 0);
    return out;
}

/// A one-sheet XLSX, its header row's C1:D1 merged.
std::string merged_header_xlsx(const fs::path &dir) {
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
    write_bytes(dir / "stations.xlsx", stored_zip(parts));
    return "stations.xlsx";
}

} // namespace

std::string to_string(BadSetup setup) {
    switch (setup) {
    case BadSetup::copy:
        return "copy";
    case BadSetup::absent:
        return "absent";
    case BadSetup::unreadable:
        return "unreadable";
    }
    return "copy";
}

BadSetup bad_setup_from_string(const std::string &text) {
    for (auto s : {BadSetup::copy, BadSetup::absent, BadSetup::unreadable})
        if (to_string(s) == text)
            return s;
    throw std::invalid_argument("unknown setup '" + text + "'");
}

std::vector<std::vector<std::string>> bad_base_registry_imports() {
    const std::string dir = kBadBaseRegistryDir;
    return {{dir + "/villages.geojson", "--as", "village"},
            {dir + "/plants.csv", "--as", "sewage_plant", "--src-crs", "EPSG:4549"}};
}

std::vector<BadCase> bad_catalogue() {
    using Args = std::vector<std::string>;
    std::vector<BadCase> c;
    c.push_back({"ShpWithoutShx",
                 "A Shapefile whose .shx index is missing.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     auto shp = plants_shp(d);
                     fs::remove(d / "plants.shx");
                     return plant_args(shp);
                 },
                 {"plants.shp", "plants.shx is missing"}});
    c.push_back({"ShpWithoutDbf",
                 "A Shapefile whose .dbf attribute table is missing.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     auto shp = plants_shp(d);
                     fs::remove(d / "plants.dbf");
                     return plant_args(shp);
                 },
                 {"plants.shp", "plants.dbf is missing"}});
    c.push_back({"ShpWithoutPrj",
                 "A Shapefile without .prj, imported without --src-crs.",
                 BadSetup::copy,
                 [](const fs::path &d) { return plant_args(plants_shp(d, 0)); },
                 {"plants.shp", "the source has no coordinate system (no .prj or CRS)"}});
    c.push_back({"TruncatedShp",
                 "A .shp cut to 150 of its 184 bytes.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     auto shp = plants_shp(d);
                     fs::resize_file(d / shp, 150);
                     return plant_args(shp);
                 },
                 {"plants.shp", "the .shp is truncated: its header says 184 bytes, the file has "
                                "150"}});
    c.push_back({"ShpHeaderOfTwoGigabytes",
                 "A 184-byte .shp whose header claims 0x7fffffff 16-bit words (4 GB).",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     auto shp = plants_shp(d);
                     patch(d / shp, 24, std::string("\x7f\xff\xff\xff", 4));
                     return plant_args(shp);
                 },
                 {"plants.shp", "its header says 4294967294 bytes, the file has 184"}});
    c.push_back({"DbfRecordCountDisagreesWithShp",
                 "A .dbf whose header counts 2 records for the 3 shapes of the .shp/.shx.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     auto shp = plants_shp(d);
                     patch(d / "plants.dbf", 4, std::string("\x02\x00\x00\x00", 4));
                     return plant_args(shp);
                 },
                 {"plants.shp", "plants.dbf has 2 records but the index plants.shx has 3 shapes"}});
    c.push_back({"DbfHeaderClaimingTwoBillionRecords",
                 "A tiny .dbf whose header claims 2147483647 records.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     auto shp = plants_shp(d);
                     patch(d / "plants.dbf", 4, std::string("\xff\xff\xff\x7f", 4));
                     return plant_args(shp);
                 },
                 {"plants.shp", "plants.dbf claims 2147483647 records",
                  "truncated or its header is damaged"}});
    c.push_back({"GbkShapefileReadAsUtf8",
                 "A GBK Shapefile without .cpg or language driver, read with --encoding UTF-8.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     auto shp = plants_shp(d, 4549, {"ENCODING=CP936"});
                     strip_encoding_declaration(d / shp);
                     auto args = plant_args(shp);
                     args.insert(args.end(), {"--encoding", "UTF-8"});
                     return args;
                 },
                 {"plants.shp", "row 1: name is not valid UTF-8 text (if the source is GBK, pass "
                                "--encoding GBK)"}});
    c.push_back({"GbkCsvReadAsUtf8",
                 "A CSV whose name is GBK bytes (东山), read as UTF-8.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     // "东山" in GBK.
                     write_bytes(d / "p.csv", "id,status,name,x,y\nB,operating,\xb6\xab\xc9\xbd,"
                                              "500100,3320100\n");
                     return csv_args("p.csv");
                 },
                 {"p.csv", "row 1: name is not valid UTF-8 text"}});
    c.push_back(
        {"Utf8CsvReadAsGbk",
         "A UTF-8 CSV read with --encoding GBK.",
         BadSetup::copy,
         [](const fs::path &d) {
             write_file(d / "p.csv", "id,status,name,x,y\nB,operating,东山村污水站,"
                                     "500100,3320100\n");
             auto args = csv_args("p.csv");
             args.insert(args.end(), {"--encoding", "GBK"});
             return args;
         },
         {"p.csv", "row 1: name '东山村污水站' is UTF-8 text, but --encoding GBK was given"}});
    c.push_back(
        {"Utf8ShapefileReadAsGbk",
         "A UTF-8 Shapefile without .cpg or language driver, read with --encoding GBK.",
         BadSetup::copy,
         [](const fs::path &d) {
             auto shp = plants_shp(d, 4549, {"ENCODING=UTF-8"});
             strip_encoding_declaration(d / shp);
             auto args = plant_args(shp);
             args.insert(args.end(), {"--encoding", "GBK"});
             return args;
         },
         {"plants.shp", "row 1: name '东山污水站' is UTF-8 text, but --encoding GBK was given"}});
    c.push_back({"GeoJsonSyntaxErrorNamesTheLine",
                 "A GeoJSON missing a comma between two properties on line 4.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_file(d / "v.geojson",
                                "{\"type\":\"FeatureCollection\",\n\"features\":[\n"
                                "{\"type\":\"Feature\",\n\"properties\":{\"id\":\"A\" "
                                "\"status\":\"operating\"},\n\"geometry\":null}]}\n");
                     return plant_args("v.geojson");
                 },
                 {"v.geojson", "GDAL cannot read it", "line 4"}});
    c.push_back({"CsvMissingCoordinate",
                 "A CSV row with an empty lon.",
                 BadSetup::copy,
                 [](const fs::path &d) { return csv_point(d, "", "30.0"); },
                 {"p.csv", "row 2: lon is empty"}});
    c.push_back({"CsvNonNumericCoordinate",
                 "A CSV row with lon '120.8E'.",
                 BadSetup::copy,
                 [](const fs::path &d) { return csv_point(d, "120.8E", "30.0"); },
                 {"p.csv", "row 2: coordinate lon '120.8E' is not a number"}});
    c.push_back({"CsvSwappedCoordinates",
                 "A CSV row with the latitude in the lon column.",
                 BadSetup::copy,
                 [](const fs::path &d) { return csv_point(d, "30.02", "120.87"); },
                 {"p.csv", "row 2: lon 30.02 and lat 120.87 look swapped"}});
    c.push_back({"CsvNanCoordinate",
                 "A CSV row with lat 'NaN'.",
                 BadSetup::copy,
                 [](const fs::path &d) { return csv_point(d, "120.8", "NaN"); },
                 {"p.csv", "row 2: coordinate lat 'NaN' is not a number"}});
    c.push_back({"CsvOutOfRangeCoordinates",
                 "A CSV row with lon 200.5, lat 95.",
                 BadSetup::copy,
                 [](const fs::path &d) { return csv_point(d, "200.5", "95"); },
                 {"p.csv", "row 2: lon 200.5 / lat 95 is not a longitude/latitude"}});
    c.push_back({"CsvInfiniteCoordinate",
                 "A CSV row with lon '1e999' (infinite).",
                 BadSetup::copy,
                 [](const fs::path &d) { return csv_point(d, "1e999", "30.0"); },
                 {"p.csv", "row 2: coordinate lon '1e999' is not a number"}});
    c.push_back({"KmlWithoutPlacemarks",
                 "A KML document with no placemarks.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_file(d / "c.kml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml "
                                             "xmlns=\"http://www.opengis.net/kml/2.2\"><Document>"
                                             "<name>快递站</name></Document></kml>\n");
                     return Args{"c.kml", "--as", "courier_station"};
                 },
                 {"c.kml", "no placemarks"}});
    c.push_back({"XlsxWithMergedHeaderCells",
                 "An XLSX whose header cell 坐标 spans the lon and lat columns (C1:D1 merged).",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     return Args{merged_header_xlsx(d), "--as", "base_station_5g", "--src-crs",
                                 "EPSG:4326"};
                 },
                 {"stations.xlsx", "no lon/lat columns",
                  "column 4 has no name in the header row: merged or blank header cells?"}});
    c.push_back({"NullGeometry",
                 "A GeoJSON feature whose geometry is null.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_file(d / "c.geojson",
                                R"({"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"K1","status":"operating"},"geometry":{"type":"Point","coordinates":[120.87,30.02]}},
{"type":"Feature","properties":{"id":"K2","status":"operating"},"geometry":null}]}
)");
                     return Args{"c.geojson", "--as", "courier_station"};
                 },
                 {"c.geojson", "row 2: the feature has no geometry"}});
    c.push_back({"ShpNullShape",
                 "A Shapefile whose second record is a null shape.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_vector(
                         d / "plants.shp", "ESRI Shapefile", "plants", 4549, {"id", "status"},
                         {{"POINT (500100 3320100)", {{"id", "P1"}, {"status", "operating"}}},
                          {"", {{"id", "P2"}, {"status", "operating"}}}},
                         {kDbfDate});
                     return plant_args("plants.shp");
                 },
                 {"plants.shp", "row 2: the feature has no geometry"}});
    c.push_back({"EmptyGeometry",
                 "A GeoJSON village whose polygon is empty.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_vector(d / "v.geojson", "GeoJSON", "v", 4549, {"code"},
                                  {{kSquare, {{"code", "330604101202"}}},
                                   {"POLYGON EMPTY", {{"code", "330604101203"}}}});
                     return Args{"v.geojson", "--as", "village"};
                 },
                 {"v.geojson", "row 2: the feature has no geometry"}});
    c.push_back({"SelfIntersectingPolygonRejected",
                 "A bow-tie village polygon imported with --reject-invalid.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_vector(d / "bow.geojson", "GeoJSON", "bow", 4549, {"code"},
                                  {{"POLYGON ((502000 3320000, 503000 3321000, 503000 "
                                    "3320000, 502000 3321000, 502000 3320000))",
                                    {{"code", "330604101209"}}}});
                     return Args{"bow.geojson", "--as", "village", "--reject-invalid"};
                 },
                 {"bow.geojson", "row 1: Self-intersection"}});
    c.push_back(
        {"RingNotClosed",
         "A GeoJSON polygon whose ring does not end at its first point.",
         BadSetup::copy,
         [](const fs::path &d) {
             write_file(
                 d / "r.geojson",
                 R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"330604101299"},"geometry":{"type":"Polygon","coordinates":[[[120.87,30.02],[120.88,30.02],[120.88,30.03],[120.87,30.03]]]}}]}
)");
             return Args{"r.geojson", "--as", "village"};
         },
         {"r.geojson", "row 1: ", "not closed"}});
    c.push_back({"VillageOutsideTheCounty",
                 "A village polygon in Guangzhou, where the working CRS is 0.59 % off scale.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     // Outside the working CRS's zone, so not this county.
                     write_vector(d / "far.geojson", "GeoJSON", "far", 4326, {"code"},
                                  {{"POLYGON ((113.26 23.13, 113.27 23.13, 113.27 "
                                    "23.14, 113.26 23.13))",
                                    {{"code", "440104001001"}}}});
                     return Args{"far.geojson", "--as", "village"};
                 },
                 {"far.geojson", "row 1: coordinates (113.260000, 23.130000) lie where the working "
                                 "CRS EPSG:4549 CGCS2000 / 3-degree Gauss-Kruger CM 120E has a "
                                 "scale error of 0.591 %"}});
    c.push_back({"DuplicateIdWithinTheFile",
                 "A CSV with id B on rows 1 and 3.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_file(d / "p.csv", "id,status,x,y\nB,operating,500100,3320100\n"
                                             "C,operating,500150,3320100\n"
                                             "B,operating,500200,3320200\n");
                     return csv_args("p.csv");
                 },
                 {"p.csv", "row 3: id 'B' appears twice in the source (rows 1 and 3)"}});
    c.push_back({"DuplicateIdAgainstTheRegistry",
                 "A CSV from another department whose id A is the base registry's sewage plant "
                 "A (from registry/plants.csv).",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_file(d / "p.csv", "id,status,x,y\nC,operating,500150,3320100\n"
                                             "A,building,500200,3320200\n");
                     return csv_args("p.csv");
                 },
                 {"p.csv", "row 2: id 'A' is already in the registry from plants.csv (row 1)",
                  "--update"}});
    c.push_back({"StatusOfTheWrongType",
                 "A CSV whose status is the number 1.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_file(d / "p.csv", "id,status,x,y\nB,1,500100,3320100\n");
                     return csv_args("p.csv");
                 },
                 {"p.csv", "row 1: status '1' is not one of planned, building, operating"}});
    c.push_back({"YearOfTheWrongType",
                 "A CSV whose built_year is written in Chinese numerals.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_file(d / "p.csv", "id,status,built_year,x,y\n"
                                             "B,operating,二〇一九,500100,3320100\n");
                     return csv_args("p.csv");
                 },
                 {"p.csv", "row 1: built_year '二〇一九' is not a year"}});
    c.push_back({"StatusOfNumericTypeInGeoJson",
                 "A GeoJSON whose status is the JSON number 2.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_file(d / "p.geojson",
                                R"({"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"B","status":2},"geometry":{"type":"Point","coordinates":[120.87,30.02]}}]}
)");
                     return plant_args("p.geojson");
                 },
                 {"p.geojson", "row 1: status '2' is not one of planned, building, operating"}});
    c.push_back({"YearOfRealTypeInGeoJson",
                 "A GeoJSON whose built_year is the JSON number 2019.5.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_file(d / "p.geojson",
                                R"({"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"B","status":"operating","built_year":2019.5},"geometry":{"type":"Point","coordinates":[120.87,30.02]}}]}
)");
                     return plant_args("p.geojson");
                 },
                 {"p.geojson", "row 1: built_year '2019.5' is not a year"}});
    c.push_back({"YearOutOfRange",
                 "A CSV whose built_year is 12019.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_file(d / "p.csv", "id,status,built_year,x,y\n"
                                             "B,operating,12019,500100,3320100\n");
                     return csv_args("p.csv");
                 },
                 {"p.csv", "row 1: built_year 12019 is not a year between 1900 and 2100"}});
    c.push_back({"EmptyId",
                 "A CSV row whose id is empty.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_file(d / "p.csv", "id,status,x,y\n,operating,500100,3320100\n");
                     return csv_args("p.csv");
                 },
                 {"p.csv", "row 1: id is empty"}});
    c.push_back({"CsvWithoutCoordinateColumns",
                 "A CSV of lon/lat points with no coordinate columns at all.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_file(d / "p.csv", "id,status,name\nB,operating,东山污水站\n");
                     return Args{"p.csv", "--as", "sewage_plant", "--src-crs", "EPSG:4326"};
                 },
                 {"p.csv", "no lon/lat columns", "fields are: id, status, name"}});
    c.push_back({"PathThatDoesNotExist",
                 "A source path that does not exist.",
                 BadSetup::absent,
                 [](const fs::path &) { return plant_args("nope.csv"); },
                 {"nope.csv", "the file does not exist"}});
    c.push_back({"FileWithoutReadPermission",
                 "A CSV the importing user may not read (mode 000; as root the import runs as "
                 "nobody).",
                 BadSetup::unreadable,
                 [](const fs::path &d) {
                     write_file(d / "p.csv", "id,status,x,y\nB,operating,500100,3320100\n");
                     return plant_args("p.csv");
                 },
                 {"p.csv", "the file cannot be read (permission denied)"}});
    c.push_back({"EmptyFile",
                 "A GeoJSON file of 0 bytes.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_bytes(d / "empty.geojson", "");
                     return plant_args("empty.geojson");
                 },
                 {"empty.geojson", "GDAL cannot read it as a vector file"}});
    c.push_back({"GarbageWithAShapefileName",
                 "Bytes that are no Shapefile, named .shp/.shx/.dbf.",
                 BadSetup::copy,
                 [](const fs::path &d) {
                     write_bytes(d / "junk.shp", std::string(300, '\x07'));
                     write_bytes(d / "junk.shx", std::string(100, '\0'));
                     write_bytes(d / "junk.dbf", "not a dbf");
                     return plant_args("junk.shp");
                 },
                 {"junk.shp", "the .shp is truncated or not a Shapefile"}});
    return c;
}

namespace {

constexpr const char *kCasesHeader =
    "# The bad-input corpus of SPEC §7, written by make_bad_corpus: do not edit by hand.\n"
    "# Columns, tab-separated: case, setup, the `qiancun import` arguments after the registry\n"
    "# (separated by single spaces; the source first, relative to this directory), then one\n"
    "# column per fragment the message must contain (the file, the row or feature, the "
    "problem).\n"
    "# setup: copy = the case directory is copied to a temporary one and imported there;\n"
    "# absent = nothing to copy, the source does not exist; unreadable = the copied source is\n"
    "# made unreadable (chmod 000) and, when the test runs as root, the import runs as nobody.\n"
    "# Every case imports into a copy of the base registry (README.md) and must exit with 3.\n";

std::string join(const std::vector<std::string> &parts, const std::string &sep) {
    std::string out;
    for (const auto &p : parts) {
        if (&p != &parts.front())
            out += sep;
        out += p;
    }
    return out;
}

void check_cell(const std::string &text, const std::string &what, bool allow_space) {
    if (text.empty() || text.find_first_of("\t\n\r") != std::string::npos ||
        (!allow_space && text.find(' ') != std::string::npos))
        throw std::runtime_error(fmt::format("{} '{}' cannot be written to cases.tsv", what, text));
}

std::string cases_tsv(const std::vector<BadCaseEntry> &cases) {
    std::string out = kCasesHeader;
    for (const auto &c : cases) {
        check_cell(c.name, "case name", false);
        for (const auto &a : c.args)
            check_cell(a, "argument", false);
        std::vector<std::string> cells{c.name, to_string(c.setup), join(c.args, " ")};
        for (const auto &e : c.expected) {
            check_cell(e, "expected fragment", true);
            cells.push_back(e);
        }
        out += join(cells, "\t") + "\n";
    }
    return out;
}

std::string readme(const std::vector<BadCase> &catalogue, const std::vector<BadCaseEntry> &cases) {
    std::string out = fmt::format(
        "# Bad-input corpus\n"
        "\n"
        "The bad-input catalogue of SPEC §7: {} broken sources, each with the exact message\n"
        "fragments `qiancun import` must print. Written by `make_bad_corpus`\n"
        "(tests/robustness/bad_corpus.cpp): do not edit these files by hand. Regenerate with\n"
        "\n"
        "    cmake --build build/release --target bad_corpus\n"
        "\n"
        "or, with the generator built, `build/release/tests/robustness/make_bad_corpus "
        "tests/data/bad`.\n"
        "The output is the same byte for byte on every run with the same GDAL (Debian 12's\n"
        "3.6); the test `BadCorpus.MatchesItsGenerator` regenerates it and fails when the\n"
        "committed files and the generator disagree.\n"
        "\n"
        "## How the cases run\n"
        "\n"
        "`BadInputTest` (tests/robustness/bad_input_test.cpp) reads `cases.tsv` and, for every\n"
        "case, copies its directory to a temporary one, copies the base registry next to it and\n"
        "runs the real binary: `qiancun import <registry> <args>`. Every case must exit with\n"
        "code 3, print one last line `qiancun: ...` that contains each expected fragment (the\n"
        "file, the row or feature, the problem), and leave the content checksum of every table\n"
        "of the registry unchanged.\n"
        "\n"
        "`cases.tsv` has one line per case, tab-separated: case, setup, the import arguments\n"
        "after the registry (separated by spaces, the source first and relative to this\n"
        "directory), then one column per expected fragment. Lines starting with `#` are\n"
        "comments. The setup says what the test does beyond copying the case directory:\n"
        "\n"
        "- `copy`: nothing.\n"
        "- `absent`: there is nothing to copy; the source path does not exist.\n"
        "- `unreadable`: git keeps no permissions, so the test makes the copied source\n"
        "  unreadable (chmod 000); as root, which reads anything, the import runs as `nobody`\n"
        "  (`setpriv`).\n"
        "\n"
        "## The base registry\n"
        "\n"
        "Every case starts from the same registry, made by the test with the real binary:\n"
        "`qiancun init <registry> --crs {}`, then\n"
        "\n",
        catalogue.size(), kBadBaseRegistryCrs);
    for (const auto &args : bad_base_registry_imports())
        out += fmt::format("- `qiancun import <registry> {}`\n", join(args, " "));
    out += "\n"
           "An id already in the registry is the same asset: importing it again updates it\n"
           "(`BadInput.ImportsUpdateAnIdAlreadyInTheRegistry`), so it is not a bad input;\n"
           "duplicates are within one file. \"The county\" is the area of use of the working\n"
           "CRS: a village outside it cannot belong to this registry.\n"
           "\n"
           "## Cases\n";
    for (std::size_t i = 0; i < catalogue.size(); ++i) {
        const auto &c = cases[i];
        out += fmt::format("\n### {}\n\n{}\n\n- run: `qiancun import <registry> {}`\n", c.name,
                           catalogue[i].problem, join(c.args, " "));
        if (c.setup != BadSetup::copy)
            out += fmt::format("- setup: `{}`\n", to_string(c.setup));
        std::vector<std::string> quoted;
        for (const auto &e : c.expected)
            quoted.push_back("`" + e + "`");
        out += fmt::format("- message contains: {}\n", join(quoted, ", "));
    }
    return out;
}

} // namespace

void write_bad_corpus(const fs::path &dir) {
    if (fs::exists(dir)) {
        if (!fs::is_directory(dir))
            throw std::runtime_error(dir.string() + " is not a directory");
        if (!fs::is_empty(dir) && !fs::exists(dir / "cases.tsv"))
            throw std::runtime_error(dir.string() +
                                     " is neither empty nor a bad-input corpus (no cases.tsv): "
                                     "not writing into it");
        for (const auto &e : fs::directory_iterator(dir))
            fs::remove_all(e.path());
    }
    fs::create_directories(dir);

    const fs::path base = dir / kBadBaseRegistryDir;
    fs::create_directories(base);
    write_vector(base / "villages.geojson", "GeoJSON", "villages", 4549, {"code", "name"},
                 {{kSquare, {{"code", "330604101201"}, {"name", "东山村"}}}});
    write_file(base / "plants.csv", "id,status,x,y\nA,operating,500500,3320500\n");

    const auto catalogue = bad_catalogue();
    std::vector<BadCaseEntry> cases;
    for (const auto &c : catalogue) {
        const fs::path case_dir = dir / c.name;
        fs::create_directories(case_dir);
        BadCaseEntry e{c.name, c.setup, c.make(case_dir), c.expected};
        if (e.args.empty())
            throw std::runtime_error(c.name + " has no source");
        e.args.front() = c.name + "/" + e.args.front();
        // Git keeps no empty directory: leave none, so a checkout equals a fresh run.
        if (fs::is_empty(case_dir))
            fs::remove(case_dir);
        cases.push_back(std::move(e));
    }
    write_file(dir / "cases.tsv", cases_tsv(cases));
    write_file(dir / "README.md", readme(catalogue, cases));
}

std::vector<BadCaseEntry> read_bad_cases(const fs::path &cases_tsv) {
    std::istringstream in(read_file(cases_tsv));
    std::vector<BadCaseEntry> out;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        if (line.empty() || line.front() == '#')
            continue;
        std::vector<std::string> cells;
        std::size_t start = 0;
        for (;;) {
            const auto tab = line.find('\t', start);
            cells.push_back(line.substr(start, tab - start));
            if (tab == std::string::npos)
                break;
            start = tab + 1;
        }
        if (cells.size() < 4)
            throw std::runtime_error(fmt::format("{} line {}: {} columns, at least 4 expected",
                                                 cases_tsv.string(), number, cells.size()));
        BadCaseEntry e;
        e.name = cells[0];
        e.setup = bad_setup_from_string(cells[1]);
        std::istringstream args(cells[2]);
        for (std::string a; args >> a;)
            e.args.push_back(a);
        e.expected.assign(cells.begin() + 3, cells.end());
        out.push_back(std::move(e));
    }
    return out;
}

} // namespace qiancun::testing
