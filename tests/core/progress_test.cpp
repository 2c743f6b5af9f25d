#include "qiancun/progress.hpp"

#include "qiancun/error.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qiancun {
namespace {

constexpr double kTol = 1e-9;
constexpr int kStart = 2023;
constexpr int kEnd = 2027;
// Days of the period 2023-01-01 … 2027-12-31: 365 + 366 + 365 + 365 + 365.
constexpr double kPeriodDays = 1826.0;

Target single(double value) {
    Target t;
    t.milestones[0] = value;
    return t;
}

Target milestones(std::map<int, double> m) {
    Target t;
    t.milestones = std::move(m);
    return t;
}

TEST(ExpectedProgress, ACountRunsLinearlyFromZeroToTheEndOfThePeriod) {
    const Target t = single(40.0);
    // The end of 2023-12-31 is 365 days in.
    EXPECT_NEAR(*expected_value(t, true, "2023-12-31", kStart, kEnd), 40.0 * 365 / kPeriodDays,
                kTol);
    // 2025-06-30: 365 + 366 + 181 days.
    EXPECT_NEAR(*expected_value(t, true, "2025-06-30", kStart, kEnd), 40.0 * 912 / kPeriodDays,
                kTol);
    EXPECT_NEAR(*expected_value(t, true, "2027-12-31", kStart, kEnd), 40.0, kTol);
    EXPECT_NEAR(*expected_value(t, true, "2029-03-01", kStart, kEnd), 40.0, kTol);
    EXPECT_NEAR(*expected_value(t, true, "2022-06-30", kStart, kEnd), 0.0, kTol);
    // The first day of the period: one day's worth.
    EXPECT_NEAR(*expected_value(t, true, "2023-01-01", kStart, kEnd), 40.0 / kPeriodDays, kTol);
}

TEST(ExpectedProgress, ACountWithMilestonesRunsFromOneToTheNext) {
    const Target t = milestones({{2024, 10.0}, {2027, 40.0}});
    // 2024: 0 → 10 over 731 days; 2025–2027: 10 → 40 over 1,095 days.
    EXPECT_NEAR(*expected_value(t, true, "2024-12-31", kStart, kEnd), 10.0, kTol);
    EXPECT_NEAR(*expected_value(t, true, "2023-12-31", kStart, kEnd), 10.0 * 365 / 731, kTol);
    EXPECT_NEAR(*expected_value(t, true, "2026-06-30", kStart, kEnd),
                10.0 + 30.0 * (365 + 181) / 1095, kTol);
}

TEST(ExpectedProgress, AShareHasNoExpectedValueBeforeItsFirstMilestoneYear) {
    const Target one = single(98.0); // the milestone of 2027
    EXPECT_FALSE(expected_value(one, false, "2026-12-31", kStart, kEnd));
    EXPECT_NEAR(*expected_value(one, false, "2027-01-01", kStart, kEnd), 98.0, kTol);
    EXPECT_NEAR(*expected_value(one, false, "2028-05-01", kStart, kEnd), 98.0, kTol);

    const Target hemei = milestones({{2023, 20.0}, {2027, 90.0}});
    EXPECT_FALSE(expected_value(hemei, false, "2022-12-31", kStart, kEnd));
    EXPECT_NEAR(*expected_value(hemei, false, "2023-03-01", kStart, kEnd), 20.0, kTol);
    EXPECT_NEAR(*expected_value(hemei, false, "2023-12-31", kStart, kEnd), 20.0, kTol);
    // 2024-06-30: 182 of the 1,461 days from the end of 2023 to the end of 2027.
    EXPECT_NEAR(*expected_value(hemei, false, "2024-06-30", kStart, kEnd), 20.0 + 70.0 * 182 / 1461,
                kTol);
    EXPECT_NEAR(*expected_value(hemei, false, "2027-12-31", kStart, kEnd), 90.0, kTol);
}

TEST(ExpectedProgress, NoMilestonesOrABadDate) {
    EXPECT_FALSE(expected_value(Target{}, true, "2025-01-01", kStart, kEnd));
    EXPECT_THROW(expected_value(single(1.0), true, "2025-02-30", kStart, kEnd), UsageError);
}

TEST(ProgressStatus, MetOnTrackBehindNoDataNoTarget) {
    using S = IndicatorStatus;
    EXPECT_EQ(progress_status(5.0, std::nullopt, std::nullopt), S::no_target);
    EXPECT_EQ(progress_status(std::nullopt, std::nullopt, std::nullopt), S::no_target);
    EXPECT_EQ(progress_status(std::nullopt, 10.0, 4.0), S::no_data);
    EXPECT_EQ(progress_status(10.0, 10.0, 4.0), S::met);
    EXPECT_EQ(progress_status(4.0, 10.0, 4.0), S::on_track);
    EXPECT_EQ(progress_status(3.99, 10.0, 4.0), S::behind);
    EXPECT_EQ(progress_status(0.0, 98.0, std::nullopt), S::on_track);
    EXPECT_EQ(to_string(S::behind), "behind");
    EXPECT_EQ(to_string(S::on_track), "on_track");
    EXPECT_EQ(to_string(S::no_target), "no_target");
}

IndicatorValue row(std::string key, std::string township, std::optional<double> target,
                   std::optional<double> expected, std::optional<double> actual) {
    IndicatorValue v;
    v.key = std::move(key);
    v.township = std::move(township);
    v.target = target;
    v.expected = expected;
    v.actual = actual;
    v.status = progress_status(actual, target, expected);
    return v;
}

/// Three townships, hand-made: 甲 meets 2 of 3 targets, 乙 1 of 3 (one behind), 丙 2 of 3,
/// 丁 has rows without targets only.
Bulletin hand_made() {
    Bulletin b;
    b.as_of = "2025-06-30";
    b.year = 2025;
    b.values = {
        row("sewage_new", "", 40.0, 20.0, 5.0),          // behind by 15 (75 %)
        row("road_new_km", "", 30.0, 15.0, 12.0),        // behind by 3 (20 %)
        row("hall_five_star", "", 50.0, 25.0, 30.0),     // on track
        row("sewage_effluent_ok", "", 98.0, 98.0, 99.0), // met
        row("a", "甲", 90.0, 50.0, 95.0),
        row("b", "甲", 90.0, 50.0, 91.0),
        row("c", "甲", 90.0, 50.0, 60.0),
        row("a", "乙", 90.0, 50.0, 95.0),
        row("b", "乙", 90.0, 50.0, 10.0), // behind by 40 (80 %)
        row("c", "乙", 90.0, 50.0, 60.0),
        row("n", "乙", std::nullopt, std::nullopt, 7.0), // no target: not counted
        row("a", "丙", 90.0, 50.0, 95.0),
        row("b", "丙", 90.0, 50.0, 95.0),
        row("c", "丙", 90.0, 50.0, std::nullopt), // no data: not counted
        row("d", "丙", 90.0, 50.0, 55.0),
        row("n", "丁", std::nullopt, std::nullopt, 3.0),
    };
    return b;
}

TEST(BehindSchedule, DistrictFirstThenFurthestBehind) {
    const auto w = behind_schedule(hand_made());
    ASSERT_EQ(w.size(), 3u);
    EXPECT_EQ(w[0].value.key, "sewage_new");
    EXPECT_NEAR(w[0].behind_by, 15.0, kTol);
    EXPECT_NEAR(w[0].behind_share, 0.75, kTol);
    EXPECT_EQ(w[1].value.key, "road_new_km");
    EXPECT_NEAR(w[1].behind_by, 3.0, kTol);
    EXPECT_NEAR(w[1].behind_share, 0.2, kTol);
    EXPECT_EQ(w[2].value.key, "b");
    EXPECT_EQ(w[2].value.township, "乙");
    EXPECT_NEAR(w[2].behind_by, 40.0, kTol);
}

TEST(TownshipRanking, ByShareOfTargetsMetWithTiesSharingARank) {
    const auto r = rank_townships(hand_made());
    ASSERT_EQ(r.size(), 4u);
    // 甲 2/3 and 丙 2/3 tie (丙's no-data row left out), in name order; 乙 1/3; 丁 unranked.
    EXPECT_EQ(r[0].township, "丙");
    EXPECT_EQ(r[0].rank, 1);
    EXPECT_EQ(r[0].targets, 3);
    EXPECT_EQ(r[0].met, 2);
    EXPECT_EQ(r[1].township, "甲");
    EXPECT_EQ(r[1].rank, 1);
    EXPECT_NEAR(*r[1].share, 2.0 / 3.0, kTol);
    EXPECT_EQ(r[2].township, "乙");
    EXPECT_EQ(r[2].rank, 3);
    EXPECT_EQ(r[2].met, 1);
    EXPECT_EQ(r[2].behind, 1);
    EXPECT_EQ(r[3].township, "丁");
    EXPECT_FALSE(r[3].rank);
    EXPECT_FALSE(r[3].share);
    EXPECT_EQ(r[3].targets, 0);
}

} // namespace
} // namespace qiancun
