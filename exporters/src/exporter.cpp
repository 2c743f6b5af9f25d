#include "qiancun/exporter.hpp"

#include "qiancun/error.hpp"
#include "qiancun/gcj02.hpp"
#include "qiancun/log.hpp"
#include "qiancun/qml.hpp"
#include "qiancun/registry.hpp"

#include "qiancun/i18n.hpp"
#include "qiancun/registry.hpp"

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogr_swq.h>
#include <ogrsf_frmts.h>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

// A plain OGR copy loop rather than GDALVectorTranslate: the Shapefile needs renamed fields,
// string widths measured from the data and a split by geometry family. Each is a few lines
// here, and a contortion through ogr2ogr options (-sql aliases, -where on geometry types).

namespace qiancun::exporters {
namespace {

namespace fs = std::filesystem;

enum class Format { shapefile, gpkg, geojson, csv };

/// Whether a feature is exported.
using FeatureFilter = std::function<bool(OGRFeature &)>;

struct FormatDef {
    std::string_view extension; // lower case, with the dot
    Format format;
    const char *driver;
};

constexpr std::array kFormats{
    FormatDef{".shp", Format::shapefile, "ESRI Shapefile"},
    FormatDef{".gpkg", Format::gpkg, "GPKG"},
    FormatDef{".geojson", Format::geojson, "GeoJSON"},
    FormatDef{".json", Format::geojson, "GeoJSON"},
    FormatDef{".csv", Format::csv, "CSV"},
};

/// DBF strings hold at most 254 bytes.
constexpr std::size_t kDbfMaxStringBytes = 254;

/// "2024-05-01T08:30:00.000+08:00"
constexpr std::size_t kIsoDateTimeBytes = 29;

/// Every file GDAL's Shapefile driver may leave beside `<stem>.shp`.
constexpr std::array kShapefileSidecars{".shp", ".shx", ".dbf", ".prj",     ".cpg", ".qix",
                                        ".sbn", ".sbx", ".qpj", ".shp.xml", ".qml"};

/// The files one written Shapefile consists of, in the order they are reported.
constexpr std::array kShapefileWritten{".shp", ".shx", ".dbf", ".prj", ".cpg"};

std::string ascii_lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return s;
}

const FormatDef &format_of(const fs::path &output) {
    const std::string ext = ascii_lower(output.extension().string());
    for (const auto &f : kFormats)
        if (f.extension == ext)
            return f;
    throw UsageError(
        fmt::format(fmt::runtime(_("cannot tell the format of '{}': the output must end in .shp, "
                                   ".gpkg, .geojson, .json or .csv")),
                    output.string()));
}

/// Forwards GDAL's messages to qiancun::log while alive (GDAL would print them to stderr).
/// Failures go to debug: the code that called GDAL turns them into exceptions.
class GdalMessagesToLog {
public:
    GdalMessagesToLog() { CPLPushErrorHandler(&forward); }
    GdalMessagesToLog(const GdalMessagesToLog &) = delete;
    GdalMessagesToLog &operator=(const GdalMessagesToLog &) = delete;
    GdalMessagesToLog(GdalMessagesToLog &&) = delete;
    GdalMessagesToLog &operator=(GdalMessagesToLog &&) = delete;
    ~GdalMessagesToLog() noexcept { CPLPopErrorHandler(); }

private:
    static void CPL_STDCALL forward(CPLErr level, CPLErrorNum, const char *message) {
        // Never let an exception escape into GDAL's C frames.
        try {
            log(level == CE_Warning ? LogLevel::warning : LogLevel::debug,
                fmt::format("GDAL: {}", message ? message : ""));
        } catch (...) {
        }
    }
};

std::string last_gdal_error() {
    const char *msg = CPLGetLastErrorMsg();
    return msg && *msg ? msg : _("no reason given by GDAL");
}

/// The geometry families a Shapefile can hold, one per file.
enum class Family { point, line, polygon };

std::string_view family_suffix(Family f) {
    switch (f) {
    case Family::point:
        return "_point";
    case Family::line:
        return "_line";
    case Family::polygon:
        return "_polygon";
    }
    return "";
}

std::optional<Family> family_of(OGRwkbGeometryType type) {
    const auto flat = wkbFlatten(type);
    if (flat == wkbPoint || flat == wkbMultiPoint)
        return Family::point;
    if (OGR_GT_IsSubClassOf(flat, wkbCurve) || OGR_GT_IsSubClassOf(flat, wkbMultiCurve))
        return Family::line;
    if (OGR_GT_IsSubClassOf(flat, wkbSurface) || OGR_GT_IsSubClassOf(flat, wkbMultiSurface))
        return Family::polygon;
    return std::nullopt;
}

/// What the features of one family need from their Shapefile's geometry type.
struct FamilyStats {
    std::int64_t count = 0;
    bool multi_point = false;
    bool z = false;
    bool m = false;
};

OGRwkbGeometryType shapefile_type(Family family, const FamilyStats &stats) {
    // SHPT_ARC and SHPT_POLYGON hold single and multi parts alike; points need MULTIPOINT
    // as soon as one feature has several.
    OGRwkbGeometryType base = family == Family::point
                                  ? (stats.multi_point ? wkbMultiPoint : wkbPoint)
                              : family == Family::line ? wkbLineString
                                                       : wkbPolygon;
    return OGR_GT_SetModifier(base, stats.z, stats.m);
}

/// One output file (one layer) and the features that go into it.
struct Part {
    fs::path path;
    std::string layer_name;
    OGRwkbGeometryType geometry_type = wkbUnknown;
    std::optional<Family> family; ///< set when the layer is split by geometry family
    bool takes_null_geometry = true;
    std::int64_t written = 0;
    GDALDatasetUniquePtr dataset;
    OGRLayer *layer = nullptr;
};

void remove_if_exists(const fs::path &p) {
    std::error_code ec;
    fs::remove(p, ec);
    if (ec)
        throw Error(
            fmt::format(fmt::runtime(_("cannot replace {}: {}")), p.string(), ec.message()));
}

fs::path with_suffix(const fs::path &stem_path, std::string_view suffix) {
    return fs::path(stem_path.string() + std::string(suffix));
}

/// Everything the copy loop needs to know about the source layer, read once.
struct Source {
    OGRLayer *layer = nullptr;
    OGRFeatureDefn *defn = nullptr;
    OGRwkbGeometryType declared_type = wkbNone;
    std::unique_ptr<OGRSpatialReference> srs; ///< nullptr when the layer has no CRS
};

/// Opens `layer` of the registry; throws UsageError naming the existing layers.
OGRLayer *open_layer(GDALDataset &registry, const std::string &layer, const Location &registry_at) {
    if (OGRLayer *l = registry.GetLayerByName(layer.c_str()))
        return l;
    std::string names;
    for (auto *l : registry.GetLayers())
        names += (names.empty() ? "" : ", ") + std::string(l->GetName());
    throw UsageError(fmt::format(fmt::runtime(_("no layer '{}' in {}; its layers are: {}")), layer,
                                 registry_at.display(), names.empty() ? "(none)" : names));
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

/// Replaces each string compared with a coded attribute of `kind` in the parsed filter `node`
/// (`col = 'v'`, `'v' = col`, `col <> 'v'`, `col IN ('v', …)`) by the stored value, as import
/// reads it ("运行" → "operating"); throws UsageError for a value the attribute does not take.
void canonical_coded_values(swq_expr_node &node, const KindDef &kind, const std::string &where) {
    if (node.eNodeType != SNT_OPERATION)
        return;
    for (int i = 0; i < node.nSubExprCount; ++i)
        canonical_coded_values(*node.papoSubExpr[i], kind, where);
    if ((node.nOperation != SWQ_EQ && node.nOperation != SWQ_NE && node.nOperation != SWQ_IN) ||
        node.nSubExprCount < 2)
        return;
    swq_expr_node **sub = node.papoSubExpr;
    // The column is the first operand, or the second of `'v' = col`.
    const int column = sub[0]->eNodeType == SNT_COLUMN                              ? 0
                       : node.nSubExprCount == 2 && sub[1]->eNodeType == SNT_COLUMN ? 1
                                                                                    : -1;
    if (column < 0 || !sub[column]->string_value)
        return;
    const int at = kind.attribute_index(lower(sub[column]->string_value));
    if (at < 0 || kind.attributes[static_cast<std::size_t>(at)].type != ValueType::choice)
        return;
    const AttributeDef &def = kind.attributes[static_cast<std::size_t>(at)];
    for (int i = 0; i < node.nSubExprCount; ++i) {
        swq_expr_node &value = *sub[i];
        if (i == column || value.eNodeType != SNT_CONSTANT || value.field_type != SWQ_STRING ||
            !value.string_value)
            continue;
        const auto parsed = parse_value(def, value.string_value);
        if (const auto *problem = std::get_if<std::string>(&parsed))
            throw UsageError(fmt::format("--where \"{}\": {}", where, *problem));
        if (const auto *stored = std::get_if<std::string>(&std::get<Value>(parsed))) {
            CPLFree(value.string_value);
            value.string_value = CPLStrdup(stored->c_str());
        }
    }
}

/// The definition of `layer` when it is a kind: the registry's, or a built-in one when the
/// database is a plain SpatiaLite file rather than a registry.
std::optional<KindDef> kind_of_layer(const Location &registry_at, const std::string &layer) {
    std::vector<KindDef> kinds;
    try {
        kinds = Registry::open(registry_at, true).kinds();
    } catch (const DatabaseError &) {
        kinds = builtin_kinds();
    }
    for (const auto &k : kinds)
        if (k.key == layer)
            return k;
    return std::nullopt;
}

/// Keeps the features of `codes`: lines by intersecting those villages' polygons (a road belongs
/// to every village it crosses), others by `village_code`, else `code`.
FeatureFilter village_filter(GDALDataset &registry, OGRLayer &layer,
                             const std::vector<std::string> &codes, const Location &registry_at) {
    auto set = std::make_shared<std::vector<std::string>>(codes);
    std::sort(set->begin(), set->end());
    const OGRFeatureDefn &defn = *layer.GetLayerDefn();
    const auto type = wkbFlatten(defn.GetGeomFieldCount() > 0 ? layer.GetGeomType() : wkbNone);
    const bool lines = type == wkbLineString || type == wkbMultiLineString;
    int field = defn.GetFieldIndex("village_code");
    if (field < 0)
        field = defn.GetFieldIndex("code");
    if (field >= 0 && !lines)
        return [set, field](OGRFeature &f) {
            return f.IsFieldSetAndNotNull(field) &&
                   std::binary_search(set->begin(), set->end(), f.GetFieldAsString(field));
        };
    OGRLayer &villages = *open_layer(registry, "village", registry_at);
    auto polygons = std::make_shared<std::vector<std::unique_ptr<OGRGeometry>>>();
    const int code = villages.GetLayerDefn()->GetFieldIndex("code");
    villages.ResetReading();
    for (const auto &v : villages)
        if (code >= 0 && v->GetGeometryRef() &&
            std::binary_search(set->begin(), set->end(), v->GetFieldAsString(code)))
            polygons->emplace_back(v->GetGeometryRef()->clone());
    return [polygons](OGRFeature &f) {
        const OGRGeometry *g = f.GetGeometryRef();
        return g && std::any_of(polygons->begin(), polygons->end(),
                                [&](const auto &p) { return p->Intersects(g); });
    };
}

using gcj02::WebMap;

/// A transformation to WGS84 lon/lat followed by the forward web-map offset (WGS84 → GCJ-02,
/// or → GCJ-02 → BD-09), the published formulas of core's gcj02.hpp; the result is still
/// described as EPSG:4326, since no CRS code exists for the offsets.
class ToWebOffset final : public OGRCoordinateTransformation {
public:
    ToWebOffset(std::unique_ptr<OGRCoordinateTransformation> to_lonlat, WebMap offset,
                const OGRSpatialReference &source, const OGRSpatialReference &lonlat)
        : m_to_lonlat(std::move(to_lonlat)), m_offset(offset), m_source(source), m_lonlat(lonlat) {}
    OGRSpatialReference *GetSourceCS() override { return &m_source; }
    OGRSpatialReference *GetTargetCS() override { return &m_lonlat; }
    int Transform(int count, double *x, double *y, double *z, double *t, int *ok) override {
        if (m_to_lonlat && !m_to_lonlat->Transform(count, x, y, z, t, ok))
            return FALSE;
        gcj02::to_web_map(m_offset, count, x, y, ok);
        return TRUE;
    }
    OGRCoordinateTransformation *Clone() const override {
        return new ToWebOffset(std::unique_ptr<OGRCoordinateTransformation>(
                                   m_to_lonlat ? m_to_lonlat->Clone() : nullptr),
                               m_offset, m_source, m_lonlat);
    }
    OGRCoordinateTransformation *GetInverse() const override { return nullptr; }

private:
    std::unique_ptr<OGRCoordinateTransformation> m_to_lonlat;
    WebMap m_offset;
    OGRSpatialReference m_source;
    OGRSpatialReference m_lonlat;
};

std::unique_ptr<OGRSpatialReference> target_srs(const std::string &user_input) {
    auto srs = std::make_unique<OGRSpatialReference>();
    if (srs->SetFromUserInput(user_input.c_str(),
                              OGRSpatialReference::SET_FROM_USER_INPUT_LIMITATIONS) != OGRERR_NONE)
        throw UsageError(fmt::format(
            fmt::runtime(_("--t-srs '{}' is not a CRS GDAL knows (try EPSG:4326, GCJ02 or BD09)")),
            user_input));
    srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

/// Output field definitions: the source's, renamed to `names`; for a Shapefile, strings sized
/// to the longest value (`string_bytes`) and date-times as ISO 8601 text, which DBF lacks.
std::vector<std::unique_ptr<OGRFieldDefn>>
output_fields(const OGRFeatureDefn &defn, const std::vector<std::string> &names, bool shapefile,
              const std::vector<std::size_t> &string_bytes) {
    std::vector<std::unique_ptr<OGRFieldDefn>> out;
    for (int i = 0; i < defn.GetFieldCount(); ++i) {
        auto fd = std::make_unique<OGRFieldDefn>(defn.GetFieldDefn(i));
        fd->SetName(names[static_cast<std::size_t>(i)].c_str());
        if (shapefile) {
            std::size_t bytes = string_bytes[static_cast<std::size_t>(i)];
            if (fd->GetType() == OFTDateTime || fd->GetType() == OFTTime) {
                fd->SetType(OFTString);
                fd->SetSubType(OFSTNone);
                bytes = std::max<std::size_t>(bytes, kIsoDateTimeBytes);
            }
            if (fd->GetType() == OFTString)
                fd->SetWidth(
                    static_cast<int>(std::clamp<std::size_t>(bytes, 1, kDbfMaxStringBytes)));
        }
        out.push_back(std::move(fd));
    }
    return out;
}

/// One pass over the (filtered) source for a Shapefile: the geometry families present, the
/// longest string of each field in bytes, and whether some feature has no geometry.
struct ShapefileSurvey {
    std::map<Family, FamilyStats> families;
    std::int64_t null_geometry = 0;
    std::vector<std::size_t> string_bytes;
};

/// The geometry a feature is exported with: a point-or-polygon kind's footprint where it has
/// one (its table keeps the point in `geom` and the polygon in `footprint_geom`), else the
/// feature's first geometry.
const OGRGeometry *export_geometry(const OGRFeature &f, int footprint) {
    if (footprint >= 0)
        if (const OGRGeometry *g = f.GetGeomFieldRef(footprint); g && !g->IsEmpty())
            return g;
    return f.GetGeometryRef();
}

ShapefileSurvey survey(OGRLayer &layer, const std::string &layer_name, const FeatureFilter &keep,
                       int footprint) {
    ShapefileSurvey s;
    const int n_fields = layer.GetLayerDefn()->GetFieldCount();
    s.string_bytes.assign(static_cast<std::size_t>(n_fields), 0);
    layer.ResetReading();
    for (const auto &feature : layer) {
        if (!keep(*feature))
            continue;
        for (int i = 0; i < n_fields; ++i) {
            if (!feature->IsFieldSetAndNotNull(i))
                continue;
            auto &longest = s.string_bytes[static_cast<std::size_t>(i)];
            longest = std::max(longest, std::string_view(feature->GetFieldAsString(i)).size());
        }
        const OGRGeometry *g = export_geometry(*feature, footprint);
        if (!g || g->IsEmpty()) {
            ++s.null_geometry;
            continue;
        }
        const auto family = family_of(g->getGeometryType());
        if (!family)
            throw UsageError(fmt::format(
                fmt::runtime(_(
                    "feature {} of '{}' is a {}, which a Shapefile cannot hold; export to .gpkg")),
                feature->GetFID(), layer_name, OGRGeometryTypeToName(g->getGeometryType())));
        auto &stats = s.families[*family];
        ++stats.count;
        stats.multi_point = stats.multi_point || wkbFlatten(g->getGeometryType()) == wkbMultiPoint;
        stats.z = stats.z || g->Is3D();
        stats.m = stats.m || g->IsMeasured();
    }
    for (int i = 0; i < n_fields; ++i) {
        const auto bytes = s.string_bytes[static_cast<std::size_t>(i)];
        if (bytes > kDbfMaxStringBytes &&
            layer.GetLayerDefn()->GetFieldDefn(i)->GetType() == OFTString)
            log(LogLevel::warning,
                fmt::format(
                    fmt::runtime(_("field '{}' of '{}' has values of up to {} bytes; a DBF keeps "
                                   "{}, the rest is cut")),
                    layer.GetLayerDefn()->GetFieldDefn(i)->GetNameRef(), layer_name, bytes,
                    kDbfMaxStringBytes));
    }
    return s;
}

/// Plans the Shapefile(s): one `<stem>.shp`, or one `<stem>_<family>.shp` per family when the
/// layer mixes them (features without geometry then go to the first one).
std::vector<Part> plan_shapefiles(const fs::path &output, OGRwkbGeometryType declared_type,
                                  const ShapefileSurvey &s) {
    const fs::path stem_path = output.parent_path() / output.stem();
    std::vector<Part> parts;
    if (s.families.size() <= 1) {
        Part p;
        p.path = output;
        p.layer_name = output.stem().string();
        if (!s.families.empty()) {
            p.geometry_type = shapefile_type(s.families.begin()->first, s.families.begin()->second);
        } else if (auto f = family_of(declared_type)) {
            p.geometry_type = shapefile_type(
                *f, FamilyStats{.multi_point = wkbFlatten(declared_type) == wkbMultiPoint,
                                .z = OGR_GT_HasZ(declared_type) != 0,
                                .m = OGR_GT_HasM(declared_type) != 0});
        } else {
            // No feature and no declared family to take a Shapefile type from.
            p.geometry_type = wkbNone;
            if (declared_type != wkbNone)
                log(LogLevel::warning,
                    fmt::format(
                        fmt::runtime(_("nothing selected and the layer mixes geometry types: {} is "
                                       "written as a table without geometry (.dbf)")),
                        output.stem().string()));
        }
        parts.push_back(std::move(p));
        return parts;
    }
    for (const auto &[family, stats] : s.families) {
        Part p;
        const fs::path part_stem = with_suffix(stem_path, family_suffix(family));
        p.path = with_suffix(part_stem, ".shp");
        p.layer_name = part_stem.filename().string();
        p.geometry_type = shapefile_type(family, stats);
        p.family = family;
        p.takes_null_geometry = parts.empty();
        parts.push_back(std::move(p));
    }
    if (s.null_geometry > 0)
        log(LogLevel::warning,
            fmt::format(fmt::runtime(_("{} features without geometry are written to {}")),
                        s.null_geometry, parts.front().path.string()));
    return parts;
}

/// The DBF field names an earlier export recorded in `<stem>.fields.csv` (second column); empty
/// when there is no such file.
std::vector<std::string> recorded_dbf_fields(const fs::path &map_path) {
    std::vector<std::string> names;
    std::ifstream in(map_path, std::ios::binary);
    std::string line;
    if (!in || !std::getline(in, line) || line != "field,dbf_field")
        return names;
    while (std::getline(in, line)) {
        const auto comma = line.rfind(',');
        if (comma != std::string::npos)
            names.push_back(line.substr(comma + 1));
    }
    return names;
}

/// The attribute field names of the Shapefile `shp`; nullopt when GDAL cannot open it.
std::optional<std::vector<std::string>> shapefile_fields(const fs::path &shp) {
    const char *const drivers[] = {"ESRI Shapefile", nullptr};
    GDALDatasetUniquePtr ds(GDALDataset::Open(shp.c_str(), GDAL_OF_VECTOR, drivers, nullptr));
    if (!ds || ds->GetLayerCount() != 1)
        return std::nullopt;
    std::vector<std::string> names;
    const OGRFeatureDefn *defn = ds->GetLayer(0)->GetLayerDefn();
    for (int i = 0; i < defn->GetFieldCount(); ++i)
        names.emplace_back(defn->GetFieldDefn(i)->GetNameRef());
    return names;
}

/// Removes the files this export replaces: those of its own parts, and the split parts
/// (`<stem>_point/_line/_polygon`) an earlier export wrote — known by the DBF fields that
/// export recorded in `<stem>.fields.csv`. Any other Shapefile of such a name is someone
/// else's and is left alone, with a warning.
void remove_previous_shapefiles(const fs::path &output, const std::vector<Part> &parts) {
    const fs::path stem_path = output.parent_path() / output.stem();
    const fs::path map_path = with_suffix(stem_path, ".fields.csv");
    const auto recorded = recorded_dbf_fields(map_path);
    for (std::string_view suffix : {"", "_point", "_line", "_polygon"}) {
        const fs::path part_stem = with_suffix(stem_path, suffix);
        const fs::path shp = with_suffix(part_stem, ".shp");
        // The file named by -o is the user's to replace, whatever it holds.
        const bool ours =
            suffix.empty() ||
            std::any_of(parts.begin(), parts.end(), [&](const Part &p) { return p.path == shp; });
        if (!ours) {
            if (!fs::exists(shp) && !fs::exists(with_suffix(part_stem, ".dbf")))
                continue;
            const auto fields = shapefile_fields(shp);
            if (recorded.empty() || !fields || *fields != recorded) {
                log(LogLevel::warning,
                    fmt::format(fmt::runtime(_(
                                    "{} is not from an earlier export of {}; it is left as it is")),
                                shp.string(), output.filename().string()));
                continue;
            }
        }
        for (std::string_view ext : kShapefileSidecars)
            remove_if_exists(with_suffix(part_stem, ext));
    }
    remove_if_exists(map_path);
}

void create_part(Part &part, GDALDriver &driver, OGRSpatialReference *srs,
                 const std::vector<std::unique_ptr<OGRFieldDefn>> &fields,
                 const std::vector<std::string> &lco, bool append) {
    if (append) {
        const char *const drivers[] = {driver.GetDescription(), nullptr};
        part.dataset.reset(GDALDataset::Open(part.path.c_str(), GDAL_OF_VECTOR | GDAL_OF_UPDATE,
                                             drivers, nullptr));
        if (!part.dataset)
            throw Error(fmt::format(fmt::runtime(_("cannot open {} to add '{}': {}")),
                                    part.path.string(), part.layer_name, last_gdal_error()));
        for (int i = 0; i < part.dataset->GetLayerCount(); ++i)
            if (part.layer_name == part.dataset->GetLayer(i)->GetName() &&
                part.dataset->DeleteLayer(i) != OGRERR_NONE)
                throw Error(fmt::format(fmt::runtime(_("cannot replace layer '{}' in {}: {}")),
                                        part.layer_name, part.path.string(), last_gdal_error()));
    } else {
        part.dataset.reset(driver.Create(part.path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    }
    if (!part.dataset)
        throw Error(fmt::format(fmt::runtime(_("cannot create {}: {}")), part.path.string(),
                                last_gdal_error()));
    std::vector<const char *> options;
    for (const auto &o : lco)
        options.push_back(o.c_str());
    options.push_back(nullptr);
    part.layer = part.dataset->CreateLayer(part.layer_name.c_str(), srs, part.geometry_type,
                                           const_cast<char **>(options.data()));
    if (!part.layer)
        throw Error(fmt::format(fmt::runtime(_("cannot create layer '{}' in {}: {}")),
                                part.layer_name, part.path.string(), last_gdal_error()));
    for (const auto &fd : fields) {
        if (part.layer->CreateField(fd.get(), FALSE) != OGRERR_NONE)
            throw Error(fmt::format(fmt::runtime(_("cannot create field '{}' in {}: {}")),
                                    fd->GetNameRef(), part.path.string(), last_gdal_error()));
    }
    // Batches the inserts where the driver has transactions (GeoPackage); others say no.
    if (part.dataset->TestCapability(ODsCTransactions))
        part.dataset->StartTransaction();
}

void finish_part(Part &part) {
    if (part.dataset->TestCapability(ODsCTransactions) &&
        part.dataset->CommitTransaction() != OGRERR_NONE)
        throw Error(fmt::format(fmt::runtime(_("cannot write {}: {}")), part.path.string(),
                                last_gdal_error()));
    // Closing flushes the file; GDAL reports write errors only through the error state here.
    CPLErrorReset();
    part.dataset.reset();
    if (CPLGetLastErrorType() == CE_Failure)
        throw Error(fmt::format(fmt::runtime(_("cannot write {}: {}")), part.path.string(),
                                last_gdal_error()));
}

Part &part_for(std::vector<Part> &parts, const OGRGeometry *g) {
    if (parts.size() == 1 || !g || g->IsEmpty()) {
        for (auto &p : parts)
            if (p.takes_null_geometry)
                return p;
    }
    const auto family = family_of(g->getGeometryType());
    for (auto &p : parts)
        if (p.family == family)
            return p;
    // The survey saw every family; a feature of another one means the data changed under us.
    throw Error(_("the registry changed during the export; run it again"));
}

void write_field_map(const fs::path &path,
                     const std::vector<std::pair<std::string, std::string>> &names) {
    std::ofstream out(path, std::ios::binary);
    out << "field,dbf_field\n";
    for (const auto &[full, dbf] : names)
        out << csv_cell(full) << ',' << csv_cell(dbf) << '\n';
    out.close();
    if (!out)
        throw Error(fmt::format(fmt::runtime(_("cannot write {}")), path.string()));
}

/// Writes the default QGIS style of each file written (`<stem>.qml`, or `<stem><style_suffix>.qml`
/// when the layer was added to a GeoPackage) and lists it with the file; a GeoPackage also gets
/// every named style in its `layer_styles` table, the default one marked.
void add_styles(const std::vector<NamedStyle> &styles, bool gpkg, const ExportOptions &options,
                ExportResult &result) {
    const auto chosen = std::find_if(styles.begin(), styles.end(),
                                     [](const NamedStyle &s) { return s.is_default; });
    const std::string &qml = (chosen != styles.end() ? *chosen : styles.front()).qml;
    for (auto &file : result.outputs) {
        const fs::path stem_path = file.path.parent_path() / file.path.stem();
        const std::string suffix = !options.append                ? std::string()
                                   : options.style_suffix.empty() ? "_" + options.layer
                                                                  : options.style_suffix;
        const fs::path qml_path = with_suffix(stem_path, suffix + ".qml");
        write_qml(qml_path, qml);
        if (gpkg)
            embed_gpkg_styles(file.path, options.layer, styles);
        file.sidecars.push_back(qml_path);
        result.files.push_back(qml_path);
    }
}

/// The kinds of the registry at `path` (its configured ones too); the built-in kinds when it
/// is not a qiancun registry (a plain SpatiaLite file of the same layout).
std::vector<KindDef> kinds_of(const Location &location) {
    try {
        return Registry::open(location, true).kinds();
    } catch (const Error &) {
        return builtin_kinds();
    }
}

/// The largest value of `field` in `layer`, read with SQLite's own MAX.
std::optional<double> field_max(GDALDataset &registry, const std::string &layer,
                                const std::string &field) {
    const auto quote = [](const std::string &name) {
        std::string out = "\"";
        for (char c : name)
            out += c == '"' ? std::string("\"\"") : std::string(1, c);
        return out + "\"";
    };
    OGRLayer *result = registry.ExecuteSQL(
        fmt::format("SELECT MAX({}) FROM {}", quote(field), quote(layer)).c_str(), nullptr,
        nullptr);
    if (!result)
        return std::nullopt;
    std::optional<double> out;
    if (OGRFeatureUniquePtr f{result->GetNextFeature()}; f && f->IsFieldSetAndNotNull(0))
        out = f->GetFieldAsDouble(0);
    registry.ReleaseResultSet(result);
    return out;
}

} // namespace

ExportResult export_layer(const Location &registry_at, const ExportOptions &options) {
    const FormatDef &format = format_of(options.output);
    // GDAL's Shapefile driver writes lower-case extensions whatever the case of ".SHP".
    const fs::path output = format.format == Format::shapefile
                                ? fs::path(options.output).replace_extension(".shp")
                                : options.output;
    if (options.layer.empty())
        throw UsageError(_("no layer given to export"));
    if (options.where && options.where->find(';') != std::string::npos)
        throw UsageError(_("--where takes one expression; ';' is not allowed in it"));
    if (registry_at.is_file() && !fs::is_regular_file(registry_at.path()))
        throw UsageError(
            fmt::format(fmt::runtime(_("registry {} does not exist")), registry_at.display()));
    const fs::path out_dir = output.parent_path().empty() ? fs::path(".") : output.parent_path();
    if (!fs::is_directory(out_dir))
        throw UsageError(
            fmt::format(fmt::runtime(_("directory {} does not exist")), out_dir.string()));
    std::error_code ec;
    if (registry_at.is_file() && fs::equivalent(registry_at.path(), output, ec))
        throw UsageError(_("the output would overwrite the registry itself"));

    GDALAllRegister();
    GdalMessagesToLog forward_messages;

    // What GDAL opens: the file itself, or the PostgreSQL schema the store names.
    const std::string gdal_name = registry_at.is_file()
                                      ? registry_at.path().string()
                                      : Registry::open(registry_at, true).gdal_name();
    const char *const registry_drivers[] = {registry_at.is_file() ? "SQLite" : "PostgreSQL",
                                            nullptr};
    GDALDatasetUniquePtr registry(GDALDataset::Open(
        gdal_name.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, registry_drivers, nullptr));
    if (!registry)
        throw DatabaseError(fmt::format(
            fmt::runtime(_("cannot open {} as a {} registry: {}")), registry_at.display(),
            registry_at.is_file() ? "SpatiaLite" : "PostgreSQL", last_gdal_error()));

    OGRLayer &src = *open_layer(*registry, options.layer, registry_at);
    // The filter is parsed by GDAL's own expression parser against the layer's fields and
    // evaluated per feature: never handed to SQLite as text, so it cannot inject SQL.
    std::unique_ptr<OGRFeatureQuery> where;
    if (options.where) {
        CPLErrorReset();
        where = std::make_unique<OGRFeatureQuery>();
        if (where->Compile(src.GetLayerDefn(), options.where->c_str()) != OGRERR_NONE)
            throw UsageError(
                fmt::format(fmt::runtime(_("--where \"{}\" is not a valid filter on '{}': {}")),
                            *options.where, options.layer, last_gdal_error()));
        if (const auto kind = kind_of_layer(registry_at, options.layer))
            canonical_coded_values(*static_cast<swq_expr_node *>(where->GetSWQExpr()), *kind,
                                   *options.where);
    }
    FeatureFilter in_villages;
    if (options.village_codes)
        in_villages = village_filter(*registry, src, *options.village_codes, registry_at);
    const FeatureFilter keep = [&](OGRFeature &f) {
        return (!where || where->Evaluate(&f)) && (!in_villages || in_villages(f));
    };
    OGRFeatureDefn &defn = *src.GetLayerDefn();
    // Halls: one layer of points and footprints, each feature by its footprint where it has one.
    const int footprint =
        defn.GetGeomFieldCount() > 1 ? defn.GetGeomFieldIndex("footprint_geom") : -1;
    const OGRwkbGeometryType declared_type = footprint >= 0                 ? wkbUnknown
                                             : defn.GetGeomFieldCount() > 0 ? src.GetGeomType()
                                                                            : wkbNone;

    std::unique_ptr<OGRSpatialReference> source_srs;
    if (const OGRSpatialReference *s = src.GetSpatialRef()) {
        source_srs.reset(s->Clone());
        source_srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    }
    std::unique_ptr<OGRSpatialReference> out_srs;
    std::unique_ptr<OGRCoordinateTransformation> transform;
    const WebMap offset = options.t_srs ? gcj02::web_map_of(*options.t_srs) : WebMap::none;
    std::vector<std::string> notes;
    if (offset != WebMap::none) {
        out_srs = target_srs("EPSG:4326");
        if (!source_srs)
            throw UsageError(
                fmt::format(fmt::runtime(_("'{}' has no CRS to reproject from")), options.layer));
        std::unique_ptr<OGRCoordinateTransformation> to_lonlat;
        if (!out_srs->IsSame(source_srs.get())) {
            to_lonlat.reset(OGRCreateCoordinateTransformation(source_srs.get(), out_srs.get()));
            if (!to_lonlat)
                throw UsageError(
                    fmt::format(fmt::runtime(_("cannot transform '{}' to lon/lat: {}")),
                                options.layer, last_gdal_error()));
        }
        transform =
            std::make_unique<ToWebOffset>(std::move(to_lonlat), offset, *source_srs, *out_srs);
        notes.push_back(fmt::format(
            fmt::runtime(
                _("the coordinates carry the {} offset of {} (lon/lat moved by up to a few hundred "
                  "metres); the file's CRS says EPSG:4326 because the offset has no CRS of its "
                  "own, so "
                  "only give it to a web map that expects {}")),
            gcj02::web_map_name(offset), offset == WebMap::gcj02 ? "Amap/Tencent" : "Baidu",
            gcj02::web_map_name(offset)));
    } else if (options.t_srs) {
        out_srs = target_srs(*options.t_srs);
        if (!source_srs)
            throw UsageError(
                fmt::format(fmt::runtime(_("'{}' has no CRS to reproject from")), options.layer));
        if (!out_srs->IsSame(source_srs.get())) {
            transform.reset(OGRCreateCoordinateTransformation(source_srs.get(), out_srs.get()));
            if (!transform)
                throw UsageError(fmt::format(fmt::runtime(_("cannot transform '{}' to {}: {}")),
                                             options.layer, *options.t_srs, last_gdal_error()));
        }
    } else if (source_srs) {
        out_srs.reset(source_srs->Clone());
    }

    if (format.format == Format::geojson && out_srs && !out_srs->IsGeographic() &&
        !out_srs->GetAuthorityCode(nullptr))
        // GeoJSON names a CRS only by a code; without one every reader takes the metres of a
        // custom CRS for degrees.
        throw UsageError(fmt::format(
            fmt::runtime(
                _("GeoJSON can name a CRS only by its EPSG code, and the CRS of '{}' has none (a "
                  "custom working CRS): export with --t-srs EPSG:4490 (lon/lat) or to .gpkg or "
                  ".shp")),
            options.layer));

    ExportResult result;
    result.driver = format.driver;
    result.notes = std::move(notes);
    std::vector<std::string> full_names;
    for (int i = 0; i < defn.GetFieldCount(); ++i)
        full_names.emplace_back(defn.GetFieldDefn(i)->GetNameRef());
    const bool shapefile = format.format == Format::shapefile;
    if (options.append && format.format != Format::gpkg)
        throw UsageError(
            fmt::format(fmt::runtime(_("only a GeoPackage takes several layers; {} would be "
                                       "overwritten")),
                        output.string()));
    const bool append = options.append && fs::exists(output);
    const std::vector<std::string> names = shapefile ? dbf_field_names(full_names) : full_names;
    for (std::size_t i = 0; i < names.size(); ++i)
        result.field_names.emplace_back(full_names[i], names[i]);

    std::vector<Part> parts;
    std::vector<std::string> lco;
    std::vector<std::size_t> string_bytes(full_names.size(), 0);
    if (shapefile) {
        ShapefileSurvey s = survey(src, options.layer, keep, footprint);
        string_bytes = s.string_bytes;
        parts = plan_shapefiles(output, declared_type, s);
        remove_previous_shapefiles(output, parts);
        lco = {"ENCODING=UTF-8"};
    } else {
        Part p;
        p.path = output;
        p.layer_name = format.format == Format::csv ? output.stem().string() : options.layer;
        p.geometry_type = declared_type;
        parts.push_back(std::move(p));
        if (!append) {
            remove_if_exists(output);
            // A style left from an earlier export would dress the new file in the wrong fields.
            remove_if_exists(fs::path(output).replace_extension(".qml"));
            for (std::string_view suffix : {"-wal", "-shm", "-journal"})
                remove_if_exists(with_suffix(output, suffix));
        }
        if (format.format == Format::csv) {
            remove_if_exists(fs::path(output).replace_extension(".csvt"));
            // Geometry as a WKT column for any geometry type; the .csvt keeps the column types
            // (a 12-digit village code stays text in QGIS); the BOM lets Excel read UTF-8.
            lco = {"GEOMETRY=AS_WKT", "CREATE_CSVT=YES", "WRITE_BOM=YES"};
        }
        if (format.format == Format::geojson && out_srs)
            // 0.1 mm either way, instead of GDAL's 17 significant digits.
            lco = {out_srs->IsGeographic() ? "COORDINATE_PRECISION=9" : "COORDINATE_PRECISION=4"};
    }

    GDALDriver *driver = GetGDALDriverManager()->GetDriverByName(format.driver);
    if (!driver)
        throw Error(fmt::format(fmt::runtime(_("this GDAL has no {} driver")), format.driver));
    const auto fields = output_fields(defn, names, shapefile, string_bytes);
    for (auto &part : parts)
        create_part(part, *driver, part.geometry_type == wkbNone ? nullptr : out_srs.get(), fields,
                    lco, append);

    std::vector<int> field_map(static_cast<std::size_t>(defn.GetFieldCount()));
    for (std::size_t i = 0; i < field_map.size(); ++i)
        field_map[i] = static_cast<int>(i);

    CPLErrorReset();
    src.ResetReading();
    for (const auto &feature : src) {
        if (!keep(*feature))
            continue;
        const OGRGeometry *geometry = export_geometry(*feature, footprint);
        Part &part = part_for(parts, geometry);
        OGRFeatureUniquePtr out(OGRFeature::CreateFeature(part.layer->GetLayerDefn()));
        if (out->SetFrom(feature.get(), field_map.data(), TRUE) != OGRERR_NONE)
            throw Error(fmt::format(fmt::runtime(_("cannot copy feature {} of '{}': {}")),
                                    feature->GetFID(), options.layer, last_gdal_error()));
        if (part.geometry_type == wkbNone)
            out->SetGeometryDirectly(nullptr);
        else if (footprint >= 0)
            out->SetGeometry(geometry);
        if (OGRGeometry *g = out->GetGeometryRef()) {
            if (transform && g->transform(transform.get()) != OGRERR_NONE)
                throw Error(fmt::format(
                    fmt::runtime(_("cannot transform feature {} of '{}' to {}: {}")),
                    feature->GetFID(), options.layer, *options.t_srs, last_gdal_error()));
            g->assignSpatialReference(out_srs.get());
        }
        out->SetFID(feature->GetFID());
        if (part.layer->CreateFeature(out.get()) != OGRERR_NONE)
            throw Error(fmt::format(fmt::runtime(_("cannot write feature {} of '{}' to {}: {}")),
                                    feature->GetFID(), options.layer, part.path.string(),
                                    last_gdal_error()));
        ++part.written;
        ++result.features;
    }
    // A failing SQLite statement ends the reading early instead of raising.
    if (CPLGetLastErrorType() == CE_Failure)
        throw DatabaseError(fmt::format("reading '{}' from {} failed: {}", options.layer,
                                        registry_at.display(), last_gdal_error()));

    const fs::path map_path = with_suffix(output.parent_path() / output.stem(), ".fields.csv");
    for (auto &part : parts) {
        finish_part(part);
        ExportedFile file{.path = part.path, .features = part.written, .sidecars = {}};
        if (shapefile) {
            const fs::path stem_path = part.path.parent_path() / part.path.stem();
            for (std::string_view ext : kShapefileWritten)
                if (fs::path f = with_suffix(stem_path, ext); ext != ".shp" && fs::exists(f))
                    file.sidecars.push_back(f);
            if (part.geometry_type == wkbNone) // attribute-only: the .dbf is the layer
                file.path = with_suffix(stem_path, ".dbf");
            std::erase(file.sidecars, file.path);
            file.sidecars.push_back(map_path);
        } else if (auto csvt = fs::path(part.path).replace_extension(".csvt");
                   format.format == Format::csv && fs::exists(csvt)) {
            file.sidecars.push_back(csvt);
        }
        result.files.push_back(file.path);
        for (const auto &f : file.sidecars)
            if (f != map_path)
                result.files.push_back(f);
        result.outputs.push_back(std::move(file));
    }
    if (shapefile) {
        write_field_map(map_path, result.field_names);
        result.files.push_back(map_path);
    }
    // A CSV is a table for spreadsheets: no style beside it.
    if (options.style && format.format != Format::csv) {
        StyleContext context;
        const auto kinds = kinds_of(registry_at);
        for (const auto &k : kinds) {
            context.type_labels.emplace_back(k.key, k.label);
            if (k.key == options.layer)
                context.kind = &k;
        }
        if (!context.kind && style_for_layer(options.layer) == LayerStyle::service_area_lines) {
            const bool minutes =
                std::find(full_names.begin(), full_names.end(), "minutes") != full_names.end();
            context.reach_max =
                field_max(*registry, options.layer, minutes ? "minutes" : "distance_m");
        }
        if (const auto styles = layer_styles(options.layer, result.field_names, context);
            !styles.empty())
            add_styles(styles, format.format == Format::gpkg, options, result);
    }
    return result;
}

std::string csv_cell(const std::string &s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos)
        return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

} // namespace qiancun::exporters
