#include "qiancun/indicators.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "qiancun/i18n.hpp"

namespace qiancun {

namespace {

/// The words of the built-in indicators that the catalogue translates where they are shown: the
/// denominators of the shares, what they leave out for an empty value, and the bases of the
/// targets that are planning assumptions (core/data/indicators.toml, word for word).
[[maybe_unused]] const char *const kIndicatorWords[] = {
    NC_("share of", "villages"),
    NC_("share of", "retained villages"),
    NC_("share of", "people"),
    NC_("share of", "serving plants with a result"),
    NC_("left out", "serving plants without an effluent result"),
    NC_("left out", "villages without a geometry"),
    NC_("left out", "settlements without a population"),
    NC_("left out", "with an empty value the condition needs"),
    N_("planning assumption: the plan (§三(三)1) asks for village courier stations without a "
       "number; every village covered"),
    N_("planning assumption: the plan (§三(三)3) asks to fill remote blind spots without a "
       "number; every settlement reached"),
};

/// What a built-in share leaves out for an empty value; any other share, things whose value
/// the condition needs is empty.
const char *left_out_words(const std::string &key, bool from_events) {
    static const std::map<std::string, const char *> words{
        {"sewage_effluent_ok", "serving plants without an effluent result"},
        {"sewage_village_coverage", "villages without a geometry"},
        {"courier_village_coverage", "villages without a geometry"},
        {"bs5g_settlement_coverage", "settlements without a population"},
    };
    const auto it = words.find(key);
    return it != words.end() && !from_events ? it->second
                                             : "with an empty value the condition needs";
}

} // namespace

std::string share_detail(const IndicatorValue &value) {
    if (value.denominator.empty())
        return {};
    return fmt::format(fmt::runtime(_("{0} of {1} {2}")), value.part, value.whole,
                       translate_in_context("share of", value.denominator.c_str()));
}

std::vector<std::string> left_out_notes(const Bulletin &bulletin) {
    std::vector<std::string> out;
    for (const auto &v : bulletin.values) {
        if (!v.township.empty())
            continue;
        const auto def = std::find_if(bulletin.defs.begin(), bulletin.defs.end(),
                                      [&](const IndicatorDef &d) { return d.key == v.key; });
        const std::string name =
            def != bulletin.defs.end() ? message_name(def->key, def->label) : v.key;
        std::int64_t unknown = v.unknown;
        if (v.from_events && v.without_events > 0) {
            const bool fallback = def != bulletin.defs.end() && def->events_fallback;
            out.push_back(fmt::format(
                fmt::runtime(fallback ? _("{0}: {1} without a record from {2} to {3}, counted by "
                                          "their attribute.")
                                      : _("{0}: {1} without a record from {2} to {3}, left out of "
                                          "the numerator and the denominator (unknown is not "
                                          "failed).")),
                name, v.without_events, bulletin.events_from, bulletin.events_to));
            if (!fallback)
                unknown -= v.without_events;
        }
        if (unknown > 0)
            out.push_back(fmt::format(
                fmt::runtime(_("{0}: {1} {2}, left out of the numerator and the denominator "
                               "(unknown is not failed).")),
                name, unknown,
                translate_in_context("left out", left_out_words(v.key, v.from_events))));
    }
    return out;
}

std::string basis_text(const std::string &basis) {
    return basis.empty() ? basis : std::string(_(basis.c_str()));
}

} // namespace qiancun
