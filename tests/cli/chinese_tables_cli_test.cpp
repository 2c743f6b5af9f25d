// What a planner reads under --lang zh on the sample county: the people's indicator table (status
// words, details, notes, headers), the bulletin's same words, list headers and statuses, the
// classes per township and the styles' legend labels, all from the catalogue; English otherwise.

#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <sstream>

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::run_command;
using testing::run_qiancun;
using testing::split_lines;

constexpr const char *kAsOf = "2026-11-30";

/// The cells of a people's table line (columns are separated by two or more spaces; an empty
/// cell disappears).
std::vector<std::string> cells(const std::string &line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

/// `args` followed by `more`: a command's arguments with options added.
std::vector<std::string> with(std::vector<std::string> args,
                              std::initializer_list<std::string> more) {
    args.insert(args.end(), more);
    return args;
}

/// The first line of `out` that starts with `prefix`; "" when none.
std::string line_starting(const std::string &out, const std::string &prefix) {
    for (const auto &l : split_lines(out))
        if (l.rfind(prefix, 0) == 0)
            return l;
    return {};
}

class ChineseTablesCli : public testing::SampleMonthsSuite {
protected:
    static void SetUpTestSuite() { load("2026-09-30", kAsOf, true); }
};

TEST_F(ChineseTablesCli, IndicatorTableSaysStatusesDetailsAndNotesInChinese) {
    const auto zh = run_qiancun({"indicators", reg, "--as-of", kAsOf, "--lang", "zh"});
    ASSERT_EQ(zh.exit_code, 0) << zh.err;
    EXPECT_THAT(
        cells(line_starting(zh.out, "指标代码 ")),
        ElementsAre("指标代码", "名称", "单位", "目标", "应达值", "实际值", "状态", "详情"));
    EXPECT_THAT(
        cells(line_starting(zh.out, "sewage_new ")),
        ElementsAre("sewage_new", "新建农村生活污水处理设施", "个", "40", "31.33", "6", "滞后"));
    EXPECT_THAT(cells(line_starting(zh.out, "sewage_village_coverage ")),
                ElementsAre("sewage_village_coverage", "处理设施行政村覆盖率", "%", "98", "26.33",
                            "进度正常", "79/300", "个行政村"));
    EXPECT_THAT(cells(line_starting(zh.out, "road_maintained_km ")),
                ElementsAre("road_maintained_km", "农村公路养护工程", "公里", "300", "234.94",
                            "324.64", "已达标"));
    // One note per thing left out, said once; the planning assumption in Chinese.
    EXPECT_THAT(
        zh.out,
        HasSubstr("\n注：出水水质达标率：16 个在统计期（2023-01-01 至 2026-11-30）内无检测记录，"
                  "未计入分子和分母（未知不等于未达标）。\n"));
    EXPECT_THAT(zh.out,
                HasSubstr("\n注：村级寄递物流综合服务站覆盖：目标 100 %，非规划所定——规划假设：方案"
                          "（§三(三)1）要求建设村级寄递物流服务站，未给出数字；按每个行政村全覆盖计"
                          "\n"));
    for (const char *english : {"behind", "on_track", " met", " of ", "planning assumption",
                                "note:", "left out", "serving plants"})
        EXPECT_THAT(zh.out, Not(HasSubstr(english))) << english;

    const auto en = run_qiancun({"indicators", reg, "--as-of", kAsOf, "--lang", "en"});
    ASSERT_EQ(en.exit_code, 0) << en.err;
    EXPECT_THAT(cells(line_starting(en.out, "sewage_village_coverage ")),
                ElementsAre("sewage_village_coverage", "处理设施行政村覆盖率", "%", "98", "26.33",
                            "on_track", "79", "of", "300", "villages"));
    EXPECT_THAT(en.out, HasSubstr("\nnote: sewage_effluent_ok: 16 without a record from 2023-01-01 "
                                  "to 2026-11-30, left out of the numerator and the denominator "
                                  "(unknown is not failed).\n"));
}

TEST_F(ChineseTablesCli, IndicatorFileDepartmentsAndNotesOfScriptsAreChineseToo) {
    const auto zh =
        run_qiancun({"indicators", reg, "--as-of", kAsOf, "--lang", "zh", "--indicators",
                     (testing::sample_maps_dir() / "indicators.toml").string()});
    ASSERT_EQ(zh.exit_code, 0) << zh.err;
    EXPECT_EQ(cells(line_starting(zh.out, "指标代码 ")).back(), "责任单位");
    EXPECT_THAT(zh.out, HasSubstr("\n注：村卫生室规范化率：3 个因数据缺失无法判断，未计入分子和分母"
                                  "（未知不等于未达标）。\n"));
    // The notes beside a table for scripts, per township ("在…" in Chinese order).
    const auto csv = run_qiancun({"indicators", reg, "--as-of", kAsOf, "--lang", "zh", "--by",
                                  "township", "--format", "csv"});
    ASSERT_EQ(csv.exit_code, 0) << csv.err;
    EXPECT_THAT(csv.err, HasSubstr("注：出水水质达标率（梁岙镇）：无数据（没有符合“serving”的"
                                   "农村生活污水处理设施）"));
    EXPECT_THAT(csv.err, Not(HasSubstr("note:")));
    EXPECT_THAT(split_lines(csv.out).at(0), HasSubstr("status"));
}

TEST_F(ChineseTablesCli, IndicatorNotesNameIndicatorsKindsAttributesAndStatusesInChinese) {
    const std::vector<std::string> args{
        "indicators",   reg,
        "--as-of",      kAsOf,
        "--indicators", (testing::sample_maps_dir() / "indicators.toml").string()};
    const auto zh_args = with(args, {"--lang", "zh"});
    const auto zh = run_qiancun(zh_args);
    ASSERT_EQ(zh.exit_code, 0) << zh.err;
    EXPECT_THAT(zh.out,
                HasSubstr("\n注：村集体经济总收入：9 个符合 where 条件但没有村集体经济总收入"
                          "(万元)的行政村未计入总和\n"));
    const auto en = run_qiancun(args);
    ASSERT_EQ(en.exit_code, 0) << en.err;
    EXPECT_THAT(en.out, HasSubstr("\nnote: collective_income: 9 village matching where without "
                                  "collective_income_10k left out of the sum\n"));

    // Per township: the status a township row gets is said in the table's words.
    const auto by = run_qiancun({"indicators", reg, "--as-of", kAsOf, "--by", "township", "--only",
                                 "sewage_new", "--lang", "zh"});
    ASSERT_EQ(by.exit_code, 0) << by.err;
    EXPECT_THAT(by.out, HasSubstr("\n注：按乡镇统计时，数量和长度类指标没有目标（规划只为全区设定）"
                                  "：状态为“无目标”\n"));
    const auto by_en = run_qiancun(
        {"indicators", reg, "--as-of", kAsOf, "--by", "township", "--only", "sewage_new"});
    ASSERT_EQ(by_en.exit_code, 0) << by_en.err;
    EXPECT_THAT(by_en.out, HasSubstr("\nnote: per township, counts and lengths have no target (the "
                                     "plan sets them for the district only): status no_target\n"));
}

TEST_F(ChineseTablesCli, GapsAndSiteSayTheTypeByItsLabelAndSiteEndsWithItsSentence) {
    const auto gaps = run_qiancun({"gaps", reg, "--type", "sewage_plant", "--lang", "zh"});
    ASSERT_EQ(gaps.exit_code, 0) << gaps.err;
    EXPECT_EQ(split_lines(gaps.out).at(0), "农村生活污水处理设施：300 个村中有 221 个低于阈值 "
                                           "90.0%（最差者在前）；未覆盖人口在这些村中为 "
                                           "174144，在全部村中为 175911");
    const auto gaps_en = run_qiancun({"gaps", reg, "--type", "sewage_plant"});
    ASSERT_EQ(gaps_en.exit_code, 0) << gaps_en.err;
    EXPECT_EQ(
        split_lines(gaps_en.out).at(0),
        "sewage_plant: 221 of 300 villages below the threshold 90.0% (worst first); uncovered "
        "population 174144 in these villages, 175911 in all villages");

    // The summary of `site` is one sentence for people, the sites follow; a script asking for
    // CSV gets the key=value line beside it on standard error.
    const std::vector<std::string> site{"site",    reg,  "--type",    "courier_station",
                                        "--cover", "99", "--exclude", "hazard"};
    const auto zh_args = with(site, {"--lang", "zh"});
    const auto zh = run_qiancun(zh_args);
    ASSERT_EQ(zh.exit_code, 0) << zh.err;
    const auto lines = split_lines(zh.out);
    ASSERT_GE(lines.size(), 2u) << zh.out;
    EXPECT_EQ(lines[0],
              "村级寄递物流综合服务站建议新增 9 处（候选 1768 个，半径 2000 米，直线距离）：新覆盖 "
              "13146 人，人口覆盖率 95.6% → 99.1%；达到目标 375617 人至少需要 9 处（最优 ≥ 9，"
              "本方案至多比最优多 0 处）");
    EXPECT_EQ(cells(lines[1]).at(0), "名次");
    for (const auto &l : lines)
        EXPECT_THAT(l, Not(HasSubstr("="))) << l;
    const auto en = run_qiancun(site);
    ASSERT_EQ(en.exit_code, 0) << en.err;
    const std::string sentence =
        "courier_station: 9 new sites proposed (1768 candidates, radius 2000 m, straight-line "
        "distance): 13146 more people reached, population coverage 95.6% → 99.1%; the target of "
        "375617 people needs at least 9 sites (optimum ≥ 9, this answer at most 0 more sites)";
    EXPECT_EQ(split_lines(en.out).at(0), sentence);
    const auto csv_args = with(site, {"--format", "csv"});
    const auto csv = run_qiancun(csv_args);
    ASSERT_EQ(csv.exit_code, 0) << csv.err;
    EXPECT_THAT(csv.err,
                HasSubstr(sentence + "\ntype=courier_station sites=9 candidates=1768 radius_m=2000 "
                                     "network=no total_population=379411 covered_before=363017 "
                                     "covered_after=376163 added_population=13146 "
                                     "share_before=0.9568 share_after=0.9914 "
                                     "target_population=375617 lower_bound_sites=9 "
                                     "sites_over_optimum_at_most=0\n"));
    EXPECT_EQ(split_lines(csv.out).at(0),
              "rank,x,y,candidate,village_code,added_population,cumulative_population,"
              "added_villages");
}

TEST_F(ChineseTablesCli, BulletinShowsTheSameChineseWordsAsThePeoplesTable) {
    const fs::path html = *dir / "b.html";
    const auto r = run_qiancun({"bulletin", reg, "--as-of", kAsOf, "-o", html.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string page = testing::read_file(html);
    EXPECT_THAT(page, HasSubstr(">79/300 个行政村</td>"));
    EXPECT_THAT(page,
                HasSubstr("出水水质达标率：16 个在统计期（2023-01-01 至 2026-11-30）内无检测记录，"
                          "未计入分子和分母（未知不等于未达标）。"));
}

TEST_F(ChineseTablesCli, ListSaysHeadersAndStatusesInChineseWhereOneAsks) {
    const std::vector<std::string> args{"list", reg, "sewage_plant", "--village", "330604101201"};
    const auto zh_args = with(args, {"--lang", "zh"});
    const auto zh = run_qiancun(zh_args);
    ASSERT_EQ(zh.exit_code, 0) << zh.err;
    const auto lines = split_lines(zh.out);
    ASSERT_GE(lines.size(), 2u) << zh.out;
    EXPECT_THAT(cells(lines[0]), ElementsAre("编号", "状态", "服务半径(米)", "名称",
                                             "处理规模(吨/日)", "出水达标", "建成年份", "改造年份",
                                             "所属村代码", "来源文件", "来源行号", "更新时间"));
    EXPECT_EQ(cells(lines[1]).at(1), "改造");

    // A file for people (--headers zh) gets the same words; the CSV for scripts its keys.
    const fs::path people = *dir / "people.csv";
    const auto file_args = with(zh_args, {"--headers", "zh", "-o", people.string()});
    ASSERT_EQ(run_qiancun(file_args).exit_code, 0);
    const auto people_lines = split_lines(testing::read_file(people));
    ASSERT_EQ(people_lines.size(), 2u);
    EXPECT_EQ(people_lines[0], "\xEF\xBB\xBF编号,状态,服务半径(米),名称,处理规模(吨/日),出水达标,"
                               "建成年份,改造年份,所属村代码,来源文件,来源行号,更新时间");
    EXPECT_EQ(testing::csv_fields(people_lines[1]).at(1), "改造");
    const fs::path machine = *dir / "machine.csv";
    const auto machine_args = with(zh_args, {"-o", machine.string()});
    ASSERT_EQ(run_qiancun(machine_args).exit_code, 0);
    const auto machine_lines = split_lines(testing::read_file(machine));
    ASSERT_EQ(machine_lines.size(), 2u);
    EXPECT_EQ(machine_lines[0], "\xEF\xBB\xBFid,status,service_radius_m,name,capacity_m3d,"
                                "effluent_ok,built_year,renovated_year,village_code,source_file,"
                                "source_row,updated_at");
    EXPECT_EQ(testing::csv_fields(machine_lines[1]).at(1), "renovating");

    const auto en = run_qiancun(args);
    ASSERT_EQ(en.exit_code, 0) << en.err;
    EXPECT_EQ(cells(split_lines(en.out).at(1)).at(1), "renovating");
}

TEST_F(ChineseTablesCli, ClassesPerTownshipAreHeadedByTheClassNames) {
    const auto zh = run_qiancun({"classify", reg, "--no-store", "--lang", "zh"});
    ASSERT_EQ(zh.exit_code, 0) << zh.err;
    const auto at = zh.out.find("\n各乡镇建议类别\n");
    ASSERT_NE(at, std::string::npos) << zh.out;
    const auto header = split_lines(zh.out.substr(at + 1)).at(1);
    EXPECT_THAT(cells(header), ElementsAre("乡镇", "城郊融合类", "集聚建设类", "整治提升类",
                                           "特色保护类", "搬迁撤并类", "合计"));
}

/// The part of `out` after the line `title`; "" when there is none.
std::string after_line(const std::string &out, const std::string &title) {
    const auto at = out.find("\n" + title + "\n");
    return at == std::string::npos ? std::string() : out.substr(at + title.size() + 2);
}

TEST_F(ChineseTablesCli, InfoClassifyAndCheckSayGeometryTypesClassesAndChecksByTheirNames) {
    // info: geometry types in Chinese; the layer keys stay, as one types them.
    const auto info = run_qiancun({"info", reg, "--lang", "zh"});
    ASSERT_EQ(info.exit_code, 0) << info.err;
    EXPECT_THAT(cells(line_starting(info.out, "village ")).at(2), "多面");
    EXPECT_THAT(cells(line_starting(info.out, "settlement ")).at(2), "点");
    EXPECT_THAT(cells(line_starting(info.out, "rural_road ")).at(2), "多线");
    EXPECT_THAT(cells(line_starting(info.out, "water_test ")).at(2), "无");
    const auto info_en = run_qiancun({"info", reg});
    ASSERT_EQ(info_en.exit_code, 0) << info_en.err;
    EXPECT_THAT(cells(line_starting(info_en.out, "village ")).at(2), "MULTIPOLYGON");
    EXPECT_THAT(cells(line_starting(info_en.out, "water_test ")).at(2), "NONE");

    // classify: the suggested and recorded classes by their names, the counts per class named
    // without their keys; English keeps the keys.
    const auto zh = run_qiancun({"classify", reg, "--no-store", "--lang", "zh"});
    ASSERT_EQ(zh.exit_code, 0) << zh.err;
    const auto village = cells(line_starting(zh.out, "330604101203 "));
    ASSERT_GE(village.size(), 6u) << zh.out;
    EXPECT_EQ(village.at(3), "城郊融合类");
    EXPECT_EQ(village.at(village.size() - 2), "特色保护类");
    EXPECT_EQ(village.back(), "是"); // the recorded class is not the suggested one
    const auto counts =
        split_lines(after_line(zh.out, "各类村庄数（共 300 个村，规则：内置规则；145 "
                                       "个已登记类别，其中 65 个建议类别不同）"));
    ASSERT_GE(counts.size(), 7u) << zh.out;
    EXPECT_THAT(cells(counts[0]), ElementsAre("名称", "建议", "已登记", "不一致"));
    EXPECT_THAT(cells(counts[1]), ElementsAre("城郊融合类", "17", "11", "7"));
    EXPECT_THAT(cells(counts[6]), ElementsAre("未分类", "0", "155", "0"));
    const auto en = run_qiancun({"classify", reg, "--no-store"});
    ASSERT_EQ(en.exit_code, 0) << en.err;
    EXPECT_EQ(cells(line_starting(en.out, "330604101203 ")).at(3), "suburban");
    EXPECT_EQ(cells(line_starting(en.out, "330604101203 ")).back(), "1");
    EXPECT_THAT(en.out, HasSubstr("\nsuburban  "));

    // check: the counts per check by their names only.
    const auto check = run_qiancun({"check", reg, "--lang", "zh"});
    ASSERT_EQ(check.exit_code, 0) << check.err;
    const auto per_check = split_lines(after_line(check.out, "各项检查的发现（共 13 条）"));
    ASSERT_GE(per_check.size(), 2u) << check.out;
    EXPECT_THAT(cells(per_check[0]), ElementsAre("名称", "发现数"));
    EXPECT_THAT(cells(per_check[1]), ElementsAre("疑似重复设施", "7"));
    EXPECT_THAT(check.out + check.err, Not(HasSubstr("duplicate_asset")));
}

TEST_F(ChineseTablesCli, ListHeadsACountysOwnAttributesByTheirLabelsAndSaysChoicesByName) {
    const std::vector<std::string> args{"list", reg, "village", "--where",
                                        "scenic_level = 'gold_aaa'"};
    const auto zh_args = with(args, {"--lang", "zh"});
    const auto zh = run_qiancun(zh_args);
    ASSERT_EQ(zh.exit_code, 0) << zh.err;
    const auto lines = split_lines(zh.out);
    ASSERT_GE(lines.size(), 2u) << zh.out;
    EXPECT_THAT(cells(lines[0]), ::testing::IsSupersetOf(
                                     {"景区村庄等级", "电子商务专业村", "村集体经济总收入(万元)"}));
    EXPECT_THAT(cells(lines[1]), ::testing::Contains("金3A"));
    EXPECT_THAT(zh.out, Not(HasSubstr("gold_aaa")));
    EXPECT_THAT(zh.out, Not(HasSubstr("scenic_level")));
    // A workbook's header row says them too; the CSV for scripts keeps keys and choices.
    const fs::path people = *dir / "gold.csv";
    const auto file_args = with(zh_args, {"--headers", "zh", "-o", people.string()});
    ASSERT_EQ(run_qiancun(file_args).exit_code, 0);
    EXPECT_THAT(testing::csv_fields(split_lines(testing::read_file(people)).at(0)),
                ::testing::Contains("景区村庄等级"));
    const auto en = run_qiancun(args);
    ASSERT_EQ(en.exit_code, 0) << en.err;
    EXPECT_THAT(cells(split_lines(en.out).at(0)), ::testing::Contains("scenic_level"));
    EXPECT_THAT(cells(split_lines(en.out).at(1)), ::testing::Contains("gold_aaa"));
}

TEST_F(ChineseTablesCli, RoadsAreInGongliAndWrittenLayersAreNamedAsLayers) {
    const auto network = run_qiancun({"info", reg, "--network", "--lang", "zh"});
    ASSERT_EQ(network.exit_code, 0) << network.err;
    EXPECT_THAT(network.out + network.err, HasSubstr(" 公里，用时 "));
    EXPECT_THAT(network.out + network.err, Not(HasSubstr("千米")));
    const fs::path gpkg = *dir / "gaps.gpkg";
    const auto gaps =
        run_qiancun({"gaps", reg, "--type", "sewage_plant", "--lang", "zh", "-o", gpkg.string()});
    ASSERT_EQ(gaps.exit_code, 0) << gaps.err;
    EXPECT_THAT(
        gaps.out + gaps.err,
        HasSubstr(fmt::format("已将图层 gaps_sewage_plant 的 221 个要素写入 {}", gpkg.string())));
}

TEST_F(ChineseTablesCli, StylesLabelStatusesAndBookkeepingFieldsFromTheCatalogue) {
    const fs::path shp = *dir / "plants.shp";
    const auto r = run_qiancun({"export", reg, "sewage_plant", shp.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string qml = testing::read_file(fs::path(shp).replace_extension(".qml"));
    for (const char *label : {"规划", "在建", "运行", "改造", "停用"})
        EXPECT_THAT(qml, HasSubstr(fmt::format("label=\"{}\"", label))) << label;
    EXPECT_THAT(qml, HasSubstr("field=\"source_row\" name=\"来源行号\""));
    EXPECT_THAT(qml, HasSubstr("field=\"updated_at\" name=\"更新时间\""));
    EXPECT_THAT(qml, Not(HasSubstr("label=\"renovating\"")));
}

} // namespace
} // namespace qiancun
