#include "qiancun/expression.hpp"

#include "qiancun/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

#include "qiancun/i18n.hpp"

// A hand-written recursive-descent parser: the language is a dozen tokens, and no Debian library
// parses an SQL-like boolean formula without being an SQL engine (SQLite, GDAL's OGR SQL), which
// would mean passing a user's text to SQL — exactly what SPEC §5.1 rules out. Parsing it here
// also lets every error name the file, line and column, and coded values be read as import
// reads them.

namespace qiancun {

std::string_view to_string(KindFunction f) noexcept {
    switch (f) {
    case KindFunction::serving_in:
        return "serving_in";
    case KindFunction::cov:
        return "cov";
    case KindFunction::covered:
        return "covered";
    case KindFunction::nearest_m:
        return "nearest_m";
    case KindFunction::net_nearest_m:
        return "net_nearest_m";
    case KindFunction::within:
        return "within";
    }
    return "cov";
}

ExprValue to_expr_value(const Value &v) {
    if (const auto *i = std::get_if<std::int64_t>(&v))
        return static_cast<double>(*i);
    if (const auto *d = std::get_if<double>(&v))
        return *d;
    if (const auto *s = std::get_if<std::string>(&v))
        return *s;
    return std::monostate{};
}

/// An operand: a literal, a name's slot, a call's slot, or year(operand).
struct Operand {
    enum class Kind { literal, name, call, year } kind = Kind::literal;
    ExprType type = ExprType::number;
    ExprValue literal;
    std::size_t slot = 0;
    std::shared_ptr<const Operand> argument; ///< year()
    const AttributeDef *attribute = nullptr; ///< a name that is a column
};

enum class CompareOp { eq, ne, lt, le, gt, ge };

struct Expression::Node {
    enum class Kind { and_, or_, not_, compare, is_null, in, truthy, in_period } kind = Kind::and_;
    std::vector<std::shared_ptr<const Node>> children;
    Operand lhs;
    Operand rhs;
    CompareOp op = CompareOp::eq;
    bool negated = false;                ///< IS NOT NULL, NOT IN
    std::vector<ExprValue> list;         ///< IN
    std::array<std::size_t, 3> period{}; ///< in_period: plan_year, plan_end, as_of slots
};

namespace {

using Node = Expression::Node;

std::optional<double> year_of(const ExprValue &v) {
    if (const auto *d = std::get_if<double>(&v))
        return std::trunc(*d);
    if (const auto *s = std::get_if<std::string>(&v)) {
        int y = 0;
        const auto [ptr, ec] =
            std::from_chars(s->data(), s->data() + std::min<std::size_t>(4, s->size()), y);
        if (ec == std::errc() && ptr == s->data() + 4)
            return static_cast<double>(y);
    }
    return std::nullopt;
}

ExprValue value_of(const Operand &o, std::span<const ExprValue> names,
                   std::span<const ExprValue> calls) {
    switch (o.kind) {
    case Operand::Kind::literal:
        return o.literal;
    case Operand::Kind::name:
        return names[o.slot];
    case Operand::Kind::call:
        return calls[o.slot];
    case Operand::Kind::year:
        if (const auto y = year_of(value_of(*o.argument, names, calls)))
            return *y;
        return std::monostate{};
    }
    return std::monostate{};
}

Truth truth(bool b) {
    return b ? Truth::yes : Truth::no;
}

Truth compare(const ExprValue &a, const ExprValue &b, CompareOp op) {
    if (std::holds_alternative<std::monostate>(a) || std::holds_alternative<std::monostate>(b))
        return Truth::unknown;
    int c = 0;
    if (const auto *x = std::get_if<double>(&a)) {
        const auto *y = std::get_if<double>(&b);
        if (!y)
            return Truth::unknown;
        c = *x < *y ? -1 : (*x > *y ? 1 : 0);
    } else {
        const auto *s = std::get_if<std::string>(&a);
        const auto *t = std::get_if<std::string>(&b);
        if (!s || !t)
            return Truth::unknown;
        c = s->compare(*t);
    }
    switch (op) {
    case CompareOp::eq:
        return truth(c == 0);
    case CompareOp::ne:
        return truth(c != 0);
    case CompareOp::lt:
        return truth(c < 0);
    case CompareOp::le:
        return truth(c <= 0);
    case CompareOp::gt:
        return truth(c > 0);
    case CompareOp::ge:
        return truth(c >= 0);
    }
    return Truth::unknown;
}

Truth eval(const Node &n, std::span<const ExprValue> names, std::span<const ExprValue> calls) {
    switch (n.kind) {
    case Node::Kind::and_: {
        Truth out = Truth::yes;
        for (const auto &c : n.children) {
            const Truth t = eval(*c, names, calls);
            if (t == Truth::no)
                return Truth::no;
            if (t == Truth::unknown)
                out = Truth::unknown;
        }
        return out;
    }
    case Node::Kind::or_: {
        Truth out = Truth::no;
        for (const auto &c : n.children) {
            const Truth t = eval(*c, names, calls);
            if (t == Truth::yes)
                return Truth::yes;
            if (t == Truth::unknown)
                out = Truth::unknown;
        }
        return out;
    }
    case Node::Kind::not_: {
        const Truth t = eval(*n.children.front(), names, calls);
        return t == Truth::unknown ? t : truth(t == Truth::no);
    }
    case Node::Kind::compare:
        return compare(value_of(n.lhs, names, calls), value_of(n.rhs, names, calls), n.op);
    case Node::Kind::is_null: {
        const bool null = std::holds_alternative<std::monostate>(value_of(n.lhs, names, calls));
        return truth(null != n.negated);
    }
    case Node::Kind::in: {
        const ExprValue v = value_of(n.lhs, names, calls);
        if (std::holds_alternative<std::monostate>(v))
            return Truth::unknown;
        const bool found = std::any_of(n.list.begin(), n.list.end(), [&](const ExprValue &e) {
            return compare(v, e, CompareOp::eq) == Truth::yes;
        });
        return truth(found != n.negated);
    }
    case Node::Kind::truthy: {
        const ExprValue v = value_of(n.lhs, names, calls);
        const auto *d = std::get_if<double>(&v);
        return d ? truth(*d != 0.0) : Truth::unknown;
    }
    case Node::Kind::in_period: {
        const ExprValue v = value_of(n.lhs, names, calls);
        const auto *year = std::get_if<double>(&v);
        const auto *first = std::get_if<double>(&names[n.period[0]]);
        const auto *last = std::get_if<double>(&names[n.period[1]]);
        const auto as_of = year_of(names[n.period[2]]);
        if (!year || !first || !last || !as_of)
            return Truth::unknown;
        return truth(*year >= *first && *year <= *last && *year <= *as_of);
    }
    }
    return Truth::unknown;
}

std::string_view type_name(ExprType t) {
    switch (t) {
    case ExprType::number:
        return "a number";
    case ExprType::text:
        return "text";
    case ExprType::boolean:
        return "yes/no";
    }
    return "a number";
}

struct Token {
    enum class Kind { end, name, number, text, op, lparen, rparen, comma } kind = Kind::end;
    std::string text; ///< names upper-cased in `upper`
    std::string upper;
    double number = 0.0;
    std::size_t pos = 0; ///< byte offset in the expression
};

class Parser {
public:
    Parser(std::string_view text, const ExprScope &scope, const ExprSource &source)
        : m_text(text), m_scope(scope), m_source(source) {
        tokenize();
    }

