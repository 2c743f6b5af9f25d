#include "qiancun/digest.hpp"
#include "qiancun/error.hpp"
#include "qiancun/importer.hpp"

#include "testing/testing.hpp"
#include "testing/zip_writer.hpp"

#include <fmt/format.h>

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using importers::ImportOptions;
using testing::TempDir;
using testing::ZipEntry;

/// Three sewage plants in EPSG:4549, as a Shapefile `<stem>.shp` in `dir`.
void write_plants(const fs::path &dir, const std::string &stem) {
    std::vector<testing::FixtureFeature> features;
    for (int i = 0; i < 3; ++i)
        features.push_back(
            {fmt::format("POINT ({} {})", 500100 + 100 * i, 3320100),
             {{"id", fmt::format("{}{}", stem, i)}, {"status", "运行"}, {"name", "东山污水站"}}});
    testing::write_vector(dir / (stem + ".shp"), "ESRI Shapefile", stem, 4549,
                          {"id", "status", "name"}, features, {"ENCODING=UTF-8"});
}

/// Two villages in EPSG:4549 as `villages.shp` in `dir`.
void write_villages(const fs::path &dir) {
    testing::write_vector(dir / "villages.shp", "ESRI Shapefile", "villages", 4549,
                          {"code", "name"},
                          {{"POLYGON ((500000 3320000, 501000 3320000, 501000 3321000, 500000 "
                            "3321000, 500000 3320000))",
                            {{"code", "330604101201"}, {"name", "东山村"}}}},
                          {"ENCODING=UTF-8"});
}

struct Archives : ::testing::Test {
    TempDir dir;
    fs::path parts = dir / "parts";
    void SetUp() override {
        fs::create_directories(parts);
        write_plants(parts, "plants");
        write_plants(parts, "wells");
        write_villages(parts);
    }

    /// Imports `opt` into a fresh registry in EPSG:4549; the rows of the kind, as text.
    Rows import_rows(ImportOptions opt, ImportRecord *record = nullptr) {
        const auto path = dir / "r.sqlite";
        fs::remove(path);
        auto reg = Registry::create(path, 4549);
        importers::import_file(reg, opt);
        if (record)
            *record = reg.info().last_imports.front();
        ListFilter f;
        f.with_wkt = true;
        return reg.list(opt.kind, f);
    }

    /// The problem of the InputError that importing `opt` throws ("" when it imports).
    std::string import_error(ImportOptions opt) {
        const auto path = dir / "e.sqlite";
        fs::remove(path);
        auto reg = Registry::create(path, 4549);
        const auto before = reg.content_checksum();
        try {
            importers::import_file(reg, opt);
        } catch (const InputError &e) {
            EXPECT_EQ(reg.content_checksum(), before) << "the registry changed";
            return e.what();
        }
        return "";
    }

    static ImportOptions plants(const fs::path &source, const std::string &layer = "") {
        ImportOptions o;
        o.kind = "sewage_plant";
        o.source = source;
        o.layer = layer;
        return o;
    }
};

/// import_log's content_hash of one delivered file: SHA-256 over the file's hex SHA-256 (the
/// scheme that also covers a Shapefile's parts).
std::string delivered_hash(const fs::path &file) {
    Sha256 h;
    h.update(sha256_file(file));
    return h.hex();
}

/// The column `name` of every row.
std::vector<std::string> column(const Rows &rows, const std::string &name) {
    const auto it = std::find(rows.columns.begin(), rows.columns.end(), name);
    std::vector<std::string> out;
    for (const auto &r : rows.rows)
        out.push_back(value_to_text(r[static_cast<std::size_t>(it - rows.columns.begin())]));
    return out;
}

TEST_F(Archives, ZippedShapefileImportsLikeTheFileItself) {
    testing::write_zip(dir / "plants.zip", testing::entries_of(parts, "plants"));
    ImportRecord record;
    const auto zipped = import_rows(plants(dir / "plants.zip"), &record);
    const auto plain = import_rows(plants(parts / "plants.shp"));
    ASSERT_EQ(zipped.rows.size(), 3u);
    for (const char *c : {"id", "status", "name", "wkt"})
        EXPECT_EQ(column(zipped, c), column(plain, c)) << c;
    EXPECT_EQ(column(zipped, "id"), (std::vector<std::string>{"plants0", "plants1", "plants2"}));
    // Provenance is the delivered file: the archive, its SHA-256.
    EXPECT_EQ(record.source, (dir / "plants.zip").string());
    EXPECT_EQ(record.content_hash, delivered_hash(dir / "plants.zip"));
    EXPECT_EQ(column(zipped, "source_file")[0], (dir / "plants.zip").string());
}

