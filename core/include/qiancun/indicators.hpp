#pragma once

#include "qiancun/config.hpp"
#include "qiancun/registry.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// The plan's core indicators (SPEC §5) computed from the registry as of a date, against the
/// plan's targets. Each indicator has a fixed key so bulletins compare month to month.

namespace qiancun {

/// One indicator of the plan.
struct IndicatorDef {
    std::string key;        ///< "sewage_new"
    std::string unit;       ///< "count", "%" or "km"
    std::string label;      ///< Chinese name as in the plan
    std::string definition; ///< how it is computed, one sentence
    /// Needs the asset statuses on the as-of date (SPEC §5.2 "History"): coverages, effluent and
    /// halls do; the counts of new, renovated and maintained things and the hemei share come
    /// from the years in the data.
    bool needs_statuses = false;
};

/// The ten indicators in bulletin order: sewage_new, sewage_renovated,
/// sewage_village_coverage, sewage_effluent_ok, road_new_km, road_maintained_km,
/// hall_five_star, courier_village_coverage, bs5g_settlement_coverage, retained_hemei_share.
const std::vector<IndicatorDef> &indicator_defs();

/// The target of one indicator: one value, or milestones by year.
struct Target {
    /// Year → value. A single target is stored under year 0. For a bulletin of year Y the
    /// target is the first milestone at Y or later (the next one the county works toward),
    /// else the last one.
    std::map<int, double> milestones;
    std::string basis;       ///< where it comes from
    bool assumption = false; ///< the plan gives no number: a stated planning assumption

    /// The target for a bulletin of `year`; empty when there are no milestones.
    std::optional<double> for_year(int year) const;
};

struct Targets {
    int period_start = 2023; ///< first year of the plan period
    int period_end = 2027;   ///< last year
    std::map<std::string, Target> by_key;

    /// The plan's targets: the text of `default_targets_toml()`.
    static Targets defaults();
    /// `defaults()` overridden by a targets file; throws InputError naming `origin` and the
    /// line for a TOML error, an unknown key or indicator, or a bad value.
    static Targets from_toml(std::string_view text, std::string_view origin);
};

/// The built-in targets file with the plan's numbers and their sources (shipped as
/// sample_maps/targets.toml, printed by `qiancun config --print-targets`).
std::string_view default_targets_toml();

/// SPEC §5.2: met (actual ≥ the target in force), on_track (actual ≥ the expected value, or
/// nothing expected yet), behind, no_data (no actual), no_target (a row without a target).
enum class IndicatorStatus { met, on_track, behind, no_data, no_target };

std::string_view to_string(IndicatorStatus status) noexcept;

/// One indicator for the district or one township.
struct IndicatorValue {
    std::string key;
    std::string township;         ///< "" for the district
    std::optional<double> target; ///< empty: no target (a township's share of a count)
    std::optional<double> actual; ///< empty: no data
    /// The value expected on the as-of date (progress.hpp `expected_value`); empty without a
    /// target or, for a share, before its first milestone's year.
    std::optional<double> expected;
    IndicatorStatus status = IndicatorStatus::no_data;
    /// What the actual is made of, e.g. "236 of 241 villages" or "31 plants"; "" when none.
    std::string detail;
    /// A share only: the things left out of both sides because the value it needs is empty
    /// (SPEC §5.2 "unknown is not failure"): serving plants without an effluent result,
    /// villages without a geometry (coverages), settlements without a population (5G). 0 for
    /// counts and lengths.
    std::int64_t unknown = 0;
};

struct IndicatorOptions {
    std::string as_of; ///< YYYY-MM-DD; "" = today (UTC)
    bool by_township = false;
    int threads = 0; ///< for the coverage metrics; 0 = hardware concurrency
    /// Keys of the indicators to compute, in any order; empty = every one.
    std::vector<std::string> only;
};

struct Bulletin {
    std::string as_of;
    int year = 0;                       ///< of `as_of`
    std::vector<IndicatorValue> values; ///< district rows in indicator_defs() order, then per
                                        ///< township (sorted) the same order
    std::vector<std::string> notes;     ///< assumptions and missing data, one sentence each

    /// Columns indicator, unit, target, expected, actual, status, unknown (with a leading
    /// `township` column when `townships` and any township row exists, its rows then included);
    /// `unknown` is empty for counts and lengths.
    Rows to_rows(bool townships) const;
};

/// Computes the indicators as of `options.as_of`. Indicators that need statuses see the picture
/// on that date: assets present with the status the registry's status history gives for it
/// (Registry::statuses_as_of); "serving" is `config.serving_statuses`. Counts of new, renovated
/// and maintained things come from the years in the data, from `targets.period_start` up to
/// the as-of year (and no later than `period_end`), whatever the import date: a thing counts as
/// new in its built_year unless its status on the date (or, when the registry does not know it
/// then, its current status) is planned or building. Expected values and statuses follow
/// progress.hpp (`expected_value`, `progress_status`).
/// Throws UsageError for a bad date, an unknown key in `options.only`, a registry without a
/// working CRS, or a date before the registry knows the statuses an asked indicator needs
/// (Registry::statuses_known_from), naming that date and how to record an earlier one.
Bulletin compute_indicators(const Registry &registry, const Targets &targets,
                            const MetricsConfig &config, const IndicatorOptions &options = {});

} // namespace qiancun
