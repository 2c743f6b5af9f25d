#include "qiancun/crs.hpp"
#include "qiancun/error.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/core.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>

namespace {

namespace crs = qiancun::crs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

/// PROJ's recorded zone edges, degrees: the database may round them.
constexpr double kAreaTolDeg = 0.01;

TEST(Crs, GaussKrugerZoneHasTheNearestCentralMeridian) {
    EXPECT_EQ(crs::gauss_kruger_3deg_epsg(120.87), 4549); // CM 120E (Shangyu)
    EXPECT_EQ(crs::gauss_kruger_3deg_epsg(120.0), 4549);
    EXPECT_EQ(crs::gauss_kruger_3deg_epsg(118.51), 4549);
    EXPECT_EQ(crs::gauss_kruger_3deg_epsg(121.49), 4549);
    EXPECT_EQ(crs::gauss_kruger_3deg_epsg(118.49), 4548); // CM 117E
    EXPECT_EQ(crs::gauss_kruger_3deg_epsg(121.51), 4550); // CM 123E
    EXPECT_EQ(crs::gauss_kruger_3deg_epsg(75.0), 4534);   // CM 75E, the first zone
    EXPECT_EQ(crs::gauss_kruger_3deg_epsg(73.5), 4534);
    EXPECT_EQ(crs::gauss_kruger_3deg_epsg(135.0), 4554); // CM 135E, the last zone
    EXPECT_EQ(crs::gauss_kruger_3deg_epsg(136.5), 4554);
}

TEST(Crs, GaussKrugerRejectsLongitudesOutsideTheZones) {
    EXPECT_THROW(crs::gauss_kruger_3deg_epsg(73.49), qiancun::UsageError);
    EXPECT_THROW(crs::gauss_kruger_3deg_epsg(136.51), qiancun::UsageError);
    EXPECT_THROW(crs::gauss_kruger_3deg_epsg(-120.0), qiancun::UsageError);
    EXPECT_THROW(crs::gauss_kruger_3deg_epsg(std::numeric_limits<double>::quiet_NaN()),
                 qiancun::UsageError);
}

TEST(Crs, EveryGaussKrugerZoneIsNamedForItsCentralMeridian) {
    for (int cm = 75; cm <= 135; cm += 3) {
        const int epsg = crs::gauss_kruger_3deg_epsg(cm);
        EXPECT_EQ(crs::name(epsg), fmt::format("CGCS2000 / 3-degree Gauss-Kruger CM {}E", cm));
    }
}

TEST(Crs, ChosenZoneCoversTheLongitudeInPROJsDatabase) {
    // Up to 133.5°E: PROJ clips the easternmost zone (CM 135E) to the border at ≈134.8°E.
    for (double lon = 73.7; lon <= 133.5; lon += 0.37) {
        const auto area = crs::area_of_use(crs::gauss_kruger_3deg_epsg(lon));
        EXPECT_LE(area.west_lon - kAreaTolDeg, lon) << lon;
        EXPECT_GE(area.east_lon + kAreaTolDeg, lon) << lon;
    }
}

TEST(Crs, AreaOfUseOfZone40) {
    const auto area = crs::area_of_use(4549);
    EXPECT_NEAR(area.west_lon, 118.5, kAreaTolDeg);
    EXPECT_NEAR(area.east_lon, 121.5, kAreaTolDeg);
    EXPECT_GT(area.south_lat, 18.0);
    EXPECT_LT(area.south_lat, 30.0);
    EXPECT_GT(area.north_lat, 45.0);
    EXPECT_LT(area.north_lat, 56.0);
    EXPECT_TRUE(area.contains(120.87, 30.03));
    EXPECT_FALSE(area.contains(117.0, 30.0));
    EXPECT_THAT(area.name, HasSubstr("China"));
}

TEST(Crs, NameComesFromPROJ) {
    EXPECT_THAT(crs::name(4549), HasSubstr("Gauss-Kruger CM 120E"));
    EXPECT_EQ(crs::name(4490), "China Geodetic Coordinate System 2000");
    EXPECT_EQ(crs::name(4326), "WGS 84");
}

TEST(Crs, ParsesEpsgCodeSpellings) {
    EXPECT_EQ(crs::parse_epsg("EPSG:4549"), 4549);
    EXPECT_EQ(crs::parse_epsg("epsg:4549"), 4549);
    EXPECT_EQ(crs::parse_epsg("Epsg:4326"), 4326);
    EXPECT_EQ(crs::parse_epsg("4549"), 4549);
    EXPECT_EQ(crs::parse_epsg(" EPSG:4490 "), 4490);
}

TEST(Crs, RejectsMalformedEpsgCodes) {
    for (const char *bad : {"", " ", "EPSG:", "EPSG", "EPSG:abc", "4549x", "45 49", "-4549", "0",
                            "+4549", "ESRI:102100", "EPSG::4549", "EPSG:99999999999", "4549.0"}) {
        EXPECT_THROW(crs::parse_epsg(bad), qiancun::UsageError) << "'" << bad << "'";
    }
    try {
        crs::parse_epsg("EPSG:abc");
        FAIL() << "no exception";
    } catch (const qiancun::UsageError &e) {
        EXPECT_THAT(e.what(), HasSubstr("EPSG:abc"));
    }
}

TEST(Crs, UnknownEpsgCodeIsAnError) {
    EXPECT_THROW(crs::area_of_use(999999), qiancun::Error);
    EXPECT_THROW(crs::name(999999), qiancun::Error);
    try {
        crs::wkt(999999);
        FAIL() << "no exception";
    } catch (const qiancun::Error &e) {
        EXPECT_THAT(e.what(), HasSubstr("EPSG:999999"));
    }
}

TEST(Crs, EsriWktForPrjFiles) {
    const std::string esri = crs::wkt(4549, true);
    EXPECT_THAT(esri, StartsWith("PROJCS["));
    EXPECT_THAT(esri, HasSubstr("Gauss_Kruger"));
    EXPECT_THAT(esri, HasSubstr("CGCS2000"));
    EXPECT_EQ(esri.find('\n'), std::string::npos); // .prj files are one line
}

TEST(Crs, Wkt2ByDefault) {
    const std::string wkt2 = crs::wkt(4549);
    EXPECT_THAT(wkt2, StartsWith("PROJCRS["));
    EXPECT_THAT(wkt2, HasSubstr("\"CGCS2000 / 3-degree Gauss-Kruger CM 120E\""));
    EXPECT_THAT(wkt2, HasSubstr("ID[\"EPSG\",4549]"));
}

} // namespace

