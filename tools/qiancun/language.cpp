#include "cli.hpp"

#include "qiancun/error.hpp"

#include <fmt/format.h>

#include <libintl.h>
#include <unistd.h>

#include <clocale>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <string>
#include <string_view>
#include <system_error>

#include "qiancun/i18n.hpp"

// The language of qiancun's messages: GNU gettext with the catalogues of po/, compiled into
// <build>/locale by CMake and installed under <prefix>/share/locale.

namespace qiancun::cli {
namespace {

namespace fs = std::filesystem;

/// The directory holding <lang>/LC_MESSAGES/qiancun.mo: $QIANCUN_LOCALEDIR, else the installed
/// tree next to the binary (<prefix>/bin → <prefix>/share/locale), else the build tree, else
/// the configured install directory.
std::string locale_dir() {
    if (const char *dir = std::getenv("QIANCUN_LOCALEDIR"); dir && *dir)
        return dir;
    const auto has_catalogue = [](const fs::path &dir) {
        std::error_code ec;
        return fs::exists(dir / "zh_CN" / "LC_MESSAGES" / "qiancun.mo", ec);
    };
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const fs::path installed = exe.parent_path().parent_path() / "share" / "locale";
        if (has_catalogue(installed))
            return installed.string();
    }
    if (has_catalogue(QIANCUN_BUILD_LOCALEDIR))
        return QIANCUN_BUILD_LOCALEDIR;
    return QIANCUN_INSTALL_LOCALEDIR;
}

/// "zh_CN" of "zh_CN.UTF-8@whatever"; "" for C/POSIX or nothing.
std::string language_of(const char *locale_name) {
    if (!locale_name)
        return {};
    std::string name(locale_name);
    name = name.substr(0, name.find_first_of(".@"));
    return name == "C" || name == "POSIX" ? std::string() : name;
}

/// "csv, json, table" of CLI11's "csv->1,json->2,table->0" (a CheckedTransformer's mapping) or
/// "zh,en" (an IsMember's set).
std::string choices_of(const std::string &set) {
    std::string out;
    std::size_t at = 0;
    while (at <= set.size()) {
        const auto comma = std::min(set.find(',', at), set.size());
        const std::string item = set.substr(at, comma - at);
        out += (out.empty() ? "" : ", ") + item.substr(0, item.find("->"));
        at = comma + 1;
    }
    return out;
}

/// CLI11's sentence `what` in the catalogue's words; `what` itself when it is none of them.
std::string parse_error_text(const std::string &what) {
    static const std::regex extra("The following argument was not expected: (.*)");
    static const std::regex extras("The following arguments were not expected: (.*)");
    static const std::regex required("(.+) is required");
    static const std::regex missing("(\\S+): ([0-9]+) required (\\S+) missing");
    static const std::regex checked(
        "(\\S+): Check (.*) value in \\{(.*?)\\}( OR \\{.*\\})? FAILED");
    static const std::regex member("(\\S+): (.*) not in \\{(.*)\\}");
    static const std::regex conversion("Could not convert: (\\S+) = (.*)");
    static const std::regex excludes("(\\S+) excludes (\\S+)");
    static const std::regex needs("(\\S+) requires (\\S+)");
    std::smatch m;
    const auto say = [&](const char *msgid, auto &&...values) {
        return fmt::format(fmt::runtime(msgid), std::forward<decltype(values)>(values)...);
    };
    if (std::regex_match(what, m, extra))
        return say(_("The following argument was not expected: {}"), m.str(1));
    if (std::regex_match(what, m, extras))
        return say(_("The following arguments were not expected: {}"), m.str(1));
    if (what == "A subcommand is required")
        return _("A subcommand is required");
    if (std::regex_match(what, m, required))
        return say(_("{} is required"), m.str(1));
    if (std::regex_match(what, m, missing))
        return say(_("{}: {} required {} missing"), m.str(1), m.str(2), m.str(3));
    if (std::regex_match(what, m, checked) || std::regex_match(what, m, member))
        return say(_("{}: '{}' is not one of {}"), m.str(1), m.str(2), choices_of(m.str(3)));
    if (std::regex_match(what, m, conversion))
        return say(_("{}: '{}' is not a number"), m.str(1), m.str(2));
    if (std::regex_match(what, m, excludes))
        return say(_("{} excludes {}"), m.str(1), m.str(2));
    if (std::regex_match(what, m, needs))
        return say(_("{} requires {}"), m.str(1), m.str(2));
    return what;
}

} // namespace

std::string parse_error_message(const CLI::App *app, const CLI::Error &e) {
    std::string out = parse_error_text(e.what()) + "\n";
    if (app->get_help_ptr())
        out += fmt::format(fmt::runtime(_("Run with {} for more information.")),
                           app->get_help_ptr()->get_name()) +
               "\n";
    return out;
}

std::string language_option(int argc, char **argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view a(argv[i]);
        if (a == "--")
            break;
        if (a == "--lang" && i + 1 < argc)
            return argv[i + 1];
        if (a.rfind("--lang=", 0) == 0)
            return std::string(a.substr(7));
    }
    return {};
}

void select_language(const std::string &lang) {
    // Character classes and message language from the environment; never LC_NUMERIC (or
    // LC_ALL), so "120.9" is read and written the same for every user. Numbers are parsed
    // with std::from_chars and printed with fmt anyway.
    std::setlocale(LC_CTYPE, "");
    const char *messages = std::setlocale(LC_MESSAGES, "");
    std::string wanted;
    if (lang == "zh")
        wanted = "zh_CN";
    else if (lang == "en")
        wanted = "en";
    else if (!lang.empty())
        throw UsageError(
            fmt::format(fmt::runtime(_("--lang {}: use zh (中文) or en (English)")), lang));
    if (wanted.empty() && !messages) {
        // The environment names a locale the system lacks (zh_CN.UTF-8 is not generated on
        // every machine): its language still picks the catalogue.
        for (const char *name : {"LC_ALL", "LC_MESSAGES", "LANG"}) {
            const char *value = std::getenv(name);
            if (value && *value) {
                wanted = language_of(value);
                break;
            }
        }
        if (const char *language = std::getenv("LANGUAGE"); language && *language)
            wanted.clear(); // LANGUAGE, when set, says it all
    }
    if (!wanted.empty())
        ::setenv("LANGUAGE", wanted.c_str(), 1);
    // gettext ignores LANGUAGE in the C locale; C.UTF-8 is always there and is not "C".
    if (const char *now = std::setlocale(LC_MESSAGES, nullptr);
        !now || std::strcmp(now, "C") == 0 || std::strcmp(now, "POSIX") == 0)
        std::setlocale(LC_MESSAGES, "C.UTF-8");
    const std::string dir = locale_dir();
    ::bindtextdomain(kTextDomain, dir.c_str());
    // Messages are UTF-8 whatever LC_CTYPE's charset.
    ::bind_textdomain_codeset(kTextDomain, "UTF-8");
}

} // namespace qiancun::cli
