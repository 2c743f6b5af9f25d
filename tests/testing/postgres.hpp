#pragma once

#include "testing/testing.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>

/// The throwaway PostgreSQL + PostGIS server of the test run (tests/testing/pg_server.sh,
/// started by the ctest fixture `postgres`), and one schema per test on it.

namespace qiancun::testing {

/// What pg_server.sh wrote: PGHOST, PGPORT, PGUSER, PGDATABASE, QIANCUN_PG_URI, ….
struct PgServer {
    std::map<std::string, std::string> env;
    /// postgresql://postgres@127.0.0.1:PORT/qiancun_test (superuser, trust authentication).
    std::string uri;
    const std::string &get(const std::string &name) const;
};

/// The running server; throws, saying how to start it, when there is none.
const PgServer &pg_server();

/// A schema name unique to this process and call ("t_<test>_<pid>_<n>", lower case, at most 63
/// bytes); dropped with everything in it on destruction.
class TempSchema {
public:
    explicit TempSchema(const std::string &hint);
    TempSchema(const TempSchema &) = delete;
    TempSchema &operator=(const TempSchema &) = delete;
    ~TempSchema();
    const std::string &name() const noexcept { return m_name; }
    /// The server's URI with ?schema=<name>.
    std::string uri() const;

private:
    std::string m_name;
};

/// Runs `sql` with psql against the test database as `role` (the superuser when empty),
/// ON_ERROR_STOP; returns exit code, stdout (unaligned, tuples only) and stderr.
struct PsqlResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};
PsqlResult psql(const std::string &sql, const std::string &role = "");

/// True when the test run asks for its registries on the test server
/// (QIANCUN_TEST_STORE=postgis, set by ctest for the second run of the CLI suite).
bool registries_on_postgis();

/// Where a test keeps a registry it names `file_name`: `dir / file_name`, or, when
/// registries_on_postgis(), a fresh schema of the test server (`postgresql://…?schema=t_<test>_…`)
/// that nothing has created yet and that is dropped when the test process ends.
std::string test_registry(const std::filesystem::path &dir, const std::string &file_name);

/// Runs `sql` on a registry as a test looks into it: with the sqlite3 shell on a file, with
/// psql in the registry's schema on a URI (fields separated by '|' in both); throws on an
/// error. Its output.
std::string registry_sql(const std::string &registry, const std::string &sql);

/// Removes a registry: the file, or the schema with everything in it.
void remove_registry(const std::string &registry);

/// What a test compares to see that a command left a registry as it was: the file's bytes,
/// or Registry::content_checksum of a schema.
std::string registry_fingerprint(const std::string &registry);

/// A CLI test run on a SpatiaLite file (parameter "file") and on a fresh PostGIS schema
/// (parameter "postgis", named from `schema_hint`): `reg` names the registry, `dir` is the test's
/// working directory, `ok` runs qiancun and expects exit code 0.
class FileAndPostgisTest : public ::testing::TestWithParam<std::string> {
protected:
    explicit FileAndPostgisTest(std::string schema_hint) : m_schema_hint(std::move(schema_hint)) {}
    void SetUp() override;
    CommandResult ok(const std::vector<std::string> &args);

    TempDir dir;
    std::optional<TempSchema> schema;
    std::string reg;

private:
    std::string m_schema_hint;
};

/// A suite that reads the demo's two months (load_sample_months), loaded once for the suite:
/// its SetUpTestSuite calls load(), which fills `dir` and `reg`.
class SampleMonthsSuite : public ::testing::Test {
protected:
    /// The two months as of `first` and `second` in a new `dir`: on the test server when
    /// `follow_store` and registries_on_postgis() (test_registry), else in a file.
    static void load(const std::string &first, const std::string &second, bool follow_store);
    static void TearDownTestSuite();

    inline static TempDir *dir = nullptr;
    inline static std::string reg;
};

} // namespace qiancun::testing
