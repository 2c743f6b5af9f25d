#include "testing/sqlite_file.hpp"

#include <sqlite3.h>
// After sqlite3.h, whose types it uses.
#include <spatialite.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace qiancun::testing {

SqliteFile::SqliteFile(const std::filesystem::path &path) {
    if (sqlite3_open_v2(path.c_str(), &m_db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        const std::string message = m_db ? sqlite3_errmsg(m_db) : "out of memory";
        close();
        throw std::runtime_error("cannot open " + path.string() + ": " + message);
    }
    sqlite3_busy_timeout(m_db, 10000);
    m_cache = spatialite_alloc_connection();
    spatialite_init_ex(m_db, m_cache, 0);
}

SqliteFile::SqliteFile(SqliteFile &&other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_cache(std::exchange(other.m_cache, nullptr)) {}

SqliteFile &SqliteFile::operator=(SqliteFile &&other) noexcept {
    if (this != &other) {
        close();
        m_db = std::exchange(other.m_db, nullptr);
        m_cache = std::exchange(other.m_cache, nullptr);
    }
    return *this;
}

SqliteFile::~SqliteFile() {
    close();
}

void SqliteFile::close() noexcept {
    if (m_db)
        sqlite3_close_v2(m_db);
    if (m_cache)
        spatialite_cleanup_ex(m_cache);
    m_db = nullptr;
    m_cache = nullptr;
}

} // namespace qiancun::testing
