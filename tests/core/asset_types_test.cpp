#include "qiancun/asset_types.hpp"
#include "qiancun/error.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace qiancun {
namespace {

const AttributeDef &attr(std::string_view kind, std::string_view name) {
    for (const auto &k : builtin_kinds())
        if (k.key == kind)
            return k.attributes.at(static_cast<std::size_t>(k.attribute_index(name)));
    throw std::runtime_error("no kind");
}

TEST(AssetTypes, BuiltinKindsAreTheNineLayersOfTheSpec) {
    std::vector<std::string> keys;
    for (const auto &k : builtin_kinds())
        keys.push_back(k.key);
    EXPECT_EQ(keys, (std::vector<std::string>{"village", "settlement", "urban", "hazard",
                                              "sewage_plant", "rural_road", "base_station_5g",
                                              "cultural_hall", "courier_station"}));
    for (const auto &k : builtin_kinds()) {
        EXPECT_EQ(k.key_field(), k.key == "village" ? "code" : "id") << k.key;
        if (k.is_asset()) {
            EXPECT_EQ(k.attributes[1].name, "status");
            EXPECT_EQ(k.attributes[2].name, "service_radius_m");
            EXPECT_DOUBLE_EQ(*k.gap_threshold, 0.9);
        }
    }
}

TEST(AssetTypes, DefaultRadiiFollowTheSpec) {
    std::map<std::string, double> expected{{"sewage_plant", 1000},
                                           {"base_station_5g", 1500},
                                           {"cultural_hall", 1000},
                                           {"courier_station", 2000},
                                           {"rural_road", 500}};
    for (const auto &k : builtin_kinds())
        if (k.is_asset()) {
            EXPECT_DOUBLE_EQ(*k.default_radius_m, expected.at(k.key)) << k.key;
            EXPECT_FALSE(k.radius_basis.empty()) << k.key;
        }
}

TEST(AssetTypes, ParsesStatusesAndChineseAliases) {
    const auto &status = attr("sewage_plant", "status");
    EXPECT_EQ(std::get<std::string>(std::get<Value>(parse_value(status, "operating"))),
              "operating");
    EXPECT_EQ(std::get<std::string>(std::get<Value>(parse_value(status, " Operating "))),
              "operating");
    EXPECT_EQ(std::get<std::string>(std::get<Value>(parse_value(status, "运行"))), "operating");
    EXPECT_EQ(std::get<std::string>(std::get<Value>(parse_value(status, "改造中"))), "renovating");
    auto bad = parse_value(status, "open");
    ASSERT_TRUE(std::holds_alternative<std::string>(bad));
    EXPECT_EQ(std::get<std::string>(bad),
              "status 'open' is not one of planned, building, operating, renovating, closed");
    auto empty = parse_value(status, "");
    ASSERT_TRUE(std::holds_alternative<std::string>(empty));
    EXPECT_EQ(std::get<std::string>(empty), "status is empty");
}

TEST(AssetTypes, ChecksYearsNumbersAndBooleans) {
    EXPECT_EQ(std::get<std::int64_t>(
                  std::get<Value>(parse_value(attr("sewage_plant", "built_year"), "2021"))),
              2021);
    EXPECT_EQ(std::get<std::string>(parse_value(attr("sewage_plant", "built_year"), "二〇二一")),
              "built_year '二〇二一' is not a year");
    EXPECT_EQ(std::get<std::string>(parse_value(attr("sewage_plant", "built_year"), "1850")),
              "built_year 1850 is not a year between 1900 and 2100");
    EXPECT_DOUBLE_EQ(std::get<double>(std::get<Value>(
                         parse_value(attr("sewage_plant", "capacity_m3d"), "12.5"))),
                     12.5);
    EXPECT_EQ(std::get<std::string>(parse_value(attr("sewage_plant", "capacity_m3d"), "12吨")),
              "capacity_m3d '12吨' is not a number");
    EXPECT_EQ(std::get<std::string>(parse_value(attr("cultural_hall", "stars"), "6")),
              "stars 6 is above the maximum 5");
    EXPECT_EQ(std::get<std::int64_t>(
                  std::get<Value>(parse_value(attr("sewage_plant", "effluent_ok"), "是"))),
              1);
    EXPECT_EQ(std::get<std::int64_t>(
                  std::get<Value>(parse_value(attr("sewage_plant", "effluent_ok"), "false"))),
              0);
    EXPECT_TRUE(std::holds_alternative<std::monostate>(
        std::get<Value>(parse_value(attr("sewage_plant", "effluent_ok"), ""))));
}

TEST(AssetTypes, BandMatchesAsANumber) {
    const auto &band = attr("base_station_5g", "band");
    EXPECT_EQ(std::get<std::string>(std::get<Value>(parse_value(band, "700"))), "700");
    EXPECT_EQ(std::get<std::string>(std::get<Value>(parse_value(band, "700.0"))), "700");
    EXPECT_EQ(std::get<std::string>(std::get<Value>(parse_value(band, "3.5G"))), "3500");
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_value(band, "1800")));
}

