#include "cli.hpp"

#include "qiancun/error.hpp"

#include <fmt/format.h>

#include <libintl.h>
#include <unistd.h>

#include <clocale>
#include <cstdlib>
#include <cstring>
#include <filesystem>
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

} // namespace

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
