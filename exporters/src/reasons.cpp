#include "qiancun/reasons.hpp"

#include <fmt/format.h>

#include <cmath>

#include "qiancun/i18n.hpp"

namespace qiancun::exporters {

namespace {

/// The reasons of default_rules_toml(), marked for the catalogue (a rules file is TOML, which
/// xgettext does not read).
const char *const kBuiltinReasons[] = {
    N_("historic or traditional village, to be protected"),
    N_("hazard-exposed: {conditions}"),
    N_("small and remote: {conditions}"),
    N_("small and off the road network: {conditions}"),
    N_("hollowed-out: {conditions}"),
    N_("next to the county town: {conditions}"),
    N_("large and well served: {conditions}"),
    N_("none of the rules above applies"),
};

/// `n` rounded to an integer with thousands separators: 1850.4 → "1,850". Formats the digits
/// of any finite value without converting it to an integer type (no overflow at 1e19).
std::string grouped(double n) {
    if (!std::isfinite(n))
        return fmt::format("{}", n);
    std::string digits = fmt::format("{:.0f}", std::fabs(n));
    const bool negative = std::signbit(n) && digits != "0";
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return negative ? "-" + out : out;
}

} // namespace

std::string feature_value_text(const FeatureDef &feature, double value) {
    switch (feature.format) {
    case FeatureFormat::metres:
        return fmt::format(fmt::runtime(_("{} m")), grouped(value));
    case FeatureFormat::count:
        return grouped(value);
    case FeatureFormat::density:
        return fmt::format(fmt::runtime(_("{} /km²")), grouped(value));
    case FeatureFormat::share:
        return fmt::format("{:g} %", std::round(value * 1000.0) / 10.0);
    case FeatureFormat::flag:
        return value != 0.0 ? _("yes") : _("no");
    }
    return fmt::format("{:g}", value);
}

std::string condition_text(const ConditionOutcome &c) {
    const FeatureDef *f = find_feature(c.feature);
    // A configured village attribute is no feature: its name, and its numbers as they are.
    auto value_text = [&](double x) {
        return f ? feature_value_text(*f, x) : fmt::format("{:g}", x);
    };
    const std::string label = f ? std::string(_(f->label.c_str())) : c.feature;
    if (f && f->format == FeatureFormat::flag && (c.op == CompareOp::eq || c.op == CompareOp::ne))
        // TRANSLATORS: a yes/no feature of a village and its value, e.g.
        // "historic or traditional village: yes".
        return fmt::format(fmt::runtime(_("{feature}: {value}")), fmt::arg("feature", label),
                           fmt::arg("value", value_text(c.value)));
    // TRANSLATORS: a condition of a classification rule with the village's value, e.g.
    // "population 312 < 400"; op is one of < ≤ > ≥ = ≠.
    return fmt::format(fmt::runtime(_("{feature} {value} {op} {threshold}")),
                       fmt::arg("feature", label), fmt::arg("value", value_text(c.value)),
                       fmt::arg("op", to_string(c.op)),
                       fmt::arg("threshold", value_text(c.threshold)));
}

std::string reason_text(const Reason &reason) {
    std::string conditions;
    for (const auto &c : reason.conditions)
        conditions = conditions.empty() ? condition_text(c)
                                        // TRANSLATORS: two conditions that both hold, e.g.
                                        // "population 312 < 400 and road access 1,850 m > 1,500 m".
                                        : fmt::format(fmt::runtime(_("{first} and {next}")),
                                                      fmt::arg("first", conditions),
                                                      fmt::arg("next", condition_text(c)));
    if (reason.text.empty())
        return reason.conditions.empty() ? std::string(_("default rule")) : conditions;
    std::string text = _(reason.text.c_str());
    // Replace from the back so that earlier offsets stay valid.
    const auto found = reason_placeholders(text);
    for (auto it = found.rbegin(); it != found.rend(); ++it) {
        std::string value = _("(missing)");
        if (it->second == "conditions") {
            value = conditions;
        } else {
            for (const auto &[key, v] : reason.quoted)
                if (key == it->second && v)
                    if (const FeatureDef *f = find_feature(key))
                        value = feature_value_text(*f, *v);
        }
        text.replace(it->first, it->second.size() + 2, value);
    }
    return text;
}

const std::vector<std::string> &builtin_reason_templates() {
    static const std::vector<std::string> all(std::begin(kBuiltinReasons),
                                              std::end(kBuiltinReasons));
    return all;
}

} // namespace qiancun::exporters
