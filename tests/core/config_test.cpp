#include "qiancun/config.hpp"
#include "qiancun/error.hpp"

#include "testing/testing.hpp"

#include <map>
#include <string>

namespace qiancun {
namespace {

using ::testing::HasSubstr;

const MetricsConfig &defaults() {
    static const MetricsConfig config = MetricsConfig::defaults(builtin_kinds());
    return config;
}

/// The message of the InputError that reading `toml` throws ("" when it does not throw).
std::string toml_error(const std::string &toml) {
    try {
        (void)MetricsConfig::from_toml(toml, "radii.toml", builtin_kinds());
    } catch (const InputError &e) {
        return e.what();
    }
    return "";
}

TEST(Config, DefaultsFollowSpecTable) {
    const auto &c = defaults();
    ASSERT_EQ(c.types.size(), 5u);
    EXPECT_EQ(c.types.at("sewage_plant").radius_m, 1000.0);
    EXPECT_EQ(c.types.at("base_station_5g").radius_m, 1500.0);
    EXPECT_EQ(c.types.at("base_station_5g").band_radius_m.at("700"), 5000.0);
    EXPECT_EQ(c.types.at("cultural_hall").radius_m, 1000.0);
    EXPECT_EQ(c.types.at("courier_station").radius_m, 2000.0);
    EXPECT_EQ(c.types.at("rural_road").radius_m, 500.0);
    for (const auto &[key, tc] : c.types) {
        EXPECT_EQ(tc.gap_threshold, 0.9) << key;
        EXPECT_FALSE(tc.radius_basis.empty()) << key;
        if (key != "base_station_5g") {
            EXPECT_TRUE(tc.band_radius_m.empty()) << key;
        }
    }
    EXPECT_EQ(c.serving_statuses, (std::vector<std::string>{"operating", "renovating"}));
    EXPECT_EQ(c.quadrant_segments, 16);
    EXPECT_EQ(c.snap_tolerance_m, 1.0);
    EXPECT_EQ(c.offroad_cap_m, 1000.0);
}

TEST(Config, TravelSpeedsByGradeAndSurface) {
    const auto &c = defaults();
    EXPECT_EQ(c.grade_speed_kmh, (std::map<std::string, double>{
                                     {"county", 60.0}, {"township", 40.0}, {"village", 30.0}}));
    EXPECT_EQ(c.surface_factor,
              (std::map<std::string, double>{{"earth", 0.4}, {"gravel", 0.6}, {"hardened", 1.0}}));
    EXPECT_EQ(c.offroad_speed_kmh, 4.0);
    EXPECT_EQ(c.road_speed_kmh("county", "hardened"), 60.0);
    EXPECT_DOUBLE_EQ(c.road_speed_kmh("township", "gravel"), 24.0);
    EXPECT_DOUBLE_EQ(c.road_speed_kmh("village", "earth"), 12.0);
    EXPECT_EQ(c.road_speed_kmh("", "hardened"), 30.0); // no grade: a village road
    EXPECT_EQ(c.road_speed_kmh("township", ""), 40.0); // no surface: factor 1
    EXPECT_EQ(c.road_speed_kmh("", ""), 30.0);
    EXPECT_EQ(c.road_speed_kmh("motorway", ""), 0.0); // unknown: no speed
    EXPECT_EQ(c.road_speed_kmh("county", "cobbles"), 0.0);
}

TEST(Config, TomlOverridesTravelSpeeds) {
    const auto c = MetricsConfig::from_toml(R"(
[network]
offroad_speed_kmh = 5

[network.speed_kmh]
county = 80
village = 25.5

[network.surface_factor]
earth = 0.3
)",
                                            "speeds.toml", builtin_kinds());
    EXPECT_EQ(c.offroad_speed_kmh, 5.0);
    EXPECT_EQ(c.grade_speed_kmh.at("county"), 80.0);
    EXPECT_EQ(c.grade_speed_kmh.at("township"), 40.0); // kept
    EXPECT_EQ(c.grade_speed_kmh.at("village"), 25.5);
    EXPECT_EQ(c.surface_factor.at("earth"), 0.3);
    EXPECT_EQ(c.surface_factor.at("gravel"), 0.6); // kept
    EXPECT_DOUBLE_EQ(c.road_speed_kmh("", "earth"), 25.5 * 0.3);
    // Distances are untouched.
    EXPECT_EQ(c.snap_tolerance_m, 1.0);
    EXPECT_EQ(c.offroad_cap_m, 1000.0);

