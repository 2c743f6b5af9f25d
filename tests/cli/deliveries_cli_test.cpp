#include "testing/testing.hpp"
#include "testing/zip_writer.hpp"

#include <fmt/format.h>

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using testing::run_qiancun;
using testing::TempDir;

struct Deliveries : ::testing::Test {
    TempDir dir;
    std::string reg = (dir / "county.sqlite").string();
    fs::path sample = testing::sample_maps_dir();
};

TEST_F(Deliveries, ZipWithTwoShapefilesAsAPlannerGetsIt) {
    auto entries = testing::entries_of(sample, "villages", "county");
    for (auto &e : testing::entries_of(sample, "settlements", "county"))
        entries.push_back(e);
    testing::write_zip(dir / "delivery.zip", entries);
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);

    auto r = run_qiancun({"import", reg, (dir / "delivery.zip").string(), "--as", "village"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.err, fmt::format("qiancun: {}: the archive holds several vector files: "
                                 "county/settlements.shp, county/villages.shp; choose one with "
                                 "--layer (e.g. --layer settlements)\n",
                                 (dir / "delivery.zip").string()));

    r = run_qiancun({"import", reg, (dir / "delivery.zip").string(), "--as", "village", "--layer",
                     "villages", "--encoding", "GBK", "--field", "code=代码", "--field",
                     "name=村名"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, ::testing::HasSubstr("read    300  new    300"));
    r = run_qiancun({"import", reg, (dir / "delivery.zip").string(), "--as", "settlement",
                     "--layer", "settlements.shp"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, ::testing::HasSubstr("read   1803  new   1803"));
}

} // namespace
} // namespace qiancun
