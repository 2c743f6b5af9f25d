#pragma once

#include "qiancun/config.hpp"
#include "qiancun/registry.hpp"

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// Distances along the rural road network (SPEC §3 "Network distance"): the road graph, points
/// joining it, multi-source shortest paths, service areas and routes. All lengths are planar
/// metres of the working CRS. Service areas and routes may minimise travel time instead
/// (seconds, from a speed per road and an off-road walking speed); the SPEC §3 metrics are
/// always distances.

namespace qiancun::network {

/// A position in the working CRS, metres.
struct XY {
    double x = 0.0;
    double y = 0.0;
    bool operator==(const XY &) const = default;
};

/// What a search minimises.
enum class Cost {
    length, ///< metres: off-road legs and roads by their length (SPEC §3)
    time,   ///< seconds: roads at their line's speed, off-road legs at the off-road speed
};

/// One road line: a LineString part of a road feature, with that feature's id.
struct RoadLine {
    std::string road_id;
    std::vector<XY> points;
    /// Travel speed along the whole line for Cost::time, km/h; 0 = none given (a graph with
    /// such a line can be searched by length only).
    double speed_kmh = 0.0;
};

struct GraphOptions {
    /// Vertices of different lines (and line ends) closer than this are one node; the gap
    /// costs 0. 0 joins exactly shared vertices only.
    double snap_tolerance_m = 1.0;
    /// The longest off-road leg that still reaches the network (inclusive).
    double offroad_cap_m = 1000.0;
    /// Also split lines where they cross without a shared vertex (bridges then connect).
    bool full_noding = false;
    /// Cost::time: speed on the off-road legs, km/h (walking). The cap stays in metres.
    double offroad_speed_kmh = 4.0;
};

/// Where a point or a footprint joins the network: the nearest point of the nearest road
/// segment, splitting that edge virtually.
struct Attachment {
    std::uint32_t edge = 0;
    double offset_m = 0.0; ///< along the edge from its first node to `on_road`
    double leg_m = 0.0;    ///< straight off-road leg from `from` to `on_road`
    XY from;               ///< the point attached (for a footprint: its point nearest the road)
    XY on_road;            ///< where the leg meets the road
};

/// A start of a multi-source search.
struct Source {
    Attachment at;
    /// Cost::length: the search minimises distance − radius_m over the sources: 0 everywhere
    /// gives plain distances; per-asset radii with bound 0 ask "within the radius of some
    /// source".
    double radius_m = 0.0;
    /// Cost::time: the same in seconds (the search minimises travel time − budget_s).
    double budget_s = 0.0;
};

/// How a target is reached from the sources.
struct Reach {
    /// leg + along-road path + leg, from `source`, metres (Cost::time: of the fastest way)
    double distance_m = 0.0;
    /// Cost::length: distance_m − radius of `source` (what the search minimises); else 0
    double margin_m = 0.0;
    std::uint32_t source = 0; ///< index into the sources of the search
    double seconds = 0.0;     ///< Cost::time: travel time of the way; else 0
    double margin_s = 0.0;    ///< Cost::time: seconds − budget_s of `source`; else 0
};

/// A reached stretch of one edge, all from one source, without a turning point inside.
struct ReachedPiece {
    std::uint32_t edge = 0;
    std::uint32_t source = 0; ///< index into the sources of the search
    double start_m = 0.0;     ///< network distance from the source at `points.front()`
    double end_m = 0.0;       ///< … at `points.back()`, ≥ start_m
    double start_s = 0.0;     ///< Cost::time: travel time at `points.front()`; else 0
    double end_s = 0.0;       ///< Cost::time: … at `points.back()`, ≥ start_s
    std::vector<XY> points;   ///< near end → far end (by the cost), cut at the exact reach
};

/// A connected piece of the network.
struct Component {
    std::vector<std::uint32_t> edges;
    double length_m = 0.0;
};

struct EdgeInfo {
    std::uint32_t first_node = 0;
    std::uint32_t last_node = 0;
    double length_m = 0.0;
    std::string road_id;  ///< the road feature the edge is part of
    double seconds = 0.0; ///< travel time at its line's speed (0 when the line has none)
};

class ShortestPaths;

/// The undirected road graph (SPEC §3 "Precise readings"): nodes are line ends and vertices
/// shared by two or more lines (vertices of different lines within the snapping tolerance
/// count as shared), clustered by single linkage within the tolerance; an edge runs along a
/// line between consecutive nodes and weighs its length, or for Cost::time its length at its
/// line's speed (one speed per edge, so a part of an edge takes its share of the time).
/// Immutable after `build`; every const member may be called from several threads.
class RoadGraph {
public:
    /// Builds the graph; degenerate lines (fewer than two distinct points) are skipped. Throws
    /// UsageError for a negative tolerance or cap, a negative or non-finite line speed or a
    /// non-positive off-road speed.
    static RoadGraph build(std::vector<RoadLine> lines, const GraphOptions &options = {});

