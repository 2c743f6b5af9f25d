#include "metrics/village_eval.hpp"

#include <boost/geometry/algorithms/intersects.hpp>
#include <boost/geometry/algorithms/within.hpp>
#include <boost/geometry/strategies/strategies.hpp>
#include <boost/iterator/function_output_iterator.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace qiancun::metrics {

namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;

using ffi::GeosGeometry;

namespace {

/// Discs are clipped to the village's bounding box grown by this before the union: enough to
/// keep every piece that can touch the village, metres.
constexpr double kClipMarginM = 1.0;
/// Distinct radii whose disc polygons an evaluator keeps; own radii can make many.
constexpr std::size_t kMaxCachedDiscs = 256;

double min_x(const Box &b) {
    return b.min_corner().get<0>();
}
double min_y(const Box &b) {
    return b.min_corner().get<1>();
}
double max_x(const Box &b) {
    return b.max_corner().get<0>();
}
double max_y(const Box &b) {
    return b.max_corner().get<1>();
}

/// Point-to-point distance as GEOS computes it, so that "within r" agrees everywhere.
double planar_distance(double ax, double ay, double bx, double by) {
    const double dx = ax - bx;
    const double dy = ay - by;
    return std::sqrt(dx * dx + dy * dy);
}

/// `g` clipped to `box` unless it already lies inside it. GEOS documents rectangle clipping
/// as possibly invalid for polygons in general; it is only used here for lines and convex
/// discs, where the result is valid.
GeosGeometry clip(ffi::GeosContext &ctx, GeosGeometry g, const Box &extent, const Box &box) {
    if (bg::within(extent, box))
        return g;
    return ffi::own(
        ctx,
        GEOSClipByRect_r(ctx.handle(), g.get(), min_x(box), min_y(box), max_x(box), max_y(box)),
        "GEOSClipByRect");
}

/// Appends copies of the LineStrings in `g` (any nesting of collections) to `out`.
void collect_lines(ffi::GeosContext &ctx, const GEOSGeometry *g, std::vector<GeosGeometry> &out) {
    const int type = GEOSGeomTypeId_r(ctx.handle(), g);
    if (type == GEOS_LINESTRING) {
        if (!ffi::is_empty(ctx, g))
            out.push_back(ffi::clone(ctx, g));
    } else if (type == GEOS_MULTILINESTRING || type == GEOS_GEOMETRYCOLLECTION) {
        const int n = GEOSGetNumGeometries_r(ctx.handle(), g);
        for (int i = 0; i < n; ++i)
            collect_lines(ctx, GEOSGetGeometryN_r(ctx.handle(), g, i), out);
    }
}

/// Distance from (x, y) to the nearest point of `box` (0 inside), metres.
double box_distance(const Box &box, double x, double y) {
    const double dx = std::max({min_x(box) - x, 0.0, x - max_x(box)});
    const double dy = std::max({min_y(box) - y, 0.0, y - max_y(box)});
    return std::sqrt(dx * dx + dy * dy);
}

/// Distance between two boxes (0 when they meet), metres.
double box_distance(const Box &a, const Box &b) {
    const double dx = std::max({min_x(b) - max_x(a), 0.0, min_x(a) - max_x(b)});
    const double dy = std::max({min_y(b) - max_y(a), 0.0, min_y(a) - max_y(b)});
    return std::sqrt(dx * dx + dy * dy);
}

/// Bounding box of a non-empty geometry.
Box envelope(ffi::GeosContext &ctx, const GEOSGeometry *g) {
    double x0 = 0.0, y0 = 0.0, x1 = 0.0, y1 = 0.0;
    if (!GEOSGeom_getXMin_r(ctx.handle(), g, &x0) || !GEOSGeom_getYMin_r(ctx.handle(), g, &y0) ||
        !GEOSGeom_getXMax_r(ctx.handle(), g, &x1) || !GEOSGeom_getYMax_r(ctx.handle(), g, &y1))
        ctx.fail("GEOSGeom_getXMin");
    return Box(Point(x0, y0), Point(x1, y1));
}

/// Appends the indexes of the R-tree entries matching `predicate` to `out`.
template <class Predicate>
void query(const BoxTree &tree, const Predicate &predicate, std::vector<std::uint32_t> &out) {
    tree.query(predicate, boost::make_function_output_iterator(
                              [&out](const BoxEntry &e) { out.push_back(e.second); }));
}

bool is_line(ffi::GeosContext &ctx, const GEOSGeometry *g) {
    const int type = GEOSGeomTypeId_r(ctx.handle(), g);
    return type == GEOS_LINESTRING || type == GEOS_MULTILINESTRING;
}

} // namespace

