#include "qiancun/indicators.hpp"

#include "ffi/geos.hpp"
#include "metrics/dataset.hpp"
#include "qiancun/error.hpp"
#include "qiancun/expression.hpp"
#include "qiancun/log.hpp"
#include "qiancun/metrics.hpp"
#include "qiancun/progress.hpp"

#include <boost/geometry/algorithms/intersects.hpp>
#include <boost/geometry/strategies/strategies.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "qiancun/i18n.hpp"

namespace qiancun {

namespace detail {
extern const std::string_view kBuiltinIndicatorsToml;
} // namespace detail

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

std::string today_utc() {
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    return fmt::format("{:%Y-%m-%d}", now);
}

[[noreturn]] void file_error(std::string_view origin, std::int64_t line,
                             const std::string &problem) {
    throw InputError(std::string(origin), "", std::nullopt,
                     fmt::format(fmt::runtime(_("line {}: {}")), line, problem));
}

const KindDef *find_kind(const std::vector<KindDef> &kinds, std::string_view key) {
    for (const auto &k : kinds)
        if (k.key == key)
            return &k;
    return nullptr;
}

std::vector<std::string> asset_kind_keys(const std::vector<KindDef> &kinds) {
    std::vector<std::string> out;
    for (const auto &k : kinds)
        if (k.is_asset())
            out.push_back(k.key);
    return out;
}

const std::vector<std::pair<std::string, ExprType>> &period_names() {
    static const std::vector<std::pair<std::string, ExprType>> names{
        {"plan_year", ExprType::number}, {"plan_end", ExprType::number}, {"as_of", ExprType::text}};
    return names;
}

/// The scope of `where` and an asset share's `condition`: the kind's columns, the period and
/// `serving`.
ExprScope asset_scope(const KindDef &kind) {
    ExprScope s;
    s.subject = kind.key;
    s.attributes = kind.attributes;
    s.computed = period_names();
    s.computed.emplace_back("serving", ExprType::boolean);
    return s;
}

/// The scope of an expression about the registry's own layer `subject` (village or
/// settlement): its configured attributes, the period names, `functions` over the asset kinds.
ExprScope layer_scope(const std::vector<KindDef> &kinds, const std::string &subject,
                      std::vector<KindFunction> functions) {
    ExprScope s;
    s.subject = subject;
    if (const auto *v = find_kind(kinds, subject))
        s.attributes = v->attributes;
    s.computed = period_names();
    s.functions = std::move(functions);
    s.kinds = asset_kind_keys(kinds);
    return s;
}

/// The scope of `villages` and a village share's `condition`.
ExprScope village_scope(const std::vector<KindDef> &kinds) {
    return layer_scope(kinds, "village",
                       {KindFunction::serving_in, KindFunction::cov, KindFunction::covered,
                        KindFunction::nearest_m, KindFunction::net_nearest_m});
}

/// The scope of a population share's `condition`: a settlement, with the functions of its
/// village (serving_in, cov, covered) and its own (within, nearest_m).
ExprScope settlement_scope(const std::vector<KindDef> &kinds) {
    return layer_scope(kinds, "settlement",
                       {KindFunction::within, KindFunction::nearest_m, KindFunction::serving_in,
                        KindFunction::cov, KindFunction::covered});
}

bool is_asset_measure(IndicatorMeasure m) {
    return m == IndicatorMeasure::count || m == IndicatorMeasure::length_km ||
           m == IndicatorMeasure::sum || m == IndicatorMeasure::asset_share;
}

/// The scope of expression `field` of `def`.
ExprScope scope_of(const IndicatorDef &def, std::string_view field,
                   const std::vector<KindDef> &kinds) {
    if (is_asset_measure(def.measure)) {
        const auto *k = find_kind(kinds, def.kind);
        if (!k)
            throw UsageError(fmt::format(
                fmt::runtime(_("indicator {}: the registry has no kind '{}'")), def.key, def.kind));
        // A count or sum of villages reads as a village share's `villages` does.
        return k->role == KindRole::village ? village_scope(kinds) : asset_scope(*k);
    }
    if (def.measure == IndicatorMeasure::population_share && field == "condition")
        return settlement_scope(kinds);
    return village_scope(kinds);
}

/// Expression `field` of `def` ("" parses to an always-true expression).
std::optional<Expression> parse_field(const IndicatorDef &def, const std::string &field,
                                      const std::string &text, const std::vector<KindDef> &kinds) {
    if (text.empty())
        return std::nullopt;
    const auto line = def.expression_lines.count(field) ? def.expression_lines.at(field) : def.line;
    return Expression::parse(text, scope_of(def, field, kinds),
                             {def.origin, line, fmt::format("[indicator.{}] {}", def.key, field)});
}

/// Fills `def.needs_statuses` and `def.status_kinds` from its measure and expressions.
void derive_statuses(IndicatorDef &def, const std::vector<KindDef> &kinds) {
    def.status_kinds.clear();
    auto add = [&](const std::string &kind) {
        if (std::find(def.status_kinds.begin(), def.status_kinds.end(), kind) ==
            def.status_kinds.end())
            def.status_kinds.push_back(kind);
    };
    if (is_asset_measure(def.measure) && def.kind == "village") {
        if (const auto e = parse_field(def, "where", def.where, kinds))
            for (const auto &c : e->calls())
                add(c.kind);
    } else if (is_asset_measure(def.measure)) {
        if (!def.from_years)
            add(def.kind);
    } else {
        for (const auto &[field, text] : std::vector<std::pair<std::string, std::string>>{
                 {"villages", def.villages}, {"condition", def.condition}})
            if (const auto e = parse_field(def, field, text, kinds))
                for (const auto &c : e->calls())
                    add(c.kind);
    }
    def.needs_statuses = !def.status_kinds.empty();
}

std::optional<double> percent(double part, double whole) {
    if (whole <= 0)
        return std::nullopt;
    // Multiplying first keeps 49 of 50 at exactly 98.
    return 100.0 * part / whole;
}

/// Milestones of a `target` value: a number (year 0) or { year = value, … }.
std::map<int, double> read_milestones(const toml::node &value, std::string_view origin,
                                      const std::string &what) {
    auto number_of = [&](const toml::node &node) {
        const auto v = node.value<double>();
        if (!v || !(*v >= 0.0) || !std::isfinite(*v))
            file_error(origin, node.source().begin.line,
                       fmt::format(fmt::runtime(_("{} must be a number ≥ 0")), what));
        return *v;
    };
    std::map<int, double> out;
    if (const auto *years = value.as_table()) {
        for (const auto &[year, v] : *years) {
            int y = 0;
            const std::string ys(year.str());
            const auto [ptr, ec] = std::from_chars(ys.data(), ys.data() + ys.size(), y);
            if (ec != std::errc() || ptr != ys.data() + ys.size() || y < 2000 || y > 2100)
                file_error(origin, v.source().begin.line,
                           fmt::format(fmt::runtime(_("{}: '{}' is not a year")), what, ys));
            out[y] = number_of(v);
        }
        if (out.empty())
            file_error(origin, value.source().begin.line,
                       fmt::format(fmt::runtime(_("{} has no years")), what));
    } else {
        out[0] = number_of(value);
    }
    return out;
}

/// A year of period_start / period_end.
int read_year(const toml::node &node, std::string_view origin, std::string_view what) {
    // Read as a double, not node.value<std::int64_t>(): toml++ 3.3 converts a float outside
    // the int64 range (2e65) with undefined behaviour. 2030 and 2030.0 both stay years.
    const auto v = node.value<double>();
    if (!v || !(*v >= 2000 && *v <= 2100) || std::trunc(*v) != *v)
        file_error(origin, node.source().begin.line,
                   fmt::format(fmt::runtime(_("{} must be a year such as 2023")), what));
    return static_cast<int>(*v);
}

toml::table parse_toml(std::string_view text, std::string_view origin) {
    try {
        return toml::parse(text, origin);
    } catch (const toml::parse_error &e) {
        std::string problem(e.description());
        // TOML 1.0 bare keys are ASCII: `{ 东关街道 = 100 }` must be written with quotes.
        const auto saw = problem.find("saw '");
        if (saw != std::string::npos && saw + 5 < problem.size() &&
            static_cast<unsigned char>(problem[saw + 5]) >= 0x80)
            problem += _("; a key in Chinese needs quotes in TOML: { \"东关街道\" = 100 }");
        file_error(origin, e.source().begin.line, problem);
    }
}

/// Reads `period_start` / `period_end` into `targets`; false when `key` is neither.
bool read_period(Targets &targets, const std::string &key, const toml::node &node,
                 std::string_view origin) {
    if (key == "period_start")
        targets.period_start = read_year(node, origin, key);
    else if (key == "period_end")
        targets.period_end = read_year(node, origin, key);
    else
        return false;
    return true;
}

/// `targets` overridden by the targets file `text` (`[key] target basis assumption`).
Targets parse_targets(Targets targets, std::string_view text, std::string_view origin) {
    const toml::table doc = parse_toml(text, origin);
    for (const auto &[key, node] : doc) {
        const std::string k(key.str());
        const auto line = node.source().begin.line;
        if (read_period(targets, k, node, origin))
            continue;
        if (!targets.def(k)) {
            std::vector<std::string> keys;
            for (const auto &d : targets.defs)
                keys.push_back(d.key);
            file_error(origin, line,
                       fmt::format(fmt::runtime(_("unknown indicator '{}'; indicators: {}")), k,
                                   fmt::join(keys, ", ")));
        }
        const auto *t = node.as_table();
        if (!t)
            file_error(origin, line, fmt::format(fmt::runtime(_("[{}] must be a table")), k));
        Target target;
        for (const auto &[field, value] : *t) {
            const std::string f(field.str());
            const auto at = value.source().begin.line;
            if (f == "target") {
                target.milestones = read_milestones(value, origin, fmt::format("[{}] target", k));
            } else if (f == "basis") {
                const auto s = value.value<std::string>();
                if (!s)
                    file_error(origin, at, _("basis must be a string"));
                target.basis = *s;
            } else if (f == "assumption") {
                const auto b = value.value<bool>();
                if (!b)
                    file_error(origin, at, _("assumption must be true or false"));
                target.assumption = *b;
            } else {
                file_error(
                    origin, at,
                    fmt::format(fmt::runtime(_("unknown key '{}' in [{}]; keys: target, basis, "
                                               "assumption")),
                                f, k));
            }
        }
        if (target.milestones.empty())
            file_error(origin, line, fmt::format("[{}] needs a target", k));
        // A targets file sets the district's number; township targets of an indicators file
        // stay.
        if (const auto it = targets.by_key.find(k); it != targets.by_key.end())
            target.townships = it->second.townships;
        targets.by_key[k] = std::move(target);
    }
    if (targets.period_end < targets.period_start)
        file_error(origin, 1, _("period_end is before period_start"));
    return targets;
}

std::optional<IndicatorMeasure> measure_of(std::string_view name) {
    for (const auto m : {IndicatorMeasure::count, IndicatorMeasure::length_km,
                         IndicatorMeasure::sum, IndicatorMeasure::asset_share,
                         IndicatorMeasure::village_share, IndicatorMeasure::population_share})
        if (to_string(m) == name)
            return m;
    return std::nullopt;
}

bool is_key(std::string_view key) {
    if (key.empty() || !(key[0] >= 'a' && key[0] <= 'z'))
        return false;
    return std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

/// One `[indicator.<key>]` table.
std::pair<IndicatorDef, std::optional<Target>>
parse_indicator(const std::string &key, const toml::table &t, std::string_view origin,
                std::int64_t line, const std::vector<KindDef> &kinds) {
    IndicatorDef def;
    def.key = key;
    def.origin = std::string(origin);
    def.line = line;
    Target target;
    bool has_target = false;
    bool has_unit = false;
    bool has_fallback = false;
    std::string measure;
    const std::string where = fmt::format("[indicator.{}]", key);
    auto text_of = [&](const toml::node &value, const std::string &f) {
        const auto s = value.value<std::string>();
        if (!s)
            file_error(origin, value.source().begin.line,
                       fmt::format(fmt::runtime(_("{} {} must be a string")), where, f));
        return *s;
    };
    auto bool_of = [&](const toml::node &value, const std::string &f) {
        const auto b = value.value<bool>();
        if (!b)
            file_error(origin, value.source().begin.line,
                       fmt::format(fmt::runtime(_("{} {} must be true or false")), where, f));
        return *b;
    };
    for (const auto &[field, value] : t) {
        const std::string f(field.str());
        const auto at = value.source().begin.line;
        if (f == "label")
            def.label = text_of(value, f);
        else if (f == "unit") {
            def.unit = text_of(value, f);
            has_unit = true;
        } else if (f == "measure")
            measure = text_of(value, f);
        else if (f == "kind")
            def.kind = text_of(value, f);
        else if (f == "where" || f == "villages" || f == "condition") {
            (f == "where"      ? def.where
             : f == "villages" ? def.villages
                               : def.condition) = text_of(value, f);
            def.expression_lines[f] = at;
        } else if (f == "of")
            def.of = text_of(value, f);
        else if (f == "from_years")
            def.from_years = bool_of(value, f);
        else if (f == "denominator")
            def.denominator = text_of(value, f);
        else if (f == "definition")
            def.definition = text_of(value, f);
        else if (f == "department")
            def.department = text_of(value, f);
        else if (f == "events")
            def.events = text_of(value, f);
        else if (f == "fallback") {
            const std::string fb = text_of(value, f);
            if (fb != "attribute" && fb != "none")
                file_error(
                    origin, at,
                    fmt::format(
                        fmt::runtime(_("{} fallback '{}' is not one of none (an asset without an "
                                       "event in the period is unknown), attribute (its condition "
                                       "decides)")),
                        where, fb));
            def.events_fallback = fb == "attribute";
            has_fallback = true;
        } else if (f == "basis")
            target.basis = text_of(value, f);
        else if (f == "assumption")
            target.assumption = bool_of(value, f);
        else if (f == "target") {
            target.milestones = read_milestones(value, origin, where + " target");
            has_target = true;
        } else if (f == "townships") {
            const auto *towns = value.as_table();
            if (!towns)
                file_error(origin, at,
                           fmt::format(fmt::runtime(
                                           _("{} townships must be a table: {{ 东关街道 = 100 }}")),
                                       where));
            for (const auto &[town, v] : *towns)
                target.townships[std::string(town.str())] =
                    read_milestones(v, origin, fmt::format("{} townships.{}", where, town.str()));
        } else
            file_error(
                origin, at,
                fmt::format(
                    fmt::runtime(_("unknown key '{}' in {}; keys: label, unit, measure, kind, "
                                   "where, villages, condition, of, target, basis, department, "
                                   "townships, assumption, from_years, denominator, definition, "
                                   "events, fallback")),
                    f, where));
    }
    if (def.label.empty())
        file_error(origin, line,
                   fmt::format(fmt::runtime(_("{} needs a label (the plan's words)")), where));
    const auto m = measure_of(measure);
    if (!m)
        file_error(
            origin, line,
            fmt::format(
                fmt::runtime(_("{} measure '{}' is not one of count, length_km, sum, asset_share, "
                               "village_share, population_share")),
                where, measure));
    def.measure = *m;
    const bool asset = is_asset_measure(def.measure);
    auto refuse_field = [&](bool present, std::string_view f) {
        if (present)
            file_error(
                origin, line,
                fmt::format(fmt::runtime(_("{} {} is not used by measure {}")), where, f, measure));
    };
    if (asset) {
        const auto *k = find_kind(kinds, def.kind);
        if (def.kind.empty())
            file_error(origin, line, fmt::format("{} measure {} needs a kind", where, measure));
        // count and sum also take the villages (kind = "village", where over their attributes).
        const bool villages_counted =
            k && k->role == KindRole::village &&
            (def.measure == IndicatorMeasure::count || def.measure == IndicatorMeasure::sum);
        if (!k || !(k->is_asset() || villages_counted))
            file_error(
                origin, line,
                def.measure == IndicatorMeasure::count || def.measure == IndicatorMeasure::sum
                    ? fmt::format(fmt::runtime(_("{} unknown asset kind '{}'; kinds: {} (and "
                                                 "village)")),
                                  where, def.kind, fmt::join(asset_kind_keys(kinds), ", "))
                    : fmt::format(fmt::runtime(_("{} unknown asset kind '{}'; kinds: {}")), where,
                                  def.kind, fmt::join(asset_kind_keys(kinds), ", ")));
        if (villages_counted)
            refuse_field(def.from_years, "from_years with kind village");
        if (def.measure == IndicatorMeasure::length_km && k->geometry != GeometryKind::line)
            file_error(origin, line,
                       fmt::format(fmt::runtime(_("{} length_km needs a line kind; {} is not one")),
                                   where, def.kind));
        refuse_field(!def.villages.empty(), "villages");
        if (def.measure == IndicatorMeasure::sum) {
            const int i = k->attribute_index(def.of);
            if (def.of.empty())
                file_error(origin, line,
                           fmt::format(fmt::runtime(_("{} measure sum needs `of`")), where));
            if (i < 0 || !(k->attributes[static_cast<std::size_t>(i)].type == ValueType::integer ||
                           k->attributes[static_cast<std::size_t>(i)].type == ValueType::real))
                file_error(origin, line,
                           fmt::format(fmt::runtime(_("{} of = '{}' is not a number column of {}")),
                                       where, def.of, def.kind));
        } else {
            refuse_field(!def.of.empty(), "of");
        }
        if (def.measure == IndicatorMeasure::asset_share && def.condition.empty())
            file_error(
                origin, line,
                fmt::format(fmt::runtime(_("{} measure asset_share needs a condition")), where));
        if (def.measure != IndicatorMeasure::asset_share)
            refuse_field(!def.condition.empty(), "condition");
        if (def.measure != IndicatorMeasure::asset_share)
            refuse_field(!def.events.empty(), "events");
        if (!def.events.empty()) {
            // A registry without event kinds reads the condition (the built-in indicators work
            // on every registry); one with event kinds must have this one, about this kind.
            std::vector<std::string> event_kinds;
            for (const auto &ek : kinds)
                if (ek.is_event() && ek.asset_kind == def.kind)
                    event_kinds.push_back(ek.key);
            const auto *e = find_kind(kinds, def.events);
            const bool any_events = std::any_of(kinds.begin(), kinds.end(),
                                                [](const KindDef &ek) { return ek.is_event(); });
            if ((e && (!e->is_event() || e->asset_kind != def.kind)) || (!e && any_events))
                file_error(
                    origin, line,
                    fmt::format(
                        fmt::runtime(_("{} events = '{}' is no event kind about {}; event kinds "
                                       "about {}: {}")),
                        where, def.events, def.kind, def.kind,
                        event_kinds.empty() ? std::string(_("(none)"))
                                            : fmt::format("{}", fmt::join(event_kinds, ", "))));
        }
        if (has_fallback && def.events.empty())
            file_error(origin, line,
                       fmt::format(fmt::runtime(_("{} fallback goes with events: name the event "
                                                  "kind whose latest record decides (events = "
                                                  "KIND) or drop fallback")),
                                   where));
    } else {
        refuse_field(!def.kind.empty(), "kind");
        refuse_field(!def.where.empty(), "where");
        refuse_field(!def.of.empty(), "of");
        refuse_field(def.from_years, "from_years");
        refuse_field(!def.events.empty(), "events");
        refuse_field(has_fallback, "fallback");
        if (def.condition.empty())
            file_error(origin, line,
                       fmt::format("{} measure {} needs a condition", where, measure));
    }
    const std::string expected_unit = def.is_share()                               ? "%"
                                      : def.measure == IndicatorMeasure::count     ? "count"
                                      : def.measure == IndicatorMeasure::length_km ? "km"
                                                                                   : def.unit;
    if (!has_unit)
        def.unit = expected_unit;
    else if (def.unit != expected_unit)
        file_error(origin, line,
                   fmt::format(fmt::runtime(_("{} unit '{}': measure {} is in '{}'")), where,
                               def.unit, measure, expected_unit));
    if (!has_target && (!target.townships.empty() || !target.basis.empty()))
        file_error(origin, line,
                   fmt::format(fmt::runtime(_("{} has a basis or township targets but no target")),
                               where));
    // Every expression parses in the registry's kinds, so errors come when the file is read.
    for (const auto &[field, text] : std::vector<std::pair<std::string, std::string>>{
             {"where", def.where}, {"villages", def.villages}, {"condition", def.condition}})
        (void)parse_field(def, field, text, kinds);
    derive_statuses(def, kinds);
    return {std::move(def), has_target ? std::optional<Target>(std::move(target)) : std::nullopt};
}

/// `base` plus the indicators of the indicators file `text`.
Targets parse_indicators(Targets targets, std::string_view text, std::string_view origin,
                         const std::vector<KindDef> &kinds) {
    const toml::table doc = parse_toml(text, origin);
    for (const auto &[key, node] : doc) {
        const std::string k(key.str());
        const auto line = node.source().begin.line;
        if (read_period(targets, k, node, origin))
            continue;
        if (k != "indicator")
            file_error(
                origin, line,
                fmt::format(fmt::runtime(_("unknown key '{}'; an indicators file has period_start, "
                                           "period_end and [indicator.<key>] tables")),
                            k));
        const auto *table = node.as_table();
        if (!table)
            file_error(origin, line, _("indicator must be tables [indicator.<key>]"));
        // In the order of the file (toml++ keeps keys sorted): the bulletin's order.
        std::vector<std::pair<std::string, const toml::node *>> entries;
        for (const auto &[ikey, inode] : *table)
            entries.emplace_back(std::string(ikey.str()), &inode);
        std::stable_sort(entries.begin(), entries.end(), [](const auto &a, const auto &b) {
            return a.second->source().begin.line < b.second->source().begin.line;
        });
        for (const auto &[name, inode_ptr] : entries) {
            const toml::node &inode = *inode_ptr;
            const auto iline = inode.source().begin.line;
            if (!is_key(name))
                file_error(origin, iline,
                           fmt::format(fmt::runtime(
                                           _("indicator key '{}' must be lower-case ASCII letters, "
                                             "digits and _ (the label holds the Chinese name)")),
                                       name));
            const auto *t = inode.as_table();
            if (!t)
                file_error(origin, iline,
                           fmt::format(fmt::runtime(_("[indicator.{}] must be a table")), name));
            auto [def, target] = parse_indicator(name, *t, origin, iline, kinds);
            // A named reference: clang before 16 cannot capture a structured binding.
            const std::string &key = name;
            const auto it = std::find_if(targets.defs.begin(), targets.defs.end(),
                                         [&](const IndicatorDef &d) { return d.key == key; });
            if (it != targets.defs.end())
                *it = std::move(def);
            else
                targets.defs.push_back(std::move(def));
            if (target)
                targets.by_key[name] = std::move(*target);
            else
                targets.by_key.erase(name);
        }
    }
    if (targets.period_end < targets.period_start)
        file_error(origin, 1, _("period_end is before period_start"));
    return targets;
}

const Targets &builtin_targets() {
    static const Targets t = parse_indicators(Targets{}, detail::kBuiltinIndicatorsToml,
                                              "built-in indicators", builtin_kinds());
    return t;
}

} // namespace

std::string_view to_string(IndicatorMeasure m) noexcept {
    switch (m) {
    case IndicatorMeasure::count:
        return "count";
    case IndicatorMeasure::length_km:
        return "length_km";
    case IndicatorMeasure::sum:
        return "sum";
    case IndicatorMeasure::asset_share:
        return "asset_share";
    case IndicatorMeasure::village_share:
        return "village_share";
    case IndicatorMeasure::population_share:
        return "population_share";
    }
    return "count";
}

bool IndicatorDef::is_share() const noexcept {
    return measure == IndicatorMeasure::asset_share || measure == IndicatorMeasure::village_share ||
           measure == IndicatorMeasure::population_share;
}

const std::vector<IndicatorDef> &indicator_defs() {
    return builtin_targets().defs;
}

std::string_view builtin_indicators_toml() {
    return detail::kBuiltinIndicatorsToml;
}

std::optional<double> Target::for_year(int year) const {
    if (milestones.empty())
        return std::nullopt;
    const auto it = milestones.lower_bound(year);
    return it == milestones.end() ? milestones.rbegin()->second : it->second;
}

Target Target::for_township(const std::string &township) const {
    Target t;
    t.basis = basis;
    t.assumption = assumption;
    if (const auto it = townships.find(township); it != townships.end())
        t.milestones = it->second;
    return t;
}

Targets Targets::defaults() {
    return builtin_targets();
}

Targets Targets::from_toml(std::string_view text, std::string_view origin) {
    return defaults().with_targets(text, origin);
}

Targets Targets::with_indicators(std::string_view text, std::string_view origin,
                                 const std::vector<KindDef> &kinds) const {
    return parse_indicators(*this, text, origin, kinds);
}

Targets Targets::with_targets(std::string_view text, std::string_view origin) const {
    return parse_targets(*this, text, origin);
}

const IndicatorDef *Targets::def(std::string_view key) const {
    for (const auto &d : defs)
        if (d.key == key)
            return &d;
    return nullptr;
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
    std::unordered_map<std::string, const IndicatorDef *> def_of;
    // A bulletin made by hand may name built-in indicators only.
    for (const auto &d : indicator_defs())
        def_of[d.key] = &d;
    for (const auto &d : defs)
        def_of[d.key] = &d;
    for (const auto &v : values) {
        if (!v.township.empty() && !with_townships)
            continue;
        const auto it = def_of.find(v.key);
        const std::string unit = it == def_of.end() ? std::string() : it->second->unit;
        const bool share = it != def_of.end() && it->second->is_share();
        std::vector<Value> row;
        if (with_townships)
            row.emplace_back(v.township);
        row.emplace_back(v.key);
        row.emplace_back(unit);
        row.push_back(v.target ? Value{*v.target} : Value{});
        row.push_back(v.expected ? Value{std::round(*v.expected * 100.0) / 100.0} : Value{});
        // Counts print as integers; km and % keep two decimals' worth of precision.
        if (!v.actual)
            row.emplace_back();
        else if (it != def_of.end() && it->second->measure == IndicatorMeasure::count)
            row.emplace_back(static_cast<std::int64_t>(std::llround(*v.actual)));
        else
            row.emplace_back(std::round(*v.actual * 100.0) / 100.0);
        row.emplace_back(std::string(to_string(v.status)));
        row.push_back(share ? Value{v.unknown} : Value{});
        rows.rows.push_back(std::move(row));
    }
    return rows;
}

namespace {

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

/// Throws UsageError when an asked indicator needs the statuses of a kind on a date before the
/// registry knows them (SPEC §5.2 "History": unknown, and saying so is an error).
void check_statuses_known(const Registry &registry, const std::string &as_of,
                          const std::vector<const IndicatorDef *> &asked,
                          const std::vector<IndicatorDef> &all) {
    std::vector<std::string> blocked;
    std::map<std::string, std::vector<std::string>> kinds_from; // date → kinds
    for (const auto *def : asked) {
        bool blocks = false;
        for (const auto &kind : def->status_kinds) {
            const auto from = registry.statuses_known_from(kind);
            if (!from || as_of >= *from)
                continue;
            blocks = true;
            auto &kinds = kinds_from[*from];
            if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
                kinds.push_back(kind);
        }
        if (blocks)
            blocked.push_back(def->key);
    }
    if (blocked.empty())
        return;
    std::vector<std::string> known;
    for (const auto &[date, kinds] : kinds_from)
        known.push_back(fmt::format(fmt::runtime(_("{} from {}")), fmt::join(kinds, ", "), date));
    std::vector<std::string> from_years;
    for (const auto &def : all)
        if (!def.needs_statuses)
            from_years.push_back(def.key);
    throw UsageError(fmt::format(
        fmt::runtime(_(
            "the asset statuses on {} are unknown: the registry knows them for {} (its first "
            "import), "
            "and {} need them. `qiancun load REG MANIFEST --as-of DATE` or `qiancun import REG "
            "FILE "
            "--as-of DATE` records the statuses as valid from an earlier date; the indicators from "
            "the data's years need no statuses: --only {}")),
        as_of, fmt::join(known, "; "), fmt::join(blocked, ", "), fmt::join(from_years, ",")));
}

/// The values an expression reads from one row: each name's place in the row's attribute
/// values, or a computed name.
struct Bound {
    std::optional<Expression> expression; ///< none: always true
    std::vector<int> slots; ///< per name: attribute index, or kPlanYear, kPlanEnd, kAsOf, kServing

