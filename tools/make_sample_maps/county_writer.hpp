#pragma once

#include "county_generator.hpp"

#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

/// Writes a generated county in the formats departments hand to planners.
namespace qiancun::sample {

/// Feature count per registry kind key ("village", "settlement", "rural_road", …), in the
/// order of the manifest; exactly what `write_county` writes and counts.json records.
std::vector<std::pair<std::string, std::size_t>> feature_counts(const County &county);

struct WriteOptions {
    std::filesystem::path out_dir;
    std::string command; ///< the generator command line, quoted in README.md
};

/// Writes villages.shp (GBK, no .cpg), settlements.shp, roads.gpkg, sewage_plants.csv (GCJ-02),
/// base_stations_5g.xlsx, cultural_halls.geojson, courier_stations.kml, clinics.geojson,
/// urban.geojson, hazard_zones.geojson, county.toml, counts.json and README.md into
/// `out_dir` (created if missing, files replaced). No timestamps of the run end up in the
/// files, so the same county gives the same bytes.
/// Throws std::runtime_error when GDAL fails or a coordinate falls outside 118.5–121.5°E
/// (the area of use of EPSG:4549).
void write_county(const County &county, const WriteOptions &options);

} // namespace qiancun::sample
