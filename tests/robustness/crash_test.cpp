#include "robustness.hpp"

#include <fmt/format.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

/// Crash safety: `qiancun load` of the sample county killed with SIGKILL at random moments
/// leaves a registry that opens, passes PRAGMA integrity_check and holds all of the load or
/// none of it.

namespace qiancun {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kKills = 20;

TEST(CrashSafety, LoadKilledAtRandomMomentsLeavesAllOrNothing) {
    TempDir dir;
    const auto manifest = (testing::sample_maps_dir() / "county.toml").string();
    const auto expected = testing::sample_counts();
    std::map<std::string, std::int64_t> none;
    for (const auto &[k, n] : expected)
        none[k] = 0;

    // One full load first: how long it takes, and that it loads everything.
    const auto full = dir / "full.sqlite";
    ASSERT_EQ(testing::run_qiancun({"init", full.string()}).exit_code, 0);
    const auto t0 = Clock::now();
    const auto r = testing::run_qiancun({"load", full.string(), manifest});
    const auto load_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(testing::registry_counts(full, expected), expected);

    std::mt19937 rng(20250630);
    // Up to 10% past the measured time, so that some kills come after the commit too.
    std::uniform_int_distribution<long> moment(0, load_ms + load_ms / 10);
    int all = 0, nothing = 0, finished = 0, inside = 0;
    for (int i = 0; i < kKills; ++i) {
        const auto reg = dir / fmt::format("k{}.sqlite", i);
        ASSERT_EQ(testing::run_qiancun({"init", reg.string()}).exit_code, 0);
        const long at_ms = moment(rng);
        const auto log = dir / fmt::format("load{}.log", i);
        const pid_t pid = testing::spawn({QIANCUN_BINARY, "load", reg.string(), manifest}, log);
        std::this_thread::sleep_for(std::chrono::milliseconds(at_ms));
        ::kill(pid, SIGKILL);
        const int status = testing::wait_for(pid);
        finished += status == 0;
        SCOPED_TRACE(fmt::format("kill {} at {} ms of {} (exit {})", i, at_ms, load_ms, status));
        ASSERT_EQ(testing::integrity_check(reg), "ok");
        const auto counts = testing::registry_counts(reg, expected);
        // `load` prints "[1/N] …" once its one transaction has begun (BEGIN IMMEDIATE comes
        // first); with nothing committed, the kill came before its COMMIT: inside it.
        const bool began = testing::read_file(log).find("[1/") != std::string::npos;
        if (counts == expected)
            ++all;
        else if (counts == none) {
            ++nothing;
            inside += began ? 1 : 0;
        } else
            ADD_FAILURE() << "half a load: " << ::testing::PrintToString(counts);
    }
    RecordProperty("kills", kKills);
    RecordProperty("all", all);
    RecordProperty("nothing", nothing);
    RecordProperty("inside_transaction", inside);
    std::cout << fmt::format("{} kills over a {} ms load: {} left all of it ({} of them after the "
                             "load had finished), {} none ({} inside the open transaction)\n",
                             kKills, load_ms, all, finished, nothing, inside);
    EXPECT_EQ(all + nothing, kKills);
    // Else the test proved nothing about rollback: every kill came before BEGIN or after COMMIT.
    EXPECT_GE(inside, 1) << "no kill landed inside the load's transaction";
}

} // namespace
} // namespace qiancun
