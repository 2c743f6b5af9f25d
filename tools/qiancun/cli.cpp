#include "cli.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include "qiancun/error.hpp"
#include "qiancun/log.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <ostream>
#include <span>
#include <sstream>

#include "qiancun/i18n.hpp"

namespace qiancun::cli {

namespace {

/// A closed range of code points.
struct CodeRange {
    char32_t first;
    char32_t last;
};

bool in_ranges(char32_t c, std::span<const CodeRange> ranges) {
    const auto it = std::upper_bound(ranges.begin(), ranges.end(), c,
                                     [](char32_t v, const CodeRange &r) { return v < r.first; });
    return it != ranges.begin() && c <= std::prev(it)->last;
}

/// East Asian Width W and F (Unicode Standard Annex #11, EastAsianWidth.txt), merged into
/// blocks; Ambiguous characters (— ≥ … °) are narrow, as UAX #11 advises outside East Asian
/// legacy contexts and as terminals draw them by default.
constexpr CodeRange kWide[] = {
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
    {0x23F0, 0x23F0},   {0x23F3, 0x23F3},   {0x25FD, 0x25FE},   {0x2614, 0x2615},
    {0x2648, 0x2653},   {0x267F, 0x267F},   {0x2693, 0x2693},   {0x26A1, 0x26A1},
    {0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},   {0x26CE, 0x26CE},
    {0x26D4, 0x26D4},   {0x26EA, 0x26EA},   {0x26F2, 0x26F3},   {0x26F5, 0x26F5},
    {0x26FA, 0x26FA},   {0x26FD, 0x26FD},   {0x2705, 0x2705},   {0x270A, 0x270B},
    {0x2728, 0x2728},   {0x274C, 0x274C},   {0x274E, 0x274E},   {0x2753, 0x2755},
    {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27B0, 0x27B0},   {0x27BF, 0x27BF},
    {0x2B1B, 0x2B1C},   {0x2B50, 0x2B50},   {0x2B55, 0x2B55},   {0x2E80, 0x303E},
    {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},
    {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE10, 0xFE19},
    {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x16FE0, 0x16FE4},
    {0x17000, 0x18CD5}, {0x1B000, 0x1B2FB}, {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF},
    {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F200, 0x1F251}, {0x1F300, 0x1F64F},
    {0x1F680, 0x1F6FF}, {0x1F900, 0x1F9FF}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD}};

/// Zero-width: combining marks (Mn), zero-width spaces and joiners, variation selectors.
constexpr CodeRange kZeroWidth[] = {{0x0300, 0x036F}, {0x200B, 0x200F}, {0x20D0, 0x20FF},
                                    {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xE0100, 0xE01EF}};

} // namespace

std::size_t display_width(std::string_view s) {
    std::size_t w = 0;
    for (std::size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        const std::size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        char32_t c = len == 1 ? b : len == 2 ? b & 0x1F : len == 3 ? b & 0x0F : b & 0x07;
        for (std::size_t k = 1; k < len && i + k < s.size(); ++k)
            c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        w += in_ranges(c, kZeroWidth) ? 0 : in_ranges(c, kWide) ? 2 : 1;
        i += len;
    }
    return w;
}

std::string pad_right(std::string_view utf8, std::size_t columns) {
    const std::size_t width = display_width(utf8);
    return std::string(utf8) + std::string(width < columns ? columns - width : 0, ' ');
}

CLI::Option *add_positive_number_option(CLI::App *cmd, const std::string &name, double &value,
                                        const std::string &description) {
    return cmd->add_option_function<std::string>(
        name,
        [&value, name](const std::string &text) {
            double v = 0.0;
            const char *end = text.data() + text.size();
            const auto [ptr, ec] = std::from_chars(text.data(), end, v);
            if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(v))
                throw CLI::ValidationError(
                    name, fmt::format(fmt::runtime(_("'{}' is not a number")), text));
            if (!(v > 0.0))
                throw CLI::ValidationError(
                    name, fmt::format(fmt::runtime(_("{} must be above 0")), text));
            value = v;
        },
        description);
}

