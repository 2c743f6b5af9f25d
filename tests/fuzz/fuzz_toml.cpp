#include "qiancun/classify.hpp"
#include "qiancun/error.hpp"
#include "qiancun/indicators.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

/// libFuzzer target: the rules (RuleSet::from_toml) or targets (Targets::from_toml) parser,
/// chosen by QIANCUN_FUZZ_RULES, on arbitrary text. A qiancun::Error is an accepted answer;
/// anything else is a bug.

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    try {
#ifdef QIANCUN_FUZZ_RULES
        (void)qiancun::RuleSet::from_toml(text, "fuzz.toml");
#else
        (void)qiancun::Targets::from_toml(text, "fuzz.toml");
#endif
    } catch (const qiancun::Error &) {
    }
    return 0;
}
