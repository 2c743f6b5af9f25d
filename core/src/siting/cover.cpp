#include "siting/cover.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <queue>
#include <random>
#include <tuple>

namespace qiancun::siting {

namespace {

/// Candidates, points and counts of one search.
class CoverState {
public:
    explicit CoverState(const CoverInstance &instance)
        : m_in(instance), m_count(instance.weight.size(), 0), m_chosen(instance.candidates(), 0) {}

    /// Weight `c` adds to the current set.
    double gain(std::uint32_t c) const {
        double g = 0.0;
        for (std::uint32_t i = m_in.first[c]; i < m_in.first[c + 1]; ++i)
            if (m_count[m_in.covers[i]] == 0)
                g += m_in.weight[m_in.covers[i]];
        return g;
    }
    /// Weight only `c` covers in the current set (what removing it loses).
    double loss(std::uint32_t c) const {
        double l = 0.0;
        for (std::uint32_t i = m_in.first[c]; i < m_in.first[c + 1]; ++i)
            if (m_count[m_in.covers[i]] == 1)
                l += m_in.weight[m_in.covers[i]];
        return l;
    }
    void add(std::uint32_t c) {
        m_value += gain(c);
        for (std::uint32_t i = m_in.first[c]; i < m_in.first[c + 1]; ++i)
            ++m_count[m_in.covers[i]];
        m_chosen[c] = 1;
    }
    void remove(std::uint32_t c) {
        m_value -= loss(c);
        for (std::uint32_t i = m_in.first[c]; i < m_in.first[c + 1]; ++i)
            --m_count[m_in.covers[i]];
        m_chosen[c] = 0;
    }
    bool chosen(std::uint32_t c) const { return m_chosen[c] != 0; }
    std::uint32_t count(std::uint32_t point) const { return m_count[point]; }
    double value() const { return m_value; }
    /// Δ(c | S) for every candidate (0 for the chosen ones), sorted from the largest.
    std::vector<double> sorted_gains() const {
        std::vector<double> g(m_in.candidates(), 0.0);
        for (std::uint32_t c = 0; c < g.size(); ++c)
            if (!chosen(c))
                g[c] = gain(c);
        std::sort(g.begin(), g.end(), std::greater<>());
        return g;
    }

private:
    const CoverInstance &m_in;
    std::vector<std::uint32_t> m_count;
    std::vector<char> m_chosen;
    double m_value = 0.0;
};

/// Perturbations of the iterated local search in maximal covering.
constexpr int kKicks = 30;

/// Subgradient steps of the Lagrangian bound at most.
constexpr int kLagrangianIterations = 300;

/// Set covering: a cover is built from the relaxed solution every this many steps.
constexpr int kHeuristicEvery = 1;

/// A tolerance for sums of weights: far below one person, far above rounding.
double tolerance(double scale) {
    return 1e-9 * std::max(1.0, scale);
}

double top_sum(const std::vector<double> &sorted, std::size_t k) {
    double s = 0.0;
    for (std::size_t i = 0; i < std::min(k, sorted.size()); ++i)
        s += sorted[i];
    return s;
}

/// Lazy greedy: adds to `state` the candidate with the largest gain (ties: the lowest index)
/// until `k` are chosen, nothing adds weight, or the value reaches `target`. Gains only shrink
/// as the set grows (submodularity), so a stale gain is an upper bound and a candidate whose
/// fresh gain still tops the queue is the best. Calls `chose(c, gain)` for each pick.
void lazy_greedy(const CoverInstance &in, CoverState &state, std::size_t k, double target,
                 const std::function<void(std::uint32_t, double)> &chose,
                 const std::vector<char> *banned = nullptr) {
    struct Entry {
        double gain;
        std::uint32_t candidate;
        std::size_t round;
        bool operator<(const Entry &o) const {
            return gain < o.gain || (gain == o.gain && candidate > o.candidate);
        }
    };
    std::vector<Entry> entries;
    for (std::uint32_t c = 0; c < in.candidates(); ++c)
        if (!state.chosen(c) && !(banned && (*banned)[c]))
            if (const double g = state.gain(c); g > 0.0)
                entries.push_back({g, c, 0});
    std::priority_queue<Entry> queue(std::less<Entry>(), std::move(entries));
    std::size_t round = 0;
    const double tol = std::isfinite(target) ? tolerance(target) : 0.0;
    while (round < k && !queue.empty() && state.value() + tol < target) {
        Entry top = queue.top();
        queue.pop();
        if (top.round != round) {
            top.gain = state.gain(top.candidate);
            top.round = round;
            if (top.gain > 0.0)
                queue.push(top);
            continue;
        }
        state.add(top.candidate);
        chose(top.candidate, top.gain);
        ++round;
    }
}

/// Demand point → candidates covering it (compressed rows).
struct Inverted {
    std::vector<std::uint32_t> first;
    std::vector<std::uint32_t> candidates;
};

Inverted invert(const CoverInstance &in) {
    Inverted inv;
    inv.first.assign(in.weight.size() + 1, 0);
    for (const std::uint32_t d : in.covers)
        ++inv.first[d + 1];
    std::partial_sum(inv.first.begin(), inv.first.end(), inv.first.begin());
    inv.candidates.resize(in.covers.size());
    std::vector<std::uint32_t> next(inv.first.begin(), inv.first.end() - 1);
    for (std::uint32_t c = 0; c < in.candidates(); ++c)
        for (std::uint32_t i = in.first[c]; i < in.first[c + 1]; ++i)
            inv.candidates[next[in.covers[i]]++] = c;
    return inv;
}

/// Exchanges one chosen candidate for an unchosen one while that adds weight, taking the best
/// exchange each time. Returns the number of exchanges.
std::size_t swap_search(const CoverInstance &in, const Inverted &inv, CoverState &state,
                        std::vector<std::uint32_t> &chosen) {
    if (chosen.empty())
        return 0;
    const std::size_t n = in.candidates();
    std::vector<double> base(n, 0.0);
    std::vector<double> extra(n, 0.0);
    std::vector<std::uint32_t> touched;
    std::size_t swaps = 0;
    // Every exchange adds weight, so none repeats; the cap only bounds the time.
    const std::size_t max_swaps = 20 * chosen.size() + 100;
    while (swaps < max_swaps) {
        std::uint32_t best_free = std::numeric_limits<std::uint32_t>::max();
        for (std::uint32_t c = 0; c < n; ++c) {
            base[c] = state.chosen(c) ? 0.0 : state.gain(c);
            if (!state.chosen(c) && (best_free == std::numeric_limits<std::uint32_t>::max() ||
                                     base[c] > base[best_free]))
                best_free = c;
        }
        if (best_free == std::numeric_limits<std::uint32_t>::max())
            break;
        double best_delta = tolerance(state.value());
        std::size_t best_pos = chosen.size();
        std::uint32_t best_in = 0;
        for (std::size_t pos = 0; pos < chosen.size(); ++pos) {
            const std::uint32_t s = chosen[pos];
            double loss = 0.0;
            for (std::uint32_t i = in.first[s]; i < in.first[s + 1]; ++i) {
                const std::uint32_t d = in.covers[i];
                if (state.count(d) != 1)
                    continue;
                loss += in.weight[d];
                for (std::uint32_t j = inv.first[d]; j < inv.first[d + 1]; ++j) {
                    const std::uint32_t c = inv.candidates[j];
                    if (state.chosen(c))
                        continue;
                    if (extra[c] == 0.0)
                        touched.push_back(c);
                    extra[c] += in.weight[d];
                }
            }
            std::uint32_t in_c = best_free;
            double in_gain = base[best_free];
            for (const std::uint32_t c : touched)
                if (base[c] + extra[c] > in_gain || (base[c] + extra[c] == in_gain && c < in_c)) {
                    in_gain = base[c] + extra[c];
                    in_c = c;
                }
            for (const std::uint32_t c : touched)
                extra[c] = 0.0;
            touched.clear();
            if (in_gain - loss > best_delta) {
                best_delta = in_gain - loss;
                best_pos = pos;
                best_in = in_c;
            }
        }
        if (best_pos == chosen.size())
            break;
        state.remove(chosen[best_pos]);
        state.add(best_in);
        chosen[best_pos] = best_in;
        ++swaps;
    }
    return swaps;
}

/// `chosen` in order of choice: each next the one adding the most given those before it.
void order_by_gain(const CoverInstance &in, const std::vector<std::uint32_t> &chosen,
                   CoverSolution &out) {
    CoverState state(in);
    std::vector<std::uint32_t> rest = chosen;
    std::sort(rest.begin(), rest.end());
    out.chosen.clear();
    out.gains.clear();
    while (!rest.empty()) {
        std::size_t best = 0;
        double best_gain = -1.0;
        for (std::size_t i = 0; i < rest.size(); ++i)
            if (const double g = state.gain(rest[i]); g > best_gain) {
                best_gain = g;
                best = i;
            }
        state.add(rest[best]);
        out.chosen.push_back(rest[best]);
        out.gains.push_back(best_gain);
        rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(best));
    }
    out.value = state.value();
}

/// Total weight of the points some candidate covers.
double coverable(const CoverInstance &in) {
    std::vector<char> seen(in.weight.size(), 0);
    double total = 0.0;
    for (const std::uint32_t d : in.covers)
        if (!seen[d]) {
            seen[d] = 1;
            total += in.weight[d];
        }
    return total;
}

/// The Lagrangian bound of the maximal covering MILP
///   max Σ w_d y_d  s.t.  y_d ≤ Σ_{c ∋ d} x_c,  Σ x_c ≤ k,  x binary, 0 ≤ y ≤ 1:
/// relaxing the covering rows with multipliers λ_d ≥ 0 gives, for every λ, the upper bound
///   L(λ) = Σ_d max(0, w_d − λ_d) + (the k largest Σ_{d ∈ c} λ_d over the candidates c).
/// Subgradient steps (Held, Wolfe and Crowder's rule, step μ (L − value) / |s|²) lower it from
/// λ = w, where it is the sum of the k best single gains. Returns the smallest L seen.
double lagrangian_bound(const CoverInstance &in, std::size_t k, double value) {
    const std::size_t n = in.candidates();
    const std::size_t m = in.weight.size();
    if (n == 0 || k == 0)
        return 0.0;
    k = std::min(k, n);
    std::vector<double> lambda = in.weight;
    std::vector<double> score(n);
    std::vector<std::uint32_t> order(n);
    std::vector<double> sub(m);
    double best = std::numeric_limits<double>::infinity();
    double mu = 2.0;
    int stale = 0;
    for (int it = 0; it < kLagrangianIterations; ++it) {
        for (std::uint32_t c = 0; c < n; ++c) {
            double sum = 0.0;
            for (std::uint32_t i = in.first[c]; i < in.first[c + 1]; ++i)
                sum += lambda[in.covers[i]];
            score[c] = sum;
            order[c] = c;
        }
        std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k - 1),
                         order.end(),
                         [&](std::uint32_t a, std::uint32_t b) { return score[a] > score[b]; });
        double bound = 0.0;
        for (std::size_t d = 0; d < m; ++d) {
            const bool take = in.weight[d] > lambda[d];
            bound += take ? in.weight[d] - lambda[d] : 0.0;
            sub[d] = take ? -1.0 : 0.0;
        }
        for (std::size_t j = 0; j < k; ++j) {
            const std::uint32_t c = order[j];
            bound += score[c];
            for (std::uint32_t i = in.first[c]; i < in.first[c + 1]; ++i)
                sub[in.covers[i]] += 1.0;
        }
        if (it == 0 || bound < best - tolerance(best)) {
            best = bound;
            stale = 0;
        } else if (++stale >= 10) {
            mu /= 2.0;
            stale = 0;
        }
        const double gap = bound - value;
        double norm = 0.0;
        for (const double g : sub)
            norm += g * g;
        if (gap <= tolerance(value) || norm == 0.0 || mu < 1e-4)
            break;
        const double step = mu * gap / norm;
        for (std::size_t d = 0; d < m; ++d)
            lambda[d] = std::max(0.0, lambda[d] - step * sub[d]);
    }
    return best;
}

