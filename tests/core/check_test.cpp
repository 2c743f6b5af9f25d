#include "qiancun/check.hpp"
#include "qiancun/error.hpp"
#include "qiancun/registry.hpp"

#include "testing/feature_writer.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>

#include <cmath>

namespace qiancun {
namespace {

using testing::TempDir;

constexpr double kX0 = 500000.0;
constexpr double kY0 = 3320000.0;
constexpr double kCy = kY0 + 500.0;
/// Distances in the findings are GEOS distances of exact inputs.
constexpr double kTolM = 1e-6;

std::string square_wkt(double x, double y) {
    return fmt::format("POLYGON(({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))", x, y, x + 1000,
                       y + 1000);
}

std::string code(int n) {
    return fmt::format("33060410120{}", n);
}

std::string line(double x1, double y1, double x2, double y2) {
    return fmt::format("LINESTRING({} {}, {} {})", x1, y1, x2, y2);
}

/// Exactly one case of each finding, beside near-misses that must not be reported:
///
/// - villages 1 km square, 5 km apart: V0 (1000 people, S0, the main roads R1–R2–R4, the
///   courier stations and plants), V1 (500, S4, the lone road R3), V2 (population empty, S2),
///   V3 (300, no settlement);
/// - duplicates: K1 and K2 "黄门村服务站" 14 m apart; K3 the same name 60 m from K1 (74 m from
///   K2); K4 "岭南村服务站" 10 m from K1; K5 "黄门村1号站" and K6 "黄门村2号站" 5 m apart;
/// - hall H9 outside every village; hall H1 on V0's western border (inside);
/// - plants: P1 operating without a result; P2 building without one; P3 operating, not ok;
/// - roads: R4 starts 0.5 m from R2's end (snapped: connected); R3 alone in V1; R5 planned
///   and alone (not in the network);
/// - settlements: S2 4.8 km and more from any road; S4 exactly 1,000 m from R3 (the cap is
///   inclusive).
class CheckFixture : public ::testing::Test {
protected:
    TempDir dir;
    Registry registry = Registry::create(dir / "county.sqlite", 4549);

    static double vx(int n) { return kX0 + 5000.0 * n; }

