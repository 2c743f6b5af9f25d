#include "field_plan.hpp"
#include "qiancun/crs.hpp"
#include "qiancun/error.hpp"
#include "qiancun/importer.hpp"
#include "qiancun/log.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "qiancun/i18n.hpp"

namespace qiancun::importers {

namespace {

std::string read_text(const std::filesystem::path &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw InputError(path.string(), "", std::nullopt, _("the manifest cannot be read"));
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// node::value<std::int64_t>(), except that a float outside the int64 range gives nothing:
/// toml++ 3.3 converts such a float with undefined behaviour.
std::optional<std::int64_t> integer_value(const toml::node &node) {
    if (const auto *f = node.as_floating_point(); f && !(std::fabs(f->get()) < 0x1p63))
        return std::nullopt;
    return node.value<std::int64_t>();
}

std::map<std::string, std::string> string_table(const toml::node_view<const toml::node> &node,
                                                const std::string &file, const std::string &what) {
    std::map<std::string, std::string> out;
    if (!node)
        return out;
    const auto *t = node.as_table();
    if (!t)
        throw InputError(file, "", std::nullopt,
                         fmt::format(fmt::runtime(_("{} must be a table")), what));
    for (const auto &[k, v] : *t) {
        if (auto s = v.value<std::string>())
            out[std::string(k.str())] = *s;
        else if (auto i = integer_value(v))
            out[std::string(k.str())] = std::to_string(*i);
        else
            throw InputError(file, "", std::nullopt,
                             fmt::format(fmt::runtime(_("{}.{} must be a string")), what, k.str()));
    }
    return out;
}

} // namespace

Manifest read_manifest(const std::filesystem::path &path) {
    const std::string file = path.string();
    const std::string text = read_text(path);
    Manifest m;
    m.path = path;
    m.kinds = parse_kinds_toml(text, file);
    m.village_attributes = parse_village_attributes_toml(text, file);
    toml::table doc = toml::parse(text, file); // already parsed once above without error
    if (auto crs = doc["registry"]["crs"].value<std::string>()) {
        try {
            m.crs = crs::parse(*crs);
        } catch (const UsageError &e) {
            throw InputError(file, "", std::nullopt, fmt::format("[registry] crs: {}", e.what()));
        }
    }
    // A date may be written as a TOML date (2025-06-30) or a string.
    auto date_text = [&](auto node, const std::string &what) {
        std::string date;
        if (const auto d = node.template value<toml::date>())
            date = fmt::format("{:04}-{:02}-{:02}", int{d->year}, int{d->month}, int{d->day});
        else if (node)
            date = node.value_or(std::string());
        if (node && !is_iso_date(date))
            throw InputError(
                file, "", std::nullopt,
                fmt::format(fmt::runtime(_("{}: as_of must be a date YYYY-MM-DD (line {})")), what,
                            node.node()->source().begin.line));
        return date;
    };
    m.as_of = date_text(doc["registry"]["as_of"], "[registry]");
    const auto *sources = doc["source"].as_array();
    if (!sources || sources->empty())
        throw InputError(file, "", std::nullopt, "no [[source]] entries");
    const auto base = path.parent_path();
    std::size_t n = 0;
    for (const auto &node : *sources) {
        ++n;
        const auto *t = node.as_table();
        const std::string what = fmt::format("[[source]] #{}", n);
        if (!t)
            throw InputError(file, "", std::nullopt,
                             fmt::format(fmt::runtime(_("{} must be a table")), what));
        for (const auto &[k, v] : *t) {
            static const std::vector<std::string> known{
                "kind", "path", "layer",   "fields", "defaults",        "src_crs", "encoding",
                "x",    "y",    "replace", "update", "geometry_policy", "as_of",   "name"};
            if (std::find(known.begin(), known.end(), std::string(k.str())) == known.end())
                throw InputError(file, "", std::nullopt,
                                 fmt::format(fmt::runtime(_("{}: unknown key '{}' (line {})")),
                                             what, k.str(), v.source().begin.line));
        }
        ImportOptions o;
        if (const auto &name = (*t)["name"]; name) {
            o.name = name.value_or(std::string());
            if (o.name.empty())
                throw InputError(
                    file, "", std::nullopt,
                    fmt::format(fmt::runtime(_("{}: name must be a non-empty string (line {})")),
                                what, name.node()->source().begin.line));
            for (const auto &other : m.sources)
                if (other.name == o.name)
                    throw InputError(
                        file, "", std::nullopt,
                        fmt::format(fmt::runtime(_("{}: name '{}' is already used by another "
                                                   "[[source]] (line {})")),
                                    what, o.name, name.node()->source().begin.line));
        }
        o.kind = (*t)["kind"].value_or(std::string());
        const std::string rel = (*t)["path"].value_or(std::string());
        if (o.kind.empty() || rel.empty())
            throw InputError(file, "", std::nullopt,
                             fmt::format(fmt::runtime(_("{} needs kind and path")), what));
        o.source =
            std::filesystem::path(rel).is_absolute() ? std::filesystem::path(rel) : base / rel;
        o.layer = (*t)["layer"].value_or(std::string());
        o.src_crs = (*t)["src_crs"].value_or(std::string());
        o.encoding = (*t)["encoding"].value_or(std::string());
        o.x_field = (*t)["x"].value_or(std::string());
        o.y_field = (*t)["y"].value_or(std::string());
        o.replace = (*t)["replace"].value_or(false);
        o.update = (*t)["update"].value_or(false);
        const std::string policy = (*t)["geometry_policy"].value_or(std::string("repair"));
        if (policy != "repair" && policy != "reject")
            throw InputError(
                file, "", std::nullopt,
                fmt::format(fmt::runtime(_("{}: geometry_policy must be repair or reject")), what));
        o.policy = policy == "repair" ? GeometryPolicy::repair : GeometryPolicy::reject;
        o.as_of = date_text((*t)["as_of"], what);
        if (o.as_of.empty())
            o.as_of = m.as_of;
        o.field_map = string_table((*t)["fields"], file, what + ".fields");
        o.defaults = string_table((*t)["defaults"], file, what + ".defaults");
        if (o.kind == "village")
            o.village_attributes = m.village_attributes;
        m.sources.push_back(std::move(o));
    }
    return m;
}

const ImportOptions &manifest_source(const Manifest &manifest, const std::string &name) {
    std::string names;
    for (const auto &s : manifest.sources) {
        if (s.name == name)
            return s;
        if (!s.name.empty())
            names += (names.empty() ? "" : ", ") + s.name;
    }
    throw UsageError(
        fmt::format(fmt::runtime(_("--like {}: {} has no [[source]] named '{}'; {}")), name,
                    manifest.path.string(), name,
                    names.empty() ? std::string(_("its sources have no names (add name = \"…\")"))
                                  : fmt::format(fmt::runtime(_("names: {}")), names)));
}

ImportOptions import_like(const ImportOptions &saved, const ImportOptions &given) {
    if (!given.kind.empty() && given.kind != saved.kind)
        throw UsageError(
            fmt::format(fmt::runtime(_("--as {} but the source '{}' of the manifest is {}")),
                        given.kind, saved.name, saved.kind));
    ImportOptions o = given;
    o.kind = saved.kind;
    o.field_map = saved.field_map;
    for (const auto &[target, source] : given.field_map)
        o.field_map[target] = source;
    o.defaults = saved.defaults;
    for (const auto &[target, text] : given.defaults)
        o.defaults[target] = text;
    for (auto [mine, theirs] : {std::pair{&o.src_crs, &saved.src_crs},
                                {&o.encoding, &saved.encoding},
                                {&o.x_field, &saved.x_field},
                                {&o.y_field, &saved.y_field}})
        if (mine->empty())
            *mine = *theirs;
    if (saved.policy == GeometryPolicy::reject)
        o.policy = GeometryPolicy::reject;
    o.village_attributes = saved.village_attributes;
    return o;
}

std::vector<ImportReport> load_manifest(Registry &registry, const Manifest &manifest,
                                        const SourceProgress &on_source, const Progress &progress) {
    Registry::Transaction tx(registry);
    // `import --like` finds the saved mappings here unless given --manifest.
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(manifest.path, ec);
    registry.set_property("manifest", (ec ? manifest.path : absolute).lexically_normal().string());
    // Villages first so that the CRS and the links are settled before the assets; events last,
    // so that the assets they name are in.
    const auto is_event = [&](const ImportOptions &s) {
        return std::any_of(manifest.kinds.begin(), manifest.kinds.end(),
                           [&](const KindDef &k) { return k.key == s.kind && k.is_event(); }) ||
               std::any_of(registry.kinds().begin(), registry.kinds().end(),
                           [&](const KindDef &k) { return k.key == s.kind && k.is_event(); });
    };
    std::vector<const ImportOptions *> order;
    for (const auto &s : manifest.sources)
        if (s.kind == "village")
            order.push_back(&s);
    for (const auto &s : manifest.sources)
        if (s.kind != "village" && !is_event(s))
            order.push_back(&s);
    for (const auto &s : manifest.sources)
        if (s.kind != "village" && is_event(s))
            order.push_back(&s);
    if (manifest.crs) {
        try {
            if (!registry.working_srid()) {
                try {
                    crs::check_working(*manifest.crs);
                } catch (const UsageError &) {
                    // Refused: name the zone of the data, from the first source.
                    std::optional<double> lon;
                    try {
                        if (!order.empty())
                            lon = prepare_import(registry, *order.front()).data_lon;
                    } catch (const Error &) {
                    }
                    crs::check_working(*manifest.crs, lon);
                }
            }
            registry.set_working_crs(*manifest.crs);
        } catch (const UsageError &e) {
            throw UsageError(
                fmt::format("{}: [registry] crs: {}", manifest.path.string(), e.what()));
        }
    }
    for (const auto &k : manifest.kinds)
        registry.add_kind(k);
    registry.add_village_attributes(manifest.village_attributes);
    std::vector<ImportReport> reports;
    std::map<std::string, std::set<std::string>> asset_keys; // kind → keys imported
    // Once the working CRS is fixed, the next source is read, checked and transformed on a
    // second thread while this one is written: reading touches only the files and the kinds,
    // never the store. Its messages are kept and logged in their turn and its errors thrown in
    // their turn, so a load says and does what it did reading one source after the other.
    struct ReadAhead {
        std::vector<LogMessage> messages;
        std::future<PreparedImport> prepared;
    };
    auto read_ahead = [&registry](const ImportOptions &options, crs::Definition working) {
        auto ahead = std::make_unique<ReadAhead>();
        ahead->prepared =
            std::async(std::launch::async, [&registry, &options, &messages = ahead->messages,
                                            working = std::move(working)] {
                LogCapture capture(messages);
                return detail::prepare(registry, options, {}, std::nullopt, working);
            });
        return ahead;
    };
    std::unique_ptr<ReadAhead> next;
    for (std::size_t i = 0; i < order.size(); ++i) {
        if (on_source)
            on_source(i, order.size(), *order[i]);
        PreparedImport prepared;
        if (next) {
            const auto ahead = std::move(next);
            try {
                prepared = ahead->prepared.get();
            } catch (...) {
                replay(ahead->messages);
                throw;
            }
            replay(ahead->messages);
        } else {
            prepared = prepare_import(registry, *order[i], progress);
        }
        if (i + 1 < order.size()) {
            // The first source may fix the working CRS; the next is read ahead once it is.
            if (!registry.working_srid() && prepared.chosen_crs)
                registry.set_working_crs(*prepared.chosen_crs, prepared.data_lon);
            if (auto working = registry.working_crs())
                next = read_ahead(*order[i + 1], std::move(*working));
        }
        commit_import(registry, prepared);
        if (prepared.kind->is_asset())
            asset_keys[prepared.kind->key].merge(feature_keys(prepared.features));
        reports.push_back(prepared.report);
    }
    registry.link_villages();
    tx.commit();
    for (const auto &[kind, keys] : asset_keys)
        hint_likely_duplicates(registry, kind, keys);
    return reports;
}

} // namespace qiancun::importers
