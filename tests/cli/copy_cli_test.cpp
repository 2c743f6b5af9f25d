#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::registry_sql;
using testing::run_qiancun;
using testing::TempDir;
using testing::TempSchema;

/// What a planner compares after a copy: every kind's rows as `list` writes them (keys,
/// sources, times, village links, WKT) and the metrics table.
std::vector<std::string> tables_of(const std::string &registry) {
    std::vector<std::string> out;
    for (const char *kind : {"village", "settlement", "sewage_plant", "rural_road",
                             "base_station_5g", "cultural_hall", "courier_station"}) {
        const auto r = run_qiancun({"list", registry, kind, "--format", "csv", "--wkt"});
        EXPECT_EQ(r.exit_code, 0) << registry << " " << kind << ": " << r.err;
        out.push_back(r.out);
    }
    const auto metrics = run_qiancun({"metrics", registry, "--full", "--format", "csv"});
    EXPECT_EQ(metrics.exit_code, 0) << registry << ": " << metrics.err;
    out.push_back(metrics.out);
    const auto indicators =
        run_qiancun({"indicators", registry, "--as-of", "2026-09-30", "--format", "csv"});
    EXPECT_EQ(indicators.exit_code, 0) << registry << ": " << indicators.err;
    out.push_back(indicators.out);
    return out;
}

/// The rows of the registry's bookkeeping tables, read with the database's own client.
std::string bookkeeping(const std::string &registry) {
    return registry_sql(
        registry,
        "SELECT 'import_log', count(*), min(id), max(id), min(imported_at) FROM import_log; "
        "SELECT 'status_history', count(*), max(id), min(valid_from), max(valid_from) FROM "
        "status_history; SELECT 'result_layers', name, created_by, created_at FROM result_layers "
        "ORDER BY name; SELECT 'village_metrics', count(*) FROM village_metrics; "
        "SELECT 'meta', value FROM meta WHERE key = 'manifest'");
}

struct CopyCli : ::testing::Test {
    TempDir dir;
    TempSchema schema{"copy"};
    std::string file = (dir / "county.sqlite").string();

    void SetUp() override {
        const auto manifest = (testing::sample_maps_dir() / "county.toml").string();
        for (const auto &args : std::vector<std::vector<std::string>>{
                 {"init", file, "--crs", "EPSG:4549"},
                 {"load", file, manifest, "--as-of", "2026-09-30"},
                 {"metrics", file, "--format", "csv"},
                 {"classify", file, "--format", "csv"}}) {
            const auto r = run_qiancun(args);
            ASSERT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
        }
    }
};

TEST_F(CopyCli, FileToPostgisAndBackReadsTheSameEverywhere) {
    // The bookkeeping first: metrics stores its layer again, with the time of its run.
    const auto kept = bookkeeping(file);
    const std::string back = (dir / "back.sqlite").string();
    const auto there = run_qiancun({"copy", file, schema.uri()});
    ASSERT_EQ(there.exit_code, 0) << there.err;
    EXPECT_THAT(there.out, HasSubstr(fmt::format("copied {} to {}", file, schema.uri())));

    EXPECT_EQ(bookkeeping(schema.uri()), kept);
    const auto home = run_qiancun({"copy", schema.uri(), back, "--format", "csv"});
    ASSERT_EQ(home.exit_code, 0) << home.err;
    EXPECT_EQ(bookkeeping(back), kept);
    EXPECT_THAT(kept, HasSubstr("result_layers|village_classes|classify|"));

    const auto before = tables_of(file);
    EXPECT_GT(before[0].size(), 1000u);
    EXPECT_EQ(tables_of(schema.uri()), before);
    EXPECT_EQ(tables_of(back), before);
    // Counted by SQLite itself, table by table, against what copy says it moved.
    for (const char *table : {"village", "settlement", "sewage_plant", "rural_road", "import_log",
                              "status_history", "village_metrics", "village_classes"}) {
        const auto rows = registry_sql(file, fmt::format("SELECT count(*) FROM {}", table));
        EXPECT_EQ(registry_sql(back, fmt::format("SELECT count(*) FROM {}", table)), rows) << table;
        EXPECT_THAT(home.out,
                    HasSubstr(fmt::format("{},{}", table, rows.substr(0, rows.size() - 1))))
            << table;
    }
    // Styles for QGIS in both: made for the store they are in.
    EXPECT_NE(registry_sql(schema.uri(), "SELECT count(*) FROM layer_styles WHERE f_table_name = "
                                         "'village_metrics'"),
              "0\n");
    EXPECT_NE(registry_sql(back, "SELECT count(*) FROM layer_styles WHERE f_table_name = "
                                 "'village_metrics'"),
              "0\n");
    // The copy goes on as a registry: the next import continues the log.
    const auto next = run_qiancun({"info", back, "--format", "json"});
    EXPECT_EQ(next.exit_code, 0) << next.err;
}

TEST_F(CopyCli, RefusesADestinationThatHoldsDataAndLeavesIt) {
    ASSERT_EQ(run_qiancun({"copy", file, schema.uri()}).exit_code, 0);
    const auto fingerprint = testing::registry_fingerprint(schema.uri());
    const auto again = run_qiancun({"copy", file, schema.uri()});
    EXPECT_EQ(again.exit_code, 2);
    EXPECT_THAT(again.err, HasSubstr(fmt::format("{} already holds data (", schema.uri())));
    EXPECT_THAT(again.err, HasSubstr("rows in village, settlement"));
    EXPECT_EQ(testing::registry_fingerprint(schema.uri()), fingerprint);

    const auto onto_file = run_qiancun({"copy", schema.uri(), file});
    EXPECT_EQ(onto_file.exit_code, 2);
    EXPECT_THAT(onto_file.err, HasSubstr(fmt::format("{} already holds data (", file)));
    const auto other = (dir / "notes.txt").string();
    testing::write_file(other, "not a registry");
    const auto onto_other = run_qiancun({"copy", file, other});
    EXPECT_EQ(onto_other.exit_code, 2);
    EXPECT_THAT(onto_other.err, HasSubstr(fmt::format("{} already exists; copy writes a new "
                                                      "registry only",
                                                      other)));
    EXPECT_EQ(testing::read_file(other), "not a registry");
}

TEST_F(CopyCli, AFailedCopyLeavesNoDestination) {
    // A value SQLite keeps in a BOOLEAN column but PostgreSQL refuses, in the last layer.
    registry_sql(file, "UPDATE village_classes SET mismatch = 'many' WHERE fid = 1");
    const auto failed = run_qiancun({"copy", file, schema.uri()});
    EXPECT_EQ(failed.exit_code, 4) << failed.out;
    EXPECT_THAT(failed.err, HasSubstr("writing village_classes"));
    EXPECT_EQ(testing::psql(fmt::format("SELECT count(*) FROM pg_namespace WHERE nspname = '{}'",
                                        schema.name()))
                  .out,
              "0\n");
    // A schema that was there, empty, stays there, empty.
    ASSERT_EQ(testing::psql(fmt::format("CREATE SCHEMA \"{}\"", schema.name())).exit_code, 0);
    EXPECT_EQ(run_qiancun({"copy", file, schema.uri()}).exit_code, 4);
    EXPECT_EQ(testing::psql(fmt::format("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                                        "n.oid = c.relnamespace WHERE n.nspname = '{}'",
                                        schema.name()))
                  .out,
              "0\n");
    EXPECT_EQ(testing::psql(fmt::format("SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON "
                                        "n.oid = p.pronamespace WHERE n.nspname = '{}'",
                                        schema.name()))
                  .out,
              "0\n");
}

} // namespace
} // namespace qiancun
