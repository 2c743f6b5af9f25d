#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

// `qiancun indicators` on the sample county (loaded as of 2026-09-30, then next month's delivery
// as of 2026-11-30, as the demo does). The ten built-in indicators are entries of the built-in
// indicators file (SPEC §5.1) and give the numbers they gave when they were code:
// tests/data/indicators/sample_county_<date>.csv is the `--by township --format csv` output of
// that code, kept unchanged but for sewage_effluent_ok, which reads the sample's water tests
// since the county has them (SPEC §5.2 "Dated events"); those rows were checked against
// SQLite's count over the registry's tables (the test below) and a python count over
// water_tests.csv and sewage_plants.csv.

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::run_command;
using testing::run_qiancun;
using testing::split_lines;

constexpr const char *kFirst = "2026-09-30";
constexpr const char *kSecond = "2026-11-30";

/// A file registry: some tests read it with the sqlite3 shell.
class IndicatorsCli : public testing::SampleMonthsSuite {
protected:
    static void SetUpTestSuite() { load(kFirst, kSecond, false); }
};

fs::path pinned(const std::string &date) {
    return testing::source_dir() / "tests/data/indicators" / ("sample_county_" + date + ".csv");
}

TEST_F(IndicatorsCli, BuiltInIndicatorsGiveThePinnedNumbersPerTownship) {
    for (const std::string date : {kFirst, kSecond}) {
        SCOPED_TRACE(date);
        const auto r = run_qiancun(
            {"indicators", reg, "--as-of", date, "--by", "township", "--format", "csv"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const auto want = split_lines(testing::read_file(pinned(date)));
        const auto got = split_lines(r.out);
        ASSERT_EQ(got.size(), want.size()) << r.out;
        ASSERT_EQ(want.size(), 161u); // header + 10 indicators × (district + 15 townships)
        for (std::size_t i = 0; i < want.size(); ++i)
            EXPECT_EQ(got[i], want[i]) << "line " << i + 1;
    }
}

/// "<indicator> <part> of <whole>" for each district row of the people's table with a detail.
std::map<std::string, std::string> district_denominators(const std::string &out) {
    std::map<std::string, std::string> found;
    static const std::regex row(R"(^([a-z0-9_]+) .* ([0-9]+) of ([0-9]+) .*$)");
    for (const auto &line : split_lines(out)) {
        std::smatch m;
        if (std::regex_match(line, m, row))
            found[m[1]] = m[2].str() + " of " + m[3].str();
    }
    return found;
}

TEST_F(IndicatorsCli, BuiltInSharesKeepTheirDenominators) {
    const auto r = run_qiancun({"indicators", reg, "--as-of", kSecond});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::map<std::string, std::string> want{
        {"sewage_village_coverage", "79 of 300"},
        {"sewage_effluent_ok", "169 of 194"},
        {"courier_village_coverage", "273 of 300"},
        {"bs5g_settlement_coverage", "378862 of 379411"},
        {"retained_hemei_share", "116 of 291"},
    };
    EXPECT_EQ(district_denominators(r.out), want) << r.out;
    const auto first = run_qiancun({"indicators", reg, "--as-of", kFirst});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_EQ(district_denominators(first.out).at("sewage_village_coverage"), "74 of 300");
}

TEST_F(IndicatorsCli, EffluentComplianceIsEachServingPlantsLatestWaterTestAgreeingWithSqlite) {
    // SQLite's count from the registry's tables: each plant serving on the date (its status
    // history) by its latest test from 2023-01-01 to the date (a fail winning on one day),
    // passed / decided / untested.
    for (const std::string date : {kFirst, kSecond}) {
        SCOPED_TRACE(date);
        const auto sql = run_command(
            {"/usr/bin/sqlite3", reg,
             fmt::format("WITH t AS (SELECT asset_id, date, result FROM water_test WHERE date "
                         "BETWEEN '2023-01-01' AND '{0}'), last AS (SELECT asset_id, max(date) "
                         "AS d FROM t GROUP BY asset_id), decided AS (SELECT t.asset_id, "
                         "min(t.result = 'pass') AS ok FROM t JOIN last ON last.asset_id = "
                         "t.asset_id AND last.d = t.date GROUP BY t.asset_id), serving AS (SELECT "
                         "asset_id FROM (SELECT asset_id, status, row_number() OVER (PARTITION "
                         "BY asset_id ORDER BY valid_from DESC, id DESC) AS n FROM "
                         "status_history WHERE kind = 'sewage_plant' AND valid_from <= '{0}') "
                         "WHERE n = 1 AND status IN ('operating', 'renovating')) SELECT "
                         "sum(d.ok) || ',' || count(d.asset_id) || ',' || sum(d.asset_id IS "
                         "NULL) FROM serving s LEFT JOIN decided d ON d.asset_id = s.asset_id",
                         date)});
        ASSERT_EQ(sql.exit_code, 0) << sql.err;
        const auto cells = split_lines(sql.out).at(0); // "passed,decided,untested"
        const auto a = cells.find(','), b = cells.rfind(',');
        const double passed = std::stod(cells.substr(0, a));
        const double decided = std::stod(cells.substr(a + 1, b - a - 1));
        const std::string untested = cells.substr(b + 1);
        ASSERT_GT(decided, 0.0);
        ASSERT_GT(std::stoi(untested), 0); // the sample leaves some plants untested
        const auto r = run_qiancun({"indicators", reg, "--as-of", date, "--only",
                                    "sewage_effluent_ok", "--format", "csv"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const double share = std::round(10000.0 * passed / decided) / 100.0;
        EXPECT_EQ(split_lines(r.out).at(1),
                  fmt::format("sewage_effluent_ok,%,98,,{},{},{}", share,
                              share >= 98.0 ? "met" : "on_track", untested));
        const auto people = run_qiancun({"indicators", reg, "--as-of", date});
        EXPECT_THAT(people.out, HasSubstr(fmt::format("{:.0f} of {:.0f} serving plants with a "
                                                      "result",
                                                      passed, decided)));
        EXPECT_THAT(people.out,
                    HasSubstr(fmt::format("sewage_effluent_ok: {} without a record from "
                                          "2023-01-01 to {}, left out of the numerator and the "
                                          "denominator",
                                          untested, date)));
    }
}

TEST_F(IndicatorsCli, AnIndicatorsFileAddsAndOverridesAgreeingWithSqlite) {
    const fs::path file = *dir / "ind.toml";
    testing::write_file(file, R"toml(
[indicator.clinic_big_villages]
label = "常住人口千人以上行政村村级医疗服务覆盖率"
measure = "village_share"
villages = "population >= 1000"
condition = "serving_in(clinic) >= 1"
target = { 2025 = 100 }
basis = "plan §三(三)2"

[indicator.sewage_new]
label = "新建农村生活污水处理设施"
measure = "count"
kind = "sewage_plant"
where = "in_period(built_year) AND status NOT IN ('planned', 'building')"
from_years = true
target = 40
townships = { "横塘街道" = 3 }
)toml");
    const auto r = run_qiancun({"indicators", reg, "--as-of", kSecond, "--indicators",
                                file.string(), "--by", "township", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = split_lines(r.out);
    ASSERT_EQ(lines.size(), 1u + 11u * 16u) << r.out;
    // The built-in ten keep their numbers and order; the file's own comes last.
    EXPECT_EQ(lines[1], ",sewage_new,count,40,31.33,6,behind,");
    // The same share counted by SQLite from the registry's tables: villages of 1,000 or more
    // people, and of those with a serving clinic linked to them.
    const auto sql = run_command(
        {"/usr/bin/sqlite3", reg,
         "SELECT count(*) || ',' || sum(code IN (SELECT village_code FROM clinic WHERE status IN "
         "('operating', 'renovating'))) FROM village WHERE population >= 1000"});
    ASSERT_EQ(sql.exit_code, 0) << sql.err;
    const auto counts = split_lines(sql.out).at(0); // "187,89"
    const auto comma = counts.find(',');
    const double whole = std::stod(counts.substr(0, comma));
    const double part = std::stod(counts.substr(comma + 1));
    ASSERT_GT(whole, 0.0);
    const std::string share = lines[11];
    EXPECT_THAT(share, ::testing::StartsWith(",clinic_big_villages,%,100,100,"));
    const double actual = std::stod(share.substr(share.find(",100,100,") + 9));
    EXPECT_NEAR(actual, std::round(10000.0 * part / whole) / 100.0, 1e-9);
    // Its township target, and the override's.
    bool found = false;
    for (const auto &line : lines)
        if (line.rfind("横塘街道,sewage_new,count,3,", 0) == 0)
            found = true;
    EXPECT_TRUE(found) << r.out;

    const auto people =
        run_qiancun({"indicators", reg, "--as-of", kSecond, "--indicators", file.string()});
    ASSERT_EQ(people.exit_code, 0) << people.err;
    EXPECT_THAT(people.out, HasSubstr(fmt::format("{:.0f} of {:.0f} villages", part, whole)));
}

TEST_F(IndicatorsCli, ABadIndicatorsFileIsBadInputNamingFileLineAndColumn) {
    const fs::path file = *dir / "bad.toml";
    testing::write_file(file, "[indicator.x]\nlabel = \"x\"\nmeasure = \"village_share\"\n"
                              "condition = \"serving_in(school) >= 1\"\n");
    for (const char *command : {"indicators", "bulletin"}) {
        std::vector<std::string> args{command, reg, "--indicators", file.string()};
        if (std::string(command) == "bulletin")
            args.insert(args.end(), {"-o", (*dir / "b.html").string()});
        const auto r = run_qiancun(args);
        EXPECT_EQ(r.exit_code, 3) << command << r.err;
        EXPECT_THAT(r.err, HasSubstr(file.string() + ": line 4, column 12 of [indicator.x] "
                                                     "condition \"serving_in(school) >= 1\": "
                                                     "unknown asset kind 'school'"))
            << command;
    }
}

/// One number from SQLite on the registry `reg`.
double sqlite_number(const std::string &reg, const std::string &sql) {
    const auto r = run_command({"/usr/bin/sqlite3", reg, sql});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto lines = split_lines(r.out);
    return lines.empty() || lines[0].empty() ? 0.0 : std::stod(lines[0]);
}

/// The cells of one CSV line without quoted commas.
std::vector<std::string> csv_cells(const std::string &line) {
    std::vector<std::string> cells;
    std::size_t from = 0;
    for (std::size_t at = line.find(','); at != std::string::npos; at = line.find(',', from)) {
        cells.push_back(line.substr(from, at - from));
        from = at + 1;
    }
    cells.push_back(line.substr(from));
    return cells;
}

/// A share as the indicators print it: percent with two decimals.
double percent_of(double part, double whole) {
    return std::round(10000.0 * part / whole) / 100.0;
}

TEST_F(IndicatorsCli, TheSampleIndicatorsFileCountsThePlansFacilitiesAsSqliteDoes) {
    const fs::path file = testing::sample_maps_dir() / "indicators.toml";
    const auto r = run_qiancun(
        {"indicators", reg, "--as-of", kSecond, "--indicators", file.string(), "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::map<std::string, std::vector<std::string>> row_of; // key → cells
    std::vector<std::string> keys;
    for (const auto &line : split_lines(r.out)) {
        const auto cells = csv_cells(line);
        keys.push_back(cells.at(0));
        row_of[cells.at(0)] = cells;
    }
    // Header, the ten built in (hall_five_star replaced in place), then the file's fifteen.
    ASSERT_EQ(keys.size(), 26u) << r.out;
    EXPECT_EQ(keys[7], "hall_five_star");
    EXPECT_EQ(keys[11], "clinic_big_villages");
    EXPECT_EQ(keys[19], "digital_farm_factories");
    EXPECT_EQ(keys[25], "operating_income_80");
    auto actual = [&](const std::string &key) {
        EXPECT_TRUE(row_of.count(key)) << key;
        return row_of.count(key) ? std::stod(row_of[key].at(4)) : -1.0;
    };

    // Counts: the registry's rows by SQLite, the coded values as stored (English keys).
    const std::string serving = "status IN ('operating', 'renovating')";
    const std::vector<std::pair<std::string, std::string>> counted{
        {"village_museums", "SELECT count(*) FROM village_museum WHERE " + serving},
        {"workshops", "SELECT count(*) FROM workshop WHERE " + serving},
        {"smart_life_halls", "SELECT count(*) FROM smart_life_hall WHERE " + serving},
        {"farm_service_centres",
         "SELECT count(*) FROM agri_facility WHERE facility = 'farm_service_centre' AND " +
             serving},
        {"future_farms",
         "SELECT count(*) FROM agri_facility WHERE facility = 'future_farm' AND " + serving},
        {"digital_farm_factories",
         "SELECT count(*) FROM agri_facility WHERE facility = 'digital_farm_factory' AND " +
             serving},
        {"sports_grounds_new", "SELECT count(*) FROM sports_ground WHERE built_year BETWEEN 2023 "
                               "AND 2026 AND status NOT IN ('planned', 'building')"},
        {"hall_five_star", "SELECT count(*) FROM cultural_hall WHERE stars = 5 AND " + serving},
    };
    for (const auto &[key, sql] : counted) {
        SCOPED_TRACE(key);
        const double want = sqlite_number(reg, sql);
        EXPECT_GT(want, 0.0); // the sample county holds some of each
        EXPECT_EQ(actual(key), want);
    }
    // The sample county's own figures, so that a change of the generator is seen here.
    EXPECT_EQ(actual("village_museums"), 10.0);
    EXPECT_EQ(actual("farm_service_centres"), 2.0);
    EXPECT_EQ(actual("sports_grounds_new"), 8.0);

    // Shares: villages of 1,000+ people with a serving clinic linked to them; serving clinics
    // meeting the standard of those with a record.
    const double big = sqlite_number(reg, "SELECT count(*) FROM village WHERE population >= 1000");
    const double with_clinic = sqlite_number(
        reg, "SELECT count(*) FROM village WHERE population >= 1000 AND code IN (SELECT "
             "village_code FROM clinic WHERE " +
                 serving + ")");
    ASSERT_GT(big, with_clinic);
    EXPECT_EQ(actual("clinic_big_villages"), percent_of(with_clinic, big));
    const double recorded = sqlite_number(
        reg, "SELECT count(*) FROM clinic WHERE standardized IS NOT NULL AND " + serving);
    const double standard =
        sqlite_number(reg, "SELECT count(*) FROM clinic WHERE standardized = 1 AND " + serving);
    const double unrecorded =
        sqlite_number(reg, "SELECT count(*) FROM clinic WHERE standardized IS NULL AND " + serving);
    ASSERT_GT(recorded, standard);
    ASSERT_GT(unrecorded, 0.0);
    EXPECT_EQ(actual("clinic_standardized"), percent_of(standard, recorded));
    EXPECT_EQ(row_of["clinic_standardized"].at(6), fmt::format("{:.0f}", unrecorded)); // unknown

    // The village-level numbers, from the configured village attributes, by SQLite: the
    // choice stored by its key ('金3A' is gold_aaa), yes/no as 1/0, years as integers.
    const std::vector<std::pair<std::string, std::string>> villages_counted{
        {"electrified_villages",
         "SELECT count(*) FROM village WHERE electrified_year BETWEEN 2023 AND 2026"},
        {"future_villages",
         "SELECT count(*) FROM village WHERE future_village_year BETWEEN 2023 AND 2026"},
        {"gold_3a_villages", "SELECT count(*) FROM village WHERE scenic_level = 'gold_aaa'"},
        {"ecommerce_villages", "SELECT count(*) FROM village WHERE ecommerce_village = 1"},
    };
    for (const auto &[key, sql] : villages_counted) {
        SCOPED_TRACE(key);
        const double want = sqlite_number(reg, sql);
        EXPECT_GT(want, 0.0);
        EXPECT_EQ(actual(key), want);
    }
    const double income = sqlite_number(reg, "SELECT sum(collective_income_10k) FROM village");
    EXPECT_GT(income, 30000.0);
    EXPECT_NEAR(actual("collective_income"), income, 0.005);
    const double with_income =
        sqlite_number(reg, "SELECT count(*) FROM village WHERE operating_income_10k IS NOT NULL");
    const double over_80 =
        sqlite_number(reg, "SELECT count(*) FROM village WHERE operating_income_10k >= 80");
    ASSERT_GT(with_income, over_80);
    ASSERT_LT(with_income, 300.0); // some villages have no record: left out of the share
    EXPECT_EQ(actual("operating_income_80"), percent_of(over_80, with_income));
    EXPECT_EQ(row_of["operating_income_80"].at(6), fmt::format("{:.0f}", 300.0 - with_income));

    // Every entry quotes the plan with its section.
    const std::string text = testing::read_file(file);
    std::size_t entries = 0, quoted = 0;
    for (std::size_t at = text.find("\n[indicator."); at != std::string::npos;
         at = text.find("\n[indicator.", at + 1))
        ++entries;
    for (std::size_t at = text.find("\nbasis = \"plan §"); at != std::string::npos;
         at = text.find("\nbasis = \"plan §", at + 1))
        ++quoted;
    EXPECT_EQ(entries, 16u);
    EXPECT_EQ(quoted, entries);

    // The five-star halls per township against the file's targets, counted by SQLite.
    const auto t =
        run_qiancun({"indicators", reg, "--as-of", kSecond, "--indicators", file.string(), "--by",
                     "township", "--format", "csv", "--only", "hall_five_star"});
    ASSERT_EQ(t.exit_code, 0) << t.err;
    const auto per_township = split_lines(run_command({"/usr/bin/sqlite3", reg,
                                                       "SELECT v.township || ',' || count(h.id) "
                                                       "FROM village v LEFT JOIN cultural_hall h "
                                                       "ON h.village_code = v.code AND h.stars = 5 "
                                                       "AND h." +
                                                           serving + " GROUP BY v.township"})
                                              .out);
    ASSERT_EQ(per_township.size(), 15u);
    for (const auto &line : per_township) {
        const auto comma = line.find(',');
        const std::string township = line.substr(0, comma), n = line.substr(comma + 1);
        bool found = false;
        for (const auto &row : split_lines(t.out)) {
            const auto cells = csv_cells(row);
            if (cells.at(0) != township)
                continue;
            found = true;
            EXPECT_EQ(cells.at(5), n) << row; // actual
            if (township == "横塘街道") {
                EXPECT_EQ(cells.at(3), "6");
            }
            if (township == "陈塘镇") {
                EXPECT_EQ(cells.at(3), "2");
            }
            EXPECT_NE(cells.at(3), "") << row; // every township has its target
            EXPECT_NE(cells.at(6), "no_target") << row;
        }
        EXPECT_TRUE(found) << township << '\n' << t.out;
    }

    // The departments answering for them, in the table for people and in the bulletin.
    const auto people =
        run_qiancun({"indicators", reg, "--as-of", kSecond, "--indicators", file.string()});
    ASSERT_EQ(people.exit_code, 0) << people.err;
    EXPECT_THAT(people.out, HasSubstr("区卫生健康局"));
    const fs::path html = *dir / "sample_bulletin.html";
    const auto b = run_qiancun(
        {"bulletin", reg, "--as-of", kSecond, "--indicators", file.string(), "-o", html.string()});
    ASSERT_EQ(b.exit_code, 0) << b.err;
    const std::string page = testing::read_file(html);
    EXPECT_THAT(page, HasSubstr("责任单位"));
    EXPECT_THAT(page, HasSubstr("区委宣传部"));
    EXPECT_THAT(page, HasSubstr("常住人口千人以上行政村村级医疗服务覆盖率"));
}

} // namespace
} // namespace qiancun
