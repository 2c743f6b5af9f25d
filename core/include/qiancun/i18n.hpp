#pragma once

#include <libintl.h>

#include <string>
#include <string_view>

/// Message translation (GNU gettext, text domain "qiancun", one catalogue per language under
/// po/). Mark a message where it is made: `_("no village with code '{}'")` translates it now,
/// `N_("…")` only marks a string that is translated later with `_(s)`. A message with values
/// keeps its fmt format string as the msgid:
///   fmt::format(fmt::runtime(_("no village with code '{}'")), code)
/// Without a bound catalogue (the library used on its own) every message stays English.
/// Include this header after all others: it defines the macros `_`, `N_` and `P_`.

namespace qiancun {

/// The text domain of every qiancun message.
inline constexpr const char *kTextDomain = "qiancun";

/// `msgid` in the language of the messages (LC_MESSAGES / LANGUAGE), else itself.
inline const char *translate(const char *msgid) noexcept {
    return dgettext(kTextDomain, msgid);
}

/// The singular or plural form for `n` in the language of the messages.
inline const char *translate_plural(const char *singular, const char *plural,
                                    unsigned long n) noexcept {
    return dngettext(kTextDomain, singular, plural, n);
}

/// `msgid` in `context` ("column"), for a word that means something else elsewhere; `msgid`
/// itself when the catalogue has no translation. Both are runtime strings here; mark them for
/// the catalogue with NC_("column", "code") where they are listed.
inline const char *translate_in_context(const char *context, const char *msgid) {
    // gettext's convention: the msgid looked up is "context\004msgid".
    const std::string key = std::string(context) + '\004' + msgid;
    const char *found = dgettext(kTextDomain, key.c_str());
    return found == key.c_str() ? msgid : found;
}

/// True when the messages are Chinese: the catalogue gettext uses for them (LC_MESSAGES /
/// LANGUAGE, as translate() looks up) says `Language: zh…` in its header.
bool chinese_messages();

/// How a sentence names a thing that has a machine key and a people's name — a kind
/// ("sewage_plant", "农村生活污水处理设施"), an indicator, a village attribute: its name (the
/// label) when the messages are Chinese and it has one, its key otherwise, so that a Chinese
/// sentence says no English key and an English one keeps the key a user types.
std::string message_name(std::string_view key, std::string_view label);

} // namespace qiancun

#define NC_(context, msgid) msgid
#define _(msgid) ::qiancun::translate(msgid)
#define N_(msgid) msgid
#define P_(singular, plural, n) ::qiancun::translate_plural(singular, plural, n)
