#include "qiancun/error.hpp"
#include "qiancun/geometry.hpp"
#include "qiancun/indicators.hpp"
#include "qiancun/registry.hpp"

#include "testing/feature_writer.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>

#include <map>

namespace qiancun {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

constexpr double kX0 = 500000.0;
constexpr double kY0 = 3320000.0;
/// Villages are 1 km squares 5 km apart: no asset reaches a neighbour.
constexpr double kSpacingM = 5000.0;
/// Percentages and kilometres worked out by hand, compared to this.
constexpr double kTol = 1e-9;

std::string square_wkt(double x, double y, double side) {
    return fmt::format("POLYGON(({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))", x, y, x + side,
                       y + side);
}

double vx(int n) {
    return kX0 + kSpacingM * n;
}
/// The centre of village n.
double cx(int n) {
    return vx(n) + 500.0;
}
constexpr double kCy = kY0 + 500.0;

std::string code(int n) {
    return fmt::format("33060410120{}", n);
}

/// Writes features with an effective date, as an import dated `as_of` would.
class Writer {
public:
    explicit Writer(Registry &registry) : m_writer(registry) {}

    Writer &add(const std::string &kind, std::map<std::string, Value> values,
                const std::string &wkt) {
        m_writer.add(kind, std::move(values), wkt);
        return *this;
    }

    Writer &point(const std::string &kind, const std::string &id, double x, double y,
                  std::map<std::string, Value> values = {}) {
        m_writer.point(kind, id, x, y, std::move(values));
        return *this;
    }

    void commit(const std::string &as_of, WriteMode mode = WriteMode::upsert) {
        m_writer.commit("indicators.test", as_of, mode);
    }

private:
    testing::FeatureWriter m_writer;
};

/// Three villages, every indicator worked out by hand:
///
/// | village | township | class    | hemei | settlements | assets at its centre            |
/// |---------|----------|----------|-------|-------------|---------------------------------|
/// | 0       | 甲镇     | improve  | 2022  | S0: 100     | P0 (2023, ok), H0 ★5, C0        |
/// | 1       | 甲镇     | relocate | 2023  | —           | P1 (2015, renov. 2024, not ok), |
/// |         |          |          |       |             | H1 ★4                           |
/// | 2       | 乙镇     | —        | 2025  | S2: 300     | P2 (2024, ok; building until    |
/// |         |          |          |       |             | 2025-03-01), H2 ★5 closed, B2   |
///
/// Roads: R0 1 km through village 0, built 2024; R1 2 km north–south across village 1 (1 km
/// inside it), built 2010, maintained 2023. Everything registered 2024-01-01; P2's change to
/// operating registered as of 2025-03-01.
class SmallCounty : public ::testing::Test {
protected:
    TempDir dir;
    Registry registry = Registry::create(dir / "county.sqlite", 4549);

    void SetUp() override {
        Writer w(registry);
        const std::vector<std::tuple<std::string, Value, std::int64_t>> villages{
            {"甲镇", std::string("improve"), 2022},
            {"甲镇", std::string("relocate"), 2023},
            {"乙镇", Value{}, 2025}};
        for (int n = 0; n < 3; ++n) {
            const auto &[township, cls, hemei] = villages[static_cast<std::size_t>(n)];
            w.add("village",
                  {{"code", code(n)},
                   {"name", fmt::format("村{}", n)},
                   {"township", township},
                   {"class", cls},
                   {"hemei_year", hemei}},
                  square_wkt(vx(n), kY0, 1000.0));
        }
        w.point("settlement", "S0", cx(0), kCy, {{"population", std::int64_t{100}}});
        w.point("settlement", "S2", cx(2), kCy, {{"population", std::int64_t{300}}});
        w.point("sewage_plant", "P0", cx(0), kCy,
                {{"built_year", std::int64_t{2023}}, {"effluent_ok", std::int64_t{1}}});
        w.point("sewage_plant", "P1", cx(1), kCy,
                {{"built_year", std::int64_t{2015}},
                 {"renovated_year", std::int64_t{2024}},
                 {"effluent_ok", std::int64_t{0}}});
        w.point("sewage_plant", "P2", cx(2), kCy,
                {{"status", std::string("building")},
                 {"built_year", std::int64_t{2024}},
                 {"effluent_ok", std::int64_t{1}}});
        w.point("cultural_hall", "H0", cx(0), kCy, {{"stars", std::int64_t{5}}});
        w.point("cultural_hall", "H1", cx(1), kCy, {{"stars", std::int64_t{4}}});
        w.point("cultural_hall", "H2", cx(2), kCy,
                {{"stars", std::int64_t{5}}, {"status", std::string("closed")}});
        w.point("courier_station", "C0", cx(0), kCy);
        w.point("base_station_5g", "B2", cx(2), kCy);
        w.add("rural_road",
              {{"id", std::string("R0")},
               {"status", std::string("operating")},
               {"built_year", std::int64_t{2024}}},
              fmt::format("LINESTRING({} {}, {} {})", vx(0), kCy, vx(0) + 1000.0, kCy));
        w.add("rural_road",
              {{"id", std::string("R1")},
               {"status", std::string("operating")},
               {"built_year", std::int64_t{2010}},
               {"maintained_year", std::int64_t{2023}}},
              fmt::format("LINESTRING({0} {1}, {0} {2})", cx(1), kY0 - 500.0, kY0 + 1500.0));
        w.commit("2024-01-01");

        w.point("sewage_plant", "P2", cx(2), kCy,
                {{"built_year", std::int64_t{2024}}, {"effluent_ok", std::int64_t{1}}});
        w.commit("2025-03-01");
    }

