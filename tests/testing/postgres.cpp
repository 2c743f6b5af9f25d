#include "testing/postgres.hpp"

#include "testing/testing.hpp"

#include <fmt/core.h>

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <fstream>
#include <stdexcept>

namespace qiancun::testing {

const std::string &PgServer::get(const std::string &name) const {
    const auto it = env.find(name);
    if (it == env.end())
        throw std::runtime_error("the test server's environment has no " + name);
    return it->second;
}

const PgServer &pg_server() {
    static const PgServer server = [] {
        const std::string path = std::string(QIANCUN_PG_STATE_DIR) + "/env";
        std::ifstream in(path);
        if (!in)
            throw std::runtime_error(
                "no test PostgreSQL server (" + path +
                " is missing): run the tests with ctest, whose fixture `postgres` starts it, or "
                "tests/testing/pg_server.sh start " QIANCUN_PG_STATE_DIR);
        PgServer s;
        std::string line;
        while (std::getline(in, line))
            if (const auto eq = line.find('='); eq != std::string::npos)
                s.env[line.substr(0, eq)] = line.substr(eq + 1);
        s.uri = s.get("QIANCUN_PG_URI");
        return s;
    }();
    return server;
}

namespace {

std::atomic<int> g_schema_serial{0};

} // namespace

TempSchema::TempSchema(const std::string &hint) {
    std::string clean;
    for (const char c : hint)
        if (std::isalnum(static_cast<unsigned char>(c)))
            clean += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    clean = clean.substr(0, 40);
    m_name = fmt::format("t_{}_{}_{}", clean, ::getpid(), g_schema_serial++);
}

TempSchema::~TempSchema() {
    try {
        psql(fmt::format("DROP SCHEMA IF EXISTS \"{}\" CASCADE", m_name));
    } catch (...) {
        // The server is stopped with the whole run.
    }
}

std::string TempSchema::uri() const {
    return pg_server().uri + "?schema=" + m_name;
}

PsqlResult psql(const std::string &sql, const std::string &role) {
    const auto &server = pg_server();
    const auto r = run_command({"/usr/bin/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                "-h", server.get("PGHOST"), "-p", server.get("PGPORT"), "-U",
                                role.empty() ? server.get("PGUSER") : role, "-d",
                                server.get("PGDATABASE"), "-c", sql},
                               std::nullopt, {{"PGOPTIONS", "-c client_min_messages=warning"}});
    return {r.exit_code, r.out, r.err};
}

} // namespace qiancun::testing
