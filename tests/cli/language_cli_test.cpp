// The Chinese interface: --lang zh and a Chinese environment (LANG, LC_MESSAGES, with or without
// the locale installed) give the catalogue's Chinese; machine output keeps its English keys.

#include "testing/postgres.hpp"
#include "testing/testing.hpp"
#include "testing/zip_writer.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <filesystem>

namespace qiancun {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::run_qiancun;
using testing::split_lines;
using testing::TempDir;

/// A Chinese environment by LANG alone: LC_ALL (pinned by run_qiancun) removed.
const testing::Environment kLangZh{{"LC_ALL", ""}, {"LC_MESSAGES", ""}, {"LANG", "zh_CN.UTF-8"}};

struct LanguageCli : ::testing::Test {
    TempDir dir;
    std::string missing = testing::test_registry(dir.path(), "nowhere.sqlite");
    std::string english() const {
        return fmt::format("qiancun: {} does not exist; create it with 'qiancun init {}'\n",
                           missing, missing);
    }
    std::string chinese() const {
        return fmt::format("qiancun: {} 不存在；请用“qiancun init {}”创建\n", missing, missing);
    }
};

TEST_F(LanguageCli, MissingRegistryIsSaidInChineseByOptionAndByEnvironment) {
    const auto en = run_qiancun({"info", missing});
    EXPECT_EQ(en.exit_code, 2);
    EXPECT_EQ(en.err, english());

    const auto by_option = run_qiancun({"--lang", "zh", "info", missing});
    EXPECT_EQ(by_option.exit_code, 2);
    EXPECT_EQ(by_option.err, chinese());
    // After the subcommand and as --lang=zh too.
    EXPECT_EQ(run_qiancun({"info", missing, "--lang=zh"}).err, chinese());

    // LANG=zh_CN.UTF-8 whether or not the system has that locale.
    EXPECT_EQ(run_qiancun({"info", missing}, std::nullopt, kLangZh).err, chinese());
    EXPECT_EQ(run_qiancun({"info", missing}, std::nullopt,
                          {{"LC_ALL", ""}, {"LANG", ""}, {"LC_MESSAGES", "zh_CN.UTF-8"}})
                  .err,
              chinese());
    EXPECT_EQ(
        run_qiancun({"info", missing}, std::nullopt, testing::locale_environment("zh_CN.UTF-8"))
            .err,
        chinese());
    // --lang wins over the environment, both ways.
    EXPECT_EQ(run_qiancun({"--lang", "en", "info", missing}, std::nullopt, kLangZh).err, english());
    EXPECT_EQ(run_qiancun({"--lang", "zh", "info", missing}, std::nullopt,
                          {{"LC_ALL", ""}, {"LANG", "de_DE.UTF-8"}})
                  .err,
              chinese());
}

TEST_F(LanguageCli, UnknownLanguageIsAUsageError) {
    const auto r = run_qiancun({"--lang", "fr", "info", missing});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "qiancun: --lang fr: use zh (中文) or en (English)\n");
}

TEST_F(LanguageCli, HelpIsTranslated) {
    const auto zh = run_qiancun({"--lang", "zh", "classify", "--help"});
    ASSERT_EQ(zh.exit_code, 0) << zh.err;
    EXPECT_THAT(zh.out, HasSubstr("按规则建议各村类别（SPEC §4）；保存 village_classes 图层"));
    EXPECT_THAT(zh.out, HasSubstr("用法: qiancun classify [选项] REGISTRY"));
    EXPECT_THAT(zh.out, HasSubstr("  -h,--help                   显示此帮助并退出"));
    EXPECT_THAT(zh.out, Not(HasSubstr("Options:")));
    EXPECT_THAT(zh.out, HasSubstr("只列建议类别与登记类别不同的村"));
    const auto en = run_qiancun({"classify", "--help"});
    EXPECT_THAT(
        en.out,
        HasSubstr("Suggest each village's class (SPEC §4) by rules; stores village_classes"));
    EXPECT_THAT(en.out, Not(HasSubstr("用法")));
}

/// True when `text` holds a CJK ideograph (U+4E00–U+9FFF: UTF-8 lead byte 0xE4–0xE9).
bool has_chinese(const std::string &text) {
    for (std::size_t i = 0; i + 2 < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0xE4 && c <= 0xE9 && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80)
            return true;
    }
    return false;
}

/// One entry of a help section: its names (option, type, labels) and its description.
struct HelpEntry {
    std::string names;
    std::string description;
};

