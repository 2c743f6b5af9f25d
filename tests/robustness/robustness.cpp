#include "robustness.hpp"

#include "qiancun/registry.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

namespace qiancun::testing {

pid_t spawn(const std::vector<std::string> &argv, const std::filesystem::path &log) {
    return start_process(argv, log, {}, true);
}

int wait_for(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
    }
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

std::string integrity_check(const std::filesystem::path &registry) {
    sqlite3 *db = nullptr;
    if (sqlite3_open_v2(registry.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        return "cannot open: " + msg;
    }
    sqlite3_busy_timeout(db, 10000);
    std::string result;
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) != SQLITE_OK) {
        result = std::string("cannot check: ") + sqlite3_errmsg(db);
    } else {
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (!result.empty())
                result += '\n';
            result += reinterpret_cast<const char *>(sqlite3_column_text(st, 0));
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return result;
}

std::map<std::string, std::int64_t> sample_counts() {
    const auto json = nlohmann::json::parse(read_file(sample_maps_dir() / "counts.json"));
    std::map<std::string, std::int64_t> out;
    for (const auto &[kind, n] : json.items())
        out[kind] = n.get<std::int64_t>();
    return out;
}

std::map<std::string, std::int64_t>
registry_counts(const std::filesystem::path &registry,
                const std::map<std::string, std::int64_t> &expected) {
    auto reg = Registry::open(registry, true);
    std::map<std::string, std::int64_t> out;
    for (const auto &[kind, n] : expected) {
        (void)n;
        bool known = false;
        for (const auto &k : reg.kinds())
            known = known || k.key == kind;
        out[kind] = known ? reg.count(kind) : 0;
    }
    return out;
}

std::string checksum(const std::filesystem::path &registry) {
    return Registry::open(registry, true).content_checksum();
}

} // namespace qiancun::testing
