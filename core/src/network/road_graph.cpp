#include "network/road_graph_impl.hpp"

#include "ffi/geos.hpp"
#include "qiancun/error.hpp"

#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <boost/graph/properties.hpp>
#include <boost/property_map/property_map.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "qiancun/i18n.hpp"

namespace qiancun::network {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
/// Points of a path closer than this are one (a nanometre: far below any survey).
constexpr double kSamePointM = 1e-9;
/// Seconds per metre at 1 km/h.
constexpr double kSecondsPerMAtOneKmh = 3.6;

/// Disjoint sets with path halving, for clustering and components.
class UnionFind {
public:
    explicit UnionFind(std::size_t n) : m_parent(n) {
        std::iota(m_parent.begin(), m_parent.end(), std::uint32_t{0});
    }
    std::uint32_t find(std::uint32_t i) {
        while (m_parent[i] != i) {
            m_parent[i] = m_parent[m_parent[i]];
            i = m_parent[i];
        }
        return i;
    }
    void unite(std::uint32_t a, std::uint32_t b) {
        a = find(a);
        b = find(b);
        if (a != b)
            m_parent[std::max(a, b)] = std::min(a, b);
    }

private:
    std::vector<std::uint32_t> m_parent;
};

double dist(XY a, XY b) {
    return std::hypot(a.x - b.x, a.y - b.y);
}

/// Removes consecutive duplicate points; drops lines left with fewer than two.
void clean(std::vector<RoadLine> &lines) {
    for (auto &l : lines)
        l.points.erase(std::unique(l.points.begin(), l.points.end()), l.points.end());
    std::erase_if(lines, [](const RoadLine &l) { return l.points.size() < 2; });
}

/// Full noding: inserts every crossing and touching point of two segments into both lines, with
/// identical coordinates, so that they become shared vertices.
void node_lines(std::vector<RoadLine> &lines) {
    struct Seg {
        std::uint32_t line;
        std::uint32_t index;
    };
    std::vector<Seg> segs;
    std::vector<SegmentEntry> entries;
    for (std::uint32_t l = 0; l < lines.size(); ++l)
        for (std::uint32_t i = 0; i + 1 < lines[l].points.size(); ++i) {
            const XY a = lines[l].points[i];
            const XY b = lines[l].points[i + 1];
            entries.emplace_back(BSegment(BPoint(a.x, a.y), BPoint(b.x, b.y)),
                                 static_cast<std::uint32_t>(segs.size()));
            segs.push_back({l, i});
        }
    const SegmentTree tree(entries.begin(), entries.end());
    struct Split {
        std::uint32_t index;
        double along_m;
        XY point;
    };
    std::vector<std::vector<Split>> splits(lines.size());
    auto add_split = [&](const Seg &s, XY q) {
        const XY a = lines[s.line].points[s.index];
        const XY b = lines[s.line].points[s.index + 1];
        if (q == a || q == b)
            return;
        splits[s.line].push_back({s.index, dist(a, q), q});
    };
    std::vector<SegmentEntry> found;
    std::vector<BPoint> crossings;
    for (const auto &[segment, i] : entries) {
        found.clear();
        tree.query(bgi::intersects(boost::geometry::return_envelope<BBox>(segment)),
                   std::back_inserter(found));
        for (const auto &[other, j] : found) {
            if (j <= i)
                continue;
            crossings.clear();
            boost::geometry::intersection(segment, other, crossings);
            for (const BPoint &p : crossings) {
                XY q{p.get<0>(), p.get<1>()};
                // An end lying on the other segment: keep its exact coordinates.
                for (const BSegment *s : {&segment, &other})
                    for (const BPoint &e : {s->first, s->second})
                        if (std::hypot(e.get<0>() - q.x, e.get<1>() - q.y) < 1e-9)
                            q = XY{e.get<0>(), e.get<1>()};
                add_split(segs[i], q);
                add_split(segs[j], q);
            }
        }
    }
    for (std::size_t l = 0; l < lines.size(); ++l) {
        auto &sp = splits[l];
        if (sp.empty())
            continue;
        std::sort(sp.begin(), sp.end(), [](const Split &a, const Split &b) {
            return std::tie(a.index, a.along_m) < std::tie(b.index, b.along_m);
        });
        std::vector<XY> out;
        const auto &pts = lines[l].points;
        std::size_t k = 0;
        for (std::uint32_t i = 0; i < pts.size(); ++i) {
            out.push_back(pts[i]);
            for (; k < sp.size() && sp[k].index == i; ++k)
                out.push_back(sp[k].point);
        }
        out.erase(std::unique(out.begin(), out.end()), out.end());
        lines[l].points = std::move(out);
    }
}

} // namespace