/// A cover reaching `target` from `start` (candidates, possibly too few or redundant): lazy
/// greedy adds the largest gains until the target is met, then, from the candidate losing the
/// least, each is dropped when the rest still meet it. Empty when the target cannot be met.
std::vector<std::uint32_t> complete_cover(const CoverInstance &in,
                                          const std::vector<std::uint32_t> &start, double target) {
    const double tol = tolerance(target);
    CoverState state(in);
    std::vector<std::uint32_t> chosen;
    for (const std::uint32_t c : start)
        if (!state.chosen(c)) {
            state.add(c);
            chosen.push_back(c);
        }
    lazy_greedy(in, state, std::numeric_limits<std::size_t>::max(), target,
                [&](std::uint32_t c, double) { chosen.push_back(c); });
    if (state.value() + tol < target)
        return {};
    // One pass from the smallest loss: a site goes when the others still meet the target.
    std::vector<std::pair<double, std::uint32_t>> by_loss;
    for (const std::uint32_t c : chosen)
        by_loss.emplace_back(state.loss(c), c);
    std::sort(by_loss.begin(), by_loss.end());
    for (const auto &[initial, c] : by_loss)
        if (state.value() - state.loss(c) + tol >= target)
            state.remove(c);
    std::erase_if(chosen, [&](std::uint32_t c) { return !state.chosen(c); });
    return chosen;
}