    std::shared_ptr<const Node> parse() {
        if (m_tokens.front().kind == Token::Kind::end)
            fail(0, _("the expression is empty"));
        auto root = parse_or();
        if (peek().kind != Token::Kind::end)
            fail(peek().pos,
                 fmt::format(fmt::runtime(_("unexpected '{}' after a complete expression")),
                             peek().text));
        return root;
    }

    std::vector<std::string> names;
    std::vector<Expression::Call> calls;

private:
    std::string_view m_text;
    const ExprScope &m_scope;
    const ExprSource &m_source;
    std::vector<Token> m_tokens;
    std::size_t m_at = 0;

    [[noreturn]] void fail(std::size_t pos, const std::string &problem) const {
        // Line and column (1-based, counted in characters, not bytes) of `pos` in the file.
        std::int64_t line = m_source.line;
        std::size_t column = 1;
        for (std::size_t i = 0; i < pos && i < m_text.size(); ++i) {
            const auto c = static_cast<unsigned char>(m_text[i]);
            if (c == '\n') {
                ++line;
                column = 1;
            } else if ((c & 0xC0) != 0x80) {
                ++column;
            }
        }
        throw InputError(m_source.file, "", std::nullopt,
                         fmt::format(fmt::runtime(_("line {}, column {} of {} \"{}\": {}")), line,
                                     column, m_source.field, m_text, problem));
    }

