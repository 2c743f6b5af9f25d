#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

/// The kinds of things the registry holds: the village and settlement entities, the urban
/// area and hazard zones, and the asset types (five built in, more from configuration).

namespace qiancun {

/// A typed attribute value; monostate is NULL/empty.
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

/// `date` is a calendar day, stored as text YYYY-MM-DD.
enum class ValueType { text, integer, real, boolean, year, choice, date };

/// One attribute column of a kind.
struct AttributeDef {
    std::string name; ///< column name, snake_case ASCII
    ValueType type = ValueType::text;
    std::vector<std::string> choices;                         ///< allowed values for `choice`
    std::vector<std::pair<std::string, std::string>> aliases; ///< other spellings → choice,
                                                              ///< e.g. "运行" → "operating"
    bool required = false;                                    ///< empty is an error
    std::optional<double> min_value; ///< inclusive bounds for integer and real
    std::optional<double> max_value;
    std::string label; ///< human name (may be Chinese)
};

/// `none`: a table without geometry (dated events).
enum class GeometryKind { point, line, polygon, point_or_polygon, none };

/// `event`: dated records about assets of one kind (water tests, inspections), no geometry.
enum class KindRole { village, settlement, area, asset, event };

/// One layer of the registry.
struct KindDef {
    std::string key;   ///< table and layer name: "village", "sewage_plant", "clinic"
    std::string label; ///< human name, e.g. "农村生活污水处理设施"
    KindRole role = KindRole::asset;
    GeometryKind geometry = GeometryKind::point;
    std::vector<AttributeDef> attributes; ///< every column but geometry and bookkeeping,
                                          ///< the key field first
    bool builtin = true;
    std::optional<double> default_radius_m; ///< asset service radius default, metres
    std::string radius_basis;               ///< where that default comes from
    std::optional<double> gap_threshold;    ///< coverage below this is a gap, [0, 1]
    /// An event kind: the asset kind whose ids its rows' `asset_id` names ("sewage_plant").
    std::string asset_kind;

    /// "code" for villages, "id" for everything else.
    const std::string &key_field() const { return attributes.front().name; }
    bool is_asset() const noexcept { return role == KindRole::asset; }
    bool is_event() const noexcept { return role == KindRole::event; }
    /// Index of attribute `name` in `attributes`, or -1.
    int attribute_index(std::string_view name) const noexcept;
};

/// How a sentence names `kind`: its label when the messages are Chinese, else its key
/// (message_name of i18n.hpp).
std::string message_name(const KindDef &kind);

/// How a sentence names `attribute`: its label when the messages are Chinese, else its name.
std::string message_name(const AttributeDef &attribute);

/// People's word for `choice` of `attribute`: its first alias that is not plain ASCII (金3A for
/// gold_aaa, 县道 for county), else `choice` itself.
std::string choice_label(const AttributeDef &attribute, std::string_view choice);

/// The statuses of SPEC §2, in order; `operating` and `renovating` serve.
const std::vector<std::string> &asset_statuses();

/// village, settlement, urban, hazard and the five asset types of SPEC §2.
const std::vector<KindDef> &builtin_kinds();

/// Table names a configured kind may not take, lower case: qiancun's own tables, its result
/// layers (a trailing `*` is a prefix: `gaps_*`) and SpatiaLite's and SQLite's tables.
const std::vector<std::string> &reserved_table_names();

/// True when `key` (compared case-insensitively) is one of reserved_table_names().
bool is_reserved_table_name(std::string_view key);

/// Parses `[asset_types.<key>]` tables of a TOML document into kind definitions, e.g.
///   [asset_types.clinic]
///   label = "村卫生室"; geometry = "point"; default_radius_m = 1500; radius_basis = "…"
///   attributes = [{ name = "beds", type = "integer" }, { name = "level", type = "choice",
///                   choices = ["county", "township", "village"] }]
/// Common asset columns (id, status, service_radius_m) are added. Throws InputError naming
/// `origin` on a malformed definition, and on a key that is_reserved_table_name() unless
/// `allow_reserved` (only for kinds a registry already stores from before the check existed).
std::vector<KindDef> parse_kinds_toml(std::string_view toml_text, std::string_view origin,
                                      bool allow_reserved = false);

/// Event kinds are `[event_types.<key>]` tables of the same document: dated records about the
/// assets of one kind, stored in a table without geometry, e.g.
///   [event_types.water_test]
///   label = "出水水质检测"; asset_kind = "sewage_plant"
///   attributes = [{ name = "cod_mgl", type = "real" }]
/// Common event columns (id, asset_id, date, result, agency; event_common()) are added; `result`
/// is pass or fail (达标/不达标, 合格/不合格 …). That `asset_kind` names an asset kind is checked
/// when the kind is added to a registry (Registry::add_kind).

/// The columns every event kind has, key first: id, asset_id, date, result, agency.
std::vector<AttributeDef> event_common();

/// Serialises configured (non-builtin) kinds back to the TOML form above.
std::string kinds_to_toml(const std::vector<KindDef> &kinds);

/// Parses `text` as a value of `def`. Empty text is NULL (an error message if `required`).
/// Returns the value, or the problem as a sentence ("status 'open' is not one of planned, …").
std::variant<Value, std::string> parse_value(const AttributeDef &def, std::string_view text);

std::string_view to_string(ValueType t) noexcept;
std::string_view to_string(GeometryKind g) noexcept;

/// Text of a value as it would be printed ("" for NULL; reals without trailing zeros).
std::string value_to_text(const Value &v);

/// Village attributes by configuration (a types file or a manifest), like asset kinds:
///   [village_attributes]
///   future_village_year = { type = "year", label = "省级未来乡村创建年份" }
///   hemei_tier = { type = "choice", label = "和美乡村等级", choices = ["province", "city"],
///                  aliases = { "省级" = "province", "市级" = "city" } }
/// Types as for asset attributes (text, integer or int, real, boolean or bool, year, choice),
/// with label, required, min, max, choices and aliases. Throws InputError naming `origin` and
/// the line for a malformed entry, a name that is not lower-case ASCII, a built-in village
/// attribute or reserved column, an unknown key or type, or an alias naming no choice.
std::vector<AttributeDef> parse_village_attributes_toml(std::string_view toml_text,
                                                        std::string_view origin);

/// Serialises configured village attributes back to the TOML form above.
std::string village_attributes_to_toml(const std::vector<AttributeDef> &attributes);

/// The number of built-in village attributes (code … seat_y); configured ones follow them.
std::size_t builtin_village_attribute_count();

/// The configured attributes of the village kind `village` (those after the built-in ones).
std::vector<AttributeDef> configured_village_attributes(const KindDef &village);

/// `kinds` with the village attributes of `stored_toml` (village_attributes_to_toml's form, as a
/// registry keeps it) appended to the village kind.
std::vector<KindDef> with_village_attributes(std::vector<KindDef> kinds,
                                             std::string_view stored_toml, std::string_view origin);

} // namespace qiancun
