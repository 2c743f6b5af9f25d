#include "cli.hpp"

#include "qiancun/error.hpp"
#include "qiancun/log.hpp"

#include <fmt/core.h>

#include <clocale>
#include <cstdio>
#include <iostream>

namespace {

// Exit codes: 1 generic failure, 2 usage, 3 bad input data, 4 database.
int run(int argc, char **argv) {
    CLI::App app{"qiancun — rural infrastructure asset registry (千村)", "qiancun"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "qiancun 0.1.0");
    // Global flags are read when a message is logged, so they apply whatever the order of
    // CLI11's callbacks.
    static bool quiet = false;
    static bool verbose = false;
    app.add_flag("-q,--quiet", quiet, "Only errors on stderr")->each([](const std::string &) {
        qiancun::cli::set_quiet(true);
    });
    app.add_flag("-v,--verbose", verbose, "Debug messages on stderr");
    qiancun::set_log_sink([](qiancun::LogLevel level, std::string_view msg) {
        if (level == qiancun::LogLevel::debug && !verbose)
            return;
        if (quiet && level != qiancun::LogLevel::error)
            return;
        const char *tag = level == qiancun::LogLevel::warning ? "warning: "
                          : level == qiancun::LogLevel::error ? "error: "
                                                              : "";
        fmt::print(stderr, "{}{}\n", tag, msg);
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
    // Character classes and message language from the environment; never LC_NUMERIC (or
    // LC_ALL), so "120.9" is read and written the same for every user. Numbers are parsed with
    // std::from_chars and printed with fmt anyway.
    std::setlocale(LC_CTYPE, "");
    std::setlocale(LC_MESSAGES, "");
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
