#pragma once

#include "qiancun/column_labels.hpp"
#include "qiancun/config.hpp"
#include "qiancun/exporter.hpp"
#include "qiancun/indicators.hpp"
#include "qiancun/registry.hpp"
#include "qiancun/xlsx.hpp"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>

/// Shared pieces of the `qiancun` subcommands: output formats, progress, registration.
/// Each cmd_<verb>.cpp only parses its options into a struct and calls the library.

namespace qiancun::cli {

enum class OutputFormat { table, csv, json };

/// Adds an option whose value is a decimal number read with std::from_chars, so "120.9" is
/// 120.9 whatever the locale says; malformed, non-finite or not above zero is a usage error.
CLI::Option *add_positive_number_option(CLI::App *cmd, const std::string &name, double &value,
                                        const std::string &description);

/// Columns `utf8` takes in a terminal: East Asian Wide and Fullwidth characters two, combining
/// marks and zero-width characters none, every other character one.
std::size_t display_width(std::string_view utf8);

/// `utf8` followed by spaces up to `columns` terminal columns (display_width); as it is when
/// it is as wide or wider.
std::string pad_right(std::string_view utf8, std::size_t columns);

/// A geometry type for people's tables in the language of the messages ("多面" for
/// MULTIPOLYGON): the registry's OGC names (POINT, MULTILINESTRING, NONE) and GDAL's names of a
/// source's types (Point, Multi Polygon, None, 3D …); any other as it is.
std::string geometry_for_people(const std::string &type);

/// A GDAL field type (String, Integer64, Real, Date …) for people's tables in the language of
/// the messages; any other as it is.
std::string field_type_for_people(const std::string &type);

/// Adds `--format table|csv|json` bound to `format`.
void add_format_option(CLI::App *cmd, OutputFormat &format);

/// A ratio 0–1 as a percentage for people, one decimal, rounded down: 0.8995 → "89.9%".
std::string percent_for_people(double ratio);

/// Prints rows as an aligned table (for people), RFC 4180 CSV, or a JSON array of objects. The
/// table's headers are in the language of the messages (exporters::column_label, per-type
/// columns named with `kinds`); CSV and JSON keep the keys.
void print_rows(const Rows &rows, OutputFormat format, std::ostream &out,
                const exporters::KindLabels &kinds = {});

/// `rows` without its column `key` when the messages are Chinese, for a people's table whose
/// `label` column names each row (the counts per check or per class): a Chinese table shows no
/// English keys, an English one keeps the key one types.
Rows without_keys_in_chinese(Rows rows, std::string_view key);

/// Reads a whole text file; throws UsageError naming `what` ("rules file") when it cannot.
std::string read_text_file(const std::filesystem::path &path, std::string_view what);

/// Writes `text` to `path`, replacing it; throws Error when it cannot.
void write_text_file(const std::filesystem::path &path, const std::string &text);

/// The plan's indicators and targets: the built-in ones, plus those of the indicators file at
/// `indicators` (same key = override), then the targets file at `targets`, each when given.
Targets load_targets(const Registry &registry, const std::string &indicators,
                     const std::string &targets);

/// The defaults for the registry's kinds, overridden by the TOML file at `path` when given.
MetricsConfig load_metrics_config(const Registry &registry, const std::string &path);

/// What `-o FILE` writes, by its extension.
enum class OutputKind {
    table, ///< .csv (UTF-8 with BOM, for Excel on a Chinese Windows), .xlsx, .json
    layer  ///< .gpkg .shp .geojson (and for commands that write only layers, .csv)
};

/// The kind of output `path` asks for, checked before any work starts: a table extension when
/// `tables` is given, a layer extension when `layers` is given (both may be). Throws UsageError
/// listing the accepted extensions for any other. `path` must not be empty.
OutputKind check_output(const std::filesystem::path &path, const std::vector<std::string> &tables,
                        const std::vector<std::string> &layers);

/// The table extensions every command's `-o` takes.
const std::vector<std::string> &table_extensions();
/// The layer extensions of the exporter.
const std::vector<std::string> &layer_extensions();

/// A yes/no value (1/0) for people's tables: 是/否 in Chinese messages, 1/0 in English ones;
/// any other number as it is. print_rows says the flag columns mismatch and on_network so.
std::string flag_for_people(std::int64_t flag);

/// True for a column of ratios 0–1 (cov…, area_cov_T, pop_cov_T, net_pop_cov_T, mean_cov,
/// completeness, hazard_share, threshold): a percentage in people's tables and workbooks.
bool is_ratio_column(std::string_view name);

/// A sheet of `rows` named `name`, its ratio columns marked as percentages.
exporters::Sheet sheet(std::string name, Rows rows);

/// The header row of tables written to files (`--headers`).
enum class Headers {
    by_format, ///< Chinese in .xlsx, the English keys in .csv (the default)
    en,        ///< the English column keys
    zh         ///< Chinese names (exporters::chinese_column_label), the key in a cell note in .xlsx
};

/// Adds `--headers zh|en` bound to `headers`.
void add_headers_option(CLI::App *cmd, Headers &headers);

/// The Chinese name of each kind of `registry`, for per-type column headers.
exporters::KindLabels kind_labels(const Registry &registry);

/// How a sentence or a people's table names kind `key`: message_name of its label in `kinds`
/// (its label when the messages are Chinese), else `key` itself.
std::string kind_name(const exporters::KindLabels &kinds, std::string_view key);

/// Whether the file `path` written with `headers` has Chinese headers (and people's words in
/// its cells): --headers zh, or .xlsx by default; never .json.
bool chinese_headers(const std::filesystem::path &path, Headers headers);

/// Writes tables to `path` by its extension: .csv the first table as UTF-8 with a BOM, .json
/// one table as an array of objects (several: an object of arrays by sheet name), .xlsx one
/// worksheet per table. The header row follows `headers` (JSON keeps the keys).
void write_tables(const std::filesystem::path &path, const std::vector<exporters::Sheet> &tables,
                  Headers headers = Headers::by_format, const exporters::KindLabels &kinds = {});

/// The lower-case extension of `path` (".GPKG" → ".gpkg").
std::string lower_extension(const std::filesystem::path &path);

/// A message for people: on stdout next to a table, on stderr when stdout carries data.
void note(OutputFormat format, const std::string &message);

/// "villages.shp (+ .shx .dbf .prj .cpg, villages.fields.csv)": sidecars sharing the file's
/// stem by their extension, others by name.
std::string describe_export(const exporters::ExportedFile &file);

/// Exports registry layers to `output`: all into one GeoPackage, else one file per layer named
/// `<stem><suffix><ext>`; each layer's QGIS style is `<stem><suffix>.qml` either way. Notes each
/// file written.
void export_layers(const std::string &registry, const std::filesystem::path &output,
                   const std::vector<std::pair<std::string, std::string>> &layers_and_suffixes,
                   OutputFormat format);

/// True when stderr is a terminal (progress bars are drawn only then).
bool stderr_is_terminal();

/// A one-line progress bar on stderr; silent when stderr is not a terminal or --quiet.
class ProgressBar {
public:
    explicit ProgressBar(std::string label);
    ProgressBar(const ProgressBar &) = delete;
    ProgressBar &operator=(const ProgressBar &) = delete;
    ~ProgressBar();
    void update(std::int64_t done, std::int64_t total);
    void finish();

private:
    std::string m_label;
    bool m_enabled;
    bool m_finished = false;
    int m_last_permille = -1;
};

/// The value of `--lang` (`--lang zh`, `--lang=en`) in `argv`, read before CLI11 parses the
/// command line so that its help texts are already in that language; "" when absent.
std::string language_option(int argc, char **argv);

/// Sets LC_CTYPE and LC_MESSAGES from the environment (never LC_NUMERIC) and binds the
/// message catalogue: `lang` "zh" or "en" wins over LANG/LC_MESSAGES/LANGUAGE, "" keeps them;
/// a Chinese environment whose locale the system lacks still gets Chinese. Throws UsageError
/// for any other `lang`.
void select_language(const std::string &lang);

/// CLI11's message for the parse error `e`, with its hint to --help, in the language of the
/// messages (CLI::App::failure_message): the sentences people meet — an unexpected argument, a
/// missing option or value, a value that is not one of the choices, a value that is no number —
/// in the catalogue's words, any other as CLI11 wrote it.
std::string parse_error_message(const CLI::App *app, const CLI::Error &e);

/// Set by --quiet before any subcommand runs.
bool quiet();
void set_quiet(bool quiet);

/// Each registers one subcommand on `app`.
void register_init(CLI::App &app);
void register_import(CLI::App &app); // import and load
void register_info(CLI::App &app);
void register_list(CLI::App &app);
void register_export(CLI::App &app);
void register_metrics(CLI::App &app);  // metrics, gaps, config
void register_classify(CLI::App &app); // classify, indicators
void register_network(CLI::App &app);  // service-area, route
void register_qgis_project(CLI::App &app);
void register_check(CLI::App &app);
void register_inspect(CLI::App &app);
void register_bulletin(CLI::App &app);
void register_site(CLI::App &app);
void register_role(CLI::App &app); // role add, role list, history
void register_copy(CLI::App &app);

/// `info --network`: the road graph and its disconnected pieces.
void print_network_info(const std::string &registry, OutputFormat format);

} // namespace qiancun::cli
