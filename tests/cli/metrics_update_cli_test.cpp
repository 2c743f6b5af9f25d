#include "testing/testing.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>

#include <regex>

// `qiancun metrics` after an import recomputes only the villages the import reaches, says so,
// and stores exactly what a full run stores.

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::read_file;
using testing::run_qiancun;
using testing::TempDir;

TEST(MetricsUpdateCli, AnImportOfChangedPlantsGivesTheFullRunsNumbersByteForByte) {
    TempDir dir;
    const std::string reg = (dir / "county.sqlite").string();
    const std::string manifest = (testing::sample_maps_dir() / "county.toml").string();
    auto r = run_qiancun({"init", reg, "--crs", "EPSG:4549"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_qiancun({"load", reg, manifest}); // imports 1–10
    ASSERT_EQ(r.exit_code, 0) << r.err;

    const auto metrics = [&](const std::string &csv, std::vector<std::string> more = {}) {
        std::vector<std::string> args{"metrics", reg, "-o", (dir / csv).string()};
        args.insert(args.end(), more.begin(), more.end());
        auto result = run_qiancun(args);
        EXPECT_EQ(result.exit_code, 0) << result.err;
        return result;
    };
    r = metrics("before.csv");
    EXPECT_THAT(r.err, HasSubstr("computed all 300 villages (no stored metrics to update)\n"));
    r = metrics("same.csv");
    EXPECT_THAT(r.err, HasSubstr("recomputed 0 of 300 villages: nothing they depend on changed "
                                 "since the stored run; --full to recompute all\n"));
    EXPECT_EQ(read_file(dir / "same.csv"), read_file(dir / "before.csv"));

    // One plant added, one moved, one switched between operating and closed, one removed.
    const fs::path changed = dir / "sewage_plants.csv";
    testing::write_changed_sample_plants(changed);
    r = run_qiancun({"import", reg, changed.string(), "--like", "water_bureau", "--manifest",
                     manifest, "--replace"}); // import 17: the manifest has 16 sources
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = metrics("incremental.csv");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.err, m,
                                  std::regex("recomputed ([0-9]+) of 300 villages for sewage_plant "
                                             "\\(import 17\\); --full to recompute all\n")))
        << r.err;
    const int recomputed = std::stoi(m[1]);
    EXPECT_GT(recomputed, 4); // each change reaches at least its own village and a neighbour
    EXPECT_LT(recomputed, 60);

    r = metrics("full.csv", {"--full"});
    EXPECT_THAT(r.err, HasSubstr("computed all 300 villages (--full)\n"));
    const std::string full = read_file(dir / "full.csv");
    EXPECT_EQ(read_file(dir / "incremental.csv"), full);
    EXPECT_NE(full, read_file(dir / "before.csv")); // the change changed numbers

    // Importing last month's list again brings back last month's numbers, said in Chinese.
    r = run_qiancun({"import", reg, (testing::sample_maps_dir() / "sewage_plants.csv").string(),
                     "--like", "water_bureau", "--manifest", manifest, "--replace"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = metrics("back.csv", {"--lang", "zh"});
    EXPECT_THAT(r.err, HasSubstr(fmt::format("因 sewage_plant（导入 18）重算了 300 个村中的 {} 个；"
                                             "--full 重算全部\n",
                                             recomputed)));
    EXPECT_EQ(read_file(dir / "back.csv"), read_file(dir / "before.csv"));
}

TEST(MetricsUpdateCli, NetworkMetricsAndNewRadiiRecomputeEveryVillageAndSaySo) {
    TempDir dir;
    const std::string reg = (dir / "county.sqlite").string();
    testing::write_two_square_villages(dir / "villages.geojson");
    auto r = run_qiancun({"init", reg, "--crs", "EPSG:4549"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_qiancun({"import", reg, (dir / "villages.geojson").string(), "--as", "village"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_qiancun({"metrics", reg});
    EXPECT_THAT(r.err, HasSubstr("computed all 2 villages (no stored metrics to update)\n"));
    r = run_qiancun({"metrics", reg, "--network"});
    EXPECT_THAT(r.err, HasSubstr("computed all 2 villages: network metrics are always computed in "
                                 "full (a changed road or asset can shorten routes anywhere)\n"));
    r = run_qiancun({"metrics", reg});
    EXPECT_THAT(r.err, HasSubstr("computed all 2 villages: network metrics"));
    testing::write_file(dir / "radii.toml", "[types.sewage_plant]\nradius_m = 800\n");
    r = run_qiancun({"metrics", reg, "--config", (dir / "radii.toml").string()});
    EXPECT_THAT(r.err, HasSubstr("computed all 2 villages: radii, thresholds or other settings "
                                 "differ from the stored run's\n"));
    r = run_qiancun({"import", reg, (dir / "villages.geojson").string(), "--as", "village"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_qiancun({"metrics", reg, "--config", (dir / "radii.toml").string()});
    EXPECT_THAT(r.err, HasSubstr("computed all 2 villages: villages were imported or edited since "
                                 "the stored run\n"));
}

} // namespace
} // namespace qiancun
