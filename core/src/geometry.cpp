#include "qiancun/geometry.hpp"

#include "ffi/geos.hpp"
#include "qiancun/error.hpp"

#include <fmt/core.h>

#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "qiancun/i18n.hpp"

namespace qiancun::geometry {

namespace {

using ffi::GeosContext;
using ffi::GeosGeometry;

std::string_view type_name(int type_id) {
    switch (type_id) {
    case GEOS_POINT:
        return "Point";
    case GEOS_LINESTRING:
        return "LineString";
    case GEOS_LINEARRING:
        return "LinearRing";
    case GEOS_POLYGON:
        return "Polygon";
    case GEOS_MULTIPOINT:
        return "MultiPoint";
    case GEOS_MULTILINESTRING:
        return "MultiLineString";
    case GEOS_MULTIPOLYGON:
        return "MultiPolygon";
    case GEOS_GEOMETRYCOLLECTION:
        return "GeometryCollection";
    default:
        return "unknown geometry type";
    }
}

int type_id(GeosContext &ctx, const GEOSGeometry *g) {
    const int id = GEOSGeomTypeId_r(ctx.handle(), g);
    if (id < 0)
        ctx.fail("GEOSGeomTypeId");
    return id;
}

int num_geometries(GeosContext &ctx, const GEOSGeometry *g) {
    const int n = GEOSGetNumGeometries_r(ctx.handle(), g);
    if (n < 0)
        ctx.fail("GEOSGetNumGeometries");
    return n;
}

const GEOSGeometry *geometry_n(GeosContext &ctx, const GEOSGeometry *g, int i) {
    const GEOSGeometry *part = GEOSGetGeometryN_r(ctx.handle(), g, i);
    if (!part)
        ctx.fail("GEOSGetGeometryN");
    return part;
}

/// The (x, y) coordinates of a Point, LineString or LinearRing.
std::vector<std::pair<double, double>> coordinates(GeosContext &ctx, const GEOSGeometry *g) {
    const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(ctx.handle(), g);
    if (!seq)
        ctx.fail("GEOSGeom_getCoordSeq");
    unsigned int size = 0;
    if (!GEOSCoordSeq_getSize_r(ctx.handle(), seq, &size))
        ctx.fail("GEOSCoordSeq_getSize");
    std::vector<std::pair<double, double>> xy(size);
    for (unsigned int i = 0; i < size; ++i)
        if (!GEOSCoordSeq_getXY_r(ctx.handle(), seq, i, &xy[i].first, &xy[i].second))
            ctx.fail("GEOSCoordSeq_getXY");
    return xy;
}

/// Calls `visit` with the coordinates of every point, line and ring of `g`.
template <typename Visit>
void for_each_sequence(GeosContext &ctx, const GEOSGeometry *g, Visit &&visit) {
    switch (type_id(ctx, g)) {
    case GEOS_POINT:
    case GEOS_LINESTRING:
    case GEOS_LINEARRING:
        if (!predicate(ctx, GEOSisEmpty_r(ctx.handle(), g), "GEOSisEmpty"))
            visit(coordinates(ctx, g));
        return;
    case GEOS_POLYGON: {
        if (predicate(ctx, GEOSisEmpty_r(ctx.handle(), g), "GEOSisEmpty"))
            return;
        const GEOSGeometry *shell = GEOSGetExteriorRing_r(ctx.handle(), g);
        if (!shell)
            ctx.fail("GEOSGetExteriorRing");
        visit(coordinates(ctx, shell));
        const int holes = GEOSGetNumInteriorRings_r(ctx.handle(), g);
        if (holes < 0)
            ctx.fail("GEOSGetNumInteriorRings");
        for (int i = 0; i < holes; ++i) {
            const GEOSGeometry *hole = GEOSGetInteriorRingN_r(ctx.handle(), g, i);
            if (!hole)
                ctx.fail("GEOSGetInteriorRingN");
            visit(coordinates(ctx, hole));
        }
        return;
    }
    default:
        for (int i = 0, n = num_geometries(ctx, g); i < n; ++i)
            for_each_sequence(ctx, geometry_n(ctx, g, i), visit);
    }
}

bool all_finite(GeosContext &ctx, const GEOSGeometry *g) {
    bool finite = true;
    for_each_sequence(ctx, g, [&](const std::vector<std::pair<double, double>> &xy) {
        for (const auto &[x, y] : xy)
            finite = finite && std::isfinite(x) && std::isfinite(y);
    });
    return finite;
}

bool has_two_distinct_points(GeosContext &ctx, const GEOSGeometry *line) {
    bool distinct = false;
    for_each_sequence(ctx, line, [&](const std::vector<std::pair<double, double>> &xy) {
        for (const auto &p : xy)
            distinct = distinct || p != xy.front();
    });
    return distinct;
}

CheckResult reject(std::string problem) {
    CheckResult r;
    r.problem = std::move(problem);
    return r;
}

CheckResult accept(GeosContext &ctx, const GEOSGeometry *g, std::string repair = {}) {
    CheckResult r;
    r.wkb = ffi::write_wkb(ctx, g, 2);
    r.repair = std::move(repair);
    return r;
}

CheckResult mismatch(int type, GeometryKind kind, std::string_view expected) {
    return reject(fmt::format(fmt::runtime(_("{} does not fit a {} layer, which takes {}")),
                              type_name(type), to_string(kind), expected));
}

/// Rewords GEOS's WKB parse failures that a person can act on.
std::string read_problem(std::string_view geos_message) {
    if (geos_message.find("do not form a closed linestring") != std::string_view::npos)
        return _("ring is not closed (its first and last points differ)");
    if (geos_message.find("point array must contain 0 or >1 elements") != std::string_view::npos)
        return _("line has fewer than 2 points");
    return std::string(geos_message);
}

/// A copy of `g` (a `single_type` geometry or a collection of them) as a `multi_type`.
GeosGeometry to_multi(GeosContext &ctx, const GEOSGeometry *g, int single_type, int multi_type) {
    std::vector<GeosGeometry> parts;
    if (type_id(ctx, g) == single_type)
        parts.push_back(ffi::clone(ctx, g));
    else
        for (int i = 0, n = num_geometries(ctx, g); i < n; ++i)
            parts.push_back(ffi::clone(ctx, geometry_n(ctx, g, i)));
    return ffi::collect(ctx, multi_type, std::move(parts));
}

CheckResult check_point(GeosContext &ctx, const GEOSGeometry *g, int type, GeometryKind kind,
                        std::string_view expected) {
    if (type == GEOS_POINT)
        return accept(ctx, g);
    if (type == GEOS_MULTIPOINT) {
        const int n = num_geometries(ctx, g);
        if (n == 1)
            return accept(ctx, geometry_n(ctx, g, 0));
        return reject(fmt::format(
            fmt::runtime(_("MultiPoint of {} points does not fit a {} layer, which takes {}")), n,
            to_string(kind), expected));
    }
    return mismatch(type, kind, expected);
}

CheckResult check_line(GeosContext &ctx, const GEOSGeometry *g, int type, GeometryKind kind) {
    if (type != GEOS_LINESTRING && type != GEOS_MULTILINESTRING)
        return mismatch(type, kind, _("LineString or MultiLineString"));
    GeosGeometry multi = to_multi(ctx, g, GEOS_LINESTRING, GEOS_MULTILINESTRING);
    const int n = num_geometries(ctx, multi.get());
    for (int i = 0; i < n; ++i) {
        if (!has_two_distinct_points(ctx, geometry_n(ctx, multi.get(), i)))
            return reject(
                n == 1 ? std::string(_("line has fewer than 2 distinct points"))
                       : fmt::format(fmt::runtime(_("line part {} of {} has fewer than 2 distinct "
                                                    "points")),
                                     i + 1, n));
    }
    return accept(ctx, multi.get());
}

/// The polygons of a GEOSMakeValid result as one MultiPolygon (possibly empty).
GeosGeometry polygonal_part(GeosContext &ctx, const GEOSGeometry *g) {
    std::vector<GeosGeometry> polygons;
    const auto add = [&](const GEOSGeometry *part) {
        switch (type_id(ctx, part)) {
        case GEOS_POLYGON:
            if (!predicate(ctx, GEOSisEmpty_r(ctx.handle(), part), "GEOSisEmpty"))
                polygons.push_back(ffi::clone(ctx, part));
            break;
        case GEOS_MULTIPOLYGON:
            for (int i = 0, n = num_geometries(ctx, part); i < n; ++i)
                polygons.push_back(ffi::clone(ctx, geometry_n(ctx, part, i)));
            break;
        default:
            break; // collapsed lines and points are not part of an area
        }
    };
    if (type_id(ctx, g) == GEOS_GEOMETRYCOLLECTION)
        for (int i = 0, n = num_geometries(ctx, g); i < n; ++i)
            add(geometry_n(ctx, g, i));
    else
        add(g);
    return ffi::collect(ctx, GEOS_MULTIPOLYGON, std::move(polygons));
}

GeosGeometry make_valid(GeosContext &ctx, const GEOSGeometry *g) {
    struct ParamsDeleter {
        GEOSContextHandle_t context;
        void operator()(GEOSMakeValidParams *p) const noexcept {
            GEOSMakeValidParams_destroy_r(context, p);
        }
    };
    std::unique_ptr<GEOSMakeValidParams, ParamsDeleter> params(
        GEOSMakeValidParams_create_r(ctx.handle()), ParamsDeleter{ctx.handle()});
    if (!params)
        ctx.fail("GEOSMakeValidParams_create");
    // STRUCTURE keeps the areas the rings enclose (LINEWORK would make holes of overlaps);
    // collapsed parts are dropped as they carry no area.
    if (!GEOSMakeValidParams_setMethod_r(ctx.handle(), params.get(), GEOS_MAKE_VALID_STRUCTURE) ||
        !GEOSMakeValidParams_setKeepCollapsed_r(ctx.handle(), params.get(), 0))
        ctx.fail("GEOSMakeValidParams");
    return ffi::own(ctx, GEOSMakeValidWithParams_r(ctx.handle(), g, params.get()), "GEOSMakeValid");
}

CheckResult check_polygon(GeosContext &ctx, const GEOSGeometry *g, int type, GeometryKind kind,
                          bool repair) {
    if (type != GEOS_POLYGON && type != GEOS_MULTIPOLYGON)
        return mismatch(type, kind,
                        kind == GeometryKind::point_or_polygon ? "Point, Polygon or MultiPolygon"
                                                               : "Polygon or MultiPolygon");
    GeosGeometry multi = to_multi(ctx, g, GEOS_POLYGON, GEOS_MULTIPOLYGON);

    char *reason_raw = nullptr;
    GEOSGeometry *location_raw = nullptr;
    const char valid =
        GEOSisValidDetail_r(ctx.handle(), multi.get(), 0, &reason_raw, &location_raw);
    const std::string reason = ffi::own_string(ctx, reason_raw);
    const GeosGeometry location(location_raw, ffi::GeosGeometryDeleter{ctx.handle()});
    if (ffi::predicate(ctx, valid, "GEOSisValidDetail"))
        return accept(ctx, multi.get());

    std::string problem = reason.empty() ? std::string(_("invalid polygon")) : reason;
    double x = 0.0;
    double y = 0.0;
    // 10 significant digits: millimetres in a projected CRS, 1e-7 degrees in a geographic one.
    if (location && GEOSGeomGetX_r(ctx.handle(), location.get(), &x) == 1 &&
        GEOSGeomGetY_r(ctx.handle(), location.get(), &y) == 1)
        problem += fmt::format(fmt::runtime(_(" at ({:.10g} {:.10g})")), x, y);
    if (!repair)
        return reject(std::move(problem));

    GeosGeometry fixed = polygonal_part(ctx, make_valid(ctx, multi.get()).get());
    if (predicate(ctx, GEOSisEmpty_r(ctx.handle(), fixed.get()), "GEOSisEmpty"))
        return reject(fmt::format(fmt::runtime(_("{}; GEOSMakeValid left no polygon")), problem));
    if (!predicate(ctx, GEOSisValid_r(ctx.handle(), fixed.get()), "GEOSisValid"))
        return reject(
            fmt::format(fmt::runtime(_("{}; GEOSMakeValid could not repair it")), problem));
    return accept(ctx, fixed.get(),
                  fmt::format(fmt::runtime(_("{}; repaired with GEOSMakeValid")), problem));
}

CheckResult check_geometry(GeosContext &ctx, std::string_view wkb, GeometryKind kind, bool repair) {
    GeosGeometry g;
    try {
        g = ffi::read_wkb(ctx, wkb);
    } catch (const Error &e) {
        return reject(read_problem(e.what()));
    }
    if (predicate(ctx, GEOSisEmpty_r(ctx.handle(), g.get()), "GEOSisEmpty"))
        return reject(_("empty geometry"));
    if (!all_finite(ctx, g.get()))
        return reject(_("coordinate is not a finite number (NaN or infinity)"));

    const int type = type_id(ctx, g.get());
    switch (kind) {
    case GeometryKind::point:
        return check_point(ctx, g.get(), type, kind, "Point");
    case GeometryKind::line:
        return check_line(ctx, g.get(), type, kind);
    case GeometryKind::polygon:
        return check_polygon(ctx, g.get(), type, kind, repair);
    case GeometryKind::point_or_polygon:
        if (type == GEOS_POINT || type == GEOS_MULTIPOINT)
            return check_point(ctx, g.get(), type, kind, "Point, Polygon or MultiPolygon");
        return check_polygon(ctx, g.get(), type, kind, repair);
    case GeometryKind::none:
        return reject(_("the kind takes no geometry"));
    }
    return mismatch(type, kind, _("a known geometry kind"));
}

} // namespace

CheckResult check(std::string_view wkb, GeometryKind kind, bool repair) {
    if (wkb.empty())
        return reject(_("no geometry"));
    auto &ctx = ffi::geos_context();
    // A geometry GEOS cannot process is bad data of this one feature, not a failure of the
    // whole operation.
    try {
        return check_geometry(ctx, wkb, kind, repair);
    } catch (const Error &e) {
        return reject(e.what());
    }
}

std::string wkb_from_wkt(std::string_view wkt) {
    auto &ctx = ffi::geos_context();
    const GeosGeometry g = ffi::read_wkt(ctx, wkt);
    return ffi::write_wkb(ctx, g.get(), 3);
}

std::string wkt_from_wkb(std::string_view wkb, int precision) {
    auto &ctx = ffi::geos_context();
    const GeosGeometry g = ffi::read_wkb(ctx, wkb);
    return ffi::write_wkt(ctx, g.get(), precision);
}

} // namespace qiancun::geometry
