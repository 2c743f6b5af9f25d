#include "qiancun/qml.hpp"

#include "qiancun/chinese_catalogue.hpp"
#include "qiancun/classify.hpp"
#include "qiancun/column_labels.hpp"
#include "qiancun/error.hpp"

#include <cpl_error.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>

#include "qiancun/i18n.hpp"

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

/// The classes of SPEC §4: key (the value of `suggested_class`) and colour (ColorBrewer Set1,
/// qualitative: five hues told apart also by most colour-blind readers); the legend label is
/// the catalogue's Chinese name of the class (village_class_label).
struct ClassCategory {
    std::string_view key;
    std::string_view rgb;
};
constexpr std::array kVillageClasses{
    ClassCategory{"suburban", "255,127,0"},  ClassCategory{"cluster", "228,26,28"},
    ClassCategory{"improve", "77,175,74"},   ClassCategory{"heritage", "152,78,163"},
    ClassCategory{"relocate", "55,126,184"},
};

constexpr std::string_view kOutlineGrey = "128,128,128,255";
constexpr std::string_view kGapRed = "227,26,28";

/// Village names are drawn from this scale inwards: a whole county (about 40 km across) on
/// a screen or an A3 sheet.
constexpr int kLabelMinScale = 250000;

/// A Chinese sans-serif Debian ships (fonts-noto-cjk); QGIS substitutes another if it lacks it.
constexpr std::string_view kLabelFont = "Noto Sans CJK SC";

/// The words of the styles: their descriptions (the `description` of a layer_styles row) and
/// the legend labels that are no coded value. Like the status and class labels they are the
/// catalogue's Chinese whatever the language of the messages: a style is stored with the layer
/// (registry, GeoPackage, .qml) and read in QGIS by whoever opens it.
std::string style_word(const char *msgid) {
    return chinese_word("style", msgid);
}

/// QGIS's "version" attribute: the oldest QGIS 3 LTR whose reader these documents match.
constexpr std::string_view kQgisVersion = "3.22.0-Białowieża";

/// The `owner` of the `layer_styles` rows qiancun writes, so that it replaces only its own.
constexpr const char *kOwner = "qiancun";

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

std::vector<Prop> marker_props(std::string_view rgba, std::string_view shape = "circle",
                               std::string_view size_mm = "2.8") {
    return {{"angle", "0"},
            {"color", std::string(rgba)},
            {"horizontal_anchor_point", "1"},
            {"joinstyle", "bevel"},
            {"name", std::string(shape)},
            {"offset", "0,0"},
            {"offset_unit", "MM"},
            {"outline_color", "255,255,255,255"},
            {"outline_style", "solid"},
            {"outline_width", "0.3"},
            {"outline_width_unit", "MM"},
            {"scale_method", "diameter"},
            {"size", std::string(size_mm)},
            {"size_unit", "MM"},
            {"vertical_anchor_point", "1"}};
}

/// `style`: solid, dash, dot (QGIS pen styles).
std::vector<Prop> line_props(std::string_view rgba, std::string_view width_mm,
                             std::string_view style = "solid") {
    return {{"capstyle", "round"},
            {"joinstyle", "round"},
            {"line_color", std::string(rgba)},
            {"line_style", std::string(style)},
            {"line_width", std::string(width_mm)},
            {"line_width_unit", "MM"},
            {"offset", "0"},
            {"offset_unit", "MM"}};
}

/// A one-layer symbol: QGIS type (marker, line, fill), symbol layer class and its properties.
struct Symbol {
    std::string_view type;
    std::string_view layer_class;
    std::vector<Prop> props;
};

Symbol fill_symbol(std::string_view rgba, std::string_view outline_rgba = kOutlineGrey,
                   std::string_view outline_width_mm = "0.1") {
    return {"fill", "SimpleFill", fill_props(rgba, outline_rgba, outline_width_mm)};
}

Symbol marker_symbol(std::string_view rgba, std::string_view shape = "circle",
                     std::string_view size_mm = "2.8") {
    return {"marker", "SimpleMarker", marker_props(rgba, shape, size_mm)};
}