RoadGraph::RoadGraph(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
RoadGraph::RoadGraph(RoadGraph &&) noexcept = default;
RoadGraph &RoadGraph::operator=(RoadGraph &&) noexcept = default;
RoadGraph::~RoadGraph() = default;

RoadGraph RoadGraph::build(std::vector<RoadLine> lines, const GraphOptions &options) {
    if (!(options.snap_tolerance_m >= 0.0) || !(options.offroad_cap_m >= 0.0))
        throw UsageError(_("the snapping tolerance and the off-road cap must not be negative"));
    if (!(options.offroad_speed_kmh > 0.0) || !std::isfinite(options.offroad_speed_kmh))
        throw UsageError(fmt::format(
            fmt::runtime(_("the off-road speed must be a positive number of km/h, not {}")),
            options.offroad_speed_kmh));
    for (const RoadLine &l : lines)
        if (!(l.speed_kmh >= 0.0) || !std::isfinite(l.speed_kmh))
            throw UsageError(
                fmt::format(fmt::runtime(_("road {}: the speed must be 0 (none) or a positive "
                                           "number of km/h, not {}")),
                            l.road_id, l.speed_kmh));
    clean(lines);
    if (options.full_noding)
        node_lines(lines);

    auto impl = std::make_unique<Impl>();
    Impl &g = *impl;
    g.options = options;
    g.offroad_seconds_per_m = kSecondsPerMAtOneKmh / options.offroad_speed_kmh;
    std::vector<double> line_seconds_per_m;
    std::vector<std::uint32_t> line_of_point;
    std::vector<bool> is_end;
    for (std::uint32_t l = 0; l < lines.size(); ++l) {
        g.line_first.push_back(static_cast<std::uint32_t>(g.points.size()));
        double along = 0.0;
        const auto &pts = lines[l].points;
        for (std::size_t i = 0; i < pts.size(); ++i) {
            if (i > 0)
                along += dist(pts[i - 1], pts[i]);
            g.points.push_back(pts[i]);
            g.along_m.push_back(along);
            line_of_point.push_back(l);
            is_end.push_back(i == 0 || i + 1 == pts.size());
        }
        g.road_ids.push_back(std::move(lines[l].road_id));
        const double speed = lines[l].speed_kmh;
        line_seconds_per_m.push_back(speed > 0.0 ? kSecondsPerMAtOneKmh / speed : 0.0);
        if (!(speed > 0.0) && g.untimed_road.empty())
            g.untimed_road = g.road_ids.back();
    }
    g.line_first.push_back(static_cast<std::uint32_t>(g.points.size()));
    const std::size_t n_points = g.points.size();

    // Distinct coordinates, in coordinate order so that numbering is deterministic.
    std::vector<std::uint32_t> order(n_points);
    std::iota(order.begin(), order.end(), std::uint32_t{0});
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
        return std::tie(g.points[a].x, g.points[a].y, line_of_point[a]) <
               std::tie(g.points[b].x, g.points[b].y, line_of_point[b]);
    });
    struct Coord {
        XY p;
        std::uint32_t line = 0; ///< one line through it
        bool many_lines = false;
        bool end = false;
        bool node = false;
    };
    std::vector<Coord> coords;
    std::vector<std::uint32_t> coord_of(n_points);
    for (std::uint32_t k = 0; k < n_points; ++k) {
        const std::uint32_t i = order[k];
        if (coords.empty() || !(coords.back().p == g.points[i]))
            coords.push_back({g.points[i], line_of_point[i], false, false, false});
        Coord &c = coords.back();
        c.many_lines = c.many_lines || c.line != line_of_point[i];
        c.end = c.end || is_end[i];
        coord_of[i] = static_cast<std::uint32_t>(coords.size() - 1);
    }
    for (auto &c : coords)
        c.node = c.end || c.many_lines;

    // Snapping: distinct coordinates within the tolerance. A pair makes nodes when it joins two
    // lines or two line ends (a vertex near its own line's next vertex does not); the nodes
    // are then clustered by single linkage.
    UnionFind clusters(coords.size());
    const double tol = options.snap_tolerance_m;
    if (tol > 0.0 && !coords.empty()) {
        std::vector<PointEntry> entries;
        entries.reserve(coords.size());
        for (std::uint32_t c = 0; c < coords.size(); ++c)
            entries.emplace_back(BPoint(coords[c].p.x, coords[c].p.y), c);
        const PointTree tree(entries.begin(), entries.end());
        std::vector<std::pair<std::uint32_t, std::uint32_t>> close;
        std::vector<PointEntry> found;
        for (std::uint32_t c = 0; c < coords.size(); ++c) {
            const XY p = coords[c].p;
            found.clear();
            tree.query(
                bgi::intersects(BBox(BPoint(p.x - tol, p.y - tol), BPoint(p.x + tol, p.y + tol))),
                std::back_inserter(found));
            for (const auto &[q, d] : found) {
                if (d <= c || dist(p, coords[d].p) > tol)
                    continue;
                const Coord &a = coords[c];
                const Coord &b = coords[d];
                if (a.many_lines || b.many_lines || a.line != b.line || (a.end && b.end)) {
                    coords[c].node = true;
                    coords[d].node = true;
                }
                close.emplace_back(c, d);
            }
        }
        for (const auto &[c, d] : close)
            if (coords[c].node && coords[d].node)
                clusters.unite(c, d);
    }
    std::vector<std::uint32_t> node_of_root(coords.size(), kNone);
    std::uint32_t nodes = 0;
    for (std::uint32_t c = 0; c < coords.size(); ++c) {
        if (!coords[c].node)
            continue;
        auto &n = node_of_root[clusters.find(c)];
        if (n == kNone)
            n = nodes++;
    }
    g.node_count = nodes;

    // Edges: each line cut at its nodes.
    g.point_edge.assign(n_points, kNone);
    std::vector<SegmentEntry> segments;
    segments.reserve(n_points);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> arcs;
    std::vector<Arc> arc_props;
    auto node_at = [&](std::uint32_t point) {
        const std::uint32_t c = coord_of[point];
        return coords[c].node ? node_of_root[clusters.find(c)] : kNone;
    };
    for (std::uint32_t l = 0; l + 1 < g.line_first.size(); ++l) {
        const std::uint32_t first = g.line_first[l];
        const std::uint32_t last = g.line_first[l + 1] - 1;
        std::uint32_t start = first;
        for (std::uint32_t i = first + 1; i <= last; ++i) {
            const XY a = g.points[i - 1];
            const XY b = g.points[i];
            g.point_edge[i - 1] = static_cast<std::uint32_t>(g.edges.size());
            segments.emplace_back(BSegment(BPoint(a.x, a.y), BPoint(b.x, b.y)), i - 1);
            const std::uint32_t end_node = node_at(i);
            if (end_node == kNone)
                continue;
            Edge e;
            e.first_point = start;
            e.last_point = i;
            e.a = node_at(start);
            e.b = end_node;
            e.line = l;
            e.length_m = g.along_m[i] - g.along_m[start];
            e.seconds_per_m = line_seconds_per_m[l];
            const auto index = static_cast<std::uint32_t>(g.edges.size());
            const double seconds = e.length_m * e.seconds_per_m;
            arcs.emplace_back(e.a, e.b);
            arc_props.push_back({e.length_m, seconds, index});
            arcs.emplace_back(e.b, e.a);
            arc_props.push_back({e.length_m, seconds, index});
            g.total_length_m += e.length_m;
            g.edges.push_back(e);
            start = i;
        }
    }
    g.graph = Csr(boost::edges_are_unsorted_multi_pass, arcs.begin(), arcs.end(), arc_props.begin(),
                  nodes);
    g.segments = SegmentTree(segments.begin(), segments.end());
    return RoadGraph(std::move(impl));
}

