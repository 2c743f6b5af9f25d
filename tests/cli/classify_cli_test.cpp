#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <map>

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::run_qiancun;
using testing::split_lines;
using testing::TempDir;

/// Cells of one RFC 4180 CSV line (quoted cells may hold commas).
std::vector<std::string> cells(const std::string &line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
            out.back() += '"';
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == ',' && !quoted) {
            out.emplace_back();
        } else {
            out.back() += c;
        }
    }
    return out;
}

/// CSV text → rows keyed by the first `key_columns` cells joined with '|'.
std::map<std::string, std::map<std::string, std::string>> by_key(const std::string &csv,
                                                                 std::size_t key_columns = 1) {
    const auto lines = split_lines(csv);
    std::map<std::string, std::map<std::string, std::string>> out;
    if (lines.empty())
        return out;
    const auto header = cells(lines[0]);
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const auto row = cells(lines[i]);
        std::string key;
        for (std::size_t k = 0; k < key_columns; ++k)
            key += (k ? "|" : "") + row.at(k);
        for (std::size_t c = 0; c < header.size() && c < row.size(); ++c)
            out[key][header[c]] = row[c];
    }
    return out;
}

std::string square(double x, double y) {
    return fmt::format("POLYGON (({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))", x, y, x + 1000,
                       y + 1000);
}

/// Three 1 km villages 5 km apart in two townships:
/// 201 东山村 (甲镇): heritage, recorded heritage; a sewage plant at its centre since 2024;
/// 202 下管村 (甲镇): 60 people in one settlement (hollow), recorded improve;
/// 203 岭南村 (乙镇): ordinary, recorded cluster; its plant is building until 2025-03-01.
struct ClassifyCli : ::testing::Test {
    TempDir dir;
    std::string reg = testing::test_registry(dir.path(), "county.sqlite");

    void SetUp() override {
        testing::write_vector(
            dir / "villages.geojson", "GeoJSON", "villages", 4549,
            {"code", "name", "township", "population", "class", "heritage", "hemei_year"},
            {{square(500000, 3320000),
              {{"code", "330604101201"},
               {"name", "东山村"},
               {"township", "甲镇"},
               {"population", "900"},
               {"class", "特色保护类"},
               {"heritage", "1"},
               {"hemei_year", "2023"}}},
             {square(505000, 3320000),
              {{"code", "330604101202"},
               {"name", "下管村"},
               {"township", "甲镇"},
               {"population", "60"},
               {"class", "improve"},
               {"heritage", "0"}}},
             {square(510000, 3320000),
              {{"code", "330604101203"},
               {"name", "岭南村"},
               {"township", "乙镇"},
               {"population", "800"},
               {"class", "cluster"},
               {"heritage", "0"},
               {"hemei_year", "2026"}}}},
            {}, {}, {"population", "heritage", "hemei_year"});
        testing::write_vector(dir / "settlements.geojson", "GeoJSON", "settlements", 4549,
                              {"id", "population"},
                              {{"POINT (500500 3320500)", {{"id", "S1"}, {"population", "900"}}},
                               {"POINT (505500 3320500)", {{"id", "S2"}, {"population", "60"}}},
                               {"POINT (510500 3320500)", {{"id", "S3"}, {"population", "800"}}}},
                              {}, {}, {"population"});
        testing::write_file(dir / "plants.csv", "id,status,built_year,effluent_ok,x,y\n"
                                                "WS1,operating,2023,1,500500,3320500\n"
                                                "WS3,building,2024,1,510500,3320500\n");
        testing::write_file(dir / "plants_march.csv", "id,status,built_year,effluent_ok,x,y\n"
                                                      "WS3,operating,2024,1,510500,3320500\n");
        for (const auto &args : std::vector<std::vector<std::string>>{
                 {"init", reg, "--crs", "EPSG:4549"},
                 {"import", reg, (dir / "villages.geojson").string(), "--as", "village"},
                 {"import", reg, (dir / "settlements.geojson").string(), "--as", "settlement"},
                 {"import", reg, (dir / "plants.csv").string(), "--as", "sewage_plant", "--src-crs",
                  "EPSG:4549", "--as-of", "2024-01-01"},
                 // The department's March list: a new file updating the same plants.
                 {"import", reg, (dir / "plants_march.csv").string(), "--as", "sewage_plant",
                  "--src-crs", "EPSG:4549", "--as-of", "2025-03-01", "--update"}}) {
            const auto r = run_qiancun(args);
            ASSERT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
        }
    }
};

