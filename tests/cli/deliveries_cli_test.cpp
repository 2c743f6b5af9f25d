#include "testing/postgres.hpp"
#include "testing/testing.hpp"
#include "testing/zip_writer.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::run_qiancun;
using testing::TempDir;

struct Deliveries : ::testing::Test {
    TempDir dir;
    std::string reg = testing::test_registry(dir.path(), "county.sqlite");
    fs::path sample = testing::sample_maps_dir();
};

TEST_F(Deliveries, ZipWithTwoShapefilesAsAPlannerGetsIt) {
    auto entries = testing::entries_of(sample, "villages", "county");
    for (auto &e : testing::entries_of(sample, "settlements", "county"))
        entries.push_back(e);
    testing::write_zip(dir / "delivery.zip", entries);
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);

    auto r = run_qiancun({"import", reg, (dir / "delivery.zip").string(), "--as", "village"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.err, fmt::format("qiancun: {}: the archive holds several vector files: "
                                 "county/settlements.shp, county/villages.shp; choose one with "
                                 "--layer (e.g. --layer settlements)\n",
                                 (dir / "delivery.zip").string()));

    r = run_qiancun({"import", reg, (dir / "delivery.zip").string(), "--as", "village", "--layer",
                     "villages", "--encoding", "GBK", "--field", "code=代码", "--field",
                     "name=村名"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, ::testing::HasSubstr("read    300  new    300"));
    r = run_qiancun({"import", reg, (dir / "delivery.zip").string(), "--as", "settlement",
                     "--layer", "settlements.shp"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, ::testing::HasSubstr("read   1803  new   1803"));
}

/// `list KIND --format csv` without the columns that name the source file and the time.
std::vector<std::string> rows_without_provenance(const std::string &reg, const std::string &kind) {
    auto r = run_qiancun({"list", reg, kind, "--format", "csv", "--wkt"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto lines = testing::split_lines(r.out);
    std::vector<std::string> out;
    std::vector<std::size_t> drop;
    for (std::size_t l = 0; l < lines.size(); ++l) {
        std::vector<std::string> cells;
        std::stringstream ss(lines[l]);
        for (std::string c; std::getline(ss, c, ',');)
            cells.push_back(c);
        if (l == 0)
            for (std::size_t i = 0; i < cells.size(); ++i)
                if (cells[i] == "source_file" || cells[i] == "updated_at")
                    drop.push_back(i);
        std::string kept;
        for (std::size_t i = 0; i < cells.size(); ++i)
            if (std::find(drop.begin(), drop.end(), i) == drop.end())
                kept += cells[i] + ",";
        out.push_back(kept);
    }
    return out;
}

TEST_F(Deliveries, LikeReadsNextMonthsFileAsTheManifestSourceDoes) {
    const std::string loaded = (dir / "loaded.sqlite").string();
    const std::string manifest = (sample / "county.toml").string();
    ASSERT_EQ(run_qiancun({"init", loaded}).exit_code, 0);
    ASSERT_EQ(run_qiancun({"load", loaded, manifest}).exit_code, 0);

    // Next month's files, renamed as departments do.
    for (const char *ext : {".shp", ".shx", ".dbf", ".prj"})
        fs::copy_file(sample / (std::string("villages") + ext), dir / (std::string("村界") + ext));
    fs::copy_file(sample / "sewage_plants.csv", dir / "污水站_12月.csv");
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);
    auto r = run_qiancun({"import", reg, (dir / "村界.shp").string(), "--like",
                          "village_boundaries", "--manifest", manifest});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_qiancun({"import", reg, (dir / "污水站_12月.csv").string(), "--as", "sewage_plant",
                     "--like", "water_bureau", "--manifest", manifest});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, ::testing::HasSubstr("read    236  new    236"));
    for (const char *kind : {"village", "sewage_plant"}) {
        const auto expected = rows_without_provenance(loaded, kind);
        EXPECT_EQ(expected.size(), kind == std::string("village") ? 301u : 237u);
        EXPECT_EQ(rows_without_provenance(reg, kind), expected) << kind;
    }
}

TEST_F(Deliveries, LikeUsesTheManifestLoadRecordedAndListsNames) {
    ASSERT_EQ(run_qiancun({"init", reg}).exit_code, 0);
    ASSERT_EQ(run_qiancun({"load", reg, (sample / "county.toml").string()}).exit_code, 0);
    fs::copy_file(sample / "sewage_plants.csv", dir / "next.csv");
    auto r = run_qiancun(
        {"import", reg, (dir / "next.csv").string(), "--like", "water_bureau", "--update"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, ::testing::HasSubstr("sewage_plant     next.csv                     read  "
                                            "  236  new      0  updated    236"));

    r = run_qiancun({"import", reg, (dir / "next.csv").string(), "--like", "water"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err,
              fmt::format("qiancun: --like water: {} has no [[source]] named 'water'; "
                          "names: village_boundaries, natural_villages, urban_area, "
                          "hazard_zones, water_bureau, water_tests, transport_bureau, telecom, "
                          "culture_bureau, postal_bureau, health_bureau, culture_museums, "
                          "sports_bureau, rural_office_workshops, digital_office, "
                          "agriculture_bureau\n",
                          fs::absolute(sample / "county.toml").lexically_normal().string()));

    r = run_qiancun(
        {"import", reg, (dir / "next.csv").string(), "--like", "water_bureau", "--as", "village"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "qiancun: --as village but the source 'water_bureau' of the manifest is "
                     "sewage_plant\n");

    const std::string fresh = testing::test_registry(dir.path(), "fresh.sqlite");
    ASSERT_EQ(run_qiancun({"init", fresh}).exit_code, 0);
    r = run_qiancun({"import", fresh, (dir / "next.csv").string(), "--like", "water_bureau"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, fmt::format("qiancun: --like water_bureau: which manifest? pass --manifest "
                                 "FILE (or load one into {} with `qiancun load`)\n",
                                 fresh));
}

/// Expected outputs in tests/data/inspect, named "<sample file>[--as-<kind>].txt".
TEST_F(Deliveries, InspectPrintsWhatIsInASampleFileExactly) {
    const auto data = testing::source_dir() / "tests/data/inspect";
    std::vector<fs::path> cases;
    for (const auto &f : fs::directory_iterator(data))
        cases.push_back(f.path());
    std::sort(cases.begin(), cases.end());
    ASSERT_EQ(cases.size(), 3u);
    for (const auto &c : cases) {
        SCOPED_TRACE(c.filename().string());
        const std::string name = c.stem().string();
        const auto as = name.find("--as-");
        std::vector<std::string> args{"inspect", name.substr(0, as)};
        if (as != std::string::npos)
            args.insert(args.end(), {"--as", name.substr(as + 5)});
        const auto r = run_qiancun(args, sample);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(r.out, testing::read_file(c));
        EXPECT_EQ(r.err, "");
    }
}

TEST_F(Deliveries, InspectSaysGeometryAndFieldTypesAndTheManifestsNotesInChinese) {
    auto r = run_qiancun({"inspect", "roads.gpkg", "--lang", "zh"}, sample);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("\n  几何       线\n"));
    EXPECT_THAT(r.out, HasSubstr("\n    grade            文本  县道 | 乡道 | 村道\n"));
    EXPECT_THAT(r.out, HasSubstr("\n    built_year       整数  1996 | 2015 | 2019\n"));
    r = run_qiancun({"inspect", "sewage_plants.csv", "--as", "sewage_plant", "--lang", "zh"},
                    sample);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("\n  几何       无（点取自列 lon、lat）\n"));
    EXPECT_THAT(r.out, HasSubstr("\n  清单片段：\n    [[source]]\n"));
    EXPECT_THAT(r.out, HasSubstr("\n    src_crs = \"?\"  # 数据源没有坐标系：是哪一个？\n"));
    EXPECT_THAT(r.out, HasSubstr("\n    # 数据源中没有：service_radius_m, capacity_m3d\n"));
    for (const char *english : {"String", "Integer", "None", "manifest", "not in the source"})
        EXPECT_THAT(r.out, Not(HasSubstr(english))) << english;
}

TEST_F(Deliveries, InspectJsonForScriptsAndZipsOfSeveralFiles) {
    auto entries = testing::entries_of(sample, "settlements", "2025");
    entries.push_back({"2025/sewage_plants.csv", sample / "sewage_plants.csv", {}});
    testing::write_zip(dir / "d.zip", entries);
    auto r = run_qiancun(
        {"inspect", (dir / "d.zip").string(), "--as", "sewage_plant", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("archive_files"),
              nlohmann::json({"2025/settlements.shp", "2025/sewage_plants.csv"}));
    ASSERT_EQ(j.at("layers").size(), 2u);
    const auto &csv = j.at("layers")[1];
    EXPECT_EQ(csv.at("file"), (dir / "d.zip/2025/sewage_plants.csv").string());
    EXPECT_EQ(csv.at("driver"), "CSV");
    EXPECT_EQ(csv.at("feature_count"), 236);
    EXPECT_TRUE(csv.at("crs").is_null());
    EXPECT_EQ(csv.at("x_field"), "lon");
    EXPECT_EQ(csv.at("fields")[0].at("name"), "编号");
    EXPECT_EQ(csv.at("mapping").at("options")[1], "--layer 2025/sewage_plants.csv");
    const auto &shp = j.at("layers")[0];
    EXPECT_EQ(shp.at("crs"), "EPSG:4549");
    EXPECT_EQ(shp.at("feature_count"), 1803);
    EXPECT_EQ(shp.at("geometry_type"), "Point");

    r = run_qiancun({"inspect", (sample / "villages.shp").string(), "--as", "pond"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, ::testing::StartsWith("qiancun: unknown kind 'pond'; kinds are: village, "));
}

} // namespace
} // namespace qiancun
