#include "ffi/sqlite.hpp"

#include "qiancun/error.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spatialite.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

#include "qiancun/i18n.hpp"

namespace qiancun::ffi {

namespace {

/// How long a connection waits for another writer's lock before giving up.
constexpr int kBusyTimeoutMs = 10000;

using Clock = std::chrono::steady_clock;

bool busy(sqlite3 *db) {
    const int rc = db ? (sqlite3_extended_errcode(db) & 0xff) : SQLITE_OK;
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

std::filesystem::path writer_note(std::string_view database) {
    return std::filesystem::path(std::string(database) + ".writer");
}

/// This process's command line, arguments joined by spaces ("qiancun import r.sqlite p.csv").
std::string own_command() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!raw.empty() && raw.back() == '\0')
        raw.pop_back();
    std::replace(raw.begin(), raw.end(), '\0', ' ');
    if (const auto slash = raw.rfind('/', raw.find(' ')); slash != std::string::npos)
        raw.erase(0, slash + 1); // the program's name without its directory
    constexpr std::size_t kMaxCommand = 200;
    return raw.empty() ? std::string("qiancun") : raw.substr(0, kMaxCommand);
}

/// Who holds the write lock of `database`: the qiancun process its note names while that
/// process lives, else another program (QGIS, sqlite3, a script …).
std::string lock_holder(std::string_view database) {
    std::ifstream in(writer_note(database));
    long pid = 0;
    std::string command;
    std::string since;
    if (in >> pid && in.ignore() && std::getline(in, command) && std::getline(in, since) &&
        pid > 0 && pid != static_cast<long>(::getpid()) &&
        (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM))
        return fmt::format(fmt::runtime(_("another qiancun (pid {}: {}, since {})")), pid, command,
                           since);
    return _("another program (QGIS, sqlite3 or a script)");
}

/// Throws the error of the last call on `db`; `started` is when that call began, for the time
/// a busy registry was waited on.
[[noreturn]] void fail(sqlite3 *db, std::string_view what, Clock::time_point started) {
    if (busy(db)) {
        const double waited_s = std::chrono::duration<double>(Clock::now() - started).count();
        const char *path = sqlite3_db_filename(db, "main");
        throw DatabaseError(fmt::format(
            fmt::runtime(
                _("the registry {} is busy: {} is writing to it; gave up after waiting {:.1f} s, "
                  "nothing was changed; try again later")),
            path ? path : "", lock_holder(path ? path : ""), waited_s));
    }
    throw DatabaseError(fmt::format("{}: {}", what, db ? sqlite3_errmsg(db) : "out of memory"));
}

[[noreturn]] void fail(sqlite3 *db, std::string_view what) {
    fail(db, what, Clock::now());
}

/// kBusyTimeoutMs, or QIANCUN_BUSY_TIMEOUT_MS from the environment (0 to 600000).
int busy_timeout_ms() {
    if (const char *env = std::getenv("QIANCUN_BUSY_TIMEOUT_MS")) {
        char *end = nullptr;
        const long ms = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && ms >= 0 && ms <= 600000)
            return static_cast<int>(ms);
    }
    return kBusyTimeoutMs;
}

} // namespace

SqliteDb::SqliteDb(const std::filesystem::path &path, bool create, bool read_only) {
    int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (create && !read_only)
        flags |= SQLITE_OPEN_CREATE;
    flags |= SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &m_db, flags, nullptr) != SQLITE_OK) {
        std::string msg = fmt::format(fmt::runtime(_("cannot open {}: {}")), path.string(),
                                      m_db ? sqlite3_errmsg(m_db) : "out of memory");
        close();
        throw DatabaseError(msg);
    }
    sqlite3_extended_result_codes(m_db, 1);
    // A writer holding the lock makes others wait rather than fail at once.
    sqlite3_busy_timeout(m_db, busy_timeout_ms());
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

void SqliteDb::note_writer() const noexcept {
    try {
        const char *path = sqlite3_db_filename(m_db, "main");
        if (!path || !*path)
            return;
        std::ofstream out(writer_note(path), std::ios::trunc);
        out << ::getpid() << '\n'
            << own_command() << '\n'
            << fmt::format("{:%H:%M:%S} UTC", fmt::gmtime(std::time(nullptr))) << '\n';
    } catch (...) {
        // Only a courtesy to other writers.
    }
}

void SqliteDb::clear_writer_note() const noexcept {
    try {
        const char *path = sqlite3_db_filename(m_db, "main");
        if (!path || !*path)
            return;
        const auto note = writer_note(path);
        std::ifstream in(note);
        long pid = 0;
        if (in >> pid && pid == static_cast<long>(::getpid())) {
            in.close();
            std::error_code ec;
            std::filesystem::remove(note, ec);
        }
    } catch (...) {
        // Only a courtesy to other writers.
    }
}

void SqliteDb::exec(std::string_view sql) const {
    char *err = nullptr;
    std::string s(sql);
    const auto started = Clock::now();
    if (sqlite3_exec(m_db, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        if (busy(m_db)) {
            sqlite3_free(err);
            fail(m_db, s, started);
        }
        std::string msg = err ? err : sqlite3_errmsg(m_db);
        sqlite3_free(err);
        throw DatabaseError(fmt::format("{} (in: {})", msg, s.substr(0, 200)));
    }
}

SqliteStmt::SqliteStmt(sqlite3 *db, std::string_view sql) : m_db(db) {
    const auto started = Clock::now();
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &m_stmt, nullptr) !=
        SQLITE_OK)
        fail(db, fmt::format(fmt::runtime(_("cannot prepare '{}'")), sql.substr(0, 200)), started);
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
    const auto started = Clock::now();
    int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    fail(m_db, fmt::format("'{}'", std::string(sqlite3_sql(m_stmt)).substr(0, 200)), started);
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
