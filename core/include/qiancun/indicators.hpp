#pragma once

#include "qiancun/asset_types.hpp"
#include "qiancun/config.hpp"
#include "qiancun/registry.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// The plan's indicators (SPEC §5) computed from the registry as of a date, against the plan's
/// targets. Indicators are data (SPEC §5.1): each is an entry of an indicators file — the ten
/// built in ship as core/data/indicators.toml — with a measure and expressions (expression.hpp)
/// that qiancun evaluates itself. Each has a fixed key so bulletins compare month to month.

namespace qiancun {

/// What an indicator measures (SPEC §5.1).
enum class IndicatorMeasure {
    count,            ///< assets of `kind` matching `where`
    length_km,        ///< km of line assets of `kind` matching `where`
    sum,              ///< Σ attribute `of` over assets of `kind` matching `where`
    asset_share,      ///< % of assets matching `where` that satisfy `condition`
    village_share,    ///< % of villages matching `villages` that satisfy `condition`
    population_share, ///< % of the people of villages matching `villages` in settlements that
                      ///< satisfy `condition`
};

std::string_view to_string(IndicatorMeasure m) noexcept;

/// One indicator: an entry `[indicator.<key>]` of an indicators file.
struct IndicatorDef {
    std::string key;        ///< "sewage_new"
    std::string unit;       ///< "count", "km", "%", or a sum's unit
    std::string label;      ///< Chinese name as in the plan
    std::string definition; ///< how it is computed, one sentence
    IndicatorMeasure measure = IndicatorMeasure::count;
    std::string kind;      ///< the asset kind of count, length_km, sum and asset_share
    std::string where;     ///< which assets count; "" = all
    std::string villages;  ///< which villages count (village and population shares); "" = all
    std::string condition; ///< the shares' condition
    std::string of;        ///< the attribute a sum adds up
    /// Counted from the years in the data (SPEC §5.2 "History"): every current asset row, with
    /// its status on the as-of date where the registry knows it, else its current status. Else
    /// the assets present on the date, with their status then.
    bool from_years = false;
    /// What a share's denominator counts, for its detail ("17 of 20 serving plants with a
    /// result"); "" = the measure's default (assets of the kind, villages, people).
    std::string denominator;
    std::string department; ///< who answers for it; "" when not given
    /// asset_share only: an event kind about `kind` (water_test) whose latest record in the
    /// period decides each asset (result pass = yes, fail = no) in place of `condition`. A
    /// registry without that kind (and without event kinds) reads `condition` for every asset.
    std::string events;
    /// With `events`: what an asset without a record in the period counts as — false: unknown
    /// (left out of the share, counted); true (`fallback = "attribute"`): its `condition`.
    bool events_fallback = false;
    /// Needs the asset statuses on the as-of date (SPEC §5.2 "History"): an asset measure not
    /// from_years, or a village or population share calling a kind function.
    bool needs_statuses = false;
    /// The asset kinds whose statuses it needs, in order of use.
    std::vector<std::string> status_kinds;
    std::string origin;    ///< the file that defined it
    std::int64_t line = 0; ///< its line there
    /// The line of each expression field ("where", "villages", "condition") in `origin`.
    std::map<std::string, std::int64_t> expression_lines;

    /// A share: unit "%", no cumulative expected value.
    bool is_share() const noexcept;
};

/// The ten built-in indicators in bulletin order: sewage_new, sewage_renovated,
/// sewage_village_coverage, sewage_effluent_ok, road_new_km, road_maintained_km,
/// hall_five_star, courier_village_coverage, bs5g_settlement_coverage, retained_hemei_share.
const std::vector<IndicatorDef> &indicator_defs();

/// The built-in indicators file (core/data/indicators.toml, compiled in).
std::string_view builtin_indicators_toml();

/// The target of one indicator: one value, or milestones by year.
struct Target {
    /// Year → value. A single target is stored under year 0. For a bulletin of year Y the
    /// target is the first milestone at Y or later (the next one the county works toward),
    /// else the last one.
    std::map<int, double> milestones;
    std::string basis;       ///< where it comes from
    bool assumption = false; ///< the plan gives no number: a stated planning assumption
    /// Township → its milestones (same reading), from `townships = { 东关街道 = 100 }`.
    std::map<std::string, std::map<int, double>> townships;

    /// The target for a bulletin of `year`; empty when there are no milestones.
    std::optional<double> for_year(int year) const;
    /// The target of `township` alone (its milestones, basis and assumption); empty milestones
    /// when the file gives it none.
    Target for_township(const std::string &township) const;
};

/// The plan: its indicators and their targets.
struct Targets {
    int period_start = 2023; ///< first year of the plan period
    int period_end = 2027;   ///< last year
    std::map<std::string, Target> by_key;
    /// The indicators in bulletin order: the built-in ones, then those an indicators file adds.
    std::vector<IndicatorDef> defs;

