#include "cli.hpp"

#include "qiancun/classify.hpp"
#include "qiancun/config.hpp"
#include "qiancun/error.hpp"
#include "qiancun/indicators.hpp"
#include "qiancun/log.hpp"
#include "qiancun/progress.hpp"
#include "qiancun/qml.hpp"
#include "qiancun/reasons.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "qiancun/i18n.hpp"

// `classify` and `indicators`: the plan's village classes (SPEC §4) and its core indicators
// against target (SPEC §5).

namespace qiancun::cli {
namespace {

namespace fs = std::filesystem;

/// A number for people: integers without decimals, others with up to two.
Value readable(const std::optional<double> &v) {
    if (!v)
        return Value{};
    if (*v == std::floor(*v) && std::fabs(*v) < 1e15)
        return Value{static_cast<std::int64_t>(*v)};
    return Value{fmt::format("{:.2f}", *v)};
}

struct ClassifyArgs {
    std::string registry;
    std::string rules;
    std::string config;
    std::string township;
    std::string suggested_class;
    OutputFormat format = OutputFormat::table;
    std::string output;
    bool mismatches = false;
    bool features = false;
    bool no_store = false;
    Headers headers = Headers::by_format;
};

void run_classify(const ClassifyArgs &args) {
    const OutputKind out_kind =
        args.output.empty() ? OutputKind::table
                            : check_output(args.output, table_extensions(), layer_extensions());
    if (!args.output.empty() && out_kind == OutputKind::layer &&
        (args.no_store || !args.township.empty() || !args.suggested_class.empty() ||
         args.mismatches))
        throw UsageError(fmt::format(
            fmt::runtime(
                _("-o {}: a layer file holds the stored village_classes layer of every village (no "
                  "--no-store, --township, --class or --mismatches); or write a table: {}")),
            args.output, fmt::join(table_extensions(), " ")));
    const std::string rules_text =
        args.rules.empty() ? std::string() : read_text_file(args.rules, "rules file");
    auto registry = Registry::open(args.registry, args.no_store);
    // A county's rules may test its configured village attributes too.
    const RuleSet rules =
        args.rules.empty()
            ? RuleSet::defaults()
            : RuleSet::from_toml(rules_text, args.rules,
                                 configured_village_attributes(registry.kind("village")));
    std::vector<std::string> township_codes;
    if (!args.township.empty())
        township_codes = registry.township_villages(args.township);
    std::string wanted_class;
    if (!args.suggested_class.empty()) {
        const KindDef &village = registry.kind("village");
        const auto parsed = parse_value(
            village.attributes[static_cast<std::size_t>(village.attribute_index("class"))],
            args.suggested_class);
        if (const auto *problem = std::get_if<std::string>(&parsed))
            throw UsageError(*problem);
        wanted_class = value_to_text(std::get<Value>(parsed));
        if (wanted_class.empty())
            throw UsageError(_("--class needs a class: suburban, cluster, improve, heritage or "
                               "relocate (or 城郊融合类 …)"));
    }
    const MetricsConfig config = load_metrics_config(registry, args.config);
    Classification result = classify_villages(registry, rules, config);
    if (!args.no_store) {
        write_classes_layer(registry, result, exporters::reason_text);
        exporters::style_registry(registry);
        log(LogLevel::info,
            fmt::format(fmt::runtime(_(
                            "stored layer village_classes ({} villages) in {}; 'qiancun export {} "
                            "village_classes classes.shp' writes it with a QGIS style")),
                        result.villages.size(), args.registry, args.registry));
    }

    if (!township_codes.empty() || !wanted_class.empty()) {
        std::erase_if(result.villages, [&](const VillageClassification &v) {
            return (!township_codes.empty() &&
                    !std::binary_search(township_codes.begin(), township_codes.end(), v.code)) ||
                   (!wanted_class.empty() && v.suggested_class != wanted_class);
        });
        if (result.villages.empty())
            log(LogLevel::warning, _("no village matches the filter"));
    }
    Rows rows = result.to_rows(args.features, exporters::reason_text);
    if (args.mismatches) {
        const auto at = static_cast<std::size_t>(
            std::find(rows.columns.begin(), rows.columns.end(), "mismatch") - rows.columns.begin());
        std::erase_if(rows.rows, [&](const std::vector<Value> &r) {
            return !std::holds_alternative<std::int64_t>(r[at]) ||
                   std::get<std::int64_t>(r[at]) != 1;
        });
    }
    // The classes in people's words where people read them, as list does for choices: by
    // message_name in the table printed, in Chinese in a file with Chinese headers; CSV and
    // JSON for scripts keep the keys.
    const bool printed = args.output.empty() && args.format == OutputFormat::table;
    if (printed || (out_kind == OutputKind::table && !args.output.empty() &&
                    chinese_headers(args.output, args.headers)))
        for (std::size_t at = 0; at < rows.columns.size(); ++at) {
            if (rows.columns[at] != "suggested_class" && rows.columns[at] != "recorded_class")
                continue;
            for (auto &r : rows.rows)
                if (const auto *key = std::get_if<std::string>(&r[at]); key && !key->empty())
                    r[at] = printed ? message_name(*key, village_class_label(*key))
                                    : village_class_label(*key);
        }
    if (!args.output.empty() && out_kind == OutputKind::table) {
        write_tables(args.output, {sheet("village_classes", rows)}, args.headers,
                     kind_labels(registry));
        note(args.format, fmt::format(fmt::runtime(_("wrote {} villages to {}")), rows.rows.size(),
                                      args.output));
    } else if (!args.output.empty()) {
        { const Registry closed = std::move(registry); } // before GDAL reads the layer back
        export_layers(args.registry, args.output, {{"village_classes", ""}}, args.format);
    }
    if (args.format != OutputFormat::table) {
        if (args.output.empty())
            print_rows(rows, args.format, std::cout);
        return;
    }
    if (args.output.empty()) {
        print_rows(rows, OutputFormat::table, std::cout);
        fmt::print("\n");
    }
    std::int64_t mismatched = 0;
    std::int64_t recorded = 0;
    for (const auto &v : result.villages) {
        recorded += v.recorded_class.empty() ? 0 : 1;
        mismatched += v.mismatch.value_or(false) ? 1 : 0;
    }
    fmt::print(
        fmt::runtime(
            _("Villages per class ({} villages, rules: {}; {} with a recorded class, {} of them "
              "suggested another)\n")),
        result.villages.size(),
        // The library names the built-in rules in English; the table is for people.
        rules.origin == RuleSet::defaults().origin ? std::string(_("built-in rules"))
                                                   : rules.origin,
        recorded, mismatched);
    print_rows(without_keys_in_chinese(result.class_counts(), "class"), OutputFormat::table,
               std::cout);
    fmt::print(fmt::runtime(_("\nSuggested classes per township\n")));
    // A column per class: headed by the class's name ("heritage" the column would name the
    // heritage flag).
    Rows per_township = result.township_counts();
    for (auto &c : per_township.columns)
        if (std::find(village_class_keys().begin(), village_class_keys().end(), c) !=
            village_class_keys().end())
            c = translate_in_context("village class", std::string(village_class_name(c)).c_str());
    print_rows(per_township, OutputFormat::table, std::cout);
}

struct IndicatorArgs {
    std::string registry;
    std::string as_of;
    std::string compare;
    std::string by;
    std::vector<std::string> only;
    std::string targets;
    std::string indicators;
    std::string config;
    OutputFormat format = OutputFormat::table;
    std::string output;
    Headers headers = Headers::by_format;
};

/// `bulletin` as CSV/JSON rows; with `before`, the columns compare_actual and change.
Rows data_rows(const Bulletin &bulletin, const Bulletin *before, bool townships) {
    Rows rows = bulletin.to_rows(townships);
    if (!before)
        return rows;
    const Rows old = before->to_rows(townships);
    const auto actual_at = static_cast<std::size_t>(
        std::find(rows.columns.begin(), rows.columns.end(), "actual") - rows.columns.begin());
    const auto target_at = static_cast<std::ptrdiff_t>(
        std::find(rows.columns.begin(), rows.columns.end(), "target") - rows.columns.begin());
    rows.columns.emplace_back("compare_actual");
    rows.columns.emplace_back("change");
    for (std::size_t i = 0; i < rows.rows.size(); ++i) {
        // Matched on the columns before `target` (township, indicator, unit): a target may
        // change with the year.
        Value previous;
        for (const auto &r : old.rows)
            if (std::equal(r.begin(), r.begin() + target_at, rows.rows[i].begin()))
                previous = r[actual_at];
        auto number = [](const Value &v) -> std::optional<double> {
            if (const auto *d = std::get_if<double>(&v))
                return *d;
            if (const auto *n = std::get_if<std::int64_t>(&v))
                return static_cast<double>(*n);
            return std::nullopt;
        };
        const auto a = number(rows.rows[i][actual_at]);
        const auto b = number(previous);
        rows.rows[i].push_back(previous);
        rows.rows[i].push_back(a && b ? Value{std::round((*a - *b) * 100.0) / 100.0} : Value{});
    }
    return rows;
}

void print_bulletin(const Bulletin &bulletin, const Bulletin *before, const Targets &targets,
                    bool townships) {
    fmt::print(fmt::runtime(_("Indicators as of {} (plan period {}–{}){}\n")), bulletin.as_of,
               targets.period_start, targets.period_end,
               before ? fmt::format(fmt::runtime(_(", compared with {}")), before->as_of)
                      : std::string());
    std::map<std::string, const IndicatorDef *> def_of;
    for (const auto &d : bulletin.defs)
        def_of[d.key] = &d;
    if (const auto behind = behind_schedule(bulletin); !behind.empty()) {
        fmt::print(fmt::runtime(_("Behind schedule (进度滞后), furthest behind first:\n")));
        for (const auto &w : behind) {
            const IndicatorDef &def = *def_of.at(w.value.key);
            const std::string name = message_name(def.key, def.label);
            fmt::print(fmt::runtime(
                           _("  {}: actual {} < expected {} ({} behind, {:.0f} % of expected)\n")),
                       w.value.township.empty()
                           ? name
                           : fmt::format(fmt::runtime(_("{0} in {1}")), name, w.value.township),
                       value_to_text(readable(w.value.actual)),
                       value_to_text(readable(w.value.expected)),
                       value_to_text(readable(w.behind_by)), w.behind_share * 100.0);
        }
        fmt::print("\n");
    }
    // 责任单位 when the indicators file names any.
    const bool with_department =
        std::any_of(bulletin.defs.begin(), bulletin.defs.end(),
                    [](const IndicatorDef &d) { return !d.department.empty(); });
    Rows rows;
    if (townships)
        rows.columns.emplace_back("township");
    for (const char *c : {"indicator", "label", "unit", "target", "expected", "actual", "status"})
        rows.columns.emplace_back(c);
    if (before)
        for (const char *c : {"compare", "change"})
            rows.columns.emplace_back(c);
    rows.columns.emplace_back("detail");
    if (with_department)
        rows.columns.emplace_back("department");
    for (const auto &v : bulletin.values) {
        if (!townships && !v.township.empty())
            continue;
        std::vector<Value> row;
        if (townships)
            row.emplace_back(v.township.empty() ? std::string(_("(district)")) : v.township);
        const auto &def = *def_of.at(v.key);
        const auto it = targets.by_key.find(v.key);
        const bool assumed = it != targets.by_key.end() && it->second.assumption;
        row.emplace_back(v.key);
        row.emplace_back(def.label);
        row.emplace_back(translate_in_context("indicator unit", def.unit.c_str()));
        Value target = readable(v.target);
        if (assumed && v.target)
            target = fmt::format("{}*", value_to_text(target));
        row.push_back(target);
        row.push_back(readable(v.expected));
        row.push_back(readable(v.actual));
        row.emplace_back(
            translate_in_context("indicator status", std::string(to_string(v.status)).c_str()));
        if (before) {
            std::optional<double> previous;
            for (const auto &b : before->values)
                if (b.key == v.key && b.township == v.township)
                    previous = b.actual;
            row.push_back(readable(previous));
            row.push_back(v.actual && previous ? readable(*v.actual - *previous) : Value{});
        }
        row.emplace_back(v.detail);
        if (with_department)
            row.emplace_back(def.department);
        rows.rows.push_back(std::move(row));
    }
    print_rows(rows, OutputFormat::table, std::cout);
    fmt::print(fmt::runtime(_("* a planning assumption: the plan gives no number\n")));
    if (townships) {
        Rows ranking;
        ranking.columns = {"rank", "township", "targets", "met", "behind", "share_met"};
        for (const auto &r : rank_townships(bulletin))
            ranking.rows.push_back({r.rank ? Value{std::int64_t{*r.rank}} : Value{}, r.township,
                                    std::int64_t{r.targets}, std::int64_t{r.met},
                                    std::int64_t{r.behind},
                                    r.share ? Value{percent_for_people(*r.share)} : Value{}});
        fmt::print(fmt::runtime(_("\nTownship ranking (乡镇晾晒) by the share of targets met\n")));
        print_rows(ranking, OutputFormat::table, std::cout);
    }
    for (const auto &note : left_out_notes(bulletin))
        fmt::print(fmt::runtime(_("note: {}\n")), note);
    for (const auto &note : bulletin.notes)
        fmt::print(fmt::runtime(_("note: {}\n")), note);
    if (before)
        for (const auto &note : before->notes)
            fmt::print(fmt::runtime(_("note ({}): {}\n")), before->as_of, note);
}

void run_indicators(const IndicatorArgs &args) {
    if (!args.by.empty() && args.by != "township")
        throw UsageError(
            fmt::format(fmt::runtime(_("--by {}: only 'township' is supported")), args.by));
    if (!args.output.empty())
        check_output(args.output, table_extensions(), {});
    auto registry = Registry::open(args.registry, true);
    const Targets targets = load_targets(registry, args.indicators, args.targets);
    const MetricsConfig config = load_metrics_config(registry, args.config);
    IndicatorOptions options;
    options.as_of = args.as_of;
    options.by_township = args.by == "township";
    options.only = args.only;
    const Bulletin bulletin = compute_indicators(registry, targets, config, options);
    std::optional<Bulletin> before;
    if (!args.compare.empty()) {
        options.as_of = args.compare;
        before = compute_indicators(registry, targets, config, options);
    }
    const Bulletin *b = before ? &*before : nullptr;
    if (!args.output.empty()) {
        write_tables(args.output,
                     {sheet("indicators", data_rows(bulletin, b, options.by_township))},
                     args.headers, kind_labels(registry));
        if (args.format == OutputFormat::table)
            fmt::print(fmt::runtime(_("wrote the bulletin as of {} to {}\n")), bulletin.as_of,
                       args.output);
    }
    if (args.format != OutputFormat::table) {
        if (args.output.empty())
            print_rows(data_rows(bulletin, b, options.by_township), args.format, std::cout);
        for (const auto &note : left_out_notes(bulletin))
            log(LogLevel::info, fmt::format(fmt::runtime(_("note: {}")), note));
        for (const auto &note : bulletin.notes)
            log(LogLevel::info, fmt::format(fmt::runtime(_("note: {}")), note));
        return;
    }
    print_bulletin(bulletin, b, targets, options.by_township);
}

} // namespace

void register_classify(CLI::App &app) {
    auto c = std::make_shared<ClassifyArgs>();
    auto *classify = app.add_subcommand(
        "classify", _("Suggest each village's class (SPEC §4) by rules; stores village_classes"));
    classify->footer(
        _("Features per village: urban_distance_m, population, settlements, density,\n"
          "completeness, heritage, hazard_share, road_access_m. Rules are tried in order; the\n"
          "first that fires gives the class, the last is the default. A rule that needs a missing\n"
          "feature is skipped with a warning. The built-in rules are sample_maps/rules.toml.\n"
          "--format csv columns: code,name,township,suggested_class,rule,reason,recorded_class,\n"
          "mismatch (1 when the recorded class differs, empty when none is recorded).\n"
          "Example: qiancun classify county.sqlite --rules my-rules.toml --format csv -o c.csv"));
    classify
        ->add_option("REGISTRY", c->registry,
                     _("Registry file (SpatiaLite) or postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    classify->add_option("--rules", c->rules, _("Rules file (TOML; default: the built-in rules)"));
    classify->add_option("--config", c->config,
                         _("Radii and thresholds for the facility completeness (TOML)"));
    add_format_option(classify, c->format);
    add_headers_option(classify, c->headers);
    classify->add_option("-o,--output", c->output,
                         _("Write the villages to this file instead of stdout: a table (.csv "
                           ".xlsx .json) or the village_classes layer (.gpkg .shp .geojson)"));
    classify->add_flag("--mismatches", c->mismatches,
                       _("Only villages whose suggested class differs from the recorded one"));
    classify->add_flag("--features", c->features, _("Add a column per feature"));
    classify->add_option("--township", c->township, _("Only the villages of this township"));
    classify->add_option("--class", c->suggested_class,
                         _("Only villages suggested this class (suburban … or 城郊融合类 …)"));
    classify->add_flag("--no-store", c->no_store, _("Do not store the village_classes layer"));
    classify->callback([c] { run_classify(*c); });

    auto i = std::make_shared<IndicatorArgs>();
    auto *indicators = app.add_subcommand(
        "indicators", _("The plan's core indicators against target (SPEC §5), as of a date"));
    indicators->footer(
        _("Keys: sewage_new, sewage_renovated, sewage_village_coverage, sewage_effluent_ok,\n"
          "road_new_km, road_maintained_km, hall_five_star, courier_village_coverage,\n"
          "bs5g_settlement_coverage, retained_hemei_share. Status: met (actual ≥ target),\n"
          "on_track (actual ≥ the value expected on the date), behind, no_data, no_target.\n"
          "The expected value runs linearly from the previous milestone (0 at the start of the\n"
          "period for counts and lengths) to the next one at the end of its year. The targets of "
          "courier_village_coverage and\n"
          "bs5g_settlement_coverage (100 %) are planning assumptions: the plan gives no number.\n"
          "Shares leave out what has no value (a plant without an effluent result): `unknown`.\n"
          "sewage_new, sewage_renovated, road_new_km, road_maintained_km and retained_hemei_share\n"
          "come from the data's years; the others need the statuses on the date, which the\n"
          "registry knows from its first import (or `load/import --as-of DATE`).\n"
          "--format csv columns: indicator,unit,target,expected,actual,status,unknown (township\n"
          "first with --by township; compare_actual,change last with --compare).\n"
          "Example: qiancun indicators county.sqlite --as-of 2025-12-31 --compare 2025-11-30"));
    indicators
        ->add_option("REGISTRY", i->registry,
                     _("Registry file (SpatiaLite) or postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    indicators->add_option("--as-of", i->as_of,
                           _("Date YYYY-MM-DD of the picture (status history; default: today)"));
    indicators->add_option("--compare", i->compare,
                           _("Also compute as of this date, with the change (month on month)"));
    indicators->add_option("--by", i->by, _("township: one row per indicator and township too"));
    indicators
        ->add_option("--only", i->only,
                     _("Only these indicators (comma-separated keys), e.g. the ones counted from "
                       "the data's years on a date before the registry knows statuses"))
        ->delimiter(',');
    indicators->add_option(
        "--indicators", i->indicators,
        _("Indicators file (TOML, SPEC §5.1): the built-in indicators plus its own; the same key "
          "replaces a built-in one"));
    indicators->add_option("--targets", i->targets,
                           _("Targets file (TOML; 'qiancun config --print-targets' writes one)"));
    indicators->add_option("--config", i->config,
                           _("Radii and thresholds for the coverages (TOML)"));
    add_format_option(indicators, i->format);
    add_headers_option(indicators, i->headers);
    indicators->add_option("-o,--output", i->output,
                           _("Write the bulletin to this file (.csv .xlsx .json)"));
    indicators->callback([i] { run_indicators(*i); });
}

} // namespace qiancun::cli
