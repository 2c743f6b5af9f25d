#pragma once

#include "qiancun/error.hpp"

#include <libpq-fe.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// Move-only RAII wrappers over libpq. Every statement goes through PQexecParams with its
/// values as parameters; identifiers are quoted with PQescapeIdentifier. Nothing here ever
/// builds SQL from a value.

namespace qiancun::ffi {

/// A failure reported by PostgreSQL or libpq. `what()` names the statement's purpose and the
/// server's message; `sqlstate()` is the five-character SQLSTATE ("42501"), empty when the
/// failure did not come from the server (connection lost, out of memory).
class PgError : public DatabaseError {
public:
    /// what() is "<purpose>: <server message>".
    PgError(const std::string &purpose, std::string server_message, std::string sqlstate);
    const std::string &sqlstate() const noexcept { return m_sqlstate; }
    /// The server's message alone, without the purpose.
    const std::string &server_message() const noexcept { return m_server_message; }

private:
    std::string m_server_message;
    std::string m_sqlstate;
};

/// The parameters of one statement ($1, $2, … in the order added).
class PgParams {
public:
    PgParams &text(std::string_view s);
    PgParams &integer(std::int64_t v);
    /// Written with the shortest text that reads back as the same double.
    PgParams &real(double v);
    PgParams &boolean(bool v);
    /// Sent in binary format: for bytea parameters (WKB geometry).
    PgParams &bytes(std::string_view b);
    PgParams &null();
    /// Text or NULL.
    PgParams &optional_text(const std::optional<std::string> &s);

    int size() const noexcept { return static_cast<int>(m_storage.size()); }
    const std::vector<const char *> &values() const;
    const std::vector<int> &lengths() const noexcept { return m_lengths; }
    const std::vector<int> &formats() const noexcept { return m_formats; }

private:
    void add(std::optional<std::string> value, int format);
    std::vector<std::optional<std::string>> m_storage;
    std::vector<int> m_lengths;
    std::vector<int> m_formats;
    mutable std::vector<const char *> m_values;
};

/// The result of one statement, in text format. Rows and columns are 0-based.
class PgResult {
public:
    explicit PgResult(PGresult *result) noexcept : m_result(result) {}
    PgResult(PgResult &&other) noexcept;
    PgResult &operator=(PgResult &&other) noexcept;
    PgResult(const PgResult &) = delete;
    PgResult &operator=(const PgResult &) = delete;
    ~PgResult();

    int rows() const noexcept;
    int columns() const noexcept;
    std::string column_name(int column) const;
    /// The column's type OID (20 int8, 25 text, 701 float8, 16 bool, …).
    Oid type(int column) const noexcept;
    /// The column named `name`; throws DatabaseError when there is none.
    int column(std::string_view name) const;
    bool is_null(int row, int column) const noexcept;
    /// The value as the server wrote it; empty for NULL.
    std::string_view text(int row, int column) const noexcept;
    /// Throws DatabaseError when the value is not an integer.
    std::int64_t integer(int row, int column) const;
    /// Throws DatabaseError when the value is not a number.
    double real(int row, int column) const;
    /// PostgreSQL's 't'/'f'.
    bool boolean(int row, int column) const noexcept;
    /// A bytea value, unescaped.
    std::string bytes(int row, int column) const;
    /// Rows an INSERT/UPDATE/DELETE touched.
    std::int64_t affected() const noexcept;

    PGresult *get() const noexcept { return m_result; }

private:
    PGresult *m_result = nullptr;
};

/// One connection. Server notices go to the log sink (debug), never to stderr.
class PgConn {
public:
    /// Connects with `conninfo` (a libpq URI or keyword/value string; the password comes from
    /// PGPASSWORD or ~/.pgpass). `display` names the server in errors (no password).
    /// Throws DatabaseError.
    PgConn(const std::string &conninfo, const std::string &display);
    PgConn(PgConn &&other) noexcept;
    PgConn &operator=(PgConn &&other) noexcept;
    PgConn(const PgConn &) = delete;
    PgConn &operator=(const PgConn &) = delete;
    ~PgConn();

    /// Runs one statement; `purpose` says what it is for ("reading the villages") and heads
    /// the error message. Throws PgError.
    PgResult exec(std::string_view purpose, const std::string &sql,
                  const PgParams &params = {}) const;
    /// The identifier quoted for SQL ("Name" with inner quotes doubled).
    std::string quote_identifier(std::string_view name) const;
    /// A literal for DDL, which takes no parameters ('it''s' with libpq's escaping).
    std::string quote_literal(std::string_view value) const;
    /// True inside BEGIN … COMMIT/ROLLBACK (also when the transaction has failed).
    bool in_transaction() const noexcept;
    /// The role this connection is logged in as.
    std::string user() const;
    /// How the server was named at connection, for messages.
    const std::string &display() const noexcept { return m_display; }

    PGconn *get() const noexcept { return m_conn; }

private:
    void close() noexcept;
    PGconn *m_conn = nullptr;
    std::string m_display;
};

/// BEGIN on construction; ROLLBACK on destruction unless commit() was called.
class PgTransaction {
public:
    explicit PgTransaction(const PgConn &conn);
    PgTransaction(const PgTransaction &) = delete;
    PgTransaction &operator=(const PgTransaction &) = delete;
    PgTransaction(PgTransaction &&) = delete;
    PgTransaction &operator=(PgTransaction &&) = delete;
    ~PgTransaction();
    void commit();

private:
    const PgConn *m_conn;
    bool m_done = false;
};

} // namespace qiancun::ffi