const GraphOptions &RoadGraph::options() const noexcept {
    return m_impl->options;
}

std::size_t RoadGraph::node_count() const noexcept {
    return m_impl->node_count;
}

std::size_t RoadGraph::edge_count() const noexcept {
    return m_impl->edges.size();
}

double RoadGraph::length_m() const noexcept {
    return m_impl->total_length_m;
}

EdgeInfo RoadGraph::edge(std::uint32_t edge) const {
    const Edge &e = m_impl->edges.at(edge);
    return {e.a, e.b, e.length_m, m_impl->road_ids[e.line], e.length_m * e.seconds_per_m};
}

std::vector<XY> RoadGraph::edge_points(std::uint32_t edge) const {
    const Edge &e = m_impl->edges.at(edge);
    return {m_impl->points.begin() + e.first_point, m_impl->points.begin() + e.last_point + 1};
}

std::vector<XY> RoadGraph::Impl::part(std::uint32_t edge, double from_m, double to_m) const {
    const Edge &e = edges[edge];
    const bool reverse = to_m < from_m;
    const double lo = std::clamp(std::min(from_m, to_m), 0.0, e.length_m);
    const double hi = std::clamp(std::max(from_m, to_m), 0.0, e.length_m);
    const double base = along_m[e.first_point];
    auto at = [&](double off) {
        // The segment holding `off`: the last vertex at or before it.
        auto it = std::upper_bound(along_m.begin() + e.first_point,
                                   along_m.begin() + e.last_point + 1, base + off);
        std::uint32_t i = static_cast<std::uint32_t>(it - along_m.begin());
        i = std::clamp<std::uint32_t>(i, e.first_point + 1, e.last_point) - 1;
        const double seg = along_m[i + 1] - along_m[i];
        const double t = seg > 0.0 ? std::clamp((base + off - along_m[i]) / seg, 0.0, 1.0) : 0.0;
        const XY a = points[i];
        const XY b = points[i + 1];
        return std::make_pair(i, t == 0.0   ? a
                                 : t == 1.0 ? b
                                            : XY{a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)});
    };
    const auto [i0, p0] = at(lo);
    const auto [i1, p1] = at(hi);
    std::vector<XY> out{p0};
    for (std::uint32_t i = i0 + 1; i <= i1; ++i)
        out.push_back(points[i]);
    out.push_back(p1);
    out.erase(std::unique(out.begin(), out.end()), out.end());
    if (reverse)
        std::reverse(out.begin(), out.end());
    return out;
}

