#include "cli.hpp"

#include <iostream>

namespace qiancun::cli {

namespace {

struct ListOptions {
    std::string registry;
    std::string kind;
    std::string village;
    std::string status;
    std::int64_t limit = 0;
    bool wkt = false;
    OutputFormat format = OutputFormat::table;
};

void run_list(const ListOptions &o) {
    auto registry = Registry::open(o.registry, true);
    ListFilter f;
    if (!o.village.empty())
        f.village_code = o.village;
    if (!o.status.empty())
        f.status = o.status;
    if (o.limit > 0)
        f.limit = o.limit;
    f.with_wkt = o.wkt;
    print_rows(registry.list(o.kind, f), o.format, std::cout);
}

} // namespace

void register_list(CLI::App &app) {
    auto opts = std::make_shared<ListOptions>();
    auto *cmd = app.add_subcommand("list", "List the rows of one layer");
    cmd->add_option("registry", opts->registry, "Registry file")->required();
    cmd->add_option("kind", opts->kind, "Layer: village, settlement, sewage_plant, …")->required();
    cmd->add_option("--village", opts->village,
                    "Only rows in this village (12-digit code); roads: those crossing it");
    cmd->add_option("--status", opts->status, "Only assets with this status");
    cmd->add_option("--limit", opts->limit, "At most this many rows");
    cmd->add_flag("--wkt", opts->wkt, "Add the geometry as WKT");
    add_format_option(cmd, opts->format);
    cmd->callback([opts] { run_list(*opts); });
}

} // namespace qiancun::cli
