#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// QGIS 3 layer styles (.qml) for the metric layers, so that an export opens coloured:
/// `village_metrics` graduated red → green on a coverage field, `gaps_<type>` as red
/// semi-transparent uncovered areas, `gaps_<type>_settlements` as red markers and
/// `village_classes` categorized by suggested class with the plan's Chinese names. Each style
/// gives every field an alias with its full name (a Shapefile's DBF names are short).

namespace qiancun::exporters {

enum class LayerStyle {
    village_metrics, ///< graduated fill on `cov_<type>`: 5 classes, < 50 % red … ≥ 90 % green
    gap_areas,       ///< one red semi-transparent fill
    gap_settlements, ///< one red circle marker
    village_classes, ///< categorized fill on `suggested_class`: one colour per class (SPEC §4),
                     ///< labelled 城郊融合类 … 搬迁撤并类
    service_area_lines, ///< lines graduated on `minutes` (service areas by time), else on
                        ///< `distance_m`, relative to the layer's largest: 5 classes, near
                        ///< dark green … far red
    service_area_buffer ///< one blue semi-transparent fill
};

/// The style of a registry layer by its name: `village_metrics…` → village_metrics,
/// `gaps_…_settlements` → gap_settlements, any other `gaps_…` → gap_areas,
/// `village_classes…` → village_classes, `service_area_…_buffer` → service_area_buffer, any
/// other `service_area_…` → service_area_lines; else none.
std::optional<LayerStyle> style_for_layer(std::string_view layer);

/// The field (full name) a village_metrics style classifies by: `cov_sewage_plant` when
/// present, else the first `cov_<type>`; empty when there is none.
std::string coverage_field(const std::vector<std::string> &full_names);

/// A QGIS 3 style document (UTF-8 XML) for a layer with `fields` (full → written name, in the
/// written order, as `ExportResult::field_names`). For village_metrics the renderer classifies
/// the written name of `coverage` (a full name; empty = `coverage_field` of the fields) and
/// falls back to a plain grey fill when the layer has no coverage field.
std::string layer_qml(LayerStyle style,
                      const std::vector<std::pair<std::string, std::string>> &fields,
                      const std::string &coverage = "");

/// Writes `qml` to `path` (overwriting it). Throws Error when it cannot be written.
void write_qml(const std::filesystem::path &path, const std::string &qml);

/// Stores `qml` as the default style of `layer` in the GeoPackage `gpkg` (its `layer_styles`
/// table, which QGIS reads when it opens the layer), replacing an earlier default of that
/// layer. Throws Error when the file cannot be updated.
void embed_gpkg_style(const std::filesystem::path &gpkg, const std::string &layer,
                      const std::string &qml);

} // namespace qiancun::exporters