    Bulletin bulletin(const std::string &as_of, bool by_township = false,
                      const Targets &targets = Targets::defaults(),
                      std::vector<std::string> only = {}) {
        IndicatorOptions options;
        options.as_of = as_of;
        options.by_township = by_township;
        options.only = std::move(only);
        return compute_indicators(registry, targets, MetricsConfig::defaults(registry.kinds()),
                                  options);
    }
};

const IndicatorValue &value_of(const Bulletin &b, const std::string &key,
                               const std::string &township = "") {
    for (const auto &v : b.values)
        if (v.key == key && v.township == township)
            return v;
    throw std::logic_error("no " + key + " for '" + township + "'");
}

/// Actual and status of one indicator.
void expect(const Bulletin &b, const std::string &key, std::optional<double> actual,
            IndicatorStatus status, const std::string &township = "") {
    const auto &v = value_of(b, key, township);
    if (actual) {
        ASSERT_TRUE(v.actual) << key << " " << township;
        EXPECT_NEAR(*v.actual, *actual, kTol) << key << " " << township;
    } else {
        EXPECT_FALSE(v.actual) << key << " " << township;
    }
    EXPECT_EQ(v.status, status) << key << " " << township;
}

TEST_F(SmallCounty, EveryIndicatorAfterTheStatusChange) {
    const Bulletin b = bulletin("2025-03-01");
    ASSERT_EQ(b.values.size(), 10u);
    using S = IndicatorStatus;
    expect(b, "sewage_new", 2.0, S::behind);                         // P0 (2023), P2 (2024)
    expect(b, "sewage_renovated", 1.0, S::behind);                   // P1 (2024)
    expect(b, "sewage_village_coverage", 100.0, S::met);             // 3 of 3 ≥ 98
    expect(b, "sewage_effluent_ok", 200.0 / 3.0, S::on_track);       // P0, P2 of P0, P1, P2
    expect(b, "road_new_km", 1.0, S::behind);                        // R0
    expect(b, "road_maintained_km", 2.0, S::behind);                 // R1
    expect(b, "hall_five_star", 1.0, S::behind);                     // H0; H2 is closed
    expect(b, "courier_village_coverage", 100.0 / 3.0, S::on_track); // village 0 only
    expect(b, "bs5g_settlement_coverage", 75.0, S::on_track);        // S2: 300 of 400
    // Retained: villages 0 and 2 (1 is relocate); hemei by 2025: both.
    expect(b, "retained_hemei_share", 100.0, S::met);
    EXPECT_EQ(value_of(b, "retained_hemei_share").target, 90.0); // the 2027 milestone
    EXPECT_EQ(value_of(b, "courier_village_coverage").target, 100.0);
}

TEST_F(SmallCounty, AsOfTheDayBeforeTheStatusChange) {
    const Bulletin b = bulletin("2025-02-28");
    using S = IndicatorStatus;
    expect(b, "sewage_new", 1.0, S::behind); // P2 still building
    expect(b, "sewage_village_coverage", 200.0 / 3.0, S::on_track);
    expect(b, "sewage_effluent_ok", 50.0, S::on_track); // P0 of P0, P1
    expect(b, "hall_five_star", 1.0, S::behind);
    EXPECT_THAT(b.notes.front(), HasSubstr("1 with an earlier status"));
    // The registry itself is left as it is.
    EXPECT_EQ(registry.statuses_as_of("2026-01-01", "sewage_plant").at(2).status, "operating");
}

TEST_F(SmallCounty, AsOfAnEarlierYearCountsOnlyThatYear) {
    // 2024-06-30: hemei by 2024 is village 0 only; the 2027 milestone applies.
    const Bulletin b = bulletin("2024-06-30");
    using S = IndicatorStatus;
    expect(b, "sewage_new", 1.0, S::behind);
    expect(b, "sewage_renovated", 1.0, S::behind);
    expect(b, "road_new_km", 1.0, S::behind);
    expect(b, "retained_hemei_share", 50.0, S::on_track);
    // 2023, before the first import (2024-01-01): the years in the data still count. P0 was
    // built in 2023 and R1 maintained in 2023; P1's renovation (2024) and R0 (2024) are not
    // yet in the period up to 2023; the 2023 milestone (20 %) applies.
    const std::vector<std::string> from_years{"sewage_new", "sewage_renovated", "road_new_km",
                                              "road_maintained_km", "retained_hemei_share"};
    const Bulletin early = bulletin("2023-12-31", false, Targets::defaults(), from_years);
    ASSERT_EQ(early.values.size(), 5u);
    expect(early, "sewage_new", 1.0, S::behind);
    expect(early, "sewage_renovated", 0.0, S::behind);
    expect(early, "road_new_km", 0.0, S::behind);
    expect(early, "road_maintained_km", 2.0, S::behind);
    expect(early, "retained_hemei_share", 50.0, S::met);
    EXPECT_EQ(value_of(early, "retained_hemei_share").target, 20.0);
}

/// The message compute_indicators refuses with, or "(accepted)".
std::string indicators_error(const Registry &registry, const std::string &as_of,
                             std::vector<std::string> only = {}) {
    IndicatorOptions options;
    options.as_of = as_of;
    options.only = std::move(only);
    try {
        (void)compute_indicators(registry, Targets::defaults(),
                                 MetricsConfig::defaults(registry.kinds()), options);
    } catch (const UsageError &e) {
        return e.what();
    }
    return "(accepted)";
}

TEST_F(SmallCounty, StatusesBeforeTheFirstImportAreAnErrorNotAnEmptyTable) {
    EXPECT_EQ(registry.statuses_known_from("sewage_plant"), "2024-01-01");
    EXPECT_EQ(registry.statuses_known_from("courier_station"), "2024-01-01");
    const std::string message = indicators_error(registry, "2023-12-31");
    EXPECT_THAT(message, HasSubstr("the asset statuses on 2023-12-31 are unknown"));
    EXPECT_THAT(message, HasSubstr("sewage_plant, cultural_hall, courier_station, "
                                   "base_station_5g from 2024-01-01"));
    EXPECT_THAT(message, HasSubstr("sewage_village_coverage, sewage_effluent_ok, hall_five_star, "
                                   "courier_village_coverage, bs5g_settlement_coverage need them"));
    EXPECT_THAT(message, HasSubstr("qiancun load REG MANIFEST --as-of DATE"));
    EXPECT_THAT(message, HasSubstr("--only sewage_new,sewage_renovated,road_new_km,"
                                   "road_maintained_km,retained_hemei_share"));
    // One status-based indicator is enough to refuse; on the day of the import it is known.
    EXPECT_THAT(indicators_error(registry, "2023-12-31", {"hall_five_star"}),
                AllOf(HasSubstr("cultural_hall from 2024-01-01"),
                      HasSubstr("and hall_five_star need them")));
    EXPECT_EQ(indicators_error(registry, "2024-01-01"), "(accepted)");
    EXPECT_THAT(
        indicators_error(registry, "2025-01-01", {"sewage_nw"}),
        AllOf(HasSubstr("unknown indicator 'sewage_nw'"), HasSubstr("valid: sewage_new, ")));
}

TEST(IndicatorHistory, CountsFromTheDataYearsOnARegistryFirstLoadedToday) {
    // Everything imported today without --as-of: the status history starts today, but the
    // built, renovated and maintained years are in the data.
    TempDir dir;
    Registry registry = Registry::create(dir / "r.sqlite", 4549);
    Writer w(registry);
    w.add(
        "village",
        {{"code", code(0)}, {"class", std::string("improve")}, {"hemei_year", std::int64_t{2024}}},
        square_wkt(vx(0), kY0, 1000.0));
    w.add("village", {{"code", code(1)}, {"hemei_year", std::int64_t{2026}}},
          square_wkt(vx(1), kY0, 1000.0));
    // New by 2025: N1 (2023) and N2 (2025); not N3 (2026, after the as-of year), not N4 (still
    // building), not N5 (2020, before the period). Renovated by 2025: N5 (2024).
    w.point("sewage_plant", "N1", cx(0), kCy, {{"built_year", std::int64_t{2023}}});
    w.point("sewage_plant", "N2", cx(0) + 10, kCy,
            {{"built_year", std::int64_t{2025}}, {"status", std::string("closed")}});
    w.point("sewage_plant", "N3", cx(0) + 20, kCy, {{"built_year", std::int64_t{2026}}});
    w.point("sewage_plant", "N4", cx(0) + 30, kCy,
            {{"built_year", std::int64_t{2025}}, {"status", std::string("building")}});
    w.point("sewage_plant", "N5", cx(0) + 40, kCy,
            {{"built_year", std::int64_t{2020}}, {"renovated_year", std::int64_t{2024}}});
    // Roads: 1.5 km built 2024, 0.25 km built 2024 but planned, 2 km maintained 2025.
    w.add("rural_road",
          {{"id", std::string("A")},
           {"status", std::string("operating")},
           {"built_year", std::int64_t{2024}}},
          fmt::format("LINESTRING({} {}, {} {})", vx(0), kCy, vx(0) + 1500.0, kCy));
    w.add("rural_road",
          {{"id", std::string("B")},
           {"status", std::string("planned")},
           {"built_year", std::int64_t{2024}}},
          fmt::format("LINESTRING({} {}, {} {})", vx(0), kCy + 10, vx(0) + 250.0, kCy + 10));
    w.add("rural_road",
          {{"id", std::string("C")},
           {"status", std::string("operating")},
           {"built_year", std::int64_t{2001}},
           {"maintained_year", std::int64_t{2025}}},
          fmt::format("LINESTRING({0} {1}, {0} {2})", cx(1), kY0, kY0 + 2000.0));
    w.commit("");

    IndicatorOptions options;
    options.as_of = "2025-12-31";
    options.only = {"sewage_new", "sewage_renovated", "road_new_km", "road_maintained_km",
                    "retained_hemei_share"};
    const Bulletin b = compute_indicators(registry, Targets::defaults(),
                                          MetricsConfig::defaults(registry.kinds()), options);
    using S = IndicatorStatus;
    expect(b, "sewage_new", 2.0, S::behind);
    expect(b, "sewage_renovated", 1.0, S::behind);
    expect(b, "road_new_km", 1.5, S::behind);
    expect(b, "road_maintained_km", 2.0, S::behind);
    // Both villages retained (no class counts as retained); hemei by 2025: village 0.
    expect(b, "retained_hemei_share", 50.0, S::behind);
    EXPECT_TRUE(b.notes.empty()) << b.notes.front();

    // The coverages need statuses on 2025-12-31, which the registry does not know.
    const auto today = registry.statuses_known_from("sewage_plant");
    ASSERT_TRUE(today);
    EXPECT_THAT(indicators_error(registry, "2025-12-31"),
                HasSubstr(fmt::format("sewage_plant from {}", *today)));
}

TEST(IndicatorUnknown, PlantsWithoutAnEffluentResultAreLeftOutNotFailed) {
    // 20 operating plants, 17 meeting the standard: 85 %. Ten more move from building to
    // operating on 2025-06-01 without an effluent result: still 85 %, with 10 unknown (counted
    // as failures, the share would drop to 17 / 30 = 56.67 %).
    TempDir dir;
    Registry registry = Registry::create(dir / "r.sqlite", 4549);
    Writer w(registry);
    w.add("village", {{"code", code(0)}}, square_wkt(vx(0), kY0, 1000.0));
    auto plants = [&](const std::string &status) {
        for (int i = 0; i < 30; ++i) {
            std::map<std::string, Value> values{{"status", std::string("operating")}};
            if (i < 20)
                values["effluent_ok"] = std::int64_t{i < 17 ? 1 : 0};
            else
                values["status"] = status;
            w.point("sewage_plant", fmt::format("P{}", i), cx(0) + i, kCy, values);
        }
    };
    plants("building");
    w.commit("2025-01-01");
    plants("operating");
    w.commit("2025-06-01");

    auto effluent = [&](const std::string &as_of) {
        IndicatorOptions options;
        options.as_of = as_of;
        options.only = {"sewage_effluent_ok"};
        const Bulletin b = compute_indicators(registry, Targets::defaults(),
                                              MetricsConfig::defaults(registry.kinds()), options);
        EXPECT_EQ(b.values.size(), 1u);
        return value_of(b, "sewage_effluent_ok");
    };
    const IndicatorValue before = effluent("2025-03-01");
    ASSERT_TRUE(before.actual);
    EXPECT_NEAR(*before.actual, 85.0, kTol);
    EXPECT_EQ(before.unknown, 0);
    const IndicatorValue after = effluent("2025-12-31");
    ASSERT_TRUE(after.actual);
    EXPECT_NEAR(*after.actual, 85.0, kTol);
    EXPECT_EQ(after.unknown, 10);
    EXPECT_EQ(after.detail, "17 of 20 serving plants with a result");
    EXPECT_EQ(after.status, IndicatorStatus::on_track);
}

TEST(IndicatorUnknown, SettlementsWithoutPopulationAreCountedInTheNote) {
    TempDir dir;
    Registry registry = Registry::create(dir / "r.sqlite", 4549);
    Writer w(registry);
    w.add("village", {{"code", code(0)}}, square_wkt(vx(0), kY0, 1000.0));
    w.point("settlement", "S1", cx(0), kCy, {{"population", std::int64_t{200}}});
    w.point("settlement", "S2", cx(0) + 100, kCy);
    w.point("settlement", "S3", cx(0) + 200, kCy);
    w.point("base_station_5g", "B", cx(0), kCy);
    w.commit("2025-01-01");
    IndicatorOptions options;
    options.as_of = "2025-12-31";
    options.only = {"bs5g_settlement_coverage", "sewage_effluent_ok"};
    const Bulletin b = compute_indicators(registry, Targets::defaults(),
                                          MetricsConfig::defaults(registry.kinds()), options);
    const auto &v = value_of(b, "bs5g_settlement_coverage");
    ASSERT_TRUE(v.actual);
    EXPECT_NEAR(*v.actual, 100.0, kTol);
    EXPECT_EQ(v.unknown, 2);
    const Rows rows = b.to_rows(false);
    EXPECT_EQ(rows.columns, (std::vector<std::string>{"indicator", "unit", "target", "expected",
                                                      "actual", "status", "unknown"}));
    ASSERT_EQ(rows.rows.size(), 2u);
    EXPECT_EQ(rows.rows[1][6], Value{std::int64_t{2}});
}

TEST_F(SmallCounty, ByTownship) {
    const Bulletin b = bulletin("2025-12-31", true);
    ASSERT_EQ(b.values.size(), 30u); // district, 乙镇, 甲镇
    using S = IndicatorStatus;
    expect(b, "sewage_new", 1.0, S::no_target, "甲镇"); // no township target for counts
    EXPECT_FALSE(value_of(b, "sewage_new", "甲镇").target);
    expect(b, "sewage_new", 1.0, S::no_target, "乙镇");
    expect(b, "sewage_renovated", 1.0, S::no_target, "甲镇");
    expect(b, "sewage_village_coverage", 100.0, S::met, "甲镇");
    expect(b, "sewage_effluent_ok", 50.0, S::on_track, "甲镇");
    expect(b, "sewage_effluent_ok", 100.0, S::met, "乙镇");
    expect(b, "road_new_km", 1.0, S::no_target, "甲镇");
    expect(b, "road_new_km", 0.0, S::no_target, "乙镇");
    expect(b, "road_maintained_km", 1.0, S::no_target, "甲镇"); // the 1 km inside village 1
    expect(b, "road_maintained_km", 2.0, S::behind);
    expect(b, "hall_five_star", 1.0, S::no_target, "甲镇");
    expect(b, "courier_village_coverage", 50.0, S::on_track, "甲镇");
    expect(b, "courier_village_coverage", 0.0, S::on_track, "乙镇");
    expect(b, "bs5g_settlement_coverage", 0.0, S::on_track, "甲镇");
    expect(b, "bs5g_settlement_coverage", 100.0, S::met, "乙镇");
    expect(b, "retained_hemei_share", 100.0, S::met, "甲镇");

    const Rows rows = b.to_rows(true);
    EXPECT_EQ(rows.columns, (std::vector<std::string>{"township", "indicator", "unit", "target",
                                                      "expected", "actual", "status", "unknown"}));
    EXPECT_EQ(rows.rows.size(), 30u);
    EXPECT_EQ(b.to_rows(false).columns,
              (std::vector<std::string>{"indicator", "unit", "target", "expected", "actual",
                                        "status", "unknown"}));
    EXPECT_EQ(b.to_rows(false).rows.size(), 10u);
}

TEST_F(SmallCounty, TargetsFileOverridesTheBuiltInOnes) {
    const Targets t = Targets::from_toml("[sewage_new]\ntarget = 2\n"
                                         "[retained_hemei_share]\ntarget = { 2025 = 100 }\n",
                                         "t.toml");
    const Bulletin b = bulletin("2025-06-30", false, t);
    expect(b, "sewage_new", 2.0, IndicatorStatus::met);
    expect(b, "retained_hemei_share", 100.0, IndicatorStatus::met);
    EXPECT_EQ(value_of(b, "sewage_renovated").target, 200.0); // untouched
}

/// The built-in indicators plus the indicators file `text` (named ind.toml).
Targets with_file(const Registry &registry, const std::string &text) {
    return Targets::defaults().with_indicators(text, "ind.toml", registry.kinds());
}

/// The message an indicators file `text` is refused with, or "(accepted)".
std::string indicators_file_error(const Registry &registry, const std::string &text) {
    try {
        (void)with_file(registry, text);
    } catch (const InputError &e) {
        return e.what();
    }
    return "(accepted)";
}

/// An indicator `[indicator.x]` with the lines `body` and label "x".
std::string one(const std::string &body) {
    return "[indicator.x]\nlabel = \"x\"\n" + body;
}

TEST_F(SmallCounty, MeasuresCountLengthAndSum) {
    const Targets t = with_file(registry, R"toml(
[indicator.plants_operating]
label = "运行中的处理设施"
measure = "count"
kind = "sewage_plant"
where = "status = '运行'"
target = 3

[indicator.maintained_km]
label = "养护公路"
measure = "length_km"
kind = "rural_road"
where = "maintained_year IS NOT NULL"

[indicator.stars]
label = "礼堂星级合计"
unit = "星"
measure = "sum"
kind = "cultural_hall"
of = "stars"
where = "serving"
)toml");
    // After the defaults, in the file's order.
    ASSERT_EQ(t.defs.size(), 13u);
    EXPECT_EQ(t.defs[10].key, "plants_operating");
    EXPECT_EQ(t.defs[12].unit, "星");
    const Bulletin before = bulletin("2025-02-28", true, t);
    const Bulletin after = bulletin("2025-03-01", true, t);
    using S = IndicatorStatus;
    // P2 still building; 3 expected by the end of 2027: 3 × 790 / 1826 days to the end of
    // 2025-02-28 (2024 has 366).
    expect(before, "plants_operating", 2.0, S::on_track);
    EXPECT_NEAR(*value_of(before, "plants_operating").expected, 3.0 * 790.0 / 1826.0, 1e-9);
    expect(after, "plants_operating", 3.0, S::met);
    expect(after, "plants_operating", 2.0, S::no_target, "甲镇");
    expect(after, "plants_operating", 1.0, S::no_target, "乙镇");
    expect(after, "maintained_km", 2.0, S::no_target);         // R1, no target
    expect(after, "maintained_km", 1.0, S::no_target, "甲镇"); // inside village 1
    expect(after, "maintained_km", 0.0, S::no_target, "乙镇");
    expect(after, "stars", 9.0, S::no_target); // H0 ★5 + H1 ★4; H2 is closed
    expect(after, "stars", 0.0, S::no_target, "乙镇");
    const Rows rows = after.to_rows(false);
    ASSERT_EQ(rows.rows.size(), 13u);
    EXPECT_EQ(rows.rows[10][4], Value{std::int64_t{3}}); // a count prints as an integer
    EXPECT_EQ(rows.rows[12][1], Value{std::string("星")});
}

TEST_F(SmallCounty, AssetShareLeavesUndecidedAssetsOutAndCountsThem) {
    const Targets t = with_file(registry, R"toml(
[indicator.five_star_share]
label = "五星级礼堂占比"
unit = "%"
measure = "asset_share"
kind = "cultural_hall"
where = "serving"
condition = "stars >= 5"
target = 60

[indicator.renovated_share]
label = "改造比例"
measure = "asset_share"
kind = "sewage_plant"
where = "built_year >= 2015"
condition = "renovated_year >= 2020"
)toml");
    const Bulletin b = bulletin("2025-03-01", false, t);
    expect(b, "five_star_share", 50.0, IndicatorStatus::on_track); // H0 of H0, H1
    EXPECT_EQ(value_of(b, "five_star_share").detail, "1 of 2 cultural_hall");
    EXPECT_EQ(value_of(b, "five_star_share").unknown, 0);
    // P1 renovated 2024; P0 and P2 have no renovated_year: unknown, not "no".
    expect(b, "renovated_share", 100.0, IndicatorStatus::no_target);
    EXPECT_EQ(value_of(b, "renovated_share").unknown, 2);
    EXPECT_EQ(value_of(b, "renovated_share").detail, "1 of 1 sewage_plant");
}

TEST_F(SmallCounty, VillageShareWithEveryVillageFunction) {
    const Targets t = with_file(registry, R"toml(
[indicator.plant_not_courier]
label = "a"
measure = "village_share"
villages = "class IS NOT NULL"
condition = "serving_in(sewage_plant) >= 1 AND NOT covered(courier_station)"

[indicator.courier_near]
label = "b"
measure = "village_share"
condition = "nearest_m(courier_station) <= 1000"

[indicator.bs_cov]
label = "c"
measure = "village_share"
condition = "cov(base_station_5g) >= 0.5"

[indicator.net_plant]
label = "d"
measure = "village_share"
condition = "net_nearest_m(sewage_plant) <= 100"

[indicator.relocate]
label = "e"
measure = "village_share"
condition = "class = '搬迁撤并类'"
)toml");
    const Bulletin b = bulletin("2025-03-01", true, t);
    using S = IndicatorStatus;
    // Villages 0 (improve) and 1 (relocate) have a class; 0 is covered by C0, 1 is not.
    expect(b, "plant_not_courier", 50.0, S::no_target);
    expect(b, "plant_not_courier", 50.0, S::no_target, "甲镇");
    EXPECT_EQ(value_of(b, "plant_not_courier", "乙镇").actual, std::nullopt); // no class there
    // C0 sits on village 0's demand point; villages 1 and 2 are 5 and 10 km away.
    expect(b, "courier_near", 100.0 / 3.0, S::no_target);
    // B2 reaches S2, all of village 2's people.
    expect(b, "bs_cov", 100.0 / 3.0, S::no_target);
    expect(b, "bs_cov", 100.0, S::no_target, "乙镇");
    // Along the roads: P0 and P1 lie on R0 and R1 at the demand points (0 m); village 2 has
    // no road, so no network distance: unknown, left out.
    expect(b, "net_plant", 100.0, S::no_target);
    EXPECT_EQ(value_of(b, "net_plant").unknown, 1);
    EXPECT_EQ(value_of(b, "net_plant").detail, "2 of 2 villages");
    // class: the Chinese name is read as the key; village 2 has none: unknown.
    expect(b, "relocate", 50.0, S::no_target);
    EXPECT_EQ(value_of(b, "relocate").unknown, 1);
}

TEST_F(SmallCounty, PopulationShareBySettlement) {
    const Targets t = with_file(registry, R"toml(
[indicator.hall_people]
label = "礼堂服务人口"
measure = "population_share"
condition = "within(cultural_hall)"
target = { 2025 = 50, 2027 = 100 }

[indicator.plant_people]
label = "村内有设施的人口"
measure = "population_share"
condition = "serving_in(sewage_plant) >= 1"

[indicator.jia_near_plant]
label = "甲镇近设施人口"
measure = "population_share"
villages = "township = '甲镇'"
condition = "nearest_m(sewage_plant) <= 10"
)toml");
    const Bulletin before = bulletin("2025-02-28", false, t);
    const Bulletin after = bulletin("2025-03-01", false, t);
    using S = IndicatorStatus;
    // S0 (100) is within H0's 1 km; S2 (300) has only the closed H2.
    expect(after, "hall_people", 25.0, S::behind);
    EXPECT_EQ(value_of(after, "hall_people").detail, "100 of 400 people");
    EXPECT_EQ(value_of(after, "hall_people").target, 50.0);
    // P2 serves village 2 from 2025-03-01.
    expect(before, "plant_people", 25.0, S::no_target);
    expect(after, "plant_people", 100.0, S::no_target);
    expect(after, "jia_near_plant", 100.0, S::no_target);
    EXPECT_EQ(value_of(after, "jia_near_plant").detail, "100 of 100 people");
}

TEST_F(SmallCounty, TownshipTargetsAndDepartmentFromTheFile) {
    const Targets t = with_file(registry, R"toml(
[indicator.hall_five_star]
label = "五星级农村文化礼堂"
measure = "count"
kind = "cultural_hall"
where = "serving AND stars = 5"
target = 50
basis = "plan §二(三)1"
department = "区委宣传部"
townships = { "甲镇" = 2, "乙镇" = { 2025 = 1, 2027 = 2 } }
)toml");
    // Same key: the built-in one is replaced in place.
    ASSERT_EQ(t.defs.size(), 10u);
    EXPECT_EQ(t.defs[6].key, "hall_five_star");
    EXPECT_EQ(t.defs[6].department, "区委宣传部");
    const Bulletin b = bulletin("2025-03-01", true, t);
    using S = IndicatorStatus;
    const auto &jia = value_of(b, "hall_five_star", "甲镇");
    EXPECT_EQ(jia.target, 2.0);
    ASSERT_TRUE(jia.expected);
    // 2 over the period 2023-01-01 … 2027-12-31 (1826 days), 791 days in at the end of
    // 2025-03-01.
    EXPECT_NEAR(*jia.expected, 2.0 * 791.0 / 1826.0, 1e-9);
    expect(b, "hall_five_star", 1.0, S::on_track, "甲镇");
    const auto &yi = value_of(b, "hall_five_star", "乙镇");
    EXPECT_EQ(yi.target, 1.0); // the 2025 milestone
    ASSERT_TRUE(yi.expected);
    EXPECT_NEAR(*yi.expected, 791.0 / 1096.0, 1e-9); // 0 → 1 over 2023-01-01 … 2025-12-31
    expect(b, "hall_five_star", 0.0, S::behind, "乙镇");
    // Other counts keep no township target.
    expect(b, "sewage_new", 1.0, S::no_target, "甲镇");
}

TEST_F(SmallCounty, IndicatorsFileErrorsNameTheFileLineAndProblem) {
    EXPECT_EQ(indicators_file_error(registry, one("measure = \"count\"\nkind = \"sewage_plant\"\n"
                                                  "where = \"stars = 5\"\n")),
              "ind.toml: line 5, column 1 of [indicator.x] where \"stars = 5\": unknown name "
              "'stars' for sewage_plant; names: id, status, service_radius_m, name, "
              "capacity_m3d, effluent_ok, built_year, renovated_year, plan_year, plan_end, "
              "as_of, serving");
    EXPECT_THAT(indicators_file_error(registry, one("measure = \"average\"\n")),
                AllOf(HasSubstr("ind.toml: line 1: [indicator.x] measure 'average' is not one "
                                "of count, length_km, sum")));
    EXPECT_THAT(indicators_file_error(registry, one("measure = \"count\"\nkind = \"school\"\n")),
                HasSubstr("unknown asset kind 'school'; kinds: sewage_plant, rural_road"));
    EXPECT_THAT(
        indicators_file_error(
            registry, one("measure = \"village_share\"\ncondition = \"cov(school) > 0\"\n")),
        HasSubstr("line 4, column 5 of [indicator.x] condition \"cov(school) > 0\": "
                  "unknown asset kind 'school'"));
    EXPECT_THAT(indicators_file_error(registry, "[indicator.x]\nmeasure = \"count\"\n"),
                HasSubstr("line 1: [indicator.x] needs a label"));
    EXPECT_THAT(indicators_file_error(registry, one("measure = \"village_share\"\n")),
                HasSubstr("measure village_share needs a condition"));
    EXPECT_THAT(indicators_file_error(
                    registry, one("measure = \"count\"\nkind = \"sewage_plant\"\nunit = \"%\"\n")),
                HasSubstr("unit '%': measure count is in 'count'"));
    EXPECT_THAT(
        indicators_file_error(registry, one("measure = \"length_km\"\nkind = \"sewage_plant\"\n")),
        HasSubstr("length_km needs a line kind"));
    EXPECT_THAT(indicators_file_error(
                    registry, one("measure = \"sum\"\nkind = \"sewage_plant\"\nof = \"name\"\n")),
                HasSubstr("of = 'name' is not a number column of sewage_plant"));
    EXPECT_THAT(
        indicators_file_error(registry, one("measure = \"count\"\nkind = "
                                            "\"sewage_plant\"\nwhere = \"status = 'x'\"\n")),
        HasSubstr("status 'x' is not one of"));
    EXPECT_THAT(indicators_file_error(registry, one("measure = \"count\"\nkind = "
                                                    "\"sewage_plant\"\ntarget = -1\n")),
                HasSubstr("line 5: [indicator.x] target must be a number ≥ 0"));
    EXPECT_THAT(indicators_file_error(registry, one("goal = 3\n")),
                HasSubstr("line 3: unknown key 'goal' in [indicator.x]"));
    // TOML 1.0 keys outside ASCII need quotes; the message says so.
    EXPECT_THAT(indicators_file_error(registry, one("townships = { 甲镇 = 2 }\n")),
                AllOf(HasSubstr("ind.toml: line 3"),
                      HasSubstr("a key in Chinese needs quotes in TOML: { \"东关街道\" = 100 }")));
    EXPECT_THAT(indicators_file_error(registry, "[indicator.Big]\nlabel = \"x\"\n"),
                HasSubstr("indicator key 'Big' must be lower-case"));
    EXPECT_THAT(indicators_file_error(registry, "[sewage_new]\ntarget = 3\n"),
                HasSubstr("line 1: unknown key 'sewage_new'; an indicators file has"));
    EXPECT_THAT(indicators_file_error(registry, one("measure = \"count\"\nkind = "
                                                    "\"sewage_plant\"\nwhere = \"status = \n")),
                HasSubstr("ind.toml: line 5"));
}

TEST(IndicatorTargets, TheBuiltInFileHoldsTheTargetsOfTheTargetsFile) {
    // sample_maps/targets.toml (default_targets_toml) and the built-in indicators file carry the
    // same numbers: applying one to the other changes nothing.
    const Targets builtin = Targets::defaults();
    const Targets applied = builtin.with_targets(default_targets_toml(), "targets.toml");
    ASSERT_EQ(applied.by_key.size(), builtin.by_key.size());
    for (const auto &[key, target] : builtin.by_key) {
        EXPECT_EQ(applied.by_key.at(key).milestones, target.milestones) << key;
        EXPECT_EQ(applied.by_key.at(key).basis, target.basis) << key;
        EXPECT_EQ(applied.by_key.at(key).assumption, target.assumption) << key;
    }
    for (const auto &d : builtin.defs)
        EXPECT_EQ(d.needs_statuses, !d.status_kinds.empty()) << d.key;
}

TEST(IndicatorTargets, BuiltInTargetsAreThePlansAndShipped) {
    const Targets t = Targets::defaults();
    EXPECT_EQ(t.period_start, 2023);
    EXPECT_EQ(t.period_end, 2027);
    const std::map<std::string, double> plan{{"sewage_new", 40},
                                             {"sewage_renovated", 200},
                                             {"sewage_village_coverage", 98},
                                             {"sewage_effluent_ok", 98},
                                             {"road_new_km", 30},
                                             {"road_maintained_km", 300},
                                             {"hall_five_star", 50},
                                             {"courier_village_coverage", 100},
                                             {"bs5g_settlement_coverage", 100}};
    ASSERT_EQ(t.by_key.size(), 10u);
    for (const auto &[key, value] : plan)
        EXPECT_EQ(t.by_key.at(key).for_year(2025), value) << key;
    const Target &hemei = t.by_key.at("retained_hemei_share");
    EXPECT_EQ(hemei.for_year(2023), 20.0);
    EXPECT_EQ(hemei.for_year(2024), 90.0);
    EXPECT_EQ(hemei.for_year(2027), 90.0);
    EXPECT_EQ(hemei.for_year(2030), 90.0);
    for (const auto &[key, target] : t.by_key)
        EXPECT_EQ(target.assumption,
                  key == "courier_village_coverage" || key == "bs5g_settlement_coverage")
            << key;
    EXPECT_EQ(testing::read_file(testing::sample_maps_dir() / "targets.toml"),
              std::string(default_targets_toml()));
    std::vector<std::string> keys;
    for (const auto &d : indicator_defs())
        keys.push_back(d.key);
    EXPECT_EQ(keys,
              (std::vector<std::string>{"sewage_new", "sewage_renovated", "sewage_village_coverage",
                                        "sewage_effluent_ok", "road_new_km", "road_maintained_km",
                                        "hall_five_star", "courier_village_coverage",
                                        "bs5g_settlement_coverage", "retained_hemei_share"}));
}

/// The message a targets file `text` (named t.toml) is rejected with, or "(accepted)".
std::string targets_error(const std::string &text) {
    try {
        (void)Targets::from_toml(text, "t.toml");
    } catch (const InputError &e) {
        return e.what();
    }
    return "(accepted)";
}

TEST(IndicatorTargets, BadTargetsFilesAreRejectedWithTheLine) {
    EXPECT_THAT(targets_error("\n[sewage_old]\ntarget = 3\n"),
                AllOf(HasSubstr("t.toml"), HasSubstr("line 2"), HasSubstr("unknown indicator")));
    EXPECT_THAT(targets_error("[sewage_new]\ntarget = -3\n"), HasSubstr("line 2"));
    EXPECT_THAT(targets_error("[sewage_new]\ntarget = { soon = 3 }\n"),
                AllOf(HasSubstr("line 2"), HasSubstr("not a year")));
    EXPECT_THAT(targets_error("[sewage_new]\ngoal = 3\n"),
                AllOf(HasSubstr("line 2"), HasSubstr("unknown key 'goal'")));
    EXPECT_THAT(targets_error("[sewage_new]\nbasis = \"x\"\n"), HasSubstr("needs a target"));
}

TEST(IndicatorTargets, YearsAreWholeNumbersFrom2000To2100) {
    // A float far outside the int64 range (found by fuzz_targets) is an error, not undefined
    // behaviour in the conversion.
    EXPECT_THAT(
        targets_error("period_end=99999999999999999999999999999999999999999999999999999999999999990"
                      ".0 "),
        AllOf(HasSubstr("line 1"), HasSubstr("period_end must be a year")));
    EXPECT_THAT(targets_error("period_start = -1e300\n"), HasSubstr("period_start must be a year"));
    EXPECT_THAT(targets_error("period_end = nan\n"), HasSubstr("period_end must be a year"));
    EXPECT_THAT(targets_error("period_end = 2030.5\n"), HasSubstr("period_end must be a year"));
    EXPECT_THAT(targets_error("period_end = true\n"), HasSubstr("period_end must be a year"));
    EXPECT_THAT(targets_error("period_end = 2101\n"), HasSubstr("period_end must be a year"));
    EXPECT_EQ(Targets::from_toml("period_end = 2030\n", "t.toml").period_end, 2030);
    EXPECT_EQ(Targets::from_toml("period_end = 2030.0\n", "t.toml").period_end, 2030);
}

TEST(StatusHistory, RecordsInsertsChangesAndRemovalsWithTheirDates) {
    TempDir dir;
    Registry registry = Registry::create(dir / "r.sqlite", 4549);
    Writer w(registry);
    w.point("sewage_plant", "A", kX0, kY0, {{"status", std::string("planned")}});
    w.point("sewage_plant", "B", kX0 + 10, kY0);
    w.commit("2024-01-15");
    // Same status again: no new entry; A changes; B disappears in a replacing import.
    w.point("sewage_plant", "A", kX0, kY0, {{"status", std::string("planned")}});
    w.commit("2024-02-01");
    w.point("sewage_plant", "A", kX0, kY0, {{"status", std::string("building")}});
    w.commit("2024-06-01", WriteMode::replace);

    const auto history = registry.status_history("sewage_plant", "A");
    ASSERT_EQ(history.size(), 2u);
    EXPECT_EQ(history[0].status, "planned");
    EXPECT_EQ(history[0].valid_from, "2024-01-15");
    EXPECT_EQ(history[0].source, "indicators.test");
    EXPECT_EQ(history[1].status, "building");
    EXPECT_EQ(history[1].valid_from, "2024-06-01");
    const auto b = registry.status_history("sewage_plant", "B");
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(b[1].status, ""); // removed
    EXPECT_EQ(b[1].valid_from, "2024-06-01");

    auto statuses = [&](const std::string &date) {
        std::vector<std::string> out;
        for (const auto &s : registry.statuses_as_of(date, "sewage_plant"))
            out.push_back(s.id + "=" + s.status);
        return out;
    };
    EXPECT_TRUE(statuses("2024-01-14").empty());
    EXPECT_EQ(statuses("2024-01-15"), (std::vector<std::string>{"A=planned", "B=operating"}));
    EXPECT_EQ(statuses("2024-05-31"), (std::vector<std::string>{"A=planned", "B=operating"}));
    EXPECT_EQ(statuses("2024-06-01"), (std::vector<std::string>{"A=building"}));
    EXPECT_THROW(registry.statuses_as_of("2024-02-30"), UsageError);
    EXPECT_THROW(registry.statuses_as_of("24-01-01"), UsageError);

    // A malformed effective date is refused before anything is written.
    ImportRecord bad;
    bad.kind = "sewage_plant";
    bad.effective_date = "2024/06/01";
    Registry::Transaction tx(registry);
    EXPECT_THROW(registry.write(registry.kind("sewage_plant"), {}, WriteMode::upsert, bad),
                 UsageError);
}

TEST(StatusHistory, DefaultsToTheImportDate) {
    TempDir dir;
    Registry registry = Registry::create(dir / "r.sqlite", 4549);
    Writer w(registry);
    w.point("courier_station", "K", kX0, kY0);
    w.commit("");
    const auto h = registry.status_history("courier_station", "K");
    ASSERT_EQ(h.size(), 1u);
    EXPECT_TRUE(is_iso_date(h[0].valid_from));
    EXPECT_EQ(registry.statuses_as_of(h[0].valid_from).size(), 1u);
}

} // namespace
} // namespace qiancun
