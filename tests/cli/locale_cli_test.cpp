#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <cmath>
#include <regex>

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using testing::csv_cell;
using testing::run_qiancun;
using testing::TempDir;

/// `text` with ISO timestamps (updated_at) blanked.
std::string without_times(const std::string &text) {
    static const std::regex kStamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
    return std::regex_replace(text, kStamp, "<time>");
}

/// Two villages split by a river (NetworkCli's county) with a plant whose coordinates and
/// radius have decimals, imported from CSV and queried with decimal options, in `locale`.
struct LocaleRun {
    testing::CommandResult list, route, service_area, metrics;
};

LocaleRun run_in(const std::string &locale, const fs::path &dir) {
    const testing::Environment env = testing::locale_environment(locale);
    const std::string reg = testing::test_registry(dir, locale + ".sqlite");
    for (const auto &args : testing::river_county_loads(reg, dir)) {
        const auto r = run_qiancun(args, std::nullopt, env);
        EXPECT_EQ(r.exit_code, 0) << locale << ": " << args[0] << ": " << r.err;
    }
    LocaleRun out;
    out.list =
        run_qiancun({"list", reg, "sewage_plant", "--wkt", "--format", "csv"}, std::nullopt, env);
    out.route = run_qiancun(
        {"route", reg, "--from", "S1", "--to-nearest", "sewage_plant", "--format", "csv"},
        std::nullopt, env);
    out.service_area = run_qiancun({"service-area", reg, "--type", "sewage_plant", "--distance",
                                    "500.5", "--width", "50.25", "--format", "csv"},
                                   std::nullopt, env);
    out.metrics = run_qiancun({"metrics", reg, "--format", "csv"}, std::nullopt, env);
    return out;
}

struct LocaleCli : ::testing::Test {
    TempDir dir;

    void SetUp() override {
        testing::write_river_county(dir.path(), "WS1,operating,1000.5,500100.25,3320390.75", false);
    }
};

TEST_F(LocaleCli, NumbersAreTheSameInEveryLocale) {
    // The locales really differ in their decimal separator (else this test proves nothing).
    const auto de = testing::run_command({"/usr/bin/locale", "-k", "decimal_point"}, std::nullopt,
                                         testing::locale_environment("de_DE.UTF-8"));
    ASSERT_EQ(de.out, "decimal_point=\",\"\n") << de.err;

    const LocaleRun c = run_in("C", dir.path());
    ASSERT_EQ(c.list.exit_code, 0) << c.list.err;
    ASSERT_EQ(c.route.exit_code, 0) << c.route.err;
    ASSERT_EQ(c.service_area.exit_code, 0) << c.service_area.err;
    ASSERT_EQ(c.metrics.exit_code, 0) << c.metrics.err;
    // What the C locale reads: the CSV coordinates and radius, the decimal options.
    EXPECT_EQ(csv_cell(c.list.out, "service_radius_m"), "1000.5");
    EXPECT_EQ(csv_cell(c.list.out, "wkt"), "POINT(500100.25 3320390.75)");
    // 10 m to the north road, 1900 m east, 200 m over the bridge, 1899.75 m back west, 9.25 m.
    EXPECT_NEAR(std::stod(csv_cell(c.route.out, "distance_m")), 4019.0, 1e-6);
    EXPECT_EQ(csv_cell(c.service_area.out, "reach_m"), "500.5");
    EXPECT_EQ(csv_cell(c.service_area.out, "leg_m"), "9.25");

    for (const std::string locale : {"de_DE.UTF-8", "zh_CN.UTF-8"}) {
        const LocaleRun r = run_in(locale, dir.path());
        EXPECT_EQ(without_times(r.list.out), without_times(c.list.out))
            << locale << ": " << r.list.err;
        EXPECT_EQ(r.route.out, c.route.out) << locale << ": " << r.route.err;
        EXPECT_EQ(r.service_area.out, c.service_area.out) << locale << ": " << r.service_area.err;
        EXPECT_EQ(r.metrics.out, c.metrics.out) << locale << ": " << r.metrics.err;
        EXPECT_EQ(r.service_area.exit_code, 0) << locale;
    }
}

