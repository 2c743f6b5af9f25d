#include "cli.hpp"

#include "qiancun/bulletin.hpp"
#include "qiancun/check.hpp"
#include "qiancun/chinese_catalogue.hpp"
#include "qiancun/classify.hpp"
#include "qiancun/config.hpp"
#include "qiancun/error.hpp"
#include "qiancun/indicators.hpp"
#include "qiancun/log.hpp"
#include "qiancun/metrics.hpp"

#include <ogr_geometry.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "qiancun/i18n.hpp"

// `bulletin`: the monthly progress bulletin (SPEC §5.2) as HTML, XLSX or PDF.

namespace qiancun::cli {
namespace {

namespace fs = std::filesystem;

struct BulletinArgs {
    std::string registry;
    std::string as_of;
    std::string compare;
    std::string targets;
    std::string indicators;
    std::string config;
    std::string output;
    int worst = 10;
};

// The page is Chinese whatever the language of the messages: its words are the catalogue's
// Chinese (chinese_word, context "bulletin"; the class names are core's village_class_label).

/// The coverage types the maps and the worst gaps show, with their names.
const std::vector<std::pair<std::string, const char *>> &map_types() {
    static const std::vector<std::pair<std::string, const char *>> types{
        {"sewage_plant", NC_("bulletin", "sewage treatment facilities")},
        {"courier_station", NC_("bulletin", "village courier service stations")},
        {"base_station_5g", NC_("bulletin", "5G base stations")},
    };
    return types;
}

/// The colours of the classes map: the classes in village_class_keys() order, then the villages
/// without a class.
constexpr std::array<std::string_view, 6> kClassColours{"#8073ac", "#e08214", "#80cdc1",
                                                        "#b2182b", "#878787", "#e0e0e0"};

std::string word(const char *msgid) {
    return chinese_word("bulletin", msgid);
}

std::size_t column_of(const Rows &rows, std::string_view name) {
    const auto it = std::find(rows.columns.begin(), rows.columns.end(), name);
    if (it == rows.columns.end())
        throw Error(fmt::format(fmt::runtime(_("the village layer has no column '{}'")), name));
    return static_cast<std::size_t>(it - rows.columns.begin());
}

/// x, y of a WKB point, or nothing.
std::optional<std::pair<double, double>> point_of(const std::string &wkb) {
    OGRGeometry *g = nullptr;
    if (wkb.empty() ||
        OGRGeometryFactory::createFromWkb(wkb.data(), nullptr, &g, wkb.size()) != OGRERR_NONE)
        return std::nullopt;
    std::optional<std::pair<double, double>> out;
    if (wkbFlatten(g->getGeometryType()) == wkbPoint && !g->IsEmpty())
        out = std::make_pair(g->toPoint()->getX(), g->toPoint()->getY());
    OGRGeometryFactory::destroyGeometry(g);
    return out;
}

void run_bulletin(const BulletinArgs &args) {
    const std::string ext = lower_extension(args.output);
    if (ext != ".html" && ext != ".htm" && ext != ".xlsx" && ext != ".pdf")
        throw UsageError(
            fmt::format(fmt::runtime(_("-o {}: the bulletin is written as .html, .xlsx or .pdf")),
                        args.output));
    if (ext == ".pdf" && !exporters::find_chromium())
        throw Error(fmt::format(
            fmt::runtime(
                _("-o {}: a PDF is printed by headless Chromium, which is not installed (Debian "
                  "package chromium; tools/install_deps.sh installs it); write .html and print it "
                  "from "
                  "a browser instead")),
            args.output));
    if (args.worst < 0)
        throw UsageError(_("--worst must be 0 or more"));
    const auto started = std::chrono::steady_clock::now();
    auto registry = Registry::open(args.registry, true);
    const Targets targets = load_targets(registry, args.indicators, args.targets);
    const MetricsConfig config = load_metrics_config(registry, args.config);

    exporters::BulletinReport report;
    report.registry_name = fs::path(args.registry).filename().string();
    report.targets = targets;
    IndicatorOptions options;
    options.as_of = args.as_of;
    options.by_township = true;
    report.current = compute_indicators(registry, targets, config, options);
    if (!args.compare.empty()) {
        options.as_of = args.compare;
        options.by_township = false;
        report.before = compute_indicators(registry, targets, config, options);
    }

    // Maps and gaps show the registry's current rows.
    const bool has_villages = registry.count("village") > 0;
    std::map<std::string, std::size_t> index_of; // village code → index
    std::map<std::string, std::string> township_of;
    std::vector<std::string> classes;
    if (has_villages) {
        ListFilter filter;
        filter.with_wkt = true;
        const Rows villages = registry.list("village", filter);
        const auto code_at = column_of(villages, "code");
        const auto name_at = column_of(villages, "name");
        const auto township_at = column_of(villages, "township");
        const auto class_at = column_of(villages, "class");
        const auto wkt_at = column_of(villages, "wkt");
        for (const auto &row : villages.rows) {
            exporters::MapVillage v;
            v.code = value_to_text(row[code_at]);
            v.name = value_to_text(row[name_at]);
            v.wkt = value_to_text(row[wkt_at]);
            index_of[v.code] = report.villages.size();
            township_of[v.code] = value_to_text(row[township_at]);
            classes.push_back(value_to_text(row[class_at]));
            report.villages.push_back(std::move(v));
        }
    }
    const std::string when = word(NC_("bulletin", "the data are the registry's current rows"));
    std::vector<std::string> kinds;
    for (const auto &k : registry.kinds())
        kinds.push_back(k.key);
    auto has_kind = [&](const std::string &key) {
        return std::find(kinds.begin(), kinds.end(), key) != kinds.end();
    };
    if (has_villages) {
        MetricsOptions mo;
        for (const auto &[type, label] : map_types())
            if (has_kind(type))
                mo.types.push_back(type);
        const MetricsTable metrics =
            mo.types.empty() ? MetricsTable{} : compute_metrics(registry, config, mo);
        for (std::size_t t = 0; t < metrics.types.size(); ++t) {
            const std::string &type = metrics.types[t];
            const std::string label =
                word(std::find_if(map_types().begin(), map_types().end(), [&](const auto &p) {
                         return p.first == type;
                     })->second);
            const double threshold =
                config.types.count(type) ? config.types.at(type).gap_threshold : 0.9;
            exporters::BulletinMap m;
            m.title = fmt::format(fmt::runtime(word(NC_("bulletin", "{} coverage"))), label);
            m.classes = {
                {fmt::format(fmt::runtime(word(NC_("bulletin", "met (≥ {:g} %)"))),
                             threshold * 100.0),
                 "#1a9850"},
                {fmt::format("60%–{:g}%", threshold * 100.0), "#a6d96a"},
                {"30%–60%", "#fdae61"},
                {word(NC_("bulletin", "below 30 %")), "#d73027"},
            };
            m.village_class.assign(report.villages.size(), -1);
            for (const auto &v : metrics.villages) {
                const auto it = index_of.find(v.code);
                if (it == index_of.end())
                    continue;
                const auto &tm = v.types.at(t);
                m.village_class[it->second] = !tm.gap         ? 0
                                              : tm.cov >= 0.6 ? 1
                                              : tm.cov >= 0.3 ? 2
                                                              : 3;
            }
            const GapReport gaps = compute_gaps(registry, config, type);
            for (const auto &s : gaps.settlements)
                if (const auto p = point_of(s.wkb))
                    m.points.push_back(*p);
            m.points_label = word(NC_("bulletin", "uncovered settlements of the gap villages"));
            m.caption = fmt::format(
                fmt::runtime(word(NC_("bulletin", "Villages coloured by coverage (by the "
                                                  "settlements' population where they have "
                                                  "any, else by area); {}."))),
                when);
            report.maps.push_back(std::move(m));
            const auto n =
                std::min<std::size_t>(gaps.villages.size(), static_cast<std::size_t>(args.worst));
            for (std::size_t i = 0; i < n; ++i) {
                const auto &g = gaps.villages[i];
                report.worst_gaps.push_back({type, label, g.code, g.name, township_of[g.code],
                                             g.cov, g.uncovered_population, g.uncovered_area_km2});
            }
        }
        exporters::BulletinMap m;
        m.title = word(NC_("bulletin", "Planned village classes"));
        m.caption = fmt::format(
            fmt::runtime(word(NC_("bulletin", "Coloured by the recorded planned class (SPEC §4); "
                                              "{}."))),
            when);
        std::vector<std::string> keys = village_class_keys();
        keys.emplace_back(); // no class
        for (std::size_t c = 0; c < keys.size(); ++c)
            m.classes.push_back({village_class_label(keys[c]), std::string(kClassColours.at(c))});
        m.village_class.assign(report.villages.size(), -1);
        for (std::size_t i = 0; i < classes.size(); ++i)
            for (std::size_t c = 0; c < keys.size(); ++c)
                if (keys[c] == classes[i])
                    m.village_class[i] = static_cast<int>(c);
        report.maps.push_back(std::move(m));
    }
    try {
        report.quality = check_registry(registry, config);
        report.quality_checked = true;
    } catch (const UsageError &e) {
        report.notes.push_back(fmt::format(
            fmt::runtime(word(NC_("bulletin", "The data-quality check did not run: {}"))),
            e.what()));
    }
    exporters::write_bulletin(args.output, report);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::error_code ec;
    const auto bytes = fs::file_size(args.output, ec);
    fmt::print(fmt::runtime(_("wrote the bulletin as of {}{} to {} ({:.1f} MB, {:.1f} s)\n")),
               report.current.as_of,
               report.before
                   ? fmt::format(fmt::runtime(_(" (compared with {})")), report.before->as_of)
                   : "",
               args.output, static_cast<double>(ec ? 0 : bytes) / 1e6, seconds);
}

} // namespace

void register_bulletin(CLI::App &app) {
    auto a = std::make_shared<BulletinArgs>();
    auto *cmd = app.add_subcommand(
        "bulletin", _("The monthly progress bulletin (SPEC §5.2) as one HTML page, XLSX or PDF"));
    cmd->footer(
        _("The page is in Chinese and self-contained (CSS and SVG maps inline, no request leaves\n"
          "it): behind-schedule warnings first, the district indicators (target, expected,\n"
          "actual, status, change since --compare), the township ranking, maps of village\n"
          "coverage per type with the uncovered settlements and of the planned classes, the\n"
          "worst gaps and the data-quality notes; it prints to A4. .xlsx holds the same tables,\n"
          "one sheet each; .pdf is the page printed by headless Chromium (Debian chromium).\n"
          "Example: qiancun bulletin county.sqlite --as-of 2026-11-30 --compare 2026-09-30 -o "
          "bulletin.html"));
    cmd->add_option("REGISTRY", a->registry, _("Registry file (SpatiaLite)"))->required();
    cmd->add_option("--as-of", a->as_of,
                    _("Date YYYY-MM-DD of the bulletin (status history; default: today)"));
    cmd->add_option("--compare", a->compare, _("Also as of this date, with the change"));
    cmd->add_option(
        "--indicators", a->indicators,
        _("Indicators file (TOML, SPEC §5.1): the built-in indicators plus its own; the same key "
          "replaces a built-in one"));
    cmd->add_option("--targets", a->targets,
                    _("Targets file (TOML; 'qiancun config --print-targets' writes one)"));
    cmd->add_option("--config", a->config, _("Radii and thresholds for the coverages (TOML)"));
    cmd->add_option("--worst", a->worst, _("Gap villages listed per type (default 10)"));
    cmd->add_option("-o,--output", a->output, _("The bulletin: .html, .xlsx or .pdf"))->required();
    cmd->callback([a] { run_bulletin(*a); });
}

} // namespace qiancun::cli