std::string percent_for_people(double ratio) {
    // Rounded down, so that a value under a threshold never reads as the threshold (0.8995 is
    // 89.9%, not 90.0%); the tiny nudge keeps 0.9 itself at 90.0%.
    return fmt::format("{:.1f}%", std::floor(ratio * 1000.0 + 1e-7) / 10.0);
}

namespace {

/// The geometry types the registry (OGC names) and GDAL (OGRGeometryTypeToName) report, marked
/// for the catalogue.
constexpr const char *kGeometryTypes[] = {
    NC_("geometry type", "POINT"),
    NC_("geometry type", "MULTIPOINT"),
    NC_("geometry type", "LINESTRING"),
    NC_("geometry type", "MULTILINESTRING"),
    NC_("geometry type", "POLYGON"),
    NC_("geometry type", "MULTIPOLYGON"),
    NC_("geometry type", "GEOMETRY"),
    NC_("geometry type", "NONE"),
    NC_("geometry type", "Point"),
    NC_("geometry type", "Multi Point"),
    NC_("geometry type", "Line String"),
    NC_("geometry type", "Multi Line String"),
    NC_("geometry type", "Polygon"),
    NC_("geometry type", "Multi Polygon"),
    NC_("geometry type", "Geometry Collection"),
    NC_("geometry type", "Unknown (any)"),
    NC_("geometry type", "None"),
};

/// GDAL's field types (OGRFieldDefn::GetFieldTypeName), marked for the catalogue.
constexpr const char *kFieldTypes[] = {
    NC_("field type", "String"),        NC_("field type", "Integer"),
    NC_("field type", "Integer64"),     NC_("field type", "Real"),
    NC_("field type", "Date"),          NC_("field type", "Time"),
    NC_("field type", "DateTime"),      NC_("field type", "Binary"),
    NC_("field type", "StringList"),    NC_("field type", "IntegerList"),
    NC_("field type", "Integer64List"), NC_("field type", "RealList"),
};

/// `word` translated in `context` when it is one of `known`; as it is otherwise.
template <std::size_t N>
std::string known_word(const char *context, const char *const (&known)[N],
                       const std::string &word) {
    for (const char *k : known)
        if (word == k)
            return translate_in_context(context, k);
    return word;
}

} // namespace

std::string geometry_for_people(const std::string &type) {
    // GDAL says "3D Point", "Measured Polygon", "3D Measured Line String".
    for (const auto &[prefix, msgid] : {std::pair<std::string_view, const char *>{
                                            "3D Measured ", NC_("geometry type", "3D measured {}")},
                                        {"3D ", NC_("geometry type", "3D {}")},
                                        {"Measured ", NC_("geometry type", "measured {}")}})
        if (type.starts_with(prefix))
            return fmt::format(
                fmt::runtime(translate_in_context("geometry type", msgid)),
                known_word("geometry type", kGeometryTypes, type.substr(prefix.size())));
    return known_word("geometry type", kGeometryTypes, type);
}

std::string field_type_for_people(const std::string &type) {
    return known_word("field type", kFieldTypes, type);
}

void add_format_option(CLI::App *cmd, OutputFormat &format) {
    cmd->add_option("--format", format, _("Output: table (for people), csv or json (for scripts)"))
        ->transform(CLI::CheckedTransformer(
            std::map<std::string, OutputFormat>{{"table", OutputFormat::table},
                                                {"csv", OutputFormat::csv},
                                                {"json", OutputFormat::json}},
            CLI::ignore_case))
        ->default_str("table")
        ->option_text("{table,csv,json}");
}