namespace {

constexpr double kCgcs2000A = 6378137.0;
constexpr double kCgcs2000InvF = 298.257222101;
constexpr double kDeg = 0.017453292519943295;

/// Scale factor of the ellipsoidal transverse Mercator (k0 = 1) at (lon, lat), degrees, by
/// Snyder's series (Map Projections: A Working Manual, eq. 8-11): an independent reference
/// for PROJ's proj_factors, good to 1e-10 within 3° of the central meridian.
double snyder_tm_scale(double lon, double lat, double lon0) {
    const double f = 1.0 / kCgcs2000InvF;
    const double e2 = f * (2 - f);
    const double ep2 = e2 / (1 - e2);
    const double phi = lat * kDeg;
    const double t = std::tan(phi) * std::tan(phi);
    const double c = ep2 * std::cos(phi) * std::cos(phi);
    const double a = (lon - lon0) * kDeg * std::cos(phi);
    return 1 + (1 + c) * a * a / 2 +
           (5 - 4 * t + 42 * c + 13 * c * c - 28 * ep2) * std::pow(a, 4) / 24 +
           (61 - 148 * t + 16 * t * t) * std::pow(a, 6) / 720;
}

constexpr const char *kTmerc1205 =
    "+proj=tmerc +lat_0=0 +lon_0=120.5 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs";

std::string refusal(const crs::Definition &d, std::optional<double> data_lon = std::nullopt) {
    try {
        crs::check_working(d, data_lon);
    } catch (const qiancun::UsageError &e) {
        return e.what();
    }
    return "(accepted)";
}

} // namespace

TEST(WorkingCrs, GeographicCrsIsRefusedWithTheZoneRule) {
    for (int epsg : {4490, 4326}) {
        const std::string m = refusal(crs::from_epsg(epsg));
        EXPECT_THAT(m, HasSubstr(fmt::format("EPSG:{}", epsg)));
        EXPECT_THAT(m, HasSubstr("it is geographic (degrees)"));
        EXPECT_THAT(m, HasSubstr("EPSG:4534 + (CM - 75) / 3, e.g. EPSG:4549 for 120E"));
    }
}