TEST(AssetTypes, ConfiguredTypeRoundTripsThroughToml) {
    const char *toml = R"(
[asset_types.clinic]
label = "村卫生室"
geometry = "point"
default_radius_m = 1500
radius_basis = "planning assumption: 15 minutes on foot"
attributes = [ { name = "name", type = "text" },
               { name = "beds", type = "integer", min = 0 },
               { name = "level", type = "choice", choices = ["a", "b"], aliases = { "甲" = "a" } } ]
)";
    auto kinds = parse_kinds_toml(toml, "types.toml");
    ASSERT_EQ(kinds.size(), 1u);
    const auto &k = kinds[0];
    EXPECT_EQ(k.key, "clinic");
    EXPECT_FALSE(k.builtin);
    EXPECT_EQ(k.label, "村卫生室");
    EXPECT_DOUBLE_EQ(*k.default_radius_m, 1500.0);
    EXPECT_EQ(k.attributes.size(), 6u); // id, status, service_radius_m + 3
    EXPECT_EQ(k.attributes[4].name, "beds");
    EXPECT_EQ(std::get<std::string>(std::get<Value>(parse_value(k.attributes[5], "甲"))), "a");
    auto again = parse_kinds_toml(kinds_to_toml(kinds), "round trip");
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(kinds_to_toml(again), kinds_to_toml(kinds));
}

TEST(AssetTypes, RefusesKeysThatNameTheRegistrysOwnTablesOrResultLayers) {
    for (const std::string key :
         {"route", "village_metrics", "village_classes", "gaps_clinic", "service_area_x", "meta",
          "import_log", "status_history", "result_layers", "layer_styles", "spatial_ref_sys",
          "geometry_columns", "knn", "spatialindex", "data_licenses", "sql_statements_log",
          "elementarygeometries", "idx_clinic_geom", "sqlite_sequence"}) {
        try {
            parse_kinds_toml(fmt::format("[asset_types.{}]\ngeometry = \"line\"\n", key),
                             "types.toml");
            ADD_FAILURE() << key << " accepted";
        } catch (const InputError &e) {
            EXPECT_THAT(e.what(),
                        ::testing::StartsWith(fmt::format(
                            "types.toml: asset type key '{}' is reserved: it would share", key)));
            EXPECT_THAT(e.what(),
                        ::testing::HasSubstr("reserved names (* = any ending): meta, "
                                             "import_log, status_history, result_layers, "
                                             "layer_styles, village_metrics, "
                                             "village_classes, route, "
                                             "gaps_*, service_area_*, sites_*, spatial_ref_sys*"));
        }
    }
    // Close to a reserved name is fine; a registry that already stores one still opens.
    EXPECT_EQ(parse_kinds_toml("[asset_types.bus_route]\n", "t").size(), 1u);
    EXPECT_EQ(parse_kinds_toml("[asset_types.metadata]\n", "t").size(), 1u);
    EXPECT_EQ(parse_kinds_toml("[asset_types.route]\n", "stored", true).size(), 1u);
    EXPECT_TRUE(is_reserved_table_name("KNN"));
    EXPECT_TRUE(is_reserved_table_name("Gaps_clinic"));
    EXPECT_FALSE(is_reserved_table_name("routes"));
}

TEST(AssetTypes, RejectsMalformedTypeDefinitions) {
    try {
        parse_kinds_toml("[asset_types.village]\ngeometry = \"point\"\n", "t.toml");
        FAIL();
    } catch (const InputError &e) {
        EXPECT_STREQ(e.what(), "t.toml: asset type 'village' is built in and cannot be redefined");
    }
    try {
        parse_kinds_toml("[asset_types.clinic]\ngeometry = \"circle\"\n", "t.toml");
        FAIL();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("geometry 'circle' is not one of"), std::string::npos);
    }
    try {
        parse_kinds_toml("[asset_types.clinic\n", "t.toml");
        FAIL();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("t.toml: line 1"), std::string::npos) << e.what();
    }
}

