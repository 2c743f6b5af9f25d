#include "qiancun/check.hpp"

#include "ffi/geos.hpp"
#include "qiancun/error.hpp"
#include "qiancun/network.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include "qiancun/i18n.hpp"

namespace qiancun {

namespace {

/// `s` without leading and trailing spaces (U+0020 only).
std::string_view trim_spaces(std::string_view s) {
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    return s;
}

/// UTF-8 → code points; an invalid byte stands for itself, so any text decodes.
std::u32string decode_utf8(std::string_view s) {
    std::u32string out;
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const int n = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xE  ? 3
                      : (c >> 3) == 0x1E ? 4
                                         : 0;
        bool ok = n > 0 && i + static_cast<std::size_t>(n) <= s.size();
        char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
        for (int k = 1; ok && k < n; ++k) {
            const auto d = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
            ok = (d & 0xC0) == 0x80;
            cp = (cp << 6) | (d & 0x3F);
        }
        if (!ok) {
            out.push_back(c);
            ++i;
            continue;
        }
        out.push_back(cp);
        i += static_cast<std::size_t>(n);
    }
    return out;
}

std::string encode_utf8(const std::u32string &s) {
    std::string out;
    for (const char32_t cp : s) {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }
    return out;
}

/// Whitespace or punctuation: ASCII, Latin-1 and general punctuation, the CJK symbols block
/// (U+3000–U+303F: 、。〈〉《》「」【】 and the ideographic space) and the full-width forms of
/// ASCII punctuation (（），：； …).
bool is_separator(char32_t c) {
    if (c < 0x80)
        return c <= 0x20 || c == 0x7F || (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) ||
               (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
    return (c >= 0xA0 && c <= 0xBF) || c == 0xB7 || (c >= 0x2000 && c <= 0x206F) ||
           (c >= 0x3000 && c <= 0x303F) || c == 0x30FB || (c >= 0xFF01 && c <= 0xFF0F) ||
           (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) ||
           (c >= 0xFF5B && c <= 0xFF65);
}

std::u32string normalized(std::string_view name) {
    std::u32string out;
    for (char32_t c : decode_utf8(name)) {
        if (c >= 0xFF01 && c <= 0xFF5E && !is_separator(c))
            c -= 0xFEE0; // full-width letters and digits → ASCII
        if (is_separator(c))
            continue;
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        out.push_back(c);
    }
    static const std::array<std::u32string, 5> kSuffixes{U"服务站", U"服务点", U"站点", U"站",
                                                         U"点"};
    for (const auto &suffix : kSuffixes)
        if (out.size() > suffix.size() && out.ends_with(suffix)) {
            out.resize(out.size() - suffix.size());
            break;
        }
    return out;
}

bool is_digit(char32_t c) {
    return (c >= '0' && c <= '9') || c == U'〇' || c == U'一' || c == U'二' || c == U'三' ||
           c == U'四' || c == U'五' || c == U'六' || c == U'七' || c == U'八' || c == U'九' ||
           c == U'十';
}

/// True when `a` and `b` are one insertion, deletion or substitution apart and the character
/// involved is not a digit.
bool one_edit_apart(const std::u32string &a, const std::u32string &b) {
    const std::u32string &longer = a.size() >= b.size() ? a : b;
    const std::u32string &shorter = a.size() >= b.size() ? b : a;
    if (longer.size() - shorter.size() > 1)
        return false;
    std::size_t i = 0;
    while (i < shorter.size() && shorter[i] == longer[i])
        ++i;
    if (longer.size() == shorter.size()) {
        if (i == shorter.size())
            return false; // equal
        return longer.compare(i + 1, std::u32string::npos, shorter, i + 1) == 0 &&
               !is_digit(longer[i]) && !is_digit(shorter[i]);
    }
    return longer.compare(i + 1, std::u32string::npos, shorter, i) == 0 && !is_digit(longer[i]);
}

std::string trimmed(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return {};
    return std::string(s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1));
}

std::string metres(double m) {
    return fmt::format(fmt::runtime(_("{:.1f} m")), m);
}

/// "check: why it was skipped", the check named as message_name names it.
std::string skipped(std::string_view check, const char *why) {
    const auto &defs = check_defs();
    const auto d =
        std::find_if(defs.begin(), defs.end(), [&](const CheckDef &c) { return c.key == check; });
    return fmt::format(fmt::runtime(_("{}: {}")), message_name(d->key, d->label_zh), why);
}

} // namespace

const std::vector<CheckDef> &check_defs() {
    static const std::vector<CheckDef> defs{
        {"duplicate_asset", "疑似重复设施",
         "two assets of a kind within 50 m with the same or a near-same name"},
        {"outside_villages", "设施不在任何行政村内", "an asset outside every village"},
        {"village_without_settlements", "行政村无自然村", "a village with no settlement in it"},
        {"village_without_population", "行政村无人口数",
         "a village whose population is empty or 0"},
        {"plant_without_effluent", "运行设施无出水检测结果",
         "a serving sewage plant without an effluent result"},
        {"road_disconnected", "路段未接入路网",
         "a serving road in a piece not connected to the main network"},
        {"settlement_off_road", "自然村远离道路",
         "a settlement farther than the off-road cap from every serving road"},
    };
    return defs;
}