Attachment RoadGraph::Impl::attach_to_segment(std::uint32_t i, XY p) const {
    const XY a = points[i];
    const XY b = points[i + 1];
    const double dx = b.x - a.x;
    const double dy = b.y - a.y;
    const double len2 = dx * dx + dy * dy;
    double t = len2 > 0.0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0.0;
    t = std::clamp(t, 0.0, 1.0);
    const XY q = t == 0.0 ? a : t == 1.0 ? b : XY{a.x + t * dx, a.y + t * dy};
    Attachment at;
    at.edge = point_edge[i];
    const Edge &e = edges[at.edge];
    at.offset_m = std::clamp(along_m[i] - along_m[e.first_point] + dist(a, q), 0.0, e.length_m);
    at.leg_m = dist(p, q);
    at.from = p;
    at.on_road = q;
    return at;
}

std::optional<Attachment> RoadGraph::attach(XY point) const {
    const Impl &g = *m_impl;
    if (g.segments.empty())
        return std::nullopt;
    std::vector<SegmentEntry> found;
    g.segments.query(bgi::nearest(BPoint(point.x, point.y), 1), std::back_inserter(found));
    return g.attach_to_segment(found.front().second, point);
}

std::optional<Attachment> RoadGraph::attach_footprint(std::string_view wkb) const {
    const Impl &g = *m_impl;
    if (g.segments.empty())
        return std::nullopt;
    auto &ctx = ffi::geos_context();
    GEOSContextHandle_t h = ctx.handle();
    const auto footprint = ffi::read_wkb(ctx, wkb);
    if (GEOSGeomTypeId_r(h, footprint.get()) == GEOS_POINT) {
        double x = 0.0;
        double y = 0.0;
        if (!GEOSGeomGetX_r(h, footprint.get(), &x) || !GEOSGeomGetY_r(h, footprint.get(), &y))
            ctx.fail("GEOSGeomGetX");
        return attach(XY{x, y});
    }
    // A point of the footprint bounds the distance from above; every closer segment lies in
    // the footprint's envelope grown by that bound.
    const auto inside =
        ffi::own(ctx, GEOSPointOnSurface_r(h, footprint.get()), "GEOSPointOnSurface");
    double px = 0.0;
    double py = 0.0;
    if (!GEOSGeomGetX_r(h, inside.get(), &px) || !GEOSGeomGetY_r(h, inside.get(), &py))
        ctx.fail("GEOSGeomGetX");
    const Attachment bound = *attach(XY{px, py});
    double minx = 0.0, miny = 0.0, maxx = 0.0, maxy = 0.0;
    if (!GEOSGeom_getXMin_r(h, footprint.get(), &minx) ||
        !GEOSGeom_getYMin_r(h, footprint.get(), &miny) ||
        !GEOSGeom_getXMax_r(h, footprint.get(), &maxx) ||
        !GEOSGeom_getYMax_r(h, footprint.get(), &maxy))
        ctx.fail("GEOSGeom_getXMin");
    const double m = bound.leg_m;
    std::vector<SegmentEntry> found;
    g.segments.query(bgi::intersects(BBox(BPoint(minx - m, miny - m), BPoint(maxx + m, maxy + m))),
                     std::back_inserter(found));
    std::sort(found.begin(), found.end(),
              [](const SegmentEntry &a, const SegmentEntry &b) { return a.second < b.second; });
    const auto prepared = ffi::prepare(ctx, footprint.get());
    auto segment_line = [&](std::uint32_t i) {
        GEOSCoordSequence *seq = GEOSCoordSeq_create_r(h, 2, 2);
        if (!seq)
            ctx.fail("GEOSCoordSeq_create");
        GEOSCoordSeq_setXY_r(h, seq, 0, g.points[i].x, g.points[i].y);
        GEOSCoordSeq_setXY_r(h, seq, 1, g.points[i + 1].x, g.points[i + 1].y);
        return ffi::own(ctx, GEOSGeom_createLineString_r(h, seq), "GEOSGeom_createLineString");
    };
    double best = kInf;
    std::uint32_t best_segment = kNone;
    for (const auto &[segment, i] : found) {
        const auto line = segment_line(i);
        double d = 0.0;
        if (!GEOSPreparedDistance_r(h, prepared.get(), line.get(), &d))
            ctx.fail("GEOSPreparedDistance");
        if (d < best) {
            best = d;
            best_segment = i;
        }
    }
    if (best_segment == kNone)
        return bound;
    const auto line = segment_line(best_segment);
    GEOSCoordSequence *pair = GEOSNearestPoints_r(h, footprint.get(), line.get());
    if (!pair)
        ctx.fail("GEOSNearestPoints");
    double fx = 0.0, fy = 0.0, rx = 0.0, ry = 0.0;
    const bool ok =
        GEOSCoordSeq_getXY_r(h, pair, 0, &fx, &fy) && GEOSCoordSeq_getXY_r(h, pair, 1, &rx, &ry);
    GEOSCoordSeq_destroy_r(h, pair);
    if (!ok)
        ctx.fail("GEOSCoordSeq_getXY");
    Attachment at = g.attach_to_segment(best_segment, XY{rx, ry});
    at.from = XY{fx, fy};
    at.leg_m = best;
    return at;
}

