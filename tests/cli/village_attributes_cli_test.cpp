// Village attributes by configuration (SPEC §5.1, issue "Village attributes by configuration"):
// declared in a types file or a manifest, imported with field mapping, refused value by value,
// read by `list --where`, indicator expressions and classification rules — on a SpatiaLite file
// and on a PostGIS schema alike.

#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>

#include <optional>

namespace qiancun {
namespace {

using testing::csv_cell;
using ::testing::HasSubstr;
using testing::run_qiancun;
using testing::TempDir;
using testing::TempSchema;

constexpr const char *kTypes = R"toml([village_attributes]
future_village_year = { type = "integer", label = "省级未来乡村创建年份", min = 2000, max = 2100 }
hemei_tier = { type = "text", label = "和美乡村等级" }
scenic_3a = { type = "boolean", label = "3A级景区村庄" }
collective_income_10k = { type = "real", label = "村集体经济总收入(万元)", min = 0 }
)toml";

/// Four 1 km squares in a row (EPSG:4549), with the attributes under the bureau's own headers:
///
/// | village      | population | 未来乡村年份 | 和美等级 | 3A景区 | 集体收入 |
/// |--------------|------------|--------------|----------|--------|----------|
/// | 330604101201 | 1200       | 2024         | 省级     | 是     | 150.5    |
/// | 330604101202 | 800        |              | 市级     | 否     | 90       |
/// | 330604101203 | 1500       | 2021         |          | 是     | 310.25   |
/// | 330604101204 | 400        | 2025         | 省级     |        |          |
struct VillageRow {
    const char *code, *name, *population, *future, *tier, *scenic, *income;
};
constexpr VillageRow kVillages[] = {
    {"330604101201", "东山村", "1200", "2024", "省级", "是", "150.5"},
    {"330604101202", "下管村", "800", "", "市级", "否", "90"},
    {"330604101203", "南岙村", "1500", "2021", "", "是", "310.25"},
    {"330604101204", "北山村", "400", "2025", "省级", "", ""},
};

const std::vector<std::string> kMapping{"--field", "future_village_year=未来乡村年份",
                                        "--field", "hemei_tier=和美等级",
                                        "--field", "scenic_3a=3A景区",
                                        "--field", "collective_income_10k=集体收入"};

/// Writes the villages of kVillages, `future` replacing the year of the second one when given.
void write_villages(const std::filesystem::path &path,
                    std::optional<std::string> second_future = std::nullopt,
                    bool electrified = false) {
    std::vector<testing::FixtureFeature> features;
    int i = 0;
    for (const auto &v : kVillages) {
        const int x = 500000 + 1000 * i;
        testing::FixtureFeature f{
            fmt::format("POLYGON (({0} 3320000, {1} 3320000, {1} 3321000, {0} 3321000, {0} "
                        "3320000))",
                        x, x + 1000),
            {{"code", v.code},
             {"name", v.name},
             {"population", v.population},
             {"未来乡村年份", i == 1 && second_future ? *second_future : v.future},
             {"和美等级", v.tier},
             {"3A景区", v.scenic},
             {"集体收入", v.income}}};
        if (electrified)
            f.fields["电气化村"] = i % 2 == 0 ? "2024" : "";
        features.push_back(std::move(f));
        ++i;
    }
    std::vector<std::string> names{"code",     "name",   "population", "未来乡村年份",
                                   "和美等级", "3A景区", "集体收入"};
    if (electrified)
        names.push_back("电气化村");
    testing::write_vector(path, "GeoJSON", "villages", 4549, names, features);
}

class VillageAttributesCli : public testing::FileAndPostgisTest {
protected:
    VillageAttributesCli() : FileAndPostgisTest("village_attrs") {}

    testing::CommandResult import_villages(const std::string &name, int exit_code = 0) {
        std::vector<std::string> args{"import", reg, (dir / name).string(), "--as", "village"};
        args.insert(args.end(), kMapping.begin(), kMapping.end());
        auto r = run_qiancun(args);
        EXPECT_EQ(r.exit_code, exit_code) << r.err;
        return r;
    }

