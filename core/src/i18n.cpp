#include <string>
#include <string_view>

#include "qiancun/i18n.hpp"

namespace qiancun {

bool chinese_messages() {
    // gettext's translation of "" is the header of the catalogue in use ("" without one).
    const std::string_view header = translate("");
    return header.find("\nLanguage: zh") != std::string_view::npos ||
           header.rfind("Language: zh", 0) == 0;
}

std::string message_name(std::string_view key, std::string_view label) {
    return std::string(!label.empty() && chinese_messages() ? label : key);
}

} // namespace qiancun
