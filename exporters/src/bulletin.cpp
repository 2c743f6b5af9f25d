#include "qiancun/bulletin.hpp"

#include "qiancun/chinese_catalogue.hpp"
#include "qiancun/column_labels.hpp"
#include "qiancun/error.hpp"
#include "qiancun/progress.hpp"

#include <ogr_geometry.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "qiancun/i18n.hpp"

extern char **environ;

namespace qiancun::exporters {

namespace {

namespace fs = std::filesystem;

/// Width of every map's viewBox, in map units (about one screen pixel each).
constexpr double kMapWidth = 1000.0;
/// Village outlines are simplified (topology kept) within this many map units.
constexpr double kSimplifyUnits = 0.5;

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

/// The words of the page that the catalogue holds, marked for it: the statuses and the units of
/// the built-in indicators (the shares' words are core's: share_detail, left_out_notes).
[[maybe_unused]] const char *const kBulletinWords[] = {
    NC_("indicator status", "met"),     NC_("indicator status", "on_track"),
    NC_("indicator status", "behind"),  NC_("indicator status", "no_target"),
    NC_("indicator status", "no_data"), NC_("indicator unit", "count"),
    NC_("indicator unit", "km"),
};

/// The list of the assets an events-read share found no record for (id and name), and when it
/// is cut short, how many more there are.
const char *const kEventsNoteAssets = NC_("events note", "Without a record: {}.");
const char *const kEventsNoteAssetsMore =
    NC_("events note", "Without a record: {}, and {} more not listed.");
/// The assets a note lists by name at most: a county's untested plants, not a province's.
constexpr std::size_t kEventlessListed = 50;

std::string status_zh(std::string_view status) {
    return chinese_word("indicator status", std::string(status));
}

std::string unit_zh(std::string_view unit) {
    return chinese_word("indicator unit", std::string(unit));
}

/// The bulletin's own words in Chinese, by what they are: a table's title, a column's header, the
/// page's headings and sentences, a sheet's name of the workbook.
std::string title_zh(const char *msgid) {
    return chinese_word("bulletin table", msgid);
}

std::string header_zh(const char *msgid) {
    return chinese_word("bulletin header", msgid);
}

std::string text_zh(const char *msgid) {
    return chinese_word("bulletin text", msgid);
}

std::string sheet_zh(const char *msgid) {
    return chinese_word("bulletin sheet", msgid);
}

/// Said where the data-quality checks did not run: the empty quality table and its notes.
const char *const kChecksDidNotRun = NC_("bulletin text", "The data-quality checks did not run.");

/// One column of a table: its stable English key and the msgid of its header.
struct Column {
    const char *key;
    const char *header;
};

/// Appends `columns` to the table: their keys, and their headers in Chinese.
void add_columns(BulletinTable &t, std::initializer_list<Column> columns) {
    for (const auto &c : columns) {
        t.rows.columns.emplace_back(c.key);
        t.headers.push_back(header_zh(c.header));
    }
}

/// A ratio 0–1 for people: one decimal, rounded down so a value below a threshold reads below it.
std::string percent_text(double ratio) {
    return fmt::format("{:.1f}%", std::floor(ratio * 1000.0 + 1e-9) / 10.0);
}

std::optional<double> number(const Value &v) {
    if (const auto *d = std::get_if<double>(&v))
        return *d;
    if (const auto *n = std::get_if<std::int64_t>(&v))
        return static_cast<double>(*n);
    return std::nullopt;
}

std::size_t column(const Rows &rows, std::string_view name) {
    const auto it = std::find(rows.columns.begin(), rows.columns.end(), name);
    if (it == rows.columns.end())
        throw Error(fmt::format(fmt::runtime(_("bulletin: no column '{}'")), name));
    return static_cast<std::size_t>(it - rows.columns.begin());
}

/// Columns whose values are ratios 0–1: percentages on the page and in the workbook.
bool is_ratio(std::string_view column) {
    return column == "behind_share" || column == "share_met" || column == "cov";
}

/// What a share is made of, in Chinese ("74/300 个行政村"), as the people's table under zh.
std::string detail_zh(const IndicatorValue &value) {
    const ChineseCatalogue zh;
    return share_detail(value);
}

const IndicatorDef &def_of(const BulletinReport &r, const std::string &key) {
    for (const auto &d : r.current.defs)
        if (d.key == key)
            return d;
    if (const auto *d = r.targets.def(key))
        return *d;
    throw Error(fmt::format(fmt::runtime(_("bulletin: unknown indicator '{}'")), key));
}

BulletinTable warnings_table(const BulletinReport &r) {
    BulletinTable t;
    t.id = "warnings";
    t.title = title_zh(NC_(
        "bulletin table", "Progress warnings (indicators behind schedule, furthest behind first)"));
    add_columns(t, {{"indicator", NC_("bulletin header", "Indicator code")},
                    {"label", NC_("bulletin header", "Indicator")},
                    {"township", NC_("bulletin header", "Scope")},
                    {"unit", NC_("bulletin header", "Unit")},
                    {"expected", NC_("bulletin header", "Expected progress")},
                    {"actual", NC_("bulletin header", "Actual")},
                    {"behind_by", NC_("bulletin header", "Shortfall")},
                    {"behind_share", NC_("bulletin header", "Shortfall as a share of expected")}});
    // TRANSLATORS: the scope of a warning about the district as a whole, not one township.
    const std::string district = text_zh(NC_("bulletin text", "whole district"));
    for (const auto &w : behind_schedule(r.current)) {
        const auto &d = def_of(r, w.value.key);
        auto round2 = [](double v) { return std::round(v * 100.0) / 100.0; };
        t.rows.rows.push_back({w.value.key, d.label,
                               w.value.township.empty() ? district : w.value.township,
                               unit_zh(d.unit), round2(*w.value.expected), round2(*w.value.actual),
                               round2(w.behind_by), w.behind_share});
        t.row_keys.push_back(w.value.key);
        t.row_status.emplace_back("behind");
    }
    return t;
}

BulletinTable district_table(const BulletinReport &r) {
    BulletinTable t;
    t.id = "district";
    t.title = title_zh(NC_("bulletin table", "Core indicators of the district"));
    const Rows now = r.current.to_rows(false);
    const Rows before = r.before ? r.before->to_rows(false) : Rows{};
    const auto key_at = column(now, "indicator");
    const auto actual_at = column(now, "actual");
    add_columns(t, {{"indicator", NC_("bulletin header", "Indicator code")},
                    {"label", NC_("bulletin header", "Indicator")},
                    {"unit", NC_("bulletin header", "Unit")},
                    {"target", NC_("bulletin header", "Target")},
                    {"expected", NC_("bulletin header", "Expected progress")},
                    {"actual", NC_("bulletin header", "Actual")},
                    {"status", NC_("bulletin header", "Status")},
                    {"compare_actual", NC_("bulletin header", "Previous period")},
                    {"change", NC_("bulletin header", "Change since the previous period")},
                    {"unknown", NC_("bulletin header", "Not counted")},
                    {"detail", NC_("bulletin header", "Made up of")}});
    if (r.before)
        t.headers[column(t.rows, "compare_actual")] =
            fmt::format(fmt::runtime(header_zh(NC_("bulletin header", "Previous period ({})"))),
                        r.before->as_of);
    // The responsible departments when the indicators file names any (SPEC §5.2: responsibility
    // broken down).
    const bool with_department =
        std::any_of(r.current.defs.begin(), r.current.defs.end(),
                    [](const IndicatorDef &d) { return !d.department.empty(); });
    if (with_department)
        add_columns(t, {{"department", NC_("bulletin header", "Responsible department")}});
    for (std::size_t i = 0; i < now.rows.size(); ++i) {
        const auto &row = now.rows[i];
        const std::string key = value_to_text(row[key_at]);
        const auto &d = def_of(r, key);
        const IndicatorValue *v = nullptr;
        for (const auto &x : r.current.values)
            if (x.township.empty() && x.key == key)
                v = &x;
        Value previous;
        for (const auto &b : before.rows)
            if (value_to_text(b[column(before, "indicator")]) == key)
                previous = b[column(before, "actual")];
        const auto a = number(row[actual_at]);
        const auto p = number(previous);
        const std::string status = value_to_text(row[column(now, "status")]);
        Value target = row[column(now, "target")];
        if (const auto it = r.targets.by_key.find(key);
            it != r.targets.by_key.end() && it->second.assumption && number(target))
            target = value_to_text(target) + "*";
        t.rows.rows.push_back({key, d.label, unit_zh(d.unit), target, row[column(now, "expected")],
                               row[actual_at], status_zh(status), previous,
                               a && p ? Value{std::round((*a - *p) * 100.0) / 100.0} : Value{},
                               row[column(now, "unknown")],
                               v && !v->denominator.empty() ? Value{detail_zh(*v)} : Value{}});
        if (with_department)
            t.rows.rows.back().emplace_back(d.department);
        t.row_keys.push_back(key);
        t.row_status.push_back(status);
    }
    return t;
}

BulletinTable ranking_table(const BulletinReport &r) {
    BulletinTable t;
    t.id = "ranking";
    t.title = title_zh(
        NC_("bulletin table", "Townships (subdistricts) ranked by the share of their targets met"));
    add_columns(t, {{"rank", NC_("bulletin header", "Rank")},
                    {"township", NC_("bulletin header", "Township (subdistrict)")},
                    {"targets", NC_("bulletin header", "Indicators with a target")},
                    {"met", NC_("bulletin header", "Met")},
                    {"behind", NC_("bulletin header", "Behind")},
                    {"share_met", NC_("bulletin header", "Share met")}});
    for (const auto &x : rank_townships(r.current)) {
        t.rows.rows.push_back({x.rank ? Value{std::int64_t{*x.rank}} : Value{}, x.township,
                               std::int64_t{x.targets}, std::int64_t{x.met}, std::int64_t{x.behind},
                               x.share ? Value{*x.share} : Value{}});
        t.row_keys.push_back(x.township);
        t.row_status.emplace_back();
    }
    return t;
}

BulletinTable gaps_table(const BulletinReport &r) {
    BulletinTable t;
    t.id = "worst_gaps";
    t.title =
        title_zh(NC_("bulletin table", "Administrative villages with the largest coverage gaps"));
    add_columns(t, {{"type", NC_("bulletin header", "Type code")},
                    {"type_label", NC_("bulletin header", "Facility")},
                    {"code", NC_("bulletin header", "Village code")},
                    {"name", NC_("bulletin header", "Village name")},
                    {"township", NC_("bulletin header", "Township")},
                    {"cov", NC_("bulletin header", "Coverage")},
                    {"uncovered_population", NC_("bulletin header", "Uncovered population")},
                    {"uncovered_area_km2", NC_("bulletin header", "Uncovered area (km²)")}});
    for (const auto &g : r.worst_gaps) {
        t.rows.rows.push_back({g.type, g.type_label, g.code, g.name, g.township, g.cov,
                               g.uncovered_population,
                               std::round(g.uncovered_area_km2 * 1000.0) / 1000.0});
        t.row_keys.push_back(g.code);
        t.row_status.emplace_back();
    }
    return t;
}

BulletinTable quality_table(const BulletinReport &r) {
    BulletinTable t;
    t.id = "quality";
    t.title = title_zh(NC_("bulletin table", "Data quality"));
    add_columns(t, {{"check", NC_("bulletin header", "Check code")},
                    {"label", NC_("bulletin header", "Check")},
                    {"findings", NC_("bulletin header", "Findings")}});
    if (!r.quality_checked)
        return t;
    const auto counts = r.quality.counts();
    for (const auto &def : check_defs()) {
        std::int64_t n = 0;
        for (const auto &[key, count] : counts)
            if (key == def.key)
                n = count;
        t.rows.rows.push_back({def.key, def.label_zh, n});
        t.row_keys.push_back(def.key);
        t.row_status.emplace_back();
    }
    return t;
}

/// The Chinese notes of the data-quality section: what the shares left out, skipped checks, the
/// assumptions behind targets, and the caller's notes.
std::vector<std::string> quality_notes(const BulletinReport &r) {
    std::vector<std::string> out;
    {
        const ChineseCatalogue zh;
        for (auto &n : left_out_notes(r.current))
            out.push_back(std::move(n));
    }
    // The assets without a record in the period (SPEC §5.2 "Dated events"), by id and name.
    for (const auto &v : r.current.values) {
        if (!v.township.empty() || !v.from_events || v.without_events <= 0)
            continue;
        std::vector<std::string> named;
        for (const auto &a : v.eventless) {
            if (named.size() == kEventlessListed)
                break;
            named.push_back(a.name.empty() ? a.id : fmt::format("{} {}", a.id, a.name));
        }
        if (named.empty())
            continue;
        const std::string list = fmt::format("{}", fmt::join(named, "、"));
        out.push_back(
            v.eventless.size() > named.size()
                ? fmt::format(fmt::runtime(chinese_word("events note", kEventsNoteAssetsMore)),
                              list, v.eventless.size() - named.size())
                : fmt::format(fmt::runtime(chinese_word("events note", kEventsNoteAssets)), list));
    }
    for (const auto &def : r.current.defs.empty() ? r.targets.defs : r.current.defs)
        if (const auto it = r.targets.by_key.find(def.key);
            it != r.targets.by_key.end() && it->second.assumption)
            out.push_back(fmt::format(
                fmt::runtime(text_zh(NC_("bulletin text", "{}: the target is a planning "
                                                          "assumption (*); the plan gives no "
                                                          "figure for it."))),
                def.label));
    out.push_back(text_zh(
        NC_("bulletin text",
            "Expected progress: interpolated linearly by day from the target of the previous "
            "stage (for counts and lengths from 0 at the start of the planning period) to the "
            "target of the next stage (at the end of its year); shares have no expected progress "
            "before their first target year.")));
    if (!r.quality_checked)
        out.push_back(text_zh(kChecksDidNotRun));
    for (const auto &s : r.quality.skipped)
        out.push_back(
            fmt::format(fmt::runtime(text_zh(NC_("bulletin text", "Check not run: {}"))), s));
    for (const auto &n : r.current.notes)
        out.push_back(n);
    for (const auto &n : r.notes)
        out.push_back(n);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Maps

using OgrGeom = std::unique_ptr<OGRGeometry, decltype(&OGRGeometryFactory::destroyGeometry)>;

OgrGeom parse_wkt(const std::string &wkt) {
    OGRGeometry *g = nullptr;
    if (wkt.empty() || OGRGeometryFactory::createFromWkt(wkt.c_str(), nullptr, &g) != OGRERR_NONE)
        g = nullptr;
    return OgrGeom(g, &OGRGeometryFactory::destroyGeometry);
}

/// Working CRS metres → map units (y down).
struct Frame {
    double min_x = 0.0;
    double max_y = 0.0;
    double scale = 1.0; ///< map units per metre
    long width = 0;
    long height = 0;

    std::pair<long, long> at(double x, double y) const {
        return {std::lround((x - min_x) * scale), std::lround((max_y - y) * scale)};
    }
};

/// One ring as relative path commands in whole map units; consecutive repeats dropped.
void append_ring(std::string &d, const OGRLinearRing &ring, const Frame &f) {
    std::vector<std::pair<long, long>> pts;
    for (int i = 0; i < ring.getNumPoints(); ++i) {
        const auto p = f.at(ring.getX(i), ring.getY(i));
        if (pts.empty() || pts.back() != p)
            pts.push_back(p);
    }
    while (pts.size() > 1 && pts.back() == pts.front())
        pts.pop_back();
    if (pts.empty())
        return;
    d += fmt::format("M{} {}", pts[0].first, pts[0].second);
    if (pts.size() < 3) {
        d += "h1v1h-1z"; // smaller than a map unit: still one visible unit
        return;
    }
    d += 'l';
    for (std::size_t i = 1; i < pts.size(); ++i) {
        const long dx = pts[i].first - pts[i - 1].first;
        const long dy = pts[i].second - pts[i - 1].second;
        if (i > 1 && dx >= 0)
            d += ' ';
        d += fmt::format("{}", dx);
        if (dy >= 0)
            d += ' ';
        d += fmt::format("{}", dy);
    }
    d += 'z';
}

void append_polygon(std::string &d, const OGRPolygon &poly, const Frame &f) {
    if (const auto *ext = poly.getExteriorRing())
        append_ring(d, *ext, f);
    for (int i = 0; i < poly.getNumInteriorRings(); ++i)
        append_ring(d, *poly.getInteriorRing(i), f);
}

std::string path_data(const OGRGeometry &g, const Frame &f) {
    std::string d;
    const auto type = wkbFlatten(g.getGeometryType());
    if (type == wkbPolygon) {
        append_polygon(d, *g.toPolygon(), f);
    } else if (type == wkbMultiPolygon) {
        for (const auto *p : *g.toMultiPolygon())
            append_polygon(d, *p, f);
    } else if (OGR_GT_IsSubClassOf(type, wkbGeometryCollection)) {
        for (const auto *part : *g.toGeometryCollection())
            if (wkbFlatten(part->getGeometryType()) == wkbPolygon)
                append_polygon(d, *part->toPolygon(), f);
    }
    return d;
}

/// The villages once, as SVG <path> definitions with ids v0, v1, …, and the frame of the maps.
struct MapShapes {
    Frame frame;
    std::string defs;          ///< <path id=…> elements
    std::vector<bool> present; ///< per village: drawn
};

MapShapes map_shapes(const std::vector<MapVillage> &villages) {
    MapShapes out;
    out.present.assign(villages.size(), false);
    std::vector<OgrGeom> geoms;
    geoms.reserve(villages.size());
    OGREnvelope all;
    bool any = false;
    for (const auto &v : villages) {
        geoms.push_back(parse_wkt(v.wkt));
        if (!geoms.back())
            continue;
        OGREnvelope e;
        geoms.back()->getEnvelope(&e);
        all.Merge(e);
        any = true;
    }
    if (!any)
        return out;
    const double w = std::max(all.MaxX - all.MinX, 1.0);
    const double h = std::max(all.MaxY - all.MinY, 1.0);
    Frame &f = out.frame;
    f.min_x = all.MinX;
    f.max_y = all.MaxY;
    f.scale = kMapWidth / w;
    f.width = std::lround(kMapWidth);
    f.height = std::max(1L, std::lround(h * f.scale));
    const double tolerance_m = kSimplifyUnits / f.scale;
    for (std::size_t i = 0; i < villages.size(); ++i) {
        if (!geoms[i])
            continue;
        std::unique_ptr<OGRGeometry> simple(geoms[i]->SimplifyPreserveTopology(tolerance_m));
        const std::string d = path_data(simple ? *simple : *geoms[i], f);
        if (d.empty())
            continue;
        out.present[i] = true;
        out.defs += fmt::format("<path id=\"v{}\" d=\"{}\"/>", i, d);
    }
    return out;
}

/// Diameter of the settlement dots in map units: smaller as they crowd, so that thousands of them
/// still leave the village colours readable.
double dot_width(std::size_t points) {
    return points > 5000 ? 1.2 : points > 1000 ? 2.5 : 4.0;
}

std::string map_svg(const BulletinMap &m, const MapShapes &shapes) {
    const Frame &f = shapes.frame;
    std::vector<std::vector<std::size_t>> members(m.classes.size());
    std::vector<std::int64_t> counts(m.classes.size(), 0);
    for (std::size_t i = 0; i < m.village_class.size() && i < shapes.present.size(); ++i) {
        const int c = m.village_class[i];
        if (c < 0 || static_cast<std::size_t>(c) >= m.classes.size())
            continue;
        ++counts[static_cast<std::size_t>(c)];
        if (shapes.present[i])
            members[static_cast<std::size_t>(c)].push_back(i);
    }
    std::string s = fmt::format(
        "<svg class=\"map\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\">"
        "<g stroke=\"#ffffff\" stroke-width=\"{:.2f}\" stroke-linejoin=\"round\" "
        "fill-rule=\"evenodd\">",
        f.width, f.height, html_escape(m.title), shapes.present.size() > 2000 ? 0.15 : 0.6);
    for (std::size_t c = 0; c < m.classes.size(); ++c) {
        if (members[c].empty())
            continue;
        s += fmt::format("<g fill=\"{}\">", html_escape(m.classes[c].colour));
        for (const auto i : members[c])
            s += fmt::format("<use href=\"#v{}\"/>", i);
        s += "</g>";
    }
    s += "</g>";
    if (!m.points.empty()) {
        std::string d;
        long px = 0;
        long py = 0;
        bool first = true;
        for (const auto &[x, y] : m.points) {
            const auto [ax, ay] = f.at(x, y);
            d +=
                first ? fmt::format("M{} {}h0", ax, ay) : fmt::format("m{} {}h0", ax - px, ay - py);
            px = ax;
            py = ay;
            first = false;
        }
        s += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
                         "stroke-linecap=\"round\"/>",
                         d, html_escape(m.points_colour), dot_width(m.points.size()));
    }
    s += "</svg><ul class=\"legend\">";
    for (std::size_t c = 0; c < m.classes.size(); ++c)
        s += fmt::format("<li><i style=\"background:{}\"></i>{}（{}）</li>",
                         html_escape(m.classes[c].colour), html_escape(m.classes[c].label),
                         counts[c]);
    if (!m.points.empty())
        s +=
            fmt::format("<li><i class=\"dot\" style=\"background:{}\"></i>{}（{}）</li>",
                        html_escape(m.points_colour), html_escape(m.points_label), m.points.size());
    s += "</ul>";
    return s;
}

constexpr std::string_view kCss = R"css(
@page { size: A4; margin: 14mm 12mm 14mm 12mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
  "Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", sans-serif; font-size: 10pt;
  line-height: 1.45; color: #222; max-width: 186mm; margin: 0 auto; padding: 8mm 0; }
h1 { font-size: 17pt; margin: 0 0 2pt; }
h2 { font-size: 13pt; margin: 14pt 0 4pt; border-bottom: 2px solid #8c2d04; padding-bottom: 2pt;
  break-after: avoid; page-break-after: avoid; }
p.meta { color: #555; margin: 0 0 8pt; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0 8pt; font-size: 8.5pt;
  break-inside: avoid; page-break-inside: avoid; }
thead { display: table-header-group; }
tr, td, th { break-inside: avoid; page-break-inside: avoid; }
th { background: #f1e4d8; font-weight: 600; text-align: left; }
th.tt { background: #fff; border: 0; border-bottom: 1px solid #b9b0a8; font-size: 9pt;
  padding: 2pt 0; }
th, td { border: 1px solid #b9b0a8; padding: 1.5pt 4pt; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.k { font-family: monospace; font-size: 7.5pt; color: #555; }
tr.s-behind td { background: #fde0dd; }
tr.s-met td.st { color: #1a7f37; font-weight: 600; }
tr.s-behind td.st { color: #b42318; font-weight: 600; }
tr.s-on_track td.st { color: #1f5fa8; }
p.empty { color: #555; }
section.maps { break-before: page; page-break-before: always; }
figure.map { margin: 0 0 10pt; break-inside: avoid; page-break-inside: avoid; }
figure.map figcaption { font-size: 9pt; margin-bottom: 2pt; }
svg.map { display: block; width: 100%; height: auto; max-height: 105mm; background: #f7f7f7; }
ul.legend { list-style: none; padding: 0; margin: 3pt 0 0; font-size: 8.5pt; }
ul.legend li { display: inline-block; margin-right: 10pt; }
ul.legend i { display: inline-block; width: 10pt; height: 8pt; margin-right: 3pt;
  vertical-align: -1pt; border: 1px solid #999; }
ul.legend i.dot { width: 6pt; height: 6pt; border-radius: 50%; border: 0; }
ul.notes { padding-left: 14pt; font-size: 9pt; }
ul.notes li { break-inside: avoid; page-break-inside: avoid; }
footer { margin-top: 12pt; color: #777; font-size: 8pt; }
)css";

std::string cell_html(const BulletinTable &t, std::size_t col, const Value &v) {
    const std::string &key = t.rows.columns[col];
    std::string cls;
    std::string text;
    if (is_ratio(key) && number(v)) {
        text = percent_text(*number(v));
        cls = "n";
    } else {
        text = value_to_text(v);
        if (std::holds_alternative<double>(v) || std::holds_alternative<std::int64_t>(v) ||
            key == "target")
            cls = "n";
    }
    if (key == "indicator" || key == "type" || key == "check" || key == "code")
        cls = "k";
    if (key == "status")
        cls = "st";
    return fmt::format("<td data-col=\"{}\"{}>{}</td>", key,
                       cls.empty() ? std::string() : fmt::format(" class=\"{}\"", cls),
                       html_escape(text));
}

/// A table whose head (its number and title, then the column headers) repeats on every printed
/// page the table runs onto, so a split table shows as "表N" on two pages.
std::string table_html(const BulletinTable &t, int number, std::string_view empty_text) {
    const std::string label = text_zh(NC_("bulletin text", "Table {}: {}"));
    if (t.rows.rows.empty())
        return fmt::format("<p class=\"empty\" id=\"t-{}\">{}</p>", t.id,
                           fmt::format(fmt::runtime(label), number, html_escape(empty_text)));
    std::string s = fmt::format(
        "<table id=\"t-{}\"><thead><tr><th class=\"tt\" colspan=\"{}\">{}</th></tr><tr>", t.id,
        t.headers.size(), fmt::format(fmt::runtime(label), number, html_escape(t.title)));
    for (const auto &h : t.headers)
        s += fmt::format("<th>{}</th>", html_escape(h));
    s += "</tr></thead><tbody>";
    for (std::size_t r = 0; r < t.rows.rows.size(); ++r) {
        const std::string &status = t.row_status[r];
        s += fmt::format("<tr data-key=\"{}\"{}>", html_escape(t.row_keys[r]),
                         status.empty()
                             ? std::string()
                             : fmt::format(" data-status=\"{}\" class=\"s-{}\"", status, status));
        for (std::size_t c = 0; c < t.rows.columns.size(); ++c)
            s += cell_html(t, c, t.rows.rows[r][c]);
        s += "</tr>";
    }
    s += "</tbody></table>";
    return s;
}

/// A section's heading: its number in Chinese numerals, then its title ("一、进度预警…").
std::string heading(std::size_t number, std::string_view title) {
    static const std::array<const char *, 6> kHeadings{
        // TRANSLATORS: the bulletin's section headings: the section's number, then its title.
        NC_("bulletin text", "1. {}"), NC_("bulletin text", "2. {}"),
        NC_("bulletin text", "3. {}"), NC_("bulletin text", "4. {}"),
        NC_("bulletin text", "5. {}"), NC_("bulletin text", "6. {}")};
    return fmt::format(fmt::runtime(text_zh(kHeadings.at(number - 1))), html_escape(title));
}

} // namespace

std::vector<BulletinTable> bulletin_tables(const BulletinReport &report) {
    return {warnings_table(report), district_table(report), ranking_table(report),
            gaps_table(report), quality_table(report)};
}

std::string bulletin_html(const BulletinReport &report) {
    const auto tables = bulletin_tables(report);
    auto table_of = [&](std::string_view id) -> const BulletinTable & {
        for (const auto &t : tables)
            if (t.id == id)
                return t;
        throw Error(fmt::format(fmt::runtime(_("bulletin: no table '{}'")), id));
    };
    const Bulletin &b = report.current;
    std::string h;
    h.reserve(1 << 20);
    h += "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'; img-src data:\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
    h += fmt::format("<title>{}</title><style>{}</style></head><body>\n",
                     fmt::format(fmt::runtime(text_zh(NC_("bulletin text", "{} (as of {})"))),
                                 html_escape(report.title), b.as_of),
                     kCss);
    const std::string as_of = fmt::format("<b id=\"as-of\">{}</b>", b.as_of);
    const std::string data = html_escape(report.registry_name);
    h += fmt::format(
        "<header><h1>{}</h1><p class=\"meta\">{}</p></header>\n", html_escape(report.title),
        report.before
            ? fmt::format(fmt::runtime(text_zh(
                              NC_("bulletin text",
                                  "As of {}, compared with {}; planning period {}–{}; data: {}"))),
                          as_of, fmt::format("<b id=\"compare\">{}</b>", report.before->as_of),
                          report.targets.period_start, report.targets.period_end, data)
            : fmt::format(fmt::runtime(text_zh(
                              NC_("bulletin text", "As of {}; planning period {}–{}; data: {}"))),
                          as_of, report.targets.period_start, report.targets.period_end, data));

    const auto &warnings = table_of("warnings");
    h += fmt::format("<section id=\"warnings\"><h2>{}</h2>", heading(1, warnings.title));
    h += table_html(warnings, 1,
                    text_zh(NC_("bulletin text", "No indicator is behind its expected progress.")));
    h += "</section>\n";

    const auto &district = table_of("district");
    std::int64_t met = 0;
    std::int64_t behind = 0;
    for (const auto &s : district.row_status) {
        met += s == "met" ? 1 : 0;
        behind += s == "behind" ? 1 : 0;
    }
    h += fmt::format(
        "<section id=\"district\"><h2>{}</h2><p>{}</p>", heading(2, district.title),
        fmt::format(fmt::runtime(text_zh(NC_("bulletin text",
                                             "{} indicators: {} met, {} behind. Targets marked * "
                                             "are planning assumptions."))),
                    district.rows.rows.size(), met, behind));
    h += table_html(district, 2, text_zh(NC_("bulletin text", "No indicators.")));
    h += "</section>\n";

    const auto &ranking = table_of("ranking");
    h += fmt::format(
        "<section id=\"ranking\"><h2>{}</h2><p>{}</p>", heading(3, ranking.title),
        text_zh(NC_("bulletin text",
                    "The share of each township's (subdistrict's) indicators with a target and "
                    "data that are met; equal shares rank equal. The plan sets the targets of "
                    "counts and lengths for the whole district only.")));
    h += table_html(ranking, 3, text_zh(NC_("bulletin text", "No township data.")));
    h += "</section>\n";

    h += fmt::format("<section id=\"maps\" class=\"maps\"><h2>{}</h2>",
                     heading(4, text_zh(NC_("bulletin text", "Maps"))));
    if (report.maps.empty() || report.villages.empty()) {
        h += fmt::format("<p class=\"empty\">{}</p>",
                         text_zh(NC_("bulletin text", "The registry has no boundaries of "
                                                      "administrative villages to draw maps of.")));
    } else {
        const MapShapes shapes = map_shapes(report.villages);
        h += "<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\">"
             "<defs>";
        h += shapes.defs;
        h += "</defs></svg>";
        const std::string figure = text_zh(NC_("bulletin text", "Figure {}: {}"));
        for (std::size_t i = 0; i < report.maps.size(); ++i) {
            const auto &m = report.maps[i];
            h += fmt::format(
                "<figure class=\"map\" id=\"map-{}\"><figcaption><b>{}</b>　{}</figcaption>", i + 1,
                fmt::format(fmt::runtime(figure), i + 1, html_escape(m.title)),
                html_escape(m.caption));
            h += map_svg(m, shapes);
            h += "</figure>";
        }
    }
    h += "</section>\n";

    const auto &gaps = table_of("worst_gaps");
    h += fmt::format("<section id=\"gaps\"><h2>{}</h2>", heading(5, gaps.title));
    h += table_html(gaps, 4,
                    text_zh(NC_("bulletin text",
                                "No administrative village has a coverage below the threshold.")));
    h += "</section>\n";

    const auto &quality = table_of("quality");
    h += fmt::format("<section id=\"quality\"><h2>{}</h2>", heading(6, quality.title));
    h += table_html(quality, 5, text_zh(kChecksDidNotRun));
    h += "<ul class=\"notes\">";
    for (const auto &n : quality_notes(report))
        h += fmt::format("<li>{}</li>", html_escape(n));
    h += "</ul></section>\n";
    h += fmt::format("<footer>{}</footer></body></html>\n",
                     text_zh(NC_("bulletin text", "Made by qiancun.")));
    return h;
}

std::vector<Sheet> bulletin_sheets(const BulletinReport &report) {
    static const std::map<std::string, const char *> names{
        {"warnings", NC_("bulletin sheet", "Warnings")},
        {"district", NC_("bulletin sheet", "District indicators")},
        {"ranking", NC_("bulletin sheet", "Township ranking")},
        {"worst_gaps", NC_("bulletin sheet", "Coverage gaps")},
        {"quality", NC_("bulletin sheet", "Data quality")},
    };
    std::vector<Sheet> sheets;
    for (auto &t : bulletin_tables(report)) {
        Sheet s;
        s.name = sheet_zh(names.at(t.id));
        s.rows.columns = t.headers;
        s.rows.rows = std::move(t.rows.rows);
        for (std::size_t c = 0; c < t.rows.columns.size(); ++c)
            if (is_ratio(t.rows.columns[c]))
                s.percent_columns.push_back(t.headers[c]);
        sheets.push_back(std::move(s));
    }
    Sheet notes;
    notes.name = sheet_zh(NC_("bulletin sheet", "Notes"));
    notes.rows.columns = {notes.name}; // one column, named as its sheet
    for (const auto &n : quality_notes(report))
        notes.rows.rows.push_back({n});
    sheets.push_back(std::move(notes));
    return sheets;
}

std::optional<fs::path> find_chromium() {
    const char *path = std::getenv("PATH");
    if (!path)
        return std::nullopt;
    for (const char *name : {"chromium", "chromium-browser", "google-chrome"}) {
        std::stringstream dirs(path);
        std::string dir;
        while (std::getline(dirs, dir, ':')) {
            if (dir.empty())
                continue;
            const fs::path candidate = fs::path(dir) / name;
            if (::access(candidate.c_str(), X_OK) == 0)
                return candidate;
        }
    }
    return std::nullopt;
}

namespace {

/// A temporary directory removed with everything in it on destruction.
class TempDir {
public:
    TempDir() {
        std::string templ = (fs::temp_directory_path() / "qiancun-chromium-XXXXXX").string();
        if (!::mkdtemp(templ.data()))
            throw Error(_("cannot create a temporary directory for Chromium"));
        m_path = templ;
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    const fs::path &path() const noexcept { return m_path; }

private:
    fs::path m_path;
};

std::string last_line(const fs::path &log) {
    std::ifstream in(log);
    std::string line;
    std::string last;
    while (std::getline(in, line))
        if (!line.empty())
            last = line;
    return last;
}

} // namespace

void print_pdf(const fs::path &html, const fs::path &pdf, std::chrono::seconds timeout) {
    const auto chromium = find_chromium();
    if (!chromium)
        throw Error(fmt::format(
            fmt::runtime(_("cannot write {}: a PDF is printed by headless Chromium, which is "
                           "not installed (Debian package chromium; tools/install_deps.sh "
                           "installs it). Write .html and print it from a browser instead")),
            pdf.string()));
    TempDir profile;
    const fs::path log = profile.path() / "chromium.log";
    const fs::path out = fs::absolute(pdf);
    std::vector<std::string> args{chromium->string(),
                                  "--headless",
                                  "--no-sandbox",
                                  "--disable-gpu",
                                  "--no-first-run",
                                  "--no-default-browser-check",
                                  "--disable-extensions",
                                  "--disable-background-networking",
                                  "--user-data-dir=" + (profile.path() / "profile").string(),
                                  "--no-pdf-header-footer",
                                  "--print-to-pdf=" + out.string(),
                                  "file://" + fs::absolute(html).string()};
    std::vector<char *> argv;
    for (auto &a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    std::error_code ec;
    fs::remove(out, ec);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, chromium->c_str(), &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        throw Error(fmt::format(fmt::runtime(_("cannot start {}: {}")), chromium->string(),
                                std::strerror(rc)));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        // Waited for without reaping, so the process group id stays Chromium's until its
        // helpers are stopped below.
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
            throw Error(
                fmt::format(fmt::runtime(_("waiting for Chromium: {}")), std::strerror(errno)));
        if (info.si_pid == pid)
            break;
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(-pid, SIGKILL);
            int ignored = 0;
            ::waitpid(pid, &ignored, 0);
            throw Error(fmt::format(fmt::runtime(_("Chromium did not print {} within {} s")),
                                    pdf.string(), timeout.count()));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(-pid, SIGKILL); // helpers Chromium left behind in its process group
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !fs::exists(out) ||
        fs::file_size(out, ec) == 0)
        throw Error(fmt::format(fmt::runtime(_("Chromium could not print {} (exit status {}): {}")),
                                pdf.string(), WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                                last_line(log)));
}

void write_bulletin(const fs::path &path, const BulletinReport &report) {
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto write_text = [](const fs::path &to, const std::string &text) {
        std::ofstream out(to, std::ios::binary | std::ios::trunc);
        out << text;
        out.close();
        if (!out)
            throw Error(fmt::format(fmt::runtime(_("cannot write {}")), to.string()));
    };
    if (ext == ".html" || ext == ".htm") {
        write_text(path, bulletin_html(report));
    } else if (ext == ".xlsx") {
        write_xlsx(path, bulletin_sheets(report));
    } else if (ext == ".pdf") {
        TempDir dir;
        const fs::path html = dir.path() / "bulletin.html";
        write_text(html, bulletin_html(report));
        print_pdf(html, path);
    } else {
        throw UsageError(fmt::format(fmt::runtime(_("-o {}: a bulletin is .html, .xlsx or .pdf")),
                                     path.string()));
    }
}

} // namespace qiancun::exporters
