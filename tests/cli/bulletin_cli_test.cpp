#include "testing/postgres.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

// `qiancun bulletin` (SPEC §5.2) on the sample county loaded twice, two months apart, as the
// demo does: the page's numbers against `indicators --format csv`, the page being self-contained,
// the workbook, and, with headless Chromium, the page as a browser shows and prints it.

namespace qiancun {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::run_command;
using testing::run_qiancun;
using testing::split_lines;

constexpr const char *kAsOf = "2026-11-30";
constexpr const char *kCompare = "2026-09-30";

/// A CSV table: header, then {column → cell} per row (no quoted commas in these tables).
struct Csv {
    std::vector<std::string> header;
    std::vector<std::map<std::string, std::string>> rows;
};

Csv parse_csv(const std::string &text) {
    Csv csv;
    auto cells = [](const std::string &line) {
        std::vector<std::string> out;
        std::stringstream in(line);
        std::string cell;
        while (std::getline(in, cell, ','))
            out.push_back(cell);
        if (!line.empty() && line.back() == ',')
            out.emplace_back();
        return out;
    };
    const auto lines = split_lines(text);
    if (lines.empty())
        return csv;
    csv.header = cells(lines[0]);
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const auto c = cells(lines[i]);
        std::map<std::string, std::string> row;
        for (std::size_t j = 0; j < csv.header.size(); ++j)
            row[csv.header[j]] = j < c.size() ? c[j] : "";
        csv.rows.push_back(std::move(row));
    }
    return csv;
}

/// One row of a table of the page: its data-key, data-status and {data-col → text}.
struct HtmlRow {
    std::string key;
    std::string status;
    std::map<std::string, std::string> cells;
};