std::vector<Attachment> RoadGraph::attach_footprint_all(std::string_view wkb) const {
    const Impl &g = *m_impl;
    auto &ctx = ffi::geos_context();
    GEOSContextHandle_t h = ctx.handle();
    const auto footprint = ffi::read_wkb(ctx, wkb);
    std::vector<Attachment> out;
    if (!g.segments.empty() && GEOSGeomTypeId_r(h, footprint.get()) != GEOS_POINT) {
        double minx = 0.0, miny = 0.0, maxx = 0.0, maxy = 0.0;
        if (!GEOSGeom_getXMin_r(h, footprint.get(), &minx) ||
            !GEOSGeom_getYMin_r(h, footprint.get(), &miny) ||
            !GEOSGeom_getXMax_r(h, footprint.get(), &maxx) ||
            !GEOSGeom_getYMax_r(h, footprint.get(), &maxy))
            ctx.fail("GEOSGeom_getXMin");
        std::vector<SegmentEntry> found;
        g.segments.query(bgi::intersects(BBox(BPoint(minx, miny), BPoint(maxx, maxy))),
                         std::back_inserter(found));
        std::sort(found.begin(), found.end(),
                  [](const SegmentEntry &a, const SegmentEntry &b) { return a.second < b.second; });
        const auto prepared = ffi::prepare(ctx, footprint.get());
        for (const auto &[segment, i] : found) {
            const XY a = g.points[i];
            const XY b = g.points[i + 1];
            GEOSCoordSequence *seq = GEOSCoordSeq_create_r(h, 2, 2);
            if (!seq)
                ctx.fail("GEOSCoordSeq_create");
            GEOSCoordSeq_setXY_r(h, seq, 0, a.x, a.y);
            GEOSCoordSeq_setXY_r(h, seq, 1, b.x, b.y);
            const auto line =
                ffi::own(ctx, GEOSGeom_createLineString_r(h, seq), "GEOSGeom_createLineString");
            if (!ffi::predicate(ctx, GEOSPreparedIntersects_r(h, prepared.get(), line.get()),
                                "GEOSPreparedIntersects"))
                continue;
            const auto inside = ffi::own(ctx, GEOSIntersection_r(h, footprint.get(), line.get()),
                                         "GEOSIntersection");
            double x0 = 0.0, y0 = 0.0, x1 = 0.0, y1 = 0.0;
            if (!GEOSGeom_getXMin_r(h, inside.get(), &x0) ||
                !GEOSGeom_getYMin_r(h, inside.get(), &y0) ||
                !GEOSGeom_getXMax_r(h, inside.get(), &x1) ||
                !GEOSGeom_getYMax_r(h, inside.get(), &y1))
                continue; // empty: touching only within GEOS's tolerance
            // Every point of the part inside lies on the segment, so its first and last
            // points along the segment are corners of its envelope.
            const XY first{b.x >= a.x ? x0 : x1, b.y >= a.y ? y0 : y1};
            const XY last{b.x >= a.x ? x1 : x0, b.y >= a.y ? y1 : y0};
            for (const XY p : {first, last}) {
                Attachment at = g.attach_to_segment(i, p);
                at.leg_m = 0.0;
                at.from = at.on_road;
                out.push_back(at);
            }
        }
    }
    if (out.empty())
        if (auto at = attach_footprint(wkb))
            out.push_back(*at);
    return out;
}

bool RoadGraph::within_cap(const Attachment &at) const noexcept {
    return at.leg_m <= m_impl->options.offroad_cap_m;
}

