// Bulk writes into the SpatiaLite store: with SpatiaLite's per-row triggers taken down while
// the rows go in, the table must end up exactly as a row-by-row write leaves it (R*Tree,
// village links, triggers), a geometry the column does not take must still be refused, and a
// failure must leave table, index and triggers as they were.
#include "qiancun/error.hpp"
#include "qiancun/geometry.hpp"
#include "qiancun/registry.hpp"

#include "testing/sqlite_file.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <map>
#include <string>
#include <vector>

namespace qiancun {
namespace {

using testing::SqliteFile;
using testing::TempDir;

/// Every row of `sql`, its columns joined by '|'.
std::vector<std::string> rows(sqlite3 *db, const std::string &sql) {
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
        throw std::runtime_error(sqlite3_errmsg(db));
    std::vector<std::string> out;
    while (sqlite3_step(st) == SQLITE_ROW) {
        std::string line;
        for (int i = 0; i < sqlite3_column_count(st); ++i) {
            const auto *t = sqlite3_column_text(st, i);
            if (i > 0)
                line += '|';
            line += t ? reinterpret_cast<const char *>(t) : "NULL";
        }
        out.push_back(std::move(line));
    }
    sqlite3_finalize(st);
    return out;
}

Feature village(std::int64_t row, const std::string &code, double x0) {
    const auto &k = builtin_kinds().front();
    Feature f;
    f.row = row;
    f.values.assign(k.attributes.size(), Value{});
    f.values[0] = code;
    f.values[1] = std::string("村") + code.back();
    f.wkb = geometry::check(geometry::wkb_from_wkt(fmt::format(
                                "POLYGON(({0} 3320000, {1} 3320000, {1} 3321000, {0} 3321000, "
                                "{0} 3320000))",
                                x0, x0 + 1000)),
                            GeometryKind::polygon, false)
                .wkb;
    return f;
}

/// 3,000 sewage plants on a 60 × 50 grid, 50 m apart in x from 499,500 to 502,450 and 20 m
/// in y from 3,320,010 to 3,320,990, over the two 1 km villages ...201 (x 500,000–501,000) and
/// ...202 (x 501,000–502,000): 21 columns (x 500,000 … 501,000, the shared border to the
/// smaller code) × 50 = 1,050 in ...201, 20 columns (501,050 … 502,000) × 50 = 1,000 in ...202,
/// 19 columns × 50 = 950 in none.
std::vector<Feature> grid_plants(const std::string &prefix = "P") {
    const auto &k = builtin_kinds()[4];
    std::vector<Feature> out;
    for (int i = 0; i < 60; ++i)
        for (int j = 0; j < 50; ++j) {
            Feature f;
            f.row = static_cast<std::int64_t>(out.size()) + 1;
            f.values.assign(k.attributes.size(), Value{});
            f.values[0] = fmt::format("{}{:04}", prefix, f.row);
            f.values[1] = std::string("operating");
            f.wkb = geometry::wkb_from_wkt(
                fmt::format("POINT ({} {})", 499500 + 50 * i, 3320010 + 20 * j));
            out.push_back(std::move(f));
        }
    return out;
}

ImportRecord record(const std::string &kind) {
    ImportRecord r;
    r.kind = kind;
    r.source = "plants.src";
    return r;
}

Registry two_villages(const std::filesystem::path &file) {
    Registry reg = Registry::create(file, 4549);
    std::vector<Feature> v{village(1, "330604101202", 501000), village(2, "330604101201", 500000)};
    Registry::Transaction tx(reg);
    auto rec = record("village");
    reg.write(reg.kind("village"), v, WriteMode::upsert, rec);
    tx.commit();
    return reg;
}

void write(Registry &reg, std::span<const Feature> features, WriteMode mode) {
    Registry::Transaction tx(reg);
    auto rec = record("sewage_plant");
    reg.write(reg.kind("sewage_plant"), features, mode, rec);
    reg.link_villages("sewage_plant");
    tx.commit();
}

const std::string kIndex = "SELECT pkid, xmin, xmax, ymin, ymax FROM idx_sewage_plant_geom "
                           "ORDER BY pkid";
const std::string kTriggers = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND "
                              "tbl_name = 'sewage_plant' ORDER BY name";

TEST(BulkWrite, LeavesTheSameIndexLinksAndTriggersAsARowByRowWrite) {
    TempDir dir;
    const auto plants = grid_plants();
    auto bulk = two_villages(dir / "bulk.sqlite");
    write(bulk, plants, WriteMode::upsert); // 3,000 rows at once: the bulk path
    auto by_row = two_villages(dir / "rows.sqlite");
    for (std::size_t i = 0; i < plants.size(); i += 100) // 100 at a time: SpatiaLite's triggers
        write(by_row, std::span(plants).subspan(i, 100), WriteMode::upsert);

    SqliteFile b(dir / "bulk.sqlite"), r(dir / "rows.sqlite");
    EXPECT_EQ(rows(b.get(), kIndex).size(), 3000u);
    EXPECT_EQ(rows(b.get(), kIndex), rows(r.get(), kIndex));
    const auto triggers = rows(b.get(), kTriggers);
    EXPECT_EQ(triggers.size(), 8u); // ggi ggu gii giu gid tmi tmu tmd
    EXPECT_EQ(triggers, rows(r.get(), kTriggers));
    EXPECT_EQ(rows(b.get(), "SELECT CheckSpatialIndex('sewage_plant', 'geom')"),
              std::vector<std::string>{"1"});
    // The index answers a window query: the 21 columns x 500,000 … 501,000, 50 rows each.
    EXPECT_EQ(rows(b.get(), "SELECT count(*) FROM sewage_plant WHERE ROWID IN (SELECT ROWID FROM "
                            "SpatialIndex WHERE f_table_name = 'sewage_plant' AND search_frame = "
                            "BuildMbr(500000, 3320000, 501000, 3321000))"),
              std::vector<std::string>{"1050"});
    const std::vector<std::string> links{"NULL|950", "330604101201|1050", "330604101202|1000"};
    const std::string by_village = "SELECT village_code, count(*) FROM sewage_plant "
                                   "GROUP BY village_code ORDER BY village_code";
    EXPECT_EQ(rows(b.get(), by_village), links);
    EXPECT_EQ(rows(r.get(), by_village), links);
    EXPECT_EQ(rows(b.get(), "SELECT count(*) FROM geometry_columns_time WHERE f_table_name = "
                            "'sewage_plant' AND last_insert IS NOT NULL"),
              std::vector<std::string>{"1"});

    // Moving the villages moves the links of rows written in bulk.
    {
        Registry::Transaction tx(bulk);
        auto rec = record("village");
        std::vector<Feature> v{village(1, "330604101202", 500000),
                               village(2, "330604101201", 499000)};
        bulk.write(bulk.kind("village"), v, WriteMode::replace, rec);
        bulk.link_villages();
        tx.commit();
    }
    EXPECT_EQ(rows(b.get(), by_village),
              (std::vector<std::string>{"NULL|1450", "330604101201|550", "330604101202|1000"}));
}

TEST(BulkWrite, RefusesAGeometryTheColumnDoesNotTakeAndLeavesEverythingAsItWas) {
    TempDir dir;
    auto reg = two_villages(dir / "r.sqlite");
    write(reg, grid_plants(), WriteMode::upsert);
    SqliteFile db(dir / "r.sqlite");
    const auto checksum = reg.content_checksum();
    const auto index = rows(db.get(), kIndex);
    const auto triggers = rows(db.get(), kTriggers);

    auto plants = grid_plants("Q"); // 3,000 more, replacing: the bulk path
    plants[2999].wkb = geometry::wkb_from_wkt("POLYGON((500100 3320100, 500200 3320100, "
                                              "500200 3320200, 500100 3320100))");
    try {
        write(reg, plants, WriteMode::replace);
        FAIL() << "a polygon went into the point column";
    } catch (const InputError &e) {
        EXPECT_EQ(e.row(), 3000);
        EXPECT_STREQ(e.what(), "plants.src, row 3000: sewage_plant.geom violates Geometry "
                               "constraint [geom-type or SRID not allowed]");
    }
    EXPECT_EQ(reg.content_checksum(), checksum);
    EXPECT_EQ(rows(db.get(), kIndex), index);
    EXPECT_EQ(rows(db.get(), kTriggers), triggers);
    EXPECT_EQ(rows(db.get(), "SELECT CheckSpatialIndex('sewage_plant', 'geom')"),
              std::vector<std::string>{"1"});
}

} // namespace
} // namespace qiancun
