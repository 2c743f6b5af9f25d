#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

/// Where a registry lives: a SpatiaLite file, or a schema of a PostgreSQL/PostGIS database
/// named by `postgresql://USER@HOST:PORT/DB?schema=NAME` (SPEC §9).

namespace qiancun {

class Location {
public:
    enum class Type { file, postgresql };

    /// Parses what a user typed: a `postgresql://` (or `postgres://`) URI, else a file path.
    /// In a URI, USER, HOST and PORT are optional (libpq's defaults: the login name, the local
    /// socket, 5432), DB and `schema` are required; `%XX` escapes are decoded. Throws
    /// UsageError for a URI that carries a password (use PGPASSWORD or ~/.pgpass), lacks the
    /// database or schema, has a port that is not 1–65535, a schema that is not a plain
    /// identifier (letters, digits, `_`, not starting with a digit, at most 63 bytes) or a
    /// parameter other than `schema`; and for an empty text.
    static Location parse(std::string_view text);
    /// A SpatiaLite file.
    static Location file(std::filesystem::path path);

    /// A SpatiaLite file (so that paths keep working where a Location is expected).
    Location(const std::filesystem::path &path); // NOLINT(google-explicit-constructor)
    /// parse(text): what a user typed, a file path or a `postgresql://` URI.
    Location(const std::string &text); // NOLINT(google-explicit-constructor)
    Location(const char *text);        // NOLINT(google-explicit-constructor)

    Type type() const noexcept { return m_type; }
    bool is_file() const noexcept { return m_type == Type::file; }
    bool is_postgresql() const noexcept { return m_type == Type::postgresql; }

    /// The file of a SpatiaLite registry; empty for PostgreSQL.
    const std::filesystem::path &path() const noexcept { return m_path; }
    /// PostgreSQL parts; empty (port: nothing) where the URI leaves them to libpq.
    const std::string &user() const noexcept { return m_user; }
    const std::string &host() const noexcept { return m_host; }
    std::optional<int> port() const noexcept { return m_port; }
    const std::string &database() const noexcept { return m_database; }
    const std::string &schema() const noexcept { return m_schema; }

    /// For messages: the file path, or the URI without a password (never has one).
    std::string display() const;
    /// libpq connection string (`dbname='…' host='…' port='…' user='…'`, values quoted), for a
    /// PostgreSQL location; empty for a file.
    std::string conninfo() const;

private:
    Location() = default;
    Type m_type = Type::file;
    std::filesystem::path m_path;
    std::string m_user;
    std::string m_host;
    std::optional<int> m_port;
    std::string m_database;
    std::string m_schema;
};

} // namespace qiancun