TEST_F(Archives, TwoLayersNeedLayerWhichNamesTheFileWithOrWithoutExtension) {
    auto entries = testing::entries_of(parts, "plants");
    for (auto &e : testing::entries_of(parts, "wells"))
        entries.push_back(e);
    testing::write_zip(dir / "two.zip", entries);
    const std::string archive = (dir / "two.zip").string();
    EXPECT_EQ(import_error(plants(dir / "two.zip")),
              archive + ": the archive holds several vector files: plants.shp, wells.shp; choose "
                        "one with --layer (e.g. --layer plants)");
    EXPECT_EQ(column(import_rows(plants(dir / "two.zip", "wells")), "id"),
              (std::vector<std::string>{"wells0", "wells1", "wells2"}));
    EXPECT_EQ(column(import_rows(plants(dir / "two.zip", "plants.shp")), "id"),
              (std::vector<std::string>{"plants0", "plants1", "plants2"}));
    EXPECT_EQ(import_error(plants(dir / "two.zip", "ponds")),
              archive + ": the archive has no file 'ponds'; it holds: plants.shp, wells.shp");
}

TEST_F(Archives, NestedFoldersAndMacMetadataAreRead) {
    auto entries = testing::entries_of(parts, "plants", "2025/11月/水利局");
    entries.push_back({"__MACOSX/2025/11月/水利局/._plants.shp", {}, "mac resource fork"});
    testing::write_zip(dir / "nested.zip", entries);
    EXPECT_EQ(column(import_rows(plants(dir / "nested.zip")), "id"),
              (std::vector<std::string>{"plants0", "plants1", "plants2"}));
}

TEST_F(Archives, ErrorsNameTheArchiveAndTheFileInside) {
    std::vector<ZipEntry> entries = testing::entries_of(parts, "plants", "water");
    testing::write_zip(dir / "plants.zip", entries);
    auto o = plants(dir / "plants.zip");
    o.field_map = {{"capacity_m3d", "name"}}; // text where a number belongs
    const auto msg = import_error(o);
    EXPECT_EQ(
        msg.rfind((dir / "plants.zip/water/plants.shp").string() + " (layer plants), row 1: ", 0),
        0u)
        << msg;
}

TEST_F(Archives, ZipWithoutDbfGetsTheMessageOfTheUnzippedShapefile) {
    std::vector<ZipEntry> entries;
    for (auto &e : testing::entries_of(parts, "plants"))
        if (e.name != "plants.dbf")
            entries.push_back(e);
    testing::write_zip(dir / "nodbf.zip", entries);
    fs::remove(parts / "plants.dbf");
    const std::string problem =
        "the Shapefile's attribute table plants.dbf is missing (a Shapefile is .shp, .shx and "
        ".dbf side by side; copy all of them)";
    EXPECT_EQ(import_error(plants(parts / "plants.shp")),
              (parts / "plants.shp").string() + ": " + problem);
    EXPECT_EQ(import_error(plants(dir / "nodbf.zip")),
              (dir / "nodbf.zip/plants.shp").string() + ": " + problem);
}

TEST_F(Archives, KmzReadsItsExtendedDataLikeTheKml) {
    const auto kml = testing::sample_maps_dir() / "courier_stations.kml";
    testing::write_zip(dir / "couriers.kmz",
                       {{"doc.kml", kml, {}}, {"files/icon.png", {}, "not an image"}});
    ImportOptions o;
    o.kind = "courier_station";
    o.field_map = {{"name", "Name"}};
    o.source = kml;
    const auto plain = import_rows(o);
    o.source = dir / "couriers.kmz";
    const auto zipped = import_rows(o);
    ASSERT_EQ(zipped.rows.size(), 285u);
    for (const char *c : {"id", "status", "name", "level", "operator", "wkt"})
        EXPECT_EQ(column(zipped, c), column(plain, c)) << c;
    EXPECT_EQ(column(zipped, "status")[0], "operating");
}

