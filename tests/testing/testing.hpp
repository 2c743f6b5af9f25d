#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

/// Shared test helpers: temporary directories, running the real `qiancun` binary, writing
/// small vector fixtures with GDAL, and geometry comparison.

namespace qiancun::testing {

/// Lengths in metres, ratios unitless.
inline constexpr double kTolM = 1e-3;
inline constexpr double kCoordTolM = 0.01;

/// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
public:
    TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    ~TempDir();
    const std::filesystem::path &path() const noexcept { return m_path; }
    std::filesystem::path operator/(const std::string &name) const { return m_path / name; }

private:
    std::filesystem::path m_path;
};

std::string read_file(const std::filesystem::path &path);
void write_file(const std::filesystem::path &path, const std::string &content);

std::filesystem::path source_dir();
std::filesystem::path sample_maps_dir();

/// Binds the build's compiled catalogues (po/) as the qiancun program does, in C.UTF-8 since
/// gettext reads nothing in "C": the library's words that are Chinese whatever the language of
/// the messages (chinese_word: legend labels, class names) are then the catalogue's.
void bind_catalogue();

struct CommandResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// Environment variables a child gets on top of the caller's: (name, value); an empty value
/// removes the variable.
using Environment = std::vector<std::pair<std::string, std::string>>;

/// Starts `argv` (argv[0] a path) with stdin from /dev/null, stdout to the file `out` and
/// stderr to `err` (to `out` when empty), appending when `append`, in `cwd` when given, with the
/// environment `envp` (this process's when null); its pid, or throws when it cannot start.
/// Threads may call it at once: posix_spawn, no fork.
pid_t start_process(const std::vector<std::string> &argv, const std::filesystem::path &out,
                    const std::filesystem::path &err, bool append,
                    const std::optional<std::filesystem::path> &cwd = std::nullopt,
                    char *const *envp = nullptr);

/// Runs `argv` (argv[0] is the program path) with stdin closed, capturing both streams.
CommandResult run_command(const std::vector<std::string> &argv,
                          const std::optional<std::filesystem::path> &cwd = std::nullopt,
                          const Environment &env = {});
/// Runs the built `qiancun` binary with `args` in the C.UTF-8 locale with LANGUAGE unset, so
/// that its messages are the English ones whatever the caller's locale; `env` comes on top.
CommandResult run_qiancun(const std::vector<std::string> &args,
                          const std::optional<std::filesystem::path> &cwd = std::nullopt,
                          const Environment &env = {});

/// The demo's two months in `registry` (made with `init --crs EPSG:4549`): the sample county
/// loaded as of `first`, then next month's delivery (tools/derive_next_month.sh, written to
/// `work / "next-month"`) as of `second`. The first step that failed, or the last step's result.
CommandResult load_sample_months(const std::string &registry, const std::filesystem::path &work,
                                 const std::string &first, const std::string &second);

/// The environment that runs a program in `locale` ("de_DE.UTF-8"): LC_ALL, LANGUAGE, and
/// LOCPATH when the system lacks it and it was compiled with localedef into a directory of
/// the test run (the `locales` package's sources; no root needed). Throws when it cannot be.
Environment locale_environment(const std::string &locale);

/// One fixture feature: geometry as WKT ("" = no geometry) and field values as text.
struct FixtureFeature {
    std::string wkt;
    std::map<std::string, std::string> fields;
};

/// Writes a one-layer vector file with GDAL. Every field is a string field unless named in
/// `real_fields`/`int_fields`. `epsg` 0 writes no CRS (no .prj). `layer_options` are GDAL
/// layer creation options ("ENCODING=CP936").
void write_vector(const std::filesystem::path &path, const std::string &driver,
                  const std::string &layer, int epsg, const std::vector<std::string> &field_names,
                  const std::vector<FixtureFeature> &features,
                  const std::vector<std::string> &layer_options = {},
                  const std::vector<std::string> &real_fields = {},
                  const std::vector<std::string> &int_fields = {});

/// Writes the CLI tests' two villages as GeoJSON in EPSG:4549: 东山村 (330604101201) the 1 km
/// square with its south-west corner at (500000, 3320000), 下管村 (330604101202) the square east of
/// it.
void write_two_square_villages(const std::filesystem::path &path);

/// The river county of the network and locale CLI tests, as files in `dir`: the two villages of
/// write_two_square_villages (villages.geojson), cut by a river along y = 3320500 with one bridge
/// at their east end (x = 502000); settlements.geojson with S1 (北岸, 100 people, 500100
/// 3320610) and S2 (南岸, 300 people, 500900 3320390); roads.geojson with the south and north
/// bank roads (y = 3320400 and 3320600, x 500000–502000) and the bridge, all operating and
/// hardened, and with `farm_track` an earth track (501500–501800, y = 3320900) joining nothing;
/// plants.csv with the header id,status,service_radius_m,x,y and the one row `plant_row`.
void write_river_county(const std::filesystem::path &dir, const std::string &plant_row,
                        bool farm_track);

/// The qiancun arguments that load write_river_county's files into `registry`: init in
/// EPSG:4549, then one import per file.
std::vector<std::vector<std::string>> river_county_loads(const std::string &registry,
                                                         const std::filesystem::path &dir);

/// Writes next month's list of the sample county's water bureau (sample_maps/sewage_plants.csv
/// changed in four rows): WS0002 moved 0.003° east (about 290 m), WS0005 with its status
/// switched between 运行 and 停用, WS0003 removed, WSX001 added (WS0010's row 0.003° north,
/// 运行). Import it with `--like water_bureau --replace`.
void write_changed_sample_plants(const std::filesystem::path &path);

/// Makes a Shapefile written with ENCODING=CP936 look as departments send it: the .cpg
/// removed and the DBF language-driver byte zeroed, so nothing declares the GBK encoding.
void strip_encoding_declaration(const std::filesystem::path &shp);

/// Splits text at newlines (no trailing empty line).
std::vector<std::string> split_lines(const std::string &text);

/// The comma-separated fields of one line of a simple CSV text (no quoted commas).
std::vector<std::string> csv_fields(const std::string &line);

/// The value of `column` in data row `row` (1-based) of a simple CSV text (no quoted commas);
/// throws std::logic_error naming what is missing.
std::string csv_cell(const std::string &csv, const std::string &column, std::size_t row = 1);

/// Transforms (x, y) between EPSG CRSs with OGRCoordinateTransformation, in the traditional
/// GIS axis order (lon, lat / easting, northing): the tests' independent reference.
std::pair<double, double> ogr_transform(int from_epsg, int to_epsg, double x, double y);

/// Reads every feature of a vector file with GDAL as {field → text} plus "WKT".
std::vector<std::map<std::string, std::string>>
read_vector(const std::filesystem::path &path, const std::string &layer = "",
            const std::vector<std::string> &open_options = {});

/// True when both geometries, normalised, are within `tol_m` of each other (Hausdorff
/// distance); otherwise explains with both WKTs.
::testing::AssertionResult geometry_near(const std::string &actual_wkt,
                                         const std::string &expected_wkt, double tol_m);

} // namespace qiancun::testing
