#include "qiancun/qgis_project.hpp"

#include "qiancun/error.hpp"
#include "qiancun/i18n.hpp"
#include "qiancun/layer_styles.hpp"
#include "qiancun/qml.hpp"
#include "qiancun/registry.hpp"

#include <cpl_error.h>
#include <cpl_vsi.h>
#include <ogr_spatialref.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <string_view>
#include <system_error>

// The document follows what QGIS 3.22 itself writes (QgsProject::writeProjectFile): a layer tree,
// one <maplayer> per layer carrying its style as a .qml carries it, the project CRS and relative
// paths. Elements QGIS fills with defaults when missing are left out.

namespace qiancun::exporters {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kQgisVersion = "3.22.0-Białowieża";

/// Layer-tree groups, top first: facilities drawn over the analysis over the base map.
constexpr std::array<std::string_view, 3> kGroups{"设施", "分析", "基础"};

/// The CRS as QGIS writes it in <spatialrefsys>; a custom CRS (no EPSG code) by its WKT alone,
/// as QGIS keeps a user CRS.
std::string spatialrefsys(const crs::Definition &working, int indent) {
    OGRSpatialReference srs;
    const OGRErr read =
        working.epsg ? srs.importFromEPSG(*working.epsg) : srs.importFromWkt(working.wkt.c_str());
    if (read != OGRERR_NONE)
        throw UsageError(
            fmt::format(fmt::runtime(_("{} is not a CRS GDAL knows")), working.describe()));
    std::string wkt;
    const char *const wkt2[] = {"FORMAT=WKT2_2019", nullptr};
    if (char *w = nullptr; srs.exportToWkt(&w, wkt2) == OGRERR_NONE && w) {
        wkt = w;
        CPLFree(w);
    }
    std::string proj4;
    if (char *p = nullptr; srs.exportToProj4(&p) == OGRERR_NONE && p) {
        proj4 = p;
        CPLFree(p);
    }
    const std::string pad(static_cast<std::size_t>(indent), ' ');
    return fmt::format("{0}<spatialrefsys>\n"
                       "{0}  <wkt>{1}</wkt>\n"
                       "{0}  <proj4>{2}</proj4>\n"
                       "{0}  <srid>{3}</srid>\n"
                       "{0}  <authid>{6}</authid>\n"
                       "{0}  <description>{4}</description>\n"
                       "{0}  <geographicflag>{5}</geographicflag>\n"
                       "{0}</spatialrefsys>\n",
                       pad, xml_escape(wkt), xml_escape(proj4), working.epsg.value_or(0),
                       xml_escape(srs.GetName() ? srs.GetName() : ""),
                       srs.IsGeographic() ? "true" : "false",
                       working.epsg ? fmt::format("EPSG:{}", *working.epsg) : std::string());
}

/// A style document split for embedding: its root's labelsEnabled and the children of <qgis>.
struct StyleParts {
    bool labels = false;
    std::string inner;
    std::string root; ///< the <qgis …>…</qgis> element without the DOCTYPE
};

StyleParts split_style(const std::string &qml) {
    const auto open = qml.find("<qgis ");
    const auto open_end = open == std::string::npos ? open : qml.find('>', open);
    const auto close = qml.rfind("</qgis>");
    if (open_end == std::string::npos || close == std::string::npos || close < open_end)
        throw Error("internal: a layer style is not a <qgis> document");
    StyleParts parts;
    const std::string_view tag(qml.data() + open, open_end - open);
    parts.labels = tag.find("labelsEnabled=\"1\"") != std::string_view::npos;
    parts.inner = qml.substr(open_end + 1, close - open_end - 1);
    parts.root = qml.substr(open, close + 7 - open);
    return parts;
}

/// One layer to write: a registry table, or one geometry column of a table that has two.
struct Layer {
    std::string table;
    std::string geometry_type; ///< of the geometry column, SpatiaLite's name
    /// The geometry column when the table has several (halls: `geom` and `footprint`); OGR then
    /// names the layer `table(column)`.
    std::optional<std::string> geometry_column;
    std::string column; ///< the geometry column, always
    std::string id;
    std::string name;
    std::string group;
    bool visible = true;
    const std::vector<NamedStyle> *styles = nullptr;
};

/// QGIS's geometry attribute of <maplayer> and the draw order within a group (points on top).
std::pair<std::string_view, int> geometry_of(const Layer &l) {
    const std::string &t = l.geometry_type;
    if (t.find("POINT") != std::string::npos)
        return {"Point", 0};
    if (t.find("LINE") != std::string::npos)
        return {"Line", 1};
    if (t.find("POLYGON") != std::string::npos)
        return {"Polygon", 2};
    return {"Unknown", 3};
}

std::string label_of(const std::vector<std::pair<std::string, std::string>> &labels,
                     std::string_view key) {
    for (const auto &[k, l] : labels)
        if (k == key)
            return l;
    return std::string(key);
}

/// The Chinese name of a result layer; the table name for one qiancun does not know.
std::string result_name(const std::string &table,
                        const std::vector<std::pair<std::string, std::string>> &labels) {
    if (table == "village_metrics")
        return "村级设施覆盖率";
    if (table == "village_classes")
        return "村庄分类建议";
    if (table == "route")
        return "最近设施路线";
    auto strip = [&](std::string_view prefix,
                     std::string_view suffix) -> std::optional<std::string> {
        if (table.size() > prefix.size() + suffix.size() && table.starts_with(prefix) &&
            table.ends_with(suffix))
            return table.substr(prefix.size(), table.size() - prefix.size() - suffix.size());
        return std::nullopt;
    };
    if (auto t = strip("gaps_", "_settlements"))
        return label_of(labels, *t) + "未覆盖居民点";
    if (auto t = strip("service_area_", "_buffer"))
        return label_of(labels, *t) + "服务范围";
    if (auto t = strip("gaps_", ""))
        return label_of(labels, *t) + "覆盖缺口";
    if (auto t = strip("service_area_", ""))
        return label_of(labels, *t) + "可达路段";
    return table;
}

/// Result layers that would cover the coverage map when all are on.
bool starts_hidden(const std::string &table) {
    if (table == "village_classes" || table.ends_with("_buffer"))
        return true;
    return table.starts_with("gaps_") && !table.ends_with("_settlements");
}

std::string relative_source(const fs::path &registry, const fs::path &output) {
    std::error_code ec;
    const fs::path from = fs::absolute(output, ec).parent_path();
    const fs::path to = fs::absolute(registry, ec);
    fs::path rel = fs::relative(to, from, ec);
    if (ec || rel.empty())
        return to.string();
    const std::string r = rel.generic_string();
    return r.starts_with("../") ? r : "./" + r;
}

std::string maplayer_xml(const Layer &l, const std::string &source, std::string_view provider,
                         const std::string &srs) {
    const auto &styles = *l.styles;
    const auto chosen = std::find_if(styles.begin(), styles.end(),
                                     [](const NamedStyle &s) { return s.is_default; });
    const NamedStyle &current = chosen != styles.end() ? *chosen : styles.front();
    const StyleParts parts = split_style(current.qml);
    std::string manager =
        fmt::format("      <map-layer-style-manager current=\"{}\">\n", xml_escape(current.name));
    for (const auto &s : styles) {
        if (&s == &current) {
            manager += fmt::format("        <map-layer-style name=\"{}\"/>\n", xml_escape(s.name));
            continue;
        }
        manager += fmt::format("        <map-layer-style name=\"{}\">\n{}\n        "
                               "</map-layer-style>\n",
                               xml_escape(s.name), split_style(s.qml).root);
    }
    manager += "      </map-layer-style-manager>\n";
    return fmt::format("    <maplayer type=\"vector\" geometry=\"{}\" labelsEnabled=\"{}\" "
                       "styleCategories=\"AllStyleCategories\" hasScaleBasedVisibilityFlag=\"0\" "
                       "minScale=\"100000000\" maxScale=\"0\" readOnly=\"0\" "
                       "autoRefreshEnabled=\"0\">\n"
                       "      <id>{}</id>\n"
                       "      <datasource>{}</datasource>\n"
                       "      <layername>{}</layername>\n"
                       "      <srs>\n{}      </srs>\n"
                       "      <provider encoding=\"UTF-8\">{}</provider>\n"
                       "{}"
                       "{}"
                       "    </maplayer>\n",
                       geometry_of(l).first, parts.labels ? 1 : 0, xml_escape(l.id),
                       xml_escape(source), xml_escape(l.name), srs, provider, manager, parts.inner);
}

/// QGIS's name of a geometry type (QgsWkbTypes::displayString) for a PostGIS/SpatiaLite one;
/// empty for a column of any geometry, whose type QGIS then finds itself.
std::string_view qgis_wkb_type(const std::string &type) {
    static const std::map<std::string_view, std::string_view> kNames{
        {"POINT", "Point"},           {"MULTIPOINT", "MultiPoint"},
        {"LINESTRING", "LineString"}, {"MULTILINESTRING", "MultiLineString"},
        {"POLYGON", "Polygon"},       {"MULTIPOLYGON", "MultiPolygon"}};
    const auto it = kNames.find(type);
    return it == kNames.end() ? std::string_view{} : it->second;
}

/// A value of QGIS's data source URI, quoted as QgsDataSourceUri writes it.
std::string uri_quoted(std::string_view value) {
    std::string out = "'";
    for (const char c : value) {
        if (c == '\\' || c == '\'')
            out += '\\';
        out += c;
    }
    return out + "'";
}

/// The connection part of a postgres-provider data source: the URI's database, host, port and
/// user, never a password (libpq reads PGPASSWORD or ~/.pgpass; QGIS asks otherwise).
std::string postgres_connection(const Location &where) {
    std::string out = "dbname=" + uri_quoted(where.database());
    if (!where.host().empty())
        out += " host=" + uri_quoted(where.host());
    if (where.port())
        out += fmt::format(" port={}", *where.port());
    if (!where.user().empty())
        out += " user=" + uri_quoted(where.user());
    return out;
}

/// A layer as QGIS's postgres provider names it: the table's key `fid`, SRID and geometry type
/// given, so that QGIS need not look them up.
std::string postgres_source(const Layer &l, const std::string &connection, const Location &where,
                            int srid) {
    std::string out = fmt::format("{} key='fid' srid={}", connection, srid);
    if (const auto type = qgis_wkb_type(l.geometry_type); !type.empty())
        out += fmt::format(" type={}", type);
    const auto quoted = [](std::string_view name) {
        std::string q = "\"";
        for (const char c : name)
            q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
    };
    return out + fmt::format(" checkPrimaryKeyUnicity='1' table={}.{} ({})", quoted(where.schema()),
                             quoted(l.table), l.column);
}

std::string layer_source(const Layer &l, const std::string &registry_source) {
    if (l.geometry_column)
        return fmt::format("{}|layername={}({})", registry_source, l.table, *l.geometry_column);
    return fmt::format("{}|layername={}", registry_source, l.table);
}

void write_file(const fs::path &output, const std::string &qgs, bool zipped) {
    std::error_code ec;
    fs::remove(output, ec);
    if (ec)
        throw Error(
            fmt::format(fmt::runtime(_("cannot replace {}: {}")), output.string(), ec.message()));
    // A .qgz is a zip holding the .qgs (and, when QGIS saves it, auxiliary data we have none of).
    const std::string target =
        zipped ? fmt::format("/vsizip/{{{}}}/{}.qgs", output.string(), output.stem().string())
               : output.string();
    CPLErrorReset();
    VSILFILE *f = VSIFOpenL(target.c_str(), "wb");
    if (!f)
        throw Error(fmt::format(fmt::runtime(_("cannot write {}: {}")), output.string(),
                                CPLGetLastErrorMsg()));
    const bool ok = VSIFWriteL(qgs.data(), 1, qgs.size(), f) == qgs.size();
    const bool closed = VSIFCloseL(f) == 0;
    if (!ok || !closed)
        throw Error(fmt::format(fmt::runtime(_("cannot write {}: {}")), output.string(),
                                CPLGetLastErrorMsg()));
}

} // namespace

