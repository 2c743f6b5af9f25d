#include "qiancun/bulletin.hpp"

#include "qiancun/progress.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>

// The bulletin page from a hand-made report: SVG coordinates computed by hand, the outline
// simplification, the tables and their order.

namespace qiancun::exporters {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

IndicatorValue row(const std::string &key, const std::string &township, double target,
                   std::optional<double> expected, double actual) {
    IndicatorValue v;
    v.key = key;
    v.township = township;
    v.target = target;
    v.expected = expected;
    v.actual = actual;
    v.status = progress_status(v.actual, v.target, v.expected);
    return v;
}

/// Two 1 km squares side by side (x 0–2000 m, y 0–1000 m), one behind indicator, one met.
BulletinReport two_squares() {
    testing::bind_catalogue(); // the bulletin's words are the catalogue's Chinese
    BulletinReport r;
    r.registry_name = "t.sqlite";
    r.targets = Targets::defaults();
    r.current.as_of = "2025-06-30";
    r.current.year = 2025;
    r.current.values = {row("sewage_new", "", 40.0, 20.0, 5.0),
                        row("sewage_effluent_ok", "", 98.0, std::nullopt, 99.0),
                        row("sewage_effluent_ok", "甲镇", 98.0, std::nullopt, 50.0)};
    r.villages = {
        {"330604101201", "东山村", "POLYGON((0 0,1000 0,1000 1000,0 1000,0 0))"},
        {"330604101202", "下管村", "POLYGON((1000 0,2000 0,2000 1000,1000 1000,1000 0))"}};
    BulletinMap m;
    m.title = "污水处理设施覆盖";
    m.classes = {{"达标", "#1a9850"}, {"未达标", "#d73027"}};
    m.village_class = {0, 1};
    m.points = {{1500.0, 500.0}, {1600.0, 400.0}};
    m.points_label = "未覆盖自然村";
    r.maps.push_back(m);
    return r;
}

TEST(BulletinPage, VillagesAreDrawnOnceInMapUnitsComputedByHand) {
    const std::string html = bulletin_html(two_squares());
    // The frame is 2,000 m wide → 1,000 units: 0.5 units per metre, y down from y = 1,000 m.
    EXPECT_THAT(html, HasSubstr("viewBox=\"0 0 1000 500\""));
    EXPECT_THAT(html, HasSubstr("<path id=\"v0\" d=\"M0 500l500 0 0-500-500 0z\"/>"));
    EXPECT_THAT(html, HasSubstr("<path id=\"v1\" d=\"M500 500l500 0 0-500-500 0z\"/>"));
    EXPECT_THAT(html, HasSubstr("<g fill=\"#1a9850\"><use href=\"#v0\"/></g>"));
    EXPECT_THAT(html, HasSubstr("<g fill=\"#d73027\"><use href=\"#v1\"/></g>"));
    // Dots: (1500, 500) → (750, 250), then 50 units right and 50 down.
    EXPECT_THAT(html, HasSubstr("d=\"M750 250h0m50 50h0\""));
    EXPECT_THAT(html, HasSubstr("未覆盖自然村（2）"));
    EXPECT_THAT(html, HasSubstr("达标（1）"));
}

TEST(BulletinPage, OutlinesAreSimplifiedToTheMapsResolution) {
    BulletinReport r = two_squares();
    // A 4,096-vertex circle of radius 400 m: on a 1,000-unit map of 2,000 m it is 400 units
    // across, drawn within half a unit by far fewer vertices.
    std::string wkt = "POLYGON((";
    for (int i = 0; i <= 4096; ++i) {
        const double a = 2.0 * std::numbers::pi * (i % 4096) / 4096.0;
        wkt += fmt::format("{}{:.3f} {:.3f}", i ? "," : "", 1000.0 + 400.0 * std::cos(a),
                           500.0 + 400.0 * std::sin(a));
    }
    wkt += "))";
    r.villages.push_back({"330604101203", "圆村", wkt});
    r.maps[0].village_class.push_back(0);
    const std::string html = bulletin_html(r);
    const auto start = html.find("<path id=\"v2\" d=\"");
    ASSERT_NE(start, std::string::npos);
    const std::string d = html.substr(start, html.find("\"/>", start) - start);
    EXPECT_LT(d.size(), 1500u) << d.size(); // 4,096 vertices would take about 25,000
    EXPECT_GT(d.size(), 200u);              // still a circle, not a box
}

TEST(BulletinPage, WarningsFirstAndTablesAsTheWorkbookHasThem) {
    const BulletinReport r = two_squares();
    const std::string html = bulletin_html(r);
    const auto warnings = html.find("<table id=\"t-warnings\">");
    const auto district = html.find("<table id=\"t-district\">");
    ASSERT_NE(warnings, std::string::npos);
    ASSERT_NE(district, std::string::npos);
    EXPECT_LT(warnings, district);
    // One behind row: 15 behind, 75 % of the expected 20.
    EXPECT_THAT(html, HasSubstr("<td data-col=\"behind_by\" class=\"n\">15</td>"
                                "<td data-col=\"behind_share\" class=\"n\">75.0%</td>"));
    EXPECT_THAT(html, HasSubstr("<tr data-key=\"sewage_effluent_ok\" data-status=\"met\""));
    EXPECT_THAT(html, HasSubstr("表1　进度预警"));
    // The ranking: 甲镇 with 0 of 1 targets met.
    EXPECT_THAT(html, HasSubstr("<tr data-key=\"甲镇\"><td data-col=\"rank\" class=\"n\">1</td>"));
    const auto sheets = bulletin_sheets(r);
    ASSERT_EQ(sheets.size(), 6u);
    EXPECT_EQ(sheets[0].name, "进度预警");
    EXPECT_EQ(sheets[0].rows.rows.size(), 1u);
    EXPECT_EQ(sheets[1].name, "全区指标");
    EXPECT_EQ(sheets[1].rows.columns[4], "应达进度");
    EXPECT_EQ(sheets[0].percent_columns, std::vector<std::string>{"差距占应达"});
}

TEST(BulletinPage, WithoutVillagesTheMapsSaySo) {
    BulletinReport r = two_squares();
    r.villages.clear();
    const std::string html = bulletin_html(r);
    EXPECT_THAT(html, HasSubstr("登记库中没有行政村边界，无法绘制地图。"));
    EXPECT_THAT(html, Not(HasSubstr("<svg class=\"map\"")));
}

TEST(BulletinPage, NothingComputedSaysSoInTheCataloguesChinese) {
    testing::bind_catalogue();
    const std::string html = bulletin_html(BulletinReport{}); // no indicator, checks not run
    EXPECT_THAT(html, HasSubstr("<p class=\"empty\" id=\"t-district\">表2　没有指标。</p>"));
    EXPECT_THAT(html,
                HasSubstr("<p class=\"empty\" id=\"t-quality\">表5　未运行数据质量检查。</p>"));
    EXPECT_THAT(html, HasSubstr("<ul class=\"notes\"><li>应达进度："));
    EXPECT_THAT(html, HasSubstr("</li><li>未运行数据质量检查。</li></ul>"));
}

} // namespace
} // namespace qiancun::exporters
