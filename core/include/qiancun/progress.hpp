#pragma once

#include "qiancun/indicators.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// Progress against the plan (SPEC §5.2): the value expected on a date, the status of an
/// indicator, the behind-schedule warnings and the township ranking of the monthly bulletin.

namespace qiancun {

/// The value of `target` expected at the end of the day `as_of` (YYYY-MM-DD). It runs linearly
/// in days from the previous milestone to the next one, reached at the end of its year; a
/// single target is the milestone of `period_end`. A `cumulative` indicator (a count or a
/// length) starts from 0 at the start of `period_start`; a share has no start value, so before
/// the year of its first milestone there is no expected value (empty) and in that year the
/// milestone itself is expected. After the last milestone's year the last value is expected.
/// Empty when `target` has no milestones. Throws UsageError for a date that is not YYYY-MM-DD.
std::optional<double> expected_value(const Target &target, bool cumulative, std::string_view as_of,
                                     int period_start, int period_end);

/// The status of one indicator row: no_target without a target; no_data without an actual;
/// met when actual ≥ target; on_track when actual ≥ expected or nothing is expected yet;
/// behind when actual < expected.
IndicatorStatus progress_status(const std::optional<double> &actual,
                                const std::optional<double> &target,
                                const std::optional<double> &expected);

/// One indicator behind schedule.
struct BehindWarning {
    IndicatorValue value;      ///< the row (district or township)
    double behind_by = 0.0;    ///< expected − actual, in the indicator's unit
    double behind_share = 0.0; ///< behind_by / expected, 0–1 (1 when nothing was expected…
                               ///< but something is: never, as expected > actual ≥ 0)
};

/// Every `behind` row of `bulletin` (district first, then townships), each group by
/// behind_share, largest first, then by key.
std::vector<BehindWarning> behind_schedule(const Bulletin &bulletin);

/// One township of the ranking (the plan's monthly 晾晒).
struct TownshipRank {
    std::string township;
    int targets = 0;             ///< rows with a target and an actual
    int met = 0;                 ///< of which met
    int behind = 0;              ///< of which behind
    std::optional<double> share; ///< met / targets, 0–1; empty without targets
    std::optional<int> rank;     ///< 1 = best; equal shares share a rank (1, 2, 2, 4)
};

/// The townships of `bulletin` ranked by the share of their targets met (rows with a target
/// and an actual), best first; ties in name order; townships without such a row last, unranked.
std::vector<TownshipRank> rank_townships(const Bulletin &bulletin);

} // namespace qiancun
