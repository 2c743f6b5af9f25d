#pragma once

#include <filesystem>

struct sqlite3;

namespace qiancun::testing {

/// A connection of its own to a SpatiaLite registry file (SpatiaLite functions loaded), for tests
/// that look at or tamper with the file beside the Registry. Move-only; closes on destruction.
class SqliteFile {
public:
    explicit SqliteFile(const std::filesystem::path &path);
    SqliteFile(SqliteFile &&other) noexcept;
    SqliteFile &operator=(SqliteFile &&other) noexcept;
    SqliteFile(const SqliteFile &) = delete;
    SqliteFile &operator=(const SqliteFile &) = delete;
    ~SqliteFile();

    sqlite3 *get() const noexcept { return m_db; }

private:
    void close() noexcept;
    sqlite3 *m_db = nullptr;
    void *m_cache = nullptr;
};

} // namespace qiancun::testing
