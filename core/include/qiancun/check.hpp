#pragma once

#include "qiancun/config.hpp"
#include "qiancun/registry.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// The data-quality report of `qiancun check` (issue "never a silent wrong answer"): one finding
/// per likely duplicate, asset outside every village, village without settlements or
/// population, serving plant without an effluent result, road piece off the main network and
/// settlement beyond the off-road cap. Distances are planar metres of the working CRS.

namespace qiancun {

/// One kind of finding, in report order.
struct CheckDef {
    std::string key;      ///< stable English key, e.g. "duplicate_asset"
    std::string label_zh; ///< Chinese name for people, e.g. "疑似重复设施"
    std::string what;     ///< one English sentence: what is reported
};

/// duplicate_asset, outside_villages, village_without_settlements, village_without_population,
/// plant_without_effluent, road_disconnected, settlement_off_road.
const std::vector<CheckDef> &check_defs();

/// One finding.
struct Finding {
    std::string check;        ///< a CheckDef key
    std::string kind;         ///< layer of the thing found ("courier_station", "village")
    std::string id;           ///< its key (a village's code)
    std::string village_code; ///< the village it belongs to; "" for none
    std::string detail; ///< in the language of the messages: "same name as K2 (黄门村服务站),
                        ///< 14.0 m apart"
    std::optional<double> value; ///< the measured number: m for distances, km for road pieces
};

struct CheckReport {
    std::vector<Finding> findings; ///< by check (check_defs() order), kind, id
    /// Checks not run, each with why ("settlement_off_road: no serving road in the registry"),
    /// the check named by message_name (its label in Chinese messages).
    std::vector<std::string> skipped;

    /// Columns check, kind, id, village_code, detail, value.
    Rows to_rows() const;
    /// Findings per check, every check in check_defs() order (0 included).
    std::vector<std::pair<std::string, std::int64_t>> counts() const;
};

/// Options of the checks.
struct CheckOptions {
    /// Two assets of a kind at most this far apart (inclusive) with the same or a near-same
    /// name are likely duplicates, metres.
    double duplicate_distance_m = 50.0;
};

/// Runs every check on the registry's current rows. Serving statuses, the snapping tolerance
/// and the off-road cap come from `config`. Throws UsageError for a registry without a working
/// CRS.
CheckReport check_registry(const Registry &registry, const MetricsConfig &config,
                           const CheckOptions &options = {});

/// A name as the duplicate test compares it: whitespace and punctuation (ASCII, CJK and
/// full-width) removed, full-width letters and digits made ASCII, ASCII lower-cased, then one
/// trailing generic suffix (服务站, 服务点, 站点, 站, 点) removed when something remains.
std::string normalized_name(std::string_view name);

/// True when two non-empty names are the same or near-same: equal after `normalized_name`, or,
/// when both normalized names have at least 4 characters (code points), one character
/// inserted, removed or replaced apart, where that character is not a digit (黄门村1号站 and
/// 黄门村2号站 are two stations).
bool near_same_name(std::string_view a, std::string_view b);

/// Two assets that look like one entered twice.
struct DuplicatePair {
    std::string kind;
    std::string id_a; ///< the smaller id
    std::string id_b;
    std::string name_a;
    std::string name_b;
    double distance_m = 0.0; ///< between the geometries
    bool same_name = false;  ///< equal names (else near-same)
};

/// Every likely duplicate pair among the assets of `kind` (any status): both named, at most
/// `within_m` apart (inclusive), same or near-same name. Kinds without a `name` attribute have
/// none. Ordered by id_a, id_b.
std::vector<DuplicatePair> likely_duplicates(const Registry &registry, std::string_view kind,
                                             double within_m = 50.0);

} // namespace qiancun
