#pragma once

#include "qiancun/registry.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

/// GDAL → registry. Reads any vector source GDAL opens (Shapefile, GeoPackage, GeoJSON, KML,
/// CSV and XLSX with coordinate columns), maps fields, checks values, reprojects to the
/// working CRS (PROJ, plus GCJ-02/BD-09), checks geometries with GEOS, and writes one kind
/// in one transaction.

namespace qiancun::importers {

enum class GeometryPolicy {
    repair, ///< invalid polygons are made valid (GEOSMakeValid) and reported
    reject  ///< invalid polygons are errors
};

/// One finding about one row.
struct ImportIssue {
    enum class Severity { warning, repaired, error };
    Severity severity = Severity::error;
    std::int64_t row = 0; ///< 1-based feature row; 0 = the whole source
    std::string message;
};

struct ImportOptions {
    std::string name;             ///< a manifest [[source]]'s `name`, for --like
    std::string kind;             ///< target kind key
    std::filesystem::path source; ///< file (or directory GDAL opens)
    std::string layer; ///< empty = the only/first layer; in a zip, the file (`villages.shp`)
    std::map<std::string, std::string> field_map; ///< target attribute → source field
    std::map<std::string, std::string> defaults;  ///< target attribute → text when empty
    std::string src_crs;  ///< "" = from the source (.prj); "EPSG:4490", any PROJ string,
                          ///< "GCJ02" or "BD09"
    std::string encoding; ///< "" = as the source declares; "GBK", "UTF-8", …
    std::string x_field;  ///< coordinate columns of a table source (CSV, XLSX)
    std::string y_field;
    bool replace = false; ///< swap every row of the kind instead of upserting by id
    /// Update ids that another source brought (else such an id is a duplicate).
    bool update = false;
    GeometryPolicy policy = GeometryPolicy::repair;
    std::string as_of; ///< YYYY-MM-DD the statuses hold from (status history); "" = today
    /// A village source of a manifest: its [village_attributes], added to the registry (in the
    /// import's transaction) before the villages are read.
    std::vector<AttributeDef> village_attributes;
};

struct ImportReport {
    ImportRecord record;
    std::vector<ImportIssue> issues; ///< warnings and repairs (errors throw)
};

/// Called with (done, total) rows while reading; total may be 0 when unknown.
using Progress = std::function<void(std::int64_t done, std::int64_t total)>;

/// Reads and checks a source without writing. Throws InputError for the first bad row
/// (file, row, problem), after logging every error found.
struct PreparedImport {
    ImportOptions options;
    const KindDef *kind = nullptr;
    std::vector<Feature> features;
    ImportReport report;
    /// Working CRS this import fixes, when the registry has none yet: `working` if given,
    /// else the CGCS2000 3° zone of the data.
    std::optional<crs::Definition> chosen_crs;
    std::optional<double> data_lon; ///< middle of the data's longitude range, degrees
};
/// Every feature is checked against the working CRS by its scale error (crs::ScaleGauge at the
/// corners of its lon/lat bounding box): above crs::kMaxScaleError it is an error naming the
/// row, the position and the error; beyond the CRS's nominal area of use but within the bound
/// it is accepted, with one warning for the whole source. `working` is the CRS to use when
/// the registry has none (checked with crs::check_working).
PreparedImport prepare_import(const Registry &registry, const ImportOptions &options,
                              const Progress &progress = {},
                              std::optional<crs::Definition> working = std::nullopt);

/// Writes a prepared import; call inside a Registry::Transaction.
void commit_import(Registry &registry, PreparedImport &prepared);

/// The keys of `features` (their first value), for `hint_likely_duplicates`.
std::set<std::string> feature_keys(const std::vector<Feature> &features);

/// Logs one warning when rows of `kind` with these keys are likely duplicates of rows of the
/// registry (qiancun/check.hpp: same kind, within 50 m, same or near-same name), pointing to
/// `qiancun check`. Never fails: the rows stay imported.
void hint_likely_duplicates(const Registry &registry, std::string_view kind,
                            const std::set<std::string> &keys);

/// prepare + commit + link villages in one transaction: all-or-nothing.
ImportReport import_file(Registry &registry, const ImportOptions &options,
                         const Progress &progress = {});

/// A county manifest (TOML): the sources to load, their mapping, and configured kinds.
struct Manifest {
    std::filesystem::path path;
    std::optional<crs::Definition> crs; ///< [registry] crs = "EPSG:4549" (any CRS PROJ reads)
    std::string as_of; ///< [registry] as_of = "2025-06-30": default of the sources' `as_of`
    std::vector<KindDef> kinds;                   ///< [asset_types.*]
    std::vector<AttributeDef> village_attributes; ///< [village_attributes]
    std::vector<ImportOptions> sources; ///< [[source]], paths resolved against the manifest
};

/// Parses a manifest; throws InputError naming the file and the entry.
Manifest read_manifest(const std::filesystem::path &path);

/// The source named `name` in `manifest`; throws UsageError listing the names when none is.
const ImportOptions &manifest_source(const Manifest &manifest, const std::string &name);

/// The options to import another file of the same department as `saved` (a manifest source):
/// `given` (source, layer, flags) with the kind, field mapping, defaults, CRS, encoding,
/// coordinate columns and geometry policy of `saved`; a mapping or default in `given`
/// overrides the saved one of the same attribute, a CRS/encoding/x/y in `given` the saved
/// one. Throws UsageError when `given.kind` is set and differs.
ImportOptions import_like(const ImportOptions &saved, const ImportOptions &given);

/// Called before each source of a manifest load: (index, count, options).
using SourceProgress = std::function<void(std::size_t, std::size_t, const ImportOptions &)>;

/// Loads every source of a manifest in one transaction; all or nothing. Records the manifest's
/// absolute path as the registry property `manifest`.
std::vector<ImportReport> load_manifest(Registry &registry, const Manifest &manifest,
                                        const SourceProgress &on_source = {},
                                        const Progress &progress = {});

} // namespace qiancun::importers
