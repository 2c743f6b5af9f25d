#include "network/analysis.hpp"

#include "network/road_graph_impl.hpp"

#include "ffi/geos.hpp"
#include "metrics/parallel.hpp"
#include "metrics/spatial_table.hpp"
#include "qiancun/error.hpp"
#include "qiancun/log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "qiancun/i18n.hpp"

namespace qiancun {

namespace {

using network::Attachment;
using network::RoadGraph;
using network::RoadLine;
using network::Source;
using network::XY;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kSecondsPerMinute = 60.0;
using Seconds = std::chrono::duration<double>;

/// `config` with every kind of the registry it lacks taken from the defaults.
MetricsConfig complete(const MetricsConfig &config, const Registry &registry) {
    MetricsConfig full = config;
    for (auto &[key, tc] : MetricsConfig::defaults(registry.kinds()).types)
        full.types.try_emplace(key, std::move(tc));
    return full;
}

/// Every LineString part of the serving roads, with their road ids and their speeds by grade and
/// surface.
std::vector<RoadLine> load_roads(const Registry &registry, const MetricsConfig &config) {
    metrics::require_planar_crs(registry);
    std::vector<RoadLine> lines;
    if (!registry.has_table("rural_road"))
        return lines;
    auto &ctx = ffi::geos_context();
    GEOSContextHandle_t h = ctx.handle();
    registry.scan(
        {.table = "rural_road",
         .columns = {"id", "status", "grade", "surface"},
         .wkb = true,
         .where = {ScanCondition::not_null("geom")},
         .order_by = {"id"}},
        [&](const ScanRow &st) {
            if (!config.serves(st.text(1)))
                return;
            const std::string id = st.text(0);
            const double speed_kmh = config.road_speed_kmh(st.text(2), st.text(3));
            const auto geom = ffi::read_wkb(ctx, st.wkb);
            const int parts = GEOSGetNumGeometries_r(h, geom.get());
            for (int p = 0; p < parts; ++p) {
                const GEOSGeometry *part = GEOSGetGeometryN_r(h, geom.get(), p);
                if (GEOSGeomTypeId_r(h, part) != GEOS_LINESTRING)
                    continue;
                const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(h, part);
                unsigned int n = 0;
                if (!seq || !GEOSCoordSeq_getSize_r(h, seq, &n))
                    ctx.fail("GEOSGeom_getCoordSeq");
                RoadLine line{id, {}, speed_kmh};
                line.points.resize(n);
                for (unsigned int i = 0; i < n; ++i)
                    if (!GEOSCoordSeq_getXY_r(h, seq, i, &line.points[i].x, &line.points[i].y))
                        ctx.fail("GEOSCoordSeq_getXY");
                lines.push_back(std::move(line));
            }
        });
    return lines;
}

/// Where a serving asset joins the network: a point once, a footprint where roads cross it.
std::vector<Attachment> attach_asset(const RoadGraph &graph, const metrics::AssetRecord &a) {
    if (!a.is_point)
        return graph.attach_footprint_all(a.wkb);
    std::vector<Attachment> out;
    if (auto at = graph.attach(XY{a.x, a.y}))
        out.push_back(*at);
    return out;
}

/// Sources for every asset of `layer` that has an attachment; `asset_of` maps sources back.
std::vector<Source> asset_sources(const RoadGraph &graph, const metrics::AssetLayer &layer,
                                  std::optional<double> radius_m,
                                  std::vector<std::uint32_t> &asset_of) {
    std::vector<Source> sources;
    asset_of.clear();
    for (std::uint32_t i = 0; i < layer.assets.size(); ++i)
        for (const Attachment &at : attach_asset(graph, layer.assets[i])) {
            sources.push_back({at, radius_m ? *radius_m : layer.assets[i].radius_m});
            asset_of.push_back(i);
        }
    return sources;
}

/// The demand point of a village (SPEC §3): its seat, else GEOS point-on-surface.
XY demand_point(const metrics::VillageRecord &v) {
    if (v.seat)
        return XY{v.seat->first, v.seat->second};
    auto &ctx = ffi::geos_context();
    const auto g = ffi::read_wkb(ctx, v.wkb);
    const auto p = ffi::own(ctx, GEOSPointOnSurface_r(ctx.handle(), g.get()), "GEOSPointOnSurface");
    XY out;
    if (!GEOSGeomGetX_r(ctx.handle(), p.get(), &out.x) ||
        !GEOSGeomGetY_r(ctx.handle(), p.get(), &out.y))
        ctx.fail("GEOSGeomGetX");
    return out;
}

std::string line_wkb(const std::vector<XY> &points) {
    auto &ctx = ffi::geos_context();
    GEOSContextHandle_t h = ctx.handle();
    GEOSCoordSequence *seq = GEOSCoordSeq_create_r(h, static_cast<unsigned>(points.size()), 2);
    if (!seq)
        ctx.fail("GEOSCoordSeq_create");
    for (unsigned i = 0; i < points.size(); ++i)
        GEOSCoordSeq_setXY_r(h, seq, i, points[i].x, points[i].y);
    const auto line =
        ffi::own(ctx, GEOSGeom_createLineString_r(h, seq), "GEOSGeom_createLineString");
    return ffi::write_wkb(ctx, line.get());
}

void check_point_type(const Registry &registry, const std::string &type) {
    const KindDef &kind = registry.kind(type); // UsageError naming the known kinds
    if (!kind.is_asset())
        throw UsageError(fmt::format(fmt::runtime(_("'{}' is not an asset type")), type));
    if (kind.geometry == GeometryKind::line)
        throw UsageError(
            fmt::format(fmt::runtime(_("'{}' is a line type: network distances are measured from "
                                       "point and polygon assets")),
                        type));
}

} // namespace

network::RoadGraph build_road_graph(const Registry &registry, const MetricsConfig &config,
                                    bool full_noding) {
    const auto started = std::chrono::steady_clock::now();
    network::GraphOptions options;
    options.snap_tolerance_m = config.snap_tolerance_m;
    options.offroad_cap_m = config.offroad_cap_m;
    options.full_noding = full_noding;
    options.offroad_speed_kmh = config.offroad_speed_kmh;
    auto graph = RoadGraph::build(load_roads(registry, config), options);
    log(LogLevel::info,
        fmt::format(fmt::runtime(_("road graph: {} nodes, {} edges, {:.1f} km in {:.2f} s")),
                    graph.node_count(), graph.edge_count(), graph.length_m() / 1000.0,
                    Seconds(std::chrono::steady_clock::now() - started).count()));
    return graph;
}

namespace network {

void add_network_metrics(const RoadGraph &graph, const metrics::Dataset &data, int threads,
                         MetricsTable &table) {
    const std::size_t nv = data.villages.size();
    const std::size_t ns = data.settlements.size();
    // Every place joins the network once, for all types.
    std::vector<std::optional<Attachment>> demand(nv);
    std::vector<std::optional<Attachment>> settled(ns);
    metrics::for_each_parallel(nv + ns, metrics::thread_count(threads, nv + ns), [&] {
        return [&](std::size_t i) {
            if (i < nv)
                demand[i] = graph.attach(demand_point(data.villages[i]));
            else
                settled[i - nv] =
                    graph.attach(XY{data.settlements[i - nv].x, data.settlements[i - nv].y});
        };
    });

    // Two searches per type, each one multi-source Dijkstra from every serving asset:
    //  - nearest: plain distances, unbounded (net_nearest_T_m has no limit);
    //  - coverage: radii differ per asset (own radius, 5G band), and a settlement is covered
    //    when SOME asset A reaches it within r(A). Seeding each asset with −r(A) makes the
    //    search minimise d(A, ·) − r(A), the negated remaining budget, so one search answers
    //    "min over A of d(A, s) − r(A) ≤ 0" exactly, bounded at 0, i.e. at the largest radius.
    //    Grouping assets by radius would need one search per distinct radius, and an asset's
    //    own service_radius_m can make those many.
    std::vector<std::size_t> layers;
    for (std::size_t t = 0; t < data.layers.size(); ++t)
        if (!data.layers[t].is_road)
            layers.push_back(t);
    const std::size_t tasks = 2 * layers.size();
    metrics::for_each_parallel(tasks, metrics::thread_count(threads, tasks), [&] {
        return [&](std::size_t task) {
            const std::size_t t = layers[task / 2];
            const bool coverage = task % 2 == 1;
            std::vector<std::uint32_t> asset_of;
            auto sources =
                asset_sources(graph, data.layers[t],
                              coverage ? std::nullopt : std::optional<double>(0.0), asset_of);
            const ShortestPaths sp = graph.search(std::move(sources), coverage ? 0.0 : kInf);
            for (std::size_t v = 0; v < nv; ++v) {
                TypeMetrics &m = table.villages[v].types[t];
                if (!coverage) {
                    const auto r = demand[v] ? sp.reach(*demand[v]) : std::nullopt;
                    m.net_nearest_m = r ? std::optional<double>(r->distance_m) : std::nullopt;
                    continue;
                }
                std::int64_t total = 0;
                std::int64_t covered = 0;
                for (const std::uint32_t s : data.settlements_of[v]) {
                    total += data.settlements[s].population;
                    if (settled[s] && sp.reach(*settled[s]))
                        covered += data.settlements[s].population;
                }
                m.net_pop_cov = total > 0 ? std::optional<double>(static_cast<double>(covered) /
                                                                  static_cast<double>(total))
                                          : std::nullopt;
            }
        };
    });
    table.network = true;
}

void add_network_metrics(const Registry &registry, const MetricsConfig &config,
                         const metrics::Dataset &data, int threads, MetricsTable &table) {
    const auto started = std::chrono::steady_clock::now();
    const RoadGraph graph = build_road_graph(registry, config);
    add_network_metrics(graph, data, threads, table);
    log(LogLevel::info, fmt::format(fmt::runtime(_("network metrics in {:.2f} s")),
                                    Seconds(std::chrono::steady_clock::now() - started).count()));
}

} // namespace network

ServiceArea compute_service_area(const Registry &registry, const MetricsConfig &config,
                                 const ServiceAreaOptions &options) {
    check_point_type(registry, options.type);
    if (!(options.width_m > 0.0))
        throw UsageError(fmt::format(fmt::runtime(_("the buffer width must be positive, not {}")),
                                     options.width_m));
    if (options.distance_m && !(*options.distance_m > 0.0))
        throw UsageError(fmt::format(
            fmt::runtime(_("the service distance must be positive, not {}")), *options.distance_m));
    if (options.minutes && !(*options.minutes > 0.0 && std::isfinite(*options.minutes)))
        throw UsageError(fmt::format(
            fmt::runtime(_("the service time must be a positive number of minutes, not {}")),
            *options.minutes));
    if (options.distance_m && options.minutes)
        throw UsageError(_("a service area is bounded by a distance or by a time, not both"));
    const network::Cost cost = options.minutes ? network::Cost::time : network::Cost::length;
    const MetricsConfig full = complete(config, registry);
    const auto data = metrics::load_dataset(registry, full, {options.type}, {});
    const metrics::AssetLayer &layer = data.layers.front();
    const RoadGraph graph = build_road_graph(registry, full, options.full_noding);

    std::vector<std::uint32_t> asset_of;
    auto sources = asset_sources(
        graph, layer, options.minutes ? std::optional<double>(0.0) : options.distance_m, asset_of);
    if (options.minutes)
        for (Source &s : sources)
            s.budget_s = *options.minutes * kSecondsPerMinute;
    const network::ShortestPaths sp = graph.search(sources, 0.0, cost);

    ServiceArea area;
    area.type = options.type;
    area.cost = cost;
    area.width_m = options.width_m;
    std::map<std::uint32_t, std::vector<std::uint32_t>> lines_of; // by asset
    for (auto &piece : sp.reached()) {
        ServiceAreaLine line;
        line.facility = layer.assets[asset_of[piece.source]].id;
        line.road_id = graph.edge(piece.edge).road_id;
        line.from_m = piece.start_m;
        line.distance_m = piece.end_m;
        line.from_min = piece.start_s / kSecondsPerMinute;
        line.minutes = piece.end_s / kSecondsPerMinute;
        line.wkb = line_wkb(piece.points);
        lines_of[asset_of[piece.source]].push_back(static_cast<std::uint32_t>(area.lines.size()));
        area.lines.push_back(std::move(line));
    }

    auto &ctx = ffi::geos_context();
    for (std::uint32_t s = 0; s < sources.size(); ++s) {
        if (s > 0 && asset_of[s] == asset_of[s - 1]) {
            // Another way into the same footprint.
            auto &f = area.facilities.back();
            f.leg_m = std::min(f.leg_m, sources[s].at.leg_m);
            f.on_network = f.on_network || graph.within_cap(sources[s].at);
            continue;
        }
        const auto &a = layer.assets[asset_of[s]];
        ServiceAreaFacility f;
        f.facility = a.id;
        f.reach_m = options.minutes ? 0.0 : sources[s].radius_m;
        f.reach_min = options.minutes.value_or(0.0);
        f.leg_m = sources[s].at.leg_m;
        f.on_network = graph.within_cap(sources[s].at);
        const auto it = lines_of.find(asset_of[s]);
        if (it != lines_of.end()) {
            std::vector<ffi::GeosGeometry> parts;
            for (const std::uint32_t l : it->second)
                parts.push_back(ffi::read_wkb(ctx, area.lines[l].wkb));
            const auto lines = ffi::collect(ctx, GEOS_MULTILINESTRING, std::move(parts));
            f.road_km = ffi::length(ctx, lines.get()) / 1000.0;
            const auto buffer = ffi::to_multipolygon(
                ctx,
                ffi::buffer_round(ctx, lines.get(), options.width_m, full.quadrant_segments).get());
            f.area_km2 = ffi::area(ctx, buffer.get()) / 1e6;
            f.buffer_wkb = ffi::write_wkb(ctx, buffer.get());
        }
        area.facilities.push_back(std::move(f));
    }
    return area;
}

void write_service_area_layers(Registry &registry, const ServiceArea &area) {
    metrics::working_srid(registry); // UsageError before anything is written
    (void)registry.kind(area.type);  // UsageError for an unknown type
    const std::string lines = "service_area_" + area.type;
    const std::string buffers = lines + "_buffer";
    const bool by_time = area.cost == network::Cost::time;
    Registry::Transaction tx(registry);
    std::vector<metrics::ColumnDef> line_columns{{"facility", ColumnType::text},
                                                 {"road_id", ColumnType::text},
                                                 {"from_m", ColumnType::real},
                                                 {"distance_m", ColumnType::real}};
    if (by_time) {
        line_columns.push_back({"from_min", ColumnType::real});
        line_columns.push_back({"minutes", ColumnType::real});
    }
    auto line_layer =
        registry.create_result_layer(lines, line_columns, "LINESTRING", "service-area");
    std::vector<Value> values;
    for (const auto &l : area.lines) {
        values = {l.facility, l.road_id, l.from_m, l.distance_m};
        if (by_time) {
            values.emplace_back(l.from_min);
            values.emplace_back(l.minutes);
        }
        line_layer->add(values, l.wkb);
    }
    auto buffer_layer =
        registry.create_result_layer(buffers,
                                     {{"facility", ColumnType::text},
                                      {by_time ? "reach_min" : "reach_m", ColumnType::real},
                                      {"width_m", ColumnType::real},
                                      {"leg_m", ColumnType::real},
                                      {"road_km", ColumnType::real},
                                      {"area_km2", ColumnType::real}},
                                     "MULTIPOLYGON", "service-area");
    for (const auto &f : area.facilities) {
        if (f.buffer_wkb.empty())
            continue;
        buffer_layer->add(std::vector<Value>{f.facility, by_time ? f.reach_min : f.reach_m,
                                             area.width_m, f.leg_m, f.road_km, f.area_km2},
                          f.buffer_wkb);
    }
    tx.commit();
}

Route route_to_nearest(const Registry &registry, const MetricsConfig &config,
                       const std::string &from, const std::string &type, network::Cost cost) {
    check_point_type(registry, type);
    const MetricsConfig full = complete(config, registry);
    Route route;
    route.from_id = from;
    route.type = type;
    route.cost = cost;
    std::vector<std::string> codes;
    std::optional<XY> start;
    if (registry.has_table("village"))
        registry.scan({.table = "village",
                       .columns = {"code"},
                       .where = {ScanCondition::eq("code", from), ScanCondition::not_null("geom")},
                       .limit = 1},
                      [&](const ScanRow &) {
                          route.from_kind = "village";
                          codes.push_back(from);
                      });
    if (route.from_kind.empty() && registry.has_table("settlement"))
        registry.scan({.table = "settlement",
                       .columns = {"village_code"},
                       .xy = true,
                       .where = {ScanCondition::eq("id", from), ScanCondition::not_null("geom")},
                       .limit = 1},
                      [&](const ScanRow &st) {
                          if (!st.xy)
                              return;
                          route.from_kind = "settlement";
                          start = XY{st.xy->first, st.xy->second};
                          if (!st.is_null(0))
                              codes.push_back(st.text(0));
                      });
    if (route.from_kind.empty())
        throw UsageError(
            fmt::format(fmt::runtime(_("'{}' is neither a village code nor a settlement id in {}")),
                        from, registry.display()));
    const auto data = metrics::load_dataset(registry, full, {type}, codes);
    if (!start)
        start = demand_point(data.villages.front());

    const RoadGraph graph = build_road_graph(registry, full);
    const auto start_at = graph.attach(*start);
    if (!start_at)
        return route;
    route.start_leg_m = start_at->leg_m;
    const bool by_time = cost == network::Cost::time;
    const network::ShortestPaths sp = graph.search({Source{*start_at, 0.0}}, kInf, cost);
    const metrics::AssetLayer &layer = data.layers.front();
    double best = kInf;
    std::optional<network::Reach> best_reach;
    std::optional<Attachment> best_at;
    for (const auto &a : layer.assets) // ordered by id: ties go to the smaller id
        for (const Attachment &at : attach_asset(graph, a)) {
            const auto r = sp.reach(at);
            if (r && (by_time ? r->seconds : r->distance_m) < best) {
                best = by_time ? r->seconds : r->distance_m;
                best_reach = r;
                best_at = at;
                route.asset_id = a.id;
            }
        }
    if (!best_at)
        return route;
    route.distance_m = best_reach->distance_m;
    route.minutes = best_reach->seconds / kSecondsPerMinute;
    route.end_leg_m = best_at->leg_m;
    route.wkb = line_wkb(sp.path_to(*best_at));
    return route;
}

void write_route_layer(Registry &registry, const Route &route) {
    metrics::working_srid(registry); // UsageError before anything is written
    const bool by_time = route.cost == network::Cost::time;
    Registry::Transaction tx(registry);
    std::vector<metrics::ColumnDef> columns{
        {"from_kind", ColumnType::text},  {"from_id", ColumnType::text},
        {"type", ColumnType::text},       {"asset_id", ColumnType::text},
        {"distance_m", ColumnType::real}, {"start_leg_m", ColumnType::real},
        {"end_leg_m", ColumnType::real}};
    if (by_time)
        columns.push_back({"minutes", ColumnType::real});
    auto layer = registry.create_result_layer("route", columns, "LINESTRING", "route");
    if (!route.wkb.empty()) {
        std::vector<Value> values{route.from_kind, route.from_id,    route.type,
                                  route.asset_id,  route.distance_m, route.start_leg_m,
                                  route.end_leg_m};
        if (by_time)
            values.emplace_back(route.minutes);
        layer->add(values, route.wkb);
    }
    tx.commit();
}

NetworkReport network_report(const Registry &registry, const MetricsConfig &config) {
    const MetricsConfig full = complete(config, registry);
    const RoadGraph graph = build_road_graph(registry, full);
    NetworkReport report;
    report.nodes = static_cast<std::int64_t>(graph.node_count());
    report.edges = static_cast<std::int64_t>(graph.edge_count());
    report.km = graph.length_m() / 1000.0;
    report.snap_tolerance_m = full.snap_tolerance_m;
    const auto components = graph.components();

    // Villages (for the disconnected pieces only: the main network touches nearly all).
    struct Village {
        std::string code;
        ffi::GeosGeometry geom;
    };
    auto &ctx = ffi::geos_context();
    std::vector<Village> villages;
    std::vector<std::pair<network::BBox, std::uint32_t>> boxes;
    if (components.size() > 1 && registry.has_table("village"))
        registry.scan({.table = "village",
                       .columns = {"code"},
                       .wkb = true,
                       .bbox = true,
                       .where = {ScanCondition::not_null("geom")},
                       .order_by = {"code"}},
                      [&](const ScanRow &st) {
                          const auto &b = st.bbox.value_or(std::array<double, 4>{});
                          boxes.emplace_back(network::BBox(network::BPoint(b[0], b[1]),
                                                           network::BPoint(b[2], b[3])),
                                             static_cast<std::uint32_t>(villages.size()));
                          villages.push_back({st.text(0), ffi::read_wkb(ctx, st.wkb)});
                      });
    const boost::geometry::index::rtree<std::pair<network::BBox, std::uint32_t>,
                                        boost::geometry::index::rstar<16>>
        tree(boxes.begin(), boxes.end());

    for (std::size_t c = 0; c < components.size(); ++c) {
        NetworkPiece piece;
        piece.edges = static_cast<std::int64_t>(components[c].edges.size());
        piece.km = components[c].length_m / 1000.0;
        if (c > 0 && !villages.empty()) {
            std::vector<ffi::GeosGeometry> parts;
            network::BBox box;
            boost::geometry::assign_inverse(box);
            for (const std::uint32_t e : components[c].edges) {
                const auto pts = graph.edge_points(e);
                for (const XY &p : pts)
                    boost::geometry::expand(box, network::BPoint(p.x, p.y));
                parts.push_back(ffi::read_wkb(ctx, line_wkb(pts)));
            }
            const auto lines = ffi::collect(ctx, GEOS_MULTILINESTRING, std::move(parts));
            std::vector<std::pair<network::BBox, std::uint32_t>> found;
            tree.query(boost::geometry::index::intersects(box), std::back_inserter(found));
            std::set<std::string> codes;
            for (const auto &[b, v] : found)
                if (ffi::predicate(
                        ctx, GEOSIntersects_r(ctx.handle(), villages[v].geom.get(), lines.get()),
                        "GEOSIntersects"))
                    codes.insert(villages[v].code);
            piece.villages.assign(codes.begin(), codes.end());
        }
        report.pieces.push_back(std::move(piece));
    }
    return report;
}

} // namespace qiancun
