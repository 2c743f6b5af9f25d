// Dated events (SPEC §5.2): water tests as a kind of their own, without geometry, imported from
// CSV and XLSX with field mapping, refused row by row when they name no asset or no date, listed,
// and deciding sewage_effluent_ok by each plant's latest test in the period — on a SpatiaLite
// file and on a PostGIS schema alike.

#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>

#include <optional>

namespace qiancun {
namespace {

using testing::csv_cell;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::run_qiancun;
using testing::TempDir;
using testing::TempSchema;

constexpr const char *kTypes = R"([event_types.water_test]
label = "出水水质检测"
asset_kind = "sewage_plant"
)";

/// Six plants in 东山村 (330604101201), all registered from 2026-01-01; P5 only planned:
///
/// | plant | effluent_ok | tests (the period is 2023-01-01 to the as-of date)        |
/// |-------|-------------|------------------------------------------------------------|
/// | P1    | 1           | 2026-03-10 pass, 2026-06-10 fail: the newer fail decides    |
/// | P2    | 0           | 2026-06-01 pass; 2027-03-01 fail lies after the as-of date |
/// | P3    | 1           | 2022-05-01 fail, before the period: untested                |
/// | P4    | 1           | none                                                        |
/// | P5    | 0           | 2026-09-01 pass, but planned: not serving                  |
/// | P6    | 1           | 2026-10-01 fail and pass on one day: the fail decides       |
///
/// As of 2026-11-30: by the tests 1 of 3 (P2), P3 and P4 unknown; with fallback = "attribute"
/// 3 of 5 (P2, P3, P4); by the attribute alone 4 of 5 (all but P2).
constexpr const char *kPlants = "id,status,effluent_ok,x,y\n"
                                "P1,运行,1,500100,3320500\n"
                                "P2,运行,0,500200,3320500\n"
                                "P3,运行,1,500300,3320500\n"
                                "P4,运行,1,500400,3320500\n"
                                "P5,规划,0,500500,3320500\n"
                                "P6,运行,1,500600,3320500\n";

/// The water bureau's list: Chinese headers, dates as people write them, no id column.
constexpr const char *kTests = "设施编号,检测日期,检测结果,检测单位\n"
                               "P1,2026-03-10,达标,区环境监测站\n"
                               "P1,2026/6/10,不达标,区环境监测站\n"
                               "P2,2026年6月1日,达标,区环境监测站\n"
                               "P2,2027-03-01,不达标,区环境监测站\n"
                               "P3,2022-05-01,不达标,区环境监测站\n"
                               "P5,2026-09-01,达标,区环境监测站\n"
                               "P6,2026-10-01,不达标,第三方检测公司\n"
                               "P6,2026-10-01,达标,第三方检测公司\n";

const std::vector<std::string> kMapping{"--field",       "asset_id=设施编号", "--field",
                                        "date=检测日期", "--field",           "result=检测结果",
                                        "--field",       "agency=检测单位"};

/// Each test runs on a SpatiaLite file ("file") and on a PostGIS schema ("postgis").
class EventsCli : public testing::FileAndPostgisTest {
protected:
    EventsCli() : FileAndPostgisTest("events") {}

    /// The villages and plants, with the water_test kind when `with_types`.
    void load_county(bool with_types = true) {
        testing::write_file(dir / "types.toml", kTypes);
        testing::write_two_square_villages(dir / "villages.geojson");
        testing::write_file(dir / "plants.csv", kPlants);
        std::vector<std::string> init{"init", reg, "--crs", "EPSG:4549"};
        if (with_types) {
            init.push_back("--types");
            init.push_back((dir / "types.toml").string());
        }
        ok(init);
        ok({"import", reg, (dir / "villages.geojson").string(), "--as", "village"});
        ok({"import", reg, (dir / "plants.csv").string(), "--as", "sewage_plant", "--src-crs",
            "EPSG:4549", "--as-of", "2026-01-01"});
    }

