#include "robustness.hpp"
#include "testing/postgres.hpp"

#include "qiancun/location.hpp"
#include "qiancun/registry.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

/// Departments at work on one PostgreSQL registry (SPEC §9): two importing processes at once
/// while three readers run `list` and `metrics` in a loop. Different kinds both commit; the
/// same kind waits for the lock or fails naming it; a reader never sees half an import.

namespace qiancun {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::TempSchema;
namespace fs = std::filesystem;

constexpr int kRows = 200;  ///< rows of each import
constexpr int kImports = 6; ///< imports per writer, alternating two versions of the rows

/// The sample county in a file, loaded once; each test copies it into its own schema.
class PostgisConcurrency : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        s_dir = new TempDir;
        const auto reg = (*s_dir / "county.sqlite").string();
        ASSERT_EQ(testing::run_qiancun({"init", reg, "--crs", "EPSG:4549"}).exit_code, 0);
        const auto r = testing::run_qiancun(
            {"load", reg, (testing::sample_maps_dir() / "county.toml").string()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        // Two versions of each department's list: every row says the status of its version.
        for (const char *status : {"building", "operating"}) {
            std::string plants = "id,status,x,y\n", stations = "id,status,level,x,y\n";
            for (int i = 0; i < kRows; ++i) {
                plants += fmt::format("CONC{},{},{},{}\n", i, status, 580000 + 10 * i, 3326000);
                stations +=
                    fmt::format("POST{},{},village,{},{}\n", i, status, 585000 + 10 * i, 3318000);
            }
            testing::write_file(*s_dir / fmt::format("plants_{}.csv", status), plants);
            testing::write_file(*s_dir / fmt::format("stations_{}.csv", status), stations);
        }
    }
    static void TearDownTestSuite() {
        delete s_dir;
        s_dir = nullptr;
    }
    void SetUp() override {
        const auto r = testing::run_qiancun({"copy", (*s_dir / "county.sqlite").string(), uri});
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    /// qiancun's argv (binary first) importing one version of a department's list.
    std::vector<std::string> import_args(const char *list, const char *kind,
                                         const char *status) const {
        return {QIANCUN_BINARY,
                "import",
                uri,
                (*s_dir / fmt::format("{}_{}.csv", list, status)).string(),
                "--as",
                kind,
                "--src-crs",
                "EPSG:4549",
                "--update"};
    }

    static TempDir *s_dir;
    TempDir dir;
    TempSchema schema{::testing::UnitTest::GetInstance()->current_test_info()->name()};
    std::string uri = schema.uri();
};

TempDir *PostgisConcurrency::s_dir = nullptr;

/// Rows of a `list --format csv` whose id starts with `prefix`, by the version they show.
std::pair<int, int> versions(const std::string &csv, const std::string &prefix) {
    int building = 0, operating = 0;
    for (const auto &line : testing::split_lines(csv))
        if (line.rfind(prefix, 0) == 0) {
            building += line.find(",building,") != std::string::npos;
            operating += line.find(",operating,") != std::string::npos;
        }
    return {building, operating};
}

/// The sum of a column of `metrics --format csv` over the villages.
std::int64_t column_sum(const std::string &csv, const std::string &column) {
    const auto lines = testing::split_lines(csv);
    std::int64_t sum = 0;
    for (std::size_t row = 0; row + 1 < lines.size(); ++row) {
        const auto cell = testing::csv_cell(csv, column, row + 1);
        sum += cell.empty() ? 0 : std::stoll(cell);
    }
    return sum;
}

TEST_F(PostgisConcurrency, TwoDepartmentsImportAtOnceWhileThreeReadersSeeOnlyWholeImports) {
    const auto metrics_args =
        std::vector<std::string>{"metrics", uri, "--no-store", "--format", "csv"};
    const auto before = testing::run_qiancun(metrics_args);
    ASSERT_EQ(before.exit_code, 0) << before.err;
    const auto plants_before = column_sum(before.out, "n_sewage_plant");
    const auto stations_before = column_sum(before.out, "n_courier_station");

    std::atomic<bool> writing{true};
    std::mutex m;
    int reads = 0;
    std::vector<std::string> problems;
    std::set<std::int64_t> plant_sums, station_sums;
    auto problem = [&](std::string text) {
        std::lock_guard lock(m);
        if (problems.size() < 10)
            problems.push_back(std::move(text));
    };

    // Two departments, each importing its list kImports times, alternating the versions
    // (building first, operating last), two processes at once.
    std::vector<int> codes;
    std::thread writers([&] {
        for (int i = 0; i < kImports; ++i) {
            const char *status = i % 2 ? "operating" : "building";
            const pid_t water =
                testing::spawn(import_args("plants", "sewage_plant", status), dir / "water.log");
            const pid_t post = testing::spawn(import_args("stations", "courier_station", status),
                                              dir / "post.log");
            const int a = testing::wait_for(water);
            const int b = testing::wait_for(post);
            if (a != 0)
                problem("water: " + testing::read_file(dir / "water.log"));
            if (b != 0)
                problem("post: " + testing::read_file(dir / "post.log"));
            std::lock_guard lock(m);
            codes.push_back(a);
            codes.push_back(b);
        }
        writing = false;
    });
    auto lister = [&](const char *kind, const std::string &prefix) {
        return [&, kind, prefix] {
            while (writing) {
                const auto r = testing::run_qiancun({"list", uri, kind, "--format", "csv"});
                const auto [building, operating] = versions(r.out, prefix);
                {
                    std::lock_guard lock(m);
                    ++reads;
                }
                if (r.exit_code != 0)
                    problem(fmt::format("list {}: {}", kind, r.err));
                // One committed state: none of the rows yet, or all of one version.
                else if (!((building == 0 && operating == 0) || building == kRows ||
                           operating == kRows))
                    problem(fmt::format("list {} saw {} building and {} operating rows", kind,
                                        building, operating));
            }
        };
    };
    auto metrics = [&] {
        while (writing) {
            const auto r = testing::run_qiancun(metrics_args);
            std::lock_guard lock(m);
            ++reads;
            if (r.exit_code != 0) {
                if (problems.size() < 10)
                    problems.push_back("metrics: " + r.err);
                continue;
            }
            plant_sums.insert(column_sum(r.out, "n_sewage_plant"));
            station_sums.insert(column_sum(r.out, "n_courier_station"));
        }
    };
    std::thread reader1(lister("sewage_plant", "CONC"));
    std::thread reader2(lister("courier_station", "POST"));
    std::thread reader3(metrics);
    writers.join();
    reader1.join();
    reader2.join();
    reader3.join();

    for (const auto &p : problems)
        ADD_FAILURE() << p;
    EXPECT_EQ(codes, std::vector<int>(2 * kImports, 0));
    EXPECT_GE(reads, 3);
    // The last versions are operating: each metrics run counted the serving rows of none or
    // all of an import, never part of one.
    const auto after = testing::run_qiancun(metrics_args);
    ASSERT_EQ(after.exit_code, 0) << after.err;
    const auto plants_after = column_sum(after.out, "n_sewage_plant");
    const auto stations_after = column_sum(after.out, "n_courier_station");
    EXPECT_GT(plants_after, plants_before);
    EXPECT_GT(stations_after, stations_before);
    for (const auto s : plant_sums)
        EXPECT_TRUE(s == plants_before || s == plants_after) << s;
    for (const auto s : station_sums)
        EXPECT_TRUE(s == stations_before || s == stations_after) << s;
    // Nothing lost or doubled: the copies of the sample county plus each list once.
    auto reg = Registry::open(Location::parse(uri), true);
    const auto counts = testing::sample_counts();
    EXPECT_EQ(reg.count("sewage_plant"), counts.at("sewage_plant") + kRows);
    EXPECT_EQ(reg.count("courier_station"), counts.at("courier_station") + kRows);
    std::cout << fmt::format("{} imports while {} reads ran; metrics saw plant sums {} and "
                             "station sums {}\n",
                             codes.size(), reads, plant_sums.size(), station_sums.size());
}

TEST_F(PostgisConcurrency, TheSameKindAtOnceWaitsOrFailsNamingTheLock) {
    // Two imports of the same kind at once: the second waits for the first; both commit.
    const pid_t a =
        testing::spawn(import_args("plants", "sewage_plant", "building"), dir / "a.log");
    const pid_t b =
        testing::spawn(import_args("plants", "sewage_plant", "operating"), dir / "b.log");
    EXPECT_EQ(testing::wait_for(a), 0) << testing::read_file(dir / "a.log");
    EXPECT_EQ(testing::wait_for(b), 0) << testing::read_file(dir / "b.log");
    const auto counts = testing::sample_counts();
    EXPECT_EQ(Registry::open(Location::parse(uri), true).count("sewage_plant"),
              counts.at("sewage_plant") + kRows);

    // Another session holding the kind's write lock past the timeout: the import gives up,
    // naming the registry, the kind and the time it waited, and changes nothing.
    const auto fingerprint = testing::registry_fingerprint(uri);
    const auto &server = testing::pg_server();
    const pid_t holder = testing::spawn(
        {"/usr/bin/psql", "-X", "-q", "-h", server.get("PGHOST"), "-p", server.get("PGPORT"), "-U",
         server.get("PGUSER"), "-d", server.get("PGDATABASE"), "-c",
         fmt::format("BEGIN; LOCK TABLE \"{}\".sewage_plant IN SHARE ROW EXCLUSIVE MODE; "
                     "SELECT pg_sleep(8); COMMIT;",
                     schema.name())},
        dir / "holder.log");
    // Until the holder has the lock, a write goes through: wait for it in pg_locks.
    for (int i = 0; i < 100; ++i) {
        const auto held = testing::psql(fmt::format(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN "
            "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{}' AND c.relname = "
            "'sewage_plant' AND l.mode = 'ShareRowExclusiveLock' AND l.granted",
            schema.name()));
        if (held.out == "1\n")
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::setenv("QIANCUN_BUSY_TIMEOUT_MS", "1000", 1);
    const auto started = std::chrono::steady_clock::now();
    auto args = import_args("plants", "sewage_plant", "building");
    args.erase(args.begin());
    const auto r = testing::run_qiancun(args);
    const double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    ::unsetenv("QIANCUN_BUSY_TIMEOUT_MS");
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_THAT(r.err, HasSubstr(fmt::format("the registry {} is busy: another session is "
                                             "writing sewage_plant; gave up after waiting 1.0 s, "
                                             "nothing was changed",
                                             uri)));
    EXPECT_GE(wall_s, 1.0);
    EXPECT_EQ(testing::wait_for(holder), 0) << testing::read_file(dir / "holder.log");
    EXPECT_EQ(testing::registry_fingerprint(uri), fingerprint);
}

} // namespace
} // namespace qiancun
