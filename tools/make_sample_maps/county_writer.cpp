#include "county_writer.hpp"

#include <qiancun/gcj02.hpp>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal_priv.h>
#include <ogr_feature.h>
#include <ogr_geometry.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace qiancun::sample {

namespace fs = std::filesystem;

std::vector<std::pair<std::string, std::size_t>> feature_counts(const County &county) {
    return {{"village", county.villages.size()},
            {"settlement", county.settlements.size()},
            {"urban", county.urban_areas.size()},
            {"hazard", county.hazard_zones.size()},
            {"sewage_plant", county.sewage_plants.size()},
            {"rural_road", county.roads.size()},
            {"base_station_5g", county.base_stations.size()},
            {"cultural_hall", county.cultural_halls.size()},
            {"courier_station", county.courier_stations.size()},
            {"clinic", county.clinics.size()},
            {"village_museum", county.village_museums.size()},
            {"sports_ground", county.sports_grounds.size()},
            {"workshop", county.workshops.size()},
            {"smart_life_hall", county.smart_life_halls.size()},
            {"agri_facility", county.agri_facilities.size()},
            {"water_test", county.water_tests.size()}};
}

namespace {

/// Area of use of EPSG:4549 in longitude, degrees.
constexpr double kMinLon = 118.5;
constexpr double kMaxLon = 121.5;
/// Written instead of today's date into DBF headers and GeoPackage metadata.
constexpr const char *kFixedDate = "2024-01-01";

struct LonLat {
    double lon = 0.0;
    double lat = 0.0;
};

struct TransformDeleter {
    void operator()(OGRCoordinateTransformation *ct) const noexcept {
        OGRCoordinateTransformation::DestroyCT(ct);
    }
};
using TransformPtr = std::unique_ptr<OGRCoordinateTransformation, TransformDeleter>;

[[noreturn]] void gdal_failure(std::string_view what) {
    throw std::runtime_error(fmt::format("{}: {}", what, CPLGetLastErrorMsg()));
}

/// EPSG:4549 → geographic CGCS2000 (EPSG:4490) and WGS84 (EPSG:4326), longitude first.
class Projector {
public:
    Projector() {
        for (auto [srs, code] : {std::pair{&working_, 4549}, {&cgcs2000_, 4490}, {&wgs84_, 4326}}) {
            if (srs->importFromEPSG(code) != OGRERR_NONE)
                gdal_failure(fmt::format("EPSG:{}", code));
            srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        }
        to_cgcs2000_.reset(OGRCreateCoordinateTransformation(&working_, &cgcs2000_));
        to_wgs84_.reset(OGRCreateCoordinateTransformation(&working_, &wgs84_));
        if (!to_cgcs2000_ || !to_wgs84_)
            gdal_failure("coordinate transformation from EPSG:4549");
    }

    const OGRSpatialReference *working() const noexcept { return &working_; }
    const OGRSpatialReference *cgcs2000() const noexcept { return &cgcs2000_; }
    const OGRSpatialReference *wgs84() const noexcept { return &wgs84_; }

    LonLat to_cgcs2000(XY p) const { return transform(*to_cgcs2000_, p); }
    LonLat to_wgs84(XY p) const { return transform(*to_wgs84_, p); }

private:
    static LonLat transform(OGRCoordinateTransformation &ct, XY p) {
        double x = p.x_m, y = p.y_m;
        if (!ct.Transform(1, &x, &y))
            gdal_failure(fmt::format("transforming ({}, {})", p.x_m, p.y_m));
        if (x < kMinLon || x > kMaxLon)
            throw std::runtime_error(
                fmt::format("({:.2f}, {:.2f}) lies at {:.4f}°E, outside the EPSG:4549 area of use",
                            p.x_m, p.y_m, x));
        return {x, y};
    }

