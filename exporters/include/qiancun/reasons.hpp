#pragma once

#include "qiancun/classify.hpp"

#include <string>
#include <vector>

/// The words of village classification (SPEC §4): reasons and feature values as sentences in
/// the language of the messages (gettext, po/), made from core's structured Reason.

namespace qiancun::exporters {

/// `value` of `feature` as a reason shows it: "1,850 m", "312", "212 /km²", "62.5 %", "yes".
/// Counts, distances and densities are rounded to whole numbers with thousands separators
/// (any finite magnitude, no integer conversion); shares to 0.1 %.
std::string feature_value_text(const FeatureDef &feature, double value);

/// One condition with the village's value: "population 312 < 400"; a flag tested with = or ≠
/// reads "historic or traditional village: yes".
std::string condition_text(const ConditionOutcome &condition);

/// The whole reason: the rule's template with `{conditions}` (every condition, joined) and
/// `{<feature>}` (the village's value, "(missing)" when empty) filled in; a rule without a
/// template reads as its conditions, the default rule without one as "default rule". The
/// built-in rules' templates are translated; a rules file's own words are kept as written.
std::string reason_text(const Reason &reason);

/// The reason templates of the built-in rules (RuleSet::defaults()), as the catalogue knows
/// them.
const std::vector<std::string> &builtin_reason_templates();

} // namespace qiancun::exporters
