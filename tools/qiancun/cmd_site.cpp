#include "cli.hpp"

#include "qiancun/error.hpp"
#include "qiancun/exporter.hpp"
#include "qiancun/i18n.hpp"
#include "qiancun/log.hpp"
#include "qiancun/qml.hpp"
#include "qiancun/siting.hpp"

#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <memory>
#include <string>

// `site`: where the next assets of a type should go (SPEC §10), maximal or set covering.

namespace qiancun::cli {
namespace {

struct SiteArgs {
    std::string registry;
    std::string type;
    std::int64_t add = 0;
    double cover_percent = 0.0;
    bool villages = false;
    std::string candidates = "settlements";
    bool network = false;
    double radius_m = 0.0;
    std::string township;
    std::string exclude;
    std::string config;
    OutputFormat format = OutputFormat::table;
    std::string output;
};

Rows site_rows(const SitingResult &result) {
    Rows rows;
    rows.columns = {"rank",
                    "x",
                    "y",
                    "candidate",
                    "village_code",
                    "added_population",
                    "cumulative_population",
                    "added_villages"};
    for (const auto &s : result.sites)
        rows.rows.push_back({s.rank, std::round(s.x * 100.0) / 100.0,
                             std::round(s.y * 100.0) / 100.0, s.candidate, s.village_code,
                             s.added_population, s.cumulative_population, s.added_villages});
    return rows;
}

double village_share(const SitingResult &r, std::int64_t reached) {
    return r.villages > 0 ? static_cast<double>(reached) / static_cast<double>(r.villages) : 0.0;
}

/// The English-keyed line for scripts (--format csv or json, on stderr beside the data).
std::string summary_keys(const SitingResult &r, bool cover) {
    std::string line =
        fmt::format("type={} sites={} candidates={} radius_m={} network={} total_population={} "
                    "covered_before={} covered_after={} added_population={} share_before={:.4f} "
                    "share_after={:.4f}",
                    r.type, r.sites.size(), r.candidate_count, r.radius_m, r.network ? "yes" : "no",
                    r.total_population, r.covered_before, r.covered_after,
                    r.covered_after - r.covered_before, r.share_before, r.share_after);
    if (r.by_villages)
        line += fmt::format(
            " villages={} threshold={} villages_reached_before={} villages_reached_after={} "
            "village_share_before={:.4f} village_share_after={:.4f} target_villages={} "
            "lower_bound_sites={} sites_over_optimum_at_most={} proven_optimal={}",
            r.villages, r.threshold, r.villages_reached_before, r.villages_reached_after,
            village_share(r, r.villages_reached_before), village_share(r, r.villages_reached_after),
            r.target_villages, r.lower_bound_sites,
            static_cast<std::int64_t>(r.sites.size()) - r.lower_bound_sites,
            r.proven_optimal ? "yes" : "no");
    else if (cover)
        line +=
            fmt::format(" target_population={} lower_bound_sites={} sites_over_optimum_at_most={}",
                        r.target_population, r.lower_bound_sites,
                        static_cast<std::int64_t>(r.sites.size()) - r.lower_bound_sites);
    else
        line += fmt::format(" upper_bound_population={} optimality_gap={:.4f}",
                            r.upper_bound_population, r.optimality_gap);
    return line;
}

/// The sentence for people, in the language of the messages.
std::string summary_sentence(const SitingResult &r, const std::string &type_name, bool cover) {
    const auto over_optimum = static_cast<std::int64_t>(r.sites.size()) - r.lower_bound_sites;
    std::string line = fmt::format(
        fmt::runtime(P_("{}: {} new site proposed ({} candidates, radius {} m, {}): {} more "
                        "people reached, population coverage {} → {}",
                        "{}: {} new sites proposed ({} candidates, radius {} m, {}): {} more "
                        "people reached, population coverage {} → {}",
                        r.sites.size())),
        type_name, r.sites.size(), r.candidate_count, r.radius_m,
        r.network ? _("along the roads") : _("straight-line distance"),
        r.covered_after - r.covered_before, percent_for_people(r.share_before),
        percent_for_people(r.share_after));
    if (r.by_villages)
        line += fmt::format(
            fmt::runtime(_("; villages covered (a village when {} of its people are within "
                           "reach) {} → {}, target {} villages; {}")),
            percent_for_people(r.threshold),
            percent_for_people(village_share(r, r.villages_reached_before)),
            percent_for_people(village_share(r, r.villages_reached_after)), r.target_villages,
            r.proven_optimal
                ? std::string(_("no fewer sites can do it (proven)"))
                : fmt::format(fmt::runtime(_("optimum ≥ {}, this answer at most {} more sites")),
                              r.lower_bound_sites, over_optimum));
    else if (cover)
        line += fmt::format(fmt::runtime(_("; the target of {} people needs at least {} sites "
                                           "(optimum ≥ {}, this answer at most {} more sites)")),
                            r.target_population, r.lower_bound_sites, r.lower_bound_sites,
                            over_optimum);
    else
        line += fmt::format(
            fmt::runtime(_("; the best answer reaches at most {} more people (at most {} short of "
                           "the optimum)")),
            r.upper_bound_population, percent_for_people(r.optimality_gap));
    return line;
}

void run_site(const SiteArgs &args) {
    const bool cover = args.cover_percent > 0.0;
    if ((args.add > 0) == cover)
        throw UsageError(_("site: give either --add N (new sites) or --cover PCT (share of the "
                           "population to reach)"));
    if (cover && args.cover_percent > 100.0)
        throw UsageError(
            fmt::format(fmt::runtime(_("--cover {}: a percentage up to 100")), args.cover_percent));
    if (!args.exclude.empty() && args.exclude != "hazard")
        throw UsageError(
            fmt::format(fmt::runtime(_("--exclude {}: only 'hazard' (the hazard zones) can be "
                                       "excluded")),
                        args.exclude));
    const OutputKind out_kind = args.output.empty() ? OutputKind::table
                                                    : check_output(args.output, table_extensions(),
                                                                   {".gpkg", ".shp", ".geojson"});
    const bool store = !args.output.empty() && out_kind == OutputKind::layer;

    SitingResult result;
    std::string type_name;
    {
        auto registry = Registry::open(args.registry, !store);
        const MetricsConfig config = load_metrics_config(registry, args.config);
        SitingOptions options;
        options.type = args.type;
        if (cover)
            options.cover = args.cover_percent / 100.0;
        else
            options.add = args.add;
        options.villages = args.villages;
        options.candidates = args.candidates;
        options.network = args.network;
        if (args.radius_m > 0.0)
            options.radius_m = args.radius_m;
        options.township = args.township;
        options.exclude_hazard = args.exclude == "hazard";
        result = plan_sites(registry, config, options);
        type_name = kind_name(kind_labels(registry), args.type);
        if (store) {
            write_sites_layer(registry, result);
            exporters::style_registry(registry);
        }
    } // closed before GDAL reads the layer back

    const Rows rows = site_rows(result);
    // People read the sentence; scripts (--format csv or json) also get the key=value line.
    note(args.format, summary_sentence(result, type_name, cover));
    if (args.format == OutputFormat::table) {
        if (result.sites.empty())
            fmt::print(fmt::runtime(_("no new site needed: the existing assets reach the "
                                      "target\n")));
        else
            print_rows(rows, OutputFormat::table, std::cout);
    } else {
        note(args.format, summary_keys(result, cover));
        if (args.output.empty())
            print_rows(rows, args.format, std::cout);
    }
    if (store) {
        export_layers(args.registry, args.output, {{"sites_" + args.type, ""}}, args.format);
    } else if (!args.output.empty()) {
        write_tables(args.output, {sheet("sites_" + args.type, rows)});
        note(args.format,
             fmt::format(fmt::runtime(_("wrote {} sites to {}")), rows.rows.size(), args.output));
    }
}

} // namespace

void register_site(CLI::App &app) {
    auto a = std::make_shared<SiteArgs>();
    auto *site = app.add_subcommand(
        "site", _("Propose sites for new assets of a type: most people newly reached, or fewest "
                  "sites for a coverage target (SPEC §10)"));
    site->footer(
        _("Demand: settlements with their population; existing operating and renovating assets\n"
          "are kept and what they reach counts as covered. --add N picks N sites that newly reach\n"
          "the most people (lazy greedy, exchanges, iterated local search) and prints an upper\n"
          "bound on the optimum; --cover PCT the fewest sites found reaching PCT % of the\n"
          "population (greedy, covers built from the Lagrangian relaxation, exchanges) with the\n"
          "Lagrangian lower bound L on the number of sites: optimum >= L, so the answer has at\n"
          "most sites - L more than needed. --cover PCT --villages: PCT % of the villages\n"
          "reached, a village when at least the type's gap threshold (default 90 %) of its\n"
          "settlement population is within reach (cov >= threshold, as metrics and gaps count);\n"
          "a village without settlement population counts as the existing assets' area\n"
          "coverage leaves it. An exact search proves small answers optimal. Columns: rank, x,\n"
          "y (working CRS), candidate, village_code, added_population, cumulative_population,\n"
          "added_villages.\n"
          "-o .gpkg/.shp/.geojson stores the layer sites_<type> (styled) and exports it; .csv\n"
          ".xlsx .json write the table.\n"
          "Example: qiancun site county.sqlite --type sewage_plant --add 40 -o sites.gpkg"));
    site->add_option("REGISTRY", a->registry,
                     _("Registry file (SpatiaLite) or postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    site->add_option("--type", a->type, _("Asset type to place, e.g. sewage_plant"))->required();
    auto *add = site->add_option("--add", a->add, _("Number of new sites (maximal covering)"))
                    ->check(CLI::PositiveNumber);
    auto *pct = add_positive_number_option(
        site, "--cover", a->cover_percent,
        _("Percentage of the population to reach, existing assets included (set covering)"));
    add->excludes(pct);
    site->add_flag("--villages", a->villages,
                   _("With --cover: PCT is the share of villages reached, a village counting when "
                     "it is no gap (cov >= the type's threshold, default 90 % of its settlement "
                     "population within reach)"))
        ->needs(pct);
    site->add_option("--candidates", a->candidates,
                     _("Where sites may go: settlements (default), road_vertices, grid:METRES, "
                       "or a point or polygon layer of the registry"));
    site->add_flag("--network", a->network, _("Measure along the serving roads (SPEC §3)"));
    add_positive_number_option(site, "--radius", a->radius_m,
                               _("Reach of a new site in metres (default: the type's radius)"));
    site->add_option("--township", a->township, _("Only this township's villages"));
    site->add_option("--exclude", a->exclude, _("hazard: no site inside a hazard zone"));
    site->add_option("--config", a->config, _("Radii and network settings (TOML)"));
    add_format_option(site, a->format);
    site->add_option(
        "-o,--output", a->output,
        _("Write the sites: a layer (.gpkg .shp .geojson) or a table (.csv .xlsx .json)"));
    site->callback([a] { run_site(*a); });
}

} // namespace qiancun::cli