    OGRSpatialReference working_, cgcs2000_, wgs84_;
    TransformPtr to_cgcs2000_, to_wgs84_;
};

/// How planar coordinates are written: as they are, or as longitude/latitude.
using Project = std::function<LonLat(XY)>;

OGRLinearRing make_ring(const Ring &ring, const Project &project) {
    OGRLinearRing out;
    for (XY p : ring) {
        const LonLat q = project(p);
        out.addPoint(q.lon, q.lat);
    }
    return out;
}

std::unique_ptr<OGRGeometry> make_polygon(const Polygon &polygon, const Project &project) {
    auto out = std::make_unique<OGRPolygon>();
    OGRLinearRing outer = make_ring(polygon.outer, project);
    out->addRing(&outer);
    for (const Ring &hole : polygon.holes) {
        OGRLinearRing inner = make_ring(hole, project);
        out->addRing(&inner);
    }
    return out;
}

std::unique_ptr<OGRGeometry> make_area(const MultiPolygon &area, const Project &project) {
    if (area.size() == 1)
        return make_polygon(area.front(), project);
    auto out = std::make_unique<OGRMultiPolygon>();
    for (const Polygon &p : area)
        out->addGeometryDirectly(make_polygon(p, project).release());
    return out;
}

std::unique_ptr<OGRGeometry> make_point(XY p, const Project &project) {
    const LonLat q = project(p);
    return std::make_unique<OGRPoint>(q.lon, q.lat);
}

std::unique_ptr<OGRGeometry> make_line(const LineString &line, const Project &project) {
    auto out = std::make_unique<OGRLineString>();
    for (XY p : line) {
        const LonLat q = project(p);
        out->addPoint(q.lon, q.lat);
    }
    return out;
}

LonLat identity(XY p) {
    return {p.x_m, p.y_m};
}

double round6(double v) {
    return std::round(v * 1e6) / 1e6;
}

/// Removes `path` and the sidecars a format may have left next to it.
void remove_outputs(const fs::path &path) {
    std::error_code ignored;
    fs::remove(path, ignored);
    if (path.extension() == ".shp")
        for (const char *ext : {".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx"})
            fs::remove(fs::path(path).replace_extension(ext), ignored);
}

GDALDatasetUniquePtr create_dataset(const char *driver_name, const fs::path &path,
                                    CSLConstList options = nullptr) {
    GDALDriver *driver = GetGDALDriverManager()->GetDriverByName(driver_name);
    if (!driver)
        throw std::runtime_error(fmt::format("GDAL driver {} is not available", driver_name));
    remove_outputs(path);
    GDALDatasetUniquePtr ds(driver->Create(path.string().c_str(), 0, 0, 0, GDT_Unknown, options));
    if (!ds)
        gdal_failure(fmt::format("creating {}", path.string()));
    return ds;
}

struct FieldSpec {
    const char *name;
    OGRFieldType type;
    int width = 0;
    int precision = 0;
};

OGRLayer *create_layer(GDALDataset &ds, const char *name, const OGRSpatialReference *srs,
                       OGRwkbGeometryType type, const std::vector<FieldSpec> &fields,
                       CSLConstList options = nullptr) {
    // GDAL 3.6 takes a non-const SRS; CreateLayer clones it.
    OGRLayer *layer = ds.CreateLayer(name, const_cast<OGRSpatialReference *>(srs), type,
                                     const_cast<char **>(options));
    if (!layer)
        gdal_failure(fmt::format("creating layer {}", name));
    for (const FieldSpec &f : fields) {
        OGRFieldDefn defn(f.name, f.type);
        defn.SetWidth(f.width);
        defn.SetPrecision(f.precision);
        if (layer->CreateField(&defn) != OGRERR_NONE)
            gdal_failure(fmt::format("creating field {} of {}", f.name, name));
    }
    return layer;
}

/// One feature under construction; fields are set by index in FieldSpec order.
class Row {
public:
    explicit Row(OGRLayer &layer)
        : layer_(layer), feature_(OGRFeature::CreateFeature(layer.GetLayerDefn())) {}

