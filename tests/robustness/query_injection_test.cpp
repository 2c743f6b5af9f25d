#include "robustness.hpp"

#include "qiancun/importer.hpp"
#include "qiancun/registry.hpp"

#include <fmt/format.h>

#include <map>

/// User-supplied filters (`export --where`, `list --village`/`--status`) are parsed or bound,
/// never pasted into SQL: classic injections are refused (no village or status has that text,
/// SPEC §8) or match nothing, and every table survives them unchanged.

namespace qiancun {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

const std::vector<std::string> kInjections{
    "'; DROP TABLE village; --",
    "' OR '1'='1",
    "1=1 OR",
    "330604101201' OR 1=1 --",
    "x\"; DELETE FROM meta; --",
    "1) UNION SELECT name, sql FROM sqlite_master --",
    "code = '330604101201') OR (1=1",
    "1=1 UNION SELECT * FROM import_log",
    "(SELECT COUNT(*) FROM meta) > 0",
    "code IN (SELECT code FROM village)",
    "load_extension('/tmp/evil.so')",
    "'\\'; ATTACH DATABASE '/tmp/x.db' AS x; --",
};

/// The injections GDAL's OGR SQL parser reads as a plain filter on the layer, with the ids they
/// select from the two plants A and B (its "OR 1=1" holds for every row).
const std::map<std::string, std::vector<std::string>> kParsedAsFilters{
    {"330604101201' OR 1=1 --", {"A", "B"}},
};

class QueryInjectionTest : public ::testing::Test {
protected:
    void SetUp() override {
        reg = dir / "r.sqlite";
        auto r = Registry::create(reg, 4549);
        testing::write_vector(dir / "v.geojson", "GeoJSON", "v", 4549, {"code", "name"},
                              {{"POLYGON ((500000 3320000, 501000 3320000, 501000 3321000, 500000 "
                                "3321000, 500000 3320000))",
                                {{"code", "330604101201"}, {"name", "东山村"}}}});
        importers::ImportOptions v;
        v.kind = "village";
        v.source = dir / "v.geojson";
        importers::import_file(r, v);
        testing::write_file(dir / "p.csv", "id,status,x,y\nA,operating,500500,3320500\n"
                                           "B,building,500600,3320600\n");
        importers::ImportOptions p;
        p.kind = "sewage_plant";
        p.source = dir / "p.csv";
        p.src_crs = "EPSG:4549";
        importers::import_file(r, p);
        before = r.content_checksum();
    }
    void expect_unchanged() {
        EXPECT_EQ(testing::checksum(reg), before) << "a table changed";
        EXPECT_EQ(testing::integrity_check(reg), "ok");
    }
    TempDir dir;
    fs::path reg;
    std::string before;
};

TEST_F(QueryInjectionTest, ListVillageAndStatusAreBoundNotPasted) {
    for (const auto &bad : kInjections) {
        SCOPED_TRACE(bad);
        for (const char *kind : {"village", "sewage_plant"}) {
            auto r = testing::run_qiancun(
                {"list", reg.string(), kind, "--village", bad, "--format", "csv"});
            // No code or name equals the injected text: an unknown village, not rows.
            EXPECT_EQ(r.exit_code, 2) << r.err;
            EXPECT_EQ(r.out, "");
            EXPECT_THAT(r.err, ::testing::HasSubstr("no village has the code or name"));
        }
        auto r = testing::run_qiancun(
            {"list", reg.string(), "sewage_plant", "--status", bad, "--format", "csv"});
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_EQ(r.out, "");
        EXPECT_THAT(r.err, ::testing::HasSubstr("is not one of planned, building, operating"));
        r = testing::run_qiancun(
            {"list", reg.string(), "sewage_plant", "--township", bad, "--format", "csv"});
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_THAT(r.err, ::testing::HasSubstr("no township"));
    }
    // The bound values still select: the village by code and by name, the status as imported.
    auto r = testing::run_qiancun({"list", reg.string(), "sewage_plant", "--village", "东山村",
                                   "--status", "在建", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(testing::split_lines(r.out).size(), 2u) << r.out;
    EXPECT_EQ(testing::split_lines(r.out)[1].substr(0, 2), "B,");
    expect_unchanged();
}

TEST_F(QueryInjectionTest, ExportWhereIsParsedAndInjectionsAreRefused) {
    int refused = 0, matched_nothing = 0;
    for (const auto &bad : kInjections) {
        SCOPED_TRACE(bad);
        const auto out = dir / "out.csv";
        auto r = testing::run_qiancun(
            {"export", reg.string(), "sewage_plant", out.string(), "--where", bad});
        if (r.exit_code == 0) {
            // A filter GDAL's parser accepts selects rows of this layer only, exactly those
            // its reading of the text selects.
            ASSERT_TRUE(kParsedAsFilters.count(bad)) << "unexpectedly accepted";
            std::vector<std::string> ids;
            for (const auto &row : testing::read_vector(out))
                ids.push_back(row.at("id"));
            EXPECT_EQ(ids, kParsedAsFilters.at(bad));
            ++matched_nothing;
        } else {
            EXPECT_FALSE(kParsedAsFilters.count(bad)) << r.err;
            EXPECT_EQ(r.exit_code, 2) << r.err;
            EXPECT_THAT(r.err, ::testing::HasSubstr("--where"));
            ++refused;
        }
    }
    std::cout << fmt::format("{} injections refused, {} parsed as plain filters\n", refused,
                             matched_nothing);
    EXPECT_EQ(matched_nothing, static_cast<int>(kParsedAsFilters.size()));
    EXPECT_EQ(refused, static_cast<int>(kInjections.size() - kParsedAsFilters.size()));
    // A well-formed filter still works.
    auto r = testing::run_qiancun({"export", reg.string(), "sewage_plant",
                                   (dir / "ok.csv").string(), "--where", "status = 'building'"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto rows = testing::read_vector(dir / "ok.csv");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].at("id"), "B");
    expect_unchanged();
}

} // namespace
} // namespace qiancun
