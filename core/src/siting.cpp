#include "qiancun/siting.hpp"

#include "ffi/geos.hpp"
#include "metrics/dataset.hpp"
#include "metrics/parallel.hpp"
#include "qiancun/error.hpp"
#include "qiancun/log.hpp"
#include "qiancun/metrics.hpp"
#include "qiancun/network.hpp"
#include "siting/cover.hpp"

#include <boost/geometry.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <queue>
#include <set>
#include <unordered_set>

#include "qiancun/i18n.hpp"

namespace qiancun {

namespace {

namespace bgi = boost::geometry::index;
using metrics::Box;
using metrics::BoxEntry;
using metrics::BoxTree;
using metrics::Point;
using network::Attachment;
using network::RoadGraph;
using network::XY;
using Seconds = std::chrono::duration<double>;
using PointEntry = std::pair<Point, std::uint32_t>;
using PointTree = bgi::rtree<PointEntry, bgi::rstar<16>>;

constexpr double kInf = std::numeric_limits<double>::infinity();
/// Cells of a candidate grid at most (a province at 100 m would be ten million).
constexpr double kMaxGridCells = 4e6;

/// A place a site may go.
struct Candidate {
    double x = 0.0;
    double y = 0.0;
    std::string id;
    std::string village_code;
};

double planar_distance(double ax, double ay, double bx, double by) {
    const double dx = ax - bx;
    const double dy = ay - by;
    return std::sqrt(dx * dx + dy * dy);
}

XY point_on_surface(ffi::GeosContext &ctx, const std::string &wkb) {
    const auto g = ffi::read_wkb(ctx, wkb);
    const auto p = ffi::own(ctx, GEOSPointOnSurface_r(ctx.handle(), g.get()), "GEOSPointOnSurface");
    XY out;
    if (!GEOSGeomGetX_r(ctx.handle(), p.get(), &out.x) ||
        !GEOSGeomGetY_r(ctx.handle(), p.get(), &out.y))
        ctx.fail("GEOSGeomGetX");
    return out;
}

/// Polygons with an R-tree on their extents: which one holds a point.
class PolygonIndex {
public:
    explicit PolygonIndex(ffi::GeosContext &ctx) : m_ctx(ctx) {}

    void add(const std::string &wkb, const Box &extent) {
        m_geoms.push_back(ffi::read_wkb(m_ctx, wkb));
        m_prepared.push_back(ffi::prepare(m_ctx, m_geoms.back().get()));
        m_entries.emplace_back(extent, static_cast<std::uint32_t>(m_geoms.size() - 1));
    }
    void build() { m_tree = BoxTree(m_entries.begin(), m_entries.end()); }
    bool empty() const { return m_geoms.empty(); }

    /// The lowest index of a polygon that holds (x, y), boundary included; -1 when none.
    std::int64_t find(double x, double y) const {
        std::vector<BoxEntry> hits;
        m_tree.query(bgi::intersects(Point(x, y)), std::back_inserter(hits));
        if (hits.empty())
            return -1;
        std::sort(hits.begin(), hits.end(),
                  [](const BoxEntry &a, const BoxEntry &b) { return a.second < b.second; });
        const auto p = ffi::make_point(m_ctx, x, y);
        for (const auto &h : hits)
            if (ffi::predicate(
                    m_ctx,
                    GEOSPreparedIntersects_r(m_ctx.handle(), m_prepared[h.second].get(), p.get()),
                    "GEOSPreparedIntersects"))
                return h.second;
        return -1;
    }

private:
    ffi::GeosContext &m_ctx;
    std::vector<ffi::GeosGeometry> m_geoms;
    std::vector<ffi::GeosPrepared> m_prepared;
    std::vector<BoxEntry> m_entries;
    BoxTree m_tree;
};

/// "grid:250" → 250; nothing when `source` is not a grid.
std::optional<double> grid_side(const std::string &source) {
    if (!source.starts_with("grid:"))
        return std::nullopt;
    const std::string text = source.substr(5);
    double side = 0.0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), side);
    if (ec != std::errc() || end != text.data() + text.size() || !(side > 0.0) ||
        !std::isfinite(side))
        throw UsageError(fmt::format(
            fmt::runtime(_("--candidates {}: the grid needs a cell size in metres above "
                           "0, e.g. grid:250")),
            source));
    return side;
}

