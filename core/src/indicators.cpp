#include "qiancun/indicators.hpp"

#include "ffi/geos.hpp"
#include "qiancun/error.hpp"
#include "qiancun/log.hpp"
#include "qiancun/metrics.hpp"
#include "qiancun/progress.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>

namespace qiancun {

namespace {

using ffi::GeosGeometry;

constexpr std::string_view kDefaultTargets =
    R"toml(# Qiancun indicator targets (SPEC §5). Copy, edit, pass with --targets FILE.
#
# Source: 上虞区县城承载能力提升和深化"千村示范、万村整治"工程实施方案（2023—2027年）,
# Shangyu District People's Government Office, 6 April 2023 (the "plan").
# Each [key] sets `target` (one number, or milestones by year: the bulletin of a year uses
# the first milestone in that year or later), `basis` and `assumption` (true when the plan
# gives no number and the target is a planning assumption of this registry).

period_start = 2023 # the plan period: years counted by the "new / renovated / maintained"
period_end = 2027   # indicators

[sewage_new]
target = 40
basis = "plan §二(二)2: 建设农村生活污水处理设施40个"

[sewage_renovated]
target = 200
basis = "plan §二(二)2: 改造农村生活污水处理设施200个"

[sewage_village_coverage]
target = 98
basis = "plan §二(二)2: 处理设施行政村覆盖率达98%"

[sewage_effluent_ok]
target = 98
basis = "plan §二(二)2: 出水水质达标率达98%"

[road_new_km]
target = 30
basis = "plan §三(三)1: 完成新改建农村公路30公里"

[road_maintained_km]
target = 300
basis = "plan §三(三)1: 实施养护工程300公里"

[hall_five_star]
target = 50
basis = "plan §二(三)1: 累计建成50家五星级农村文化礼堂"

[courier_village_coverage]
target = 100
basis = "planning assumption: the plan (§三(三)1) asks for village courier stations without a number; every village covered"
assumption = true

[bs5g_settlement_coverage]
target = 100
basis = "planning assumption: the plan (§三(三)3) asks to fill remote blind spots without a number; every settlement reached"
assumption = true

[retained_hemei_share]
target = { 2023 = 20, 2027 = 90 }
basis = "plan §一(二)/(三): 20%以上规划保留村建成和美乡村 in 2023, 90%以上 by 2027"
)toml";

const std::array<std::string_view, 3> kCoverageTypes{"sewage_plant", "courier_station",
                                                     "base_station_5g"};

std::string today_utc() {
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    return fmt::format("{:%Y-%m-%d}", now);
}

[[noreturn]] void targets_error(std::string_view origin, std::int64_t line,
                                const std::string &problem) {
    throw InputError(std::string(origin), "", std::nullopt,
                     fmt::format("line {}: {}", line, problem));
}

/// How the registry's current asset rows differ from the picture of a date.
struct AsOfDifference {
    std::int64_t absent = 0;  ///< rows not registered (or removed) on the date
    std::int64_t changed = 0; ///< rows with another status on the date
    bool differs = false;     ///< the current rows are not exactly the picture
};

AsOfDifference compare_with_current(const Registry &registry,
                                    const std::vector<StatusChange> &statuses,
                                    const AssetStatuses &status_then) {
    AsOfDifference d;
    std::size_t current = 0;
    for (const auto &k : registry.kinds()) {
        if (!k.is_asset() || !registry.has_table(k.key))
            continue;
        const auto then = status_then.find(k.key);
        registry.scan({.table = k.key, .columns = {"id", "status"}}, [&](const ScanRow &r) {
            ++current;
            if (then == status_then.end()) {
                ++d.absent;
                return;
            }
            const auto it = then->second.find(r.text(0));
            if (it == then->second.end())
                ++d.absent;
            else if (it->second != r.text(1))
                ++d.changed;
        });
    }
    d.differs = d.absent > 0 || d.changed > 0 || current != statuses.size();
    return d;
}

/// Everything the indicators read, per group (district = ""; townships by name).
struct Tally {
    std::int64_t sewage_new = 0;
    std::int64_t sewage_renovated = 0;
    std::int64_t sewage_serving = 0;
    std::int64_t sewage_effluent_ok = 0;
    std::int64_t sewage_effluent_unknown = 0; ///< serving, effluent_ok empty
    std::int64_t villages = 0;
    std::int64_t villages_measured = 0; ///< with a geometry: the coverages' denominator
    std::int64_t sewage_covered_villages = 0;
    std::int64_t courier_covered_villages = 0;
    double road_new_km = 0.0;
    double road_maintained_km = 0.0;
    std::int64_t halls_five_star = 0;
    std::int64_t settlement_population = 0;
    std::int64_t population_5g = 0;
    std::int64_t settlements_unknown_population = 0;
    std::int64_t retained = 0;
    std::int64_t retained_hemei = 0;
};

struct RoadRecord {
    bool is_new = false;
    bool maintained = false;
    double length_km = 0.0;
    std::string wkb;
};

std::string percent_detail(std::int64_t part, std::int64_t whole, std::string_view what) {
    return fmt::format("{} of {} {}", part, whole, what);
}

std::optional<double> percent(std::int64_t part, std::int64_t whole) {
    if (whole <= 0)
        return std::nullopt;
    // Multiplying first keeps 49 of 50 at exactly 98.
    return 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

/// The asset kind whose statuses an indicator needs; "" for one from the data's years.
std::string_view status_kind(std::string_view key) {
    if (key == "sewage_village_coverage" || key == "sewage_effluent_ok")
        return "sewage_plant";
    if (key == "hall_five_star")
        return "cultural_hall";
    if (key == "courier_village_coverage")
        return "courier_station";
    if (key == "bs5g_settlement_coverage")
        return "base_station_5g";
    return "";
}

/// Throws UsageError when an asked indicator needs the statuses of a kind on a date before the
/// registry knows them (SPEC §5.2 "History": unknown, and saying so is an error).
template <typename Asked>
void check_statuses_known(const Registry &registry, const std::string &as_of,
                          const Asked &is_asked) {
    std::vector<std::string> blocked;
    std::map<std::string, std::vector<std::string>> kinds_from; // date → kinds
    for (const auto &def : indicator_defs()) {
        if (!def.needs_statuses || !is_asked(def.key))
            continue;
        const std::string kind(status_kind(def.key));
        const auto from = registry.statuses_known_from(kind);
        if (!from || as_of >= *from)
            continue;
        blocked.push_back(def.key);
        auto &kinds = kinds_from[*from];
        if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
            kinds.push_back(kind);
    }
    if (blocked.empty())
        return;
    std::vector<std::string> known;
    for (const auto &[date, kinds] : kinds_from)
        known.push_back(fmt::format("{} from {}", fmt::join(kinds, ", "), date));
    std::vector<std::string> from_years;
    for (const auto &def : indicator_defs())
        if (!def.needs_statuses)
            from_years.push_back(def.key);
    throw UsageError(fmt::format(
        "the asset statuses on {} are unknown: the registry knows them for {} (its first import), "
        "and {} need them. `qiancun load REG MANIFEST --as-of DATE` or `qiancun import REG FILE "
        "--as-of DATE` records the statuses as valid from an earlier date; the indicators from "
        "the data's years need no statuses: --only {}",
        as_of, fmt::join(known, "; "), fmt::join(blocked, ", "), fmt::join(from_years, ",")));
}

} // namespace

const std::vector<IndicatorDef> &indicator_defs() {
    static const std::vector<IndicatorDef> defs{
        {"sewage_new", "count", "新建农村生活污水处理设施",
         "sewage plants built in the period (built_year), not planned or building on the date"},
        {"sewage_renovated", "count", "改造农村生活污水处理设施",
         "sewage plants with renovated_year in the period"},
        {"sewage_village_coverage", "%", "处理设施行政村覆盖率",
         "villages with cov_sewage_plant at or over its threshold", true},
        {"sewage_effluent_ok", "%", "出水水质达标率",
         "serving sewage plants with effluent_ok, of those with a result", true},
        {"road_new_km", "km", "新改建农村公路",
         "roads built in the period (built_year), not planned or building on the date"},
        {"road_maintained_km", "km", "农村公路养护工程",
         "roads with maintained_year in the period"},
        {"hall_five_star", "count", "五星级农村文化礼堂", "serving cultural halls with 5 stars",
         true},
        {"courier_village_coverage", "%", "村级寄递物流综合服务站覆盖",
         "villages with cov_courier_station at or over its threshold", true},
        {"bs5g_settlement_coverage", "%", "偏远地区5G覆盖",
         "settlement population within reach of a serving 5G station", true},
        {"retained_hemei_share", "%", "规划保留村建成和美乡村比例",
         "retained villages (class not relocate) with hemei_year up to the as-of year"},
    };
    return defs;
}

std::optional<double> Target::for_year(int year) const {
    if (milestones.empty())
        return std::nullopt;
    const auto it = milestones.lower_bound(year);
    return it == milestones.end() ? milestones.rbegin()->second : it->second;
}

namespace {

/// `targets` overridden by the targets file `text`.
Targets parse_targets(Targets targets, std::string_view text, std::string_view origin) {
    toml::table doc;
    try {
        doc = toml::parse(text, origin);
    } catch (const toml::parse_error &e) {
        targets_error(origin, e.source().begin.line, std::string(e.description()));
    }
    auto year_of = [&](const toml::node &node, std::string_view what) {
        // Read as a double, not node.value<std::int64_t>(): toml++ 3.3 converts a float outside
        // the int64 range (2e65) with undefined behaviour. 2030 and 2030.0 both stay years.
        const auto v = node.value<double>();
        if (!v || !(*v >= 2000 && *v <= 2100) || std::trunc(*v) != *v)
            targets_error(origin, node.source().begin.line,
                          fmt::format("{} must be a year such as 2023", what));
        return static_cast<int>(*v);
    };
    auto number_of = [&](const toml::node &node, std::string_view what) {
        const auto v = node.value<double>();
        if (!v || *v < 0.0)
            targets_error(origin, node.source().begin.line,
                          fmt::format("{} must be a number ≥ 0", what));
        return *v;
    };
    for (const auto &[key, node] : doc) {
        const std::string k(key.str());
        const auto line = node.source().begin.line;
        if (k == "period_start") {
            targets.period_start = year_of(node, k);
            continue;
        }
        if (k == "period_end") {
            targets.period_end = year_of(node, k);
            continue;
        }
        const auto &defs = indicator_defs();
        if (std::none_of(defs.begin(), defs.end(), [&](const auto &d) { return d.key == k; })) {
            std::vector<std::string> keys;
            for (const auto &d : defs)
                keys.push_back(d.key);
            targets_error(
                origin, line,
                fmt::format("unknown indicator '{}'; indicators: {}", k, fmt::join(keys, ", ")));
        }
        const auto *t = node.as_table();
        if (!t)
            targets_error(origin, line, fmt::format("[{}] must be a table", k));
        Target target;
        for (const auto &[field, value] : *t) {
            const std::string f(field.str());
            const auto at = value.source().begin.line;
            if (f == "target") {
                if (const auto *years = value.as_table()) {
                    for (const auto &[year, v] : *years) {
                        int y = 0;
                        const std::string ys(year.str());
                        const auto [ptr, ec] = std::from_chars(ys.data(), ys.data() + ys.size(), y);
                        if (ec != std::errc() || ptr != ys.data() + ys.size() || y < 2000 ||
                            y > 2100)
                            targets_error(origin, v.source().begin.line,
                                          fmt::format("[{}] target: '{}' is not a year", k, ys));
                        target.milestones[y] = number_of(v, "a target");
                    }
                    if (target.milestones.empty())
                        targets_error(origin, at, fmt::format("[{}] target has no years", k));
                } else {
                    target.milestones[0] = number_of(value, "target");
                }
            } else if (f == "basis") {
                const auto s = value.value<std::string>();
                if (!s)
                    targets_error(origin, at, "basis must be a string");
                target.basis = *s;
            } else if (f == "assumption") {
                const auto b = value.value<bool>();
                if (!b)
                    targets_error(origin, at, "assumption must be true or false");
                target.assumption = *b;
            } else {
                targets_error(origin, at,
                              fmt::format("unknown key '{}' in [{}]; keys: target, basis, "
                                          "assumption",
                                          f, k));
            }
        }
        if (target.milestones.empty())
            targets_error(origin, line, fmt::format("[{}] needs a target", k));
        targets.by_key[k] = std::move(target);
    }
    if (targets.period_end < targets.period_start)
        targets_error(origin, 1, "period_end is before period_start");
    return targets;
}

} // namespace

Targets Targets::defaults() {
    return parse_targets(Targets{}, kDefaultTargets, "built-in targets");
}

Targets Targets::from_toml(std::string_view text, std::string_view origin) {
    return parse_targets(defaults(), text, origin);
}

std::string_view default_targets_toml() {
    return kDefaultTargets;
}

std::string_view to_string(IndicatorStatus status) noexcept {
    switch (status) {
    case IndicatorStatus::met:
        return "met";
    case IndicatorStatus::on_track:
        return "on_track";
    case IndicatorStatus::behind:
        return "behind";
    case IndicatorStatus::no_target:
        return "no_target";
    case IndicatorStatus::no_data:
        return "no_data";
    }
    return "no_data";
}

Rows Bulletin::to_rows(bool townships) const {
    const bool with_townships =
        townships && std::any_of(values.begin(), values.end(),
                                 [](const IndicatorValue &v) { return !v.township.empty(); });
    Rows rows;
    if (with_townships)
        rows.columns.push_back("township");
    for (const char *c : {"indicator", "unit", "target", "expected", "actual", "status", "unknown"})
        rows.columns.emplace_back(c);
    std::unordered_map<std::string, std::string> unit_of;
    for (const auto &d : indicator_defs())
        unit_of[d.key] = d.unit;
    for (const auto &v : values) {
        if (!v.township.empty() && !with_townships)
            continue;
        std::vector<Value> row;
        if (with_townships)
            row.emplace_back(v.township);
        row.emplace_back(v.key);
        row.emplace_back(unit_of[v.key]);
        row.push_back(v.target ? Value{*v.target} : Value{});
        row.push_back(v.expected ? Value{std::round(*v.expected * 100.0) / 100.0} : Value{});
        // Counts print as integers; km and % keep two decimals' worth of precision.
        if (!v.actual)
            row.emplace_back();
        else if (unit_of[v.key] == "count")
            row.emplace_back(static_cast<std::int64_t>(std::llround(*v.actual)));
        else
            row.emplace_back(std::round(*v.actual * 100.0) / 100.0);
        row.emplace_back(std::string(to_string(v.status)));
        row.push_back(unit_of[v.key] == "%" ? Value{v.unknown} : Value{});
        rows.rows.push_back(std::move(row));
    }
    return rows;
}

Bulletin compute_indicators(const Registry &registry, const Targets &targets,
                            const MetricsConfig &config, const IndicatorOptions &options) {
    if (!registry.working_srid())
        throw UsageError(fmt::format("{} has no working CRS yet", registry.display()));
    Bulletin bulletin;
    bulletin.as_of = options.as_of.empty() ? today_utc() : options.as_of;
    if (!is_iso_date(bulletin.as_of))
        throw UsageError(fmt::format("--as-of '{}' is not a date YYYY-MM-DD", bulletin.as_of));
    bulletin.year = std::stoi(bulletin.as_of.substr(0, 4));
    const int first_year = targets.period_start;
    const int last_year = std::min(targets.period_end, bulletin.year);
    auto in_period = [&](const std::optional<std::int64_t> &y) {
        return y && *y >= first_year && *y <= last_year;
    };

    // The indicators asked for.
    std::set<std::string> asked;
    for (const auto &key : options.only) {
        const auto &defs = indicator_defs();
        if (std::none_of(defs.begin(), defs.end(),
                         [&](const IndicatorDef &d) { return d.key == key; })) {
            std::vector<std::string> keys;
            for (const auto &d : defs)
                keys.push_back(d.key);
            throw UsageError(
                fmt::format("unknown indicator '{}'; valid: {}", key, fmt::join(keys, ", ")));
        }
        asked.insert(key);
    }
    auto is_asked = [&](std::string_view key) {
        return asked.empty() || asked.count(std::string(key)) > 0;
    };
    check_statuses_known(registry, bulletin.as_of, is_asked);
    const bool statuses_asked =
        std::any_of(indicator_defs().begin(), indicator_defs().end(),
                    [&](const IndicatorDef &d) { return d.needs_statuses && is_asked(d.key); });

    // The picture on the as-of date, for the indicators that need statuses: when it is not the
    // registry's current rows, assets absent then are left out and the others carry their
    // status then.
    const auto statuses = registry.statuses_as_of(bulletin.as_of);
    AssetStatuses status_then; // kind → id → status
    for (const auto &s : statuses)
        status_then[s.kind][s.id] = s.status;
    const AssetStatuses *picture = nullptr;
    if (statuses_asked) {
        const auto difference = compare_with_current(registry, statuses, status_then);
        if (difference.differs) {
            picture = &status_then;
            bulletin.notes.push_back(fmt::format(
                "as of {} (status history): {} assets not yet registered or removed left out, {} "
                "with an earlier status",
                bulletin.as_of, difference.absent, difference.changed));
        }
    }
    // Rows of an asset kind in the picture, with their status then.
    auto scan_as_of = [&](const std::string &kind, std::vector<std::string> columns,
                          const std::function<void(const ScanRow &, const std::string &)> &row) {
        if (!registry.has_table(kind))
            return;
        columns.insert(columns.begin(), {"id", "status"});
        static const std::map<std::string, std::string> kNone;
        const std::map<std::string, std::string> *then = nullptr;
        if (picture) {
            const auto it = picture->find(kind);
            then = it == picture->end() ? &kNone : &it->second;
        }
        registry.scan({.table = kind, .columns = std::move(columns)}, [&](const ScanRow &r) {
            if (!then)
                return row(r, r.text(1));
            const auto it = then->find(r.text(0));
            if (it != then->end())
                row(r, it->second);
        });
    };
    auto count_as_of = [&](const std::string &kind) {
        std::int64_t n = 0;
        scan_as_of(kind, {}, [&](const ScanRow &, const std::string &) { ++n; });
        return n;
    };
    auto &ctx = ffi::geos_context();

    // Villages and their townships.
    std::unordered_map<std::string, std::string> township_of;
    std::set<std::string> townships;
    std::map<std::string, Tally> tally; // "" = district
    Tally &district = tally[""];
    if (registry.has_table("village"))
        registry.scan({.table = "village", .columns = {"code", "township", "class", "hemei_year"}},
                      [&](const ScanRow &st) {
                          const std::string code = st.text(0);
                          // Villages without a township form a group of their own, never the
                          // district's.
                          std::string township = st.text(1);
                          if (township.empty())
                              township = "(none)";
                          township_of[code] = township;
                          townships.insert(township);
                          const bool retained = st.text(2) != "relocate";
                          const auto hemei = st.integer(3);
                          for (Tally *t : {&district, &tally[township]}) {
                              ++t->villages;
                              if (retained) {
                                  ++t->retained;
                                  t->retained_hemei += hemei && *hemei <= bulletin.year ? 1 : 0;
                              }
                          }
                      });
    auto tallies_of = [&](const std::string &village_code) {
        std::vector<Tally *> out{&district};
        if (const auto it = township_of.find(village_code); it != township_of.end())
            out.push_back(&tally[it->second]);
        return out;
    };

    // Statuses on the date from the as-of picture; years from the registry's current rows,
    // whatever their import date.
    const std::int64_t plants = count_as_of("sewage_plant");
    const std::int64_t plants_now = registry.count("sewage_plant");
    const std::int64_t roads_now = registry.count("rural_road");
    const std::int64_t halls = count_as_of("cultural_hall");
    const std::int64_t couriers = count_as_of("courier_station");
    const std::int64_t stations = count_as_of("base_station_5g");
    // Built by the date: not planned or building then, or now when the history does not know
    // the asset on that date.
    auto built = [&](const std::string &kind, const std::string &id, const std::string &current) {
        const auto &known = status_then[kind];
        const auto it = known.find(id);
        const std::string &status = it == known.end() ? current : it->second;
        return status != "planned" && status != "building";
    };

    if (plants_now > 0)
        registry.scan({.table = "sewage_plant",
                       .columns = {"id", "status", "built_year", "renovated_year", "village_code"},
                       .order_by = {"fid"}},
                      [&](const ScanRow &st) {
                          const bool is_new = in_period(st.integer(2)) &&
                                              built("sewage_plant", st.text(0), st.text(1));
                          const bool renovated = in_period(st.integer(3));
                          for (Tally *t : tallies_of(st.text(4))) {
                              t->sewage_new += is_new ? 1 : 0;
                              t->sewage_renovated += renovated ? 1 : 0;
                          }
                      });
    if (plants > 0)
        scan_as_of("sewage_plant", {"effluent_ok", "village_code"},
                   [&](const ScanRow &st, const std::string &status) {
                       const bool serving = config.serves(status);
                       for (Tally *t : tallies_of(st.text(3))) {
                           t->sewage_serving += serving ? 1 : 0;
                           // Unknown is not failure: a serving plant without a result is left
                           // out of both sides of the share.
                           const auto ok = st.integer(2);
                           t->sewage_effluent_unknown += serving && !ok ? 1 : 0;
                           t->sewage_effluent_ok += serving && ok && *ok != 0 ? 1 : 0;
                       }
                   });
    if (halls > 0)
        scan_as_of("cultural_hall", {"stars", "village_code"},
                   [&](const ScanRow &st, const std::string &status) {
                       if (config.serves(status) && st.integer(2) == 5)
                           for (Tally *t : tallies_of(st.text(3)))
                               ++t->halls_five_star;
                   });
    std::vector<RoadRecord> road_records;
    if (roads_now > 0)
        registry.scan({.table = "rural_road",
                       .columns = {"id", "status", "built_year", "maintained_year"},
                       .wkb = true,
                       .where = {ScanCondition::not_null("geom")},
                       .order_by = {"fid"}},
                      [&](const ScanRow &st) {
                          RoadRecord r;
                          r.is_new = in_period(st.integer(2)) &&
                                     built("rural_road", st.text(0), st.text(1));
                          r.maintained = in_period(st.integer(3));
                          if (!r.is_new && !r.maintained)
                              return;
                          r.wkb = st.wkb;
                          const auto g = ffi::read_wkb(ctx, r.wkb);
                          r.length_km = ffi::length(ctx, g.get()) / 1000.0;
                          district.road_new_km += r.is_new ? r.length_km : 0.0;
                          district.road_maintained_km += r.maintained ? r.length_km : 0.0;
                          road_records.push_back(std::move(r));
                      });
    if (options.by_township && !road_records.empty() && registry.has_table("village")) {
        // A township's roads: the length inside its villages.
        struct VillageShape {
            std::string township;
            GeosGeometry geom;
            ffi::GeosPrepared prepared;
        };
        std::vector<VillageShape> shapes;
        registry.scan({.table = "village",
                       .columns = {"township"},
                       .wkb = true,
                       .where = {ScanCondition::not_null("geom")},
                       .order_by = {"fid"}},
                      [&](const ScanRow &vs) {
                          VillageShape v{vs.text(0), ffi::read_wkb(ctx, vs.wkb), nullptr};
                          v.prepared = ffi::prepare(ctx, v.geom.get());
                          shapes.push_back(std::move(v));
                      });
        for (const auto &r : road_records) {
            const auto line = ffi::read_wkb(ctx, r.wkb);
            for (const auto &v : shapes) {
                if (!ffi::predicate(
                        ctx, GEOSPreparedIntersects_r(ctx.handle(), v.prepared.get(), line.get()),
                        "road intersects village"))
                    continue;
                const auto part = ffi::own(
                    ctx, GEOSIntersection_r(ctx.handle(), line.get(), v.geom.get()), "road part");
                const double km = ffi::length(ctx, part.get()) / 1000.0;
                Tally &t = tally[v.township];
                t.road_new_km += r.is_new ? km : 0.0;
                t.road_maintained_km += r.maintained ? km : 0.0;
            }
        }
    }

    // Coverage from the SPEC §3 metrics on the as-of picture.
    MetricsOptions mo;
    for (const auto &t : kCoverageTypes)
        mo.types.emplace_back(t);
    mo.threads = options.threads;
    if (picture)
        mo.statuses = *picture;
    const bool coverage_asked = is_asked("sewage_village_coverage") ||
                                is_asked("courier_village_coverage") ||
                                is_asked("bs5g_settlement_coverage");
    const MetricsTable metrics = district.villages > 0 && coverage_asked
                                     ? compute_metrics(registry, config, mo)
                                     : MetricsTable{};
    auto type_index = [&](std::string_view type) {
        return static_cast<std::size_t>(
            std::find(metrics.types.begin(), metrics.types.end(), type) - metrics.types.begin());
    };
    const std::size_t sewage_i = type_index("sewage_plant");
    const std::size_t courier_i = type_index("courier_station");
    const std::size_t bs_i = type_index("base_station_5g");
    const auto none = metrics.types.size();
    for (const auto &v : metrics.villages) {
        if (sewage_i == none || courier_i == none || bs_i == none)
            break;
        for (Tally *t : tallies_of(v.code)) {
            ++t->villages_measured;
            t->sewage_covered_villages += v.types.at(sewage_i).gap ? 0 : 1;
            t->courier_covered_villages += v.types.at(courier_i).gap ? 0 : 1;
            t->settlement_population += v.settlement_population;
            t->population_5g += v.settlement_population - v.types.at(bs_i).uncovered_population;
        }
    }

    if (district.villages > 0 && registry.has_table("settlement"))
        registry.scan(
            {.table = "settlement",
             .columns = {"village_code"},
             .where = {ScanCondition::null("population"), ScanCondition::not_null("village_code")}},
            [&](const ScanRow &st) {
                for (Tally *t : tallies_of(st.text(0)))
                    ++t->settlements_unknown_population;
            });

    // The rows.
    auto no_layer = [&](std::string_view what) {
        return fmt::format("no {} in the registry as of {}", what, bulletin.as_of);
    };
    std::set<std::string> noted;
    auto note_once = [&](const std::string &note) {
        if (noted.insert(note).second)
            bulletin.notes.push_back(note);
    };
    std::vector<std::string> groups{""};
    if (options.by_township)
        groups.insert(groups.end(), townships.begin(), townships.end());
    for (const auto &group : groups) {
        const Tally &t = tally[group];
        for (const auto &def : indicator_defs()) {
            if (!is_asked(def.key))
                continue;
            IndicatorValue v;
            v.key = def.key;
            v.township = group;
            const Target *target = nullptr;
            if (const auto it = targets.by_key.find(def.key); it != targets.by_key.end())
                target = &it->second;
            // A township has no share of a district count or length in the plan.
            if (target && (group.empty() || def.unit == "%"))
                v.target = target->for_year(bulletin.year);
            std::string missing; // why there is no actual
            const auto &k = def.key;
            if (k == "sewage_new" || k == "sewage_renovated") {
                if (plants_now == 0)
                    missing = "no sewage plants in the registry";
                else
                    v.actual =
                        static_cast<double>(k == "sewage_new" ? t.sewage_new : t.sewage_renovated);
            } else if (k == "sewage_village_coverage" || k == "courier_village_coverage") {
                const bool sewage = k == "sewage_village_coverage";
                if ((sewage ? plants : couriers) == 0)
                    missing = no_layer(sewage ? "sewage plants" : "courier stations");
                else if (t.villages_measured == 0)
                    missing = t.villages == 0 ? "no villages" : "no village has a geometry";
                v.actual = missing.empty() ? percent(sewage ? t.sewage_covered_villages
                                                            : t.courier_covered_villages,
                                                     t.villages_measured)
                                           : std::nullopt;
                v.detail =
                    percent_detail(sewage ? t.sewage_covered_villages : t.courier_covered_villages,
                                   t.villages_measured, "villages");
                v.unknown = t.villages - t.villages_measured;
            } else if (k == "sewage_effluent_ok") {
                const std::int64_t known = t.sewage_serving - t.sewage_effluent_unknown;
                if (t.sewage_serving == 0)
                    missing = plants == 0 ? no_layer("sewage plants") : "no serving sewage plant";
                else if (known == 0)
                    missing = "no serving sewage plant has an effluent result";
                else
                    v.actual = percent(t.sewage_effluent_ok, known);
                v.detail =
                    percent_detail(t.sewage_effluent_ok, known, "serving plants with a result");
                v.unknown = t.sewage_effluent_unknown;
            } else if (k == "road_new_km" || k == "road_maintained_km") {
                if (roads_now == 0)
                    missing = "no roads in the registry";
                else
                    v.actual = k == "road_new_km" ? t.road_new_km : t.road_maintained_km;
            } else if (k == "hall_five_star") {
                if (halls == 0)
                    missing = no_layer("cultural halls");
                else
                    v.actual = static_cast<double>(t.halls_five_star);
            } else if (k == "bs5g_settlement_coverage") {
                if (stations == 0)
                    missing = no_layer("5G base stations");
                else if (t.settlement_population == 0)
                    missing = "no settlement population";
                else
                    v.actual = percent(t.population_5g, t.settlement_population);
                v.detail = fmt::format("{} of {} people", t.population_5g, t.settlement_population);
                v.unknown = t.settlements_unknown_population;
            } else if (k == "retained_hemei_share") {
                if (t.retained == 0)
                    missing = "no retained villages";
                else
                    v.actual = percent(t.retained_hemei, t.retained);
                v.detail = percent_detail(t.retained_hemei, t.retained, "retained villages");
            }
            if (!missing.empty())
                note_once(fmt::format("{}{}: no data ({})", k, group.empty() ? "" : " in " + group,
                                      missing));
            if (target && v.target)
                v.expected = expected_value(*target, def.unit != "%", bulletin.as_of,
                                            targets.period_start, targets.period_end);
            v.status = progress_status(v.actual, v.target, v.expected);
            bulletin.values.push_back(std::move(v));
        }
    }
    for (const auto &def : indicator_defs())
        if (const auto it = targets.by_key.find(def.key);
            is_asked(def.key) && it != targets.by_key.end() && it->second.assumption)
            bulletin.notes.push_back(fmt::format("{}: target {:g} {}, not the plan's — {}", def.key,
                                                 *it->second.for_year(bulletin.year), def.unit,
                                                 it->second.basis));
    if (options.by_township)
        bulletin.notes.push_back("per township, counts and lengths have no target (the plan "
                                 "sets them for the district only): status no_target");
    return bulletin;
}

} // namespace qiancun
