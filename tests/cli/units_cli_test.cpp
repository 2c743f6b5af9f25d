#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>

#include <numbers>

/// SPEC §8 units and words: one convention in every table (areas in km², ratios 0–1 for
/// scripts and % for people), the same quantity under the same name has the same value in
/// every command, and a value in a "below the threshold" list reads below it.

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::run_qiancun;
using testing::TempDir;

/// Ratios of drawn discs agree with circles within 0.002 (16 segments per quarter).
constexpr double kRatioTol = 0.002;

/// Two 1 km squares. 东山村 (…201): a plant of radius 1000 m on its south-west corner reaches
/// 1,799 of its 2,000 people (pop_cov 0.8995, a gap at 0.9). 下管村 (…202): a plant of radius
/// 500 m in its middle reaches 1,000 of 1,010 people (not a gap, yet 10 people uncovered).
struct UnitsCli : ::testing::Test {
    TempDir dir;
    std::string reg = testing::test_registry(dir.path(), "county.sqlite");

    void SetUp() override {
        testing::write_two_square_villages(dir / "villages.geojson");
        testing::write_vector(dir / "settlements.geojson", "GeoJSON", "settlements", 4549,
                              {"id", "population"},
                              {{"POINT (500100 3320100)", {{"id", "S1"}, {"population", "1799"}}},
                               {"POINT (500900 3320900)", {{"id", "S2"}, {"population", "201"}}},
                               {"POINT (501500 3320500)", {{"id", "S3"}, {"population", "1000"}}},
                               {"POINT (501990 3320990)", {{"id", "S4"}, {"population", "10"}}}},
                              {}, {}, {"population"});
        testing::write_file(dir / "plants.csv", "id,status,service_radius_m,x,y\n"
                                                "WS1,运行,1000,500000,3320000\n"
                                                "WS2,运行,500,501500,3320500\n");
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

    /// Cell `column` of the data row starting with `key` in CSV `text`.
    static std::string cell(const std::string &text, const std::string &key,
                            const std::string &column) {
        const auto lines = testing::split_lines(text);
        auto split = [](const std::string &line) {
            std::vector<std::string> out;
            std::size_t start = 0;
            for (auto comma = line.find(','); comma != std::string::npos;
                 comma = line.find(',', start = comma + 1))
                out.push_back(line.substr(start, comma - start));
            out.push_back(line.substr(start));
            return out;
        };
        const auto header = split(lines.at(0));
        const auto at = static_cast<std::size_t>(std::find(header.begin(), header.end(), column) -
                                                 header.begin());
        for (const auto &line : lines)
            if (line.rfind(key + ",", 0) == 0)
                return split(line).at(at);
        return "(no row " + key + ")";
    }
};

TEST_F(UnitsCli, GapAreasAreInSquareKilometresInTheTableAndTheLayer) {
    auto r = run_qiancun({"gaps", reg, "--type", "sewage_plant", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(testing::split_lines(r.out).at(0),
              "code,name,cov,uncovered_area_km2,uncovered_population,uncovered_settlements");
    EXPECT_NEAR(std::stod(cell(r.out, "330604101201", "uncovered_area_km2")),
                1.0 - std::numbers::pi / 4, kRatioTol);

    const fs::path gpkg = dir / "gaps.gpkg";
    r = run_qiancun({"gaps", reg, "--type", "sewage_plant", "-o", gpkg.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto areas = testing::read_vector(gpkg, "gaps_sewage_plant");
    ASSERT_EQ(areas.size(), 1u);
    EXPECT_NEAR(std::stod(areas[0].at("uncovered_area_km2")), 1.0 - std::numbers::pi / 4,
                kRatioTol);
    EXPECT_EQ(areas[0].count("uncovered_area_m2"), 0u);
}

TEST_F(UnitsCli, UncoveredPopulationIsTheSameFigureUnderTheSameWords) {
    auto r = run_qiancun({"metrics", reg, "--no-store"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // The summary: uncovered_population counts all villages (201 + 10), the gap villages'
    // share has its own name.
    const auto summary = testing::split_lines(r.out);
    ASSERT_GE(summary.size(), 2u) << r.out;
    EXPECT_THAT(summary[0], HasSubstr("uncovered_population  uncovered_population_in_gaps"));
    EXPECT_THAT(summary[1], ::testing::MatchesRegex("sewage_plant .* 211 +201 *"));

    r = run_qiancun({"gaps", reg, "--type", "sewage_plant"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("sewage_plant: 1 of 2 villages below the threshold 90.0% (worst "
                                 "first); uncovered population 201 in these villages, 211 in "
                                 "all villages"));
}

TEST_F(UnitsCli, BelowThresholdValuesReadBelowIt) {
    auto r = run_qiancun({"gaps", reg, "--type", "sewage_plant"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // pop_cov 1799 / 2000 = 0.8995: rounding would print 0.90 (or 90.0%) under "below 0.9".
    EXPECT_THAT(r.out, HasSubstr("89.9%"));
    EXPECT_THAT(r.out, Not(HasSubstr("0.90")));
    EXPECT_THAT(r.out, Not(HasSubstr("90.0%  ")));

    r = run_qiancun({"metrics", reg, "--no-store", "--type", "sewage_plant"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, ::testing::ContainsRegex("330604101201 +东山村 +89\\.9% +sewage_plant"));

    // Scripts get the ratio itself, 0–1.
    r = run_qiancun({"gaps", reg, "--type", "sewage_plant", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NEAR(std::stod(cell(r.out, "330604101201", "cov")), 0.8995, 1e-12);
}

} // namespace
} // namespace qiancun
