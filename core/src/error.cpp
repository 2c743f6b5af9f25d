#include "qiancun/error.hpp"

#include <fmt/core.h>

#include "qiancun/i18n.hpp"

namespace qiancun {

namespace {

std::string describe(const std::string &file, const std::string &layer,
                     std::optional<std::int64_t> row, const std::string &problem) {
    std::string where = file;
    if (!layer.empty())
        where = fmt::format(fmt::runtime(_("{} (layer {})")), where, layer);
    if (row)
        where = fmt::format(fmt::runtime(_("{}, row {}")), where, *row);
    // TRANSLATORS: where a problem is (file, layer, row) and the problem.
    return where.empty() ? problem
                         : fmt::format(fmt::runtime(_("{where}: {problem}")),
                                       fmt::arg("where", where), fmt::arg("problem", problem));
}

} // namespace

InputError::InputError(std::string file, std::string layer, std::optional<std::int64_t> row,
                       const std::string &problem)
    : Error(describe(file, layer, row, problem)), m_file(std::move(file)),
      m_layer(std::move(layer)), m_row(row), m_problem(problem) {}

} // namespace qiancun
