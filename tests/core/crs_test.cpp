#include "qiancun/crs.hpp"
#include "qiancun/error.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/core.h>

#include <limits>
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
