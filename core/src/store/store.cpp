#include "store/store.hpp"

#include "ffi/geos.hpp"
#include "qiancun/error.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "qiancun/i18n.hpp"

namespace qiancun::store {

namespace {

[[noreturn]] void needs_postgresql(const Store &store) {
    throw UsageError(
        fmt::format(fmt::runtime(_("{}: database roles and the audit table need a PostgreSQL "
                                   "registry (postgresql://USER@HOST:PORT/DB?schema=NAME); copy "
                                   "the file there first")),
                    store.location().display()));
}

/// Reads 2D WKB, writing SpatiaLite's AsText layout.
class WktWriter {
public:
    explicit WktWriter(std::string_view wkb) : m_wkb(wkb) {}

    std::string write() {
        geometry(true);
        if (m_at != m_wkb.size())
            bad("trailing bytes");
        return std::move(m_out);
    }

private:
    [[noreturn]] void bad(std::string_view what) const {
        throw DatabaseError(
            fmt::format("a stored geometry is not valid WKB ({} at byte {})", what, m_at));
    }

    void need(std::size_t n) const {
        if (m_wkb.size() - m_at < n)
            bad("truncated");
    }

    std::uint8_t byte() {
        need(1);
        return static_cast<std::uint8_t>(m_wkb[m_at++]);
    }

    std::uint32_t uint32(bool little) {
        need(4);
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            const auto b = static_cast<std::uint8_t>(m_wkb[m_at + static_cast<std::size_t>(i)]);
            v |= static_cast<std::uint32_t>(b) << (little ? 8 * i : 8 * (3 - i));
        }
        m_at += 4;
        return v;
    }

    double real(bool little) {
        need(8);
        std::uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) {
            const auto b = static_cast<std::uint8_t>(m_wkb[m_at + static_cast<std::size_t>(i)]);
            bits |= static_cast<std::uint64_t>(b) << (little ? 8 * i : 8 * (7 - i));
        }
        m_at += 8;
        double v = 0;
        std::memcpy(&v, &bits, sizeof v);
        return v;
    }

    void number(double v) {
        std::string s = fmt::format("{:.6f}", v);
        while (s.back() == '0')
            s.pop_back();
        if (s.back() == '.')
            s.pop_back();
        m_out += s == "-0" ? "0" : s;
    }

    void point(bool little) {
        number(real(little));
        m_out += ' ';
        number(real(little));
    }

    void points(bool little) {
        const auto n = uint32(little);
        m_out += '(';
        for (std::uint32_t i = 0; i < n; ++i) {
            if (i)
                m_out += ", ";
            point(little);
        }
        m_out += ')';
    }

    void rings(bool little) {
        const auto n = uint32(little);
        m_out += '(';
        for (std::uint32_t i = 0; i < n; ++i) {
            if (i)
                m_out += ", ";
            points(little);
        }
        m_out += ')';
    }

    /// One geometry; `named` writes its type name (not inside a MULTI*).
    void geometry(bool named) {
        const bool little = byte() == 1;
        const auto type = uint32(little);
        static constexpr const char *kNames[] = {
            "",           "POINT",           "LINESTRING",   "POLYGON",
            "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION"};
        if (type < 1 || type > 7)
            bad(fmt::format("geometry type {}", type));
        if (named)
            m_out += kNames[type];
        switch (type) {
        case 1:
            m_out += '(';
            point(little);
            m_out += ')';
            return;
        case 2:
            points(little);
            return;
        case 3:
            rings(little);
            return;
        default:
            break;
        }
        const auto n = uint32(little);
        m_out += '(';
        for (std::uint32_t i = 0; i < n; ++i) {
            if (i)
                m_out += ", ";
            if (type == 4) {
                const bool part_little = byte() == 1;
                if (uint32(part_little) != 1)
                    bad("a MULTIPOINT part that is no point");
                point(part_little);
            } else {
                geometry(type == 7);
            }
        }
        m_out += ')';
    }

    std::string_view m_wkb;
    std::size_t m_at = 0;
    std::string m_out;
};

} // namespace

std::string list_wkt(std::string_view wkb) {
    return WktWriter(wkb).write();
}

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

std::unordered_map<std::string, std::int64_t>
check_write(const KindDef &kind, std::span<const Feature> features, const ImportRecord &record) {
    const std::string &key = kind.key_field();
    std::unordered_map<std::string, std::int64_t> seen;
    for (const auto &f : features) {
        if (f.values.size() != kind.attributes.size())
            throw Error(
                fmt::format(fmt::runtime(_("feature of row {} has {} values, {} expects {}")),
                            f.row, f.values.size(), kind.key, kind.attributes.size()));
        const auto *k = std::get_if<std::string>(&f.values.front());
        if (!k || k->empty())
            throw InputError(record.source, record.layer, f.row,
                             fmt::format(fmt::runtime(_("{} is empty")), key));
        auto [it, inserted] = seen.emplace(*k, f.row);
        if (!inserted)
            throw InputError(
                record.source, record.layer, f.row,
                fmt::format(fmt::runtime(_("{} '{}' appears twice in the source (rows {} and {})")),
                            key, *k, it->second, f.row));
    }
    if (!record.effective_date.empty() && !is_iso_date(record.effective_date))
        throw UsageError(
            fmt::format(fmt::runtime(_("effective date '{}' is not a date YYYY-MM-DD")),
                        record.effective_date));
    return seen;
}

WriteStamp write_stamp(const ImportRecord &record) {
    WriteStamp w{now_utc(), record.effective_date};
    if (w.valid_from.empty())
        w.valid_from = w.stamp.substr(0, 10);
    return w;
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
    case GeometryKind::none:
        return "NONE";
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
        throw Error(_("cannot read the type of a point-or-polygon geometry"));
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

Presence presence(const Location &location) {
    if (location.is_postgresql())
        return presence_postgis(location);
    std::error_code ec;
    return std::filesystem::exists(location.path(), ec) ? Presence::something : Presence::nothing;
}

void remove_made(const Location &location, Presence before) noexcept {
    if (before == Presence::something)
        return;
    try {
        if (location.is_postgresql()) {
            remove_made_postgis(location, before);
            return;
        }
        std::error_code ec;
        for (const char *suffix : {"", "-journal", "-wal", "-shm"})
            std::filesystem::remove(location.path().string() + suffix, ec);
    } catch (...) {
        // Best effort: the caller reports the failure that led here.
    }
}

std::unique_ptr<Store> create(const Location &location, const std::optional<crs::Definition> &crs) {
    if (location.is_postgresql())
        return create_postgis(location, crs);
    return create_spatialite(location.path(), crs);
}

} // namespace qiancun::store
