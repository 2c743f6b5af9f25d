#pragma once

#include "qiancun/asset_types.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

/// Move-only RAII wrappers over the SQLite C API with SpatiaLite loaded.

namespace qiancun::ffi {

/// One connection; SpatiaLite is initialised on it (spatialite_init_ex).
class SqliteDb {
public:
    /// Opens `path`; `create` allows creating a new file. Throws DatabaseError.
    SqliteDb(const std::filesystem::path &path, bool create, bool read_only);
    SqliteDb(SqliteDb &&other) noexcept;
    SqliteDb &operator=(SqliteDb &&other) noexcept;
    SqliteDb(const SqliteDb &) = delete;
    SqliteDb &operator=(const SqliteDb &) = delete;
    ~SqliteDb();

    sqlite3 *get() const noexcept { return m_db; }
    /// Runs one or more statements without results; throws DatabaseError naming `sql`.
    void exec(std::string_view sql) const;

    /// Leaves `<database>.writer` beside the file, naming this process (pid, command line,
    /// time) while it holds the write lock, so that a writer kept waiting can say who holds it.
    /// Best effort: a directory that cannot be written is no error.
    void note_writer() const noexcept;
    /// Removes the note of `note_writer` if this process left it.
    void clear_writer_note() const noexcept;

private:
    void close() noexcept;
    sqlite3 *m_db = nullptr;
    void *m_spatialite_cache = nullptr;
};

/// A prepared statement with typed binding and reading.
class SqliteStmt {
public:
    SqliteStmt(sqlite3 *db, std::string_view sql);
    SqliteStmt(SqliteStmt &&other) noexcept;
    SqliteStmt &operator=(SqliteStmt &&other) noexcept;
    SqliteStmt(const SqliteStmt &) = delete;
    SqliteStmt &operator=(const SqliteStmt &) = delete;
    ~SqliteStmt();

    /// Parameters are 1-based.
    SqliteStmt &bind(int index, const Value &v);
    SqliteStmt &bind_text(int index, std::string_view s);
    SqliteStmt &bind_int(int index, std::int64_t v);
    SqliteStmt &bind_double(int index, double v);
    SqliteStmt &bind_blob(int index, std::string_view bytes);
    SqliteStmt &bind_null(int index);

    /// Steps once; true while a row is available. Throws DatabaseError on failure.
    bool step();
    /// Runs to completion, for statements without results.
    void run();
    void reset();

    int columns() const noexcept;
    std::string column_name(int i) const;
    bool is_null(int i) const noexcept;
    std::int64_t get_int(int i) const noexcept;
    double get_double(int i) const noexcept;
    std::string get_text(int i) const;
    std::string get_blob(int i) const;
    /// The column as a Value by its storage class.
    Value get_value(int i) const;

    sqlite3_stmt *get() const noexcept { return m_stmt; }

private:
    sqlite3_stmt *m_stmt = nullptr;
    sqlite3 *m_db = nullptr;
};

/// Quotes an identifier for SQL ("name" with inner quotes doubled).
std::string quote_identifier(std::string_view name);

} // namespace qiancun::ffi
