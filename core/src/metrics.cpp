#include "qiancun/metrics.hpp"

#include "ffi/geos.hpp"
#include "metrics/dataset.hpp"
#include "metrics/parallel.hpp"
#include "metrics/spatial_table.hpp"
#include "metrics/village_eval.hpp"
#include "network/analysis.hpp"
#include "qiancun/error.hpp"
#include "qiancun/log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace qiancun {

namespace {

using metrics::ColumnDef;
using metrics::GapDetail;
using metrics::VillageEvaluator;

constexpr int kMinQuadrantSegments = 8;

/// `config` with every asset kind of the registry it lacks taken from the defaults.
MetricsConfig complete(const MetricsConfig &config, const Registry &registry) {
    if (config.quadrant_segments < kMinQuadrantSegments)
        throw UsageError(fmt::format("quadrant_segments must be at least {} (SPEC §3), not {}",
                                     kMinQuadrantSegments, config.quadrant_segments));
    MetricsConfig full = config;
    for (auto &[key, tc] : MetricsConfig::defaults(registry.kinds()).types)
        full.types.try_emplace(key, std::move(tc));
    return full;
}

/// The columns of `to_rows()` with their storage types.
std::vector<ColumnDef> metric_columns(const MetricsTable &table) {
    std::vector<ColumnDef> cols{{"code", ColumnType::text}};
    bool roads = false;
    for (const auto &t : table.types) {
        cols.push_back({"n_" + t, ColumnType::integer});
        cols.push_back({"nearest_" + t + "_m", ColumnType::real});
        cols.push_back({"area_cov_" + t, ColumnType::real});
        cols.push_back({"pop_cov_" + t, ColumnType::real});
        cols.push_back({"cov_" + t, ColumnType::real});
        cols.push_back({"gap_" + t, ColumnType::boolean});
        roads = roads || t == "rural_road";
    }
    if (roads) {
        cols.push_back({"road_km", ColumnType::real});
        cols.push_back({"hardened_km", ColumnType::real});
        cols.push_back({"road_density", ColumnType::real});
    }
    if (table.network)
        for (const auto &t : table.types)
            if (t != "rural_road") {
                cols.push_back({"net_nearest_" + t + "_m", ColumnType::real});
                cols.push_back({"net_pop_cov_" + t, ColumnType::real});
            }
    return cols;
}

Value optional_value(const std::optional<double> &v) {
    return v ? Value{*v} : Value{};
}

/// Appends `extra` to the serving assets of `layer` and rebuilds its indexes.
void add_extra_assets(metrics::AssetLayer &layer, const std::vector<ExtraAsset> &extra,
                      const MetricsConfig &config) {
    auto &ctx = ffi::geos_context();
    for (const ExtraAsset &e : extra) {
        const auto g = ffi::read_wkb(ctx, e.wkb);
        metrics::AssetRecord a;
        a.id = e.id;
        a.radius_m = config.radius_for(layer.type, e.radius_m);
        double x0 = 0.0, y0 = 0.0, x1 = 0.0, y1 = 0.0;
        if (!GEOSGeom_getXMin_r(ctx.handle(), g.get(), &x0) ||
            !GEOSGeom_getYMin_r(ctx.handle(), g.get(), &y0) ||
            !GEOSGeom_getXMax_r(ctx.handle(), g.get(), &x1) ||
            !GEOSGeom_getYMax_r(ctx.handle(), g.get(), &y1))
            ctx.fail("GEOSGeom_getXMin");
        a.is_point = GEOSGeomTypeId_r(ctx.handle(), g.get()) == GEOS_POINT;
        if (a.is_point) {
            a.x = x0;
            a.y = y0;
        } else {
            a.wkb = e.wkb;
        }
        a.extent = metrics::Box(metrics::Point(x0, y0), metrics::Point(x1, y1));
        layer.assets.push_back(std::move(a));
    }
    std::vector<metrics::BoxEntry> reach;
    std::vector<metrics::BoxEntry> extents;
    for (std::uint32_t i = 0; i < layer.assets.size(); ++i) {
        reach.emplace_back(metrics::grow(layer.assets[i].extent, layer.assets[i].radius_m), i);
        extents.emplace_back(layer.assets[i].extent, i);
    }
    layer.reach = metrics::BoxTree(reach.begin(), reach.end());
    layer.extents = metrics::BoxTree(extents.begin(), extents.end());
}

} // namespace

