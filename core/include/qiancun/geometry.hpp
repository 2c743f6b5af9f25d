#pragma once

#include "qiancun/asset_types.hpp"

#include <string>
#include <string_view>

/// Geometry checks and conversions on WKB, backed by GEOS (C API, reentrant).

namespace qiancun::geometry {

/// Outcome of `check`: either a geometry to store, or the reason it is rejected.
struct CheckResult {
    std::string wkb;     ///< ISO WKB, cast to the kind's storage type (Multi* for polygons
                         ///< and lines); empty when rejected
    std::string problem; ///< why it is rejected (non-empty = reject)
    std::string repair;  ///< what was wrong and repaired (non-empty = repaired)
};

/// Checks one geometry for a kind: null/empty is rejected; a type that does not fit the
/// kind is rejected; an invalid polygon is repaired with GEOSMakeValid when `repair` is
/// set (rejected if the repair leaves no polygon), else rejected, naming the GEOS reason
/// and location.
CheckResult check(std::string_view wkb, GeometryKind kind, bool repair);

/// WKT → ISO WKB; throws Error on a parse failure.
std::string wkb_from_wkt(std::string_view wkt);
/// WKB → WKT with `precision` decimals (trailing zeros trimmed).
std::string wkt_from_wkb(std::string_view wkb, int precision = 3);

} // namespace qiancun::geometry
