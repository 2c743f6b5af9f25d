#include "cli.hpp"

#include "qiancun/crs.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>

#include "qiancun/i18n.hpp"

namespace qiancun::cli {

namespace {

struct InfoOptions {
    std::string registry;
    OutputFormat format = OutputFormat::table;
    bool network = false;
};

void run_info(const InfoOptions &o) {
    if (o.network) {
        print_network_info(o.registry, o.format);
        return;
    }
    auto registry = Registry::open(o.registry, true);
    const auto info = registry.info();
    if (o.format == OutputFormat::json) {
        nlohmann::json j;
        j["path"] = info.path.string();
        j["location"] = info.location;
        j["schema_version"] = info.schema_version;
        j["crs"] = info.epsg   ? nlohmann::json(fmt::format("EPSG:{}", *info.epsg))
                   : info.srid ? nlohmann::json("custom")
                               : nlohmann::json();
        j["crs_name"] = info.crs_name;
        j["crs_proj"] = info.crs_proj;
        j["srid"] = info.srid ? nlohmann::json(*info.srid) : nlohmann::json();
        if (info.scale_error)
            j["scale_error"] = {{"max", info.scale_error->error},
                                {"lon", info.scale_error->lon},
                                {"lat", info.scale_error->lat},
                                {"layer", info.scale_error->layer},
                                {"geometries", info.scale_error->geometries},
                                {"bound", crs::kMaxScaleError}};
        for (const auto &l : info.layers) {
            nlohmann::json lj{{"layer", l.kind},
                              {"label", l.label},
                              {"geometry", l.geometry_type},
                              {"count", l.count},
                              {"builtin", l.builtin}};
            if (l.extent)
                lj["extent"] = *l.extent;
            j["layers"].push_back(lj);
        }
        for (const auto &r : info.last_imports)
            j["imports"].push_back({{"kind", r.kind},
                                    {"source", r.source},
                                    {"layer", r.layer},
                                    {"imported_at", r.imported_at},
                                    {"rows_read", r.rows_read},
                                    {"inserted", r.inserted},
                                    {"updated", r.updated},
                                    {"repaired", r.repaired},
                                    {"rejected", r.rejected},
                                    {"content_hash", r.content_hash}});
        std::cout << j.dump(2) << '\n';
        return;
    }
    Rows layers;
    layers.columns = {"layer", "label", "geometry", "count", "extent"};
    for (const auto &l : info.layers) {
        std::string extent;
        if (l.extent)
            extent = fmt::format("{:.0f} {:.0f}, {:.0f} {:.0f}", (*l.extent)[0], (*l.extent)[1],
                                 (*l.extent)[2], (*l.extent)[3]);
        layers.rows.push_back({l.kind, l.label,
                               o.format == OutputFormat::table
                                   ? geometry_for_people(l.geometry_type)
                                   : l.geometry_type,
                               l.count, extent});
    }
    // People's tables and sentences name kinds in the language of the interface.
    const exporters::KindLabels kinds = kind_labels(registry);
    Rows imports;
    imports.columns = {"imported_at", "kind", "source", "read", "new", "updated", "repaired"};
    for (const auto &r : info.last_imports)
        imports.rows.push_back({r.imported_at,
                                o.format == OutputFormat::table ? kind_name(kinds, r.kind) : r.kind,
                                std::filesystem::path(r.source).filename().string(), r.rows_read,
                                r.inserted, r.updated, r.repaired});
    if (o.format == OutputFormat::csv) {
        print_rows(layers, o.format, std::cout);
        return;
    }
    fmt::print(fmt::runtime(_("registry:  {}\n")), info.location);
    fmt::print(fmt::runtime(_("schema:    {}\n")), info.schema_version);
    if (!info.srid)
        fmt::print(fmt::runtime(_("CRS:       not fixed yet (first import fixes it)\n")));
    else if (info.epsg)
        fmt::print(fmt::runtime(_("CRS:       EPSG:{} {}\n")), *info.epsg, info.crs_name);
    else
        fmt::print(fmt::runtime(_("CRS:       custom ({}), SRID {}\n")), info.crs_proj, *info.srid);
    if (info.scale_error)
        fmt::print(fmt::runtime(_(
                       "scale:     worst scale error of the data {:.4f} % at {:.4f}E {:.4f}N ({}; "
                       "bound {} %), over the bounding-box corners of {} stored geometries\n")),
                   info.scale_error->error * 100.0, info.scale_error->lon, info.scale_error->lat,
                   kind_name(kinds, info.scale_error->layer), crs::kMaxScaleError * 100.0,
                   info.scale_error->geometries);
    fmt::print("\n");
    print_rows(layers, o.format, std::cout);
    if (!imports.rows.empty()) {
        fmt::print(fmt::runtime(_("\nlast imports:\n")));
        print_rows(imports, o.format, std::cout);
    }
}

} // namespace

void register_info(CLI::App &app) {
    auto opts = std::make_shared<InfoOptions>();
    auto *cmd = app.add_subcommand("info", _("CRS, extent, counts per layer and the last imports"));
    cmd->add_option("registry", opts->registry,
                    _("Registry file (SpatiaLite) or postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    add_format_option(cmd, opts->format);
    cmd->add_flag("--network", opts->network,
                  _("The road network instead: size and disconnected pieces (km, villages)"));
    cmd->callback([opts] { run_info(*opts); });
}

} // namespace qiancun::cli
