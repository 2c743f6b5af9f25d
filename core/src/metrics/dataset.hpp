#pragma once

#include "qiancun/config.hpp"
#include "qiancun/metrics.hpp"
#include "qiancun/registry.hpp"

#include <boost/geometry/geometries/box.hpp>
#include <boost/geometry/geometries/point.hpp>
#include <boost/geometry/index/rtree.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

/// The registry content the per-village metrics read, loaded once into memory with R-trees
/// for candidate search (service reach) and nearest neighbours (asset extents). Plain data:
/// geometries are kept as WKB so that every worker thread reads them into its own GEOS
/// context.

namespace qiancun::metrics {

/// A position in the working CRS, metres.
using Point = boost::geometry::model::point<double, 2, boost::geometry::cs::cartesian>;
/// An axis-aligned rectangle in the working CRS, metres.
using Box = boost::geometry::model::box<Point>;
/// An R-tree entry: a rectangle and the index of what it bounds.
using BoxEntry = std::pair<Box, std::uint32_t>;
using BoxTree = boost::geometry::index::rtree<BoxEntry, boost::geometry::index::rstar<16>>;

/// `box` grown by `margin_m` on every side.
Box grow(const Box &box, double margin_m);

struct VillageRecord {
    std::string code;
    std::string name;
    std::string township;
    std::string wkb;                               ///< MultiPolygon
    Box extent;                                    ///< bounding box of the polygon
    std::optional<std::pair<double, double>> seat; ///< village committee, when both set
};

struct SettlementRecord {
    std::string id;
    std::string name;
    std::string village_code;    ///< empty when outside every village
    std::int64_t population = 0; ///< NULL reads as 0
    double x = 0.0;
    double y = 0.0;
};

/// One serving asset.
struct AssetRecord {
    std::string id;
    std::string wkb; ///< empty for a point: `x`, `y` say everything
    bool is_point = false;
    double x = 0.0; ///< the point, when `is_point`
    double y = 0.0;
    Box extent;               ///< bounding box of the geometry
    double radius_m = 0.0;    ///< service radius after the SPEC §3 precedence
    bool hardened = false;    ///< roads: surface = hardened
    std::string village_code; ///< the linked village (points and polygons); empty for none
};

/// The serving assets of one type with their indexes.
struct AssetLayer {
    std::string type;
    bool is_road = false;   ///< line assets: corridors, road lengths, n by intersection
    double threshold = 0.9; ///< gap below this
    std::vector<AssetRecord> assets;
    BoxTree reach;   ///< extent grown by the asset's radius: who can serve a place
    BoxTree extents; ///< extent: nearest-neighbour search
    /// Serving point/polygon assets per linked village code (the registry's border rule).
    std::unordered_map<std::string, std::int64_t> count_by_village;
};

struct Dataset {
    std::vector<VillageRecord> villages;                    ///< the villages asked for, by code
    std::vector<SettlementRecord> settlements;              ///< those linked to one of `villages`
    std::vector<std::vector<std::uint32_t>> settlements_of; ///< parallel to `villages`
    std::vector<AssetLayer> layers;                         ///< one per type asked for
};

/// Reads villages (all, or those in `codes`; an unknown code is a UsageError), their
/// settlements and the serving assets of `types` (every asset kind when empty; an unknown
/// or non-asset kind is a UsageError). `config` must hold every type. With `statuses`, an
/// asset's status comes from it, and an asset missing from it is left out.
Dataset load_dataset(const Registry &registry, const MetricsConfig &config,
                     const std::vector<std::string> &types, const std::vector<std::string> &codes,
                     const AssetStatuses *statuses = nullptr);

/// The serving assets of one asset kind, as load_dataset reads them.
AssetLayer load_asset_layer(const Registry &registry, const KindDef &kind,
                            const MetricsConfig &config);

} // namespace qiancun::metrics
