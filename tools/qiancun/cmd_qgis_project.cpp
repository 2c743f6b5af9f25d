#include "cli.hpp"

#include "qiancun/error.hpp"
#include "qiancun/location.hpp"
#include "qiancun/qgis_project.hpp"
#include "qiancun/registry.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "qiancun/i18n.hpp"

namespace qiancun::cli {
namespace {

struct QgisProjectArgs {
    std::string registry;
    std::string output;
};

void run_qgis_project(const QgisProjectArgs &args) {
    const auto result =
        exporters::write_qgis_project({Location::parse(args.registry), args.output});
    std::map<std::string, int> per_group;
    for (const auto &l : result.layers)
        ++per_group[l.group];
    std::vector<std::string> groups;
    for (const char *group : {"设施", "分析", "基础"})
        if (per_group.count(group))
            groups.push_back(fmt::format("{} {}", group, per_group[group]));
    fmt::print(fmt::runtime(_("wrote {} ({} layers: {})\n")), args.output, result.layers.size(),
               fmt::join(groups, " "));
}

} // namespace

void register_qgis_project(CLI::App &app) {
    auto args = std::make_shared<QgisProjectArgs>();
    auto *cmd = app.add_subcommand(
        "qgis-project",
        _("Write a QGIS project over the registry: every layer styled, labelled, with Chinese "
          "names, grouped 设施 / 分析 / 基础, the registry referenced relative to the project"));
    cmd->add_option("registry", args->registry,
                    _("Registry file (SpatiaLite) or postgresql://USER@HOST:PORT/DB?schema=NAME"))
        ->required();
    cmd->add_option("-o,--output", args->output, _("Project file: county.qgz (or .qgs)"))
        ->required();
    cmd->callback([args] { run_qgis_project(*args); });
}

} // namespace qiancun::cli