    void load_county() {
        testing::write_file(dir / "types.toml", kTypes);
        write_villages(dir / "villages.geojson");
        const auto r =
            ok({"init", reg, "--crs", "EPSG:4549", "--types", (dir / "types.toml").string()});
        EXPECT_THAT(r.out, HasSubstr("future_village_year (省级未来乡村创建年份)"));
        import_villages("villages.geojson");
    }

    /// The codes `list village --where` gives, one a line.
    std::string codes_where(const std::string &where) {
        const auto csv = ok({"list", reg, "village", "--where", where, "--format", "csv"}).out;
        std::string out;
        for (std::size_t row = 1; row < testing::split_lines(csv).size(); ++row)
            out += csv_cell(csv, "code", row) + "\n";
        return out;
    }
};

TEST_P(VillageAttributesCli, AreStoredAndImportedWithFieldMapping) {
    load_county();
    const auto csv = ok({"list", reg, "village", "--format", "csv"}).out;
    EXPECT_THAT(testing::split_lines(csv).front(),
                HasSubstr(",seat_y,future_village_year,hemei_tier,scenic_3a,collective_income_10k,"
                          "source_file,"));
    // Integers and reals as numbers, yes/no as 1/0, empty cells empty.
    EXPECT_EQ(csv_cell(csv, "future_village_year", 1), "2024");
    EXPECT_EQ(csv_cell(csv, "future_village_year", 2), "");
    EXPECT_EQ(csv_cell(csv, "hemei_tier", 2), "市级");
    EXPECT_EQ(csv_cell(csv, "scenic_3a", 1), "1");
    EXPECT_EQ(csv_cell(csv, "scenic_3a", 2), "0");
    EXPECT_EQ(csv_cell(csv, "scenic_3a", 4), "");
    EXPECT_EQ(csv_cell(csv, "collective_income_10k", 3), "310.25");
    EXPECT_EQ(csv_cell(csv, "collective_income_10k", 4), "");

    // list --where reads them, coded as import codes them ('是' is yes).
    EXPECT_EQ(codes_where("scenic_3a = '是' AND population >= 1000"),
              "330604101201\n330604101203\n");
    EXPECT_EQ(codes_where("hemei_tier = '省级'"), "330604101201\n330604101204\n");
    EXPECT_EQ(codes_where("future_village_year >= 2024 OR collective_income_10k < 100"),
              "330604101201\n330604101202\n330604101204\n");
    EXPECT_EQ(codes_where("collective_income_10k IS NULL"), "330604101204\n");
    // A copy (here into a file) keeps the configured columns and their values.
    const auto copy = (dir / "copy.sqlite").string();
    ok({"copy", reg, copy});
    EXPECT_EQ(ok({"list", copy, "village", "--format", "csv"}).out, csv);
    const auto r = run_qiancun({"list", reg, "village", "--where", "future_year > 2020"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("unknown name 'future_year' for village"));
    EXPECT_THAT(r.err, HasSubstr("future_village_year"));
}

TEST_P(VillageAttributesCli, ABadValueIsRefusedNamingFileRowAttributeAndValue) {
    load_county();
    const auto before = ok({"list", reg, "village", "--format", "csv"}).out;
    write_villages(dir / "bad.geojson", "二〇二四");
    auto r = import_villages("bad.geojson", 3);
    EXPECT_THAT(r.err, HasSubstr((dir / "bad.geojson").string()));
    EXPECT_THAT(r.err, HasSubstr("row 2"));
    EXPECT_THAT(r.err, HasSubstr("future_village_year '二〇二四' is not an integer"));
    write_villages(dir / "early.geojson", "1999");
    r = import_villages("early.geojson", 3);
    EXPECT_THAT(r.err, HasSubstr("row 2"));
    EXPECT_THAT(r.err, HasSubstr("future_village_year 1999 is below the minimum 2000"));
    EXPECT_EQ(ok({"list", reg, "village", "--format", "csv"}).out, before);
}

TEST_P(VillageAttributesCli, AnExistingRegistryGetsTheColumnWhenTheAttributeIsAdded) {
    load_county();
    write_villages(dir / "villages2.geojson", std::nullopt, true);
    testing::write_file(
        dir / "county.toml",
        fmt::format(R"toml({}electrified_year = {{ type = "integer", label = "电气化村" }}

[[source]]
kind = "village"
path = "villages2.geojson"
update = true
fields = {{ future_village_year = "未来乡村年份", hemei_tier = "和美等级", scenic_3a = "3A景区", collective_income_10k = "集体收入", electrified_year = "电气化村" }}
)toml",
                    kTypes));
    ok({"load", reg, (dir / "county.toml").string()});
    const auto csv = ok({"list", reg, "village", "--format", "csv"}).out;
    EXPECT_THAT(testing::split_lines(csv).front(),
                HasSubstr(",collective_income_10k,electrified_year,source_file,"));
    EXPECT_EQ(csv_cell(csv, "electrified_year", 1), "2024");
    EXPECT_EQ(csv_cell(csv, "electrified_year", 2), "");
    EXPECT_EQ(csv_cell(csv, "collective_income_10k", 1), "150.5");
    EXPECT_EQ(testing::split_lines(csv).size(), 5u);

    // The same name again with another type is refused, naming it; nothing changes.
    testing::write_file(dir / "other.toml",
                        "[village_attributes]\nhemei_tier = { type = \"integer\" }\n\n"
                        "[[source]]\nkind = \"village\"\npath = \"villages2.geojson\"\n");
    const auto r = run_qiancun({"load", reg, (dir / "other.toml").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("village attribute 'hemei_tier' is already defined differently"));
    EXPECT_EQ(ok({"list", reg, "village", "--format", "csv"}).out, csv);
}

TEST_P(VillageAttributesCli, IndicatorsCountSumAndShareByThem) {
    load_county();
    // As of 2026-06-30 (period 2023–2027): by hand from the table above.
    testing::write_file(dir / "indicators.toml", R"toml([indicator.future_villages]
label = "省级未来乡村"
measure = "count"
kind = "village"
where = "in_period(future_village_year)"
target = 20

[indicator.scenic_big]
label = "千人以上3A景区村"
measure = "count"
kind = "village"
where = "scenic_3a AND population >= 1000"
target = 2

[indicator.collective_income]
label = "村集体经济总收入"
unit = "万元"
measure = "sum"
kind = "village"
of = "collective_income_10k"
target = 1000

[indicator.provincial_tier]
label = "省级和美乡村占比"
measure = "village_share"
villages = "population >= 500"
condition = "hemei_tier = '省级'"
target = 50
)toml");
    const auto r =
        ok({"indicators", reg, "--as-of", "2026-06-30", "--indicators",
            (dir / "indicators.toml").string(), "--only",
            "future_villages,scenic_big,collective_income,provincial_tier", "--format", "csv"});
    const auto lines = testing::split_lines(r.out);
    ASSERT_EQ(lines.size(), 5u) << r.out;
    // 2024 and 2025 are in the period, 2021 is not, an empty year never is.
    EXPECT_EQ(csv_cell(r.out, "indicator", 1), "future_villages");
    EXPECT_EQ(csv_cell(r.out, "actual", 1), "2");
    // 201 and 203: 3A and 1,000+ people; 202 is no 3A village, 204 has no record and 400 people.
    EXPECT_EQ(csv_cell(r.out, "actual", 2), "2");
    EXPECT_EQ(csv_cell(r.out, "status", 2), "met");
    // 150.5 + 90 + 310.25; 204 has no income and is left out, in a note.
    EXPECT_EQ(csv_cell(r.out, "unit", 3), "万元");
    EXPECT_EQ(csv_cell(r.out, "actual", 3), "550.75");
    // Of 201, 202 and 203 (500+ people) 201 is provincial, 202 is not, 203 has no tier: 1 of 2.
    EXPECT_EQ(csv_cell(r.out, "actual", 4), "50");
    EXPECT_EQ(csv_cell(r.out, "unknown", 4), "1");
    const auto people = ok({"indicators", reg, "--as-of", "2026-06-30", "--indicators",
                            (dir / "indicators.toml").string(), "--only", "collective_income"});
    EXPECT_THAT(people.out, HasSubstr("collective_income: 1 village matching where without "
                                      "collective_income_10k left out of the sum"));

    // An attribute the registry does not have is an error naming the file and line.
    testing::write_file(dir / "typo.toml", "[indicator.x]\nlabel = \"x\"\nmeasure = \"count\"\n"
                                           "kind = \"village\"\nwhere = \"scenic = 1\"\n");
    const auto bad = run_qiancun(
        {"indicators", reg, "--as-of", "2026-06-30", "--indicators", (dir / "typo.toml").string()});
    EXPECT_EQ(bad.exit_code, 3);
    EXPECT_THAT(bad.err, HasSubstr("typo.toml"));
    EXPECT_THAT(bad.err, HasSubstr("unknown name 'scenic'"));
}

TEST_P(VillageAttributesCli, ClassificationRulesTestNumberYearAndYesNoAttributes) {
    load_county();
    testing::write_file(dir / "rules.toml", R"toml([[rule]]
name = "future_cluster"
class = "cluster"
when = ["future_village_year >= 2024", "collective_income_10k >= 100"]
reason = "future village with income: {conditions}"

[[rule]]
name = "scenic_heritage"
class = "heritage"
when = ["scenic_3a == yes"]

[[rule]]
name = "default"
class = "improve"
)toml");
    const auto r = ok({"classify", reg, "--rules", (dir / "rules.toml").string(), "--no-store",
                       "--format", "csv"});
    // 201: 2024 and 150.5 → cluster; 202: no year, not 3A → default; 203: 2021, 3A → heritage;
    // 204: 2025 but no income, so the first rule cannot decide and is passed over → default.
    const std::vector<std::pair<std::string, std::string>> want{{"cluster", "future_cluster"},
                                                                {"improve", "default"},
                                                                {"heritage", "scenic_heritage"},
                                                                {"improve", "default"}};
    for (std::size_t row = 1; row <= want.size(); ++row) {
        SCOPED_TRACE(row);
        EXPECT_EQ(csv_cell(r.out, "code", row), kVillages[row - 1].code);
        EXPECT_EQ(csv_cell(r.out, "suggested_class", row), want[row - 1].first);
        EXPECT_EQ(csv_cell(r.out, "rule", row), want[row - 1].second);
    }
    EXPECT_THAT(r.out, HasSubstr("future_village_year 2024 ≥ 2024"));

    // Text attributes cannot be compared with a threshold: the message lists those that can.
    testing::write_file(dir / "text.toml", "[[rule]]\nname = \"t\"\nclass = \"cluster\"\n"
                                           "when = [\"hemei_tier >= 1\"]\n\n"
                                           "[[rule]]\nname = \"default\"\nclass = \"improve\"\n");
    const auto bad = run_qiancun({"classify", reg, "--rules", (dir / "text.toml").string(),
                                  "--no-store", "--format", "csv"});
    EXPECT_EQ(bad.exit_code, 3);
    EXPECT_THAT(bad.err, HasSubstr("text.toml: line 4: unknown feature 'hemei_tier'"));
    EXPECT_THAT(bad.err, HasSubstr("village attributes: future_village_year, scenic_3a, "
                                   "collective_income_10k"));
}

INSTANTIATE_TEST_SUITE_P(Stores, VillageAttributesCli, ::testing::Values("file", "postgis"),
                         [](const auto &info) { return info.param; });

} // namespace
} // namespace qiancun
