#pragma once

#include "metrics/dataset.hpp"
#include "qiancun/metrics.hpp"
#include "qiancun/registry.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

/// What stored metrics were computed from, kept beside them so that a later run can tell which
/// villages changed inputs can reach: a snapshot of every serving asset per kind (position,
/// reach and link), a digest of every village's settlements, and the whole table with the
/// values the layer does not hold (names, uncovered people). Stored as text in `meta`, read
/// back exactly (numbers in their shortest round-trip form).

namespace qiancun::metrics {

/// One serving asset as a metrics run saw it: everything that decides which villages it
/// reaches and what it adds there.
struct AssetStamp {
    double radius_m = 0.0;
    bool hardened = false;
    Box extent;               ///< bounding box of the geometry, working CRS, metres
    std::uint64_t shape = 0;  ///< FNV-1a of the geometry (its WKB; x and y of a point)
    std::string village_code; ///< linked village; empty for none (and for lines)

    bool operator==(const AssetStamp &other) const;
};

/// The serving assets of one kind by id.
using AssetSnapshot = std::unordered_map<std::string, AssetStamp>;

AssetSnapshot snapshot_of(const AssetLayer &layer);
std::string encode_snapshot(const AssetSnapshot &snapshot);
/// Throws Error naming `what` on text encode_snapshot did not write.
AssetSnapshot decode_snapshot(std::string_view text, std::string_view what);

/// The versions of the assets that differ between two snapshots: both versions of an asset
/// changed in place, the old one of a removed asset (or one that stopped serving), the new one
/// of an added asset (or one that started serving). Ordered by id, old before new.
std::vector<AssetStamp> changed_assets(const AssetSnapshot &before, const AssetSnapshot &after);

/// Per village code, a digest (FNV-1a) of the settlements linked to it as load_dataset reads
/// them: id, population (NULL as 0) and position.
using SettlementStamps = std::map<std::string, std::uint64_t>;

SettlementStamps settlement_stamps(const Registry &registry);
std::string encode_settlement_stamps(const SettlementStamps &stamps);
SettlementStamps decode_settlement_stamps(std::string_view text, std::string_view what);

/// The whole table, every field of every village, exactly.
std::string encode_table(const MetricsTable &table);
MetricsTable decode_table(std::string_view text, std::string_view what);

} // namespace qiancun::metrics
