#include "qiancun/classify.hpp"

#include "ffi/geos.hpp"
#include "metrics/spatial_table.hpp"
#include "qiancun/chinese_catalogue.hpp"
#include "qiancun/error.hpp"
#include "qiancun/log.hpp"
#include "qiancun/metrics.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include "qiancun/i18n.hpp"

namespace qiancun {

namespace {

using ffi::GeosGeometry;

/// The asset types whose coverage makes up the facility completeness (SPEC §2's five).
const std::vector<std::string> kCompletenessTypes{"sewage_plant", "rural_road", "base_station_5g",
                                                  "cultural_hall", "courier_station"};

/// Largest threshold magnitude a rule may state: every feature (metres, people, per km²) is
/// far below it, and every value below it is an exact integer in a double and in int64.
constexpr double kMaxThreshold = 1e15;
/// Codes listed in a warning before "…".
constexpr std::size_t kCodesShown = 5;

constexpr std::string_view kDefaultRules =
    R"toml(# Qiancun village classification rules (SPEC §4). Copy, edit, pass with --rules FILE.
#
# Rules are tried in order; the first whose conditions all hold gives the village its class.
# The last rule has no conditions: it is the default. A rule that tests a feature a village
# lacks (e.g. no urban area imported) is skipped for that village with a warning.
#
# Features (per village):
#   urban_distance_m  demand point (seat, else point-on-surface) to the urban area, m; 0 inside
#   population        the village's recorded population
#   settlements       settlements (自然村) in the village
#   density           population per km² of the village
#   completeness      share of the five asset types with cov_T at or over the threshold (0–1)
#   heritage          historic / traditional village flag (1 = yes)
#   hazard_share      share of the village's area in flood or landslide zones (0–1)
#   road_access_m     demand point to the nearest serving road, m
# Operators: < <= > >= == !=   Shares are written as ratios (0.5 = 50 %).
# A reason may quote {<feature>} (the village's value) and {conditions} (every condition with
# the village's values).
#
# The order is the one used in practice: protect first, then relocate, then the villages the
# towns absorb, then the ones that grow, and the rest are improved in place. The qualitative
# tests follow the national 乡村振兴战略规划（2018—2022年）, chapter 9 (分类推进乡村发展); the
# numbers are planning assumptions of this registry unless a source is named: a county sets
# its own in its 村庄布点规划.

[[rule]]
name = "heritage"
class = "heritage"
# Source: 乡村振兴战略规划 ch. 9 — historic cultural villages and traditional villages are
# 特色保护类; the Shangyu plan §二(三)2 protects 历史文化村落 and 传统村落.
when = ["heritage == 1"]
reason = "historic or traditional village, to be protected"

[[rule]]
name = "relocate_hazard"
class = "relocate"
# Source: 乡村振兴战略规划 ch. 9 — villages in areas of frequent natural disasters are
# 搬迁撤并类. Planning assumption: at least half of the village lies in flood or landslide
# zones.
when = ["hazard_share >= 0.5"]
reason = "hazard-exposed: {conditions}"

[[rule]]
name = "relocate_small_remote"
class = "relocate"
# Source: 乡村振兴战略规划 ch. 9 — small villages in areas with poor living conditions are
# 搬迁撤并类. Planning assumptions: fewer than 500 people (about 170 households) and more
# than 10 km from the county town's built-up area (beyond a 15-minute drive).
when = ["population < 500", "urban_distance_m > 10000"]
reason = "small and remote: {conditions}"

[[rule]]
name = "relocate_off_road"
class = "relocate"
# Source: as above. Planning assumptions: fewer than 400 people and more than 1,500 m from
# any serving road (beyond a 20-minute walk to a bus or a delivery van).
when = ["population < 400", "road_access_m > 1500"]
reason = "small and off the road network: {conditions}"

[[rule]]
name = "relocate_hollow"
class = "relocate"
# Source: 乡村振兴战略规划 ch. 9 — villages with serious population loss (人口流失特别严重)
# are 搬迁撤并类; the Shangyu plan §二(二)1 asks for the 空心村 to be redeveloped.
# Planning assumptions: fewer than 80 people per km² spread over at most two settlements.
when = ["density < 80", "settlements <= 2"]
reason = "hollowed-out: {conditions}"

[[rule]]
name = "suburban"
class = "suburban"
# Source: 乡村振兴战略规划 ch. 9 — villages in the near suburbs of the city and around the
# county town are 城郊融合类. Planning assumption: the demand point within 2,000 m of the
# built-up area (a 10-minute ride; the urban growth boundary is usually drawn inside it).
when = ["urban_distance_m <= 2000"]
reason = "next to the county town: {conditions}"

[[rule]]
name = "cluster"
class = "cluster"
# Source: 乡村振兴战略规划 ch. 9 — existing large central villages are 集聚提升类.
# Planning assumptions: at least 1,500 people (the Shangyu plan §三(三)2 already singles out
# villages of over 1,000 residents for services) and at least four of the five facility
# types covered (completeness 0.8).
when = ["population >= 1500", "completeness >= 0.8"]
reason = "large and well served: {conditions}"

[[rule]]
name = "improve"
class = "improve"
# The default: ordinary villages upgraded in place (整治提升类).
reason = "none of the rules above applies"
)toml";

struct ClassInfo {
    std::string_view key;
    const char *name; ///< English, the msgid of the class's words (context "village class")
};

/// The plan's five classes (Shangyu plan §二(二)1:
/// 城郊融合、集聚建设、整治提升、特色保护、搬迁撤并).
constexpr std::array<ClassInfo, 5> kClasses{{
    {"suburban", NC_("village class", "suburban integration")},
    {"cluster", NC_("village class", "cluster development")},
    {"improve", NC_("village class", "improvement")},
    {"heritage", NC_("village class", "heritage protection")},
    {"relocate", NC_("village class", "relocation and merger")},
}};

/// Villages without a (recorded) class.
constexpr const char *kNoClass = NC_("village class", "unclassified");

std::string trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos)
        return {};
    const auto e = s.find_last_not_of(" \t");
    return std::string(s.substr(b, e - b + 1));
}