/// What the Lagrangian search of set covering found: its bound and the smallest cover built
/// from the relaxed solutions on the way.
struct LagrangianCover {
    double bound = 0.0;
    std::vector<std::uint32_t> cover;
};

/// The Lagrangian bound of the set covering MILP
///   min Σ x_c  s.t.  y_d ≤ Σ_{c ∋ d} x_c,  Σ w_d y_d ≥ target,  x binary, 0 ≤ y ≤ 1:
/// relaxing the covering rows with multipliers λ_d ≥ 0 gives, for every λ, the lower bound
///   L(λ) = Σ_c min(0, 1 − Σ_{d ∈ c} λ_d) + min { Σ_d λ_d y_d : Σ w_d y_d ≥ target, 0 ≤ y ≤ 1 },
/// the second term a fractional knapsack (points by λ_d / w_d, cheapest first). Points no
/// candidate covers have y_d = 0 and are left out. Subgradient steps (step μ (upper − L) / |s|²,
/// s_d = y_d − Σ_{c ∋ d} x_c) raise it from λ_d = w_d / (the largest single gain), where it is
/// target / that gain. Every few steps the relaxed x (candidates with Σ λ_d > 1) is completed into
/// a cover (complete_cover), the Lagrangian heuristic of set covering; a smaller one replaces
/// `cover` (a known cover, non-empty) and lowers the step's target. Returns the largest L seen;
/// stops once ⌈L⌉ reaches the size of the best cover. Precondition: `cover` meets `target`.
LagrangianCover set_cover_lagrangian(const CoverInstance &in, double target,
                                     std::vector<std::uint32_t> cover) {
    LagrangianCover out;
    out.cover = std::move(cover);
    const std::size_t n = in.candidates();
    const std::size_t m = in.weight.size();
    std::vector<char> coverable(m, 0);
    for (const std::uint32_t d : in.covers)
        coverable[d] = 1;
    std::vector<std::uint32_t> points; // coverable points with weight
    for (std::uint32_t d = 0; d < m; ++d)
        if (coverable[d] && in.weight[d] > 0.0)
            points.push_back(d);
    if (target <= tolerance(target) || out.cover.empty())
        return out;
    double largest_gain = 0.0;
    for (std::uint32_t c = 0; c < n; ++c) {
        double g = 0.0;
        for (std::uint32_t i = in.first[c]; i < in.first[c + 1]; ++i)
            g += in.weight[in.covers[i]];
        largest_gain = std::max(largest_gain, g);
    }
    std::vector<double> lambda(m, 0.0);
    for (const std::uint32_t d : points)
        lambda[d] = in.weight[d] / largest_gain;
    std::vector<double> sub(m, 0.0);
    std::vector<std::uint32_t> order = points;
    std::vector<std::uint32_t> relaxed;
    double &best = out.bound;
    double mu = 2.0;
    int stale = 0;
    for (int it = 0; it < kLagrangianIterations; ++it) {
        std::fill(sub.begin(), sub.end(), 0.0);
        relaxed.clear();
        double bound = 0.0;
        for (std::uint32_t c = 0; c < n; ++c) {
            double score = 0.0;
            for (std::uint32_t i = in.first[c]; i < in.first[c + 1]; ++i)
                score += lambda[in.covers[i]];
            if (score > 1.0) {
                bound += 1.0 - score;
                relaxed.push_back(c);
                for (std::uint32_t i = in.first[c]; i < in.first[c + 1]; ++i)
                    sub[in.covers[i]] -= 1.0;
            }
        }
        if (it % kHeuristicEvery == 0 && relaxed.size() < out.cover.size())
            if (auto c = complete_cover(in, relaxed, target);
                !c.empty() && c.size() < out.cover.size())
                out.cover = std::move(c);
        const auto upper = static_cast<double>(out.cover.size());
        std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
            const double ra = lambda[a] / in.weight[a];
            const double rb = lambda[b] / in.weight[b];
            return ra < rb || (ra == rb && a < b);
        });
        double left = target;
        for (const std::uint32_t d : order) {
            if (left <= 0.0)
                break;
            const double y = std::min(1.0, left / in.weight[d]);
            bound += lambda[d] * y;
            sub[d] += y;
            left -= y * in.weight[d];
        }
        if (bound > best + tolerance(best)) {
            best = bound;
            stale = 0;
        } else if (++stale >= 10) {
            mu /= 2.0;
            stale = 0;
        }
        if (std::ceil(best - 1e-6) >= upper || mu < 1e-4)
            break;
        double norm = 0.0;
        for (const std::uint32_t d : points)
            norm += sub[d] * sub[d];
        if (norm == 0.0)
            break; // λ is optimal: the relaxed solution is feasible
        const double step = mu * (upper - bound) / norm;
        for (const std::uint32_t d : points)
            lambda[d] = std::max(0.0, lambda[d] + step * sub[d]);
    }
    return out;
}

