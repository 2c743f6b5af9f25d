#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

/// The fictional county behind sample_maps/: pure geometry and attributes, no file formats.
/// Every coordinate is in the working CRS EPSG:4549 (CGCS2000 3-degree Gauss–Krüger CM 120E),
/// metres, easting first, snapped to a 1 cm grid.
namespace qiancun::sample {

/// A position in EPSG:4549, metres; x is the easting, y the northing.
struct XY {
    double x_m = 0.0;
    double y_m = 0.0;
    friend bool operator==(const XY &, const XY &) = default;
};

/// A closed ring (first point repeated last), EPSG:4549 metres.
using Ring = std::vector<XY>;
/// A polyline, EPSG:4549 metres.
using LineString = std::vector<XY>;

struct Polygon {
    Ring outer;
    std::vector<Ring> holes;
};
/// One or more polygons; a village clipped by a concave county border may have several.
using MultiPolygon = std::vector<Polygon>;

/// What to generate; the defaults give the committed sample county.
struct GenerationConfig {
    std::uint64_t seed = 20231;
    int villages = 300;
    double area_per_village_km2 = 4.0; ///< mean village area
};

struct Township {
    std::string code;      ///< 9 digits: county code + 3-digit township number (101…)
    std::string name;      ///< Chinese, ending in 街道, 镇 or 乡
    int seat_village = -1; ///< index of the village hosting the township government
};

struct Village {
    std::string code;          ///< 12 digits: township code + 3-digit number from 201
    std::string name;          ///< Chinese, ending in 村
    int township = -1;         ///< index into County::townships
    int population = 0;        ///< 300–3000
    int households = 0;        ///< ≈ population / 2.8
    std::string planned_class; ///< empty or one of the five Chinese class labels
    bool heritage = false;
    std::optional<int> hemei_year;
    XY hub;                    ///< village committee; always used by the road network
    bool seat_recorded = true; ///< false: the seat columns are left empty in the file
    MultiPolygon area;
    // The plan's village-level numbers (configured village attributes of the manifest).
    std::optional<int> future_village_year; ///< accepted as a provincial 未来乡村
    std::optional<int> electrified_year;    ///< accepted as a 新时代乡村电气化村
    std::string scenic_level; ///< A级 / 3A级 / 金3A / empty: A-level scenic village
    std::string ecommerce;    ///< 是 / 否 / empty: 电子商务专业村
    std::optional<double> collective_income_10k; ///< 村集体经济总收入, 10,000 yuan
    std::optional<double> operating_income_10k;  ///< 村集体年经营性收入, 10,000 yuan
};

struct Settlement {
    std::string id; ///< village code + 2 digits
    std::string name;
    int population = 0;
    int village = -1;
    XY position; ///< at least 30 m inside the village border
};

enum class RoadGrade { county, township, village };

/// One road feature: a single LineString that meets others only at its end points.
struct Road {
    std::string id;
    RoadGrade grade = RoadGrade::village;
    std::string surface; ///< 硬化 / 砂石 / 土路
    std::optional<int> built_year;
    std::optional<int> maintained_year;
    std::string status; ///< 运行 / 改造中 / 在建, or empty (left to the manifest default)
    LineString line;
};

struct SewagePlant {
    std::string id, name;
    int capacity_m3d = 0;
    std::string status;
    std::string effluent_ok; ///< 是 / 否 / empty
    std::optional<int> built_year, renovated_year;
    XY position;
};

/// One effluent test of a sewage plant by the water bureau (a dated event, SPEC §5.2).
struct WaterTest {
    std::string plant_id;
    std::string date;   ///< YYYY-MM-DD
    std::string result; ///< 达标 / 不达标
    std::string agency;
};

struct BaseStation {
    std::string id;
    int band_mhz = 0;
    std::string operator_name, status;
    XY position;
};

struct CulturalHall {
    std::string id, name;
    int stars = 1;
    std::string status;
    XY position;
    std::optional<Polygon> footprint; ///< about a third are mapped as a ~20×30 m building
};

struct CourierStation {
    std::string id, name, level, operator_name, status;
    XY position;
};

struct Clinic {
    std::string id, name;
    int beds = 0;
    std::string status;
    std::string standardized; ///< 是 / 否 / empty: meets the village clinic standard
    XY position;
};

/// A facility of one of the plan's further kinds (museum, sports ground, workshop …).
struct Facility {
    std::string id, name;
    std::string facility; ///< agri_facility only: 省级现代化农事服务中心 / 未来农场 / 数字农业工厂
    std::optional<int> built_year; ///< empty while planned or under construction
    std::string status;
    XY position;
};

struct Area {
    std::string id, name;
    std::string hazard_type; ///< "flood" or "landslide"; empty for the urban area
    MultiPolygon area;
};

struct County {
    Polygon boundary;
    std::vector<Township> townships;
    std::vector<Village> villages; ///< sorted by code
    std::vector<Settlement> settlements;
    std::vector<Area> urban_areas;
    std::vector<Area> hazard_zones;
    std::vector<Road> roads;
    std::vector<SewagePlant> sewage_plants;
    std::vector<BaseStation> base_stations;
    std::vector<CulturalHall> cultural_halls;
    std::vector<CourierStation> courier_stations;
    std::vector<Clinic> clinics;
    // The plan's further facilities (configured kinds of the manifest).
    std::vector<Facility> village_museums;  ///< 乡村博物馆
    std::vector<Facility> sports_grounds;   ///< 基础体育场地设施
    std::vector<Facility> workshops;        ///< 共富工坊
    std::vector<Facility> smart_life_halls; ///< 乡村数智生活馆
    std::vector<Facility> agri_facilities; ///< 农事服务中心, 未来农场, 数字农业工厂
    std::vector<WaterTest> water_tests;    ///< by plant, then date
};

/// Builds the county; the same config gives the same county, bit for bit.
/// Throws std::runtime_error on a GEOS failure or when the road network is not connected.
County generate_county(const GenerationConfig &config);

/// Human-readable label of a road grade (县道 / 乡道 / 村道).
const char *road_grade_label(RoadGrade grade) noexcept;

} // namespace qiancun::sample
