#include "cli.hpp"

#include "qiancun/crs.hpp"
#include "qiancun/error.hpp"
#include "qiancun/qml.hpp"

#include <fmt/format.h>

namespace qiancun::cli {

namespace {

struct InitOptions {
    std::string registry;
    std::string crs;
    std::string types;
};

void run_init(const InitOptions &o) {
    std::optional<int> epsg;
    if (!o.crs.empty())
        epsg = crs::parse_epsg(o.crs);
    std::vector<KindDef> kinds;
    if (!o.types.empty())
        kinds = parse_kinds_toml(read_text_file(o.types, "types file"), o.types);
    auto registry = Registry::create(o.registry, epsg);
    for (const auto &k : kinds)
        registry.add_kind(k);
    exporters::style_registry(registry);
    fmt::print("created {} ({})\n", o.registry,
               epsg ? fmt::format("working CRS EPSG:{} {}", *epsg, crs::name(*epsg))
                    : std::string("working CRS fixed by the first import"));
    for (const auto &k : kinds)
        fmt::print("  asset type {} ({})\n", k.key, k.label);
}

} // namespace

void register_init(CLI::App &app) {
    auto opts = std::make_shared<InitOptions>();
    auto *cmd = app.add_subcommand("init", "Create a registry (a SpatiaLite file QGIS opens)");
    cmd->add_option("registry", opts->registry, "Registry file to create, e.g. county.sqlite")
        ->required();
    cmd->add_option("--crs", opts->crs,
                    "Working CRS, e.g. EPSG:4549; default: the CGCS2000 3-degree Gauss-Kruger "
                    "zone of the first import");
    cmd->add_option("--types", opts->types,
                    "TOML file with [asset_types.<key>] tables for further asset types");
    cmd->callback([opts] { run_init(*opts); });
}

} // namespace qiancun::cli
