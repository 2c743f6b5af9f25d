#include "qiancun/classify.hpp"
#include "qiancun/reasons.hpp"

#include <gtest/gtest.h>

#include <set>

namespace qiancun::exporters {
namespace {

/// Features of an ordinary village that no default rule but `improve` takes.
VillageFeatures ordinary(std::map<std::string, std::optional<double>> overrides = {}) {
    VillageFeatures f;
    f.set("urban_distance_m", 8000.0);
    f.set("population", 800.0);
    f.set("settlements", 4.0);
    f.set("density", 300.0);
    f.set("completeness", 0.6);
    f.set("heritage", 0.0);
    f.set("hazard_share", 0.0);
    f.set("road_access_m", 100.0);
    for (const auto &[k, v] : overrides)
        f.set(k, v);
    return f;
}

std::string sentence(const RuleSet &rules, const VillageFeatures &f) {
    return reason_text(apply_rules(rules, f).reason);
}

TEST(ReasonText, QuotesTheActualValuesInWholeSentences) {
    const RuleSet rules = RuleSet::defaults();
    EXPECT_EQ(sentence(rules, ordinary({{"population", 312.0}, {"road_access_m", 1850.0}})),
              "small and off the road network: population 312 < 400 and road access 1,850 m > "
              "1,500 m");
    EXPECT_EQ(sentence(rules, ordinary({{"hazard_share", 0.625}})),
              "hazard-exposed: share in hazard zones 62.5 % ≥ 50 %");
    EXPECT_EQ(sentence(rules, ordinary({{"heritage", 1.0}})),
              "historic or traditional village, to be protected");
    EXPECT_EQ(sentence(rules, ordinary()), "none of the rules above applies");

    const auto custom = RuleSet::from_toml(R"([[rule]]
name = "far"
class = "relocate"
when = ["urban_distance_m > 10000", "heritage == 0"]
reason = "{population} people, {urban_distance_m} from town, density {density}"
[[rule]]
name = "plain"
class = "cluster"
when = ["heritage == 1", "population >= 100", "completeness > 0.5"]
[[rule]]
name = "rest"
class = "improve"
)",
                                           "custom.toml");
    EXPECT_EQ(
        sentence(custom, ordinary({{"urban_distance_m", 12345.6}, {"density", std::nullopt}})),
        "800 people, 12,346 m from town, density (missing)");
    // No template: the conditions, each a sentence, joined; a flag reads yes/no.
    EXPECT_EQ(sentence(custom, ordinary({{"heritage", 1.0}})),
              "historic or traditional village: yes and population 800 ≥ 100 and facility "
              "completeness 60 % > 50 %");
    EXPECT_EQ(sentence(custom, ordinary({{"heritage", 0.0}, {"urban_distance_m", 0.0}})),
              "default rule");
}

TEST(ReasonText, NumbersBeyondIntegerRangeAreQuotedNotOverflowed) {
    const std::string tail = "[[rule]]\nname = \"rest\"\nclass = \"improve\"\n";
    auto rule = [&](const std::string &condition) {
        return "[[rule]]\nname = \"a\"\nclass = \"cluster\"\nwhen = [\"" + condition + "\"]\n" +
               tail;
    };
    const auto rules = RuleSet::from_toml(rule("population < 1_000_000_000_000_000"), "big.toml");
    EXPECT_EQ(sentence(rules, ordinary({{"population", 5e14}})),
              "population 500,000,000,000,000 < 1,000,000,000,000,000");
    const auto dense = RuleSet::from_toml(rule("density > 100"), "dense.toml");
    EXPECT_EQ(sentence(dense, ordinary({{"density", 1e20}})),
              "population density 100,000,000,000,000,000,000 /km² > 100 /km²");
}

TEST(ReasonText, EveryBuiltInReasonIsInTheCatalogue) {
    const std::set<std::string> marked(builtin_reason_templates().begin(),
                                       builtin_reason_templates().end());
    for (const auto &r : RuleSet::defaults().rules)
        EXPECT_TRUE(marked.count(r.reason)) << r.name << ": " << r.reason;
}

} // namespace
} // namespace qiancun::exporters
