#include "cli.hpp"

#include "qiancun/chinese_catalogue.hpp"
#include "qiancun/log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "qiancun/i18n.hpp"

namespace qiancun::cli {

namespace {

struct ListOptions {
    std::string registry;
    std::string kind;
    std::string village;
    std::string status;
    std::string township;
    std::string where;
    std::int64_t limit = 0;
    bool wkt = false;
    OutputFormat format = OutputFormat::table;
    std::string output;
    Headers headers = Headers::by_format;
};

void run_list(const ListOptions &o) {
    if (!o.output.empty())
        check_output(o.output, table_extensions(), {});
    auto registry = Registry::open(o.registry, true);
    ListFilter f;
    if (!o.village.empty())
        f.village_code = o.village;
    if (!o.status.empty())
        f.status = o.status;
    if (!o.township.empty())
        f.township = o.township;
    if (!o.where.empty())
        f.where = o.where;
    if (o.limit > 0)
        f.limit = o.limit;
    f.with_wkt = o.wkt;
    Rows rows = registry.list(o.kind, f);
    // Statuses and other choices in people's words where people read them: the table printed in
    // the language of the interface, a file with Chinese headers in Chinese; CSV and JSON for
    // scripts keep keys.
    const bool people =
        o.output.empty() ? o.format == OutputFormat::table : chinese_headers(o.output, o.headers);
    const KindDef &kind = registry.kind(o.kind);
    for (std::size_t at = 0; people && at < rows.columns.size(); ++at) {
        const int a = kind.attribute_index(rows.columns[at]);
        if (a < 0)
            continue;
        const AttributeDef &def = kind.attributes[static_cast<std::size_t>(a)];
        // A county's own attribute (configured in its manifest) is headed by its label, which
        // the catalogue does not know.
        if (!def.label.empty() && exporters::chinese_column_label(def.name, {}) == def.name)
            rows.columns[at] = o.output.empty() ? message_name(def.name, def.label) : def.label;
        if (def.type == ValueType::boolean && o.output.empty())
            for (auto &r : rows.rows)
                if (const auto *flag = std::get_if<std::int64_t>(&r[at]))
                    r[at] = flag_for_people(*flag);
        if (def.type != ValueType::choice)
            continue;
        const bool status = kind.is_asset() && def.name == "status";
        for (auto &r : rows.rows) {
            const auto *s = std::get_if<std::string>(&r[at]);
            if (!s)
                continue;
            if (status)
                r[at] = o.output.empty()
                            ? std::string(translate_in_context("asset status", s->c_str()))
                            : chinese_word("asset status", *s);
            else
                r[at] = o.output.empty() ? message_name(*s, choice_label(def, *s))
                                         : choice_label(def, *s);
        }
    }
    if (rows.rows.empty() && (f.village_code || f.status || f.township || f.where))
        log(LogLevel::warning,
            fmt::format(fmt::runtime(_("no {} matches the filter")), message_name(kind)));
    if (o.output.empty()) {
        print_rows(rows, o.format, std::cout);
        return;
    }
    write_tables(o.output, {sheet(o.kind, rows)}, o.headers, kind_labels(registry));
    note(o.format, fmt::format(fmt::runtime(P_("wrote {} row to {}", "wrote {} rows to {}",
                                               rows.rows.size())),
                               rows.rows.size(), o.output));
}

} // namespace

void register_list(CLI::App &app) {
    auto opts = std::make_shared<ListOptions>();
    auto *cmd = app.add_subcommand("list", _("List the rows of one layer"));
    cmd->add_option("registry", opts->registry,
                    _("Registry file (SpatiaLite) or postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    cmd->add_option("kind", opts->kind, _("Layer: village, settlement, sewage_plant, …"))
        ->required();
    cmd->add_option("--village", opts->village,
                    _("Only rows in this village (12-digit code or unique name); roads: those "
                      "crossing it"));
    cmd->add_option("--township", opts->township,
                    _("Only rows in this township's villages; roads: those crossing one"));
    cmd->add_option("--status", opts->status,
                    _("Only assets with this status: planned, building, operating, renovating, "
                      "closed (or as import takes it: 运行, 在建 …)"));
    cmd->add_option("--where", opts->where,
                    _("Only rows this formula holds for, over the layer's columns (configured "
                      "ones too): \"scenic_level = '金3A' AND population >= 1000\""));
    cmd->add_option("--limit", opts->limit, _("At most this many rows"));
    cmd->add_flag("--wkt", opts->wkt, _("Add the geometry as WKT"));
    add_format_option(cmd, opts->format);
    cmd->add_option("-o,--output", opts->output,
                    _("Write the rows to this file instead of stdout (.csv .xlsx .json)"));
    add_headers_option(cmd, opts->headers);
    cmd->callback([opts] { run_list(*opts); });
}

} // namespace qiancun::cli