    RoadGraph(RoadGraph &&) noexcept;
    RoadGraph &operator=(RoadGraph &&) noexcept;
    RoadGraph(const RoadGraph &) = delete;
    RoadGraph &operator=(const RoadGraph &) = delete;
    ~RoadGraph();

    const GraphOptions &options() const noexcept;
    std::size_t node_count() const noexcept;
    std::size_t edge_count() const noexcept;
    /// Total length of every edge, metres.
    double length_m() const noexcept;
    EdgeInfo edge(std::uint32_t edge) const;
    /// The vertices of an edge from its first node to its last.
    std::vector<XY> edge_points(std::uint32_t edge) const;

    /// The nearest point of the nearest road segment (any piece, connected or not); empty
    /// when the graph has no edge. The off-road cap is not applied here: see `within_cap`.
    std::optional<Attachment> attach(XY point) const;
    /// The same for a footprint given as WKB (polygon or point): the closest pair of points
    /// of footprint and road (leg 0 when a road touches the footprint).
    std::optional<Attachment> attach_footprint(std::string_view wkb) const;
    /// Every way a footprint joins the network (SPEC §3: distances are to the footprint, 0
    /// inside it): where roads cross or touch it, the first and the last point of each road
    /// segment inside it, with leg 0; else the one attachment of `attach_footprint`.
    std::vector<Attachment> attach_footprint_all(std::string_view wkb) const;
    /// True when the leg is at most the off-road cap.
    bool within_cap(const Attachment &at) const noexcept;

    /// One Dijkstra from every source at once (each seeded at both ends of its edge, with its
    /// leg and offset), settling nodes while cost − radius (metres) or, for Cost::time, travel
    /// time − budget (seconds) is ≤ `bound`, in the same unit. Sources beyond the cap (metres
    /// either way) are ignored. Throws UsageError for Cost::time when a line has no speed. The
    /// result refers to this graph, which must outlive it.
    ShortestPaths search(std::vector<Source> sources,
                         double bound = std::numeric_limits<double>::infinity(),
                         Cost cost = Cost::length) const;