    /// The built-in indicators with the plan's targets (builtin_indicators_toml()).
    static Targets defaults();
    /// `defaults()` with targets overridden by a targets file; throws InputError naming
    /// `origin` and the line for a TOML error, an unknown key or indicator, or a bad value.
    static Targets from_toml(std::string_view text, std::string_view origin);

    /// These indicators plus those of an indicators file `text` (SPEC §5.1); an entry with the
    /// key of one already here replaces it (definition and target). The expressions are checked
    /// against `kinds` (the registry's: names, asset kinds, functions). Throws InputError naming
    /// `origin`, the line (and the column inside an expression) and the problem.
    Targets with_indicators(std::string_view text, std::string_view origin,
                            const std::vector<KindDef> &kinds) const;
    /// These targets overridden by a targets file (the form of default_targets_toml()); keys
    /// are checked against `defs`. Throws InputError as from_toml.
    Targets with_targets(std::string_view text, std::string_view origin) const;

    /// The definition of `key`; nullptr when there is none.
    const IndicatorDef *def(std::string_view key) const;
};

/// The built-in targets file with the plan's numbers and their sources (shipped as
/// sample_maps/targets.toml, printed by `qiancun config --print-targets`); the same targets as
/// the built-in indicators file.
std::string_view default_targets_toml();

/// SPEC §5.2: met (actual ≥ the target in force), on_track (actual ≥ the expected value, or
/// nothing expected yet), behind, no_data (no actual), no_target (a row without a target).
enum class IndicatorStatus { met, on_track, behind, no_data, no_target };

std::string_view to_string(IndicatorStatus status) noexcept;

/// One indicator for the district or one township.
/// An asset an events-read share found no record for in the period: its id, and its name when
/// its kind has one ("" otherwise).
struct EventlessAsset {
    std::string id;
    std::string name;
};

struct IndicatorValue {
    std::string key;
    std::string township;         ///< "" for the district
    std::optional<double> target; ///< empty: no target (a township's share of a count)
    std::optional<double> actual; ///< empty: no data
    /// The value expected on the as-of date (progress.hpp `expected_value`); empty without a
    /// target or, for a share, before its first milestone's year.
    std::optional<double> expected;
    IndicatorStatus status = IndicatorStatus::no_data;
    /// What a share is made of in the language of the messages (share_detail), e.g. "236 of
    /// 241 villages"; "" for counts and lengths.
    std::string detail;
    /// A share only: the things that satisfy its condition and the things decided (people for
    /// a population share), rounded to whole numbers, and what they are: the denominator, as
    /// the indicators file gives it or the built-in English words ("villages", "people", the
    /// asset kind), which the catalogue translates in context "share of".
    std::int64_t part = 0;
    std::int64_t whole = 0;
    std::string denominator;
    /// A share only: the things left out of both sides because the value it needs is empty
    /// (SPEC §5.2 "unknown is not failure"): serving plants without an effluent result,
    /// villages without a geometry (coverages), settlements without a population (5G). 0 for
    /// counts and lengths.
    std::int64_t unknown = 0;
    /// An asset share read from events (IndicatorDef::events, the registry having that kind):
    /// the matching assets without a record dated in the period (Bulletin::events_from to
    /// events_to), counted in `unknown` unless the indicator falls back to its condition.
    std::int64_t without_events = 0;
    /// Those assets (as many as without_events), in registry order.
    std::vector<EventlessAsset> eventless;
    /// Whether this value was read from events (the registry has the indicator's event kind).
    bool from_events = false;
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
    std::vector<IndicatorValue> values; ///< district rows in Targets::defs order, then per
                                        ///< township (sorted) the same order
    std::vector<IndicatorDef> defs;     ///< the indicators computed, in that order
    std::vector<std::string> notes;     ///< assumptions and missing data, one sentence each
    /// The period whose events decide (SPEC §5.2 "Dated events"): the first day of the plan
    /// period to the as-of date (no later than the period's last day), YYYY-MM-DD.
    std::string events_from;
    std::string events_to;

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

/// What share `value` is made of, in the language of the messages: "79 of 300 villages"
/// ("79/300 个行政村"); "" when it is not a share.
std::string share_detail(const IndicatorValue &value);

/// One sentence, in the language of the messages, per district share of `bulletin` that left
/// things out of both sides (SPEC §5.2 "unknown is not failure"): assets without an event
/// record in the period, and things whose value the condition needs is empty. Each names its
/// indicator as message_name does: its label in Chinese messages, else its key.
std::vector<std::string> left_out_notes(const Bulletin &bulletin);

/// Where a target comes from (Target::basis) in the language of the messages: the built-in
/// planning assumptions are in the catalogue; any other basis is given as it is written.
std::string basis_text(const std::string &basis);

} // namespace qiancun
