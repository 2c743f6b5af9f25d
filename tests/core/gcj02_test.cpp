#include "qiancun/gcj02.hpp"

#include <gtest/gtest.h>

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace {

using qiancun::gcj02::LonLat;
namespace gcj02 = qiancun::gcj02;

/// forward(inverse(p)) must reproduce p to this, degrees (≈0.1 mm).
constexpr double kRoundTripTolDeg = 1e-9;
/// inverse(forward(w)) must land this close to w, metres.
constexpr double kInverseTolM = 0.01;
/// Agreement with full-precision published values, degrees (≈0.1 mm).
constexpr double kReferenceTolDeg = 1e-9;
/// Agreement with the second, independently written forward formula, degrees.
constexpr double kIndependentTolDeg = 1e-11;

/// Ground distance between two nearby points on a sphere of the mean Earth radius, metres.
double distance_m(LonLat a, LonLat b) {
    constexpr double kEarthRadiusM = 6371008.8;
    constexpr double kRadPerDeg = std::numbers::pi / 180.0;
    const double mean_lat = (a.lat + b.lat) / 2.0 * kRadPerDeg;
    const double dx = (a.lon - b.lon) * kRadPerDeg * std::cos(mean_lat) * kEarthRadiusM;
    const double dy = (a.lat - b.lat) * kRadPerDeg * kEarthRadiusM;
    return std::hypot(dx, dy);
}

double max_abs_diff_deg(LonLat a, LonLat b) {
    return std::max(std::abs(a.lon - b.lon), std::abs(a.lat - b.lat));
}

/// Every 0.5° over 73–135°E, 18–53°N: 125 × 71 = 8,875 points.
std::vector<LonLat> china_grid() {
    std::vector<LonLat> grid;
    for (int i = 0; i <= 124; ++i)
        for (int j = 0; j <= 70; ++j)
            grid.push_back({73.0 + 0.5 * i, 18.0 + 0.5 * j});
    return grid;
}

/// The GCJ-02 forward map written a second way, from the definition rather than the code
/// under test: the offsets (in metres on the Krasovsky ellipsoid) are divided by the
/// meridional radius M = a(1−e²)/(1−e² sin²φ)^{3/2} and by the parallel radius
/// N cos φ = a cos φ/(1−e² sin²φ)^{1/2}, and the sine series is summed term by term.
LonLat independent_wgs84_to_gcj02(LonLat w) {
    const double pi = std::numbers::pi;
    const double a = 6378245.0;
    const double e2 = 0.00669342162296594323;
    const double x = w.lon - 105.0;
    const double y = w.lat - 35.0;
    const double common =
        (40.0 / 3.0) * std::sin(6.0 * pi * x) + (40.0 / 3.0) * std::sin(2.0 * pi * x);
    const double north_m =
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * std::sqrt(std::fabs(x)) +
        common + (40.0 / 3.0) * std::sin(pi * y) + (80.0 / 3.0) * std::sin(pi * y / 3.0) +
        (320.0 / 3.0) * std::sin(pi * y / 12.0) + (640.0 / 3.0) * std::sin(pi * y / 30.0);
    const double east_m = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y +
                          0.1 * std::sqrt(std::fabs(x)) + common + (40.0 / 3.0) * std::sin(pi * x) +
                          (80.0 / 3.0) * std::sin(pi * x / 3.0) + 100.0 * std::sin(pi * x / 12.0) +
                          200.0 * std::sin(pi * x / 30.0);
    const double phi = w.lat * pi / 180.0;
    const double w2 = 1.0 - e2 * std::sin(phi) * std::sin(phi);
    const double meridional_m = a * (1.0 - e2) / std::pow(w2, 1.5);
    const double parallel_m = a * std::cos(phi) / std::sqrt(w2);
    return {w.lon + east_m / parallel_m * 180.0 / pi, w.lat + north_m / meridional_m * 180.0 / pi};
}

TEST(Gcj02, ForwardMatchesEviltransformReferencePairs) {
    // googollee/eviltransform go/transform_test.go: {wgsLat, wgsLng, gcjLat, gcjLng}.
    struct Pair {
        LonLat wgs;
        LonLat gcj;
    };
    const Pair pairs[] = {
        {{121.5272106, 31.1774276}, {121.531541859215, 31.17530398364597}}, // Shanghai
        {{113.912316, 22.543847}, {113.9171764808363, 22.540796131694766}}, // Shenzhen
        {{116.377817, 39.911954}, {116.38404722455657, 39.91334545536069}}, // Beijing
    };
    for (const auto &p : pairs) {
        const LonLat g = gcj02::wgs84_to_gcj02(p.wgs);
        EXPECT_NEAR(g.lon, p.gcj.lon, kReferenceTolDeg);
        EXPECT_NEAR(g.lat, p.gcj.lat, kReferenceTolDeg);
    }
}

TEST(Gcj02, ForwardMatchesGcoordReferenceValues) {
    // hujiulong/gcoord test/unit/crs: (123, 45) with 8 (BD-09 from WGS84: 7) decimals.
    const LonLat p{123.0, 45.0};
    const LonLat gcj = gcj02::wgs84_to_gcj02(p);
    EXPECT_NEAR(gcj.lon, 123.00607541, 1e-8);
    EXPECT_NEAR(gcj.lat, 45.00197815, 1e-8);
    const LonLat bd_from_gcj = gcj02::gcj02_to_bd09(p);
    EXPECT_NEAR(bd_from_gcj.lon, 123.00636499, 1e-8);
    EXPECT_NEAR(bd_from_gcj.lat, 45.00636899, 1e-8);
    const LonLat bd_from_wgs = gcj02::wgs84_to_bd09(p);
    EXPECT_NEAR(bd_from_wgs.lon, 123.0124491, 1e-7);
    EXPECT_NEAR(bd_from_wgs.lat, 45.0083293, 1e-7);
}

TEST(Gcj02, ForwardMatchesIndependentFormulaOverChina) {
    for (const LonLat w : china_grid()) {
        const LonLat expected = independent_wgs84_to_gcj02(w);
        const LonLat actual = gcj02::wgs84_to_gcj02(w);
        ASSERT_LT(max_abs_diff_deg(actual, expected), kIndependentTolDeg)
            << "at " << w.lon << ", " << w.lat;
    }
}

TEST(Gcj02, InverseIsExactOverChina) {
    double worst_round_trip_deg = 0.0;
    double worst_inverse_m = 0.0;
    for (const LonLat p : china_grid()) {
        // p read as a GCJ-02 point: its inverse must map forward onto it.
        const LonLat w = gcj02::gcj02_to_wgs84(p);
        worst_round_trip_deg =
            std::max(worst_round_trip_deg, max_abs_diff_deg(gcj02::wgs84_to_gcj02(w), p));
        // p read as a WGS84 point: the inverse of its image must be p.
        const LonLat back = gcj02::gcj02_to_wgs84(gcj02::wgs84_to_gcj02(p));
        worst_inverse_m = std::max(worst_inverse_m, distance_m(back, p));
    }
    EXPECT_LT(worst_round_trip_deg, kRoundTripTolDeg);
    EXPECT_LT(worst_inverse_m, kInverseTolM);
    RecordProperty("worst_inverse_m", fmt::format("{:.3g}", worst_inverse_m));
}

TEST(Gcj02, Bd09InverseIsExactOverChina) {
    double worst_round_trip_deg = 0.0;
    double worst_bd_inverse_m = 0.0;
    double worst_wgs_inverse_m = 0.0;
    for (const LonLat p : china_grid()) {
        const LonLat g = gcj02::bd09_to_gcj02(p);
        worst_round_trip_deg =
            std::max(worst_round_trip_deg, max_abs_diff_deg(gcj02::gcj02_to_bd09(g), p));
        worst_bd_inverse_m = std::max(worst_bd_inverse_m,
                                      distance_m(gcj02::bd09_to_gcj02(gcj02::gcj02_to_bd09(p)), p));
        worst_wgs_inverse_m = std::max(
            worst_wgs_inverse_m, distance_m(gcj02::bd09_to_wgs84(gcj02::wgs84_to_bd09(p)), p));
    }
    EXPECT_LT(worst_round_trip_deg, kRoundTripTolDeg);
    EXPECT_LT(worst_bd_inverse_m, kInverseTolM);
    EXPECT_LT(worst_wgs_inverse_m, kInverseTolM);
}

TEST(Gcj02, OneStepInverseIsMetresOffWhereIterationIsExact) {
    // The common shortcut w ≈ g − (forward(g) − g) assumes the offset is the same at w and g;
    // it is not, which is why gcj02_to_wgs84 iterates.
    double worst_one_step_m = 0.0;
    double worst_exact_m = 0.0;
    for (const LonLat w : china_grid()) {
        const LonLat g = gcj02::wgs84_to_gcj02(w);
        const LonLat fg = gcj02::wgs84_to_gcj02(g);
        const LonLat one_step{g.lon - (fg.lon - g.lon), g.lat - (fg.lat - g.lat)};
        worst_one_step_m = std::max(worst_one_step_m, distance_m(one_step, w));
        worst_exact_m = std::max(worst_exact_m, distance_m(gcj02::gcj02_to_wgs84(g), w));
    }
    EXPECT_GT(worst_one_step_m, 1.0);
    EXPECT_LT(worst_exact_m, 1e-3);
    RecordProperty("worst_one_step_m", fmt::format("{:.3g}", worst_one_step_m));
    RecordProperty("worst_exact_m", fmt::format("{:.3g}", worst_exact_m));
}

TEST(Gcj02, IdentityOutsideChina) {
    const LonLat outside[] = {{2.3522, 48.8566}, {-74.006, 40.7128}, {139.6917, 35.6895},
                              {100.0, -10.0},    {100.0, 60.0},      {183.0, 45.0}};
    for (const LonLat p : outside) {
        EXPECT_FALSE(gcj02::in_china(p));
        const LonLat g = gcj02::wgs84_to_gcj02(p);
        EXPECT_EQ(g.lon, p.lon);
        EXPECT_EQ(g.lat, p.lat);
        const LonLat w = gcj02::gcj02_to_wgs84(p);
        EXPECT_EQ(w.lon, p.lon);
        EXPECT_EQ(w.lat, p.lat);
    }
}

TEST(Gcj02, InChinaIsTheDocumentedRectangle) {
    EXPECT_TRUE(gcj02::in_china({120.87, 30.0}));
    EXPECT_TRUE(gcj02::in_china({72.004, 0.8293}));
    EXPECT_TRUE(gcj02::in_china({137.8347, 55.8271}));
    EXPECT_FALSE(gcj02::in_china({72.003, 30.0}));
    EXPECT_FALSE(gcj02::in_china({137.835, 30.0}));
    EXPECT_FALSE(gcj02::in_china({120.0, 0.8292}));
    EXPECT_FALSE(gcj02::in_china({120.0, 55.8272}));
}

TEST(Gcj02, OffsetIsHundredsOfMetresInShangyu) {
    // Sanity of magnitude near the sample county (Shangyu, ≈120.87°E 30.03°N).
    const LonLat w{120.87, 30.03};
    const double offset_m = distance_m(gcj02::wgs84_to_gcj02(w), w);
    EXPECT_GT(offset_m, 300.0);
    EXPECT_LT(offset_m, 700.0);
    const double bd_offset_m = distance_m(gcj02::wgs84_to_bd09(w), w);
    EXPECT_GT(bd_offset_m, 700.0);
    EXPECT_LT(bd_offset_m, 1500.0);
}

TEST(Gcj02, WebMapsAreNamedAsTheOptionsTakeThem) {
    EXPECT_EQ(gcj02::web_map_of("GCJ02"), gcj02::WebMap::gcj02);
    EXPECT_EQ(gcj02::web_map_of("gcj-02"), gcj02::WebMap::gcj02);
    EXPECT_EQ(gcj02::web_map_of("BD09"), gcj02::WebMap::bd09);
    EXPECT_EQ(gcj02::web_map_of("bd-09"), gcj02::WebMap::bd09);
    EXPECT_EQ(gcj02::web_map_of("EPSG:4326"), gcj02::WebMap::none);
    EXPECT_EQ(gcj02::web_map_of("GCJ"), gcj02::WebMap::none);
    EXPECT_STREQ(gcj02::web_map_name(gcj02::WebMap::gcj02), "GCJ-02");
    EXPECT_STREQ(gcj02::web_map_name(gcj02::WebMap::bd09), "BD-09");
    EXPECT_STREQ(gcj02::web_map_name(gcj02::WebMap::none), "");
}

TEST(Gcj02, ArraysMoveAsThePointFunctionsMoveEachPointAndSkipTheFailedOnes) {
    double lon[3] = {120.87, 121.2, 119.9};
    double lat[3] = {30.03, 29.8, 30.4};
    const int ok[3] = {1, 0, 1};
    gcj02::to_web_map(gcj02::WebMap::bd09, 3, lon, lat, ok);
    const LonLat first = gcj02::wgs84_to_bd09({120.87, 30.03});
    EXPECT_EQ(lon[0], first.lon);
    EXPECT_EQ(lat[0], first.lat);
    EXPECT_EQ(lon[1], 121.2); // ok = 0: left alone
    EXPECT_EQ(lat[1], 29.8);
    const LonLat third = gcj02::wgs84_to_bd09({119.9, 30.4});
    EXPECT_EQ(lon[2], third.lon);
    gcj02::from_web_map(gcj02::WebMap::bd09, 3, lon, lat);
    EXPECT_NEAR(lon[0], 120.87, 1e-9);
    EXPECT_NEAR(lat[0], 30.03, 1e-9);
    EXPECT_NEAR(lon[2], 119.9, 1e-9);
    EXPECT_NEAR(lat[2], 30.4, 1e-9);
    double glon = 120.87, glat = 30.03;
    gcj02::to_web_map(gcj02::WebMap::gcj02, 1, &glon, &glat, nullptr);
    const LonLat g = gcj02::wgs84_to_gcj02({120.87, 30.03});
    EXPECT_EQ(glon, g.lon);
    EXPECT_EQ(glat, g.lat);
    gcj02::to_web_map(gcj02::WebMap::none, 1, &glon, &glat, nullptr);
    EXPECT_EQ(glon, g.lon);
}

} // namespace
