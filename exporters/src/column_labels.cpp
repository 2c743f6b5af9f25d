#include "qiancun/column_labels.hpp"

#include "qiancun/chinese_catalogue.hpp"

#include <fmt/format.h>

#include "qiancun/i18n.hpp"

namespace qiancun::exporters {

namespace {

/// The column keys of qiancun's tables, marked for the catalogue.
[[maybe_unused]] const char *const kColumns[] = {
    NC_("column", "code"),
    NC_("column", "name"),
    NC_("column", "township"),
    NC_("column", "suggested_class"),
    NC_("column", "rule"),
    NC_("column", "reason"),
    NC_("column", "recorded_class"),
    NC_("column", "mismatch"),
    NC_("column", "urban_distance_m"),
    NC_("column", "population"),
    NC_("column", "settlements"),
    NC_("column", "density"),
    NC_("column", "completeness"),
    NC_("column", "heritage"),
    NC_("column", "hazard_share"),
    NC_("column", "road_access_m"),
    NC_("column", "road_km"),
    NC_("column", "hardened_km"),
    NC_("column", "road_density"),
    NC_("column", "cov"),
    NC_("column", "uncovered_area_km2"),
    NC_("column", "uncovered_population"),
    NC_("column", "uncovered_settlements"),
    NC_("column", "id"),
    NC_("column", "village_code"),
    NC_("column", "nearest_m"),
    NC_("column", "indicator"),
    NC_("column", "unit"),
    NC_("column", "target"),
    NC_("column", "expected"),
    NC_("column", "actual"),
    NC_("column", "status"),
    NC_("column", "unknown"),
    NC_("column", "compare_actual"),
    NC_("column", "change"),
    NC_("column", "check"),
    NC_("column", "kind"),
    NC_("column", "detail"),
    NC_("column", "value"),
    NC_("column", "findings"),
    NC_("column", "label"),
    NC_("column", "facility"),
    NC_("column", "reach_m"),
    NC_("column", "reach_min"),
    NC_("column", "leg_m"),
    NC_("column", "on_network"),
    NC_("column", "area_km2"),
    NC_("column", "type"),
    NC_("column", "radius_m"),
    NC_("column", "threshold"),
    NC_("column", "villages"),
    NC_("column", "gaps"),
    NC_("column", "mean_cov"),
    NC_("column", "uncovered_population_in_gaps"),
    NC_("column", "layer"),
    NC_("column", "geometry"),
    NC_("column", "count"),
    NC_("column", "extent"),
    NC_("column", "imported_at"),
    NC_("column", "source"),
    NC_("column", "read"),
    NC_("column", "new"),
    NC_("column", "updated"),
    NC_("column", "repaired"),
    NC_("column", "suggested"),
    NC_("column", "recorded"),
    NC_("column", "mismatches"),
    NC_("column", "total"),
    NC_("column", "class"),
    NC_("column", "rank"),
    NC_("column", "candidate"),
    NC_("column", "added_population"),
    NC_("column", "cumulative_population"),
    NC_("column", "added_villages"),
    NC_("column", "department"),
    NC_("column", "targets"),
    NC_("column", "met"),
    NC_("column", "behind"),
    NC_("column", "share_met"),
    NC_("column", "service_radius_m"),
    NC_("column", "source_file"),
    NC_("column", "source_row"),
    NC_("column", "updated_at"),
    NC_("column", "capacity_m3d"),
    NC_("column", "effluent_ok"),
    NC_("column", "built_year"),
    NC_("column", "renovated_year"),
    NC_("column", "maintained_year"),
    NC_("column", "grade"),
    NC_("column", "surface"),
    NC_("column", "band"),
    NC_("column", "operator"),
    NC_("column", "stars"),
    NC_("column", "level"),
    NC_("column", "households"),
    NC_("column", "hemei_year"),
    NC_("column", "seat_x"),
    NC_("column", "seat_y"),
    NC_("column", "field"),
    NC_("column", "as read without encoding"),
    NC_("column", "samples"),
    NC_("column", "attribute"),
    NC_("column", "matched by"),
    NC_("column", "piece"),
    NC_("column", "edges"),
    NC_("column", "km"),
    NC_("column", "table"),
    NC_("column", "rows"),
    NC_("column", "role"),
    NC_("column", "access"),
    NC_("column", "kinds"),
    NC_("column", "townships"),
    NC_("column", "at"),
    NC_("column", "operation"),
};

/// How inspect says an attribute found its field: by an option, its name or its label.
[[maybe_unused]] const char *const kMatchWords[] = {
    NC_("matched by", "option"),
    NC_("matched by", "name"),
    NC_("matched by", "label"),
};

/// The statuses of SPEC §2, the words people read for the keys (the classes of SPEC §4 are
/// core's: village_class_name).
[[maybe_unused]] const char *const kValueWords[] = {
    NC_("asset status", "planned"),   NC_("asset status", "building"),
    NC_("asset status", "operating"), NC_("asset status", "renovating"),
    NC_("asset status", "closed"),
};

/// Per-type columns: prefix, suffix and the header with `{type}` for the type's name; longer
/// prefixes first so that net_nearest_ wins over nearest_.
struct TypeColumn {
    std::string_view prefix;
    std::string_view suffix;
    const char *header;
};
const TypeColumn kTypeColumns[] = {
    {"net_nearest_", "_m", NC_("column", "net_nearest_{type}_m")},
    {"net_pop_cov_", "", NC_("column", "net_pop_cov_{type}")},
    {"nearest_", "_m", NC_("column", "nearest_{type}_m")},
    {"area_cov_", "", NC_("column", "area_cov_{type}")},
    {"pop_cov_", "", NC_("column", "pop_cov_{type}")},
    {"cov_", "", NC_("column", "cov_{type}")},
    {"gap_", "", NC_("column", "gap_{type}")},
    {"n_", "", NC_("column", "n_{type}")},
};

std::string label_of(std::string_view key, const KindLabels &kinds) {
    const std::string k(key);
    const char *known = translate_in_context("column", k.c_str());
    if (known != k.c_str())
        return known;
    for (const auto &c : kTypeColumns) {
        if (key.size() <= c.prefix.size() + c.suffix.size() ||
            key.substr(0, c.prefix.size()) != c.prefix ||
            key.substr(key.size() - c.suffix.size()) != c.suffix)
            continue;
        const auto type =
            key.substr(c.prefix.size(), key.size() - c.prefix.size() - c.suffix.size());
        const auto kind = kinds.find(type);
        if (kind == kinds.end())
            continue;
        const char *header = translate_in_context("column", c.header);
        // Without the catalogue (a program that bound none) the key stays the header.
        if (header == c.header)
            return k;
        return fmt::format(fmt::runtime(header), fmt::arg("type", kind->second));
    }
    return k;
}

} // namespace

std::string chinese_column_label(std::string_view key, const KindLabels &kinds) {
    const ChineseCatalogue zh;
    return label_of(key, kinds);
}

std::string column_label(std::string_view key, const KindLabels &kinds) {
    return label_of(key, kinds);
}

std::vector<std::string> chinese_column_labels(const std::vector<std::string> &keys,
                                               const KindLabels &kinds) {
    const ChineseCatalogue zh;
    std::vector<std::string> out;
    out.reserve(keys.size());
    for (const auto &k : keys)
        out.push_back(label_of(k, kinds));
    return out;
}

} // namespace qiancun::exporters
