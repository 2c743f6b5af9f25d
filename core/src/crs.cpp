#include "qiancun/crs.hpp"

#include "qiancun/error.hpp"
#include "qiancun/log.hpp"

#include <proj.h>

#include <fmt/core.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <memory>
#include <new>
#include <string>

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

} // namespace

int gauss_kruger_3deg_epsg(double lon_deg) {
    // Zone edges lie halfway between central meridians; the outer zones reach 1.5° beyond.
    const double west = kFirstGkCmDeg - kGkZoneWidthDeg / 2;
    const double east = kLastGkCmDeg + kGkZoneWidthDeg / 2;
    if (!(lon_deg >= west && lon_deg <= east))
        throw UsageError(fmt::format("longitude {} is outside the CGCS2000 3-degree Gauss-Kruger "
                                     "zones ({}-{}E)",
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
        throw UsageError(
            fmt::format("'{}' is not an EPSG code (expected e.g. EPSG:4549 or 4549)", original));
    return code;
}

AreaOfUse area_of_use(int epsg) {
    PjPtr pj = create_crs(epsg);
    AreaOfUse area;
    const char *area_name = nullptr;
    if (!proj_get_area_of_use(thread_context().ctx.get(), pj.get(), &area.west_lon, &area.south_lat,
                              &area.east_lon, &area.north_lat, &area_name))
        throw Error(fmt::format("EPSG:{}: no area of use in the PROJ database", epsg));
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
        throw Error(fmt::format("EPSG:{}: cannot be written as {}: {}", epsg,
                                esri ? "WKT1_ESRI" : "WKT2:2019", proj_error_text(t)));
    return text;
}

} // namespace qiancun::crs
