#include "ffi/sqlite.hpp"

#include "qiancun/error.hpp"

#include <fmt/format.h>
#include <spatialite.h>

#include <utility>

namespace qiancun::ffi {

namespace {

/// Said instead of SQLite's "database is locked" once the busy timeout has run out.
constexpr const char *kBusy = "the registry is busy: another qiancun is writing to it and did "
                              "not finish within 10 s; nothing was changed, try again later";

bool busy(sqlite3 *db) {
    const int rc = db ? (sqlite3_extended_errcode(db) & 0xff) : SQLITE_OK;
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

[[noreturn]] void fail(sqlite3 *db, std::string_view what) {
    if (busy(db))
        throw DatabaseError(fmt::format("{} ({})", kBusy, sqlite3_db_filename(db, "main")));
    throw DatabaseError(fmt::format("{}: {}", what, db ? sqlite3_errmsg(db) : "out of memory"));
}

} // namespace

SqliteDb::SqliteDb(const std::filesystem::path &path, bool create, bool read_only) {
    int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (create && !read_only)
        flags |= SQLITE_OPEN_CREATE;
    flags |= SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &m_db, flags, nullptr) != SQLITE_OK) {
        std::string msg = fmt::format("cannot open {}: {}", path.string(),
                                      m_db ? sqlite3_errmsg(m_db) : "out of memory");
        close();
        throw DatabaseError(msg);
    }
    sqlite3_extended_result_codes(m_db, 1);
    // A writer holding the lock makes others wait rather than fail at once.
    sqlite3_busy_timeout(m_db, 10000);
    m_spatialite_cache = spatialite_alloc_connection();
    spatialite_init_ex(m_db, m_spatialite_cache, 0);
}

SqliteDb::SqliteDb(SqliteDb &&other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)),
      m_spatialite_cache(std::exchange(other.m_spatialite_cache, nullptr)) {}

SqliteDb &SqliteDb::operator=(SqliteDb &&other) noexcept {
    if (this != &other) {
        close();
        m_db = std::exchange(other.m_db, nullptr);
        m_spatialite_cache = std::exchange(other.m_spatialite_cache, nullptr);
    }
    return *this;
}

SqliteDb::~SqliteDb() {
    close();
}

void SqliteDb::close() noexcept {
    if (m_db)
        sqlite3_close_v2(m_db);
    m_db = nullptr;
    if (m_spatialite_cache)
        spatialite_cleanup_ex(m_spatialite_cache);
    m_spatialite_cache = nullptr;
}

void SqliteDb::exec(std::string_view sql) const {
    char *err = nullptr;
    std::string s(sql);
    if (sqlite3_exec(m_db, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        if (busy(m_db)) {
            sqlite3_free(err);
            fail(m_db, s);
        }
        std::string msg = err ? err : sqlite3_errmsg(m_db);
        sqlite3_free(err);
        throw DatabaseError(fmt::format("{} (in: {})", msg, s.substr(0, 200)));
    }
}

SqliteStmt::SqliteStmt(sqlite3 *db, std::string_view sql) : m_db(db) {
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &m_stmt, nullptr) !=
        SQLITE_OK)
        fail(db, fmt::format("cannot prepare '{}'", sql.substr(0, 200)));
}

SqliteStmt::SqliteStmt(SqliteStmt &&other) noexcept
    : m_stmt(std::exchange(other.m_stmt, nullptr)), m_db(other.m_db) {}

SqliteStmt &SqliteStmt::operator=(SqliteStmt &&other) noexcept {
    if (this != &other) {
        sqlite3_finalize(m_stmt);
        m_stmt = std::exchange(other.m_stmt, nullptr);
        m_db = other.m_db;
    }
    return *this;
}

SqliteStmt::~SqliteStmt() {
    sqlite3_finalize(m_stmt);
}

SqliteStmt &SqliteStmt::bind(int index, const Value &v) {
    if (std::holds_alternative<std::int64_t>(v))
        return bind_int(index, std::get<std::int64_t>(v));
    if (std::holds_alternative<double>(v))
        return bind_double(index, std::get<double>(v));
    if (std::holds_alternative<std::string>(v))
        return bind_text(index, std::get<std::string>(v));
    return bind_null(index);
}

SqliteStmt &SqliteStmt::bind_text(int index, std::string_view s) {
    if (sqlite3_bind_text(m_stmt, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT) !=
        SQLITE_OK)
        fail(m_db, "bind");
    return *this;
}

SqliteStmt &SqliteStmt::bind_int(int index, std::int64_t v) {
    if (sqlite3_bind_int64(m_stmt, index, v) != SQLITE_OK)
        fail(m_db, "bind");
    return *this;
}

SqliteStmt &SqliteStmt::bind_double(int index, double v) {
    if (sqlite3_bind_double(m_stmt, index, v) != SQLITE_OK)
        fail(m_db, "bind");
    return *this;
}

SqliteStmt &SqliteStmt::bind_blob(int index, std::string_view bytes) {
    if (sqlite3_bind_blob(m_stmt, index, bytes.data(), static_cast<int>(bytes.size()),
                          SQLITE_TRANSIENT) != SQLITE_OK)
        fail(m_db, "bind");
    return *this;
}

SqliteStmt &SqliteStmt::bind_null(int index) {
    if (sqlite3_bind_null(m_stmt, index) != SQLITE_OK)
        fail(m_db, "bind");
    return *this;
}

bool SqliteStmt::step() {
    int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    fail(m_db, fmt::format("'{}'", std::string(sqlite3_sql(m_stmt)).substr(0, 200)));
}

void SqliteStmt::run() {
    while (step()) {
    }
}

void SqliteStmt::reset() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

int SqliteStmt::columns() const noexcept {
    return sqlite3_column_count(m_stmt);
}

std::string SqliteStmt::column_name(int i) const {
    return sqlite3_column_name(m_stmt, i);
}

bool SqliteStmt::is_null(int i) const noexcept {
    return sqlite3_column_type(m_stmt, i) == SQLITE_NULL;
}

std::int64_t SqliteStmt::get_int(int i) const noexcept {
    return sqlite3_column_int64(m_stmt, i);
}

double SqliteStmt::get_double(int i) const noexcept {
    return sqlite3_column_double(m_stmt, i);
}

std::string SqliteStmt::get_text(int i) const {
    const auto *p = sqlite3_column_text(m_stmt, i);
    return p ? std::string(reinterpret_cast<const char *>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, i)))
             : std::string();
}

std::string SqliteStmt::get_blob(int i) const {
    const auto *p = sqlite3_column_blob(m_stmt, i);
    return p ? std::string(static_cast<const char *>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, i)))
             : std::string();
}

Value SqliteStmt::get_value(int i) const {
    switch (sqlite3_column_type(m_stmt, i)) {
    case SQLITE_INTEGER:
        return Value{get_int(i)};
    case SQLITE_FLOAT:
        return Value{get_double(i)};
    case SQLITE_TEXT:
        return Value{get_text(i)};
    case SQLITE_BLOB:
        return Value{get_blob(i)};
    default:
        return Value{};
    }
}

std::string quote_identifier(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"')
            out += '"';
        out += c;
    }
    out += '"';
    return out;
}

} // namespace qiancun::ffi
