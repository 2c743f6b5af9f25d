#include "ffi/geos.hpp"

#include "qiancun/error.hpp"
#include "qiancun/log.hpp"

#include <fmt/core.h>

#include <new>
#include <utility>

#include "qiancun/i18n.hpp"

namespace qiancun::ffi {

struct GeosContext::State {
    GEOSContextHandle_t handle = nullptr;
    std::string last_error;
};

namespace {

// GEOS calls these from inside its C API; an exception escaping here would cross C frames.
void on_geos_error(const char *message, void *user_data) {
    try {
        static_cast<std::string *>(user_data)->assign(message ? message : "");
    } catch (...) {
    }
}

void on_geos_notice(const char *message, void *) {
    try {
        log(LogLevel::debug, fmt::format("GEOS: {}", message ? message : ""));
    } catch (...) {
    }
}

struct GeosFreeDeleter {
    GEOSContextHandle_t context;
    void operator()(void *p) const noexcept { GEOSFree_r(context, p); }
};
struct WkbReaderDeleter {
    GEOSContextHandle_t context;
    void operator()(GEOSWKBReader *r) const noexcept { GEOSWKBReader_destroy_r(context, r); }
};
struct WkbWriterDeleter {
    GEOSContextHandle_t context;
    void operator()(GEOSWKBWriter *w) const noexcept { GEOSWKBWriter_destroy_r(context, w); }
};
struct WktReaderDeleter {
    GEOSContextHandle_t context;
    void operator()(GEOSWKTReader *r) const noexcept { GEOSWKTReader_destroy_r(context, r); }
};
struct WktWriterDeleter {
    GEOSContextHandle_t context;
    void operator()(GEOSWKTWriter *w) const noexcept { GEOSWKTWriter_destroy_r(context, w); }
};

} // namespace

GeosContext::GeosContext() : m_state(std::make_unique<State>()) {
    m_state->handle = GEOS_init_r();
    if (!m_state->handle)
        throw std::bad_alloc();
    GEOSContext_setErrorMessageHandler_r(m_state->handle, on_geos_error, &m_state->last_error);
    GEOSContext_setNoticeMessageHandler_r(m_state->handle, on_geos_notice, nullptr);
}

GeosContext::GeosContext(GeosContext &&) noexcept = default;

GeosContext &GeosContext::operator=(GeosContext &&other) noexcept {
    if (this != &other) {
        if (m_state && m_state->handle)
            GEOS_finish_r(m_state->handle);
        m_state = std::move(other.m_state);
    }
    return *this;
}

GeosContext::~GeosContext() noexcept {
    if (m_state && m_state->handle)
        GEOS_finish_r(m_state->handle);
}

GEOSContextHandle_t GeosContext::handle() const noexcept {
    return m_state ? m_state->handle : nullptr;
}

const std::string &GeosContext::last_error() const noexcept {
    static const std::string none;
    return m_state ? m_state->last_error : none;
}

void GeosContext::fail(std::string_view operation) {
    std::string message = m_state ? std::exchange(m_state->last_error, {}) : std::string();
    if (message.empty())
        message = "unknown GEOS error";
    throw Error(fmt::format("{}: {}", operation, message));
}

GeosContext &geos_context() {
    thread_local GeosContext context;
    return context;
}

void GeosGeometryDeleter::operator()(GEOSGeometry *g) const noexcept {
    if (g)
        GEOSGeom_destroy_r(context, g);
}

void GeosPreparedDeleter::operator()(const GEOSPreparedGeometry *g) const noexcept {
    if (g)
        GEOSPreparedGeom_destroy_r(context, g);
}

GeosGeometry own(GeosContext &ctx, GEOSGeometry *g, std::string_view operation) {
    if (!g)
        ctx.fail(operation);
    return GeosGeometry(g, GeosGeometryDeleter{ctx.handle()});
}

std::string own_string(GeosContext &ctx, char *s) {
    if (!s)
        return {};
    std::unique_ptr<char, GeosFreeDeleter> guard(s, GeosFreeDeleter{ctx.handle()});
    return std::string(s);
}

bool predicate(GeosContext &ctx, char result, std::string_view operation) {
    if (result == 2)
        ctx.fail(operation);
    return result == 1;
}

GeosGeometry clone(GeosContext &ctx, const GEOSGeometry *g) {
    return own(ctx, GEOSGeom_clone_r(ctx.handle(), g), "GEOSGeom_clone");
}

GeosGeometry collect(GeosContext &ctx, int type, std::vector<GeosGeometry> parts) {
    std::vector<GEOSGeometry *> raw;
    raw.reserve(parts.size());
    for (const auto &part : parts)
        raw.push_back(part.get());
    GEOSGeometry *result = GEOSGeom_createCollection_r(ctx.handle(), type, raw.data(),
                                                       static_cast<unsigned int>(raw.size()));
    if (!result)
        ctx.fail("GEOSGeom_createCollection");
    // The collection now owns the parts.
    for (auto &part : parts)
        static_cast<void>(part.release());
    return GeosGeometry(result, GeosGeometryDeleter{ctx.handle()});
}

GeosPrepared prepare(GeosContext &ctx, const GEOSGeometry *g) {
    const GEOSPreparedGeometry *prepared = GEOSPrepare_r(ctx.handle(), g);
    if (!prepared)
        ctx.fail("GEOSPrepare");
    return GeosPrepared(prepared, GeosPreparedDeleter{ctx.handle()});
}

GeosGeometry read_wkb(GeosContext &ctx, std::string_view wkb) {
    std::unique_ptr<GEOSWKBReader, WkbReaderDeleter> reader(GEOSWKBReader_create_r(ctx.handle()),
                                                            WkbReaderDeleter{ctx.handle()});
    if (!reader)
        ctx.fail("GEOSWKBReader_create");
    return own(ctx,
               GEOSWKBReader_read_r(ctx.handle(), reader.get(),
                                    reinterpret_cast<const unsigned char *>(wkb.data()),
                                    wkb.size()),
               "cannot read WKB");
}

std::string write_wkb(GeosContext &ctx, const GEOSGeometry *g, int dimension) {
    std::unique_ptr<GEOSWKBWriter, WkbWriterDeleter> writer(GEOSWKBWriter_create_r(ctx.handle()),
                                                            WkbWriterDeleter{ctx.handle()});
    if (!writer)
        ctx.fail("GEOSWKBWriter_create");
    GEOSWKBWriter_setOutputDimension_r(ctx.handle(), writer.get(), dimension);
    GEOSWKBWriter_setByteOrder_r(ctx.handle(), writer.get(), GEOS_WKB_NDR);
    GEOSWKBWriter_setFlavor_r(ctx.handle(), writer.get(), GEOS_WKB_ISO);
    GEOSWKBWriter_setIncludeSRID_r(ctx.handle(), writer.get(), 0);
    std::size_t size = 0;
    std::unique_ptr<unsigned char, GeosFreeDeleter> bytes(
        GEOSWKBWriter_write_r(ctx.handle(), writer.get(), g, &size), GeosFreeDeleter{ctx.handle()});
    if (!bytes)
        ctx.fail(_("cannot write WKB"));
    return std::string(reinterpret_cast<const char *>(bytes.get()), size);
}

GeosGeometry read_wkt(GeosContext &ctx, std::string_view wkt) {
    std::unique_ptr<GEOSWKTReader, WktReaderDeleter> reader(GEOSWKTReader_create_r(ctx.handle()),
                                                            WktReaderDeleter{ctx.handle()});
    if (!reader)
        ctx.fail("GEOSWKTReader_create");
    const std::string text(wkt); // GEOS wants a NUL-terminated string
    return own(ctx, GEOSWKTReader_read_r(ctx.handle(), reader.get(), text.c_str()),
               "cannot read WKT");
}

std::string write_wkt(GeosContext &ctx, const GEOSGeometry *g, int precision) {
    std::unique_ptr<GEOSWKTWriter, WktWriterDeleter> writer(GEOSWKTWriter_create_r(ctx.handle()),
                                                            WktWriterDeleter{ctx.handle()});
    if (!writer)
        ctx.fail("GEOSWKTWriter_create");
    GEOSWKTWriter_setTrim_r(ctx.handle(), writer.get(), 1);
    GEOSWKTWriter_setRoundingPrecision_r(ctx.handle(), writer.get(), precision);
    GEOSWKTWriter_setOutputDimension_r(ctx.handle(), writer.get(), 3);
    char *text = GEOSWKTWriter_write_r(ctx.handle(), writer.get(), g);
    if (!text)
        ctx.fail(_("cannot write WKT"));
    return own_string(ctx, text);
}

GeosGeometry make_point(GeosContext &ctx, double x, double y) {
    return own(ctx, GEOSGeom_createPointFromXY_r(ctx.handle(), x, y), "GEOSGeom_createPointFromXY");
}

double area(GeosContext &ctx, const GEOSGeometry *g) {
    double value = 0.0;
    if (!GEOSArea_r(ctx.handle(), g, &value))
        ctx.fail("GEOSArea");
    return value;
}

double length(GeosContext &ctx, const GEOSGeometry *g) {
    double value = 0.0;
    if (!GEOSLength_r(ctx.handle(), g, &value))
        ctx.fail("GEOSLength");
    return value;
}

double distance(GeosContext &ctx, const GEOSGeometry *a, const GEOSGeometry *b) {
    double value = 0.0;
    if (!GEOSDistance_r(ctx.handle(), a, b, &value))
        ctx.fail("GEOSDistance");
    return value;
}

bool is_empty(GeosContext &ctx, const GEOSGeometry *g) {
    return predicate(ctx, GEOSisEmpty_r(ctx.handle(), g), "GEOSisEmpty");
}

GeosGeometry buffer_round(GeosContext &ctx, const GEOSGeometry *g, double width,
                          int quadrant_segments) {
    return own(ctx,
               GEOSBufferWithStyle_r(ctx.handle(), g, width, quadrant_segments, GEOSBUF_CAP_ROUND,
                                     GEOSBUF_JOIN_ROUND, 5.0),
               "GEOSBuffer");
}

GeosGeometry translate(GeosContext &ctx, const GEOSGeometry *g, double dx, double dy) {
    struct Offset {
        double dx;
        double dy;
    } offset{dx, dy};
    const auto move = [](double *x, double *y, void *user_data) -> int {
        const auto *o = static_cast<const Offset *>(user_data);
        *x += o->dx;
        *y += o->dy;
        return 1;
    };
    return own(ctx, GEOSGeom_transformXY_r(ctx.handle(), g, move, &offset), "GEOSGeom_transformXY");
}

GeosGeometry to_multipolygon(GeosContext &ctx, const GEOSGeometry *g) {
    std::vector<GeosGeometry> polygons;
    const auto add = [&](const GEOSGeometry *part, const auto &self) -> void {
        const int type = GEOSGeomTypeId_r(ctx.handle(), part);
        if (type == GEOS_POLYGON) {
            if (!is_empty(ctx, part))
                polygons.push_back(clone(ctx, part));
        } else if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
            const int n = GEOSGetNumGeometries_r(ctx.handle(), part);
            for (int i = 0; i < n; ++i)
                self(GEOSGetGeometryN_r(ctx.handle(), part, i), self);
        } else if (type < 0) {
            ctx.fail("GEOSGeomTypeId");
        }
    };
    add(g, add);
    return collect(ctx, GEOS_MULTIPOLYGON, std::move(polygons));
}

