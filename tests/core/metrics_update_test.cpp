#include "qiancun/config.hpp"
#include "qiancun/metrics.hpp"
#include "qiancun/registry.hpp"

#include "testing/feature_writer.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

// update_metrics: which villages an import's changes reach, and that the stored table then is
// exactly the one a full run computes.

namespace qiancun {
namespace {

using testing::TempDir;

/// South-west corner of the first village, EPSG:4549 metres.
constexpr double kX0 = 500000.0;
constexpr double kY0 = 3320000.0;
constexpr double kSideM = 1000.0;
constexpr int kVillages = 10;

std::string code(int i) {
    return fmt::format("3306041012{:02d}", i + 1);
}

/// The centre of village `i`, x.
double centre_x(int i) {
    return kX0 + kSideM * i + kSideM / 2;
}
constexpr double kCentreY = kY0 + kSideM / 2;

/// Ten 1 km squares in a row west to east (V0 … V9, codes …201 … …210), each with a sewage plant
/// of the default radius (1000 m) at its centre, and one courier station (default radius
/// 2000 m) in V0.
class MetricsUpdate : public ::testing::Test {
protected:
    TempDir dir;
    Registry registry = Registry::create(dir / "county.sqlite", 4549);
    MetricsConfig config;

    void SetUp() override {
        testing::FeatureWriter w(registry);
        for (int i = 0; i < kVillages; ++i) {
            const double x = kX0 + kSideM * i;
            w.add("village", {{"code", code(i)}, {"name", fmt::format("村{}", i)}},
                  fmt::format("POLYGON(({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))", x, kY0,
                              x + kSideM, kY0 + kSideM));
            w.add("settlement", {{"id", fmt::format("S{}", i)}, {"population", std::int64_t{100}}},
                  fmt::format("POINT({} {})", centre_x(i) + 200, kCentreY));
        }
        w.commit("villages");
        for (int i = 0; i < kVillages; ++i)
            plant(w, i, centre_x(i), "operating");
        w.commit("plants.csv");
        w.point("courier_station", "K0", centre_x(0), kCentreY);
        w.commit("courier.csv");
        config = MetricsConfig::defaults(registry.kinds());
    }

    static void plant(testing::FeatureWriter &w, int i, double x, const std::string &status) {
        w.point("sewage_plant", fmt::format("P{}", i), x, kCentreY, {{"status", status}});
    }

    StoredMetrics update(bool full = false) {
        return update_metrics(registry, config, {.full = full});
    }

    /// The table a full computation gives now, as rows.
    Rows full_rows() { return compute_metrics(registry, config).to_rows(); }

