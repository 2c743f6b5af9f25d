#include "qiancun/classify.hpp"
#include "qiancun/error.hpp"
#include "qiancun/geometry.hpp"
#include "qiancun/registry.hpp"

#include "testing/feature_writer.hpp"
#include "testing/sqlite_file.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <cstdlib>
#include <map>

#include "qiancun/i18n.hpp"

namespace qiancun {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

/// South-west corner of the test county, EPSG:4549 metres.
constexpr double kX0 = 500000.0;
constexpr double kY0 = 3320000.0;
/// Villages are 1 km squares this far apart, so that no asset of one reaches another.
constexpr double kSpacingM = 5000.0;

std::string square_wkt(double x, double y, double w, double h) {
    return fmt::format("POLYGON(({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))", x, y, x + w,
                       y + h);
}

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

std::string rule_for(const VillageFeatures &f) {
    static const RuleSet rules = RuleSet::defaults();
    return apply_rules(rules, f).rule->name;
}

TEST(ClassifyRules, DefaultOrderProtectsFirstThenRelocatesThenSuburbanClusterImprove) {
    const RuleSet rules = RuleSet::defaults();
    std::vector<std::string> classes;
    for (const auto &r : rules.rules)
        if (classes.empty() || classes.back() != r.village_class)
            classes.push_back(r.village_class);
    EXPECT_EQ(classes,
              (std::vector<std::string>{"heritage", "relocate", "suburban", "cluster", "improve"}));
    EXPECT_TRUE(rules.rules.back().conditions.empty());
    EXPECT_EQ(rule_for(ordinary()), "improve");
}

// Each default rule fires on a village built to meet it and not on one just past a threshold.
struct Boundary {
    std::string rule;
    std::map<std::string, std::optional<double>> meets;
    std::vector<std::map<std::string, std::optional<double>>> just_past;
};

TEST(ClassifyRules, EachDefaultRuleFiresAtItsThresholdAndNotJustPastIt) {
    const std::vector<Boundary> cases{
        {"heritage", {{"heritage", 1.0}}, {{{"heritage", 0.0}}}},
        {"relocate_hazard", {{"hazard_share", 0.5}}, {{{"hazard_share", 0.499}}}},
        {"relocate_small_remote",
         {{"population", 499.0}, {"urban_distance_m", 10000.5}},
         {{{"population", 500.0}, {"urban_distance_m", 10000.5}},
          {{"population", 499.0}, {"urban_distance_m", 10000.0}}}},
        {"relocate_off_road",
         {{"population", 399.0}, {"road_access_m", 1500.5}},
         {{{"population", 400.0}, {"road_access_m", 1500.5}},
          {{"population", 399.0}, {"road_access_m", 1500.0}}}},
        {"relocate_hollow",
         {{"density", 79.9}, {"settlements", 2.0}},
         {{{"density", 80.0}, {"settlements", 2.0}}, {{"density", 79.9}, {"settlements", 3.0}}}},
        {"suburban", {{"urban_distance_m", 2000.0}}, {{{"urban_distance_m", 2000.5}}}},
        {"cluster",
         {{"population", 1500.0}, {"completeness", 0.8}},
         {{{"population", 1499.0}, {"completeness", 0.8}},
          {{"population", 1500.0}, {"completeness", 0.6}}}},
    };
    for (const auto &c : cases) {
        EXPECT_EQ(rule_for(ordinary(c.meets)), c.rule) << c.rule << " built to meet it";
        for (const auto &past : c.just_past)
            EXPECT_EQ(rule_for(ordinary(past)), "improve") << c.rule << " just past";
    }
}

TEST(ClassifyRules, FirstMatchWins) {
    // Meets heritage, relocate_hazard, suburban and cluster at once.
    auto all = ordinary({{"heritage", 1.0},
                         {"hazard_share", 0.9},
                         {"urban_distance_m", 0.0},
                         {"population", 3000.0},
                         {"completeness", 1.0}});
    EXPECT_EQ(rule_for(all), "heritage");
    all.set("heritage", 0.0);
    EXPECT_EQ(rule_for(all), "relocate_hazard");
    all.set("hazard_share", 0.0);
    EXPECT_EQ(rule_for(all), "suburban");
    all.set("urban_distance_m", 5000.0);
    EXPECT_EQ(rule_for(all), "cluster");

    // A custom order: the same village goes to whatever comes first.
    const auto rules = RuleSet::from_toml(R"([[rule]]
name = "big"
class = "cluster"
when = ["population >= 1000"]
[[rule]]
name = "near"
class = "suburban"
when = ["urban_distance_m < 6000"]
[[rule]]
name = "rest"
class = "improve"
)",
                                          "order.toml");
    EXPECT_EQ(apply_rules(rules, all).rule->name, "big");
}

