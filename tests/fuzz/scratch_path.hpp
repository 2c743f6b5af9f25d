#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

/// A file name in the temporary directory, unique to this process ("<stem>-<pid><ext>"),
/// removed with SQLite's side files when the process ends normally. libFuzzer ends a run with
/// exit(), so a static ScratchPath is cleaned up; a crash or a timeout ends the process with
/// _Exit and leaves the file for inspection.
class ScratchPath {
public:
    ScratchPath(const std::string &stem, const std::string &ext)
        : m_path(std::filesystem::temp_directory_path() /
                 (stem + "-" + std::to_string(::getpid()) + ext)) {
        remove_files();
    }
    ScratchPath(const ScratchPath &) = delete;
    ScratchPath &operator=(const ScratchPath &) = delete;
    ScratchPath(ScratchPath &&) = delete;
    ScratchPath &operator=(ScratchPath &&) = delete;
    ~ScratchPath() { remove_files(); }

    const std::filesystem::path &path() const noexcept { return m_path; }

private:
    void remove_files() const noexcept {
        std::error_code ec;
        for (const char *side : {"", "-wal", "-shm", "-journal"})
            std::filesystem::remove(m_path.string() + side, ec);
    }

    std::filesystem::path m_path;
};