/// The entries of the sections 位置参数, 选项 and 子命令 of a help text as CLI11 lays them out:
/// names from column 2, the description from column 30 (on the next line when the names take
/// the whole first 30 columns), further description lines indented by 30 spaces.
std::vector<HelpEntry> help_entries(const std::string &help) {
    constexpr std::size_t kColumn = 30;
    std::vector<HelpEntry> out;
    bool in_section = false;
    for (const auto &line : split_lines(help)) {
        if (line == "位置参数:" || line == "选项:" || line == "子命令:") {
            in_section = true;
        } else if (!in_section || line.empty() || line[0] != ' ') {
            in_section = false;
        } else if (line.starts_with(std::string(kColumn, ' ')) && !out.empty()) {
            out.back().description += line.substr(kColumn);
        } else if (line.size() > kColumn && line.substr(kColumn - 2, 2) == "  ") {
            out.push_back({line.substr(2, line.find_last_not_of(' ', kColumn - 1) - 1),
                           line.substr(kColumn)});
        } else {
            out.push_back({line.substr(2), ""});
        }
    }
    return out;
}

TEST_F(LanguageCli, EveryCommandsHelpIsChineseUnderLangZh) {
    // Every subcommand `qiancun --help` lists, and theirs (role add, role list).
    std::vector<std::vector<std::string>> commands{{}};
    std::size_t options = 0;
    for (std::size_t i = 0; i < commands.size(); ++i) {
        auto args = commands[i];
        args.insert(args.begin(), {"--lang", "zh"});
        args.push_back("--help");
        const auto r = run_qiancun(args);
        const std::string what = fmt::format("qiancun {} --help", fmt::join(commands[i], " "));
        ASSERT_EQ(r.exit_code, 0) << what << ": " << r.err;
        const auto lines = split_lines(r.out);
        ASSERT_GT(lines.size(), 2u) << what;
        EXPECT_TRUE(has_chinese(lines[0])) << what << ": " << lines[0];
        EXPECT_TRUE(lines[1].starts_with("用法: qiancun")) << what << ": " << lines[1];
        for (const char *english : {"Usage", "OPTIONS", "Options:", "Positionals", "REQUIRED",
                                    "Subcommands", "SUBCOMMAND", "Needs:", "Excludes:"})
            EXPECT_THAT(r.out, Not(HasSubstr(english))) << what;
        const auto entries = help_entries(r.out);
        EXPECT_FALSE(entries.empty()) << what;
        for (const auto &e : entries) {
            EXPECT_TRUE(has_chinese(e.description))
                << what << ": " << e.names << " — \"" << e.description << "\"";
            ++options;
        }
        bool subcommands = false;
        for (const auto &line : lines) {
            if (line == "子命令:") {
                subcommands = true;
            } else if (subcommands && line.starts_with("  ") && line[2] != ' ') {
                auto sub = commands[i];
                sub.push_back(line.substr(2, line.find(' ', 2) - 2));
                commands.push_back(sub);
            } else {
                subcommands = false;
            }
        }
    }
    EXPECT_GE(commands.size(), 24u); // qiancun, 21 subcommands, role add, role list
    EXPECT_GT(options, 200u);
}

TEST_F(LanguageCli, CommandLineErrorsAreSaidInChinese) {
    struct Case {
        std::vector<std::string> args;
        std::string zh; ///< the first line of standard error
        std::string en;
    };
    const std::vector<Case> cases{
        {{"info", missing, "--nosuch"},
         "多余的参数：--nosuch",
         "The following argument was not expected: --nosuch"},
        {{"list", missing, "village", "--village"},
         "--village：缺少 1 个 TEXT 值",
         "--village: 1 required TEXT missing"},
        {{"info", missing, "--format", "xml"},
         "--format：“xml”不是 csv, json, table 之一",
         "--format: 'xml' is not one of csv, json, table"},
    };
    for (const auto &c : cases) {
        auto zh_args = c.args;
        zh_args.insert(zh_args.begin(), {"--lang", "zh"});
        const auto zh = run_qiancun(zh_args);
        EXPECT_EQ(zh.exit_code, 2) << zh.err;
        EXPECT_EQ(zh.err, c.zh + "\n用 --help 查看详细说明。\n");
        const auto en = run_qiancun(c.args);
        EXPECT_EQ(en.exit_code, 2) << en.err;
        EXPECT_EQ(en.err, c.en + "\nRun with --help for more information.\n");
    }
}

