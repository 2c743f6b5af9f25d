#include "qiancun/error.hpp"
#include "qiancun/geometry.hpp"
#include "testing/testing.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace geometry = qiancun::geometry;
using qiancun::GeometryKind;
using qiancun::testing::geometry_near;
using qiancun::testing::kTolM;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

static_assert(std::endian::native == std::endian::little, "the WKB builder writes host order");

/// Hand-built little-endian ISO WKB, for inputs GEOS's WKT reader would refuse.
class WkbBuilder {
public:
    WkbBuilder &header(std::uint32_t type) {
        m_bytes.push_back('\x01');
        return u32(type);
    }
    WkbBuilder &u32(std::uint32_t v) {
        char b[sizeof v];
        std::memcpy(b, &v, sizeof v);
        m_bytes.append(b, sizeof v);
        return *this;
    }
    WkbBuilder &xy(double x, double y) {
        char b[sizeof x];
        std::memcpy(b, &x, sizeof x);
        m_bytes.append(b, sizeof x);
        std::memcpy(b, &y, sizeof y);
        m_bytes.append(b, sizeof y);
        return *this;
    }
    /// A one-ring polygon.
    WkbBuilder &polygon(const std::vector<std::pair<double, double>> &ring) {
        header(3).u32(1).u32(static_cast<std::uint32_t>(ring.size()));
        for (const auto &[x, y] : ring)
            xy(x, y);
        return *this;
    }
    const std::string &bytes() const { return m_bytes; }

private:
    std::string m_bytes;
};

const std::string kSquare = "POLYGON ((0 0, 1000 0, 1000 1000, 0 1000, 0 0))";
/// Two triangles meeting at (500 500): the classic self-intersecting "bow tie".
const std::string kBowTie = "POLYGON ((0 0, 1000 1000, 1000 0, 0 1000, 0 0))";

geometry::CheckResult check_wkt(const std::string &wkt, GeometryKind kind, bool repair = true) {
    return geometry::check(geometry::wkb_from_wkt(wkt), kind, repair);
}

std::string stored_wkt(const geometry::CheckResult &r) {
    return geometry::wkt_from_wkb(r.wkb);
}

TEST(Geometry, ValidSquarePassesUnchangedAsMultiPolygon) {
    const auto r = check_wkt(kSquare, GeometryKind::polygon);
    EXPECT_THAT(r.problem, IsEmpty());
    EXPECT_THAT(r.repair, IsEmpty());
    EXPECT_EQ(stored_wkt(r), "MULTIPOLYGON (((0 0, 1000 0, 1000 1000, 0 1000, 0 0)))");
}

TEST(Geometry, StoredWkbIsLittleEndianIsoMultiPolygon) {
    const auto r = check_wkt(kSquare, GeometryKind::polygon);
    ASSERT_GE(r.wkb.size(), 5u);
    EXPECT_EQ(r.wkb[0], '\x01');
    std::uint32_t type = 0;
    std::memcpy(&type, r.wkb.data() + 1, sizeof type);
    EXPECT_EQ(type, 6u);
}

TEST(Geometry, ValidMultiPolygonWithHoleIsKept) {
    const std::string wkt = "MULTIPOLYGON (((0 0, 1000 0, 1000 1000, 0 1000, 0 0), "
                            "(100 100, 100 200, 200 200, 200 100, 100 100)), "
                            "((2000 0, 3000 0, 3000 1000, 2000 0)))";
    const auto r = check_wkt(wkt, GeometryKind::polygon);
    EXPECT_THAT(r.problem, IsEmpty());
    EXPECT_THAT(r.repair, IsEmpty());
    EXPECT_EQ(stored_wkt(r), wkt);
}

TEST(Geometry, RepairsSelfIntersectingBowTieAndReportsWhere) {
    const auto r = check_wkt(kBowTie, GeometryKind::polygon, true);
    EXPECT_THAT(r.problem, IsEmpty());
    EXPECT_EQ(r.repair, "Self-intersection at (500 500); repaired with GEOSMakeValid");
    EXPECT_TRUE(geometry_near(stored_wkt(r),
                              "MULTIPOLYGON (((0 0, 0 1000, 500 500, 0 0)), "
                              "((500 500, 1000 1000, 1000 0, 500 500)))",
                              kTolM));
}