Rows CheckReport::to_rows() const {
    Rows rows;
    rows.columns = {"check", "kind", "id", "village_code", "detail", "value"};
    for (const auto &f : findings)
        rows.rows.push_back(
            {f.check, f.kind, f.id, f.village_code, f.detail, f.value ? Value{*f.value} : Value{}});
    return rows;
}

std::vector<std::pair<std::string, std::int64_t>> CheckReport::counts() const {
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (const auto &d : check_defs())
        out.emplace_back(d.key, std::count_if(findings.begin(), findings.end(),
                                              [&](const Finding &f) { return f.check == d.key; }));
    return out;
}

std::string normalized_name(std::string_view name) {
    return encode_utf8(normalized(name));
}

bool near_same_name(std::string_view a, std::string_view b) {
    const auto na = normalized(a);
    const auto nb = normalized(b);
    if (na.empty() || nb.empty())
        return false;
    if (na == nb)
        return true;
    return na.size() >= 4 && nb.size() >= 4 && one_edit_apart(na, nb);
}

std::vector<DuplicatePair> likely_duplicates(const Registry &registry, std::string_view kind_key,
                                             double within_m) {
    const KindDef &kind = registry.kind(kind_key);
    std::vector<DuplicatePair> out;
    if (!kind.is_asset() || kind.attribute_index("name") < 0 || !registry.has_table(kind.key))
        return out;
    struct Item {
        std::string id;
        std::string name;
        ffi::GeosGeometry geom;
        double minx, miny, maxx, maxy;
    };
    auto &ctx = ffi::geos_context();
    std::vector<Item> items;
    registry.scan(
        {.table = kind.key,
         .columns = {"id", "name"},
         .wkb = true,
         .bbox = true,
         .where = {ScanCondition::not_null("geom"), ScanCondition::not_null("name")},
         .order_by = {"id"}},
        [&](const ScanRow &r) {
            const std::string name = r.text(1);
            if (trim_spaces(name).empty() || !r.bbox)
                return;
            const auto &b = *r.bbox;
            items.push_back({r.text(0), name, ffi::read_wkb(ctx, r.wkb), b[0], b[1], b[2], b[3]});
        });
    // A sweep along x over the bounding boxes grown by the distance.
    std::sort(items.begin(), items.end(),
              [](const Item &a, const Item &b) { return a.minx < b.minx; });
    for (std::size_t i = 0; i < items.size(); ++i) {
        for (std::size_t j = i + 1; j < items.size() && items[j].minx <= items[i].maxx + within_m;
             ++j) {
            const Item &a = items[i];
            const Item &b = items[j];
            if (b.miny > a.maxy + within_m || a.miny > b.maxy + within_m)
                continue;
            const bool same = trimmed(a.name) == trimmed(b.name);
            if (!same && !near_same_name(a.name, b.name))
                continue;
            const double d = ffi::distance(ctx, a.geom.get(), b.geom.get());
            if (d > within_m)
                continue;
            const bool a_first = a.id < b.id;
            const Item &x = a_first ? a : b;
            const Item &y = a_first ? b : a;
            out.push_back({kind.key, x.id, y.id, x.name, y.name, d, same});
        }
    }
    std::sort(out.begin(), out.end(), [](const DuplicatePair &p, const DuplicatePair &q) {
        return std::tie(p.id_a, p.id_b) < std::tie(q.id_a, q.id_b);
    });
    return out;
}

