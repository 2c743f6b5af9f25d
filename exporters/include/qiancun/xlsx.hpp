#pragma once

#include "qiancun/registry.hpp"

#include <filesystem>
#include <string>
#include <vector>

/// Tables → an Excel workbook (libxlsxwriter), for people who read results in Excel.

namespace qiancun::exporters {

/// One worksheet: a table, and the columns holding ratios 0–1, shown as percentages.
struct Sheet {
    std::string name; ///< at most 31 characters, none of []:*?/\ (a longer name is cut)
    Rows rows;
    std::vector<std::string> percent_columns;
    /// People's names shown in the header row instead of the column keys, parallel to
    /// `rows.columns`, each header cell with a note (comment) holding its key; empty = the keys.
    std::vector<std::string> headers;
};

/// Writes one worksheet per entry of `sheets` to the workbook `path` (replacing it): a bold
/// header row that stays in view (frozen) with an autofilter, integers and reals as numbers
/// (ratios with the format 0.0 %), text as text (12-digit codes stay text), NULL as an empty
/// cell. Throws Error when the file cannot be written.
void write_xlsx(const std::filesystem::path &path, const std::vector<Sheet> &sheets);

} // namespace qiancun::exporters
