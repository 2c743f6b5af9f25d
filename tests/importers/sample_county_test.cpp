#include "qiancun/importer.hpp"

#include "testing/testing.hpp"

#include <gdal_priv.h>
#include <nlohmann/json.hpp>
#include <ogrsf_frmts.h>

#include <filesystem>
#include <set>
#include <string>

namespace qiancun {
namespace {

using testing::TempDir;

/// The committed sample county loads whole, and every layer holds what the generator wrote.
TEST(SampleCounty, ManifestLoadsAndCountsMatchTheGenerator) {
    TempDir dir;
    const auto manifest = importers::read_manifest(testing::sample_maps_dir() / "county.toml");
    auto reg = Registry::create(dir / "county.sqlite", std::nullopt);
    const auto reports = importers::load_manifest(reg, manifest);
    EXPECT_EQ(reports.size(), manifest.sources.size());
    EXPECT_EQ(reg.working_epsg(), 4549);

    const auto counts =
        nlohmann::json::parse(testing::read_file(testing::sample_maps_dir() / "counts.json"));
    ASSERT_FALSE(counts.empty());
    for (const auto &[kind, n] : counts.items())
        EXPECT_EQ(reg.count(kind), n.get<std::int64_t>()) << kind;
    for (const auto &r : reports)
        EXPECT_EQ(r.record.rows_read, counts.at(r.record.kind).get<std::int64_t>())
            << r.record.kind;

    // Every settlement lies inside a village (the generator keeps them 1 m off the borders).
    ListFilter all;
    const auto settlements = reg.list("settlement", all);
    const auto col =
        std::find(settlements.columns.begin(), settlements.columns.end(), "village_code") -
        settlements.columns.begin();
    for (const auto &row : settlements.rows)
        EXPECT_FALSE(std::holds_alternative<std::monostate>(row[static_cast<std::size_t>(col)]))
            << std::get<std::string>(row[0]);

    // Loading the same manifest again changes no counts.
    importers::load_manifest(reg, manifest);
    for (const auto &[kind, n] : counts.items())
        EXPECT_EQ(reg.count(kind), n.get<std::int64_t>()) << kind;
}

/// sample_maps/ is the generator's output, byte for byte: regenerating it changes nothing, so
/// what the tests pin on the sample county can be made again from the source. The hand-written
/// files (rules, targets, indicators) are the only others there.
TEST(SampleCounty, CommittedFilesAreTheGeneratorsOutput) {
    TempDir dir;
    const auto out = dir / "sample_maps";
    const auto r = testing::run_command(
        {QIANCUN_SAMPLE_GENERATOR, "--out", out.string(), "--seed", "20231", "--villages", "300"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto committed = testing::sample_maps_dir();
    std::set<std::string> generated;
    for (const auto &entry : std::filesystem::directory_iterator(out)) {
        const std::string name = entry.path().filename().string();
        generated.insert(name);
        SCOPED_TRACE(name);
        ASSERT_TRUE(std::filesystem::exists(committed / name));
        std::string want = testing::read_file(entry.path());
        if (name == "README.md") // it quotes the command that made it
            want.replace(want.find(out.string()), out.string().size(), "sample_maps");
        EXPECT_TRUE(want == testing::read_file(committed / name))
            << "regenerate: make_sample_maps --out sample_maps --seed 20231 --villages 300";
    }
    EXPECT_EQ(generated.size(), 26u);
    for (const auto &entry : std::filesystem::directory_iterator(committed)) {
        const std::string name = entry.path().filename().string();
        EXPECT_TRUE(generated.count(name) || name == "rules.toml" || name == "targets.toml" ||
                    name == "indicators.toml")
            << name << " is in sample_maps/ but the generator does not write it";
    }
}

/// The GBK village names arrive intact: compare with GDAL reading the .dbf as CP936 itself.
TEST(SampleCounty, GbkVillageNamesMatchGdalsOwnDecoding) {
    TempDir dir;
    auto reg = Registry::create(dir / "county.sqlite", std::nullopt);
    importers::load_manifest(reg,
                             importers::read_manifest(testing::sample_maps_dir() / "county.toml"));
    const auto expected =
        testing::read_vector(testing::sample_maps_dir() / "villages.shp", "", {"ENCODING=CP936"});
    ASSERT_EQ(expected.size(), 300u);
    std::map<std::string, std::string> name_by_code;
    for (const auto &row : reg.list("village", {}).rows)
        name_by_code[std::get<std::string>(row[0])] = std::get<std::string>(row[1]);
    for (const auto &e : expected)
        EXPECT_EQ(name_by_code.at(e.at("代码")), e.at("村名"));
}

} // namespace
} // namespace qiancun
