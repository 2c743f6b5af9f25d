#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

/// Coordinate reference systems of the registry. The working CRS is a projected CRS in
/// metres whose scale error is at most 0.1 % wherever the data lie (SPEC §8); by default the
/// CGCS2000 3-degree Gauss–Krüger zone (central-meridian form, EPSG:4534–4554) of the data,
/// or any CRS PROJ reads (an EPSG code, WKT, a PROJ string).

namespace qiancun::crs {

/// Geographic bounding box in degrees (CGCS2000 ≈ WGS84 at this scale).
struct AreaOfUse {
    double west_lon = 0.0;
    double south_lat = 0.0;
    double east_lon = 0.0;
    double north_lat = 0.0;
    std::string name;

    bool contains(double lon, double lat) const noexcept {
        return lon >= west_lon && lon <= east_lon && lat >= south_lat && lat <= north_lat;
    }
};

/// EPSG code of the CGCS2000 3-degree Gauss–Krüger zone whose central meridian is nearest
/// to `lon_deg` (e.g. 120.9 → 4549, CM 120°E). Throws UsageError outside 73.5–136.5°E.
int gauss_kruger_3deg_epsg(double lon_deg);

/// Parses "EPSG:4549" / "epsg:4549" / "4549"; throws UsageError otherwise.
int parse_epsg(std::string_view text);

/// Area of use of an EPSG CRS, as PROJ's database records it. Throws Error if unknown.
AreaOfUse area_of_use(int epsg);

/// Human-readable name of an EPSG CRS from PROJ's database ("CGCS2000 / 3-degree Gauss-Kruger CM
/// 120E").
std::string name(int epsg);

/// WKT (WKT1_ESRI when `esri` is set, for .prj files; else WKT2:2019) of an EPSG CRS.
std::string wkt(int epsg, bool esri = false);

/// Largest scale error a working CRS may have where the data lie: 0.1 %, the metric tolerance.
inline constexpr double kMaxScaleError = 1e-3;

/// A CRS as PROJ reads it.
struct Definition {
    std::string wkt;         ///< WKT2:2019, the stored definition
    std::optional<int> epsg; ///< the EPSG code, when PROJ identifies the CRS as one
    std::string name;        ///< PROJ's name ("unknown" for a bare PROJ string)

    /// "EPSG:4549" or "custom".
    std::string label() const;
    /// "EPSG:4549 CGCS2000 / 3-degree Gauss-Kruger CM 120E", or "custom CRS <proj string>".
    std::string describe() const;
};

/// Reads any CRS PROJ reads: "EPSG:4549", "4549", WKT (1 or 2), a PROJ string
/// ("+proj=tmerc +lon_0=120.5 …", with or without +type=crs), a PROJJSON text. An EPSG code is
/// kept when PROJ identifies the CRS as one with full confidence. Throws UsageError naming
/// the text when PROJ cannot read it or it is not a CRS.
Definition parse(std::string_view text);

/// The CRS of an EPSG code. Throws Error if PROJ does not know it.
Definition from_epsg(int epsg);

/// True when both define the same CRS (PROJ's equivalence, ignoring names).
bool same(const Definition &a, const Definition &b);

/// The compact PROJ string of the CRS's map projection, or "" when PROJ cannot write one.
std::string proj_string(const Definition &crs);

/// WKT1 of the CRS (`esri`: WKT1_ESRI, for .prj files; else WKT1_GDAL, SpatiaLite's srtext);
/// WKT2:2019 when it cannot be written as WKT1.
std::string wkt1(const Definition &crs, bool esri);

/// Area of use of the CRS, when its definition records one.
std::optional<AreaOfUse> area_of_use(const Definition &crs);

/// Checks that `crs` can be a working CRS (SPEC §8): projected, in metres, and with a scale
/// error of at most kMaxScaleError somewhere in China, at the centre of its area of use (or,
/// without one, at the best of a 1° grid over 73–136°E, 3–54°N). Throws UsageError saying
/// why and naming the CGCS2000 3° zone to use: the zone of `data_lon` when given (the mean
/// longitude of the data about to be imported), else the rule with an example.
void check_working(const Definition &crs, std::optional<double> data_lon = std::nullopt);

/// Scale error of a CRS at geographic positions: max(a − 1, 1 − b) for the largest and
/// smallest scale a, b of Tissot's indicatrix (PROJ's proj_factors), i.e. the largest
/// relative error of a length in any direction. One PROJ operation per gauge; not shared
/// between threads.
class ScaleGauge {
public:
    /// Throws UsageError when PROJ cannot evaluate the projection of `crs`.
    explicit ScaleGauge(const Definition &crs);
    ScaleGauge(const ScaleGauge &) = delete;
    ScaleGauge &operator=(const ScaleGauge &) = delete;
    ScaleGauge(ScaleGauge &&) noexcept;
    ScaleGauge &operator=(ScaleGauge &&) noexcept;
    ~ScaleGauge();

    /// Scale error at (lon, lat) in degrees (CGCS2000 ≈ WGS84); +infinity where the
    /// projection is undefined.
    double at(double lon_deg, double lat_deg) const;
    /// Inverse projection: working-CRS (x, y) in metres to (lon, lat) degrees; nullopt where
    /// undefined.
    std::optional<std::pair<double, double>> to_lonlat(double x, double y) const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace qiancun::crs
