#include "qiancun/error.hpp"
#include "qiancun/importer.hpp"
#include "qiancun/log.hpp"

#include "testing/testing.hpp"

namespace qiancun {
namespace {

using testing::TempDir;

struct ManifestFixture : ::testing::Test {
    TempDir dir;
    void SetUp() override {
        testing::write_vector(dir / "v.geojson", "GeoJSON", "v", 4549, {"代码", "村名"},
                              {{"POLYGON ((500000 3320000, 501000 3320000, 501000 3321000, 500000 "
                                "3321000, 500000 3320000))",
                                {{"代码", "330604101201"}, {"村名", "东山村"}}}});
        testing::write_file(dir / "clinics.csv",
                            "id,name,beds,x,y\nC1,东山卫生室,4,500500,3320500\n");
    }
    std::filesystem::path manifest(const std::string &extra_source) {
        testing::write_file(dir / "county.toml", R"(
[registry]
crs = "EPSG:4549"

[asset_types.clinic]
label = "村卫生室"
geometry = "point"
default_radius_m = 1500
radius_basis = "planning assumption: 15-minute walk to a village clinic"
attributes = [ { name = "name", type = "text" }, { name = "beds", type = "integer", min = 0 } ]

[[source]]
kind = "village"
path = "v.geojson"
src_crs = "EPSG:4549"
fields = { code = "代码", name = "村名" }

[[source]]
kind = "clinic"
path = "clinics.csv"
src_crs = "EPSG:4549"
x = "x"
y = "y"
defaults = { status = "operating" }
)" + extra_source);
        return dir / "county.toml";
    }
};

TEST_F(ManifestFixture, LoadsEverySourceAndAConfiguredType) {
    auto m = importers::read_manifest(manifest(""));
    ASSERT_TRUE(m.crs);
    EXPECT_EQ(m.crs->epsg, 4549);
    ASSERT_EQ(m.sources.size(), 2u);
    EXPECT_EQ(m.sources[1].source, dir / "clinics.csv");
    auto reg = Registry::create(dir / "r.sqlite", std::nullopt);
    auto reports = importers::load_manifest(reg, m);
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_EQ(reg.working_epsg(), 4549);
    EXPECT_EQ(reg.count("village"), 1);
    EXPECT_EQ(reg.count("clinic"), 1);
    auto rows = reg.list("clinic", {});
    EXPECT_EQ(std::get<std::string>(rows.rows[0][1]), "operating");
    EXPECT_EQ(std::get<std::string>(rows.rows[0][3]), "东山卫生室");
    EXPECT_EQ(std::get<std::int64_t>(rows.rows[0][4]), 4);
    const auto col =
        std::find(rows.columns.begin(), rows.columns.end(), "village_code") - rows.columns.begin();
    EXPECT_EQ(std::get<std::string>(rows.rows[0][static_cast<std::size_t>(col)]), "330604101201");
    // Loading the same manifest again updates by id.
    auto again = importers::load_manifest(reg, m);
    EXPECT_EQ(reg.count("village"), 1);
    EXPECT_EQ(reg.count("clinic"), 1);
    EXPECT_EQ(again[1].record.updated, 1);
}

TEST_F(ManifestFixture, OneBadSourceLeavesTheRegistryAsItWas) {
    testing::write_file(dir / "bad.csv",
                        "id,status,x,y\nW1,operating,500100,3320100\nW2,operating,oops,3320100\n");
    auto m = importers::read_manifest(manifest(R"(
[[source]]
kind = "sewage_plant"
path = "bad.csv"
src_crs = "EPSG:4549"
)"));
    auto reg = Registry::create(dir / "r.sqlite", std::nullopt);
    const auto before = reg.content_checksum();
    try {
        importers::load_manifest(reg, m);
        FAIL();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("bad.csv"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("row 2: coordinate x 'oops' is not a number"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(reg.content_checksum(), before);
    EXPECT_FALSE(reg.working_epsg());
    EXPECT_THROW(reg.kind("clinic"), UsageError);
    auto reopened = Registry::open(dir / "r.sqlite");
    EXPECT_FALSE(reopened.working_epsg());
}

// Sources after the first are read ahead on a second thread while the one before is written;
// what the load says and throws must still come source by source, as if read one at a time.
TEST_F(ManifestFixture, MessagesAndErrorsComeSourceBySourceWhileTheNextIsReadAhead) {
    // Source 3: a bow-tie hazard zone, repaired with a message; source 4: a bad coordinate in
    // row 2; source 5: bad in every row, never to be reported (the load stops at source 4).
    testing::write_vector(dir / "hazard.geojson", "GeoJSON", "h", 4549, {"id"},
                          {{"POLYGON ((500100 3320100, 500300 3320300, 500300 3320100, 500100 "
                            "3320300, 500100 3320100))",
                            {{"id", "H1"}}}});
    testing::write_file(dir / "bad.csv",
                        "id,status,x,y\nW1,operating,500100,3320100\nW2,operating,oops,3320100\n");
    testing::write_file(dir / "worse.csv", "id,status,x,y\nW9,operating,?,?\n");
    auto m = importers::read_manifest(manifest(R"(
[[source]]
kind = "hazard"
path = "hazard.geojson"

[[source]]
kind = "sewage_plant"
path = "bad.csv"
src_crs = "EPSG:4549"

[[source]]
kind = "sewage_plant"
path = "worse.csv"
src_crs = "EPSG:4549"
)"));
    std::vector<std::string> said;
    set_log_sink([&](LogLevel, std::string_view text) { said.emplace_back(text); });
    auto reg = Registry::create(dir / "r.sqlite", std::nullopt);
    const auto before = reg.content_checksum();
    std::vector<std::string> order;
    try {
        importers::load_manifest(reg, m, [&](std::size_t, std::size_t, const auto &s) {
            order.push_back(s.source.filename().string());
            said.push_back("source " + order.back());
        });
        FAIL() << "bad.csv was loaded";
    } catch (const InputError &e) {
        EXPECT_EQ(e.file(), (dir / "bad.csv").string());
        EXPECT_EQ(e.row(), 2);
    }
    set_log_sink({});
    EXPECT_EQ(order,
              (std::vector<std::string>{"v.geojson", "clinics.csv", "hazard.geojson", "bad.csv"}));
    // Each source's messages between its own announcement and the next one's.
    const auto at = [&](const std::string &needle) {
        for (std::size_t i = 0; i < said.size(); ++i)
            if (said[i].find(needle) != std::string::npos)
                return static_cast<std::ptrdiff_t>(i);
        return std::ptrdiff_t{-1};
    };
    const auto repaired = at("hazard.geojson, row 1:");
    const auto error = at("bad.csv, row 2: coordinate x 'oops' is not a number");
    ASSERT_GE(repaired, 0) << ::testing::PrintToString(said);
    ASSERT_GE(error, 0) << ::testing::PrintToString(said);
    EXPECT_LT(at("source hazard.geojson"), repaired);
    EXPECT_LT(repaired, at("source bad.csv"));
    EXPECT_LT(at("source bad.csv"), error);
    EXPECT_EQ(at("worse.csv"), -1) << ::testing::PrintToString(said);
    EXPECT_EQ(reg.content_checksum(), before);
}

TEST_F(ManifestFixture, ASecondListOfTheSameIdsNeedsUpdate) {
    // A later list of the same clinics from another file: a duplicate against the registry,
    // unless the manifest says that source updates them.
    testing::write_file(dir / "clinics_2025.csv",
                        "id,name,beds,x,y\nC1,东山卫生室,6,500500,3320500\n");
    const std::string later = R"(
[[source]]
kind = "clinic"
path = "clinics_2025.csv"
src_crs = "EPSG:4549"
x = "x"
y = "y"
defaults = { status = "operating" }
)";
    auto reg = Registry::create(dir / "r.sqlite", std::nullopt);
    const auto before = reg.content_checksum();
    try {
        importers::load_manifest(reg, importers::read_manifest(manifest(later)));
        FAIL() << "the second list was taken as an update";
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find(
                      "clinics_2025.csv (layer clinics_2025), row 1: id 'C1' is already in the "
                      "registry from clinics.csv (row 1)"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(reg.content_checksum(), before);

    auto m = importers::read_manifest(manifest(later + "update = true\n"));
    EXPECT_TRUE(m.sources[2].update);
    const auto reports = importers::load_manifest(reg, m);
    EXPECT_EQ(reports[2].record.updated, 1);
    EXPECT_EQ(reg.count("clinic"), 1);
    EXPECT_EQ(std::get<std::int64_t>(reg.list("clinic", {}).rows[0][4]), 6);
}

TEST_F(ManifestFixture, MalformedManifestsNameTheProblem) {
    testing::write_file(
        dir / "m.toml",
        "[[source]]\nkind = \"village\"\npath = \"v.geojson\"\nencodng = \"GBK\"\n");
    try {
        importers::read_manifest(dir / "m.toml");
        FAIL();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("[[source]] #1: unknown key 'encodng' (line 4)"),
                  std::string::npos)
            << e.what();
    }
    testing::write_file(dir / "m.toml", "[[source]]\nkind = \"village\"\n");
    EXPECT_THROW(importers::read_manifest(dir / "m.toml"), InputError);
    testing::write_file(dir / "m.toml", "[[source]\n");
    try {
        importers::read_manifest(dir / "m.toml");
        FAIL();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("m.toml: line 1"), std::string::npos) << e.what();
    }
}

TEST_F(ManifestFixture, NumbersInFieldTablesAreWholeOrRejected) {
    auto with_defaults = [&](const std::string &defaults) {
        testing::write_file(dir / "m.toml", "[[source]]\nkind = \"sewage_plant\"\npath = "
                                            "\"clinics.csv\"\ndefaults = { " +
                                                defaults + " }\n");
        return dir / "m.toml";
    };
    auto capacity = [&](const std::string &value) {
        return importers::read_manifest(with_defaults("capacity_m3d = " + value))
            .sources.at(0)
            .defaults.at("capacity_m3d");
    };
    // The TOML conversion fuzz_targets found undefined in targets files: here too, a float far
    // outside the int64 range is rejected, not converted with undefined behaviour.
    try {
        importers::read_manifest(with_defaults("capacity_m3d = 1e300"));
        FAIL();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("defaults.capacity_m3d must be a string"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_THROW(capacity("-1e300"), InputError);
    EXPECT_THROW(capacity("inf"), InputError);
    EXPECT_THROW(capacity("2.5"), InputError);
    EXPECT_EQ(capacity("4"), "4");
    EXPECT_EQ(capacity("4.0"), "4");
}

TEST_F(ManifestFixture, NamedSourcesAreFoundAndReused) {
    auto m = importers::read_manifest(manifest(R"(
[[source]]
name = "health_bureau"
kind = "clinic"
path = "clinics.csv"
src_crs = "EPSG:4549"
encoding = "GBK"
x = "x"
y = "y"
fields = { name = "名称", beds = "床位" }
defaults = { status = "运行" }
geometry_policy = "reject"
)"));
    ASSERT_EQ(m.sources.size(), 3u);
    EXPECT_EQ(m.sources[0].name, "");
    const auto &saved = importers::manifest_source(m, "health_bureau");
    EXPECT_EQ(&saved, &m.sources[2]);

    importers::ImportOptions given;
    given.source = dir / "next.csv";
    given.field_map = {{"beds", "床位数"}};
    given.defaults = {{"name", "卫生室"}};
    given.x_field = "经度";
    const auto o = importers::import_like(saved, given);
    EXPECT_EQ(o.kind, "clinic");
    EXPECT_EQ(o.source, dir / "next.csv");
    EXPECT_EQ(o.layer, "");
    EXPECT_EQ(o.field_map,
              (std::map<std::string, std::string>{{"name", "名称"}, {"beds", "床位数"}}));
    EXPECT_EQ(o.defaults,
              (std::map<std::string, std::string>{{"status", "运行"}, {"name", "卫生室"}}));
    EXPECT_EQ(o.src_crs, "EPSG:4549");
    EXPECT_EQ(o.encoding, "GBK");
    EXPECT_EQ(o.x_field, "经度");
    EXPECT_EQ(o.y_field, "y");
    EXPECT_EQ(o.policy, importers::GeometryPolicy::reject);

    given.kind = "village";
    try {
        importers::import_like(saved, given);
        ADD_FAILURE() << "a kind other than the saved one was accepted";
    } catch (const UsageError &e) {
        EXPECT_STREQ(e.what(), "--as village but the source 'health_bureau' of the manifest is "
                               "clinic");
    }
    try {
        importers::manifest_source(m, "water");
        ADD_FAILURE() << "an unknown name was found";
    } catch (const UsageError &e) {
        EXPECT_EQ(std::string(e.what()),
                  "--like water: " + (dir / "county.toml").string() +
                      " has no [[source]] named 'water'; names: health_bureau");
    }
}

TEST_F(ManifestFixture, SourceNamesAreUniqueAndNonEmpty) {
    const std::string dup = R"(
[[source]]
name = "a"
kind = "clinic"
path = "clinics.csv"

[[source]]
name = "a"
kind = "clinic"
path = "clinics.csv"
)";
    try {
        importers::read_manifest(manifest(dup));
        ADD_FAILURE() << "a duplicate name was accepted";
    } catch (const InputError &e) {
        EXPECT_EQ(e.problem(), "[[source]] #4: name 'a' is already used by another [[source]] "
                               "(line 32)");
    }
    try {
        importers::read_manifest(manifest("[[source]]\nname = 7\nkind = \"clinic\"\npath = "
                                          "\"clinics.csv\"\n"));
        ADD_FAILURE() << "a number as name was accepted";
    } catch (const InputError &e) {
        EXPECT_EQ(e.problem(), "[[source]] #3: name must be a non-empty string (line 26)");
    }
    auto m = importers::read_manifest(manifest(""));
    try {
        importers::manifest_source(m, "a");
        ADD_FAILURE();
    } catch (const UsageError &e) {
        EXPECT_THAT(e.what(), ::testing::EndsWith("has no [[source]] named 'a'; its sources have "
                                                  "no names (add name = \"…\")"));
    }
}

} // namespace
} // namespace qiancun
