#include "cli.hpp"

#include "qiancun/qml.hpp"

#include <fmt/format.h>

#include <iostream>

#include "qiancun/i18n.hpp"

namespace qiancun::cli {

namespace {

struct CopyOptions {
    std::string source;
    std::string destination;
    OutputFormat format = OutputFormat::table;
};

void run_copy(const CopyOptions &o) {
    const auto copied = Registry::copy(o.source, o.destination,
                                       [](Registry &made) { exporters::style_registry(made); });
    Rows rows;
    rows.columns = {"table", "rows"};
    for (const auto &c : copied)
        rows.rows.push_back({c.table, c.rows});
    if (o.format == OutputFormat::table)
        std::cout << fmt::format(fmt::runtime(_("copied {} to {}; rows counted in both:\n")),
                                 o.source, o.destination);
    print_rows(rows, o.format, std::cout);
}

} // namespace

void register_copy(CLI::App &app) {
    auto opts = std::make_shared<CopyOptions>();
    auto *cmd = app.add_subcommand(
        "copy", _("Copy a registry into a new one: a file to PostgreSQL/PostGIS or back (every "
                  "layer, meta, configured kinds, import log, status history, result layers and "
                  "styles; rows counted in both; one transaction)"));
    cmd->add_option("source", opts->source,
                    _("Registry to copy: a file or postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    cmd->add_option("destination", opts->destination,
                    _("New registry: a file or a schema that does not exist yet (or has no "
                      "tables)"))
        ->required();
    add_format_option(cmd, opts->format);
    cmd->callback([opts] { run_copy(*opts); });
}

} // namespace qiancun::cli