    EXPECT_THAT(toml_error("[network.speed_kmh]\ncounty = 60\ntownship = 0\n"),
                AllOf(HasSubstr("radii.toml: line 3"), HasSubstr("network.speed_kmh.township"),
                      HasSubstr("positive")));
    EXPECT_THAT(toml_error("[network.speed_kmh]\nmotorway = 100\n"),
                AllOf(HasSubstr("line 2"), HasSubstr("unknown key 'network.speed_kmh.motorway'"),
                      HasSubstr("county, township, village")));
    EXPECT_THAT(toml_error("\n[network.surface_factor]\ngravel = \"slow\"\n"),
                AllOf(HasSubstr("line 3"), HasSubstr("network.surface_factor.gravel"),
                      HasSubstr("must be a number")));
    EXPECT_THAT(toml_error("[network.surface_factor]\nasphalt = 1\n"),
                AllOf(HasSubstr("line 2"), HasSubstr("earth, gravel, hardened")));
    EXPECT_THAT(
        toml_error("[network]\noffroad_speed_kmh = -4\n"),
        AllOf(HasSubstr("line 2"), HasSubstr("network.offroad_speed_kmh"), HasSubstr("positive")));
    EXPECT_THAT(toml_error("[network]\nspeed_kmh = 50\n"),
                AllOf(HasSubstr("line 2"), HasSubstr("must be a table")));
}

TEST(Config, DefaultBasisIsTheAssetTypeBasis) {
    for (const auto &k : builtin_kinds()) {
        if (k.is_asset()) {
            EXPECT_EQ(defaults().types.at(k.key).radius_basis, k.radius_basis) << k.key;
        }
    }
    EXPECT_THAT(defaults().types.at("sewage_plant").radius_basis, HasSubstr("planning assumption"));
}

TEST(Config, ConfiguredKindsUseTheirOwnRadiusElseAStatedAssumption) {
    auto kinds = builtin_kinds();
    auto extra = parse_kinds_toml("[asset_types.clinic]\ndefault_radius_m = 1500\n"
                                  "radius_basis = \"county health plan\"\ngap_threshold = 0.8\n"
                                  "[asset_types.bus_stop]\n",
                                  "kinds.toml");
    kinds.insert(kinds.end(), extra.begin(), extra.end());
    const auto c = MetricsConfig::defaults(kinds);
    EXPECT_EQ(c.types.at("clinic").radius_m, 1500.0);
    EXPECT_EQ(c.types.at("clinic").radius_basis, "county health plan");
    EXPECT_EQ(c.types.at("clinic").gap_threshold, 0.8);
    EXPECT_EQ(c.types.at("bus_stop").radius_m, 1000.0);
    EXPECT_THAT(c.types.at("bus_stop").radius_basis, HasSubstr("assumption"));
    EXPECT_FALSE(c.types.count("village"));
}

TEST(Config, RadiusPrecedenceOwnThenBandThenType) {
    const auto &c = defaults();
    EXPECT_EQ(c.radius_for("base_station_5g", 800.0, "700"), 800.0);
    EXPECT_EQ(c.radius_for("base_station_5g", std::nullopt, "700"), 5000.0);
    EXPECT_EQ(c.radius_for("base_station_5g", 0.0, "700"), 5000.0);
    EXPECT_EQ(c.radius_for("base_station_5g", -10.0, "700"), 5000.0);
    EXPECT_EQ(c.radius_for("base_station_5g", std::nullopt, "700.0"), 5000.0);
    EXPECT_EQ(c.radius_for("base_station_5g", std::nullopt, " 700 "), 5000.0);
    EXPECT_EQ(c.radius_for("base_station_5g", std::nullopt, "3500"), 1500.0);
    EXPECT_EQ(c.radius_for("base_station_5g", std::nullopt, ""), 1500.0);
    EXPECT_EQ(c.radius_for("sewage_plant", std::nullopt), 1000.0);
    EXPECT_EQ(c.radius_for("sewage_plant", 250.0), 250.0);
    EXPECT_EQ(c.radius_for("sewage_plant", 0.0, "700"), 1000.0);
    EXPECT_THROW((void)c.radius_for("clinic", std::nullopt), UsageError);
}

TEST(Config, ServingStatuses) {
    const auto &c = defaults();
    EXPECT_TRUE(c.serves("operating"));
    EXPECT_TRUE(c.serves("renovating"));
    EXPECT_FALSE(c.serves("planned"));
    EXPECT_FALSE(c.serves("building"));
    EXPECT_FALSE(c.serves("closed"));
    EXPECT_FALSE(c.serves(""));
}

TEST(Config, TomlOverridesOnlyWhatItNames) {
    const auto c = MetricsConfig::from_toml(R"(
quadrant_segments = 32
serving_statuses = ["operating"]

[network]
snap_tolerance_m = 2.5
offroad_cap_m = 800

[types.sewage_plant]
radius_m = 800
gap_threshold = 0.95

[types.base_station_5g.band_radius_m]
700 = 6000
"3500" = 1200.5

[types.rural_road]
radius_m = 300
radius_basis = "county access standard"
)",
                                            "radii.toml", builtin_kinds());
    EXPECT_EQ(c.quadrant_segments, 32);
    EXPECT_EQ(c.serving_statuses, std::vector<std::string>{"operating"});
    EXPECT_EQ(c.snap_tolerance_m, 2.5);
    EXPECT_EQ(c.offroad_cap_m, 800.0);
    EXPECT_EQ(c.types.at("sewage_plant").radius_m, 800.0);
    EXPECT_EQ(c.types.at("sewage_plant").gap_threshold, 0.95);
    EXPECT_EQ(c.types.at("sewage_plant").radius_basis,
              defaults().types.at("sewage_plant").radius_basis);
    EXPECT_EQ(c.types.at("rural_road").radius_m, 300.0);
    EXPECT_EQ(c.types.at("rural_road").radius_basis, "county access standard");
    EXPECT_EQ(c.radius_for("base_station_5g", std::nullopt, "700"), 6000.0);
    EXPECT_EQ(c.radius_for("base_station_5g", std::nullopt, "3500"), 1200.5);
    EXPECT_EQ(c.radius_for("base_station_5g", std::nullopt, "2600"), 1500.0);
    // Untouched values keep their defaults.
    EXPECT_EQ(c.types.at("courier_station"), defaults().types.at("courier_station"));
    EXPECT_EQ(c.types.at("base_station_5g").radius_m, 1500.0);
    EXPECT_FALSE(c.serves("renovating"));
}

