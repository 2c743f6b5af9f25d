#include "testing/postgres.hpp"

#include "testing/testing.hpp"

#include "qiancun/location.hpp"
#include "qiancun/registry.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <vector>

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

bool registries_on_postgis() {
    const char *store = std::getenv("QIANCUN_TEST_STORE");
    return store && std::string_view(store) == "postgis";
}

std::string test_registry(const std::filesystem::path &dir, const std::string &file_name) {
    if (!registries_on_postgis())
        return (dir / file_name).string();
    pg_server(); // constructed before `schemas`, so destroyed after the schemas are dropped
    static std::vector<std::unique_ptr<TempSchema>> schemas;
    const auto *test = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string hint =
        (test ? std::string(test->name()) : std::string("registry")).substr(0, 30) + "_" +
        std::filesystem::path(file_name).stem().string();
    schemas.push_back(std::make_unique<TempSchema>(hint));
    return schemas.back()->uri();
}

namespace {

bool is_uri(const std::string &registry) {
    return registry.rfind("postgresql://", 0) == 0;
}

/// The schema a registry URI names.
std::string schema_of(const std::string &registry) {
    const auto at = registry.find("?schema=");
    if (at == std::string::npos)
        throw std::runtime_error("no ?schema= in " + registry);
    return registry.substr(at + 8);
}

} // namespace

std::string registry_sql(const std::string &registry, const std::string &sql) {
    if (!is_uri(registry)) {
        const auto r = run_command({"/usr/bin/sqlite3", registry, sql});
        if (r.exit_code != 0)
            throw std::runtime_error("sqlite3: " + r.err);
        return r.out;
    }
    const auto r =
        psql(fmt::format("SET search_path TO \"{}\", public; {}", schema_of(registry), sql));
    if (r.exit_code != 0)
        throw std::runtime_error("psql: " + r.err);
    return r.out;
}

void remove_registry(const std::string &registry) {
    if (!is_uri(registry)) {
        std::filesystem::remove(registry);
        return;
    }
    const auto r = psql(fmt::format("DROP SCHEMA IF EXISTS \"{}\" CASCADE", schema_of(registry)));
    if (r.exit_code != 0)
        throw std::runtime_error("psql: " + r.err);
}

std::string registry_fingerprint(const std::string &registry) {
    if (!is_uri(registry))
        return read_file(registry);
    return Registry::open(Location::parse(registry), true).content_checksum();
}

void FileAndPostgisTest::SetUp() {
    if (GetParam() == "postgis") {
        schema.emplace(m_schema_hint);
        reg = schema->uri();
    } else {
        reg = (dir / "county.sqlite").string();
    }
}

CommandResult FileAndPostgisTest::ok(const std::vector<std::string> &args) {
    auto r = run_qiancun(args);
    EXPECT_EQ(r.exit_code, 0) << fmt::format("{}", fmt::join(args, " ")) << "\n" << r.err;
    return r;
}

namespace {

/// The two months as of `first` and `second` in a SpatiaLite file, loaded once per build of
/// qiancun: a directory under the build tree (QIANCUN_TEST_CACHE_DIR) named by what makes it —
/// the dates, the qiancun binary's size and time, the sample manifest's and the deriving
/// script's times — holding county.sqlite and next-month/. Every test program of the suites
/// runs as its own process, so loading the county per process took most of their time (six
/// times longer under ASan). The first process to need it loads it under a lock; the others
/// wait for the lock and find it made.
std::filesystem::path cached_sample_months(const std::string &first, const std::string &second) {
    namespace fs = std::filesystem;
    const auto stamp = [](const fs::path &p) {
        const auto t = fs::last_write_time(p).time_since_epoch().count();
        return fmt::format("{}-{}", fs::file_size(p), t);
    };
    const fs::path cache = QIANCUN_TEST_CACHE_DIR;
    fs::create_directories(cache);
    const auto key =
        std::hash<std::string>{}(fmt::format("{} {} {} {} {}", first, second, stamp(QIANCUN_BINARY),
                                             stamp(sample_maps_dir() / "county.toml"),
                                             stamp(source_dir() / "tools/derive_next_month.sh")));
    const fs::path made = cache / fmt::format("sample-months-{:016x}", key);
    const int lock = ::open((made.string() + ".lock").c_str(), O_CREAT | O_RDWR, 0600);
    if (lock < 0 || ::flock(lock, LOCK_EX) != 0)
        throw std::runtime_error("cannot lock " + made.string() + ".lock");
    struct Unlock {
        int fd;
        ~Unlock() { ::close(fd); } // closing releases the lock
    } unlock{lock};
    if (!fs::exists(made / "done")) {
        fs::remove_all(made);
        fs::create_directories(made);
        const auto r = load_sample_months((made / "county.sqlite").string(), made, first, second);
        if (r.exit_code != 0)
            throw std::runtime_error("loading the sample months failed: " + r.err);
        std::ofstream(made / "done") << "loaded\n";
    }
    return made;
}

} // namespace

void SampleMonthsSuite::load(const std::string &first, const std::string &second,
                             bool follow_store) {
    dir = new TempDir();
    if (follow_store && registries_on_postgis()) {
        reg = test_registry(dir->path(), "county.sqlite");
        const auto r = load_sample_months(reg, dir->path(), first, second);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        return;
    }
    // A copy of the file loaded once per build; its sources stay in the cache, where the
    // registry's import log says they were read.
    const auto made = cached_sample_months(first, second);
    std::filesystem::copy(made / "county.sqlite", *dir / "county.sqlite");
    std::filesystem::copy(made / "next-month", *dir / "next-month",
                          std::filesystem::copy_options::recursive);
    reg = (*dir / "county.sqlite").string();
}

void SampleMonthsSuite::TearDownTestSuite() {
    delete dir;
    dir = nullptr;
}

} // namespace qiancun::testing