TEST(EventTypes, AreTablesOfDatedRecordsAboutAnAssetKind) {
    const auto kinds = parse_kinds_toml(R"(
[asset_types.clinic]
label = "村卫生室"

[event_types.water_test]
label = "出水水质检测"
asset_kind = "sewage_plant"
attributes = [ { name = "cod_mgl", type = "real", label = "COD" } ]

[event_types.inspection]
asset_kind = "clinic"
)",
                                        "types.toml");
    ASSERT_EQ(kinds.size(), 3u);
    // toml++ orders each section's keys: clinic, then inspection and water_test.
    const KindDef &w = kinds[2];
    EXPECT_EQ(w.key, "water_test");
    EXPECT_TRUE(w.is_event());
    EXPECT_FALSE(w.is_asset());
    EXPECT_EQ(w.geometry, GeometryKind::none);
    EXPECT_EQ(w.asset_kind, "sewage_plant");
    std::vector<std::string> names;
    for (const auto &a : w.attributes)
        names.push_back(a.name);
    EXPECT_EQ(names,
              (std::vector<std::string>{"id", "asset_id", "date", "result", "agency", "cod_mgl"}));
    EXPECT_EQ(kinds[1].asset_kind, "clinic");
    EXPECT_EQ(kinds[1].label, "inspection");
    // Stored and read back unchanged (meta.asset_types).
    const auto again = parse_kinds_toml(kinds_to_toml(kinds), "meta");
    ASSERT_EQ(again.size(), 3u);
    EXPECT_EQ(kinds_to_toml(again), kinds_to_toml(kinds));
    EXPECT_TRUE(again[2].is_event());
    EXPECT_EQ(again[2].asset_kind, "sewage_plant");
    EXPECT_EQ(again[2].attributes.back().label, "COD");
}

TEST(EventTypes, RefuseAMissingAssetKindAndUnknownKeys) {
    try {
        parse_kinds_toml("[event_types.water_test]\nlabel = \"检测\"\n", "types.toml");
        FAIL() << "no asset_kind accepted";
    } catch (const InputError &e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("types.toml"));
        EXPECT_THAT(e.what(), ::testing::HasSubstr("event type 'water_test' needs asset_kind"));
    }
    try {
        parse_kinds_toml("[event_types.water_test]\nasset_kind = \"sewage_plant\"\n"
                         "geometry = \"point\"\n",
                         "types.toml");
        FAIL() << "a geometry accepted";
    } catch (const InputError &e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("unknown key 'geometry' (line 3)"));
    }
    EXPECT_THROW(parse_kinds_toml("[asset_types.check]\n[event_types.check]\n"
                                  "asset_kind = \"check\"\n",
                                  "types.toml"),
                 InputError);
}

TEST(EventTypes, AWrongAttributeTypeIsNamedAnEventTypes) {
    // The message names the section the attribute is in: an event type, not an asset type.
    try {
        parse_kinds_toml("[event_types.water_test]\nasset_kind = \"sewage_plant\"\n"
                         "attributes = [ { name = \"cod_mg_l\", type = \"number\" } ]\n",
                         "types.toml");
        FAIL() << "type number accepted";
    } catch (const InputError &e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("types.toml"));
        EXPECT_THAT(e.what(), ::testing::HasSubstr(
                                  "event type 'water_test': attribute type 'number' is not one of "
                                  "text, integer, real, boolean, year, choice, date"));
        EXPECT_THAT(e.what(), ::testing::Not(::testing::HasSubstr("asset type")));
    }
    try {
        parse_kinds_toml("[asset_types.clinic]\nattributes = [ { name = \"beds\", type = "
                         "\"number\" } ]\n",
                         "types.toml");
        FAIL() << "type number accepted";
    } catch (const InputError &e) {
        EXPECT_THAT(e.what(),
                    ::testing::HasSubstr("asset type 'clinic': attribute type 'number' is not one "
                                         "of text, integer, real, boolean, year, choice, date"));
    }
}

