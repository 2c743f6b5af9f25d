#pragma once

#include "ffi/geos.hpp"
#include "metrics/dataset.hpp"
#include "metrics/sweep.hpp"
#include "qiancun/metrics.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

/// The SPEC §3 metrics of one village against every loaded asset layer. One evaluator per
/// thread: it owns GEOS geometries of that thread's context and reads the shared Dataset only.

namespace qiancun::metrics {

/// What a gap report needs beyond TypeMetrics; filled only for a village with a gap.
struct GapDetail {
    /// Area of `uncovered_wkb`: the drawn polygon's own area, so that the attribute matches
    /// what a GIS measures on the geometry (area_cov uses exact circles), m².
    double uncovered_area_m2 = 0.0;
    std::string uncovered_wkb; ///< MultiPolygon: the village minus the union of the discs
    /// Settlements of the village that no serving asset reaches, with the distance to the
    /// nearest serving asset (empty when there is none), metres.
    std::vector<std::pair<std::uint32_t, std::optional<double>>> uncovered_settlements;
};

class VillageEvaluator {
public:
    /// `quadrant_segments` ≥ 1 segments per quarter circle for the disc and corridor polygons of
    /// gap layers (the ratios use exact circles).
    VillageEvaluator(const Dataset &data, int quadrant_segments, ffi::GeosContext &ctx);

    /// Metrics of village `index` for every layer of the dataset (TypeMetrics parallel to
    /// `Dataset::layers`). With `gaps` (parallel to the layers), layers where the village has
    /// a gap get their GapDetail.
    VillageMetrics evaluate(std::uint32_t index, std::vector<GapDetail> *gaps = nullptr);

private:
    struct Village;

    TypeMetrics evaluate_layer(const AssetLayer &layer, const Village &v, VillageMetrics &out,
                               GapDetail *gap);
    /// Share of the village within reach of the layer's assets (exact circles, CoverageSweep).
    double covered_fraction(const AssetLayer &layer, const Village &v,
                            const std::vector<std::uint32_t> &candidates);
    /// The village minus the layer's discs and corridors drawn as polygons with
    /// `quadrant_segments`: the uncovered parts a gap layer shows.
    ffi::GeosGeometry uncovered(const AssetLayer &layer, const Village &v,
                                const std::vector<std::uint32_t> &candidates);
    /// Exact distance from (x, y) to asset `i` of `layer`, metres.
    double distance_to(const AssetLayer &layer, std::uint32_t i, double x, double y,
                       const GEOSGeometry *point);
    /// Distance from (x, y) to the nearest asset of `layer`; empty when the layer has none.
    std::optional<double> nearest(const AssetLayer &layer, double x, double y);
    /// A disc polygon of `radius_m` around (0, 0): point buffers are costly to build, moving
    /// a copy is not.
    const GEOSGeometry *disc_at_origin(double radius_m);
    /// The geometry of line or polygon asset `i` when it comes within its radius of the
    /// village, else null.
    const GEOSGeometry *reaching_geometry(const AssetLayer &layer, const Village &v,
                                          std::uint32_t i);
    /// The asset's geometry in this thread's context (cached per layer and village).
    const GEOSGeometry *geometry(const AssetLayer &layer, std::uint32_t i);

    const Dataset &m_data;
    int m_quadrant_segments;
    double m_disc_scale; ///< radius factor making a point's disc polygon as large as its circle
    ffi::GeosContext &m_ctx;
    std::unordered_map<std::uint32_t, ffi::GeosGeometry> m_geometry_cache;
    std::unordered_map<double, ffi::GeosGeometry> m_discs; ///< by radius, around (0, 0)
    CoverageSweep m_sweep;                                 ///< the current village's rows
};

} // namespace qiancun::metrics
