#include "cli.hpp"

#include "qiancun/config.hpp"
#include "qiancun/error.hpp"
#include "qiancun/exporter.hpp"
#include "qiancun/geometry.hpp"
#include "qiancun/log.hpp"
#include "qiancun/network.hpp"
#include "qiancun/qml.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "qiancun/i18n.hpp"

// `service-area`, `route` and `info --network`: distances along the serving road network.

namespace qiancun::cli {
namespace {

namespace fs = std::filesystem;

struct ServiceAreaArgs {
    std::string registry;
    std::string type;
    double distance_m = 0.0;
    double minutes = 0.0;
    double width_m = 100.0;
    std::string config;
    bool full_noding = false;
    std::string output;
    OutputFormat format = OutputFormat::table;
    Headers headers = Headers::by_format;
};

void run_service_area(const ServiceAreaArgs &args) {
    if (args.distance_m != 0.0 && args.minutes != 0.0)
        throw UsageError(_("service-area: give --distance or --minutes, not both"));
    const OutputKind out_kind =
        args.output.empty()
            ? OutputKind::layer
            : check_output(args.output, {".xlsx", ".json"}, {".gpkg", ".shp", ".geojson", ".csv"});
    ServiceArea area;
    exporters::KindLabels kinds;
    {
        auto registry = Registry::open(args.registry);
        kinds = kind_labels(registry);
        ServiceAreaOptions options;
        options.type = args.type;
        if (args.distance_m != 0.0)
            options.distance_m = args.distance_m;
        if (args.minutes != 0.0)
            options.minutes = args.minutes;
        options.width_m = args.width_m;
        options.full_noding = args.full_noding;
        area = compute_service_area(registry, load_metrics_config(registry, args.config), options);
        write_service_area_layers(registry, area);
        exporters::style_registry(registry);
    } // closed before GDAL reads the layers back
    const bool by_time = area.cost == network::Cost::time;
    Rows rows;
    rows.columns = {"facility", by_time ? "reach_min" : "reach_m", "leg_m", "on_network", "road_km",
                    "area_km2"};
    double km = 0.0;
    std::int64_t off = 0;
    for (const auto &f : area.facilities) {
        rows.rows.push_back({f.facility, by_time ? f.reach_min : f.reach_m, f.leg_m,
                             std::int64_t{f.on_network ? 1 : 0}, f.road_km, f.area_km2});
        km += f.road_km;
        off += f.on_network ? 0 : 1;
    }
    if (args.format == OutputFormat::table)
        fmt::print(
            fmt::runtime(
                _("{}: {} serving facilities reach {:.1f} km of road{} ({} off the network); "
                  "layers service_area_{} and service_area_{}_buffer (width {:g} m) stored\n")),
            kind_name(kinds, area.type), area.facilities.size(), km,
            by_time ? fmt::format(fmt::runtime(_(" within {:g} min")), args.minutes)
                    : std::string(),
            off, area.type, area.type, area.width_m);
    print_rows(rows, args.format, std::cout);
    if (!args.output.empty() && out_kind == OutputKind::table) {
        write_tables(args.output, {sheet("service_area_" + area.type, rows)}, args.headers, kinds);
        note(args.format, fmt::format(fmt::runtime(_("wrote {} facilities to {}")),
                                      rows.rows.size(), args.output));
    } else if (!args.output.empty())
        export_layers(args.registry, args.output,
                      {{"service_area_" + area.type, ""},
                       {"service_area_" + area.type + "_buffer", "_buffer"}},
                      args.format);
}

struct RouteArgs {
    std::string registry;
    std::string from;
    std::string type;
    network::Cost cost = network::Cost::length;
    std::string config;
    std::string output;
    OutputFormat format = OutputFormat::table;
};

void run_route(const RouteArgs &args) {
    const bool text_file = !args.output.empty() &&
                           check_output(args.output, {".wkt"},
                                        {".gpkg", ".shp", ".geojson", ".csv"}) == OutputKind::table;
    const bool store = !args.output.empty() && !text_file;
    Route route;
    exporters::KindLabels kinds;
    {
        auto registry = Registry::open(args.registry, !store);
        kinds = kind_labels(registry);
        route = route_to_nearest(registry, load_metrics_config(registry, args.config), args.from,
                                 args.type, args.cost);
        if (store)
            write_route_layer(registry, route);
    }
    const std::string wkt = route.wkb.empty() ? "" : geometry::wkt_from_wkb(route.wkb, 3);
    if (route.asset_id.empty())
        throw Error(fmt::format(
            fmt::runtime(_(
                "no serving {} is reachable from {} {} along the roads (off-road leg {:.1f} m, cap "
                "from the configuration)")),
            kind_name(kinds, route.type), kind_name(kinds, route.from_kind), route.from_id,
            route.start_leg_m));
    const bool by_time = route.cost == network::Cost::time;
    if (args.format == OutputFormat::table) {
        fmt::print(
            fmt::runtime(_("{} {} → {} {} {}: {}{:.1f} m (off-road {:.1f} m + road {:.1f} m + "
                           "off-road {:.1f} m)\n")),
            kind_name(kinds, route.from_kind), route.from_id, by_time ? _("fastest") : _("nearest"),
            kind_name(kinds, route.type), route.asset_id,
            by_time ? fmt::format(fmt::runtime(_("{:.1f} min, ")), route.minutes) : "",
            route.distance_m, route.start_leg_m,
            route.distance_m - route.start_leg_m - route.end_leg_m, route.end_leg_m);
        if (args.output.empty())
            fmt::print("{}\n", wkt);
    } else {
        Rows rows;
        rows.columns = {"from_kind",  "from_id",     "type",     "asset_id",
                        "distance_m", "start_leg_m", "end_leg_m"};
        rows.rows.push_back({route.from_kind, route.from_id, route.type, route.asset_id,
                             route.distance_m, route.start_leg_m, route.end_leg_m});
        if (by_time) {
            rows.columns.push_back("minutes");
            rows.rows.back().push_back(route.minutes);
        }
        rows.columns.push_back("wkt");
        rows.rows.back().push_back(wkt);
        print_rows(rows, args.format, std::cout);
    }
    if (text_file) {
        std::ofstream out(args.output, std::ios::binary | std::ios::trunc);
        out << wkt << '\n';
        out.close();
        if (!out)
            throw Error(fmt::format(fmt::runtime(_("cannot write {}")), args.output));
        note(args.format, fmt::format(fmt::runtime(_("wrote the path to {}")), args.output));
    } else if (store) {
        export_layers(args.registry, args.output, {{"route", ""}}, args.format);
    }
}

} // namespace

void print_network_info(const std::string &registry_path, OutputFormat format) {
    auto registry = Registry::open(registry_path, true);
    const NetworkReport report =
        network_report(registry, MetricsConfig::defaults(registry.kinds()));
    Rows rows;
    rows.columns = {"piece", "edges", "km", "villages"};
    for (std::size_t i = 0; i < report.pieces.size(); ++i) {
        const auto &p = report.pieces[i];
        // The main piece in the interface's words in a table for people, "main" for scripts.
        const std::string main = format == OutputFormat::table ? _("main") : "main";
        rows.rows.push_back({i == 0 ? main : fmt::format("{}", i), p.edges, p.km,
                             fmt::format("{}", fmt::join(p.villages, " "))});
    }
    if (format == OutputFormat::json) {
        nlohmann::json j;
        j["nodes"] = report.nodes;
        j["edges"] = report.edges;
        j["km"] = report.km;
        j["snap_tolerance_m"] = report.snap_tolerance_m;
        j["pieces"] = nlohmann::json::array();
        for (const auto &p : report.pieces)
            j["pieces"].push_back({{"edges", p.edges}, {"km", p.km}, {"villages", p.villages}});
        std::cout << j.dump(2) << '\n';
        return;
    }
    if (format == OutputFormat::csv) {
        print_rows(rows, format, std::cout);
        return;
    }
    double detached_km = 0.0;
    for (std::size_t i = 1; i < report.pieces.size(); ++i)
        detached_km += report.pieces[i].km;
    fmt::print(
        fmt::runtime(
            _("road network (serving roads, snapping {:g} m): {} nodes, {} edges, {:.1f} km\n")),
        report.snap_tolerance_m, report.nodes, report.edges, report.km);
    fmt::print(fmt::runtime(_("disconnected pieces: {} ({:.1f} km) besides the main network\n")),
               report.pieces.empty() ? 0 : report.pieces.size() - 1, detached_km);
    if (!rows.rows.empty())
        print_rows(rows, format, std::cout);
}

void register_network(CLI::App &app) {
    auto s = std::make_shared<ServiceAreaArgs>();
    auto *sa = app.add_subcommand(
        "service-area", _("Road parts each facility of a type reaches along the road network"));
    sa->footer(
        _("Stores layer service_area_<type> (reached road stretches: facility, road_id, from_m,\n"
          "distance_m — network distance at the near and far end, partial edges cut at the exact\n"
          "reach) and service_area_<type>_buffer (per facility: those lines buffered by --width).\n"
          "Distance = off-road leg + road + off-road leg; legs over the configured cap do not\n"
          "reach. With --minutes the reach is travel time instead: each road at the speed of its\n"
          "grade times the factor of its surface, off-road legs at the walking speed ([network]\n"
          "of the configuration, `qiancun config --print`); the lines then also carry from_min\n"
          "and minutes, the time at the near and far end, and the buffers reach_min. With -o both\n"
          "are exported with QGIS styles (one .gpkg, or <stem> and <stem>_buffer). Examples:\n"
          "  qiancun service-area county.sqlite --type courier_station --distance 2000 -o "
          "reach.gpkg\n"
          "  qiancun service-area county.sqlite --type courier_station --minutes 10 -o "
          "reach10.gpkg"));
    sa->add_option("REGISTRY", s->registry,
                   _("Registry file (SpatiaLite) or postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    sa->add_option("--type", s->type, _("Asset type, e.g. courier_station"))->required();
    add_positive_number_option(
        sa, "--distance", s->distance_m,
        _("Reach of every facility, metres (default: each one's service radius)"));
    add_positive_number_option(
        sa, "--minutes", s->minutes,
        _("Reach of every facility in travel time, minutes (instead of --distance)"));
    add_positive_number_option(sa, "--width", s->width_m,
                               _("Buffer width each side of the lines, metres"))
        ->default_str(fmt::format("{}", s->width_m));
    sa->add_option("--config", s->config,
                   _("Radii, snapping tolerance, off-road cap and speeds (TOML)"));
    sa->add_flag("--full-noding", s->full_noding,
                 _("Also join roads that cross without a shared vertex (ignores bridges)"));
    sa->add_option("-o,--output", s->output,
                   _("Export both layers (.gpkg .shp .geojson .csv) or the table (.xlsx .json)"));
    add_format_option(sa, s->format);
    add_headers_option(sa, s->headers);
    sa->callback([s] { run_service_area(*s); });

    auto r = std::make_shared<RouteArgs>();
    auto *route = app.add_subcommand(
        "route",
        _("Shortest road path from a village or settlement to the nearest asset of a type"));
    route->footer(
        _("FROM is a village code (its demand point: the seat, else a point inside) or a\n"
          "settlement id. Prints the distance and the path as WKT; -o writes the path\n"
          "(.wkt as text, else as layer `route` exported: .gpkg .shp .geojson .csv).\n"
          "--cost time takes the asset reached soonest and the fastest way to it, with\n"
          "the speeds of [network] in the configuration (by road grade and surface,\n"
          "walking off the road), and prints its minutes as well as its metres.\n"
          "Example: qiancun route county.sqlite --from 330604101201 --to-nearest "
          "sewage_plant --cost time"));
    route
        ->add_option("REGISTRY", r->registry,
                     _("Registry file (SpatiaLite) or postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    route->add_option("--from", r->from, _("Village code or settlement id"))->required();
    route->add_option("--to-nearest", r->type, _("Asset type"))->required();
    route
        ->add_option("--cost", r->cost,
                     _("What the route minimises: length (metres) or time (minutes)"))
        ->transform(CLI::CheckedTransformer(
            std::map<std::string, network::Cost>{{"length", network::Cost::length},
                                                 {"time", network::Cost::time}},
            CLI::ignore_case))
        ->default_str("length")
        ->option_text("{length,time}");
    route->add_option("--config", r->config,
                      _("Snapping tolerance, off-road cap and speeds (TOML)"));
    route->add_option("-o,--output", r->output, _("Write the path to this file"));
    add_format_option(route, r->format);
    route->callback([r] { run_route(*r); });
}

} // namespace qiancun::cli
