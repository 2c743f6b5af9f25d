#include "metrics/basis.hpp"

#include "qiancun/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>

#include "qiancun/i18n.hpp"

namespace qiancun::metrics {

namespace {

constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

void fnv(std::uint64_t &h, std::string_view bytes) {
    for (const char c : bytes) {
        h ^= static_cast<unsigned char>(c);
        h *= kFnvPrime;
    }
}

template <class T> void fnv_value(std::uint64_t &h, const T &v) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &v, sizeof(T));
    fnv(h, std::string_view(bytes, sizeof(T)));
}

/// Text cells are escaped so that a tab or a line end inside one never splits it.
void put_text(std::string &out, std::string_view text) {
    for (const char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\t')
            out += "\\t";
        else if (c == '\n')
            out += "\\n";
        else if (c == '\r')
            out += "\\r";
        else
            out += c;
    }
}

void put_double(std::string &out, double v) {
    fmt::format_to(std::back_inserter(out), "{}", v); // shortest form that reads back exactly
}

void put_optional(std::string &out, const std::optional<double> &v) {
    if (v)
        put_double(out, *v);
}

/// Reads the cells of text written by the put_ functions, one line at a time.
class Reader {
public:
    Reader(std::string_view text, std::string_view what) : m_text(text), m_what(what) {}

    bool next_line() {
        if (m_pos >= m_text.size())
            return false;
        const auto end = m_text.find('\n', m_pos);
        m_line = m_text.substr(m_pos, end == std::string_view::npos ? end : end - m_pos);
        m_pos = end == std::string_view::npos ? m_text.size() : end + 1;
        m_cell = 0;
        ++m_line_no;
        return true;
    }
    bool at_end_of_line() const { return m_cell > m_line.size(); }

    std::string_view raw() {
        if (m_cell > m_line.size())
            fail(_("too few cells"));
        const auto end = m_line.find('\t', m_cell);
        const auto cell = m_line.substr(m_cell, end == std::string_view::npos ? end : end - m_cell);
        m_cell = end == std::string_view::npos ? m_line.size() + 1 : end + 1;
        return cell;
    }
    std::string text() {
        const auto cell = raw();
        std::string out;
        out.reserve(cell.size());
        for (std::size_t i = 0; i < cell.size(); ++i) {
            if (cell[i] != '\\' || i + 1 == cell.size()) {
                out += cell[i];
                continue;
            }
            const char e = cell[++i];
            out += e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e;
        }
        return out;
    }
    double real() {
        const auto cell = raw();
        double v = 0.0;
        const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
        if (ec != std::errc() || end != cell.data() + cell.size())
            fail(fmt::format(fmt::runtime(_("'{}' is no number")), cell));
        return v;
    }
    std::optional<double> optional_real() {
        if (m_cell <= m_line.size() && (m_cell == m_line.size() || m_line[m_cell] == '\t')) {
            raw();
            return std::nullopt;
        }
        return real();
    }
    template <class Int> Int integer(int base = 10) {
        const auto cell = raw();
        Int v = 0;
        const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v, base);
        if (ec != std::errc() || end != cell.data() + cell.size())
            fail(fmt::format(fmt::runtime(_("'{}' is no integer")), cell));
        return v;
    }
    [[noreturn]] void fail(const std::string &problem) const {
        throw Error(fmt::format(
            fmt::runtime(_("stored metrics basis ({}), line {}: {}; run 'qiancun metrics "
                           "--full' to compute it again")),
            m_what, m_line_no, problem));
    }

private:
    std::string_view m_text;
    std::string_view m_what;
    std::string_view m_line;
    std::size_t m_pos = 0;
    std::size_t m_cell = 0;
    std::size_t m_line_no = 0;
};

} // namespace

bool AssetStamp::operator==(const AssetStamp &o) const {
    return radius_m == o.radius_m && hardened == o.hardened && shape == o.shape &&
           village_code == o.village_code &&
           extent.min_corner().get<0>() == o.extent.min_corner().get<0>() &&
           extent.min_corner().get<1>() == o.extent.min_corner().get<1>() &&
           extent.max_corner().get<0>() == o.extent.max_corner().get<0>() &&
           extent.max_corner().get<1>() == o.extent.max_corner().get<1>();
}

AssetSnapshot snapshot_of(const AssetLayer &layer) {
    AssetSnapshot out;
    out.reserve(layer.assets.size());
    for (const AssetRecord &a : layer.assets) {
        AssetStamp s;
        s.radius_m = a.radius_m;
        s.hardened = a.hardened;
        s.extent = a.extent;
        s.shape = kFnvOffset;
        if (a.is_point) {
            fnv_value(s.shape, a.x);
            fnv_value(s.shape, a.y);
        } else {
            fnv(s.shape, a.wkb);
        }
        s.village_code = a.village_code;
        out.emplace(a.id, std::move(s));
    }
    return out;
}

std::string encode_snapshot(const AssetSnapshot &snapshot) {
    std::vector<const AssetSnapshot::value_type *> order;
    order.reserve(snapshot.size());
    for (const auto &entry : snapshot)
        order.push_back(&entry);
    std::sort(order.begin(), order.end(), [](auto *a, auto *b) { return a->first < b->first; });
    std::string out;
    out.reserve(snapshot.size() * 96);
    for (const auto *entry : order) {
        const AssetStamp &s = entry->second;
        put_text(out, entry->first);
        out += '\t';
        put_double(out, s.radius_m);
        out += s.hardened ? "\t1\t" : "\t0\t";
        put_double(out, s.extent.min_corner().get<0>());
        out += '\t';
        put_double(out, s.extent.min_corner().get<1>());
        out += '\t';
        put_double(out, s.extent.max_corner().get<0>());
        out += '\t';
        put_double(out, s.extent.max_corner().get<1>());
        fmt::format_to(std::back_inserter(out), "\t{:x}\t", s.shape);
        put_text(out, s.village_code);
        out += '\n';
    }
    return out;
}

