#include "qiancun/error.hpp"
#include "qiancun/geometry.hpp"
#include "qiancun/metrics.hpp"
#include "qiancun/registry.hpp"

#include "testing/feature_writer.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <cmath>
#include <map>
#include <numbers>
#include <random>

namespace qiancun {
namespace {

using testing::TempDir;

/// SPEC §3: every ratio within 0.01 of exact circles.
constexpr double kSpecRatioTol = 0.01;
/// Coverage ratios use exact circles integrated over rows at most 5 m apart (CoverageSweep):
/// what they achieve against closed forms.
constexpr double kExactCircleRatioTol = 1e-4;
/// Ratios computed without any polygon approximation (rectangles, exact distances).
constexpr double kExactRatioTol = 1e-9;
constexpr double kPi = std::numbers::pi;

/// South-west corner of the first test village, EPSG:4549 metres.
constexpr double kX0 = 500000.0;
constexpr double kY0 = 3320000.0;
const std::string kCodeA = "330604101201";
const std::string kCodeB = "330604101202";

std::string square_wkt(double x, double y, double side) {
    return fmt::format("POLYGON(({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))", x, y, x + side,
                       y + side);
}

std::string point_wkt(double x, double y) {
    return fmt::format("POINT({} {})", x, y);
}

/// Area of a disc of radius r cut off by a chord at distance d from its centre (d ≤ r), m².
double circular_segment_area(double r, double d) {
    return r * r * std::acos(d / r) - d * std::sqrt(r * r - d * d);
}

/// A registry built feature by feature, written in one transaction with the village links.
class County {
public:
    County() : m_registry(Registry::create(m_dir / "county.sqlite", 4549)) {}

    /// Adds a feature of `kind` with `values` by attribute name and geometry `wkt`.
    County &add(const std::string &kind, std::map<std::string, Value> values,
                const std::string &wkt) {
        m_writer.add(kind, std::move(values), wkt);
        return *this;
    }

    County &village(const std::string &code, const std::string &wkt,
                    std::optional<std::pair<double, double>> seat = std::nullopt) {
        std::map<std::string, Value> values{{"code", code}, {"name", "村" + code.substr(9)}};
        if (seat) {
            values["seat_x"] = seat->first;
            values["seat_y"] = seat->second;
        }
        return add("village", values, wkt);
    }

    County &settlement(const std::string &id, double x, double y, Value population) {
        return add("settlement", {{"id", id}, {"name", "居民点" + id}, {"population", population}},
                   point_wkt(x, y));
    }

    /// A point asset of `kind` at (x, y); `radius_m` is its own service radius.
    County &asset(const std::string &kind, const std::string &id, double x, double y,
                  std::optional<double> radius_m = std::nullopt,
                  const std::string &status = "operating",
                  std::map<std::string, Value> extra = {}) {
        extra["id"] = id;
        extra["status"] = status;
        if (radius_m)
            extra["service_radius_m"] = *radius_m;
        return add(kind, extra, point_wkt(x, y));
    }

    County &road(const std::string &id, const std::string &wkt, const std::string &surface,
                 std::optional<double> radius_m = std::nullopt,
                 const std::string &status = "operating") {
        std::map<std::string, Value> values{{"id", id}, {"status", status}, {"surface", surface}};
        if (radius_m)
            values["service_radius_m"] = *radius_m;
        return add("rural_road", values, wkt);
    }

    /// Writes everything added so far and links settlements and assets to villages.
    County &commit() {
        m_writer.commit("metrics_test");
        return *this;
    }

    MetricsTable compute(const std::vector<std::string> &types = {},
                         std::optional<MetricsConfig> config = std::nullopt, int threads = 0) {
        MetricsOptions options;
        options.types = types;
        options.threads = threads;
        return compute_metrics(m_registry, config.value_or(defaults()), options);
    }

