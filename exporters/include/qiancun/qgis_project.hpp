#pragma once

#include "qiancun/location.hpp"

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

/// A QGIS 3 project over a registry: every spatial layer, styled and labelled as in the
/// registry's `layer_styles`, with Chinese names, grouped 设施 (the asset kinds), 分析 (metrics,
/// classes, gaps, service areas) and 基础 (villages, settlements, urban area, hazard zones), in
/// the registry's CRS, the registry referenced by a path relative to the project (a file) or by
/// its PostgreSQL connection without a password (a schema).

namespace qiancun::exporters {

struct QgisProjectOptions {
    Location registry;            ///< a SpatiaLite file or a PostgreSQL schema
    std::filesystem::path output; ///< `.qgz` (zipped, what QGIS saves by default) or `.qgs`
};

/// One layer of the project as written.
struct ProjectLayer {
    std::string group; ///< 设施, 分析 or 基础
    std::string name;  ///< the Chinese name in the layer tree
    /// The layer's data source: OGR's, relative to the project ("./county.sqlite|…"), or
    /// QGIS's postgres provider's ("dbname='…' host=… port=… user='…' … table="s"."t" (geom)").
    std::string source;
    bool visible = true;
};

struct QgisProjectResult {
    std::vector<ProjectLayer> layers; ///< in layer-tree order, top first
};

/// Writes the project (overwriting `output`). The tables of a registry file are read through the
/// OGR provider QGIS uses when a `.sqlite` file is added, those of a PostgreSQL registry through
/// QGIS's postgres provider (host, port, database, user and schema of the URI; libpq finds the
/// password in PGPASSWORD or ~/.pgpass, else QGIS asks for it); a table holding points and
/// footprints (cultural_hall) becomes two layers, 点位 and 范围. The layers of 分析 that cover
/// others (classes, gap areas, service-area buffers) start hidden. Throws UsageError for another
/// extension or a registry without working CRS, DatabaseError when the registry cannot be read,
/// Error when the file cannot be written.
QgisProjectResult write_qgis_project(const QgisProjectOptions &options);

} // namespace qiancun::exporters