struct VillageEvaluator::Village {
    const VillageRecord *record = nullptr;
    GeosGeometry geom; // declared before `prepared`, which must be destroyed first
    ffi::GeosPrepared prepared;
    double area_m2 = 0.0;
    double demand_x = 0.0;
    double demand_y = 0.0;
    const std::vector<std::uint32_t> *settlements = nullptr;
    std::int64_t population = 0;
};

VillageEvaluator::VillageEvaluator(const Dataset &data, int quadrant_segments,
                                   ffi::GeosContext &ctx)
    : m_data(data), m_quadrant_segments(std::max(1, quadrant_segments)), m_ctx(ctx) {
    // A regular n-gon inscribed in a circle of radius ρ has area (n/2)·ρ²·sin(2π/n); drawing
    // it with ρ = k·r, k = sqrt(2π / (n·sin(2π/n))), gives exactly the circle's area πr², and
    // its boundary alternates a little outside and inside the circle instead of lying wholly
    // inside it: a whole disc has the exact area (an inscribed one lacks 0.16 % of it with 16
    // segments per quarter, 0.64 % with 8) and a disc cut by a border errs both ways.
    // pop_cov never uses these polygons (exact distances instead).
    const double n = 4.0 * m_quadrant_segments;
    m_disc_scale = std::sqrt(2.0 * std::numbers::pi / (n * std::sin(2.0 * std::numbers::pi / n)));
}

const GEOSGeometry *VillageEvaluator::geometry(const AssetLayer &layer, std::uint32_t i) {
    auto it = m_geometry_cache.find(i);
    if (it == m_geometry_cache.end())
        it = m_geometry_cache.emplace(i, ffi::read_wkb(m_ctx, layer.assets[i].wkb)).first;
    return it->second.get();
}

const GEOSGeometry *VillageEvaluator::disc_at_origin(double radius_m) {
    auto it = m_discs.find(radius_m);
    if (it == m_discs.end()) {
        if (m_discs.size() >= kMaxCachedDiscs)
            m_discs.clear();
        const auto origin = ffi::make_point(m_ctx, 0.0, 0.0);
        it = m_discs
                 .emplace(radius_m,
                          ffi::buffer_round(m_ctx, origin.get(), radius_m, m_quadrant_segments))
                 .first;
    }
    return it->second.get();
}

double VillageEvaluator::distance_to(const AssetLayer &layer, std::uint32_t i, double x, double y,
                                     const GEOSGeometry *point) {
    const AssetRecord &a = layer.assets[i];
    if (a.is_point)
        return planar_distance(a.x, a.y, x, y);
    return ffi::distance(m_ctx, geometry(layer, i), point);
}

