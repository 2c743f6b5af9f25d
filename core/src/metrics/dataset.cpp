#include "metrics/dataset.hpp"

#include "metrics/spatial_table.hpp"
#include "qiancun/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "qiancun/i18n.hpp"

namespace qiancun::metrics {

namespace {

Box box_of(const std::array<double, 4> &b) {
    return Box(Point(b[0], b[1]), Point(b[2], b[3]));
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
            throw UsageError(fmt::format(fmt::runtime(_("'{}' is not an asset type")), t));
        if (std::find(kinds.begin(), kinds.end(), &k) == kinds.end())
            kinds.push_back(&k);
    }
    return kinds;
}

std::vector<VillageRecord> load_villages(const Registry &registry,
                                         const std::vector<std::string> &codes) {
    std::vector<VillageRecord> villages;
    if (!registry.has_table("village"))
        return villages;
    const std::set<std::string> wanted(codes.begin(), codes.end());
    registry.scan({.table = "village",
                   .columns = {"code", "name", "township", "seat_x", "seat_y"},
                   .wkb = true,
                   .bbox = true,
                   .where = {ScanCondition::not_null("geom")},
                   .order_by = {"code"}},
                  [&](const ScanRow &r) {
                      VillageRecord v;
                      v.code = r.text(0);
                      if (!wanted.empty() && !wanted.count(v.code))
                          return;
                      v.name = r.text(1);
                      v.township = r.text(2);
                      const auto sx = r.number(3);
                      const auto sy = r.number(4);
                      if (sx && sy)
                          v.seat = std::make_pair(*sx, *sy);
                      v.wkb = r.wkb;
                      v.extent = box_of(r.bbox.value_or(std::array<double, 4>{}));
                      villages.push_back(std::move(v));
                  });
    for (const auto &c : wanted)
        if (!std::ranges::binary_search(villages, c, {}, &VillageRecord::code))
            throw UsageError(
                fmt::format(fmt::runtime(_("no village with code '{}' in the registry")), c));
    return villages;
}

void load_settlements(const Registry &registry, Dataset &data) {
    data.settlements_of.assign(data.villages.size(), {});
    if (!registry.has_table("settlement"))
        return;
    std::unordered_map<std::string, std::uint32_t> index;
    for (std::uint32_t i = 0; i < data.villages.size(); ++i)
        index.emplace(data.villages[i].code, i);
    registry.scan(
        {.table = "settlement",
         .columns = {"id", "name", "population", "village_code"},
         .xy = true,
         .where = {ScanCondition::not_null("geom"), ScanCondition::not_null("village_code")},
         .order_by = {"id"}},
        [&](const ScanRow &r) {
            const auto it = index.find(r.text(3));
            if (it == index.end() || !r.xy)
                return;
            SettlementRecord s;
            s.id = r.text(0);
            s.name = r.text(1);
            s.population = std::max<std::int64_t>(0, r.integer(2).value_or(0));
            s.village_code = it->first;
            s.x = r.xy->first;
            s.y = r.xy->second;
            data.settlements_of[it->second].push_back(
                static_cast<std::uint32_t>(data.settlements.size()));
            data.settlements.push_back(std::move(s));
        });
}

AssetLayer load_layer(const Registry &registry, const KindDef &kind, const MetricsConfig &config,
                      const AssetStatuses *statuses) {
    AssetLayer layer;
    layer.type = kind.key;
    layer.is_road = kind.geometry == GeometryKind::line;
    layer.threshold = config.types.at(kind.key).gap_threshold;
    if (!registry.has_table(kind.key))
        return layer;

    const bool has_band = kind.attribute_index("band") >= 0;
    const bool has_surface = layer.is_road && kind.attribute_index("surface") >= 0;
    const bool linked = !layer.is_road;
    ScanRequest request{.table = kind.key,
                        .columns = {"id", "status", "service_radius_m"},
                        .wkb = true,
                        .xy = true,
                        .bbox = true,
                        .where = {ScanCondition::not_null("geom")},
                        .order_by = {"id"}};
    // Optional columns after the fixed ones, at known positions.
    const std::size_t band_at = request.columns.size();
    if (has_band)
        request.columns.push_back("band");
    const std::size_t surface_at = request.columns.size();
    if (has_surface)
        request.columns.push_back("surface");
    const std::size_t village_at = request.columns.size();
    if (linked)
        request.columns.push_back("village_code");
    std::vector<BoxEntry> reach;
    std::vector<BoxEntry> extents;
    static const std::map<std::string, std::string> kNone;
    const auto *status_of = statuses ? &kNone : nullptr;
    if (statuses)
        if (const auto it = statuses->find(kind.key); it != statuses->end())
            status_of = &it->second;
    registry.scan(request, [&](const ScanRow &r) {
        std::string status = r.text(1);
        if (status_of) {
            const auto it = status_of->find(r.text(0));
            if (it == status_of->end())
                return;
            status = it->second;
        }
        if (!config.serves(status))
            return;
        AssetRecord a;
        a.id = r.text(0);
        const std::string band = has_band ? r.text(band_at) : std::string();
        a.radius_m = config.radius_for(kind.key, r.number(2), band);
        a.hardened = has_surface && r.text(surface_at) == "hardened";
        a.is_point = r.xy.has_value();
        if (a.is_point) {
            a.x = r.xy->first;
            a.y = r.xy->second;
        } else {
            a.wkb = r.wkb;
        }
        a.extent = box_of(r.bbox.value_or(std::array<double, 4>{}));
        if (linked && !r.is_null(village_at)) {
            a.village_code = r.text(village_at);
            ++layer.count_by_village[a.village_code];
        }
        const auto i = static_cast<std::uint32_t>(layer.assets.size());
        reach.emplace_back(grow(a.extent, a.radius_m), i);
        extents.emplace_back(a.extent, i);
        layer.assets.push_back(std::move(a));
    });
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
                     const std::vector<std::string> &types, const std::vector<std::string> &codes,
                     const AssetStatuses *statuses) {
    require_planar_crs(registry);
    const auto kinds = asset_kinds(registry, types);
    Dataset data;
    data.villages = load_villages(registry, codes);
    load_settlements(registry, data);
    // Room for every layer first: a layer's R-trees have no noexcept move, so a growing vector
    // would copy the layers read so far (at province scale the peak memory of the whole run).
    data.layers.reserve(kinds.size());
    for (const KindDef *k : kinds)
        data.layers.push_back(load_layer(registry, *k, config, statuses));
    return data;
}

AssetLayer load_asset_layer(const Registry &registry, const KindDef &kind,
                            const MetricsConfig &config) {
    return load_layer(registry, kind, config, nullptr);
}

} // namespace qiancun::metrics
