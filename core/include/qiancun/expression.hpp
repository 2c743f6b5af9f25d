#pragma once

#include "qiancun/asset_types.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

/// The boolean formulas of an indicators file (SPEC §5.1): `where`, `villages` and `condition`,
/// e.g. "status = '运行' AND stars = 5" or "population >= 1000 AND serving_in(clinic) >= 1".
/// qiancun parses and evaluates them itself; they never reach SQL as text.
///
/// Grammar (keywords in any case):
///   expr      := and_expr { OR and_expr }
///   and_expr  := not_expr { AND not_expr }
///   not_expr  := NOT not_expr | '(' expr ')' | predicate
///   predicate := operand ( ( = | <> | != | < | <= | > | >= ) operand
///                        | IS [NOT] NULL | [NOT] IN '(' literal { ',' literal } ')' )
///              | operand                      -- a yes/no value: `heritage`, `within(clinic)`
///   operand   := number | 'text' | TRUE | FALSE | name | function '(' argument ')'
/// Numbers are read with a decimal point whatever the locale; text is in single quotes ('' is
/// one quote); a coded value ('运行', '特色保护类') is read as import reads it.
///
/// Three-valued logic as in SQL: a comparison with an empty value is unknown, never false;
/// NOT unknown is unknown; unknown AND no is no; unknown OR yes is yes.

namespace qiancun {

/// SQL's three truth values.
enum class Truth { no, yes, unknown };

/// A value an expression reads: empty, a number (booleans 0/1, years) or text.
using ExprValue = std::variant<std::monostate, double, std::string>;

enum class ExprType { number, text, boolean };

/// The functions of an asset kind that village and settlement expressions may call.
enum class KindFunction {
    serving_in,    ///< number: serving assets of the kind inside the village
    cov,           ///< number 0–1: the village's cov_T (SPEC §3)
    covered,       ///< yes/no: cov_T at or over the kind's gap threshold (not a gap)
    nearest_m,     ///< number, m: to the nearest serving asset (village: from its demand point)
    net_nearest_m, ///< number, m: the same along the road network
    within,        ///< yes/no, settlements: some serving asset of the kind reaches it
};

std::string_view to_string(KindFunction f) noexcept;

/// Where an expression may be used and what it may name.
struct ExprScope {
    std::string subject;                  ///< what a row is, for messages: "sewage_plant"
    std::vector<AttributeDef> attributes; ///< the subject's columns
    /// Names computed by the caller: plan_year, plan_end (numbers), as_of (a date as text),
    /// serving (yes/no) …
    std::vector<std::pair<std::string, ExprType>> computed;
    std::vector<KindFunction> functions; ///< the kind functions allowed
    std::vector<std::string> kinds;      ///< the asset kinds they take
};

/// Where an expression's text comes from, for messages.
struct ExprSource {
    std::string file;      ///< "indicators.toml"
    std::int64_t line = 1; ///< the line the text starts on
    std::string field;     ///< "[indicator.x] where"
};

/// A parsed expression, bound to the slots its caller fills.
class Expression {
public:
    /// One kind function call the expression makes.
    struct Call {
        KindFunction function;
        std::string kind;
        bool operator==(const Call &) const = default;
    };

    /// Parses `text` in `scope`. Throws InputError naming `source.file`, the line and the column
    /// of the problem, and `source.field`: a syntax error, an unknown name, kind or function,
    /// a coded value that is not one of the attribute's, or a comparison of text with a number.
    static Expression parse(std::string_view text, const ExprScope &scope,
                            const ExprSource &source);

    /// The names the expression reads, each once: evaluate() takes their values in this order.
    const std::vector<std::string> &names() const noexcept;
    /// The kind functions it calls, each once: evaluate() takes their values in this order.
    const std::vector<Call> &calls() const noexcept;
    /// The text it was parsed from.
    const std::string &text() const noexcept;

    /// The truth of the expression for one row: `names` and `calls` parallel to names() and
    /// calls() (booleans as 0/1).
    Truth evaluate(std::span<const ExprValue> names, std::span<const ExprValue> calls) const;

    struct Node;

private:
    std::shared_ptr<const Node> m_root;
    std::vector<std::string> m_names;
    std::vector<Call> m_calls;
    std::string m_text;
};

/// An attribute value as an expression reads it: integers, reals, years and booleans as
/// numbers, text and coded values as text.
ExprValue to_expr_value(const Value &v);

} // namespace qiancun