    Row &text(int i, const std::string &value) {
        if (value.empty())
            feature_->SetFieldNull(i);
        else
            feature_->SetField(i, value.c_str());
        return *this;
    }
    Row &integer(int i, std::optional<int> value) {
        if (value)
            feature_->SetField(i, *value);
        else
            feature_->SetFieldNull(i);
        return *this;
    }
    Row &real(int i, std::optional<double> value) {
        if (value)
            feature_->SetField(i, *value);
        else
            feature_->SetFieldNull(i);
        return *this;
    }
    Row &geometry(std::unique_ptr<OGRGeometry> g) {
        feature_->SetGeometryDirectly(g.release());
        return *this;
    }
    void write() {
        if (layer_.CreateFeature(feature_.get()) != OGRERR_NONE)
            gdal_failure(fmt::format("writing a feature to {}", layer_.GetName()));
    }

private:
    OGRLayer &layer_;
    OGRFeatureUniquePtr feature_;
};

void write_villages(const County &county, const fs::path &dir, const Projector &projector) {
    const fs::path path = dir / "villages.shp";
    // Written as is, but checked against the area of use like every other file.
    const Project checked = [&](XY p) {
        projector.to_wgs84(p);
        return identity(p);
    };
    {
        GDALDatasetUniquePtr ds = create_dataset("ESRI Shapefile", path);
        CPLStringList options;
        options.SetNameValue("ENCODING", "CP936");
        options.SetNameValue("DBF_DATE_LAST_UPDATE", kFixedDate);
        OGRLayer *layer = create_layer(*ds, "villages", projector.working(), wkbPolygon,
                                       {{"代码", OFTString, 12},
                                        {"村名", OFTString, 40},
                                        {"乡镇", OFTString, 40},
                                        {"人口", OFTInteger, 9},
                                        {"户数", OFTInteger, 9},
                                        {"村庄分类", OFTString, 20},
                                        {"历史村落", OFTString, 4},
                                        {"和美年份", OFTInteger, 4},
                                        {"村委X", OFTReal, 12, 2},
                                        {"村委Y", OFTReal, 13, 2},
                                        {"未来乡村", OFTInteger, 4},
                                        {"电气化村", OFTInteger, 4},
                                        {"景区村", OFTString, 10},
                                        {"电商专业村", OFTString, 4},
                                        {"集体收入", OFTReal, 10, 1},
                                        {"经营收入", OFTReal, 10, 1}},
                                       options.List());
        for (const Village &v : county.villages) {
            Row row(*layer);
            row.text(0, v.code)
                .text(1, v.name)
                .text(2, county.townships[static_cast<std::size_t>(v.township)].name)
                .integer(3, v.population)
                .integer(4, v.households)
                .text(5, v.planned_class)
                .text(6, v.heritage ? "是" : "否")
                .integer(7, v.hemei_year)
                .real(8, v.seat_recorded ? std::optional(v.hub.x_m) : std::nullopt)
                .real(9, v.seat_recorded ? std::optional(v.hub.y_m) : std::nullopt)
                .integer(10, v.future_village_year)
                .integer(11, v.electrified_year)
                .text(12, v.scenic_level)
                .text(13, v.ecommerce)
                .real(14, v.collective_income_10k)
                .real(15, v.operating_income_10k)
                .geometry(make_area(v.area, checked))
                .write();
        }
    }
    // The common case planners receive: GBK bytes, no .cpg and no code page in the DBF
    // header (language driver id, byte 29), so a reader has to be told the encoding.
    // GDAL 3.6 writes a .cpg "CP936" and leaves byte 29 at 0; other versions may set it.
    fs::remove(fs::path(path).replace_extension(".cpg"));
    std::fstream dbf(fs::path(path).replace_extension(".dbf"),
                     std::ios::in | std::ios::out | std::ios::binary);
    if (!dbf)
        throw std::runtime_error("cannot reopen villages.dbf");
    dbf.seekp(29);
    dbf.put('\0');
    if (!dbf)
        throw std::runtime_error("cannot patch villages.dbf");
}

void write_settlements(const County &county, const fs::path &dir, const Projector &projector) {
    GDALDatasetUniquePtr ds = create_dataset("ESRI Shapefile", dir / "settlements.shp");
    CPLStringList options;
    options.SetNameValue("ENCODING", "UTF-8");
    options.SetNameValue("DBF_DATE_LAST_UPDATE", kFixedDate);
    OGRLayer *layer = create_layer(
        *ds, "settlements", projector.working(), wkbPoint,
        {{"id", OFTString, 14}, {"name", OFTString, 60}, {"population", OFTInteger, 9}},
        options.List());
    for (const Settlement &s : county.settlements)
        Row(*layer)
            .text(0, s.id)
            .text(1, s.name)
            .integer(2, s.population)
            .geometry(make_point(s.position, identity))
            .write();
}

void write_roads(const County &county, const fs::path &dir, const Projector &projector) {
    GDALDatasetUniquePtr ds = create_dataset("GPKG", dir / "roads.gpkg");
    OGRLayer *layer = create_layer(*ds, "roads", projector.cgcs2000(), wkbLineString,
                                   {{"id", OFTString},
                                    {"grade", OFTString},
                                    {"surface", OFTString},
                                    {"built_year", OFTInteger},
                                    {"maintained_year", OFTInteger},
                                    {"status", OFTString}});
    const Project project = [&](XY p) { return projector.to_cgcs2000(p); };
    if (ds->StartTransaction() != OGRERR_NONE)
        gdal_failure("starting a GeoPackage transaction");
    for (const Road &r : county.roads)
        Row(*layer)
            .text(0, r.id)
            .text(1, road_grade_label(r.grade))
            .text(2, r.surface)
            .integer(3, r.built_year)
            .integer(4, r.maintained_year)
            .text(5, r.status)
            .geometry(make_line(r.line, project))
            .write();
    if (ds->CommitTransaction() != OGRERR_NONE)
        gdal_failure("committing roads.gpkg");
}

std::string year_text(std::optional<int> year) {
    return year ? std::to_string(*year) : "";
}

void write_sewage_plants(const County &county, const fs::path &dir, const Projector &projector) {
    const fs::path path = dir / "sewage_plants.csv";
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "编号,名称,规模,状态,出水达标,建成年份,改造年份,lon,lat\n";
    for (const SewagePlant &p : county.sewage_plants) {
        const LonLat wgs = projector.to_wgs84(p.position);
        const gcj02::LonLat gcj = gcj02::wgs84_to_gcj02({wgs.lon, wgs.lat});
        out << fmt::format("{},{},{},{},{},{},{},{:.6f},{:.6f}\n", p.id, p.name, p.capacity_m3d,
                           p.status, p.effluent_ok, year_text(p.built_year),
                           year_text(p.renovated_year), gcj.lon, gcj.lat);
    }
    if (!out.flush())
        throw std::runtime_error(fmt::format("cannot write {}", path.string()));
}

void write_base_stations(const County &county, const fs::path &dir, const Projector &projector) {
    GDALDatasetUniquePtr ds = create_dataset("XLSX", dir / "base_stations_5g.xlsx");
    OGRLayer *layer = create_layer(*ds, "基站清单", nullptr, wkbNone,
                                   {{"id", OFTString},
                                    {"band", OFTInteger},
                                    {"operator", OFTString},
                                    {"status", OFTString},
                                    {"lon", OFTReal},
                                    {"lat", OFTReal}});
    for (const BaseStation &b : county.base_stations) {
        const LonLat q = projector.to_wgs84(b.position);
        Row(*layer)
            .text(0, b.id)
            .integer(1, b.band_mhz)
            .text(2, b.operator_name)
            .text(3, b.status)
            .real(4, round6(q.lon))
            .real(5, round6(q.lat))
            .write();
    }
}

/// A GeoJSON file per RFC 7946 (WGS84 longitude/latitude, 7 decimals ≈ 1 cm).
GDALDatasetUniquePtr create_geojson(const fs::path &path) {
    return create_dataset("GeoJSON", path);
}

OGRLayer *create_geojson_layer(GDALDataset &ds, const char *name, const Projector &projector,
                               OGRwkbGeometryType type, const std::vector<FieldSpec> &fields) {
    CPLStringList options;
    options.SetNameValue("RFC7946", "YES");
    return create_layer(ds, name, projector.wgs84(), type, fields, options.List());
}

void write_cultural_halls(const County &county, const fs::path &dir, const Projector &projector) {
    GDALDatasetUniquePtr ds = create_geojson(dir / "cultural_halls.geojson");
    OGRLayer *layer = create_geojson_layer(
        *ds, "cultural_halls", projector, wkbUnknown,
        {{"id", OFTString}, {"name", OFTString}, {"stars", OFTInteger}, {"status", OFTString}});
    const Project project = [&](XY p) { return projector.to_wgs84(p); };
    for (const CulturalHall &h : county.cultural_halls)
        Row(*layer)
            .text(0, h.id)
            .text(1, h.name)
            .integer(2, h.stars)
            .text(3, h.status)
            .geometry(h.footprint ? make_polygon(*h.footprint, project)
                                  : make_point(h.position, project))
            .write();
}

void write_clinics(const County &county, const fs::path &dir, const Projector &projector) {
    GDALDatasetUniquePtr ds = create_geojson(dir / "clinics.geojson");
    OGRLayer *layer = create_geojson_layer(*ds, "clinics", projector, wkbPoint,
                                           {{"id", OFTString},
                                            {"name", OFTString},
                                            {"beds", OFTInteger},
                                            {"status", OFTString},
                                            {"standardized", OFTString}});
    const Project project = [&](XY p) { return projector.to_wgs84(p); };
    for (const Clinic &c : county.clinics)
        Row(*layer)
            .text(0, c.id)
            .text(1, c.name)
            .integer(2, c.beds)
            .text(3, c.status)
            .text(4, c.standardized)
            .geometry(make_point(c.position, project))
            .write();
}

/// One of the plan's further facility layers: id, name, (facility,) built_year, status.
void write_facilities(const std::vector<Facility> &facilities, const fs::path &path,
                      const char *layer_name, bool with_facility, const Projector &projector) {
    GDALDatasetUniquePtr ds = create_geojson(path);
    std::vector<FieldSpec> fields{{"id", OFTString}, {"name", OFTString}};
    if (with_facility)
        fields.push_back({"facility", OFTString});
    fields.push_back({"built_year", OFTInteger});
    fields.push_back({"status", OFTString});
    OGRLayer *layer = create_geojson_layer(*ds, layer_name, projector, wkbPoint, fields);
    const Project project = [&](XY p) { return projector.to_wgs84(p); };
    for (const Facility &f : facilities) {
        Row row(*layer);
        const int at = with_facility ? 1 : 0;
        row.text(0, f.id).text(1, f.name);
        if (with_facility)
            row.text(2, f.facility);
        row.integer(2 + at, f.built_year).text(3 + at, f.status);
        row.geometry(make_point(f.position, project)).write();
    }
}

void write_areas(const std::vector<Area> &areas, const fs::path &path, const char *layer_name,
                 bool hazard, const Projector &projector) {
    GDALDatasetUniquePtr ds = create_geojson(path);
    std::vector<FieldSpec> fields{{"id", OFTString}, {"name", OFTString}};
    if (hazard)
        fields.push_back({"hazard_type", OFTString});
    OGRLayer *layer = create_geojson_layer(*ds, layer_name, projector, wkbUnknown, fields);
    const Project project = [&](XY p) { return projector.to_wgs84(p); };
    for (const Area &a : areas) {
        Row row(*layer);
        row.text(0, a.id).text(1, a.name).geometry(make_area(a.area, project));
        if (hazard)
            row.text(2, a.hazard_type);
        row.write();
    }
}

void write_courier_stations(const County &county, const fs::path &dir, const Projector &projector) {
    // The plain KML driver: LIBKML takes minutes for the province set. "Name" becomes the
    // placemark's <name>, the other fields its ExtendedData.
    GDALDatasetUniquePtr ds = create_dataset("KML", dir / "courier_stations.kml");
    OGRLayer *layer = create_layer(*ds, "courier_stations", projector.wgs84(), wkbPoint,
                                   {{"Name", OFTString},
                                    {"id", OFTString},
                                    {"level", OFTString},
                                    {"operator", OFTString},
                                    {"status", OFTString}});
    // The driver adds its own Name and Description fields first: look the indices up.
    const OGRFeatureDefn *defn = layer->GetLayerDefn();
    const int name = defn->GetFieldIndex("Name"), id = defn->GetFieldIndex("id");
    const int level = defn->GetFieldIndex("level"), op = defn->GetFieldIndex("operator");
    const int status = defn->GetFieldIndex("status");
    const Project project = [&](XY p) { return projector.to_wgs84(p); };
    for (const CourierStation &c : county.courier_stations)
        Row(*layer)
            .text(name, c.name)
            .text(id, c.id)
            .text(level, c.level)
            .text(op, c.operator_name)
            .text(status, c.status)
            .geometry(make_point(c.position, project))
            .write();
}

void write_water_tests(const County &county, const fs::path &dir) {
    const fs::path path = dir / "water_tests.csv";
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "设施编号,采样日期,检测结果,检测单位\n";
    for (const WaterTest &t : county.water_tests)
        out << fmt::format("{},{},{},{}\n", t.plant_id, t.date, t.result, t.agency);
    if (!out.flush())
        throw std::runtime_error(fmt::format("cannot write {}", path.string()));
}

void write_text(const fs::path &path, const std::string &text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush())
        throw std::runtime_error(fmt::format("cannot write {}", path.string()));
}

