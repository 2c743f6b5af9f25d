#pragma once

#include "testing/testing.hpp"

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

/// Helpers of the robustness tests: registries made from fixtures, child processes started
/// without waiting, and the checks that a registry is intact.

namespace qiancun::testing {

/// Starts `argv` (argv[0] a path) with stdout/stderr sent to `log`; returns its pid.
pid_t spawn(const std::vector<std::string> &argv, const std::filesystem::path &log);
/// Waits for `pid`; the exit code, or 128 + signal.
int wait_for(pid_t pid);

/// `PRAGMA integrity_check` of the registry file: "ok" when intact.
std::string integrity_check(const std::filesystem::path &registry);

/// Rows per kind of the sample county (sample_maps/counts.json).
std::map<std::string, std::int64_t> sample_counts();
/// Rows per kind of `registry` for the kinds of `expected` (0 for a kind it does not know).
std::map<std::string, std::int64_t>
registry_counts(const std::filesystem::path &registry,
                const std::map<std::string, std::int64_t> &expected);

/// Content checksum of every table (Registry::content_checksum), opened read-only.
std::string checksum(const std::filesystem::path &registry);

} // namespace qiancun::testing