/// Village covering: the weight covered in each village and the villages reached, as
/// candidates come and go.
class VillageState {
public:
    VillageState(const CoverInstance &in, const VillageGroups &groups)
        : m_in(in), m_groups(groups), m_count(in.weight.size(), 0), m_got(groups.need.size(), 0.0),
          m_add(groups.need.size(), 0.0), m_chosen(in.candidates(), 0) {}

    bool met(std::size_t v) const {
        return m_got[v] + tolerance(m_groups.need[v]) >= m_groups.need[v];
    }
    std::size_t reached() const { return m_reached; }
    bool chosen(std::uint32_t c) const { return m_chosen[c] != 0; }
    void add(std::uint32_t c) {
        for (std::uint32_t i = m_in.first[c]; i < m_in.first[c + 1]; ++i)
            if (m_count[m_in.covers[i]]++ == 0)
                credit(m_in.covers[i], m_in.weight[m_in.covers[i]]);
        m_chosen[c] = 1;
    }
    void remove(std::uint32_t c) {
        for (std::uint32_t i = m_in.first[c]; i < m_in.first[c + 1]; ++i)
            if (--m_count[m_in.covers[i]] == 0)
                credit(m_in.covers[i], -m_in.weight[m_in.covers[i]]);
        m_chosen[c] = 0;
    }
    /// Weight covered in village `v`.
    double covered(std::size_t v) const { return m_got[v]; }
    /// What `c` adds to Σ_v min(1, covered_v / need_v); 0 when chosen or when it adds nothing
    /// to a village not reached yet.
    double gain(std::uint32_t c) const {
        if (chosen(c))
            return 0.0;
        for (std::uint32_t i = m_in.first[c]; i < m_in.first[c + 1]; ++i) {
            const std::uint32_t d = m_in.covers[i];
            const std::int32_t v = m_groups.village[d];
            if (v < 0 || m_count[d] != 0 || met(static_cast<std::size_t>(v)))
                continue;
            if (m_add[static_cast<std::size_t>(v)] == 0.0)
                m_touched.push_back(static_cast<std::uint32_t>(v));
            m_add[static_cast<std::size_t>(v)] += m_in.weight[d];
        }
        double g = 0.0;
        for (const std::uint32_t v : m_touched) {
            const double need = m_groups.need[v];
            g += (std::min(need, m_got[v] + m_add[v]) - std::min(need, m_got[v])) / need;
            m_add[v] = 0.0;
        }
        m_touched.clear();
        return g;
    }

private:
    void credit(std::uint32_t d, double delta) {
        const std::int32_t v = m_groups.village[d];
        if (v < 0)
            return;
        const auto u = static_cast<std::size_t>(v);
        const bool before = met(u);
        m_got[u] += delta;
        const bool after = met(u);
        if (after && !before)
            ++m_reached;
        else if (before && !after)
            --m_reached;
    }

