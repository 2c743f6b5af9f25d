#include "qiancun/layer_styles.hpp"

#include "qiancun/registry.hpp"

namespace qiancun {

std::vector<SpatialLayer> spatial_layers(const Registry &registry) {
    return registry.spatial_layers();
}

std::optional<double> column_max(const Registry &registry, std::string_view table,
                                 std::string_view column) {
    return registry.column_max(table, column);
}

void store_layer_styles(Registry &registry, const std::vector<TableStyles> &tables) {
    registry.save_layer_styles(tables);
}

} // namespace qiancun
