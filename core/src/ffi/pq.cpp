#include "ffi/pq.hpp"

#include "qiancun/log.hpp"

#include <fmt/format.h>

#include <charconv>
#include <system_error>
#include <utility>

#include "qiancun/i18n.hpp"

namespace qiancun::ffi {

namespace {

std::string trimmed(const char *message) {
    std::string s = message ? message : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

void forward_notice(void * /*arg*/, const char *message) {
    log(LogLevel::debug, trimmed(message));
}

/// The server's message of a failed result with its detail and hint when it has them.
std::string server_message(const PGresult *result, const PGconn *conn) {
    if (!result)
        return trimmed(PQerrorMessage(conn));
    std::string message = trimmed(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
    if (message.empty())
        message = trimmed(PQresultErrorMessage(result));
    if (message.empty())
        message = trimmed(PQerrorMessage(conn));
    if (const char *detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL))
        message += fmt::format(" ({})", trimmed(detail));
    if (const char *hint = PQresultErrorField(result, PG_DIAG_MESSAGE_HINT))
        message += fmt::format(" (hint: {})", trimmed(hint));
    return message;
}

} // namespace

PgError::PgError(const std::string &purpose, std::string server_message, std::string sqlstate)
    : DatabaseError(fmt::format("{}: {}", purpose, server_message)),
      m_server_message(std::move(server_message)), m_sqlstate(std::move(sqlstate)) {}

void PgParams::add(std::optional<std::string> value, int format) {
    m_lengths.push_back(value ? static_cast<int>(value->size()) : 0);
    m_formats.push_back(format);
    m_storage.push_back(std::move(value));
}

PgParams &PgParams::text(std::string_view s) {
    add(std::string(s), 0);
    return *this;
}

PgParams &PgParams::integer(std::int64_t v) {
    add(std::to_string(v), 0);
    return *this;
}

PgParams &PgParams::real(double v) {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    add(ec == std::errc() ? std::string(buf, end) : fmt::format("{}", v), 0);
    return *this;
}

PgParams &PgParams::boolean(bool v) {
    add(std::string(v ? "true" : "false"), 0);
    return *this;
}

PgParams &PgParams::bytes(std::string_view b) {
    add(std::string(b), 1);
    return *this;
}

PgParams &PgParams::null() {
    add(std::nullopt, 0);
    return *this;
}

PgParams &PgParams::optional_text(const std::optional<std::string> &s) {
    return s ? text(*s) : null();
}

const std::vector<const char *> &PgParams::values() const {
    m_values.clear();
    for (const auto &v : m_storage)
        m_values.push_back(v ? v->data() : nullptr);
    return m_values;
}

PgResult::PgResult(PgResult &&other) noexcept : m_result(std::exchange(other.m_result, nullptr)) {}

PgResult &PgResult::operator=(PgResult &&other) noexcept {
    if (this != &other) {
        if (m_result)
            PQclear(m_result);
        m_result = std::exchange(other.m_result, nullptr);
    }
    return *this;
}

PgResult::~PgResult() {
    if (m_result)
        PQclear(m_result);
}

int PgResult::rows() const noexcept {
    return m_result ? PQntuples(m_result) : 0;
}

int PgResult::columns() const noexcept {
    return m_result ? PQnfields(m_result) : 0;
}

std::string PgResult::column_name(int column) const {
    const char *name = PQfname(m_result, column);
    return name ? name : "";
}

Oid PgResult::type(int column) const noexcept {
    return PQftype(m_result, column);
}

int PgResult::column(std::string_view name) const {
    for (int c = 0; c < columns(); ++c)
        if (column_name(c) == name)
            return c;
    throw DatabaseError(fmt::format(fmt::runtime(_("the result has no column {}")), name));
}

bool PgResult::is_null(int row, int column) const noexcept {
    return PQgetisnull(m_result, row, column) != 0;
}

std::string_view PgResult::text(int row, int column) const noexcept {
    return {PQgetvalue(m_result, row, column),
            static_cast<std::size_t>(PQgetlength(m_result, row, column))};
}

std::int64_t PgResult::integer(int row, int column) const {
    const auto s = text(row, column);
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size())
        throw DatabaseError(fmt::format(fmt::runtime(_("column {} holds '{}', not an integer")),
                                        column_name(column), s));
    return v;
}

double PgResult::real(int row, int column) const {
    const auto s = text(row, column);
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size())
        throw DatabaseError(
            fmt::format("column {} holds '{}', not a number", column_name(column), s));
    return v;
}

bool PgResult::boolean(int row, int column) const noexcept {
    const auto s = text(row, column);
    return !s.empty() && s.front() == 't';
}

