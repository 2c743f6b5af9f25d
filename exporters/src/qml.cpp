#include "qiancun/qml.hpp"

#include "qiancun/error.hpp"

#include <cpl_error.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <fstream>

// The documents follow what QGIS 3 itself writes (QgsGraduatedSymbolRenderer::save,
// QgsSymbolLayerUtils::saveSymbol): symbol layer properties both as the `<Option type="Map">`
// QGIS ≥ 3.26 reads and as the `<prop k v>` pairs older 3.x versions read.

namespace qiancun::exporters {
namespace {

namespace fs = std::filesystem;

/// A property of a symbol layer: key and value as QGIS spells them.
using Prop = std::pair<std::string_view, std::string>;

/// One class of the coverage ramp: cov in [lower, upper] (see kClasses for the order).
struct CoverageClass {
    double lower;
    double upper;
    std::string_view label;
    std::string_view rgb;
};

// QGIS gives a value to the first range whose closed interval [lower, upper] contains it
// (QgsGraduatedSymbolRenderer::rangeForValue) and keeps the order of the file. Listing the
// classes from the top down makes every boundary belong to the class above it, so the legend
// reads exactly: 0.9 is "≥ 90 %" (no gap at the default threshold), 0.5 is "50–70 %".
// Colours: ColorBrewer RdYlGn, 5 classes.
constexpr std::array kClasses{
    CoverageClass{0.9, 1.0, "≥ 90 %", "26,150,65"},
    CoverageClass{0.8, 0.9, "80–90 %", "166,217,106"},
    CoverageClass{0.7, 0.8, "70–80 %", "255,255,191"},
    CoverageClass{0.5, 0.7, "50–70 %", "253,174,97"},
    CoverageClass{0.0, 0.5, "< 50 %", "215,25,28"},
};

/// The classes of SPEC §4: key (the value of `suggested_class`), legend label, colour
/// (ColorBrewer Set1, qualitative: five hues told apart also by most colour-blind readers).
struct ClassCategory {
    std::string_view key;
    std::string_view label;
    std::string_view rgb;
};
constexpr std::array kVillageClasses{
    ClassCategory{"suburban", "城郊融合类", "255,127,0"},
    ClassCategory{"cluster", "集聚建设类", "228,26,28"},
    ClassCategory{"improve", "整治提升类", "77,175,74"},
    ClassCategory{"heritage", "特色保护类", "152,78,163"},
    ClassCategory{"relocate", "搬迁撤并类", "55,126,184"},
};

constexpr std::string_view kOutlineGrey = "128,128,128,255";
constexpr std::string_view kGapRed = "227,26,28";

/// QGIS's "version" attribute: the oldest QGIS 3 LTR whose reader these documents match.
constexpr std::string_view kQgisVersion = "3.22.0-Białowieża";

std::string xml_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&apos;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string symbol_xml(std::string_view name, std::string_view type, std::string_view layer_class,
                       const std::vector<Prop> &props, int indent) {
    const std::string pad(static_cast<std::size_t>(indent), ' ');
    std::string out = fmt::format(
        "{}<symbol name=\"{}\" type=\"{}\" alpha=\"1\" clip_to_extent=\"1\" force_rhr=\"0\">\n",
        pad, xml_escape(name), type);
    out += fmt::format("{}  <layer class=\"{}\" enabled=\"1\" locked=\"0\" pass=\"0\">\n", pad,
                       layer_class);
    out += pad + "    <Option type=\"Map\">\n";
    for (const auto &[k, v] : props)
        out += fmt::format("{}      <Option name=\"{}\" value=\"{}\" type=\"QString\"/>\n", pad, k,
                           xml_escape(v));
    out += pad + "    </Option>\n";
    for (const auto &[k, v] : props)
        out += fmt::format("{}    <prop k=\"{}\" v=\"{}\"/>\n", pad, k, xml_escape(v));
    out += pad + "  </layer>\n";
    out += pad + "</symbol>\n";
    return out;
}

std::vector<Prop> fill_props(std::string_view rgba, std::string_view outline_rgba,
                             std::string_view outline_width_mm) {
    return {{"border_width_unit", "MM"},  {"color", std::string(rgba)},
            {"joinstyle", "bevel"},       {"offset", "0,0"},
            {"offset_unit", "MM"},        {"outline_color", std::string(outline_rgba)},
            {"outline_style", "solid"},   {"outline_width", std::string(outline_width_mm)},
            {"outline_width_unit", "MM"}, {"style", "solid"}};
}

std::vector<Prop> marker_props(std::string_view rgba) {
    return {{"angle", "0"},
            {"color", std::string(rgba)},
            {"horizontal_anchor_point", "1"},
            {"joinstyle", "bevel"},
            {"name", "circle"},
            {"offset", "0,0"},
            {"offset_unit", "MM"},
            {"outline_color", "255,255,255,255"},
            {"outline_style", "solid"},
            {"outline_width", "0.3"},
            {"outline_width_unit", "MM"},
            {"scale_method", "diameter"},
            {"size", "2.8"},
            {"size_unit", "MM"},
            {"vertical_anchor_point", "1"}};
}

std::string single_renderer(std::string_view type, std::string_view layer_class,
                            const std::vector<Prop> &props) {
    return "  <renderer-v2 type=\"singleSymbol\" symbollevels=\"0\" forceraster=\"0\" "
           "enableorderby=\"0\" referencescale=\"-1\">\n"
           "    <symbols>\n" +
           symbol_xml("0", type, layer_class, props, 6) +
           "    </symbols>\n"
           "    <rotation/>\n"
           "    <sizescale/>\n"
           "  </renderer-v2>\n";
}

std::string graduated_renderer(const std::string &attr) {
    std::string ranges;
    std::string symbols;
    for (std::size_t i = 0; i < kClasses.size(); ++i) {
        const auto &c = kClasses[i];
        ranges += fmt::format("      <range lower=\"{:.15f}\" upper=\"{:.15f}\" symbol=\"{}\" "
                              "label=\"{}\" render=\"true\"/>\n",
                              c.lower, c.upper, i, xml_escape(c.label));
        symbols += symbol_xml(std::to_string(i), "fill", "SimpleFill",
                              fill_props(fmt::format("{},255", c.rgb), kOutlineGrey, "0.1"), 6);
    }
    return fmt::format("  <renderer-v2 type=\"graduatedSymbol\" attr=\"{}\" "
                       "graduatedMethod=\"GraduatedColor\" symbollevels=\"0\" forceraster=\"0\" "
                       "enableorderby=\"0\" referencescale=\"-1\">\n"
                       "    <ranges>\n{}    </ranges>\n"
                       "    <symbols>\n{}    </symbols>\n"
                       "    <rotation/>\n"
                       "    <sizescale/>\n"
                       "  </renderer-v2>\n",
                       xml_escape(attr), ranges, symbols);
}

std::string categorized_renderer(const std::string &attr) {
    std::string categories;
    std::string symbols;
    for (std::size_t i = 0; i < kVillageClasses.size(); ++i) {
        const auto &c = kVillageClasses[i];
        categories += fmt::format("      <category value=\"{}\" symbol=\"{}\" label=\"{}\" "
                                  "type=\"string\" render=\"true\"/>\n",
                                  c.key, i, xml_escape(c.label));
        symbols += symbol_xml(std::to_string(i), "fill", "SimpleFill",
                              fill_props(fmt::format("{},255", c.rgb), kOutlineGrey, "0.1"), 6);
    }
    return fmt::format("  <renderer-v2 type=\"categorizedSymbol\" attr=\"{}\" symbollevels=\"0\" "
                       "forceraster=\"0\" enableorderby=\"0\" referencescale=\"-1\">\n"
                       "    <categories>\n{}    </categories>\n"
                       "    <symbols>\n{}    </symbols>\n"
                       "    <rotation/>\n"
                       "    <sizescale/>\n"
                       "  </renderer-v2>\n",
                       xml_escape(attr), categories, symbols);
}

/// Service-area lines: 5 graduated classes of the distance (or time) reached over the layer's
/// largest (a QGIS expression, so one style fits every reach), ColorBrewer RdYlGn reversed.
std::string reach_renderer(const std::string &distance_field) {
    constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kReach{{
        {"0–20 % of the furthest", "26,150,65"},
        {"20–40 %", "166,217,106"},
        {"40–60 %", "255,255,191"},
        {"60–80 %", "253,174,97"},
        {"80–100 %", "215,25,28"},
    }};
    std::string ranges;
    std::string symbols;
    for (std::size_t i = 0; i < kReach.size(); ++i) {
        ranges += fmt::format("      <range lower=\"{:.15f}\" upper=\"{:.15f}\" symbol=\"{}\" "
                              "label=\"{}\" render=\"true\"/>\n",
                              0.2 * static_cast<double>(i), 0.2 * static_cast<double>(i + 1), i,
                              xml_escape(kReach[i].first));
        symbols += symbol_xml(std::to_string(i), "line", "SimpleLine",
                              {{"capstyle", "round"},
                               {"joinstyle", "round"},
                               {"line_color", fmt::format("{},255", kReach[i].second)},
                               {"line_style", "solid"},
                               {"line_width", "0.8"},
                               {"line_width_unit", "MM"},
                               {"offset", "0"},
                               {"offset_unit", "MM"}},
                              6);
    }
    const std::string expr = fmt::format("\"{0}\" / maximum(\"{0}\")", distance_field);
    return fmt::format("  <renderer-v2 type=\"graduatedSymbol\" attr=\"{}\" "
                       "graduatedMethod=\"GraduatedColor\" symbollevels=\"0\" forceraster=\"0\" "
                       "enableorderby=\"0\" referencescale=\"-1\">\n"
                       "    <ranges>\n{}    </ranges>\n"
                       "    <symbols>\n{}    </symbols>\n"
                       "    <rotation/>\n"
                       "    <sizescale/>\n"
                       "  </renderer-v2>\n",
                       xml_escape(expr), ranges, symbols);
}

std::string aliases_xml(const std::vector<std::pair<std::string, std::string>> &fields) {
    std::string out = "  <aliases>\n";
    for (std::size_t i = 0; i < fields.size(); ++i)
        out += fmt::format("    <alias index=\"{}\" field=\"{}\" name=\"{}\"/>\n", i,
                           xml_escape(fields[i].second), xml_escape(fields[i].first));
    return out + "  </aliases>\n";
}

std::string last_gdal_error() {
    const char *msg = CPLGetLastErrorMsg();
    return msg && *msg ? msg : "no reason given by GDAL";
}

} // namespace

std::optional<LayerStyle> style_for_layer(std::string_view layer) {
    if (layer.starts_with("village_metrics"))
        return LayerStyle::village_metrics;
    if (layer.starts_with("gaps_"))
        return layer.ends_with("_settlements") ? LayerStyle::gap_settlements
                                               : LayerStyle::gap_areas;
    if (layer.starts_with("village_classes"))
        return LayerStyle::village_classes;
    if (layer.starts_with("service_area_"))
        return layer.ends_with("_buffer") ? LayerStyle::service_area_buffer
                                          : LayerStyle::service_area_lines;
    return std::nullopt;
}

std::string coverage_field(const std::vector<std::string> &full_names) {
    if (std::find(full_names.begin(), full_names.end(), "cov_sewage_plant") != full_names.end())
        return "cov_sewage_plant";
    for (const auto &n : full_names)
        if (n.starts_with("cov_") && n.size() > 4)
            return n;
    return {};
}

std::string layer_qml(LayerStyle style,
                      const std::vector<std::pair<std::string, std::string>> &fields,
                      const std::string &coverage) {
    std::string renderer;
    int geometry_type = 2; // QGIS: 0 point, 1 line, 2 polygon
    switch (style) {
    case LayerStyle::village_metrics: {
        std::vector<std::string> full;
        for (const auto &f : fields)
            full.push_back(f.first);
        const std::string cov = coverage.empty() ? coverage_field(full) : coverage;
        auto it = std::find_if(fields.begin(), fields.end(),
                               [&](const auto &f) { return f.first == cov; });
        renderer = it != fields.end()
                       ? graduated_renderer(it->second)
                       : single_renderer("fill", "SimpleFill",
                                         fill_props("220,220,220,255", kOutlineGrey, "0.1"));
        break;
    }
    case LayerStyle::gap_areas:
        renderer = single_renderer(
            "fill", "SimpleFill",
            fill_props(fmt::format("{},110", kGapRed), fmt::format("{},255", kGapRed), "0.3"));
        break;
    case LayerStyle::gap_settlements:
        geometry_type = 0;
        renderer =
            single_renderer("marker", "SimpleMarker", marker_props(fmt::format("{},255", kGapRed)));
        break;
    case LayerStyle::village_classes: {
        auto it = std::find_if(fields.begin(), fields.end(),
                               [](const auto &f) { return f.first == "suggested_class"; });
        renderer = it != fields.end()
                       ? categorized_renderer(it->second)
                       : single_renderer("fill", "SimpleFill",
                                         fill_props("220,220,220,255", kOutlineGrey, "0.1"));
        break;
    }
    case LayerStyle::service_area_lines: {
        geometry_type = 1;
        // A service area by time carries `minutes`: colour by the cost it was bounded by.
        auto it = std::find_if(fields.begin(), fields.end(),
                               [](const auto &f) { return f.first == "minutes"; });
        if (it == fields.end())
            it = std::find_if(fields.begin(), fields.end(),
                              [](const auto &f) { return f.first == "distance_m"; });
        renderer = reach_renderer(it != fields.end() ? it->second : "distance_m");
        break;
    }
    case LayerStyle::service_area_buffer:
        renderer = single_renderer("fill", "SimpleFill",
                                   fill_props("31,120,180,70", "31,120,180,255", "0.3"));
        break;
    }
    return fmt::format("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
                       "<qgis version=\"{}\" styleCategories=\"Symbology|Fields\">\n"
                       "{}{}"
                       "  <blendMode>0</blendMode>\n"
                       "  <featureBlendMode>0</featureBlendMode>\n"
                       "  <layerOpacity>1</layerOpacity>\n"
                       "  <layerGeometryType>{}</layerGeometryType>\n"
                       "</qgis>\n",
                       kQgisVersion, renderer, aliases_xml(fields), geometry_type);
}

void write_qml(const fs::path &path, const std::string &qml) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << qml;
    out.close();
    if (!out)
        throw Error(fmt::format("cannot write {}", path.string()));
}