TEST(ClassifyRules, ReasonIsTheRuleWithItsConditionsAndTheVillagesValues) {
    const RuleSet rules = RuleSet::defaults();
    const auto m = apply_rules(rules, ordinary({{"population", 312.0}, {"road_access_m", 1850.0}}));
    EXPECT_EQ(m.rule->name, "relocate_off_road");
    EXPECT_EQ(m.reason.rule, "relocate_off_road");
    EXPECT_EQ(m.reason.text, "small and off the road network: {conditions}");
    ASSERT_EQ(m.reason.conditions.size(), 2u);
    EXPECT_EQ(m.reason.conditions[0].feature, "population");
    EXPECT_EQ(m.reason.conditions[0].op, CompareOp::lt);
    EXPECT_DOUBLE_EQ(m.reason.conditions[0].value, 312.0);
    EXPECT_DOUBLE_EQ(m.reason.conditions[0].threshold, 400.0);
    EXPECT_EQ(m.reason.conditions[1].feature, "road_access_m");
    EXPECT_EQ(m.reason.conditions[1].op, CompareOp::gt);
    EXPECT_DOUBLE_EQ(m.reason.conditions[1].value, 1850.0);
    EXPECT_DOUBLE_EQ(m.reason.conditions[1].threshold, 1500.0);
    EXPECT_TRUE(m.reason.quoted.empty());

    const auto hazard = apply_rules(rules, ordinary({{"hazard_share", 0.625}}));
    ASSERT_EQ(hazard.reason.conditions.size(), 1u);
    EXPECT_EQ(hazard.reason.conditions[0].op, CompareOp::ge);
    EXPECT_DOUBLE_EQ(hazard.reason.conditions[0].value, 0.625);
    EXPECT_DOUBLE_EQ(hazard.reason.conditions[0].threshold, 0.5);

    const auto dflt = apply_rules(rules, ordinary());
    EXPECT_EQ(dflt.reason.rule, "improve");
    EXPECT_TRUE(dflt.reason.conditions.empty());

    const auto custom = RuleSet::from_toml(R"([[rule]]
name = "far"
class = "relocate"
when = ["urban_distance_m > 10000"]
reason = "{population} people, {urban_distance_m} from town, {heritage}"
[[rule]]
name = "rest"
class = "improve"
)",
                                           "custom.toml");
    const auto far =
        apply_rules(custom, ordinary({{"urban_distance_m", 12345.6}, {"heritage", std::nullopt}}));
    using Quoted = std::vector<std::pair<std::string, std::optional<double>>>;
    EXPECT_EQ(
        far.reason.quoted,
        (Quoted{{"population", 800.0}, {"urban_distance_m", 12345.6}, {"heritage", std::nullopt}}));
}

TEST(ClassifyRules, MissingFeatureSkipsTheRuleInsteadOfGuessing) {
    // Would be suburban at 0 m; with the distance unknown the rule is skipped, not guessed.
    auto f = ordinary(
        {{"urban_distance_m", std::nullopt}, {"population", 3000.0}, {"completeness", 1.0}});
    const auto rules = RuleSet::defaults(); // the match points into it
    const auto m = apply_rules(rules, f);
    EXPECT_EQ(m.rule->name, "cluster");
    ASSERT_EQ(m.skipped.size(), 2u);
    EXPECT_EQ(m.skipped[0],
              (std::pair<std::string, std::string>{"relocate_small_remote", "urban_distance_m"}));
    EXPECT_EQ(m.skipped[1], (std::pair<std::string, std::string>{"suburban", "urban_distance_m"}));
}