/// The rows of the table `<table id="t-ID">` of the page, parsed from its markup.
std::vector<HtmlRow> html_table(const std::string &html, const std::string &id) {
    const auto start = html.find("<table id=\"t-" + id + "\">");
    if (start == std::string::npos)
        return {};
    const auto end = html.find("</table>", start);
    const std::string table = html.substr(start, end - start);
    std::vector<HtmlRow> rows;
    static const std::regex row_re(
        R"re(<tr data-key="([^"]*)"(?: data-status="([^"]*)" class="[^"]*")?>(.*?)</tr>)re");
    static const std::regex cell_re(R"re(<td data-col="([^"]*)"[^>]*>([^<]*)</td>)re");
    for (auto it = std::sregex_iterator(table.begin(), table.end(), row_re);
         it != std::sregex_iterator(); ++it) {
        HtmlRow row;
        row.key = (*it)[1];
        row.status = (*it)[2];
        const std::string body = (*it)[3];
        for (auto c = std::sregex_iterator(body.begin(), body.end(), cell_re);
             c != std::sregex_iterator(); ++c)
            row.cells[(*c)[1]] = (*c)[2];
        rows.push_back(std::move(row));
    }
    return rows;
}

std::size_t count_of(const std::string &text, const std::string &what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

/// The translations of context `context` in po/zh_CN.po, by msgid (a long one wrapped over
/// several quoted lines is joined).
std::map<std::string, std::string> catalogue_words(const std::string &context) {
    const std::string po = testing::read_file(testing::source_dir() / "po" / "zh_CN.po");
    static const std::string quoted = R"re((?:"(?:[^"\\\n]|\\.)*"\n)+)re";
    const std::regex entry("msgctxt \"" + context + "\"\nmsgid (" + quoted + ")msgstr (" + quoted +
                           ")");
    auto joined = [](const std::string &lines) {
        std::string out;
        static const std::regex piece(R"re("((?:[^"\\]|\\.)*)")re");
        for (auto it = std::sregex_iterator(lines.begin(), lines.end(), piece);
             it != std::sregex_iterator(); ++it)
            out += std::regex_replace((*it)[1].str(), std::regex(R"re(\\(.))re"), "$1");
        return out;
    };
    std::map<std::string, std::string> out;
    for (auto it = std::sregex_iterator(po.begin(), po.end(), entry); it != std::sregex_iterator();
         ++it)
        out[joined((*it)[1])] = joined((*it)[2]);
    return out;
}

bool on_path(const std::string &program) {
    return run_command({"/bin/sh", "-c", "command -v " + program}).exit_code == 0;
}

/// The sample county loaded as of 2026-09-30, then next month's delivery (6 plants finished, 15
/// renovated, 3 halls upgraded, roads maintained; tools/derive_next_month.sh) as of 2026-11-30.
class BulletinCli : public testing::SampleMonthsSuite {
protected:
    static void SetUpTestSuite() {
        load(kCompare, kAsOf, true);
        if (HasFatalFailure())
            return;
        html = *dir / "bulletin.html";
        const auto r = run_qiancun(
            {"bulletin", reg, "--as-of", kAsOf, "--compare", kCompare, "-o", html.string()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_THAT(r.out, HasSubstr("wrote the bulletin as of 2026-11-30 (compared with "
                                     "2026-09-30) to"));
        page = testing::read_file(html);
    }

    inline static fs::path html;
    inline static std::string page;
};

TEST_F(BulletinCli, DistrictValuesInThePageEqualIndicatorsCsv) {
    const auto r = run_qiancun(
        {"indicators", reg, "--as-of", kAsOf, "--compare", kCompare, "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const Csv csv = parse_csv(r.out);
    ASSERT_EQ(csv.rows.size(), 10u) << r.out;
    const auto rows = html_table(page, "district");
    ASSERT_EQ(rows.size(), csv.rows.size()) << page.substr(0, 4000);
    std::set<std::string> statuses;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto &want = csv.rows[i];
        const auto &got = rows[i];
        const std::string key = want.at("indicator");
        SCOPED_TRACE(key);
        EXPECT_EQ(got.key, key);
        EXPECT_EQ(got.cells.at("indicator"), key);
        EXPECT_EQ(got.status, want.at("status"));
        std::string target = got.cells.at("target");
        if (!target.empty() && target.back() == '*') // a planning assumption, marked
            target.pop_back();
        EXPECT_EQ(target, want.at("target"));
        for (const char *c : {"expected", "actual", "compare_actual", "change", "unknown"})
            EXPECT_EQ(got.cells.at(c), want.at(c)) << c;
        statuses.insert(got.status);
    }
    // The month's changes show: 6 plants finished since September, 1 village more covered.
    const auto &sewage_new = rows[0];
    EXPECT_EQ(sewage_new.cells.at("actual"), "6");
    EXPECT_EQ(sewage_new.cells.at("compare_actual"), "0");
    EXPECT_EQ(sewage_new.cells.at("change"), "6");
    EXPECT_TRUE(statuses.count("behind") && statuses.count("on_track")) << page.substr(0, 2000);
    // The people's words of the statuses and units are the catalogue's.
    const auto status_words = catalogue_words("indicator status");
    EXPECT_EQ(status_words.size(), 5u);
    EXPECT_EQ(status_words.at("behind"), "滞后");
    const auto unit_words = catalogue_words("indicator unit");
    for (const auto &row : rows) {
        SCOPED_TRACE(row.key);
        EXPECT_EQ(row.cells.at("status"), status_words.at(row.status));
        const auto unit = csv.rows[&row - rows.data()].at("unit");
        EXPECT_EQ(row.cells.at("unit"), unit_words.count(unit) ? unit_words.at(unit) : unit);
    }
    EXPECT_EQ(rows[0].cells.at("unit"), "个");
    // Every share's detail in Chinese ("74/300个行政村"), none left as "74 of 300 villages".
    std::size_t shares = 0;
    for (const auto &row : rows) {
        const std::string &detail = row.cells.at("detail");
        EXPECT_THAT(detail, Not(HasSubstr(" of "))) << row.key;
        shares += detail.find('/') != std::string::npos ? 1 : 0;
    }
    EXPECT_GE(shares, 5u);
    EXPECT_THAT(page, HasSubstr("个规划保留村</td>"));
}

TEST_F(BulletinCli, WarningsComeFirstFurthestBehindFirstAndTownshipsAreRanked) {
    const auto r =
        run_qiancun({"indicators", reg, "--as-of", kAsOf, "--by", "township", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const Csv csv = parse_csv(r.out);
    std::set<std::pair<std::string, std::string>> behind; // (township, indicator)
    std::set<std::string> townships;
    for (const auto &row : csv.rows) {
        if (row.at("status") == "behind")
            behind.emplace(row.at("township"), row.at("indicator"));
        if (!row.at("township").empty())
            townships.insert(row.at("township"));
    }
    ASSERT_FALSE(behind.empty());
    const auto warnings = html_table(page, "warnings");
    ASSERT_EQ(warnings.size(), behind.size());
    // The warnings section precedes the district table.
    EXPECT_LT(page.find("id=\"t-warnings\""), page.find("id=\"t-district\""));
    bool in_townships = false;
    double last_share = 2.0;
    for (const auto &w : warnings) {
        const std::string scope = w.cells.at("township");
        const bool township = scope != "全区";
        EXPECT_TRUE(behind.count({township ? scope : "", w.cells.at("indicator")}))
            << scope << " " << w.cells.at("indicator");
        if (township && !in_townships) {
            in_townships = true; // the district's rows first, then the townships'
            last_share = 2.0;
        }
        EXPECT_FALSE(in_townships && !township);
        const double share = std::stod(w.cells.at("behind_share")) / 100.0;
        EXPECT_LE(share, last_share + 1e-9) << "not furthest first at " << w.key;
        last_share = share;
        // behind_by = expected − actual, to the hundredth.
        EXPECT_NEAR(std::stod(w.cells.at("behind_by")),
                    std::stod(w.cells.at("expected")) - std::stod(w.cells.at("actual")), 0.011);
    }
    const auto ranking = html_table(page, "ranking");
    ASSERT_EQ(ranking.size(), townships.size());
    // Ranks by the share met, from the CSV: met / (rows with a target and an actual).
    std::map<std::string, std::pair<int, int>> met_of;
    for (const auto &row : csv.rows) {
        if (row.at("township").empty() || row.at("target").empty() || row.at("actual").empty())
            continue;
        auto &m = met_of[row.at("township")];
        ++m.second;
        m.first += row.at("status") == "met" ? 1 : 0;
    }
    for (const auto &row : ranking) {
        const auto &m = met_of[row.key];
        EXPECT_EQ(row.cells.at("met"), std::to_string(m.first)) << row.key;
        EXPECT_EQ(row.cells.at("targets"), std::to_string(m.second)) << row.key;
        int better = 0;
        for (const auto &[t, o] : met_of)
            better += o.first * m.second > m.first * o.second ? 1 : 0;
        EXPECT_EQ(row.cells.at("rank"), std::to_string(better + 1)) << row.key;
    }
}

TEST_F(BulletinCli, PageIsSelfContainedChineseAndPrintable) {
    EXPECT_THAT(page, HasSubstr("<html lang=\"zh-CN\">"));
    EXPECT_THAT(page, HasSubstr("Content-Security-Policy\" content=\"default-src 'none'"));
    for (const char *external :
         {"http://", "https://", "src=", "url(", "@import", "<script", "<link"})
        EXPECT_THAT(page, Not(HasSubstr(external))) << external;
    EXPECT_THAT(page, HasSubstr("@page { size: A4;"));
    EXPECT_THAT(page, HasSubstr("break-inside: avoid"));
    EXPECT_THAT(page, HasSubstr("thead { display: table-header-group; }"));
    EXPECT_THAT(page, HasSubstr("全区核心指标"));
    EXPECT_THAT(page, HasSubstr("进度预警"));
    EXPECT_THAT(page, HasSubstr("数据质量"));
    // Four maps (three coverages and the classes), every village once in each.
    EXPECT_EQ(count_of(page, "<svg class=\"map\""), 4u);
    EXPECT_EQ(count_of(page, "<path id=\"v"), 300u);
    EXPECT_EQ(count_of(page, "<use href=\"#v"), 4u * 300u);
    // The sewage map's dots are the uncovered settlements `gaps` lists.
    const auto r = run_qiancun({"gaps", reg, "--type", "sewage_plant", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const Csv gaps = parse_csv(r.out);
    long settlements = 0;
    for (const auto &row : gaps.rows)
        settlements += std::stol(row.at("uncovered_settlements"));
    ASSERT_GT(settlements, 0);
    EXPECT_THAT(page, HasSubstr(fmt::format("覆盖缺口村中未覆盖的自然村（{}）", settlements)));
    // The worst gaps: the first 10 villages `gaps` lists per type, in its order.
    const auto worst = html_table(page, "worst_gaps");
    std::vector<std::pair<std::string, std::string>> want; // (type, code)
    for (const char *type : {"sewage_plant", "courier_station", "base_station_5g"}) {
        const auto g = run_qiancun({"gaps", reg, "--type", type, "--format", "csv"});
        ASSERT_EQ(g.exit_code, 0) << g.err;
        const Csv listed = parse_csv(g.out);
        for (std::size_t i = 0; i < listed.rows.size() && i < 10; ++i)
            want.emplace_back(type, listed.rows[i].at("code"));
    }
    ASSERT_EQ(worst.size(), want.size());
    ASSERT_GT(want.size(), 10u);
    for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(worst[i].cells.at("type"), want[i].first) << i;
        EXPECT_EQ(worst[i].key, want[i].second) << i;
    }
    // Data quality: the `check` counts.
    const auto check = run_qiancun({"check", reg, "--format", "csv"});
    const Csv findings = parse_csv(check.out);
    std::map<std::string, int> per_check;
    for (const auto &row : findings.rows)
        ++per_check[row.at("check")];
    const auto quality = html_table(page, "quality");
    ASSERT_EQ(quality.size(), 7u);
    for (const auto &row : quality)
        EXPECT_EQ(row.cells.at("findings"), std::to_string(per_check[row.key])) << row.key;
}

TEST_F(BulletinCli, MapTitlesCaptionsAndLegendsAreTheCataloguesChineseInAnEnglishInterface) {
    // The suite wrote the page with the messages in English.
    const std::string when = "数据为登记库的当前记录";
    EXPECT_THAT(page, HasSubstr("<figcaption><b>图1　污水处理设施覆盖</b>　行政村按覆盖率（有自然村"
                                "人口时按人口，否则按面积）着色；" +
                                when + "。</figcaption>"));
    EXPECT_THAT(page, HasSubstr("<figcaption><b>图2　村级寄递物流综合服务站覆盖</b>"));
    EXPECT_THAT(page, HasSubstr("<figcaption><b>图3　5G 基站覆盖</b>"));
    EXPECT_THAT(page, HasSubstr("<figcaption><b>图4　村庄规划分类</b>　按登记的规划分类（SPEC §4）"
                                "着色；" +
                                when + "。</figcaption>"));
    // Legends: the coverage classes on each coverage map, the plan's classes and the villages
    // without one on the classes map.
    EXPECT_EQ(count_of(page, "</i>达标（≥90%）（"), 3u);
    EXPECT_EQ(count_of(page, "</i>低于 30%（"), 3u);
    for (const char *label :
         {"城郊融合类", "集聚建设类", "整治提升类", "特色保护类", "搬迁撤并类", "未分类"})
        EXPECT_EQ(count_of(page, std::string("</i>") + label + "（"), 1u) << label;
}

/// The bulletin's own words: context, English msgid, and the Chinese the bulletin says.
struct Word {
    const char *context;
    const char *msgid;
    const char *zh;
};

const Word kBulletinWords[] = {
    {"bulletin table", "Progress warnings (indicators behind schedule, furthest behind first)",
     "进度预警（滞后指标，按差距从大到小）"},
    {"bulletin table", "Core indicators of the district", "全区核心指标"},
    {"bulletin table", "Townships (subdistricts) ranked by the share of their targets met",
     "乡镇（街道）排名：按目标达标比例"},
    {"bulletin table", "Administrative villages with the largest coverage gaps",
     "覆盖缺口最大的行政村"},
    {"bulletin table", "Data quality", "数据质量"},
    {"bulletin header", "Indicator code", "指标代码"},
    {"bulletin header", "Indicator", "指标"},
    {"bulletin header", "Scope", "范围"},
    {"bulletin header", "Unit", "单位"},
    {"bulletin header", "Expected progress", "应达进度"},
    {"bulletin header", "Actual", "实际"},
    {"bulletin header", "Shortfall", "差距"},
    {"bulletin header", "Shortfall as a share of expected", "差距占应达"},
    {"bulletin header", "Target", "目标"},
    {"bulletin header", "Status", "状态"},
    {"bulletin header", "Previous period", "上期"},
    {"bulletin header", "Previous period ({})", "上期（{}）"},
    {"bulletin header", "Change since the previous period", "较上期变化"},
    {"bulletin header", "Not counted", "未计入"},
    {"bulletin header", "Made up of", "构成"},
    {"bulletin header", "Responsible department", "责任单位"},
    {"bulletin header", "Rank", "排名"},
    {"bulletin header", "Township (subdistrict)", "乡镇（街道）"},
    {"bulletin header", "Indicators with a target", "有目标的指标"},
    {"bulletin header", "Met", "已达标"},
    {"bulletin header", "Behind", "滞后"},
    {"bulletin header", "Share met", "达标比例"},
    {"bulletin header", "Type code", "类型代码"},
    {"bulletin header", "Facility", "设施"},
    {"bulletin header", "Village code", "村代码"},
    {"bulletin header", "Village name", "村名"},
    {"bulletin header", "Township", "乡镇"},
    {"bulletin header", "Coverage", "覆盖率"},
    {"bulletin header", "Uncovered population", "未覆盖人口"},
    {"bulletin header", "Uncovered area (km²)", "未覆盖面积（km²）"},
    {"bulletin header", "Check code", "检查代码"},
    {"bulletin header", "Check", "检查项"},
    {"bulletin header", "Findings", "发现数"},
    {"bulletin text", "{} (as of {})", "{}（截至{}）"},
    {"bulletin text", "As of {}, compared with {}; planning period {}–{}; data: {}",
     "截至 {}　对比 {}　规划期 {}—{} 年　数据：{}"},
    {"bulletin text", "As of {}; planning period {}–{}; data: {}",
     "截至 {}　规划期 {}—{} 年　数据：{}"},
    {"bulletin text", "1. {}", "一、{}"},
    {"bulletin text", "2. {}", "二、{}"},
    {"bulletin text", "3. {}", "三、{}"},
    {"bulletin text", "4. {}", "四、{}"},
    {"bulletin text", "5. {}", "五、{}"},
    {"bulletin text", "6. {}", "六、{}"},
    {"bulletin text", "Maps", "地图"},
    {"bulletin text", "Table {}: {}", "表{}　{}"},
    {"bulletin text", "whole district", "全区"},
    {"bulletin text",
     "{} indicators: {} met, {} behind. Targets marked * are planning assumptions.",
     "共 {} 项指标：已达标 {} 项，滞后 {} 项。标 * 的目标为规划假设。"},
    {"bulletin text",
     "The share of each township's (subdistrict's) indicators with a target and data that are "
     "met; equal shares rank equal. The plan sets the targets of counts and lengths for the "
     "whole district only.",
     "各乡镇（街道）有目标且有数据的指标中已达标的比例；比例相同者并列。数量和里程类指标方案只对"
     "全区设目标。"},
    {"bulletin text",
     "{}: the target is a planning assumption (*); the plan gives no figure for it.",
     "{}：目标值为规划假设（*），方案未给出具体数字。"},
    {"bulletin text",
     "Expected progress: interpolated linearly by day from the target of the previous stage "
     "(for counts and lengths from 0 at the start of the planning period) to the target of the "
     "next stage (at the end of its year); shares have no expected progress before their first "
     "target year.",
     "应达进度：自上一阶段目标（数量和里程自规划期初的 0 起）至下一阶段目标（该年年末）按日线性"
     "推算；比例类指标在首个目标年份之前不设应达进度。"},
    {"bulletin text", "Made by qiancun.", "由 qiancun 生成。"},
    {"bulletin text", "No indicator is behind its expected progress.",
     "没有滞后于应达进度的指标。"},
    {"bulletin text", "No township data.", "没有乡镇数据。"},
    {"bulletin text", "No administrative village has a coverage below the threshold.",
     "没有覆盖率低于阈值的行政村。"},
    {"bulletin text", "The registry has no boundaries of administrative villages to draw maps of.",
     "登记库中没有行政村边界，无法绘制地图。"},
    {"bulletin text", "Check not run: {}", "未运行的检查：{}"},
    {"bulletin sheet", "Warnings", "进度预警"},
    {"bulletin sheet", "District indicators", "全区指标"},
    {"bulletin sheet", "Township ranking", "乡镇排名"},
    {"bulletin sheet", "Coverage gaps", "覆盖缺口"},
    {"bulletin sheet", "Data quality", "数据质量"},
    {"bulletin sheet", "Notes", "说明"},
};

/// The Chinese of `msgid` in `context` as kBulletinWords says it.
std::string zh(const std::string &context, const std::string &msgid) {
    for (const auto &w : kBulletinWords)
        if (w.context == context && w.msgid == msgid)
            return w.zh;
    throw std::logic_error("not in kBulletinWords: " + context + " " + msgid);
}

/// `zh` with the fields filled in.
template <typename... Args>
std::string zh(const std::string &context, const std::string &msgid, const Args &...args) {
    return fmt::format(fmt::runtime(zh(context, msgid)), args...);
}

/// The column headers of the table `<table id="t-ID">` of the page.
std::vector<std::string> html_headers(const std::string &html, const std::string &id) {
    const auto start = html.find("<table id=\"t-" + id + "\">");
    if (start == std::string::npos)
        return {};
    const std::string head = html.substr(start, html.find("</thead>", start) - start);
    static const std::regex header_re("<th>([^<]*)</th>");
    std::vector<std::string> out;
    for (auto it = std::sregex_iterator(head.begin(), head.end(), header_re);
         it != std::sregex_iterator(); ++it)
        out.push_back((*it)[1]);
    return out;
}

TEST_F(BulletinCli, TablesSectionsNotesAndSheetsAreTheCataloguesChineseInAnEnglishInterface) {
    // The catalogue says what the bulletin says.
    for (const auto &w : kBulletinWords) {
        const auto words = catalogue_words(w.context);
        const auto it = words.find(w.msgid);
        ASSERT_NE(it, words.end()) << w.context << ": " << w.msgid;
        EXPECT_EQ(it->second, w.zh) << w.context << ": " << w.msgid;
    }
    // The suite wrote the page with the messages in English: its words are the Chinese above.
    auto table = [](const char *msgid) { return zh("bulletin table", msgid); };
    auto header = [](const char *msgid) { return zh("bulletin header", msgid); };
    auto text = [](const char *msgid) { return zh("bulletin text", msgid); };
    const std::string title = "农村基础设施建设与“千村示范、万村整治”工程进度通报";
    EXPECT_THAT(page, HasSubstr("<title>" + zh("bulletin text", "{} (as of {})", title, kAsOf) +
                                "</title>"));
    EXPECT_THAT(page, HasSubstr(zh("bulletin text",
                                   "As of {}, compared with {}; planning period {}–{}; data: {}",
                                   "<b id=\"as-of\">2026-11-30</b>",
                                   "<b id=\"compare\">2026-09-30</b>", 2023, 2027, "")));
    const std::vector<std::pair<std::string, std::string>> sections{
        {"warnings",
         table("Progress warnings (indicators behind schedule, furthest behind first)")},
        {"district", table("Core indicators of the district")},
        {"ranking", table("Townships (subdistricts) ranked by the share of their targets met")},
        {"maps", text("Maps")},
        {"gaps", table("Administrative villages with the largest coverage gaps")},
        {"quality", table("Data quality")}};
    for (std::size_t i = 0; i < sections.size(); ++i) {
        const auto &[id, name] = sections[i];
        EXPECT_THAT(
            page, HasSubstr(fmt::format(
                      "<section id=\"{}\"{}><h2>{}</h2>", id, id == "maps" ? " class=\"maps\"" : "",
                      zh("bulletin text", fmt::format("{}. {{}}", i + 1), name))));
    }
    const std::map<std::string, std::pair<int, std::string>> captions{
        {"warnings", {1, sections[0].second}},
        {"district", {2, sections[1].second}},
        {"ranking", {3, sections[2].second}},
        {"worst_gaps", {4, sections[4].second}},
        {"quality", {5, sections[5].second}}};
    for (const auto &[id, caption] : captions)
        EXPECT_THAT(page, HasSubstr(fmt::format(
                              "<table id=\"t-{}\"><thead><tr><th class=\"tt\" colspan=\"{}\">{}"
                              "</th></tr>",
                              id, html_headers(page, id).size(),
                              zh("bulletin text", "Table {}: {}", caption.first, caption.second))));
    // The column headers, table by table, as the page and the workbook show them.
    const std::map<std::string, std::vector<std::string>> headers{
        {"warnings",
         {header("Indicator code"), header("Indicator"), header("Scope"), header("Unit"),
          header("Expected progress"), header("Actual"), header("Shortfall"),
          header("Shortfall as a share of expected")}},
        {"district",
         {header("Indicator code"), header("Indicator"), header("Unit"), header("Target"),
          header("Expected progress"), header("Actual"), header("Status"),
          zh("bulletin header", "Previous period ({})", kCompare),
          header("Change since the previous period"), header("Not counted"), header("Made up of")}},
        {"ranking",
         {header("Rank"), header("Township (subdistrict)"), header("Indicators with a target"),
          header("Met"), header("Behind"), header("Share met")}},
        {"worst_gaps",
         {header("Type code"), header("Facility"), header("Village code"), header("Village name"),
          header("Township"), header("Coverage"), header("Uncovered population"),
          header("Uncovered area (km²)")}},
        {"quality", {header("Check code"), header("Check"), header("Findings")}}};
    for (const auto &[id, want] : headers)
        EXPECT_EQ(html_headers(page, id), want) << id;
    // The district's rows in the warnings say so in Chinese.
    const auto warnings = html_table(page, "warnings");
    ASSERT_FALSE(warnings.empty());
    EXPECT_EQ(warnings[0].cells.at("township"), text("whole district"));
    // The sections' sentences and the notes.
    const auto district = html_table(page, "district");
    const auto met = std::count_if(district.begin(), district.end(),
                                   [](const HtmlRow &r) { return r.status == "met"; });
    const auto behind = std::count_if(district.begin(), district.end(),
                                      [](const HtmlRow &r) { return r.status == "behind"; });
    EXPECT_THAT(page, HasSubstr("<p>" +
                                zh("bulletin text",
                                   "{} indicators: {} met, {} behind. Targets marked * are "
                                   "planning assumptions.",
                                   district.size(), met, behind) +
                                "</p>"));
    EXPECT_THAT(page, HasSubstr("<p>" +
                                text("The share of each township's (subdistrict's) indicators "
                                     "with a target and data that are met; equal shares rank "
                                     "equal. The plan sets the targets of counts and lengths "
                                     "for the whole district only.") +
                                "</p>"));
    EXPECT_THAT(page, HasSubstr("<li>" +
                                zh("bulletin text",
                                   "{}: the target is a planning assumption (*); the plan gives "
                                   "no figure for it.",
                                   "村级寄递物流综合服务站覆盖") +
                                "</li>"));
    EXPECT_THAT(page, HasSubstr("<li>" +
                                text("Expected progress: interpolated linearly by day from the "
                                     "target of the previous stage (for counts and lengths from "
                                     "0 at the start of the planning period) to the target of "
                                     "the next stage (at the end of its year); shares have no "
                                     "expected progress before their first target year.") +
                                "</li>"));
    EXPECT_THAT(page, HasSubstr("<footer>" + text("Made by qiancun.") + "</footer>"));

    // The workbook: its sheets, and the district sheet's headers.
    const fs::path xlsx = *dir / "words.xlsx";
    auto r = run_qiancun(
        {"bulletin", reg, "--as-of", kAsOf, "--compare", kCompare, "-o", xlsx.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_command({"/usr/bin/ogrinfo", "-ro", "-q", xlsx.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> sheets;
    for (const auto &line : split_lines(r.out))
        if (const auto colon = line.find(": "); colon != std::string::npos)
            sheets.push_back(line.substr(colon + 2, line.rfind(" (") - colon - 2));
    auto sheet = [](const char *msgid) { return zh("bulletin sheet", msgid); };
    EXPECT_EQ(sheets, (std::vector<std::string>{sheet("Warnings"), sheet("District indicators"),
                                                sheet("Township ranking"), sheet("Coverage gaps"),
                                                sheet("Data quality"), sheet("Notes")}));
    const auto rows = testing::read_vector(xlsx, sheet("District indicators"), {"HEADERS=FORCE"});
    ASSERT_FALSE(rows.empty());
    for (const auto &h : headers.at("district"))
        EXPECT_TRUE(rows[0].count(h)) << h;
    // The notes: one column, headed as its sheet is named.
    const auto notes = testing::read_vector(xlsx, sheet("Notes"), {"HEADERS=DISABLE"});
    ASSERT_FALSE(notes.empty());
    EXPECT_EQ(notes[0].at("Field1"), sheet("Notes"));

    // A registry without data: the empty tables and the maps say why.
    const std::string empty = (*dir / "empty.sqlite").string();
    ASSERT_EQ(run_qiancun({"init", empty, "--crs", "EPSG:4549"}).exit_code, 0);
    const fs::path empty_html = *dir / "empty.html";
    r = run_qiancun({"bulletin", empty, "--as-of", kAsOf, "-o", empty_html.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string nothing = testing::read_file(empty_html);
    EXPECT_THAT(nothing, HasSubstr(zh("bulletin text", "As of {}; planning period {}–{}; data: {}",
                                      "<b id=\"as-of\">2026-11-30</b>", 2023, 2027, "")));
    for (const auto &[id, number, msgid] : std::vector<std::tuple<std::string, int, const char *>>{
             {"warnings", 1, "No indicator is behind its expected progress."},
             {"ranking", 3, "No township data."},
             {"worst_gaps", 4, "No administrative village has a coverage below the threshold."}})
        EXPECT_THAT(nothing, HasSubstr(fmt::format(
                                 "<p class=\"empty\" id=\"t-{}\">{}</p>", id,
                                 zh("bulletin text", "Table {}: {}", number, text(msgid)))));
    EXPECT_THAT(nothing,
                HasSubstr("<p class=\"empty\">" +
                          text("The registry has no boundaries of administrative villages to "
                               "draw maps of.") +
                          "</p>"));
    EXPECT_THAT(nothing, HasSubstr("<li>" + zh("bulletin text", "Check not run: {}", "")));
    // Without a compared date the previous period's column is headed without one.
    auto previous = headers.at("district");
    previous.at(7) = header("Previous period");
    EXPECT_EQ(html_headers(nothing, "district"), previous);

    // An indicators file that names the departments answering for them: one column more.
    const fs::path departments = *dir / "departments.html";
    r = run_qiancun({"bulletin", reg, "--as-of", kAsOf, "--indicators",
                     (testing::sample_maps_dir() / "indicators.toml").string(), "-o",
                     departments.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    previous.push_back(header("Responsible department"));
    EXPECT_EQ(html_headers(testing::read_file(departments), "district"), previous);
}

TEST_F(BulletinCli, DataQualityNotesNameTheServingPlantsWithoutAWaterTest) {
    // Counted apart from the registry: the serving plants (运行, 改造中) of next month's plant
    // list without a row of its water_tests.csv dated in the period (2023-01-01 to the as-of
    // date), in the list's order.
    const fs::path next = *dir / "next-month"; // where load_sample_months derived it
    std::set<std::string> tested;
    for (const auto &row : parse_csv(testing::read_file(next / "water_tests.csv")).rows)
        if (row.at("采样日期") >= "2023-01-01" && row.at("采样日期") <= kAsOf)
            tested.insert(row.at("设施编号"));
    std::vector<std::string> untested; // "编号 名称"
    for (const auto &row : parse_csv(testing::read_file(next / "sewage_plants.csv")).rows)
        if ((row.at("状态") == "运行" || row.at("状态") == "改造中") &&
            !tested.count(row.at("编号")))
            untested.push_back(row.at("编号") + " " + row.at("名称"));
    ASSERT_GE(untested.size(), 10u); // the sample leaves about one serving plant in eight untested
    ASSERT_LE(untested.size(), 50u); // so the note lists them all
    EXPECT_THAT(page, HasSubstr(fmt::format("出水水质达标率：{} 个在统计期（2023-01-01 至 "
                                            "2026-11-30）内无检测记录，未计入分子和分母（未知不"
                                            "等于未达标）。",
                                            untested.size())));
    EXPECT_THAT(page, HasSubstr(fmt::format("无检测记录的：{}。", fmt::join(untested, "、"))));
}

TEST_F(BulletinCli, WorkbookHoldsTheSameTables) {
    const fs::path xlsx = *dir / "bulletin.xlsx";
    auto r = run_qiancun(
        {"bulletin", reg, "--as-of", kAsOf, "--compare", kCompare, "-o", xlsx.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto district = testing::read_vector(xlsx, "全区指标", {"HEADERS=FORCE"});
    const auto rows = html_table(page, "district");
    ASSERT_EQ(district.size(), rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        EXPECT_EQ(district[i].at("指标代码"), rows[i].key);
        EXPECT_EQ(district[i].at("实际"), rows[i].cells.at("actual")) << rows[i].key;
        EXPECT_EQ(district[i].at("应达进度"), rows[i].cells.at("expected")) << rows[i].key;
    }
    EXPECT_EQ(testing::read_vector(xlsx, "进度预警", {"HEADERS=FORCE"}).size(),
              html_table(page, "warnings").size());
    EXPECT_EQ(testing::read_vector(xlsx, "乡镇排名", {"HEADERS=FORCE"}).size(),
              html_table(page, "ranking").size());
    EXPECT_EQ(testing::read_vector(xlsx, "覆盖缺口", {"HEADERS=FORCE"}).size(),
              html_table(page, "worst_gaps").size());
    EXPECT_EQ(testing::read_vector(xlsx, "数据质量", {"HEADERS=FORCE"}).size(), 7u);
}

TEST_F(BulletinCli, OtherExtensionsAreRefusedAndAPdfNeedsChromium) {
    auto r = run_qiancun({"bulletin", reg, "-o", (*dir / "b.docx").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("b.docx: the bulletin is written as .html, .xlsx or .pdf"));
    EXPECT_FALSE(fs::exists(*dir / "b.docx"));
    // No Chromium on PATH: a clear message, nothing written.
    r = run_qiancun({"bulletin", reg, "-o", (*dir / "b.pdf").string()}, std::nullopt,
                    {{"PATH", "/nonexistent"}});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("a PDF is printed by headless Chromium, which is not installed "
                                 "(Debian package chromium"));
    EXPECT_FALSE(fs::exists(*dir / "b.pdf"));
    // Statuses before the registry knew them: the indicators' error, not an empty bulletin.
    r = run_qiancun({"bulletin", reg, "--as-of", "2026-01-31", "-o", (*dir / "b.html").string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("the asset statuses on 2026-01-31 are unknown"));
}

TEST_F(BulletinCli, BrowserLoadsThePageOfflineWithoutErrorsAndDrawsIt) {
    if (!on_path("chromium"))
        GTEST_SKIP() << "Chromium is not installed (Debian package chromium; "
                        "tools/install_deps.sh installs it)";
    const auto r = run_command(
        {"/usr/bin/python3", (testing::source_dir() / "tests/cli/bulletin_browser.py").string(),
         html.string(), (*dir / "shot.png").string(), (*dir / "cdp.pdf").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto result = nlohmann::json::parse(r.out);
    EXPECT_TRUE(result["requests"].empty()) << result.dump();
    EXPECT_TRUE(result["errors"].empty()) << result.dump();
    // The top of the page (800 × 1100 pixels): the title, the warnings and the district table.
    const double pixels = result["pixels"].get<double>();
    EXPECT_EQ(pixels, 800.0 * 1100.0);
    EXPECT_GT(result["nonwhite"].get<double>(), 0.05 * pixels) << result.dump();
    EXPECT_GT(result["pdf_bytes"].get<long>(), 10000) << result.dump();
}

TEST_F(BulletinCli, PrintedPdfHasNoTableCutAcrossPages) {
    if (!on_path("chromium"))
        GTEST_SKIP() << "Chromium is not installed (Debian package chromium; "
                        "tools/install_deps.sh installs it)";
    if (!on_path("pdftotext"))
        GTEST_SKIP() << "pdftotext is not installed (Debian package poppler-utils; "
                        "tools/install_deps.sh installs it)";
    const fs::path pdf = *dir / "bulletin.pdf";
    auto r =
        run_qiancun({"bulletin", reg, "--as-of", kAsOf, "--compare", kCompare, "-o", pdf.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(testing::read_file(pdf).substr(0, 5), "%PDF-");
    r = run_command({"/usr/bin/pdftotext", "-layout", pdf.string(), "-"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> pages;
    std::stringstream in(r.out);
    std::string p;
    while (std::getline(in, p, '\f'))
        pages.push_back(p);
    ASSERT_GE(pages.size(), 3u);
    // A table's head (表N and its title) repeats on every page it runs onto: each on one page.
    for (int n = 1; n <= 5; ++n) {
        const std::string mark = fmt::format("表{}", n);
        std::vector<std::size_t> on;
        for (std::size_t i = 0; i < pages.size(); ++i)
            if (pages[i].find(mark) != std::string::npos)
                on.push_back(i + 1);
        EXPECT_EQ(on.size(), 1u) << mark << " on pages " << ::testing::PrintToString(on);
    }
    // A4 portrait: 595 × 842 points.
    r = run_command({"/bin/sh", "-c", "pdfinfo '" + pdf.string() + "' | grep 'Page size'"});
    EXPECT_THAT(r.out, HasSubstr("(A4)"));
}

} // namespace
} // namespace qiancun
