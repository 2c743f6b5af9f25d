#include "cli.hpp"

#include "qiancun/crs.hpp"
#include "qiancun/error.hpp"
#include "qiancun/importer.hpp"
#include "qiancun/qml.hpp"

#include <fmt/format.h>

#include "qiancun/i18n.hpp"

namespace qiancun::cli {

namespace {

struct ImportCliOptions {
    std::string registry;
    std::string source;
    importers::ImportOptions import;
    std::vector<std::string> fields;
    std::vector<std::string> defaults;
    bool reject_invalid = false;
    std::string like;
    std::string manifest;
};

std::map<std::string, std::string> parse_pairs(const std::vector<std::string> &pairs,
                                               const char *option) {
    std::map<std::string, std::string> out;
    for (const auto &p : pairs) {
        auto eq = p.find('=');
        if (eq == std::string::npos || eq == 0)
            throw UsageError(
                fmt::format(fmt::runtime(_("{} {}: expected TARGET=SOURCE")), option, p));
        out[p.substr(0, eq)] = p.substr(eq + 1);
    }
    return out;
}

/// One line per import: kind and file padded to `kind_columns` and `file_columns` terminal
/// columns, then the row counts.
void print_reports(const Registry &registry, const std::vector<importers::ImportReport> &reports) {
    const exporters::KindLabels kinds = kind_labels(registry);
    std::vector<std::pair<std::string, std::string>> names;
    std::size_t kind_columns = 16;
    std::size_t file_columns = 28;
    for (const auto &r : reports) {
        names.emplace_back(kind_name(kinds, r.record.kind),
                           std::filesystem::path(r.record.source).filename().string());
        kind_columns = std::max(kind_columns, display_width(names.back().first));
        file_columns = std::max(file_columns, display_width(names.back().second));
    }
    for (std::size_t i = 0; i < reports.size(); ++i) {
        const auto &rec = reports[i].record;
        fmt::print(fmt::runtime(_("{} {} read {:>6}  new {:>6}  updated {:>6}  repaired {:>3}\n")),
                   pad_right(names[i].first, kind_columns),
                   pad_right(names[i].second, file_columns), rec.rows_read, rec.inserted,
                   rec.updated, rec.repaired);
    }
}

void run_import(ImportCliOptions &o) {
    o.import.source = o.source;
    o.import.field_map = parse_pairs(o.fields, "--field");
    o.import.defaults = parse_pairs(o.defaults, "--default");
    o.import.policy =
        o.reject_invalid ? importers::GeometryPolicy::reject : importers::GeometryPolicy::repair;
    auto registry = Registry::open(o.registry);
    if (!o.like.empty()) {
        std::string manifest = o.manifest;
        if (manifest.empty())
            manifest = registry.property("manifest").value_or("");
        if (manifest.empty())
            throw UsageError(
                fmt::format(fmt::runtime(_("--like {}: which manifest? pass --manifest FILE (or "
                                           "load one into {} with `qiancun load`)")),
                            o.like, o.registry));
        const auto m = importers::read_manifest(manifest);
        o.import = importers::import_like(importers::manifest_source(m, o.like), o.import);
    } else if (o.import.kind.empty()) {
        throw UsageError(_("import: --as KIND is required (or --like NAME of a manifest source)"));
    }
    const bool had_crs = registry.working_srid().has_value();
    ProgressBar bar(fmt::format(fmt::runtime(_("importing {}")), o.source));
    auto report =
        importers::import_file(registry, o.import, [&](std::int64_t done, std::int64_t total) {
            bar.update(done, total);
        });
    bar.finish();
    exporters::style_registry(registry);
    if (!had_crs && registry.working_crs())
        fmt::print(fmt::runtime(_("working CRS fixed to {}\n")),
                   registry.working_crs()->describe());
    print_reports(registry, {report});
}

struct LoadOptions {
    std::string registry;
    std::string manifest;
    std::string as_of;
};

void run_load(const LoadOptions &o) {
    auto manifest = importers::read_manifest(o.manifest);
    if (!o.as_of.empty())
        for (auto &s : manifest.sources)
            s.as_of = o.as_of;
    auto registry = Registry::open(o.registry);
    const bool had_crs = registry.working_srid().has_value();
    std::unique_ptr<ProgressBar> bar;
    auto reports = importers::load_manifest(
        registry, manifest,
        [&](std::size_t i, std::size_t n, const importers::ImportOptions &s) {
            if (bar)
                bar->finish();
            if (!quiet())
                fmt::print(stderr, "[{}/{}] {} ← {}\n", i + 1, n,
                           kind_name(kind_labels(registry), s.kind), s.source.filename().string());
            bar = std::make_unique<ProgressBar>(std::string("  ") + _("reading"));
        },
        [&](std::int64_t done, std::int64_t total) {
            if (bar)
                bar->update(done, total);
        });
    if (bar)
        bar->finish();
    exporters::style_registry(registry);
    if (!had_crs && registry.working_crs())
        fmt::print(fmt::runtime(_("working CRS: {}\n")), registry.working_crs()->describe());
    print_reports(registry, reports);
    fmt::print(fmt::runtime(_("loaded {} sources from {} in one transaction\n")), reports.size(),
               o.manifest);
}

} // namespace

void register_import(CLI::App &app) {
    auto opts = std::make_shared<ImportCliOptions>();
    auto *cmd =
        app.add_subcommand("import", _("Import one source file as one kind (all or nothing)"));
    cmd->add_option("registry", opts->registry,
                    _("Registry file (SpatiaLite) or postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    cmd->add_option(
           "source", opts->source,
           _("Source: Shapefile, GeoPackage, GeoJSON, KML, CSV, XLSX, anything GDAL reads"))
        ->required();
    cmd->add_option("--as", opts->import.kind,
                    _("Kind: village, settlement, urban, hazard, sewage_plant, rural_road, "
                      "base_station_5g, cultural_hall, courier_station, or a configured type"));
    cmd->add_option("--layer", opts->import.layer,
                    _("Layer of a multi-layer source; in a zip, the file to read (villages.shp)"));
    cmd->add_option("--field", opts->fields,
                    _("TARGET=SOURCE field mapping, repeatable (source names may be Chinese)"));
    cmd->add_option("--default", opts->defaults,
                    _("TARGET=VALUE for rows where the field is empty or missing, repeatable"));
    cmd->add_option(
        "--src-crs", opts->import.src_crs,
        _("Source CRS when the file has none: EPSG:4490, any PROJ string, GCJ02, BD09"));
    cmd->add_option("--encoding", opts->import.encoding,
                    _("Attribute encoding, e.g. GBK for a .dbf without .cpg"));
    cmd->add_option("--x", opts->import.x_field, _("Longitude/easting column of a table"));
    cmd->add_option("--y", opts->import.y_field, _("Latitude/northing column of a table"));
    cmd->add_flag("--replace", opts->import.replace,
                  _("Replace every row of the kind instead of updating by id"));
    cmd->add_flag("--update", opts->import.update,
                  _("Let this source update ids that another source brought (without it such an "
                    "id is a duplicate; re-importing the same file always updates)"));
    cmd->add_flag("--reject-invalid", opts->reject_invalid,
                  _("Reject invalid polygons instead of repairing them"));
    cmd->add_option("--like", opts->like,
                    _("Read the source as the manifest [[source]] of this name: its kind, fields, "
                      "defaults, CRS, encoding, x/y (options given here win)"));
    cmd->add_option("--manifest", opts->manifest,
                    _("Manifest of --like (default: the one `load` read into the registry)"));
    cmd->add_option("--as-of", opts->import.as_of,
                    _("Date YYYY-MM-DD from which the imported statuses hold (status history; "
                      "default: today)"));
    cmd->callback([opts] { run_import(*opts); });

    auto lopts = std::make_shared<LoadOptions>();
    auto *load = app.add_subcommand("load", _("Import every source a manifest lists, in one "
                                              "transaction"));
    load->add_option("registry", lopts->registry,
                     _("Registry file (SpatiaLite) or postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    load->add_option("manifest", lopts->manifest,
                     _("Manifest (TOML), e.g. sample_maps/county.toml"))
        ->required();
    load->add_option("--as-of", lopts->as_of,
                     _("Date YYYY-MM-DD from which the statuses hold, for every source (overrides "
                       "the manifest's as_of)"));
    load->callback([lopts] { run_load(*lopts); });
}

} // namespace qiancun::cli