    testing::CommandResult import_tests(const std::string &name, const std::string &text,
                                        int exit_code = 0) {
        testing::write_file(dir / name, text);
        std::vector<std::string> args{"import", reg, (dir / name).string(), "--as", "water_test"};
        args.insert(args.end(), kMapping.begin(), kMapping.end());
        auto r = run_qiancun(args);
        EXPECT_EQ(r.exit_code, exit_code) << r.err;
        return r;
    }

    /// asset_id, date and result of every listed test, one "P1 2026-03-10 pass" per line.
    std::string listed(const std::vector<std::string> &extra = {}) {
        std::vector<std::string> args{"list", reg, "water_test", "--format", "csv"};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto csv = ok(args).out;
        std::string out;
        for (std::size_t row = 1; row < testing::split_lines(csv).size(); ++row)
            out += fmt::format("{} {} {} {}\n", csv_cell(csv, "asset_id", row),
                               csv_cell(csv, "date", row), csv_cell(csv, "result", row),
                               csv_cell(csv, "id", row));
        return out;
    }

    /// The district row of sewage_effluent_ok as of `date`: "actual unknown".
    std::string effluent(const std::string &date, const std::string &indicators = "") {
        std::vector<std::string> args{"indicators",         reg,        "--as-of", date, "--only",
                                      "sewage_effluent_ok", "--format", "csv"};
        if (!indicators.empty()) {
            args.push_back("--indicators");
            args.push_back(indicators);
        }
        const auto r = ok(args);
        return fmt::format("{} {}", csv_cell(r.out, "actual"), csv_cell(r.out, "unknown"));
    }
};

TEST_P(EventsCli, WaterTestsAreImportedFromCsvWithFieldMappingAndListed) {
    load_county();
    const auto r = import_tests("tests.csv", kTests);
    EXPECT_THAT(r.out, HasSubstr("new      8  updated      0"));
    // By plant, then date: each plant's history reads downwards; dates as YYYY-MM-DD, results
    // as pass/fail, ids from the file and row where the file has none.
    EXPECT_EQ(listed(), "P1 2026-03-10 pass tests:1\n"
                        "P1 2026-06-10 fail tests:2\n"
                        "P2 2026-06-01 pass tests:3\n"
                        "P2 2027-03-01 fail tests:4\n"
                        "P3 2022-05-01 fail tests:5\n"
                        "P5 2026-09-01 pass tests:6\n"
                        "P6 2026-10-01 fail tests:7\n"
                        "P6 2026-10-01 pass tests:8\n");
    const auto csv = ok({"list", reg, "water_test", "--format", "csv"}).out;
    EXPECT_EQ(testing::split_lines(csv).front(),
              "id,asset_id,date,result,agency,source_file,source_row,updated_at");
    EXPECT_EQ(csv_cell(csv, "agency", 7), "第三方检测公司");
    // Without a geometry there is no WKT to add.
    EXPECT_EQ(testing::split_lines(ok({"list", reg, "water_test", "--wkt", "--format", "csv"}).out),
              testing::split_lines(csv));
    EXPECT_EQ(csv_cell(csv, "source_row", 7), "7");
    // A test is in its plant's village.
    EXPECT_EQ(listed({"--village", "330604101201"}), listed());
    EXPECT_EQ(listed({"--village", "330604101202"}), "");
    EXPECT_THAT(ok({"info", reg}).out, HasSubstr("water_test"));
    // Re-importing the same file updates its rows instead of adding them again.
    EXPECT_THAT(import_tests("tests.csv", kTests).out, HasSubstr("new      0  updated      8"));
    EXPECT_EQ(testing::split_lines(listed()).size(), 8u);
}

TEST_P(EventsCli, WaterTestsAreImportedFromXlsx) {
    load_county();
    testing::write_vector(dir / "tests.xlsx", "XLSX", "检测记录", 0,
                          {"设施编号", "检测日期", "检测结果", "检测单位"},
                          {{"",
                            {{"设施编号", "P1"},
                             {"检测日期", "2026/06/10"},
                             {"检测结果", "不合格"},
                             {"检测单位", "区环境监测站"}}},
                           {"",
                            {{"设施编号", "P4"},
                             {"检测日期", "2026/09/30 00:00:00"},
                             {"检测结果", "合格"},
                             {"检测单位", "区环境监测站"}}}});
    std::vector<std::string> args{"import", reg, (dir / "tests.xlsx").string(), "--as",
                                  "water_test"};
    args.insert(args.end(), kMapping.begin(), kMapping.end());
    ok(args);
    EXPECT_EQ(listed(), "P1 2026-06-10 fail tests:1\nP4 2026-09-30 pass tests:2\n");
}

TEST_P(EventsCli, ATestOfAnUnknownPlantIsRefusedNamingFileAndRowAndNothingChanges) {
    load_county();
    import_tests("tests.csv", kTests);
    const auto before = listed();
    const auto info = ok({"info", reg}).out;
    const auto r = import_tests("more.csv",
                                "设施编号,检测日期,检测结果,检测单位\n"
                                "P4,2026-11-01,达标,区环境监测站\n"
                                "PX9,2026-11-01,达标,区环境监测站\n",
                                3);
    EXPECT_THAT(r.err, HasSubstr("more.csv"));
    EXPECT_THAT(r.err, HasSubstr("row 2"));
    EXPECT_THAT(r.err, HasSubstr("asset_id 'PX9' is no sewage_plant of the registry"));
    EXPECT_THAT(r.err, Not(HasSubstr("row 1:")));
    EXPECT_EQ(listed(), before);
    EXPECT_EQ(ok({"info", reg}).out, info);
}

TEST_P(EventsCli, ATestWithoutADateIsRefusedNamingFileRowAndValue) {
    load_county();
    const auto r = import_tests("bad.csv",
                                "设施编号,检测日期,检测结果,检测单位\n"
                                "P1,2026-03-10,达标,区环境监测站\n"
                                "P2,2026-02-30,达标,区环境监测站\n"
                                "P3,下个月,达标,区环境监测站\n",
                                3);
    EXPECT_THAT(r.err, HasSubstr("bad.csv"));
    EXPECT_THAT(r.err, HasSubstr("row 2: date '2026-02-30' is not a date (YYYY-MM-DD)"));
    EXPECT_THAT(r.err, HasSubstr("row 3: date '下个月' is not a date (YYYY-MM-DD)"));
    EXPECT_EQ(listed(), "");
}

TEST_P(EventsCli, EachPlantsLatestTestInThePeriodDecidesEffluentCompliance) {
    load_county();
    // Without a test imported every serving plant is untested: no data, never a failure.
    EXPECT_EQ(effluent("2026-11-30"), " 5");
    import_tests("tests.csv", kTests);
    // P1's newer fail beats its older pass although its attribute says ok; P2's pass stands
    // (its 2027 fail is after the date), P6's same-day fail wins; P3 (tested before the
    // period) and P4 are unknown.
    EXPECT_EQ(effluent("2026-11-30"), "33.33 2");
    const auto r = ok({"indicators", reg, "--as-of", "2026-11-30", "--only", "sewage_effluent_ok"});
    EXPECT_THAT(r.out, HasSubstr("sewage_effluent_ok: 2 without a record from 2023-01-01 to "
                                 "2026-11-30, left out of the numerator and the denominator"));
    // In April only P1's March pass is in the period.
    EXPECT_EQ(effluent("2026-04-30"), "100 4");
    // With the fallback the untested read their attribute: P2, P3, P4 of five.
    testing::write_file(dir / "fallback.toml", R"([indicator.sewage_effluent_ok]
label = "出水水质达标率"
measure = "asset_share"
kind = "sewage_plant"
where = "serving"
condition = "effluent_ok"
events = "water_test"
fallback = "attribute"
target = 98
)");
    EXPECT_EQ(effluent("2026-11-30", (dir / "fallback.toml").string()), "60 0");
    // Without events the attribute alone decides: all but P2.
    testing::write_file(dir / "attribute.toml", R"([indicator.sewage_effluent_ok]
label = "出水水质达标率"
measure = "asset_share"
kind = "sewage_plant"
where = "serving"
condition = "effluent_ok"
target = 98
)");
    EXPECT_EQ(effluent("2026-11-30", (dir / "attribute.toml").string()), "80 0");
}

TEST_P(EventsCli, ARegistryWithoutWaterTestsReadsTheAttribute) {
    load_county(false);
    EXPECT_EQ(effluent("2026-11-30"), "80 0");
    // Water tests need their kind.
    const auto r =
        run_qiancun({"import", reg, (dir / "plants.csv").string(), "--as", "water_test"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr("unknown kind 'water_test'"));
}

TEST_P(EventsCli, AnExistingRegistryTakesEventKindsFromAManifest) {
    load_county(false);
    testing::write_file(dir / "tests.csv", kTests);
    testing::write_file(dir / "events.toml", fmt::format(R"({}
[[source]]
name = "water_tests"
kind = "water_test"
path = "tests.csv"
fields = {{ asset_id = "设施编号", date = "检测日期", result = "检测结果", agency = "检测单位" }}
)",
                                                         kTypes));
    ok({"load", reg, (dir / "events.toml").string()});
    EXPECT_EQ(testing::split_lines(listed()).size(), 8u);
    EXPECT_EQ(effluent("2026-11-30"), "33.33 2");
    // An event kind about a kind the registry lacks is refused.
    testing::write_file(dir / "wrong.toml", R"([event_types.inspection]
asset_kind = "clinic"

[[source]]
kind = "inspection"
path = "tests.csv"
)");
    const auto r = run_qiancun({"load", reg, (dir / "wrong.toml").string()});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_THAT(r.err, HasSubstr("event type 'inspection': asset_kind 'clinic' is no asset kind"));
}

TEST(EventsMessages, AFallbackWithoutEventsIsRefusedInEnglishAndInChineseWhole) {
    TempDir dir;
    const std::string reg = (dir / "county.sqlite").string();
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);
    testing::write_file(dir / "ind.toml", R"([indicator.effluent]
label = "出水水质达标率"
measure = "asset_share"
kind = "sewage_plant"
where = "serving"
condition = "effluent_ok"
fallback = "attribute"
target = 98
)");
    const std::vector<std::string> args{
        "indicators", reg, "--as-of", "2026-11-30", "--indicators", (dir / "ind.toml").string()};
    const auto en = run_qiancun(args, std::nullopt, {{"LC_ALL", "C"}, {"LANGUAGE", ""}});
    EXPECT_EQ(en.exit_code, 3) << en.err;
    EXPECT_THAT(en.err, HasSubstr("ind.toml"));
    EXPECT_THAT(en.err, HasSubstr("[indicator.effluent] fallback goes with events: name the event "
                                  "kind whose latest record decides (events = KIND) or drop "
                                  "fallback"));
    const testing::Environment zh{{"LC_ALL", ""}, {"LANGUAGE", ""}, {"LANG", "zh_CN.UTF-8"}};
    const auto cn = run_qiancun(args, std::nullopt, zh);
    EXPECT_EQ(cn.exit_code, 3) << cn.err;
    EXPECT_THAT(cn.err, HasSubstr("[indicator.effluent] fallback 须与 events 同用：写明以哪种事件"
                                  "的最新记录判断（events = 事件类型），或删去 fallback"));
    // No English words but the keys the file uses.
    EXPECT_THAT(cn.err, Not(HasSubstr("goes with")));
    EXPECT_THAT(cn.err, Not(HasSubstr("is not used by")));
}

INSTANTIATE_TEST_SUITE_P(Stores, EventsCli, ::testing::Values("file", "postgis"),
                         [](const auto &info) { return info.param; });

} // namespace
} // namespace qiancun