Rows MetricsTable::to_rows() const {
    Rows rows;
    for (auto &c : metric_columns(*this))
        rows.columns.push_back(std::move(c.name));
    const bool roads = std::find(types.begin(), types.end(), "rural_road") != types.end();
    rows.rows.reserve(villages.size());
    for (const auto &v : villages) {
        std::vector<Value> row;
        row.reserve(rows.columns.size());
        row.emplace_back(v.code);
        for (const auto &m : v.types) {
            row.emplace_back(m.n);
            row.push_back(optional_value(m.nearest_m));
            row.emplace_back(m.area_cov);
            row.push_back(optional_value(m.pop_cov));
            row.emplace_back(m.cov);
            row.emplace_back(std::int64_t{m.gap ? 1 : 0});
        }
        if (roads) {
            row.emplace_back(v.road_km);
            row.emplace_back(v.hardened_km);
            row.emplace_back(v.road_density);
        }
        for (std::size_t t = 0; network && t < types.size(); ++t)
            if (types[t] != "rural_road") {
                row.push_back(optional_value(v.types[t].net_nearest_m));
                row.push_back(optional_value(v.types[t].net_pop_cov));
            }
        rows.rows.push_back(std::move(row));
    }
    return rows;
}

MetricsTable compute_metrics(const Registry &registry, const MetricsConfig &config,
                             const MetricsOptions &options, const MetricsProgress &progress) {
    const auto started = std::chrono::steady_clock::now();
    const MetricsConfig full = complete(config, registry);
    const auto data = metrics::load_dataset(registry, full, options.types, options.village_codes,
                                            options.statuses ? &*options.statuses : nullptr);
    const auto loaded = std::chrono::steady_clock::now();

    MetricsTable table;
    for (const auto &layer : data.layers)
        table.types.push_back(layer.type);
    const std::size_t n = data.villages.size();
    table.villages.resize(n);
    const unsigned threads = metrics::thread_count(options.threads, n);
    std::function<void(std::size_t)> report;
    if (progress)
        report = [&](std::size_t done) {
            progress(static_cast<std::int64_t>(done), static_cast<std::int64_t>(n));
        };
    metrics::for_each_parallel(
        n, threads,
        [&] {
            return [&, evaluator = VillageEvaluator(data, full.quadrant_segments,
                                                    ffi::geos_context())](std::size_t i) mutable {
                table.villages[i] = evaluator.evaluate(static_cast<std::uint32_t>(i));
            };
        },
        report);
    if (options.network)
        network::add_network_metrics(registry, full, data, options.threads, table);

    const auto ended = std::chrono::steady_clock::now();
    using seconds = std::chrono::duration<double>;
    log(LogLevel::info,
        fmt::format("metrics: {} villages × {} types on {} threads in {:.2f} s (loading {:.2f} s)",
                    n, table.types.size(), threads, seconds(ended - started).count(),
                    seconds(loaded - started).count()));
    return table;
}

void write_metrics_layer(Registry &registry, const MetricsTable &table) {
    metrics::working_srid(registry); // UsageError before anything is written
    const auto columns = metric_columns(table);
    const Rows rows = table.to_rows();
    const auto geometries = metrics::village_geometries(registry);
    Registry::Transaction tx(registry);
    auto layer =
        registry.create_result_layer("village_metrics", columns, "MULTIPOLYGON", "metrics");
    for (const auto &row : rows.rows) {
        const auto g = geometries.find(std::get<std::string>(row.front()));
        layer->add(row, g == geometries.end() ? std::string_view() : std::string_view(g->second));
    }
    tx.commit();
}

