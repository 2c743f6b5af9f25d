#include "qiancun/layer_styles.hpp"

#include "qiancun/registry.hpp"
#include "testing/sqlite_file.hpp"
#include "testing/testing.hpp"

#include <sqlite3.h>

#include <gmock/gmock.h>

#include <algorithm>

namespace qiancun {
namespace {

using ::testing::ElementsAre;
using testing::TempDir;

/// Rows of `sql` as "a|b|c" strings; NULL as "NULL".
std::vector<std::string> rows(sqlite3 *db, const std::string &sql) {
    sqlite3_stmt *st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::vector<std::string> out;
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

TEST(LayerStyles, SpatialLayersListTheGeometryTablesAndTheirFields) {
    TempDir dir;
    auto reg = Registry::create(dir / "r.sqlite", 4549);
    const auto layers = spatial_layers(reg);
    ASSERT_GE(layers.size(), 9u);
    EXPECT_EQ(layers[0].table, "village");
    EXPECT_EQ(layers[0].geometry_column, "geom");
    EXPECT_EQ(layers[0].geometry_type, "MULTIPOLYGON");
    // Halls: a point column and a footprint column, two layers of one table, neither geometry
    // a field of the other.
    std::vector<std::string> halls;
    for (const auto &l : layers)
        if (l.table == "cultural_hall") {
            halls.push_back(l.geometry_column + " " + l.geometry_type);
            EXPECT_EQ(std::count(l.columns.begin(), l.columns.end(), "geom") +
                          std::count(l.columns.begin(), l.columns.end(), "footprint_geom"),
                      0);
        }
    EXPECT_THAT(halls, ElementsAre("geom POINT", "footprint_geom MULTIPOLYGON"));
    // fid is GDAL's feature id, geom the geometry: neither is a field.
    EXPECT_THAT(layers[0].columns,
                ElementsAre("code", "name", "township", "population", "households", "class",
                            "heritage", "hemei_year", "seat_x", "seat_y", "source_file",
                            "source_row", "updated_at"));
    EXPECT_EQ(column_max(reg, "village", "population"), std::nullopt);
}

TEST(LayerStyles, EachStyleIsStoredForBothQgisProvidersAndReplacedOnTheNextStore) {
    TempDir dir;
    auto reg = Registry::create(dir / "r.sqlite", 4549);
    store_layer_styles(reg, {{"village", "geom", {{"class", "按分类", "<qgis/>", true}}},
                             {"rural_road",
                              "geom",
                              {{"grade", "按等级", "<qgis a=\"1\"/>", true},
                               {"surface", "按路面", "<qgis b=\"1\"/>", false}}}});
    EXPECT_THAT(rows(qiancun::testing::SqliteFile(reg.path()).get(),
                     "SELECT quote(f_table_schema), f_table_name, "
                     "f_geometry_column, styleName, styleQML, useAsDefault, owner "
                     "FROM layer_styles ORDER BY id"),
                ElementsAre("NULL|village|geom|class|<qgis/>|1|qiancun",
                            "''|village|geom|class|<qgis/>|1|qiancun",
                            "NULL|rural_road|geom|grade|<qgis a=\"1\"/>|1|qiancun",
                            "''|rural_road|geom|grade|<qgis a=\"1\"/>|1|qiancun",
                            "NULL|rural_road|geom|surface|<qgis b=\"1\"/>|0|qiancun",
                            "''|rural_road|geom|surface|<qgis b=\"1\"/>|0|qiancun"));

    store_layer_styles(reg, {{"village", "geom", {{"class", "按分类", "<qgis v=\"2\"/>", true}}}});
    EXPECT_THAT(rows(qiancun::testing::SqliteFile(reg.path()).get(),
                     "SELECT f_table_name, styleQML FROM layer_styles ORDER BY id"),
                ElementsAre("village|<qgis v=\"2\"/>", "village|<qgis v=\"2\"/>"));
}

TEST(LayerStyles, AStyleTheUserSavedAsDefaultStaysTheDefault) {
    TempDir dir;
    auto reg = Registry::create(dir / "r.sqlite", 4549);
    store_layer_styles(reg, {});
    // As QGIS writes it when the user saves a default style of their own.
    ASSERT_EQ(sqlite3_exec(qiancun::testing::SqliteFile(reg.path()).get(),
                           "INSERT INTO layer_styles(f_table_name, f_geometry_column, styleName, "
                           "styleQML, useAsDefault, owner) VALUES('village', 'geom', 'mine', "
                           "'<qgis m=\"1\"/>', 1, '')",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    store_layer_styles(reg, {{"village", "geom", {{"class", "按分类", "<qgis/>", true}}}});
    EXPECT_THAT(rows(qiancun::testing::SqliteFile(reg.path()).get(),
                     "SELECT styleName, useAsDefault FROM layer_styles ORDER BY id"),
                ElementsAre("mine|1", "class|0", "class|0"));
}

} // namespace
} // namespace qiancun