std::vector<Component> RoadGraph::components() const {
    const Impl &g = *m_impl;
    UnionFind sets(g.node_count);
    for (const Edge &e : g.edges)
        sets.unite(e.a, e.b);
    std::vector<std::uint32_t> index(g.node_count, kNone);
    std::vector<Component> out;
    for (std::uint32_t e = 0; e < g.edges.size(); ++e) {
        auto &i = index[sets.find(g.edges[e].a)];
        if (i == kNone) {
            i = static_cast<std::uint32_t>(out.size());
            out.emplace_back();
        }
        out[i].edges.push_back(e);
        out[i].length_m += g.edges[e].length_m;
    }
    std::stable_sort(out.begin(), out.end(), [](const Component &a, const Component &b) {
        return a.length_m > b.length_m;
    });
    return out;
}

namespace {

/// Ends the search at the first node popped beyond the bound: Boost.Graph's idiom for a
/// bounded Dijkstra (the visitor cannot otherwise stop the queue).
struct BoundReached {};

class SearchVisitor : public boost::default_dijkstra_visitor {
public:
    SearchVisitor(const std::vector<double> &margin, std::vector<std::uint32_t> &owner,
                  std::vector<std::uint32_t> &pred_edge, std::vector<double> *length, double bound)
        : m_margin(&margin), m_owner(&owner), m_pred_edge(&pred_edge), m_length(length),
          m_bound(bound) {}

    void examine_vertex(std::uint32_t u, const Csr &) const {
        if ((*m_margin)[u] > m_bound)
            throw BoundReached{};
    }
    template <class E> void edge_relaxed(const E &e, const Csr &g) const {
        const auto v = boost::target(e, g);
        (*m_pred_edge)[v] = g[e].edge;
        (*m_owner)[v] = (*m_owner)[boost::source(e, g)];
        if (m_length)
            (*m_length)[v] = (*m_length)[boost::source(e, g)] + g[e].length_m;
    }

private:
    const std::vector<double> *m_margin;
    std::vector<std::uint32_t> *m_owner;
    std::vector<std::uint32_t> *m_pred_edge;
    std::vector<double> *m_length; ///< null for Cost::length (the margin is the length)
    double m_bound;
};

} // namespace

ShortestPaths RoadGraph::search(std::vector<Source> sources, double bound, Cost cost) const {
    const Impl &g = *m_impl;
    const bool timed = cost == Cost::time;
    if (timed && !g.untimed_road.empty())
        throw UsageError(fmt::format(
            fmt::runtime(_("travel time needs a speed for every road; road {} has none")),
            g.untimed_road));
    ShortestPaths sp;
    sp.m_graph = &g;
    sp.m_sources = std::move(sources);
    sp.m_bound = bound;
    sp.m_cost = cost;
    sp.m_margin.assign(g.node_count, kInf);
    sp.m_owner.assign(g.node_count, kNone);
    sp.m_pred_edge.assign(g.node_count, kNone);
    if (timed)
        sp.m_length.assign(g.node_count, kInf);
    std::vector<std::uint32_t> seeds;
    auto seed = [&](std::uint32_t node, double margin, double length_m, std::uint32_t s) {
        if (sp.m_margin[node] == kInf)
            seeds.push_back(node);
        if (margin < sp.m_margin[node]) {
            sp.m_margin[node] = margin;
            sp.m_owner[node] = s;
            if (timed)
                sp.m_length[node] = length_m;
        }
    };
    for (std::uint32_t s = 0; s < sp.m_sources.size(); ++s) {
        const Source &src = sp.m_sources[s];
        if (!within_cap(src.at) || src.at.edge >= g.edges.size())
            continue;
        const Edge &e = g.edges[src.at.edge];
        const double p = g.pace(src.at.edge, cost);
        const double start = g.leg_cost(src.at.leg_m, cost) - (timed ? src.budget_s : src.radius_m);
        const double to_b_m = e.length_m - src.at.offset_m;
        seed(e.a, start + src.at.offset_m * p, src.at.leg_m + src.at.offset_m, s);
        seed(e.b, start + to_b_m * p, src.at.leg_m + to_b_m, s);
        sp.m_on_edge.emplace_back(src.at.edge, s);
    }
    std::sort(sp.m_on_edge.begin(), sp.m_on_edge.end());
    if (seeds.empty())
        return sp;

    std::vector<boost::default_color_type> color(g.node_count, boost::white_color);
    const auto index = boost::get(boost::vertex_index, g.graph);
    try {
        boost::dijkstra_shortest_paths_no_init(
            g.graph, seeds.begin(), seeds.end(), boost::dummy_property_map(),
            boost::make_iterator_property_map(sp.m_margin.begin(), index),
            boost::get(timed ? &Arc::seconds : &Arc::length_m, g.graph), index, std::less<double>(),
            std::plus<double>(), 0.0,
            SearchVisitor(sp.m_margin, sp.m_owner, sp.m_pred_edge, timed ? &sp.m_length : nullptr,
                          bound),
            boost::make_iterator_property_map(color.begin(), index));
    } catch (const BoundReached &) {
    }
    return sp;
}