std::size_t feature_index(std::string_view key) {
    const auto &all = classification_features();
    for (std::size_t i = 0; i < all.size(); ++i)
        if (all[i].key == key)
            return i;
    return all.size();
}

std::string feature_keys() {
    std::vector<std::string> keys;
    for (const auto &f : classification_features())
        keys.push_back(f.key);
    return fmt::format("{}", fmt::join(keys, ", "));
}

bool holds(CompareOp op, double value, double threshold) {
    switch (op) {
    case CompareOp::lt:
        return value < threshold;
    case CompareOp::le:
        return value <= threshold;
    case CompareOp::gt:
        return value > threshold;
    case CompareOp::ge:
        return value >= threshold;
    case CompareOp::eq:
        return value == threshold;
    case CompareOp::ne:
        return value != threshold;
    }
    return false;
}

[[noreturn]] void rules_error(std::string_view origin, std::int64_t line,
                              const std::string &problem) {
    throw InputError(std::string(origin), "", std::nullopt,
                     fmt::format(fmt::runtime(_("line {}: {}")), line, problem));
}

/// True for the village attributes a rule condition may test: numbers, years, yes/no.
bool rule_attribute(const AttributeDef &a) {
    return a.type == ValueType::integer || a.type == ValueType::real || a.type == ValueType::year ||
           a.type == ValueType::boolean;
}

