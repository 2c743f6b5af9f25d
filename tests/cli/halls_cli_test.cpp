#include "testing/testing.hpp"

#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

// Halls keep a point column and a footprint column (SPEC §2: a point or a polygon); metrics
// measure from the footprint where there is one (SPEC §3), on the real binary and the sample
// county, against SpatiaLite SQL.

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using testing::run_qiancun;
using testing::split_lines;
using testing::TempDir;

/// Distances compared with SpatiaLite's, metres (both are GEOS on the same coordinates).
constexpr double kTolM = 1e-6;

/// Per village code, the two numbers a SpatiaLite query on `registry` gives (GDAL's SQLite
/// driver loads SpatiaLite); the query selects code, then the two numbers.
std::map<std::string, std::pair<double, double>> sql_pairs(const fs::path &registry,
                                                           const std::string &sql) {
    GDALAllRegister();
    const char *const drivers[] = {"SQLite", nullptr};
    GDALDatasetUniquePtr ds(
        GDALDataset::Open(registry.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, nullptr));
    if (!ds)
        throw std::runtime_error("GDAL cannot open " + registry.string());
    OGRLayer *result = ds->ExecuteSQL(sql.c_str(), nullptr, nullptr);
    if (!result)
        throw std::runtime_error("SQL failed: " + sql);
    std::map<std::string, std::pair<double, double>> out;
    for (const auto &f : *result)
        out[f->GetFieldAsString(0)] = {f->GetFieldAsDouble(1), f->GetFieldAsDouble(2)};
    ds->ReleaseResultSet(result);
    return out;
}

TEST(HallsCliSample, NearestHallIsMeasuredToTheFootprintAsSpatialiteMeasuresIt) {
    TempDir dir;
    const fs::path reg = dir / "county.sqlite";
    auto r = run_qiancun({"init", reg.string(), "--crs", "EPSG:4549"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_qiancun({"load", reg.string(), (testing::sample_maps_dir() / "county.toml").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_qiancun({"metrics", reg.string(), "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = split_lines(r.out);
    ASSERT_EQ(lines.size(), 301u);
    const auto header = testing::csv_fields(lines[0]);
    const auto at = std::find(header.begin(), header.end(), "nearest_cultural_hall_m");
    ASSERT_NE(at, header.end());
    const auto column = static_cast<std::size_t>(at - header.begin());

    // From each village's demand point (its seat, else the point-on-surface of its polygon) to
    // the nearest serving hall: to its footprint where it has one, and to its point.
    const std::string demand = "CASE WHEN v.seat_x IS NOT NULL AND v.seat_y IS NOT NULL THEN "
                               "MakePoint(v.seat_x, v.seat_y, 4549) ELSE ST_PointOnSurface(v.geom) "
                               "END";
    const auto expected = sql_pairs(
        reg, fmt::format("SELECT v.code, (SELECT MIN(ST_Distance({0}, COALESCE(h.footprint_geom, "
                         "h.geom))) FROM cultural_hall h WHERE h.status IN ('operating', "
                         "'renovating')), (SELECT MIN(ST_Distance({0}, h.geom)) FROM cultural_hall "
                         "h WHERE h.status IN ('operating', 'renovating')) FROM village v",
                         demand));
    ASSERT_EQ(expected.size(), 300u);
    int nearer_by_footprint = 0;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const auto cells = testing::csv_fields(lines[i]);
        const auto &[to_footprint, to_point] = expected.at(cells[0]);
        EXPECT_NEAR(std::stod(cells[column]), to_footprint, kTolM) << cells[0];
        nearer_by_footprint += to_point - to_footprint > 1.0;
    }
    // The footprints matter on the sample county: measured to the points, these villages
    // would read farther.
    EXPECT_EQ(nearer_by_footprint, 86);
}

} // namespace
} // namespace qiancun
