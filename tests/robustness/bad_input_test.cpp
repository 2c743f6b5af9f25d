#include "bad_corpus.hpp"
#include "robustness.hpp"

#include "qiancun/registry.hpp"

#include <unistd.h>

#include <algorithm>
#include <ostream>

/// The bad-input catalogue of SPEC §7 over the committed corpus tests/data/bad/ (see its
/// README.md): every case runs the real `qiancun import` on a copy of its broken files and
/// must fail with exit code 3 and one line naming the file, the row or feature and the
/// problem, leaving every table of the registry exactly as it was.

namespace qiancun::testing {

void PrintTo(const BadCaseEntry &c, std::ostream *os) {
    *os << c.name;
}

} // namespace qiancun::testing

namespace qiancun {
namespace {

using testing::BadCaseEntry;
using testing::BadSetup;
using testing::TempDir;
namespace fs = std::filesystem;

fs::path corpus_dir() {
    return testing::source_dir() / "tests" / "data" / "bad";
}

constexpr const char *kRegenerate =
    "regenerate with: cmake --build build/release --target bad_corpus";

/// The cases of cases.tsv; one case without arguments that reports the error when the file
/// cannot be read, so the failure shows up as a test rather than as a crash at discovery.
std::vector<BadCaseEntry> corpus_cases() {
    try {
        return testing::read_bad_cases(corpus_dir() / "cases.tsv");
    } catch (const std::exception &e) {
        return {{"CasesFileUnreadable", BadSetup::copy, {}, {e.what()}}};
    }
}

/// Files under `dir`, recursively, as sorted relative paths.
std::vector<std::string> regular_files(const fs::path &dir) {
    std::vector<std::string> out;
    for (const auto &e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file())
            out.push_back(fs::relative(e.path(), dir).generic_string());
    std::sort(out.begin(), out.end());
    return out;
}

/// Every case starts from the same registry: one village, one sewage plant, made with the
/// real binary from the corpus's registry/ sources.
class BadInputTest : public ::testing::TestWithParam<BadCaseEntry> {
protected:
    static void SetUpTestSuite() {
        s_dir = new TempDir;
        s_error = make_base_registry(*s_dir / "template.sqlite");
    }
    static void TearDownTestSuite() {
        delete s_dir;
        s_dir = nullptr;
    }
    /// Builds the base registry at `reg`; "" or what went wrong.
    static std::string make_base_registry(const fs::path &reg) {
        const auto src = *s_dir / testing::kBadBaseRegistryDir;
        fs::copy(corpus_dir() / testing::kBadBaseRegistryDir, src, fs::copy_options::recursive);
        auto r =
            testing::run_qiancun({"init", reg.string(), "--crs", testing::kBadBaseRegistryCrs});
        if (r.exit_code != 0)
            return "qiancun init: " + r.err;
        for (const auto &args : testing::bad_base_registry_imports()) {
            std::vector<std::string> argv{"import", reg.string()};
            argv.insert(argv.end(), args.begin(), args.end());
            r = testing::run_qiancun(argv, s_dir->path());
            if (r.exit_code != 0)
                return "qiancun import " + args.front() + ": " + r.err;
        }
        return "";
    }
    static TempDir *s_dir;
    static std::string s_error;
};

TempDir *BadInputTest::s_dir = nullptr;
std::string BadInputTest::s_error;

TEST_P(BadInputTest, FailsWithFileRowAndProblemAndLeavesTheRegistryUnchanged) {
    const BadCaseEntry &c = GetParam();
    ASSERT_FALSE(c.args.empty()) << c.expected.front();
    ASSERT_EQ(s_error, "") << "the base registry";
    TempDir dir;
    const auto case_dir = corpus_dir() / c.name;
    if (c.setup == BadSetup::absent)
        ASSERT_FALSE(fs::exists(corpus_dir() / c.args.front())) << c.args.front();
    else
        fs::copy(case_dir, dir / c.name, fs::copy_options::recursive);
    const auto reg = dir / "r.sqlite";
    fs::copy_file(*s_dir / "template.sqlite", reg);
    const std::string before = testing::checksum(reg);

    std::vector<std::string> argv;
    if (c.setup == BadSetup::unreadable) {
        fs::permissions(dir / c.args.front(), fs::perms::none);
        // Root reads anything, so as root the import runs as `nobody` (setpriv): a real check
        // of the permission path rather than a skipped one.
        if (::geteuid() == 0) {
            if (!fs::exists("/usr/bin/setpriv"))
                GTEST_SKIP() << "running as root without setpriv to drop privileges";
            fs::permissions(dir.path(), fs::perms::all);
            fs::permissions(dir / c.name, fs::perms::all);
            fs::permissions(reg, fs::perms::all);
            argv = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
        }
    }
    argv.insert(argv.end(), {QIANCUN_BINARY, "import", reg.string()});
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    // Run in the copy, so the source paths are those of cases.tsv.
    const auto r = testing::run_command(argv, dir.path());
    EXPECT_EQ(r.exit_code, 3) << r.err;
    const auto lines = testing::split_lines(r.err);
    ASSERT_FALSE(lines.empty());
    const std::string &last = lines.back();
    EXPECT_EQ(last.rfind("qiancun: ", 0), 0u) << last;
    EXPECT_NE(last.find(c.args.front()), std::string::npos)
        << "message: " << last << "\nexpected to name the source as given: " << c.args.front();
    for (const auto &e : c.expected)
        EXPECT_NE(last.find(e), std::string::npos)
            << "message: " << last << "\nexpected to contain: " << e;
    EXPECT_EQ(testing::checksum(reg), before) << "the registry changed";
    EXPECT_EQ(testing::integrity_check(reg), "ok");
}

INSTANTIATE_TEST_SUITE_P(Catalogue, BadInputTest, ::testing::ValuesIn(corpus_cases()),
                         [](const auto &info) { return info.param.name; });

TEST(BadCorpus, MatchesItsGenerator) {
    TempDir dir;
    const auto out = dir / "bad";
    const auto r = testing::run_command({QIANCUN_BAD_CORPUS_GENERATOR, out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto committed = regular_files(corpus_dir());
    const auto generated = regular_files(out);
    EXPECT_EQ(committed, generated) << kRegenerate;
    for (const auto &f : generated) {
        if (std::binary_search(committed.begin(), committed.end(), f)) {
            EXPECT_TRUE(testing::read_file(corpus_dir() / f) == testing::read_file(out / f))
                << "tests/data/bad/" << f << " differs from the generator's output; "
                << kRegenerate;
        }
    }
}

TEST(BadCorpus, ListsEveryCaseOfTheCatalogue) {
    const auto cases = corpus_cases();
    const auto catalogue = testing::bad_catalogue();
    ASSERT_EQ(cases.size(), catalogue.size()) << kRegenerate;
    EXPECT_GE(cases.size(), 33u);
    for (std::size_t i = 0; i < cases.size(); ++i) {
        EXPECT_EQ(cases[i].name, catalogue[i].name);
        EXPECT_EQ(cases[i].expected, catalogue[i].expected) << cases[i].name;
        EXPECT_FALSE(cases[i].expected.empty()) << cases[i].name;
    }
}

TEST(BadCorpus, GeneratorRefusesADirectoryThatIsNoCorpus) {
    TempDir dir;
    testing::write_file(dir / "keep.txt", "mine");
    const auto r = testing::run_command({QIANCUN_BAD_CORPUS_GENERATOR, dir.path().string()});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_THAT(r.err, ::testing::HasSubstr("nor a bad-input corpus"));
    EXPECT_EQ(testing::read_file(dir / "keep.txt"), "mine");
}

/// Imports `file` (a CSV of sewage plants in EPSG:4549) into `reg` with `extra` options.
testing::CommandResult import_plants(const fs::path &reg, const fs::path &file,
                                     std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"import",       reg.string(), file.string(), "--as",
                                  "sewage_plant", "--src-crs",  "EPSG:4549"};
    args.insert(args.end(), extra.begin(), extra.end());
    return testing::run_qiancun(args);
}

TEST(BadInput, ReimportingTheSameSourceUpdatesItsRows) {
    // Same id from the same source (a file of the same name, wherever it lies) = the same
    // asset: a second import updates it, it never doubles.
    TempDir dir;
    const auto reg = dir / "r.sqlite";
    Registry::create(reg, 4549);
    fs::create_directories(dir / "march");
    testing::write_file(dir / "plants.csv", "id,status,x,y\nB,building,500100,3320100\n");
    testing::write_file(dir / "march" / "plants.csv",
                        "id,status,x,y\nB,operating,500100,3320100\n");
    for (const auto &f : {dir / "plants.csv", dir / "march" / "plants.csv"}) {
        const auto r = import_plants(reg, f);
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    auto r = Registry::open(reg, true);
    ASSERT_EQ(r.list("sewage_plant", {}).rows.size(), 1u);
    const auto history = r.status_history("sewage_plant", "B");
    ASSERT_FALSE(history.empty());
    EXPECT_EQ(history.back().status, "operating");
}

TEST(BadInput, UpdateLetsAnotherSourceTakeAnIdOver) {
    // Without --update an id another file brought is a duplicate (the catalogue's
    // DuplicateIdAgainstTheRegistry); with it, the new file updates the row, and later
    // re-imports of the new file update it as their own.
    TempDir dir;
    const auto reg = dir / "r.sqlite";
    Registry::create(reg, 4549);
    testing::write_file(dir / "a.csv", "id,status,x,y\nB,building,500100,3320100\n");
    testing::write_file(dir / "b.csv", "id,status,x,y\nB,operating,500100,3320100\n");
    ASSERT_EQ(import_plants(reg, dir / "a.csv").exit_code, 0);
    const auto refused = import_plants(reg, dir / "b.csv");
    EXPECT_EQ(refused.exit_code, 3);
    EXPECT_THAT(refused.err, ::testing::HasSubstr(
                                 "row 1: id 'B' is already in the registry from a.csv (row 1)"));
    const auto taken = import_plants(reg, dir / "b.csv", {"--update"});
    ASSERT_EQ(taken.exit_code, 0) << taken.err;
    ASSERT_EQ(import_plants(reg, dir / "b.csv").exit_code, 0);
    auto r = Registry::open(reg, true);
    const auto rows = r.list("sewage_plant", {});
    ASSERT_EQ(rows.rows.size(), 1u);
    EXPECT_EQ(r.status_history("sewage_plant", "B").back().status, "operating");
    // Now a.csv is the other source.
    EXPECT_EQ(import_plants(reg, dir / "a.csv").exit_code, 3);
}

} // namespace
} // namespace qiancun