/// The exception message of parsing `text` as a rules file.
std::string rules_error(const std::string &text) {
    try {
        (void)RuleSet::from_toml(text, "bad.toml");
    } catch (const InputError &e) {
        return e.what();
    }
    return "(accepted)";
}

TEST(ClassifyRules, ThresholdsAreReadTheSameEverywhereAndInRange) {
    const std::string tail = "[[rule]]\nname = \"rest\"\nclass = \"improve\"\n";
    auto rule = [&](const std::string &condition) {
        return "[[rule]]\nname = \"a\"\nclass = \"cluster\"\nwhen = [\"" + condition + "\"]\n" +
               tail;
    };
    // A decimal comma is neither 79.9 nor 799: the file says what it means or is refused.
    EXPECT_THAT(rules_error(rule("density < 79,9")),
                AllOf(HasSubstr("bad.toml: line 4: threshold '79,9' in 'density < 79,9' is not "
                                "a number (write it with a decimal point"),
                      HasSubstr("1500)")));
    EXPECT_THAT(rules_error(rule("population < 1,500")), HasSubstr("threshold '1,500'"));
    // Beyond what a count or a distance can be: a range error, never an overflow.
    EXPECT_THAT(rules_error(rule("population < 1e19")),
                HasSubstr("bad.toml: line 4: threshold '1e19' in 'population < 1e19' is out of "
                          "range: at most 1e+15 in magnitude"));
    EXPECT_THAT(rules_error(rule("urban_distance_m > -1e300")), HasSubstr("out of range"));
    // Underscores group digits; the largest threshold still prints with separators.
    const auto rules = RuleSet::from_toml(rule("population < 1_000_000_000_000_000"), "big.toml");
    EXPECT_DOUBLE_EQ(rules.rules[0].conditions[0].threshold, 1e15);
    EXPECT_DOUBLE_EQ(
        apply_rules(rules, ordinary({{"population", 5e14}})).reason.conditions.at(0).value, 5e14);
}

TEST(ClassifyRules, BadRulesFilesAreRejectedWithTheLine) {
    const std::string tail = "[[rule]]\nname = \"rest\"\nclass = \"improve\"\n";
    // Unknown feature on line 4.
    EXPECT_THAT(
        rules_error("[[rule]]\nname = \"a\"\nclass = \"cluster\"\n"
                    "when = [\"people > 3\"]\n" +
                    tail),
        AllOf(HasSubstr("bad.toml"), HasSubstr("line 4"), HasSubstr("unknown feature 'people'")));
    // Bad operator on line 6 (conditions over several lines).
    EXPECT_THAT(rules_error("[[rule]]\nname = \"a\"\nclass = \"cluster\"\nwhen = [\n"
                            "  \"population > 3\",\n  \"density => 3\",\n]\n" +
                            tail),
                AllOf(HasSubstr("line 6"), HasSubstr("bad operator '=>'")));
    EXPECT_THAT(rules_error("[[rule]]\nname = \"a\"\nclass = \"cluster\"\n"
                            "when = [\"population 3\"]\n" +
                            tail),
                AllOf(HasSubstr("line 4"), HasSubstr("no operator")));
    // No default rule: the last rule (line 5) has conditions.
    EXPECT_THAT(rules_error(tail + "[[rule]]\nname = \"b\"\nclass = \"cluster\"\n"
                                   "when = [\"population > 3\"]\n"),
                AllOf(HasSubstr("line 1"), HasSubstr("rules after it could never fire")));
    EXPECT_THAT(rules_error("\n[[rule]]\nname = \"b\"\nclass = \"cluster\"\n"
                            "when = [\"population > 3\"]\n"),
                AllOf(HasSubstr("line 2"), HasSubstr("no default rule")));
    EXPECT_THAT(rules_error("# nothing\n"), HasSubstr("no [[rule]]"));
    EXPECT_THAT(rules_error("[[rule]]\nname = \"a\"\nclass = \"village\"\n"), //
                AllOf(HasSubstr("line 1"), HasSubstr("class 'village'")));
    EXPECT_THAT(rules_error("[[rule]]\nname = \"a\"\nclass = \"improve\"\nwhy = \"x\"\n"),
                AllOf(HasSubstr("line 4"), HasSubstr("unknown key 'why'")));
    EXPECT_THAT(rules_error("[[rule]]\nname = \"a\"\nclass = \"cluster\"\n"
                            "when = [\"hazard_share > 40\"]\n" +
                            tail),
                AllOf(HasSubstr("line 4"), HasSubstr("ratio")));
    EXPECT_THAT(rules_error("[[rule]]\nname = \"a\"\nclass = \"cluster\"\n"
                            "when = [\"population > many\"]\n" +
                            tail),
                AllOf(HasSubstr("line 4"), HasSubstr("not a number")));
    EXPECT_THAT(rules_error("[[rule]]\nname = \"a\"\nclass = \"improve\"\n"
                            "reason = \"{people}\"\n"),
                AllOf(HasSubstr("line 1"), HasSubstr("placeholder {people}")));
    EXPECT_THAT(rules_error("[[rule]]\nname = \"a\"\nclass = \"improve\"\n\nname2 = = 3\n"),
                HasSubstr("line 5"));
    EXPECT_THAT(rules_error(tail + tail),
                AllOf(HasSubstr("line 4"), HasSubstr("a second rule named 'rest'")));
}

