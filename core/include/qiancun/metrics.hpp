#pragma once

#include "qiancun/config.hpp"
#include "qiancun/registry.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

/// Per-village coverage and service-radius metrics (SPEC §3, straight-line part). All
/// lengths in metres and areas in m² of the working CRS unless the name says km.

namespace qiancun {

/// The metrics of one asset type for one village.
struct TypeMetrics {
    std::int64_t n = 0;              ///< serving assets inside V (roads: intersecting V)
    std::optional<double> nearest_m; ///< demand point → nearest serving asset; empty if none
    double area_cov = 0.0;           ///< area(V ∩ ⋃ discs) / area(V)
    std::optional<double> pop_cov;   ///< covered / total settlement population; empty if 0
    double cov = 0.0;                ///< pop_cov if present, else area_cov
    bool gap = false;                ///< cov < threshold (strict)
    std::int64_t uncovered_population = 0;
    /// Along the road network (network.hpp), when MetricsOptions::network: demand point →
    /// nearest serving asset, legs included; empty if none is reachable.
    std::optional<double> net_nearest_m;
    /// Along the road network: covered / total settlement population; empty if 0.
    std::optional<double> net_pop_cov;
};

struct VillageMetrics {
    std::string code;
    std::string name;
    std::string township;
    double area_m2 = 0.0;
    std::int64_t settlement_population = 0;
    double road_km = 0.0;           ///< length of serving roads inside V
    double hardened_km = 0.0;       ///< of which surface = hardened
    double road_density = 0.0;      ///< road_km per km² of V
    std::vector<TypeMetrics> types; ///< parallel to MetricsTable::types
};

struct MetricsTable {
    std::vector<std::string> types;       ///< asset kind keys computed, in registry order
    std::vector<VillageMetrics> villages; ///< ordered by code
    bool network = false;                 ///< net_nearest_T_m and net_pop_cov_T were computed

    /// Columns of SPEC §3 keyed by `code`: code, then per type (roads included) n_T,
    /// nearest_T_m, area_cov_T, pop_cov_T, cov_T, gap_T, then road_km, hardened_km,
    /// road_density (when rural_road is computed), then with `network` per non-road type
    /// net_nearest_T_m, net_pop_cov_T.
    Rows to_rows() const;
};

/// Called with (done, total) villages.
using MetricsProgress = std::function<void(std::int64_t, std::int64_t)>;

/// Asset statuses by kind and id (kind → id → status), e.g. the picture of
/// Registry::statuses_as_of.
using AssetStatuses = std::map<std::string, std::map<std::string, std::string>>;

struct MetricsOptions {
    std::vector<std::string> types;         ///< empty = every asset kind
    std::vector<std::string> village_codes; ///< empty = every village
    int threads = 0;                        ///< 0 = hardware concurrency
    bool network = false; ///< also the network metrics (net_*) of every non-road type
    /// When set, the statuses to use instead of the stored ones: an asset missing from it is
    /// left out (not registered yet, or removed, on that date). Not for the road network of
    /// `network`, which reads the stored statuses.
    std::optional<AssetStatuses> statuses;
};

/// Computes the metrics from the registry. Throws UsageError for an unknown type.
MetricsTable compute_metrics(const Registry &registry, const MetricsConfig &config,
                             const MetricsOptions &options = {},
                             const MetricsProgress &progress = {});

/// Stores `table` as the spatial layer `village_metrics` (village polygon + every column of
/// `to_rows()`), replacing an earlier one, in one transaction. The layer then has no basis
/// (see update_metrics): the next update_metrics recomputes every village.
void write_metrics_layer(Registry &registry, const MetricsTable &table);

/// Why update_metrics recomputed every village.
enum class FullRunReason {
    none,             ///< it did not: only the villages the changes reach
    requested,        ///< asked for (`--full`)
    no_stored,        ///< no stored metrics with their basis (first run, or stored otherwise)
    network,          ///< network metrics asked for or stored: computed in full every time
    config_changed,   ///< radii, thresholds or other settings differ from the stored run's
    kinds_changed,    ///< asset types added or defined differently
    crs_changed,      ///< the working CRS differs
    villages_changed, ///< villages imported or edited since
};

/// What update_metrics recomputed.
struct MetricsUpdate {
    FullRunReason full_reason = FullRunReason::no_stored;
    /// Kinds changed since the stored run that the metrics read (asset kinds, settlement), with
    /// their change stamps now; for an incremental run, the ones it brought up to date.
    std::map<std::string, ChangeStamp> changed;
    /// Per changed kind, the villages its changes reach (incremental runs).
    std::map<std::string, std::int64_t> reached;
    std::vector<std::string> recomputed; ///< codes of the villages recomputed, sorted (incremental)
    std::int64_t villages = 0;           ///< villages in the table

