#include "cli.hpp"

#include "qiancun/check.hpp"

#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>

#include "qiancun/i18n.hpp"

// `check`: the data-quality report (likely duplicates, assets outside every village, villages
// without settlements or population, plants without effluent results, road pieces off the
// network, settlements far from any road).

namespace qiancun::cli {
namespace {

struct CheckArgs {
    std::string registry;
    std::string config;
    OutputFormat format = OutputFormat::table;
    std::string output;
    Headers headers = Headers::by_format;
};

/// The findings for people: each check and kind as message_name names them (their labels in
/// Chinese messages).
Rows people_rows(Rows rows, const exporters::KindLabels &kinds) {
    for (auto &r : rows.rows) {
        const auto &check = std::get<std::string>(r[0]);
        for (const auto &d : check_defs())
            if (d.key == check)
                r[0] = message_name(d.key, d.label_zh);
        r[1] = kind_name(kinds, std::get<std::string>(r[1]));
    }
    return rows;
}

/// Findings per check: key, Chinese label, count.
Rows summary_rows(const CheckReport &report) {
    Rows rows;
    rows.columns = {"check", "label", "findings"};
    const auto counts = report.counts();
    for (std::size_t i = 0; i < counts.size(); ++i)
        rows.rows.push_back(
            {counts[i].first, check_defs().at(i).label_zh, Value{counts[i].second}});
    return rows;
}

void run_check(const CheckArgs &args) {
    if (!args.output.empty())
        check_output(args.output, table_extensions(), {});
    auto registry = Registry::open(args.registry, true);
    const MetricsConfig config = load_metrics_config(registry, args.config);
    const CheckReport report = check_registry(registry, config);
    const Rows rows = report.to_rows();
    if (!args.output.empty()) {
        // A workbook also gets the counts per check; CSV and JSON hold the findings only.
        std::vector<exporters::Sheet> tables{sheet("findings", rows)};
        if (lower_extension(args.output) == ".xlsx")
            tables.push_back(sheet("summary", summary_rows(report)));
        write_tables(args.output, tables, args.headers, kind_labels(registry));
        note(args.format, fmt::format(fmt::runtime(_("wrote {} findings to {}")), rows.rows.size(),
                                      args.output));
    } else if (args.format == OutputFormat::table) {
        print_rows(people_rows(rows, kind_labels(registry)), args.format, std::cout);
    } else {
        print_rows(rows, args.format, std::cout);
    }
    for (const auto &s : report.skipped)
        note(args.format, fmt::format(fmt::runtime(_("not checked: {}")), s));
    if (args.format != OutputFormat::table)
        return;
    fmt::print(fmt::runtime(_("\nFindings per check ({} in all)\n")), rows.rows.size());
    print_rows(without_keys_in_chinese(summary_rows(report), "check"), OutputFormat::table,
               std::cout);
}

} // namespace

void register_check(CLI::App &app) {
    auto c = std::make_shared<CheckArgs>();
    auto *check = app.add_subcommand("check", _("Data-quality report: likely duplicates, assets "
                                                "outside villages, gaps in the data"));
    check->footer(
        _("Checks: duplicate_asset (same kind, within 50 m, same or near-same name),\n"
          "outside_villages, village_without_settlements, village_without_population,\n"
          "plant_without_effluent (serving, effluent_ok empty), road_disconnected (serving road\n"
          "off the main network), settlement_off_road (beyond the off-road cap of every serving\n"
          "road). --format csv columns: check,kind,id,village_code,detail,value (value: m for\n"
          "distances, km for road pieces).\n"
          "Example: qiancun check county.sqlite --format csv -o findings.csv"));
    check
        ->add_option("REGISTRY", c->registry,
                     _("Registry file (SpatiaLite) or postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    check->add_option("--config", c->config,
                      _("Serving statuses, snapping tolerance and off-road cap (TOML)"));
    add_format_option(check, c->format);
    add_headers_option(check, c->headers);
    check->add_option(
        "-o,--output", c->output,
        _("Write the findings to this file (.csv, .xlsx with a summary sheet, .json)"));
    check->callback([c] { run_check(*c); });
}

} // namespace qiancun::cli