TEST(WorkingCrs, WebMercatorIsRefusedForItsScaleError) {
    const std::string m = refusal(crs::from_epsg(3857));
    // Centre of its area of use inside China: 104.5E 28.5N, where the spherical Mercator's
    // scale is 1 / cos(28.5°) = 1.1379.
    EXPECT_THAT(m, HasSubstr(fmt::format("its scale error is {:.2f} % at 104.5E 28.5N",
                                         (1 / std::cos(28.5 * kDeg) - 1) * 100)));
    EXPECT_THAT(m, HasSubstr("e.g. EPSG:4549 for 120E"));
}

TEST(WorkingCrs, NonMetreUnitsAreRefused) {
    EXPECT_THAT(refusal(crs::from_epsg(2249)), HasSubstr("its unit is US survey foot"));
}

TEST(WorkingCrs, RefusalNamesTheZoneOfTheDataWhenKnown) {
    EXPECT_THAT(
        refusal(crs::from_epsg(4490), 116.9),
        HasSubstr("zone of the data, EPSG:4548 (CGCS2000 / 3-degree Gauss-Kruger CM 117E)"));
    EXPECT_THAT(refusal(crs::from_epsg(3857), 120.9), HasSubstr("EPSG:4549"));
}

TEST(WorkingCrs, ProjectedCrsInMetresAreAccepted) {
    EXPECT_EQ(refusal(crs::from_epsg(4549)), "(accepted)");
    EXPECT_EQ(refusal(crs::from_epsg(32651)), "(accepted)"); // UTM 51N, k0 = 0.9996
    EXPECT_EQ(refusal(crs::parse(kTmerc1205)), "(accepted)");
}

TEST(WorkingCrs, ParsesEpsgCodesWktAndProjStrings) {
    EXPECT_EQ(crs::parse("EPSG:4549").epsg, 4549);
    EXPECT_EQ(crs::parse("4549").epsg, 4549);
    // The .prj a department sends (WKT1_ESRI) is still EPSG:4549 by PROJ's identification.
    EXPECT_EQ(crs::parse(crs::wkt(4549, true)).epsg, 4549);
    const auto custom = crs::parse(kTmerc1205);
    EXPECT_FALSE(custom.epsg);
    EXPECT_EQ(custom.label(), "custom");
    EXPECT_THAT(custom.wkt, StartsWith("PROJCRS["));
    EXPECT_THAT(crs::proj_string(custom), HasSubstr("+proj=tmerc +lat_0=0 +lon_0=120.5 +k=1"));
    EXPECT_TRUE(crs::same(custom, crs::parse(custom.wkt)));
    EXPECT_FALSE(crs::same(custom, crs::from_epsg(4549)));
    EXPECT_THROW(crs::parse("+proj=nonsense"), qiancun::UsageError);
    EXPECT_THROW(crs::parse("EPSG:999999"), qiancun::UsageError);
    EXPECT_THROW(crs::parse(""), qiancun::UsageError);
}

/// PROJ differentiates the projection numerically in proj_factors: its scale factors carry a
/// bias of about 1.05e-8 (seen constant over the zone), 0.001 % of the 0.1 % bound.
constexpr double kFactorsTol = 2e-8;

TEST(WorkingCrs, ScaleErrorAgreesWithSnydersTransverseMercatorSeries) {
    const crs::ScaleGauge zone40(crs::from_epsg(4549));
    const crs::ScaleGauge custom(crs::parse(kTmerc1205));
    for (double lat : {22.0, 30.0, 41.0})
        for (double lon : {118.0, 119.3, 120.0, 121.5, 122.4, 123.0}) {
            EXPECT_NEAR(zone40.at(lon, lat), snyder_tm_scale(lon, lat, 120.0) - 1, kFactorsTol)
                << lon << " " << lat;
            EXPECT_NEAR(custom.at(lon, lat), snyder_tm_scale(lon, lat, 120.5) - 1, kFactorsTol)
                << lon << " " << lat;
        }
    // Web Mercator on its sphere: 1 / cos(lat).
    EXPECT_NEAR(crs::ScaleGauge(crs::from_epsg(3857)).at(120.0, 30.0), 1 / std::cos(30 * kDeg) - 1,
                kFactorsTol);
    // The inverse projection of the false origin is the central meridian on the equator.
    const auto ll = zone40.to_lonlat(500000.0, 0.0);
    ASSERT_TRUE(ll);
    EXPECT_NEAR(ll->first, 120.0, 1e-12);
    EXPECT_NEAR(ll->second, 0.0, 1e-12);
}