constexpr std::string_view kManifest =
    R"toml(# Qiancun sample county: fictional data made by make_sample_maps (see README.md).
# Paths are relative to this file.

[registry]
crs = "EPSG:4549"

[asset_types.clinic]
label = "村卫生室"
geometry = "point"
default_radius_m = 1500
radius_basis = "planning assumption: a village clinic within a 20-minute walk"
attributes = [ { name = "name", type = "text" }, { name = "beds", type = "integer" },
               { name = "standardized", type = "boolean", label = "规范化村卫生室" } ]

# The plan's village-level numbers (sample_maps/indicators.toml counts them), as the village
# file's extra columns: village attributes by configuration.
[village_attributes]
future_village_year = { type = "year", label = "省级未来乡村创建年份" }
electrified_year = { type = "year", label = "新时代乡村电气化村建成年份" }
scenic_level = { type = "choice", label = "景区村庄等级", choices = ["a", "aaa", "gold_aaa"], aliases = { "A级" = "a", "3A级" = "aaa", "金3A" = "gold_aaa" } }
ecommerce_village = { type = "boolean", label = "电子商务专业村" }
collective_income_10k = { type = "real", label = "村集体经济总收入(万元)", min = 0 }
operating_income_10k = { type = "real", label = "村集体年经营性收入(万元)", min = 0 }

