#include "qiancun/chinese_catalogue.hpp"

#include <cstdlib>

#include "qiancun/i18n.hpp"

namespace qiancun {

ChineseCatalogue::ChineseCatalogue() {
    if (const char *old = std::getenv("LANGUAGE"))
        m_saved = old;
    ::setenv("LANGUAGE", "zh_CN", 1);
}

ChineseCatalogue::~ChineseCatalogue() {
    if (m_saved)
        ::setenv("LANGUAGE", m_saved->c_str(), 1);
    else
        ::unsetenv("LANGUAGE");
}

std::string chinese_word(const char *context, const std::string &msgid) {
    const ChineseCatalogue zh;
    return translate_in_context(context, msgid.c_str());
}

} // namespace qiancun