/// The best way to a target: through one end of its edge, or straight along the edge from a
/// source on the same edge.
struct ShortestPaths::Option {
    double margin = kInf;
    double length_m = 0.0; ///< Cost::time: metres of this way (Cost::length: margin + radius)
    std::uint32_t source = kNone;
    std::uint32_t via_node = kNone; ///< kNone: directly from `source` along the edge
    double via_offset_m = 0.0;      ///< offset of `via_node` on the target's edge (0 or length)
};

ShortestPaths::Option ShortestPaths::best(const Attachment &target) const {
    Option best;
    const RoadGraph::Impl &g = *m_graph;
    if (target.leg_m > g.options.offroad_cap_m || target.edge >= g.edges.size())
        return best;
    const Edge &e = g.edges[target.edge];
    const bool timed = m_cost == Cost::time;
    const double p = g.pace(target.edge, m_cost);
    auto consider = [&](double margin, double length_m, std::uint32_t source, std::uint32_t node,
                        double at) {
        if (source != kNone && margin < best.margin)
            best = {margin, length_m, source, node, at};
    };
    auto length_at = [&](std::uint32_t node) { return timed ? m_length[node] : 0.0; };
    const double to_b_m = e.length_m - target.offset_m;
    consider(m_margin[e.a] + target.offset_m * p, length_at(e.a) + target.offset_m, m_owner[e.a],
             e.a, 0.0);
    consider(m_margin[e.b] + to_b_m * p, length_at(e.b) + to_b_m, m_owner[e.b], e.b, e.length_m);
    auto it = std::lower_bound(m_on_edge.begin(), m_on_edge.end(),
                               std::make_pair(target.edge, std::uint32_t{0}));
    for (; it != m_on_edge.end() && it->first == target.edge; ++it) {
        const Source &s = m_sources[it->second];
        const double along_m = std::abs(s.at.offset_m - target.offset_m);
        consider(g.leg_cost(s.at.leg_m, m_cost) - (timed ? s.budget_s : s.radius_m) + along_m * p,
                 s.at.leg_m + along_m, it->second, kNone, 0.0);
    }
    best.margin += g.leg_cost(target.leg_m, m_cost);
    best.length_m += target.leg_m;
    return best;
}

std::optional<Reach> ShortestPaths::reach(const Attachment &target) const {
    const Option o = best(target);
    if (o.source == kNone || !(o.margin <= m_bound))
        return std::nullopt;
    if (m_cost == Cost::time)
        return Reach{o.length_m, 0.0, o.source, o.margin + m_sources[o.source].budget_s, o.margin};
    return Reach{o.margin + m_sources[o.source].radius_m, o.margin, o.source};
}

std::vector<XY> ShortestPaths::path_to(const Attachment &target) const {
    const Option o = best(target);
    if (o.source == kNone || !(o.margin <= m_bound))
        return {};
    const RoadGraph::Impl &g = *m_graph;
    // Built backwards, from the target to the source.
    std::vector<XY> path{target.from, target.on_road};
    auto append = [&](const std::vector<XY> &pts) {
        path.insert(path.end(), pts.begin(), pts.end());
    };
    const Source *src = &m_sources[o.source];
    if (o.via_node == kNone) {
        append(g.part(target.edge, target.offset_m, src->at.offset_m));
    } else {
        append(g.part(target.edge, target.offset_m, o.via_offset_m));
        std::uint32_t node = o.via_node;
        while (m_pred_edge[node] != kNone) {
            const Edge &e = g.edges[m_pred_edge[node]];
            const bool from_b = node == e.b;
            append(g.part(m_pred_edge[node], from_b ? e.length_m : 0.0, from_b ? 0.0 : e.length_m));
            node = from_b ? e.a : e.b;
        }
        src = &m_sources[m_owner[node]];
        const Edge &e = g.edges[src->at.edge];
        // The seed came from the end giving the smaller value (either for a loop edge).
        const bool at_a =
            node == e.a && (node != e.b || src->at.offset_m <= e.length_m - src->at.offset_m);
        append(g.part(src->at.edge, at_a ? 0.0 : e.length_m, src->at.offset_m));
    }
    path.push_back(src->at.on_road);
    path.push_back(src->at.from);
    // Legs of (nearly) zero length would repeat a point.
    path.erase(
        std::unique(path.begin(), path.end(), [](XY a, XY b) { return dist(a, b) < kSamePointM; }),
        path.end());
    std::reverse(path.begin(), path.end());
    return path;
}

