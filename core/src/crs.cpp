#include "qiancun/crs.hpp"

#include "qiancun/error.hpp"
#include "qiancun/log.hpp"

#include <proj.h>

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <new>
#include <string>

#include "qiancun/i18n.hpp"

namespace qiancun::crs {

namespace {

/// CGCS2000 3-degree Gauss–Krüger CM zones: EPSG:4534 is CM 75°E, each next code 3° east.
constexpr int kFirstGkEpsg = 4534;
constexpr int kFirstGkCmDeg = 75;
constexpr int kLastGkCmDeg = 135;
constexpr double kGkZoneWidthDeg = 3.0;

// PROJ would print its messages on stderr; the library never prints, so they go to the log,
// and the last error is kept for the exception. Called from C: must not throw.
void on_proj_log(void *last_error, int level, const char *message) {
    try {
        if (level == PJ_LOG_ERROR)
            static_cast<std::string *>(last_error)->assign(message ? message : "");
        log(LogLevel::debug, fmt::format("PROJ: {}", message ? message : ""));
    } catch (...) {
    }
}

struct ContextDeleter {
    void operator()(PJ_CONTEXT *ctx) const noexcept { proj_context_destroy(ctx); }
};
using ContextPtr = std::unique_ptr<PJ_CONTEXT, ContextDeleter>;

struct PjDeleter {
    void operator()(PJ *pj) const noexcept { proj_destroy(pj); }
};
using PjPtr = std::unique_ptr<PJ, PjDeleter>;

/// One thread's PROJ context (PROJ contexts must not be shared between threads) and the last
/// error it logged; the context goes first on destruction, as it holds a pointer to the text.
struct ThreadContext {
    std::string last_error;
    ContextPtr ctx;

