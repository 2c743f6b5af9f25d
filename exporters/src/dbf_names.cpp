#include "qiancun/exporter.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <string_view>
#include <unordered_set>

// The DBF field-name rule (dBASE III: at most 10 bytes; GDAL compares names case-insensitively).
// It is fixed so that a planner gets the same short names from every export, and every export
// also writes `<stem>.fields.csv` with the full → DBF pairs.
//
//  1. A name of at most 10 bytes stays as it is: `households`, `hemei_year`, `source_row`,
//     `updated_at`, `population`, `built_year`, `road_km` need no abbreviation.
//  2. A longer name in kFixed below gets its entry (`service_radius_m` → `svc_rad_m`).
//  3. A longer metric name of SPEC §3, <prefix><type><suffix>, is spelled with a short prefix
//     and a short type key (kTypes: sewage_plant → sew, base_station_5g → 5g,
//     cultural_hall → hall, courier_station → cour, rural_road → road):
//       n_T → n_T,  nearest_T_m → nr_T_m,  area_cov_T → acov_T,  pop_cov_T → pcov_T,
//       cov_T → cov_T,  gap_T → gap_T,  net_nearest_T_m → nnr_T_m,  net_pop_cov_T → npcov_T
//     so area_cov_sewage_plant → acov_sew and net_nearest_cultural_hall_m → nnr_hall_m.
//     A type key not in kTypes (a configured kind) is cut to the room that is left
//     (nearest_water_works_m → nr_water_m).
//  4. Any other name is cut to 10 bytes (never inside a UTF-8 character).
//  5. Names are then made unique, case-insensitively, in two passes: first the names kept
//     by rule 1 (so a name that fits is only changed when another one differs from it in case
//     alone), then the rest, each in input order. A name already taken gets `_1`, `_2`, …
//     in place of its last characters, dropping any `_` the cut leaves at the end:
//     with fields `population`, `population_x` and `population_y`, the last two are cut to
//     `population`, which is taken, and become `populati_1` and `populati_2`; a second
//     `svc_rad_m` becomes `svc_rad_1`.

namespace qiancun::exporters {
namespace {

constexpr std::size_t kMaxBytes = 10;

struct Abbreviation {
    std::string_view full;
    std::string_view short_name;
};

// One entry a line, so that a new name is one line in a diff.
// clang-format off
constexpr std::array kFixed{
    Abbreviation{"service_radius_m", "svc_rad_m"},
    Abbreviation{"village_code", "vill_code"},
    Abbreviation{"source_file", "src_file"},
    Abbreviation{"maintained_year", "maint_yr"},
    Abbreviation{"renovated_year", "renov_yr"},
    Abbreviation{"capacity_m3d", "cap_m3d"},
    Abbreviation{"effluent_ok", "effl_ok"},
    Abbreviation{"road_density", "road_dens"},
    Abbreviation{"hardened_km", "hard_km"},
    Abbreviation{"uncovered_area_km2", "unc_km2"},
    Abbreviation{"uncovered_population", "unc_pop"},
    Abbreviation{"uncovered_settlements", "unc_setl"},
    Abbreviation{"settlement_population", "setl_pop"},
    Abbreviation{"suggested_class", "sugg_class"},
    Abbreviation{"suggested_label", "sugg_label"},
    Abbreviation{"recorded_class", "rec_class"},
};

constexpr std::array kTypes{
    Abbreviation{"sewage_plant", "sew"},
    Abbreviation{"base_station_5g", "5g"},
    Abbreviation{"cultural_hall", "hall"},
    Abbreviation{"courier_station", "cour"},
    Abbreviation{"rural_road", "road"},
};
// clang-format on

struct MetricPattern {
    std::string_view prefix;
    std::string_view suffix;
    std::string_view short_prefix;
};

// Tried in order: the first prefix and suffix that match win.
constexpr std::array kMetrics{
    MetricPattern{"net_nearest_", "_m", "nnr_"}, MetricPattern{"net_pop_cov_", "", "npcov_"},
    MetricPattern{"nearest_", "_m", "nr_"},      MetricPattern{"area_cov_", "", "acov_"},
    MetricPattern{"pop_cov_", "", "pcov_"},      MetricPattern{"cov_", "", "cov_"},
    MetricPattern{"gap_", "", "gap_"},           MetricPattern{"n_", "", "n_"},
};

/// `s` cut to at most `max_bytes` bytes without splitting a UTF-8 sequence.
std::string cut_utf8(std::string_view s, std::size_t max_bytes) {
    if (s.size() <= max_bytes)
        return std::string(s);
    std::size_t end = max_bytes;
    // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80)
        --end;
    return std::string(s.substr(0, end));
}

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return out;
}

std::string metric_name(std::string_view name) {
    for (const auto &m : kMetrics) {
        if (!name.starts_with(m.prefix) || !name.ends_with(m.suffix) ||
            name.size() <= m.prefix.size() + m.suffix.size())
            continue;
        std::string_view type =
            name.substr(m.prefix.size(), name.size() - m.prefix.size() - m.suffix.size());
        const std::size_t room = kMaxBytes - m.short_prefix.size() - m.suffix.size();
        std::string short_type;
        auto known = std::find_if(kTypes.begin(), kTypes.end(),
                                  [&](const Abbreviation &a) { return a.full == type; });
        if (known != kTypes.end()) {
            short_type = std::string(known->short_name);
        } else {
            short_type = cut_utf8(type, room);
            while (!short_type.empty() && short_type.back() == '_')
                short_type.pop_back();
            if (short_type.empty())
                continue;
        }
        return fmt::format("{}{}{}", m.short_prefix, short_type, m.suffix);
    }
    return {};
}

std::string short_name(std::string_view name) {
    auto fixed = std::find_if(kFixed.begin(), kFixed.end(),
                              [&](const Abbreviation &a) { return a.full == name; });
    if (fixed != kFixed.end())
        return std::string(fixed->short_name);
    if (auto metric = metric_name(name); !metric.empty())
        return metric;
    return cut_utf8(name, kMaxBytes);
}

} // namespace

std::vector<std::string> dbf_field_names(const std::vector<std::string> &names) {
    std::vector<std::string> out(names.size());
    std::unordered_set<std::string> taken; // lower-case
    auto claim = [&](std::size_t i, const std::string &wanted) {
        std::string candidate = wanted;
        for (int k = 1; taken.contains(ascii_lower(candidate)); ++k) {
            const std::string tail = fmt::format("_{}", k);
            std::string base = cut_utf8(wanted, kMaxBytes - tail.size());
            while (!base.empty() && base.back() == '_')
                base.pop_back();
            candidate = base + tail;
        }
        taken.insert(ascii_lower(candidate));
        out[i] = candidate;
    };
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i].size() <= kMaxBytes)
            claim(i, names[i]);
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i].size() > kMaxBytes)
            claim(i, short_name(names[i]));
    return out;
}

} // namespace qiancun::exporters