TEST(ClassifyRules, ShippedRulesFileIsTheBuiltInOne) {
    EXPECT_EQ(testing::read_file(testing::sample_maps_dir() / "rules.toml"),
              std::string(default_rules_toml()));
    // Every threshold of the built-in rules is commented with a source or an assumption.
    const std::string text(default_rules_toml());
    std::size_t rules = 0;
    for (std::size_t at = text.find("[[rule]]"); at != std::string::npos;
         at = text.find("[[rule]]", at + 1)) {
        ++rules;
        const auto next = text.find("[[rule]]", at + 1);
        const std::string body = text.substr(at, next - at);
        if (body.find("when") != std::string::npos) {
            EXPECT_TRUE(body.find("Source:") != std::string::npos &&
                        (body.find("Planning assumption") != std::string::npos ||
                         body.find("特色保护类") != std::string::npos))
                << body;
        }
    }
    EXPECT_EQ(rules, RuleSet::defaults().rules.size());
}

/// A registry built feature by feature, written with the village links.
class County {
public:
    County() : m_registry(Registry::create(m_dir / "county.sqlite", 4549)) {}

    County &add(const std::string &kind, std::map<std::string, Value> values,
                const std::string &wkt) {
        m_writer.add(kind, std::move(values), wkt);
        return *this;
    }

    /// Village number `n` (code 330604101<200+n>): a 1 km square at column `n`.
    County &village(int n, std::map<std::string, Value> values) {
        values["code"] = code(n);
        values["name"] = fmt::format("村{}", n);
        values.try_emplace("township", std::string("东关街道"));
        values.try_emplace("heritage", std::int64_t{0});
        values.try_emplace("population", std::int64_t{800});
        return add("village", values, square_wkt(x(n), kY0, 1000.0, 1000.0));
    }

    County &point(const std::string &kind, const std::string &id, double px, double py,
                  std::map<std::string, Value> values = {}) {
        m_writer.point(kind, id, px, py, std::move(values));
        return *this;
    }

    County &commit() {
        m_writer.commit("classify_test");
        return *this;
    }

    static std::string code(int n) { return fmt::format("330604101{}", 200 + n); }
    static double x(int n) { return kX0 + kSpacingM * n; }

    Registry &registry() { return m_registry; }

private:
    TempDir m_dir;
    Registry m_registry;
    testing::FeatureWriter m_writer{m_registry};
};

const VillageClassification &village_of(const Classification &c, int n) {
    for (const auto &v : c.villages)
        if (v.code == County::code(n))
            return v;
    throw std::logic_error("no village " + County::code(n));
}