    /// Connected pieces, longest first.
    std::vector<Component> components() const;

private:
    friend class ShortestPaths;
    struct Impl;
    explicit RoadGraph(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

/// The result of `RoadGraph::search`.
class ShortestPaths {
public:
    /// The best source for a target point: empty when the target's leg exceeds the cap or no
    /// source reaches it with margin ≤ the bound.
    std::optional<Reach> reach(const Attachment &target) const;
    /// The path of `reach(target)` from the source's `from` to the target's `from` (legs
    /// included); empty when unreachable.
    std::vector<XY> path_to(const Attachment &target) const;
    /// Every road stretch with margin ≤ the bound, split where the best source changes or the
    /// cost turns, including partial edges up to the exact cut point.
    std::vector<ReachedPiece> reached() const;

    const std::vector<Source> &sources() const noexcept { return m_sources; }
    Cost cost() const noexcept { return m_cost; }

private:
    friend class RoadGraph;
    struct Option;
    Option best(const Attachment &target) const;

    const RoadGraph::Impl *m_graph = nullptr;
    std::vector<Source> m_sources;
    double m_bound = 0.0;
    Cost m_cost = Cost::length;
    std::vector<double> m_margin;           ///< per node, in the unit of the cost
    std::vector<double> m_length;           ///< per node, Cost::time only: metres of its path
    std::vector<std::uint32_t> m_owner;     ///< per node: the source of m_margin
    std::vector<std::uint32_t> m_pred_edge; ///< per node: last edge of its path (none = seeded)
    /// (edge, source) for every source attached to an edge, sorted.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> m_on_edge;
};

} // namespace qiancun::network

namespace qiancun {

/// The graph of the serving roads of the registry with the snapping tolerance, off-road cap,
/// road speeds (by grade and surface) and off-road speed of `config`.
network::RoadGraph build_road_graph(const Registry &registry, const MetricsConfig &config,
                                    bool full_noding = false);

struct ServiceAreaOptions {
    std::string type;                 ///< asset kind
    std::optional<double> distance_m; ///< reach of every facility; empty = each one's radius
    /// Reach of every facility in travel time, minutes (roads at their speed, off-road legs at
    /// the off-road speed); excludes `distance_m`.
    std::optional<double> minutes;
    double width_m = 100.0; ///< buffer width of the polygon, each side of the lines
    bool full_noding = false;
};

/// One reached road stretch.
struct ServiceAreaLine {
    std::string facility;
    std::string road_id;
    double from_m = 0.0;     ///< network distance from the facility at the near end
    double distance_m = 0.0; ///< … at the far end: the distance reached
    double from_min = 0.0;   ///< by time: travel time at the near end, minutes; else 0
    double minutes = 0.0;    ///< by time: … at the far end: the time reached; else 0
    std::string wkb;         ///< LineString
};

/// Per facility: what it reaches.
struct ServiceAreaFacility {
    std::string facility;
    double reach_m = 0.0;    ///< the distance it is given (0 by time)
    double reach_min = 0.0;  ///< by time: the minutes it is given; else 0
    double leg_m = 0.0;      ///< off-road leg to the nearest road
    bool on_network = false; ///< leg within the cap
    double road_km = 0.0;    ///< reached road length (stretches it reaches first)
    double area_km2 = 0.0;   ///< of its buffer polygon
    std::string buffer_wkb;  ///< MultiPolygon, empty when it reaches nothing
};

struct ServiceArea {
    std::string type;
    network::Cost cost = network::Cost::length;
    double width_m = 0.0;
    std::vector<ServiceAreaLine> lines;
    std::vector<ServiceAreaFacility> facilities; ///< by facility id
};

/// The road parts the serving assets of `options.type` reach along the network, by distance
/// or, with `options.minutes`, by travel time. Throws UsageError for an unknown or non-asset
/// type, a non-positive width, distance or time, or both a distance and a time.
ServiceArea compute_service_area(const Registry &registry, const MetricsConfig &config,
                                 const ServiceAreaOptions &options);

/// Stores `area` as layers `service_area_<type>` (lines) and `service_area_<type>_buffer`
/// (polygons per facility), replacing earlier ones, in one transaction. By time the lines also
/// carry `from_min` and `minutes`, and the buffers `reach_min` instead of `reach_m`.
void write_service_area_layers(Registry &registry, const ServiceArea &area);

/// The shortest (or fastest) way from a place to the nearest serving asset of a type.
struct Route {
    std::string from_kind; ///< "village" (its demand point) or "settlement"
    std::string from_id;
    std::string type;
    network::Cost cost = network::Cost::length;
    std::string asset_id;     ///< empty when no asset is reachable
    double distance_m = 0.0;  ///< start leg + road + end leg
    double minutes = 0.0;     ///< Cost::time: travel time of the way; else 0
    double start_leg_m = 0.0; ///< off-road leg at the start
    double end_leg_m = 0.0;   ///< off-road leg at the asset
    std::string wkb;          ///< LineString from the place to the asset; empty if unreachable
};

/// Routes from `from` (a village code, else a settlement id) to the nearest serving asset of
/// `type`: nearest by distance, or with Cost::time by travel time. Throws UsageError when
/// `from` names nothing or `type` is not an asset type.
Route route_to_nearest(const Registry &registry, const MetricsConfig &config,
                       const std::string &from, const std::string &type,
                       network::Cost cost = network::Cost::length);

/// Stores the route as layer `route` (one LineString), replacing an earlier one; by time with
/// a `minutes` attribute.
void write_route_layer(Registry &registry, const Route &route);

/// A connected piece of the network for `info --network`.
struct NetworkPiece {
    std::int64_t edges = 0;
    double km = 0.0;
    std::vector<std::string> villages; ///< codes of the villages its roads touch
};

struct NetworkReport {
    std::int64_t nodes = 0;
    std::int64_t edges = 0;
    double km = 0.0;
    double snap_tolerance_m = 0.0;
    std::vector<NetworkPiece> pieces; ///< longest first: pieces[0] is the main network
};

/// The connected pieces of the serving road network and the villages the smaller ones touch.
NetworkReport network_report(const Registry &registry, const MetricsConfig &config);

} // namespace qiancun