Symbol line_symbol(std::string_view rgba, std::string_view width_mm,
                   std::string_view style = "solid") {
    return {"line", "SimpleLine", line_props(rgba, width_mm, style)};
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

/// One category of a categorized renderer: the value (empty = every other value and NULL, as
/// QGIS reads it), the legend label and the symbol.
struct Category {
    std::string value;
    std::string label;
    Symbol symbol;
};

std::string categorized(const std::string &attr, const std::vector<Category> &categories) {
    std::string cats;
    std::string symbols;
    for (std::size_t i = 0; i < categories.size(); ++i) {
        const auto &c = categories[i];
        cats += fmt::format("      <category value=\"{}\" symbol=\"{}\" label=\"{}\" "
                            "type=\"string\" render=\"true\"/>\n",
                            xml_escape(c.value), i, xml_escape(c.label));
        symbols +=
            symbol_xml(std::to_string(i), c.symbol.type, c.symbol.layer_class, c.symbol.props, 6);
    }
    return fmt::format("  <renderer-v2 type=\"categorizedSymbol\" attr=\"{}\" symbollevels=\"0\" "
                       "forceraster=\"0\" enableorderby=\"0\" referencescale=\"-1\">\n"
                       "    <categories>\n{}    </categories>\n"
                       "    <symbols>\n{}    </symbols>\n"
                       "    <rotation/>\n"
                       "    <sizescale/>\n"
                       "  </renderer-v2>\n",
                       xml_escape(attr), cats, symbols);
}

std::string categorized_renderer(const std::string &attr) {
    std::vector<Category> cats;
    for (const auto &c : kVillageClasses)
        cats.push_back({std::string(c.key), village_class_label(c.key),
                        fill_symbol(fmt::format("{},255", c.rgb))});
    return categorized(attr, cats);
}

/// Points and polygons in one layer (a hall is a point or a footprint): a rule-based renderer,
/// one rule per category with a marker for points and a fill for footprints, since a QGIS
/// symbol draws one geometry family only.
std::string mixed_renderer(const std::string &attr, const std::vector<Category> &markers,
                           const std::vector<Category> &fills) {
    std::string rules;
    std::string symbols;
    const std::string point = style_word(NC_("style", "point"));
    const std::string footprint = style_word(NC_("style", "footprint"));
    int next = 0;
    for (std::size_t i = 0; i < markers.size(); ++i) {
        const std::string filter =
            fmt::format("\"{}\" = '{}'", attr, markers[i].value); // keys are plain ASCII
        rules += fmt::format("      <rule key=\"{{r{0}}}\" label=\"{1}\" filter=\"{2}\">\n"
                             "        <rule key=\"{{r{0}p}}\" symbol=\"{3}\" label=\"{7}\" "
                             "filter=\"{4}\"/>\n"
                             "        <rule key=\"{{r{0}f}}\" symbol=\"{5}\" label=\"{8}\" "
                             "filter=\"{6}\"/>\n"
                             "      </rule>\n",
                             i, xml_escape(markers[i].label), xml_escape(filter), next,
                             xml_escape("geometry_type($geometry) = 'Point'"), next + 1,
                             xml_escape("geometry_type($geometry) = 'Polygon'"), xml_escape(point),
                             xml_escape(footprint));
        symbols += symbol_xml(std::to_string(next), markers[i].symbol.type,
                              markers[i].symbol.layer_class, markers[i].symbol.props, 6);
        symbols += symbol_xml(std::to_string(next + 1), fills[i].symbol.type,
                              fills[i].symbol.layer_class, fills[i].symbol.props, 6);
        next += 2;
    }
    return fmt::format("  <renderer-v2 type=\"RuleRenderer\" symbollevels=\"0\" forceraster=\"0\" "
                       "enableorderby=\"0\" referencescale=\"-1\">\n"
                       "    <rules key=\"{{root}}\">\n{}    </rules>\n"
                       "    <symbols>\n{}    </symbols>\n"
                       "  </renderer-v2>\n",
                       rules, symbols);
}

/// Labels of `field` (its written name), drawn from 1:`min_scale` inwards (QGIS's "minimum
/// scale", the most zoomed-out one), dark text with a white halo; polygons labelled over
/// their inside point.
std::string labeling_xml(std::string_view field, bool polygon, int min_scale) {
    return fmt::format(
        "  <labeling type=\"simple\">\n"
        "    <settings calloutType=\"simple\">\n"
        "      <text-style fieldName=\"{}\" isExpression=\"0\" fontFamily=\"{}\" "
        "namedStyle=\"\" fontSize=\"9\" fontSizeUnit=\"Point\" fontWeight=\"50\" "
        "fontItalic=\"0\" textColor=\"40,40,40,255\" textOpacity=\"1\" blendMode=\"0\" "
        "multilineHeight=\"1\" allowHtml=\"0\" useSubstitutions=\"0\" "
        "textOrientation=\"horizontal\">\n"
        "        <text-buffer bufferDraw=\"1\" bufferSize=\"0.8\" bufferSizeUnits=\"MM\" "
        "bufferColor=\"255,255,255,255\" bufferOpacity=\"1\" bufferNoFill=\"1\" "
        "bufferJoinStyle=\"128\" bufferBlendMode=\"0\"/>\n"
        "      </text-style>\n"
        "      <text-format wrapChar=\"\" autoWrapLength=\"0\" multilineAlign=\"3\" "
        "formatNumbers=\"0\" decimals=\"3\" plussign=\"0\"/>\n"
        "      <placement placement=\"{}\" centroidInside=\"1\" centroidWhole=\"0\" "
        "priority=\"5\" placementFlags=\"10\" dist=\"0\" distUnits=\"MM\" offsetType=\"0\" "
        "quadOffset=\"4\" xOffset=\"0\" yOffset=\"0\" offsetUnits=\"MM\" "
        "fitInPolygonOnly=\"0\" polygonPlacementFlags=\"2\"/>\n"
        "      <rendering scaleVisibility=\"1\" scaleMin=\"1\" scaleMax=\"{}\" drawLabels=\"1\" "
        "obstacle=\"1\" obstacleType=\"1\" obstacleFactor=\"1\" displayAll=\"0\" "
        "upsidedownLabels=\"0\" labelPerPart=\"0\" mergeLines=\"0\" limitNumLabels=\"0\" "
        "maxNumLabels=\"2000\" minFeatureSize=\"0\" zIndex=\"0\" fontLimitPixelSize=\"0\" "
        "fontMinPixelSize=\"0\" fontMaxPixelSize=\"10000\" unplacedVisibility=\"0\"/>\n"
        "    </settings>\n"
        "  </labeling>\n",
        xml_escape(field), kLabelFont, polygon ? 1 : 0, min_scale);
}

/// A whole style document; `labeling` empty = labels off. `geometry_type`: QGIS's 0 point,
/// 1 line, 2 polygon, 3 unknown (a style for any geometry).
std::string document(const std::string &renderer, const std::string &labeling,
                     const std::string &aliases, int geometry_type) {
    return fmt::format("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
                       "<qgis version=\"{}\" styleCategories=\"Symbology|Labeling|Fields\" "
                       "labelsEnabled=\"{}\">\n"
                       "{}{}{}"
                       "  <blendMode>0</blendMode>\n"
                       "  <featureBlendMode>0</featureBlendMode>\n"
                       "  <layerOpacity>1</layerOpacity>\n"
                       "  <layerGeometryType>{}</layerGeometryType>\n"
                       "</qgis>\n",
                       kQgisVersion, labeling.empty() ? 0 : 1, renderer, labeling, aliases,
                       geometry_type);
}

/// The smallest of 1, 2, 2.5, 5 × 10^k that is at least `x` (> 0): a class width people read.
double nice_step(double x) {
    const double magnitude = std::pow(10.0, std::floor(std::log10(x)));
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (m * magnitude >= x * (1 - 1e-12))
            return m * magnitude;
    return 10 * magnitude;
}

/// "12,500" for 12500; "2.5" for 2.5.
std::string grouped(double value) {
    if (value != std::floor(value))
        return fmt::format("{:g}", value);
    const std::string digits = fmt::format("{:.0f}", value);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && digits[i - 1] != '-' && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

/// Service-area lines: graduated on the distance (m) or time (min) reached, in classes of a
/// round width that cover `reach_max` in at most 5 steps, near dark green … far red (ColorBrewer
/// RdYlGn reversed). A value on a boundary belongs to the nearer class. Without `reach_max`,
/// classes of 500 m (2 min) up to 2,500 m (10 min), then one open class.
std::string reach_renderer(const std::string &field, bool minutes,
                           std::optional<double> reach_max) {
    constexpr std::array<std::string_view, 5> kColours{"26,150,65", "166,217,106", "255,255,191",
                                                       "253,174,97", "215,25,28"};
    const std::string_view unit = minutes ? "min" : "m";
    const bool known = reach_max && std::isfinite(*reach_max) && *reach_max > 0;
    const double step = known ? nice_step(*reach_max / 5) : (minutes ? 2.0 : 500.0);
    const std::size_t n =
        known ? std::clamp<std::size_t>(
                    static_cast<std::size_t>(std::ceil(*reach_max / step - 1e-9)), 1, 5)
              : 5;
    std::string ranges;
    std::string symbols;
    for (std::size_t i = 0; i < n; ++i) {
        const double lower = step * static_cast<double>(i);
        const bool open = !known && i + 1 == n;
        const double upper = open ? 1e12 : step * static_cast<double>(i + 1);
        const std::string label =
            open ? fmt::format("> {} {}", grouped(lower), unit)
                 : fmt::format("{}–{} {}", grouped(lower), grouped(upper), unit);
        // Colours spread over the whole ramp whatever the number of classes.
        const std::size_t colour = n == 1 ? 0 : i * (kColours.size() - 1) / (n - 1);
        ranges += fmt::format("      <range lower=\"{:.15f}\" upper=\"{:.15f}\" symbol=\"{}\" "
                              "label=\"{}\" render=\"true\"/>\n",
                              lower, upper, i, xml_escape(label));
        symbols += symbol_xml(std::to_string(i), "line", "SimpleLine",
                              line_props(fmt::format("{},255", kColours[colour]), "0.8"), 6);
    }
    return fmt::format("  <renderer-v2 type=\"graduatedSymbol\" attr=\"{}\" "
                       "graduatedMethod=\"GraduatedColor\" symbollevels=\"0\" forceraster=\"0\" "
                       "enableorderby=\"0\" referencescale=\"-1\">\n"
                       "    <ranges>\n{}    </ranges>\n"
                       "    <symbols>\n{}    </symbols>\n"
                       "    <rotation/>\n"
                       "    <sizescale/>\n"
                       "  </renderer-v2>\n",
                       xml_escape(field), ranges, symbols);
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

/// The written name of field `full`, or nullptr when the layer lacks it.
const std::string *written_name(const std::vector<std::pair<std::string, std::string>> &fields,
                                std::string_view full) {
    for (const auto &f : fields)
        if (f.first == full)
            return &f.second;
    return nullptr;
}

/// The statuses of SPEC §2 with their colours: planned light blue, building orange, operating
/// green, renovating blue, closed grey; the legend label is the catalogue's Chinese word
/// (context "asset status": the words departments use, 规划 在建 运行 改造 停用).
struct StatusStyle {
    std::string_view key;
    std::string_view rgb;
};
constexpr std::array kStatuses{
    StatusStyle{"planned", "166,206,227"}, StatusStyle{"building", "255,127,0"},
    StatusStyle{"operating", "51,160,44"}, StatusStyle{"renovating", "31,120,180"},
    StatusStyle{"closed", "150,150,150"},
};

std::string status_label(std::string_view key) {
    return chinese_word("asset status", std::string(key));
}

/// One marker shape per built-in point kind, so that kinds are told apart on one map.
std::string_view marker_shape(std::string_view kind) {
    if (kind == "sewage_plant")
        return "circle";
    if (kind == "base_station_5g")
        return "triangle";
    if (kind == "cultural_hall")
        return "star";
    if (kind == "courier_station")
        return "square";
    return "diamond";
}

Symbol kind_symbol(GeometryKind geometry, std::string_view kind, std::string_view rgb) {
    const std::string rgba = fmt::format("{},255", rgb);
    switch (geometry) {
    case GeometryKind::line:
        return line_symbol(rgba, "0.6");
    case GeometryKind::polygon:
        return fill_symbol(fmt::format("{},160", rgb), rgba, "0.4");
    case GeometryKind::point:
    case GeometryKind::point_or_polygon:
    case GeometryKind::none:
        break;
    }
    return marker_symbol(rgba, marker_shape(kind), kind == "cultural_hall" ? "3.6" : "3.0");
}

std::string status_renderer(const KindDef &kind, const std::string &attr) {
    std::vector<Category> cats;
    for (const auto &st : kStatuses)
        cats.push_back({std::string(st.key), status_label(st.key),
                        kind_symbol(kind.geometry, kind.key, st.rgb)});
    if (kind.geometry != GeometryKind::point_or_polygon)
        return categorized(attr, cats);
    std::vector<Category> fills;
    for (const auto &st : kStatuses)
        fills.push_back(
            {std::string(st.key), status_label(st.key),
             fill_symbol(fmt::format("{},160", st.rgb), fmt::format("{},255", st.rgb), "0.4")});
    return mixed_renderer(attr, cats, fills);
}

/// Roads by grade: county red and wide … village light orange and narrow.
std::string grade_renderer(const AttributeDef &grade, const std::string &attr) {
    struct Grade {
        std::string_view key, rgb, width;
    };
    std::vector<Category> cats;
    for (const Grade &g :
         {Grade{"county", "215,48,39", "1.2"}, Grade{"township", "244,109,67", "0.9"},
          Grade{"village", "253,174,97", "0.6"}})
        cats.push_back({std::string(g.key), choice_label(grade, g.key),
                        line_symbol(fmt::format("{},255", g.rgb), g.width)});
    cats.push_back(
        {"", style_word(NC_("style", "not given")), line_symbol("150,150,150,255", "0.4")});
    return categorized(attr, cats);
}

/// Roads by surface: hardened solid, gravel dashed, earth dotted.
std::string surface_renderer(const AttributeDef &surface, const std::string &attr) {
    struct Surface {
        std::string_view key, rgb, style;
    };
    std::vector<Category> cats;
    for (const Surface &f :
         {Surface{"hardened", "77,77,77", "solid"}, Surface{"gravel", "166,118,29", "dash"},
          Surface{"earth", "191,129,45", "dot"}})
        cats.push_back({std::string(f.key), choice_label(surface, f.key),
                        line_symbol(fmt::format("{},255", f.rgb), "0.7", f.style)});
    cats.push_back(
        {"", style_word(NC_("style", "not given")), line_symbol("150,150,150,255", "0.4")});
    return categorized(attr, cats);
}

/// Villages by their recorded class (SPEC §4 colours, as village_classes), unclassed light grey.
std::string village_renderer(const std::string &attr) {
    std::vector<Category> cats;
    for (const auto &c : kVillageClasses)
        cats.push_back({std::string(c.key), village_class_label(c.key),
                        fill_symbol(fmt::format("{},255", c.rgb))});
    cats.push_back({"", style_word(NC_("style", "no class")), fill_symbol("235,235,235,255")});
    return categorized(attr, cats);
}

/// Field aliases of a kind table: each attribute's label (Chinese), the bookkeeping columns
/// named in Chinese too; other fields keep their full name.
std::vector<std::pair<std::string, std::string>>
kind_aliases(const KindDef &kind, const std::vector<std::pair<std::string, std::string>> &fields) {
    constexpr std::array<std::string_view, 4> kBookkeeping{"village_code", "source_file",
                                                           "source_row", "updated_at"};
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto &[full, written] : fields) {
        std::string alias = full;
        const int i = kind.attribute_index(full);
        if (i >= 0 && !kind.attributes[static_cast<std::size_t>(i)].label.empty())
            alias = kind.attributes[static_cast<std::size_t>(i)].label;
        if (std::find(kBookkeeping.begin(), kBookkeeping.end(), full) != kBookkeeping.end())
            alias = chinese_column_label(full, {});
        out.emplace_back(alias, written);
    }
    return out;
}

int geometry_code(GeometryKind g) {
    switch (g) {
    case GeometryKind::point:
        return 0;
    case GeometryKind::line:
        return 1;
    case GeometryKind::polygon:
        return 2;
    case GeometryKind::point_or_polygon:
    case GeometryKind::none:
        return 3;
    }
    return 3;
}

std::vector<NamedStyle>
kind_styles(const KindDef &kind, const std::vector<std::pair<std::string, std::string>> &fields) {
    const std::string aliases = aliases_xml(kind_aliases(kind, fields));
    const int geometry = geometry_code(kind.geometry);
    const auto doc = [&](const std::string &renderer, const std::string &labeling = "") {
        return document(renderer, labeling, aliases, geometry);
    };
    std::vector<NamedStyle> out;
    switch (kind.role) {
    case KindRole::village: {
        const auto *cls = written_name(fields, "class");
        const auto *name = written_name(fields, "name");
        out.push_back(
            {"class", style_word(NC_("style", "coloured by village class, labelled with the name")),
             doc(cls ? village_renderer(*cls)
                     : single_renderer("fill", "SimpleFill",
                                       fill_props("235,235,235,255", kOutlineGrey, "0.1")),
                 name ? labeling_xml(*name, true, kLabelMinScale) : ""),
             true});
        break;
    }
    case KindRole::settlement:
        out.push_back({"default", style_word(NC_("style", "settlements")),
                       doc(single_renderer("marker", "SimpleMarker",
                                           marker_props("120,90,60,255", "circle", "1.6"))),
                       true});
        break;
    case KindRole::area: {
        const bool hazard = kind.key == "hazard";
        auto props = hazard ? fill_props("215,48,39,255", "215,48,39,255", "0.3")
                            : fill_props("200,200,200,180", "150,150,150,255", "0.2");
        if (hazard)
            for (auto &[k, v] : props)
                if (k == "style")
                    v = "b_diagonal";
        out.push_back({"default",
                       hazard ? style_word(NC_("style", "hazard zones (red hatching)"))
                              : style_word(NC_("style", "urban built-up area")),
                       doc(single_renderer("fill", "SimpleFill", props)), true});
        break;
    }
    case KindRole::asset: {
        const auto *status = written_name(fields, "status");
        const int grade = kind.attribute_index("grade");
        const int surface = kind.attribute_index("surface");
        const bool road = kind.geometry == GeometryKind::line && grade >= 0 && surface >= 0 &&
                          written_name(fields, "grade") && written_name(fields, "surface");
        if (road)
            out.push_back({"grade", style_word(NC_("style", "by road grade")),
                           doc(grade_renderer(kind.attributes[static_cast<std::size_t>(grade)],
                                              *written_name(fields, "grade"))),
                           true});
        if (status)
            out.push_back(
                {"status",
                 style_word(
                     NC_("style", "by status (planned, building, operating, renovating, closed)")),
                 doc(status_renderer(kind, *status)), !road});
        if (road)
            out.push_back({"surface",
                           style_word(NC_("style", "by surface (hardened, gravel, earth)")),
                           doc(surface_renderer(kind.attributes[static_cast<std::size_t>(surface)],
                                                *written_name(fields, "surface"))),
                           false});
        break;
    }
    case KindRole::event:
        break; // a table without geometry: nothing to draw
    }
    return out;
}

std::string result_description(LayerStyle style) {
    switch (style) {
    case LayerStyle::village_metrics:
        return style_word(NC_("style", "coverage classes"));
    case LayerStyle::gap_areas:
        return style_word(NC_("style", "uncovered areas (red)"));
    case LayerStyle::gap_settlements:
        return style_word(NC_("style", "uncovered settlements (red)"));
    case LayerStyle::village_classes:
        return style_word(NC_("style", "coloured by suggested class, labelled with the name"));
    case LayerStyle::service_area_lines:
        return style_word(NC_("style", "reachable road pieces by distance (m) or time (min), "
                                       "the near ones green"));
    case LayerStyle::service_area_buffer:
        return style_word(NC_("style", "service area"));
    case LayerStyle::sites:
        return style_word(NC_("style", "proposed sites, labelled in the order chosen"));
    }
    return "";
}

} // namespace

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
    if (layer.starts_with("sites_"))
        return LayerStyle::sites;
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

/// Field aliases of a result layer: each column's Chinese name from the catalogue (per-type
/// columns named with the type's label), e.g. cov_sewage_plant → 农村生活污水处理设施覆盖率.
std::vector<std::pair<std::string, std::string>>
result_aliases(const std::vector<std::pair<std::string, std::string>> &fields,
               const std::vector<std::pair<std::string, std::string>> &type_labels) {
    KindLabels kinds;
    for (const auto &[key, label] : type_labels)
        kinds.emplace(key, label);
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto &[full, written] : fields)
        out.emplace_back(chinese_column_label(full, kinds), written);
    return out;
}