TEST_F(ClassifyCli, CsvHasTheIssueColumnsAndFlagsMismatches) {
    const auto r = run_qiancun({"classify", reg, "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = split_lines(r.out);
    ASSERT_EQ(lines.size(), 4u) << r.out;
    EXPECT_EQ(lines[0], "code,name,township,suggested_class,rule,reason,recorded_class,mismatch");
    const auto rows = by_key(r.out);
    const auto &a = rows.at("330604101201");
    EXPECT_EQ(a.at("name"), "东山村");
    EXPECT_EQ(a.at("township"), "甲镇");
    EXPECT_EQ(a.at("suggested_class"), "heritage");
    EXPECT_EQ(a.at("rule"), "heritage");
    EXPECT_EQ(a.at("recorded_class"), "heritage"); // imported from its Chinese label
    EXPECT_EQ(a.at("mismatch"), "0");
    const auto &b = rows.at("330604101202");
    EXPECT_EQ(b.at("suggested_class"), "relocate");
    EXPECT_EQ(b.at("rule"), "relocate_hollow");
    EXPECT_EQ(b.at("reason"), "hollowed-out: population density 60 /km² < 80 /km² and "
                              "settlements 1 ≤ 2");
    EXPECT_EQ(b.at("mismatch"), "1");
    const auto &c = rows.at("330604101203");
    EXPECT_EQ(c.at("suggested_class"), "improve");
    EXPECT_EQ(c.at("recorded_class"), "cluster");
    EXPECT_EQ(c.at("mismatch"), "1");
    // No urban area, hazard zones or roads were imported: said, and their rules skipped.
    EXPECT_THAT(r.err, HasSubstr("warning: urban_distance_m is missing for every village: no "
                                 "urban area in the registry"));
    // 202 is classed before the suburban rule; 203 reaches it.
    EXPECT_THAT(r.err, HasSubstr("warning: rule 'suburban' skipped for 1 village (330604101203): "
                                 "urban_distance_m is missing"));
}

TEST_F(ClassifyCli, ReasonsAndWarningsInChineseKeepTheColumnKeys) {
    const testing::Environment lang_zh{{"LC_ALL", ""}, {"LANG", "zh_CN.UTF-8"}};
    for (const auto &r :
         {run_qiancun({"classify", reg, "--format", "csv", "--lang", "zh"}),
          run_qiancun({"classify", reg, "--format", "csv"}, std::nullopt, lang_zh)}) {
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const auto lines = split_lines(r.out);
        ASSERT_EQ(lines.size(), 4u) << r.out;
        EXPECT_EQ(lines[0],
                  "code,name,township,suggested_class,rule,reason,recorded_class,mismatch");
        const auto rows = by_key(r.out);
        EXPECT_EQ(rows.at("330604101202").at("reason"),
                  "空心化：人口密度 60 人/平方公里 < 80 人/平方公里，且自然村数 1 ≤ 2");
        EXPECT_EQ(rows.at("330604101201").at("reason"), "历史文化村落或传统村落，应予保护");
        EXPECT_EQ(rows.at("330604101203").at("reason"), "以上规则均不适用");
        EXPECT_EQ(rows.at("330604101202").at("rule"), "relocate_hollow");
        EXPECT_THAT(r.err, HasSubstr("警告：所有村均缺少 urban_distance_m：登记库中没有城区"));
        EXPECT_THAT(r.err, HasSubstr("警告：规则“suburban”对 1 个村被跳过（330604101203）：缺少 "
                                     "urban_distance_m"));
    }
}

TEST_F(ClassifyCli, MismatchesOutputFileAndCounts) {
    const fs::path out = dir / "classes.csv";
    auto r = run_qiancun({"classify", reg, "--mismatches", "-o", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto rows = by_key(testing::read_file(out));
    EXPECT_EQ(rows.size(), 2u);
    EXPECT_FALSE(rows.count("330604101201"));
    EXPECT_THAT(r.out, HasSubstr("wrote 2 villages to"));
    // Counts per class and per township for people.
    EXPECT_THAT(r.out, HasSubstr("搬迁撤并类"));
    EXPECT_THAT(r.out, HasSubstr("township"));
    EXPECT_THAT(r.out, HasSubstr("乙镇"));

    r = run_qiancun({"classify", reg, "--format", "json", "--mismatches", "--features"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("\"density\": 60"));
    EXPECT_THAT(r.out, Not(HasSubstr("330604101201")));
}

TEST_F(ClassifyCli, StoredLayerExportsColouredByClass) {
    auto r = run_qiancun({"classify", reg});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_qiancun({"export", reg, "village_classes", (dir / "classes.shp").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string qml = testing::read_file(dir / "classes.qml");
    EXPECT_THAT(qml, HasSubstr("categorizedSymbol"));
    for (const char *label : {"城郊融合类", "集聚建设类", "整治提升类", "特色保护类", "搬迁撤并类"})
        EXPECT_THAT(qml, HasSubstr(label));
    const auto features = testing::read_vector(dir / "classes.shp");
    ASSERT_EQ(features.size(), 3u);
}

TEST_F(ClassifyCli, BadRulesFileIsRejectedWithItsLine) {
    testing::write_file(dir / "bad.toml", "[[rule]]\nname = \"a\"\nclass = \"cluster\"\n"
                                          "when = [\"populaton > 3\"]\n"
                                          "[[rule]]\nname = \"b\"\nclass = \"improve\"\n");
    const auto r = run_qiancun({"classify", reg, "--rules", (dir / "bad.toml").string()});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_THAT(r.err, AllOf(HasSubstr("bad.toml"), HasSubstr("line 4"),
                             HasSubstr("unknown feature 'populaton'")));
    EXPECT_EQ(split_lines(r.err).size(), 1u) << r.err;
}

TEST_F(ClassifyCli, IndicatorsCsvBeforeAndAfterTheStatusChange) {
    auto r = run_qiancun({"indicators", reg, "--as-of", "2025-02-28", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = split_lines(r.out);
    ASSERT_EQ(lines.size(), 11u) << r.out;
    EXPECT_EQ(lines[0], "indicator,unit,target,expected,actual,status,unknown");
    // Expected on 2025-02-28 (790 of the period's 1,826 days done): 40 × 790 / 1826 = 17.31.
    EXPECT_EQ(lines[1], "sewage_new,count,40,17.31,1,behind,");
    // A share with one target (2027) has no expected value before 2027.
    EXPECT_EQ(lines[3], "sewage_village_coverage,%,98,,33.33,on_track,0");
    EXPECT_EQ(lines[4], "sewage_effluent_ok,%,98,,100,met,0");
    EXPECT_EQ(lines[5], "road_new_km,km,30,12.98,,no_data,");
    // Retained villages 201 and 203 (202 is recorded improve: retained too): hemei by 2025 is
    // 201 only.
    // 20 % at the end of 2023 to 90 % at the end of 2027: 20 + 70 × 425 / 1461 = 40.36.
    EXPECT_EQ(lines[10], "retained_hemei_share,%,90,40.36,33.33,behind,0");

    r = run_qiancun({"indicators", reg, "--as-of", "2025-03-01", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    lines = split_lines(r.out);
    ASSERT_EQ(lines.size(), 11u) << r.out;
    EXPECT_EQ(lines[1], "sewage_new,count,40,17.33,2,behind,");
    EXPECT_EQ(lines[3], "sewage_village_coverage,%,98,,66.67,on_track,0");

    r = run_qiancun(
        {"indicators", reg, "--as-of", "2025-03-01", "--compare", "2025-02-28", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    lines = split_lines(r.out);
    EXPECT_EQ(lines[0],
              "indicator,unit,target,expected,actual,status,unknown,compare_actual,change");
    EXPECT_EQ(lines[1], "sewage_new,count,40,17.33,2,behind,,1,1");
}

TEST_F(ClassifyCli, IndicatorsByTownshipAndForPeople) {
    auto r = run_qiancun(
        {"indicators", reg, "--as-of", "2025-12-31", "--by", "township", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = split_lines(r.out);
    ASSERT_EQ(lines.size(), 31u) << r.out;
    EXPECT_EQ(lines[0], "township,indicator,unit,target,expected,actual,status,unknown");
    const auto rows = by_key(r.out, 2);
    EXPECT_EQ(rows.at("|sewage_new").at("actual"), "2");
    EXPECT_EQ(rows.at("甲镇|sewage_new").at("actual"), "1");
    EXPECT_EQ(rows.at("甲镇|sewage_new").at("target"), "");
    EXPECT_EQ(rows.at("甲镇|sewage_village_coverage").at("actual"), "50");
    EXPECT_EQ(rows.at("乙镇|sewage_village_coverage").at("actual"), "100");
    EXPECT_EQ(rows.at("乙镇|sewage_village_coverage").at("status"), "met");

    r = run_qiancun({"indicators", reg, "--as-of", "2025-12-31"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("Indicators as of 2025-12-31"));
    EXPECT_THAT(r.out, HasSubstr("100*"));
    EXPECT_THAT(
        r.out,
        HasSubstr("courier_village_coverage: target 100 %, not the plan's — planning assumption"));
    EXPECT_THAT(
        r.out,
        HasSubstr("bs5g_settlement_coverage: target 100 %, not the plan's — planning assumption"));

    r = run_qiancun({"indicators", reg, "--as-of", "2025-13-01"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("2025-13-01"));
}

TEST_F(ClassifyCli, IndicatorsBeforeTheFirstImportRefuseStatusesAndCountYears) {
    // The plants' statuses are recorded from 2024-01-01: those of 2023-12-31 are unknown.
    auto r = run_qiancun({"indicators", reg, "--as-of", "2023-12-31"});
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_THAT(r.err, HasSubstr("the asset statuses on 2023-12-31 are unknown: the registry "
                                 "knows them for sewage_plant from 2024-01-01 (its first "
                                 "import), and sewage_village_coverage, sewage_effluent_ok need "
                                 "them"));
    EXPECT_THAT(r.err, HasSubstr("--as-of DATE"));
    EXPECT_EQ(split_lines(r.err).size(), 1u) << r.err;

    // The counts from the data's years answer: WS1 was built in 2023; hemei by 2023: 201.
    r = run_qiancun({"indicators", reg, "--as-of", "2023-12-31", "--only",
                     "sewage_new,retained_hemei_share", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "indicator,unit,target,expected,actual,status,unknown\n"
                     "sewage_new,count,40,8,1,behind,\n"
                     "retained_hemei_share,%,20,20,33.33,met,0\n");

    r = run_qiancun({"indicators", reg, "--only", "sewage_nw"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("unknown indicator 'sewage_nw'; valid: sewage_new"));
}

TEST_F(ClassifyCli, IndicatorsLeaveOutPlantsWithoutAnEffluentResult) {
    testing::write_file(dir / "plants_june.csv", "id,status,built_year,effluent_ok,x,y\n"
                                                 "WS4,operating,2025,,505500,3320500\n");
    auto r = run_qiancun({"import", reg, (dir / "plants_june.csv").string(), "--as", "sewage_plant",
                          "--src-crs", "EPSG:4549", "--as-of", "2025-06-01"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_qiancun({"indicators", reg, "--as-of", "2025-06-30"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // WS1 and WS3 meet the standard, WS4 has no result: 100 %, not 66.67 %.
    EXPECT_THAT(r.out, HasSubstr("2 of 2 serving plants with a result"));
    EXPECT_THAT(r.out, HasSubstr("\nnote: sewage_effluent_ok: 1 serving plants without an "
                                 "effluent result, left out of the numerator and the denominator "
                                 "(unknown is not failed).\n"));
    r = run_qiancun({"indicators", reg, "--as-of", "2025-06-30", "--format", "csv", "--only",
                     "sewage_effluent_ok"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "indicator,unit,target,expected,actual,status,unknown\n"
                     "sewage_effluent_ok,%,98,,100,met,1\n");
    EXPECT_THAT(r.err, HasSubstr("note: sewage_effluent_ok: 1 serving plants without an effluent "
                                 "result, left out of the numerator"));
}

TEST(ClassifyCliConfig, PrintTargetsIsTheShippedTargetsFile) {
    const auto r = run_qiancun({"config", "--print-targets"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, testing::read_file(testing::sample_maps_dir() / "targets.toml"));
}

} // namespace
} // namespace qiancun