CheckReport check_registry(const Registry &registry, const MetricsConfig &config,
                           const CheckOptions &options) {
    if (!registry.working_epsg())
        throw UsageError(
            fmt::format(fmt::runtime(_("{} has no working CRS yet")), registry.display()));
    CheckReport report;
    std::map<std::string, std::vector<Finding>> by_check;
    // village_code of an asset or settlement, for the findings about it.
    auto village_of = [&](const std::string &table, const std::string &id) {
        std::string code;
        registry.scan({.table = table,
                       .columns = {"village_code"},
                       .where = {ScanCondition::eq("id", id)},
                       .limit = 1},
                      [&](const ScanRow &r) { code = r.text(0); });
        return code;
    };

    // Likely duplicates, one finding per pair on its first id.
    for (const auto &k : registry.kinds()) {
        if (!k.is_asset())
            continue;
        for (const auto &p : likely_duplicates(registry, k.key, options.duplicate_distance_m))
            by_check["duplicate_asset"].push_back(
                {"duplicate_asset", k.key, p.id_a, village_of(k.key, p.id_a),
                 fmt::format(fmt::runtime(p.same_name ? _("same name as {} ({}), {} apart")
                                                      : _("near-same name as {} ({}), {} apart")),
                             p.id_b, p.name_b, metres(p.distance_m)),
                 p.distance_m});
    }

    const std::int64_t villages = registry.count("village");
    if (villages == 0) {
        report.skipped.push_back(skipped("outside_villages", _("no villages in the registry")));
    } else {
        for (const auto &k : registry.kinds()) {
            if (!k.is_asset() || k.geometry == GeometryKind::line || !registry.has_table(k.key))
                continue;
            registry.scan(
                {.table = k.key,
                 .columns = {"id"},
                 .where = {ScanCondition::null("village_code"), ScanCondition::not_null("geom")},
                 .order_by = {"id"}},
                [&](const ScanRow &r) {
                    by_check["outside_villages"].push_back(
                        {"outside_villages", k.key, r.text(0), "", _("outside every village"), {}});
                });
        }
    }

    if (villages > 0) {
        std::map<std::string, std::int64_t> settlements_in; // per village code
        if (registry.has_table("settlement"))
            registry.scan({.table = "settlement",
                           .columns = {"village_code"},
                           .where = {ScanCondition::not_null("village_code")}},
                          [&](const ScanRow &r) { ++settlements_in[r.text(0)]; });
        registry.scan({.table = "village", .columns = {"code", "population"}, .order_by = {"code"}},
                      [&](const ScanRow &r) {
                          const std::string code = r.text(0);
                          if (!settlements_in.count(code))
                              by_check["village_without_settlements"].push_back(
                                  {"village_without_settlements",
                                   "village",
                                   code,
                                   code,
                                   _("no settlement"),
                                   {}});
                          const auto population = r.number(1);
                          if (r.is_null(1) || population.value_or(0.0) <= 0.0)
                              by_check["village_without_population"].push_back(
                                  {"village_without_population",
                                   "village",
                                   code,
                                   code,
                                   r.is_null(1) ? _("population empty") : _("population 0"),
                                   {}});
                      });
    }

    if (registry.has_table("sewage_plant"))
        registry.scan(
            {.table = "sewage_plant",
             .columns = {"id", "status", "village_code"},
             .where = {ScanCondition::null("effluent_ok")},
             .order_by = {"id"}},
            [&](const ScanRow &r) {
                const std::string status = r.text(1);
                if (config.serves(status))
                    by_check["plant_without_effluent"].push_back(
                        {"plant_without_effluent",
                         "sewage_plant",
                         r.text(0),
                         r.text(2),
                         fmt::format(fmt::runtime(_("{}, effluent_ok empty")),
                                     translate_in_context("asset status", status.c_str())),
                         {}});
            });

    const network::RoadGraph graph = build_road_graph(registry, config);
    if (graph.edge_count() == 0) {
        report.skipped.push_back(
            skipped("road_disconnected", _("no serving road in the registry")));
        report.skipped.push_back(
            skipped("settlement_off_road", _("no serving road in the registry")));
    } else {
        const auto pieces = graph.components();
        std::set<std::string> reported;
        for (std::size_t c = 1; c < pieces.size(); ++c) {
            std::set<std::string> roads;
            for (const auto e : pieces[c].edges)
                roads.insert(graph.edge(e).road_id);
            for (const auto &id : roads) {
                if (!reported.insert(id).second)
                    continue;
                by_check["road_disconnected"].push_back(
                    {"road_disconnected", "rural_road", id, "",
                     fmt::format(fmt::runtime(_("in a piece of {} road(s), {:.3f} km, not joined "
                                                "to the main network ({:.3f} km)")),
                                 roads.size(), pieces[c].length_m / 1000.0,
                                 pieces[0].length_m / 1000.0),
                     pieces[c].length_m / 1000.0});
            }
        }
        if (registry.has_table("settlement"))
            registry.scan({.table = "settlement",
                           .columns = {"id", "village_code"},
                           .xy = true,
                           .where = {ScanCondition::not_null("geom")},
                           .order_by = {"id"}},
                          [&](const ScanRow &r) {
                              if (!r.xy)
                                  return;
                              const auto at = graph.attach({r.xy->first, r.xy->second});
                              if (!at || graph.within_cap(*at))
                                  return;
                              by_check["settlement_off_road"].push_back(
                                  {"settlement_off_road", "settlement", r.text(0), r.text(1),
                                   fmt::format(fmt::runtime(_("{} from the nearest serving road "
                                                              "(cap {})")),
                                               metres(at->leg_m), metres(config.offroad_cap_m)),
                                   at->leg_m});
                          });
    }

    for (const auto &d : check_defs()) {
        auto &found = by_check[d.key];
        std::stable_sort(found.begin(), found.end(), [](const Finding &a, const Finding &b) {
            return std::tie(a.kind, a.id) < std::tie(b.kind, b.id);
        });
        report.findings.insert(report.findings.end(), found.begin(), found.end());
    }
    return report;
}

} // namespace qiancun