/// The SPEC §3 road graph of the serving roads as plain adjacency, for many small searches.
struct Adjacency {
    std::vector<std::uint32_t> first;                   ///< per node, into `arcs`
    std::vector<std::pair<std::uint32_t, double>> arcs; ///< (node, metres)
    std::vector<std::uint32_t> a;                       ///< per edge: first node
    std::vector<std::uint32_t> b;                       ///< per edge: last node
    std::vector<double> length_m;                       ///< per edge

    explicit Adjacency(const RoadGraph &graph) {
        const std::size_t ne = graph.edge_count();
        const std::size_t nn = graph.node_count();
        a.resize(ne);
        b.resize(ne);
        length_m.resize(ne);
        first.assign(nn + 1, 0);
        for (std::uint32_t e = 0; e < ne; ++e) {
            const auto info = graph.edge(e);
            a[e] = info.first_node;
            b[e] = info.last_node;
            length_m[e] = info.length_m;
            ++first[a[e] + 1];
            ++first[b[e] + 1];
        }
        for (std::size_t i = 0; i < nn; ++i)
            first[i + 1] += first[i];
        arcs.resize(first[nn]);
        std::vector<std::uint32_t> next(first.begin(), first.end() - 1);
        for (std::uint32_t e = 0; e < ne; ++e) {
            arcs[next[a[e]]++] = {b[e], length_m[e]};
            arcs[next[b[e]]++] = {a[e], length_m[e]};
        }
    }
};

/// One thread's bounded Dijkstra from one attachment, reusing its arrays.
class LocalSearch {
public:
    explicit LocalSearch(const Adjacency &adj) : m_adj(adj), m_dist(adj.first.size() - 1, kInf) {}

    /// Node distances (off-road leg included) from `from`, settled up to `bound_m`.
    void run(const Attachment &from, double bound_m) {
        for (const std::uint32_t n : m_touched)
            m_dist[n] = kInf;
        m_touched.clear();
        m_from = from;
        using Item = std::pair<double, std::uint32_t>;
        std::priority_queue<Item, std::vector<Item>, std::greater<>> queue;
        auto relax = [&](std::uint32_t node, double d) {
            if (d <= bound_m && d < m_dist[node]) {
                if (m_dist[node] == kInf)
                    m_touched.push_back(node);
                m_dist[node] = d;
                queue.emplace(d, node);
            }
        };
        relax(m_adj.a[from.edge], from.leg_m + from.offset_m);
        relax(m_adj.b[from.edge], from.leg_m + (m_adj.length_m[from.edge] - from.offset_m));
        while (!queue.empty()) {
            const auto [d, node] = queue.top();
            queue.pop();
            if (d > m_dist[node])
                continue;
            for (std::uint32_t i = m_adj.first[node]; i < m_adj.first[node + 1]; ++i)
                relax(m_adj.arcs[i].first, d + m_adj.arcs[i].second);
        }
    }

    /// Network distance from the last `run`'s attachment to `to` (both legs), metres.
    double distance_to(const Attachment &to) const {
        double d = kInf;
        if (to.edge == m_from.edge)
            d = m_from.leg_m + std::fabs(m_from.offset_m - to.offset_m);
        d = std::min(d, m_dist[m_adj.a[to.edge]] + to.offset_m);
        d = std::min(d, m_dist[m_adj.b[to.edge]] + (m_adj.length_m[to.edge] - to.offset_m));
        return d + to.leg_m;
    }

private:
    const Adjacency &m_adj;
    std::vector<double> m_dist;
    std::vector<std::uint32_t> m_touched;
    Attachment m_from;
};

/// Where a serving asset joins the network (SPEC §3: footprints from every touching road).
std::vector<Attachment> attach_asset(const RoadGraph &graph, const metrics::AssetRecord &a) {
    if (a.is_point) {
        if (auto at = graph.attach(XY{a.x, a.y}))
            return {*at};
        return {};
    }
    return graph.attach_footprint_all(a.wkb);
}

