#include "qiancun/error.hpp"
#include "qiancun/geometry.hpp"
#include "qiancun/metrics.hpp"
#include "qiancun/registry.hpp"

#include "testing/sqlite_file.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>

namespace qiancun {
namespace {

using testing::TempDir;

Feature village(std::int64_t row, const std::string &code, const std::string &wkt) {
    const auto &k = builtin_kinds().front();
    Feature f;
    f.row = row;
    f.values.assign(k.attributes.size(), Value{});
    f.values[0] = code;
    f.values[1] = "村" + code.substr(9);
    f.wkb = geometry::check(geometry::wkb_from_wkt(wkt), GeometryKind::polygon, false).wkb;
    return f;
}

Feature plant(std::int64_t row, const std::string &id, double x, double y,
              const std::string &status = "operating") {
    const auto &k = builtin_kinds()[4];
    Feature f;
    f.row = row;
    f.values.assign(k.attributes.size(), Value{});
    f.values[0] = id;
    f.values[1] = status;
    f.wkb = geometry::wkb_from_wkt(fmt::format("POINT ({} {})", x, y));
    return f;
}

ImportRecord record(const std::string &kind) {
    ImportRecord r;
    r.kind = kind;
    r.source = "test.src";
    return r;
}

// Two 1 km squares sharing the border x = 501000; codes ...201 (west) and ...202 (east).
struct TwoVillages : ::testing::Test {
    TempDir dir;
    Registry reg = Registry::create(dir / "r.sqlite", 4549);
    void SetUp() override {
        std::vector<Feature> v{village(1, "330604101202",
                                       "POLYGON((501000 3320000, 502000 3320000, 502000 3321000, "
                                       "501000 3321000, 501000 3320000))"),
                               village(2, "330604101201",
                                       "POLYGON((500000 3320000, 501000 3320000, 501000 3321000, "
                                       "500000 3321000, 500000 3320000))")};
        Registry::Transaction tx(reg);
        auto rec = record("village");
        reg.write(reg.kind("village"), v, WriteMode::upsert, rec);
        tx.commit();
    }
};

TEST(Registry, CreatesSpatiaLiteTablesWithIndexes) {
    TempDir dir;
    auto reg = Registry::create(dir / "r.sqlite", 4549);
    EXPECT_EQ(reg.working_epsg(), 4549);
    const qiancun::testing::SqliteFile file(reg.path());
    sqlite3 *db = file.get();
    for (const auto &k : builtin_kinds()) {
        sqlite3_stmt *st = nullptr;
        ASSERT_EQ(sqlite3_prepare_v2(db,
                                     "SELECT srid, spatial_index_enabled FROM geometry_columns "
                                     "WHERE f_table_name = ? AND f_geometry_column = 'geom'",
                                     -1, &st, nullptr),
                  SQLITE_OK);
        sqlite3_bind_text(st, 1, k.key.c_str(), -1, SQLITE_TRANSIENT);
        ASSERT_EQ(sqlite3_step(st), SQLITE_ROW) << k.key;
        EXPECT_EQ(sqlite3_column_int(st, 0), 4549) << k.key;
        EXPECT_EQ(sqlite3_column_int(st, 1), 1) << k.key;
        sqlite3_finalize(st);
    }
}

TEST(Registry, RefusesToOverwriteOrOpenWhatIsNotARegistry) {
    TempDir dir;
    Registry::create(dir / "r.sqlite", 4549);
    EXPECT_THROW(Registry::create(dir / "r.sqlite", 4549), UsageError);
    testing::write_file(dir / "x.sqlite", "not a database at all, just text");
    EXPECT_THROW(Registry::open(dir / "x.sqlite"), DatabaseError);
    try {
        Registry::open(dir / "missing.sqlite");
        FAIL();
    } catch (const UsageError &e) {
        EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos);
    }
}

TEST(Registry, WorkingCrsIsFixedOnce) {
    TempDir dir;
    auto reg = Registry::create(dir / "r.sqlite", std::nullopt);
    EXPECT_FALSE(reg.working_epsg());
    reg.set_working_epsg(4549);
    EXPECT_THROW(reg.set_working_epsg(4550), UsageError);
    auto again = Registry::open(dir / "r.sqlite");
    EXPECT_EQ(again.working_epsg(), 4549);
}

/// Runs one SQL statement with an integer or text result on `db`; "" for NULL or no row.
std::string sql_value(sqlite3 *db, const std::string &sql) {
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
        return "(error: " + std::string(sqlite3_errmsg(db)) + ")";
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        out = reinterpret_cast<const char *>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

constexpr const char *kTmerc1205 =
    "+proj=tmerc +lat_0=0 +lon_0=120.5 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs";

TEST(Registry, GeographicAndWebMercatorCrsAreRefusedAndNoFileIsLeft) {
    TempDir dir;
    for (int epsg : {4490, 4326, 3857}) {
        try {
            Registry::create(dir / "r.sqlite", epsg);
            FAIL() << epsg;
        } catch (const UsageError &e) {
            EXPECT_NE(std::string(e.what()).find("e.g. EPSG:4549 for 120E"), std::string::npos)
                << e.what();
        }
        EXPECT_FALSE(std::filesystem::exists(dir / "r.sqlite")) << epsg;
    }
    auto reg = Registry::create(dir / "r.sqlite", std::nullopt);
    EXPECT_THROW(reg.set_working_epsg(4490), UsageError);
    EXPECT_FALSE(reg.working_srid());
    EXPECT_FALSE(Registry::open(dir / "r.sqlite").working_srid());
}

TEST(Registry, CustomCrsIsRegisteredUnderAFreeSridAndKeptAcrossOpens) {
    TempDir dir;
    const auto custom = crs::parse(kTmerc1205);
    {
        auto reg = Registry::create(dir / "r.sqlite", custom);
        EXPECT_FALSE(reg.working_epsg());
        EXPECT_EQ(reg.working_srid(), 900001);
        const qiancun::testing::SqliteFile file(reg.path());
        sqlite3 *db = file.get();
        EXPECT_EQ(sql_value(db, "SELECT srid FROM geometry_columns WHERE f_table_name = 'village'"),
                  "900001");
        EXPECT_EQ(sql_value(db, "SELECT proj4text FROM spatial_ref_sys WHERE srid = 900001"),
                  "+proj=tmerc +lat_0=0 +lon_0=120.5 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 "
                  "+units=m");
        EXPECT_NE(sql_value(db, "SELECT srtext FROM spatial_ref_sys WHERE srid = 900001")
                      .find("PARAMETER[\"central_meridian\",120.5]"),
                  std::string::npos);
    }
    auto reg = Registry::open(dir / "r.sqlite");
    EXPECT_EQ(reg.working_srid(), 900001);
    ASSERT_TRUE(reg.working_crs());
    EXPECT_TRUE(crs::same(*reg.working_crs(), custom));
    EXPECT_NO_THROW(reg.set_working_crs(crs::parse(custom.wkt))); // the same CRS again
    EXPECT_THROW(reg.set_working_epsg(4549), UsageError);
}

TEST(Registry, RegistryThatStoresOnlyAnEpsgCodeStillOpens) {
    TempDir dir;
    {
        auto reg = Registry::create(dir / "r.sqlite", 4549);
        // As registries were written before custom CRSs: the code alone.
        ASSERT_EQ(sqlite3_exec(qiancun::testing::SqliteFile(reg.path()).get(),
                               "DELETE FROM meta WHERE key IN ('crs_srid', 'crs_wkt', 'crs_name')",
                               nullptr, nullptr, nullptr),
                  SQLITE_OK);
    }
    auto reg = Registry::open(dir / "r.sqlite");
    EXPECT_EQ(reg.working_epsg(), 4549);
    EXPECT_EQ(reg.working_srid(), 4549);
    ASSERT_TRUE(reg.working_crs());
    EXPECT_EQ(reg.working_crs()->name, "CGCS2000 / 3-degree Gauss-Kruger CM 120E");
    EXPECT_EQ(reg.info().crs_name, "CGCS2000 / 3-degree Gauss-Kruger CM 120E");
}

TEST(Registry, MetricsRefuseARegistryWhoseCrsIsGeographic) {
    TempDir dir;
    {
        auto reg = Registry::create(dir / "r.sqlite", 4549);
        // A registry made before the check, in CGCS2000 lon/lat.
        ASSERT_EQ(sqlite3_exec(qiancun::testing::SqliteFile(reg.path()).get(),
                               "UPDATE meta SET value = '4490' WHERE key IN ('crs_epsg', "
                               "'crs_srid'); DELETE FROM meta WHERE key IN ('crs_wkt', 'crs_name')",
                               nullptr, nullptr, nullptr),
                  SQLITE_OK);
    }
    auto reg = Registry::open(dir / "r.sqlite");
    try {
        compute_metrics(reg, MetricsConfig::defaults(reg.kinds()));
        FAIL() << "metrics on degrees";
    } catch (const UsageError &e) {
        EXPECT_NE(std::string(e.what()).find("EPSG:4490 China Geodetic Coordinate System 2000 "
                                             "cannot be the working CRS: it is geographic"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(TwoVillages, InfoGivesTheWorstScaleErrorOfTheData) {
    // Zone 40 (CM 120E) is exact on its central meridian (x = 500000) and grows with the
    // distance from it: plant B, 150 km east, is the worst place of the data.
    std::vector<Feature> p{plant(1, "A", 501500.0, 3320500.0), plant(2, "B", 650000.0, 3320000.0)};
    Registry::Transaction tx(reg);
    auto rec = record("sewage_plant");
    reg.write(reg.kind("sewage_plant"), p, WriteMode::upsert, rec);
    tx.commit();
    const auto info = reg.info();
    ASSERT_TRUE(info.scale_error);
    EXPECT_EQ(info.scale_error->geometries, 4);
    EXPECT_EQ(info.scale_error->layer, "sewage_plant");
    const auto [lon, lat] = testing::ogr_transform(4549, 4490, 650000.0, 3320000.0);
    EXPECT_NEAR(info.scale_error->lon, lon, 1e-9);
    EXPECT_NEAR(info.scale_error->lat, lat, 1e-9);
    // Transverse Mercator at x metres from its meridian: k = 1 + x²/(2ρν) + x⁴/(24ρ²ν²), with
    // the radii of curvature ρ, ν of CGCS2000 at the point's latitude (Snyder, eq. 8-12).
    const double a = 6378137.0, f = 1 / 298.257222101, e2 = f * (2 - f);
    const double s = std::sin(lat * 0.017453292519943295);
    const double nu = a / std::sqrt(1 - e2 * s * s);
    const double rho = a * (1 - e2) / std::pow(1 - e2 * s * s, 1.5);
    const double x = 150000.0;
    // 2e-8: proj_factors differentiates numerically (see crs_test.cpp).
    EXPECT_NEAR(info.scale_error->error,
                x * x / (2 * rho * nu) + std::pow(x, 4) / (24 * rho * rho * nu * nu), 2e-8);
}

TEST_F(TwoVillages, BorderPointBelongsToTheSmallestCode) {
    std::vector<Feature> p{plant(1, "A", 501000.0, 3320500.0),    // on the shared border
                           plant(2, "B", 501000.0005, 3320500.0), // 0.5 mm inside the east
                           plant(3, "C", 501000.01, 3320500.0),   // 10 mm inside the east
                           plant(4, "D", 500500.0, 3320500.0),    // west
                           plant(5, "E", 499000.0, 3320500.0)};   // outside every village
    Registry::Transaction tx(reg);
    auto rec = record("sewage_plant");
    reg.write(reg.kind("sewage_plant"), p, WriteMode::upsert, rec);
    reg.link_villages();
    tx.commit();
    auto rows = reg.list("sewage_plant", {});
    std::map<std::string, std::string> link;
    const auto col =
        std::find(rows.columns.begin(), rows.columns.end(), "village_code") - rows.columns.begin();
    for (const auto &r : rows.rows)
        link[std::get<std::string>(r[0])] = value_to_text(r[static_cast<std::size_t>(col)]);
    EXPECT_EQ(link["A"], "330604101201");
    EXPECT_EQ(link["B"], "330604101201");
    EXPECT_EQ(link["C"], "330604101202");
    EXPECT_EQ(link["D"], "330604101201");
    EXPECT_EQ(link["E"], "");
}

TEST_F(TwoVillages, UpsertUpdatesByIdAndReplaceSwapsEverything) {
    auto write = [&](std::vector<Feature> f, WriteMode mode) {
        Registry::Transaction tx(reg);
        auto rec = record("sewage_plant");
        reg.write(reg.kind("sewage_plant"), f, mode, rec);
        tx.commit();
        return rec;
    };
    auto r1 =
        write({plant(1, "A", 500100, 3320100), plant(2, "B", 500200, 3320200)}, WriteMode::upsert);
    EXPECT_EQ(r1.inserted, 2);
    auto r2 = write({plant(1, "A", 500100, 3320100, "closed"), plant(2, "B", 500200, 3320200)},
                    WriteMode::upsert);
    EXPECT_EQ(r2.inserted, 0);
    EXPECT_EQ(r2.updated, 2);
    EXPECT_EQ(reg.count("sewage_plant"), 2);
    ListFilter closed;
    closed.status = "closed";
    EXPECT_EQ(reg.list("sewage_plant", closed).rows.size(), 1u);
    write({plant(1, "Z", 500300, 3320300)}, WriteMode::replace);
    EXPECT_EQ(reg.count("sewage_plant"), 1);
    EXPECT_EQ(reg.info().last_imports.size(), 4u);
}

TEST_F(TwoVillages, DuplicateIdIsAnErrorAndRollsBack) {
    const auto before = reg.content_checksum();
    try {
        Registry::Transaction tx(reg);
        auto rec = record("sewage_plant");
        reg.write(
            reg.kind("sewage_plant"),
            std::vector<Feature>{plant(1, "A", 500100, 3320100), plant(7, "A", 500200, 3320200)},
            WriteMode::upsert, rec);
        tx.commit();
        FAIL();
    } catch (const InputError &e) {
        EXPECT_EQ(e.row(), 7);
        EXPECT_STREQ(e.what(),
                     "test.src, row 7: id 'A' appears twice in the source (rows 1 and 7)");
    }
    EXPECT_EQ(reg.content_checksum(), before);
}

TEST_F(TwoVillages, ListByVillageUsesTheLinkAndGeometry) {
    {
        Registry::Transaction tx(reg);
        auto rec = record("sewage_plant");
        reg.write(
            reg.kind("sewage_plant"),
            std::vector<Feature>{plant(1, "A", 500100, 3320100), plant(2, "B", 501500, 3320500)},
            WriteMode::upsert, rec);
        reg.link_villages();
        tx.commit();
    }
    ListFilter f;
    f.village_code = "330604101202";
    f.with_wkt = true;
    auto rows = reg.list("sewage_plant", f);
    ASSERT_EQ(rows.rows.size(), 1u);
    EXPECT_EQ(std::get<std::string>(rows.rows[0][0]), "B");
    EXPECT_TRUE(testing::geometry_near(std::get<std::string>(rows.rows[0].back()),
                                       "POINT (501500 3320500)", testing::kTolM));
}

TEST_F(TwoVillages, InfoReportsCountsAndExtent) {
    auto info = reg.info();
    EXPECT_EQ(info.epsg, 4549);
    EXPECT_NE(info.crs_name.find("Gauss-Kruger CM 120E"), std::string::npos);
    const auto &v = info.layers.front();
    EXPECT_EQ(v.kind, "village");
    EXPECT_EQ(v.count, 2);
    ASSERT_TRUE(v.extent);
    EXPECT_NEAR((*v.extent)[0], 500000.0, testing::kTolM);
    EXPECT_NEAR((*v.extent)[3], 3321000.0, testing::kTolM);
}

TEST(Registry, ConfiguredKindGetsATableAndSurvivesReopen) {
    TempDir dir;
    {
        auto reg = Registry::create(dir / "r.sqlite", 4549);
        auto kinds =
            parse_kinds_toml("[asset_types.clinic]\nlabel = \"村卫生室\"\ndefault_radius_m = 1500\n"
                             "attributes = [{ name = \"beds\", type = \"integer\" }]\n",
                             "t");
        reg.add_kind(kinds[0]);
    }
    auto reg = Registry::open(dir / "r.sqlite");
    const auto &k = reg.kind("clinic");
    EXPECT_EQ(k.label, "村卫生室");
    EXPECT_EQ(reg.count("clinic"), 0);
    try {
        reg.kind("hospital");
        FAIL();
    } catch (const UsageError &e) {
        EXPECT_NE(std::string(e.what()).find("unknown kind 'hospital'; known kinds: village"),
                  std::string::npos);
        EXPECT_NE(std::string(e.what()).find("clinic"), std::string::npos);
    }
}

TEST(Registry, AKindWhoseTableNameIsTakenIsAnErrorNotASkip) {
    TempDir dir;
    auto reg = Registry::create(dir / "r.sqlite", 4549);
    ASSERT_EQ(sqlite3_exec(qiancun::testing::SqliteFile(reg.path()).get(),
                           "CREATE TABLE Clinic (note TEXT)", nullptr, nullptr, nullptr),
              SQLITE_OK);
    const auto kinds = parse_kinds_toml("[asset_types.clinic]\n", "t");
    try {
        reg.add_kind(kinds[0]);
        FAIL() << "the table was taken over";
    } catch (const DatabaseError &e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("cannot create the table of kind 'clinic': the "
                                                   "database already has a table named 'Clinic'"));
    }
    // A library caller cannot add a reserved key either.
    auto route = parse_kinds_toml("[asset_types.route]\n", "stored", true);
    EXPECT_THROW(reg.add_kind(route[0]), UsageError);
}

TEST(Registry, WriteOutsideATransactionIsRefused) {
    TempDir dir;
    auto reg = Registry::create(dir / "r.sqlite", 4549);
    std::vector<Feature> p{plant(1, "A", 500500.0, 3320500.0)};
    auto rec = record("sewage_plant");
    try {
        reg.write(reg.kind("sewage_plant"), p, WriteMode::upsert, rec);
        FAIL() << "written outside a transaction";
    } catch (const Error &e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("writing sewage_plant to "));
        EXPECT_THAT(e.what(), ::testing::HasSubstr("outside a transaction"));
    }
    EXPECT_EQ(reg.count("sewage_plant"), 0);
    Registry::Transaction tx(reg);
    reg.write(reg.kind("sewage_plant"), p, WriteMode::upsert, rec);
    tx.commit();
    EXPECT_EQ(reg.count("sewage_plant"), 1);
}

TEST_F(TwoVillages, ScanReadsColumnsAndGeometryPartsUnderConditionsInOrder) {
    {
        Registry::Transaction tx(reg);
        std::vector<Feature> plants{plant(1, "P2", 500250.5, 3320750.25),
                                    plant(2, "P1", 501500, 3320500),
                                    plant(3, "P3", 501600, 3320600, "closed")};
        auto rec = record("sewage_plant");
        reg.write(reg.kind("sewage_plant"), plants, WriteMode::upsert, rec);
        reg.link_villages();
        tx.commit();
    }
    std::vector<std::string> got;
    reg.scan({.table = "sewage_plant",
              .columns = {"id", "status", "village_code", "capacity_m3d"},
              .wkb = true,
              .xy = true,
              .bbox = true,
              .where = {ScanCondition::eq("status", std::string("operating")),
                        ScanCondition::not_null("geom"), ScanCondition::null("capacity_m3d")},
              .order_by = {"id"}},
             [&](const ScanRow &r) {
                 ASSERT_TRUE(r.xy);
                 ASSERT_TRUE(r.bbox);
                 EXPECT_EQ(r.wkb, geometry::wkb_from_wkt(
                                      fmt::format("POINT ({} {})", r.xy->first, r.xy->second)));
                 EXPECT_TRUE(r.is_null(3));
                 got.push_back(fmt::format("{} {} {} {} {} {} {}", r.text(0), r.text(1), r.text(2),
                                           r.xy->first, r.xy->second, (*r.bbox)[0], (*r.bbox)[3]));
             });
    EXPECT_EQ(got, (std::vector<std::string>{
                       "P1 operating 330604101202 501500 3320500 501500 3320500",
                       "P2 operating 330604101201 500250.5 3320750.25 500250.5 3320750.25"}));

    // Polygons have no x, y; a limit stops early; values keep their storage type.
    std::vector<std::string> villages;
    reg.scan({.table = "village",
              .columns = {"code", "population"},
              .xy = true,
              .bbox = true,
              .order_by = {"code"},
              .limit = 1},
             [&](const ScanRow &r) {
                 EXPECT_FALSE(r.xy);
                 EXPECT_TRUE(r.wkb.empty()); // not asked for
                 ASSERT_TRUE(r.bbox);
                 EXPECT_EQ(*r.bbox, (std::array<double, 4>{500000, 3320000, 501000, 3321000}));
                 EXPECT_TRUE(std::holds_alternative<std::string>(r.values[0]));
                 villages.push_back(r.text(0));
             });
    EXPECT_EQ(villages, std::vector<std::string>{"330604101201"});
}

TEST_F(TwoVillages, ScanRefusesUnknownTablesAndColumnsInsteadOfPastingThem) {
    EXPECT_FALSE(reg.has_table("village; DROP TABLE village"));
    EXPECT_TRUE(reg.has_table("village"));
    try {
        reg.scan({.table = "village", .columns = {"code", "name FROM village; --"}},
                 [](const ScanRow &) {});
        FAIL() << "an unknown column was read";
    } catch (const DatabaseError &e) {
        EXPECT_NE(
            std::string(e.what()).find("table 'village' has no column 'name FROM village; --'"),
            std::string::npos)
            << e.what();
    }
    EXPECT_THROW(reg.scan({.table = "villages"}, [](const ScanRow &) {}), DatabaseError);
    // A value is bound, never pasted: this code matches no village and harms none.
    int n = 0;
    reg.scan({.table = "village",
              .columns = {"code"},
              .where = {ScanCondition::eq("code", std::string("x' OR '1' = '1"))}},
             [&](const ScanRow &) { ++n; });
    EXPECT_EQ(n, 0);
    EXPECT_EQ(reg.count("village"), 2);
}

TEST_F(TwoVillages, ResultLayerWriterStoresRowsAndGeometriesAndIsCatalogued) {
    {
        Registry::Transaction tx(reg);
        auto layer = reg.create_result_layer("gaps_test",
                                             {{"code", ColumnType::text},
                                              {"cov", ColumnType::real},
                                              {"n", ColumnType::integer},
                                              {"gap", ColumnType::boolean}},
                                             "POINT", "test");
        layer->add(std::vector<Value>{std::string("A"), 0.25, std::int64_t{3}, std::int64_t{1}},
                   geometry::wkb_from_wkt("POINT (500100 3320100)"));
        layer->add(std::vector<Value>{std::string("B"), Value{}, Value{}, std::int64_t{0}}, {});
        EXPECT_THROW(layer->add(std::vector<Value>{std::string("C")}, {}), Error);
        tx.commit();
    }
    std::vector<std::string> got;
    reg.scan({.table = "gaps_test",
              .columns = {"code", "cov", "n", "gap"},
              .xy = true,
              .order_by = {"code"}},
             [&](const ScanRow &r) {
                 got.push_back(
                     fmt::format("{}|{}|{}|{}|{}", r.text(0), r.text(1), r.text(2), r.text(3),
                                 r.xy ? fmt::format("{} {}", r.xy->first, r.xy->second) : "null"));
             });
    EXPECT_EQ(got, (std::vector<std::string>{"A|0.25|3|1|500100 3320100", "B|||0|null"}));
    // A kind's table is never replaced by a result.
    Registry::Transaction tx(reg);
    EXPECT_THROW(reg.create_result_layer("Village", {}, "POINT", "test"), DatabaseError);
}

/// A hall of `wkt` (a point or a polygon), operating.
Feature hall(std::int64_t row, const std::string &id, const std::string &wkt) {
    const KindDef *k = nullptr;
    for (const auto &kind : builtin_kinds())
        if (kind.key == "cultural_hall")
            k = &kind;
    Feature f;
    f.row = row;
    f.values.assign(k->attributes.size(), Value{});
    f.values[0] = id;
    f.values[static_cast<std::size_t>(k->attribute_index("status"))] = std::string("operating");
    f.wkb = geometry::check(geometry::wkb_from_wkt(wkt), GeometryKind::point_or_polygon, false).wkb;
    return f;
}

/// The rows of a query on the registry file, cells joined by '|' (NULL as "NULL").
std::vector<std::string> sql_rows(const std::filesystem::path &registry, const std::string &sql) {
    const qiancun::testing::SqliteFile file(registry);
    sqlite3_stmt *st = nullptr;
    std::vector<std::string> out;
    if (sqlite3_prepare_v2(file.get(), sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
        ADD_FAILURE() << sql << ": " << sqlite3_errmsg(file.get());
        return out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        std::string row;
        for (int i = 0; i < sqlite3_column_count(st); ++i) {
            const auto *text = sqlite3_column_text(st, i);
            if (i > 0)
                row += '|';
            row += text ? reinterpret_cast<const char *>(text) : "NULL";
        }
        out.push_back(row);
    }
    sqlite3_finalize(st);
    return out;
}

TEST_F(TwoVillages, HallsKeepAPointColumnAndAFootprintColumnEachTypedAndIndexed) {
    // A 100 m × 50 m footprint in the west village and a hall given as a point in the east.
    std::vector<Feature> halls{
        hall(1, "H1",
             "POLYGON((500100 3320100, 500200 3320100, 500200 3320150, 500100 3320150, "
             "500100 3320100))"),
        hall(2, "H2", "POINT (501500 3320500)")};
    {
        Registry::Transaction tx(reg);
        auto rec = record("cultural_hall");
        reg.write(reg.kind("cultural_hall"), halls, WriteMode::upsert, rec);
        reg.link_villages("cultural_hall");
        tx.commit();
    }
    // One geometry type per column, each with its spatial index: GDAL and QGIS see two layers.
    EXPECT_EQ(sql_rows(reg.path(), "SELECT f_geometry_column, geometry_type, srid, "
                                   "spatial_index_enabled FROM geometry_columns WHERE "
                                   "f_table_name = 'cultural_hall' ORDER BY 1"),
              (std::vector<std::string>{"footprint_geom|6|4549|1", "geom|1|4549|1"}));
    EXPECT_EQ(sql_rows(reg.path(), "SELECT CheckSpatialIndex('cultural_hall', 'geom'), "
                                   "CheckSpatialIndex('cultural_hall', 'footprint_geom')"),
              (std::vector<std::string>{"1|1"}));
    // The polygon's GEOS point-on-surface, by hand: the middle of the widest run of the
    // horizontal line through the middle of its box (500150, 3320125).
    EXPECT_EQ(sql_rows(reg.path(),
                       "SELECT id, AsText(geom), AsText(footprint_geom), village_code FROM "
                       "cultural_hall ORDER BY id"),
              (std::vector<std::string>{
                  "H1|POINT(500150 3320125)|MULTIPOLYGON(((500100 3320100, 500200 3320100, "
                  "500200 3320150, 500100 3320150, 500100 3320100)))|330604101201",
                  "H2|POINT(501500 3320500)|NULL|330604101202"}));
    // Analysis reads the footprint where there is one.
    std::vector<std::string> read;
    reg.scan({.table = "cultural_hall", .columns = {"id"}, .wkb = true, .xy = true},
             [&](const ScanRow &r) {
                 read.push_back(fmt::format("{} {} {}", r.text(0), geometry::wkt_from_wkb(r.wkb, 0),
                                            r.xy ? "xy" : "-"));
             });
    EXPECT_EQ(read, (std::vector<std::string>{
                        "H1 MULTIPOLYGON (((500100 3320100, 500200 3320100, 500200 3320150, "
                        "500100 3320150, 500100 3320100))) -",
                        "H2 POINT (501500 3320500) xy"}));
    const auto info = reg.info();
    const auto layer = std::find_if(info.layers.begin(), info.layers.end(),
                                    [](const LayerInfo &l) { return l.kind == "cultural_hall"; });
    ASSERT_NE(layer, info.layers.end());
    ASSERT_TRUE(layer->extent);
    EXPECT_EQ(*layer->extent, (std::array<double, 4>{500100, 3320100, 501500, 3320500}));
}

/// Writes a polygon hall and a point hall, turns the file back into an older schema with
/// `downgrade` (SQL) and opens it: a reader upgrades it in place, to the same content.
void expect_upgrade(Registry &reg, const std::filesystem::path &other, const char *downgrade,
                    const std::vector<std::string> &old_columns) {
    std::vector<Feature> halls{
        hall(1, "H1",
             "POLYGON((500100 3320100, 500200 3320100, 500200 3320150, 500100 3320150, "
             "500100 3320100))"),
        hall(2, "H2", "POINT (501500 3320500)")};
    {
        Registry::Transaction tx(reg);
        auto rec = record("cultural_hall");
        reg.write(reg.kind("cultural_hall"), halls, WriteMode::upsert, rec);
        tx.commit();
    }
    const auto path = reg.path();
    const auto checksum = reg.content_checksum();
    reg = Registry::create(other, 4549); // closes the file
    {
        const qiancun::testing::SqliteFile file(path);
        char *error = nullptr;
        const int rc = sqlite3_exec(file.get(), downgrade, nullptr, nullptr, &error);
        ASSERT_EQ(rc, SQLITE_OK) << (error ? error : "");
    }
    ASSERT_EQ(sql_rows(path, "SELECT f_geometry_column || '|' || geometry_type FROM "
                             "geometry_columns WHERE f_table_name = 'cultural_hall' ORDER BY 1"),
              old_columns);
    // A reader upgrades it too, all at once.
    const auto upgraded = Registry::open(path, true);
    EXPECT_EQ(upgraded.info().schema_version, 3);
    EXPECT_EQ(sql_rows(path, "SELECT value FROM meta WHERE key = 'schema_version'"),
              (std::vector<std::string>{"3"}));
    EXPECT_EQ(sql_rows(path, "SELECT f_geometry_column, geometry_type, spatial_index_enabled FROM "
                             "geometry_columns WHERE f_table_name = 'cultural_hall' ORDER BY 1"),
              (std::vector<std::string>{"footprint_geom|6|1", "geom|1|1"}));
    EXPECT_EQ(
        sql_rows(path, "SELECT name FROM sqlite_master WHERE name LIKE 'idx_cultural_hall%' "
                       "AND type = 'table' ORDER BY 1"),
        (std::vector<std::string>{
            "idx_cultural_hall_footprint_geom", "idx_cultural_hall_footprint_geom_node",
            "idx_cultural_hall_footprint_geom_parent", "idx_cultural_hall_footprint_geom_rowid",
            "idx_cultural_hall_geom", "idx_cultural_hall_geom_node",
            "idx_cultural_hall_geom_parent", "idx_cultural_hall_geom_rowid"}));
    EXPECT_EQ(sql_rows(path, "SELECT id, AsText(geom), AsText(footprint_geom) FROM cultural_hall "
                             "ORDER BY id"),
              (std::vector<std::string>{
                  "H1|POINT(500150 3320125)|MULTIPOLYGON(((500100 3320100, 500200 3320100, "
                  "500200 3320150, 500100 3320150, 500100 3320100)))",
                  "H2|POINT(501500 3320500)|NULL"}));
    EXPECT_EQ(upgraded.content_checksum(), checksum);
}

TEST_F(TwoVillages, AVersion1RegistryIsUpgradedInPlaceWhenOpened) {
    // Version 1: points and footprints in one GEOMETRY column.
    expect_upgrade(reg, dir / "other.sqlite",
                   "SELECT DisableSpatialIndex('cultural_hall', 'footprint_geom'); "
                   "DROP TABLE idx_cultural_hall_footprint_geom; "
                   "SELECT DiscardGeometryColumn('cultural_hall', 'footprint_geom'); "
                   "SELECT DisableSpatialIndex('cultural_hall', 'geom'); "
                   "DROP TABLE idx_cultural_hall_geom; "
                   "SELECT DiscardGeometryColumn('cultural_hall', 'geom'); "
                   "UPDATE cultural_hall SET geom = footprint_geom WHERE footprint_geom IS NOT "
                   "NULL; "
                   "ALTER TABLE cultural_hall DROP COLUMN footprint_geom; "
                   "SELECT RecoverGeometryColumn('cultural_hall', 'geom', 4549, 'GEOMETRY', 'XY'); "
                   "SELECT CreateSpatialIndex('cultural_hall', 'geom'); "
                   "UPDATE meta SET value = '1' WHERE key = 'schema_version'",
                   {"geom|0"});
}

TEST_F(TwoVillages, AVersion2RegistryGetsItsFootprintsRenamed) {
    // Version 2: the footprints in a column `footprint`.
    expect_upgrade(reg, dir / "other.sqlite",
                   "SELECT AddGeometryColumn('cultural_hall', 'footprint', 4549, 'MULTIPOLYGON', "
                   "'XY'); SELECT CreateSpatialIndex('cultural_hall', 'footprint'); "
                   "UPDATE cultural_hall SET footprint = footprint_geom; "
                   "SELECT DisableSpatialIndex('cultural_hall', 'footprint_geom'); "
                   "DROP TABLE idx_cultural_hall_footprint_geom; "
                   "SELECT DiscardGeometryColumn('cultural_hall', 'footprint_geom'); "
                   "ALTER TABLE cultural_hall DROP COLUMN footprint_geom; "
                   "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
                   {"footprint|6", "geom|1"});
}

} // namespace
} // namespace qiancun
