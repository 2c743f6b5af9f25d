#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

/// Zip archives as delivered (a zipped Shapefile, several layers in folders): their entries
/// checked against bombs and escaping paths, and the vector file inside chosen for GDAL, which
/// reads it as `/vsizip/archive.zip/inner`.

namespace qiancun::importers::detail {

/// Archives larger than this when unpacked are refused (sum of the uncompressed sizes that the
/// central directory declares; GDAL's /vsizip/ reads no entry beyond its declared size).
inline constexpr std::uint64_t kMaxArchiveUncompressedBytes = std::uint64_t{1} << 30; // 1 GiB
/// Archives with more entries than this are refused.
inline constexpr std::uint64_t kMaxArchiveEntries = 10000;

/// One entry of a zip's central directory.
struct ArchiveEntry {
    std::string name; ///< as stored (bytes of the archive; '/' or '\' separated)
    std::uint64_t compressed_size = 0;
    std::uint64_t uncompressed_size = 0;
};

/// True for a path GDAL reads as a zip archive of deliveries (`.zip`, any case).
bool is_zip_archive(const std::filesystem::path &path);
/// True for a path that is a zip container of its own format (`.kmz`): checked, not unpacked.
bool is_zip_container(const std::filesystem::path &path);

/// Reads the central directory of the zip at `path` (a file GDAL's VSI opens) and refuses,
/// with an InputError naming `display`, an archive that is not a zip, one with more than
/// kMaxArchiveEntries entries or more than kMaxArchiveUncompressedBytes unpacked, and one whose
/// entries escape it (an absolute path, a drive letter, a `..` component).
std::vector<ArchiveEntry> read_zip_directory(const std::string &path, const std::string &display);

/// The vector source inside a zip that an import or an inspection reads.
struct ArchiveSource {
    std::string gdal_path; ///< /vsizip/<absolute archive>/<inner path>
    std::string display;   ///< <archive as given>/<inner path>, for messages
    std::string inner;     ///< path inside the archive
    /// True when the layer asked for named this file (`villages` or `villages.shp`): read the
    /// layer of that name if the file has one, else its first layer.
    bool layer_names_file = false;
};

/// Chooses the vector file of a zip (a KMZ: its root document doc.kml, else its first KML by
/// name,
/// with `layer` a layer inside it): the only one, or the one `layer` names (by file name with
/// or without extension, or by its path inside the archive). Files of several parts (the
/// Shapefile's .shx/.dbf/.prj/.cpg), folders, `__MACOSX/` and `._*` entries are not
/// candidates. Throws InputError naming the archive when it holds none, or several and `layer`
/// names none of them (listing them), after read_zip_directory's checks.
ArchiveSource resolve_archive(const std::filesystem::path &archive, const std::string &layer);

/// Copies a file GDAL reads (e.g. a workbook inside a zip, which the XLSX driver cannot read
/// in place) to a new /vsimem/ file and returns its path; "" when it cannot. The caller
/// unlinks it.
std::string copy_to_memory(const std::string &path);

/// The vector files of a zip (inner paths, sorted), after
/// read_zip_directory's checks.
std::vector<std::string> archive_datasets(const std::filesystem::path &archive);

} // namespace qiancun::importers::detail