Condition parse_condition(std::string_view text, std::string_view origin, int line,
                          const std::vector<AttributeDef> &village_attributes) {
    const auto op_at = text.find_first_of("<>=!~");
    if (op_at == std::string_view::npos)
        rules_error(origin, line,
                    fmt::format(fmt::runtime(_(
                                    "condition '{}' has no operator; operators: < <= > >= == !=")),
                                text));
    auto op_end = text.find_first_not_of("<>=!~", op_at);
    if (op_end == std::string_view::npos)
        op_end = text.size();
    const std::string op_text(text.substr(op_at, op_end - op_at));
    static const std::map<std::string, CompareOp> kOps{
        {"<", CompareOp::lt},  {"<=", CompareOp::le}, {">", CompareOp::gt},
        {">=", CompareOp::ge}, {"==", CompareOp::eq}, {"!=", CompareOp::ne}};
    const auto op = kOps.find(op_text);
    if (op == kOps.end())
        rules_error(
            origin, line,
            fmt::format(fmt::runtime(_("bad operator '{}' in '{}'; operators: < <= > >= == !=")),
                        op_text, text));
    Condition c;
    c.feature = trim(text.substr(0, op_at));
    c.op = op->second;
    c.line = line;
    const FeatureDef *f = find_feature(c.feature);
    const auto attribute = std::find_if(
        village_attributes.begin(), village_attributes.end(),
        [&](const AttributeDef &a) { return a.name == c.feature && rule_attribute(a); });
    if (!f && attribute == village_attributes.end()) {
        std::vector<std::string> numbers;
        for (const auto &a : village_attributes)
            if (rule_attribute(a))
                numbers.push_back(a.name);
        rules_error(origin, line,
                    numbers.empty()
                        ? fmt::format(fmt::runtime(_("unknown feature '{}' in '{}'; features: {}")),
                                      c.feature, text, feature_keys())
                        : fmt::format(fmt::runtime(_("unknown feature '{}' in '{}'; features: {}; "
                                                     "village attributes: {}")),
                                      c.feature, text, feature_keys(), fmt::join(numbers, ", ")));
    }
    const std::string value = trim(text.substr(op_end));
    if (value == "true" || value == "yes") {
        c.threshold = 1.0;
    } else if (value == "false" || value == "no") {
        c.threshold = 0.0;
    } else {
        // '_' may group digits (1_500); a comma may not: "79,9" is a decimal comma in much of
        // the world and "1,500" a thousands separator in the rest, so either reading guesses.
        std::string digits;
        for (char ch : value)
            if (ch != '_')
                digits += ch;
        const auto *end = digits.data() + digits.size();
        const auto [ptr, ec] = std::from_chars(digits.data(), end, c.threshold);
        if (digits.empty() || ec != std::errc() || ptr != end || !std::isfinite(c.threshold))
            rules_error(origin, line,
                        fmt::format(fmt::runtime(_(
                                        "threshold '{}' in '{}' is not a number (write it with a "
                                        "decimal point and no thousands separators: 79.9, 1500)")),
                                    value, text));
        if (std::fabs(c.threshold) > kMaxThreshold)
            rules_error(origin, line,
                        fmt::format(fmt::runtime(
                                        _("threshold '{}' in '{}' is out of range: at most {:g} in "
                                          "magnitude")),
                                    value, text, kMaxThreshold));
    }
    if (f && f->format == FeatureFormat::share && (c.threshold < 0.0 || c.threshold > 1.0))
        rules_error(origin, line,
                    fmt::format(fmt::runtime(_(
                                    "{} is a share: write its threshold as a ratio in [0, 1] (0.5 "
                                    "for 50 %), not {}")),
                                c.feature, value));
    return c;
}

/// The cause of a missing feature, for warnings.
struct Missing {
    std::string cause;
    std::vector<std::string> codes;
};

std::string codes_text(const std::vector<std::string> &codes) {
    std::vector<std::string> shown(
        codes.begin(),
        codes.begin() + static_cast<std::ptrdiff_t>(std::min(codes.size(), kCodesShown)));
    return fmt::format("{}{}", fmt::join(shown, ", "), codes.size() > kCodesShown ? ", …" : "");
}

/// True when `table` exists and has a row with a geometry.
bool table_has_rows(const Registry &registry, const std::string &table) {
    if (!registry.has_table(table))
        return false;
    bool any = false;
    registry.scan({.table = table, .where = {ScanCondition::not_null("geom")}, .limit = 1},
                  [&](const ScanRow &) { any = true; });
    return any;
}

/// The union of every polygon of an area kind (urban, hazard); null when there is none.
GeosGeometry area_union(ffi::GeosContext &ctx, const Registry &registry, const std::string &kind) {
    if (!table_has_rows(registry, kind))
        return nullptr;
    std::vector<GeosGeometry> parts;
    registry.scan({.table = kind, .wkb = true, .where = {ScanCondition::not_null("geom")}},
                  [&](const ScanRow &r) { parts.push_back(ffi::read_wkb(ctx, r.wkb)); });
    auto all = ffi::collect(ctx, GEOS_GEOMETRYCOLLECTION, std::move(parts));
    return ffi::own(ctx, GEOSUnaryUnion_r(ctx.handle(), all.get()), "union of " + kind);
}

Value feature_value(const FeatureDef &f, const std::optional<double> &v) {
    if (!v)
        return Value{};
    if ((f.format == FeatureFormat::count || f.format == FeatureFormat::flag) &&
        std::fabs(*v) < kMaxThreshold)
        return Value{static_cast<std::int64_t>(std::llround(*v))};
    return Value{*v};
}

} // namespace