    bool full() const noexcept { return full_reason != FullRunReason::none; }
};

struct UpdateOptions {
    bool full = false;    ///< recompute every village whatever changed
    bool network = false; ///< also the network metrics (always a full run)
    int threads = 0;      ///< 0 = hardware concurrency
};

struct StoredMetrics {
    MetricsTable table; ///< every village, as stored
    MetricsUpdate update;
};

/// Brings the stored `village_metrics` layer up to date and returns the whole table. The layer
/// is stored with its basis: the change stamps of the kinds it was computed from (import log;
/// on PostgreSQL also the audit log), the configuration, asset types and CRS, a snapshot of
/// every serving asset (extent, radius, geometry digest, linked village) and a digest of every
/// village's settlements. When such a basis is stored, nothing in it but asset kinds and
/// settlements changed, and neither run asks for network metrics, only the villages the
/// changes can reach are recomputed: for every asset added, removed, moved, reshaped, changed in
/// radius or surface, or starting or stopping to serve, in its old and its new version, the
/// villages whose extent comes within its radius (+ 1 mm) of its extent, its linked village,
/// and every village whose stored nearest distance of that type is empty or not shorter than
/// the distance from the village's extent (and seat) to the asset's extent; for settlements, the
/// villages whose own settlements changed (all types). Those villages get the changed types
/// (all types for settlement changes) and every other value stays as stored, so the table is
/// the one a full run computes. Otherwise every village is computed (`full_reason` says why).
StoredMetrics update_metrics(Registry &registry, const MetricsConfig &config,
                             const UpdateOptions &options = {},
                             const MetricsProgress &progress = {});

/// The uncovered part of one village for one type.
struct GapArea {
    std::string code;
    std::string name;
    double cov = 0.0;
    double uncovered_area_km2 = 0.0; ///< area of `wkb` (its drawn discs), km²
    std::int64_t uncovered_population = 0;
    std::string wkb; ///< MultiPolygon: V minus the union of the discs; may be empty
};

struct UncoveredSettlement {
    std::string id;
    std::string name;
    std::string village_code;
    std::int64_t population = 0;
    std::optional<double> nearest_m; ///< to the nearest serving asset of the type
    std::string wkb;                 ///< Point
};

struct GapReport {
    std::string type;
    std::vector<GapArea> villages;                ///< villages with gap_T, worst (lowest cov) first
    std::vector<UncoveredSettlement> settlements; ///< settlements in those villages left uncovered
    /// (code, people in uncovered settlements) of every village with some, gap or not: the
    /// `metrics` summary's uncovered_population is their sum; the gap villages' part is the
    /// sum over `villages`.
    std::vector<std::pair<std::string, std::int64_t>> uncovered_population_by_village;
};

/// A facility that is not in the registry, counted as serving for a what-if (`gaps
/// --with-sites`): e.g. a site `qiancun site` proposed.
struct ExtraAsset {
    std::string id;
    std::string wkb;                ///< Point or (Multi)Polygon, ISO WKB in the working CRS
    std::optional<double> radius_m; ///< empty: the type's radius (SPEC §3 precedence)
};

/// Villages under the threshold for `type` with their uncovered areas and settlements, with
/// `extra` counted as serving assets of `type` besides the registry's.
GapReport compute_gaps(const Registry &registry, const MetricsConfig &config,
                       const std::string &type, const std::vector<ExtraAsset> &extra = {});

/// Stores a gap report as the spatial layers `gaps_<type>` (polygons) and
/// `gaps_<type>_settlements` (points), replacing earlier ones.
void write_gap_layers(Registry &registry, const GapReport &report);

} // namespace qiancun