namespace {

void append_path(GeosContext &ctx, const GEOSGeometry *line,
                 std::vector<std::vector<double>> &out) {
    const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(ctx.handle(), line);
    unsigned int size = 0;
    if (!seq || !GEOSCoordSeq_getSize_r(ctx.handle(), seq, &size))
        ctx.fail("GEOSGeom_getCoordSeq");
    std::vector<double> xy(2 * static_cast<std::size_t>(size));
    if (size > 0 && !GEOSCoordSeq_copyToBuffer_r(ctx.handle(), seq, xy.data(), 0, 0))
        ctx.fail("GEOSCoordSeq_copyToBuffer");
    out.push_back(std::move(xy));
}

void append_paths(GeosContext &ctx, const GEOSGeometry *g, std::vector<std::vector<double>> &out) {
    switch (GEOSGeomTypeId_r(ctx.handle(), g)) {
    case GEOS_LINESTRING:
    case GEOS_LINEARRING:
        append_path(ctx, g, out);
        break;
    case GEOS_POLYGON: {
        if (is_empty(ctx, g))
            break;
        const GEOSGeometry *shell = GEOSGetExteriorRing_r(ctx.handle(), g);
        if (!shell)
            ctx.fail("GEOSGetExteriorRing");
        append_path(ctx, shell, out);
        const int holes = GEOSGetNumInteriorRings_r(ctx.handle(), g);
        for (int i = 0; i < holes; ++i) {
            const GEOSGeometry *hole = GEOSGetInteriorRingN_r(ctx.handle(), g, i);
            if (!hole)
                ctx.fail("GEOSGetInteriorRingN");
            append_path(ctx, hole, out);
        }
        break;
    }
    case GEOS_MULTILINESTRING:
    case GEOS_MULTIPOLYGON:
    case GEOS_GEOMETRYCOLLECTION: {
        const int n = GEOSGetNumGeometries_r(ctx.handle(), g);
        for (int i = 0; i < n; ++i)
            append_paths(ctx, GEOSGetGeometryN_r(ctx.handle(), g, i), out);
        break;
    }
    case -1:
        ctx.fail("GEOSGeomTypeId");
    default:
        break;
    }
}

} // namespace

std::vector<std::vector<double>> coordinate_paths(GeosContext &ctx, const GEOSGeometry *g) {
    std::vector<std::vector<double>> out;
    append_paths(ctx, g, out);
    return out;
}

} // namespace qiancun::ffi
