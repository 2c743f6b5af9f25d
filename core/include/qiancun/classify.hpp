#pragma once

#include "qiancun/config.hpp"
#include "qiancun/registry.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// Village classification (SPEC §4): per village the features the plan's five classes are
/// judged by, an ordered rule list from a TOML file (first rule that fires wins, the last rule
/// is the unconditional default), and the suggested class with the rule and its reason as data
/// (the conditions with the village's values); the words of a reason are made by the caller
/// (exporters' reason_text), so that a translator sees whole sentences. Lengths in metres and
/// areas in m² of the working CRS.

namespace qiancun {

/// The class keys of SPEC §4 in the plan's order: suburban, cluster, improve, heritage,
/// relocate.
const std::vector<std::string> &village_class_keys();

/// The name of a class key in English, the msgid of its words in the catalogue (context
/// "village class"): "suburban" → "suburban integration"; "" for an unknown key. The name for
/// villages without a class is village_class_name("").
std::string_view village_class_name(std::string_view key);

/// The Chinese name of a class key from the catalogue whatever the language of the messages
/// ("suburban" → "城郊融合类", "" → "未分类"); the English name when no catalogue is bound; ""
/// for an unknown key.
std::string village_class_label(std::string_view key);

/// What a feature's value is, which decides how a reason shows it.
enum class FeatureFormat {
    metres,  ///< a distance in m: "1,850 m"
    count,   ///< "1,312"
    density, ///< people per km²: "212 /km²"
    share,   ///< a ratio in [0, 1] shown as "62 %"; thresholds are written as ratios (0.5)
    flag     ///< 0/1 shown as "no"/"yes"
};

/// A feature rules can test.
struct FeatureDef {
    std::string key;   ///< as written in rules: "road_access_m"
    std::string label; ///< English msgid of its name in reasons: "road access"
    FeatureFormat format = FeatureFormat::count;
    std::string definition; ///< one sentence: what it measures and where it comes from
};

/// The features, in the column order of the outputs: urban_distance_m, population,
/// settlements, density, completeness, heritage, hazard_share, road_access_m.
const std::vector<FeatureDef> &classification_features();

/// The feature `key`; null for an unknown key.
const FeatureDef *find_feature(std::string_view key);

enum class CompareOp { lt, le, gt, ge, eq, ne };

std::string_view to_string(CompareOp op) noexcept;

/// `feature op threshold`, e.g. "population < 400".
struct Condition {
    std::string feature; ///< a key of classification_features()
    CompareOp op = CompareOp::lt;
    double threshold = 0.0;
    int line = 0; ///< in the rules file, for messages
};

struct Rule {
    std::string name;                  ///< unique, shown in the `rule` column
    std::string village_class;         ///< a key of village_class_keys()
    std::vector<Condition> conditions; ///< all must hold; none = the default rule
    /// Reason template: `{<feature>}` is replaced by the village's value, `{conditions}` by
    /// every condition with the actual value ("population 312 < 400 and road access 1,850 m
    /// > 1,500 m"). Empty = "{conditions}" (or "default rule" for the default).
    std::string reason;
    int line = 0;
};

/// An ordered rule list whose last rule (only) is unconditional.
struct RuleSet {
    std::vector<Rule> rules;
    std::string origin; ///< file name, or "built-in rules"

    /// The built-in rules: the text of `default_rules_toml()`.
    static RuleSet defaults();
    /// Parses a rules file:
    ///   [[rule]]
    ///   name = "relocate_small_remote"
    ///   class = "relocate"
    ///   when = ["population < 400", "road_access_m > 1500"]
    ///   reason = "small and remote: {conditions}"
    /// Throws InputError naming `origin` and the line for a TOML error, an unknown key,
    /// feature, class or placeholder, a bad operator or threshold, a duplicate name, an
    /// unconditional rule before the last, and a missing default rule. A condition may also
    /// test a number, year or yes/no attribute of `village_attributes` (the registry's
    /// configured ones: "future_village_year >= 2023", "scenic_3a == 1").
    static RuleSet from_toml(std::string_view text, std::string_view origin,
                             const std::vector<AttributeDef> &village_attributes = {});
};

/// The built-in rules file, each threshold commented with its source or stated as a
/// planning assumption (shipped as sample_maps/rules.toml).
std::string_view default_rules_toml();

/// The features of one village: values parallel to classification_features(), empty when
/// the input is missing (never guessed).
struct VillageFeatures {
    std::vector<std::optional<double>> values;
    /// The configured village attributes rules may test (number, year, yes/no), by name.
    std::vector<std::pair<std::string, std::optional<double>>> attributes;