    ThreadContext() : ctx(proj_context_create()) {
        if (!ctx)
            throw std::bad_alloc();
        proj_log_func(ctx.get(), &last_error, on_proj_log);
    }
    ThreadContext(const ThreadContext &) = delete;
    ThreadContext &operator=(const ThreadContext &) = delete;
};

ThreadContext &thread_context() {
    thread_local ThreadContext t;
    return t;
}

/// Text of the last failure: the error PROJ logged during the call, else its error number's.
std::string proj_error_text(const ThreadContext &t) {
    if (!t.last_error.empty())
        return t.last_error;
    const int err = proj_context_errno(t.ctx.get());
    const char *text = err != 0 ? proj_context_errno_string(t.ctx.get(), err) : nullptr;
    return text && *text ? text : "unknown PROJ error";
}

PjPtr create_crs(int epsg) {
    ThreadContext &t = thread_context();
    t.last_error.clear();
    const std::string code = std::to_string(epsg);
    PjPtr pj(
        proj_create_from_database(t.ctx.get(), "EPSG", code.c_str(), PJ_CATEGORY_CRS, 0, nullptr));
    if (!pj)
        throw Error(fmt::format("EPSG:{}: {}", epsg, proj_error_text(t)));
    return pj;
}

PjPtr create_crs(const Definition &crs) {
    ThreadContext &t = thread_context();
    t.last_error.clear();
    PjPtr pj(proj_create(t.ctx.get(), crs.wkt.c_str()));
    if (!pj)
        throw Error(fmt::format("{}: {}", crs.label(), proj_error_text(t)));
    return pj;
}

/// The CRS itself when `pj` is a BoundCRS (a CRS with its towgs84 shift): the shift says how
/// to reach WGS84, not how the map is drawn.
PjPtr unbound(PjPtr pj) {
    if (proj_get_type(pj.get()) == PJ_TYPE_BOUND_CRS) {
        PjPtr source(proj_get_source_crs(thread_context().ctx.get(), pj.get()));
        if (source)
            return source;
    }
    return pj;
}

std::string trimmed(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    return std::string(text);
}

/// The zone advice of refusals: the zone of the data when known, else the rule.
std::string zone_advice(std::optional<double> data_lon) {
    if (data_lon) {
        try {
            const int epsg = gauss_kruger_3deg_epsg(*data_lon);
            return fmt::format(
                fmt::runtime(_("use the CGCS2000 3-degree Gauss-Kruger zone of the data, "
                               "EPSG:{} ({}), or a transverse Mercator centred on the data")),
                epsg, name(epsg));
        } catch (const UsageError &) {
        }
    }
    return _("use the CGCS2000 3-degree Gauss-Kruger zone of the data: the zone whose central "
             "meridian (75, 78, ... 135E) is nearest the data's longitude is EPSG:4534 + "
             "(CM - 75) / 3, e.g. EPSG:4549 for 120E; or a transverse Mercator centred on the "
             "data (e.g. '+proj=tmerc +lon_0=120.5 +k=1 +x_0=500000 +ellps=GRS80 +units=m')");
}

/// China, roughly: where a working CRS must be usable somewhere.
constexpr double kChinaWest = 73.0, kChinaEast = 136.0, kChinaSouth = 3.0, kChinaNorth = 54.0;

} // namespace

std::string Definition::label() const {
    return epsg ? fmt::format("EPSG:{}", *epsg) : std::string("custom");
}

std::string Definition::describe() const {
    if (epsg)
        return fmt::format("EPSG:{} {}", *epsg, name);
    const std::string p = proj_string(*this);
    return fmt::format("custom CRS {}", p.empty() ? name : p);
}

Definition parse(std::string_view text) {
    const std::string t = trimmed(text);
    if (t.empty())
        throw UsageError(_("an empty CRS (expected e.g. EPSG:4549, WKT or a PROJ string)"));
    std::string input = t;
    if (std::all_of(t.begin(), t.end(), [](unsigned char c) { return std::isdigit(c); }))
        input = "EPSG:" + t;
    // A PROJ string without +type=crs is an operation, not a CRS.
    if ((input.front() == '+' || input.rfind("proj=", 0) == 0) &&
        input.find("type=crs") == std::string::npos)
        input += " +type=crs";
    ThreadContext &c = thread_context();
    c.last_error.clear();
    PjPtr pj(proj_create(c.ctx.get(), input.c_str()));
    if (!pj)
        throw UsageError(
            fmt::format(fmt::runtime(_("'{}' is not a CRS PROJ can read: {} (expected e.g. "
                                       "EPSG:4549, WKT or a PROJ string)")),
                        t, proj_error_text(c)));
    if (!proj_is_crs(pj.get()))
        throw UsageError(fmt::format(fmt::runtime(_("'{}' is not a CRS (PROJ reads it as {})")), t,
                                     proj_get_name(pj.get()) ? proj_get_name(pj.get()) : "?"));
    Definition d;
    const char *auth = proj_get_id_auth_name(pj.get(), 0);
    const char *code = proj_get_id_code(pj.get(), 0);
    if (auth && code && std::string_view(auth) == "EPSG") {
        d.epsg = std::atoi(code);
    } else {
        // A WKT or PROJ string that spells an EPSG CRS without naming it.
        int *confidence = nullptr;
        PJ_OBJ_LIST *found = proj_identify(c.ctx.get(), pj.get(), "EPSG", nullptr, &confidence);
        if (found) {
            if (proj_list_get_count(found) > 0 && confidence && confidence[0] == 100) {
                PjPtr match(proj_list_get(c.ctx.get(), found, 0));
                if (const char *mc = match ? proj_get_id_code(match.get(), 0) : nullptr) {
                    d.epsg = std::atoi(mc);
                    pj = std::move(match);
                }
            }
            proj_int_list_destroy(confidence);
            proj_list_destroy(found);
        }
    }
    if (d.epsg && *d.epsg <= 0)
        d.epsg.reset();
    const char *n = proj_get_name(pj.get());
    d.name = n ? n : "";
    const char *w = proj_as_wkt(c.ctx.get(), pj.get(), PJ_WKT2_2019, nullptr);
    if (!w)
        throw UsageError(fmt::format(fmt::runtime(_("'{}' cannot be written as WKT2: {}")), t,
                                     proj_error_text(c)));
    d.wkt = w;
    return d;
}

Definition from_epsg(int epsg) {
    PjPtr pj = create_crs(epsg);
    ThreadContext &t = thread_context();
    const char *w = proj_as_wkt(t.ctx.get(), pj.get(), PJ_WKT2_2019, nullptr);
    if (!w)
        throw Error(fmt::format(fmt::runtime(_("EPSG:{} cannot be written as WKT2: {}")), epsg,
                                proj_error_text(t)));
    const char *n = proj_get_name(pj.get());
    return Definition{w, epsg, n ? n : ""};
}

bool same(const Definition &a, const Definition &b) {
    if (a.epsg && b.epsg)
        return *a.epsg == *b.epsg;
    if (a.wkt == b.wkt)
        return true;
    PjPtr pa = create_crs(a);
    PjPtr pb = create_crs(b);
    return proj_is_equivalent_to_with_ctx(thread_context().ctx.get(), pa.get(), pb.get(),
                                          PJ_COMP_EQUIVALENT_EXCEPT_AXIS_ORDER_GEOGCRS) != 0;
}

std::string proj_string(const Definition &crs) {
    PjPtr pj = unbound(create_crs(crs));
    const char *p = proj_as_proj_string(thread_context().ctx.get(), pj.get(), PJ_PROJ_5, nullptr);
    std::string s = p ? p : "";
    for (const std::string_view tail : {" +type=crs", " +no_defs"})
        if (const auto at = s.find(tail); at != std::string::npos)
            s.erase(at, tail.size());
    return s;
}

std::string wkt1(const Definition &crs, bool esri) {
    PjPtr pj = create_crs(crs);
    ThreadContext &t = thread_context();
    const char *const options[] = {"MULTILINE=NO", nullptr};
    if (const char *w =
            proj_as_wkt(t.ctx.get(), pj.get(), esri ? PJ_WKT1_ESRI : PJ_WKT1_GDAL, options))
        return w;
    return crs.wkt;
}

std::optional<AreaOfUse> area_of_use(const Definition &crs) {
    PjPtr pj = create_crs(crs);
    AreaOfUse area;
    const char *area_name = nullptr;
    if (!proj_get_area_of_use(thread_context().ctx.get(), pj.get(), &area.west_lon, &area.south_lat,
                              &area.east_lon, &area.north_lat, &area_name) ||
        area.west_lon < -180.0 || area.west_lon > area.east_lon)
        return std::nullopt;
    area.name = area_name ? area_name : "";
    return area;
}

void check_working(const Definition &crs, std::optional<double> data_lon) {
    ThreadContext &t = thread_context();
    PjPtr pj = unbound(create_crs(crs));
    const std::string what = crs.epsg ? crs.describe() : fmt::format("'{}'", crs.describe());
    const auto refuse = [&](const std::string &why) {
        throw UsageError(fmt::format(fmt::runtime(_("{} cannot be the working CRS: {}; {}")), what,
                                     why, zone_advice(data_lon)));
    };
    const PJ_TYPE type = proj_get_type(pj.get());
    if (type == PJ_TYPE_GEOGRAPHIC_2D_CRS || type == PJ_TYPE_GEOGRAPHIC_3D_CRS ||
        type == PJ_TYPE_GEOCENTRIC_CRS)
        refuse(
            _("it is geographic (degrees), and metrics need a projected CRS in metres (SPEC §8)"));
    if (type != PJ_TYPE_PROJECTED_CRS)
        refuse(_("it is not a projected 2D CRS, and metrics need one in metres (SPEC §8)"));
    PjPtr cs(proj_crs_get_coordinate_system(t.ctx.get(), pj.get()));
    const int axes = cs ? proj_cs_get_axis_count(t.ctx.get(), cs.get()) : 0;
    if (axes < 2)
        refuse(_("PROJ reports no coordinate axes for it"));
    for (int i = 0; i < axes; ++i) {
        double factor = 0.0;
        const char *unit = nullptr;
        proj_cs_get_axis_info(t.ctx.get(), cs.get(), i, nullptr, nullptr, nullptr, &factor, &unit,
                              nullptr, nullptr);
        if (factor != 1.0)
            refuse(fmt::format(fmt::runtime(_("its unit is {}, not the metre")),
                               unit ? unit : _("not the metre")));
    }
    const ScaleGauge gauge(crs);
    double west = kChinaWest, east = kChinaEast, south = kChinaSouth, north = kChinaNorth;
    const auto area = area_of_use(crs);
    if (area) {
        west = std::max(west, area->west_lon);
        east = std::min(east, area->east_lon);
        south = std::max(south, area->south_lat);
        north = std::min(north, area->north_lat);
    }
    if (west > east || south > north)
        refuse(fmt::format(
            fmt::runtime(_("its area of use ({:.1f}-{:.1f}E, {:.1f}-{:.1f}N) lies outside China")),
            area->west_lon, area->east_lon, area->south_lat, area->north_lat));
    // Where the CRS is meant to be used: the centre of its area of use (inside China); a
    // definition without an area (a PROJ string) gets the best place on a 1° grid.
    double error = 0.0, at_lon = 0.0, at_lat = 0.0;
    if (area) {
        at_lon = (west + east) / 2;
        at_lat = (south + north) / 2;
        error = gauge.at(at_lon, at_lat);
    } else {
        error = std::numeric_limits<double>::infinity();
        for (double lon = west; lon <= east; lon += 1.0)
            for (double lat = south; lat <= north; lat += 1.0)
                if (const double e = gauge.at(lon, lat); e < error) {
                    error = e;
                    at_lon = lon;
                    at_lat = lat;
                }
    }
    if (!(error <= kMaxScaleError))
        refuse(fmt::format(
            fmt::runtime(_("its scale error is {:.2f} % at {:.1f}E {:.1f}N{}, and metrics allow "
                           "{} % (SPEC §8)")),
            error * 100, at_lon, at_lat, area ? _(" (the centre of its area of use in China)") : "",
            kMaxScaleError * 100));
}

struct ScaleGauge::Impl {
    PjPtr projection;
};

ScaleGauge::ScaleGauge(const Definition &crs) : m_impl(std::make_unique<Impl>()) {
    // proj_factors on the CRS itself rebuilds the operation on every call (milliseconds) and
    // mishandles northing-first axes; the bare projection of its PROJ string does neither.
    const std::string p = proj_string(crs);
    ThreadContext &t = thread_context();
    t.last_error.clear();
    if (!p.empty())
        m_impl->projection.reset(proj_create(t.ctx.get(), p.c_str()));
    if (!m_impl->projection)
        throw UsageError(
            fmt::format(fmt::runtime(_("PROJ cannot evaluate the scale of {}: {}")), crs.describe(),
                        p.empty() ? std::string(_("it has no PROJ string")) : proj_error_text(t)));
}

ScaleGauge::ScaleGauge(ScaleGauge &&) noexcept = default;
ScaleGauge &ScaleGauge::operator=(ScaleGauge &&) noexcept = default;
ScaleGauge::~ScaleGauge() = default;

double ScaleGauge::at(double lon_deg, double lat_deg) const {
    constexpr double kDegToRad = 0.017453292519943295;
    PJ *p = m_impl->projection.get();
    const PJ_FACTORS f =
        proj_factors(p, proj_coord(lon_deg * kDegToRad, lat_deg * kDegToRad, 0, 0));
    if (proj_errno(p) != 0) {
        proj_errno_reset(p);
        return std::numeric_limits<double>::infinity();
    }
    const double error = std::max(f.tissot_semimajor - 1.0, 1.0 - f.tissot_semiminor);
    return std::isfinite(error) ? error : std::numeric_limits<double>::infinity();
}

std::optional<std::pair<double, double>> ScaleGauge::to_lonlat(double x, double y) const {
    constexpr double kRadToDeg = 57.29577951308232;
    PJ *p = m_impl->projection.get();
    const PJ_COORD c = proj_trans(p, PJ_INV, proj_coord(x, y, 0, 0));
    if (proj_errno(p) != 0 || !std::isfinite(c.lp.lam) || !std::isfinite(c.lp.phi)) {
        proj_errno_reset(p);
        return std::nullopt;
    }
    return std::pair{c.lp.lam * kRadToDeg, c.lp.phi * kRadToDeg};
}

int gauss_kruger_3deg_epsg(double lon_deg) {
    // Zone edges lie halfway between central meridians; the outer zones reach 1.5° beyond.
    const double west = kFirstGkCmDeg - kGkZoneWidthDeg / 2;
    const double east = kLastGkCmDeg + kGkZoneWidthDeg / 2;
    if (!(lon_deg >= west && lon_deg <= east))
        throw UsageError(
            fmt::format(fmt::runtime(_("longitude {} is outside the CGCS2000 3-degree Gauss-Kruger "
                                       "zones ({}-{}E)")),
                        lon_deg, west, east));
    int cm = static_cast<int>(std::floor(lon_deg / kGkZoneWidthDeg + 0.5)) * 3;
    if (cm > kLastGkCmDeg) // lon_deg == 136.5 exactly
        cm = kLastGkCmDeg;
    return kFirstGkEpsg + (cm - kFirstGkCmDeg) / 3;
}

int parse_epsg(std::string_view text) {
    const std::string_view original = text;
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    if (text.size() > 5) {
        std::string prefix(text.substr(0, 5));
        for (char &c : prefix)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (prefix == "EPSG:")
            text.remove_prefix(5);
    }
    int code = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || code <= 0)
        throw UsageError(fmt::format(
            fmt::runtime(_("'{}' is not an EPSG code (expected e.g. EPSG:4549 or 4549)")),
            original));
    return code;
}