    void SetUp() override {
        testing::FeatureWriter w(registry);
        const std::vector<Value> population{std::int64_t{1000}, std::int64_t{500}, Value{},
                                            std::int64_t{300}};
        for (int n = 0; n < 4; ++n)
            w.add("village",
                  {{"code", code(n)},
                   {"name", fmt::format("村{}", n)},
                   {"population", population[static_cast<std::size_t>(n)]}},
                  square_wkt(vx(n), kY0));
        w.point("settlement", "S0", vx(0) + 500, kCy, {{"population", std::int64_t{100}}});
        w.point("settlement", "S4", vx(1) + 700, kY0 + 810, {{"population", std::int64_t{50}}});
        w.point("settlement", "S2", vx(2) + 500, kCy, {{"population", std::int64_t{80}}});
        const double ky = kY0 + 300;
        w.point("courier_station", "K1", vx(0) + 300, ky, {{"name", std::string("黄门村服务站")}});
        w.point("courier_station", "K2", vx(0) + 314, ky, {{"name", std::string("黄门村服务站")}});
        w.point("courier_station", "K3", vx(0) + 240, ky, {{"name", std::string("黄门村服务站")}});
        w.point("courier_station", "K4", vx(0) + 300, ky + 10,
                {{"name", std::string("岭南村服务站")}});
        w.point("courier_station", "K5", vx(0) + 600, ky, {{"name", std::string("黄门村1号站")}});
        w.point("courier_station", "K6", vx(0) + 605, ky, {{"name", std::string("黄门村2号站")}});
        w.point("cultural_hall", "H9", vx(0) + 2500, kCy + 2000);
        w.point("cultural_hall", "H1", vx(0), kCy + 200);
        w.point("sewage_plant", "P1", vx(0) + 800, kY0 + 100);
        w.point("sewage_plant", "P2", vx(0) + 820, kY0 + 100,
                {{"status", std::string("building")}});
        w.point("sewage_plant", "P3", vx(0) + 840, kY0 + 100, {{"effluent_ok", std::int64_t{0}}});
        auto road = [&](const std::string &id, const std::string &status, const std::string &wkt) {
            w.add("rural_road", {{"id", id}, {"status", status}}, wkt);
        };
        road("R1", "operating", line(vx(0), kCy, vx(0) + 1000, kCy));
        road("R2", "operating", line(vx(0) + 1000, kCy, vx(0) + 2000, kCy));
        road("R4", "operating", line(vx(0) + 2000.5, kCy, vx(0) + 2000.5, kCy + 300));
        road("R3", "operating", line(vx(1), kY0 + 10, vx(1) + 100, kY0 + 10));
        road("R5", "planned", line(vx(3) + 100, kCy, vx(3) + 900, kCy));
        w.commit("check.test");
    }
};

TEST_F(CheckFixture, ReportsExactlyOneOfEachFinding) {
    const CheckReport report = check_registry(registry, MetricsConfig::defaults(registry.kinds()));
    EXPECT_TRUE(report.skipped.empty());
    const Rows rows = report.to_rows();
    EXPECT_EQ(rows.columns,
              (std::vector<std::string>{"check", "kind", "id", "village_code", "detail", "value"}));
    ASSERT_EQ(report.findings.size(), 7u) << fmt::format("{}", rows.rows.size());
    auto expect = [&](std::size_t i, const std::string &check, const std::string &kind,
                      const std::string &id, const std::string &village, const std::string &detail,
                      std::optional<double> value) {
        const Finding &f = report.findings.at(i);
        EXPECT_EQ(f.check, check) << i;
        EXPECT_EQ(f.kind, kind) << i;
        EXPECT_EQ(f.id, id) << i;
        EXPECT_EQ(f.village_code, village) << i;
        EXPECT_EQ(f.detail, detail) << i;
        ASSERT_EQ(f.value.has_value(), value.has_value()) << i;
        if (value) {
            EXPECT_NEAR(*f.value, *value, kTolM) << i;
        }
    };
    expect(0, "duplicate_asset", "courier_station", "K1", code(0),
           "same name as K2 (黄门村服务站), 14.0 m apart", 14.0);
    expect(1, "outside_villages", "cultural_hall", "H9", "", "outside every village", {});
    expect(2, "village_without_settlements", "village", code(3), code(3), "no settlement", {});
    expect(3, "village_without_population", "village", code(2), code(2), "population empty", {});
    expect(4, "plant_without_effluent", "sewage_plant", "P1", code(0),
           "operating, effluent_ok empty", {});
    expect(5, "road_disconnected", "rural_road", "R3", "",
           "in a piece of 1 road(s), 0.100 km, not joined to the main network (2.300 km)", 0.1);
    // S2 to R3's far end (505100, 3320010).
    const double leg = std::hypot(vx(2) + 500 - (vx(1) + 100), kCy - (kY0 + 10));
    expect(6, "settlement_off_road", "settlement", "S2", code(2),
           fmt::format("{:.1f} m from the nearest serving road (cap 1000.0 m)", leg), leg);

    const auto counts = report.counts();
    ASSERT_EQ(counts.size(), 7u);
    for (const auto &[check, n] : counts)
        EXPECT_EQ(n, 1) << check;
}

TEST_F(CheckFixture, LikelyDuplicatesArePairsOfOneKind) {
    const auto pairs = likely_duplicates(registry, "courier_station");
    ASSERT_EQ(pairs.size(), 1u);
    EXPECT_EQ(pairs[0].id_a, "K1");
    EXPECT_EQ(pairs[0].id_b, "K2");
    EXPECT_TRUE(pairs[0].same_name);
    EXPECT_NEAR(pairs[0].distance_m, 14.0, kTolM);
    // 60 m is beyond 50 m; at 60 m K1 and K3 are a pair.
    const auto wider = likely_duplicates(registry, "courier_station", 60.0);
    ASSERT_EQ(wider.size(), 2u);
    EXPECT_EQ(wider[1].id_a, "K1");
    EXPECT_EQ(wider[1].id_b, "K3");
    // Kinds without names have none.
    EXPECT_TRUE(likely_duplicates(registry, "rural_road").empty());
}

TEST_F(CheckFixture, ChecksWithoutTheirLayerAreSkippedAndSaid) {
    TempDir empty_dir;
    Registry empty = Registry::create(empty_dir / "e.sqlite", 4549);
    testing::FeatureWriter w(empty);
    w.point("courier_station", "K", kX0, kY0);
    w.commit("check.test");
    const CheckReport report = check_registry(empty, MetricsConfig::defaults(empty.kinds()));
    EXPECT_TRUE(report.findings.empty());
    EXPECT_EQ(report.skipped,
              (std::vector<std::string>{"outside_villages: no villages in the registry",
                                        "road_disconnected: no serving road in the registry",
                                        "settlement_off_road: no serving road in the registry"}));
}

TEST(CheckNames, NearSameNamesFollowTheDefinition) {
    // Equal after whitespace, punctuation and one generic suffix are removed.
    EXPECT_TRUE(near_same_name("黄门村服务站", "黄门村服务站"));
    EXPECT_TRUE(near_same_name("黄门村 服务站", "黄门村服务站"));
    EXPECT_TRUE(near_same_name("黄门村快递服务站", "黄门村快递服务点"));
    EXPECT_TRUE(near_same_name("黄门村服务站（东）", "黄门村服务站(东)"));
    EXPECT_TRUE(near_same_name("Huangmen Station", "huangmen-station"));
    EXPECT_TRUE(near_same_name("ＡＢＣ村站", "abc村"));
    EXPECT_EQ(normalized_name(" 黄门村·快递服务站 "), "黄门村快递");
    EXPECT_EQ(normalized_name("站"), "站"); // a suffix alone stays
    // One character apart on names of 4 or more characters, but not a digit.
    EXPECT_TRUE(near_same_name("东山村文化礼堂", "东山村文化禮堂"));
    EXPECT_TRUE(near_same_name("东山村文化礼堂", "东山村文化堂"));
    EXPECT_FALSE(near_same_name("黄门村1号站", "黄门村2号站"));
    EXPECT_FALSE(near_same_name("黄门村一号站", "黄门村二号站"));
    EXPECT_FALSE(near_same_name("东山村礼堂", "东山村礼堂2"));
    // Short names must be equal; two characters apart is another name.
    EXPECT_FALSE(near_same_name("东村站", "西村站"));
    EXPECT_FALSE(near_same_name("岭南村服务站", "黄门村服务站"));
    EXPECT_FALSE(near_same_name("", ""));
    EXPECT_FALSE(near_same_name("、", "。"));
}

TEST(Check, NeedsAWorkingCrs) {
    TempDir dir;
    Registry registry = Registry::create(dir / "r.sqlite", std::nullopt);
    EXPECT_THROW(check_registry(registry, MetricsConfig::defaults(registry.kinds())), UsageError);
}

} // namespace
} // namespace qiancun