std::string PgResult::bytes(int row, int column) const {
    std::size_t length = 0;
    unsigned char *raw = PQunescapeBytea(
        reinterpret_cast<const unsigned char *>(PQgetvalue(m_result, row, column)), &length);
    if (!raw)
        throw DatabaseError(
            fmt::format(fmt::runtime(_("column {} is not bytea")), column_name(column)));
    std::string out(reinterpret_cast<const char *>(raw), length);
    PQfreemem(raw);
    return out;
}

std::int64_t PgResult::affected() const noexcept {
    const char *n = m_result ? PQcmdTuples(m_result) : nullptr;
    std::int64_t v = 0;
    if (n && *n)
        std::from_chars(n, n + std::char_traits<char>::length(n), v);
    return v;
}

PgConn::PgConn(const std::string &conninfo, const std::string &display) : m_display(display) {
    const char *keys[] = {"dbname", "application_name", "client_encoding", nullptr};
    const char *values[] = {conninfo.c_str(), "qiancun", "UTF8", nullptr};
    // expand_dbname = 1: `dbname` may be a whole URI or keyword/value string.
    m_conn = PQconnectdbParams(keys, values, 1);
    if (!m_conn)
        throw DatabaseError(
            fmt::format(fmt::runtime(_("cannot connect to {}: out of memory")), display));
    if (PQstatus(m_conn) != CONNECTION_OK) {
        std::string message = trimmed(PQerrorMessage(m_conn));
        close();
        throw DatabaseError(
            fmt::format(fmt::runtime(_("cannot connect to {}: {}")), display, message));
    }
    PQsetNoticeProcessor(m_conn, forward_notice, nullptr);
}

PgConn::PgConn(PgConn &&other) noexcept
    : m_conn(std::exchange(other.m_conn, nullptr)), m_display(std::move(other.m_display)) {}

PgConn &PgConn::operator=(PgConn &&other) noexcept {
    if (this != &other) {
        close();
        m_conn = std::exchange(other.m_conn, nullptr);
        m_display = std::move(other.m_display);
    }
    return *this;
}

PgConn::~PgConn() {
    close();
}

void PgConn::close() noexcept {
    if (m_conn)
        PQfinish(m_conn);
    m_conn = nullptr;
}

PgResult PgConn::exec(std::string_view purpose, const std::string &sql,
                      const PgParams &params) const {
    if (!m_conn)
        throw DatabaseError(fmt::format(fmt::runtime(_("{}: not connected")), purpose));
    PgResult result(PQexecParams(m_conn, sql.c_str(), params.size(), nullptr,
                                 params.size() ? params.values().data() : nullptr,
                                 params.size() ? params.lengths().data() : nullptr,
                                 params.size() ? params.formats().data() : nullptr, 0));
    const auto status = result.get() ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return result;
    const char *state = result.get() ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
    throw PgError(std::string(purpose), server_message(result.get(), m_conn), state ? state : "");
}

std::string PgConn::quote_identifier(std::string_view name) const {
    char *quoted = PQescapeIdentifier(m_conn, name.data(), name.size());
    if (!quoted)
        throw DatabaseError(fmt::format(fmt::runtime(_("cannot quote the name '{}': {}")), name,
                                        trimmed(PQerrorMessage(m_conn))));
    std::string out(quoted);
    PQfreemem(quoted);
    return out;
}

std::string PgConn::quote_literal(std::string_view value) const {
    char *quoted = PQescapeLiteral(m_conn, value.data(), value.size());
    if (!quoted)
        throw DatabaseError(fmt::format(fmt::runtime(_("cannot quote a value: {}")),
                                        trimmed(PQerrorMessage(m_conn))));
    std::string out(quoted);
    PQfreemem(quoted);
    return out;
}

bool PgConn::in_transaction() const noexcept {
    const auto status = m_conn ? PQtransactionStatus(m_conn) : PQTRANS_UNKNOWN;
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

std::string PgConn::user() const {
    const char *u = m_conn ? PQuser(m_conn) : nullptr;
    return u ? u : "";
}

PgTransaction::PgTransaction(const PgConn &conn) : m_conn(&conn) {
    conn.exec("starting a transaction", "BEGIN");
}

PgTransaction::~PgTransaction() {
    if (m_done)
        return;
    try {
        m_conn->exec("rolling back", "ROLLBACK");
    } catch (...) {
        // The connection is gone; the server rolls back on its own.
    }
}

void PgTransaction::commit() {
    m_conn->exec("committing", "COMMIT");
    m_done = true;
}

} // namespace qiancun::ffi
