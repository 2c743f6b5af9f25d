#include "qiancun/gcj02.hpp"

#include <cctype>
#include <cmath>
#include <numbers>
#include <string>

// Definitions. GCJ-02 is the obfuscation prescribed for Chinese public maps (GB 20263); its
// forward formula is not published officially but is the one leaked and reproduced by every
// open implementation, e.g. googollee/eviltransform (transform.go `delta`, `WGStoGCJ`) and
// hujiulong/gcoord (src/crs/GCJ02.ts): a polynomial-plus-sine offset in "metres" on the
// Krasovsky 1940 ellipsoid (a = 6378245 m, e² = 0.00669342162296594323), converted to degrees
// at the point's latitude. BD-09 is Baidu's further rotation-and-scale of GCJ-02 with
// x_pi = π·3000/180, as in the same libraries (`gcj2bd`). Neither has a closed-form inverse;
// the usual one-step inverse g − (f(g) − g) is metres off (up to ~5 m over China, see
// gcj02_test.cpp), so both inverses here solve f(w) = g by fixed-point iteration
// w ← w − (f(w) − g). The offsets' Jacobians differ from the identity by ~1e-3, so each step
// gains about three digits.

namespace qiancun::gcj02 {

namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kKrasovskyA = 6378245.0;               ///< semi-major axis, metres
constexpr double kKrasovskyEe = 0.00669342162296594323; ///< first eccentricity squared
constexpr double kXPi = kPi * 3000.0 / 180.0;
/// Inverses stop when the forward image is this close to the target, degrees (≈1e-7 m).
constexpr double kInverseTolDeg = 1e-12;
/// Bound on fixed-point steps; in practice a handful are needed.
constexpr int kMaxIterations = 50;

double transform_lat(double x, double y) {
    double ret =
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * std::sqrt(std::abs(x));
    ret += (20.0 * std::sin(6.0 * x * kPi) + 20.0 * std::sin(2.0 * x * kPi)) * 2.0 / 3.0;
    ret += (20.0 * std::sin(y * kPi) + 40.0 * std::sin(y / 3.0 * kPi)) * 2.0 / 3.0;
    ret += (160.0 * std::sin(y / 12.0 * kPi) + 320.0 * std::sin(y * kPi / 30.0)) * 2.0 / 3.0;
    return ret;
}

double transform_lon(double x, double y) {
    double ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * std::sqrt(std::abs(x));
    ret += (20.0 * std::sin(6.0 * x * kPi) + 20.0 * std::sin(2.0 * x * kPi)) * 2.0 / 3.0;
    ret += (20.0 * std::sin(x * kPi) + 40.0 * std::sin(x / 3.0 * kPi)) * 2.0 / 3.0;
    ret += (150.0 * std::sin(x / 12.0 * kPi) + 300.0 * std::sin(x / 30.0 * kPi)) * 2.0 / 3.0;
    return ret;
}

/// The GCJ-02 forward map without the in-China test.
LonLat gcj02_offset(LonLat p) {
    const double x = p.lon - 105.0;
    const double y = p.lat - 35.0;
    const double rad_lat = p.lat / 180.0 * kPi;
    const double sin_lat = std::sin(rad_lat);
    const double magic = 1.0 - kKrasovskyEe * sin_lat * sin_lat;
    const double sqrt_magic = std::sqrt(magic);
    const double d_lat = (transform_lat(x, y) * 180.0) /
                         ((kKrasovskyA * (1.0 - kKrasovskyEe)) / (magic * sqrt_magic) * kPi);
    const double d_lon =
        (transform_lon(x, y) * 180.0) / (kKrasovskyA / sqrt_magic * std::cos(rad_lat) * kPi);
    return {p.lon + d_lon, p.lat + d_lat};
}

/// Solves forward(w) = target for w, starting at the target.
template <typename Forward> LonLat invert(Forward forward, LonLat target) {
    LonLat w = target;
    for (int i = 0; i < kMaxIterations; ++i) {
        const LonLat f = forward(w);
        const double d_lon = f.lon - target.lon;
        const double d_lat = f.lat - target.lat;
        if (!std::isfinite(d_lon) || !std::isfinite(d_lat))
            break;
        if (std::abs(d_lon) < kInverseTolDeg && std::abs(d_lat) < kInverseTolDeg)
            break;
        w.lon -= d_lon;
        w.lat -= d_lat;
    }
    return w;
}

} // namespace

bool in_china(LonLat p) noexcept {
    return p.lon >= 72.004 && p.lon <= 137.8347 && p.lat >= 0.8293 && p.lat <= 55.8271;
}

LonLat wgs84_to_gcj02(LonLat p) noexcept {
    return in_china(p) ? gcj02_offset(p) : p;
}

LonLat gcj02_to_wgs84(LonLat p) noexcept {
    // Decided on the GCJ-02 point, as every implementation does; within a few hundred metres
    // of the rectangle's edge, where the forward map jumps, a point may have no exact preimage.
    if (!in_china(p))
        return p;
    return invert(gcj02_offset, p);
}

LonLat gcj02_to_bd09(LonLat p) noexcept {
    const double z = std::sqrt(p.lon * p.lon + p.lat * p.lat) + 0.00002 * std::sin(p.lat * kXPi);
    const double theta = std::atan2(p.lat, p.lon) + 0.000003 * std::cos(p.lon * kXPi);
    return {z * std::cos(theta) + 0.0065, z * std::sin(theta) + 0.006};
}

LonLat bd09_to_gcj02(LonLat p) noexcept {
    return invert(gcj02_to_bd09, p);
}

LonLat wgs84_to_bd09(LonLat p) noexcept {
    return gcj02_to_bd09(wgs84_to_gcj02(p));
}

LonLat bd09_to_wgs84(LonLat p) noexcept {
    return gcj02_to_wgs84(bd09_to_gcj02(p));
}

WebMap web_map_of(std::string_view name) noexcept {
    std::string u;
    for (const char c : name)
        u += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (u == "GCJ02" || u == "GCJ-02")
        return WebMap::gcj02;
    if (u == "BD09" || u == "BD-09")
        return WebMap::bd09;
    return WebMap::none;
}

const char *web_map_name(WebMap map) noexcept {
    switch (map) {
    case WebMap::gcj02:
        return "GCJ-02";
    case WebMap::bd09:
        return "BD-09";
    case WebMap::none:
        break;
    }
    return "";
}

void to_web_map(WebMap map, int count, double *lon, double *lat, const int *ok) noexcept {
    if (map == WebMap::none)
        return;
    for (int i = 0; i < count; ++i) {
        if (ok && !ok[i])
            continue;
        const LonLat w = map == WebMap::bd09 ? wgs84_to_bd09({lon[i], lat[i]})
                                             : wgs84_to_gcj02({lon[i], lat[i]});
        lon[i] = w.lon;
        lat[i] = w.lat;
    }
}

void from_web_map(WebMap map, int count, double *lon, double *lat) noexcept {
    if (map == WebMap::none)
        return;
    for (int i = 0; i < count; ++i) {
        const LonLat w = map == WebMap::bd09 ? bd09_to_wgs84({lon[i], lat[i]})
                                             : gcj02_to_wgs84({lon[i], lat[i]});
        lon[i] = w.lon;
        lat[i] = w.lat;
    }
}

} // namespace qiancun::gcj02
