#pragma once

#include "qiancun/asset_types.hpp"
#include "qiancun/layer_styles.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// QGIS 3 layer styles (.qml) for every layer qiancun writes, so that the registry and its
/// exports open coloured: villages by recorded class with their names as labels, assets by
/// status (roads also by grade and by surface), `village_metrics` graduated red → green on a
/// coverage field (one named style per asset type), `gaps_<type>` as red semi-transparent
/// uncovered areas, `gaps_<type>_settlements` as red markers, `village_classes` categorized by
/// suggested class with the plan's Chinese names, service areas graduated in metres (or
/// minutes) with near = green. Each style gives every field an alias: the attribute's Chinese
/// label for registry tables, else its full name (a Shapefile's DBF names are short).

namespace qiancun::exporters {

enum class LayerStyle {
    village_metrics, ///< graduated fill on `cov_<type>`: 5 classes, < 50 % red … ≥ 90 % green
    gap_areas,       ///< one red semi-transparent fill
    gap_settlements, ///< one red circle marker
    village_classes, ///< categorized fill on `suggested_class`: one colour per class (SPEC §4),
                     ///< labelled 城郊融合类 … 搬迁撤并类
    service_area_lines,  ///< lines graduated on `minutes` (service areas by time), else on
                         ///< `distance_m`: classes of a round width in m (min) up to the
                         ///< layer's largest value, near dark green … far red
    service_area_buffer, ///< one blue semi-transparent fill
    sites                ///< proposed sites: one purple star marker labelled by `rank`
};

/// The style of a registry layer by its name: `village_metrics…` → village_metrics,
/// `gaps_…_settlements` → gap_settlements, any other `gaps_…` → gap_areas,
/// `village_classes…` → village_classes, `service_area_…_buffer` → service_area_buffer, any
/// other `service_area_…` → service_area_lines, `sites_…` → sites; else none.
std::optional<LayerStyle> style_for_layer(std::string_view layer);

/// The field (full name) a village_metrics style classifies by: `cov_sewage_plant` when
/// present, else the first `cov_<type>`; empty when there is none.
std::string coverage_field(const std::vector<std::string> &full_names);

/// A QGIS 3 style document (UTF-8 XML) for a layer with `fields` (full → written name, in the
/// written order, as `ExportResult::field_names`). For village_metrics the renderer classifies
/// the written name of `coverage` (a full name; empty = `coverage_field` of the fields) and
/// falls back to a plain grey fill when the layer has no coverage field. Village layers with a
/// `name` field label it from 1:250,000 inwards. `reach_max`: the largest value of the
/// service-area field (m or min), which sets the class width; unknown = 500 m (2 min) classes.
std::string layer_qml(LayerStyle style,
                      const std::vector<std::pair<std::string, std::string>> &fields,
                      const std::string &coverage = "",
                      std::optional<double> reach_max = std::nullopt,
                      const std::vector<std::pair<std::string, std::string>> &type_labels = {});

/// One QGIS style of a layer, as a row of a `layer_styles` table.
using NamedStyle = StyleRecord;

/// What a layer's styles depend on beyond its fields.
struct StyleContext {
    const KindDef *kind = nullptr; ///< the layer's kind when it is a registry kind table
    std::vector<std::pair<std::string, std::string>> type_labels; ///< asset type → Chinese name
    std::optional<double> reach_max; ///< service areas: largest distance_m (minutes)
};

/// Every style of `layer`, the default one first or flagged: a kind table gets its kind's
/// (village: "class"; settlement, urban, hazard: "default"; assets: "status", roads "grade"
/// by default plus "status" and "surface"); village_metrics one per `cov_<type>` field named
/// after it (the default as `coverage_field`); the other result layers of `style_for_layer`
/// one "default"; any other layer none.
std::vector<NamedStyle> layer_styles(std::string_view layer,
                                     const std::vector<std::pair<std::string, std::string>> &fields,
                                     const StyleContext &context = {});

/// Writes `qml` to `path` (overwriting it). Throws Error when it cannot be written.
void write_qml(const std::filesystem::path &path, const std::string &qml);

/// `s` with the five XML special characters escaped, for attribute values and text in QML and
/// QGIS project files.
std::string xml_escape(std::string_view s);

/// Stores `qml` as the default style of `layer` in the GeoPackage `gpkg` (its `layer_styles`
/// table, which QGIS reads when it opens the layer), replacing an earlier default of that
/// layer. Throws Error when the file cannot be updated.
void embed_gpkg_style(const std::filesystem::path &gpkg, const std::string &layer,
                      const std::string &qml);

/// Stores `styles` of `layer` in the GeoPackage `gpkg` (its `layer_styles` table), replacing
/// the styles qiancun stored for it before and any earlier default. Throws Error when the file
/// cannot be updated.
void embed_gpkg_styles(const std::filesystem::path &gpkg, const std::string &layer,
                       const std::vector<NamedStyle> &styles);

/// The styles of every spatial table of `registry` that has one, in registration order: kind
/// tables by their kind, result layers by `layer_styles`.
std::vector<TableStyles> registry_styles(const Registry &registry);

/// Stores the styles of every spatial table of `registry` in its `layer_styles` table (see
/// store_layer_styles), so that QGIS opens the registry coloured: kind tables by their kind,
/// result layers by `layer_styles`. Run after a command has written tables. Throws
/// DatabaseError when the registry cannot be written.
void style_registry(Registry &registry);

} // namespace qiancun::exporters