void print_rows(const Rows &rows, OutputFormat format, std::ostream &out,
                const exporters::KindLabels &kinds) {
    if (format == OutputFormat::json) {
        auto arr = nlohmann::json::array();
        for (const auto &r : rows.rows) {
            nlohmann::json obj = nlohmann::json::object();
            for (std::size_t i = 0; i < rows.columns.size(); ++i) {
                const auto &v = r[i];
                if (std::holds_alternative<std::int64_t>(v))
                    obj[rows.columns[i]] = std::get<std::int64_t>(v);
                else if (std::holds_alternative<double>(v))
                    obj[rows.columns[i]] = std::get<double>(v);
                else if (std::holds_alternative<std::string>(v))
                    obj[rows.columns[i]] = std::get<std::string>(v);
                else
                    obj[rows.columns[i]] = nullptr;
            }
            arr.push_back(std::move(obj));
        }
        out << arr.dump(2) << '\n';
        return;
    }
    if (format == OutputFormat::csv) {
        for (std::size_t i = 0; i < rows.columns.size(); ++i)
            out << (i ? "," : "") << exporters::csv_cell(rows.columns[i]);
        out << '\n';
        for (const auto &r : rows.rows) {
            for (std::size_t i = 0; i < r.size(); ++i)
                out << (i ? "," : "") << exporters::csv_cell(value_to_text(r[i]));
            out << '\n';
        }
        return;
    }
    // Headers in the language of the interface (the keys in English).
    std::vector<std::string> header;
    for (const auto &c : rows.columns)
        header.push_back(exporters::column_label(c, kinds));
    std::vector<std::size_t> width;
    for (const auto &h : header)
        width.push_back(display_width(h));
    std::vector<std::vector<std::string>> cells;
    for (const auto &r : rows.rows) {
        std::vector<std::string> line;
        for (std::size_t i = 0; i < r.size(); ++i) {
            std::string t = value_to_text(r[i]);
            if (const auto *d = std::get_if<double>(&r[i]))
                t = is_ratio_column(rows.columns[i]) ? percent_for_people(*d)
                                                     : fmt::format("{:.2f}", *d);
            else if (const auto *n = std::get_if<std::int64_t>(&r[i]);
                     n && (rows.columns[i] == "mismatch" || rows.columns[i] == "on_network"))
                t = flag_for_people(*n);
            width[i] = std::max(width[i], display_width(t));
            line.push_back(std::move(t));
        }
        cells.push_back(std::move(line));
    }
    auto print_line = [&](const std::vector<std::string> &line) {
        for (std::size_t i = 0; i < line.size(); ++i)
            out << (i + 1 < line.size() ? pad_right(line[i], width[i] + 2) : line[i]);
        out << '\n';
    };
    print_line(header);
    for (const auto &line : cells)
        print_line(line);
    out << fmt::format(fmt::runtime(P_("({} row)\n", "({} rows)\n", rows.rows.size())),
                       rows.rows.size());
}

std::string read_text_file(const std::filesystem::path &path, std::string_view what) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw UsageError(fmt::format(fmt::runtime(_("{} {} cannot be read")), what, path.string()));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_text_file(const std::filesystem::path &path, const std::string &text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out)
        throw Error(fmt::format(fmt::runtime(_("cannot write {}")), path.string()));
}

Targets load_targets(const Registry &registry, const std::string &indicators,
                     const std::string &targets) {
    Targets out = Targets::defaults();
    if (!indicators.empty())
        out = out.with_indicators(read_text_file(indicators, "indicators file"), indicators,
                                  registry.kinds());
    if (!targets.empty())
        out = out.with_targets(read_text_file(targets, "targets file"), targets);
    return out;
}

MetricsConfig load_metrics_config(const Registry &registry, const std::string &path) {
    if (path.empty())
        return MetricsConfig::defaults(registry.kinds());
    return MetricsConfig::from_toml(read_text_file(path, "configuration file"), path,
                                    registry.kinds());
}

const std::vector<std::string> &table_extensions() {
    static const std::vector<std::string> v{".csv", ".xlsx", ".json"};
    return v;
}

const std::vector<std::string> &layer_extensions() {
    static const std::vector<std::string> v{".gpkg", ".shp", ".geojson"};
    return v;
}