    static std::vector<std::string> codes(std::initializer_list<int> villages) {
        std::vector<std::string> out;
        for (const int i : villages)
            out.push_back(code(i));
        return out;
    }
};

TEST_F(MetricsUpdate, FirstRunComputesAllAndANoChangeRunNothing) {
    const auto first = update();
    EXPECT_EQ(first.update.full_reason, FullRunReason::no_stored);
    EXPECT_EQ(first.update.villages, kVillages);
    const auto second = update();
    EXPECT_EQ(second.update.full_reason, FullRunReason::none);
    EXPECT_TRUE(second.update.changed.empty());
    EXPECT_TRUE(second.update.recomputed.empty());
    EXPECT_EQ(second.table.to_rows().rows, full_rows().rows);
}

TEST_F(MetricsUpdate, AMovedPlantRecomputesExactlyTheVillagesWithinItsRadius) {
    update();
    // P4 moves 300 m east inside V4: old and new discs (1000 m) reach V3, V4, V5 and no further
    // (V2 ends 1500 m west of the old position, V6 begins 1200 m east of the new one); every
    // village's nearest plant is its own at 0 m, so no other nearest can change.
    testing::FeatureWriter w(registry);
    plant(w, 4, centre_x(4) + 300, "operating");
    w.commit("plants.csv");
    const auto r = update();
    EXPECT_EQ(r.update.full_reason, FullRunReason::none);
    ASSERT_EQ(r.update.changed.size(), 1u);
    EXPECT_EQ(r.update.changed.begin()->first, "sewage_plant");
    EXPECT_EQ(r.update.recomputed, codes({3, 4, 5}));
    EXPECT_EQ(r.update.reached.at("sewage_plant"), 3);
    EXPECT_EQ(r.table.to_rows().rows, full_rows().rows);
}

TEST_F(MetricsUpdate, AClosedPlantIsARemovalAndAReopenedOneAnAddition) {
    update();
    testing::FeatureWriter w(registry);
    plant(w, 7, centre_x(7), "closed");
    w.commit("plants.csv");
    auto r = update();
    EXPECT_EQ(r.update.recomputed, codes({6, 7, 8}));
    EXPECT_EQ(r.table.to_rows().rows, full_rows().rows);
    // V7 lost its plant: its nearest is now the neighbour's, 1000 m away.
    EXPECT_EQ(r.table.villages[7].types[0].nearest_m, 1000.0);

    plant(w, 7, centre_x(7), "operating");
    w.commit("plants.csv");
    r = update();
    EXPECT_EQ(r.update.recomputed, codes({6, 7, 8}));
    EXPECT_EQ(r.table.to_rows().rows, full_rows().rows);
}

TEST_F(MetricsUpdate, AnAddedAssetReachesTheVillagesItBecomesNearestTo) {
    update();
    // A second courier station in V9: its 2000 m disc reaches V7–V9, and it becomes the nearest
    // station of V5–V9 (V4: 5000 m to it, 4000 m to K0). Box distance from village i to it is
    // 8500 − 1000 i, stored nearest 1000 i: i ≥ 5 is reached, exactly the villages that change.
    testing::FeatureWriter w(registry);
    w.point("courier_station", "K9", centre_x(9), kCentreY);
    w.commit("courier.csv");
    MetricsOptions couriers;
    couriers.types = {"courier_station"};
    const auto before = compute_metrics(registry, config, couriers);
    const auto r = update();
    EXPECT_EQ(r.update.recomputed, codes({5, 6, 7, 8, 9}));
    EXPECT_EQ(r.update.reached.at("courier_station"), 5);
    EXPECT_EQ(r.table.to_rows().rows, full_rows().rows);
    EXPECT_EQ(before.villages[5].types[0].nearest_m, 4000.0);
}

TEST_F(MetricsUpdate, RemovedPlantsByAReplacingImportAndChangedSettlements) {
    update();
    testing::FeatureWriter w(registry);
    for (int i = 0; i < kVillages; ++i)
        if (i != 2)
            plant(w, i, centre_x(i), "operating");
    w.commit("plants.csv", "", WriteMode::replace);
    w.add("settlement", {{"id", "S8"}, {"population", std::int64_t{250}}},
          fmt::format("POINT({} {})", centre_x(8) + 200, kCentreY));
    w.commit("villages");
    const auto r = update();
    EXPECT_EQ(r.update.full_reason, FullRunReason::none);
    EXPECT_EQ(r.update.changed.size(), 2u);
    EXPECT_EQ(r.update.reached.at("sewage_plant"), 3);
    EXPECT_EQ(r.update.reached.at("settlement"), 1);
    EXPECT_EQ(r.update.recomputed, codes({1, 2, 3, 8}));
    EXPECT_EQ(r.table.to_rows().rows, full_rows().rows);
    EXPECT_EQ(r.table.villages[8].settlement_population, 250);
}

TEST_F(MetricsUpdate, TheStoredLayerHoldsTheUpdatedRows) {
    update();
    testing::FeatureWriter w(registry);
    plant(w, 4, centre_x(4) + 300, "operating");
    w.commit("plants.csv");
    update();
    std::map<std::string, double> stored;
    registry.scan({.table = "village_metrics", .columns = {"code", "nearest_sewage_plant_m"}},
                  [&](const ScanRow &row) { stored[row.text(0)] = *row.number(1); });
    EXPECT_EQ(stored.size(), static_cast<std::size_t>(kVillages));
    EXPECT_DOUBLE_EQ(stored.at(code(4)), 300.0);
    EXPECT_DOUBLE_EQ(stored.at(code(3)), 0.0);
}

TEST_F(MetricsUpdate, WhatInvalidatesEverythingRunsInFullAndSaysWhy) {
    update();
    EXPECT_EQ(update(true).update.full_reason, FullRunReason::requested);

    MetricsConfig wider = config;
    wider.types.at("sewage_plant").radius_m = 1200.0;
    EXPECT_EQ(update_metrics(registry, wider).update.full_reason, FullRunReason::config_changed);
    EXPECT_EQ(update_metrics(registry, wider).update.full_reason, FullRunReason::none);

    EXPECT_EQ(update_metrics(registry, wider, {.network = true}).update.full_reason,
              FullRunReason::network);
    EXPECT_EQ(update_metrics(registry, wider).update.full_reason, FullRunReason::network);
    EXPECT_EQ(update_metrics(registry, wider).update.full_reason, FullRunReason::none);

    testing::FeatureWriter w(registry);
    w.add("village", {{"code", code(0)}, {"name", "村0改"}},
          fmt::format("POLYGON(({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))", kX0, kY0,
                      kX0 + kSideM, kY0 + kSideM));
    w.commit("villages");
    const auto r = update_metrics(registry, wider);
    EXPECT_EQ(r.update.full_reason, FullRunReason::villages_changed);
    EXPECT_EQ(r.table.villages[0].name, "村0改");

    // Another writer of the layer leaves it without a basis.
    write_metrics_layer(registry, r.table);
    EXPECT_EQ(update_metrics(registry, wider).update.full_reason, FullRunReason::no_stored);
}

} // namespace
} // namespace qiancun
