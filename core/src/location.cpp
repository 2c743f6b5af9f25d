#include "qiancun/location.hpp"

#include "qiancun/error.hpp"

#include <fmt/format.h>

#include <charconv>

#include "qiancun/i18n.hpp"

namespace qiancun {

namespace {

constexpr std::string_view kUsage = "postgresql://USER@HOST:PORT/DB?schema=NAME";

bool starts_with_ci(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size())
        return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i])
            return false;
    }
    return true;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/// Decodes %XX escapes of one URI part.
std::string decode(std::string_view part, std::string_view uri, std::string_view what) {
    std::string out;
    for (std::size_t i = 0; i < part.size(); ++i) {
        if (part[i] != '%') {
            out += part[i];
            continue;
        }
        const int hi = i + 2 < part.size() ? hex_digit(part[i + 1]) : -1;
        const int lo = i + 2 < part.size() ? hex_digit(part[i + 2]) : -1;
        if (hi < 0 || lo < 0)
            throw UsageError(
                fmt::format(fmt::runtime(_("{}: a bad %-escape in the {}")), uri, what));
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

bool plain_identifier(std::string_view s) {
    if (s.empty() || s.size() > 63 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    return true;
}

/// One conninfo value in single quotes, with `\` and `'` escaped (libpq's rules).
std::string conninfo_value(std::string_view v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\\' || c == '\'')
            out += '\\';
        out += c;
    }
    return out + "'";
}

} // namespace

Location::Location(const std::filesystem::path &path) : m_type(Type::file), m_path(path) {}

Location::Location(const std::string &text) : Location(parse(text)) {}

Location::Location(const char *text) : Location(parse(text)) {}

Location Location::file(std::filesystem::path path) {
    Location l;
    l.m_type = Type::file;
    l.m_path = std::move(path);
    return l;
}

Location Location::parse(std::string_view text) {
    if (text.empty())
        throw UsageError(
            fmt::format(fmt::runtime(_("an empty registry name: give a file or a {}")), kUsage));
    std::string_view rest;
    if (starts_with_ci(text, "postgresql://"))
        rest = text.substr(13);
    else if (starts_with_ci(text, "postgres://"))
        rest = text.substr(11);
    else
        return file(std::filesystem::path(std::string(text)));

    Location l;
    l.m_type = Type::postgresql;
    const std::string uri(text);
    const auto bad = [&](std::string_view problem) {
        return UsageError(fmt::format("{}: {}; write {}", uri, problem, kUsage));
    };

    std::string_view query;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash + 1 == rest.size())
        throw bad(_("no database"));
    const std::string_view authority = rest.substr(0, slash);
    const std::string_view database = rest.substr(slash + 1);
    if (database.find('/') != std::string_view::npos)
        throw bad(_("the database name has a '/'"));
    l.m_database = decode(database, uri, _("database"));

    std::string_view hostport = authority;
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = authority.substr(0, at);
        hostport = authority.substr(at + 1);
        if (userinfo.find(':') != std::string_view::npos)
            throw UsageError(fmt::format(
                fmt::runtime(_(
                    "{}{}:***@{}/{}: a password in the URI would show in the process list and the "
                    "shell history; remove it and set PGPASSWORD or put it in ~/.pgpass")),
                uri.substr(0, uri.find("://") + 3), userinfo.substr(0, userinfo.find(':')),
                hostport, database));
        l.m_user = decode(userinfo, uri, _("user name"));
    }
    std::string_view port;
    if (!hostport.empty() && hostport.front() == '[') {
        const auto close = hostport.find(']');
        if (close == std::string_view::npos)
            throw bad(_("an unclosed '[' in the host"));
        l.m_host = std::string(hostport.substr(1, close - 1));
        const auto after = hostport.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':')
                throw bad(_("text after the host"));
            port = after.substr(1);
        }
    } else if (const auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
        l.m_host = decode(hostport.substr(0, colon), uri, _("host"));
        port = hostport.substr(colon + 1);
    } else {
        l.m_host = decode(hostport, uri, _("host"));
    }
    if (!port.empty()) {
        int p = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc{} || end != port.data() + port.size() || p < 1 || p > 65535)
            throw bad(
                fmt::format(fmt::runtime(_("port '{}' is not a number from 1 to 65535")), port));
        l.m_port = p;
    }

    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view param = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (param.empty())
            continue;
        const auto eq = param.find('=');
        const std::string key = decode(param.substr(0, eq), uri, _("parameters"));
        const std::string value = eq == std::string_view::npos
                                      ? std::string()
                                      : decode(param.substr(eq + 1), uri, _("parameters"));
        if (key == "password")
            throw UsageError(
                fmt::format(fmt::runtime(_("{}: a password in the URI would show in the process "
                                           "list and the shell history; remove it and set "
                                           "PGPASSWORD or put it in ~/.pgpass")),
                            l.display()));
        if (key != "schema")
            throw bad(fmt::format(
                fmt::runtime(_("unknown parameter '{}' (the only one is schema)")), key));
        if (!plain_identifier(value))
            throw bad(fmt::format(
                fmt::runtime(_("schema '{}' is not a plain name (letters, digits and _, not "
                               "starting with a digit, at most 63 bytes)")),
                value));
        l.m_schema = value;
    }
    if (l.m_schema.empty())
        throw bad(_("no schema (?schema=NAME: the registry's schema in the database)"));
    return l;
}

std::string Location::display() const {
    if (m_type == Type::file)
        return m_path.string();
    std::string host = m_host.find(':') != std::string::npos ? "[" + m_host + "]" : m_host;
    return fmt::format("postgresql://{}{}{}{}/{}?schema={}", m_user, m_user.empty() ? "" : "@",
                       host, m_port ? fmt::format(":{}", *m_port) : std::string(), m_database,
                       m_schema);
}

std::string Location::conninfo() const {
    if (m_type == Type::file)
        return {};
    std::string out = "dbname=" + conninfo_value(m_database);
    if (!m_host.empty())
        out += " host=" + conninfo_value(m_host);
    if (m_port)
        out += fmt::format(" port={}", *m_port);
    if (!m_user.empty())
        out += " user=" + conninfo_value(m_user);
    return out;
}

} // namespace qiancun