OutputKind check_output(const std::filesystem::path &path, const std::vector<std::string> &tables,
                        const std::vector<std::string> &layers) {
    const std::string ext = lower_extension(path);
    if (std::find(tables.begin(), tables.end(), ext) != tables.end())
        return OutputKind::table;
    if (std::find(layers.begin(), layers.end(), ext) != layers.end())
        return OutputKind::layer;
    std::vector<std::string> accepted = tables;
    accepted.insert(accepted.end(), layers.begin(), layers.end());
    throw UsageError(
        fmt::format(fmt::runtime(_("-o {}: {}; -o takes {}")), path.string(),
                    ext.empty() ? std::string("the file has no extension")
                                : fmt::format(fmt::runtime(_("'{}' is not an output format")), ext),
                    fmt::join(accepted, " ")));
}

std::string flag_for_people(std::int64_t flag) {
    if (!chinese_messages() || (flag != 0 && flag != 1))
        return std::to_string(flag);
    return translate_in_context("flag", flag ? NC_("flag", "yes") : NC_("flag", "no"));
}

bool is_ratio_column(std::string_view name) {
    for (std::string_view exact : {"cov", "mean_cov", "completeness", "hazard_share", "threshold"})
        if (name == exact)
            return true;
    for (std::string_view prefix : {"cov_", "area_cov_", "pop_cov_", "net_pop_cov_"})
        if (name.substr(0, prefix.size()) == prefix)
            return true;
    return false;
}

exporters::Sheet sheet(std::string name, Rows rows) {
    exporters::Sheet s{std::move(name), std::move(rows), {}, {}};
    for (const auto &c : s.rows.columns)
        if (is_ratio_column(c))
            s.percent_columns.push_back(c);
    return s;
}

void add_headers_option(CLI::App *cmd, Headers &headers) {
    cmd->add_option("--headers", headers,
                    _("Header row of the file -o writes: zh (Chinese names) or en (the column "
                      "keys); default: zh in .xlsx (each key in a cell note), en in .csv"))
        ->transform(CLI::CheckedTransformer(
            std::map<std::string, Headers>{{"zh", Headers::zh}, {"en", Headers::en}},
            CLI::ignore_case))
        ->option_text("{zh,en}");
}

Rows without_keys_in_chinese(Rows rows, std::string_view key) {
    const auto at = std::find(rows.columns.begin(), rows.columns.end(), key);
    if (at == rows.columns.end() || !chinese_messages())
        return rows;
    const auto i = at - rows.columns.begin();
    rows.columns.erase(at);
    for (auto &r : rows.rows)
        r.erase(r.begin() + i);
    return rows;
}

exporters::KindLabels kind_labels(const Registry &registry) {
    exporters::KindLabels out;
    for (const auto &k : registry.kinds())
        out.emplace(k.key, k.label);
    return out;
}

std::string kind_name(const exporters::KindLabels &kinds, std::string_view key) {
    const auto it = kinds.find(key);
    return it == kinds.end() ? std::string(key) : message_name(key, it->second);
}

bool chinese_headers(const std::filesystem::path &path, Headers headers) {
    const std::string ext = lower_extension(path);
    return ext != ".json" &&
           (headers == Headers::zh || (headers == Headers::by_format && ext == ".xlsx"));
}