# The plan's further facilities (sample_maps/indicators.toml counts them).
[asset_types.village_museum]
label = "乡村博物馆"
geometry = "point"
default_radius_m = 5000
radius_basis = "planning assumption: a museum visited from the villages around it"
attributes = [ { name = "name", type = "text" }, { name = "built_year", type = "year" } ]

[asset_types.sports_ground]
label = "基础体育场地设施"
geometry = "point"
default_radius_m = 1000
radius_basis = "planning assumption: a 15-minute walk to a fitness ground"
attributes = [ { name = "name", type = "text" }, { name = "built_year", type = "year" } ]

[asset_types.workshop]
label = "共富工坊"
geometry = "point"
default_radius_m = 3000
radius_basis = "planning assumption: workers come from about 3 km"
attributes = [ { name = "name", type = "text" }, { name = "built_year", type = "year" } ]

[asset_types.smart_life_hall]
label = "乡村数智生活馆"
geometry = "point"
default_radius_m = 5000
radius_basis = "planning assumption: one hall for the villages around a township seat"
attributes = [ { name = "name", type = "text" }, { name = "built_year", type = "year" } ]

[asset_types.agri_facility]
label = "农事服务中心、未来农场和数字农业工厂"
geometry = "point"
default_radius_m = 5000
radius_basis = "planning assumption: farm services within 5 km"
attributes = [ { name = "name", type = "text" },
               { name = "facility", type = "choice", label = "类型", choices = ["farm_service_centre", "future_farm", "digital_farm_factory"], aliases = { "省级现代化农事服务中心" = "farm_service_centre", "未来农场" = "future_farm", "数字农业工厂" = "digital_farm_factory" } },
               { name = "built_year", type = "year" } ]