TEST(Geometry, RejectsBowTieWhenNotRepairing) {
    const auto r = check_wkt(kBowTie, GeometryKind::polygon, false);
    EXPECT_EQ(r.problem, "Self-intersection at (500 500)");
    EXPECT_THAT(r.wkb, IsEmpty());
    EXPECT_THAT(r.repair, IsEmpty());
}

TEST(Geometry, RejectsRepairThatLeavesNoArea) {
    // A ring folded back onto a line encloses nothing.
    const auto r = check_wkt("POLYGON ((0 0, 1000 0, 500 0, 0 0))", GeometryKind::polygon, true);
    EXPECT_THAT(r.problem, HasSubstr("GEOSMakeValid left no polygon"));
    EXPECT_THAT(r.wkb, IsEmpty());
}

TEST(Geometry, RepairsOverlappingMultiPolygonIntoItsUnion) {
    const auto r = check_wkt("MULTIPOLYGON (((0 0, 1000 0, 1000 1000, 0 1000, 0 0)), "
                             "((500 0, 1500 0, 1500 1000, 500 1000, 500 0)))",
                             GeometryKind::polygon, true);
    EXPECT_THAT(r.problem, IsEmpty());
    EXPECT_THAT(r.repair, HasSubstr("repaired with GEOSMakeValid"));
    EXPECT_TRUE(geometry_near(stored_wkt(r),
                              "MULTIPOLYGON (((0 0, 0 1000, 1500 1000, 1500 0, 0 0)))", kTolM));
}

TEST(Geometry, RejectsEmptyAndMissingGeometry) {
    EXPECT_EQ(check_wkt("POLYGON EMPTY", GeometryKind::polygon).problem, "empty geometry");
    EXPECT_EQ(check_wkt("MULTIPOLYGON EMPTY", GeometryKind::polygon).problem, "empty geometry");
    EXPECT_EQ(check_wkt("POINT EMPTY", GeometryKind::point).problem, "empty geometry");
    EXPECT_EQ(check_wkt("LINESTRING EMPTY", GeometryKind::line).problem, "empty geometry");
    EXPECT_EQ(geometry::check("", GeometryKind::point, true).problem, "no geometry");
}

TEST(Geometry, RejectsPointForPolygonKindNamingBothTypes) {
    const auto r = check_wkt("POINT (1 2)", GeometryKind::polygon);
    EXPECT_EQ(r.problem, "Point does not fit a polygon layer, which takes Polygon or MultiPolygon");
    EXPECT_THAT(r.wkb, IsEmpty());
}

TEST(Geometry, RejectsPolygonForPointKind) {
    const auto r = check_wkt(kSquare, GeometryKind::point);
    EXPECT_THAT(r.problem, AllOf(HasSubstr("Polygon"), HasSubstr("Point")));
}

TEST(Geometry, RejectsUnclosedRing) {
    const std::string wkb =
        WkbBuilder().polygon({{0, 0}, {1000, 0}, {1000, 1000}, {0, 1000}}).bytes();
    const auto r = geometry::check(wkb, GeometryKind::polygon, true);
    EXPECT_THAT(r.problem, HasSubstr("ring is not closed"));
    EXPECT_THAT(r.wkb, IsEmpty());
}

TEST(Geometry, RejectsTruncatedWkb) {
    const std::string wkb = geometry::wkb_from_wkt(kSquare);
    const auto r = geometry::check(wkb.substr(0, wkb.size() - 3), GeometryKind::polygon, true);
    EXPECT_THAT(r.problem, Not(IsEmpty()));
    EXPECT_THAT(r.wkb, IsEmpty());
}

TEST(Geometry, RejectsNonFiniteCoordinates) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    const auto point =
        geometry::check(WkbBuilder().header(1).xy(nan, 30.0).bytes(), GeometryKind::point, true);
    EXPECT_THAT(point.problem, HasSubstr("not a finite number"));
    const auto polygon =
        geometry::check(WkbBuilder().polygon({{0, 0}, {inf, 0}, {1000, 1000}, {0, 0}}).bytes(),
                        GeometryKind::polygon, true);
    EXPECT_THAT(polygon.problem, HasSubstr("not a finite number"));
    EXPECT_THAT(polygon.wkb, IsEmpty());
}

