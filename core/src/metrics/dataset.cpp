#include "metrics/dataset.hpp"

#include "ffi/sqlite.hpp"
#include "metrics/spatial_table.hpp"
#include "qiancun/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace qiancun::metrics {

namespace {

using ffi::quote_identifier;
using ffi::SqliteStmt;

bool table_exists(sqlite3 *db, const std::string &name) {
    SqliteStmt st(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
    st.bind_text(1, name);
    return st.step();
}

std::optional<double> number_of(const Value &v) {
    if (const auto *d = std::get_if<double>(&v))
        return *d;
    if (const auto *i = std::get_if<std::int64_t>(&v))
        return static_cast<double>(*i);
    return std::nullopt;
}

std::string text_of(const SqliteStmt &st, int column) {
    return st.is_null(column) ? std::string() : st.get_text(column);
}

Box box_of(const SqliteStmt &st, int first_column) {
    return Box(Point(st.get_double(first_column), st.get_double(first_column + 1)),
               Point(st.get_double(first_column + 2), st.get_double(first_column + 3)));
}

std::vector<const KindDef *> asset_kinds(const Registry &registry,
                                         const std::vector<std::string> &types) {
    std::vector<const KindDef *> kinds;
    if (types.empty()) {
        for (const auto &k : registry.kinds())
            if (k.is_asset())
                kinds.push_back(&k);
        return kinds;
    }
    for (const auto &t : types) {
        const KindDef &k = registry.kind(t); // UsageError for an unknown key
        if (!k.is_asset())
            throw UsageError(fmt::format("'{}' is not an asset type", t));
        if (std::find(kinds.begin(), kinds.end(), &k) == kinds.end())
            kinds.push_back(&k);
    }
    return kinds;
}

std::vector<VillageRecord> load_villages(sqlite3 *db, const std::vector<std::string> &codes) {
    std::vector<VillageRecord> villages;
    if (!table_exists(db, "village"))
        return villages;
    const std::set<std::string> wanted(codes.begin(), codes.end());
    SqliteStmt st(db, "SELECT code, name, township, seat_x, seat_y, AsBinary(geom), "
                      "MbrMinX(geom), MbrMinY(geom), MbrMaxX(geom), MbrMaxY(geom) "
                      "FROM village WHERE geom IS NOT NULL ORDER BY code");
    while (st.step()) {
        VillageRecord v;
        v.code = st.get_text(0);
        if (!wanted.empty() && !wanted.count(v.code))
            continue;
        v.name = text_of(st, 1);
        v.township = text_of(st, 2);
        const auto sx = number_of(st.get_value(3));
        const auto sy = number_of(st.get_value(4));
        if (sx && sy)
            v.seat = std::make_pair(*sx, *sy);
        v.wkb = st.get_blob(5);
        v.extent = box_of(st, 6);
        villages.push_back(std::move(v));
    }
    for (const auto &c : wanted)
        if (!std::ranges::binary_search(villages, c, {}, &VillageRecord::code))
            throw UsageError(fmt::format("no village with code '{}' in the registry", c));
    return villages;
}

void load_settlements(sqlite3 *db, Dataset &data) {
    data.settlements_of.assign(data.villages.size(), {});
    if (!table_exists(db, "settlement"))
        return;
    std::unordered_map<std::string, std::uint32_t> index;
    for (std::uint32_t i = 0; i < data.villages.size(); ++i)
        index.emplace(data.villages[i].code, i);
    SqliteStmt st(db, "SELECT id, name, population, village_code, X(geom), Y(geom) "
                      "FROM settlement WHERE geom IS NOT NULL AND village_code IS NOT NULL "
                      "ORDER BY id");
    while (st.step()) {
        const auto it = index.find(st.get_text(3));
        if (it == index.end() || st.is_null(4))
            continue;
        SettlementRecord s;
        s.id = st.get_text(0);
        s.name = text_of(st, 1);
        s.population = std::max<std::int64_t>(0, st.is_null(2) ? 0 : st.get_int(2));
        s.village_code = it->first;
        s.x = st.get_double(4);
        s.y = st.get_double(5);
        data.settlements_of[it->second].push_back(
            static_cast<std::uint32_t>(data.settlements.size()));
        data.settlements.push_back(std::move(s));
    }
}

AssetLayer load_layer(sqlite3 *db, const KindDef &kind, const MetricsConfig &config) {
    AssetLayer layer;
    layer.type = kind.key;
    layer.is_road = kind.geometry == GeometryKind::line;
    layer.threshold = config.types.at(kind.key).gap_threshold;
    if (!table_exists(db, kind.key))
        return layer;

    const bool has_band = kind.attribute_index("band") >= 0;
    const bool has_surface = layer.is_road && kind.attribute_index("surface") >= 0;
    const bool linked = !layer.is_road;
    SqliteStmt st(db, fmt::format("SELECT id, status, service_radius_m, {}, {}, {}, X(geom), "
                                  "Y(geom), CASE WHEN X(geom) IS NULL THEN AsBinary(geom) END, "
                                  "MbrMinX(geom), MbrMinY(geom), MbrMaxX(geom), MbrMaxY(geom) "
                                  "FROM {} WHERE geom IS NOT NULL ORDER BY id",
                                  has_band ? "band" : "NULL", has_surface ? "surface" : "NULL",
                                  linked ? "village_code" : "NULL", quote_identifier(kind.key)));
    std::vector<BoxEntry> reach;
    std::vector<BoxEntry> extents;
    while (st.step()) {
        if (!config.serves(text_of(st, 1)))
            continue;
        AssetRecord a;
        a.id = st.get_text(0);
        const std::string band = has_band ? value_to_text(st.get_value(3)) : std::string();
        a.radius_m = config.radius_for(kind.key, number_of(st.get_value(2)), band);
        a.hardened = has_surface && text_of(st, 4) == "hardened";
        a.is_point = !st.is_null(6);
        if (a.is_point) {
            a.x = st.get_double(6);
            a.y = st.get_double(7);
        } else {
            a.wkb = st.get_blob(8);
        }
        a.extent = box_of(st, 9);
        if (linked && !st.is_null(5))
            ++layer.count_by_village[st.get_text(5)];
        const auto i = static_cast<std::uint32_t>(layer.assets.size());
        reach.emplace_back(grow(a.extent, a.radius_m), i);
        extents.emplace_back(a.extent, i);
        layer.assets.push_back(std::move(a));
    }
    // The packing constructor builds a better tree than inserting one by one.
    layer.reach = BoxTree(reach.begin(), reach.end());
    layer.extents = BoxTree(extents.begin(), extents.end());
    return layer;
}

} // namespace

Box grow(const Box &box, double margin_m) {
    return Box(Point(box.min_corner().get<0>() - margin_m, box.min_corner().get<1>() - margin_m),
               Point(box.max_corner().get<0>() + margin_m, box.max_corner().get<1>() + margin_m));
}

Dataset load_dataset(const Registry &registry, const MetricsConfig &config,
                     const std::vector<std::string> &types, const std::vector<std::string> &codes) {
    require_planar_crs(registry);
    sqlite3 *db = registry.handle();
    const auto kinds = asset_kinds(registry, types);
    Dataset data;
    data.villages = load_villages(db, codes);
    load_settlements(db, data);
    for (const KindDef *k : kinds)
        data.layers.push_back(load_layer(db, *k, config));
    return data;
}

} // namespace qiancun::metrics