    MetricsConfig defaults() const { return MetricsConfig::defaults(m_registry.kinds()); }
    Registry &registry() { return m_registry; }
    const TempDir &dir() const { return m_dir; }

private:
    TempDir m_dir;
    Registry m_registry;
    testing::FeatureWriter m_writer{m_registry};
};

const VillageMetrics &village_of(const MetricsTable &table, const std::string &code) {
    for (const auto &v : table.villages)
        if (v.code == code)
            return v;
    throw std::logic_error("no village " + code);
}

const TypeMetrics &metrics_of(const MetricsTable &table, const std::string &code,
                              const std::string &type) {
    for (std::size_t i = 0; i < table.types.size(); ++i)
        if (table.types[i] == type)
            return village_of(table, code).types.at(i);
    throw std::logic_error("no type " + type);
}

/// area_cov of a 1 km square village with one sewage plant at (x, y) of radius r.
double square_with_disc(double x, double y, double r, int quadrant_segments = 16) {
    County c;
    c.village(kCodeA, square_wkt(kX0, kY0, 1000.0)).asset("sewage_plant", "P1", x, y, r).commit();
    auto config = c.defaults();
    config.quadrant_segments = quadrant_segments;
    return metrics_of(c.compute({"sewage_plant"}, config), kCodeA, "sewage_plant").area_cov;
}

struct DiscCase {
    std::string name;
    double x, y, r;
    double expected; ///< closed-form area_cov
};

std::vector<DiscCase> disc_cases() {
    const double cx = kX0 + 500.0, cy = kY0 + 500.0;
    return {
        {"centre r=100", cx, cy, 100.0, kPi * 100 * 100 / 1e6},
        {"centre r=300", cx, cy, 300.0, kPi * 300 * 300 / 1e6},
        {"centre r=499", cx, cy, 499.0, kPi * 499 * 499 / 1e6},
        {"centre r=708 (> 500√2)", cx, cy, 708.0, 1.0},
        {"centre r=2000", cx, cy, 2000.0, 1.0},
        {"corner r=250", kX0, kY0, 250.0, kPi * 250 * 250 / 4 / 1e6},
        {"corner r=600", kX0 + 1000.0, kY0 + 1000.0, 600.0, kPi * 600 * 600 / 4 / 1e6},
        {"corner r=1000", kX0, kY0 + 1000.0, 1000.0, kPi * 1000 * 1000 / 4 / 1e6},
        {"outside d=300 r=500", cx, kY0 - 300.0, 500.0, circular_segment_area(500, 300) / 1e6},
        {"outside d=900 r=1000", kX0 - 900.0, cy, 1000.0, circular_segment_area(1000, 900) / 1e6},
        {"outside d=50 r=400", cx, kY0 + 1050.0, 400.0, circular_segment_area(400, 50) / 1e6},
        {"outside d=500 r=500 (touching)", cx, kY0 - 500.0, 500.0, 0.0},
    };
}

TEST(MetricsAreaCoverage, DiscInSquareMatchesClosedFormWithinSpecTolerance) {
    for (const auto &c : disc_cases()) {
        for (int segments : {8, 16}) {
            const double got = square_with_disc(c.x, c.y, c.r, segments);
            EXPECT_NEAR(got, c.expected, kSpecRatioTol)
                << c.name << ", " << segments << " segments";
            EXPECT_GE(got, 0.0);
            EXPECT_LE(got, 1.0);
        }
    }
}

TEST(MetricsAreaCoverage, RatiosUseExactCirclesWhateverTheDrawnSegments) {
    EXPECT_EQ(MetricsConfig{}.quadrant_segments, 16);
    for (const auto &c : disc_cases()) {
        const double got = square_with_disc(c.x, c.y, c.r);
        EXPECT_NEAR(got, c.expected, kExactCircleRatioTol) << c.name;
        // quadrant_segments only shapes the drawn gap polygons.
        EXPECT_EQ(square_with_disc(c.x, c.y, c.r, 8), got) << c.name;
    }
}

/// area(village ∩ ⋃ buffers) / area(village) computed by GDAL's OGR (GEOS underneath) with
/// `quadrant_segments` per quarter circle: an overlay of drawn polygons, independent of the
/// row integration the metrics use.
double ogr_area_ratio(const std::string &village_wkt, const std::vector<std::string> &wkts,
                      const std::vector<double> &radii, int quadrant_segments) {
    const auto from_wkt = [](const std::string &wkt) {
        OGRGeometry *g = nullptr;
        EXPECT_EQ(OGRGeometryFactory::createFromWkt(wkt.c_str(), nullptr, &g), OGRERR_NONE) << wkt;
        return std::unique_ptr<OGRGeometry>(g);
    };
    const auto village = from_wkt(village_wkt);
    OGRMultiPolygon buffers;
    for (std::size_t i = 0; i < wkts.size(); ++i) {
        const auto g = from_wkt(wkts[i]);
        EXPECT_EQ(buffers.addGeometryDirectly(g->Buffer(radii[i], quadrant_segments)), OGRERR_NONE);
    }
    const std::unique_ptr<OGRGeometry> united(buffers.UnionCascaded());
    const std::unique_ptr<OGRGeometry> inside(village->Intersection(united.get()));
    return OGR_G_Area(OGRGeometry::ToHandle(inside.get())) /
           OGR_G_Area(OGRGeometry::ToHandle(village.get()));
}

TEST(MetricsAreaCoverage, IrregularVillagesAgreeWithAFineGeosOverlay) {
    // Star-shaped villages (one with a hole, one with an island), seeded random discs with their
    // own radii, polylines (one exactly horizontal, one exactly vertical) and a footprint,
    // against OGR buffers with 256 segments per quarter circle: a drawn disc then lacks
    // (2π/1024)²/6 ≈ 6e-6 of its area, far below the tolerance (measured: at most 4e-5).
    constexpr double kOverlayTol = kExactCircleRatioTol;
    std::mt19937 rng(20261129);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const auto star = [&](double cx, double cy, double r, int n) {
        std::string ring;
        std::string first;
        for (int i = 0; i < n; ++i) {
            const double a = 2 * kPi * i / n;
            const double rho = r * (0.6 + 0.4 * unit(rng));
            const auto p =
                fmt::format("{:.3f} {:.3f}", cx + rho * std::cos(a), cy + rho * std::sin(a));
            ring += p + ", ";
            if (i == 0)
                first = p;
        }
        return "(" + ring + first + ")";
    };
    const std::vector<std::string> codes{kCodeA, kCodeB, "330604101203"};
    std::vector<std::string> villages{
        "POLYGON(" + star(kX0 + 1000, kY0 + 1000, 1000, 40) + ")",
        fmt::format("POLYGON({}, ({} {}, {} {}, {} {}, {} {}, {} {}))",
                    star(kX0 + 4000, kY0 + 1000, 1200, 60), kX0 + 3800, kY0 + 900, kX0 + 4200,
                    kY0 + 900, kX0 + 4200, kY0 + 1100, kX0 + 3800, kY0 + 1100, kX0 + 3800,
                    kY0 + 900),
        fmt::format("MULTIPOLYGON(({}), ({}))", star(kX0 + 1500, kY0 + 4000, 900, 30),
                    star(kX0 + 3500, kY0 + 4200, 300, 12)),
    };
    County c;
    for (std::size_t i = 0; i < villages.size(); ++i)
        c.village(codes[i], villages[i]);
    std::vector<std::string> points;
    std::vector<double> point_radii;
    for (int i = 0; i < 25; ++i) {
        const double x = kX0 - 500 + 6000 * unit(rng), y = kY0 - 500 + 5500 * unit(rng);
        const double r = 100 + 700 * unit(rng);
        c.asset("courier_station", fmt::format("C{}", i), x, y, r);
        points.push_back(point_wkt(x, y));
        point_radii.push_back(r);
    }
    // Hall footprints: every point within r of the polygon.
    const std::vector<std::string> halls{square_wkt(kX0 + 4300, kY0 + 1500, 40.0),
                                         square_wkt(kX0 + 900, kY0 + 700, 25.0),
                                         square_wkt(kX0 + 1700, kY0 + 4100, 60.0)};
    const std::vector<double> hall_radii{250.0, 400.0, 333.0};
    for (std::size_t i = 0; i < halls.size(); ++i)
        c.add("cultural_hall",
              {{"id", fmt::format("H{}", i)},
               {"status", "operating"},
               {"service_radius_m", hall_radii[i]}},
              halls[i]);
    std::vector<std::string> roads{
        fmt::format("LINESTRING({} {}, {} {})", kX0 - 200, kY0 + 1234.5, kX0 + 5500, kY0 + 1234.5),
        fmt::format("LINESTRING({} {}, {} {})", kX0 + 2750.25, kY0 - 300, kX0 + 2750.25,
                    kY0 + 5000),
    };
    for (int i = 0; i < 6; ++i) {
        std::string line = "LINESTRING(";
        double x = kX0 + 5000 * unit(rng), y = kY0 + 5000 * unit(rng);
        for (int k = 0; k < 5; ++k) {
            line += fmt::format("{}{:.3f} {:.3f}", k ? ", " : "", x, y);
            x += 1500 * (unit(rng) - 0.5);
            y += 1500 * (unit(rng) - 0.5);
        }
        roads.push_back(line + ")");
    }
    std::vector<double> road_radii;
    for (std::size_t i = 0; i < roads.size(); ++i) {
        road_radii.push_back(50 + 250 * unit(rng));
        c.road(fmt::format("R{}", i), roads[i], "hardened", road_radii.back());
    }
    c.commit();

    const auto t = c.compute({"courier_station", "rural_road", "cultural_hall"});
    int partial = 0;
    for (std::size_t i = 0; i < villages.size(); ++i) {
        const double couriers = ogr_area_ratio(villages[i], points, point_radii, 256);
        const double corridors = ogr_area_ratio(villages[i], roads, road_radii, 256);
        const double footprints = ogr_area_ratio(villages[i], halls, hall_radii, 256);
        EXPECT_NEAR(metrics_of(t, codes[i], "courier_station").area_cov, couriers, kOverlayTol)
            << codes[i];
        EXPECT_NEAR(metrics_of(t, codes[i], "rural_road").area_cov, corridors, kOverlayTol)
            << codes[i];
        EXPECT_NEAR(metrics_of(t, codes[i], "cultural_hall").area_cov, footprints, kOverlayTol)
            << codes[i];
        for (const double ratio : {couriers, corridors})
            partial += ratio > 0.05 && ratio < 0.95;
        EXPECT_GT(footprints, 0.01) << codes[i]; // every village holds a footprint's reach
    }
    EXPECT_GE(partial, 4); // most cases cut discs and corridors by the borders
}

TEST(MetricsRoads, CorridorThroughTheMiddleOfASquare) {
    County c;
    c.village(kCodeA, square_wkt(kX0, kY0, 1000.0))
        // Crosses the village from west to east, 1 km beyond both sides.
        .road("R1",
              fmt::format("LINESTRING({} {}, {} {})", kX0 - 1000, kY0 + 500, kX0 + 2000, kY0 + 500),
              "hardened", 200.0)
        .commit();
    const auto t = c.compute({"rural_road"});
    const auto &m = metrics_of(t, kCodeA, "rural_road");
    const auto &v = village_of(t, kCodeA);
    // The straight sides of a corridor are exact: 2·r·1000 inside the square.
    EXPECT_NEAR(m.area_cov, 2 * 200.0 * 1000.0 / 1e6, kExactRatioTol);
    EXPECT_EQ(m.n, 1);
    EXPECT_NEAR(v.road_km, 1.0, 1e-9);
    EXPECT_NEAR(v.hardened_km, 1.0, 1e-9);
    EXPECT_NEAR(v.road_density, 1.0, 1e-9);
    EXPECT_FALSE(m.pop_cov);
    EXPECT_EQ(m.cov, m.area_cov);
    EXPECT_TRUE(m.gap);
    ASSERT_TRUE(m.nearest_m);
    EXPECT_NEAR(*m.nearest_m, 0.0, testing::kTolM); // the point-on-surface lies on the road
}

TEST(MetricsRoads, RoundEndsCountInsideAndLengthsSplitBySurface) {
    County c;
    c.village(kCodeA, square_wkt(kX0, kY0, 1000.0))
        // Ends inside the village: half a disc of cap inside, the west cap outside.
        .road("R1", fmt::format("LINESTRING({} {}, {} {})", kX0, kY0 + 500, kX0 + 500, kY0 + 500),
              "gravel", 100.0)
        // A hardened road of 300 m inside and 200 m outside the north edge.
        .road("R2",
              fmt::format("LINESTRING({} {}, {} {})", kX0 + 800, kY0 + 700, kX0 + 800, kY0 + 1200),
              "hardened", 50.0)
        // Touches the north-east corner only: counts, adds no length.
        .road(
            "R3",
            fmt::format("LINESTRING({} {}, {} {})", kX0 + 1000, kY0 + 1000, kX0 + 1500, kY0 + 1500),
            "earth", 10.0)
        // Closed and planned roads do not count for anything.
        .road("R4", fmt::format("LINESTRING({} {}, {} {})", kX0, kY0 + 100, kX0 + 1000, kY0 + 100),
              "hardened", 400.0, "closed")
        .road("R5", fmt::format("LINESTRING({} {}, {} {})", kX0, kY0 + 100, kX0 + 1000, kY0 + 100),
              "hardened", 400.0, "planned")
        .commit();
    const auto t = c.compute({"rural_road"});
    const auto &m = metrics_of(t, kCodeA, "rural_road");
    const auto &v = village_of(t, kCodeA);
    EXPECT_EQ(m.n, 3);
    EXPECT_NEAR(v.road_km, 0.5 + 0.3, 1e-9);
    EXPECT_NEAR(v.hardened_km, 0.3, 1e-9);
    EXPECT_NEAR(v.road_density, 0.8, 1e-9);
    // R1: its strip and the east half of its end disc. R2: its strip up to the north edge
    // and the south half disc. R3 leaves the corner at 45°: inside, only the quarter of its
    // end disc at the corner is within 10 m of it.
    const double r1 = 2 * 100.0 * 500.0 + kPi * 100 * 100 / 2;
    const double r2 = 2 * 50.0 * 300.0 + kPi * 50 * 50 / 2;
    const double r3 = kPi * 10 * 10 / 4;
    EXPECT_NEAR(m.area_cov, (r1 + r2 + r3) / 1e6, 1e-4);
}

TEST(MetricsPopulation, SettlementsJustInsideExactlyAtAndJustOutsideTheRadius) {
    const double r = 300.0;
    const double cx = kX0 + 500.0, cy = kY0 + 500.0;
    County c;
    c.village(kCodeA, square_wkt(kX0, kY0, 1000.0))
        .asset("sewage_plant", "P1", cx, cy, r)
        .settlement("S_in", cx - (r - 0.001), cy, std::int64_t{100})
        .settlement("S_at", cx + r, cy, std::int64_t{400})
        .settlement("S_at_diagonal", cx + 180.0, cy + 240.0, std::int64_t{1000}) // 3-4-5
        .settlement("S_out", cx, cy + r + 0.001, std::int64_t{200})
        .commit();
    const auto t = c.compute({"sewage_plant"});
    const auto &m = metrics_of(t, kCodeA, "sewage_plant");
    ASSERT_TRUE(m.pop_cov);
    EXPECT_NEAR(*m.pop_cov, 1500.0 / 1700.0, kExactRatioTol);
    EXPECT_EQ(m.uncovered_population, 200);
    EXPECT_EQ(m.cov, *m.pop_cov);
    EXPECT_EQ(village_of(t, kCodeA).settlement_population, 1700);
    EXPECT_NEAR(m.area_cov, kPi * r * r / 1e6, kExactCircleRatioTol);
}

TEST(MetricsPopulation, PointOutsideAnyVillageStillServes) {
    County c;
    c.village(kCodeA, square_wkt(kX0, kY0, 1000.0))
        .asset("courier_station", "C1", kX0 - 100.0, kY0 + 500.0, 150.0)
        .settlement("S1", kX0 + 50.0, kY0 + 500.0, std::int64_t{10})
        .settlement("S2", kX0 + 60.0, kY0 + 500.0, std::int64_t{30})
        .commit();
    const auto t = c.compute({"courier_station"});
    const auto &m = metrics_of(t, kCodeA, "courier_station");
    EXPECT_EQ(m.n, 0);
    ASSERT_TRUE(m.pop_cov);
    EXPECT_NEAR(*m.pop_cov, 0.25, kExactRatioTol);
}

TEST(MetricsPopulation, NoSettlementPopulationFallsBackToAreaCoverage) {
    County c;
    c.village(kCodeA, square_wkt(kX0, kY0, 1000.0))
        .asset("sewage_plant", "P1", kX0, kY0, 400.0)
        .settlement("S1", kX0 + 10.0, kY0 + 10.0, std::int64_t{0})
        .settlement("S2", kX0 + 900.0, kY0 + 900.0, Value{}) // NULL counts as 0
        .commit();
    const auto t = c.compute({"sewage_plant"});
    const auto &m = metrics_of(t, kCodeA, "sewage_plant");
    EXPECT_FALSE(m.pop_cov);
    EXPECT_EQ(m.cov, m.area_cov);
    EXPECT_NEAR(m.area_cov, kPi * 400 * 400 / 4 / 1e6, kExactCircleRatioTol);
    EXPECT_EQ(m.uncovered_population, 0);
    const auto rows = t.to_rows();
    ASSERT_EQ(rows.rows.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<std::monostate>(rows.rows[0][4])); // pop_cov_sewage_plant
}

/// Two 1 km squares sharing the border x = kX0 + 1000; A (smaller code) west, B east.
void add_two_villages(County &c) {
    c.village(kCodeB, square_wkt(kX0 + 1000.0, kY0, 1000.0))
        .village(kCodeA, square_wkt(kX0, kY0, 1000.0));
}

TEST(MetricsBorders, PointOnASharedBorderCountsForTheSmallerCodeOnly) {
    County c;
    add_two_villages(c);
    c.asset("sewage_plant", "ON_BORDER", kX0 + 1000.0, kY0 + 500.0, 100.0)
        .asset("sewage_plant", "NEAR_BORDER", kX0 + 1000.0 + 0.0005, kY0 + 200.0, 100.0)
        .asset("sewage_plant", "IN_B", kX0 + 1500.0, kY0 + 500.0, 100.0)
        .asset("sewage_plant", "OUTSIDE", kX0 - 50.0, kY0 + 500.0, 100.0)
        .settlement("S_BORDER", kX0 + 1000.0, kY0 + 800.0, std::int64_t{70})
        .settlement("S_B", kX0 + 1800.0, kY0 + 800.0, std::int64_t{30})
        .commit();
    const auto t = c.compute({"sewage_plant"});
    EXPECT_EQ(metrics_of(t, kCodeA, "sewage_plant").n, 2);
    EXPECT_EQ(metrics_of(t, kCodeB, "sewage_plant").n, 1);
    EXPECT_EQ(village_of(t, kCodeA).settlement_population, 70);
    EXPECT_EQ(village_of(t, kCodeB).settlement_population, 30);
    // The border disc serves both villages: half of it lies in each.
    const double half = kPi * 100 * 100 / 2;
    EXPECT_NEAR(metrics_of(t, kCodeB, "sewage_plant").area_cov,
                (kPi * 100 * 100 + half + half) / 1e6, kExactCircleRatioTol);
}

TEST(MetricsArea, MultiPolygonVillageCountsIslandsNotHoles) {
    // A 1 km square with a 200 m hole at its centre, plus a 100 m island 500 m east of it.
    const std::string wkt = fmt::format(
        "MULTIPOLYGON((({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}), ({4} {5}, {4} {6}, {7} {6}, "
        "{7} {5}, {4} {5})), (({8} {9}, {10} {9}, {10} {11}, {8} {11}, {8} {9})))",
        kX0, kY0, kX0 + 1000, kY0 + 1000, kX0 + 400, kY0 + 400, kY0 + 600, kX0 + 600, kX0 + 1500,
        kY0 + 450, kX0 + 1600, kY0 + 550);
    County c;
    c.village(kCodeA, wkt)
        // Inside the hole, reaching none of the village.
        .asset("sewage_plant", "IN_HOLE", kX0 + 500.0, kY0 + 500.0, 100.0)
        // Holds the whole island and nothing else.
        .asset("courier_station", "ON_ISLAND", kX0 + 1550.0, kY0 + 500.0, 80.0)
        .commit();
    const auto t = c.compute({"sewage_plant", "courier_station"});
    const double area = 1e6 - 200.0 * 200.0 + 100.0 * 100.0;
    EXPECT_NEAR(village_of(t, kCodeA).area_m2, area, 1e-6);
    // The disc only touches the hole's edges (a polygon disc may cross them by slivers).
    EXPECT_NEAR(metrics_of(t, kCodeA, "sewage_plant").area_cov, 0.0, 1e-5);
    EXPECT_EQ(metrics_of(t, kCodeA, "sewage_plant").n, 0); // in the hole is outside
    EXPECT_NEAR(metrics_of(t, kCodeA, "courier_station").area_cov, 100.0 * 100.0 / area,
                kExactRatioTol);
    EXPECT_EQ(metrics_of(t, kCodeA, "courier_station").n, 1);
}

TEST(MetricsRadius, OwnRadiusThenBandThenTypeDefault) {
    County c;
    const double cx = kX0 + 500.0, cy = kY0 + 500.0;
    c.village(kCodeA, square_wkt(kX0, kY0, 1000.0))
        .village(kCodeB, square_wkt(kX0 + 20000.0, kY0, 1000.0))
        .village("330604101203", square_wkt(kX0 + 40000.0, kY0, 1000.0))
        // Own radius 200 beats the 5 km of band 700.
        .asset("base_station_5g", "OWN", cx, cy, 200.0, "operating", {{"band", "700"}})
        // 3 km west of B's centre: band 700 (5 km) holds B, band 3500 (1.5 km) not.
        .asset("base_station_5g", "B700", kX0 + 20500.0 - 3000.0, cy, std::nullopt, "renovating",
               {{"band", "700"}})
        .asset("base_station_5g", "B3500", kX0 + 40500.0 - 3000.0, cy, std::nullopt, "operating",
               {{"band", "3500"}})
        .commit();
    const auto t = c.compute({"base_station_5g"});
    EXPECT_NEAR(metrics_of(t, kCodeA, "base_station_5g").area_cov, kPi * 200 * 200 / 1e6,
                kExactCircleRatioTol);
    EXPECT_EQ(metrics_of(t, kCodeB, "base_station_5g").area_cov, 1.0);
    EXPECT_EQ(metrics_of(t, "330604101203", "base_station_5g").area_cov, 0.0);
    EXPECT_NEAR(*metrics_of(t, "330604101203", "base_station_5g").nearest_m, 3000.0, 1e-9);
}

TEST(MetricsStatus, ClosedPlannedAndBuildingAssetsAreIgnored) {
    County c;
    const double cx = kX0 + 500.0, cy = kY0 + 500.0;
    c.village(kCodeA, square_wkt(kX0, kY0, 1000.0))
        .asset("sewage_plant", "CLOSED", cx, cy, 5000.0, "closed")
        .asset("sewage_plant", "PLANNED", cx + 10.0, cy, 5000.0, "planned")
        .asset("sewage_plant", "BUILDING", cx + 20.0, cy, 5000.0, "building")
        .asset("sewage_plant", "FAR", cx + 4000.0, cy, 100.0, "operating")
        .settlement("S1", cx, cy, std::int64_t{50})
        .commit();
    const auto t = c.compute({"sewage_plant"});
    const auto &m = metrics_of(t, kCodeA, "sewage_plant");
    EXPECT_EQ(m.n, 0);
    EXPECT_EQ(m.area_cov, 0.0);
    ASSERT_TRUE(m.pop_cov);
    EXPECT_EQ(*m.pop_cov, 0.0);
    ASSERT_TRUE(m.nearest_m);
    EXPECT_NEAR(*m.nearest_m, 4000.0, 1e-9);
    EXPECT_TRUE(m.gap);

    // Statuses are configurable.
    auto config = c.defaults();
    config.serving_statuses.push_back("building");
    const auto with_building = c.compute({"sewage_plant"}, config);
    const auto &b = metrics_of(with_building, kCodeA, "sewage_plant");
    EXPECT_EQ(b.n, 1);
    EXPECT_EQ(b.area_cov, 1.0);
    EXPECT_NEAR(*b.nearest_m, 20.0, 1e-9);
}

TEST(MetricsPolygonAssets, FootprintDiscAndDistances) {
    County c;
    const double fx = kX0 + 400.0, fy = kY0 + 400.0; // 20 m square footprint at (fx, fy)
    c.village(kCodeA, square_wkt(kX0, kY0, 1000.0), std::make_pair(fx + 10.0, fy + 10.0))
        .village(kCodeB, square_wkt(kX0 + 1000.0, kY0, 1000.0),
                 std::make_pair(kX0 + 1500.0, fy + 10.0))
        .add("cultural_hall", {{"id", "H1"}, {"status", "operating"}, {"service_radius_m", 100.0}},
             square_wkt(fx, fy, 20.0))
        .commit();
    const auto t = c.compute({"cultural_hall"});
    const auto &a = metrics_of(t, kCodeA, "cultural_hall");
    EXPECT_EQ(a.n, 1);
    ASSERT_TRUE(a.nearest_m);
    EXPECT_EQ(*a.nearest_m, 0.0); // the seat is inside the footprint
    // Every point within r of the footprint: square + 4 side strips + 4 quarter discs.
    const double disc = 20.0 * 20.0 + 4 * 20.0 * 100.0 + kPi * 100.0 * 100.0;
    EXPECT_NEAR(a.area_cov, disc / 1e6, kExactCircleRatioTol);
    const auto &b = metrics_of(t, kCodeB, "cultural_hall");
    EXPECT_EQ(b.n, 0);
    EXPECT_NEAR(*b.nearest_m, kX0 + 1500.0 - (fx + 20.0), 1e-9); // to the footprint's east side
}

TEST(MetricsNearest, FromTheSeatElseFromThePointOnSurface) {
    County c;
    c.village(kCodeA, square_wkt(kX0, kY0, 1000.0), std::make_pair(kX0 + 100.0, kY0 + 100.0))
        .village(kCodeB, square_wkt(kX0 + 1000.0, kY0, 1000.0))
        .asset("sewage_plant", "P1", kX0 + 400.0, kY0 + 500.0, 50.0)
        .commit();
    const auto t = c.compute({"sewage_plant", "courier_station"});
    EXPECT_NEAR(*metrics_of(t, kCodeA, "sewage_plant").nearest_m, 500.0, 1e-9); // 3-4-5
    // B has no seat: the point-on-surface of a square is its centre.
    EXPECT_NEAR(*metrics_of(t, kCodeB, "sewage_plant").nearest_m, 1100.0, 1e-9);
    // No courier station anywhere: empty nearest, nothing covered.
    const auto &none = metrics_of(t, kCodeA, "courier_station");
    EXPECT_FALSE(none.nearest_m);
    EXPECT_EQ(none.n, 0);
    EXPECT_EQ(none.area_cov, 0.0);
    EXPECT_TRUE(none.gap);
    const auto rows = t.to_rows();
    EXPECT_TRUE(std::holds_alternative<std::monostate>(rows.rows[0][8])); // nearest_courier…
}

TEST(MetricsGap, CoverageEqualToTheThresholdIsNotAGap) {
    County c;
    add_two_villages(c);
    const double cx = kX0 + 500.0, cy = kY0 + 500.0;
    c.asset("sewage_plant", "PA", cx, cy, 10.0)
        .asset("sewage_plant", "PB", cx + 1000.0, cy, 10.0)
        .settlement("A_in", cx, cy, std::int64_t{90})
        .settlement("A_out", cx + 300.0, cy, std::int64_t{10})
        .settlement("B_in", cx + 1000.0, cy, std::int64_t{89})
        .settlement("B_out", cx + 1300.0, cy, std::int64_t{11})
        .commit();
    const auto t = c.compute({"sewage_plant"});
    const auto &a = metrics_of(t, kCodeA, "sewage_plant");
    EXPECT_EQ(a.cov, 0.9);
    EXPECT_FALSE(a.gap);
    const auto &b = metrics_of(t, kCodeB, "sewage_plant");
    EXPECT_EQ(b.cov, 0.89);
    EXPECT_TRUE(b.gap);

    auto config = c.defaults();
    config.types.at("sewage_plant").gap_threshold = 0.85;
    EXPECT_FALSE(metrics_of(c.compute({"sewage_plant"}, config), kCodeB, "sewage_plant").gap);
}

TEST(MetricsTable, ColumnsAreThoseOfTheSpec) {
    County c;
    c.village(kCodeA, square_wkt(kX0, kY0, 1000.0)).commit();
    const auto t = c.compute();
    EXPECT_EQ(t.types, (std::vector<std::string>{"sewage_plant", "rural_road", "base_station_5g",
                                                 "cultural_hall", "courier_station"}));
    std::vector<std::string> expected{"code"};
    for (const auto &type : t.types)
        for (const auto &pattern :
             {"n_{}", "nearest_{}_m", "area_cov_{}", "pop_cov_{}", "cov_{}", "gap_{}"})
            expected.push_back(fmt::format(fmt::runtime(pattern), type));
    expected.insert(expected.end(), {"road_km", "hardened_km", "road_density"});
    const auto rows = t.to_rows();
    EXPECT_EQ(rows.columns, expected);
    ASSERT_EQ(rows.rows.size(), 1u);
    EXPECT_EQ(rows.rows[0].size(), expected.size());

    const auto only = c.compute({"courier_station"}).to_rows();
    EXPECT_EQ(only.columns,
              (std::vector<std::string>{"code", "n_courier_station", "nearest_courier_station_m",
                                        "area_cov_courier_station", "pop_cov_courier_station",
                                        "cov_courier_station", "gap_courier_station"}));
}

TEST(MetricsOptions, UnknownTypesAndCodesAreUsageErrors) {
    County c;
    c.village(kCodeA, square_wkt(kX0, kY0, 1000.0)).commit();
    EXPECT_THROW(c.compute({"clinic"}), UsageError);
    EXPECT_THROW(c.compute({"village"}), UsageError);
    MetricsOptions options;
    options.village_codes = {"330604999999"};
    EXPECT_THROW(compute_metrics(c.registry(), c.defaults(), options), UsageError);
    auto config = c.defaults();
    config.quadrant_segments = 4;
    EXPECT_THROW(c.compute({}, config), UsageError);
}

TEST(MetricsEngine, OneVillageOrAllAndAnyThreadCountGiveTheSameNumbers) {
    County c;
    for (int i = 0; i < 12; ++i) {
        const double x = kX0 + 1000.0 * (i % 4), y = kY0 + 1000.0 * (i / 4);
        c.village(fmt::format("3306041012{:02d}", i), square_wkt(x, y, 1000.0));
        c.asset("sewage_plant", fmt::format("P{}", i), x + 137.0 * (i % 3), y + 91.0 * (i % 5),
                300.0 + 40.0 * i);
        c.settlement(fmt::format("S{}", i), x + 600.0, y + 300.0, std::int64_t{10 + i});
        c.road(fmt::format("R{}", i),
               fmt::format("LINESTRING({} {}, {} {})", x + 10, y + 10, x + 1700, y + 1300),
               i % 2 ? "hardened" : "gravel");
    }
    c.commit();
    const auto one_thread = c.compute({}, std::nullopt, 1);
    const auto two_threads = c.compute({}, std::nullopt, 2);
    EXPECT_EQ(one_thread.to_rows().rows, two_threads.to_rows().rows);

    MetricsOptions options;
    options.village_codes = {"330604101205"};
    std::vector<std::int64_t> calls;
    const auto single = compute_metrics(c.registry(), c.defaults(), options,
                                        [&](std::int64_t done, std::int64_t total) {
                                            EXPECT_EQ(total, 1);
                                            calls.push_back(done);
                                        });
    ASSERT_EQ(single.villages.size(), 1u);
    EXPECT_FALSE(calls.empty());
    EXPECT_EQ(calls.back(), 1);
    EXPECT_EQ(single.to_rows().rows.front(), one_thread.to_rows().rows.at(5));
}

TEST(MetricsGaps, UncoveredAreasAndSettlementsWorstFirst) {
    County c;
    add_two_villages(c);
    c.asset("sewage_plant", "PA", kX0, kY0, 400.0) // a quarter disc in A
        .asset("sewage_plant", "PB", kX0 + 1500.0, kY0 + 500.0, 300.0)
        .settlement("A_in", kX0 + 100.0, kY0 + 100.0, std::int64_t{60})
        .settlement("A_out", kX0 + 900.0, kY0 + 100.0, std::int64_t{40})
        .settlement("B_in", kX0 + 1500.0, kY0 + 600.0, std::int64_t{10})
        .settlement("B_out", kX0 + 1500.0, kY0 + 900.0, std::int64_t{90})
        .commit();
    const auto t = c.compute({"sewage_plant"});
    const auto report = compute_gaps(c.registry(), c.defaults(), "sewage_plant");
    EXPECT_EQ(report.type, "sewage_plant");
    ASSERT_EQ(report.villages.size(), 2u);
    EXPECT_EQ(report.villages[0].code, kCodeB); // cov 0.1 before A's 0.6
    EXPECT_EQ(report.villages[1].code, kCodeA);
    EXPECT_NEAR(report.villages[0].cov, 0.1, kExactRatioTol);
    EXPECT_NEAR(report.villages[1].cov, 0.6, kExactRatioTol);
    EXPECT_EQ(report.villages[0].uncovered_population, 90);
    EXPECT_EQ(report.villages[1].uncovered_population, 40);
    for (const auto &g : report.villages) {
        const double covered = metrics_of(t, g.code, "sewage_plant").area_cov * 1e6;
        ASSERT_FALSE(g.wkb.empty());
        const std::string wkt = geometry::wkt_from_wkb(g.wkb, 3);
        EXPECT_EQ(wkt.rfind("MULTIPOLYGON", 0), 0u) << wkt;
        // The attribute is the drawn polygon's own area; the drawn discs (16 segments per
        // quarter, area-true for a whole disc) differ from the exact circles of area_cov only
        // where a border cuts them.
        OGRGeometry *drawn = nullptr;
        ASSERT_EQ(OGRGeometryFactory::createFromWkb(g.wkb.data(), nullptr, &drawn, g.wkb.size()),
                  OGRERR_NONE);
        EXPECT_NEAR(g.uncovered_area_km2 * 1e6, OGR_G_Area(OGRGeometry::ToHandle(drawn)), 1e-3)
            << g.code;
        OGRGeometryFactory::destroyGeometry(drawn);
        EXPECT_NEAR(g.uncovered_area_km2 * 1e6, 1e6 - covered, 0.002 * 1e6) << g.code;
    }
    EXPECT_NEAR(report.villages[1].uncovered_area_km2 * 1e6, 1e6 - kPi * 400 * 400 / 4, 2000.0);

    ASSERT_EQ(report.settlements.size(), 2u);
    EXPECT_EQ(report.settlements[0].id, "B_out");
    EXPECT_EQ(report.settlements[0].village_code, kCodeB);
    EXPECT_EQ(report.settlements[0].population, 90);
    EXPECT_NEAR(*report.settlements[0].nearest_m, 400.0, 1e-9);
    EXPECT_EQ(report.settlements[1].id, "A_out");
    EXPECT_NEAR(*report.settlements[1].nearest_m, std::hypot(600.0, 400.0), 1e-9); // to PB
    EXPECT_TRUE(testing::geometry_near(geometry::wkt_from_wkb(report.settlements[1].wkb, 3),
                                       point_wkt(kX0 + 900.0, kY0 + 100.0), testing::kTolM));

    EXPECT_THROW(compute_gaps(c.registry(), c.defaults(), "clinic"), UsageError);
}

/// Opens `path` read-only with GDAL's vector drivers.
GDALDatasetUniquePtr open_with_gdal(const std::filesystem::path &path) {
    GDALAllRegister();
    return GDALDatasetUniquePtr(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY,
                                                  nullptr, nullptr, nullptr));
}

std::vector<std::string> field_names(OGRLayer *layer) {
    std::vector<std::string> names;
    const auto *defn = layer->GetLayerDefn();
    for (int i = 0; i < defn->GetFieldCount(); ++i)
        names.emplace_back(defn->GetFieldDefn(i)->GetNameRef());
    return names;
}

TEST(MetricsLayers, MetricsLayerReadsBackWithGdal) {
    County c;
    add_two_villages(c);
    c.asset("sewage_plant", "PA", kX0 + 500.0, kY0 + 500.0, 400.0).commit();
    auto table = c.compute();
    write_metrics_layer(c.registry(), table);
    write_metrics_layer(c.registry(), table); // replacing an earlier layer works
    const auto path = c.registry().path();

    auto ds = open_with_gdal(path);
    ASSERT_TRUE(ds);
    OGRLayer *layer = ds->GetLayerByName("village_metrics");
    ASSERT_NE(layer, nullptr);
    EXPECT_EQ(field_names(layer), table.to_rows().columns);
    EXPECT_EQ(layer->GetFeatureCount(), 2);
    EXPECT_EQ(wkbFlatten(layer->GetGeomType()), wkbMultiPolygon);
    const OGRSpatialReference *srs = layer->GetSpatialRef();
    ASSERT_NE(srs, nullptr);
    OGRSpatialReference copy(*srs);
    copy.AutoIdentifyEPSG();
    ASSERT_NE(copy.GetAuthorityCode(nullptr), nullptr);
    EXPECT_STREQ(copy.GetAuthorityCode(nullptr), "4549");

    layer->SetAttributeFilter(fmt::format("code = '{}'", kCodeA).c_str());
    OGRFeatureUniquePtr f(layer->GetNextFeature());
    ASSERT_TRUE(f);
    EXPECT_EQ(f->GetFieldAsInteger64("n_sewage_plant"), 1);
    EXPECT_NEAR(f->GetFieldAsDouble("area_cov_sewage_plant"),
                metrics_of(table, kCodeA, "sewage_plant").area_cov, 1e-12);
    EXPECT_EQ(f->GetFieldAsInteger("gap_sewage_plant"), 1);
    EXPECT_FALSE(f->IsFieldSetAndNotNull(f->GetFieldIndex("pop_cov_sewage_plant")));
    ASSERT_NE(f->GetGeometryRef(), nullptr);
    EXPECT_NEAR(f->GetGeometryRef()->toMultiPolygon()->get_Area(), 1e6, 1e-6);
    layer->SetAttributeFilter(nullptr);
    ds.reset();

    // The registry's own spatial bookkeeping knows the layer and its index.
    auto reg = Registry::open(path, true);
    EXPECT_EQ(reg.count("village"), 2);
}

TEST(MetricsLayers, GapLayersReadBackWithGdal) {
    County c;
    add_two_villages(c);
    c.asset("courier_station", "C1", kX0, kY0, 500.0)
        .settlement("A_out", kX0 + 900.0, kY0 + 900.0, std::int64_t{40})
        .settlement("A_in", kX0 + 10.0, kY0 + 10.0, std::int64_t{5})
        .commit();
    const auto report = compute_gaps(c.registry(), c.defaults(), "courier_station");
    ASSERT_EQ(report.villages.size(), 2u);
    write_gap_layers(c.registry(), report);
    write_gap_layers(c.registry(), report);

    auto ds = open_with_gdal(c.registry().path());
    ASSERT_TRUE(ds);
    OGRLayer *areas = ds->GetLayerByName("gaps_courier_station");
    ASSERT_NE(areas, nullptr);
    EXPECT_EQ(field_names(areas),
              (std::vector<std::string>{"code", "name", "cov", "uncovered_area_km2",
                                        "uncovered_population"}));
    EXPECT_EQ(areas->GetFeatureCount(), 2);
    EXPECT_EQ(wkbFlatten(areas->GetGeomType()), wkbMultiPolygon);
    double total = 0.0;
    for (auto &f : *areas) {
        ASSERT_NE(f->GetGeometryRef(), nullptr);
        EXPECT_NEAR(f->GetGeometryRef()->toMultiPolygon()->get_Area(),
                    f->GetFieldAsDouble("uncovered_area_km2") * 1e6, 1.0);
        total += f->GetFieldAsDouble("uncovered_area_km2") * 1e6;
    }
    EXPECT_NEAR(total, 2e6 - kPi * 500 * 500 / 4, 2000.0);

    OGRLayer *points = ds->GetLayerByName("gaps_courier_station_settlements");
    ASSERT_NE(points, nullptr);
    EXPECT_EQ(field_names(points),
              (std::vector<std::string>{"id", "name", "village_code", "population", "nearest_m"}));
    EXPECT_EQ(wkbFlatten(points->GetGeomType()), wkbPoint);
    ASSERT_EQ(points->GetFeatureCount(), 1);
    OGRFeatureUniquePtr f(points->GetNextFeature());
    EXPECT_STREQ(f->GetFieldAsString("id"), "A_out");
    EXPECT_NEAR(f->GetFieldAsDouble("nearest_m"), std::hypot(900.0, 900.0), 1e-6);
}

} // namespace
} // namespace qiancun