QgisProjectResult write_qgis_project(const QgisProjectOptions &options) {
    std::string ext = options.output.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext != ".qgz" && ext != ".qgs")
        throw UsageError(fmt::format(
            fmt::runtime(_("cannot tell the format of '{}': a QGIS project ends in .qgz "
                           "or .qgs")),
            options.output.string()));
    const fs::path out_dir =
        options.output.parent_path().empty() ? fs::path(".") : options.output.parent_path();
    if (!fs::is_directory(out_dir))
        throw UsageError(
            fmt::format(fmt::runtime(_("directory {} does not exist")), out_dir.string()));

    const auto registry = Registry::open(options.registry, true);
    const auto working = registry.working_crs();
    if (!working)
        throw UsageError(
            fmt::format(fmt::runtime(_("{} has no working CRS yet: import data first")),
                        options.registry.display()));
    const auto tables = registry_styles(registry);
    const auto spatial = spatial_layers(registry);
    std::vector<std::pair<std::string, std::string>> labels;
    for (const auto &k : registry.kinds())
        labels.emplace_back(k.key, k.label);

    std::vector<Layer> layers;
    for (const auto &t : tables) {
        const auto sl = std::find_if(spatial.begin(), spatial.end(), [&](const SpatialLayer &s) {
            return s.table == t.table && s.geometry_column == t.geometry_column;
        });
        const auto columns =
            std::count_if(spatial.begin(), spatial.end(),
                          [&](const SpatialLayer &s) { return s.table == t.table; });
        Layer l;
        l.table = t.table;
        l.geometry_type = sl != spatial.end() ? sl->geometry_type : "GEOMETRY";
        if (columns > 1)
            l.geometry_column = t.geometry_column;
        l.column = t.geometry_column;
        l.styles = &t.styles;
        const auto kind = std::find_if(registry.kinds().begin(), registry.kinds().end(),
                                       [&](const KindDef &k) { return k.key == t.table; });
        if (kind != registry.kinds().end()) {
            l.name = kind->label;
            l.group = kind->is_asset() ? "设施" : "基础";
        } else {
            l.name = result_name(t.table, labels);
            l.group = "分析";
            l.visible = !starts_hidden(t.table);
        }
        if (l.geometry_column && kind != registry.kinds().end() &&
            kind->geometry == GeometryKind::point_or_polygon)
            l.name += geometry_of(l).first == "Point" ? "（点位）" : "（范围）";
        layers.push_back(std::move(l));
    }
    std::stable_sort(layers.begin(), layers.end(), [](const Layer &a, const Layer &b) {
        const auto ga = std::find(kGroups.begin(), kGroups.end(), a.group);
        const auto gb = std::find(kGroups.begin(), kGroups.end(), b.group);
        if (ga != gb)
            return ga < gb;
        // The villages are the ground everything else is drawn on.
        const auto rank = [](const Layer &l) {
            return geometry_of(l).second + (l.table == "village" ? 10 : 0);
        };
        return rank(a) < rank(b);
    });
    // QGIS keeps a layer id only when it is longer than 10 characters (it expects a time stamp
    // in it) and makes up another one otherwise, which the layer tree would then miss.
    for (std::size_t i = 0; i < layers.size(); ++i)
        layers[i].id =
            fmt::format("qiancun_{}{}_{:02}", layers[i].table,
                        layers[i].geometry_column ? "_" + *layers[i].geometry_column : "", i);

    const bool postgres = options.registry.is_postgresql();
    const std::string_view provider = postgres ? "postgres" : "ogr";
    const std::string registry_source =
        postgres ? postgres_connection(options.registry)
                 : relative_source(options.registry.path(), options.output);
    const int srid = registry.working_srid().value_or(0);
    const std::string srs = spatialrefsys(*working, 8);
    QgisProjectResult result;
    std::string tree;
    std::string maplayers;
    std::string order;
    for (const auto group : kGroups) {
        std::string members;
        for (const auto &l : layers) {
            if (l.group != group)
                continue;
            const std::string source =
                postgres ? postgres_source(l, registry_source, options.registry, srid)
                         : layer_source(l, registry_source);
            members += fmt::format(
                "      <layer-tree-layer id=\"{}\" name=\"{}\" source=\"{}\" providerKey=\"{}\" "
                "checked=\"{}\" expanded=\"1\" legend_exp=\"\" patch_size=\"-1,-1\" "
                "legend_split_behavior=\"0\">\n"
                "        <customproperties/>\n"
                "      </layer-tree-layer>\n",
                xml_escape(l.id), xml_escape(l.name), xml_escape(source), provider,
                l.visible ? "Qt::Checked" : "Qt::Unchecked");
            maplayers += maplayer_xml(l, source, provider, srs);
            order += fmt::format("    <layer id=\"{}\"/>\n", xml_escape(l.id));
            result.layers.push_back({l.group, l.name, source, l.visible});
        }
        if (members.empty())
            continue;
        tree += fmt::format("    <layer-tree-group name=\"{}\" checked=\"Qt::Checked\" "
                            "expanded=\"1\">\n"
                            "      <customproperties/>\n{}    </layer-tree-group>\n",
                            group, members);
    }

    std::string canvas;
    for (const auto &li : registry.info().layers)
        if (li.kind == "village" && li.extent) {
            const auto &e = *li.extent;
            canvas = fmt::format("  <mapcanvas name=\"theMapCanvas\" annotationsVisible=\"1\">\n"
                                 "    <units>meters</units>\n"
                                 "    <extent>\n"
                                 "      <xmin>{:.3f}</xmin>\n      <ymin>{:.3f}</ymin>\n"
                                 "      <xmax>{:.3f}</xmax>\n      <ymax>{:.3f}</ymax>\n"
                                 "    </extent>\n"
                                 "    <rotation>0</rotation>\n"
                                 "    <destinationsrs>\n{}    </destinationsrs>\n"
                                 "  </mapcanvas>\n",
                                 e[0], e[1], e[2], e[3], spatialrefsys(*working, 6));
        }

    const std::string title =
        postgres ? options.registry.schema() : options.registry.path().stem().string();
    const std::string qgs =
        fmt::format("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
                    "<qgis projectname=\"{0}\" version=\"{1}\">\n"
                    "  <homePath path=\"\"/>\n"
                    "  <title>{0}</title>\n"
                    "  <projectCrs>\n{2}  </projectCrs>\n"
                    "  <layer-tree-group>\n"
                    "    <customproperties/>\n{3}"
                    "  </layer-tree-group>\n"
                    "{4}"
                    "  <projectlayers>\n{5}  </projectlayers>\n"
                    "  <layerorder>\n{6}  </layerorder>\n"
                    "  <properties>\n"
                    "    <SpatialRefSys>\n"
                    "      <ProjectionsEnabled type=\"int\">1</ProjectionsEnabled>\n"
                    "    </SpatialRefSys>\n"
                    "    <Paths>\n"
                    "      <Absolute type=\"bool\">false</Absolute>\n"
                    "    </Paths>\n"
                    "  </properties>\n"
                    "</qgis>\n",
                    xml_escape(title), kQgisVersion, spatialrefsys(*working, 4), tree, canvas,
                    maplayers, order);
    write_file(options.output, qgs, ext == ".qgz");
    return result;
}

} // namespace qiancun::exporters
