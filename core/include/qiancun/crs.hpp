#pragma once

#include <string>
#include <string_view>

/// Coordinate reference systems of the registry. The working CRS is a projected CRS in
/// metres identified by its EPSG code; by default the CGCS2000 3-degree Gauss–Krüger zone
/// (central-meridian form, EPSG:4534–4554) of the data.

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

} // namespace qiancun::crs
