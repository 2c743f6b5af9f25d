#pragma once

#include <optional>
#include <string>

/// Words in Chinese whatever the language of the messages, for what is Chinese throughout: the
/// bulletin, the QGIS styles stored with the layers, the Chinese names of a result layer.

namespace qiancun {

/// While it lives, every message is looked up in the Chinese catalogue whatever the language of
/// the messages (LANGUAGE set to zh_CN, put back after), for documents that are Chinese
/// throughout. Not thread-safe: the process environment changes.
class ChineseCatalogue {
public:
    ChineseCatalogue();
    ChineseCatalogue(const ChineseCatalogue &) = delete;
    ChineseCatalogue &operator=(const ChineseCatalogue &) = delete;
    ChineseCatalogue(ChineseCatalogue &&) = delete;
    ChineseCatalogue &operator=(ChineseCatalogue &&) = delete;
    ~ChineseCatalogue();

private:
    std::optional<std::string> m_saved;
};

/// The Chinese of `msgid` in `context` (e.g. "indicator status", "met" → "已达标") from the
/// catalogue whatever the language of the messages, for documents that are Chinese throughout
/// (the bulletin); `msgid` itself when the catalogue has none (a program that bound none).
std::string chinese_word(const char *context, const std::string &msgid);

} // namespace qiancun
