#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// People's column headers: the Chinese name of a table's machine column key ("code" →
/// "村代码"), from the message catalogue (po/zh_CN.po, context "column"), for workbooks and CSV
/// files written with `--headers zh`.

namespace qiancun::exporters {

/// Asset type key → its name ("sewage_plant" → "农村生活污水处理设施"), for per-type columns.
using KindLabels = std::map<std::string, std::string, std::less<>>;

/// The Chinese header of column `key`: a known key's catalogue name; a per-type metric column
/// (n_T, nearest_T_m, area_cov_T, pop_cov_T, cov_T, gap_T, net_nearest_T_m, net_pop_cov_T)
/// named with the type's label from `kinds`; any other key as it is. Chinese whatever the
/// language of the messages.
std::string chinese_column_label(std::string_view key, const KindLabels &kinds);

/// chinese_column_label of every key.
std::vector<std::string> chinese_column_labels(const std::vector<std::string> &keys,
                                               const KindLabels &kinds);

/// While it lives, every message is looked up in the Chinese catalogue whatever the language of
/// the messages (LANGUAGE set to zh_CN, put back after), for documents that are Chinese
/// throughout. Not thread-safe: the process environment changes.
class ChineseCatalogue {
public:
    ChineseCatalogue();
    ChineseCatalogue(const ChineseCatalogue &) = delete;
    ChineseCatalogue &operator=(const ChineseCatalogue &) = delete;
    ChineseCatalogue(ChineseCatalogue &&) = delete;
    ChineseCatalogue &operator=(ChineseCatalogue &&) = delete;
    ~ChineseCatalogue();

private:
    std::optional<std::string> m_saved;
};

/// The Chinese of `msgid` in `context` (e.g. "indicator status", "met" → "已达标") from the
/// catalogue whatever the language of the messages, for documents that are Chinese throughout
/// (the bulletin); `msgid` itself when the catalogue has none.
std::string chinese_word(const char *context, const std::string &msgid);

} // namespace qiancun::exporters