std::vector<std::pair<std::size_t, std::string>> reason_placeholders(std::string_view text) {
    std::vector<std::pair<std::size_t, std::string>> out;
    for (std::size_t i = text.find('{'); i != std::string_view::npos; i = text.find('{', i + 1)) {
        const auto close = text.find('}', i);
        if (close == std::string_view::npos)
            break;
        out.emplace_back(i, std::string(text.substr(i + 1, close - i - 1)));
    }
    return out;
}

const std::vector<std::string> &village_class_keys() {
    static const std::vector<std::string> keys = [] {
        std::vector<std::string> k;
        for (const auto &c : kClasses)
            k.emplace_back(c.key);
        return k;
    }();
    return keys;
}

std::string_view village_class_name(std::string_view key) {
    if (key.empty())
        return kNoClass;
    for (const auto &c : kClasses)
        if (c.key == key)
            return c.name;
    return {};
}

std::string village_class_label(std::string_view key) {
    const std::string_view name = village_class_name(key);
    return name.empty() ? std::string() : chinese_word("village class", std::string(name));
}

const std::vector<FeatureDef> &classification_features() {
    static const std::vector<FeatureDef> features{
        {"urban_distance_m", N_("distance to the urban area"), FeatureFormat::metres,
         "demand point (seat, else point-on-surface) to the nearest urban polygon, m; 0 inside"},
        {"population", N_("population"), FeatureFormat::count, "the village's recorded population"},
        {"settlements", N_("settlements"), FeatureFormat::count,
         "settlements (自然村) linked to the village"},
        {"density", N_("population density"), FeatureFormat::density,
         "population per km² of the village's area"},
        {"completeness", N_("facility completeness"), FeatureFormat::share,
         "share of the five asset types with cov_T at or over the type's threshold"},
        {"heritage", N_("historic or traditional village"), FeatureFormat::flag,
         "the village's heritage flag"},
        {"hazard_share", N_("share in hazard zones"), FeatureFormat::share,
         "area of the village in hazard zones / its area"},
        {"road_access_m", N_("road access"), FeatureFormat::metres,
         "demand point to the nearest serving road, m (nearest_rural_road_m)"},
    };
    return features;
}

const FeatureDef *find_feature(std::string_view key) {
    for (const auto &f : classification_features())
        if (f.key == key)
            return &f;
    return nullptr;
}

std::string_view to_string(CompareOp op) noexcept {
    switch (op) {
    case CompareOp::lt:
        return "<";
    case CompareOp::le:
        return "≤";
    case CompareOp::gt:
        return ">";
    case CompareOp::ge:
        return "≥";
    case CompareOp::eq:
        return "=";
    case CompareOp::ne:
        return "≠";
    }
    return "?";
}

std::string_view default_rules_toml() {
    return kDefaultRules;
}

RuleSet RuleSet::defaults() {
    return from_toml(kDefaultRules, "built-in rules");
}