/// Seven villages, each built to meet one default rule, plus one just past each of the
/// thresholds measured from geometry (urban distance, hazard share).
TEST(Classify, VillagesBuiltForEachRuleGetTheirClass) {
    County c;
    // Village 0 is heritage; 1 lies 50 % in a hazard zone, 2 only 49 %; 3 is small and has no
    // road (the nearest is 4,500 m away); 4 is hollow (60 people on 1 km², one settlement);
    // 5 has its seat 2,000 m from the urban area, 6 is 2,001 m away; 7 is large and fully
    // served; 8 is ordinary. All but 0–2 lie within 10 km of the urban area.
    c.village(0, {{"heritage", std::int64_t{1}}, {"class", std::string("heritage")}});
    c.village(1, {});
    c.village(2, {});
    c.village(3, {{"population", std::int64_t{350}}});
    c.village(4, {{"population", std::int64_t{60}}});
    c.village(5, {{"seat_x", County::x(5) + 500.0}, {"seat_y", kY0 + 500.0}});
    c.village(6, {{"seat_x", County::x(6) + 500.0},
                  {"seat_y", kY0 + 500.0},
                  {"class", std::string("suburban")}});
    c.village(7, {{"population", std::int64_t{2000}}, {"class", std::string("improve")}});
    c.village(8, {{"class", std::string("improve")}});
    c.add("hazard", {{"id", std::string("H1")}}, square_wkt(County::x(1), kY0, 500.0, 1000.0));
    c.add("hazard", {{"id", std::string("H2")}}, square_wkt(County::x(2), kY0, 490.0, 1000.0));
    // The urban area: a square west of village 5's seat at 2,000 m and of 6's at 2,001 m.
    c.add("urban", {{"id", std::string("U1")}},
          square_wkt(County::x(5) + 500.0 - 2000.0 - 100.0, kY0 - 30000.0, 100.0, 60000.0));
    c.add("urban", {{"id", std::string("U2")}},
          square_wkt(County::x(6) + 500.0 + 2001.0, kY0 - 30000.0, 100.0, 60000.0));
    // Every village has a road through its centre except village 3.
    for (int n = 0; n <= 8; ++n) {
        if (n != 3)
            c.add("rural_road",
                  {{"id", fmt::format("R{}", n)}, {"status", std::string("operating")}},
                  fmt::format("LINESTRING({} {}, {} {})", County::x(n), kY0 + 500.0,
                              County::x(n) + 1000.0, kY0 + 500.0));
        c.point("settlement", fmt::format("S{}", n), County::x(n) + 500.0, kY0 + 500.0,
                {{"population", std::int64_t{n == 4 ? 60 : 100}}});
        if (n != 4)
            c.point("settlement", fmt::format("S{}b", n), County::x(n) + 400.0, kY0 + 400.0,
                    {{"population", std::int64_t{50}}});
        if (n != 4)
            c.point("settlement", fmt::format("S{}c", n), County::x(n) + 600.0, kY0 + 600.0,
                    {{"population", std::int64_t{50}}});
    }
    // Village 7: every facility at its centre.
    for (const char *kind : {"sewage_plant", "base_station_5g", "cultural_hall", "courier_station"})
        c.point(kind, std::string(kind) + "7", County::x(7) + 500.0, kY0 + 500.0);
    c.commit();

    const Classification result = classify_villages(c.registry(), RuleSet::defaults(),
                                                    MetricsConfig::defaults(builtin_kinds()));
    ASSERT_EQ(result.villages.size(), 9u);
    const std::map<int, std::string> expected{
        {0, "heritage"},          {1, "relocate_hazard"}, {2, "improve"},
        {3, "relocate_off_road"}, {4, "relocate_hollow"}, {5, "suburban"},
        {6, "improve"},           {7, "cluster"},         {8, "improve"}};
    for (const auto &[n, rule] : expected)
        EXPECT_EQ(village_of(result, n).rule, rule)
            << "village " << n << ": " << village_of(result, n).reason.rule;

    const auto &v1 = village_of(result, 1);
    EXPECT_NEAR(*v1.features.get("hazard_share"), 0.5, 1e-9);
    EXPECT_NEAR(*village_of(result, 2).features.get("hazard_share"), 0.49, 1e-9);
    EXPECT_NEAR(*village_of(result, 5).features.get("urban_distance_m"), 2000.0, 1e-6);
    EXPECT_NEAR(*village_of(result, 6).features.get("urban_distance_m"), 2001.0, 1e-6);
    EXPECT_DOUBLE_EQ(*village_of(result, 7).features.get("completeness"), 1.0);
    EXPECT_DOUBLE_EQ(*village_of(result, 8).features.get("completeness"), 0.2); // roads only
    EXPECT_DOUBLE_EQ(*village_of(result, 4).features.get("density"), 60.0);
    EXPECT_DOUBLE_EQ(*village_of(result, 4).features.get("settlements"), 1.0);
    EXPECT_DOUBLE_EQ(*village_of(result, 0).features.get("settlements"), 3.0);
    // Village 3's centre to the ends of its neighbours' roads.
    EXPECT_NEAR(*village_of(result, 3).features.get("road_access_m"), 4500.0, 1e-6);

    // Recorded classes: village 0 agrees, 6 and 7 differ, the rest have none.
    EXPECT_EQ(village_of(result, 0).mismatch, std::optional<bool>(false));
    EXPECT_EQ(village_of(result, 6).mismatch, std::optional<bool>(true));
    EXPECT_EQ(village_of(result, 7).mismatch, std::optional<bool>(true));
    EXPECT_EQ(village_of(result, 8).mismatch, std::optional<bool>(false));
    EXPECT_EQ(village_of(result, 1).mismatch, std::nullopt);
    EXPECT_TRUE(result.warnings.empty()) << result.warnings.front();

    const Rows rows = result.to_rows(false, [](const Reason &r) { return "why " + r.rule; });
    EXPECT_EQ(rows.rows.at(3).at(5), Value{std::string("why relocate_off_road")});
    EXPECT_EQ(rows.columns,
              (std::vector<std::string>{"code", "name", "township", "suggested_class", "rule",
                                        "reason", "recorded_class", "mismatch"}));
    const Rows counts = result.class_counts();
    ASSERT_EQ(counts.rows.size(), 6u);
    EXPECT_EQ(counts.rows[4][0], Value{std::string("relocate")});
    EXPECT_EQ(counts.rows[4][2], Value{std::int64_t{3}});
    EXPECT_EQ(counts.rows[2][2], Value{std::int64_t{3}}); // improve: 2, 6, 8
    const Rows townships = result.township_counts();
    ASSERT_EQ(townships.rows.size(), 1u);
    EXPECT_EQ(townships.rows[0].back(), Value{std::int64_t{9}});
}

