#pragma once

#include "gdal_source.hpp"
#include "qiancun/importer.hpp"

#include <string>
#include <utility>
#include <vector>

/// How the fields of a source feed a kind's attributes: shared by import and inspect.

namespace qiancun::importers::detail {

/// prepare_import; `fixed` is the registry's working CRS when the caller knows it is fixed:
/// the registry is then not asked, so that a source can be read ahead on another thread
/// without touching the store (which is not thread-safe).
PreparedImport prepare(const Registry &registry, const ImportOptions &options,
                       const Progress &progress, std::optional<crs::Definition> working,
                       const std::optional<crs::Definition> &fixed);

/// Index of `name` among `fields`: the exact name, else ASCII case-insensitive; -1 = none.
int find_field(const std::vector<std::string> &fields, const std::string &name);

/// Where one attribute's values come from.
struct AttributeMatch {
    int index = -1;      ///< source field, -1 = none
    const char *by = ""; ///< "option" (--field), "name", "label"; "" = none
};

/// Per attribute of `kind`: the --field mapping when given, else the field of the same name,
/// else the field named like its label (代码 …). No checks.
std::vector<AttributeMatch> match_attributes(const KindDef &kind,
                                             const std::vector<std::string> &fields,
                                             const ImportOptions &options);

/// The coordinate columns of a table: --x/--y when given, else (for a source without geometry)
/// the first of lon/lng/longitude/x/经度 and lat/latitude/y/纬度; -1 = none.
std::pair<int, int> coordinate_columns(const std::vector<std::string> &fields,
                                       const ImportOptions &options, bool has_geometry);

/// Which source column feeds each attribute, and where coordinates come from.
struct FieldPlan {
    std::vector<int> source_index; ///< per attribute, -1 = none
    int x = -1;                    ///< coordinate columns of a table source
    int y = -1;
    int seat_x = -1; ///< attribute indices of a village's seat
    int seat_y = -1;
};

/// The plan an import uses; throws UsageError/InputError (naming the file and the fields) when a
/// --field names no attribute or no field, a village has no code, or a table has no coordinate
/// columns.
FieldPlan plan_fields(const KindDef &kind, const GdalSource &src, const ImportOptions &opt);

} // namespace qiancun::importers::detail
