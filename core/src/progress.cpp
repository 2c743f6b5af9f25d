#include "qiancun/progress.hpp"

#include "qiancun/error.hpp"
#include "qiancun/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <vector>

#include "qiancun/i18n.hpp"

namespace qiancun {

namespace {

using Days = std::chrono::sys_days;

/// Day number of the start of 1 January of `year`.
double start_of_year(int year) {
    const Days d{std::chrono::year{year} / std::chrono::January / 1};
    return static_cast<double>(d.time_since_epoch().count());
}

double days_in_year(int year) {
    return start_of_year(year + 1) - start_of_year(year);
}

/// Day number of the end of the day `date` (YYYY-MM-DD), i.e. the start of the next day.
double end_of_day(std::string_view date) {
    if (!is_iso_date(date))
        throw UsageError(fmt::format(fmt::runtime(_("'{}' is not a date YYYY-MM-DD")), date));
    const int y = std::stoi(std::string(date.substr(0, 4)));
    const auto m = static_cast<unsigned>(std::stoi(std::string(date.substr(5, 2))));
    const auto d = static_cast<unsigned>(std::stoi(std::string(date.substr(8, 2))));
    const Days day{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}};
    return static_cast<double>(day.time_since_epoch().count()) + 1.0;
}

} // namespace

std::optional<double> expected_value(const Target &target, bool cumulative, std::string_view as_of,
                                     int period_start, int period_end) {
    const double t = end_of_day(as_of);
    if (target.milestones.empty())
        return std::nullopt;
    // (time, value) points: the end of each milestone's year.
    std::vector<std::pair<double, double>> points;
    int first_year = 0;
    for (const auto &[year, value] : target.milestones) {
        const int y = year == 0 ? period_end : year;
        first_year = points.empty() ? y : std::min(first_year, y);
        points.emplace_back(start_of_year(y + 1), value);
    }
    std::sort(points.begin(), points.end());
    if (cumulative)
        points.insert(points.begin(), {start_of_year(period_start), 0.0});
    if (t <= points.front().first) {
        if (cumulative)
            return 0.0;
        // A share before its first milestone: expected only within that milestone's year.
        return t > points.front().first - days_in_year(first_year)
                   ? std::optional<double>(points.front().second)
                   : std::nullopt;
    }
    for (std::size_t i = 1; i < points.size(); ++i) {
        const auto [t0, v0] = points[i - 1];
        const auto [t1, v1] = points[i];
        if (t <= t1)
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0);
    }
    return points.back().second;
}

IndicatorStatus progress_status(const std::optional<double> &actual,
                                const std::optional<double> &target,
                                const std::optional<double> &expected) {
    if (!target)
        return IndicatorStatus::no_target;
    if (!actual)
        return IndicatorStatus::no_data;
    if (*actual >= *target)
        return IndicatorStatus::met;
    if (!expected || *actual >= *expected)
        return IndicatorStatus::on_track;
    return IndicatorStatus::behind;
}

std::vector<BehindWarning> behind_schedule(const Bulletin &bulletin) {
    std::vector<BehindWarning> out;
    for (const auto &v : bulletin.values) {
        if (v.status != IndicatorStatus::behind || !v.actual || !v.expected)
            continue;
        BehindWarning w;
        w.value = v;
        w.behind_by = *v.expected - *v.actual;
        w.behind_share = *v.expected > 0.0 ? w.behind_by / *v.expected : 1.0;
        out.push_back(std::move(w));
    }
    std::stable_sort(out.begin(), out.end(), [](const BehindWarning &a, const BehindWarning &b) {
        const bool ad = a.value.township.empty();
        const bool bd = b.value.township.empty();
        if (ad != bd)
            return ad;
        if (a.behind_share != b.behind_share)
            return a.behind_share > b.behind_share;
        if (a.value.key != b.value.key)
            return a.value.key < b.value.key;
        return a.value.township < b.value.township;
    });
    return out;
}

std::vector<TownshipRank> rank_townships(const Bulletin &bulletin) {
    std::map<std::string, TownshipRank> by_name;
    for (const auto &v : bulletin.values) {
        if (v.township.empty())
            continue;
        auto &r = by_name[v.township];
        r.township = v.township;
        if (!v.target || !v.actual)
            continue;
        ++r.targets;
        r.met += v.status == IndicatorStatus::met ? 1 : 0;
        r.behind += v.status == IndicatorStatus::behind ? 1 : 0;
    }
    std::vector<TownshipRank> out;
    for (auto &[name, r] : by_name) {
        if (r.targets > 0)
            r.share = static_cast<double>(r.met) / static_cast<double>(r.targets);
        out.push_back(std::move(r));
    }
    // Compared as the fractions met/targets exactly (cross-multiplied), never as rounded doubles.
    auto better = [](const TownshipRank &a, const TownshipRank &b) {
        return static_cast<long long>(a.met) * b.targets >
               static_cast<long long>(b.met) * a.targets;
    };
    std::stable_sort(out.begin(), out.end(), [&](const TownshipRank &a, const TownshipRank &b) {
        if ((a.targets > 0) != (b.targets > 0))
            return a.targets > 0;
        if (a.targets == 0)
            return false;
        return better(a, b);
    });
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i].targets == 0)
            break;
        out[i].rank = i > 0 && !better(out[i - 1], out[i])
                          ? out[i - 1].rank
                          : std::optional<int>(static_cast<int>(i) + 1);
    }
    return out;
}

} // namespace qiancun
