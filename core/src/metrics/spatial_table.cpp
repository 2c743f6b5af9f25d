#include "metrics/spatial_table.hpp"

#include "qiancun/crs.hpp"
#include "qiancun/error.hpp"

#include <fmt/format.h>

#include "qiancun/i18n.hpp"

namespace qiancun::metrics {

std::unordered_map<std::string, std::string> village_geometries(const Registry &registry) {
    std::unordered_map<std::string, std::string> out;
    if (!registry.has_table("village"))
        return out;
    registry.scan({.table = "village",
                   .columns = {"code"},
                   .wkb = true,
                   .where = {ScanCondition::not_null("geom")}},
                  [&](const ScanRow &r) { out.emplace(r.text(0), r.wkb); });
    return out;
}

int working_srid(const Registry &registry) {
    const auto srid = registry.working_srid();
    if (!srid)
        throw UsageError(
            fmt::format(fmt::runtime(_("{} has no working CRS yet")), registry.display()));
    return *srid;
}

void require_planar_crs(const Registry &registry) {
    const auto working = registry.working_crs();
    if (!working)
        throw UsageError(
            fmt::format(fmt::runtime(_("{} has no working CRS yet")), registry.display()));
    try {
        crs::check_working(*working);
    } catch (const UsageError &e) {
        throw UsageError(
            fmt::format(fmt::runtime(_("{}: {}; distances and areas in it would be wrong, so "
                                       "create a registry with such a CRS (qiancun init --crs) and "
                                       "load the data again")),
                        registry.display(), e.what()));
    }
}

} // namespace qiancun::metrics