    const CoverInstance &m_in;
    const VillageGroups &m_groups;
    std::vector<std::uint32_t> m_count;
    std::vector<double> m_got;
    mutable std::vector<double> m_add;
    mutable std::vector<std::uint32_t> m_touched;
    std::vector<char> m_chosen;
    std::size_t m_reached = 0;
};

/// The exact search of village covering: is there a set of at most `k` candidates reaching the
/// target? Depth first over the candidates in a fixed order, each set visited once.
class VillageSearch {
public:
    VillageSearch(const CoverInstance &in, const VillageGroups &groups,
                  std::vector<std::uint32_t> order, std::size_t target)
        : m_groups(groups), m_order(std::move(order)), m_target(target), m_state(in, groups),
          m_best_of(groups.need.size()) {
        // Per village, what each candidate alone covers of it, largest first.
        std::vector<double> add(groups.need.size(), 0.0);
        std::vector<std::uint32_t> touched;
        for (std::uint32_t pos = 0; pos < m_order.size(); ++pos) {
            const std::uint32_t c = m_order[pos];
            for (std::uint32_t i = in.first[c]; i < in.first[c + 1]; ++i) {
                const std::int32_t v = groups.village[in.covers[i]];
                if (v < 0)
                    continue;
                if (add[static_cast<std::size_t>(v)] == 0.0)
                    touched.push_back(static_cast<std::uint32_t>(v));
                add[static_cast<std::size_t>(v)] += in.weight[in.covers[i]];
            }
            for (const std::uint32_t v : touched) {
                if (add[v] > 0.0)
                    m_best_of[v].emplace_back(add[v], pos);
                add[v] = 0.0;
            }
            touched.clear();
        }
        for (auto &list : m_best_of)
            std::sort(list.begin(), list.end(), [](const auto &a, const auto &b) {
                return a.first > b.first || (a.first == b.first && a.second < b.second);
            });
    }

    enum class Outcome { found, none, budget };

    /// Looks for at most `k` candidates, within `budget` units of work (decreased by what each
    /// node costs: the villages and contributions its bound reads).
    Outcome run(std::size_t k, std::size_t &budget) {
        m_chosen.clear();
        m_budget = &budget;
        m_k = k;
        const Outcome o = visit(0);
        if (o != Outcome::found)
            for (const std::uint32_t c : m_chosen)
                m_state.remove(c);
        return o;
    }
    /// The set found by the last successful `run` (its candidates stay added until the next).
    std::vector<std::uint32_t> found() {
        std::vector<std::uint32_t> out = m_chosen;
        for (const std::uint32_t c : m_chosen)
            m_state.remove(c);
        m_chosen.clear();
        return out;
    }

private:
    Outcome visit(std::size_t pos) {
        if (m_state.reached() >= m_target)
            return Outcome::found;
        if (*m_budget == 0)
            return Outcome::budget;
        const std::size_t left = m_k - m_chosen.size();
        if (left == 0 || !can_reach(pos, left))
            return Outcome::none;
        for (std::size_t i = pos; i < m_order.size(); ++i) {
            const std::uint32_t c = m_order[i];
            // A candidate adding nothing to an unreached village adds nothing below either.
            if (m_state.gain(c) <= 0.0)
                continue;
            m_state.add(c);
            m_chosen.push_back(c);
            const Outcome o = visit(i + 1);
            if (o != Outcome::none)
                return o;
            m_chosen.pop_back();
            m_state.remove(c);
        }
        return Outcome::none;
    }