TEST_F(LanguageCli, ATranslationThatReordersValuesPutsEachInItsPlace) {
    // A scale error, at a place, under a bound.
    auto r =
        run_qiancun({"--lang", "zh", "init", (dir / "m.sqlite").string(), "--crs", "EPSG:3857"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("不能作为工作坐标系：其在 104.5E 28.5N（中国境内适用范围的中心） "
                                 "处的尺度误差为 13.79 %，而指标计算最多允许 0.1 %（SPEC §8）；"));
    // What an archive member declares it unpacks to, from how many compressed bytes.
    const std::string reg = (dir / "r.sqlite").string();
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);
    testing::write_zero_bomb(dir / "bomb.zip", "plants.shp", std::uint64_t{2} << 30);
    r = run_qiancun(
        {"--lang", "zh", "import", reg, (dir / "bomb.zip").string(), "--as", "sewage_plant"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_THAT(r.err, HasSubstr("：已拒绝：压缩包解压后超过 1.0 GiB（plants.shp 声明由 "));
    EXPECT_THAT(r.err, HasSubstr(" MiB 压缩数据解出 2.0 GiB；zip 炸弹？）；请解压后导入文件本身"));
}

TEST_F(LanguageCli, BadInputRowsAreReportedInChinese) {
    const auto reg = testing::test_registry(dir.path(), "county.sqlite");
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);
    testing::write_file(dir / "plants.csv",
                        "id,status,x,y\nP1,运行,500500,3320500\nP2,运行,,3320600\nP3,,1,2\n");
    const auto r = run_qiancun({"import", reg, (dir / "plants.csv").string(), "--as",
                                "sewage_plant", "--src-crs", "EPSG:4549", "--lang", "zh"});
    EXPECT_EQ(r.exit_code, 3);
    const std::string file = (dir / "plants.csv").string();
    EXPECT_THAT(r.err, HasSubstr("错误：" + file + "，第 2 行：x 为空\n"));
    EXPECT_THAT(r.err, HasSubstr("错误：" + file + "，第 3 行：status 为空\n"));
    EXPECT_THAT(r.err,
                HasSubstr("qiancun: " + file +
                          "（图层 plants），第 2 行：x 为空（另有 1 处错误；未导入任何数据）\n"));
}

TEST_F(LanguageCli, BadCrsIsRefusedInChinese) {
    const auto r = run_qiancun({"init", (dir / "c.sqlite").string(), "--crs", "EPSG:4326"},
                               std::nullopt, kLangZh);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("不能作为工作坐标系：它是地理坐标系（单位为度），而指标计算需要以"
                                 "米为单位的投影坐标系（SPEC §8）；"));
}

