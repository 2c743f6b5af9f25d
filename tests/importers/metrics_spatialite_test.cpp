#include "qiancun/config.hpp"
#include "qiancun/importer.hpp"
#include "qiancun/metrics.hpp"

#include "testing/testing.hpp"

#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <fmt/format.h>

#include <cstdlib>
#include <map>
#include <optional>

// The independent cross-check of issue 3: area_cov and pop_cov of the sample county computed
// by SpatiaLite SQL (through GDAL's SQLite driver, which loads SpatiaLite) on the same
// registry, against compute_metrics. Nothing of the engine is shared: SpatiaLite draws its own
// discs (ST_Buffer, 32 segments per quarter circle, 0.04 % short of a circle), unions them
// (ST_Union aggregate), intersects and measures (ST_Intersection, ST_Area); pop_cov uses exact
// distances (ST_Distance) and places settlements in villages by the border rule in SQL.

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

/// SPEC §3: every ratio within 0.01 of exact circles.
constexpr double kRatioTol = 0.01;
/// Segments per quarter circle of the reference discs.
constexpr int kReferenceQuadrantSegments = 32;
/// SPEC §3 border rule: within 1 mm of several villages → the smallest code.
constexpr double kBorderTolM = 1e-3;

/// The manifest of the committed sample county; `QIANCUN_SAMPLE_MANIFEST` may name another.
std::optional<fs::path> sample_manifest() {
    if (const char *env = std::getenv("QIANCUN_SAMPLE_MANIFEST"); env && *env)
        return fs::path(env);
    const fs::path committed = testing::sample_maps_dir() / "county.toml";
    if (fs::exists(committed))
        return committed;
    return std::nullopt;
}

struct Reference {
    double area_cov = 0.0;
    std::optional<double> pop_cov;
};

/// One type's area_cov and pop_cov per village code, by SQL only. `default_radius_m` is the
/// SPEC §3 type default; an asset's own service_radius_m > 0 takes precedence.
std::map<std::string, Reference>
spatialite_coverage(const fs::path &registry, const std::string &type, double default_radius_m) {
    GDALAllRegister();
    const char *const drivers[] = {"SQLite", nullptr};
    GDALDatasetUniquePtr ds(
        GDALDataset::Open(registry.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, nullptr));
    if (!ds)
        throw std::runtime_error("GDAL cannot open " + registry.string());
    const std::string radius = fmt::format(
        "(CASE WHEN a.service_radius_m > 0 THEN a.service_radius_m ELSE {} END)", default_radius_m);
    const std::string serving = "a.status IN ('operating', 'renovating')";
    // The village of a settlement: the smallest code among villages within 1 mm (an MBR test
    // first so that ST_Distance runs on a few candidates).
    const std::string village_of = fmt::format(
        "(SELECT MIN(w.code) FROM village w"
        " WHERE MbrMinX(w.geom) <= X(s.geom) + {0} AND MbrMaxX(w.geom) >= X(s.geom) - {0}"
        "   AND MbrMinY(w.geom) <= Y(s.geom) + {0} AND MbrMaxY(w.geom) >= Y(s.geom) - {0}"
        "   AND ST_Distance(w.geom, s.geom) <= {0})",
        kBorderTolM);
    const std::string sql = fmt::format(
        "WITH discs AS ("
        "  SELECT ST_Union(ST_Buffer(a.geom, {radius}, {qs})) AS g FROM \"{type}\" a"
        "  WHERE {serving}),"
        " placed AS ("
        "  SELECT COALESCE(s.population, 0) AS population, {village_of} AS code,"
        "   EXISTS (SELECT 1 FROM \"{type}\" a WHERE {serving}"
        "           AND ST_Distance(s.geom, a.geom) <= {radius}) AS covered"
        "  FROM settlement s),"
        " pop AS ("
        "  SELECT code, TOTAL(population) AS total,"
        "   TOTAL(CASE WHEN covered THEN population ELSE 0 END) AS covered"
        "  FROM placed WHERE code IS NOT NULL GROUP BY code)"
        " SELECT v.code AS code,"
        "  COALESCE(ST_Area(ST_Intersection(v.geom, (SELECT g FROM discs))), 0)"
        "   / ST_Area(v.geom) AS area_cov,"
        "  COALESCE(p.total, 0) AS pop_total, COALESCE(p.covered, 0) AS pop_covered"
        " FROM village v LEFT JOIN pop p ON p.code = v.code ORDER BY v.code",
        fmt::arg("radius", radius), fmt::arg("qs", kReferenceQuadrantSegments),
        fmt::arg("type", type), fmt::arg("serving", serving), fmt::arg("village_of", village_of));
    CPLErrorReset();
    OGRLayer *result = ds->ExecuteSQL(sql.c_str(), nullptr, nullptr);
    if (!result)
        throw std::runtime_error(fmt::format("SQL failed: {}\n{}", CPLGetLastErrorMsg(), sql));
    std::map<std::string, Reference> out;
    for (const auto &f : *result) {
        Reference r;
        r.area_cov = f->GetFieldAsDouble("area_cov");
        const double total = f->GetFieldAsDouble("pop_total");
        if (total > 0)
            r.pop_cov = f->GetFieldAsDouble("pop_covered") / total;
        out[f->GetFieldAsString("code")] = r;
    }
    ds->ReleaseResultSet(result);
    if (CPLGetLastErrorType() == CE_Failure)
        throw std::runtime_error(fmt::format("SQL failed: {}\n{}", CPLGetLastErrorMsg(), sql));
    return out;
}