std::string layer_qml(LayerStyle style,
                      const std::vector<std::pair<std::string, std::string>> &fields,
                      const std::string &coverage, std::optional<double> reach_max,
                      const std::vector<std::pair<std::string, std::string>> &type_labels) {
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
        const bool minutes = it != fields.end();
        if (!minutes)
            it = std::find_if(fields.begin(), fields.end(),
                              [](const auto &f) { return f.first == "distance_m"; });
        renderer =
            reach_renderer(it != fields.end() ? it->second : "distance_m", minutes, reach_max);
        break;
    }
    case LayerStyle::service_area_buffer:
        renderer = single_renderer("fill", "SimpleFill",
                                   fill_props("31,120,180,70", "31,120,180,255", "0.3"));
        break;
    case LayerStyle::sites:
        geometry_type = 0;
        renderer = single_renderer("marker", "SimpleMarker",
                                   marker_props("106,61,154,255", "star", "4.5"));
        break;
    }
    std::string labeling;
    if (style == LayerStyle::village_metrics || style == LayerStyle::village_classes)
        if (const auto *name = written_name(fields, "name"))
            labeling = labeling_xml(*name, true, kLabelMinScale);
    if (style == LayerStyle::sites)
        if (const auto *rank = written_name(fields, "rank"))
            labeling = labeling_xml(*rank, false, kLabelMinScale);
    return document(renderer, labeling, aliases_xml(result_aliases(fields, type_labels)),
                    geometry_type);
}