    /// Whether `left` more candidates from position `pos` on could still reach the target:
    /// a village can only be reached if what it has plus its `left` best contributions from
    /// there meet its need.
    bool can_reach(std::size_t pos, std::size_t left) {
        std::size_t possible = m_state.reached();
        std::size_t work = 1;
        for (std::size_t v = 0; v < m_best_of.size() && possible < m_target; ++v) {
            if (m_state.met(v))
                continue;
            double more = 0.0;
            std::size_t taken = 0;
            for (const auto &[w, at] : m_best_of[v]) {
                ++work;
                if (taken == left)
                    break;
                if (at < pos)
                    continue;
                more += w;
                ++taken;
            }
            if (m_state.covered(v) + more + tolerance(m_groups.need[v]) >= m_groups.need[v])
                ++possible;
        }
        *m_budget -= std::min(*m_budget, work + m_best_of.size());
        return possible >= m_target;
    }
    const VillageGroups &m_groups;
    std::vector<std::uint32_t> m_order;
    std::size_t m_target;
    VillageState m_state;
    std::vector<std::vector<std::pair<double, std::uint32_t>>> m_best_of;
    std::vector<std::uint32_t> m_chosen;
    std::size_t *m_budget = nullptr;
    std::size_t m_k = 0;
};

} // namespace

void CoverInstance::add_candidate(const std::vector<std::uint32_t> &points) {
    if (first.empty())
        first.push_back(0);
    covers.insert(covers.end(), points.begin(), points.end());
    first.push_back(static_cast<std::uint32_t>(covers.size()));
}

CoverSolution max_cover(const CoverInstance &instance, std::size_t k) {
    CoverSolution out;
    const double inf = std::numeric_limits<double>::infinity();
    const Inverted inv = invert(instance);
    CoverState state(instance);
    double bound = std::min(coverable(instance), top_sum(state.sorted_gains(), k));
    std::vector<std::uint32_t> chosen;
    lazy_greedy(instance, state, k, inf, [&](std::uint32_t c, double) { chosen.push_back(c); });
    bound = std::min(bound, state.value() + top_sum(state.sorted_gains(), k));
    out.swaps = swap_search(instance, inv, state, chosen);

    // Iterated local search: drop a quarter of the sites at random, refill greedily without
    // them, exchange again; keep the better set. A fixed seed keeps the answer reproducible.
    std::vector<std::uint32_t> best = chosen;
    double best_value = state.value();
    std::mt19937 rng(20231127);
    std::vector<char> banned(instance.candidates(), 0);
    const std::size_t drop = std::max<std::size_t>(1, chosen.size() / 4);
    for (int kick = 0; kick < kKicks && chosen.size() == k && k > 1; ++kick) {
        std::shuffle(chosen.begin(), chosen.end(), rng);
        for (std::size_t i = 0; i < drop; ++i) {
            state.remove(chosen.back());
            banned[chosen.back()] = 1;
            chosen.pop_back();
        }
        lazy_greedy(
            instance, state, drop, inf, [&](std::uint32_t c, double) { chosen.push_back(c); },
            &banned);
        std::fill(banned.begin(), banned.end(), 0);
        out.swaps += swap_search(instance, inv, state, chosen);
        if (state.value() > best_value + tolerance(best_value)) {
            best = chosen;
            best_value = state.value();
        } else {
            for (const auto c : chosen)
                state.remove(c);
            for (const auto c : best)
                state.add(c);
            chosen = best;
        }
    }
    bound = std::min(bound, state.value() + top_sum(state.sorted_gains(), k));
    bound = std::min(bound, lagrangian_bound(instance, k, best_value));
    order_by_gain(instance, best, out);
    out.upper_bound = std::max(bound, out.value);
    return out;
}

