#pragma once

#include "qiancun/asset_types.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// Analysis configuration: service radii, gap thresholds, disc quality and network settings
/// (including the travel speeds of service areas and routes by time).
/// Defaults come from SPEC §3 (each with its basis); a TOML file the user copies from
/// `qiancun config --print` overrides any of them.

namespace qiancun {

/// Per asset type.
struct TypeConfig {
    double radius_m = 1000.0;   ///< default service radius, metres
    std::string radius_basis;   ///< where the default comes from
    double gap_threshold = 0.9; ///< cov below this is a gap, [0, 1]
    /// Radius by 5G band ("700" → 5000 m); consulted after the asset's own radius and before
    /// `radius_m`.
    std::map<std::string, double> band_radius_m;

    bool operator==(const TypeConfig &) const = default;
};

struct MetricsConfig {
    std::map<std::string, TypeConfig> types; ///< by asset kind key
    /// Segments per quarter circle of the disc and corridor polygons drawn for gap layers and
    /// service areas (SPEC §3: at least 8). The coverage ratios use exact circles.
    int quadrant_segments = 16;
    std::vector<std::string> serving_statuses{"operating", "renovating"};
    double snap_tolerance_m = 1.0; ///< network: near-miss vertices joined within this
    double offroad_cap_m = 1000.0; ///< network: longest off-road leg that still reaches
    /// Network, travel time (service areas and routes by time only; the SPEC §3 metrics are
    /// distances): speed by road `grade`, km/h. Planning assumptions, see `to_toml`.
    std::map<std::string, double> grade_speed_kmh{
        {"county", 60.0}, {"township", 40.0}, {"village", 30.0}};
    /// … and the factor on that speed by road `surface`.
    std::map<std::string, double> surface_factor{
        {"hardened", 1.0}, {"gravel", 0.6}, {"earth", 0.4}};
    double offroad_speed_kmh = 4.0; ///< network, travel time: walking speed on off-road legs

    /// The defaults of SPEC §3 for every asset kind in `kinds` (configured kinds use their
    /// own `default_radius_m`, else 1000 m as a stated assumption).
    static MetricsConfig defaults(const std::vector<KindDef> &kinds);
    /// `defaults(kinds)` overridden by a TOML document; throws InputError naming `origin` and
    /// the line for unknown types or keys and out-of-range values.
    static MetricsConfig from_toml(std::string_view text, std::string_view origin,
                                   const std::vector<KindDef> &kinds);
    /// The configuration as a commented TOML file a user can copy and edit: every key with
    /// its value, the basis of each radius as a comment (and as `radius_basis`, which a user
    /// who changes a radius changes with it). `from_toml` reads it back unchanged.
    std::string to_toml() const;

    /// Radius of one asset (SPEC §3 precedence): own `service_radius_m` if > 0, then the band
    /// radius, then the type default. `band` is matched as a number.
    double radius_for(const std::string &type, std::optional<double> own_radius_m,
                      const std::string &band = "") const;
    /// True when assets with `status` count as serving.
    bool serves(const std::string &status) const;
    /// Travel speed of a road, km/h: the speed of its grade (no grade: "village") times the
    /// factor of its surface (no surface: 1); 0 for a grade or surface it does not know.
    double road_speed_kmh(const std::string &grade, const std::string &surface) const;

    bool operator==(const MetricsConfig &) const = default;
};

} // namespace qiancun
