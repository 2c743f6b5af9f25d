#include "qiancun/exporter.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace {

using qiancun::exporters::dbf_field_names;
using ::testing::ElementsAre;

constexpr std::size_t kDbfMaxBytes = 10;

std::string lower(std::string s) {
    for (auto &c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

::testing::AssertionResult fit_and_unique(const std::vector<std::string> &names) {
    std::set<std::string> seen;
    for (const auto &n : names) {
        if (n.size() > kDbfMaxBytes)
            return ::testing::AssertionFailure() << "'" << n << "' has " << n.size() << " bytes";
        if (!seen.insert(lower(n)).second)
            return ::testing::AssertionFailure() << "'" << n << "' appears twice";
    }
    return ::testing::AssertionSuccess();
}

TEST(DbfNames, KeepsNamesThatFit) {
    // Exactly 10 bytes, so no table entry applies to them.
    EXPECT_THAT(
        dbf_field_names(
            {"code", "households", "hemei_year", "population", "source_row", "updated_at"}),
        ElementsAre("code", "households", "hemei_year", "population", "source_row", "updated_at"));
}

TEST(DbfNames, UsesTheFixedTableForKnownLongNames) {
    EXPECT_THAT(dbf_field_names({"service_radius_m", "village_code", "source_file",
                                 "maintained_year", "renovated_year", "capacity_m3d", "effluent_ok",
                                 "road_density", "hardened_km"}),
                ElementsAre("svc_rad_m", "vill_code", "src_file", "maint_yr", "renov_yr", "cap_m3d",
                            "effl_ok", "road_dens", "hard_km"));
}

TEST(DbfNames, ClassificationFieldsGetReadableNames) {
    EXPECT_THAT(dbf_field_names({"suggested_class", "suggested_label", "recorded_class"}),
                ElementsAre("sugg_class", "sugg_label", "rec_class"));
}

TEST(DbfNames, AbbreviatesMetricNamesOfEveryAssetType) {
    EXPECT_THAT(dbf_field_names({"area_cov_sewage_plant", "pop_cov_base_station_5g",
                                 "nearest_cultural_hall_m", "cov_courier_station", "gap_rural_road",
                                 "n_sewage_plant"}),
                ElementsAre("acov_sew", "pcov_5g", "nr_hall_m", "cov_cour", "gap_road", "n_sew"));
    EXPECT_THAT(dbf_field_names({"net_nearest_courier_station_m", "net_pop_cov_cultural_hall"}),
                ElementsAre("nnr_cour_m", "npcov_hall"));
}

TEST(DbfNames, MetricNamesOfAllTypesFitAndDiffer) {
    const std::vector<std::string> types{"sewage_plant", "base_station_5g", "cultural_hall",
                                         "courier_station", "rural_road"};
    std::vector<std::string> names{"road_km", "road_density", "hardened_km"};
    for (const auto &t : types)
        for (const auto &pattern : {"n_{}", "nearest_{}_m", "area_cov_{}", "pop_cov_{}", "cov_{}",
                                    "gap_{}", "net_nearest_{}_m", "net_pop_cov_{}"}) {
            std::string name = pattern;
            name.replace(name.find("{}"), 2, t);
            names.push_back(name);
        }
    const auto out = dbf_field_names(names);
    EXPECT_TRUE(fit_and_unique(out));
    // No metric needed the collision suffix: each abbreviation is distinct by construction.
    for (const auto &n : out)
        EXPECT_EQ(n.find("_1"), std::string::npos) << n;
}

TEST(DbfNames, CutsAConfiguredTypeKeyToTheRoomLeft) {
    EXPECT_THAT(dbf_field_names({"nearest_water_works_m", "area_cov_sports_ground"}),
                ElementsAre("nr_water_m", "acov_sport"));
}

TEST(DbfNames, CutsOtherLongNamesToTenBytes) {
    EXPECT_THAT(dbf_field_names({"committee_address", "x"}), ElementsAre("committee_", "x"));
}

TEST(DbfNames, NeverSplitsAUtf8Character) {
    // "村委会地址" is 15 bytes; 10 bytes would end inside the fourth character.
    EXPECT_THAT(dbf_field_names({"村委会地址"}), ElementsAre("村委会"));
}

TEST(DbfNames, ResolvesClashesWithNumberedSuffixes) {
    EXPECT_THAT(dbf_field_names({"committee_address", "committee_phone", "committee_head"}),
                ElementsAre("committee_", "committe_1", "committe_2"));
}

TEST(DbfNames, NamesThatFitKeepPriorityOverCutNames) {
    // `population_x` would be cut to `population`, which an earlier-or-later short field owns.
    EXPECT_THAT(dbf_field_names({"population_x", "population", "population_y"}),
                ElementsAre("populati_1", "population", "populati_2"));
    EXPECT_THAT(dbf_field_names({"service_radius_m", "svc_rad_m"}),
                ElementsAre("svc_rad_1", "svc_rad_m"));
}

TEST(DbfNames, ClashesAreCaseInsensitive) {
    EXPECT_THAT(dbf_field_names({"Name", "name", "NAME"}), ElementsAre("Name", "name_1", "NAME_2"));
}

TEST(DbfNames, ManyClashesStayWithinTenBytesAndUnique) {
    std::vector<std::string> names;
    for (int i = 0; i < 120; ++i)
        names.push_back("a_very_long_attribute_" + std::to_string(i));
    const auto out = dbf_field_names(names);
    ASSERT_EQ(out.size(), names.size());
    EXPECT_TRUE(fit_and_unique(out));
    EXPECT_EQ(out[0], "a_very_lon");
    EXPECT_EQ(out[1], "a_very_l_1");
    EXPECT_EQ(out[10], "a_very_10");
    EXPECT_EQ(out[100], "a_very_100");
}

TEST(DbfNames, EmptyInputGivesEmptyOutput) {
    EXPECT_TRUE(dbf_field_names({}).empty());
}

} // namespace
