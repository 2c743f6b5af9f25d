#include "qiancun/chinese_catalogue.hpp"

#include <cstdlib>

#include "qiancun/i18n.hpp"

// glibc's counter of catalogue changes. gettext keeps the translations it found keyed by the
// locale's name, not by LANGUAGE, and trusts them while this counter stays the same: a change
// of LANGUAGE at run time must be made known by incrementing it (GNU gettext manual, "Being a
// gettext grok"), else a word looked up in Chinese stays Chinese after LANGUAGE is put back.
extern "C" int _nl_msg_cat_cntr; // NOLINT(bugprone-reserved-identifier): glibc's own name

namespace qiancun {

ChineseCatalogue::ChineseCatalogue() {
    if (const char *old = std::getenv("LANGUAGE"))
        m_saved = old;
    ::setenv("LANGUAGE", "zh_CN", 1);
    ++_nl_msg_cat_cntr;
}

ChineseCatalogue::~ChineseCatalogue() {
    if (m_saved)
        ::setenv("LANGUAGE", m_saved->c_str(), 1);
    else
        ::unsetenv("LANGUAGE");
    ++_nl_msg_cat_cntr;
}

std::string chinese_word(const char *context, const std::string &msgid) {
    const ChineseCatalogue zh;
    return translate_in_context(context, msgid.c_str());
}

} // namespace qiancun