void embed_gpkg_style(const fs::path &gpkg, const std::string &layer, const std::string &qml) {
    GDALAllRegister();
    const char *const drivers[] = {"GPKG", nullptr};
    GDALDatasetUniquePtr ds(
        GDALDataset::Open(gpkg.c_str(), GDAL_OF_VECTOR | GDAL_OF_UPDATE, drivers, nullptr));
    if (!ds)
        throw Error(
            fmt::format("cannot open {} to store its style: {}", gpkg.string(), last_gdal_error()));
    OGRLayer *data = ds->GetLayerByName(layer.c_str());
    if (!data)
        throw Error(fmt::format("no layer '{}' in {} to style", layer, gpkg.string()));
    const std::string geometry_column = data->GetGeometryColumn();

    // The table as QGIS creates it (QgsOgrProviderUtils saveStyle), so QGIS finds its rows.
    OGRLayer *styles = ds->GetLayerByName("layer_styles");
    if (!styles) {
        styles = ds->CreateLayer("layer_styles", nullptr, wkbNone, nullptr);
        if (!styles)
            throw Error(fmt::format("cannot create layer_styles in {}: {}", gpkg.string(),
                                    last_gdal_error()));
        struct Column {
            const char *name;
            OGRFieldType type;
            int width;
        };
        for (const Column &c :
             {Column{"f_table_catalog", OFTString, 256}, Column{"f_table_schema", OFTString, 256},
              Column{"f_table_name", OFTString, 256}, Column{"f_geometry_column", OFTString, 256},
              Column{"styleName", OFTString, 30}, Column{"styleQML", OFTString, 0},
              Column{"styleSLD", OFTString, 0}, Column{"useAsDefault", OFTInteger, 0},
              Column{"description", OFTString, 0}, Column{"owner", OFTString, 30},
              Column{"ui", OFTString, 30}, Column{"update_time", OFTDateTime, 0}}) {
            OGRFieldDefn fd(c.name, c.type);
            fd.SetWidth(c.width);
            if (std::string_view(c.name) == "useAsDefault")
                fd.SetSubType(OFSTBoolean);
            if (styles->CreateField(&fd) != OGRERR_NONE)
                throw Error(fmt::format("cannot create layer_styles in {}: {}", gpkg.string(),
                                        last_gdal_error()));
        }
    }
    std::vector<GIntBig> previous;
    std::string quoted;
    for (char c : layer)
        quoted += c == '\'' ? std::string("''") : std::string(1, c);
    styles->SetAttributeFilter(
        fmt::format("f_table_name = '{}' AND useAsDefault = 1", quoted).c_str());
    for (const auto &f : *styles)
        previous.push_back(f->GetFID());
    styles->SetAttributeFilter(nullptr);
    for (GIntBig fid : previous)
        if (styles->DeleteFeature(fid) != OGRERR_NONE)
            throw Error(fmt::format("cannot replace the style of '{}' in {}: {}", layer,
                                    gpkg.string(), last_gdal_error()));

    OGRFeatureUniquePtr row(OGRFeature::CreateFeature(styles->GetLayerDefn()));
    row->SetField("f_table_catalog", "");
    row->SetField("f_table_schema", "");
    row->SetField("f_table_name", layer.c_str());
    row->SetField("f_geometry_column", geometry_column.c_str());
    row->SetField("styleName", "qiancun"); // the column holds 30 characters
    row->SetField("styleQML", qml.c_str());
    row->SetField("styleSLD", "");
    row->SetField("useAsDefault", 1);
    row->SetField("description", "qiancun");
    row->SetField("owner", "");
    row->SetField("ui", "");
    if (styles->CreateFeature(row.get()) != OGRERR_NONE)
        throw Error(fmt::format("cannot store the style of '{}' in {}: {}", layer, gpkg.string(),
                                last_gdal_error()));
    CPLErrorReset();
    ds.reset();
    if (CPLGetLastErrorType() == CE_Failure)
        throw Error(fmt::format("cannot write {}: {}", gpkg.string(), last_gdal_error()));
}

} // namespace qiancun::exporters