    /// The value of feature `key`; empty when missing or unknown.
    std::optional<double> get(std::string_view key) const;
    void set(std::string_view key, std::optional<double> value);
};

/// One condition of the rule that fired, with the village's value.
struct ConditionOutcome {
    std::string feature; ///< a key of classification_features()
    CompareOp op = CompareOp::lt;
    double value = 0.0;     ///< the village's value, in the feature's unit
    double threshold = 0.0; ///< as the rule states it
};

/// Why a village was given its class, as data; exporters::reason_text makes the sentence.
struct Reason {
    std::string rule; ///< the rule's name (its id)
    /// The rule's reason template as written (`{conditions}`, `{<feature>}` placeholders); ""
    /// when the rule has none: then the conditions, or "default rule" for the default.
    std::string text;
    std::vector<ConditionOutcome> conditions; ///< every condition of the rule, in its order
    /// The village's value of each `{<feature>}` placeholder of `text`, empty when missing.
    std::vector<std::pair<std::string, std::optional<double>>> quoted;
};

/// The placeholders `{name}` of a reason template, each with the offset of its `{`, in order;
/// an unclosed `{` ends the list.
std::vector<std::pair<std::size_t, std::string>> reason_placeholders(std::string_view text);

/// Makes the sentence of a reason (Classification::to_rows, write_classes_layer).
using ReasonWriter = std::function<std::string(const Reason &)>;

/// Which rule fired for one village.
struct RuleMatch {
    const Rule *rule = nullptr; ///< never null for a valid RuleSet
    Reason reason;              ///< the conditions with the village's values
    /// Rules passed over because a feature they test is missing, with that feature:
    /// (rule name, feature key).
    std::vector<std::pair<std::string, std::string>> skipped;
};

/// Applies `rules` in order to `features`: the first rule whose conditions all hold wins;
/// a rule testing a missing feature is skipped (and listed), never evaluated.
/// The returned match points into `rules`, which must outlive it.
RuleMatch apply_rules(const RuleSet &rules, const VillageFeatures &features);

struct VillageClassification {
    std::string code;
    std::string name;
    std::string township;
    std::string suggested_class;
    std::string rule;
    Reason reason;
    std::string recorded_class;   ///< the village's `class`; "" when not recorded
    std::optional<bool> mismatch; ///< suggested ≠ recorded; empty when nothing is recorded
    VillageFeatures features;
    std::vector<std::pair<std::string, std::string>> skipped; ///< as RuleMatch::skipped
};

struct Classification {
    std::vector<VillageClassification> villages; ///< ordered by code
    /// Inputs that are missing and the rules skipped for them, one sentence each (also logged
    /// as warnings).
    std::vector<std::string> warnings;

    /// Columns code, name, township, suggested_class, rule, reason (by `reason_text`),
    /// recorded_class, mismatch (1/0, empty when no class is recorded); with `with_features`
    /// one column per feature after them.
    Rows to_rows(bool with_features, const ReasonWriter &reason_text) const;
    /// Per class in village_class_keys() order, then an empty class for the villages without
    /// a recorded class: class, label (village_class_label), suggested, recorded, mismatches
    /// (villages recorded in the class but suggested another).
    Rows class_counts() const;
    /// Per township (sorted): township, one column per class key with the suggested count,
    /// total.
    Rows township_counts() const;
};

struct ClassifyOptions {
    int threads = 0; ///< for the facility metrics; 0 = hardware concurrency
};

/// Computes every village's features and applies `rules`:
/// - urban_distance_m: demand point (SPEC §3: seat, else point-on-surface) to the nearest
///   urban polygon, 0 inside; missing when the registry has no urban area;
/// - population: the village's `population`; missing when empty;
/// - settlements: settlements linked to the village; missing when there are none anywhere;
/// - density: population per km² of the village's area;
/// - completeness: share of the five built-in asset types with cov_T ≥ its threshold
///   (compute_metrics with `config`); missing when one of the five layers is empty;
/// - heritage: the village's `heritage` flag; missing when empty;
/// - hazard_share: area(V ∩ hazard zones) / area(V); missing when there are no hazard zones;
/// - road_access_m: nearest_rural_road_m of SPEC §3; missing when no road serves;
/// - the village's configured number, year and yes/no attributes; missing when empty.
/// Throws UsageError when the registry has no working CRS.
Classification classify_villages(const Registry &registry, const RuleSet &rules,
                                 const MetricsConfig &config, const ClassifyOptions &options = {});

/// Stores `result` as the spatial layer `village_classes` (village polygon + the columns of
/// `to_rows(true, reason_text)` + `suggested_label` in Chinese), replacing an earlier one, in
/// one transaction.
void write_classes_layer(Registry &registry, const Classification &result,
                         const ReasonWriter &reason_text);

} // namespace qiancun