TEST(Config, EmptyTomlIsTheDefaults) {
    EXPECT_EQ(MetricsConfig::from_toml("", "empty.toml", builtin_kinds()), defaults());
}

TEST(Config, TomlErrorsNameFileAndLine) {
    EXPECT_THAT(toml_error("[types.clinic]\nradius_m = 10\n"),
                AllOf(HasSubstr("radii.toml: line 1"), HasSubstr("unknown asset type 'clinic'"),
                      HasSubstr("sewage_plant")));
    EXPECT_THAT(toml_error("\n[types.sewage_plant]\nradius = 10\n"),
                AllOf(HasSubstr("radii.toml: line 3"), HasSubstr("types.sewage_plant.radius")));
    EXPECT_THAT(toml_error("[types.sewage_plant]\n\nradius_m = -5\n"),
                AllOf(HasSubstr("line 3"), HasSubstr("positive")));
    EXPECT_THAT(toml_error("[types.sewage_plant]\nradius_m = \"far\"\n"),
                AllOf(HasSubstr("line 2"), HasSubstr("must be a number")));
    EXPECT_THAT(toml_error("[types.courier_station]\ngap_threshold = 1.5\n"),
                AllOf(HasSubstr("line 2"), HasSubstr("between 0 and 1")));
    EXPECT_THAT(toml_error("quadrant_segments = 4\n"),
                AllOf(HasSubstr("line 1"), HasSubstr("at least 8")));
    EXPECT_THAT(toml_error("quadrant_segments = 8.5\n"), HasSubstr("integer"));
    EXPECT_THAT(toml_error("\n\nserving_statuses = [\"operating\", \"open\"]\n"),
                AllOf(HasSubstr("line 3"), HasSubstr("'open'")));
    EXPECT_THAT(toml_error("[network]\noffroad_cap_m = -1\n"), HasSubstr("line 2"));
    // Radii and distances beyond any county are range errors, not casts past int64.
    EXPECT_THAT(toml_error("[types.sewage_plant]\n\nradius_m = 1e19\n"),
                HasSubstr("radii.toml: line 3: types.sewage_plant.radius_m = 1e+19 is out of "
                          "range: at most 1e+06 m"));
    EXPECT_THAT(toml_error("[types.base_station_5g.band_radius_m]\n700 = 9.3e18\n"),
                AllOf(HasSubstr("line 2"), HasSubstr("out of range")));
    EXPECT_THAT(toml_error("[network]\noffroad_cap_m = 1e300\n"),
                AllOf(HasSubstr("line 2"), HasSubstr("network.offroad_cap_m = 1e+300 is out of "
                                                     "range")));
    EXPECT_EQ(toml_error("[types.sewage_plant]\nradius_m = 1e6\n"), "");
    EXPECT_THAT(toml_error("[types.base_station_5g.band_radius_m]\nlow = 5000\n"),
                AllOf(HasSubstr("line 2"), HasSubstr("band 'low'")));
    EXPECT_THAT(toml_error("radius = 5\n"), AllOf(HasSubstr("line 1"), HasSubstr("unknown key")));
    // A syntax error keeps toml++'s position.
    EXPECT_THAT(toml_error("[types.sewage_plant]\nradius_m = = 3\n"),
                AllOf(HasSubstr("radii.toml"), HasSubstr("line 2")));
}