RuleSet RuleSet::from_toml(std::string_view text, std::string_view origin,
                           const std::vector<AttributeDef> &village_attributes) {
    toml::table doc;
    try {
        doc = toml::parse(text, origin);
    } catch (const toml::parse_error &e) {
        rules_error(origin, e.source().begin.line, std::string(e.description()));
    }
    RuleSet set;
    set.origin = std::string(origin);
    for (const auto &[key, node] : doc)
        if (key.str() != "rule")
            rules_error(
                origin, node.source().begin.line,
                fmt::format(fmt::runtime(_("unknown key '{}'; a rules file holds [[rule]] tables")),
                            key.str()));
    const auto *rules = doc["rule"].as_array();
    if (!rules || rules->empty())
        rules_error(origin, 1, "no [[rule]] tables");
    std::set<std::string> names;
    for (const auto &node : *rules) {
        const auto *t = node.as_table();
        const int line = static_cast<int>(node.source().begin.line);
        if (!t)
            rules_error(origin, line, _("each rule must be a [[rule]] table"));
        Rule r;
        r.line = line;
        for (const auto &[key, value] : *t) {
            const std::string k(key.str());
            const auto at = value.source().begin.line;
            if (k == "name" || k == "class" || k == "reason") {
                const auto s = value.value<std::string>();
                if (!s)
                    rules_error(origin, at, fmt::format(fmt::runtime(_("{} must be a string")), k));
                (k == "name" ? r.name : k == "class" ? r.village_class : r.reason) = *s;
            } else if (k == "when") {
                const auto *conditions = value.as_array();
                if (!conditions)
                    rules_error(
                        origin, at,
                        _("when must be a list of conditions, e.g. [\"population < 400\"]"));
                for (const auto &c : *conditions) {
                    const auto s = c.value<std::string>();
                    const int c_line = static_cast<int>(c.source().begin.line);
                    if (!s)
                        rules_error(origin, c_line,
                                    _("a condition must be a string such as \"population < 400\""));
                    r.conditions.push_back(parse_condition(*s, origin, c_line, village_attributes));
                }
            } else {
                rules_error(origin, at,
                            fmt::format(fmt::runtime(_(
                                            "unknown key '{}' in a rule; keys: name, class, when, "
                                            "reason")),
                                        k));
            }
        }
        if (r.name.empty())
            rules_error(origin, line, _("a rule needs a name"));
        if (!names.insert(r.name).second)
            rules_error(origin, line,
                        fmt::format(fmt::runtime(_("a second rule named '{}'")), r.name));
        if (const auto &keys = village_class_keys();
            std::find(keys.begin(), keys.end(), r.village_class) == keys.end())
            rules_error(origin, line,
                        fmt::format(fmt::runtime(_("rule '{}': class '{}' is not one of {}")),
                                    r.name, r.village_class,
                                    fmt::join(village_class_keys(), ", ")));
        for (const auto &[offset, name] : reason_placeholders(r.reason))
            if (name != "conditions" && !find_feature(name))
                rules_error(
                    origin, line,
                    fmt::format(
                        fmt::runtime(_("rule '{}': unknown placeholder {{{}}} in the reason; use "
                                       "{{conditions}} or a feature: {}")),
                        r.name, name, feature_keys()));
        set.rules.push_back(std::move(r));
    }
    for (std::size_t i = 0; i + 1 < set.rules.size(); ++i)
        if (set.rules[i].conditions.empty())
            rules_error(origin, set.rules[i].line,
                        fmt::format(fmt::runtime(_(
                                        "rule '{}' has no conditions but is not the last rule: the "
                                        "rules after it could never fire")),
                                    set.rules[i].name));
    const Rule &last = set.rules.back();
    if (!last.conditions.empty())
        rules_error(
            origin, last.line,
            fmt::format(fmt::runtime(_("no default rule: the last rule ('{}') has conditions; end "
                                       "with a rule without `when`, e.g. class = \"improve\"")),
                        last.name));
    return set;
}

std::optional<double> VillageFeatures::get(std::string_view key) const {
    const std::size_t i = feature_index(key);
    if (i < classification_features().size())
        return i < values.size() ? values[i] : std::nullopt;
    for (const auto &[name, value] : attributes)
        if (name == key)
            return value;
    return std::nullopt;
}

void VillageFeatures::set(std::string_view key, std::optional<double> value) {
    const std::size_t i = feature_index(key);
    if (i >= classification_features().size())
        throw UsageError(fmt::format(fmt::runtime(_("unknown feature '{}'")), key));
    if (values.size() < classification_features().size())
        values.resize(classification_features().size());
    values[i] = value;
}

RuleMatch apply_rules(const RuleSet &rules, const VillageFeatures &features) {
    RuleMatch match;
    for (const Rule &rule : rules.rules) {
        const Condition *missing = nullptr;
        bool fires = true;
        for (const Condition &c : rule.conditions) {
            const auto v = features.get(c.feature);
            if (!v) {
                missing = &c;
                break;
            }
            fires = fires && holds(c.op, *v, c.threshold);
        }
        if (missing) {
            match.skipped.emplace_back(rule.name, missing->feature);
            continue;
        }
        if (!fires)
            continue;
        match.rule = &rule;
        match.reason.rule = rule.name;
        match.reason.text = rule.reason;
        for (const Condition &c : rule.conditions)
            match.reason.conditions.push_back(
                {c.feature, c.op, *features.get(c.feature), c.threshold});
        for (const auto &[offset, name] : reason_placeholders(rule.reason))
            if (name != "conditions")
                match.reason.quoted.emplace_back(name, features.get(name));
        return match;
    }
    return match; // unreachable for a valid RuleSet: its last rule always fires
}