    void tokenize() {
        std::size_t i = 0;
        const auto n = m_text.size();
        auto is_name_start = [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        };
        auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
        while (i < n) {
            const char c = m_text[i];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                ++i;
                continue;
            }
            Token t;
            t.pos = i;
            if (is_name_start(c)) {
                std::size_t j = i;
                while (j < n && (is_name_start(m_text[j]) || is_digit(m_text[j])))
                    ++j;
                t.kind = Token::Kind::name;
                t.text = std::string(m_text.substr(i, j - i));
                t.upper = t.text;
                std::transform(
                    t.upper.begin(), t.upper.end(), t.upper.begin(),
                    [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
                i = j;
            } else if (is_digit(c) || (c == '-' && i + 1 < n && is_digit(m_text[i + 1])) ||
                       (c == '.' && i + 1 < n && is_digit(m_text[i + 1]))) {
                std::size_t j = i + 1;
                while (j < n && (is_digit(m_text[j]) || m_text[j] == '.'))
                    ++j;
                if (j < n && (m_text[j] == 'e' || m_text[j] == 'E')) {
                    std::size_t k = j + 1;
                    if (k < n && (m_text[k] == '+' || m_text[k] == '-'))
                        ++k;
                    if (k < n && is_digit(m_text[k])) {
                        while (k < n && is_digit(m_text[k]))
                            ++k;
                        j = k;
                    }
                }
                t.kind = Token::Kind::number;
                t.text = std::string(m_text.substr(i, j - i));
                const auto [ptr, ec] =
                    std::from_chars(m_text.data() + i, m_text.data() + j, t.number);
                if (ec != std::errc() || ptr != m_text.data() + j || !std::isfinite(t.number))
                    fail(i, fmt::format(fmt::runtime(_("'{}' is not a number")), t.text));
                if (j < n && is_name_start(m_text[j]))
                    fail(i, fmt::format(fmt::runtime(_("'{}' is not a number")),
                                        m_text.substr(i, j + 1 - i)));
                i = j;
            } else if (c == '\'') {
                std::string s;
                std::size_t j = i + 1;
                for (;;) {
                    if (j >= n)
                        fail(i, _("a text value in quotes is not closed with '"));
                    if (m_text[j] == '\'') {
                        if (j + 1 < n && m_text[j + 1] == '\'') {
                            s += '\'';
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    s += m_text[j++];
                }
                t.kind = Token::Kind::text;
                t.text = std::move(s);
                i = j + 1;
            } else if (c == '(') {
                t.kind = Token::Kind::lparen;
                t.text = "(";
                ++i;
            } else if (c == ')') {
                t.kind = Token::Kind::rparen;
                t.text = ")";
                ++i;
            } else if (c == ',') {
                t.kind = Token::Kind::comma;
                t.text = ",";
                ++i;
            } else if (c == '=' || c == '<' || c == '>' || c == '!') {
                std::size_t j = i + 1;
                if (j < n && (m_text[j] == '=' || (c == '<' && m_text[j] == '>')))
                    ++j;
                t.kind = Token::Kind::op;
                t.text = std::string(m_text.substr(i, j - i));
                if (t.text == "!" || t.text == "==")
                    fail(i,
                         fmt::format(fmt::runtime(_("'{}' is not an operator; use = <> < <= > >=")),
                                     t.text));
                i = j;
            } else if (c == '"') {
                fail(i, _("text values take single quotes: 'operating'"));
            } else {
                std::size_t j = i + 1;
                while (j < n && (static_cast<unsigned char>(m_text[j]) & 0xC0) == 0x80)
                    ++j;
                fail(i, fmt::format(fmt::runtime(_("unexpected character '{}'")),
                                    m_text.substr(i, j - i)));
            }
            m_tokens.push_back(std::move(t));
        }
        Token end;
        end.pos = n;
        end.text = _("end of the expression");
        m_tokens.push_back(std::move(end));
    }

    const Token &peek(std::size_t ahead = 0) const {
        return m_tokens[std::min(m_at + ahead, m_tokens.size() - 1)];
    }
    const Token &next() {
        const Token &t = peek();
        if (m_at < m_tokens.size() - 1)
            ++m_at;
        return t;
    }
    bool keyword(std::string_view word, std::size_t ahead = 0) const {
        return peek(ahead).kind == Token::Kind::name && peek(ahead).upper == word;
    }
    void expect(Token::Kind kind, std::string_view what) {
        if (peek().kind != kind)
            fail(peek().pos, fmt::format("expected {}, found '{}'", what, peek().text));
        next();
    }

    std::shared_ptr<const Node> parse_or() {
        auto first = parse_and();
        if (!keyword("OR"))
            return first;
        auto n = std::make_shared<Node>();
        n->kind = Node::Kind::or_;
        n->children.push_back(std::move(first));
        while (keyword("OR")) {
            next();
            n->children.push_back(parse_and());
        }
        return n;
    }

    std::shared_ptr<const Node> parse_and() {
        auto first = parse_not();
        if (!keyword("AND"))
            return first;
        auto n = std::make_shared<Node>();
        n->kind = Node::Kind::and_;
        n->children.push_back(std::move(first));
        while (keyword("AND")) {
            next();
            n->children.push_back(parse_not());
        }
        return n;
    }

    std::shared_ptr<const Node> parse_not() {
        if (keyword("NOT")) {
            next();
            auto n = std::make_shared<Node>();
            n->kind = Node::Kind::not_;
            n->children.push_back(parse_not());
            return n;
        }
        if (peek().kind == Token::Kind::lparen) {
            next();
            auto inner = parse_or();
            expect(Token::Kind::rparen, "')'");
            return inner;
        }
        return parse_predicate();
    }

    std::size_t name_slot(const std::string &name) {
        const auto it = std::find(names.begin(), names.end(), name);
        if (it != names.end())
            return static_cast<std::size_t>(it - names.begin());
        names.push_back(name);
        return names.size() - 1;
    }

    std::string valid_names() const {
        std::vector<std::string> all;
        for (const auto &a : m_scope.attributes)
            all.push_back(a.name);
        for (const auto &[name, type] : m_scope.computed)
            all.push_back(name);
        return fmt::format("{}", fmt::join(all, ", "));
    }

    std::string valid_functions() const {
        std::vector<std::string> all{"year"};
        if (has_computed("plan_year") && has_computed("plan_end") && has_computed("as_of"))
            all.emplace_back("in_period");
        for (const auto f : m_scope.functions)
            all.emplace_back(to_string(f));
        return fmt::format("{}", fmt::join(all, ", "));
    }

    bool has_computed(std::string_view name) const {
        return std::any_of(m_scope.computed.begin(), m_scope.computed.end(),
                           [&](const auto &c) { return c.first == name; });
    }

    Operand parse_operand() {
        const Token t = next();
        Operand o;
        switch (t.kind) {
        case Token::Kind::number:
            o.literal = t.number;
            return o;
        case Token::Kind::text:
            o.type = ExprType::text;
            o.literal = t.text;
            return o;
        case Token::Kind::name:
            break;
        default:
            fail(t.pos,
                 fmt::format(fmt::runtime(_("expected a name, number or 'text', found '{}'")),
                             t.text));
        }
        if (t.upper == "TRUE" || t.upper == "FALSE") {
            o.type = ExprType::boolean;
            o.literal = t.upper == "TRUE" ? 1.0 : 0.0;
            return o;
        }
        if (t.upper == "NULL")
            fail(t.pos, _("compare with NULL by IS NULL or IS NOT NULL"));
        if (peek().kind == Token::Kind::lparen)
            return parse_call(t);
        for (const auto &a : m_scope.attributes)
            if (a.name == t.text) {
                o.kind = Operand::Kind::name;
                o.slot = name_slot(a.name);
                o.attribute = &a;
                switch (a.type) {
                case ValueType::text:
                case ValueType::choice:
                    o.type = ExprType::text;
                    break;
                case ValueType::boolean:
                    o.type = ExprType::boolean;
                    break;
                default:
                    o.type = ExprType::number;
                }
                return o;
            }
        for (const auto &[name, type] : m_scope.computed)
            if (name == t.text) {
                o.kind = Operand::Kind::name;
                o.slot = name_slot(name);
                o.type = type;
                return o;
            }
        fail(t.pos, fmt::format(fmt::runtime(_("unknown name '{}' for {}; names: {}")), t.text,
                                m_scope.subject, valid_names()));
    }

    Operand parse_call(const Token &t) {
        next(); // (
        const std::string fname = t.text;
        Operand o;
        if (fname == "year") {
            auto arg = parse_operand();
            if (arg.type == ExprType::boolean)
                fail(t.pos, _("year() takes a date or a year"));
            expect(Token::Kind::rparen, "')'");
            o.kind = Operand::Kind::year;
            o.argument = std::make_shared<const Operand>(std::move(arg));
            return o;
        }
        std::optional<KindFunction> f;
        for (const auto candidate : m_scope.functions)
            if (to_string(candidate) == fname)
                f = candidate;
        if (!f) {
            const bool known = fname == "in_period" || fname == "serving_in" || fname == "cov" ||
                               fname == "covered" || fname == "nearest_m" ||
                               fname == "net_nearest_m" || fname == "within";
            fail(t.pos,
                 known ? fmt::format(fmt::runtime(_("{}() is not available for {}; functions: {}")),
                                     fname, m_scope.subject, valid_functions())
                       : fmt::format(fmt::runtime(_("unknown function '{}'; functions: {}")), fname,
                                     valid_functions()));
        }
        const Token kind = next();
        if (kind.kind != Token::Kind::name)
            fail(kind.pos,
                 fmt::format(fmt::runtime(_("{}() takes an asset kind, e.g. {}(sewage_plant)")),
                             fname, fname));
        if (std::find(m_scope.kinds.begin(), m_scope.kinds.end(), kind.text) == m_scope.kinds.end())
            fail(kind.pos,
                 fmt::format(fmt::runtime(_("unknown asset kind '{}' in {}(); kinds: {}")),
                             kind.text, fname, fmt::join(m_scope.kinds, ", ")));
        if (*f == KindFunction::net_nearest_m && kind.text == "rural_road")
            fail(kind.pos, _("net_nearest_m() has no value for rural_road (SPEC §3)"));
        expect(Token::Kind::rparen, "')'");
        const Expression::Call call{*f, kind.text};
        const auto it = std::find(calls.begin(), calls.end(), call);
        o.kind = Operand::Kind::call;
        o.slot = static_cast<std::size_t>(it - calls.begin());
        if (it == calls.end())
            calls.push_back(call);
        o.type = *f == KindFunction::covered || *f == KindFunction::within ? ExprType::boolean
                                                                           : ExprType::number;
        return o;
    }

    /// `literal` (text) read as import reads a value of `attribute`: a coded value by its
    /// choices and aliases, a yes/no by its spellings.
    ExprValue coded(const AttributeDef &attribute, const Token &literal) {
        AttributeDef def = attribute;
        def.required = false;
        const auto parsed = parse_value(def, literal.text);
        if (const auto *problem = std::get_if<std::string>(&parsed))
            fail(literal.pos, *problem);
        const auto &v = std::get<Value>(parsed);
        if (std::holds_alternative<std::monostate>(v))
            fail(literal.pos, fmt::format(fmt::runtime(_("'' is no value of {}; use {} IS NULL")),
                                          attribute.name, attribute.name));
        return to_expr_value(v);
    }

    /// Checks that `a` and `b` compare, reading a text literal against a coded or yes/no
    /// attribute as import would.
    void unify(Operand &a, Operand &b, const Token &b_token, std::size_t at) {
        if (b.kind == Operand::Kind::literal && b.type == ExprType::text && a.attribute &&
            (a.attribute->type == ValueType::choice || a.attribute->type == ValueType::boolean)) {
            b.literal = coded(*a.attribute, b_token);
            b.type = a.type;
            return;
        }
        const bool a_num = a.type != ExprType::text;
        const bool b_num = b.type != ExprType::text;
        if (a_num != b_num)
            fail(at, fmt::format(fmt::runtime(_("cannot compare {} with {}")), type_name(a.type),
                                 type_name(b.type)));
    }

    std::shared_ptr<const Node> parse_predicate() {
        const std::size_t start = peek().pos;
        // year-less shorthand: in_period(x) for the plan period up to the as-of date
        if (peek().kind == Token::Kind::name && peek().text == "in_period" &&
            peek(1).kind == Token::Kind::lparen) {
            const Token t = next();
            next();
            if (!has_computed("plan_year") || !has_computed("plan_end") || !has_computed("as_of"))
                fail(t.pos, fmt::format(fmt::runtime(_("in_period() is not available for {}")),
                                        m_scope.subject));
            auto n = std::make_shared<Node>();
            n->kind = Node::Kind::in_period;
            n->lhs = parse_operand();
            if (n->lhs.type != ExprType::number)
                fail(t.pos, "in_period() takes a year");
            expect(Token::Kind::rparen, "')'");
            n->period = {name_slot("plan_year"), name_slot("plan_end"), name_slot("as_of")};
            return n;
        }
        const Token lhs_token = peek();
        Operand lhs = parse_operand();
        auto n = std::make_shared<Node>();
        if (peek().kind == Token::Kind::op) {
            const Token op = next();
            static const std::vector<std::pair<std::string_view, CompareOp>> ops{
                {"=", CompareOp::eq}, {"<>", CompareOp::ne}, {"!=", CompareOp::ne},
                {"<", CompareOp::lt}, {"<=", CompareOp::le}, {">", CompareOp::gt},
                {">=", CompareOp::ge}};
            for (const auto &[text, value] : ops)
                if (op.text == text)
                    n->op = value;
            const Token rhs_token = peek();
            Operand rhs = parse_operand();
            if (lhs.kind == Operand::Kind::literal && rhs.kind == Operand::Kind::literal)
                fail(start, _("a comparison needs a name or function on one side"));
            unify(lhs, rhs, rhs_token, op.pos);
            unify(rhs, lhs, lhs_token, op.pos);
            n->kind = Node::Kind::compare;
            n->lhs = std::move(lhs);
            n->rhs = std::move(rhs);
            return n;
        }
        if (keyword("IS")) {
            next();
            n->kind = Node::Kind::is_null;
            if (keyword("NOT")) {
                next();
                n->negated = true;
            }
            if (!keyword("NULL"))
                fail(peek().pos, fmt::format(fmt::runtime(_("expected NULL after IS, found '{}'")),
                                             peek().text));
            next();
            n->lhs = std::move(lhs);
            return n;
        }
        if (keyword("IN") || (keyword("NOT") && keyword("IN", 1))) {
            if (keyword("NOT")) {
                next();
                n->negated = true;
            }
            next();
            expect(Token::Kind::lparen, "'(' after IN");
            for (;;) {
                const Token item_token = peek();
                Operand item = parse_operand();
                if (item.kind != Operand::Kind::literal)
                    fail(item_token.pos, _("IN (…) takes numbers or 'text' values"));
                unify(lhs, item, item_token, item_token.pos);
                n->list.push_back(item.literal);
                if (peek().kind == Token::Kind::comma) {
                    next();
                    continue;
                }
                expect(Token::Kind::rparen, "',' or ')'");
                break;
            }
            n->kind = Node::Kind::in;
            n->lhs = std::move(lhs);
            return n;
        }
        if (lhs.type != ExprType::boolean)
            fail(lhs_token.pos,
                 peek().kind == Token::Kind::end || keyword("AND") || keyword("OR") ||
                         peek().kind == Token::Kind::rparen
                     ? fmt::format(
                           fmt::runtime(
                               _("'{}' is {}, not yes/no: compare it (=, <>, <, <=, >, >=, IN, "
                                 "IS NULL)")),
                           lhs_token.text, type_name(lhs.type))
                     : fmt::format(fmt::runtime(_("expected an operator after '{}', found '{}'")),
                                   lhs_token.text, peek().text));
        if (lhs.kind == Operand::Kind::literal)
            fail(lhs_token.pos, _("a condition needs a name or function"));
        n->kind = Node::Kind::truthy;
        n->lhs = std::move(lhs);
        return n;
    }
};

} // namespace

Expression Expression::parse(std::string_view text, const ExprScope &scope,
                             const ExprSource &source) {
    Parser p(text, scope, source);
    Expression e;
    e.m_root = p.parse();
    e.m_names = std::move(p.names);
    e.m_calls = std::move(p.calls);
    e.m_text = std::string(text);
    return e;
}

const std::vector<std::string> &Expression::names() const noexcept {
    return m_names;
}

const std::vector<Expression::Call> &Expression::calls() const noexcept {
    return m_calls;
}

const std::string &Expression::text() const noexcept {
    return m_text;
}

Truth Expression::evaluate(std::span<const ExprValue> names,
                           std::span<const ExprValue> calls) const {
    if (!m_root)
        return Truth::yes;
    if (names.size() != m_names.size() || calls.size() != m_calls.size())
        throw Error(fmt::format(
            fmt::runtime(_("expression \"{}\": {} values for {} names and {} for {} calls")),
            m_text, names.size(), m_names.size(), calls.size(), m_calls.size()));
    return eval(*m_root, names, calls);
}

} // namespace qiancun
