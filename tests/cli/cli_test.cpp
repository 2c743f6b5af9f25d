#include "qiancun/gcj02.hpp"

#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <cpl_vsi.h>
#include <fmt/format.h>

#include <filesystem>

namespace qiancun {
namespace {

using testing::run_qiancun;
using testing::TempDir;

/// A whole file through GDAL's virtual file systems ("/vsizip/…"); empty when it cannot be read.
std::string read_vsi(const std::string &path) {
    VSILFILE *f = VSIFOpenL(path.c_str(), "rb");
    if (!f)
        return {};
    std::string out;
    char buf[65536];
    for (std::size_t n; (n = VSIFReadL(buf, 1, sizeof buf, f)) > 0;)
        out.append(buf, n);
    VSIFCloseL(f);
    return out;
}

struct Cli : ::testing::Test {
    TempDir dir;
    std::string reg = testing::test_registry(dir.path(), "county.sqlite");

    void SetUp() override {
        testing::write_vector(dir / "villages.geojson", "GeoJSON", "villages", 4549,
                              {"code", "name"},
                              {{"POLYGON ((500000 3320000, 501000 3320000, 501000 3321000, 500000 "
                                "3321000, 500000 3320000))",
                                {{"code", "330604101201"}, {"name", "东山村"}}},
                               {"POLYGON ((501000 3320000, 502000 3320000, 502000 3321000, 501000 "
                                "3321000, 501000 3320000))",
                                {{"code", "330604101202"}, {"name", "下管村"}}}});
        // Plants whose true positions are known in EPSG:4549, given as GCJ-02 lon/lat.
        std::string csv = "编号,规模,状态,lon,lat\n";
        int n = 0;
        for (auto [x, y] : {std::pair{500500.0, 3320500.0}, std::pair{501500.0, 3320500.0}}) {
            auto [lon, lat] = testing::ogr_transform(4549, 4326, x, y);
            auto g = gcj02::wgs84_to_gcj02({lon, lat});
            ++n;
            csv += fmt::format("WS{},{},运行,{:.9f},{:.9f}\n", n, 10 * n, g.lon, g.lat);
        }
        testing::write_file(dir / "plants.csv", csv);
    }
};

TEST_F(Cli, InitImportListInfoAsAPlannerWould) {
    auto r = run_qiancun({"init", reg, "--crs", "EPSG:4549"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("EPSG:4549 CGCS2000 / 3-degree Gauss-Kruger CM 120E"), std::string::npos)
        << r.out;

    r = run_qiancun({"import", reg, (dir / "villages.geojson").string(), "--as", "village"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_qiancun({"import", reg, (dir / "plants.csv").string(), "--as", "sewage_plant", "--x",
                     "lon", "--y", "lat", "--src-crs", "GCJ02", "--field", "id=编号", "--field",
                     "capacity_m3d=规模", "--field", "status=状态"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("sewage_plant"), std::string::npos);

    r = run_qiancun(
        {"list", reg, "sewage_plant", "--village", "330604101202", "--format", "csv", "--wkt"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto out = testing::split_lines(r.out);
    ASSERT_EQ(out.size(), 2u) << r.out;
    EXPECT_EQ(out[0], "id,status,service_radius_m,name,capacity_m3d,effluent_ok,built_year,"
                      "renovated_year,village_code,source_file,source_row,updated_at,wkt");
    EXPECT_EQ(out[1].substr(0, 24), "WS2,operating,,,20,,,,33");
    double x = 0, y = 0;
    ASSERT_EQ(std::sscanf(out[1].substr(out[1].find("POINT(")).c_str(), "POINT(%lf %lf)", &x, &y),
              2)
        << out[1];
    EXPECT_NEAR(x, 501500.0, 0.01);
    EXPECT_NEAR(y, 3320500.0, 0.01);

    r = run_qiancun({"info", reg, "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("\"crs\": \"EPSG:4549\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"layer\": \"sewage_plant\""), std::string::npos);

    r = run_qiancun({"info", reg});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("village"), std::string::npos);
    EXPECT_NE(r.out.find("last imports:"), std::string::npos);
}

TEST_F(Cli, BadRowFailsWithOneLineNamingFileRowAndProblem) {
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);
    testing::write_file(dir / "bad.csv",
                        "id,status,x,y\nA,operating,500100,3320100\nB,running,500200,3320200\n");
    auto r = run_qiancun({"-q", "import", reg, (dir / "bad.csv").string(), "--as", "sewage_plant",
                          "--src-crs", "EPSG:4549"});
    EXPECT_EQ(r.exit_code, 3);
    auto err = testing::split_lines(r.err);
    ASSERT_FALSE(err.empty());
    EXPECT_EQ(err.back(),
              fmt::format("qiancun: {} (layer bad), row 2: status 'running' is not one of planned, "
                          "building, operating, renovating, closed (nothing was imported)",
                          (dir / "bad.csv").string()));
    EXPECT_EQ(run_qiancun({"list", reg, "sewage_plant", "--format", "csv"}).out,
              "id,status,service_radius_m,name,capacity_m3d,effluent_ok,built_year,renovated_year,"
              "village_code,source_file,source_row,updated_at\n");
}

TEST_F(Cli, UsageErrorsAndHelp) {
    auto r = run_qiancun({"list", reg, "village"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
    ASSERT_EQ(run_qiancun({"init", reg}).exit_code, 0);
    r = run_qiancun({"list", reg, "hospital"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("unknown kind 'hospital'"), std::string::npos) << r.err;
    r = run_qiancun({"init", reg});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("already exists"), std::string::npos);
    for (const char *cmd : {"init", "import", "load", "info", "list", "export"}) {
        r = run_qiancun({cmd, "--help"});
        EXPECT_EQ(r.exit_code, 0) << cmd;
        EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd << r.out;
    }
}

TEST_F(Cli, QgisProjectIsAZipOfTheQgsWithTheRegistryRelativeToIt) {
    if (testing::registries_on_postgis())
        GTEST_SKIP() << "a file only: the project names the registry file relative to itself";
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);
    auto r = run_qiancun({"qgis-project", reg, "-o", (dir / "county.qgz").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out,
              fmt::format("wrote {} (10 layers: 设施 6 基础 4)\n", (dir / "county.qgz").string()));
    // Read back through GDAL's zip reader (braces: .qgz is not an extension it knows): one
    // .qgs naming the registry by a relative path; cultural_hall is two layers (6 facilities).
    const std::string qgs = read_vsi("/vsizip/{" + (dir / "county.qgz").string() + "}/county.qgs");
    EXPECT_NE(qgs.find("<datasource>./county.sqlite|layername=village</datasource>"),
              std::string::npos)
        << qgs.substr(0, 2000);
    EXPECT_NE(qgs.find("<authid>EPSG:4549</authid>"), std::string::npos);
    EXPECT_NE(qgs.find("<layer-tree-group name=\"基础\""), std::string::npos);
    EXPECT_EQ(qgs.find(dir.path().string()), std::string::npos) << "an absolute path";

    r = run_qiancun({"qgis-project", reg, "-o", (dir / "county.mxd").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("a QGIS project ends in .qgz or .qgs"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "county.mxd"));
    r = run_qiancun(
        {"qgis-project", (dir / "none.sqlite").string(), "-o", (dir / "none.qgz").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
}

/// Every command that takes a registry file takes a PostgreSQL URI in its place: without a
/// server there each says so in one line (exit 4, database), and a URI with a password is
/// refused before anything connects.
TEST(CliLocation, PostgresqlUriIsTakenWhereAFileIs) {
    // Port 1 of the loopback: nothing listens there.
    const std::string uri = "postgresql://planner@127.0.0.1:1/county?schema=shangyu";
    TempDir dir;
    const std::string out = (dir / "villages.gpkg").string();
    const std::string project = (dir / "county.qgz").string();
    for (const std::vector<std::string> &args :
         {std::vector<std::string>{"init", uri, "--crs", "EPSG:4549"},
          std::vector<std::string>{"info", uri}, std::vector<std::string>{"list", uri, "village"},
          std::vector<std::string>{"metrics", uri, "--format", "csv"},
          std::vector<std::string>{"indicators", uri}, std::vector<std::string>{"check", uri},
          std::vector<std::string>{"export", uri, "village", out},
          std::vector<std::string>{"qgis-project", uri, "-o", project}}) {
        const auto r = run_qiancun(args);
        EXPECT_EQ(r.exit_code, 4) << args[0] << ": " << r.err;
        EXPECT_NE(r.err.find("cannot connect to " + uri + ": "), std::string::npos)
            << args[0] << ": " << r.err;
    }
    const auto r = run_qiancun({"info", "postgresql://planner:secret@127.0.0.1/county?schema=s"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("PGPASSWORD"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("secret"), std::string::npos) << r.err;
}

} // namespace
} // namespace qiancun