GapReport compute_gaps(const Registry &registry, const MetricsConfig &config,
                       const std::string &type, const std::vector<ExtraAsset> &extra) {
    const MetricsConfig full = complete(config, registry);
    auto data = metrics::load_dataset(registry, full, {type}, {});
    if (!extra.empty())
        add_extra_assets(data.layers.front(), extra, full);
    const std::size_t n = data.villages.size();
    std::vector<VillageMetrics> results(n);
    std::vector<std::vector<GapDetail>> details(n);
    metrics::for_each_parallel(n, metrics::thread_count(0, n), [&] {
        return [&, evaluator = VillageEvaluator(data, full.quadrant_segments, ffi::geos_context())](
                   std::size_t i) mutable {
            details[i].resize(1);
            results[i] = evaluator.evaluate(static_cast<std::uint32_t>(i), &details[i]);
        };
    });

    GapReport report;
    report.type = data.layers.front().type;
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < n; ++i) {
        if (const std::int64_t people = results[i].types.front().uncovered_population; people > 0)
            report.uncovered_population_by_village.emplace_back(results[i].code, people);
        if (results[i].types.front().gap)
            order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return results[a].types.front().cov < results[b].types.front().cov;
    });

    auto &ctx = ffi::geos_context();
    for (const std::size_t i : order) {
        const VillageMetrics &v = results[i];
        const TypeMetrics &m = v.types.front();
        const GapDetail &d = details[i].front();
        GapArea area;
        area.code = v.code;
        area.name = v.name;
        area.cov = m.cov;
        area.uncovered_area_km2 = d.uncovered_area_m2 / 1e6;
        area.uncovered_population = m.uncovered_population;
        area.wkb = d.uncovered_wkb;
        report.villages.push_back(std::move(area));
        for (const auto &[s_index, nearest] : d.uncovered_settlements) {
            const auto &s = data.settlements[s_index];
            UncoveredSettlement u;
            u.id = s.id;
            u.name = s.name;
            u.village_code = s.village_code;
            u.population = s.population;
            u.nearest_m = nearest;
            u.wkb = ffi::write_wkb(ctx, ffi::make_point(ctx, s.x, s.y).get());
            report.settlements.push_back(std::move(u));
        }
    }
    return report;
}

void write_gap_layers(Registry &registry, const GapReport &report) {
    metrics::working_srid(registry);  // UsageError before anything is written
    (void)registry.kind(report.type); // UsageError for an unknown type
    const std::string areas = "gaps_" + report.type;
    const std::string points = areas + "_settlements";
    Registry::Transaction tx(registry);

    auto area_layer = registry.create_result_layer(areas,
                                                   {{"code", ColumnType::text},
                                                    {"name", ColumnType::text},
                                                    {"cov", ColumnType::real},
                                                    {"uncovered_area_km2", ColumnType::real},
                                                    {"uncovered_population", ColumnType::integer}},
                                                   "MULTIPOLYGON", "gaps");
    for (const auto &a : report.villages)
        area_layer->add(std::vector<Value>{a.code, a.name, a.cov, a.uncovered_area_km2,
                                           std::int64_t{a.uncovered_population}},
                        a.wkb);

    auto point_layer = registry.create_result_layer(points,
                                                    {{"id", ColumnType::text},
                                                     {"name", ColumnType::text},
                                                     {"village_code", ColumnType::text},
                                                     {"population", ColumnType::integer},
                                                     {"nearest_m", ColumnType::real}},
                                                    "POINT", "gaps");
    for (const auto &s : report.settlements)
        point_layer->add(std::vector<Value>{s.id, s.name, s.village_code,
                                            std::int64_t{s.population},
                                            optional_value(s.nearest_m)},
                         s.wkb);
    tx.commit();
}

} // namespace qiancun