void write_tables(const std::filesystem::path &path, const std::vector<exporters::Sheet> &tables,
                  Headers headers, const exporters::KindLabels &kinds) {
    const std::string ext = lower_extension(path);
    const bool chinese = chinese_headers(path, headers);
    if (ext == ".xlsx") {
        std::vector<exporters::Sheet> sheets = tables;
        if (chinese)
            for (auto &s : sheets)
                s.headers = exporters::chinese_column_labels(s.rows.columns, kinds);
        exporters::write_xlsx(path, sheets);
        return;
    }
    std::ostringstream s;
    if (ext == ".json" && tables.size() > 1) {
        s << "{\n";
        for (std::size_t i = 0; i < tables.size(); ++i) {
            s << (i ? ",\n" : "") << nlohmann::json(tables[i].name).dump() << ": ";
            print_rows(tables[i].rows, OutputFormat::json, s);
        }
        s << "}\n";
    } else if (ext == ".json" && !tables.empty()) {
        print_rows(tables.front().rows, OutputFormat::json, s);
    } else if (!tables.empty()) {
        // The BOM makes Excel on a Chinese Windows read UTF-8 instead of GBK.
        s << "\xEF\xBB\xBF";
        Rows rows = tables.front().rows;
        if (chinese)
            rows.columns = exporters::chinese_column_labels(rows.columns, kinds);
        print_rows(rows, OutputFormat::csv, s);
    }
    write_text_file(path, s.str());
}

std::string lower_extension(const std::filesystem::path &path) {
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

void note(OutputFormat format, const std::string &message) {
    if (format == OutputFormat::table)
        fmt::print("{}\n", message);
    else
        log(LogLevel::info, message);
}

std::string describe_export(const exporters::ExportedFile &file) {
    std::vector<std::string> same_stem;
    std::vector<std::string> others;
    for (const auto &s : file.sidecars) {
        if (s.parent_path() == file.path.parent_path() && s.stem() == file.path.stem())
            same_stem.push_back(s.extension().string());
        else
            others.push_back(s.filename().string());
    }
    std::string extras = fmt::format("{}", fmt::join(same_stem, " "));
    if (!others.empty())
        extras += (extras.empty() ? "" : ", ") + fmt::format("{}", fmt::join(others, ", "));
    return extras.empty() ? file.path.string()
                          : fmt::format("{} (+ {})", file.path.string(), extras);
}

void export_layers(const std::string &registry, const std::filesystem::path &output,
                   const std::vector<std::pair<std::string, std::string>> &layers_and_suffixes,
                   OutputFormat format) {
    const std::string ext = lower_extension(output);
    bool first = true;
    for (const auto &[layer, suffix] : layers_and_suffixes) {
        exporters::ExportOptions o;
        o.layer = layer;
        o.output = output;
        if (ext == ".gpkg") {
            o.append = !first;
            o.style_suffix = suffix;
        } else if (!suffix.empty())
            o.output = output.parent_path() / (output.stem().string() + suffix + ext);
        first = false;
        for (const auto &file : exporters::export_layer(registry, o).outputs)
            note(format, fmt::format(fmt::runtime(_("wrote {} features of {} to {}")),
                                     file.features, layer, describe_export(file)));
    }
}

bool stderr_is_terminal() {
    return ::isatty(STDERR_FILENO) == 1;
}

namespace {
bool g_quiet = false;
} // namespace

bool quiet() {
    return g_quiet;
}
void set_quiet(bool q) {
    g_quiet = q;
}

ProgressBar::ProgressBar(std::string label)
    : m_label(std::move(label)), m_enabled(stderr_is_terminal() && !quiet()) {}

ProgressBar::~ProgressBar() {
    finish();
}

void ProgressBar::update(std::int64_t done, std::int64_t total) {
    if (!m_enabled || m_finished)
        return;
    if (total <= 0) {
        fmt::print(stderr, "\r{}", fmt::format(fmt::runtime(_("{} {} rows")), m_label, done));
        return;
    }
    const int permille = static_cast<int>(1000 * std::min(done, total) / total);
    if (permille == m_last_permille)
        return;
    m_last_permille = permille;
    constexpr int kWidth = 30;
    const int filled = permille * kWidth / 1000;
    fmt::print(stderr, "\r{} [{}{}] {:3}% ({}/{})", m_label, std::string(filled, '#'),
               std::string(kWidth - filled, '.'), permille / 10, done, total);
}

void ProgressBar::finish() {
    if (m_enabled && !m_finished && m_last_permille >= 0)
        fmt::print(stderr, "\n");
    m_finished = true;
}

} // namespace qiancun::cli
