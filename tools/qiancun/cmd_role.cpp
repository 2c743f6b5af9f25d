#include "cli.hpp"

#include "qiancun/error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>

#include "qiancun/i18n.hpp"

namespace qiancun::cli {

namespace {

std::vector<std::string> split_list(const std::string &text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto comma = text.find(',', start);
        std::string part = text.substr(start, comma == std::string::npos ? comma : comma - start);
        if (!part.empty())
            out.push_back(std::move(part));
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return out;
}

/// Kinds or townships as --edit and --township take them: "sewage_plant,water_test".
std::string joined(const std::vector<std::string> &parts) {
    return fmt::format("{}", fmt::join(parts, ","));
}

/// Kinds as people read them: their names joined by "、" in Chinese messages, their keys joined
/// by "," (as --edit takes them) in English.
std::string kinds_for_people(const exporters::KindLabels &labels,
                             const std::vector<std::string> &kinds) {
    if (!chinese_messages())
        return joined(kinds);
    std::vector<std::string> names;
    for (const auto &k : kinds)
        names.push_back(kind_name(labels, k));
    return fmt::format("{}", fmt::join(names, "、"));
}

/// The words of `role list` and `history` that people read, marked for the catalogue.
[[maybe_unused]] const char *const kWords[] = {
    NC_("role access", "read"),       NC_("role access", "edit"),
    NC_("audit operation", "INSERT"), NC_("audit operation", "UPDATE"),
    NC_("audit operation", "DELETE"), NC_("audit column", "old"),
    NC_("audit column", "new"),
};

struct RoleAddOptions {
    std::string registry;
    std::string name;
    std::string edit;
    std::string townships;
    bool read_only = false;
};

void run_role_add(const RoleAddOptions &o) {
    if (o.read_only == !o.edit.empty())
        throw UsageError(_("give either --edit KIND[,KIND…] or --read-only"));
    if (o.read_only && !o.townships.empty())
        throw UsageError(_("--township limits what an editor writes; a read-only role reads all"));
    auto registry = Registry::open(o.registry);
    RoleSpec role{o.name, split_list(o.edit), split_list(o.townships)};
    if (!o.read_only && role.kinds.empty())
        throw UsageError(_("--edit needs at least one kind"));
    registry.add_role(role);
    const std::string kinds = kinds_for_people(kind_labels(registry), role.kinds);
    std::cout << (role.read_only() ? fmt::format(fmt::runtime(_("role {} reads {}\n")), role.name,
                                                 registry.display())
                  : role.townships.empty()
                      ? fmt::format(fmt::runtime(_("role {} writes {} in {}\n")), role.name, kinds,
                                    registry.display())
                      : fmt::format(fmt::runtime(_("role {} writes {} of {} in {}\n")), role.name,
                                    kinds, joined(role.townships), registry.display()));
}

struct RoleListOptions {
    std::string registry;
    OutputFormat format = OutputFormat::table;
};

void run_role_list(const RoleListOptions &o) {
    auto registry = Registry::open(o.registry, true);
    // The table for people says access and kinds in its words; CSV and JSON keep the keys.
    const bool people = o.format == OutputFormat::table;
    const exporters::KindLabels labels = kind_labels(registry);
    Rows rows;
    rows.columns = {"role", "access", "kinds", "townships"};
    for (const auto &r : registry.roles()) {
        const char *access = r.read_only() ? "read" : "edit";
        rows.rows.push_back(
            {r.name, std::string(people ? translate_in_context("role access", access) : access),
             people ? kinds_for_people(labels, r.kinds) : joined(r.kinds), joined(r.townships)});
    }
    print_rows(rows, o.format, std::cout);
}

struct HistoryOptions {
    std::string registry;
    std::string kind;
    std::string id;
    OutputFormat format = OutputFormat::table;
};

void run_history(const HistoryOptions &o) {
    auto registry = Registry::open(o.registry, true);
    // The table for people says operations, kinds and the old and new rows in its words (the
    // old and new values, not an import's "new" count); CSV and JSON keep the keys.
    const bool people = o.format == OutputFormat::table;
    const exporters::KindLabels labels = kind_labels(registry);
    Rows rows;
    rows.columns = {"at", "role", "operation", "kind", "id", "old", "new"};
    if (people)
        for (auto &c : rows.columns)
            if (c == "old" || c == "new")
                c = translate_in_context("audit column", c.c_str());
    for (const auto &e : registry.audit(o.kind, o.id))
        rows.rows.push_back(
            {e.at, e.role,
             people ? std::string(translate_in_context("audit operation", e.operation.c_str()))
                    : e.operation,
             people ? kind_name(labels, e.kind) : e.kind, e.id, e.old_values, e.new_values});
    print_rows(rows, o.format, std::cout);
}

} // namespace

void register_role(CLI::App &app) {
    const char *registry_help =
        _("PostgreSQL registry: postgresql://USER@HOST:PORT/DB?schema=NAME");
    auto *role = app.add_subcommand("role", _("Database roles of a PostgreSQL registry"));
    role->require_subcommand(1);

    auto add = std::make_shared<RoleAddOptions>();
    auto *cmd = role->add_subcommand(
        "add", _("Create a login role that reads the registry and writes only the given kinds "
                 "(enforced by PostgreSQL: grants and row-level security)"));
    cmd->add_option("registry", add->registry, registry_help)->required();
    cmd->add_option("name", add->name, _("Role name"))->required();
    cmd->add_option("--edit", add->edit, _("Kinds it may write: KIND[,KIND…]"));
    cmd->add_option("--township", add->townships,
                    _("Only rows whose village lies in these townships: T[,T…]"));
    cmd->add_flag("--read-only", add->read_only, _("Reads everything, writes nothing"));
    cmd->callback([add] { run_role_add(*add); });

    auto list = std::make_shared<RoleListOptions>();
    cmd = role->add_subcommand("list", _("The roles given access to the registry"));
    cmd->add_option("registry", list->registry, registry_help)->required();
    add_format_option(cmd, list->format);
    cmd->callback([list] { run_role_list(*list); });

    auto history = std::make_shared<HistoryOptions>();
    cmd = app.add_subcommand("history", _("Every change of one asset or village from the audit "
                                          "table: who, when, old and new values"));
    cmd->add_option("registry", history->registry, registry_help)->required();
    cmd->add_option("kind", history->kind, _("Layer: village, sewage_plant, …"))->required();
    cmd->add_option("id", history->id, _("The asset's id (a village's code)"))->required();
    add_format_option(cmd, history->format);
    cmd->callback([history] { run_history(*history); });
}

} // namespace qiancun::cli
