#pragma once

/// The Chinese web-map coordinate offsets GCJ-02 ("Mars coordinates", used by AMap/Tencent)
/// and BD-09 (Baidu). PROJ does not implement them: the forward formulas are the published
/// obfuscation, the inverses are solved iteratively to well under a millimetre.
/// All coordinates are geographic degrees, longitude first.

#include <string_view>

namespace qiancun::gcj02 {

struct LonLat {
    double lon = 0.0;
    double lat = 0.0;
};

/// True when (lon, lat) lies in the rough rectangle where the offset is applied
/// (72.004–137.8347 E, 0.8293–55.8271 N); outside it GCJ-02 equals WGS84.
bool in_china(LonLat p) noexcept;

/// WGS84 → GCJ-02 (the forward obfuscation; identity outside China).
LonLat wgs84_to_gcj02(LonLat p) noexcept;

/// GCJ-02 → WGS84, exact inverse of `wgs84_to_gcj02` to < 1e-9 degrees (≈0.1 mm), solved
/// iteratively (the common one-step inverse is off by up to ~5 m); identity outside China.
LonLat gcj02_to_wgs84(LonLat p) noexcept;

/// GCJ-02 → BD-09 (Baidu's further offset, applied everywhere, as Baidu does).
LonLat gcj02_to_bd09(LonLat p) noexcept;

/// BD-09 → GCJ-02, exact inverse of `gcj02_to_bd09` to < 1e-9 degrees.
LonLat bd09_to_gcj02(LonLat p) noexcept;

/// WGS84 → BD-09.
LonLat wgs84_to_bd09(LonLat p) noexcept;

/// BD-09 → WGS84 (both inverses in turn).
LonLat bd09_to_wgs84(LonLat p) noexcept;

/// A web map's coordinate offset, as `--src-crs` and `--t-srs` name it.
enum class WebMap { none, gcj02, bd09 };

/// "GCJ02" / "GCJ-02" → gcj02, "BD09" / "BD-09" → bd09 (any case); anything else → none.
WebMap web_map_of(std::string_view name) noexcept;

/// "GCJ-02" or "BD-09" ("" for none), as messages write it.
const char *web_map_name(WebMap map) noexcept;

/// WGS84 lon/lat → the web map's, `count` points in place; a point whose `ok` entry is 0 is
/// left alone (`ok` may be null). None changes nothing.
void to_web_map(WebMap map, int count, double *lon, double *lat, const int *ok) noexcept;

/// The web map's lon/lat → WGS84, `count` points in place (the exact inverses above).
void from_web_map(WebMap map, int count, double *lon, double *lat) noexcept;

} // namespace qiancun::gcj02