AssetSnapshot decode_snapshot(std::string_view text, std::string_view what) {
    AssetSnapshot out;
    Reader r(text, what);
    while (r.next_line()) {
        std::string id = r.text();
        AssetStamp s;
        s.radius_m = r.real();
        s.hardened = r.integer<int>() != 0;
        const double x0 = r.real(), y0 = r.real(), x1 = r.real(), y1 = r.real();
        s.extent = Box(Point(x0, y0), Point(x1, y1));
        s.shape = r.integer<std::uint64_t>(16);
        s.village_code = r.text();
        if (!out.emplace(std::move(id), std::move(s)).second)
            r.fail(_("an asset appears twice"));
    }
    return out;
}

std::vector<AssetStamp> changed_assets(const AssetSnapshot &before, const AssetSnapshot &after) {
    std::vector<std::pair<std::string, const AssetStamp *>> changed;
    for (const auto &[id, old] : before) {
        const auto it = after.find(id);
        if (it == after.end() || !(it->second == old))
            changed.emplace_back(id, &old);
    }
    for (const auto &[id, now] : after) {
        const auto it = before.find(id);
        if (it == before.end() || !(it->second == now))
            changed.emplace_back(id, &now);
    }
    std::stable_sort(changed.begin(), changed.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    std::vector<AssetStamp> out;
    out.reserve(changed.size());
    for (const auto &c : changed)
        out.push_back(*c.second);
    return out;
}

SettlementStamps settlement_stamps(const Registry &registry) {
    SettlementStamps stamps;
    if (!registry.has_table("settlement"))
        return stamps;
    // The rows and the order load_dataset reads.
    registry.scan(
        {.table = "settlement",
         .columns = {"id", "population", "village_code"},
         .xy = true,
         .where = {ScanCondition::not_null("geom"), ScanCondition::not_null("village_code")},
         .order_by = {"id"}},
        [&](const ScanRow &r) {
            if (!r.xy)
                return;
            auto [it, fresh] = stamps.try_emplace(r.text(2), kFnvOffset);
            std::uint64_t &h = it->second;
            fnv(h, r.text(0));
            fnv(h, std::string_view("\0", 1));
            fnv_value(h, std::max<std::int64_t>(0, r.integer(1).value_or(0)));
            fnv_value(h, r.xy->first);
            fnv_value(h, r.xy->second);
        });
    return stamps;
}

std::string encode_settlement_stamps(const SettlementStamps &stamps) {
    std::string out;
    for (const auto &[code, h] : stamps) {
        put_text(out, code);
        fmt::format_to(std::back_inserter(out), "\t{:x}\n", h);
    }
    return out;
}

SettlementStamps decode_settlement_stamps(std::string_view text, std::string_view what) {
    SettlementStamps out;
    Reader r(text, what);
    while (r.next_line()) {
        std::string code = r.text();
        out[std::move(code)] = r.integer<std::uint64_t>(16);
    }
    return out;
}

std::string encode_table(const MetricsTable &table) {
    std::string out;
    out += table.network ? "1" : "0";
    for (const auto &t : table.types) {
        out += '\t';
        put_text(out, t);
    }
    out += '\n';
    for (const VillageMetrics &v : table.villages) {
        put_text(out, v.code);
        out += '\t';
        put_text(out, v.name);
        out += '\t';
        put_text(out, v.township);
        out += '\t';
        put_double(out, v.area_m2);
        fmt::format_to(std::back_inserter(out), "\t{}\t", v.settlement_population);
        put_double(out, v.road_km);
        out += '\t';
        put_double(out, v.hardened_km);
        out += '\t';
        put_double(out, v.road_density);
        for (const TypeMetrics &m : v.types) {
            fmt::format_to(std::back_inserter(out), "\t{}\t", m.n);
            put_optional(out, m.nearest_m);
            out += '\t';
            put_double(out, m.area_cov);
            out += '\t';
            put_optional(out, m.pop_cov);
            out += '\t';
            put_double(out, m.cov);
            fmt::format_to(std::back_inserter(out), "\t{}\t{}\t", m.gap ? 1 : 0,
                           m.uncovered_population);
            put_optional(out, m.net_nearest_m);
            out += '\t';
            put_optional(out, m.net_pop_cov);
        }
        out += '\n';
    }
    return out;
}

MetricsTable decode_table(std::string_view text, std::string_view what) {
    MetricsTable table;
    Reader r(text, what);
    if (!r.next_line())
        r.fail(_("no header"));
    table.network = r.integer<int>() != 0;
    while (!r.at_end_of_line())
        table.types.push_back(r.text());
    while (r.next_line()) {
        VillageMetrics v;
        v.code = r.text();
        v.name = r.text();
        v.township = r.text();
        v.area_m2 = r.real();
        v.settlement_population = r.integer<std::int64_t>();
        v.road_km = r.real();
        v.hardened_km = r.real();
        v.road_density = r.real();
        v.types.resize(table.types.size());
        for (TypeMetrics &m : v.types) {
            m.n = r.integer<std::int64_t>();
            m.nearest_m = r.optional_real();
            m.area_cov = r.real();
            m.pop_cov = r.optional_real();
            m.cov = r.real();
            m.gap = r.integer<int>() != 0;
            m.uncovered_population = r.integer<std::int64_t>();
            m.net_nearest_m = r.optional_real();
            m.net_pop_cov = r.optional_real();
        }
        if (!r.at_end_of_line())
            r.fail(_("too many cells"));
        table.villages.push_back(std::move(v));
    }
    return table;
}

} // namespace qiancun::metrics