CoverSolution min_cover(const CoverInstance &instance, double target) {
    CoverSolution out;
    const double tol = tolerance(target);
    if (target <= tol)
        return out;
    CoverState state(instance);
    std::vector<std::uint32_t> chosen;
    // Lower bound from S: no set T with |T| < m reaches the target when f(S) plus the m − 1
    // largest gains at S fall short, since f(T) ≤ f(S ∪ T) ≤ f(S) + Σ_{t∈T} Δ(t | S).
    std::size_t lower = 0;
    auto bound_at = [&](const CoverState &s) {
        const auto gains = s.sorted_gains();
        double sum = s.value();
        std::size_t m = 0;
        while (sum + tol < target && m < gains.size() && gains[m] > 0.0)
            sum += gains[m++];
        if (sum + tol >= target)
            lower = std::max(lower, m);
    };
    bound_at(state);
    std::size_t next_check = 1;
    lazy_greedy(instance, state, std::numeric_limits<std::size_t>::max(), target,
                [&](std::uint32_t c, double) {
                    chosen.push_back(c);
                    if (chosen.size() == next_check) {
                        bound_at(state);
                        next_check *= 2;
                    }
                });
    if (state.value() + tol < target) {
        order_by_gain(instance, chosen, out);
        out.reached = false;
        return out;
    }
    // The Lagrangian bound of the MILP is far stronger than the submodular one where sites
    // overlap; weights are whole people, so a bound of 4.000001 means 5 sites. Its covers built
    // from the relaxed solutions often need fewer sites than greedy.
    LagrangianCover lagrangian =
        set_cover_lagrangian(instance, target, complete_cover(instance, chosen, target));
    order_by_gain(instance, lagrangian.cover, out);
    out.lower_bound = lagrangian.bound;
    out.lower_bound_sites = std::max<std::size_t>(
        {lower, 1, static_cast<std::size_t>(std::max(0.0, std::ceil(lagrangian.bound - 1e-6)))});
    // Fewer sites: the best set of one less, while it still reaches the target.
    for (std::size_t k = out.chosen.size() - 1; k >= out.lower_bound_sites && k > 0; --k) {
        CoverSolution fewer = max_cover(instance, k);
        if (fewer.value + tol < target)
            break;
        fewer.lower_bound_sites = out.lower_bound_sites;
        fewer.lower_bound = out.lower_bound;
        fewer.swaps += out.swaps;
        out = std::move(fewer);
    }
    out.upper_bound = 0.0;
    return out;
}