std::optional<double> VillageEvaluator::nearest(const AssetLayer &layer, double x, double y) {
    if (layer.extents.empty())
        return std::nullopt;
    const Point p(x, y);
    GeosGeometry point;
    std::vector<BoxEntry> found;
    // The distance to a box is a lower bound of the distance to what it holds: once the k-th
    // nearest box is no nearer than the best exact distance among the k, no other asset can
    // be nearer. (An incremental query over the whole tree sorts far too much.)
    for (std::size_t k = 4;; k *= 4) {
        found.clear();
        layer.extents.query(bgi::nearest(p, static_cast<unsigned>(k)), std::back_inserter(found));
        double best = std::numeric_limits<double>::infinity();
        double farthest_box = 0.0;
        for (const auto &[box, i] : found) {
            farthest_box = std::max(farthest_box, box_distance(box, x, y));
            const AssetRecord &a = layer.assets[i];
            if (!a.is_point && !point)
                point = ffi::make_point(m_ctx, x, y);
            best = std::min(best, distance_to(layer, i, x, y, point.get()));
        }
        if (found.size() < k || farthest_box >= best)
            return best;
    }
}

const GEOSGeometry *VillageEvaluator::reaching_geometry(const AssetLayer &layer, const Village &v,
                                                        std::uint32_t i) {
    const GEOSGeometry *g = geometry(layer, i);
    const bool reaches = ffi::predicate(
        m_ctx,
        GEOSPreparedDistanceWithin_r(m_ctx.handle(), v.prepared.get(), g, layer.assets[i].radius_m),
        "GEOSPreparedDistanceWithin");
    return reaches ? g : nullptr;
}

double VillageEvaluator::covered_fraction(const AssetLayer &layer, const Village &v,
                                          const std::vector<std::uint32_t> &candidates) {
    const Box &box = v.record->extent;
    m_sweep.clear_reaches();
    for (const std::uint32_t i : candidates) {
        const AssetRecord &a = layer.assets[i];
        const double r = a.radius_m;
        if (a.is_point) {
            if (box_distance(box, a.x, a.y) > r)
                continue; // the circle misses the bounding box
            const double fx = std::max(a.x - min_x(box), max_x(box) - a.x);
            const double fy = std::max(a.y - min_y(box), max_y(box) - a.y);
            if (fx * fx + fy * fy <= r * r)
                return 1.0; // the circle holds the bounding box
            m_sweep.add_disc(a.x, a.y, r);
            continue;
        }
        const GEOSGeometry *g = reaching_geometry(layer, v, i);
        if (!g)
            continue;
        const auto paths = ffi::coordinate_paths(m_ctx, g);
        if (is_line(m_ctx, g)) {
            for (const auto &path : paths)
                m_sweep.add_line(path, r);
        } else {
            m_sweep.add_polygon(paths, r);
        }
    }
    return m_sweep.covered_fraction();
}

