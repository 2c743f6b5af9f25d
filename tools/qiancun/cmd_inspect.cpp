#include "cli.hpp"

#include "qiancun/asset_types.hpp"
#include "qiancun/inspect.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "qiancun/i18n.hpp"

namespace qiancun::cli {

namespace {

struct InspectCliOptions {
    importers::InspectOptions inspect;
    std::string registry;
    OutputFormat format = OutputFormat::table;
};

/// `text` split at newlines, without a last empty line.
std::vector<std::string> lines_of(const std::string &text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

std::string joined(const std::vector<std::string> &items, const char *sep = ", ") {
    std::string s;
    for (const auto &i : items)
        s += (s.empty() ? "" : sep) + i;
    return s;
}

std::string extent_text(const importers::LayerInspection &l) {
    if (l.extent_lonlat) {
        const auto &e = *l.extent_lonlat;
        return fmt::format("{:.4f}–{:.4f}°E, {:.4f}–{:.4f}°N", e[0], e[2], e[1], e[3]);
    }
    if (l.extent_raw) {
        const auto &e = *l.extent_raw;
        return fmt::format(fmt::runtime(_("x {:.4f}–{:.4f}, y {:.4f}–{:.4f} (as read; no CRS)")),
                           e[0], e[2], e[1], e[3]);
    }
    return _("none (no coordinates)");
}

void print_table(const importers::Inspection &in, std::ostream &out) {
    if (!in.archive_files.empty())
        out << fmt::format(fmt::runtime(_("archive    {}: {}\n")), in.source,
                           joined(in.archive_files));
    bool first = true;
    for (const auto &l : in.layers) {
        out << (first ? "" : "\n");
        first = false;
        out << fmt::format(fmt::runtime(_("{} (layer {})\n")), l.file, l.layer);
        out << fmt::format(fmt::runtime(_("  driver     {}\n")), l.driver);
        out << fmt::format(
            fmt::runtime(_("  geometry   {}{}\n")), geometry_for_people(l.geometry_type),
            l.x_field.empty() ? ""
                              : fmt::format(fmt::runtime(_(" (points from columns {}, {})")),
                                            l.x_field, l.y_field));
        out << fmt::format(fmt::runtime(_("  features   {}\n")), l.feature_count);
        out << fmt::format(fmt::runtime(_("  crs        {}\n")),
                           l.crs.empty() ? std::string(_("none: pass --src-crs"))
                           : l.crs_name.empty() || l.crs_name == l.crs
                               ? l.crs
                               : fmt::format("{} {}", l.crs, l.crs_name));
        out << fmt::format(fmt::runtime(_("  extent     {}\n")), extent_text(l));
        out << fmt::format(fmt::runtime(_("  encoding   {}{}\n")), l.encoding,
                           l.encoding_declared ? "" : _(" (not declared: pass --encoding GBK)"));
        for (const auto &h : l.hints)
            out << fmt::format(fmt::runtime(_("  hint       {}\n")), h);
        Rows fields;
        const bool as_read = std::any_of(l.fields.begin(), l.fields.end(),
                                         [](const auto &f) { return !f.name_as_read.empty(); });
        fields.columns = {"field"};
        if (as_read)
            fields.columns.push_back("as read without encoding");
        fields.columns.insert(fields.columns.end(), {"type", "samples"});
        for (const auto &f : l.fields) {
            std::vector<Value> row{f.name};
            if (as_read)
                row.emplace_back(f.name_as_read);
            row.emplace_back(field_type_for_people(f.type));
            row.emplace_back(joined(f.samples, " | "));
            fields.rows.push_back(std::move(row));
        }
        out << fmt::format(fmt::runtime(_("  fields ({}):\n")), l.fields.size());
        std::ostringstream table;
        print_rows(fields, OutputFormat::table, table);
        for (const auto &line : lines_of(table.str()))
            if (line.rfind("(", 0) != 0)
                out << "    " << line << '\n';
        if (!l.mapping)
            continue;
        const auto &m = *l.mapping;
        out << fmt::format(fmt::runtime(_("  mapping to {}:\n")), m.kind);
        Rows map;
        map.columns = {"attribute", "field", "matched by"};
        for (const auto &a : m.attributes)
            map.rows.push_back({a.attribute, a.field.empty() ? std::string("-") : a.field,
                                a.matched_by.empty() ? std::string("-")
                                                     : std::string(translate_in_context(
                                                           "matched by", a.matched_by.c_str()))});
        std::ostringstream mt;
        print_rows(map, OutputFormat::table, mt);
        for (const auto &line : lines_of(mt.str()))
            if (line.rfind("(", 0) != 0)
                out << "    " << line << '\n';
        if (!m.missing.empty())
            out << fmt::format(fmt::runtime(_("  missing    {}\n")), joined(m.missing));
        if (!m.unused_fields.empty())
            out << fmt::format(fmt::runtime(_("  unused     {}\n")), joined(m.unused_fields));
        for (const auto &n : m.needs)
            out << fmt::format(fmt::runtime(_("  needs      {}\n")), n);
        out << fmt::format(fmt::runtime(_("  options    {}\n")), joined(m.options, " "));
        out << _("  manifest:\n");
        for (const auto &line : lines_of(m.manifest_block))
            out << "    " << line << '\n';
    }
}

nlohmann::json to_json(const importers::Inspection &in) {
    using nlohmann::json;
    json j;
    j["source"] = in.source;
    j["archive_files"] = in.archive_files;
    j["layers"] = json::array();
    for (const auto &l : in.layers) {
        json o;
        o["file"] = l.file;
        o["layer"] = l.layer;
        o["driver"] = l.driver;
        o["geometry_type"] = l.geometry_type;
        o["x_field"] = l.x_field.empty() ? json() : json(l.x_field);
        o["y_field"] = l.y_field.empty() ? json() : json(l.y_field);
        o["feature_count"] = l.feature_count;
        o["crs"] = l.crs.empty() ? json() : json(l.crs);
        o["crs_name"] = l.crs_name.empty() ? json() : json(l.crs_name);
        o["extent_lonlat"] = l.extent_lonlat ? json(*l.extent_lonlat) : json();
        o["extent_raw"] = l.extent_raw ? json(*l.extent_raw) : json();
        o["encoding"] = l.encoding;
        o["encoding_declared"] = l.encoding_declared;
        o["hints"] = l.hints;
        o["fields"] = json::array();
        for (const auto &f : l.fields)
            o["fields"].push_back(
                {{"name", f.name},
                 {"name_as_read", f.name_as_read.empty() ? json() : json(f.name_as_read)},
                 {"type", f.type},
                 {"samples", f.samples}});
        if (l.mapping) {
            const auto &m = *l.mapping;
            json mj;
            mj["kind"] = m.kind;
            mj["attributes"] = json::array();
            for (const auto &a : m.attributes)
                mj["attributes"].push_back(
                    {{"attribute", a.attribute},
                     {"field", a.field.empty() ? json() : json(a.field)},
                     {"matched_by", a.matched_by.empty() ? json() : json(a.matched_by)}});
            mj["missing"] = m.missing;
            mj["unused_fields"] = m.unused_fields;
            mj["needs"] = m.needs;
            mj["options"] = m.options;
            mj["manifest"] = m.manifest_block;
            o["mapping"] = std::move(mj);
        } else {
            o["mapping"] = json();
        }
        j["layers"].push_back(std::move(o));
    }
    return j;
}

void run_inspect(const InspectCliOptions &o) {
    std::vector<KindDef> kinds = builtin_kinds();
    if (!o.registry.empty())
        kinds = Registry::open(o.registry, true).kinds();
    const auto in = importers::inspect(o.inspect, kinds);
    if (o.format == OutputFormat::json)
        std::cout << to_json(in).dump(2) << '\n';
    else
        print_table(in, std::cout);
}

} // namespace

void register_inspect(CLI::App &app) {
    auto opts = std::make_shared<InspectCliOptions>();
    auto *cmd = app.add_subcommand("inspect", _("Show what is in a delivery before importing it: "
                                                "layers, CRS, extent, encoding, fields; with --as, "
                                                "the mapping an import would use"));
    cmd->add_option("source", opts->inspect.source,
                    _("Source file (Shapefile, GeoPackage, GeoJSON, KML/KMZ, CSV, XLSX, zip, …)"))
        ->required();
    cmd->add_option("--as", opts->inspect.kind, _("Kind to map the fields onto"));
    cmd->add_option("--layer", opts->inspect.layer,
                    _("Only this layer; in a zip, the file to read (villages.shp)"));
    cmd->add_option("--encoding", opts->inspect.encoding,
                    _("Attribute encoding, as for import (default: detected)"));
    cmd->add_option("--src-crs", opts->inspect.src_crs, _("Source CRS, as for import"));
    cmd->add_option("--x", opts->inspect.x_field, _("Longitude/easting column of a table"));
    cmd->add_option("--y", opts->inspect.y_field, _("Latitude/northing column of a table"));
    cmd->add_option(
        "--registry", opts->registry,
        _("Registry whose configured kinds --as may name (default: the built-in kinds)"));
    cmd->add_option("--format", opts->format, _("Output: table (for people) or json (for scripts)"))
        ->transform(CLI::CheckedTransformer(
            std::map<std::string, OutputFormat>{{"table", OutputFormat::table},
                                                {"json", OutputFormat::json}},
            CLI::ignore_case))
        ->default_str("table")
        ->option_text("{table,json}");
    cmd->callback([opts] { run_inspect(*opts); });
}

} // namespace qiancun::cli
