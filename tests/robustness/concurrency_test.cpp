#include "robustness.hpp"

#include "qiancun/registry.hpp"

#include <fmt/format.h>

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

/// Concurrent use: a writer importing while readers run `list` and `metrics`, and two writers
/// at once. No "database is locked" may reach a user, a reader sees one committed state, and
/// nothing is lost or corrupted.

namespace qiancun {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

constexpr int kPlants = 300;
constexpr int kWrites = 8;

/// The sample county loaded once for the suite.
class ConcurrencyTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        s_dir = new TempDir;
        const auto reg = *s_dir / "county.sqlite";
        ASSERT_EQ(testing::run_qiancun({"init", reg.string()}).exit_code, 0);
        const auto r = testing::run_qiancun(
            {"load", reg.string(), (testing::sample_maps_dir() / "county.toml").string()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        // Two versions of the same plants: every row says the status of its version.
        for (const char *status : {"building", "operating"}) {
            std::string text = "id,status,x,y\n";
            for (int i = 0; i < kPlants; ++i)
                text += fmt::format("CONC{},{},{},{}\n", i, status, 580000 + 10 * i, 3326000);
            testing::write_file(*s_dir / fmt::format("{}.csv", status), text);
        }
    }
    static void TearDownTestSuite() {
        delete s_dir;
        s_dir = nullptr;
    }
    void SetUp() override {
        reg = dir / "r.sqlite";
        fs::copy_file(*s_dir / "county.sqlite", reg);
    }
    /// The two lists update the same plants: each takes the ids over from the other.
    std::vector<std::string> import_args(const char *status) const {
        return {"import",    reg.string(),   (*s_dir / fmt::format("{}.csv", status)).string(),
                "--as",      "sewage_plant", "--src-crs",
                "EPSG:4549", "--update"};
    }

    static TempDir *s_dir;
    TempDir dir;
    fs::path reg;
};

TempDir *ConcurrencyTest::s_dir = nullptr;

bool mentions_lock(const std::string &err) {
    return err.find("locked") != std::string::npos || err.find("SQLITE_BUSY") != std::string::npos;
}

TEST_F(ConcurrencyTest, ReadersDuringImportsSeeOneCommittedStateAndNoLockErrors) {
    const std::int64_t plants_before = Registry::open(reg, true).count("sewage_plant");
    std::atomic<bool> writing{true};
    std::mutex m;
    int writes = 0, write_errors = 0, reads = 0, read_errors = 0, torn = 0;
    std::vector<std::string> problems;

    std::thread writer([&] {
        for (int i = 0; i < kWrites; ++i) {
            const auto r = testing::run_qiancun(import_args(i % 2 ? "operating" : "building"));
            std::lock_guard lock(m);
            ++writes;
            if (r.exit_code != 0) {
                ++write_errors;
                if (problems.size() < 10)
                    problems.push_back("writer: " + r.err);
            }
        }
        writing = false;
    });
    auto lister = [&] {
        while (writing) {
            const auto r =
                testing::run_qiancun({"list", reg.string(), "sewage_plant", "--format", "csv"});
            int building = 0, operating = 0;
            for (const auto &line : testing::split_lines(r.out))
                if (line.rfind("CONC", 0) == 0) {
                    building += line.find(",building,") != std::string::npos;
                    operating += line.find(",operating,") != std::string::npos;
                }
            std::lock_guard lock(m);
            ++reads;
            if (r.exit_code != 0 || mentions_lock(r.err)) {
                ++read_errors;
                if (problems.size() < 10)
                    problems.push_back("list: " + r.err);
            }
            // One snapshot: none of the new plants yet, or all of one version.
            const int seen = building + operating;
            if (r.exit_code == 0 && !(seen == 0 || building == kPlants || operating == kPlants)) {
                ++torn;
                if (problems.size() < 10)
                    problems.push_back(
                        fmt::format("list saw {} building and {} operating", building, operating));
            }
        }
    };
    auto metrics = [&] {
        while (writing) {
            const auto r = testing::run_qiancun({"metrics", reg.string(), "--no-store"});
            std::lock_guard lock(m);
            ++reads;
            if (r.exit_code != 0 || mentions_lock(r.err)) {
                ++read_errors;
                if (problems.size() < 10)
                    problems.push_back("metrics: " + r.err);
            }
        }
    };
    std::thread reader1(lister);
    std::thread reader2(metrics);
    writer.join();
    reader1.join();
    reader2.join();

    std::cout << fmt::format("{} imports ({} failed) while {} reads ran ({} failed, {} torn)\n",
                             writes, write_errors, reads, read_errors, torn);
    for (const auto &p : problems)
        ADD_FAILURE() << p;
    EXPECT_EQ(write_errors, 0);
    EXPECT_EQ(read_errors, 0);
    EXPECT_EQ(torn, 0);
    EXPECT_GT(reads, 0);
    EXPECT_EQ(testing::integrity_check(reg), "ok");
    auto r = Registry::open(reg, true);
    EXPECT_EQ(r.count("sewage_plant"), plants_before + kPlants) << "rows lost or doubled";
    ListFilter f;
    f.status = kWrites % 2 ? "building" : "operating";
    // The last import wins: every plant CONC* says its status.
    int last = 0;
    for (const auto &row : r.list("sewage_plant", f).rows)
        last += std::get<std::string>(row.front()).rfind("CONC", 0) == 0;
    EXPECT_EQ(last, kPlants);
}

TEST_F(ConcurrencyTest, TwoWritersAtOnceBothCommitOrOneFailsCleanly) {
    const std::int64_t plants_before = Registry::open(reg, true).count("sewage_plant");
    auto a_args = import_args("building");
    auto b_args = import_args("operating");
    a_args.insert(a_args.begin(), QIANCUN_BINARY);
    b_args.insert(b_args.begin(), QIANCUN_BINARY);
    const pid_t a = testing::spawn(a_args, dir / "a.log");
    const pid_t b = testing::spawn(b_args, dir / "b.log");
    const int ra = testing::wait_for(a);
    const int rb = testing::wait_for(b);
    for (const auto &[code, log] : {std::pair{ra, dir / "a.log"}, std::pair{rb, dir / "b.log"}}) {
        const auto text = testing::read_file(log);
        // The second writer waits for the first (busy timeout); if it ever gives up, it says
        // so in one line naming the registry, with exit code 4.
        if (code != 0) {
            EXPECT_EQ(code, 4) << text;
            EXPECT_THAT(text, ::testing::HasSubstr("is writing to it; gave up after waiting"))
                << text;
        }
    }
    EXPECT_TRUE(ra == 0 || rb == 0);
    EXPECT_EQ(testing::integrity_check(reg), "ok");
    EXPECT_EQ(Registry::open(reg, true).count("sewage_plant"), plants_before + kPlants);
}

/// Holds the write lock of `path` the way another program would (QGIS, sqlite3, a script)
/// until destroyed.
class ForeignWriter {
public:
    explicit ForeignWriter(const fs::path &path) {
        if (sqlite3_open(path.c_str(), &m_db) != SQLITE_OK ||
            sqlite3_exec(m_db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
            throw std::runtime_error("cannot lock " + path.string());
    }
    ForeignWriter(const ForeignWriter &) = delete;
    ForeignWriter &operator=(const ForeignWriter &) = delete;
    ~ForeignWriter() {
        sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_close(m_db);
    }

private:
    sqlite3 *m_db = nullptr;
};

/// The seconds in "gave up after waiting 1.0 s" of `err`, or -1.
double waited_s(const std::string &err) {
    const std::string key = "gave up after waiting ";
    const auto at = err.find(key);
    return at == std::string::npos ? -1.0 : std::stod(err.substr(at + key.size()));
}

TEST_F(ConcurrencyTest, BusyRegistrySaysWhoHoldsTheLockAndTheTimeReallyWaited) {
    const std::string before = Registry::open(reg, true).content_checksum();
    ForeignWriter lock(reg);
    // A short timeout keeps the test quick; the message must give the time measured.
    ::setenv("QIANCUN_BUSY_TIMEOUT_MS", "1500", 1);
    auto started = std::chrono::steady_clock::now();
    auto r = testing::run_qiancun(import_args("operating"));
    double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_THAT(r.err, ::testing::HasSubstr("another program"));
    EXPECT_THAT(r.err, ::testing::Not(::testing::HasSubstr("10 s")));
    EXPECT_GE(waited_s(r.err), 1.4) << r.err;
    EXPECT_LE(waited_s(r.err), wall_s + 0.05) << r.err;

    // A qiancun writer leaves a note naming itself; while it lives, the waiting one names it.
    testing::write_file(reg.string() + ".writer",
                        fmt::format("{}\nqiancun load county.toml\n08:30:00 UTC\n", ::getpid()));
    r = testing::run_qiancun(import_args("operating"));
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_THAT(r.err, ::testing::HasSubstr(fmt::format(
                           "another qiancun (pid {}: qiancun load county.toml, since 08:30:00 "
                           "UTC) is writing to it; gave up after waiting",
                           ::getpid())));
    ::unsetenv("QIANCUN_BUSY_TIMEOUT_MS");
    EXPECT_EQ(Registry::open(reg, true).content_checksum(), before);
}

TEST_F(ConcurrencyTest, BusyRegistryIsSaidInChinese) {
    ForeignWriter lock(reg);
    ::setenv("QIANCUN_BUSY_TIMEOUT_MS", "300", 1);
    auto args = import_args("operating");
    args.insert(args.begin(), {"--lang", "zh"});
    const auto r = testing::run_qiancun(args);
    ::unsetenv("QIANCUN_BUSY_TIMEOUT_MS");
    EXPECT_EQ(r.exit_code, 4) << r.err;
    const std::string head =
        fmt::format("qiancun: 登记库 {} 正忙：另一个程序（QGIS、sqlite3 或脚本）正在写入；已等待 ",
                    reg.string());
    const std::string tail = " 秒后放弃，未做任何更改；请稍后再试\n";
    const auto at = r.err.find(head);
    ASSERT_NE(at, std::string::npos) << r.err;
    const std::string rest = r.err.substr(at + head.size());
    ASSERT_TRUE(rest.size() > tail.size() && rest.ends_with(tail)) << r.err;
    const std::string seconds = rest.substr(0, rest.size() - tail.size());
    EXPECT_EQ(seconds, fmt::format("{:.1f}", std::stod(seconds)));
    EXPECT_GE(std::stod(seconds), 0.25) << r.err;
}

TEST_F(ConcurrencyTest, AWriterNotesItselfWhileItHoldsTheLock) {
    const fs::path note = reg.string() + ".writer";
    auto registry = Registry::open(reg);
    {
        Registry::Transaction tx(registry);
        ASSERT_TRUE(fs::exists(note));
        const auto lines = testing::split_lines(testing::read_file(note));
        ASSERT_EQ(lines.size(), 3u);
        EXPECT_EQ(lines[0], std::to_string(::getpid()));
        EXPECT_THAT(lines[1], ::testing::HasSubstr("robustness_tests"));
        tx.commit();
    }
    EXPECT_FALSE(fs::exists(note)) << "removed at commit";
    {
        Registry::Transaction tx(registry);
        EXPECT_TRUE(fs::exists(note));
    }
    EXPECT_FALSE(fs::exists(note)) << "removed at rollback";
}

} // namespace
} // namespace qiancun
