#pragma once

#ifndef GEOS_USE_ONLY_R_API
#define GEOS_USE_ONLY_R_API
#endif
#include <geos_c.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

/// Move-only RAII wrappers over the reentrant GEOS C API: one context per thread, a unique
/// handle per geometry, prepared geometry and string that GEOS allocates, and WKB/WKT helpers.
/// Every failure is thrown as qiancun::Error carrying the message GEOS reported.

namespace qiancun::ffi {

/// One GEOS context (GEOS_init_r … GEOS_finish_r) whose handlers record the last error text
/// and forward notices to the library log; the handlers never throw. Not shareable across
/// threads: use `geos_context()` for the calling thread's one.
class GeosContext {
public:
    GeosContext();
    GeosContext(const GeosContext &) = delete;
    GeosContext &operator=(const GeosContext &) = delete;
    GeosContext(GeosContext &&) noexcept;
    GeosContext &operator=(GeosContext &&) noexcept;
    ~GeosContext() noexcept;

    /// The raw handle for `_r` calls; null only in a moved-from context.
    GEOSContextHandle_t handle() const noexcept;
    /// The text of the last error GEOS reported on this context ("" if none since `fail`).
    const std::string &last_error() const noexcept;
    /// Throws Error "`operation`: <last GEOS error>" and clears the recorded error.
    [[noreturn]] void fail(std::string_view operation);

private:
    struct State;
    std::unique_ptr<State> m_state; // heap-held so the handlers' user data survives a move
};

/// The calling thread's GEOS context, created on first use and finished at thread exit.
GeosContext &geos_context();

/// Deleter calling GEOSGeom_destroy_r with the context the geometry was made in.
struct GeosGeometryDeleter {
    GEOSContextHandle_t context = nullptr;
    void operator()(GEOSGeometry *g) const noexcept;
};

/// Owning handle of one GEOS geometry; the context must outlive it.
using GeosGeometry = std::unique_ptr<GEOSGeometry, GeosGeometryDeleter>;

/// Deleter calling GEOSPreparedGeom_destroy_r.
struct GeosPreparedDeleter {
    GEOSContextHandle_t context = nullptr;
    void operator()(const GEOSPreparedGeometry *g) const noexcept;
};

/// Owning handle of a prepared geometry; the geometry it was prepared from must outlive it.
using GeosPrepared = std::unique_ptr<const GEOSPreparedGeometry, GeosPreparedDeleter>;

/// Takes ownership of `g`, a result of a GEOS call; throws Error naming `operation` if null.
GeosGeometry own(GeosContext &ctx, GEOSGeometry *g, std::string_view operation);

/// Copies a string GEOS allocated and frees it (GEOSFree_r); null gives "".
std::string own_string(GeosContext &ctx, char *s);

/// Reads a GEOS predicate result (0 false, 1 true, 2 exception); throws Error on 2.
bool predicate(GeosContext &ctx, char result, std::string_view operation);

/// A deep copy of `g`.
GeosGeometry clone(GeosContext &ctx, const GEOSGeometry *g);

/// A collection of type `type` (GEOS_MULTIPOINT … GEOS_GEOMETRYCOLLECTION) taking `parts`.
GeosGeometry collect(GeosContext &ctx, int type, std::vector<GeosGeometry> parts);

/// Prepares `g` for repeated predicates; `g` must outlive the result.
GeosPrepared prepare(GeosContext &ctx, const GEOSGeometry *g);

/// Parses WKB (ISO or extended, either byte order); throws Error with GEOS's reason.
GeosGeometry read_wkb(GeosContext &ctx, std::string_view wkb);

/// Writes little-endian ISO WKB with at most `dimension` (2 or 3) coordinate dimensions.
std::string write_wkb(GeosContext &ctx, const GEOSGeometry *g, int dimension = 2);

/// Parses WKT; throws Error with GEOS's reason.
GeosGeometry read_wkt(GeosContext &ctx, std::string_view wkt);

/// Writes WKT with `precision` decimals, trailing zeros trimmed, Z kept when present.
std::string write_wkt(GeosContext &ctx, const GEOSGeometry *g, int precision);

/// A point at (x, y).
GeosGeometry make_point(GeosContext &ctx, double x, double y);

/// Area of `g` in squared CRS units (holes subtracted); throws Error on a GEOS failure.
double area(GeosContext &ctx, const GEOSGeometry *g);

/// Length of `g` in CRS units (perimeter for polygons); throws Error on a GEOS failure.
double length(GeosContext &ctx, const GEOSGeometry *g);

/// Shortest distance between `a` and `b` in CRS units (0 when they intersect).
double distance(GeosContext &ctx, const GEOSGeometry *a, const GEOSGeometry *b);

/// True for an empty geometry; throws Error on a GEOS failure.
bool is_empty(GeosContext &ctx, const GEOSGeometry *g);

/// Every point within `width` of `g`, round caps and joins, arcs drawn with
/// `quadrant_segments` segments per quarter circle.
GeosGeometry buffer_round(GeosContext &ctx, const GEOSGeometry *g, double width,
                          int quadrant_segments);

/// A copy of `g` moved by (dx, dy).
GeosGeometry translate(GeosContext &ctx, const GEOSGeometry *g, double dx, double dy);

/// The polygonal parts of `g` (Polygon, MultiPolygon or any collection) as one MultiPolygon;
/// lower-dimensional parts are dropped, an empty input gives an empty MultiPolygon.
GeosGeometry to_multipolygon(GeosContext &ctx, const GEOSGeometry *g);

/// The x, y coordinates (x0, y0, x1, y1, …) of every LineString and polygon ring in `g`, any
/// nesting of collections; points are skipped.
std::vector<std::vector<double>> coordinate_paths(GeosContext &ctx, const GEOSGeometry *g);

} // namespace qiancun::ffi