Rows Classification::to_rows(bool with_features, const ReasonWriter &reason_text) const {
    Rows rows;
    rows.columns = {"code", "name",   "township",       "suggested_class",
                    "rule", "reason", "recorded_class", "mismatch"};
    const auto &defs = classification_features();
    if (with_features)
        for (const auto &f : defs)
            rows.columns.push_back(f.key);
    for (const auto &v : villages) {
        std::vector<Value> row{
            v.code,           v.name, v.township, v.suggested_class, v.rule, reason_text(v.reason),
            v.recorded_class, Value{}};
        if (v.mismatch)
            row.back() = std::int64_t{*v.mismatch ? 1 : 0};
        if (with_features)
            for (std::size_t i = 0; i < defs.size(); ++i)
                row.push_back(feature_value(
                    defs[i], i < v.features.values.size() ? v.features.values[i] : std::nullopt));
        rows.rows.push_back(std::move(row));
    }
    return rows;
}

Rows Classification::class_counts() const {
    Rows rows;
    rows.columns = {"class", "label", "suggested", "recorded", "mismatches"};
    for (const auto &key : village_class_keys()) {
        std::int64_t suggested = 0, recorded = 0, mismatches = 0;
        for (const auto &v : villages) {
            suggested += v.suggested_class == key ? 1 : 0;
            recorded += v.recorded_class == key ? 1 : 0;
            mismatches += v.recorded_class == key && v.mismatch.value_or(false) ? 1 : 0;
        }
        rows.rows.push_back({key, village_class_label(key), suggested, recorded, mismatches});
    }
    std::int64_t unrecorded = 0;
    for (const auto &v : villages)
        unrecorded += v.recorded_class.empty() ? 1 : 0;
    rows.rows.push_back(
        {std::string(), village_class_label(""), std::int64_t{0}, unrecorded, std::int64_t{0}});
    return rows;
}

Rows Classification::township_counts() const {
    Rows rows;
    rows.columns = {"township"};
    for (const auto &key : village_class_keys())
        rows.columns.push_back(key);
    rows.columns.push_back("total");
    std::map<std::string, std::map<std::string, std::int64_t>> counts;
    for (const auto &v : villages)
        ++counts[v.township][v.suggested_class];
    for (const auto &[township, by_class] : counts) {
        std::vector<Value> row{township};
        std::int64_t total = 0;
        for (const auto &key : village_class_keys()) {
            const auto it = by_class.find(key);
            const std::int64_t n = it == by_class.end() ? 0 : it->second;
            row.emplace_back(n);
            total += n;
        }
        row.emplace_back(total);
        rows.rows.push_back(std::move(row));
    }
    return rows;
}