GeosGeometry VillageEvaluator::uncovered(const AssetLayer &layer, const Village &v,
                                         const std::vector<std::uint32_t> &candidates) {
    const Box &box = v.record->extent;
    const Box clip_box = grow(box, kClipMarginM);
    std::vector<GeosGeometry> discs;
    struct LinePiece {
        double order; ///< distance from the village's box centre to the piece's box, metres
        double radius_m;
        GeosGeometry line;
    };
    std::vector<LinePiece> lines;
    const double cx = (min_x(box) + max_x(box)) / 2.0;
    const double cy = (min_y(box) + max_y(box)) / 2.0;
    for (const std::uint32_t i : candidates) {
        const AssetRecord &a = layer.assets[i];
        const double r = a.radius_m;
        if (a.is_point) {
            if (box_distance(box, a.x, a.y) > r)
                continue; // the circle misses the bounding box
            const double rho = r * m_disc_scale;
            const Box disc_box(Point(a.x - rho, a.y - rho), Point(a.x + rho, a.y + rho));
            auto disc = clip(m_ctx, ffi::translate(m_ctx, disc_at_origin(rho), a.x, a.y), disc_box,
                             clip_box);
            if (!ffi::is_empty(m_ctx, disc.get()))
                discs.push_back(std::move(disc));
            continue;
        }
        const GEOSGeometry *g = reaching_geometry(layer, v, i);
        if (!g)
            continue;
        if (is_line(m_ctx, g)) {
            // Only the part of a line within r of the bounding box can reach the village;
            // buffering just that part keeps long roads cheap and changes nothing inside.
            const auto part =
                clip(m_ctx, ffi::clone(m_ctx, g), a.extent, grow(box, r + kClipMarginM));
            std::vector<GeosGeometry> parts;
            collect_lines(m_ctx, part.get(), parts);
            for (auto &line : parts) {
                const Box e = envelope(m_ctx, line.get());
                lines.push_back({box_distance(e, cx, cy), r, std::move(line)});
            }
        } else {
            discs.push_back(ffi::buffer_round(m_ctx, g, r, m_quadrant_segments));
        }
    }

    GeosGeometry rest;
    if (discs.empty()) {
        rest = ffi::clone(m_ctx, v.geom.get());
    } else {
        const auto all = ffi::collect(m_ctx, GEOS_GEOMETRYCOLLECTION, std::move(discs));
        const auto united =
            ffi::own(m_ctx, GEOSUnaryUnion_r(m_ctx.handle(), all.get()), "GEOSUnaryUnion");
        rest = ffi::own(m_ctx, GEOSDifference_r(m_ctx.handle(), v.geom.get(), united.get()),
                        "GEOSDifference");
    }
    // Corridors of a road network overlap heavily: buffering and uniting them all costs far
    // more than cutting them one by one out of what is still uncovered, nearest first, which
    // stops as soon as nothing is left.
    std::stable_sort(lines.begin(), lines.end(),
                     [](const LinePiece &a, const LinePiece &b) { return a.order < b.order; });
    for (auto &piece : lines) {
        if (ffi::is_empty(m_ctx, rest.get()))
            break;
        if (box_distance(envelope(m_ctx, rest.get()), envelope(m_ctx, piece.line.get())) >
            piece.radius_m)
            continue;
        const auto corridor =
            ffi::buffer_round(m_ctx, piece.line.get(), piece.radius_m, m_quadrant_segments);
        rest = ffi::own(m_ctx, GEOSDifference_r(m_ctx.handle(), rest.get(), corridor.get()),
                        "GEOSDifference");
    }
    return rest;
}