# The water bureau's effluent tests: sewage_effluent_ok reads each plant's latest in the period.
[event_types.water_test]
label = "出水水质检测"
asset_kind = "sewage_plant"

[[source]]
name = "village_boundaries"
kind = "village"
path = "villages.shp"
encoding = "GBK"
fields = { code = "代码", name = "村名", township = "乡镇", population = "人口", households = "户数", class = "村庄分类", heritage = "历史村落", hemei_year = "和美年份", seat_x = "村委X", seat_y = "村委Y", future_village_year = "未来乡村", electrified_year = "电气化村", scenic_level = "景区村", ecommerce_village = "电商专业村", collective_income_10k = "集体收入", operating_income_10k = "经营收入" }

[[source]]
name = "natural_villages"
kind = "settlement"
path = "settlements.shp"
fields = { id = "id", name = "name", population = "population" }

[[source]]
name = "urban_area"
kind = "urban"
path = "urban.geojson"
fields = { id = "id", name = "name" }

[[source]]
name = "hazard_zones"
kind = "hazard"
path = "hazard_zones.geojson"
fields = { id = "id", name = "name", hazard_type = "hazard_type" }

[[source]]
name = "water_bureau"
kind = "sewage_plant"
path = "sewage_plants.csv"
src_crs = "GCJ02"
x = "lon"
y = "lat"
fields = { id = "编号", name = "名称", capacity_m3d = "规模", status = "状态", effluent_ok = "出水达标", built_year = "建成年份", renovated_year = "改造年份" }