TEST(UsageErrors, ExitTwoAsTheReadmePromises) {
    TempDir dir;
    for (const auto &args : std::vector<std::vector<std::string>>{
             {"nosuchcommand"},
             {"list"},
             {"init", (dir / "r.sqlite").string(), "--no-such-flag"},
             {"service-area", "r.sqlite", "--type", "sewage_plant", "--width", "fifty"},
             {"service-area", "r.sqlite", "--type", "sewage_plant", "--distance", "79,9"},
             {"service-area", "r.sqlite", "--type", "sewage_plant", "--width", "-5"},
             {"list", "r.sqlite", "village", "--format", "xml"}}) {
        const auto r = run_qiancun(args);
        EXPECT_EQ(r.exit_code, 2) << args[0] << " " << (args.size() > 1 ? args.back() : "") << ": "
                                  << r.err;
        EXPECT_FALSE(r.err.empty());
    }
    const auto bad = run_qiancun({"service-area", "r.sqlite", "--type", "x", "--distance", "79,9"});
    EXPECT_NE(bad.err.find("--distance: '79,9' is not a number"), std::string::npos) << bad.err;
    // Asking for help or the version is no error.
    EXPECT_EQ(run_qiancun({"--help"}).exit_code, 0);
    EXPECT_EQ(run_qiancun({"list", "--help"}).exit_code, 0);
    const auto version = run_qiancun({"--version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_NE(version.out.find("qiancun"), std::string::npos);
}

/// Display columns of `s` by an independent reading of UAX #11 for the characters the test
/// uses: CJK ideographs (U+4E00–U+9FFF) are wide, every other character narrow.
std::size_t columns(const std::string &s) {
    std::size_t w = 0;
    for (std::size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        const std::size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        char32_t c = len == 1 ? b : len == 3 ? b & 0x0F : b & 0x1F;
        for (std::size_t k = 1; k < len; ++k)
            c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        w += c >= 0x4E00 && c <= 0x9FFF ? 2 : 1;
        i += len;
    }
    return w;
}

TEST(Tables, ColumnsAlignWithDashesSignsEllipsesAndChinese) {
    TempDir dir;
    const std::string reg = testing::test_registry(dir.path(), "r.sqlite");
    testing::write_vector(
        dir / "villages.geojson", "GeoJSON", "villages", 4549, {"code", "name", "township"},
        {{"POLYGON ((500000 3320000, 501000 3320000, 501000 3321000, 500000 3321000, "
          "500000 3320000))",
          {{"code", "330604101201"}, {"name", "东山村—北"}, {"township", "东关街道"}}},
         {"POLYGON ((501000 3320000, 502000 3320000, 502000 3321000, 501000 3321000, "
          "501000 3320000))",
          {{"code", "330604101202"}, {"name", "≥5 km…"}, {"township", "T"}}},
         {"POLYGON ((502000 3320000, 503000 3320000, 503000 3321000, 502000 3321000, "
          "502000 3320000))",
          {{"code", "330604101203"}, {"name", "Xiaguan"}, {"township", "T"}}}});
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);
    const auto imp =
        run_qiancun({"import", reg, (dir / "villages.geojson").string(), "--as", "village"});
    ASSERT_EQ(imp.exit_code, 0) << imp.err;
    const auto r = run_qiancun({"list", reg, "village"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = testing::split_lines(r.out);
    ASSERT_EQ(lines.size(), 5u) << r.out; // header, three villages, "(3 rows)"
    // The column after `name` starts at the same screen column on every line.
    std::vector<std::size_t> starts;
    for (std::size_t i = 0; i < 4; ++i) {
        const auto &line = lines[i];
        const std::string after = i == 0 ? "township" : i == 1 ? "东关街道" : "T ";
        const auto at = line.find(after);
        ASSERT_NE(at, std::string::npos) << line;
        starts.push_back(columns(line.substr(0, at)));
    }
    EXPECT_EQ(starts[1], starts[0]) << r.out;
    EXPECT_EQ(starts[2], starts[0]) << r.out;
    EXPECT_EQ(starts[3], starts[0]) << r.out;
    // "东山村—北" is 9 columns wide (the dash is narrow): the widest name, then two spaces.
    EXPECT_EQ(starts[0], columns(lines[1].substr(0, lines[1].find("东山村"))) + 9 + 2) << r.out;
}

} // namespace
} // namespace qiancun
