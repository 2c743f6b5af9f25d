#include "qiancun/metrics.hpp"

#include "ffi/geos.hpp"
#include "metrics/basis.hpp"
#include "metrics/dataset.hpp"
#include "metrics/parallel.hpp"
#include "metrics/spatial_table.hpp"
#include "metrics/village_eval.hpp"
#include "network/analysis.hpp"
#include "qiancun/digest.hpp"
#include "qiancun/error.hpp"
#include "qiancun/log.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <unordered_map>

#include "qiancun/i18n.hpp"

namespace qiancun {

namespace {

using metrics::ColumnDef;
using metrics::GapDetail;
using metrics::VillageEvaluator;

constexpr int kMinQuadrantSegments = 8;

/// `meta` keys of the stored metrics' basis (see update_metrics).
constexpr const char *kBasisKey = "metrics_basis";
constexpr const char *kBasisTableKey = "metrics_basis_table";
constexpr const char *kBasisSettlementsKey = "metrics_basis_settlements";
constexpr int kBasisVersion = 1;
/// Reach is widened by the border rule's 1 mm, so that rounding never loses a village.
constexpr double kReachSlackM = 1e-3;

std::string basis_assets_key(const std::string &kind) {
    return "metrics_basis_assets:" + kind;
}

/// `config` with every asset kind of the registry it lacks taken from the defaults.
MetricsConfig complete(const MetricsConfig &config, const Registry &registry) {
    if (config.quadrant_segments < kMinQuadrantSegments)
        throw UsageError(
            fmt::format(fmt::runtime(_("quadrant_segments must be at least {} (SPEC §3), not {}")),
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

namespace {

/// compute_metrics with the completed configuration, leaving what it read in `data`.
MetricsTable compute(const Registry &registry, const MetricsConfig &full,
                     const MetricsOptions &options, const MetricsProgress &progress,
                     metrics::Dataset &data) {
    const auto started = std::chrono::steady_clock::now();
    data = metrics::load_dataset(registry, full, options.types, options.village_codes,
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
        fmt::format(
            fmt::runtime(
                _("metrics: {} villages × {} types on {} threads in {:.2f} s (loading {:.2f} s)")),
            n, table.types.size(), threads, seconds(ended - started).count(),
            seconds(loaded - started).count()));
    return table;
}

} // namespace

MetricsTable compute_metrics(const Registry &registry, const MetricsConfig &config,
                             const MetricsOptions &options, const MetricsProgress &progress) {
    metrics::Dataset data;
    return compute(registry, complete(config, registry), options, progress, data);
}

namespace {

/// Replaces the layer `village_metrics` by `table`; inside a transaction.
void store_metrics_layer(Registry &registry, const MetricsTable &table) {
    const auto columns = metric_columns(table);
    const Rows rows = table.to_rows();
    const auto geometries = metrics::village_geometries(registry);
    auto layer =
        registry.create_result_layer("village_metrics", columns, "MULTIPOLYGON", "metrics");
    for (const auto &row : rows.rows) {
        const auto g = geometries.find(std::get<std::string>(row.front()));
        layer->add(row, g == geometries.end() ? std::string_view() : std::string_view(g->second));
    }
}

} // namespace

void write_metrics_layer(Registry &registry, const MetricsTable &table) {
    metrics::working_srid(registry); // UsageError before anything is written
    Registry::Transaction tx(registry);
    store_metrics_layer(registry, table);
    registry.set_property(kBasisKey, "");
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

namespace {

std::string sha256(std::string_view text) {
    Sha256 h;
    h.update(text);
    return h.hex();
}

/// What, besides the data, decides every number: the settings, the asset types, the CRS.
struct Fingerprint {
    std::string config;
    std::string kinds;
    std::string crs;
};

Fingerprint fingerprint(const Registry &registry, const MetricsConfig &full) {
    Fingerprint f;
    f.config =
        sha256(full.to_toml() + fmt::format("\nquadrant_segments={}\n", full.quadrant_segments));
    std::string kinds;
    for (const KindDef &k : registry.kinds())
        if (k.is_asset())
            kinds += k.key + '\n';
    f.kinds = sha256(kinds + registry.property("asset_types").value_or(""));
    const auto crs = registry.working_crs();
    f.crs = sha256(fmt::format("{}\n{}", registry.working_srid().value_or(0), crs ? crs->wkt : ""));
    return f;
}

bool metrics_read(const Registry &registry, const std::string &kind) {
    if (kind == "village" || kind == "settlement")
        return true;
    for (const KindDef &k : registry.kinds())
        if (k.key == kind)
            return k.is_asset();
    return false;
}

ChangeStamp stamp_in(const std::map<std::string, ChangeStamp> &stamps, const std::string &kind) {
    const auto it = stamps.find(kind);
    return it == stamps.end() ? ChangeStamp{} : it->second;
}

nlohmann::json basis_json(const Fingerprint &f, const MetricsTable &table,
                          const std::map<std::string, ChangeStamp> &stamps) {
    nlohmann::json stamp_json = nlohmann::json::object();
    for (const auto &[kind, s] : stamps)
        stamp_json[kind] = {s.import_id, s.edit_id};
    return {
        {"version", kBasisVersion}, {"config", f.config},   {"kinds", f.kinds},    {"crs", f.crs},
        {"network", table.network}, {"types", table.types}, {"stamps", stamp_json}};
}

/// The stored basis, when there is one this qiancun reads.
std::optional<nlohmann::json> stored_basis(const Registry &registry) {
    const auto text = registry.property(kBasisKey);
    if (!text || text->empty())
        return std::nullopt;
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("version", 0) != kBasisVersion)
        return std::nullopt;
    return j;
}

std::map<std::string, ChangeStamp> basis_stamps(const nlohmann::json &basis) {
    std::map<std::string, ChangeStamp> out;
    for (const auto &[kind, s] : basis.at("stamps").items())
        out[kind] = {s.at(0).get<std::int64_t>(), s.at(1).get<std::int64_t>()};
    return out;
}

/// Distance between two boxes, metres (0 when they meet).
double box_distance(const metrics::Box &a, const metrics::Box &b) {
    const double dx = std::max({0.0, a.min_corner().get<0>() - b.max_corner().get<0>(),
                                b.min_corner().get<0>() - a.max_corner().get<0>()});
    const double dy = std::max({0.0, a.min_corner().get<1>() - b.max_corner().get<1>(),
                                b.min_corner().get<1>() - a.max_corner().get<1>()});
    return std::hypot(dx, dy);
}

/// Writes the layer's basis into `meta` (inside the transaction that stores the layer).
void store_basis(Registry &registry, const Fingerprint &f, const MetricsTable &table,
                 const std::map<std::string, ChangeStamp> &stamps) {
    registry.set_property(kBasisTableKey, metrics::encode_table(table));
    registry.set_property(kBasisKey, basis_json(f, table, stamps).dump());
}

/// The incremental run: only the villages the changes since `basis` reach. Returns nothing when
/// the basis turns out unusable (then the caller runs in full).
std::optional<MetricsTable> update_reached(Registry &registry, const MetricsConfig &full,
                                           const Fingerprint &f,
                                           const std::map<std::string, ChangeStamp> &stamps,
                                           const std::vector<std::string> &types, int threads,
                                           MetricsUpdate &update) {
    Registry::Transaction tx(registry);
    const auto t0 = std::chrono::steady_clock::now();
    auto phase = [&](const char *what) {
        log(LogLevel::debug,
            fmt::format(
                "metrics update: {} at {:.3f} s", what,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
    };
    MetricsTable table;
    try {
        table = metrics::decode_table(registry.property(kBasisTableKey).value_or(""),
                                      "village_metrics");
    } catch (const Error &) {
        return std::nullopt;
    }
    if (table.types != types || table.network)
        return std::nullopt;
    phase("stored table read");
    std::unordered_map<std::string, std::uint32_t> index_of;
    for (std::uint32_t i = 0; i < table.villages.size(); ++i)
        index_of.emplace(table.villages[i].code, i);

    bool assets_changed = false;
    for (const auto &entry : update.changed)
        assets_changed = assets_changed || entry.first != "settlement";
    // Villages by extent; `places` also holds the seat, the demand point when there is one.
    std::vector<metrics::Box> places(table.villages.size());
    metrics::BoxTree villages_by_extent;
    if (assets_changed) {
        std::vector<metrics::BoxEntry> extents;
        registry.scan({.table = "village",
                       .columns = {"code", "seat_x", "seat_y"},
                       .bbox = true,
                       .where = {ScanCondition::not_null("geom")}},
                      [&](const ScanRow &r) {
                          const auto it = index_of.find(r.text(0));
                          if (it == index_of.end() || !r.bbox)
                              return;
                          const auto &b = *r.bbox;
                          const metrics::Box extent(metrics::Point(b[0], b[1]),
                                                    metrics::Point(b[2], b[3]));
                          extents.emplace_back(extent, it->second);
                          metrics::Box place = extent;
                          if (const auto sx = r.number(1), sy = r.number(2); sx && sy)
                              boost::geometry::expand(place, metrics::Point(*sx, *sy));
                          places[it->second] = place;
                      });
        villages_by_extent = metrics::BoxTree(extents.begin(), extents.end());
    }

    phase("village extents read");
    std::set<std::uint32_t> affected;
    std::set<std::string> compute_kinds;
    std::vector<std::pair<std::string, std::string>> snapshots;
    for (const auto &[kind, stamp] : update.changed) {
        std::set<std::uint32_t> reached;
        if (kind == "settlement") {
            metrics::SettlementStamps before;
            try {
                before = metrics::decode_settlement_stamps(
                    registry.property(kBasisSettlementsKey).value_or(""), "settlement");
            } catch (const Error &) {
                return std::nullopt;
            }
            const auto now = metrics::settlement_stamps(registry);
            auto mark = [&](const std::string &code) {
                if (const auto it = index_of.find(code); it != index_of.end())
                    reached.insert(it->second);
            };
            for (const auto &[code, h] : before)
                if (const auto it = now.find(code); it == now.end() || it->second != h)
                    mark(code);
            for (const auto &[code, h] : now)
                if (!before.count(code))
                    mark(code);
            if (!reached.empty())
                compute_kinds.insert(types.begin(), types.end());
            snapshots.emplace_back(kBasisSettlementsKey, metrics::encode_settlement_stamps(now));
        } else {
            metrics::AssetSnapshot before;
            try {
                before = metrics::decode_snapshot(
                    registry.property(basis_assets_key(kind)).value_or(""), kind);
            } catch (const Error &) {
                return std::nullopt;
            }
            const auto layer = metrics::load_asset_layer(registry, registry.kind(kind), full);
            const auto now = metrics::snapshot_of(layer);
            const auto changed = metrics::changed_assets(before, now);
            const auto t = static_cast<std::size_t>(std::find(types.begin(), types.end(), kind) -
                                                    types.begin());
            for (const auto &a : changed) {
                const auto reach = metrics::grow(a.extent, a.radius_m + kReachSlackM);
                for (auto it = villages_by_extent.qbegin(boost::geometry::index::intersects(reach));
                     it != villages_by_extent.qend(); ++it)
                    reached.insert(it->second);
                if (const auto it = index_of.find(a.village_code); it != index_of.end())
                    reached.insert(it->second);
            }
            // nearest_T_m reaches as far as the nearest asset is: a village whose nearest
            // asset is no nearer than a changed one may get another nearest.
            for (std::uint32_t i = 0; !changed.empty() && i < table.villages.size(); ++i) {
                const auto &stored = table.villages[i].types[t].nearest_m;
                for (const auto &a : changed)
                    if (!stored || box_distance(places[i], a.extent) <= *stored + kReachSlackM) {
                        reached.insert(i);
                        break;
                    }
            }
            if (!reached.empty())
                compute_kinds.insert(kind);
            snapshots.emplace_back(basis_assets_key(kind), metrics::encode_snapshot(now));
        }
        update.reached[kind] = static_cast<std::int64_t>(reached.size());
        affected.insert(reached.begin(), reached.end());
    }

    phase("reach found");
    if (!affected.empty()) {
        std::vector<std::string> codes;
        for (const auto i : affected)
            codes.push_back(table.villages[i].code);
        std::vector<std::string> compute_types;
        for (const auto &t : types)
            if (compute_kinds.count(t))
                compute_types.push_back(t);
        const auto data = metrics::load_dataset(registry, full, compute_types, codes);
        phase("villages loaded");
        std::vector<VillageMetrics> results(data.villages.size());
        metrics::for_each_parallel(
            results.size(), metrics::thread_count(threads, results.size()), [&] {
                return
                    [&, evaluator = VillageEvaluator(data, full.quadrant_segments,
                                                     ffi::geos_context())](std::size_t i) mutable {
                        results[i] = evaluator.evaluate(static_cast<std::uint32_t>(i));
                    };
            });
        MetricsTable changed_rows;
        changed_rows.types = table.types;
        for (auto &r : results) {
            VillageMetrics &v = table.villages.at(index_of.at(r.code));
            for (std::size_t l = 0; l < data.layers.size(); ++l) {
                const auto t = static_cast<std::size_t>(
                    std::find(types.begin(), types.end(), data.layers[l].type) - types.begin());
                v.types[t] = r.types[l];
                if (data.layers[l].is_road) {
                    v.road_km = r.road_km;
                    v.hardened_km = r.hardened_km;
                    v.road_density = r.road_density;
                }
            }
            v.area_m2 = r.area_m2;
            v.settlement_population = r.settlement_population;
            changed_rows.villages.push_back(v);
            update.recomputed.push_back(v.code);
        }
        std::sort(update.recomputed.begin(), update.recomputed.end());
        phase("villages recomputed");
        // By the layer's integer key: its other columns have no index.
        std::unordered_map<std::string, std::int64_t> fid_of;
        registry.scan(
            {.table = "village_metrics", .columns = {"fid", "code"}},
            [&](const ScanRow &r) { fid_of.emplace(r.text(1), r.integer(0).value_or(0)); });
        Rows rows = changed_rows.to_rows();
        for (auto &row : rows.rows) {
            const auto it = fid_of.find(std::get<std::string>(row.front()));
            if (it == fid_of.end())
                return std::nullopt; // the stored layer lacks a village: recompute all
            row.insert(row.begin(), Value{it->second});
        }
        std::vector<ResultColumn> columns{{"fid", ColumnType::integer}};
        for (auto &c : metric_columns(table))
            columns.push_back(std::move(c));
        registry.update_result_rows("village_metrics", columns, rows.rows);
        phase("layer updated");
    }
    if (update.changed.empty())
        return table; // nothing to write: the transaction rolls back nothing
    for (const auto &[key, text] : snapshots)
        registry.set_property(key, text);
    store_basis(registry, f, table, stamps);
    phase("basis written");
    tx.commit();
    phase("committed");
    return table;
}

} // namespace

StoredMetrics update_metrics(Registry &registry, const MetricsConfig &config,
                             const UpdateOptions &options, const MetricsProgress &progress) {
    metrics::working_srid(registry); // UsageError before anything is written
    const MetricsConfig full = complete(config, registry);
    const Fingerprint f = fingerprint(registry, full);
    std::vector<std::string> types;
    for (const KindDef &k : registry.kinds())
        if (k.is_asset())
            types.push_back(k.key);
    const auto stamps = registry.change_stamps();

    StoredMetrics out;
    MetricsUpdate &update = out.update;
    const auto basis = stored_basis(registry);
    if (basis) {
        const auto before = basis_stamps(*basis);
        for (const auto &[kind, stamp] : stamps)
            if (metrics_read(registry, kind) && !(stamp_in(before, kind) == stamp))
                update.changed[kind] = stamp;
    }
    if (options.full)
        update.full_reason = FullRunReason::requested;
    else if (!basis || !registry.has_table("village_metrics"))
        update.full_reason = FullRunReason::no_stored;
    else if (options.network || basis->value("network", false))
        update.full_reason = FullRunReason::network;
    else if (basis->value("crs", "") != f.crs)
        update.full_reason = FullRunReason::crs_changed;
    else if (basis->value("kinds", "") != f.kinds ||
             basis->value("types", std::vector<std::string>{}) != types)
        update.full_reason = FullRunReason::kinds_changed;
    else if (basis->value("config", "") != f.config)
        update.full_reason = FullRunReason::config_changed;
    else if (update.changed.count("village"))
        update.full_reason = FullRunReason::villages_changed;
    else
        update.full_reason = FullRunReason::none;

    if (!update.full()) {
        const auto started = std::chrono::steady_clock::now();
        if (auto table =
                update_reached(registry, full, f, stamps, types, options.threads, update)) {
            out.table = std::move(*table);
            out.update.villages = static_cast<std::int64_t>(out.table.villages.size());
            log(LogLevel::debug, fmt::format("metrics: {} of {} villages recomputed in {:.3f} s",
                                             update.recomputed.size(), out.table.villages.size(),
                                             std::chrono::duration<double>(
                                                 std::chrono::steady_clock::now() - started)
                                                 .count()));
            return out;
        }
        update.full_reason = FullRunReason::no_stored;
        update.reached.clear();
        update.recomputed.clear();
    }

    metrics::Dataset data;
    MetricsOptions mo;
    mo.network = options.network;
    mo.threads = options.threads;
    out.table = compute(registry, full, mo, progress, data);
    const auto settlements = metrics::settlement_stamps(registry);
    Registry::Transaction tx(registry);
    store_metrics_layer(registry, out.table);
    for (const auto &layer : data.layers)
        registry.set_property(basis_assets_key(layer.type),
                              metrics::encode_snapshot(metrics::snapshot_of(layer)));
    registry.set_property(kBasisSettlementsKey, metrics::encode_settlement_stamps(settlements));
    store_basis(registry, f, out.table, stamps);
    tx.commit();
    out.update.villages = static_cast<std::int64_t>(out.table.villages.size());
    return out;
}

} // namespace qiancun
