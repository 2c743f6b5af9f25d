#pragma once

#include "qiancun/registry.hpp"

#include <string>
#include <unordered_map>
#include <vector>

/// Helpers for the result layers that analysis commands store in the registry through
/// Registry::create_result_layer.

namespace qiancun::metrics {

/// One attribute column of a result layer.
using ColumnDef = ResultColumn;

/// Every village's geometry (ISO WKB, working CRS) by code, for result layers drawn on the
/// villages; villages without a geometry are left out.
std::unordered_map<std::string, std::string> village_geometries(const Registry &registry);

/// The registry's working CRS as an SRID; UsageError when no import has fixed it yet.
int working_srid(const Registry &registry);

/// UsageError unless the registry's working CRS is fixed and fit for planar metrics
/// (crs::check_working): a registry made before that check with a geographic or Web Mercator
/// CRS is refused rather than read as metres.
void require_planar_crs(const Registry &registry);

} // namespace qiancun::metrics
