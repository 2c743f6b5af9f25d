#include "cli.hpp"

#include "qiancun/error.hpp"
#include "qiancun/log.hpp"

#include <fmt/core.h>

#include <cstdio>
#include <iostream>

#include "qiancun/i18n.hpp"

namespace {

// Exit codes: 1 generic failure, 2 usage, 3 bad input data, 4 database.
int run(int argc, char **argv) {
    qiancun::cli::select_language(qiancun::cli::language_option(argc, argv));
    CLI::App app{_("qiancun — rural infrastructure asset registry (千村)"), "qiancun"};
    // CLI11's own words in help texts; subcommands share the formatter.
    auto formatter = app.get_formatter();
    for (const char *label : {N_("Usage"), N_("OPTIONS"), N_("SUBCOMMAND"), N_("SUBCOMMANDS"),
                              N_("REQUIRED"), N_("Positionals"), N_("Needs"), N_("Excludes")})
        formatter->label(label, _(label));
    app.failure_message(qiancun::cli::parse_error_message);
    app.option_defaults()->group(_("Options"));
    app.set_help_flag("-h,--help", _("Print this help message and exit"));
    app.require_subcommand(1);
    app.fallthrough(); // --lang, --quiet, --verbose after the subcommand too
    app.set_version_flag("--version", "qiancun 0.1.0", _("Print the version and exit"));
    // Global flags are read when a message is logged, so they apply whatever the order of
    // CLI11's callbacks.
    static bool quiet = false;
    static bool verbose = false;
    app.add_flag("-q,--quiet", quiet, _("Only errors on stderr"))->each([](const std::string &) {
        qiancun::cli::set_quiet(true);
    });
    app.add_flag("-v,--verbose", verbose, _("Debug messages on stderr"));
    static std::string lang; // applied by select_language before parsing
    app.add_option("--lang", lang,
                   _("Language of messages and help: zh (中文) or en (default: from LANG or "
                     "LC_MESSAGES); data files keep their English column keys"))
        ->check(CLI::IsMember({"zh", "en"}));
    qiancun::set_log_sink([](qiancun::LogLevel level, std::string_view msg) {
        if (level == qiancun::LogLevel::debug && !verbose)
            return;
        if (quiet && level != qiancun::LogLevel::error)
            return;
        const char *line = level == qiancun::LogLevel::warning ? _("warning: {}")
                           : level == qiancun::LogLevel::error ? _("error: {}")
                                                               : "{}";
        fmt::print(stderr, "{}\n", fmt::format(fmt::runtime(line), msg));
    });
    qiancun::cli::register_init(app);
    qiancun::cli::register_import(app);
    qiancun::cli::register_info(app);
    qiancun::cli::register_list(app);
    qiancun::cli::register_export(app);
    qiancun::cli::register_metrics(app);
    qiancun::cli::register_classify(app);
    qiancun::cli::register_network(app);
    qiancun::cli::register_qgis_project(app);
    qiancun::cli::register_check(app);
    qiancun::cli::register_inspect(app);
    qiancun::cli::register_bulletin(app);
    qiancun::cli::register_site(app);
    qiancun::cli::register_role(app);
    qiancun::cli::register_copy(app);
    // CLI11's words on every subcommand, those of `role` too.
    std::vector<CLI::App *> subs = app.get_subcommands([](CLI::App *) { return true; });
    for (std::size_t i = 0; i < subs.size(); ++i) {
        subs[i]->set_help_flag("-h,--help", _("Print this help message and exit"));
        subs[i]->group(_("Subcommands"));
        for (CLI::App *nested : subs[i]->get_subcommands([](CLI::App *) { return true; }))
            subs.push_back(nested);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        // --help and --version end with CLI11's 0; every parse error is a usage error (2).
        return app.exit(e) == 0 ? 0 : 2;
    }
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    try {
        return run(argc, argv);
    } catch (const qiancun::UsageError &e) {
        fmt::print(stderr, "qiancun: {}\n", e.what());
        return 2;
    } catch (const qiancun::InputError &e) {
        fmt::print(stderr, "qiancun: {}\n", e.what());
        return 3;
    } catch (const qiancun::DatabaseError &e) {
        fmt::print(stderr, "qiancun: {}\n", e.what());
        return 4;
    } catch (const std::exception &e) {
        fmt::print(stderr, "qiancun: {}\n", e.what());
        return 1;
    }
}