TEST(Config, TomlRoundTripsWithCommentedBasis) {
    const std::string text = defaults().to_toml();
    for (const auto &k : builtin_kinds()) {
        if (k.is_asset()) {
            EXPECT_THAT(text, HasSubstr("# basis: " + k.radius_basis)) << text;
        }
    }
    EXPECT_THAT(text, HasSubstr("[types.base_station_5g.band_radius_m]"));
    EXPECT_THAT(text, HasSubstr("[network.speed_kmh]"));
    EXPECT_THAT(text, HasSubstr("JTG B01-2014"));
    EXPECT_THAT(text, HasSubstr("offroad_speed_kmh = 4.0"));
    EXPECT_EQ(MetricsConfig::from_toml(text, "printed.toml", builtin_kinds()), defaults());

    auto changed = MetricsConfig::from_toml("quadrant_segments = 9\n[types.cultural_hall]\n"
                                            "radius_m = 1234.5\ngap_threshold = 0.75\n"
                                            "radius_basis = \"a \\\"quoted\\\" basis\"\n",
                                            "mine.toml", builtin_kinds());
    changed.offroad_cap_m = 750.25;
    changed.offroad_speed_kmh = 4.5;
    changed.grade_speed_kmh.at("township") = 35.0;
    changed.surface_factor.at("gravel") = 0.55;
    changed.types.at("base_station_5g").band_radius_m["4900"] = 800.0;
    EXPECT_EQ(MetricsConfig::from_toml(changed.to_toml(), "again.toml", builtin_kinds()), changed);
}

} // namespace
} // namespace qiancun
