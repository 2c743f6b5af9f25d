#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

/// Zip archives for tests, written by /usr/bin/python3's zipfile (deflate): a delivery as a
/// department zips it, and hostile ones (a bomb, entries that escape the archive).

namespace qiancun::testing {

/// One entry: its name in the archive exactly as stored (may be "../x" or "/x"), and the
/// bytes, given as a file on disk or as text.
struct ZipEntry {
    std::string name;
    std::filesystem::path file; ///< read when not empty
    std::string text;           ///< else the entry's bytes
};

/// Writes `zip` with `entries` in that order. Throws when python3 fails.
void write_zip(const std::filesystem::path &zip, const std::vector<ZipEntry> &entries);

/// Every file of `dir` whose name starts with `stem` + "." as entries under `folder`
/// ("" = the archive's root), in name order: a Shapefile and its parts.
std::vector<ZipEntry> entries_of(const std::filesystem::path &dir, const std::string &stem,
                                 const std::string &folder = "");

/// Writes `zip` with one deflated entry `name` of `bytes` zero bytes, streamed (a zip bomb:
/// 2 GiB compress to 9 MiB).
void write_zero_bomb(const std::filesystem::path &zip, const std::string &name,
                     std::uint64_t bytes);

/// Writes `zip` with `count` empty entries "f0.txt", "f1.txt", ….
void write_many_entries(const std::filesystem::path &zip, std::uint64_t count);

} // namespace qiancun::testing