TEST(Classify, MissingInputsAreReportedAndTheirRulesSkipped) {
    County c;
    // No urban area, no hazard zones, no courier stations; village 1 has no population.
    c.village(0, {{"population", std::int64_t{3000}}});
    c.village(1, {{"population", Value{}}});
    c.point("sewage_plant", "P0", County::x(0) + 500.0, kY0 + 500.0);
    c.commit();
    const Classification result = classify_villages(c.registry(), RuleSet::defaults(),
                                                    MetricsConfig::defaults(builtin_kinds()));
    ASSERT_EQ(result.villages.size(), 2u);
    const auto &v0 = result.villages[0];
    EXPECT_FALSE(v0.features.get("urban_distance_m"));
    EXPECT_FALSE(v0.features.get("hazard_share"));
    EXPECT_FALSE(v0.features.get("completeness"));
    EXPECT_FALSE(v0.features.get("road_access_m"));
    EXPECT_EQ(*v0.features.get("population"), 3000.0);
    EXPECT_FALSE(result.villages[1].features.get("population"));
    EXPECT_FALSE(result.villages[1].features.get("density"));
    for (const auto &v : result.villages)
        EXPECT_EQ(v.suggested_class, "improve") << v.code;

    auto warned = [&](const std::string &text) {
        return std::any_of(result.warnings.begin(), result.warnings.end(),
                           [&](const std::string &w) { return w.find(text) != std::string::npos; });
    };
    EXPECT_TRUE(warned("urban_distance_m is missing for every village: no urban area"));
    EXPECT_TRUE(warned("hazard_share is missing for every village: no hazard zones"));
    EXPECT_TRUE(warned("completeness is missing for every village: no rural_road, "
                       "base_station_5g, cultural_hall, courier_station in the registry"));
    EXPECT_TRUE(warned("population is missing for 1 of 2 villages (330604101201)"));
    EXPECT_TRUE(warned("rule 'suburban' skipped for every village: urban_distance_m is missing"));
    EXPECT_TRUE(warned("rule 'relocate_hazard' skipped for every village"));
    EXPECT_TRUE(warned("rule 'cluster' skipped for 1 village (330604101200): completeness is "
                       "missing"));
    EXPECT_TRUE(warned("rule 'cluster' skipped for 1 village (330604101201): population is "
                       "missing"));
}