TEST_F(LanguageCli, ExportAndProjectErrorsAreSaidInChinese) {
    const std::string reg = (dir / "r.sqlite").string();
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);
    const std::string qgx = (dir / "county.qgx").string();
    auto r = run_qiancun({"--lang", "zh", "qgis-project", reg, "-o", qgx});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err,
              fmt::format("qiancun: 无法判断“{}”的格式：QGIS 项目文件以 .qgz 或 .qgs 结尾\n", qgx));
    r = run_qiancun({"qgis-project", reg, "-o", qgx});
    EXPECT_EQ(r.err, fmt::format("qiancun: cannot tell the format of '{}': a QGIS project ends in "
                                 ".qgz or .qgs\n",
                                 qgx));
    r = run_qiancun({"--lang", "zh", "export", reg, "nosuch", (dir / "x.gpkg").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr(fmt::format("{} 中没有图层“nosuch”；现有图层：village, ", reg)));
    r = run_qiancun({"--lang", "zh", "export", reg, "village", (dir / "x.gpkg").string(), "--t-srs",
                     "EPSG:999999"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("--t-srs “EPSG:999999”不是 GDAL 认识的坐标系"));
}

TEST_F(LanguageCli, ImportSourceErrorsAreSaidInChinese) {
    const std::string reg = (dir / "r.sqlite").string();
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);
    const std::string csv = (dir / "p.csv").string();
    testing::write_file(csv, "id,status,x,y\nA,operating,120.1,30.0\n");
    auto r = run_qiancun(
        {"--lang", "zh", "import", reg, csv, "--as", "sewage_plant", "--src-crs", "EPSG:99999"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_THAT(r.err, HasSubstr("--src-crs “EPSG:99999”不是 PROJ 认识的坐标系"));
    r = run_qiancun(
        {"--lang", "zh", "import", reg, csv, "--as", "sewage_plant", "--x", "lon", "--y", "lat"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_THAT(r.err, HasSubstr("没有坐标字段“lon”；现有字段：id, status, x, y"));
    r = run_qiancun({"import", reg, csv, "--as", "sewage_plant", "--x", "lon", "--y", "lat"});
    EXPECT_THAT(r.err, HasSubstr("no coordinate field 'lon'; fields are: id, status, x, y"));
}

TEST_F(LanguageCli, LibraryErrorsAPlannerMeetsAreSaidInChineseByOptionAndByEnvironment) {
    const std::string reg = (dir / "r.sqlite").string();
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);
    const std::string indicators = (dir / "ind.toml").string();
    testing::write_file(indicators, "[indicator.x]\nlabel = \"测试\"\nmeasure = \"count\"\n"
                                    "kind = \"sewage_plant\"\nwhere = \"status = \"\n");
    const std::string types = (dir / "types.toml").string();
    testing::write_file(types, "[asset_types.well]\nname = \"机井\"\ngeometry = \"blob\"\n");
    const std::string roads = (dir / "roads.geojson").string();
    testing::write_file(roads, R"({"type":"FeatureCollection","features":[{"type":"Feature",)"
                               R"("properties":{"id":"R1","grade":"village","status":"operating"},)"
                               R"("geometry":{"type":"LineString","coordinates":)"
                               R"([[500100,3320100],[500100,3320100]]}}]})");
    const std::string feet = "+proj=tmerc +lon_0=120 +k=1 +x_0=500000 +ellps=GRS80 +units=us-ft";
    struct Case {
        std::vector<std::string> args;
        int exit_code;
        std::string zh; ///< the whole of standard error
        std::string en; ///< a part of it in English
    };
    const std::vector<Case> cases{
        {{"indicators", reg, "--indicators", indicators},
         3,
         fmt::format("qiancun: {}：第 5 行第 10 列，[indicator.x] where \"status = \"：应为名称、"
                     "数字或 'text'，实为“表达式结尾”\n",
                     indicators),
         "line 5, column 10 of [indicator.x] where \"status = \": expected a name, number or "
         "'text', found 'end of the expression'"},
        {{"init", (dir / "t.sqlite").string(), "--crs", "EPSG:4549", "--types", types},
         3,
         fmt::format("qiancun: {}：设施类型“well”：几何“blob”不是 point、line、polygon、"
                     "point_or_polygon 之一\n",
                     types),
         "asset type 'well': geometry 'blob' is not one of point, line, polygon, "
         "point_or_polygon"},
        {{"init", (dir / "u.sqlite").string(), "--crs", feet},
         2,
         "qiancun: 'custom CRS +proj=tmerc +lat_0=0 +lon_0=120 +k=1 +x_0=500000.000000001 +y_0=0 "
         "+ellps=GRS80 +units=us-ft' 不能作为工作坐标系：其单位为 US survey foot，不是米；请使用"
         "数据所在的 CGCS2000 3 度高斯-克吕格分带：中央经线（75、78 … 135E）离数据经度最近的分带"
         "为 EPSG:4534 + (CM - 75) / 3，如 120E 为 EPSG:4549；或以数据为中心的横轴墨卡托投影（如 "
         "'+proj=tmerc +lon_0=120.5 +k=1 +x_0=500000 +ellps=GRS80 +units=m'）\n",
         "its unit is US survey foot, not the metre"},
        {{"import", reg, roads, "--as", "rural_road", "--src-crs", "EPSG:4549"},
         3,
         fmt::format("错误：{0}，第 1 行：线的不同点少于 2 个\n"
                     "qiancun: {0}（图层 roads），第 1 行：线的不同点少于 2 个（未导入任何数据）\n",
                     roads),
         "row 1: line has fewer than 2 distinct points"},
        {{"init", reg, "--crs", "EPSG:4549"},
         2,
         fmt::format("qiancun: {} 已存在；请直接打开，或先删除它\n", reg),
         "already exists; open it, or remove it first"},
    };
    for (const auto &c : cases) {
        auto with_option = c.args;
        with_option.insert(with_option.begin(), {"--lang", "zh"});
        const auto by_option = run_qiancun(with_option);
        EXPECT_EQ(by_option.exit_code, c.exit_code) << c.args[0];
        EXPECT_EQ(by_option.err, c.zh);
        const auto by_environment = run_qiancun(c.args, std::nullopt, kLangZh);
        EXPECT_EQ(by_environment.exit_code, c.exit_code) << c.args[0];
        EXPECT_EQ(by_environment.err, c.zh);
        const auto en = run_qiancun(c.args);
        EXPECT_EQ(en.exit_code, c.exit_code) << c.args[0];
        EXPECT_THAT(en.err, HasSubstr(c.en));
    }
    // Nothing of the refused commands reached the registry.
    const auto info = run_qiancun({"list", reg, "rural_road", "--format", "csv"});
    EXPECT_EQ(split_lines(info.out).size(), 1u) << info.out;
}

TEST_F(LanguageCli, LoadSaysKindsByTheirLabelsInChineseAndByTheirKeysInEnglish) {
    // Two villages and two courier stations of one name 14 m apart: one entered twice.
    testing::write_two_square_villages(dir / "villages.geojson");
    testing::write_file(dir / "couriers.csv", "id,status,name,x,y\n"
                                              "K1,运行,黄门村服务站,500300,3320300\n"
                                              "K2,运行,黄门村服务站,500314,3320300\n");
    testing::write_file(dir / "county.toml",
                        "[registry]\ncrs = \"EPSG:4549\"\n\n"
                        "[[source]]\nname = \"villages\"\nkind = \"village\"\n"
                        "path = \"villages.geojson\"\n\n"
                        "[[source]]\nname = \"post\"\nkind = \"courier_station\"\n"
                        "path = \"couriers.csv\"\nsrc_crs = \"EPSG:4549\"\nx = \"x\"\ny = \"y\"\n");
    const auto load = [&](const std::string &lang) {
        const auto reg = testing::test_registry(dir.path(), "load_" + lang + ".sqlite");
        EXPECT_EQ(run_qiancun({"init", reg}).exit_code, 0);
        auto r = run_qiancun({"--lang", lang, "load", reg, (dir / "county.toml").string()});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return std::make_pair(reg, r);
    };
    const auto [zh_reg, zh] = load("zh");
    EXPECT_THAT(
        split_lines(zh.err),
        ::testing::ElementsAre(
            "[1/2] 行政村 ← villages.geojson", "[2/2] 村级寄递物流综合服务站 ← couriers.csv",
            fmt::format("警告：2 条村级寄递物流综合服务站记录疑似重复（50 米内同名或近似同名："
                        "K1 与 K2 相距 14.0 米），见 `qiancun check {}`（疑似重复设施）",
                        zh_reg)));
    // Padded to the widest kind in terminal columns (a Chinese character takes two).
    EXPECT_THAT(zh.out, HasSubstr("\n行政村                 villages.geojson             读入"
                                  "      2  新增      2  更新      0  修复   0\n"
                                  "村级寄递物流综合服务站 couriers.csv                 读入"
                                  "      2  新增      2  更新      0  修复   0\n"));

    const auto [en_reg, en] = load("en");
    EXPECT_THAT(split_lines(en.err),
                ::testing::ElementsAre(
                    "[1/2] village ← villages.geojson", "[2/2] courier_station ← couriers.csv",
                    fmt::format("warning: 2 likely duplicate courier_station rows (same or "
                                "near-same name within 50 m: K1 and K2 14.0 m apart), see "
                                "`qiancun check {}` (duplicate_asset)",
                                en_reg)));
    EXPECT_THAT(en.out, HasSubstr("\nvillage          villages.geojson             read      2"
                                  "  new      2  updated      0  repaired   0\n"
                                  "courier_station  couriers.csv                 read      2"
                                  "  new      2  updated      0  repaired   0\n"));
}

TEST_F(LanguageCli, MachineOutputKeepsItsEnglishKeys) {
    const auto reg = testing::test_registry(dir.path(), "county.sqlite");
    testing::write_two_square_villages(dir / "villages.geojson");
    ASSERT_EQ(run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);
    ASSERT_EQ(run_qiancun({"import", reg, (dir / "villages.geojson").string(), "--as", "village"})
                  .exit_code,
              0);
    const auto en = run_qiancun({"list", reg, "village", "--format", "csv"});
    const auto zh = run_qiancun({"list", reg, "village", "--format", "csv"}, std::nullopt, kLangZh);
    ASSERT_EQ(zh.exit_code, 0) << zh.err;
    EXPECT_EQ(zh.out, en.out);
    EXPECT_EQ(split_lines(zh.out).at(0).substr(0, 19), "code,name,township,");
    // A table for people follows the language of the interface.
    const auto table = run_qiancun({"--lang", "zh", "list", reg, "village"});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_TRUE(split_lines(table.out).at(0).starts_with("村代码" + std::string(8, ' ') + "名称"))
        << table.out;
    EXPECT_EQ(split_lines(table.out).back(), "（2 行）");
    EXPECT_TRUE(split_lines(run_qiancun({"list", reg, "village"}).out)
                    .at(0)
                    .starts_with("code" + std::string(10, ' ') + "name"));
    const auto json = run_qiancun({"--lang", "zh", "list", reg, "village", "--format", "json"});
    EXPECT_THAT(json.out, HasSubstr("\"code\""));
    EXPECT_THAT(json.out, HasSubstr("\"name\""));
}

} // namespace
} // namespace qiancun
