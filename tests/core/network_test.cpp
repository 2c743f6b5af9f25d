#include "qiancun/error.hpp"
#include "qiancun/geometry.hpp"
#include "qiancun/metrics.hpp"
#include "qiancun/network.hpp"
#include "qiancun/registry.hpp"

#include "testing/local_county.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <map>
#include <sstream>

namespace qiancun {
namespace {

using network::Attachment;
using network::GraphOptions;
using network::RoadGraph;
using network::RoadLine;
using network::Source;
using network::XY;
using testing::TempDir;

constexpr double kInf = std::numeric_limits<double>::infinity();

/// Distances in these fixtures are sums of a few exact lengths.
constexpr double kExactTolM = 1e-6;
/// Travel times here are sums of a few lengths times 3.6 / speed: exact up to rounding.
constexpr double kExactTolS = 1e-6;

/// "0 0, 100 0, 100 100" → points.
RoadLine line(const std::string &id, const std::string &coords) {
    RoadLine l{id, {}};
    std::istringstream in(coords);
    std::string pair;
    while (std::getline(in, pair, ',')) {
        std::istringstream xy(pair);
        XY p;
        xy >> p.x >> p.y;
        l.points.push_back(p);
    }
    return l;
}

/// `line` with a travel speed, km/h.
RoadLine line(const std::string &id, const std::string &coords, double speed_kmh) {
    RoadLine l = line(id, coords);
    l.speed_kmh = speed_kmh;
    return l;
}

Attachment at(const RoadGraph &g, double x, double y) {
    const auto a = g.attach(XY{x, y});
    if (!a)
        throw std::logic_error("empty graph");
    return *a;
}

/// Network distance from (x0, y0) to (x1, y1); empty when unreachable.
std::optional<double> distance(const RoadGraph &g, double x0, double y0, double x1, double y1) {
    const auto sp = g.search({Source{at(g, x0, y0), 0.0}});
    const auto r = sp.reach(at(g, x1, y1));
    return r ? std::optional<double>(r->distance_m) : std::nullopt;
}

double path_length(const std::vector<XY> &path) {
    double sum = 0.0;
    for (std::size_t i = 1; i < path.size(); ++i)
        sum += std::hypot(path[i].x - path[i - 1].x, path[i].y - path[i - 1].y);
    return sum;
}

/// Compares a path vertex by vertex, within kExactTolM.
void expect_path(const std::vector<XY> &path, const std::vector<XY> &expected) {
    ASSERT_EQ(path.size(), expected.size());
    for (std::size_t i = 0; i < path.size(); ++i) {
        EXPECT_NEAR(path[i].x, expected[i].x, kExactTolM) << "vertex " << i;
        EXPECT_NEAR(path[i].y, expected[i].y, kExactTolM) << "vertex " << i;
    }
}

TEST(NetworkGraph, SquareLoopOfFourRoads) {
    const auto g = RoadGraph::build({line("S", "0 0, 100 0"), line("E", "100 0, 100 100"),
                                     line("N", "100 100, 0 100"), line("W", "0 100, 0 0")});
    EXPECT_EQ(g.node_count(), 4u);
    EXPECT_EQ(g.edge_count(), 4u);
    EXPECT_NEAR(g.length_m(), 400.0, kExactTolM);
    // Below the south side to above the north side: legs 10 + 10, around a corner either way.
    EXPECT_NEAR(*distance(g, 50, -10, 50, 110), 10 + 50 + 100 + 50 + 10, kExactTolM);
    EXPECT_NEAR(*distance(g, 50, -10, -5, 50), 10 + 50 + 50 + 5, kExactTolM);
    // Both on the same side: straight along the edge, not round the loop.
    EXPECT_NEAR(*distance(g, 20, -3, 70, -4), 3 + 50 + 4, kExactTolM);
}

TEST(NetworkGraph, SquareLoopAsOneClosedLineIsOneNodeAndALoopEdge) {
    const auto g = RoadGraph::build({line("R", "0 0, 100 0, 100 100, 0 100, 0 0")});
    EXPECT_EQ(g.node_count(), 1u);
    EXPECT_EQ(g.edge_count(), 1u);
    EXPECT_NEAR(*distance(g, 50, -10, 50, 110), 220.0, kExactTolM);
    EXPECT_NEAR(*distance(g, 90, -1, 101, 10), 1 + 10 + 10 + 1, kExactTolM);
    EXPECT_NEAR(*distance(g, 10, -1, -1, 10), 1 + 20 + 1, kExactTolM); // through the node
}

TEST(NetworkGraph, RiverWithOneBridgeIsNearInAStraightLineAndFarAlongTheRoads) {
    // A river along y = 0; a road on each bank, joined by the only bridge at x = 2000.
    const auto g =
        RoadGraph::build({line("south", "0 -50, 2000 -50"), line("north", "0 50, 2000 50"),
                          line("bridge", "2000 -50, 2000 50")});
    EXPECT_EQ(g.components().size(), 1u);
    const double straight = std::hypot(0.0, 120.0);
    const double network = *distance(g, 100, -60, 100, 60);
    EXPECT_NEAR(straight, 120.0, kExactTolM);
    EXPECT_NEAR(network, 10 + 1900 + 100 + 1900 + 10, kExactTolM);
}

TEST(NetworkGraph, NearMissIsJoinedAtHalfAMetreAndNotAtTwo) {
    GraphOptions options; // 1 m tolerance
    const auto joined =
        RoadGraph::build({line("A", "0 0, 100 0"), line("B", "100.5 0, 200 0")}, options);
    EXPECT_EQ(joined.components().size(), 1u);
    // The gap costs nothing: 5 + 90 + 0 + 89.5 + 5.
    EXPECT_NEAR(*distance(joined, 10, -5, 190, -5), 189.5, kExactTolM);

    const auto apart =
        RoadGraph::build({line("A", "0 0, 100 0"), line("B", "102 0, 200 0")}, options);
    EXPECT_EQ(apart.components().size(), 2u);
    EXPECT_FALSE(distance(apart, 10, -5, 190, -5));

    // An end 0.5 m from an interior vertex of another road joins it there.
    const auto tee = RoadGraph::build(
        {line("main", "0 0, 50 0, 100 0"), line("spur", "50 0.5, 50 80")}, options);
    EXPECT_EQ(tee.components().size(), 1u);
    EXPECT_EQ(tee.node_count(), 4u);
    EXPECT_NEAR(*distance(tee, 0, -1, 51, 80), 1 + 50 + 79.5 + 1, kExactTolM);

    // Tolerance 0: exact sharing only.
    options.snap_tolerance_m = 0.0;
    const auto exact =
        RoadGraph::build({line("A", "0 0, 100 0"), line("B", "100.5 0, 200 0")}, options);
    EXPECT_EQ(exact.components().size(), 2u);
}

TEST(NetworkGraph, ClosePointsOfOneRoadDoNotCollapseIt) {
    // Vertices 0.5 m apart along one road stay a road, not one node.
    const auto g = RoadGraph::build({line("A", "0 0, 0.5 0, 1 0, 1.5 0, 100 0")});
    EXPECT_EQ(g.node_count(), 2u);
    EXPECT_EQ(g.edge_count(), 1u);
    EXPECT_NEAR(g.length_m(), 100.0, kExactTolM);
}

TEST(NetworkGraph, CrossingWithoutASharedVertexIsNotJoined) {
    const std::vector<RoadLine> lines{line("H", "-100 0, 100 0"), line("V", "0 -100, 0 100")};
    const auto bridge = RoadGraph::build(lines);
    EXPECT_EQ(bridge.components().size(), 2u);
    EXPECT_FALSE(distance(bridge, -50, -1, 1, 50));

    GraphOptions noding;
    noding.full_noding = true;
    const auto noded = RoadGraph::build(lines, noding);
    EXPECT_EQ(noded.components().size(), 1u);
    EXPECT_EQ(noded.node_count(), 5u);
    EXPECT_NEAR(*distance(noded, -50, -1, 1, 50), 1 + 50 + 50 + 1, kExactTolM);

    // With the crossing digitised as a vertex of both, it is a junction.
    const auto shared =
        RoadGraph::build({line("H", "-100 0, 0 0, 100 0"), line("V", "0 -100, 0 0, 0 100")});
    EXPECT_EQ(shared.components().size(), 1u);
    EXPECT_NEAR(*distance(shared, -50, -1, 1, 50), 102.0, kExactTolM);
}

TEST(NetworkReach, PartialEdgeIsCutAtTheExactRemainingDistance) {
    // One road bending at (100, 0); a junction at (100, 0) with a road north.
    const auto g =
        RoadGraph::build({line("east", "0 0, 100 0"), line("north", "100 0, 100 300, 100 500")});
    // A facility 10 m off the road at x = 30, reach 200 m: 10 leg + 70 to the junction leaves
    // 120 m up the north road, cut between its vertices.
    const auto sp = g.search({Source{at(g, 30, -10), 200.0}}, 0.0);
    const auto pieces = sp.reached();
    double reached_m = 0.0;
    bool cut_found = false;
    for (const auto &p : pieces) {
        EXPECT_EQ(p.source, 0u);
        EXPECT_LE(p.start_m, p.end_m);
        EXPECT_LE(p.end_m, 200.0 + kExactTolM);
        EXPECT_NEAR(p.end_m - p.start_m, path_length(p.points), kExactTolM);
        reached_m += path_length(p.points);
        if (g.edge(p.edge).road_id == "north") {
            cut_found = true;
            EXPECT_NEAR(p.points.front().x, 100.0, kExactTolM);
            EXPECT_NEAR(p.points.front().y, 0.0, kExactTolM);
            EXPECT_NEAR(p.points.back().x, 100.0, kExactTolM);
            EXPECT_NEAR(p.points.back().y, 120.0, kExactTolM);
            EXPECT_NEAR(p.start_m, 80.0, kExactTolM);
            EXPECT_NEAR(p.end_m, 200.0, kExactTolM);
        }
    }
    EXPECT_TRUE(cut_found);
    EXPECT_NEAR(reached_m, 100.0 + 120.0, kExactTolM);

    // A reach ending inside the facility's own edge, both ways.
    const auto short_reach = g.search({Source{at(g, 30, -10), 25.0}}, 0.0).reached();
    ASSERT_EQ(short_reach.size(), 2u);
    for (const auto &p : short_reach) {
        EXPECT_NEAR(p.points.front().x, 30.0, kExactTolM);
        EXPECT_NEAR(std::abs(p.points.back().x - 30.0), 15.0, kExactTolM);
        EXPECT_NEAR(p.start_m, 10.0, kExactTolM);
        EXPECT_NEAR(p.end_m, 25.0, kExactTolM);
    }
}

TEST(NetworkReach, TwoFacilitiesShareAnEdgeAtTheirMidpoint) {
    const auto g = RoadGraph::build({line("A", "0 0, 1000 0")});
    const auto sp = g.search({Source{at(g, 100, 0), 2000.0}, Source{at(g, 700, 0), 2000.0}}, 0.0);
    double by_first = 0.0;
    for (const auto &p : sp.reached())
        if (p.source == 0)
            by_first += path_length(p.points);
    EXPECT_NEAR(by_first, 100.0 + 300.0, kExactTolM); // up to the midpoint at x = 400
}

TEST(NetworkReach, OffRoadLegEqualToTheCapReachesAndJustAboveDoesNot) {
    const auto g = RoadGraph::build({line("A", "0 0, 1000 0")}); // cap 1000 m
    EXPECT_NEAR(*distance(g, 0, 0, 500, 1000), 500 + 1000, kExactTolM);
    EXPECT_FALSE(distance(g, 0, 0, 500, 1000.001));
    // The cap applies to each leg separately: two legs of 1000 m still reach.
    EXPECT_NEAR(*distance(g, 0, -1000, 500, 1000), 1000 + 500 + 1000, kExactTolM);
    // A source beyond the cap reaches nothing.
    EXPECT_FALSE(distance(g, 0, -1000.5, 500, 10));
    EXPECT_TRUE(g.within_cap(at(g, 10, 1000)));
    EXPECT_FALSE(g.within_cap(at(g, 10, 1000.001)));
}

TEST(NetworkReach, PointsJoinTheNearestRoadEvenADisconnectedPiece) {
    // A short farm track (not joined) lies nearer to the point than the main road.
    const auto g = RoadGraph::build({line("main", "0 0, 1000 0"), line("track", "0 50, 100 50")});
    const auto a = at(g, 50, 40);
    EXPECT_EQ(g.edge(a.edge).road_id, "track");
    EXPECT_NEAR(a.leg_m, 10.0, kExactTolM);
    EXPECT_FALSE(distance(g, 50, 40, 500, -1)); // so it reaches nothing on the main road
}

TEST(NetworkReach, PerSourceRadiiCoverWhenAnySourceReachesWithinItsOwn) {
    const auto g = RoadGraph::build({line("A", "0 0, 1000 0")});
    // A is near the target but its radius is small; B is far with a large radius.
    const std::vector<Source> sources{Source{at(g, 100, 0), 50.0}, Source{at(g, 900, 0), 600.0}};
    const auto sp = g.search(sources, 0.0);
    const auto r = sp.reach(at(g, 400, 0));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->source, 1u);
    EXPECT_NEAR(r->distance_m, 500.0, kExactTolM);
    EXPECT_NEAR(r->margin_m, -100.0, kExactTolM);
    EXPECT_FALSE(sp.reach(at(g, 250, 0))); // 150 from A (r 50), 650 from B (r 600)
    // Exactly at B's radius is covered.
    EXPECT_TRUE(sp.reach(at(g, 300, 0)));
}

TEST(NetworkReach, PathRunsFromTheSourceToTheTargetAndHasTheDistanceAsLength) {
    const auto g = RoadGraph::build({line("S", "0 0, 100 0"), line("E", "100 0, 100 100"),
                                     line("N", "100 100, 0 100"), line("W", "0 100, 0 0")});
    const auto sp = g.search({Source{at(g, 30, -10), 0.0}});
    const auto target = at(g, 110, 80);
    const auto path = sp.path_to(target);
    ASSERT_GE(path.size(), 4u);
    EXPECT_EQ(path.front(), (XY{30, -10}));
    EXPECT_EQ(path.back(), (XY{110, 80}));
    EXPECT_NEAR(path_length(path), sp.reach(target)->distance_m, kExactTolM);
    EXPECT_NEAR(path_length(path), 10 + 70 + 80 + 10, kExactTolM);
}

TEST(NetworkReach, FootprintJoinsFromItsNearestPoint) {
    const auto g = RoadGraph::build({line("A", "0 0, 1000 0")});
    const auto hall = g.attach_footprint(
        geometry::wkb_from_wkt("POLYGON((400 30, 460 30, 460 80, 400 80, 400 30))"));
    ASSERT_TRUE(hall);
    EXPECT_NEAR(hall->leg_m, 30.0, kExactTolM);
    EXPECT_NEAR(hall->from.y, 30.0, kExactTolM);
    EXPECT_GE(hall->offset_m, 400.0 - kExactTolM);
    EXPECT_LE(hall->offset_m, 460.0 + kExactTolM);
    // A road through the footprint: leg 0.
    const auto across = g.attach_footprint(
        geometry::wkb_from_wkt("POLYGON((400 -30, 460 -30, 460 80, 400 80, 400 -30))"));
    EXPECT_NEAR(across->leg_m, 0.0, kExactTolM);
}

/// A square loop of side 1000 m: the south side a slow road (12 km/h, 0.3 s/m), the other three
/// fast (60 km/h, 0.06 s/m). Off-road legs at the default 4 km/h (0.9 s/m).
RoadGraph slow_south_loop() {
    return RoadGraph::build({line("S", "0 0, 1000 0", 12.0), line("E", "1000 0, 1000 1000", 60.0),
                             line("N", "1000 1000, 0 1000", 60.0), line("W", "0 1000, 0 0", 60.0)});
}

TEST(NetworkTime, FastestWayRoundASquareLoopIsLongerThanTheShortest) {
    const auto g = slow_south_loop();
    EXPECT_NEAR(g.edge(0).seconds, 1000 * 0.3, kExactTolS);
    const Attachment from = at(g, 10, -10);
    const Attachment to = at(g, 990, -10);

    // Shortest: straight along the slow side, 10 + 980 + 10 m.
    const auto by_length = g.search({Source{from, 0.0}});
    EXPECT_NEAR(by_length.reach(to)->distance_m, 1000.0, kExactTolM);
    expect_path(by_length.path_to(to), {{10, -10}, {10, 0}, {990, 0}, {990, -10}});

    // By time the straight way takes 2 × 10 m × 0.9 + 980 m × 0.3 = 312 s; round the three
    // fast sides 18 + 10 × 0.3 + 3000 × 0.06 + 10 × 0.3 = 204 s (3.4 min) over 3040 m.
    const auto by_time = g.search({Source{from, 0.0}}, kInf, network::Cost::time);
    const auto r = by_time.reach(to);
    ASSERT_TRUE(r);
    EXPECT_NEAR(r->seconds, 204.0, kExactTolS);
    EXPECT_NEAR(r->seconds / 60.0, 3.4, kExactTolS);
    EXPECT_NEAR(r->distance_m, 3040.0, kExactTolM);
    EXPECT_NEAR(r->margin_s, 204.0, kExactTolS);
    const auto path = by_time.path_to(to);
    expect_path(
        path,
        {{10, -10}, {10, 0}, {0, 0}, {0, 1000}, {1000, 1000}, {1000, 0}, {990, 0}, {990, -10}});
    EXPECT_NEAR(path_length(path), r->distance_m, kExactTolM);

    // A target nearer along the slow side than round the loop: 10 × 0.9 + 5 × 0.9 + 100 × 0.3.
    EXPECT_NEAR(by_time.reach(at(g, 110, -5))->seconds, 10 * 0.9 + 5 * 0.9 + 100 * 0.3, kExactTolS);
}

TEST(NetworkTime, PartialEdgeIsCutAtTheExactTimeProportionalPoint) {
    // A fast road (36 km/h: 0.1 s/m) east to a junction, then a slow one (7.2 km/h: 0.5 s/m)
    // north, bending at (1000, 100).
    const auto g = RoadGraph::build(
        {line("fast", "0 0, 1000 0", 36.0), line("slow", "1000 0, 1000 100, 1000 1000", 7.2)});
    // A facility 8 m off the road at x = 100 (8 × 0.9 = 7.2 s), 150 s: 7.2 + 900 × 0.1 = 97.2 s
    // at the junction leaves 52.8 s, 105.6 m up the slow road, past its bend.
    const auto pieces =
        g.search({Source{at(g, 100, -8), 0.0, 150.0}}, 0.0, network::Cost::time).reached();
    double reached_m = 0.0;
    bool cut_found = false;
    for (const auto &p : pieces) {
        EXPECT_LE(p.start_s, p.end_s);
        EXPECT_LE(p.end_s, 150.0 + kExactTolS);
        const double pace = g.edge(p.edge).seconds / g.edge(p.edge).length_m;
        EXPECT_NEAR(p.end_s - p.start_s, path_length(p.points) * pace, kExactTolS);
        EXPECT_NEAR(p.end_m - p.start_m, path_length(p.points), kExactTolM);
        reached_m += path_length(p.points);
        if (g.edge(p.edge).road_id == "slow") {
            cut_found = true;
            expect_path(p.points, {{1000, 0}, {1000, 100}, {1000, 105.6}});
            EXPECT_NEAR(p.start_s, 97.2, kExactTolS);
            EXPECT_NEAR(p.end_s, 150.0, kExactTolS);
            EXPECT_NEAR(p.start_m, 8 + 900, kExactTolM);
            EXPECT_NEAR(p.end_m, 8 + 900 + 105.6, kExactTolM);
        }
    }
    EXPECT_TRUE(cut_found);
    EXPECT_NEAR(reached_m, 1000.0 + 105.6, kExactTolM);

    // 20 s end inside the facility's own edge: 12.8 s after the leg is 128 m east; west the
    // road ends after 100 m (17.2 s).
    const auto short_reach =
        g.search({Source{at(g, 100, -8), 0.0, 20.0}}, 0.0, network::Cost::time).reached();
    ASSERT_EQ(short_reach.size(), 2u);
    for (const auto &p : short_reach) {
        EXPECT_NEAR(p.points.front().x, 100.0, kExactTolM);
        EXPECT_NEAR(p.start_s, 7.2, kExactTolS);
        if (p.points.back().x > 100.0) {
            EXPECT_NEAR(p.points.back().x, 228.0, kExactTolM);
            EXPECT_NEAR(p.end_s, 20.0, kExactTolS);
        } else {
            EXPECT_NEAR(p.points.back().x, 0.0, kExactTolM);
            EXPECT_NEAR(p.end_s, 17.2, kExactTolS);
        }
    }
}

TEST(NetworkTime, OffRoadLegsAreWalkedAndCappedInMetres) {
    GraphOptions options;                                              // 4 km/h: 0.9 s/m
    const std::vector<RoadLine> lines{line("A", "0 0, 1000 0", 36.0)}; // 0.1 s/m
    auto seconds = [](const RoadGraph &g, XY from, XY to) -> std::optional<double> {
        const auto r = g.search({Source{at(g, from.x, from.y), 0.0}}, kInf, network::Cost::time)
                           .reach(at(g, to.x, to.y));
        return r ? std::optional<double>(r->seconds) : std::nullopt;
    };
    const auto walk4 = RoadGraph::build(lines, options);
    // Legs 400 m and 100 m walked, 1000 m driven: 500 × 0.9 + 1000 × 0.1.
    EXPECT_NEAR(*seconds(walk4, {0, -400}, {1000, -100}), 450.0 + 100.0, kExactTolS);
    // A leg equal to the 1000 m cap still reaches (900 s of walking); just above does not.
    EXPECT_NEAR(*seconds(walk4, {500, 0}, {500, 1000}), 900.0, kExactTolS);
    EXPECT_FALSE(seconds(walk4, {500, 0}, {500, 1000.001}));

    options.offroad_speed_kmh = 5.0; // 0.72 s/m
    const auto walk5 = RoadGraph::build(lines, options);
    EXPECT_NEAR(*seconds(walk5, {0, -400}, {1000, -100}), 360.0 + 100.0, kExactTolS);
}

TEST(NetworkTime, SpeedsAreCheckedAndNeededForTime) {
    // Lines without a speed: lengths only.
    const auto g = RoadGraph::build({line("A", "0 0, 1000 0")});
    EXPECT_NEAR(*distance(g, 0, -1, 1000, -1), 1002.0, kExactTolM);
    EXPECT_THROW(g.search({Source{at(g, 0, -1), 0.0}}, kInf, network::Cost::time), UsageError);
    EXPECT_THROW(RoadGraph::build({line("A", "0 0, 1000 0", -30.0)}), UsageError);
    GraphOptions standing;
    standing.offroad_speed_kmh = 0.0;
    EXPECT_THROW(RoadGraph::build({line("A", "0 0, 1000 0", 30.0)}, standing), UsageError);
}

/// A registry with roads, villages and their settlements, built in one transaction.
class NetworkCounty : public testing::LocalCounty {};

TEST_F(NetworkCounty, MetricsAddNetworkColumnsFromDemandPointsAndSettlements) {
    // Two villages side by side along a road on y = 500 that ends at x = 1800; a river
    // crossing: village B's settlement lies near a plant across nothing but is far by road.
    add("village",
        {{"code", std::string("330604101201")}, {"seat_x", kX0 + 200.0}, {"seat_y", kY0 + 510.0}},
        square(0, 0, 1000));
    add("village", {{"code", std::string("330604101202")}}, square(1000, 0, 1000));
    add("settlement", {{"id", std::string("S1")}, {"population", std::int64_t{100}}}, pt(300, 490));
    add("settlement", {{"id", std::string("S2")}, {"population", std::int64_t{300}}},
        pt(1700, 505));
    add("settlement", {{"id", std::string("S3")}, {"population", std::int64_t{50}}}, pt(1900, 100));
    add("rural_road", {{"id", std::string("R1")}, {"status", std::string("operating")}},
        fmt::format("LINESTRING({} {}, {} {})", kX0, kY0 + 500, kX0 + 1800, kY0 + 500));
    add("rural_road", {{"id", std::string("R2")}, {"status", std::string("planned")}},
        fmt::format("LINESTRING({} {}, {} {})", kX0 + 1800, kY0 + 500, kX0 + 1900, kY0 + 100));
    add("sewage_plant",
        {{"id", std::string("P1")},
         {"status", std::string("operating")},
         {"service_radius_m", 1500.0}},
        pt(600, 520));
    commit();

    MetricsOptions options;
    options.types = {"sewage_plant"};
    options.network = true;
    const auto table =
        compute_metrics(m_registry, MetricsConfig::defaults(m_registry.kinds()), options);
    ASSERT_TRUE(table.network);
    const auto &a = table.villages.at(0).types.at(0);
    const auto &b = table.villages.at(1).types.at(0);
    // A: seat 10 m off the road at x = 200, plant 20 m off at x = 600.
    EXPECT_NEAR(*a.net_nearest_m, 10 + 400 + 20, kExactTolM);
    EXPECT_NEAR(*a.net_pop_cov, 1.0, kExactTolM); // S1: 10 + 300 + 20
    // B: point-on-surface demand point; S2 at 5 + 1100 + 20 = 1125 m (covered); S3 joins the
    // serving road at its end (1800, 500) with a leg of √(100² + 400²) ≈ 412 m: 412 + 1200 + 20
    // > 1500, not covered.
    ASSERT_TRUE(b.net_nearest_m);
    EXPECT_NEAR(*b.net_pop_cov, 300.0 / 350.0, kExactTolM);

    const Rows rows = table.to_rows();
    EXPECT_THAT(rows.columns, ::testing::Contains("net_nearest_sewage_plant_m"));
    EXPECT_THAT(rows.columns, ::testing::Contains("net_pop_cov_sewage_plant"));

    options.network = false;
    const Rows plain =
        compute_metrics(m_registry, MetricsConfig::defaults(m_registry.kinds()), options).to_rows();
    EXPECT_THAT(plain.columns, ::testing::Not(::testing::Contains("net_pop_cov_sewage_plant")));
}

TEST_F(NetworkCounty, ServiceAreaRouteAndReport) {
    add("village", {{"code", std::string("330604101201")}}, square(0, 0, 1000));
    add("settlement", {{"id", std::string("S1")}, {"population", std::int64_t{10}}}, pt(900, 510));
    add("rural_road", {{"id", std::string("R1")}, {"status", std::string("operating")}},
        fmt::format("LINESTRING({} {}, {} {})", kX0, kY0 + 500, kX0 + 1000, kY0 + 500));
    add("rural_road", {{"id", std::string("R2")}, {"status", std::string("operating")}},
        fmt::format("LINESTRING({} {}, {} {})", kX0 + 100, kY0 + 100, kX0 + 300, kY0 + 100));
    add("courier_station", {{"id", std::string("C1")}, {"status", std::string("operating")}},
        pt(100, 500));
    commit();
    const auto config = MetricsConfig::defaults(m_registry.kinds());

    ServiceAreaOptions options;
    options.type = "courier_station";
    options.distance_m = 300.0;
    const auto area = compute_service_area(m_registry, config, options);
    ASSERT_EQ(area.facilities.size(), 1u);
    EXPECT_NEAR(area.facilities[0].road_km, 0.1 + 0.3, kExactTolM);
    EXPECT_GT(area.facilities[0].area_km2, 0.0);
    write_service_area_layers(m_registry, area);
    const auto lines = testing::read_vector(m_registry.path(), "service_area_courier_station");
    ASSERT_EQ(lines.size(), 2u); // both ways from the station along R1
    for (const auto &l : lines) {
        EXPECT_EQ(l.at("facility"), "C1");
        EXPECT_EQ(l.at("road_id"), "R1");
    }
    EXPECT_EQ(testing::read_vector(m_registry.path(), "service_area_courier_station_buffer").size(),
              1u);

    const auto route = route_to_nearest(m_registry, config, "S1", "courier_station");
    EXPECT_EQ(route.from_kind, "settlement");
    EXPECT_EQ(route.asset_id, "C1");
    EXPECT_NEAR(route.distance_m, 10 + 800, kExactTolM);
    EXPECT_TRUE(
        testing::geometry_near(geometry::wkt_from_wkb(route.wkb, 6),
                               fmt::format("LINESTRING({} {}, {} {}, {} {})", kX0 + 900, kY0 + 510,
                                           kX0 + 900, kY0 + 500, kX0 + 100, kY0 + 500),
                               kExactTolM));
    EXPECT_THROW(route_to_nearest(m_registry, config, "nowhere", "courier_station"), UsageError);

    const auto report = network_report(m_registry, config);
    ASSERT_EQ(report.pieces.size(), 2u);
    EXPECT_NEAR(report.pieces[0].km, 1.0, kExactTolM);
    EXPECT_NEAR(report.pieces[1].km, 0.2, kExactTolM);
    EXPECT_EQ(report.pieces[1].villages, std::vector<std::string>{"330604101201"});
}

TEST_F(NetworkCounty, ServiceAreaAndRouteByTimeUseTheSpeedsOfGradeAndSurface) {
    // The square loop of NetworkTime with speeds from the configuration's defaults: south
    // village/earth 30 × 0.4 = 12 km/h (0.3 s/m), west county/hardened 60 (0.06 s/m), north
    // county without a surface 60, east without a grade but hardened: village 30 (0.12 s/m).
    auto road = [&](const std::string &id, std::map<std::string, Value> values, double x0,
                    double y0, double x1, double y1) {
        values["id"] = id;
        values["status"] = std::string("operating");
        add("rural_road", std::move(values),
            fmt::format("LINESTRING({} {}, {} {})", kX0 + x0, kY0 + y0, kX0 + x1, kY0 + y1));
    };
    add("village", {{"code", std::string("330604101201")}}, square(-100, -100, 1200));
    add("settlement", {{"id", std::string("S1")}, {"population", std::int64_t{10}}}, pt(10, -10));
    road("S", {{"grade", std::string("village")}, {"surface", std::string("earth")}}, 0, 0, 1000,
         0);
    road("E", {{"surface", std::string("hardened")}}, 1000, 0, 1000, 1000);
    road("N", {{"grade", std::string("county")}}, 1000, 1000, 0, 1000);
    road("W", {{"grade", std::string("county")}, {"surface", std::string("hardened")}}, 0, 1000, 0,
         0);
    add("courier_station", {{"id", std::string("C1")}, {"status", std::string("operating")}},
        pt(990, -10));
    commit();
    const auto config = MetricsConfig::defaults(m_registry.kinds());

    // Shortest: 1000 m straight; fastest: 9 + 3 + 60 + 60 + 120 + 3 + 9 = 264 s over 3040 m.
    const auto shortest = route_to_nearest(m_registry, config, "S1", "courier_station");
    EXPECT_NEAR(shortest.distance_m, 1000.0, kExactTolM);
    EXPECT_EQ(shortest.minutes, 0.0);
    const auto fastest =
        route_to_nearest(m_registry, config, "S1", "courier_station", network::Cost::time);
    EXPECT_EQ(fastest.asset_id, "C1");
    EXPECT_NEAR(fastest.minutes, 264.0 / 60.0, kExactTolS / 60.0);
    EXPECT_NEAR(fastest.distance_m, 3040.0, kExactTolM);
    auto xy = [](double x, double y) { return fmt::format("{} {}", kX0 + x, kY0 + y); };
    EXPECT_TRUE(testing::geometry_near(
        geometry::wkt_from_wkb(fastest.wkb, 6),
        fmt::format("LINESTRING({}, {}, {}, {}, {}, {}, {}, {})", xy(10, -10), xy(10, 0), xy(0, 0),
                    xy(0, 1000), xy(1000, 1000), xy(1000, 0), xy(990, 0), xy(990, -10)),
        kExactTolM));
    write_route_layer(m_registry, fastest);
    const auto stored = testing::read_vector(m_registry.path(), "route");
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_NEAR(std::stod(stored[0].at("minutes")), 4.4, kExactTolS / 60.0);

    // One minute from C1: 9 s of leg leaves 51 s: 170 m west on the slow road (to x = 820);
    // east 10 m (3 s) to the corner, then 48 s / 0.12 = 400 m north.
    ServiceAreaOptions options;
    options.type = "courier_station";
    options.minutes = 1.0;
    const auto area = compute_service_area(m_registry, config, options);
    ASSERT_EQ(area.facilities.size(), 1u);
    EXPECT_EQ(area.facilities[0].reach_min, 1.0);
    EXPECT_NEAR(area.facilities[0].road_km, 0.170 + 0.010 + 0.400, kExactTolM / 1000.0);
    ASSERT_EQ(area.lines.size(), 3u);
    for (const auto &l : area.lines) {
        if (l.road_id == "E") {
            EXPECT_NEAR(l.from_min, 12.0 / 60.0, kExactTolS / 60.0);
            EXPECT_NEAR(l.minutes, 1.0, kExactTolS / 60.0);
            EXPECT_NEAR(l.from_m, 20.0, kExactTolM);
            EXPECT_NEAR(l.distance_m, 420.0, kExactTolM);
            EXPECT_TRUE(testing::geometry_near(
                geometry::wkt_from_wkb(l.wkb, 6),
                fmt::format("LINESTRING({0} {1}, {0} {2})", kX0 + 1000, kY0, kY0 + 400),
                kExactTolM));
        } else {
            EXPECT_EQ(l.road_id, "S");
        }
    }
    write_service_area_layers(m_registry, area);
    const auto lines = testing::read_vector(m_registry.path(), "service_area_courier_station");
    ASSERT_EQ(lines.size(), 3u);
    double longest_min = 0.0;
    for (const auto &l : lines)
        longest_min = std::max(longest_min, std::stod(l.at("minutes")));
    EXPECT_NEAR(longest_min, 1.0, kExactTolS / 60.0);
    const auto buffer =
        testing::read_vector(m_registry.path(), "service_area_courier_station_buffer");
    ASSERT_EQ(buffer.size(), 1u);
    EXPECT_EQ(std::stod(buffer[0].at("reach_min")), 1.0);
    EXPECT_FALSE(buffer[0].count("reach_m"));

    options.distance_m = 500.0;
    EXPECT_THROW(compute_service_area(m_registry, config, options), UsageError);
    options.distance_m.reset();
    options.minutes = 0.0;
    EXPECT_THROW(compute_service_area(m_registry, config, options), UsageError);
}

} // namespace
} // namespace qiancun
