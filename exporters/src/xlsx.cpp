#include "qiancun/xlsx.hpp"

#include "qiancun/error.hpp"

#include <fmt/format.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <system_error>

#include "qiancun/i18n.hpp"

namespace qiancun::exporters {
namespace {

/// Excel's limits: 31 characters in a sheet name, these never.
constexpr std::size_t kMaxSheetName = 31;
constexpr std::string_view kForbiddenInSheetName = "[]:*?/\\";

/// Column width in Excel's character units: CJK characters count twice.
double text_width(std::string_view s) {
    double w = 0;
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        w += len >= 3 ? 2.0 : 1.0;
        i += len;
    }
    return w;
}

/// Cuts `name` to a valid sheet name, at a UTF-8 character boundary.
std::string sheet_name(std::string name, std::size_t index) {
    for (char &c : name)
        if (kForbiddenInSheetName.find(c) != std::string_view::npos)
            c = '_';
    std::string out;
    std::size_t chars = 0;
    for (std::size_t i = 0; i < name.size() && chars < kMaxSheetName; ++chars) {
        const auto c = static_cast<unsigned char>(name[i]);
        const std::size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        out += name.substr(i, len);
        i += len;
    }
    return out.empty() ? fmt::format("Sheet{}", index + 1) : out;
}

} // namespace

void write_xlsx(const std::filesystem::path &path, const std::vector<Sheet> &sheets) {
    lxw_workbook *book = workbook_new(path.c_str());
    if (!book)
        throw Error(fmt::format(fmt::runtime(_("cannot write {}")), path.string()));
    lxw_format *header = workbook_add_format(book);
    format_set_bold(header);
    lxw_format *percent = workbook_add_format(book);
    format_set_num_format(percent, "0.0%");
    lxw_error failed = LXW_NO_ERROR;
    auto check = [&](lxw_error e) {
        if (failed == LXW_NO_ERROR)
            failed = e;
    };
    for (std::size_t s = 0; s < sheets.size(); ++s) {
        const Sheet &sheet = sheets[s];
        lxw_worksheet *ws = workbook_add_worksheet(book, sheet_name(sheet.name, s).c_str());
        if (!ws) {
            check(LXW_ERROR_SHEETNAME_ALREADY_USED);
            break;
        }
        const auto &columns = sheet.rows.columns;
        std::vector<double> width(columns.size(), 8.0);
        std::vector<bool> is_percent(columns.size(), false);
        for (std::size_t c = 0; c < columns.size(); ++c) {
            const auto col = static_cast<lxw_col_t>(c);
            const std::string &shown = c < sheet.headers.size() ? sheet.headers[c] : columns[c];
            check(worksheet_write_string(ws, 0, col, shown.c_str(), header));
            if (shown != columns[c])
                check(worksheet_write_comment(ws, 0, col, columns[c].c_str()));
            width[c] = std::max(width[c], text_width(shown) + 2);
            is_percent[c] = std::find(sheet.percent_columns.begin(), sheet.percent_columns.end(),
                                      columns[c]) != sheet.percent_columns.end();
        }
        for (std::size_t r = 0; r < sheet.rows.rows.size(); ++r) {
            const auto row = static_cast<lxw_row_t>(r + 1);
            const auto &values = sheet.rows.rows[r];
            for (std::size_t c = 0; c < values.size() && c < columns.size(); ++c) {
                const auto col = static_cast<lxw_col_t>(c);
                lxw_format *format = is_percent[c] ? percent : nullptr;
                const Value &v = values[c];
                if (const auto *i = std::get_if<std::int64_t>(&v)) {
                    check(worksheet_write_number(ws, row, col, static_cast<double>(*i), format));
                } else if (const auto *d = std::get_if<double>(&v)) {
                    if (std::isfinite(*d))
                        check(worksheet_write_number(ws, row, col, *d, format));
                } else if (const auto *t = std::get_if<std::string>(&v)) {
                    check(worksheet_write_string(ws, row, col, t->c_str(), nullptr));
                    width[c] = std::max(width[c], std::min(60.0, text_width(*t) + 1));
                }
            }
        }
        for (std::size_t c = 0; c < columns.size(); ++c)
            check(worksheet_set_column(ws, static_cast<lxw_col_t>(c), static_cast<lxw_col_t>(c),
                                       std::max(width[c], is_percent[c] ? 9.0 : 0.0), nullptr));
        worksheet_freeze_panes(ws, 1, 0);
        if (!columns.empty())
            check(worksheet_autofilter(ws, 0, 0, static_cast<lxw_row_t>(sheet.rows.rows.size()),
                                       static_cast<lxw_col_t>(columns.size() - 1)));
    }
    const lxw_error closed = workbook_close(book); // also frees the workbook
    if (failed == LXW_NO_ERROR)
        failed = closed;
    if (failed != LXW_NO_ERROR) {
        std::error_code ec;
        std::filesystem::remove(path, ec);
        throw Error(fmt::format(fmt::runtime(_("cannot write {}: {}")), path.string(),
                                lxw_strerror(failed)));
    }
}

} // namespace qiancun::exporters