struct SpatiaLiteCrossCheck : ::testing::Test {
    TempDir dir;
    fs::path registry_path = dir / "county.sqlite";

    void SetUp() override {
        const auto manifest = sample_manifest();
        ASSERT_TRUE(manifest) << "no sample county at "
                              << testing::sample_maps_dir() / "county.toml";
        auto m = importers::read_manifest(*manifest);
        auto registry = m.crs ? Registry::create(registry_path, *m.crs)
                              : Registry::create(registry_path, std::nullopt);
        importers::load_manifest(registry, m);
    }
};

TEST_F(SpatiaLiteCrossCheck, SampleCountyAreaAndPopulationCoverageAgreeWithSql) {
    const auto registry = Registry::open(registry_path, true);
    const auto config = MetricsConfig::defaults(registry.kinds());
    MetricsOptions options;
    // SPEC §3 defaults, written out so that the reference does not read the engine's config.
    const std::vector<std::pair<std::string, double>> types{{"sewage_plant", 1000.0},
                                                            {"courier_station", 2000.0}};
    for (const auto &[type, radius_m] : types)
        options.types.push_back(type);
    const MetricsTable table = compute_metrics(registry, config, options);
    ASSERT_EQ(table.types.size(), types.size());
    ASSERT_EQ(static_cast<std::int64_t>(table.villages.size()), registry.count("village"));
    ASSERT_GT(table.villages.size(), 10u);

    for (std::size_t t = 0; t < types.size(); ++t) {
        const auto &[type, radius_m] = types[t];
        ASSERT_EQ(table.types[t], type);
        const auto reference = spatialite_coverage(registry_path, type, radius_m);
        ASSERT_EQ(reference.size(), table.villages.size()) << type;
        int with_population = 0;
        int partly_covered = 0;
        for (const auto &v : table.villages) {
            SCOPED_TRACE(fmt::format("{} village {} {}", type, v.code, v.name));
            const auto it = reference.find(v.code);
            ASSERT_NE(it, reference.end());
            const TypeMetrics &m = v.types[t];
            EXPECT_NEAR(m.area_cov, it->second.area_cov, kRatioTol);
            ASSERT_EQ(m.pop_cov.has_value(), it->second.pop_cov.has_value());
            if (m.pop_cov) {
                EXPECT_NEAR(*m.pop_cov, *it->second.pop_cov, kRatioTol);
                EXPECT_DOUBLE_EQ(m.cov, *m.pop_cov);
                ++with_population;
            } else {
                EXPECT_DOUBLE_EQ(m.cov, m.area_cov);
            }
            partly_covered += it->second.area_cov > 0.01 && it->second.area_cov < 0.99;
        }
        // The check means something only if the sample has villages of every kind.
        EXPECT_GT(with_population, 0) << type;
        EXPECT_GT(partly_covered, 0) << type;
    }
}

} // namespace
} // namespace qiancun