Classification classify_villages(const Registry &registry, const RuleSet &rules,
                                 const MetricsConfig &config, const ClassifyOptions &options) {
    if (!registry.working_srid())
        throw UsageError(
            fmt::format(fmt::runtime(_("{} has no working CRS yet")), registry.display()));
    if (rules.rules.empty() || !rules.rules.back().conditions.empty())
        throw UsageError(_("the rules need a default rule (the last one, without conditions)"));
    auto &ctx = ffi::geos_context();
    Classification result;
    if (!table_has_rows(registry, "village"))
        return result;

    // Inputs over the whole registry.
    std::map<std::string, Missing> missing; // by feature key
    auto note_missing = [&](const std::string &feature, const std::string &cause,
                            const std::string &code) {
        auto &m = missing[feature];
        if (m.cause.empty())
            m.cause = cause;
        m.codes.push_back(code);
    };

    const GeosGeometry urban = area_union(ctx, registry, "urban");
    const GeosGeometry hazard = area_union(ctx, registry, "hazard");
    ffi::GeosPrepared urban_prepared =
        urban ? ffi::prepare(ctx, urban.get()) : ffi::GeosPrepared(nullptr, {ctx.handle()});
    ffi::GeosPrepared hazard_prepared =
        hazard ? ffi::prepare(ctx, hazard.get()) : ffi::GeosPrepared(nullptr, {ctx.handle()});

    const bool have_settlements = table_has_rows(registry, "settlement");
    std::map<std::string, std::int64_t> settlements; // per village code
    if (have_settlements)
        registry.scan({.table = "settlement",
                       .columns = {"village_code"},
                       .where = {ScanCondition::not_null("village_code")}},
                      [&](const ScanRow &r) { ++settlements[r.text(0)]; });

    std::vector<std::string> types;
    std::vector<std::string> empty_types;
    for (const auto &t : kCompletenessTypes)
        (table_has_rows(registry, t) ? types : empty_types).push_back(t);
    MetricsTable metrics;
    if (!types.empty()) {
        MetricsOptions mo;
        mo.types = types;
        mo.threads = options.threads;
        metrics = compute_metrics(registry, config, mo);
    }
    std::map<std::string, const VillageMetrics *> metrics_of;
    for (const auto &vm : metrics.villages)
        metrics_of.emplace(vm.code, &vm);
    const auto road_at = std::find(metrics.types.begin(), metrics.types.end(), "rural_road");

    // The configured village attributes rules may test, after the columns every village has.
    std::vector<std::string> village_columns{"code",  "name",     "township", "population",
                                             "class", "heritage", "seat_x",   "seat_y"};
    std::vector<std::string> rule_attributes;
    for (const auto &a : configured_village_attributes(registry.kind("village")))
        if (rule_attribute(a))
            rule_attributes.push_back(a.name);
    village_columns.insert(village_columns.end(), rule_attributes.begin(), rule_attributes.end());
    registry.scan(
        {.table = "village",
         .columns = village_columns,
         .wkb = true,
         .where = {ScanCondition::not_null("geom")},
         .order_by = {"code"}},
        [&](const ScanRow &st) {
            VillageClassification v;
            v.code = st.text(0);
            v.name = st.text(1);
            v.township = st.text(2);
            v.recorded_class = st.text(4);
            const auto population = st.number(3);
            const auto heritage = st.number(5);
            const auto seat_x = st.number(6);
            const auto seat_y = st.number(7);
            const GeosGeometry polygon = ffi::read_wkb(ctx, st.wkb);
            const double area_m2 = ffi::area(ctx, polygon.get());
            // SPEC §3 demand point: the seat when both coordinates are given.
            const GeosGeometry demand =
                seat_x && seat_y ? ffi::make_point(ctx, *seat_x, *seat_y)
                                 : ffi::own(ctx, GEOSPointOnSurface_r(ctx.handle(), polygon.get()),
                                            "point on surface");

            VillageFeatures &f = v.features;
            f.values.assign(classification_features().size(), std::nullopt);
            for (std::size_t i = 0; i < rule_attributes.size(); ++i)
                f.attributes.emplace_back(rule_attributes[i], st.number(8 + i));
            if (urban) {
                double d = 0.0;
                if (GEOSPreparedDistance_r(ctx.handle(), urban_prepared.get(), demand.get(), &d) !=
                    1)
                    ctx.fail(_("distance to the urban area"));
                f.set("urban_distance_m", d);
            } else {
                note_missing("urban_distance_m", _("no urban area in the registry"), v.code);
            }
            if (population) {
                f.set("population", *population);
                if (area_m2 > 0.0)
                    f.set("density", *population / (area_m2 / 1e6));
            } else {
                note_missing("population", _("population not recorded"), v.code);
                note_missing("density", _("population not recorded"), v.code);
            }
            if (have_settlements) {
                const auto it = settlements.find(v.code);
                f.set("settlements", static_cast<double>(it == settlements.end() ? 0 : it->second));
            } else {
                note_missing("settlements", _("no settlements in the registry"), v.code);
            }
            const auto vm = metrics_of.find(v.code);
            if (empty_types.empty() && vm != metrics_of.end()) {
                std::int64_t covered = 0;
                for (const auto &tm : vm->second->types)
                    covered += tm.gap ? 0 : 1;
                f.set("completeness", static_cast<double>(covered) /
                                          static_cast<double>(kCompletenessTypes.size()));
            } else {
                note_missing("completeness",
                             fmt::format(fmt::runtime(_("no {} in the registry")),
                                         fmt::format("{}", fmt::join(empty_types, ", "))),
                             v.code);
            }
            if (heritage)
                f.set("heritage", *heritage != 0.0 ? 1.0 : 0.0);
            else
                note_missing("heritage", _("heritage flag not recorded"), v.code);
            if (hazard) {
                double share = 0.0;
                if (area_m2 > 0.0 &&
                    ffi::predicate(ctx,
                                   GEOSPreparedIntersects_r(ctx.handle(), hazard_prepared.get(),
                                                            polygon.get()),
                                   "hazard intersects")) {
                    const auto part =
                        ffi::own(ctx, GEOSIntersection_r(ctx.handle(), polygon.get(), hazard.get()),
                                 "hazard intersection");
                    share = std::clamp(ffi::area(ctx, part.get()) / area_m2, 0.0, 1.0);
                }
                f.set("hazard_share", share);
            } else {
                note_missing("hazard_share", _("no hazard zones in the registry"), v.code);
            }
            const std::optional<double> road =
                vm != metrics_of.end() && road_at != metrics.types.end()
                    ? vm->second->types[static_cast<std::size_t>(road_at - metrics.types.begin())]
                          .nearest_m
                    : std::nullopt;
            if (road)
                f.set("road_access_m", *road);
            else
                note_missing("road_access_m", _("no serving road in the registry"), v.code);

            const RuleMatch match = apply_rules(rules, f);
            v.suggested_class = match.rule->village_class;
            v.rule = match.rule->name;
            v.reason = match.reason;
            v.skipped = match.skipped;
            if (!v.recorded_class.empty())
                v.mismatch = v.recorded_class != v.suggested_class;
            result.villages.push_back(std::move(v));
        });

    const std::size_t n = result.villages.size();
    for (const auto &[feature, m] : missing)
        result.warnings.push_back(
            m.codes.size() == n
                ? fmt::format(fmt::runtime(_("{feature} is missing for every village: {cause}")),
                              fmt::arg("feature", feature), fmt::arg("cause", m.cause))
                : fmt::format(fmt::runtime(P_("{feature} is missing for {count} of {total} "
                                              "village ({codes}): {cause}",
                                              "{feature} is missing for {count} of {total} "
                                              "villages ({codes}): {cause}",
                                              n)),
                              fmt::arg("feature", feature), fmt::arg("count", m.codes.size()),
                              fmt::arg("total", n), fmt::arg("codes", codes_text(m.codes)),
                              fmt::arg("cause", m.cause)));
    for (const Rule &rule : rules.rules) {
        std::map<std::string, std::vector<std::string>> skipped; // by feature
        for (const auto &v : result.villages)
            for (const auto &[name, feature] : v.skipped)
                if (name == rule.name)
                    skipped[feature].push_back(v.code);
        for (const auto &[feature, codes] : skipped)
            result.warnings.push_back(
                codes.size() == n
                    ? fmt::format(fmt::runtime(_("rule '{rule}' skipped for every village: "
                                                 "{feature} is missing")),
                                  fmt::arg("rule", rule.name), fmt::arg("feature", feature))
                    : fmt::format(fmt::runtime(P_("rule '{rule}' skipped for {count} village "
                                                  "({codes}): {feature} is missing",
                                                  "rule '{rule}' skipped for {count} villages "
                                                  "({codes}): {feature} is missing",
                                                  codes.size())),
                                  fmt::arg("rule", rule.name), fmt::arg("count", codes.size()),
                                  fmt::arg("codes", codes_text(codes)),
                                  fmt::arg("feature", feature)));
    }
    for (const auto &w : result.warnings)
        log(LogLevel::warning, w);
    return result;
}

