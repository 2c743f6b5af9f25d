#include "cli.hpp"

#include "qiancun/crs.hpp"
#include "qiancun/error.hpp"
#include "qiancun/qml.hpp"

#include <fmt/format.h>

#include "qiancun/i18n.hpp"

namespace qiancun::cli {

namespace {

struct InitOptions {
    std::string registry;
    std::string crs;
    std::string types;
};

void run_init(const InitOptions &o) {
    std::optional<crs::Definition> working;
    if (!o.crs.empty())
        working = crs::parse(o.crs);
    std::vector<KindDef> kinds;
    std::vector<AttributeDef> village_attributes;
    if (!o.types.empty()) {
        const std::string text = read_text_file(o.types, "types file");
        kinds = parse_kinds_toml(text, o.types);
        village_attributes = parse_village_attributes_toml(text, o.types);
    }
    auto registry = working ? Registry::create(o.registry, *working)
                            : Registry::create(o.registry, std::nullopt);
    for (const auto &k : kinds)
        registry.add_kind(k);
    registry.add_village_attributes(village_attributes);
    exporters::style_registry(registry);
    fmt::print(fmt::runtime(_("created {} ({})\n")), o.registry,
               working ? fmt::format(fmt::runtime(_("working CRS {}")), working->describe())
                       : std::string("working CRS fixed by the first import"));
    for (const auto &k : kinds)
        fmt::print(fmt::runtime(_("  asset type {} ({})\n")), k.key, k.label);
    for (const auto &a : village_attributes)
        fmt::print(fmt::runtime(_("  village attribute {} ({})\n")), a.name, a.label);
}

} // namespace

void register_init(CLI::App &app) {
    auto opts = std::make_shared<InitOptions>();
    auto *cmd = app.add_subcommand("init", _("Create a registry (a SpatiaLite file QGIS opens)"));
    cmd->add_option("registry", opts->registry,
                    _("Registry to create: a file, e.g. county.sqlite, or "
                      "postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    cmd->add_option("--crs", opts->crs,
                    _("Working CRS: an EPSG code, WKT or PROJ string of a projected CRS in metres "
                      "with a scale error of at most 0.1 % where the data lie, e.g. EPSG:4549 "
                      "(CGCS2000 3-degree zone CM 120E) or '+proj=tmerc +lon_0=120.5 +k=1 "
                      "+x_0=500000 +ellps=GRS80 +units=m'; geographic CRSs (EPSG:4490, 4326) and "
                      "Web Mercator (3857) are refused. Default: the CGCS2000 3-degree "
                      "Gauss-Kruger zone of the first import"));
    cmd->add_option("--types", opts->types,
                    _("TOML file with [asset_types.<key>] tables for further asset types"));
    cmd->callback([opts] { run_init(*opts); });
}

} // namespace qiancun::cli