TypeMetrics VillageEvaluator::evaluate_layer(const AssetLayer &layer, const Village &v,
                                             VillageMetrics &out, GapDetail *gap) {
    m_geometry_cache.clear();
    TypeMetrics m;
    const Box &box = v.record->extent;
    std::vector<std::uint32_t> candidates;
    query(layer.reach, bgi::intersects(box), candidates);
    std::sort(candidates.begin(), candidates.end());

    if (layer.is_road) {
        const bool is_rural_road = layer.type == "rural_road";
        for (const std::uint32_t i : candidates) {
            const AssetRecord &a = layer.assets[i];
            if (!bg::intersects(a.extent, box))
                continue;
            const GEOSGeometry *g = geometry(layer, i);
            if (!ffi::predicate(m_ctx,
                                GEOSPreparedIntersects_r(m_ctx.handle(), v.prepared.get(), g),
                                "GEOSPreparedIntersects"))
                continue;
            ++m.n;
            if (!is_rural_road)
                continue;
            double length_m = 0.0;
            if (ffi::predicate(m_ctx, GEOSPreparedCovers_r(m_ctx.handle(), v.prepared.get(), g),
                               "GEOSPreparedCovers")) {
                length_m = ffi::length(m_ctx, g);
            } else {
                const auto inside = ffi::own(
                    m_ctx, GEOSIntersection_r(m_ctx.handle(), v.geom.get(), g), "GEOSIntersection");
                length_m = ffi::length(m_ctx, inside.get());
            }
            out.road_km += length_m / 1000.0;
            if (a.hardened)
                out.hardened_km += length_m / 1000.0;
        }
    } else if (const auto it = layer.count_by_village.find(v.record->code);
               it != layer.count_by_village.end()) {
        m.n = it->second;
    }

    m.area_cov = v.area_m2 > 0.0 ? covered_fraction(layer, v, candidates) : 0.0;

    std::int64_t covered_population = 0;
    std::vector<std::uint32_t> uncovered_settlements;
    std::vector<std::uint32_t> reaching;
    for (const std::uint32_t s_index : *v.settlements) {
        const SettlementRecord &s = m_data.settlements[s_index];
        reaching.clear();
        query(layer.reach, bgi::intersects(Point(s.x, s.y)), reaching);
        std::sort(reaching.begin(), reaching.end());
        GeosGeometry point;
        bool covered = false;
        for (const std::uint32_t i : reaching) {
            const AssetRecord &a = layer.assets[i];
            if (!a.is_point && !point)
                point = ffi::make_point(m_ctx, s.x, s.y);
            if (distance_to(layer, i, s.x, s.y, point.get()) <= a.radius_m) {
                covered = true;
                break;
            }
        }
        if (covered)
            covered_population += s.population;
        else
            uncovered_settlements.push_back(s_index);
    }
    if (v.population > 0) {
        m.pop_cov = static_cast<double>(covered_population) / static_cast<double>(v.population);
        m.uncovered_population = v.population - covered_population;
    }
    m.cov = m.pop_cov.value_or(m.area_cov);
    m.gap = m.cov < layer.threshold;
    m.nearest_m = nearest(layer, v.demand_x, v.demand_y);

    if (gap && m.gap) {
        const GeosGeometry rest = uncovered(layer, v, candidates);
        const auto polygons = ffi::to_multipolygon(m_ctx, rest.get());
        gap->uncovered_area_m2 = ffi::area(m_ctx, polygons.get());
        if (!ffi::is_empty(m_ctx, polygons.get()))
            gap->uncovered_wkb = ffi::write_wkb(m_ctx, polygons.get());
        for (const std::uint32_t s_index : uncovered_settlements) {
            const SettlementRecord &s = m_data.settlements[s_index];
            gap->uncovered_settlements.emplace_back(s_index, nearest(layer, s.x, s.y));
        }
    }
    return m;
}

VillageMetrics VillageEvaluator::evaluate(std::uint32_t index, std::vector<GapDetail> *gaps) {
    const VillageRecord &record = m_data.villages[index];
    Village v;
    v.record = &record;
    v.geom = ffi::read_wkb(m_ctx, record.wkb);
    v.prepared = ffi::prepare(m_ctx, v.geom.get());
    v.area_m2 = ffi::area(m_ctx, v.geom.get());
    if (record.seat) {
        v.demand_x = record.seat->first;
        v.demand_y = record.seat->second;
    } else {
        const auto p = ffi::own(m_ctx, GEOSPointOnSurface_r(m_ctx.handle(), v.geom.get()),
                                "GEOSPointOnSurface");
        if (!GEOSGeomGetX_r(m_ctx.handle(), p.get(), &v.demand_x) ||
            !GEOSGeomGetY_r(m_ctx.handle(), p.get(), &v.demand_y))
            m_ctx.fail("GEOSGeomGetX");
    }
    m_sweep.reset(ffi::coordinate_paths(m_ctx, v.geom.get()));
    v.settlements = &m_data.settlements_of[index];
    for (const std::uint32_t s : *v.settlements)
        v.population += m_data.settlements[s].population;

    VillageMetrics out;
    out.code = record.code;
    out.name = record.name;
    out.township = record.township;
    out.area_m2 = v.area_m2;
    out.settlement_population = v.population;
    out.types.reserve(m_data.layers.size());
    for (std::size_t i = 0; i < m_data.layers.size(); ++i)
        out.types.push_back(evaluate_layer(m_data.layers[i], v, out, gaps ? &(*gaps)[i] : nullptr));
    out.road_density = v.area_m2 > 0.0 ? out.road_km / (v.area_m2 / 1e6) : 0.0;
    m_geometry_cache.clear();
    return out;
}

} // namespace qiancun::metrics