    static constexpr int kPlanYear = -10;
    static constexpr int kPlanEnd = -11;
    static constexpr int kAsOf = -12;
    static constexpr int kServing = -13;
};

Bound bind(std::optional<Expression> expression, const KindDef *kind) {
    Bound b;
    if (!expression)
        return b;
    for (const auto &name : expression->names()) {
        int slot = 0;
        if (name == "plan_year")
            slot = Bound::kPlanYear;
        else if (name == "plan_end")
            slot = Bound::kPlanEnd;
        else if (name == "as_of")
            slot = Bound::kAsOf;
        else if (name == "serving")
            slot = Bound::kServing;
        else
            slot = kind ? kind->attribute_index(name) : -1;
        if (slot == -1)
            throw Error(fmt::format(fmt::runtime(_("expression \"{}\": no column {}")),
                                    expression->text(), name));
        b.slots.push_back(slot);
    }
    b.expression = std::move(expression);
    return b;
}

/// What every row sees: the period and the date.
struct Constants {
    double plan_year = 0.0;
    double plan_end = 0.0;
    std::string as_of;
};

/// The truth of `b` for a row with attribute values `values`; `calls` gives each kind function
/// call's value.
template <typename CallValue>
Truth evaluate(const Bound &b, const std::vector<ExprValue> &values, const Constants &c,
               bool serving, const CallValue &call_value) {
    if (!b.expression)
        return Truth::yes;
    std::vector<ExprValue> names;
    names.reserve(b.slots.size());
    for (const int slot : b.slots) {
        switch (slot) {
        case Bound::kPlanYear:
            names.emplace_back(c.plan_year);
            break;
        case Bound::kPlanEnd:
            names.emplace_back(c.plan_end);
            break;
        case Bound::kAsOf:
            names.emplace_back(c.as_of);
            break;
        case Bound::kServing:
            names.emplace_back(serving ? 1.0 : 0.0);
            break;
        default:
            names.push_back(slot >= 0 && static_cast<std::size_t>(slot) < values.size()
                                ? values[static_cast<std::size_t>(slot)]
                                : ExprValue{});
        }
    }
    std::vector<ExprValue> calls;
    calls.reserve(b.expression->calls().size());
    for (const auto &call : b.expression->calls())
        calls.push_back(call_value(call));
    return b.expression->evaluate(names, calls);
}

/// One indicator's sums for one group (the district or a township).
struct Tally {
    double part = 0.0;        ///< count, km, sum, or what satisfies a share's condition
    double whole = 0.0;       ///< a share's decided things (people for population shares)
    std::int64_t matched = 0; ///< things matching where / villages (asset and village measures)
    std::int64_t unknown = 0; ///< things left out because a value is empty
    std::int64_t without_events = 0;       ///< assets without an event in the period (events)
    std::vector<EventlessAsset> eventless; ///< those assets, in registry order
};

/// One asset row of the picture the indicators read.
struct AssetRow {
    std::vector<ExprValue> values; ///< the kind's attributes, status on the date
    bool serving = false;
    std::string village_code;
    std::string wkb; ///< length_km only
};

/// A village with its attributes.
struct VillageRow {
    std::string code;
    std::string township; ///< "(none)" when empty
    std::vector<ExprValue> values;
};

/// Per-village values of the kind functions, from the SPEC §3 metrics.
ExprValue village_call(const Expression::Call &call, const VillageMetrics *m,
                       const MetricsTable &metrics) {
    if (!m)
        return std::monostate{};
    const auto it = std::find(metrics.types.begin(), metrics.types.end(), call.kind);
    if (it == metrics.types.end())
        return std::monostate{};
    const TypeMetrics &t = m->types.at(static_cast<std::size_t>(it - metrics.types.begin()));
    auto optional = [](const std::optional<double> &v) -> ExprValue {
        return v ? ExprValue{*v} : ExprValue{};
    };
    switch (call.function) {
    case KindFunction::serving_in:
        return static_cast<double>(t.n);
    case KindFunction::cov:
        return t.cov;
    case KindFunction::covered:
        return t.gap ? 0.0 : 1.0;
    case KindFunction::nearest_m:
        return optional(t.nearest_m);
    case KindFunction::net_nearest_m:
        return optional(t.net_nearest_m);
    case KindFunction::within:
        return std::monostate{};
    }
    return std::monostate{};
}

/// Straight-line reach of the serving assets of some kinds, for settlements (the same distances
/// as the metrics' pop_cov: exact, inclusive; polygons by their footprint).
class SettlementReach {
public:
    SettlementReach(const Registry &registry, const MetricsConfig &config,
                    const std::vector<std::string> &kinds, const AssetStatuses *statuses)
        : m_ctx(ffi::geos_context()) {
        if (!kinds.empty())
            m_data = metrics::load_dataset(registry, config, kinds, {}, statuses);
    }

