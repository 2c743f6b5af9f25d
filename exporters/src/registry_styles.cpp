#include "qiancun/qml.hpp"

#include "qiancun/layer_styles.hpp"
#include "qiancun/registry.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace qiancun::exporters {

std::vector<TableStyles> registry_styles(const Registry &registry) {
    std::vector<std::pair<std::string, std::string>> type_labels;
    for (const auto &k : registry.kinds())
        type_labels.emplace_back(k.key, k.label);
    std::vector<TableStyles> tables;
    for (const auto &layer : spatial_layers(registry)) {
        StyleContext context;
        context.type_labels = type_labels;
        for (const auto &k : registry.kinds())
            if (k.key == layer.table)
                context.kind = &k;
        std::vector<std::pair<std::string, std::string>> fields;
        for (const auto &c : layer.columns)
            fields.emplace_back(c, c);
        if (style_for_layer(layer.table) == LayerStyle::service_area_lines && !context.kind) {
            const bool minutes = std::find(layer.columns.begin(), layer.columns.end(),
                                           std::string("minutes")) != layer.columns.end();
            context.reach_max =
                column_max(registry, layer.table, minutes ? "minutes" : "distance_m");
        }
        auto styles = layer_styles(layer.table, fields, context);
        if (!styles.empty())
            tables.push_back({layer.table, layer.geometry_column, std::move(styles)});
    }
    return tables;
}

void style_registry(Registry &registry) {
    store_layer_styles(registry, registry_styles(registry));
}

} // namespace qiancun::exporters
