#include "qiancun/registry.hpp"

#include "qiancun/error.hpp"
#include "store/store.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "qiancun/i18n.hpp"

/// Registry::copy: a registry moved between stores table by table through the Store interface,
/// values as they are stored (no import runs again, so keys, times and sources stay).

namespace qiancun {

namespace {

using store::CopyColumn;

/// Meta keys each store writes for itself: its schema version, the working CRS (whose SRID
/// may differ between databases) and the configured kinds and village attributes, made by
/// create, add_kind and add_village_attributes.
const std::set<std::string, std::less<>> kOwnMeta{"schema_version",    "crs_epsg", "crs_srid",
                                                  "crs_wkt",           "crs_name", "asset_types",
                                                  "village_attributes"};

std::vector<CopyColumn> plain(std::initializer_list<const char *> names) {
    std::vector<CopyColumn> out;
    for (const char *n : names)
        out.push_back({n, false});
    return out;
}

/// A kind's table as both stores make it.
std::vector<CopyColumn> kind_columns(const KindDef &k) {
    std::vector<CopyColumn> out{{"fid", false}};
    for (const auto &a : k.attributes)
        out.push_back({a.name, false});
    if (k.role == KindRole::settlement || k.role == KindRole::asset)
        out.push_back({"village_code", false});
    for (const char *c : {"source_file", "source_row", "updated_at"})
        out.push_back({c, false});
    if (k.is_event()) // dated records without geometry (SPEC §5.2)
        return out;
    out.push_back({"geom", true});
    if (store::has_footprint(k))
        out.push_back({store::kFootprintColumn, true});
    return out;
}

std::vector<std::vector<Value>> read_all(const store::Store &s, std::string_view table,
                                         const std::vector<CopyColumn> &columns) {
    std::vector<std::vector<Value>> rows;
    s.read_rows(table, columns,
                [&](std::span<const Value> row) { rows.emplace_back(row.begin(), row.end()); });
    return rows;
}

std::int64_t count_rows(const store::Store &s, std::string_view table, const CopyColumn &key) {
    std::int64_t n = 0;
    s.read_rows(table, {key}, [&](std::span<const Value>) { ++n; });
    return n;
}

/// The UsageError for a destination that exists: what it holds, when it is a registry.
[[noreturn]] void refuse_existing(const Location &destination) {
    std::int64_t rows = 0;
    std::vector<std::string> layers;
    try {
        const auto existing = store::open(destination, true);
        for (const auto &k : existing->kinds())
            if (const auto n = existing->count(k); n > 0) {
                rows += n;
                layers.push_back(k.key);
            }
    } catch (const Error &) {
        // Not a registry (another file, other tables): it exists, which is enough to refuse.
    }
    if (rows > 0)
        throw UsageError(fmt::format(
            fmt::runtime(_("{} already holds data ({} rows in {}); copy writes a new registry "
                           "only: give a file or schema that does not exist yet")),
            destination.display(), rows, fmt::join(layers, ", ")));
    throw UsageError(fmt::format(fmt::runtime(_("{} already exists; copy writes a new registry "
                                                "only: give a file or schema that does not "
                                                "exist yet")),
                                 destination.display()));
}

} // namespace

std::vector<CopiedTable> Registry::copy(const Location &source, const Location &destination,
                                        const std::function<void(Registry &)> &finish) {
    if (source.display() == destination.display())
        throw UsageError(
            fmt::format(fmt::runtime(_("{} cannot be copied onto itself")), source.display()));
    // A reader sees one state of the source however long the copy takes (PostgreSQL: one
    // snapshot; a file: one read transaction per statement, which no writer can interleave
    // with a copy's reads of a table).
    const Registry src = open(source, true);
    const store::Store &from = *src.m_store;
    const auto before = store::presence(destination);
    if (before == store::Presence::something)
        refuse_existing(destination);

    std::vector<CopiedTable> copied;
    try {
        Registry dst(store::create(destination, from.working_crs()));
        store::Store &to = *dst.m_store;
        Transaction tx(dst);
        auto move = [&](const std::string &table, const std::vector<CopyColumn> &columns,
                        std::vector<std::vector<Value>> rows) {
            to.write_rows(table, columns, rows);
            copied.push_back({table, static_cast<std::int64_t>(rows.size())});
        };

        for (const auto &k : from.kinds())
            if (!k.builtin)
                to.add_kind(k);
        for (const auto &k : from.kinds())
            if (k.role == KindRole::village)
                dst.add_village_attributes(configured_village_attributes(k));

        auto meta = read_all(from, "meta", plain({"key", "value"}));
        std::erase_if(meta, [](const std::vector<Value> &row) {
            const auto *key = std::get_if<std::string>(&row[0]);
            return !key || kOwnMeta.count(*key) > 0;
        });
        move("meta", plain({"key", "value"}), std::move(meta));

        const auto import_log =
            plain({"id", "kind", "source", "layer", "imported_at", "rows_read", "inserted",
                   "updated", "repaired", "rejected", "content_hash"});
        move("import_log", import_log, read_all(from, "import_log", import_log));
        const auto history =
            plain({"id", "kind", "asset_id", "status", "valid_from", "source", "recorded_at"});
        if (from.has_table("status_history"))
            move("status_history", history, read_all(from, "status_history", history));

        for (const auto &k : from.kinds()) {
            if (!from.has_table(k.key))
                continue;
            const auto columns = kind_columns(k);
            move(k.key, columns, read_all(from, k.key, columns));
        }

        if (from.has_table("result_layers")) {
            const auto catalogue = plain({"name", "created_by", "created_at"});
            const auto layers = read_all(from, "result_layers", catalogue);
            const auto spatial = from.spatial_layers();
            for (const auto &entry : layers) {
                const std::string name = value_to_text(entry[0]);
                const auto layer =
                    std::find_if(spatial.begin(), spatial.end(),
                                 [&](const SpatialLayer &l) { return l.table == name; });
                if (layer == spatial.end())
                    continue; // catalogued but gone (dropped by hand): nothing to copy
                const auto types = from.result_columns(name);
                to.create_result_layer(name, types, layer->geometry_type, value_to_text(entry[1]));
                std::vector<CopyColumn> columns{{"fid", false}};
                for (const auto &c : types)
                    columns.push_back({c.name, false});
                columns.push_back({layer->geometry_column, true});
                move(name, columns, read_all(from, name, columns));
            }
            // The catalogue last: its times as the source has them.
            to.write_rows("result_layers", catalogue, layers);
            copied.push_back({"result_layers", static_cast<std::int64_t>(layers.size())});
        }

        if (finish)
            finish(dst);

        // Counted again in both, as they are now.
        for (const auto &c : copied) {
            const CopyColumn key{c.table == "meta"                                        ? "key"
                                 : c.table == "result_layers"                             ? "name"
                                 : c.table == "import_log" || c.table == "status_history" ? "id"
                                                                                          : "fid",
                                 false};
            const auto in_source = c.table == "meta" ? c.rows : count_rows(from, c.table, key);
            const auto in_copy = c.table == "meta" ? c.rows : count_rows(to, c.table, key);
            if (in_source != c.rows || in_copy != c.rows)
                throw DatabaseError(fmt::format(
                    fmt::runtime(_("copying {} to {}: {} has {} rows in the source, {} read and {} "
                                   "in the copy; nothing was copied")),
                    source.display(), destination.display(), c.table, in_source, c.rows, in_copy));
        }
        tx.commit();
    } catch (...) {
        store::remove_made(destination, before);
        throw;
    }
    return copied;
}

} // namespace qiancun
