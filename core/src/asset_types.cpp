#include "qiancun/asset_types.hpp"

#include "qiancun/error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <sstream>
#include <tuple>

#include "qiancun/i18n.hpp"

namespace qiancun {

namespace {

AttributeDef text(std::string name, std::string label, bool required = false) {
    AttributeDef a;
    a.name = std::move(name);
    a.label = std::move(label);
    a.required = required;
    return a;
}

AttributeDef number(std::string name, std::string label, ValueType type,
                    std::optional<double> min = std::nullopt,
                    std::optional<double> max = std::nullopt) {
    AttributeDef a;
    a.name = std::move(name);
    a.label = std::move(label);
    a.type = type;
    a.min_value = min;
    a.max_value = max;
    return a;
}

AttributeDef choice(std::string name, std::string label, std::vector<std::string> choices,
                    std::vector<std::pair<std::string, std::string>> aliases,
                    bool required = false) {
    AttributeDef a;
    a.name = std::move(name);
    a.label = std::move(label);
    a.type = ValueType::choice;
    a.choices = std::move(choices);
    a.aliases = std::move(aliases);
    a.required = required;
    return a;
}

AttributeDef year(std::string name, std::string label) {
    return number(std::move(name), std::move(label), ValueType::year);
}

AttributeDef boolean(std::string name, std::string label) {
    return number(std::move(name), std::move(label), ValueType::boolean);
}

/// The attributes every asset has (SPEC §2), key first.
std::vector<AttributeDef> asset_common() {
    std::vector<AttributeDef> v;
    v.push_back(text("id", "编号", true));
    v.push_back(choice("status", "状态", asset_statuses(),
                       {{"规划", "planned"},
                        {"拟建", "planned"},
                        {"计划", "planned"},
                        {"在建", "building"},
                        {"建设中", "building"},
                        {"运行", "operating"},
                        {"运行中", "operating"},
                        {"在用", "operating"},
                        {"正常", "operating"},
                        {"正常运行", "operating"},
                        {"已建成", "operating"},
                        {"改造", "renovating"},
                        {"改造中", "renovating"},
                        {"提标改造", "renovating"},
                        {"停用", "closed"},
                        {"关闭", "closed"},
                        {"废弃", "closed"}},
                       true));
    v.push_back(number("service_radius_m", "服务半径(米)", ValueType::real));
    return v;
}

/// The attributes every event has, key first.
std::vector<AttributeDef> make_event_common() {
    std::vector<AttributeDef> v;
    v.push_back(text("id", "编号", true));
    v.push_back(text("asset_id", "设施编号", true));
    AttributeDef date;
    date.name = "date";
    date.label = "日期";
    date.type = ValueType::date;
    date.required = true;
    v.push_back(std::move(date));
    v.push_back(choice("result", "结果", {"pass", "fail"},
                       {{"达标", "pass"},
                        {"合格", "pass"},
                        {"通过", "pass"},
                        {"正常", "pass"},
                        {"不达标", "fail"},
                        {"超标", "fail"},
                        {"不合格", "fail"},
                        {"未通过", "fail"},
                        {"异常", "fail"}},
                       true));
    v.push_back(text("agency", "检测单位"));
    return v;
}

const std::vector<std::pair<std::string, std::string>> kLevelAliases{
    {"县级", "county"},   {"县", "county"},     {"乡镇级", "township"}, {"镇级", "township"},
    {"乡级", "township"}, {"乡镇", "township"}, {"村级", "village"},    {"村", "village"}};

KindDef make_asset(std::string key, std::string label, GeometryKind geometry,
                   std::vector<AttributeDef> extra, double radius_m, std::string basis) {
    KindDef k;
    k.key = std::move(key);
    k.label = std::move(label);
    k.role = KindRole::asset;
    k.geometry = geometry;
    k.attributes = asset_common();
    for (auto &a : extra)
        k.attributes.push_back(std::move(a));
    k.default_radius_m = radius_m;
    k.radius_basis = std::move(basis);
    k.gap_threshold = 0.9;
    return k;
}

std::vector<KindDef> make_builtin_kinds() {
    std::vector<KindDef> kinds;

    KindDef village;
    village.key = "village";
    village.label = "行政村";
    village.role = KindRole::village;
    village.geometry = GeometryKind::polygon;
    AttributeDef code = text("code", "行政区划代码", true);
    village.attributes = {
        code,
        text("name", "村名"),
        text("township", "乡镇"),
        number("population", "人口", ValueType::integer, 0.0),
        number("households", "户数", ValueType::integer, 0.0),
        choice("class", "村庄分类", {"suburban", "cluster", "improve", "heritage", "relocate"},
               {{"城郊融合类", "suburban"},
                {"城郊融合", "suburban"},
                {"集聚建设类", "cluster"},
                {"集聚提升类", "cluster"},
                {"集聚建设", "cluster"},
                {"整治提升类", "improve"},
                {"整治提升", "improve"},
                {"特色保护类", "heritage"},
                {"特色保护", "heritage"},
                {"搬迁撤并类", "relocate"},
                {"搬迁撤并", "relocate"}}),
        boolean("heritage", "历史文化(传统)村落"),
        year("hemei_year", "和美乡村验收年份"),
        number("seat_x", "村委会X", ValueType::real),
        number("seat_y", "村委会Y", ValueType::real),
    };
    kinds.push_back(std::move(village));

    KindDef settlement;
    settlement.key = "settlement";
    settlement.label = "自然村/居民点";
    settlement.role = KindRole::settlement;
    settlement.geometry = GeometryKind::point;
    settlement.attributes = {text("id", "编号", true), text("name", "名称"),
                             number("population", "人口", ValueType::integer, 0.0)};
    kinds.push_back(std::move(settlement));

    KindDef urban;
    urban.key = "urban";
    urban.label = "城镇建成区";
    urban.role = KindRole::area;
    urban.geometry = GeometryKind::polygon;
    urban.attributes = {text("id", "编号", true), text("name", "名称")};
    kinds.push_back(std::move(urban));

    KindDef hazard;
    hazard.key = "hazard";
    hazard.label = "灾害风险区";
    hazard.role = KindRole::area;
    hazard.geometry = GeometryKind::polygon;
    hazard.attributes = {text("id", "编号", true), text("name", "名称"),
                         text("hazard_type", "灾害类型")};
    kinds.push_back(std::move(hazard));

    kinds.push_back(make_asset(
        "sewage_plant", "农村生活污水处理设施", GeometryKind::point,
        {text("name", "名称"), number("capacity_m3d", "处理规模(吨/日)", ValueType::real, 0.0),
         boolean("effluent_ok", "出水达标"), year("built_year", "建成年份"),
         year("renovated_year", "改造年份")},
        1000.0, "planning assumption: a village treatment terminal serves about 1 km of pipes"));
    kinds.push_back(
        make_asset("rural_road", "农村公路", GeometryKind::line,
                   {choice("grade", "等级", {"county", "township", "village"},
                           {{"县道", "county"}, {"乡道", "township"}, {"村道", "village"}}),
                    choice("surface", "路面", {"hardened", "gravel", "earth"},
                           {{"硬化", "hardened"},
                            {"水泥", "hardened"},
                            {"沥青", "hardened"},
                            {"砂石", "gravel"},
                            {"土路", "earth"},
                            {"泥结", "earth"}}),
                    year("built_year", "建成年份"), year("maintained_year", "养护年份")},
                   500.0, "planning assumption: access corridor of 500 m each side"));
    kinds.push_back(make_asset(
        "base_station_5g", "5G 基站", GeometryKind::point,
        {choice("band", "频段(MHz)", {"700", "2600", "3500", "4900"},
                {{"700MHz", "700"},
                 {"2600MHz", "2600"},
                 {"3500MHz", "3500"},
                 {"4900MHz", "4900"},
                 {"2.6G", "2600"},
                 {"3.5G", "3500"},
                 {"4.9G", "4900"}}),
         text("operator", "运营商")},
        1500.0,
        "planning assumption: rural 2.6/3.5 GHz macro cell (700 MHz coverage layer: 5000 m)"));
    kinds.push_back(
        make_asset("cultural_hall", "农村文化礼堂", GeometryKind::point_or_polygon,
                   {text("name", "名称"), number("stars", "星级", ValueType::integer, 1.0, 5.0)},
                   1000.0, "planning assumption: a 15-minute walk"));
    kinds.push_back(
        make_asset("courier_station", "村级寄递物流综合服务站", GeometryKind::point,
                   {text("name", "名称"),
                    choice("level", "层级", {"county", "township", "village"}, kLevelAliases),
                    text("operator", "运营主体")},
                   2000.0, "planning assumption: village courier catchment"));
    return kinds;
}

std::string trim(std::string_view s) {
    auto is_space = [](unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && is_space(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && is_space(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    // A full-width space (U+3000) is common padding in Chinese spreadsheets.
    while (s.size() >= 3 && s.substr(0, 3) == "\xE3\x80\x80")
        s.remove_prefix(3);
    while (s.size() >= 3 && s.substr(s.size() - 3) == "\xE3\x80\x80")
        s.remove_suffix(3);
    return std::string(s);
}

std::string lower_ascii(std::string s) {
    for (auto &c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::optional<double> parse_double(const std::string &s) {
    double v = 0.0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v))
        return std::nullopt;
    return v;
}

/// A calendar day written YYYY-MM-DD, YYYY/M/D, YYYY.M.D or YYYY年M月D日 (what spreadsheets and
/// departments write; GDAL gives an XLSX date cell as YYYY/MM/DD), optionally followed by a time
/// of day after a space or T (a date-time cell), as YYYY-MM-DD; nothing when it is not a valid
/// day of a year 1900-2100.
std::optional<std::string> parse_date(const std::string &s) {
    std::size_t i = 0;
    auto digits = [&](std::size_t most) -> std::optional<unsigned> {
        const std::size_t start = i;
        while (i < s.size() && i - start < most && s[i] >= '0' && s[i] <= '9')
            ++i;
        if (i == start)
            return std::nullopt;
        return static_cast<unsigned>(std::stoul(s.substr(start, i - start)));
    };
    auto separator = [&](std::string_view chinese) {
        if (i < s.size() && (s[i] == '-' || s[i] == '/' || s[i] == '.')) {
            const char c = s[i++];
            return std::string(1, c);
        }
        if (s.compare(i, chinese.size(), chinese) == 0) {
            i += chinese.size();
            return std::string(chinese);
        }
        return std::string();
    };
    const std::size_t year_start = i;
    const auto y = digits(4);
    if (!y || i - year_start != 4)
        return std::nullopt;
    const std::string first = separator("年");
    const auto m = first.empty() ? std::nullopt : digits(2);
    const std::string second = separator(first == "年" ? "月" : first);
    if (!m || second.empty() || (first == "年") != (second == "月") ||
        (first != "年" && first != second))
        return std::nullopt;
    const auto d = digits(2);
    if (!d)
        return std::nullopt;
    if (first == "年" && s.compare(i, std::string_view("日").size(), "日") == 0)
        i += std::string_view("日").size();
    if (i < s.size() && s[i] != ' ' && s[i] != 'T')
        return std::nullopt;
    if (i < s.size()) {
        // Only a time of day may follow: digits and colons (and a fraction).
        const auto rest = s.substr(i + 1);
        if (rest.empty() || !std::all_of(rest.begin(), rest.end(), [](char c) {
                return (c >= '0' && c <= '9') || c == ':' || c == '.';
            }))
            return std::nullopt;
    }
    const std::chrono::year_month_day ymd{std::chrono::year{static_cast<int>(*y)},
                                          std::chrono::month{*m}, std::chrono::day{*d}};
    if (!ymd.ok() || *y < 1900 || *y > 2100)
        return std::nullopt;
    return fmt::format("{:04}-{:02}-{:02}", *y, *m, *d);
}

std::string format_bound(double v) {
    return value_to_text(Value{v});
}

std::optional<std::string> check_range(const AttributeDef &def, double v) {
    if (def.min_value && v < *def.min_value)
        return fmt::format(fmt::runtime(_("{} {} is below the minimum {}")), def.name,
                           format_bound(v), format_bound(*def.min_value));
    if (def.max_value && v > *def.max_value)
        return fmt::format(fmt::runtime(_("{} {} is above the maximum {}")), def.name,
                           format_bound(v), format_bound(*def.max_value));
    return std::nullopt;
}

GeometryKind parse_geometry_kind(const std::string &s, std::string_view origin,
                                 const std::string &key) {
    if (s == "point")
        return GeometryKind::point;
    if (s == "line")
        return GeometryKind::line;
    if (s == "polygon")
        return GeometryKind::polygon;
    if (s == "point_or_polygon")
        return GeometryKind::point_or_polygon;
    throw InputError(
        std::string(origin), "", std::nullopt,
        fmt::format(fmt::runtime(_("asset type '{}': geometry '{}' is not one of point, line, "
                                   "polygon, point_or_polygon")),
                    key, s));
}

/// `event`: the attribute is an event type's (`[event_types.<key>]`), and the message says so.
ValueType parse_value_type(const std::string &s, std::string_view origin, const std::string &key,
                           bool event) {
    for (auto t : {ValueType::text, ValueType::integer, ValueType::real, ValueType::boolean,
                   ValueType::year, ValueType::choice, ValueType::date})
        if (to_string(t) == s)
            return t;
    throw InputError(
        std::string(origin), "", std::nullopt,
        fmt::format(fmt::runtime(event ? _("event type '{}': attribute type '{}' is not one of "
                                           "text, integer, real, boolean, year, choice, date")
                                       : _("asset type '{}': attribute type '{}' is not one of "
                                           "text, integer, real, boolean, year, choice, date")),
                    key, s));
}

bool is_identifier(std::string_view s) {
    if (s.empty() || s.size() > 40 || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

} // namespace

const std::vector<std::string> &reserved_table_names() {
    static const std::vector<std::string> names{
        // qiancun's own tables
        "meta", "import_log", "status_history", "result_layers", "layer_styles",
        // result layers that commands replace on every run
        "village_metrics", "village_classes", "route", "gaps_*", "service_area_*", "sites_*",
        // SpatiaLite's metadata (InitSpatialMetaData) and virtual tables
        "spatial_ref_sys*", "spatialite_history", "sql_statements_log", "geometry_columns*",
        "views_geometry_columns*", "virts_geometry_columns*", "geom_cols_ref_sys", "vector_layers*",
        "data_licenses", "knn", "knn2", "spatialindex", "elementarygeometries", "raster_coverages*",
        "vector_coverages*", "topologies", "networks", "iso_metadata*", "rl2map_configurations*",
        "se_*", "wms_*", "stored_procedures", "stored_variables",
        // spatial index tables and SQLite's own
        "idx_*", "sqlite_*"};
    return names;
}

bool is_reserved_table_name(std::string_view key) {
    const std::string k = lower_ascii(std::string(key));
    for (const auto &n : reserved_table_names()) {
        if (n.ends_with('*') ? k.starts_with(std::string_view(n).substr(0, n.size() - 1)) : k == n)
            return true;
    }
    return false;
}

int KindDef::attribute_index(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < attributes.size(); ++i)
        if (attributes[i].name == name)
            return static_cast<int>(i);
    return -1;
}

std::string message_name(const KindDef &kind) {
    return message_name(kind.key, kind.label);
}

std::string message_name(const AttributeDef &attribute) {
    return message_name(attribute.name, attribute.label);
}

std::string choice_label(const AttributeDef &attribute, std::string_view choice) {
    for (const auto &[alias, value] : attribute.aliases)
        if (value == choice && std::any_of(alias.begin(), alias.end(), [](char c) {
                return static_cast<unsigned char>(c) >= 0x80;
            }))
            return alias;
    return std::string(choice);
}

const std::vector<std::string> &asset_statuses() {
    static const std::vector<std::string> statuses{"planned", "building", "operating", "renovating",
                                                   "closed"};
    return statuses;
}

const std::vector<KindDef> &builtin_kinds() {
    static const std::vector<KindDef> kinds = make_builtin_kinds();
    return kinds;
}

std::string_view to_string(ValueType t) noexcept {
    switch (t) {
    case ValueType::text:
        return "text";
    case ValueType::integer:
        return "integer";
    case ValueType::real:
        return "real";
    case ValueType::boolean:
        return "boolean";
    case ValueType::year:
        return "year";
    case ValueType::choice:
        return "choice";
    case ValueType::date:
        return "date";
    }
    return "text";
}

std::string_view to_string(GeometryKind g) noexcept {
    switch (g) {
    case GeometryKind::point:
        return "point";
    case GeometryKind::line:
        return "line";
    case GeometryKind::polygon:
        return "polygon";
    case GeometryKind::point_or_polygon:
        return "point_or_polygon";
    case GeometryKind::none:
        return "none";
    }
    return "point";
}

std::string value_to_text(const Value &v) {
    if (std::holds_alternative<std::int64_t>(v))
        return std::to_string(std::get<std::int64_t>(v));
    if (std::holds_alternative<double>(v)) {
        // Shortest representation that round-trips, as a person would write it.
        return fmt::format("{}", std::get<double>(v));
    }
    if (std::holds_alternative<std::string>(v))
        return std::get<std::string>(v);
    return {};
}

std::variant<Value, std::string> parse_value(const AttributeDef &def, std::string_view raw) {
    const std::string s = trim(raw);
    if (s.empty()) {
        if (def.required)
            return fmt::format(fmt::runtime(_("{} is empty")), def.name);
        return Value{};
    }
    switch (def.type) {
    case ValueType::text:
        return Value{s};
    case ValueType::integer: {
        auto d = parse_double(s);
        if (!d || std::floor(*d) != *d || std::fabs(*d) > 9.0e15)
            return fmt::format(fmt::runtime(_("{} '{}' is not an integer")), def.name, s);
        if (auto problem = check_range(def, *d))
            return *problem;
        return Value{static_cast<std::int64_t>(*d)};
    }
    case ValueType::real: {
        auto d = parse_double(s);
        if (!d)
            return fmt::format(fmt::runtime(_("{} '{}' is not a number")), def.name, s);
        if (auto problem = check_range(def, *d))
            return *problem;
        return Value{*d};
    }
    case ValueType::year: {
        auto d = parse_double(s);
        if (!d || std::floor(*d) != *d)
            return fmt::format(fmt::runtime(_("{} '{}' is not a year")), def.name, s);
        if (*d < 1900 || *d > 2100)
            return fmt::format(fmt::runtime(_("{} {} is not a year between 1900 and 2100")),
                               def.name, s);
        return Value{static_cast<std::int64_t>(*d)};
    }
    case ValueType::boolean: {
        const std::string l = lower_ascii(s);
        static const std::vector<std::string> yes{"1", "true", "t",    "yes",
                                                  "y", "是",   "达标", "合格"};
        static const std::vector<std::string> no{"0", "false", "f",      "no",
                                                 "n", "否",    "不达标", "不合格"};
        if (std::find(yes.begin(), yes.end(), l) != yes.end())
            return Value{std::int64_t{1}};
        if (std::find(no.begin(), no.end(), l) != no.end())
            return Value{std::int64_t{0}};
        return fmt::format(
            fmt::runtime(_("{} '{}' is not a yes/no value (1/0, true/false, 是/否)")), def.name, s);
    }
    case ValueType::date: {
        if (auto d = parse_date(s))
            return Value{*d};
        return fmt::format(fmt::runtime(_("{} '{}' is not a date (YYYY-MM-DD)")), def.name, s);
    }
    case ValueType::choice: {
        const std::string l = lower_ascii(s);
        for (const auto &c : def.choices)
            if (c == l)
                return Value{c};
        for (const auto &[alias, c] : def.aliases)
            if (alias == s || lower_ascii(alias) == l)
                return Value{c};
        // Numeric choices (5G band) match as numbers: "700.0" is 700.
        if (auto d = parse_double(s)) {
            for (const auto &c : def.choices)
                if (auto cd = parse_double(c); cd && *cd == *d)
                    return Value{c};
        }
        std::string allowed;
        for (const auto &c : def.choices)
            allowed += (allowed.empty() ? "" : ", ") + c;
        return fmt::format(fmt::runtime(_("{} '{}' is not one of {}")), def.name, s, allowed);
    }
    }
    return Value{s};
}

std::vector<AttributeDef> event_common() {
    return make_event_common();
}

std::vector<KindDef> parse_kinds_toml(std::string_view toml_text, std::string_view origin,
                                      bool allow_reserved) {
    toml::table doc;
    try {
        doc = toml::parse(toml_text, origin);
    } catch (const toml::parse_error &e) {
        const auto &where = e.source().begin;
        throw InputError(std::string(origin), "", std::nullopt,
                         fmt::format(fmt::runtime(_("line {}, column {}: {}")), where.line,
                                     where.column, e.description()));
    }
    std::vector<KindDef> kinds;
    auto fail = [&](const std::string &msg) -> InputError {
        return InputError(std::string(origin), "", std::nullopt, msg);
    };
    // One message of each section, whole sentences for the catalogue: `event` picks the
    // [event_types] one over the [asset_types] one.
    auto pick = [](bool event, const char *asset_msg, const char *event_msg) {
        return fmt::runtime(event ? event_msg : asset_msg);
    };
    // The key checks of both sections.
    auto check_key = [&](const std::string &key, bool event) {
        if (!is_identifier(key))
            throw fail(fmt::format(pick(event,
                                        _("asset type key '{}' must be lower-case ASCII letters, "
                                          "digits and _ starting with a letter"),
                                        _("event type key '{}' must be lower-case ASCII letters, "
                                          "digits and _ starting with a letter")),
                                   key));
        for (const auto &b : builtin_kinds())
            if (b.key == key)
                throw fail(fmt::format(
                    pick(event, _("asset type '{}' is built in and cannot be redefined"),
                         _("event type '{}' is built in and cannot be redefined")),
                    key));
        for (const auto &k : kinds)
            if (k.key == key)
                throw fail(
                    fmt::format(pick(event, _("asset type '{}': the key is already an asset type"),
                                     _("event type '{}': the key is already an asset type")),
                                key));
        if (!allow_reserved && is_reserved_table_name(key)) {
            std::string names;
            for (const auto &n : reserved_table_names())
                names += (names.empty() ? "" : ", ") + n;
            throw fail(fmt::format(
                pick(event,
                     _("asset type key '{}' is reserved: it would share its table with the "
                       "registry's own data or a result layer; reserved names (* = any "
                       "ending): {}"),
                     _("event type key '{}' is reserved: it would share its table with the "
                       "registry's own data or a result layer; reserved names (* = any "
                       "ending): {}")),
                key, names));
        }
    };
    // The configured attributes of `t`, after the common ones `k` already has.
    auto read_attributes = [&](const toml::table &t, KindDef &k, bool event) {
        const auto *attrs = t["attributes"].as_array();
        if (!attrs)
            return;
        for (const auto &a : *attrs) {
            const auto *at = a.as_table();
            if (!at)
                throw fail(
                    fmt::format(pick(event, _("asset type '{}': each attribute must be a table"),
                                     _("event type '{}': each attribute must be a table")),
                                k.key));
            AttributeDef def;
            def.name = (*at)["name"].value_or(std::string());
            if (!is_identifier(def.name))
                throw fail(fmt::format(
                    pick(event, _("asset type '{}': attribute name '{}' must be lower-case ASCII"),
                         _("event type '{}': attribute name '{}' must be lower-case ASCII")),
                    k.key, def.name));
            if (k.attribute_index(def.name) >= 0 || def.name == "village_code" ||
                def.name == "source_file" || def.name == "source_row" || def.name == "updated_at" ||
                def.name == "geom" || def.name == "footprint" || def.name == "fid")
                throw fail(fmt::format(
                    pick(event, _("asset type '{}': attribute '{}' is defined twice or reserved"),
                         _("event type '{}': attribute '{}' is defined twice or reserved")),
                    k.key, def.name));
            def.type =
                parse_value_type((*at)["type"].value_or(std::string("text")), origin, k.key, event);
            def.label = (*at)["label"].value_or(def.name);
            def.required = (*at)["required"].value_or(false);
            if (auto v = (*at)["min"].value<double>())
                def.min_value = *v;
            if (auto v = (*at)["max"].value<double>())
                def.max_value = *v;
            if (const auto *ch = (*at)["choices"].as_array())
                for (const auto &c : *ch)
                    if (auto cs = c.value<std::string>())
                        def.choices.push_back(*cs);
            if (def.type == ValueType::choice && def.choices.empty())
                throw fail(fmt::format(
                    pick(event, _("asset type '{}': choice attribute '{}' needs choices"),
                         _("event type '{}': choice attribute '{}' needs choices")),
                    k.key, def.name));
            if (const auto *al = (*at)["aliases"].as_table())
                for (const auto &[ak, av] : *al)
                    if (auto avs = av.value<std::string>())
                        def.aliases.emplace_back(std::string(ak.str()), *avs);
            k.attributes.push_back(std::move(def));
        }
    };
    if (const auto *types = doc["asset_types"].as_table()) {
        for (const auto &[key_node, node] : *types) {
            const std::string key(key_node.str());
            const auto *t = node.as_table();
            if (!t)
                throw fail(fmt::format(fmt::runtime(_("asset_types.{} must be a table")), key));
            check_key(key, false);
            KindDef k;
            k.key = key;
            k.builtin = false;
            k.role = KindRole::asset;
            k.label = (*t)["label"].value_or(key);
            k.geometry =
                parse_geometry_kind((*t)["geometry"].value_or(std::string("point")), origin, key);
            if (auto r = (*t)["default_radius_m"].value<double>()) {
                if (!(*r > 0.0))
                    throw fail(fmt::format(
                        fmt::runtime(_("asset type '{}': default_radius_m must be positive")),
                        key));
                k.default_radius_m = *r;
            }
            k.radius_basis = (*t)["radius_basis"].value_or(std::string());
            k.gap_threshold = (*t)["gap_threshold"].value_or(0.9);
            k.attributes = asset_common();
            read_attributes(*t, k, false);
            kinds.push_back(std::move(k));
        }
    }
    if (const auto *types = doc["event_types"].as_table()) {
        for (const auto &[key_node, node] : *types) {
            const std::string key(key_node.str());
            const auto *t = node.as_table();
            if (!t)
                throw fail(fmt::format(fmt::runtime(_("event_types.{} must be a table")), key));
            check_key(key, true);
            for (const auto &[field, value] : *t) {
                const std::string f(field.str());
                if (f != "label" && f != "asset_kind" && f != "attributes")
                    throw fail(fmt::format(
                        fmt::runtime(_("event type '{}': unknown key '{}' (line {}); keys: "
                                       "label, asset_kind, attributes")),
                        key, f, value.source().begin.line));
            }
            KindDef k;
            k.key = key;
            k.builtin = false;
            k.role = KindRole::event;
            k.geometry = GeometryKind::none;
            k.label = (*t)["label"].value_or(key);
            k.asset_kind = (*t)["asset_kind"].value_or(std::string());
            if (!is_identifier(k.asset_kind))
                throw fail(fmt::format(
                    fmt::runtime(_("event type '{}' needs asset_kind, the asset kind its "
                                   "records are about (e.g. asset_kind = \"sewage_plant\")")),
                    key));
            k.attributes = event_common();
            read_attributes(*t, k, true);
            kinds.push_back(std::move(k));
        }
    }
    return kinds;
}

namespace {

/// An attribute's definition as types files write it, all but its name (the asset types give
/// it as `name`, [village_attributes] as the key).
toml::table attribute_table(const AttributeDef &a) {
    toml::table at;
    at.insert("type", std::string(to_string(a.type)));
    if (a.label != a.name)
        at.insert("label", a.label);
    if (a.required)
        at.insert("required", true);
    if (a.min_value)
        at.insert("min", *a.min_value);
    if (a.max_value)
        at.insert("max", *a.max_value);
    if (!a.choices.empty()) {
        toml::array ch;
        for (const auto &c : a.choices)
            ch.push_back(c);
        at.insert("choices", ch);
    }
    if (!a.aliases.empty()) {
        toml::table al;
        for (const auto &[from, to] : a.aliases)
            al.insert(from, to);
        al.is_inline(true);
        at.insert("aliases", std::move(al));
    }
    return at;
}

} // namespace

std::string kinds_to_toml(const std::vector<KindDef> &kinds) {
    toml::table root;
    toml::table types;
    toml::table events;
    for (const auto &k : kinds) {
        if (k.builtin)
            continue;
        toml::table t;
        t.insert("label", k.label);
        if (k.is_event())
            t.insert("asset_kind", k.asset_kind);
        else
            t.insert("geometry", std::string(to_string(k.geometry)));
        if (k.default_radius_m)
            t.insert("default_radius_m", *k.default_radius_m);
        if (!k.radius_basis.empty())
            t.insert("radius_basis", k.radius_basis);
        if (k.gap_threshold)
            t.insert("gap_threshold", *k.gap_threshold);
        toml::array attrs;
        const auto common = k.is_event() ? event_common().size() : asset_common().size();
        for (std::size_t i = common; i < k.attributes.size(); ++i) {
            const auto &a = k.attributes[i];
            auto at = attribute_table(a);
            at.insert("name", a.name);
            attrs.push_back(std::move(at));
        }
        t.insert("attributes", attrs);
        (k.is_event() ? events : types).insert(k.key, std::move(t));
    }
    root.insert("asset_types", std::move(types));
    if (!events.empty())
        root.insert("event_types", std::move(events));
    std::ostringstream out;
    out << root;
    return out.str();
}

std::size_t builtin_village_attribute_count() {
    for (const auto &k : builtin_kinds())
        if (k.role == KindRole::village)
            return k.attributes.size();
    return 0;
}

std::vector<AttributeDef> parse_village_attributes_toml(std::string_view toml_text,
                                                        std::string_view origin) {
    toml::table doc;
    try {
        doc = toml::parse(toml_text, std::string(origin));
    } catch (const toml::parse_error &e) {
        const auto &where = e.source().begin;
        throw InputError(std::string(origin), "", std::nullopt,
                         fmt::format(fmt::runtime(_("line {}, column {}: {}")), where.line,
                                     where.column, e.description()));
    }
    std::vector<AttributeDef> out;
    const auto &node = doc["village_attributes"];
    if (!node)
        return out;
    auto fail = [&](const toml::node &at, const std::string &msg) -> InputError {
        return InputError(std::string(origin), "", std::nullopt,
                          fmt::format(fmt::runtime(_("line {}: [village_attributes] {}")),
                                      at.source().begin.line, msg));
    };
    const auto *attrs = node.as_table();
    if (!attrs)
        throw fail(*node.node(), _("must be a table of attributes: name = { type = \"year\", "
                                   "label = \"…\" }"));
    const KindDef *village = nullptr;
    for (const auto &k : builtin_kinds())
        if (k.role == KindRole::village)
            village = &k;
    static const std::vector<std::string> reserved{"fid",         "geom",       "village_code",
                                                   "source_file", "source_row", "updated_at"};
    static const std::vector<std::string> known{"type", "label",   "required", "min",
                                                "max",  "choices", "aliases"};
    // In the order the file writes them (a toml::table iterates by key): the columns follow it.
    std::vector<std::pair<const toml::key *, const toml::node *>> entries;
    for (const auto &[key, value] : *attrs)
        entries.emplace_back(&key, &value);
    std::sort(entries.begin(), entries.end(), [](const auto &a, const auto &b) {
        const auto &x = a.first->source().begin;
        const auto &y = b.first->source().begin;
        return std::tie(x.line, x.column) < std::tie(y.line, y.column);
    });
    for (const auto &[key_at, value_at] : entries) {
        const toml::key &key = *key_at;
        const toml::node &value = *value_at;
        AttributeDef def;
        def.name = std::string(key.str());
        const auto *t = value.as_table();
        if (!t)
            throw fail(value,
                       fmt::format(fmt::runtime(_("{} must be a table: {} = {{ type = \"year\", "
                                                  "label = \"…\" }}")),
                                   def.name, def.name));
        if (!is_identifier(def.name))
            throw fail(value,
                       fmt::format(fmt::runtime(_("attribute name '{}' must be lower-case ASCII "
                                                  "letters, digits and _ starting with a "
                                                  "letter")),
                                   def.name));
        if ((village && village->attribute_index(def.name) >= 0) ||
            std::find(reserved.begin(), reserved.end(), def.name) != reserved.end())
            throw fail(
                value,
                fmt::format(fmt::runtime(_("'{}' is a built-in village attribute or reserved")),
                            def.name));
        for (const auto &[field, v] : *t)
            if (std::find(known.begin(), known.end(), std::string(field.str())) == known.end())
                throw fail(v, fmt::format(fmt::runtime(_("{}: unknown key '{}'; known: {}")),
                                          def.name, field.str(),
                                          "type, label, required, min, max, choices, aliases"));
        // The type names of asset attributes, and the short ones a spreadsheet user writes.
        std::string type = (*t)["type"].value_or(std::string("text"));
        if (type == "int")
            type = "integer";
        else if (type == "bool")
            type = "boolean";
        bool found = false;
        for (auto vt : {ValueType::text, ValueType::integer, ValueType::real, ValueType::boolean,
                        ValueType::year, ValueType::choice})
            if (to_string(vt) == type) {
                def.type = vt;
                found = true;
            }
        if (!found)
            throw fail(value, fmt::format(
                                  fmt::runtime(_("{}: type '{}' is not one of text, integer (int), "
                                                 "real, boolean (bool), year, choice")),
                                  def.name, type));
        def.label = (*t)["label"].value_or(def.name);
        def.required = (*t)["required"].value_or(false);
        if (auto v = (*t)["min"].value<double>())
            def.min_value = *v;
        if (auto v = (*t)["max"].value<double>())
            def.max_value = *v;
        if (const auto *ch = (*t)["choices"].as_array())
            for (const auto &c : *ch) {
                const auto cs = c.value<std::string>();
                if (!cs || !is_identifier(*cs))
                    throw fail(
                        c, fmt::format(fmt::runtime(_("{}: a choice must be a lower-case ASCII key "
                                                      "(aliases give other spellings)")),
                                       def.name));
                def.choices.push_back(*cs);
            }
        if (def.type == ValueType::choice && def.choices.empty())
            throw fail(value, fmt::format(fmt::runtime(_("{}: a choice attribute needs choices")),
                                          def.name));
        if (def.type != ValueType::choice && !def.choices.empty())
            throw fail(value, fmt::format(fmt::runtime(_("{}: choices need type = \"choice\"")),
                                          def.name));
        if (const auto *al = (*t)["aliases"].as_table())
            for (const auto &[ak, av] : *al) {
                const auto avs = av.value<std::string>();
                if (!avs ||
                    std::find(def.choices.begin(), def.choices.end(), *avs) == def.choices.end())
                    throw fail(
                        av, fmt::format(
                                fmt::runtime(_("{}: alias '{}' must name one of the choices ({})")),
                                def.name, ak.str(), fmt::join(def.choices, ", ")));
                def.aliases.emplace_back(std::string(ak.str()), *avs);
            }
        out.push_back(std::move(def));
    }
    return out;
}

std::string village_attributes_to_toml(const std::vector<AttributeDef> &attributes) {
    // One inline table a line, in the attributes' order (a toml::table would sort them).
    std::ostringstream out;
    out << "[village_attributes]\n";
    for (const auto &a : attributes) {
        auto at = attribute_table(a);
        at.is_inline(true);
        toml::table line;
        line.insert(a.name, std::move(at));
        out << line << "\n";
    }
    return out.str();
}

std::vector<AttributeDef> configured_village_attributes(const KindDef &village) {
    const std::size_t builtin = builtin_village_attribute_count();
    if (village.attributes.size() <= builtin)
        return {};
    return {village.attributes.begin() + static_cast<std::ptrdiff_t>(builtin),
            village.attributes.end()};
}

std::vector<KindDef> with_village_attributes(std::vector<KindDef> kinds,
                                             std::string_view stored_toml,
                                             std::string_view origin) {
    if (stored_toml.empty())
        return kinds;
    const auto attributes = parse_village_attributes_toml(stored_toml, origin);
    for (auto &k : kinds)
        if (k.role == KindRole::village)
            k.attributes.insert(k.attributes.end(), attributes.begin(), attributes.end());
    return kinds;
}

} // namespace qiancun