/// Settlements the existing serving assets reach (SPEC §3 pop_cov rules), straight.
std::vector<char> covered_straight(const metrics::Dataset &data, const metrics::AssetLayer &layer) {
    auto &ctx = ffi::geos_context();
    std::vector<char> covered(data.settlements.size(), 0);
    std::map<std::uint32_t, ffi::GeosGeometry> footprints;
    std::vector<BoxEntry> hits;
    for (std::size_t s = 0; s < data.settlements.size(); ++s) {
        const auto &p = data.settlements[s];
        hits.clear();
        layer.reach.query(bgi::intersects(Point(p.x, p.y)), std::back_inserter(hits));
        ffi::GeosGeometry point;
        for (const auto &h : hits) {
            const auto &a = layer.assets[h.second];
            double d = 0.0;
            if (a.is_point) {
                d = planar_distance(p.x, p.y, a.x, a.y);
            } else {
                auto it = footprints.find(h.second);
                if (it == footprints.end())
                    it = footprints.emplace(h.second, ffi::read_wkb(ctx, a.wkb)).first;
                if (!point)
                    point = ffi::make_point(ctx, p.x, p.y);
                d = ffi::distance(ctx, point.get(), it->second.get());
            }
            if (d <= a.radius_m) {
                covered[s] = 1;
                break;
            }
        }
    }
    return covered;
}

/// … and along the roads: one multi-source search bounded at each asset's radius.
std::vector<char> covered_network(const RoadGraph &graph, const metrics::AssetLayer &layer,
                                  const std::vector<std::optional<Attachment>> &attached) {
    std::vector<network::Source> sources;
    for (const auto &a : layer.assets)
        for (const Attachment &at : attach_asset(graph, a))
            sources.push_back({at, a.radius_m});
    std::vector<char> covered(attached.size(), 0);
    if (sources.empty())
        return covered;
    const auto paths = graph.search(std::move(sources), 0.0);
    for (std::size_t s = 0; s < attached.size(); ++s)
        covered[s] = attached[s] && paths.reach(*attached[s]) ? 1 : 0;
    return covered;
}

void check_siting_type(const Registry &registry, const std::string &type) {
    const KindDef &kind = registry.kind(type); // UsageError naming the known kinds
    if (!kind.is_asset()) {
        std::vector<std::string> assets;
        for (const auto &k : registry.kinds())
            if (k.is_asset() && k.geometry != GeometryKind::line)
                assets.push_back(k.key);
        throw UsageError(
            fmt::format(fmt::runtime(_("'{}' is not an asset type; sites can be proposed for: {}")),
                        type, fmt::join(assets, ", ")));
    }
    if (kind.geometry == GeometryKind::line)
        throw UsageError(
            fmt::format(fmt::runtime(_("'{}' is a line type: sites are proposed for point and "
                                       "polygon assets")),
                        type));
}

/// Candidate places of `source`, each inside a village of scope (by `villages`).
std::vector<Candidate> load_candidates(const Registry &registry, const metrics::Dataset &data,
                                       const std::string &source, const RoadGraph *graph,
                                       const PolygonIndex &villages) {
    std::vector<Candidate> out;
    auto village_of = [&](double x, double y) -> std::string {
        const auto i = villages.find(x, y);
        return i < 0 ? std::string() : data.villages[static_cast<std::size_t>(i)].code;
    };
    auto add = [&](double x, double y, std::string id) {
        std::string code = village_of(x, y);
        if (!code.empty())
            out.push_back({x, y, std::move(id), std::move(code)});
    };
    if (source == "settlements") {
        for (const auto &s : data.settlements)
            out.push_back({s.x, s.y, s.id, s.village_code});
        return out;
    }
    if (source == "road_vertices") {
        if (!graph)
            throw Error(_("road vertices need the road graph"));
        std::set<std::pair<double, double>> seen;
        for (std::uint32_t e = 0; e < graph->edge_count(); ++e) {
            const std::string road = graph->edge(e).road_id;
            for (const XY &p : graph->edge_points(e))
                if (seen.emplace(p.x, p.y).second)
                    add(p.x, p.y, fmt::format("{}@{:.1f},{:.1f}", road, p.x, p.y));
        }
        return out;
    }
    if (const auto side = grid_side(source)) {
        if (data.villages.empty())
            return out;
        Box extent = data.villages.front().extent;
        for (const auto &v : data.villages)
            boost::geometry::expand(extent, v.extent);
        const double x0 = std::floor(extent.min_corner().get<0>() / *side) * *side;
        const double y0 = std::floor(extent.min_corner().get<1>() / *side) * *side;
        const double nx = std::ceil((extent.max_corner().get<0>() - x0) / *side);
        const double ny = std::ceil((extent.max_corner().get<1>() - y0) / *side);
        if (nx * ny > kMaxGridCells)
            throw UsageError(fmt::format(
                fmt::runtime(_("--candidates {}: {:.0f} cells over the villages' extent "
                               "(at most {:.0f}); take larger cells")),
                source, nx * ny, kMaxGridCells));
        for (double j = 0; j < ny; ++j)
            for (double i = 0; i < nx; ++i) {
                const double x = x0 + (i + 0.5) * *side;
                const double y = y0 + (j + 0.5) * *side;
                add(x, y, fmt::format("{:.0f},{:.0f}", x, y));
            }
        return out;
    }
    const KindDef *kind = nullptr;
    for (const auto &k : registry.kinds())
        if (k.key == source)
            kind = &k;
    if (!kind || kind->role == KindRole::village || kind->geometry == GeometryKind::line) {
        std::vector<std::string> layers;
        for (const auto &k : registry.kinds())
            if (k.role != KindRole::village && k.geometry != GeometryKind::line &&
                k.role != KindRole::settlement)
                layers.push_back(k.key);
        throw UsageError(fmt::format(
            fmt::runtime(_("--candidates {}: not a candidate source; use settlements, "
                           "road_vertices, grid:METRES or a point or polygon layer: {}")),
            source, fmt::join(layers, ", ")));
    }
    if (!registry.has_table(kind->key))
        return out;
    auto &ctx = ffi::geos_context();
    ScanRequest request;
    request.table = kind->key;
    request.columns = {kind->key_field()};
    request.xy = true;
    request.wkb = true;
    request.order_by = {kind->key_field()};
    registry.scan(request, [&](const ScanRow &row) {
        if (row.wkb.empty())
            return;
        const XY p = row.xy ? XY{row.xy->first, row.xy->second} : point_on_surface(ctx, row.wkb);
        add(p.x, p.y, value_to_text(row.values.at(0)));
    });
    return out;
}

