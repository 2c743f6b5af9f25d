#pragma once

#include "qiancun/network.hpp"

#include <boost/geometry.hpp>
#include <boost/geometry/geometries/box.hpp>
#include <boost/geometry/geometries/point.hpp>
#include <boost/geometry/geometries/segment.hpp>
#include <boost/geometry/index/rtree.hpp>
#include <boost/graph/compressed_sparse_row_graph.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

/// The inside of RoadGraph, shared by the graph and its searches.

namespace qiancun::network {

namespace bgi = boost::geometry::index;
using BPoint = boost::geometry::model::point<double, 2, boost::geometry::cs::cartesian>;
using BSegment = boost::geometry::model::segment<BPoint>;
using BBox = boost::geometry::model::box<BPoint>;
/// A road segment and the index of its first point in RoadGraph::Impl::points.
using SegmentEntry = std::pair<BSegment, std::uint32_t>;
using SegmentTree = bgi::rtree<SegmentEntry, bgi::rstar<16>>;
using PointEntry = std::pair<BPoint, std::uint32_t>;
using PointTree = bgi::rtree<PointEntry, bgi::rstar<16>>;

inline constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

/// One directed arc of the CSR graph (each edge gives two).
struct Arc {
    double length_m = 0.0;
    double seconds = 0.0; ///< travel time at the line's speed (Cost::time)
    std::uint32_t edge = 0;
};

/// A compressed sparse row graph: a fraction of adjacency_list's memory and faster to walk,
/// for a graph that never changes after it is built.
using Csr = boost::compressed_sparse_row_graph<boost::directedS, boost::no_property, Arc,
                                               boost::no_property, std::uint32_t, std::uint32_t>;

/// An edge: the vertices [first_point, last_point] of one line between two nodes.
struct Edge {
    std::uint32_t first_point = 0;
    std::uint32_t last_point = 0;
    std::uint32_t a = 0; ///< node at first_point
    std::uint32_t b = 0; ///< node at last_point
    std::uint32_t line = 0;
    double length_m = 0.0;
    double seconds_per_m = 0.0; ///< 3.6 / the line's speed in km/h; 0 when it has none
};

struct RoadGraph::Impl {
    GraphOptions options;
    std::vector<std::string> road_ids;     ///< per line
    std::vector<std::uint32_t> line_first; ///< first point of each line, then the point count
    std::vector<XY> points;                ///< every vertex, line after line
    std::vector<double> along_m;           ///< per point: distance from its line's first point
    std::vector<std::uint32_t> point_edge; ///< per point: edge of the segment starting there
    std::vector<Edge> edges;
    std::uint32_t node_count = 0;
    double total_length_m = 0.0;
    double offroad_seconds_per_m = 0.0; ///< 3.6 / GraphOptions::offroad_speed_kmh
    std::string untimed_road; ///< the first road with a line without a speed (Cost::time fails)
    Csr graph;
    SegmentTree segments;

    /// The part of `edge` between two offsets from its first node, in the order given.
    std::vector<XY> part(std::uint32_t edge, double from_m, double to_m) const;
    /// `p` joined to the segment starting at point `i`.
    Attachment attach_to_segment(std::uint32_t i, XY p) const;

    /// Cost per metre along `edge`: exactly 1 for Cost::length (so that distances are the
    /// lengths themselves, bit for bit), its seconds per metre for Cost::time.
    double pace(std::uint32_t edge, Cost cost) const {
        return cost == Cost::time ? edges[edge].seconds_per_m : 1.0;
    }
    /// Cost of an off-road leg: its length, or its walking time.
    double leg_cost(double leg_m, Cost cost) const {
        return cost == Cost::time ? leg_m * offroad_seconds_per_m : leg_m;
    }
};

} // namespace qiancun::network
