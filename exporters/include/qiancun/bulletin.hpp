#pragma once

#include "qiancun/check.hpp"
#include "qiancun/indicators.hpp"
#include "qiancun/xlsx.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

/// The monthly progress bulletin (SPEC §5.2): one self-contained HTML page in Chinese (inline CSS,
/// maps as inline SVG, no request leaves the page), the same tables as an .xlsx workbook, and a
/// PDF printed from the HTML by headless Chromium. Reads results only (indicators, metrics, gaps,
/// check findings) that the caller computed; never the registry.

namespace qiancun::exporters {

/// A village as the maps draw it.
struct MapVillage {
    std::string code;
    std::string name;
    std::string wkt; ///< (Multi)Polygon in the working CRS, metres; "" when it has none
};

/// One legend entry of a map.
struct MapClass {
    std::string label;  ///< Chinese, e.g. "达标（≥90%）"
    std::string colour; ///< CSS colour, e.g. "#1a9850"
};

/// One map: every village filled by its class, and optional points on top.
struct BulletinMap {
    std::string title;   ///< Chinese, e.g. "污水处理设施覆盖"
    std::string caption; ///< one sentence under the map: what is drawn, as of when
    std::vector<MapClass> classes;
    /// Per BulletinReport::villages (same order): index into `classes`, -1 for none.
    std::vector<int> village_class;
    std::vector<std::pair<double, double>> points; ///< x, y in the working CRS
    std::string points_label;                      ///< legend of the points ("未覆盖自然村")
    std::string points_colour = "#2b2b2b";
};

/// One village with a coverage gap (the worst gaps table).
struct GapRow {
    std::string type;       ///< asset kind key, e.g. "sewage_plant"
    std::string type_label; ///< Chinese, e.g. "污水处理设施"
    std::string code;
    std::string name;
    std::string township;
    double cov = 0.0; ///< 0–1
    std::int64_t uncovered_population = 0;
    double uncovered_area_km2 = 0.0;
};

/// Everything one bulletin shows, computed by the caller.
struct BulletinReport {
    std::string title = "农村基础设施建设与“千村示范、万村整治”工程进度通报";
    std::string registry_name;      ///< shown in the header, e.g. "county.sqlite"
    Bulletin current;               ///< district rows, and township rows for the ranking
    std::optional<Bulletin> before; ///< as of the compared date (district rows suffice)
    Targets targets;
    std::vector<MapVillage> villages;
    std::vector<BulletinMap> maps;
    std::vector<GapRow> worst_gaps; ///< in the order to show (per type, worst first)
    CheckReport quality;
    bool quality_checked = false;   ///< false: the data-quality section says the checks did not run
    std::vector<std::string> notes; ///< further notes for the data-quality section
};

/// One table of the bulletin, as both the page and the workbook show it.
struct BulletinTable {
    std::string id;                   ///< stable English key: "district", "warnings", …
    std::string title;                ///< Chinese section title
    std::vector<std::string> headers; ///< Chinese column headers, parallel to rows.columns
    Rows rows;                        ///< columns are stable English keys
    /// Per row: the indicator key (district table), the township (ranking), or "".
    std::vector<std::string> row_keys;
    /// Per row: the status key (met, on_track, behind, …) or "".
    std::vector<std::string> row_status;
};

/// The tables in page order: warnings (behind schedule, furthest first), district (indicator,
/// label, unit, target, expected, actual, status, compare_actual, change, unknown, detail — the
/// values exactly as `Bulletin::to_rows` gives them), ranking, worst_gaps, quality.
std::vector<BulletinTable> bulletin_tables(const BulletinReport &report);

/// The whole page: HTML5 in Chinese, CSS inline, a Content-Security-Policy that allows no
/// request, maps as inline SVG (village outlines simplified to about one pixel of an 800-pixel
/// map, defined once and reused by every map), A4 print rules (@page, no table or map split).
std::string bulletin_html(const BulletinReport &report);

/// The same tables as workbook sheets (Chinese headers), one per table.
std::vector<Sheet> bulletin_sheets(const BulletinReport &report);

/// The Chromium executable (chromium, chromium-browser, google-chrome on PATH), or empty.
std::optional<std::filesystem::path> find_chromium();

/// Prints the HTML file `html` to the PDF `pdf` (A4, no header or footer) with headless
/// Chromium in a temporary profile. Throws Error when Chromium is missing, fails, or takes
/// longer than `timeout` (its process group is then killed).
void print_pdf(const std::filesystem::path &html, const std::filesystem::path &pdf,
               std::chrono::seconds timeout = std::chrono::seconds(120));

/// Writes the bulletin by the extension of `path`: .html (or .htm), .xlsx, .pdf. Throws
/// UsageError for another extension, Error when the file cannot be written.
void write_bulletin(const std::filesystem::path &path, const BulletinReport &report);

} // namespace qiancun::exporters