TEST(EventTypes, ResultsAndDatesAsDepartmentsWriteThem) {
    const auto common = event_common();
    const AttributeDef &date = common[2];
    const AttributeDef &result = common[3];
    auto text = [](const std::variant<Value, std::string> &v) {
        return std::holds_alternative<std::string>(v) ? "problem: " + std::get<std::string>(v)
                                                      : value_to_text(std::get<Value>(v));
    };
    EXPECT_EQ(text(parse_value(result, "达标")), "pass");
    EXPECT_EQ(text(parse_value(result, "不达标")), "fail");
    EXPECT_EQ(text(parse_value(result, "合格")), "pass");
    EXPECT_EQ(text(parse_value(result, "不合格")), "fail");
    EXPECT_EQ(text(parse_value(result, "FAIL")), "fail");
    EXPECT_EQ(text(parse_value(result, "待定")), "problem: result '待定' is not one of pass, fail");
    EXPECT_EQ(text(parse_value(date, "2026-03-15")), "2026-03-15");
    EXPECT_EQ(text(parse_value(date, "2026/3/5")), "2026-03-05");
    EXPECT_EQ(text(parse_value(date, "2026/03/15 00:00:00")), "2026-03-15"); // an XLSX date-time
    EXPECT_EQ(text(parse_value(date, "2026.11.2")), "2026-11-02");
    EXPECT_EQ(text(parse_value(date, "2026年3月15日")), "2026-03-15");
    for (const char *bad : {"2026-02-30", "2026-13-01", "15/03/2026", "2026-03", "2026/03-15",
                            "20260315", "2026-03-15x", "2026年3-15"})
        EXPECT_EQ(text(parse_value(date, bad)),
                  fmt::format("problem: date '{}' is not a date (YYYY-MM-DD)", bad))
            << bad;
    EXPECT_EQ(text(parse_value(date, "")), "problem: date is empty");
}

TEST(VillageAttributes, ParseTypesLabelsAndCodedValuesAndRoundTrip) {
    const auto attrs = parse_village_attributes_toml(R"toml(
[village_attributes]
future_village_year = { type = "year", label = "省级未来乡村创建年份" }
collective_income_10k = { type = "real", label = "村集体经济总收入(万元)", min = 0 }
households_poor = { type = "int" }
scenic_3a = { type = "bool", label = "3A级景区村庄" }
hemei_tier = { type = "choice", choices = ["province", "city"], aliases = { "省级" = "province", "市级" = "city" } }
)toml",
                                                     "v.toml");
    ASSERT_EQ(attrs.size(), 5u);
    EXPECT_EQ(attrs[0].name, "future_village_year");
    EXPECT_EQ(attrs[0].type, ValueType::year);
    EXPECT_EQ(attrs[0].label, "省级未来乡村创建年份");
    EXPECT_EQ(attrs[2].type, ValueType::integer);
    EXPECT_EQ(attrs[3].type, ValueType::boolean);
    EXPECT_EQ(std::get<std::int64_t>(std::get<Value>(parse_value(attrs[3], "是"))), 1);
    EXPECT_EQ(std::get<std::string>(std::get<Value>(parse_value(attrs[4], "省级"))), "province");
    EXPECT_THAT(std::get<std::string>(parse_value(attrs[1], "-3")), ::testing::HasSubstr("-3"));
    EXPECT_EQ(parse_village_attributes_toml(village_attributes_to_toml(attrs), "again").size(), 5u);
    EXPECT_EQ(village_attributes_to_toml(
                  parse_village_attributes_toml(village_attributes_to_toml(attrs), "again")),
              village_attributes_to_toml(attrs));
    EXPECT_TRUE(parse_village_attributes_toml("[asset_types.x]\n", "none.toml").empty());
}

TEST(VillageAttributes, BadDefinitionsAreRefusedNamingFileAndLine) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"[village_attributes]\npopulation = { type = \"integer\" }\n",
         "v.toml: line 2: [village_attributes] 'population' is a built-in village attribute"},
        {"[village_attributes]\nx = { type = \"date_time\" }\n",
         "v.toml: line 2: [village_attributes] x: type 'date_time' is not one of"},
        {"[village_attributes]\nBad = { type = \"text\" }\n",
         "v.toml: line 2: [village_attributes] attribute name 'Bad' must be lower-case ASCII"},
        {"[village_attributes]\nx = { type = \"choice\" }\n",
         "v.toml: line 2: [village_attributes] x: a choice attribute needs choices"},
        {"[village_attributes]\nx = { type = \"choice\", choices = [\"a\"], aliases = { \"乙\" = "
         "\"b\" } }\n",
         "v.toml: line 2: [village_attributes] x: alias '乙' must name one of the choices (a)"},
        {"[village_attributes]\nx = { type = \"text\", lable = \"名\" }\n",
         "v.toml: line 2: [village_attributes] x: unknown key 'lable'"},
        {"[village_attributes]\nx = \"year\"\n",
         "v.toml: line 2: [village_attributes] x must be a table"},
    };
    for (const auto &[text, message] : cases) {
        SCOPED_TRACE(text);
        try {
            parse_village_attributes_toml(text, "v.toml");
            FAIL();
        } catch (const InputError &e) {
            EXPECT_THAT(e.what(), ::testing::StartsWith(message));
        }
    }
}

} // namespace
} // namespace qiancun