TEST(Classify, ClassNamesAreEnglishMsgidsWithTheCataloguesChinese) {
    std::vector<std::string> names;
    for (const auto &key : village_class_keys())
        names.emplace_back(village_class_name(key));
    EXPECT_EQ(names, (std::vector<std::string>{"suburban integration", "cluster development",
                                               "improvement", "heritage protection",
                                               "relocation and merger"}));
    EXPECT_EQ(village_class_name(""), "unclassified");
    EXPECT_EQ(village_class_name("suburb"), "");
    EXPECT_EQ(village_class_label("suburb"), "");
    // Chinese whatever the language of the messages, once a catalogue is bound.
    testing::bind_catalogue();
    ::unsetenv("LANGUAGE");
    std::vector<std::string> labels;
    for (const auto &key : village_class_keys())
        labels.push_back(village_class_label(key));
    EXPECT_EQ(labels, (std::vector<std::string>{"城郊融合类", "集聚建设类", "整治提升类",
                                                "特色保护类", "搬迁撤并类"}));
    EXPECT_EQ(village_class_label(""), "未分类");
    // The Chinese looked up does not stay behind: the same word in the English messages after it
    // is English again (gettext keeps what it found by the locale's name, not by LANGUAGE).
    const char *english = translate_in_context("village class", "heritage protection");
    EXPECT_STREQ(english, "heritage protection");
    EXPECT_EQ(village_class_label("heritage"), "特色保护类");
    EXPECT_STREQ(translate_in_context("village class", "heritage protection"),
                 "heritage protection");
}

TEST(Classify, ClassesLayerIsStoredWithTheVillagePolygons) {
    testing::bind_catalogue(); // suggested_label: the catalogue's Chinese name of the class
    County c;
    c.village(0, {{"heritage", std::int64_t{1}}});
    c.village(1, {});
    c.commit();
    const Classification result = classify_villages(c.registry(), RuleSet::defaults(),
                                                    MetricsConfig::defaults(builtin_kinds()));
    const auto writer = [](const Reason &r) { return "why " + r.rule; };
    write_classes_layer(c.registry(), result, writer);
    write_classes_layer(c.registry(), result, writer); // replaces, does not append
    const qiancun::testing::SqliteFile file(c.registry().path());
    sqlite3_stmt *st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(file.get(),
                                 "SELECT code, suggested_class, suggested_label, ST_Area(geom) "
                                 "FROM village_classes ORDER BY code",
                                 -1, &st, nullptr),
              SQLITE_OK);
    std::vector<std::string> got;
    while (sqlite3_step(st) == SQLITE_ROW) {
        got.push_back(fmt::format("{} {} {} {:.0f}",
                                  reinterpret_cast<const char *>(sqlite3_column_text(st, 0)),
                                  reinterpret_cast<const char *>(sqlite3_column_text(st, 1)),
                                  reinterpret_cast<const char *>(sqlite3_column_text(st, 2)),
                                  sqlite3_column_double(st, 3)));
    }
    sqlite3_finalize(st);
    EXPECT_EQ(got, (std::vector<std::string>{"330604101200 heritage 特色保护类 1000000",
                                             "330604101201 improve 整治提升类 1000000"}));
}

} // namespace
} // namespace qiancun
