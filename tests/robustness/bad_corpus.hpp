#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

/// The bad-input catalogue of SPEC §7, written as the corpus in tests/data/bad/: one directory
/// of broken files per case, `cases.tsv` (what to run, what must be said) and a README listing
/// both. `make_bad_corpus` writes it; the robustness tests run `qiancun import` over it.

namespace qiancun::testing {

/// What the test does to a case beyond copying its directory to a temporary one.
enum class BadSetup {
    copy,      ///< nothing more
    absent,    ///< nothing to copy: the source path does not exist
    unreadable ///< the copied source is made unreadable (chmod 000), the import run as nobody
};

/// "copy", "absent", "unreadable".
std::string to_string(BadSetup setup);
/// The inverse of to_string; throws std::invalid_argument for another text.
BadSetup bad_setup_from_string(const std::string &text);

/// One bad input as the catalogue defines it.
struct BadCase {
    std::string name;    ///< UpperCamelCase, also the directory name
    std::string problem; ///< one sentence for the README
    BadSetup setup = BadSetup::copy;
    /// Writes the broken files into `dir` (an existing, empty directory) and returns the
    /// `qiancun import` arguments after the registry: the source relative to `dir` first.
    std::function<std::vector<std::string>(const std::filesystem::path &dir)> make;
    /// Fragments the message line must contain: the file, the row or feature, the problem.
    std::vector<std::string> expected;
};

/// Every case, in the order of cases.tsv.
std::vector<BadCase> bad_catalogue();

/// One line of cases.tsv: the source argument is relative to the corpus directory.
struct BadCaseEntry {
    std::string name;
    BadSetup setup = BadSetup::copy;
    std::vector<std::string> args;
    std::vector<std::string> expected;
};

/// Directory of the base registry's sources inside the corpus.
inline constexpr const char *kBadBaseRegistryDir = "registry";
/// Working CRS of the base registry.
inline constexpr const char *kBadBaseRegistryCrs = "EPSG:4549";
/// The imports that fill the base registry every case starts from (one village, one sewage
/// plant), as `qiancun import` arguments after the registry, sources relative to the corpus.
std::vector<std::vector<std::string>> bad_base_registry_imports();

/// Writes the corpus into `dir`: the base registry's sources, every case's directory,
/// cases.tsv and README.md. Byte-for-byte the same on every run. `dir` must be empty, missing,
/// or a corpus written before (it holds cases.tsv), whose contents are replaced.
void write_bad_corpus(const std::filesystem::path &dir);

/// Reads `cases.tsv`; throws std::runtime_error naming the line of a malformed entry.
std::vector<BadCaseEntry> read_bad_cases(const std::filesystem::path &cases_tsv);

} // namespace qiancun::testing