void write_classes_layer(Registry &registry, const Classification &result,
                         const ReasonWriter &reason_text) {
    metrics::working_srid(registry); // UsageError before anything is written
    const Rows rows = result.to_rows(true, reason_text);
    std::vector<metrics::ColumnDef> columns;
    for (const auto &name : rows.columns) {
        ColumnType type = ColumnType::text;
        if (name == "mismatch")
            type = ColumnType::boolean;
        else if (const FeatureDef *f = find_feature(name))
            type = f->format == FeatureFormat::count || f->format == FeatureFormat::flag
                       ? ColumnType::integer
                       : ColumnType::real;
        columns.push_back({name, type});
        if (name == "suggested_class")
            columns.push_back({"suggested_label", ColumnType::text});
    }
    const auto geometries = metrics::village_geometries(registry);
    Registry::Transaction tx(registry);
    auto layer =
        registry.create_result_layer("village_classes", columns, "MULTIPOLYGON", "classify");
    std::vector<Value> values;
    for (const auto &row : rows.rows) {
        values.clear();
        for (std::size_t c = 0; c < row.size(); ++c) {
            values.push_back(row[c]);
            if (rows.columns[c] == "suggested_class")
                values.emplace_back(village_class_label(std::get<std::string>(row[c])));
        }
        const auto g = geometries.find(std::get<std::string>(row.front()));
        layer->add(values,
                   g == geometries.end() ? std::string_view() : std::string_view(g->second));
    }
    tx.commit();
}

} // namespace qiancun