[[source]]
name = "water_tests"
kind = "water_test"
path = "water_tests.csv"
fields = { asset_id = "设施编号", date = "采样日期", result = "检测结果", agency = "检测单位" }

[[source]]
name = "transport_bureau"
kind = "rural_road"
path = "roads.gpkg"
layer = "roads"
fields = { id = "id", grade = "grade", surface = "surface", built_year = "built_year", maintained_year = "maintained_year", status = "status" }
defaults = { status = "运行" }

[[source]]
name = "telecom"
kind = "base_station_5g"
path = "base_stations_5g.xlsx"
layer = "基站清单"
src_crs = "EPSG:4326"
x = "lon"
y = "lat"
fields = { id = "id", band = "band", operator = "operator", status = "status" }

[[source]]
name = "culture_bureau"
kind = "cultural_hall"
path = "cultural_halls.geojson"
fields = { id = "id", name = "name", stars = "stars", status = "status" }

[[source]]
name = "postal_bureau"
kind = "courier_station"
path = "courier_stations.kml"
fields = { id = "id", name = "Name", level = "level", operator = "operator", status = "status" }

[[source]]
name = "health_bureau"
kind = "clinic"
path = "clinics.geojson"
fields = { id = "id", name = "name", beds = "beds", status = "status", standardized = "standardized" }

[[source]]
name = "culture_museums"
kind = "village_museum"
path = "village_museums.geojson"
fields = { id = "id", name = "name", built_year = "built_year", status = "status" }

[[source]]
name = "sports_bureau"
kind = "sports_ground"
path = "sports_grounds.geojson"
fields = { id = "id", name = "name", built_year = "built_year", status = "status" }

[[source]]
name = "rural_office_workshops"
kind = "workshop"
path = "workshops.geojson"
fields = { id = "id", name = "name", built_year = "built_year", status = "status" }

[[source]]
name = "digital_office"
kind = "smart_life_hall"
path = "smart_life_halls.geojson"
fields = { id = "id", name = "name", built_year = "built_year", status = "status" }

[[source]]
name = "agriculture_bureau"
kind = "agri_facility"
path = "agri_facilities.geojson"
fields = { id = "id", name = "name", facility = "facility", built_year = "built_year", status = "status" }
)toml";

std::string counts_json(const County &county) {
    std::string out = "{\n";
    const auto counts = feature_counts(county);
    for (std::size_t i = 0; i < counts.size(); ++i)
        out += fmt::format("  \"{}\": {}{}\n", counts[i].first, counts[i].second,
                           i + 1 < counts.size() ? "," : "");
    return out + "}\n";
}

