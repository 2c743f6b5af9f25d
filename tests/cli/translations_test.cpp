// The catalogues: every message of po/qiancun.pot has a Chinese translation in po/zh_CN.po that
// formats with the same values (po/update.sh --check, a separate test, keeps the .pot in step
// with the sources).

#include "testing/testing.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

namespace qiancun {
namespace {

struct Entry {
    std::string context;
    std::string msgid;
    std::string plural;
    std::vector<std::string> msgstr; ///< msgstr, or msgstr[0], msgstr[1], …
    bool fuzzy = false;
};

/// The body of a PO string line: `"…"` with its C escapes resolved.
std::string unquote(const std::string &line) {
    const auto a = line.find('"');
    const auto b = line.rfind('"');
    std::string out;
    for (std::size_t i = a + 1; i < b; ++i) {
        if (line[i] != '\\') {
            out += line[i];
            continue;
        }
        const char c = line[++i];
        out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    }
    return out;
}

/// The entries of a PO/POT file by context + '\004' + msgid; the header (msgid "") left out.
std::map<std::string, Entry> read_po(const std::filesystem::path &path) {
    std::map<std::string, Entry> out;
    std::istringstream in(testing::read_file(path));
    Entry e;
    std::string *target = nullptr;
    auto flush = [&] {
        if (!e.msgid.empty())
            out[e.context.empty() ? e.msgid : e.context + '\004' + e.msgid] = e;
        e = Entry{};
        target = nullptr;
    };
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) {
            flush();
        } else if (line.rfind("#,", 0) == 0) {
            e.fuzzy = e.fuzzy || line.find("fuzzy") != std::string::npos;
        } else if (line[0] == '#') {
        } else if (line.rfind("msgctxt ", 0) == 0) {
            e.context = unquote(line);
            target = &e.context;
        } else if (line.rfind("msgid_plural ", 0) == 0) {
            e.plural = unquote(line);
            target = &e.plural;
        } else if (line.rfind("msgid ", 0) == 0) {
            e.msgid = unquote(line);
            target = &e.msgid;
        } else if (line.rfind("msgstr", 0) == 0) {
            e.msgstr.push_back(unquote(line));
            target = &e.msgstr.back();
        } else if (line[0] == '"' && target) {
            *target += unquote(line);
        }
    }
    flush();
    return out;
}

/// The fmt replacement fields of `text` as a sorted list, positions dropped ("{1:.1f}" and
/// "{:.1f}" both read ":.1f"), names kept ("{feature}").
std::vector<std::string> fields(const std::string &text) {
    static const std::regex field(R"(\{([A-Za-z_]*)[0-9]*(:[^}]*)?\})");
    std::vector<std::string> out;
    for (std::sregex_iterator it(text.begin(), text.end(), field), end; it != end; ++it)
        out.push_back((*it)[1].str() + (*it)[2].str());
    std::sort(out.begin(), out.end());
    return out;
}

TEST(Translations, EveryMessageHasAChineseTranslationWithTheSameFields) {
    const auto pot = read_po(testing::source_dir() / "po" / "qiancun.pot");
    const auto zh = read_po(testing::source_dir() / "po" / "zh_CN.po");
    ASSERT_GT(pot.size(), 250u);
    EXPECT_TRUE(pot.count(std::string("column\004code"))) << "column headers are in the catalogue";
    for (const auto &[msgid, entry] : pot) {
        const auto it = zh.find(msgid);
        ASSERT_NE(it, zh.end()) << "not in zh_CN.po: " << msgid;
        const Entry &t = it->second;
        EXPECT_FALSE(t.fuzzy) << "fuzzy: " << msgid;
        ASSERT_FALSE(t.msgstr.empty()) << msgid;
        for (const auto &s : t.msgstr) {
            EXPECT_FALSE(s.empty()) << "untranslated: " << msgid;
            EXPECT_EQ(fields(s), fields(entry.msgid)) << msgid << "\n→ " << s;
        }
        EXPECT_EQ(entry.plural.empty(), t.plural.empty()) << msgid;
    }
    for (const auto &[msgid, entry] : zh)
        EXPECT_TRUE(pot.count(msgid)) << "obsolete in zh_CN.po: " << msgid;
}

TEST(Translations, NoTranslationMixesAutomaticAndNumberedFields) {
    // fmt refuses "{} … {2}" at run time ("cannot switch from automatic to manual argument
    // indexing"): a translation that reorders its values numbers every field.
    static const std::regex automatic(R"(\{(:[^}]*)?\})");
    static const std::regex numbered(R"(\{[0-9]+(:[^}]*)?\})");
    const auto zh = read_po(testing::source_dir() / "po" / "zh_CN.po");
    for (const auto &[msgid, entry] : zh)
        for (std::string s : entry.msgstr) {
            for (const char *escaped : {"{{", "}}"})
                for (auto at = s.find(escaped); at != std::string::npos; at = s.find(escaped))
                    s.erase(at, 2);
            EXPECT_FALSE(std::regex_search(s, automatic) && std::regex_search(s, numbered))
                << msgid << "\n→ " << s;
        }
}

TEST(Translations, CatalogueCompilesWithoutUntranslatedOrFuzzyMessages) {
    const auto r =
        testing::run_command({"/usr/bin/msgfmt", "--check", "--statistics", "-o", "/dev/null",
                              (testing::source_dir() / "po" / "zh_CN.po").string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, ::testing::MatchesRegex("[0-9]+ translated messages\\.\n"));
}

} // namespace
} // namespace qiancun