/// Hazard zones as an index; empty (and said) when the registry has none.
PolygonIndex load_hazard(const Registry &registry, ffi::GeosContext &ctx) {
    PolygonIndex index(ctx);
    if (registry.has_table("hazard")) {
        ScanRequest request;
        request.table = "hazard";
        request.wkb = true;
        request.bbox = true;
        registry.scan(request, [&](const ScanRow &row) {
            if (row.wkb.empty() || !row.bbox)
                return;
            const auto &b = *row.bbox;
            index.add(row.wkb, Box(Point(b[0], b[1]), Point(b[2], b[3])));
        });
    }
    index.build();
    return index;
}

} // namespace

SitingResult plan_sites(const Registry &registry, const MetricsConfig &config,
                        const SitingOptions &options) {
    const auto started = std::chrono::steady_clock::now();
    check_siting_type(registry, options.type);
    if (options.add.has_value() == options.cover.has_value())
        throw UsageError(_("give either --add N (the number of new sites) or --cover PCT (the "
                           "share of the population to reach)"));
    if (options.add && *options.add < 1)
        throw UsageError(fmt::format(fmt::runtime(_("--add {}: at least one site")), *options.add));
    if (options.cover && !(*options.cover > 0.0 && *options.cover <= 1.0))
        throw UsageError(
            fmt::format(fmt::runtime(_("--cover {}: a share above 0 % and at most 100 %")),
                        *options.cover * 100.0));
    if (options.villages && !options.cover)
        throw UsageError(_("--villages goes with --cover PCT (the share of villages to reach)"));
    if (options.radius_m && !(*options.radius_m > 0.0 && std::isfinite(*options.radius_m)))
        throw UsageError(_("--radius must be a positive distance in metres"));
    (void)grid_side(options.candidates); // a malformed grid fails before any work

    SitingResult result;
    result.type = options.type;
    result.network = options.network;
    result.candidates = options.candidates;
    result.radius_m = options.radius_m ? *options.radius_m : config.types.at(options.type).radius_m;

    std::vector<std::string> codes;
    if (!options.township.empty())
        codes = registry.township_villages(options.township);
    const metrics::Dataset data = metrics::load_dataset(registry, config, {options.type}, codes);
    const metrics::AssetLayer &layer = data.layers.at(0);
    result.villages = static_cast<std::int64_t>(data.villages.size());

    auto &ctx = ffi::geos_context();
    PolygonIndex villages(ctx);
    for (const auto &v : data.villages)
        villages.add(v.wkb, v.extent);
    villages.build();

    std::optional<RoadGraph> graph;
    if (options.network || options.candidates == "road_vertices")
        graph.emplace(build_road_graph(registry, config));
    if (options.network && graph->edge_count() == 0)
        throw UsageError(_("--network: the registry has no serving road to measure along"));

    std::vector<Candidate> candidates =
        load_candidates(registry, data, options.candidates, graph ? &*graph : nullptr, villages);
    if (options.exclude_hazard) {
        const PolygonIndex hazard = load_hazard(registry, ctx);
        if (hazard.empty())
            log(LogLevel::warning, _("--exclude hazard: the registry has no hazard zones; no "
                                     "candidate excluded"));
        const std::size_t before = candidates.size();
        std::erase_if(candidates, [&](const Candidate &c) { return hazard.find(c.x, c.y) >= 0; });
        result.excluded_by_hazard = static_cast<std::int64_t>(before - candidates.size());
    }
    result.candidate_count = static_cast<std::int64_t>(candidates.size());
    if (candidates.empty())
        throw UsageError(fmt::format(
            fmt::runtime(_("--candidates {}: no candidate place inside the villages{}")),
            options.candidates, options.exclude_hazard ? _(" outside the hazard zones") : ""));

    // Demand: settlements with people; those the existing assets reach are covered already.
    const std::size_t ns = data.settlements.size();
    const unsigned threads = metrics::thread_count(options.threads, candidates.size());
    std::vector<std::optional<Attachment>> attached(options.network ? ns : 0);
    if (options.network)
        metrics::for_each_parallel(ns, threads, [&] {
            return [&](std::size_t s) {
                const auto at = graph->attach(XY{data.settlements[s].x, data.settlements[s].y});
                if (at && graph->within_cap(*at))
                    attached[s] = at;
            };
        });
    const std::vector<char> covered =
        options.network ? covered_network(*graph, layer, attached) : covered_straight(data, layer);

    siting::CoverInstance instance;
    std::vector<std::uint32_t> settlement_of; // demand point → settlement
    std::vector<PointEntry> open_points;
    for (std::uint32_t s = 0; s < ns; ++s) {
        const auto &p = data.settlements[s];
        if (p.population <= 0)
            continue;
        ++result.settlements;
        result.total_population += p.population;
        if (covered[s]) {
            result.covered_before += p.population;
            continue;
        }
        if (options.network && !attached[s])
            continue; // beyond the off-road cap: no site on the network reaches it
        open_points.emplace_back(Point(p.x, p.y), static_cast<std::uint32_t>(settlement_of.size()));
        settlement_of.push_back(s);
        instance.weight.push_back(static_cast<double>(p.population));
    }
    const PointTree open_tree(open_points.begin(), open_points.end());

    // Per candidate, the open demand points within the radius (network: along the roads; the
    // straight distance never exceeds it, so the straight search finds every one).
    const double r = result.radius_m;
    std::vector<std::vector<std::uint32_t>> reach(candidates.size());
    std::optional<Adjacency> adjacency;
    if (options.network)
        adjacency.emplace(*graph);
    metrics::for_each_parallel(candidates.size(), threads, [&] {
        auto search = adjacency ? std::make_unique<LocalSearch>(*adjacency) : nullptr;
        return [&, search = std::shared_ptr<LocalSearch>(std::move(search))](std::size_t c) {
            const Candidate &cand = candidates[c];
            std::vector<PointEntry> hits;
            open_tree.query(
                bgi::covered_by(Box(Point(cand.x - r, cand.y - r), Point(cand.x + r, cand.y + r))),
                std::back_inserter(hits));
            if (hits.empty())
                return;
            auto &out = reach[c];
            if (!search) {
                for (const auto &h : hits)
                    if (planar_distance(cand.x, cand.y, h.first.get<0>(), h.first.get<1>()) <= r)
                        out.push_back(h.second);
            } else {
                const auto at = graph->attach(XY{cand.x, cand.y});
                if (!at || !graph->within_cap(*at) || at->leg_m > r)
                    return;
                search->run(*at, r);
                for (const auto &h : hits)
                    if (search->distance_to(*attached[settlement_of[h.second]]) <= r)
                        out.push_back(h.second);
            }
            std::sort(out.begin(), out.end());
        };
    });
    for (const auto &points : reach)
        instance.add_candidate(points);
    reach.clear();

    // Villages (--villages): reached when cov_T ≥ the threshold, as `metrics` and `gaps` say.
    const double threshold = layer.threshold;
    std::map<std::string, std::size_t> village_index;
    for (std::size_t v = 0; v < data.villages.size(); ++v)
        village_index.emplace(data.villages[v].code, v);
    std::vector<std::int64_t> village_people(data.villages.size(), 0);
    std::vector<std::int64_t> village_before(data.villages.size(), 0);
    std::vector<char> reached_before(data.villages.size(), 0);
    siting::VillageGroups groups;
    if (options.villages) {
        result.by_villages = true;
        result.threshold = threshold;
        for (std::uint32_t s = 0; s < ns; ++s) {
            const auto &p = data.settlements[s];
            const auto it = village_index.find(p.village_code);
            if (p.population <= 0 || it == village_index.end())
                continue;
            village_people[it->second] += p.population;
            if (covered[s])
                village_before[it->second] += p.population;
        }
        std::vector<std::string> without_people;
        for (std::size_t v = 0; v < data.villages.size(); ++v)
            if (village_people[v] == 0)
                without_people.push_back(data.villages[v].code);
            else
                reached_before[v] = !(static_cast<double>(village_before[v]) /
                                          static_cast<double>(village_people[v]) <
                                      threshold);
        if (!without_people.empty()) {
            MetricsOptions mo;
            mo.types = {options.type};
            mo.village_codes = without_people;
            const MetricsTable table = compute_metrics(registry, config, mo);
            for (const auto &vm : table.villages)
                reached_before[village_index.at(vm.code)] = vm.types.at(0).gap ? 0 : 1;
        }
        std::vector<std::int32_t> group_of(data.villages.size(), -1);
        for (std::size_t v = 0; v < data.villages.size(); ++v) {
            result.villages_reached_before += reached_before[v];
            if (!reached_before[v] && village_people[v] > 0) {
                group_of[v] = static_cast<std::int32_t>(groups.need.size());
                groups.need.push_back(threshold * static_cast<double>(village_people[v]) -
                                      static_cast<double>(village_before[v]));
            }
        }
        for (const std::uint32_t s : settlement_of) {
            const auto it = village_index.find(data.settlements[s].village_code);
            groups.village.push_back(it == village_index.end() ? -1 : group_of[it->second]);
        }
    }

    siting::CoverSolution solution;
    if (options.villages) {
        result.target_villages = static_cast<std::int64_t>(
            std::ceil(*options.cover * static_cast<double>(result.villages) - 1e-9));
        const std::int64_t needed = result.target_villages - result.villages_reached_before;
        if (needed > 0) {
            solution =
                siting::min_village_cover(instance, groups, static_cast<std::size_t>(needed));
            if (!solution.reached) {
                const auto best = result.villages_reached_before +
                                  static_cast<std::int64_t>(solution.villages_reached);
                throw UsageError(fmt::format(
                    fmt::runtime(
                        _("--cover {:.4g} --villages: the {} candidates reach at most {} of the {} "
                          "villages ({:.1f} %; {} with the existing assets{}), a village counting "
                          "when "
                          "{:.0f} % of its people are reached; ask for less, a larger --radius or "
                          "other "
                          "--candidates")),
                    *options.cover * 100.0, candidates.size(), best, result.villages,
                    std::floor(1000.0 * static_cast<double>(best) /
                               static_cast<double>(result.villages)) /
                        10.0,
                    result.villages_reached_before, options.network ? _(", along the roads") : "",
                    threshold * 100.0));
            }
        } else {
            solution.proven_optimal = true;
        }
    } else if (options.add) {
        solution = siting::max_cover(instance, static_cast<std::size_t>(*options.add));
    } else {
        result.target_population = static_cast<std::int64_t>(
            std::ceil(*options.cover * static_cast<double>(result.total_population) - 1e-9));
        const double needed = static_cast<double>(result.target_population - result.covered_before);
        if (needed > 0.0) {
            solution = siting::min_cover(instance, needed);
            if (!solution.reached) {
                const double best = static_cast<double>(result.covered_before) + solution.value;
                throw UsageError(fmt::format(
                    fmt::runtime(_(
                        "--cover {:.4g}: the {} candidates reach at most {:.1f} % of the {} people "
                        "({} with the existing assets{}); ask for less, a larger --radius or other "
                        "--candidates")),
                    *options.cover * 100.0, candidates.size(),
                    std::floor(1000.0 * best / static_cast<double>(result.total_population)) / 10.0,
                    result.total_population, result.covered_before,
                    options.network ? _(", along the roads") : ""));
            }
        }
    }

    std::vector<char> taken(instance.weight.size(), 0);
    std::vector<std::int64_t> village_added(data.villages.size(), 0);
    std::int64_t cumulative = 0;
    for (std::size_t i = 0; i < solution.chosen.size(); ++i) {
        const std::uint32_t c = solution.chosen[i];
        SiteChoice site;
        site.rank = static_cast<std::int64_t>(i) + 1;
        site.x = candidates[c].x;
        site.y = candidates[c].y;
        site.candidate = candidates[c].id;
        site.village_code = candidates[c].village_code;
        std::set<std::string> reached_villages;
        for (std::uint32_t j = instance.first[c]; j < instance.first[c + 1]; ++j) {
            const std::uint32_t d = instance.covers[j];
            if (taken[d])
                continue;
            taken[d] = 1;
            const auto &s = data.settlements[settlement_of[d]];
            site.added_population += s.population;
            reached_villages.insert(s.village_code);
            if (const auto it = village_index.find(s.village_code); it != village_index.end())
                village_added[it->second] += s.population;
        }
        cumulative += site.added_population;
        site.cumulative_population = cumulative;
        site.added_villages = static_cast<std::int64_t>(reached_villages.size());
        result.sites.push_back(std::move(site));
    }
    result.covered_after = result.covered_before + cumulative;
    if (result.total_population > 0) {
        const auto total = static_cast<double>(result.total_population);
        result.share_before = static_cast<double>(result.covered_before) / total;
        result.share_after = static_cast<double>(result.covered_after) / total;
    }
    result.swaps = static_cast<std::int64_t>(solution.swaps);
    if (options.add) {
        // Weights are whole people, so the bound rounds down to one.
        result.upper_bound_population = std::max<std::int64_t>(
            cumulative, static_cast<std::int64_t>(std::floor(solution.upper_bound + 1e-6)));
        result.optimality_gap =
            result.upper_bound_population > 0
                ? static_cast<double>(result.upper_bound_population - cumulative) /
                      static_cast<double>(result.upper_bound_population)
                : 0.0;
    } else {
        result.lower_bound_sites = static_cast<std::int64_t>(solution.lower_bound_sites);
    }
    if (options.villages) {
        // Counted again as `metrics` would with the sites serving: cov_T ≥ threshold.
        for (std::size_t v = 0; v < data.villages.size(); ++v)
            result.villages_reached_after +=
                reached_before[v] || (village_people[v] > 0 &&
                                      !(static_cast<double>(village_before[v] + village_added[v]) /
                                            static_cast<double>(village_people[v]) <
                                        threshold));
        result.proven_optimal = solution.proven_optimal;
        result.lower_bound_sites = static_cast<std::int64_t>(
            solution.proven_optimal ? solution.chosen.size() : solution.lower_bound_sites);
    }
    log(LogLevel::info,
        fmt::format(
            fmt::runtime(_("siting: {} candidates, {} open settlements, {} sites in {:.2f} s")),
            candidates.size(), instance.weight.size(), result.sites.size(),
            Seconds(std::chrono::steady_clock::now() - started).count()));
    return result;
}

void write_sites_layer(Registry &registry, const SitingResult &result) {
    (void)registry.kind(result.type); // UsageError for an unknown type
    auto &ctx = ffi::geos_context();
    Registry::Transaction tx(registry);
    auto writer = registry.create_result_layer("sites_" + result.type,
                                               {{"rank", ColumnType::integer},
                                                {"candidate", ColumnType::text},
                                                {"village_code", ColumnType::text},
                                                {"added_population", ColumnType::integer},
                                                {"cumulative_population", ColumnType::integer},
                                                {"added_villages", ColumnType::integer}},
                                               "POINT", "site");
    for (const auto &s : result.sites) {
        const std::vector<Value> values{s.rank,
                                        s.candidate,
                                        s.village_code.empty() ? Value() : Value(s.village_code),
                                        s.added_population,
                                        s.cumulative_population,
                                        s.added_villages};
        const auto point = ffi::make_point(ctx, s.x, s.y);
        writer->add(values, ffi::write_wkb(ctx, point.get()));
    }
    writer.reset();
    tx.commit();
}

} // namespace qiancun
