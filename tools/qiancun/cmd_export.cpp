#include "cli.hpp"

#include "qiancun/error.hpp"

#include "qiancun/exporter.hpp"
#include "qiancun/log.hpp"

#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "qiancun/i18n.hpp"

namespace qiancun::cli {
namespace {

struct ExportArgs {
    std::string registry;
    std::string layer;
    std::string output;
    std::string t_srs;
    std::string where;
    std::string township;
    std::string village;
};

void run_export(const ExportArgs &args) {
    if (lower_extension(args.output) == ".xlsx")
        throw UsageError(fmt::format(
            fmt::runtime(
                _("{}: export writes map layers (.shp .gpkg .geojson .json .csv), not "
                  "workbooks; for the rows of {} as a workbook: qiancun list {} {} -o {}")),
            args.output, args.layer, args.registry, args.layer, args.output));
    exporters::ExportOptions options;
    options.layer = args.layer;
    options.output = args.output;
    if (!args.t_srs.empty())
        options.t_srs = args.t_srs;
    if (!args.where.empty())
        options.where = args.where;
    if (!args.township.empty() || !args.village.empty()) {
        const auto registry = Registry::open(args.registry, true);
        if (!args.village.empty())
            options.village_codes = {registry.resolve_village(args.village)};
        if (!args.township.empty()) {
            auto codes = registry.township_villages(args.township);
            if (options.village_codes)
                std::erase_if(codes, [&](const std::string &c) {
                    return c != options.village_codes->front();
                });
            options.village_codes = std::move(codes);
        }
    }
    const auto result = exporters::export_layer(args.registry, options);
    if (result.features == 0 && (options.where || options.village_codes))
        log(LogLevel::warning,
            fmt::format(fmt::runtime(_("no feature of {} matches the filter; the files hold none")),
                        args.layer));
    for (const auto &file : result.outputs)
        fmt::print(fmt::runtime(P_("wrote {} feature to {}\n", "wrote {} features to {}\n",
                                   static_cast<unsigned long>(file.features))),
                   file.features, describe_export(file));
    for (const auto &note : result.notes)
        fmt::print(fmt::runtime(_("note: {}\n")), note);
}

} // namespace

void register_export(CLI::App &app) {
    auto args = std::make_shared<ExportArgs>();
    CLI::App *cmd = app.add_subcommand(
        "export",
        _("Write one layer of the registry to a Shapefile, GeoPackage, GeoJSON or CSV file"));
    cmd->footer(
        _("Formats by extension: .shp (ESRI Shapefile with .prj, a .cpg saying UTF-8, field\n"
          "names cut to 10 characters by a fixed rule and listed in <stem>.fields.csv; a layer\n"
          "mixing points and polygons becomes <stem>_point.shp and <stem>_polygon.shp),\n"
          ".gpkg (GeoPackage), .geojson/.json (GeoJSON), .csv (geometry as a WKT column).\n"
          "Coordinates stay in the registry's working CRS unless --t-srs is given; a GeoJSON\n"
          "file in a projected CRS names it in a \"crs\" member (QGIS reads it; web maps want\n"
          "--t-srs EPSG:4326). An existing output is overwritten.\n"
          "Example: qiancun export county.sqlite village villages.shp --where \"class = "
          "'heritage'\""));
    cmd->add_option("REGISTRY", args->registry,
                    _("Registry file (SpatiaLite) or postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    cmd->add_option("LAYER", args->layer, _("Layer to export: a kind (village, cultural_hall, …)"))
        ->required();
    cmd->add_option("OUTPUT", args->output, _("Output file: .shp .gpkg .geojson .json .csv"))
        ->required();
    cmd->add_option("--t-srs", args->t_srs,
                    _("Reproject to this CRS, e.g. EPSG:4326 (default: the working CRS); GCJ02 or "
                      "BD09 for web maps (Amap/Tencent, Baidu): lon/lat with the offset applied"));
    cmd->add_option("--where", args->where,
                    _("Only features matching this expression on the layer's fields, e.g. "
                      "\"status = 'operating'\" (coded values as import takes them: '运行')"));
    cmd->add_option("--township", args->township,
                    _("Only features in this township's villages (roads: crossing one)"));
    cmd->add_option("--village", args->village,
                    _("Only features in this village (code or unique name; roads: crossing it)"));
    cmd->callback([args] { run_export(*args); });
}

} // namespace qiancun::cli