std::vector<NamedStyle> layer_styles(std::string_view layer,
                                     const std::vector<std::pair<std::string, std::string>> &fields,
                                     const StyleContext &context) {
    if (context.kind)
        return kind_styles(*context.kind, fields);
    const auto style = style_for_layer(layer);
    if (!style)
        return {};
    if (*style != LayerStyle::village_metrics)
        return {{"default", result_description(*style),
                 layer_qml(*style, fields, "", context.reach_max, context.type_labels), true}};
    std::vector<std::string> full;
    for (const auto &f : fields)
        full.push_back(f.first);
    const std::string chosen = coverage_field(full);
    std::vector<NamedStyle> out;
    for (const auto &f : full) {
        if (!f.starts_with("cov_") || f.size() <= 4)
            continue;
        const std::string type = f.substr(4);
        std::string label = type;
        for (const auto &[key, l] : context.type_labels)
            if (key == type)
                label = l;
        out.push_back(
            {f,
             fmt::format(fmt::runtime(style_word(NC_("style", "{} coverage classes ({})"))), label,
                         f),
             layer_qml(LayerStyle::village_metrics, fields, f, std::nullopt, context.type_labels),
             f == chosen});
    }
    if (out.empty())
        out.push_back(
            {"default", result_description(*style),
             layer_qml(LayerStyle::village_metrics, fields, "", std::nullopt, context.type_labels),
             true});
    return out;
}

