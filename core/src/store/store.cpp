#include "store/store.hpp"

#include "ffi/geos.hpp"
#include "qiancun/error.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>

namespace qiancun::store {

namespace {

[[noreturn]] void needs_postgresql(const Store &store) {
    throw UsageError(fmt::format("{}: database roles and the audit table need a PostgreSQL "
                                 "registry (postgresql://USER@HOST:PORT/DB?schema=NAME); copy "
                                 "the file there first",
                                 store.location().display()));
}

} // namespace

void Store::add_role(const RoleSpec &) {
    needs_postgresql(*this);
}

std::vector<RoleSpec> Store::roles() const {
    needs_postgresql(*this);
}

std::vector<AuditEntry> Store::audit(const KindDef &, std::string_view) const {
    needs_postgresql(*this);
}

std::string now_utc() {
    auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", now);
}

std::string geometry_type_name(GeometryKind g) {
    switch (g) {
    case GeometryKind::point:
        return "POINT";
    case GeometryKind::line:
        return "MULTILINESTRING";
    case GeometryKind::polygon:
        return "MULTIPOLYGON";
    case GeometryKind::point_or_polygon:
        return "POINT";
    }
    return "GEOMETRY";
}

bool has_footprint(const KindDef &kind) {
    return kind.geometry == GeometryKind::point_or_polygon;
}

PointAndFootprint split_point_or_polygon(std::string_view wkb) {
    auto &ctx = ffi::geos_context();
    const auto g = ffi::read_wkb(ctx, wkb);
    const int type = GEOSGeomTypeId_r(ctx.handle(), g.get());
    if (type < 0)
        throw Error("cannot read the type of a point-or-polygon geometry");
    if (type == GEOS_POINT)
        return {std::string(wkb), std::nullopt};
    const auto point =
        ffi::own(ctx, GEOSPointOnSurface_r(ctx.handle(), g.get()), "point on surface");
    return {ffi::write_wkb(ctx, point.get()), std::string(wkb)};
}

std::unique_ptr<Store> open(const Location &location, bool read_only) {
    if (location.is_postgresql())
        return open_postgis(location, read_only);
    return open_spatialite(location.path(), read_only);
}

std::unique_ptr<Store> create(const Location &location, const std::optional<crs::Definition> &crs) {
    if (location.is_postgresql())
        return create_postgis(location, crs);
    return create_spatialite(location.path(), crs);
}

} // namespace qiancun::store