CoverSolution min_village_cover(const CoverInstance &instance, const VillageGroups &groups,
                                std::size_t villages, std::size_t work_budget) {
    CoverSolution out;
    const std::size_t n = instance.candidates();
    if (villages == 0) {
        out.proven_optimal = true;
        return out;
    }
    // Useful candidates add to some village; together they bound what can be reached.
    std::vector<std::uint32_t> useful;
    std::vector<std::size_t> touches(n, 0); // villages each one adds to
    {
        VillageState empty(instance, groups);
        std::vector<char> seen(groups.need.size(), 0);
        for (std::uint32_t c = 0; c < n; ++c) {
            if (empty.gain(c) <= 0.0)
                continue;
            useful.push_back(c);
            std::vector<std::uint32_t> vs;
            for (std::uint32_t i = instance.first[c]; i < instance.first[c + 1]; ++i)
                if (const std::int32_t v = groups.village[instance.covers[i]];
                    v >= 0 && !seen[static_cast<std::size_t>(v)]) {
                    seen[static_cast<std::size_t>(v)] = 1;
                    vs.push_back(static_cast<std::uint32_t>(v));
                }
            for (const auto v : vs)
                seen[v] = 0;
            touches[c] = vs.size();
        }
        VillageState all(instance, groups);
        for (const std::uint32_t c : useful)
            all.add(c);
        if (all.reached() < villages) {
            order_by_gain(instance, useful, out);
            out.reached = false;
            out.villages_reached = all.reached();
            return out;
        }
    }

    // Lazy greedy on the share of each village's need met (submodular: stale gains are upper
    // bounds), until enough villages are reached.
    VillageState state(instance, groups);
    std::vector<std::uint32_t> chosen;
    {
        using Entry = std::tuple<double, std::int64_t, std::size_t>; // gain, −candidate, round
        std::priority_queue<Entry> queue;
        for (const std::uint32_t c : useful)
            queue.emplace(state.gain(c), -static_cast<std::int64_t>(c), 0);
        std::size_t round = 0;
        while (state.reached() < villages && !queue.empty()) {
            auto [g, minus_c, at] = queue.top();
            queue.pop();
            const auto c = static_cast<std::uint32_t>(-minus_c);
            if (at != round) {
                if (const double fresh = state.gain(c); fresh > 0.0)
                    queue.emplace(fresh, minus_c, round);
                continue;
            }
            state.add(c);
            chosen.push_back(c);
            ++round;
        }
    }
    // Drop the sites the others do without, the least useful first.
    {
        std::vector<std::pair<double, std::uint32_t>> by_gain;
        for (const std::uint32_t c : chosen) {
            state.remove(c);
            by_gain.emplace_back(state.gain(c), c);
            state.add(c);
        }
        std::sort(by_gain.begin(), by_gain.end());
        for (const auto &[g, c] : by_gain) {
            state.remove(c);
            if (state.reached() < villages)
                state.add(c);
        }
        std::erase_if(chosen, [&](std::uint32_t c) { return !state.chosen(c); });
    }

    // Two sites for one, while some exchange keeps the target (bounded work: each trial
    // costs the entries of the candidates it adds and removes).
    {
        std::size_t work = 0;
        const std::size_t max_work = 50'000'000;
        auto size_of = [&](std::uint32_t c) {
            return static_cast<std::size_t>(instance.first[c + 1] - instance.first[c]) + 1;
        };
        bool improved = true;
        while (improved && work < max_work) {
            improved = false;
            for (std::size_t i = 0; i < chosen.size() && !improved && work < max_work; ++i)
                for (std::size_t j = i + 1; j < chosen.size() && !improved; ++j) {
                    const std::uint32_t a = chosen[i];
                    const std::uint32_t b = chosen[j];
                    state.remove(a);
                    state.remove(b);
                    work += size_of(a) + size_of(b);
                    for (const std::uint32_t c : useful) {
                        if (state.chosen(c) || c == a || c == b)
                            continue;
                        work += size_of(c);
                        if (state.gain(c) <= 0.0)
                            continue;
                        state.add(c);
                        work += size_of(c);
                        if (state.reached() >= villages) {
                            chosen[i] = c;
                            chosen.erase(chosen.begin() + static_cast<std::ptrdiff_t>(j));
                            improved = true;
                            break;
                        }
                        state.remove(c);
                    }
                    if (!improved) {
                        state.add(a);
                        state.add(b);
                    }
                    if (work >= max_work)
                        break;
                }
        }
    }

    // A village v needs at least m_v sites touching it (its largest contributions, added up,
    // first meet its need); a site touches `touches[c]` villages. Reaching the target takes
    // Σ m_v ≥ the sum of the `villages` smallest m_v touches, so no m sites whose m largest
    // touch counts add up to less reach it.
    std::size_t lower = 0;
    {
        std::vector<std::vector<double>> parts(groups.need.size());
        std::vector<double> add(groups.need.size(), 0.0);
        std::vector<std::uint32_t> touched;
        for (const std::uint32_t c : useful) {
            for (std::uint32_t i = instance.first[c]; i < instance.first[c + 1]; ++i)
                if (const std::int32_t v = groups.village[instance.covers[i]]; v >= 0) {
                    if (add[static_cast<std::size_t>(v)] == 0.0)
                        touched.push_back(static_cast<std::uint32_t>(v));
                    add[static_cast<std::size_t>(v)] += instance.weight[instance.covers[i]];
                }
            for (const std::uint32_t v : touched) {
                parts[v].push_back(add[v]);
                add[v] = 0.0;
            }
            touched.clear();
        }
        std::vector<std::size_t> sites_for; // m_v of the villages that can be reached
        for (std::size_t v = 0; v < parts.size(); ++v) {
            std::sort(parts[v].begin(), parts[v].end(), std::greater<>());
            double sum = 0.0;
            std::size_t m = 0;
            while (m < parts[v].size() && sum + tolerance(groups.need[v]) < groups.need[v])
                sum += parts[v][m++];
            if (sum + tolerance(groups.need[v]) >= groups.need[v])
                sites_for.push_back(m);
        }
        std::sort(sites_for.begin(), sites_for.end());
        std::size_t demand = 0;
        for (std::size_t i = 0; i < std::min(villages, sites_for.size()); ++i)
            demand += sites_for[i];
        std::vector<std::size_t> counts;
        for (const std::uint32_t c : useful)
            counts.push_back(touches[c]);
        std::sort(counts.begin(), counts.end(), std::greater<>());
        for (std::size_t sum = 0; lower < counts.size() && sum < demand; ++lower)
            sum += counts[lower];
        lower = std::max<std::size_t>(lower, 1);
    }

    // One site less, while the exact search finds such a set within its budget.
    std::vector<std::uint32_t> order = useful;
    {
        VillageState empty(instance, groups);
        std::vector<double> single(n, 0.0);
        for (const std::uint32_t c : useful)
            single[c] = empty.gain(c);
        std::stable_sort(order.begin(), order.end(),
                         [&](std::uint32_t a, std::uint32_t b) { return single[a] > single[b]; });
    }
    VillageSearch search(instance, groups, std::move(order), villages);
    std::size_t budget = work_budget;
    while (chosen.size() > lower) {
        const auto outcome = search.run(chosen.size() - 1, budget);
        if (outcome == VillageSearch::Outcome::found)
            chosen = search.found();
        else if (outcome == VillageSearch::Outcome::none)
            lower = chosen.size();
        else
            break;
    }

    order_by_gain(instance, chosen, out);
    VillageState final_state(instance, groups);
    for (const std::uint32_t c : chosen)
        final_state.add(c);
    out.villages_reached = final_state.reached();
    out.lower_bound_sites = lower;
    out.proven_optimal = lower == chosen.size();
    return out;
}

} // namespace qiancun::siting