std::string readme(const County &county, const WriteOptions &options) {
    std::string table;
    for (const auto &[kind, n] : feature_counts(county))
        table += fmt::format("| {} | {} |\n", kind, n);
    return fmt::format(R"md(# Sample county

A fictional county around Shangyu (120.87°E, 30.02°N) with {villages} administrative
villages in {townships} townships, in the formats and with the quirks that planners really
receive. Every name, code and number is invented. Made with

    {command}

(source in `tools/make_sample_maps/`, CMake target `make_sample_maps`). The generator is
deterministic: the same seed writes the same bytes. `county.toml` is the import manifest for
all files; `counts.json` gives the features per kind:

| kind | features |
|---|---|
{table}
## Files

- `villages.shp` (.shx .dbf .prj) — villages, EPSG:4549 (CGCS2000 3° GK CM 120E), Polygon /
  MultiPolygon. Attributes are **GBK** with Chinese field names (代码 村名 乡镇 人口 户数
  村庄分类 历史村落 和美年份 村委X 村委Y, and the plan's village numbers 未来乡村 电气化村 (years),
  景区村 (A级/3A级/金3A), 电商专业村 (是/否), 集体收入 经营收入 (万元) — the manifest's
  `[village_attributes]`), with **no .cpg and language-driver byte 0**: plain
  `ogrinfo -al villages.shp` shows mojibake, `ogrinfo -oo ENCODING=CP936 -al villages.shp`
  reads correctly. 村委X/村委Y are the village-committee seat in EPSG:4549 metres, empty for
  about 10 % of villages. 村庄分类 is often empty.
- `settlements.shp` — natural villages (自然村), points, EPSG:4549, UTF-8 with a `.cpg`;
  id, name, population. Each lies inside its village, at least 30 m from the border.
- `roads.gpkg`, layer `roads` — rural roads in EPSG:4490 (geographic CGCS2000), one
  LineString per row: id, grade (县道/乡道/村道), surface (硬化/砂石/土路), built_year,
  maintained_year, status (empty for a few rows: the manifest defaults it to 运行). Roads
  meet only at shared end points and form one connected network.
- `sewage_plants.csv` — UTF-8 CSV with Chinese headers; lon/lat are **GCJ-02** (as copied
  from an online map), 6 decimals. Some townships have no plant at all.
- `water_tests.csv` — the water bureau's effluent tests of the serving plants
  (`[event_types.water_test]` in the manifest, loaded after the plants), quarterly from
  December 2025 to September 2026: 设施编号 (the plant's 编号), 采样日期, 检测结果 (达标/不达标),
  检测单位. About one serving plant in eight has no test.
- `base_stations_5g.xlsx`, sheet `基站清单` — 5G base stations, lon/lat in WGS84.
- `cultural_halls.geojson` — RFC 7946 (WGS84); points, and about a third as ~20×30 m
  building footprints (Polygon).
- `courier_stations.kml` — placemarks with `<name>` (GDAL reads it as field `Name`) and
  extended data id, level, operator, status; WGS84.
- `clinics.geojson` — village clinics (村卫生室), the asset type configured in the manifest
  (`[asset_types.clinic]`): id, name, beds, status, standardized (是/否/empty: meets the
  village clinic standard).
- `village_museums.geojson` (乡村博物馆), `sports_grounds.geojson` (基础体育场地设施),
  `workshops.geojson` (共富工坊), `smart_life_halls.geojson` (乡村数智生活馆),
  `agri_facilities.geojson` (facility 省级现代化农事服务中心 / 未来农场 / 数字农业工厂) — the
  plan's further facilities, kinds configured in the manifest: id, name, built_year (empty
  while planned or under construction), status.
  `indicators.toml` counts them (`qiancun indicators REG --indicators indicators.toml`).
- `urban.geojson` — the county town's built-up area; `hazard_zones.geojson` — flood and
  landslide zones (hazard_type `flood` / `landslide`).

Village codes are "330604" + 3-digit township (101…) + 3-digit village (201…).
`--villages 20000` makes a province-size set for benchmarks (not committed).
)md",
                       fmt::arg("villages", county.villages.size()),
                       fmt::arg("townships", county.townships.size()),
                       fmt::arg("command", options.command), fmt::arg("table", table));
}

} // namespace

void write_county(const County &county, const WriteOptions &options) {
    const fs::path &dir = options.out_dir;
    fs::create_directories(dir);
    // GeoPackage writes the current time into gpkg_contents unless told otherwise.
    CPLSetConfigOption("OGR_CURRENT_DATE", fmt::format("{}T00:00:00.000Z", kFixedDate).c_str());
    const Projector projector;
    write_villages(county, dir, projector);
    write_settlements(county, dir, projector);
    write_roads(county, dir, projector);
    write_sewage_plants(county, dir, projector);
    write_water_tests(county, dir);
    write_base_stations(county, dir, projector);
    write_cultural_halls(county, dir, projector);
    write_courier_stations(county, dir, projector);
    write_clinics(county, dir, projector);
    write_facilities(county.village_museums, dir / "village_museums.geojson", "village_museums",
                     false, projector);
    write_facilities(county.sports_grounds, dir / "sports_grounds.geojson", "sports_grounds", false,
                     projector);
    write_facilities(county.workshops, dir / "workshops.geojson", "workshops", false, projector);
    write_facilities(county.smart_life_halls, dir / "smart_life_halls.geojson", "smart_life_halls",
                     false, projector);
    write_facilities(county.agri_facilities, dir / "agri_facilities.geojson", "agri_facilities",
                     true, projector);
    write_areas(county.urban_areas, dir / "urban.geojson", "urban", false, projector);
    write_areas(county.hazard_zones, dir / "hazard_zones.geojson", "hazard_zones", true, projector);
    write_text(dir / "county.toml", std::string(kManifest));
    write_text(dir / "counts.json", counts_json(county));
    write_text(dir / "README.md", readme(county, options));
}

} // namespace qiancun::sample