TEST_F(Archives, WorkbookAndGeoPackageInsideAZip) {
    testing::write_zip(dir / "bs.zip", {{"telecom/base_stations_5g.xlsx",
                                         testing::sample_maps_dir() / "base_stations_5g.xlsx",
                                         {}}});
    ImportOptions o;
    o.kind = "base_station_5g";
    o.source = dir / "bs.zip";
    o.layer = "基站清单";
    o.src_crs = "EPSG:4326";
    EXPECT_EQ(import_rows(o).rows.size(), 387u);

    testing::write_zip(dir / "roads.zip",
                       {{"roads.gpkg", testing::sample_maps_dir() / "roads.gpkg", {}}});
    o = {};
    o.kind = "rural_road";
    o.source = dir / "roads.zip";
    o.layer = "roads";
    o.defaults = {{"status", "运行"}};
    EXPECT_EQ(import_rows(o).rows.size(), 2785u);
}

TEST_F(Archives, ZipBombIsRefusedFromItsDirectory) {
    testing::write_zero_bomb(dir / "bomb.zip", "plants.shp", std::uint64_t{2} << 30);
    // The compressed size depends on zlib; the declared one is exact.
    const auto msg = import_error(plants(dir / "bomb.zip"));
    EXPECT_THAT(msg, ::testing::StartsWith((dir / "bomb.zip").string() +
                                           ": refused: the archive unpacks to more than 1.0 GiB "
                                           "(plants.shp declares 2.0 GiB from "));
    EXPECT_THAT(msg, ::testing::EndsWith(
                         " MiB compressed; a zip bomb?); unpack it and import the file itself"));
}

TEST_F(Archives, TooManyEntriesAreRefused) {
    testing::write_many_entries(dir / "many.zip", 10001);
    EXPECT_EQ(import_error(plants(dir / "many.zip")),
              (dir / "many.zip").string() +
                  ": refused: the archive holds 10001 entries, more than the limit of 10000 (a "
                  "zip bomb?); unpack it and import the file itself");
}

TEST_F(Archives, EntriesEscapingTheArchiveAreRefused) {
    for (const std::string name :
         {"../evil.shp", "/etc/evil.shp", "data/../../evil.shp", "..\\evil.shp", "C:/evil.shp"}) {
        auto entries = testing::entries_of(parts, "plants");
        entries.push_back({name, {}, "x"});
        testing::write_zip(dir / "evil.zip", entries);
        EXPECT_EQ(import_error(plants(dir / "evil.zip")),
                  fmt::format("{}: refused: the entry '{}' would lie outside the archive (an "
                              "absolute path or '..'); ask the sender for a clean archive",
                              (dir / "evil.zip").string(), name));
    }
}

TEST_F(Archives, NotAZipAndNoVectorFileAreNamed) {
    testing::write_file(dir / "junk.zip", "this is not a zip archive");
    EXPECT_EQ(import_error(plants(dir / "junk.zip")),
              (dir / "junk.zip").string() +
                  ": not a zip archive (no central directory at its end): damaged or not a zip");
    testing::write_zip(dir / "docs.zip", {{"readme.txt", {}, "hello"}});
    EXPECT_EQ(import_error(plants(dir / "docs.zip")),
              (dir / "docs.zip").string() +
                  ": the archive holds no vector file qiancun reads (.shp, .gpkg, .geojson, "
                  ".kml, .csv, .xlsx, …)");
}

TEST_F(Archives, ManifestSourceMayBeAZip) {
    auto entries = testing::entries_of(parts, "villages");
    for (auto &e : testing::entries_of(parts, "plants", "water"))
        entries.push_back(e);
    testing::write_zip(dir / "delivery.zip", entries);
    testing::write_file(dir / "county.toml", R"(
[[source]]
kind = "village"
path = "delivery.zip"
layer = "villages"

[[source]]
kind = "sewage_plant"
path = "delivery.zip"
layer = "water/plants.shp"
)");
    auto reg = Registry::create(dir / "m.sqlite", std::nullopt);
    const auto reports =
        importers::load_manifest(reg, importers::read_manifest(dir / "county.toml"));
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_EQ(reg.count("village"), 1);
    EXPECT_EQ(reg.count("sewage_plant"), 3);
    EXPECT_EQ(reports[1].record.content_hash, delivered_hash(dir / "delivery.zip"));
}

} // namespace
} // namespace qiancun