void write_qml(const fs::path &path, const std::string &qml) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << qml;
    out.close();
    if (!out)
        throw Error(fmt::format("cannot write {}", path.string()));
}

void embed_gpkg_style(const fs::path &gpkg, const std::string &layer, const std::string &qml) {
    embed_gpkg_styles(gpkg, layer, {NamedStyle{"qiancun", "qiancun", qml, true}});
}

void embed_gpkg_styles(const fs::path &gpkg, const std::string &layer,
                       const std::vector<NamedStyle> &named) {
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
        fmt::format("f_table_name = '{}' AND (useAsDefault = 1 OR owner = '{}')", quoted, kOwner)
            .c_str());
    for (const auto &f : *styles)
        previous.push_back(f->GetFID());
    styles->SetAttributeFilter(nullptr);
    for (GIntBig fid : previous)
        if (styles->DeleteFeature(fid) != OGRERR_NONE)
            throw Error(fmt::format("cannot replace the style of '{}' in {}: {}", layer,
                                    gpkg.string(), last_gdal_error()));

    for (const auto &style : named) {
        OGRFeatureUniquePtr row(OGRFeature::CreateFeature(styles->GetLayerDefn()));
        row->SetField("f_table_catalog", "");
        row->SetField("f_table_schema", "");
        row->SetField("f_table_name", layer.c_str());
        row->SetField("f_geometry_column", geometry_column.c_str());
        row->SetField("styleName", style.name.c_str());
        row->SetField("styleQML", style.qml.c_str());
        row->SetField("styleSLD", "");
        row->SetField("useAsDefault", style.is_default ? 1 : 0);
        row->SetField("description", style.description.c_str());
        row->SetField("owner", kOwner);
        row->SetField("ui", "");
        if (styles->CreateFeature(row.get()) != OGRERR_NONE)
            throw Error(fmt::format("cannot store the style of '{}' in {}: {}", layer,
                                    gpkg.string(), last_gdal_error()));
    }
    CPLErrorReset();
    ds.reset();
    if (CPLGetLastErrorType() == CE_Failure)
        throw Error(fmt::format("cannot write {}: {}", gpkg.string(), last_gdal_error()));
}

} // namespace qiancun::exporters
