#include "qiancun/registry.hpp"

#include "qiancun/error.hpp"
#include "qiancun/expression.hpp"
#include "store/store.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>

#include "qiancun/i18n.hpp"

namespace qiancun {

bool is_iso_date(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-')
        return false;
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (text[i] < '0' || text[i] > '9')
            return false;
    const int y = std::stoi(std::string(text.substr(0, 4)));
    const int m = std::stoi(std::string(text.substr(5, 2)));
    const int d = std::stoi(std::string(text.substr(8, 2)));
    const std::chrono::year_month_day ymd{std::chrono::year{y},
                                          std::chrono::month{static_cast<unsigned>(m)},
                                          std::chrono::day{static_cast<unsigned>(d)}};
    return ymd.ok();
}

std::string ScanRow::text(std::size_t i) const {
    return is_null(i) ? std::string() : value_to_text(values[i]);
}

std::optional<double> ScanRow::number(std::size_t i) const {
    if (const auto *d = std::get_if<double>(&values[i]))
        return *d;
    if (const auto *n = std::get_if<std::int64_t>(&values[i]))
        return static_cast<double>(*n);
    return std::nullopt;
}

std::optional<std::int64_t> ScanRow::integer(std::size_t i) const {
    if (const auto *n = std::get_if<std::int64_t>(&values[i]))
        return *n;
    // Beyond ±2^63 (or NaN) a cast would be undefined.
    if (const auto *d = std::get_if<double>(&values[i]); d && *d > -9.2e18 && *d < 9.2e18)
        return static_cast<std::int64_t>(*d);
    return std::nullopt;
}

Registry::Registry(std::unique_ptr<store::Store> store) : m_store(std::move(store)) {}
Registry::Registry(Registry &&) noexcept = default;
Registry &Registry::operator=(Registry &&) noexcept = default;
Registry::~Registry() = default;

Registry Registry::create(const Location &location, std::optional<int> epsg) {
    if (!epsg)
        return Registry(store::create(location, std::nullopt));
    return Registry(store::create(location, crs::from_epsg(*epsg)));
}

Registry Registry::create(const Location &location, const crs::Definition &crs) {
    return Registry(store::create(location, crs));
}

Registry Registry::open(const Location &location, bool read_only) {
    return Registry(store::open(location, read_only));
}

const Location &Registry::location() const noexcept {
    return m_store->location();
}

const std::filesystem::path &Registry::path() const noexcept {
    return m_store->location().path();
}

std::string Registry::display() const {
    return m_store->location().display();
}

std::string Registry::gdal_name() const {
    return m_store->gdal_name();
}

std::optional<int> Registry::working_epsg() const {
    return m_store->working_epsg();
}

std::optional<int> Registry::working_srid() const {
    return m_store->working_srid();
}

std::optional<crs::Definition> Registry::working_crs() const {
    return m_store->working_crs();
}

void Registry::set_working_crs(const crs::Definition &crs, std::optional<double> data_lon) {
    m_store->set_working_crs(crs, data_lon);
}

void Registry::set_working_epsg(int epsg) {
    set_working_crs(crs::from_epsg(epsg));
}

std::optional<std::string> Registry::property(std::string_view key) const {
    return m_store->meta(key);
}

void Registry::set_property(std::string_view key, std::string_view value) {
    m_store->set_meta(key, value);
}

const std::vector<KindDef> &Registry::kinds() const noexcept {
    return m_store->kinds();
}

const KindDef &Registry::kind(std::string_view key) const {
    for (const auto &k : kinds())
        if (k.key == key)
            return k;
    std::string known;
    for (const auto &k : kinds())
        known += (known.empty() ? "" : ", ") + k.key;
    throw UsageError(
        fmt::format(fmt::runtime(_("unknown kind '{}'; known kinds: {}")), key, known));
}

void Registry::add_kind(const KindDef &def) {
    for (const auto &existing : m_store->kinds()) {
        if (existing.key != def.key)
            continue;
        if (existing.builtin)
            throw UsageError(fmt::format(fmt::runtime(_("'{}' is a built-in kind")), def.key));
        if (kinds_to_toml({existing}) != kinds_to_toml({def}))
            throw UsageError(
                fmt::format(fmt::runtime(_("asset type '{}' is already defined differently in {}")),
                            def.key, m_store->location().display()));
        return;
    }
    if (is_reserved_table_name(def.key))
        throw UsageError(
            fmt::format(fmt::runtime(_("asset type key '{}' is reserved for the registry's own "
                                       "tables and result layers")),
                        def.key));
    if (def.is_event()) {
        const auto &kinds = m_store->kinds();
        const auto of = std::find_if(kinds.begin(), kinds.end(),
                                     [&](const KindDef &k) { return k.key == def.asset_kind; });
        if (of == kinds.end() || !of->is_asset()) {
            std::vector<std::string> assets;
            for (const auto &k : kinds)
                if (k.is_asset())
                    assets.push_back(k.key);
            throw UsageError(fmt::format(
                fmt::runtime(_("event type '{}': asset_kind '{}' is no asset kind of {}; "
                               "asset kinds: {}")),
                def.key, def.asset_kind, display(), fmt::join(assets, ", ")));
        }
    }
    m_store->add_kind(def);
}

void Registry::add_village_attributes(const std::vector<AttributeDef> &attributes) {
    for (const auto &a : attributes) {
        const KindDef &village = kind("village");
        const int at = village.attribute_index(a.name);
        if (at < 0) {
            m_store->add_village_attribute(a);
            continue;
        }
        if (static_cast<std::size_t>(at) < builtin_village_attribute_count())
            throw UsageError(
                fmt::format(fmt::runtime(_("village attribute '{}' is built in")), a.name));
        if (village_attributes_to_toml({village.attributes[static_cast<std::size_t>(at)]}) !=
            village_attributes_to_toml({a}))
            throw UsageError(
                fmt::format(fmt::runtime(_("village attribute '{}' is already defined differently "
                                           "in {}")),
                            a.name, m_store->location().display()));
    }
}

Registry::Transaction::Transaction(Registry &registry) : m_registry(&registry) {
    registry.m_store->begin();
}

Registry::Transaction::~Transaction() {
    if (!m_done)
        m_registry->m_store->rollback();
}

void Registry::Transaction::commit() {
    m_registry->m_store->commit();
    m_done = true;
}

void Registry::write(const KindDef &kind, std::span<const Feature> features, WriteMode mode,
                     ImportRecord &record) {
    m_store->write(kind, features, mode, record);
}

void Registry::link_villages(std::string_view kind) {
    m_store->link_villages(kind);
}

RegistryInfo Registry::info() const {
    RegistryInfo info = m_store->info();
    info.location = display();
    return info;
}

std::int64_t Registry::count(std::string_view kind_key) const {
    return m_store->count(kind(kind_key));
}

Rows Registry::list(std::string_view kind_key, const ListFilter &filter) const {
    const auto &k = kind(kind_key);
    if (!has_table(k.key))
        return {};
    ListFilter checked = filter;
    if (filter.village_code)
        checked.village_code = resolve_village(*filter.village_code);
    if (filter.township)
        township_villages(*filter.township); // names the townships when unknown
    if (filter.status) {
        const int at = k.attribute_index("status");
        if (!k.is_asset() || at < 0)
            throw UsageError(fmt::format(fmt::runtime(_("{} has no status")), k.key));
        const auto parsed = parse_value(k.attributes[static_cast<std::size_t>(at)], *filter.status);
        if (const auto *problem = std::get_if<std::string>(&parsed))
            throw UsageError(*problem);
        if (!std::holds_alternative<std::string>(std::get<Value>(parsed)))
            throw UsageError(fmt::format(fmt::runtime(_("status '{}' is not one of {}")),
                                         *filter.status, fmt::join(asset_statuses(), ", ")));
        checked.status = value_to_text(std::get<Value>(parsed));
    }
    if (!filter.where)
        return m_store->list(k, checked);
    // Parsed and evaluated here, never passed to SQL: the limit applies to the rows it keeps.
    std::optional<Expression> where;
    ExprScope scope;
    scope.subject = k.key;
    scope.attributes = k.attributes;
    ExprSource source;
    source.field = "--where";
    try {
        where = Expression::parse(*filter.where, scope, source);
    } catch (const InputError &e) {
        throw UsageError(e.what());
    }
    checked.where.reset();
    checked.limit.reset();
    Rows rows = m_store->list(k, checked);
    std::vector<std::size_t> at;
    for (const auto &name : where->names())
        at.push_back(static_cast<std::size_t>(
            std::find(rows.columns.begin(), rows.columns.end(), name) - rows.columns.begin()));
    std::vector<std::vector<Value>> kept;
    std::vector<ExprValue> values(at.size());
    for (auto &row : rows.rows) {
        if (filter.limit && static_cast<std::int64_t>(kept.size()) >= *filter.limit)
            break;
        for (std::size_t i = 0; i < at.size(); ++i)
            values[i] = at[i] < row.size() ? to_expr_value(row[at[i]]) : ExprValue{};
        if (where->evaluate(values, {}) == Truth::yes)
            kept.push_back(std::move(row));
    }
    rows.rows = std::move(kept);
    return rows;
}

namespace {

std::string text_of(const Value &v) {
    return std::holds_alternative<std::monostate>(v) ? std::string() : value_to_text(v);
}

} // namespace

std::string Registry::resolve_village(std::string_view code_or_name) const {
    if (!has_table("village"))
        throw UsageError(fmt::format(fmt::runtime(_("no village '{}': {} has no villages")),
                                     code_or_name, display()));
    bool by_code = false;
    scan({.table = "village",
          .columns = {"code"},
          .where = {ScanCondition::eq("code", std::string(code_or_name))},
          .limit = 1},
         [&](const ScanRow &) { by_code = true; });
    if (by_code)
        return std::string(code_or_name);
    std::vector<std::string> codes;
    std::vector<std::string> candidates;
    scan({.table = "village",
          .columns = {"code", "township"},
          .where = {ScanCondition::eq("name", std::string(code_or_name))},
          .order_by = {"code"}},
         [&](const ScanRow &r) {
             codes.push_back(text_of(r.values[0]));
             const std::string township = text_of(r.values[1]);
             candidates.push_back(
                 township.empty() ? codes.back() : fmt::format("{} ({})", codes.back(), township));
         });
    if (codes.size() == 1)
        return codes.front();
    if (codes.empty())
        throw UsageError(fmt::format(fmt::runtime(_("no village has the code or name '{}' in {}")),
                                     code_or_name, display()));
    throw UsageError(fmt::format(fmt::runtime(_("{} villages are named '{}': {}; give the code")),
                                 codes.size(), code_or_name, fmt::join(candidates, ", ")));
}

std::vector<std::string> Registry::townships() const {
    std::vector<std::string> out;
    if (!has_table("village"))
        return out;
    scan({.table = "village",
          .columns = {"township"},
          .where = {ScanCondition::not_null("township")},
          .order_by = {"township"}},
         [&](const ScanRow &r) {
             std::string t = text_of(r.values[0]);
             if (!t.empty() && (out.empty() || out.back() != t))
                 out.push_back(std::move(t));
         });
    return out;
}

std::vector<std::string> Registry::township_villages(std::string_view township) const {
    std::vector<std::string> codes;
    if (has_table("village"))
        scan({.table = "village",
              .columns = {"code"},
              .where = {ScanCondition::eq("township", std::string(township))},
              .order_by = {"code"}},
             [&](const ScanRow &r) { codes.push_back(text_of(r.values[0])); });
    if (codes.empty()) {
        const auto known = townships();
        throw UsageError(
            known.empty() ? fmt::format(fmt::runtime(_("no township '{}': the villages of {} name "
                                                       "no township")),
                                        township, display())
                          : fmt::format(fmt::runtime(_("no township '{}'; the townships are: {}")),
                                        township, fmt::join(known, ", ")));
    }
    return codes;
}

std::vector<StatusChange> Registry::statuses_as_of(std::string_view date,
                                                   std::string_view kind) const {
    if (!is_iso_date(date))
        throw UsageError(fmt::format(fmt::runtime(_("'{}' is not a date YYYY-MM-DD")), date));
    return m_store->statuses_as_of(date, kind);
}

std::optional<std::string> Registry::statuses_known_from(std::string_view kind_key) const {
    return m_store->statuses_known_from(kind(kind_key));
}

std::vector<StatusChange> Registry::status_history(std::string_view kind_key,
                                                   std::string_view id) const {
    return m_store->status_history(kind(kind_key), id);
}

std::string Registry::content_checksum() const {
    return m_store->content_checksum();
}

bool Registry::has_table(std::string_view name) const {
    return m_store->has_table(name);
}

void Registry::scan(const ScanRequest &request,
                    const std::function<void(const ScanRow &)> &row) const {
    m_store->scan(request, row);
}

std::unique_ptr<ResultLayerWriter>
Registry::create_result_layer(const std::string &name, const std::vector<ResultColumn> &columns,
                              const std::string &geometry_type, std::string_view created_by) {
    return m_store->create_result_layer(name, columns, geometry_type, created_by);
}

std::int64_t Registry::update_result_rows(const std::string &name,
                                          const std::vector<ResultColumn> &columns,
                                          std::span<const std::vector<Value>> rows) {
    if (columns.empty())
        throw Error(fmt::format(fmt::runtime(_("updating {}: no key column")), name));
    return m_store->update_result_rows(name, columns, rows);
}

std::map<std::string, ChangeStamp> Registry::change_stamps() const {
    return m_store->change_stamps();
}

std::vector<SpatialLayer> Registry::spatial_layers() const {
    return m_store->spatial_layers();
}

std::optional<double> Registry::column_max(std::string_view table, std::string_view column) const {
    return m_store->column_max(table, column);
}

void Registry::save_layer_styles(const std::vector<TableStyles> &tables) {
    m_store->save_layer_styles(tables);
}

void Registry::add_role(const RoleSpec &role) {
    RoleSpec checked = role;
    checked.kinds.clear();
    for (const auto &k : role.kinds)
        checked.kinds.push_back(kind(k).key); // names the kinds when unknown
    for (const auto &t : role.townships)
        township_villages(t); // names the townships when unknown
    if (role.read_only() && !role.townships.empty())
        throw UsageError(_("--township limits what an editor writes; a read-only role reads all"));
    m_store->add_role(checked);
}

std::vector<RoleSpec> Registry::roles() const {
    return m_store->roles();
}

std::vector<AuditEntry> Registry::audit(std::string_view kind_key, std::string_view id) const {
    return m_store->audit(kind(kind_key), id);
}

} // namespace qiancun
