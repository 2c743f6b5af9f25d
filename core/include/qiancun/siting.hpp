#pragma once

#include "qiancun/config.hpp"
#include "qiancun/registry.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

/// Siting suggestions (SPEC §10): where new assets of a type reach the most people not yet
/// reached (maximal covering), or the fewest new assets that reach a share of the population
/// (set covering). Demand points are the settlements with their population; the existing
/// serving assets are kept and what they reach (SPEC §3 rules) counts as covered. Distances are
/// planar metres of the working CRS, straight or along the serving roads (SPEC §3 network
/// distance: off-road legs capped, both legs counted).

namespace qiancun {

struct SitingOptions {
    std::string type; ///< asset kind to place (point or polygon kind)
    /// Maximal covering: this many new sites (≥ 1). Exactly one of `add` and `cover`.
    std::optional<std::int64_t> add;
    /// Set covering: the share of the population (0–1] to reach, existing assets included.
    std::optional<double> cover;
    /// With `cover`: the share is of the villages in scope instead. A village is reached when
    /// its cov_T (SPEC §3) reaches the type's gap threshold, i.e. it is no gap: at least that
    /// share (default 90 %) of its settlement population within reach (along the roads with
    /// `network`). A village without settlement population counts by its area coverage from the
    /// existing assets (cov_T = area_cov_T); new sites are placed for people and not credited.
    bool villages = false;
    /// Where sites may go: "settlements", "road_vertices" (vertices of the serving roads),
    /// "grid:METRES" (centres of square cells of that side inside the villages), or the key
    /// of a point or polygon kind of the registry (its points / point-on-surface).
    std::string candidates = "settlements";
    bool network = false;           ///< distances along the serving roads
    std::optional<double> radius_m; ///< reach of a new site; default: the type's radius
    std::string township;           ///< only this township's villages, settlements, sites
    bool exclude_hazard = false;    ///< no site inside a hazard zone
    int threads = 0;                ///< 0 = hardware concurrency
};

/// One proposed site.
struct SiteChoice {
    std::int64_t rank = 0; ///< 1 = chosen first
    double x = 0.0;        ///< working CRS, metres
    double y = 0.0;
    std::string candidate;    ///< settlement id, road id and vertex, grid cell, or layer id
    std::string village_code; ///< the village containing the site (empty: none)
    std::int64_t added_population = 0;      ///< people it newly reaches, given those before it
    std::int64_t cumulative_population = 0; ///< people newly reached by sites 1…rank
    std::int64_t added_villages = 0;        ///< villages with a settlement it newly reaches
};

struct SitingResult {
    std::string type;
    double radius_m = 0.0;
    bool network = false;
    std::string candidates;              ///< the candidate source as given
    std::int64_t candidate_count = 0;    ///< candidate places considered
    std::int64_t excluded_by_hazard = 0; ///< candidates dropped by `exclude_hazard`
    std::int64_t settlements = 0;        ///< settlements with people (demand points)
    std::int64_t villages = 0;           ///< villages in scope
    std::int64_t total_population = 0;   ///< people in those settlements
    std::int64_t covered_before = 0;     ///< reached by the existing serving assets
    std::int64_t covered_after = 0;      ///< … and by the proposed sites
    double share_before = 0.0;           ///< covered_before / total_population (0–1)
    double share_after = 0.0;
    std::vector<SiteChoice> sites; ///< in order of choice
    /// Maximal covering: no `add` sites among these candidates newly reach more people than
    /// this (submodular online bound); ≥ the people the sites newly reach.
    std::int64_t upper_bound_population = 0;
    /// (upper bound − newly reached) / upper bound: how far from optimal the answer can be.
    double optimality_gap = 0.0;
    /// Set covering: no fewer sites among these candidates reach the share.
    std::int64_t lower_bound_sites = 0;
    std::int64_t target_population = 0; ///< set covering: people to reach in all
    /// Village covering (`villages`): villages reached (cov_T ≥ threshold) before and after,
    /// the number to reach, and whether the search proved no fewer sites reach it.
    bool by_villages = false;
    double threshold = 0.0; ///< the type's gap threshold (0–1)
    std::int64_t villages_reached_before = 0;
    std::int64_t villages_reached_after = 0;
    std::int64_t target_villages = 0;
    bool proven_optimal = false;
    std::int64_t swaps = 0; ///< improving exchanges of the local search
};

/// Plans sites. Throws UsageError for an unknown or line type, neither or both of `add` and
/// `cover`, `villages` without `cover`, an unknown candidate source, a township without
/// villages, no candidates left, or a share the candidates cannot reach (naming the share they
/// can).
SitingResult plan_sites(const Registry &registry, const MetricsConfig &config,
                        const SitingOptions &options);

/// Stores the sites as the point layer `sites_<type>` (rank, candidate, village_code,
/// added_population, cumulative_population, added_villages), replacing an earlier one.
void write_sites_layer(Registry &registry, const SitingResult &result);

} // namespace qiancun