AreaOfUse area_of_use(int epsg) {
    PjPtr pj = create_crs(epsg);
    AreaOfUse area;
    const char *area_name = nullptr;
    if (!proj_get_area_of_use(thread_context().ctx.get(), pj.get(), &area.west_lon, &area.south_lat,
                              &area.east_lon, &area.north_lat, &area_name))
        throw Error(
            fmt::format(fmt::runtime(_("EPSG:{}: no area of use in the PROJ database")), epsg));
    area.name = area_name ? area_name : "";
    return area;
}

std::string name(int epsg) {
    PjPtr pj = create_crs(epsg);
    const char *n = proj_get_name(pj.get());
    return n ? n : "";
}

std::string wkt(int epsg, bool esri) {
    PjPtr pj = create_crs(epsg);
    ThreadContext &t = thread_context();
    t.last_error.clear();
    const char *const options[] = {"MULTILINE=NO", nullptr};
    const char *text = proj_as_wkt(t.ctx.get(), pj.get(), esri ? PJ_WKT1_ESRI : PJ_WKT2_2019,
                                   esri ? options : nullptr);
    if (!text)
        throw Error(fmt::format(fmt::runtime(_("EPSG:{}: cannot be written as {}: {}")), epsg,
                                esri ? "WKT1_ESRI" : "WKT2:2019", proj_error_text(t)));
    return text;
}

} // namespace qiancun::crs
