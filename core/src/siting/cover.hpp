#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

/// The combinatorial core of siting (SPEC §10): weighted maximal covering and set covering on
/// an explicit instance, independent of geometry. A candidate covers a set of demand points;
/// the value of a set of candidates is the total weight of the demand points one of them
/// covers (a monotone submodular function).

namespace qiancun::siting {

/// Demand weights and, per candidate, the demand points it covers (compressed rows).
struct CoverInstance {
    std::vector<double> weight;        ///< per demand point, ≥ 0 (people)
    std::vector<std::uint32_t> first;  ///< per candidate its first entry of `covers`; size n + 1
    std::vector<std::uint32_t> covers; ///< demand point indices

    std::size_t candidates() const noexcept { return first.empty() ? 0 : first.size() - 1; }
    /// Adds a candidate covering `points` (indices into `weight`).
    void add_candidate(const std::vector<std::uint32_t> &points);
};

struct CoverSolution {
    std::vector<std::uint32_t> chosen; ///< candidates in order of choice: each adds the most
                                       ///< given those before it
    std::vector<double> gains;         ///< weight each adds, parallel to `chosen`
    double value = 0.0;                ///< weight covered by `chosen`
    /// Maximal covering: no `k` candidates cover more than this (the smallest of the total
    /// weight, the k best single gains, f(S) + the k best gains Δ(c | S) at the greedy and the
    /// final S — the online bound of submodular maximisation — and the Lagrangian bound of the
    /// MILP after subgradient steps).
    double upper_bound = 0.0;
    /// Set covering: no fewer candidates reach the target — the largest of ⌈lower_bound⌉ and,
    /// over the sets S evaluated, the m such that f(S) + the m−1 best gains Δ(c | S) fall short.
    std::size_t lower_bound_sites = 0;
    /// Set covering: the Lagrangian bound of the MILP (fractional sites) after subgradient steps;
    /// at most the optimum of its LP relaxation.
    double lower_bound = 0.0;
    std::size_t swaps = 0; ///< improving exchanges of the local search
    bool reached = true;   ///< set covering: the target is met
    /// Village covering: villages whose need `chosen` meets.
    std::size_t villages_reached = 0;
    /// Village covering: the exact search proved no fewer candidates meet the target.
    bool proven_optimal = false;
};

/// The villages of a village covering problem: a village is reached once the weight of its
/// demand points that the chosen candidates cover reaches its need.
struct VillageGroups {
    std::vector<std::int32_t> village; ///< per demand point: its village, or −1 for none
    std::vector<double> need;          ///< per village: weight to cover, > 0
};

/// At most `k` candidates covering the most weight: lazy greedy, then exchanges of one chosen
/// candidate for another while one improves the value (best improvement first), then 30 rounds
/// of iterated local search (drop a quarter at random, refill greedily, exchange again; fixed
/// seed). Stops early when no candidate adds anything.
CoverSolution max_cover(const CoverInstance &instance, std::size_t k);

/// Few candidates covering at least `target` weight: the greedy count, then the smallest k
/// below it for which `max_cover(k)` still reaches the target. `reached` is false (and
/// `chosen` every useful candidate) when all candidates together fall short.
CoverSolution min_cover(const CoverInstance &instance, double target);

/// Few candidates reaching at least `villages` villages of `groups`: lazy greedy on the share
/// of each village's need met (Σ_v min(1, covered_v / need_v), submodular) until enough are
/// reached, dropping the sites the rest do without, and exchanges of two sites for one; then a
/// depth-first search within `work_budget` (villages and contributions read by its bounds,
/// about 0.1 s per 10⁷) for a set of one site less, again and again (it cuts a branch when too
/// few villages can still be reached by the sites left, each village's best contributions
/// summed). `proven_optimal` when it ran to the end; `lower_bound_sites` then equals the count,
/// else it is the larger of a counting bound (each village needs the fewest of its candidates
/// whose contributions meet its need; no m sites touch more villages than the m largest touch
/// counts) and one more than a count the search ruled out. `reached` is false (and `chosen` every
/// useful candidate) when all candidates together reach fewer villages.
CoverSolution min_village_cover(const CoverInstance &instance, const VillageGroups &groups,
                                std::size_t villages, std::size_t work_budget = 50'000'000);

} // namespace qiancun::siting
