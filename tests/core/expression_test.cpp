#include "qiancun/error.hpp"
#include "qiancun/expression.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

// The expression language of indicators files (SPEC §5.1): each operator and function, the
// three-valued logic, coded values read as import reads them, and errors naming file, line and
// column.

namespace qiancun {
namespace {

using ::testing::HasSubstr;

const KindDef &kind_of(std::string_view key) {
    for (const auto &k : builtin_kinds())
        if (k.key == key)
            return k;
    throw std::logic_error("no kind");
}

ExprScope plant_scope() {
    ExprScope s;
    s.subject = "sewage_plant";
    s.attributes = kind_of("sewage_plant").attributes;
    s.computed = {{"plan_year", ExprType::number},
                  {"plan_end", ExprType::number},
                  {"as_of", ExprType::text},
                  {"serving", ExprType::boolean}};
    return s;
}

ExprScope village_scope() {
    ExprScope s;
    s.subject = "village";
    s.attributes = kind_of("village").attributes;
    s.computed = {{"plan_year", ExprType::number}, {"as_of", ExprType::text}};
    s.functions = {KindFunction::serving_in, KindFunction::cov, KindFunction::covered,
                   KindFunction::nearest_m, KindFunction::net_nearest_m};
    s.kinds = {"sewage_plant", "rural_road", "clinic"};
    return s;
}

ExprScope settlement_scope() {
    ExprScope s;
    s.subject = "settlement";
    s.attributes = kind_of("settlement").attributes;
    s.functions = {KindFunction::within, KindFunction::nearest_m};
    s.kinds = {"base_station_5g"};
    return s;
}

const ExprSource kSource{"ind.toml", 7, "[indicator.x] where"};

/// Evaluates `text` on a row given as name → value (names it does not read are ignored) and
/// call "fn(kind)" → value.
Truth eval(const std::string &text, const std::map<std::string, ExprValue> &row,
           const ExprScope &scope = plant_scope(),
           const std::map<std::string, ExprValue> &call_values = {}) {
    const auto e = Expression::parse(text, scope, kSource);
    std::vector<ExprValue> names;
    for (const auto &n : e.names())
        names.push_back(row.count(n) ? row.at(n) : ExprValue{});
    std::vector<ExprValue> calls;
    for (const auto &c : e.calls()) {
        const std::string key = fmt::format("{}({})", to_string(c.function), c.kind);
        calls.push_back(call_values.count(key) ? call_values.at(key) : ExprValue{});
    }
    return e.evaluate(names, calls);
}

/// The message parse() refuses `text` with, or "(accepted)".
std::string refusal(const std::string &text, const ExprScope &scope = plant_scope()) {
    try {
        (void)Expression::parse(text, scope, kSource);
    } catch (const InputError &e) {
        return e.what();
    }
    return "(accepted)";
}

const ExprValue kNull{};

TEST(Expression, ComparisonOperatorsOnNumbers) {
    const std::map<std::string, ExprValue> row{{"capacity_m3d", 50.0}};
    EXPECT_EQ(eval("capacity_m3d = 50", row), Truth::yes);
    EXPECT_EQ(eval("capacity_m3d = 50.0", row), Truth::yes);
    EXPECT_EQ(eval("capacity_m3d = 49.9", row), Truth::no);
    EXPECT_EQ(eval("capacity_m3d <> 50", row), Truth::no);
    EXPECT_EQ(eval("capacity_m3d != 49", row), Truth::yes);
    EXPECT_EQ(eval("capacity_m3d < 50", row), Truth::no);
    EXPECT_EQ(eval("capacity_m3d <= 50", row), Truth::yes);
    EXPECT_EQ(eval("capacity_m3d > 49.99", row), Truth::yes);
    EXPECT_EQ(eval("capacity_m3d >= 50.01", row), Truth::no);
    EXPECT_EQ(eval("40 < capacity_m3d", row), Truth::yes); // the literal on the left
    EXPECT_EQ(eval("capacity_m3d > -1", row), Truth::yes);
    EXPECT_EQ(eval("capacity_m3d = 5e1", row), Truth::yes);
}

TEST(Expression, TextComparesByBytesAndCodedValuesReadAsImportReadsThem) {
    const std::map<std::string, ExprValue> row{{"status", std::string("operating")},
                                               {"name", std::string("黄门村站")}};
    EXPECT_EQ(eval("status = 'operating'", row), Truth::yes);
    EXPECT_EQ(eval("status = '运行'", row), Truth::yes);
    EXPECT_EQ(eval("status = '在建'", row), Truth::no);
    EXPECT_EQ(eval("status IN ('运行', 'renovating')", row), Truth::yes);
    EXPECT_EQ(eval("status NOT IN ('planned', '在建')", row), Truth::yes);
    EXPECT_EQ(eval("status IN ('planned', 'building')", row), Truth::no);
    EXPECT_EQ(eval("name = '黄门村站'", row), Truth::yes);
    EXPECT_EQ(eval("name > '黄'", row), Truth::yes);
    EXPECT_EQ(eval("name = 'it''s'", {{"name", std::string("it's")}}), Truth::yes);
    EXPECT_THAT(refusal("status = 'open'"), HasSubstr("status 'open' is not one of"));
}

TEST(Expression, EmptyValuesAreUnknownNeverFalse) {
    const std::map<std::string, ExprValue> row{
        {"effluent_ok", kNull}, {"capacity_m3d", 20.0}, {"status", std::string("operating")}};
    EXPECT_EQ(eval("effluent_ok = 1", row), Truth::unknown);
    EXPECT_EQ(eval("effluent_ok <> 1", row), Truth::unknown);
    EXPECT_EQ(eval("effluent_ok", row), Truth::unknown);
    EXPECT_EQ(eval("NOT effluent_ok", row), Truth::unknown);
    EXPECT_EQ(eval("effluent_ok IN (0, 1)", row), Truth::unknown);
    EXPECT_EQ(eval("effluent_ok NOT IN (0, 1)", row), Truth::unknown);
    // Kleene logic: unknown AND no is no, unknown OR yes is yes.
    EXPECT_EQ(eval("effluent_ok AND capacity_m3d > 100", row), Truth::no);
    EXPECT_EQ(eval("effluent_ok AND capacity_m3d > 10", row), Truth::unknown);
    EXPECT_EQ(eval("effluent_ok OR capacity_m3d > 10", row), Truth::yes);
    EXPECT_EQ(eval("effluent_ok OR capacity_m3d > 100", row), Truth::unknown);
    EXPECT_EQ(eval("effluent_ok IS NULL", row), Truth::yes);
    EXPECT_EQ(eval("effluent_ok IS NOT NULL", row), Truth::no);
    EXPECT_EQ(eval("effluent_ok IS NOT NULL AND effluent_ok", row), Truth::no);
    EXPECT_EQ(eval("capacity_m3d IS NULL", row), Truth::no);
}

TEST(Expression, BooleansAndPrecedence) {
    const std::map<std::string, ExprValue> row{
        {"effluent_ok", 1.0}, {"capacity_m3d", 20.0}, {"built_year", 2015.0}};
    EXPECT_EQ(eval("effluent_ok", row), Truth::yes);
    EXPECT_EQ(eval("effluent_ok = TRUE", row), Truth::yes);
    EXPECT_EQ(eval("effluent_ok = false", row), Truth::no);
    EXPECT_EQ(eval("effluent_ok = '是'", row), Truth::yes); // as import reads 是
    EXPECT_EQ(eval("NOT effluent_ok", row), Truth::no);
    // AND binds tighter than OR; NOT tighter than AND.
    EXPECT_EQ(eval("capacity_m3d > 100 AND built_year < 2000 OR effluent_ok", row), Truth::yes);
    EXPECT_EQ(eval("capacity_m3d > 100 AND (built_year < 2000 OR effluent_ok)", row), Truth::no);
    EXPECT_EQ(eval("NOT capacity_m3d > 100 AND effluent_ok", row), Truth::yes);
    EXPECT_EQ(eval("not (capacity_m3d > 10 and effluent_ok)", row), Truth::no);
}

TEST(Expression, YearPlanYearAndInPeriod) {
    const std::map<std::string, ExprValue> row{{"built_year", 2024.0},
                                               {"renovated_year", 2027.0},
                                               {"plan_year", 2023.0},
                                               {"plan_end", 2027.0},
                                               {"as_of", std::string("2026-11-30")}};
    EXPECT_EQ(eval("built_year >= plan_year", row), Truth::yes);
    EXPECT_EQ(eval("year(as_of) = 2026", row), Truth::yes);
    EXPECT_EQ(eval("built_year <= year(as_of)", row), Truth::yes);
    EXPECT_EQ(eval("year(built_year) = 2024", row), Truth::yes);
    EXPECT_EQ(eval("in_period(built_year)", row), Truth::yes);
    EXPECT_EQ(eval("in_period(renovated_year)", row), Truth::no); // after the as-of year
    EXPECT_EQ(eval("in_period(built_year)", {{"built_year", 2022.0},
                                             {"plan_year", 2023.0},
                                             {"plan_end", 2027.0},
                                             {"as_of", std::string("2026-11-30")}}),
              Truth::no);
    EXPECT_EQ(
        eval("in_period(built_year)",
             {{"plan_year", 2023.0}, {"plan_end", 2027.0}, {"as_of", std::string("2026-11-30")}}),
        Truth::unknown);
    EXPECT_EQ(eval("year(as_of) = 2026", {{"as_of", std::string("soon")}}), Truth::unknown);
}

TEST(Expression, VillageFunctionsTakeTheirValuesFromTheCaller) {
    const auto scope = village_scope();
    const std::map<std::string, ExprValue> row{{"population", 1200.0}};
    const std::map<std::string, ExprValue> calls{{"serving_in(clinic)", 1.0},
                                                 {"cov(sewage_plant)", 0.9},
                                                 {"covered(sewage_plant)", 1.0},
                                                 {"nearest_m(clinic)", 800.0},
                                                 {"net_nearest_m(clinic)", kNull}};
    EXPECT_EQ(eval("population >= 1000 AND serving_in(clinic) >= 1", row, scope, calls),
              Truth::yes);
    EXPECT_EQ(eval("cov(sewage_plant) >= 0.9", row, scope, calls), Truth::yes);
    EXPECT_EQ(eval("covered(sewage_plant)", row, scope, calls), Truth::yes);
    EXPECT_EQ(eval("nearest_m(clinic) <= 500", row, scope, calls), Truth::no);
    EXPECT_EQ(eval("net_nearest_m(clinic) <= 5000", row, scope, calls), Truth::unknown);
    const auto e = Expression::parse(
        "cov(clinic) > 0.5 OR cov(clinic) < 0.1 OR serving_in(clinic) = 0", scope, kSource);
    ASSERT_EQ(e.calls().size(), 2u); // each call once
    EXPECT_EQ(e.calls()[0], (Expression::Call{KindFunction::cov, "clinic"}));
    EXPECT_EQ(e.calls()[1], (Expression::Call{KindFunction::serving_in, "clinic"}));
    // Classes: Chinese names are read as the class keys.
    EXPECT_EQ(eval("class <> '搬迁撤并类'", {{"class", std::string("relocate")}}, scope),
              Truth::no);
    EXPECT_EQ(eval("class IS NULL OR class <> 'relocate'", {{"class", kNull}}, scope), Truth::yes);
}

TEST(Expression, WithinIsForSettlements) {
    const auto scope = settlement_scope();
    EXPECT_EQ(eval("within(base_station_5g)", {}, scope, {{"within(base_station_5g)", 1.0}}),
              Truth::yes);
    EXPECT_EQ(eval("within(base_station_5g)", {}, scope, {{"within(base_station_5g)", 0.0}}),
              Truth::no);
    EXPECT_EQ(eval("population > 0 AND within(base_station_5g)", {{"population", 10.0}}, scope,
                   {{"within(base_station_5g)", 1.0}}),
              Truth::yes);
    EXPECT_THAT(refusal("within(sewage_plant)", village_scope()),
                HasSubstr("within() is not available for village"));
}

TEST(Expression, ErrorsNameFileLineColumnAndProblem) {
    EXPECT_EQ(refusal("stars = 5"),
              "ind.toml: line 7, column 1 of [indicator.x] where \"stars = 5\": unknown name "
              "'stars' for sewage_plant; names: id, status, service_radius_m, name, capacity_m3d, "
              "effluent_ok, built_year, renovated_year, plan_year, plan_end, as_of, serving");
    EXPECT_THAT(refusal("status = 'operating' AND"),
                HasSubstr("column 25 of [indicator.x] where \"status = 'operating' AND\": "
                          "expected a name, number or 'text', found 'end of the expression'"));
    EXPECT_THAT(refusal("status =\n 'x' OR foo(1)"),
                HasSubstr("line 8, column 2 of [indicator.x] where"));
    EXPECT_THAT(refusal("status =\n 'x' OR foo(1)"), HasSubstr("status 'x' is not one of"));
    EXPECT_THAT(refusal("status =\n 'operating' OR foo(1)"),
                HasSubstr("unknown function 'foo'; functions: year, in_period"));
    EXPECT_THAT(refusal("serving_in(clinic) > 0"),
                HasSubstr("serving_in() is not available for sewage_plant"));
    EXPECT_THAT(refusal("cov(school) > 0", village_scope()),
                HasSubstr("column 5 of [indicator.x] where \"cov(school) > 0\": unknown asset "
                          "kind 'school' in cov(); kinds: sewage_plant, rural_road, clinic"));
    EXPECT_THAT(refusal("net_nearest_m(rural_road) < 10", village_scope()),
                HasSubstr("net_nearest_m() has no value for rural_road"));
    EXPECT_THAT(refusal("name = 5"), HasSubstr("column 6 of [indicator.x] where \"name = 5\": "
                                               "cannot compare text with a number"));
    EXPECT_THAT(refusal("capacity_m3d"), HasSubstr("'capacity_m3d' is a number, not yes/no"));
    EXPECT_THAT(refusal("capacity_m3d = 79,9"), HasSubstr("unexpected ','"));
    EXPECT_THAT(refusal("status = \"operating\""), HasSubstr("text values take single quotes"));
    EXPECT_THAT(refusal("status = 'operating"), HasSubstr("not closed"));
    EXPECT_THAT(refusal("(capacity_m3d > 1"), HasSubstr("expected ')'"));
    EXPECT_THAT(refusal("capacity_m3d = NULL"), HasSubstr("IS NULL or IS NOT NULL"));
    EXPECT_THAT(refusal("capacity_m3d IS 5"), HasSubstr("expected NULL after IS"));
    EXPECT_THAT(refusal(""), HasSubstr("the expression is empty"));
    EXPECT_THAT(refusal("capacity_m3d > 1 capacity_m3d"), HasSubstr("unexpected 'capacity_m3d'"));
    EXPECT_THAT(refusal("capacity_m3d == 1"), HasSubstr("'==' is not an operator"));
    EXPECT_THAT(refusal("1 = 1"), HasSubstr("needs a name or function on one side"));
    EXPECT_THAT(refusal("capacity_m3d IN (1, built_year)"), HasSubstr("IN (…) takes numbers"));
    EXPECT_THAT(refusal("in_period(built_year)", settlement_scope()),
                HasSubstr("in_period() is not available for settlement"));
    EXPECT_THAT(refusal("状态 = 1"), HasSubstr("column 1 of [indicator.x] where \"状态 = 1\": "
                                               "unexpected character '状'"));
}

} // namespace
} // namespace qiancun