std::vector<ReachedPiece> ShortestPaths::reached() const {
    const RoadGraph::Impl &g = *m_graph;
    // Along an edge every way in is linear in the offset x with slope ±pace (±1 for length;
    // one speed per edge makes time linear too): through the first node (margin_a + x), the
    // last node (margin_b + length − x), or from a source on the edge (a V around its offset,
    // taken as two linear parts). The reached part is where the lower envelope is ≤ the bound;
    // it is cut at every crossing of two ways and of the bound. By time each way also carries
    // its metres, linear with slope ±1.
    struct Way {
        double c;
        double slope;
        double lo;
        double hi;
        std::uint32_t source;
        double length_c = 0.0; ///< Cost::time: metres of the way at x = 0
        double at(double x) const { return c + slope * x; }
        double length_at(double x) const { return slope > 0 ? length_c + x : length_c - x; }
    };
    const bool timed = m_cost == Cost::time;
    std::vector<bool> touched(g.edges.size(), false);
    for (const auto &[edge, s] : m_on_edge)
        touched[edge] = true;
    std::vector<ReachedPiece> out;
    std::vector<Way> ways;
    std::vector<double> cuts;
    for (std::uint32_t edge = 0; edge < g.edges.size(); ++edge) {
        const Edge &e = g.edges[edge];
        const double len = e.length_m;
        if (!touched[edge] && !(m_margin[e.a] <= m_bound) && !(m_margin[e.b] <= m_bound))
            continue;
        const double p = g.pace(edge, m_cost);
        ways.clear();
        if (m_margin[e.a] <= m_bound)
            ways.push_back({m_margin[e.a], p, 0.0, len, m_owner[e.a], timed ? m_length[e.a] : 0.0});
        if (m_margin[e.b] <= m_bound)
            ways.push_back({m_margin[e.b] + len * p, -p, 0.0, len, m_owner[e.b],
                            timed ? m_length[e.b] + len : 0.0});
        auto it = std::lower_bound(m_on_edge.begin(), m_on_edge.end(),
                                   std::make_pair(edge, std::uint32_t{0}));
        for (; it != m_on_edge.end() && it->first == edge; ++it) {
            const Source &s = m_sources[it->second];
            const double m0 = g.leg_cost(s.at.leg_m, m_cost) - (timed ? s.budget_s : s.radius_m);
            const double off = s.at.offset_m;
            ways.push_back({m0 + off * p, -p, 0.0, off, it->second, s.at.leg_m + off});
            ways.push_back({m0 - off * p, p, off, len, it->second, s.at.leg_m - off});
        }
        cuts.assign({0.0, len});
        for (std::size_t i = 0; i < ways.size(); ++i) {
            const Way &w = ways[i];
            cuts.push_back(w.lo);
            cuts.push_back(w.hi);
            cuts.push_back((m_bound - w.c) / w.slope);
            for (std::size_t j = i + 1; j < ways.size(); ++j)
                if (ways[j].slope != w.slope)
                    cuts.push_back((ways[j].c - w.c) / (w.slope - ways[j].slope));
        }
        for (double &c : cuts)
            c = std::clamp(c, 0.0, len);
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

        int last_way = -1;
        double piece_lo = 0.0;
        double piece_hi = 0.0;
        auto flush = [&] {
            if (last_way < 0 || !(piece_hi > piece_lo))
                return;
            const Way &w = ways[static_cast<std::size_t>(last_way)];
            ReachedPiece piece;
            piece.edge = edge;
            piece.source = w.source;
            const double m_lo = w.at(piece_lo);
            const double m_hi = w.at(piece_hi);
            const bool rising = w.slope > 0;
            const double near_x = rising ? piece_lo : piece_hi;
            const double far_x = rising ? piece_hi : piece_lo;
            if (timed) {
                const double budget = m_sources[w.source].budget_s;
                piece.start_s = (rising ? m_lo : m_hi) + budget;
                piece.end_s = (rising ? m_hi : m_lo) + budget;
                piece.start_m = w.length_at(near_x);
                piece.end_m = w.length_at(far_x);
            } else {
                const double r = m_sources[w.source].radius_m;
                piece.start_m = (rising ? m_lo : m_hi) + r;
                piece.end_m = (rising ? m_hi : m_lo) + r;
            }
            piece.points = g.part(edge, near_x, far_x);
            if (piece.points.size() >= 2) // not a stretch shorter than the coordinates resolve
                out.push_back(std::move(piece));
        };
        for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
            const double x0 = cuts[k];
            const double x1 = cuts[k + 1];
            const double mid = 0.5 * (x0 + x1);
            int best = -1;
            for (std::size_t i = 0; i < ways.size(); ++i) {
                const Way &w = ways[i];
                if (mid < w.lo || mid > w.hi)
                    continue;
                if (best < 0 || w.at(mid) < ways[static_cast<std::size_t>(best)].at(mid))
                    best = static_cast<int>(i);
            }
            const bool in = best >= 0 && ways[static_cast<std::size_t>(best)].at(mid) <= m_bound;
            if (in && best == last_way && x0 == piece_hi) {
                piece_hi = x1;
                continue;
            }
            flush();
            last_way = in ? best : -1;
            piece_lo = x0;
            piece_hi = x1;
        }
        flush();
    }
    return out;
}

} // namespace qiancun::network
