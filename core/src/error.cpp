#include "qiancun/error.hpp"

#include <fmt/core.h>

namespace qiancun {

namespace {

std::string describe(const std::string &file, const std::string &layer,
                     std::optional<std::int64_t> row, const std::string &problem) {
    std::string where = file;
    if (!layer.empty())
        where += fmt::format(" (layer {})", layer);
    if (row)
        where += fmt::format(", row {}", *row);
    return where.empty() ? problem : where + ": " + problem;
}

} // namespace

InputError::InputError(std::string file, std::string layer, std::optional<std::int64_t> row,
                       const std::string &problem)
    : Error(describe(file, layer, row, problem)), m_file(std::move(file)),
      m_layer(std::move(layer)), m_row(row), m_problem(problem) {}

} // namespace qiancun