    ExprValue value(KindFunction f, const std::string &kind, double x, double y) {
        const metrics::AssetLayer *layer = nullptr;
        for (const auto &l : m_data.layers)
            if (l.type == kind)
                layer = &l;
        if (!layer)
            return std::monostate{};
        if (f == KindFunction::within) {
            std::vector<metrics::BoxEntry> found;
            layer->reach.query(boost::geometry::index::intersects(metrics::Point(x, y)),
                               std::back_inserter(found));
            for (const auto &[box, i] : found)
                if (distance(*layer, i, x, y) <= layer->assets[i].radius_m)
                    return 1.0;
            return 0.0;
        }
        if (layer->extents.empty())
            return std::monostate{};
        // The k nearest boxes bound the distance from below: once the k-th box is no nearer
        // than the best exact distance among them, nothing else is nearer.
        const metrics::Point p(x, y);
        for (std::size_t k = 4;; k *= 4) {
            std::vector<metrics::BoxEntry> found;
            layer->extents.query(boost::geometry::index::nearest(p, static_cast<unsigned>(k)),
                                 std::back_inserter(found));
            double best = std::numeric_limits<double>::infinity();
            double farthest_box = 0.0;
            for (const auto &[box, i] : found) {
                const double dx =
                    std::max({box.min_corner().get<0>() - x, 0.0, x - box.max_corner().get<0>()});
                const double dy =
                    std::max({box.min_corner().get<1>() - y, 0.0, y - box.max_corner().get<1>()});
                farthest_box = std::max(farthest_box, std::sqrt(dx * dx + dy * dy));
                best = std::min(best, distance(*layer, i, x, y));
            }
            if (found.size() < k || farthest_box >= best)
                return best;
        }
    }

private:
    ffi::GeosContext &m_ctx;
    metrics::Dataset m_data;
    std::map<std::pair<const metrics::AssetLayer *, std::uint32_t>, GeosGeometry> m_geometries;