TEST(Geometry, PointOrPolygonKeepsPointsAndMakesPolygonsMulti) {
    const auto point = check_wkt("POINT (120.5 30.25)", GeometryKind::point_or_polygon);
    EXPECT_THAT(point.problem, IsEmpty());
    EXPECT_EQ(stored_wkt(point), "POINT (120.5 30.25)");

    const auto polygon = check_wkt(kSquare, GeometryKind::point_or_polygon);
    EXPECT_THAT(polygon.problem, IsEmpty());
    EXPECT_EQ(stored_wkt(polygon), "MULTIPOLYGON (((0 0, 1000 0, 1000 1000, 0 1000, 0 0)))");

    const auto bow_tie = check_wkt(kBowTie, GeometryKind::point_or_polygon, false);
    EXPECT_EQ(bow_tie.problem, "Self-intersection at (500 500)");

    const auto line = check_wkt("LINESTRING (0 0, 1 1)", GeometryKind::point_or_polygon);
    EXPECT_EQ(line.problem,
              "LineString does not fit a point_or_polygon layer, which takes Point, Polygon or "
              "MultiPolygon");
}

TEST(Geometry, SinglePointMultiPointIsStoredAsPoint) {
    const auto one = check_wkt("MULTIPOINT ((3 4))", GeometryKind::point);
    EXPECT_THAT(one.problem, IsEmpty());
    EXPECT_EQ(stored_wkt(one), "POINT (3 4)");

    const auto two = check_wkt("MULTIPOINT ((3 4), (5 6))", GeometryKind::point);
    EXPECT_THAT(two.problem, HasSubstr("MultiPoint of 2 points"));
    EXPECT_THAT(two.wkb, IsEmpty());
}

TEST(Geometry, LinesAreStoredAsMultiLineString) {
    const auto single = check_wkt("LINESTRING (0 0, 100 0, 100 50)", GeometryKind::line);
    EXPECT_THAT(single.problem, IsEmpty());
    EXPECT_EQ(stored_wkt(single), "MULTILINESTRING ((0 0, 100 0, 100 50))");

    const std::string multi = "MULTILINESTRING ((0 0, 100 0), (200 0, 200 100))";
    EXPECT_EQ(stored_wkt(check_wkt(multi, GeometryKind::line)), multi);

    EXPECT_THAT(check_wkt(kSquare, GeometryKind::line).problem,
                HasSubstr("Polygon does not fit a line layer"));
}

TEST(Geometry, RejectsLineWithFewerThanTwoDistinctPoints) {
    EXPECT_EQ(check_wkt("LINESTRING (5 5, 5 5)", GeometryKind::line).problem,
              "line has fewer than 2 distinct points");
    EXPECT_EQ(
        check_wkt("MULTILINESTRING ((0 0, 1 1), (5 5, 5 5, 5 5))", GeometryKind::line).problem,
        "line part 2 of 2 has fewer than 2 distinct points");
    const auto one_point =
        geometry::check(WkbBuilder().header(2).u32(1).xy(5, 5).bytes(), GeometryKind::line, true);
    EXPECT_THAT(one_point.problem, HasSubstr("fewer than 2 points"));
}

TEST(Geometry, StoresTwoDimensions) {
    EXPECT_EQ(stored_wkt(check_wkt("POINT Z (1 2 3)", GeometryKind::point)), "POINT (1 2)");
    EXPECT_EQ(
        stored_wkt(check_wkt("POLYGON Z ((0 0 5, 10 0 5, 10 10 5, 0 0 5))", GeometryKind::polygon)),
        "MULTIPOLYGON (((0 0, 10 0, 10 10, 0 0)))");
}

TEST(Geometry, WktRoundTripRoundsToPrecision) {
    const std::string wkb = geometry::wkb_from_wkt("POINT (1.23456 2)");
    EXPECT_EQ(geometry::wkt_from_wkb(wkb, 2), "POINT (1.23 2)");
    EXPECT_EQ(geometry::wkt_from_wkb(wkb), "POINT (1.235 2)");
    EXPECT_EQ(geometry::wkt_from_wkb(geometry::wkb_from_wkt("POINT Z (1 2 3)")), "POINT Z (1 2 3)");
}

TEST(Geometry, ConversionErrorsThrow) {
    EXPECT_THROW(geometry::wkb_from_wkt("POLYGON ((0 0, 1 1"), qiancun::Error);
    EXPECT_THROW(geometry::wkb_from_wkt("not wkt"), qiancun::Error);
    EXPECT_THROW(geometry::wkt_from_wkb("\x01\x03"), qiancun::Error);
}

} // namespace
