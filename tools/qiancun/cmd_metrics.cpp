#include "cli.hpp"

#include "qiancun/config.hpp"
#include "qiancun/error.hpp"
#include "qiancun/exporter.hpp"
#include "qiancun/importer.hpp"
#include "qiancun/indicators.hpp"
#include "qiancun/log.hpp"
#include "qiancun/metrics.hpp"
#include "qiancun/qml.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "qiancun/i18n.hpp"

// `metrics`, `gaps` and `config`: the straight-line coverage metrics of SPEC §3, the villages
// under the threshold with their uncovered areas, and the configuration they run on.

namespace qiancun::cli {
namespace {

namespace fs = std::filesystem;

/// Throws UsageError unless `type` is an asset kind of the registry.
void check_asset_type(const Registry &registry, const std::string &type) {
    const KindDef &kind = registry.kind(type); // names the known kinds when unknown
    if (!kind.is_asset()) {
        std::vector<std::string> assets;
        for (const auto &k : registry.kinds())
            if (k.is_asset())
                assets.push_back(k.key);
        throw UsageError(
            fmt::format(fmt::runtime(_("'{}' is not an asset type; asset types are: {}")), type,
                        fmt::join(assets, ", ")));
    }
}

struct MetricsArgs {
    std::string registry;
    std::vector<std::string> types;
    std::string config;
    std::vector<std::string> villages;
    std::string township;
    OutputFormat format = OutputFormat::table;
    std::string output;
    bool no_store = false;
    bool network = false;
    bool full = false;
    Headers headers = Headers::by_format;
};

/// 20000 as "20,000".
std::string grouped(std::int64_t n) {
    std::string digits = std::to_string(n < 0 ? -n : n);
    for (auto i = static_cast<std::ptrdiff_t>(digits.size()) - 3; i > 0; i -= 3)
        digits.insert(static_cast<std::size_t>(i), ",");
    return n < 0 ? "-" + digits : digits;
}

/// What an update of the stored metrics did, in one sentence for people.
std::string update_sentence(const MetricsUpdate &u) {
    const std::string total = grouped(u.villages);
    switch (u.full_reason) {
    case FullRunReason::none:
        break;
    case FullRunReason::requested:
        return fmt::format(fmt::runtime(_("computed all {} villages (--full)")), total);
    case FullRunReason::no_stored:
        return fmt::format(
            fmt::runtime(_("computed all {} villages (no stored metrics to update)")), total);
    case FullRunReason::network:
        return fmt::format(
            fmt::runtime(_("computed all {} villages: network metrics are always computed in "
                           "full (a changed road or asset can shorten routes anywhere)")),
            total);
    case FullRunReason::config_changed:
        return fmt::format(
            fmt::runtime(_("computed all {} villages: radii, thresholds or other settings "
                           "differ from the stored run's")),
            total);
    case FullRunReason::kinds_changed:
        return fmt::format(
            fmt::runtime(_("computed all {} villages: asset types were added or changed")), total);
    case FullRunReason::crs_changed:
        return fmt::format(fmt::runtime(_("computed all {} villages: the working CRS has changed")),
                           total);
    case FullRunReason::villages_changed:
        return fmt::format(
            fmt::runtime(_("computed all {} villages: villages were imported or edited since "
                           "the stored run")),
            total);
    }
    if (u.changed.empty())
        return fmt::format(
            fmt::runtime(_("recomputed 0 of {} villages: nothing they depend on changed since "
                           "the stored run; --full to recompute all")),
            total);
    std::vector<std::string> kinds;
    std::vector<std::string> imports;
    for (const auto &[kind, stamp] : u.changed) {
        kinds.push_back(kind);
        imports.push_back(stamp.import_id > 0 ? std::to_string(stamp.import_id) : _("edits"));
    }
    const std::string from =
        imports.size() == 1 ? fmt::format(fmt::runtime(_("import {}")), imports.front())
                            : fmt::format(fmt::runtime(_("imports {}")), fmt::join(imports, ", "));
    return fmt::format(fmt::runtime(_("recomputed {} of {} villages for {} ({}); --full to "
                                      "recompute all")),
                       grouped(static_cast<std::int64_t>(u.recomputed.size())), total,
                       fmt::join(kinds, ", "), from);
}

/// Per type: villages, gaps, mean coverage and people left uncovered.
Rows summary_rows(const MetricsTable &table, const MetricsConfig &config,
                  const exporters::KindLabels &kinds) {
    Rows rows;
    rows.columns = {"type",
                    "radius_m",
                    "threshold",
                    "villages",
                    "gaps",
                    "mean_cov",
                    "uncovered_population",
                    "uncovered_population_in_gaps"};
    for (std::size_t t = 0; t < table.types.size(); ++t) {
        std::int64_t gaps = 0;
        std::int64_t uncovered = 0;
        std::int64_t uncovered_in_gaps = 0;
        double cov_sum = 0.0;
        for (const auto &v : table.villages) {
            const TypeMetrics &m = v.types[t];
            gaps += m.gap ? 1 : 0;
            uncovered += m.uncovered_population;
            uncovered_in_gaps += m.gap ? m.uncovered_population : 0;
            cov_sum += m.cov;
        }
        const auto n = static_cast<std::int64_t>(table.villages.size());
        Value radius;
        Value threshold;
        if (auto it = config.types.find(table.types[t]); it != config.types.end()) {
            const double r = it->second.radius_m;
            radius = r == std::floor(r) && std::fabs(r) < 9e15 ? Value(static_cast<std::int64_t>(r))
                                                               : Value(r);
            threshold = it->second.gap_threshold;
        }
        rows.rows.push_back({kind_name(kinds, table.types[t]), radius, threshold, n, gaps,
                             n > 0 ? Value(cov_sum / static_cast<double>(n)) : Value(), uncovered,
                             uncovered_in_gaps});
    }
    return rows;
}

/// One line per village for people: its coverage per type and the types it lacks.
Rows village_rows(const MetricsTable &table, const exporters::KindLabels &kinds) {
    Rows rows;
    rows.columns = {"code", "name"};
    for (const auto &t : table.types)
        rows.columns.push_back("cov_" + t);
    const bool roads =
        std::find(table.types.begin(), table.types.end(), "rural_road") != table.types.end();
    if (roads)
        rows.columns.push_back("road_km");
    rows.columns.push_back("gaps");
    for (const auto &v : table.villages) {
        std::vector<Value> row{v.code, v.name};
        std::vector<std::string> gaps;
        for (std::size_t t = 0; t < table.types.size(); ++t) {
            row.emplace_back(v.types[t].cov);
            if (v.types[t].gap)
                gaps.push_back(kind_name(kinds, table.types[t]));
        }
        if (roads)
            row.emplace_back(v.road_km);
        row.emplace_back(fmt::format("{}", fmt::join(gaps, " ")));
        rows.rows.push_back(std::move(row));
    }
    return rows;
}

void run_metrics(const MetricsArgs &args) {
    const bool subset = !args.types.empty() || !args.villages.empty() || !args.township.empty();
    const bool store = !args.no_store && !subset;
    const OutputKind out_kind =
        args.output.empty() ? OutputKind::table
                            : check_output(args.output, table_extensions(), layer_extensions());
    if (!args.output.empty() && out_kind == OutputKind::layer && !store)
        throw UsageError(fmt::format(
            fmt::runtime(
                _("-o {}: a layer file holds the stored village_metrics layer, which only the full "
                  "run "
                  "stores (no --type, --village, --township or --no-store); or write a table: {}")),
            args.output, fmt::join(table_extensions(), " ")));
    auto registry = Registry::open(args.registry, !store);
    for (const auto &t : args.types)
        check_asset_type(registry, t);
    const exporters::KindLabels kinds = kind_labels(registry);
    const MetricsConfig config = load_metrics_config(registry, args.config);

    MetricsOptions options;
    options.types = args.types;
    for (const auto &v : args.villages)
        options.village_codes.push_back(registry.resolve_village(v));
    if (!args.township.empty()) {
        const auto in_township = registry.township_villages(args.township);
        if (options.village_codes.empty())
            options.village_codes = in_township;
        else
            std::erase_if(options.village_codes, [&](const std::string &code) {
                return !std::binary_search(in_township.begin(), in_township.end(), code);
            });
        if (options.village_codes.empty())
            throw UsageError(
                fmt::format(fmt::runtime(_("none of the villages given is in {}")), args.township));
    }
    options.network = args.network;
    ProgressBar bar("metrics");
    std::mutex bar_mutex; // the engine may report from its worker threads
    const MetricsProgress progress = [&](std::int64_t done, std::int64_t total) {
        const std::lock_guard lock(bar_mutex);
        bar.update(done, total);
    };
    MetricsTable table;
    if (store) {
        auto stored = update_metrics(registry, config, {.full = args.full, .network = args.network},
                                     progress);
        bar.finish();
        table = std::move(stored.table);
        if (stored.update.full())
            exporters::style_registry(registry);
        log(LogLevel::info, update_sentence(stored.update));
    } else {
        table = compute_metrics(registry, config, options, progress);
        bar.finish();
    }

    if (store) {
        log(LogLevel::info,
            fmt::format(fmt::runtime(_("stored layer village_metrics ({} villages) in {}")),
                        table.villages.size(), args.registry));
    } else if (!args.no_store) {
        log(LogLevel::info, _("village_metrics not stored: only part of the metrics was computed "
                              "(run without --type, --village and --township to store them)"));
    }

    const Rows rows = table.to_rows();
    if (!args.output.empty() && out_kind == OutputKind::table) {
        write_tables(args.output, {sheet("village_metrics", rows)}, args.headers, kinds);
        note(args.format, fmt::format(fmt::runtime(_("wrote {} villages to {}")), rows.rows.size(),
                                      args.output));
    } else if (!args.output.empty()) {
        { const Registry closed = std::move(registry); } // before GDAL reads the layer back
        export_layers(args.registry, args.output, {{"village_metrics", ""}}, args.format);
    }
    if (args.format != OutputFormat::table) {
        if (args.output.empty())
            print_rows(rows, args.format, std::cout);
        return;
    }
    print_rows(summary_rows(table, config, kinds), OutputFormat::table, std::cout, kinds);
    if (args.output.empty()) {
        fmt::print("\n");
        print_rows(village_rows(table, kinds), OutputFormat::table, std::cout, kinds);
        fmt::print(fmt::runtime(
            _("every metric of SPEC §3 per village: --format csv (or -o metrics.csv)\n")));
    }
}

struct GapsArgs {
    std::string registry;
    std::string type;
    std::string with_sites;
    std::string township;
    std::string config;
    OutputFormat format = OutputFormat::table;
    std::string output;
    Headers headers = Headers::by_format;
};

/// The sites a `qiancun site` run wrote (.gpkg .shp .geojson, or .csv with x, y in the working
/// CRS), read as planned assets of `type` by the importer: reprojected and checked like any
/// delivery, with a bad row named by file and row.
std::vector<ExtraAsset> read_sites(const Registry &registry, const std::string &type,
                                   const std::string &path) {
    importers::ImportOptions options;
    options.kind = type;
    options.source = path;
    options.field_map = {{"id", "candidate"}};
    options.defaults = {{"status", "planned"}};
    if (lower_extension(path) == ".csv") {
        const auto epsg = registry.working_epsg();
        if (!epsg)
            throw UsageError(
                fmt::format(fmt::runtime(_("--with-sites {}: a CSV of sites holds coordinates in "
                                           "the registry's CRS, which has no EPSG code; use the "
                                           ".gpkg the site command writes")),
                            path));
        options.x_field = "x";
        options.y_field = "y";
        options.src_crs = fmt::format("EPSG:{}", *epsg);
    }
    const auto prepared = importers::prepare_import(registry, options);
    std::vector<ExtraAsset> sites;
    for (const Feature &f : prepared.features)
        sites.push_back({value_to_text(f.values.at(0)), f.wkb, std::nullopt});
    return sites;
}

Rows gap_rows(const GapReport &report) {
    std::map<std::string, std::int64_t> settlements;
    for (const auto &s : report.settlements)
        ++settlements[s.village_code];
    Rows rows;
    rows.columns = {"code",
                    "name",
                    "cov",
                    "uncovered_area_km2",
                    "uncovered_population",
                    "uncovered_settlements"};
    for (const auto &g : report.villages) {
        const auto it = settlements.find(g.code);
        rows.rows.push_back({g.code, g.name, g.cov, g.uncovered_area_km2, g.uncovered_population,
                             it == settlements.end() ? std::int64_t{0} : it->second});
    }
    return rows;
}

/// Stores the gap layers and exports both: one GeoPackage with two layers, or `<stem>` and
/// `<stem>_settlements` files for the one-layer formats.
void export_gaps(const GapsArgs &args, OutputFormat format) {
    const std::string areas = "gaps_" + args.type;
    export_layers(args.registry, args.output,
                  {{areas, ""}, {areas + "_settlements", "_settlements"}}, format);
}

/// The uncovered settlements of `report`, one row each.
Rows settlement_rows(const GapReport &report) {
    Rows rows;
    rows.columns = {"id", "name", "village_code", "population", "nearest_m"};
    for (const auto &s : report.settlements)
        rows.rows.push_back({s.id, s.name, s.village_code, s.population,
                             s.nearest_m ? Value(*s.nearest_m) : Value()});
    return rows;
}

void run_gaps(const GapsArgs &args) {
    // Layer files hold the gap polygons and settlements; .xlsx and .json the two tables.
    const OutputKind out_kind =
        args.output.empty()
            ? OutputKind::table
            : check_output(args.output, {".xlsx", ".json"}, {".gpkg", ".shp", ".geojson", ".csv"});
    const bool store = !args.output.empty() && out_kind == OutputKind::layer;
    GapReport report;
    exporters::KindLabels kinds;
    std::string type_in_words;
    std::int64_t villages = 0;
    double threshold = 0.0;
    {
        auto registry = Registry::open(args.registry, !store);
        check_asset_type(registry, args.type);
        kinds = kind_labels(registry);
        type_in_words = kind_name(kinds, args.type);
        const MetricsConfig config = load_metrics_config(registry, args.config);
        if (auto it = config.types.find(args.type); it != config.types.end())
            threshold = it->second.gap_threshold;
        villages = registry.count("village");
        std::vector<ExtraAsset> sites;
        if (!args.with_sites.empty()) {
            sites = read_sites(registry, args.type, args.with_sites);
            note(
                args.format,
                fmt::format(fmt::runtime(_("with {} proposed {} sites from {} counted as serving")),
                            sites.size(), type_in_words, args.with_sites));
        }
        report = compute_gaps(registry, config, args.type, sites);
        if (!args.township.empty()) {
            const auto codes = registry.township_villages(args.township);
            auto outside = [&](const std::string &code) {
                return !std::binary_search(codes.begin(), codes.end(), code);
            };
            villages = static_cast<std::int64_t>(codes.size());
            std::erase_if(report.villages, [&](const GapArea &g) { return outside(g.code); });
            std::erase_if(report.settlements,
                          [&](const UncoveredSettlement &s) { return outside(s.village_code); });
            std::erase_if(report.uncovered_population_by_village,
                          [&](const auto &v) { return outside(v.first); });
        }
        if (store) {
            write_gap_layers(registry, report);
            exporters::style_registry(registry);
        }
    } // closed before GDAL reads the layers back
    const Rows rows = gap_rows(report);
    if (args.format == OutputFormat::table) {
        std::int64_t people = 0;
        for (const auto &g : report.villages)
            people += g.uncovered_population;
        std::int64_t everywhere = 0;
        for (const auto &v : report.uncovered_population_by_village)
            everywhere += v.second;
        // The same words as the metrics summary: uncovered_population counts every village,
        // uncovered_population_in_gaps only those below the threshold.
        fmt::print(
            fmt::runtime(_("{}: {} of {} villages below the threshold {} (worst first); uncovered "
                           "population {} in these villages, {} in all villages\n")),
            type_in_words, report.villages.size(), villages, percent_for_people(threshold), people,
            everywhere);
    }
    print_rows(rows, args.format, std::cout);
    if (store) {
        export_gaps(args, args.format);
    } else if (!args.output.empty()) {
        write_tables(args.output,
                     {sheet("gaps_" + args.type, rows),
                      sheet("gaps_" + args.type + "_settlements", settlement_rows(report))},
                     args.headers, kinds);
        note(args.format,
             fmt::format(fmt::runtime(_("wrote {} villages and {} settlements to {}")),
                         report.villages.size(), report.settlements.size(), args.output));
    }
}

struct ConfigArgs {
    bool print = false;
    bool print_targets = false;
    std::string registry;
    std::string output;
};

void run_config(const ConfigArgs &args) {
    if (!args.output.empty() && lower_extension(args.output) != ".toml")
        throw UsageError(fmt::format(
            fmt::runtime(_("-o {}: config writes a TOML file; name it .toml (e.g. radii.toml)")),
            args.output));
    if (args.print_targets) {
        if (args.output.empty())
            std::cout << default_targets_toml();
        else
            write_text_file(args.output, std::string(default_targets_toml()));
        return;
    }
    if (!args.print)
        throw UsageError(_("config: nothing to do; 'qiancun config --print' writes the defaults"));
    std::vector<KindDef> kinds = builtin_kinds();
    if (!args.registry.empty())
        kinds = Registry::open(args.registry, true).kinds();
    const std::string toml = MetricsConfig::defaults(kinds).to_toml();
    if (args.output.empty()) {
        std::cout << toml;
        return;
    }
    write_text_file(args.output, toml);
    log(LogLevel::info,
        fmt::format(fmt::runtime(_("wrote {}; edit it and pass it with --config")), args.output));
}

} // namespace

void register_metrics(CLI::App &app) {
    auto m = std::make_shared<MetricsArgs>();
    auto *metrics = app.add_subcommand(
        "metrics",
        _("Coverage metrics per village and asset type (SPEC §3); stores village_metrics"));
    metrics->footer(
        _("Per village and type T: n_T, nearest_T_m, area_cov_T, pop_cov_T, cov_T, gap_T, and\n"
          "road_km, hardened_km, road_density. Only operating and renovating assets serve.\n"
          "The full run (no --type, no --village, no --no-store) replaces the registry layer\n"
          "village_metrics (villages + every column), which 'qiancun export' writes with a QGIS\n"
          "style. --format csv prints exactly those columns, one row per village, keyed by code.\n"
          "Once stored, the next run recomputes only the villages that the assets and\n"
          "settlements imported since can reach, and says so; --full recomputes all.\n"
          "Example: qiancun metrics county.sqlite --type courier_station --format csv -o c.csv"));
    metrics
        ->add_option("REGISTRY", m->registry,
                     _("Registry file (SpatiaLite) or postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    metrics->add_option("--type", m->types, _("Only this asset type (repeatable; default: all)"))
        ->allow_extra_args(false);
    metrics->add_option("--config", m->config,
                        _("Radii and thresholds (TOML; 'qiancun config --print' writes one)"));
    metrics
        ->add_option("--village", m->villages,
                     _("Only this village: code or unique name (repeatable)"))
        ->allow_extra_args(false);
    metrics->add_option("--township", m->township, _("Only the villages of this township"));
    add_format_option(metrics, m->format);
    add_headers_option(metrics, m->headers);
    metrics->add_option("-o,--output", m->output,
                        _("Write the metrics to this file instead of stdout: a table (.csv .xlsx "
                          ".json) or the village_metrics layer (.gpkg .shp .geojson)"));
    metrics->add_flag("--no-store", m->no_store, _("Do not store the village_metrics layer"));
    metrics->add_flag("--full", m->full,
                      _("Recompute every village, not only those the imports since the stored "
                        "metrics reach"));
    metrics->add_flag("--network", m->network,
                      _("Also net_nearest_T_m and net_pop_cov_T: distances along the roads"));
    metrics->callback([m] { run_metrics(*m); });

    auto g = std::make_shared<GapsArgs>();
    auto *gaps = app.add_subcommand(
        "gaps", _("Villages below the coverage threshold of one type, worst first"));
    gaps->footer(_(
        "Columns: code, name, cov, uncovered_area_km2, uncovered_population,\n"
        "uncovered_settlements. With -o the uncovered parts of those villages (village minus the\n"
        "service discs) are stored as layer gaps_<type> and the uncovered settlements as\n"
        "gaps_<type>_settlements, and both are exported with QGIS styles: into one GeoPackage,\n"
        "or as <stem> and <stem>_settlements for .shp, .geojson and .csv.\n"
        "Example: qiancun gaps county.sqlite --type base_station_5g -o blind_spots.gpkg"));
    gaps->add_option("REGISTRY", g->registry,
                     _("Registry file (SpatiaLite) or postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    gaps->add_option("--type", g->type, _("Asset type, e.g. sewage_plant"))->required();
    gaps->add_option("--township", g->township, _("Only the villages of this township"));
    gaps->add_option("--with-sites", g->with_sites,
                     _("Count the sites 'qiancun site' proposed (its .gpkg, .shp, .geojson or "
                       ".csv) as serving, with the type's radius"));
    gaps->add_option("--config", g->config, _("Radii and thresholds (TOML)"));
    add_format_option(gaps, g->format);
    add_headers_option(gaps, g->headers);
    gaps->add_option("-o,--output", g->output,
                     _("Also write the uncovered areas and settlements as layers (.gpkg .shp "
                       ".geojson .csv) or as two tables (.xlsx .json)"));
    gaps->callback([g] { run_gaps(*g); });

    auto c = std::make_shared<ConfigArgs>();
    auto *config = app.add_subcommand(
        "config", _("Print the default radii and thresholds as a TOML file to copy and edit"));
    config->add_flag("--print", c->print, _("Write the default configuration (TOML)"));
    config->add_flag("--print-targets", c->print_targets,
                     _("Write the plan's indicator targets (TOML) for 'indicators --targets'"));
    config->add_option("--registry", c->registry,
                       _("Include the asset types configured in this registry"));
    config->add_option("-o,--output", c->output, _("Write to this file instead of stdout"));
    config->callback([c] { run_config(*c); });
}

} // namespace qiancun::cli