    double distance(const metrics::AssetLayer &layer, std::uint32_t i, double x, double y) {
        const auto &a = layer.assets[i];
        if (a.is_point) {
            const double dx = a.x - x;
            const double dy = a.y - y;
            return std::sqrt(dx * dx + dy * dy);
        }
        auto &g = m_geometries[{&layer, i}];
        if (!g)
            g = ffi::read_wkb(m_ctx, a.wkb);
        const auto point = ffi::make_point(m_ctx, x, y);
        return ffi::distance(m_ctx, g.get(), point.get());
    }
};

} // namespace

Bulletin compute_indicators(const Registry &registry, const Targets &targets,
                            const MetricsConfig &config, const IndicatorOptions &options) {
    if (!registry.working_srid())
        throw UsageError(
            fmt::format(fmt::runtime(_("{} has no working CRS yet")), registry.display()));
    Bulletin bulletin;
    bulletin.as_of = options.as_of.empty() ? today_utc() : options.as_of;
    if (!is_iso_date(bulletin.as_of))
        throw UsageError(
            fmt::format(fmt::runtime(_("--as-of '{}' is not a date YYYY-MM-DD")), bulletin.as_of));
    bulletin.year = std::stoi(bulletin.as_of.substr(0, 4));
    const Constants constants{static_cast<double>(targets.period_start),
                              static_cast<double>(targets.period_end), bulletin.as_of};
    const auto &kinds = registry.kinds();
    // How the notes name indicators, kinds and attributes: by label in Chinese messages.
    const auto indicator_name = [](const IndicatorDef &def) {
        return message_name(def.key, def.label);
    };
    const auto kind_name = [&](const std::string &key) {
        const KindDef *k = find_kind(kinds, key);
        return k ? message_name(*k) : key;
    };
    const auto attribute_name = [&](const std::string &kind, const std::string &attribute) {
        const KindDef *k = find_kind(kinds, kind);
        const int i = k ? k->attribute_index(attribute) : -1;
        return i >= 0 ? message_name(k->attributes[static_cast<std::size_t>(i)]) : attribute;
    };

    // The indicators asked for, in the file's order.
    std::set<std::string> only;
    for (const auto &key : options.only) {
        if (!targets.def(key)) {
            std::vector<std::string> keys;
            for (const auto &d : targets.defs)
                keys.push_back(d.key);
            throw UsageError(fmt::format(fmt::runtime(_("unknown indicator '{}'; valid: {}")), key,
                                         fmt::join(keys, ", ")));
        }
        only.insert(key);
    }
    std::vector<const IndicatorDef *> asked;
    for (const auto &d : targets.defs)
        if (only.empty() || only.count(d.key))
            asked.push_back(&d);
    for (const auto *d : asked)
        bulletin.defs.push_back(*d);
    check_statuses_known(registry, bulletin.as_of, asked, targets.defs);
    const bool statuses_asked = std::any_of(
        asked.begin(), asked.end(), [](const IndicatorDef *d) { return d->needs_statuses; });

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
            bulletin.notes.push_back(
                fmt::format(fmt::runtime(_("as of {} (status history): {} assets not yet "
                                           "registered or removed left out, {} "
                                           "with an earlier status")),
                            bulletin.as_of, difference.absent, difference.changed));
        }
    }
    std::map<std::string, std::int64_t> picture_counts;
    auto count_as_of = [&](const std::string &kind) {
        const auto it = picture_counts.find(kind);
        if (it != picture_counts.end())
            return it->second;
        std::int64_t n = 0;
        if (registry.has_table(kind)) {
            if (!picture) {
                n = registry.count(kind);
            } else if (const auto then = picture->find(kind); then != picture->end()) {
                registry.scan({.table = kind, .columns = {"id"}}, [&](const ScanRow &r) {
                    n += then->second.count(r.text(0)) ? 1 : 0;
                });
            }
        }
        picture_counts[kind] = n;
        return n;
    };
    auto &ctx = ffi::geos_context();

    // Villages, their townships and attributes.
    const KindDef *village_kind = find_kind(kinds, "village");
    std::vector<VillageRow> villages;
    std::unordered_map<std::string, std::size_t> village_at;
    std::set<std::string> townships;
    std::unordered_set<std::string> with_geometry;
    if (village_kind && registry.has_table("village")) {
        ScanRequest request{.table = "village", .bbox = true, .order_by = {"code"}};
        for (const auto &a : village_kind->attributes)
            request.columns.push_back(a.name);
        const auto code_i = static_cast<std::size_t>(village_kind->attribute_index("code"));
        const auto township_i = static_cast<std::size_t>(village_kind->attribute_index("township"));
        registry.scan(request, [&](const ScanRow &r) {
            VillageRow v;
            v.code = r.text(code_i);
            // Villages without a township form a group of their own, never the district's.
            v.township = r.text(township_i).empty() ? "(none)" : r.text(township_i);
            for (const auto &value : r.values)
                v.values.push_back(to_expr_value(value));
            townships.insert(v.township);
            if (r.bbox)
                with_geometry.insert(v.code);
            village_at[v.code] = villages.size();
            villages.push_back(std::move(v));
        });
    }
    auto township_of = [&](const std::string &code) -> const std::string * {
        const auto it = village_at.find(code);
        return it == village_at.end() ? nullptr : &villages[it->second].township;
    };

    // The kind functions the village and settlement expressions call.
    std::vector<std::string> metric_kinds;
    std::vector<std::string> reach_kinds;
    bool network = false;
    auto add_kind = [](std::vector<std::string> &to, const std::string &kind) {
        if (std::find(to.begin(), to.end(), kind) == to.end())
            to.push_back(kind);
    };
    struct Parsed {
        Bound where, villages, condition;
    };
    std::vector<Parsed> parsed;
    for (const auto *def : asked) {
        Parsed p;
        const KindDef *subject = nullptr;
        if (is_asset_measure(def->measure))
            subject = find_kind(kinds, def->kind);
        if (is_asset_measure(def->measure) && !subject)
            throw UsageError(
                fmt::format(fmt::runtime(_("indicator {}: the registry has no kind '{}'")),
                            def->key, def->kind));
        p.where = bind(parse_field(*def, "where", def->where, kinds), subject);
        p.villages = bind(parse_field(*def, "villages", def->villages, kinds), village_kind);
        const bool settlement = def->measure == IndicatorMeasure::population_share;
        p.condition = bind(parse_field(*def, "condition", def->condition, kinds),
                           settlement                       ? find_kind(kinds, "settlement")
                           : is_asset_measure(def->measure) ? subject
                                                            : village_kind);
        const bool of_villages = subject && subject->role == KindRole::village;
        for (const Bound *b : {&p.villages, &p.condition, &p.where}) {
            if (!b->expression || (b == &p.where && !of_villages))
                continue;
            for (const auto &c : b->expression->calls()) {
                const bool own =
                    settlement && b == &p.condition &&
                    (c.function == KindFunction::within || c.function == KindFunction::nearest_m);
                add_kind(own ? reach_kinds : metric_kinds, c.kind);
                network = network || c.function == KindFunction::net_nearest_m;
            }
        }
        parsed.push_back(std::move(p));
    }
    MetricsTable metrics;
    std::unordered_map<std::string, const VillageMetrics *> metrics_of;
    if (!metric_kinds.empty() && !villages.empty()) {
        MetricsOptions mo;
        mo.types = metric_kinds;
        mo.threads = options.threads;
        mo.network = network;
        if (picture)
            mo.statuses = *picture;
        metrics = compute_metrics(registry, config, mo);
        for (const auto &m : metrics.villages)
            metrics_of[m.code] = &m;
    }
    auto metrics_for = [&](const std::string &code) -> const VillageMetrics * {
        const auto it = metrics_of.find(code);
        return it == metrics_of.end() ? nullptr : it->second;
    };

    // Settlements, for population shares.
    const KindDef *settlement_kind = find_kind(kinds, "settlement");
    struct SettlementRow {
        std::string village_code;
        std::vector<ExprValue> values;
        std::optional<std::pair<double, double>> xy;
    };
    std::vector<SettlementRow> settlements;
    std::optional<SettlementReach> reach;
    const bool population_asked =
        std::any_of(asked.begin(), asked.end(), [](const IndicatorDef *d) {
            return d->measure == IndicatorMeasure::population_share;
        });
    if (population_asked && settlement_kind && registry.has_table("settlement") &&
        !villages.empty()) {
        ScanRequest request{.table = "settlement", .xy = true, .order_by = {"fid"}};
        for (const auto &a : settlement_kind->attributes)
            request.columns.push_back(a.name);
        request.columns.emplace_back("village_code");
        registry.scan(request, [&](const ScanRow &r) {
            SettlementRow s;
            s.village_code = r.text(r.values.size() - 1);
            if (s.village_code.empty())
                return;
            for (std::size_t i = 0; i + 1 < r.values.size(); ++i)
                s.values.push_back(to_expr_value(r.values[i]));
            s.xy = r.xy;
            settlements.push_back(std::move(s));
        });
        reach.emplace(registry, config, reach_kinds, picture);
    }

    // Village shapes, for the length of roads inside each township.
    struct VillageShape {
        std::string township;
        GeosGeometry geom;
        ffi::GeosPrepared prepared;
    };
    std::vector<VillageShape> shapes;
    const bool shapes_needed =
        options.by_township && std::any_of(asked.begin(), asked.end(), [](const IndicatorDef *d) {
            return d->measure == IndicatorMeasure::length_km;
        });
    if (shapes_needed && registry.has_table("village"))
        registry.scan({.table = "village",
                       .columns = {"township"},
                       .wkb = true,
                       .where = {ScanCondition::not_null("geom")},
                       .order_by = {"fid"}},
                      [&](const ScanRow &vs) {
                          VillageShape v{vs.text(0).empty() ? "(none)" : vs.text(0),
                                         ffi::read_wkb(ctx, vs.wkb), nullptr};
                          v.prepared = ffi::prepare(ctx, v.geom.get());
                          shapes.push_back(std::move(v));
                      });

    std::set<std::string> noted;
    auto note_once = [&](const std::string &note) {
        if (noted.insert(note).second)
            bulletin.notes.push_back(note);
    };
    std::vector<std::string> groups{""};
    if (options.by_township)
        groups.insert(groups.end(), townships.begin(), townships.end());

    std::vector<std::map<std::string, Tally>> tallies(asked.size());
    std::vector<bool> from_events(asked.size(), false);
    for (std::size_t d = 0; d < asked.size(); ++d) {
        const IndicatorDef &def = *asked[d];
        const Parsed &p = parsed[d];
        auto &tally = tallies[d];
        tally[""];
        auto groups_of = [&](const std::string &village_code) {
            std::vector<Tally *> out{&tally[""]};
            if (const auto *t = township_of(village_code))
                out.push_back(&tally[*t]);
            return out;
        };
        auto tally_truth = [](Tally &t, Truth c, double weight) {
            if (c == Truth::unknown) {
                ++t.unknown;
                return;
            }
            t.whole += weight;
            t.part += c == Truth::yes ? weight : 0.0;
        };
        if (is_asset_measure(def.measure) && def.kind == "village") {
            // Villages counted, or an attribute of theirs summed, like assets: those `where`
            // holds for (unknown is not yes).
            const int of_i = def.of.empty() ? -1 : village_kind->attribute_index(def.of);
            for (const auto &v : villages) {
                const VillageMetrics *m = metrics_for(v.code);
                auto calls = [&](const Expression::Call &c) { return village_call(c, m, metrics); };
                if (evaluate(p.where, v.values, constants, false, calls) != Truth::yes)
                    continue;
                for (Tally *t : groups_of(v.code)) {
                    ++t->matched;
                    const auto *x =
                        of_i >= 0 ? std::get_if<double>(&v.values[static_cast<std::size_t>(of_i)])
                                  : nullptr;
                    if (def.measure == IndicatorMeasure::count)
                        t->part += 1.0;
                    else if (x)
                        t->part += *x;
                    else
                        ++t->unknown;
                }
            }
            if (def.measure == IndicatorMeasure::sum && tally[""].unknown > 0)
                note_once(fmt::format(
                    fmt::runtime(_("{}: {} {} matching where without {} left out of the sum")),
                    indicator_name(def), tally[""].unknown, kind_name(def.kind),
                    attribute_name(def.kind, def.of)));
            if (villages.empty())
                tally[""].matched = -1; // marks "no rows at all"
        } else if (is_asset_measure(def.measure)) {
            const KindDef &k = *find_kind(kinds, def.kind);
            const auto status_i = k.attribute_index("status");
            const auto id_i = static_cast<std::size_t>(k.attribute_index("id"));
            const int name_i = k.attribute_index("name");
            const int of_i = def.of.empty() ? -1 : k.attribute_index(def.of);
            const bool length = def.measure == IndicatorMeasure::length_km;
            // Each asset's latest event dated in the period (SPEC §5.2 "Dated events"): asset id
            // → passed. On one day a failed record wins over a passed one.
            const KindDef *event_kind = def.events.empty() ? nullptr : find_kind(kinds, def.events);
            if (event_kind && !event_kind->is_event())
                event_kind = nullptr;
            std::unordered_map<std::string, bool> latest;
            if (event_kind) {
                from_events[d] = true;
                bulletin.events_from = fmt::format("{:04}-01-01", targets.period_start);
                bulletin.events_to =
                    std::min(bulletin.as_of, fmt::format("{:04}-12-31", targets.period_end));
                std::unordered_map<std::string, std::string> latest_date;
                if (registry.has_table(event_kind->key))
                    registry.scan({.table = event_kind->key,
                                   .columns = {"asset_id", "date", "result"},
                                   .order_by = {"date", "fid"}},
                                  [&](const ScanRow &r) {
                                      const std::string date = r.text(1);
                                      if (date < bulletin.events_from || date > bulletin.events_to)
                                          return;
                                      const bool passed = r.text(2) == "pass";
                                      const auto [it, fresh] =
                                          latest_date.try_emplace(r.text(0), date);
                                      bool &result = latest[r.text(0)];
                                      result =
                                          fresh || it->second != date ? passed : result && passed;
                                      it->second = date;
                                  });
            }
            std::int64_t seen = 0;
            std::int64_t no_value = 0;
            if (registry.has_table(def.kind)) {
                ScanRequest request{.table = def.kind, .wkb = length, .order_by = {"fid"}};
                for (const auto &a : k.attributes)
                    request.columns.push_back(a.name);
                request.columns.emplace_back("village_code");
                const auto known = status_then.find(def.kind);
                const std::map<std::string, std::string> none;
                const auto &then = known == status_then.end() ? none : known->second;
                registry.scan(request, [&](const ScanRow &r) {
                    std::string status = r.text(static_cast<std::size_t>(status_i));
                    const auto it = then.find(r.text(id_i));
                    if (def.from_years) {
                        // Built by the date: its status then, or now when the history does not
                        // know the asset on that date.
                        if (it != then.end())
                            status = it->second;
                    } else if (picture) {
                        if (it == then.end())
                            return;
                        status = it->second;
                    }
                    ++seen;
                    std::vector<ExprValue> values;
                    for (std::size_t i = 0; i + 1 < r.values.size(); ++i)
                        values.push_back(to_expr_value(r.values[i]));
                    if (status_i >= 0)
                        values[static_cast<std::size_t>(status_i)] = status;
                    const bool serving = config.serves(status);
                    auto no_calls = [](const Expression::Call &) { return ExprValue{}; };
                    if (evaluate(p.where, values, constants, serving, no_calls) != Truth::yes)
                        return;
                    const std::string village_code = r.text(r.values.size() - 1);
                    if (length) {
                        if (r.wkb.empty())
                            return;
                        const auto g = ffi::read_wkb(ctx, r.wkb);
                        tally[""].part += ffi::length(ctx, g.get()) / 1000.0;
                        ++tally[""].matched;
                        // A township's roads: the length inside its villages.
                        for (const auto &v : shapes) {
                            if (!ffi::predicate(ctx,
                                                GEOSPreparedIntersects_r(ctx.handle(),
                                                                         v.prepared.get(), g.get()),
                                                "road intersects village"))
                                continue;
                            const auto part = ffi::own(
                                ctx, GEOSIntersection_r(ctx.handle(), g.get(), v.geom.get()),
                                "road part");
                            tally[v.township].part += ffi::length(ctx, part.get()) / 1000.0;
                        }
                        return;
                    }
                    for (Tally *t : groups_of(village_code)) {
                        ++t->matched;
                        if (def.measure == IndicatorMeasure::count) {
                            t->part += 1.0;
                        } else if (def.measure == IndicatorMeasure::sum) {
                            const auto *x =
                                std::get_if<double>(&values[static_cast<std::size_t>(of_i)]);
                            if (x)
                                t->part += *x;
                            else
                                ++t->unknown;
                        } else if (event_kind) {
                            const auto e = latest.find(r.text(id_i));
                            Truth c = Truth::unknown;
                            if (e != latest.end()) {
                                c = e->second ? Truth::yes : Truth::no;
                            } else {
                                ++t->without_events;
                                t->eventless.push_back(
                                    {r.text(id_i), name_i < 0
                                                       ? std::string()
                                                       : r.text(static_cast<std::size_t>(name_i))});
                                if (def.events_fallback)
                                    c = evaluate(p.condition, values, constants, serving, no_calls);
                            }
                            tally_truth(*t, c, 1.0);
                        } else {
                            tally_truth(*t,
                                        evaluate(p.condition, values, constants, serving, no_calls),
                                        1.0);
                        }
                    }
                });
            }
            no_value = tally[""].unknown;
            if (def.measure == IndicatorMeasure::sum && no_value > 0)
                note_once(fmt::format(
                    fmt::runtime(_("{}: {} {} matching where without {} left out of the sum")),
                    indicator_name(def), no_value, kind_name(def.kind),
                    attribute_name(def.kind, def.of)));
            if (seen == 0)
                tally[""].matched = -1; // marks "no rows at all"
        } else if (def.measure == IndicatorMeasure::village_share) {
            for (const auto &v : villages) {
                const VillageMetrics *m = metrics_for(v.code);
                auto calls = [&](const Expression::Call &c) { return village_call(c, m, metrics); };
                const Truth in = evaluate(p.villages, v.values, constants, false, calls);
                if (in == Truth::no)
                    continue;
                for (Tally *t : groups_of(v.code)) {
                    if (in == Truth::unknown) {
                        ++t->unknown;
                        continue;
                    }
                    ++t->matched;
                    tally_truth(*t, evaluate(p.condition, v.values, constants, false, calls), 1.0);
                }
            }
        } else {
            const int population_i =
                settlement_kind ? settlement_kind->attribute_index("population") : -1;
            for (const auto &s : settlements) {
                const auto vit = village_at.find(s.village_code);
                const VillageRow *v = vit == village_at.end() ? nullptr : &villages[vit->second];
                const VillageMetrics *m = metrics_for(s.village_code);
                auto village_calls = [&](const Expression::Call &c) {
                    return village_call(c, m, metrics);
                };
                Truth in = Truth::yes;
                if (p.villages.expression)
                    in = v ? evaluate(p.villages, v->values, constants, false, village_calls)
                           : Truth::unknown;
                if (in == Truth::no)
                    continue;
                const auto *people =
                    population_i >= 0
                        ? std::get_if<double>(&s.values[static_cast<std::size_t>(population_i)])
                        : nullptr;
                const auto groups_here = groups_of(s.village_code);
                if (in == Truth::unknown || !people) {
                    for (Tally *t : groups_here)
                        ++t->unknown;
                    continue;
                }
                if (!with_geometry.count(s.village_code))
                    continue; // a village without a geometry has no settlements that count
                auto calls = [&](const Expression::Call &c) -> ExprValue {
                    if (c.function == KindFunction::within || c.function == KindFunction::nearest_m)
                        return s.xy && reach
                                   ? reach->value(c.function, c.kind, s.xy->first, s.xy->second)
                                   : ExprValue{};
                    return village_call(c, m, metrics);
                };
                const Truth c = evaluate(p.condition, s.values, constants, false, calls);
                for (Tally *t : groups_here) {
                    ++t->matched;
                    tally_truth(*t, c, *people);
                }
            }
        }
    }

    // The rows.
    auto no_layer = [&](const std::string &kind, bool now) {
        return now ? fmt::format(fmt::runtime(_("no {} in the registry")), kind_name(kind))
                   : fmt::format(fmt::runtime(_("no {} in the registry as of {}")), kind_name(kind),
                                 bulletin.as_of);
    };
    auto whole_number = [](double x) { return std::llround(x); };
    bool township_without_target = false;
    for (const auto &group : groups) {
        for (std::size_t d = 0; d < asked.size(); ++d) {
            const IndicatorDef &def = *asked[d];
            auto &tally = tallies[d];
            const Tally &t = tally[group];
            IndicatorValue v;
            v.key = def.key;
            v.township = group;
            const Target *target = nullptr;
            if (const auto it = targets.by_key.find(def.key); it != targets.by_key.end())
                target = &it->second;
            std::optional<Target> township_target;
            if (target && !group.empty() && target->townships.count(group))
                township_target = target->for_township(group);
            const Target *in_force = township_target ? &*township_target : target;
            // A township has no share of a district count or length in the plan: only the file's
            // own township targets; a share's district target holds in every township.
            if (in_force && (group.empty() || township_target || def.is_share()))
                v.target = in_force->for_year(bulletin.year);
            if (!group.empty() && !v.target && !def.is_share())
                township_without_target = true;
            std::string missing; // why there is no actual
            for (const auto &kind : def.status_kinds)
                if (missing.empty() && !is_asset_measure(def.measure) && count_as_of(kind) == 0)
                    missing = no_layer(kind, false);
            const bool no_rows = tally[""].matched < 0;
            if (is_asset_measure(def.measure) && no_rows)
                missing = no_layer(def.kind, def.from_years || !picture);
            if (missing.empty()) {
                switch (def.measure) {
                case IndicatorMeasure::count:
                case IndicatorMeasure::length_km:
                case IndicatorMeasure::sum:
                    v.actual = t.part;
                    break;
                case IndicatorMeasure::asset_share:
                    if (t.matched <= 0)
                        missing = fmt::format(fmt::runtime(_("no {} matches \"{}\"")),
                                              kind_name(def.kind), def.where);
                    else if (t.whole <= 0 && from_events[d])
                        missing =
                            def.events_fallback
                                ? fmt::format(
                                      fmt::runtime(_("no {} matching \"{}\" has a {} from {} "
                                                     "to {} or the values of \"{}\"")),
                                      kind_name(def.kind), def.where, kind_name(def.events),
                                      bulletin.events_from, bulletin.events_to, def.condition)
                                : fmt::format(fmt::runtime(_("no {} matching \"{}\" has a {} from "
                                                             "{} to {}")),
                                              kind_name(def.kind), def.where, kind_name(def.events),
                                              bulletin.events_from, bulletin.events_to);
                    else if (t.whole <= 0)
                        missing = fmt::format(
                            fmt::runtime(_("no {} matching \"{}\" has the values of \"{}\"")),
                            kind_name(def.kind), def.where, def.condition);
                    break;
                case IndicatorMeasure::village_share:
                    if (t.matched <= 0)
                        missing = def.villages.empty()
                                      ? std::string(_("no villages"))
                                      : fmt::format(fmt::runtime(_("no villages match \"{}\"")),
                                                    def.villages);
                    else if (t.whole <= 0)
                        missing = fmt::format(
                            fmt::runtime(_("no village has the values of \"{}\"")), def.condition);
                    break;
                case IndicatorMeasure::population_share:
                    if (t.whole <= 0)
                        missing = _("no settlement population");
                    break;
                }
                if (def.is_share() && missing.empty())
                    v.actual = percent(t.part, t.whole);
            }
            if (def.is_share()) {
                const std::string what =
                    !def.denominator.empty()                            ? def.denominator
                    : def.measure == IndicatorMeasure::village_share    ? std::string("villages")
                    : def.measure == IndicatorMeasure::population_share ? std::string("people")
                                                                        : def.kind;
                v.part = whole_number(t.part);
                v.whole = whole_number(t.whole);
                v.denominator = what;
                v.detail = share_detail(v);
                v.unknown = t.unknown;
                v.without_events = t.without_events;
                v.eventless = t.eventless;
                v.from_events = from_events[d];
            }
            if (!missing.empty())
                note_once(fmt::format(fmt::runtime(_("{}: no data ({})")),
                                      group.empty() ? indicator_name(def)
                                                    : fmt::format(fmt::runtime(_("{0} in {1}")),
                                                                  indicator_name(def), group),
                                      missing));
            if (in_force && v.target)
                v.expected = expected_value(*in_force, !def.is_share(), bulletin.as_of,
                                            targets.period_start, targets.period_end);
            v.status = progress_status(v.actual, v.target, v.expected);
            bulletin.values.push_back(std::move(v));
        }
    }
    for (const auto *def : asked)
        if (const auto it = targets.by_key.find(def->key);
            it != targets.by_key.end() && it->second.assumption)
            bulletin.notes.push_back(
                fmt::format(fmt::runtime(_("{}: target {:g} {}, not the plan's — {}")),
                            indicator_name(*def), *it->second.for_year(bulletin.year),
                            translate_in_context("indicator unit", def->unit.c_str()),
                            basis_text(it->second.basis)));
    if (township_without_target)
        bulletin.notes.push_back(fmt::format(
            fmt::runtime(_("per township, counts and lengths have no target (the plan sets them "
                           "for the district only): status {}")),
            translate_in_context("indicator status",
                                 std::string(to_string(IndicatorStatus::no_target)).c_str())));
    return bulletin;
}

} // namespace qiancun
