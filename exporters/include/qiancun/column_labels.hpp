#pragma once

#include <map>
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

/// The header of column `key` in the language of the messages, for people's tables on a
/// terminal: as chinese_column_label under Chinese messages, the key itself under English ones.
std::string column_label(std::string_view key, const KindLabels &kinds);

/// chinese_column_label of every key.
std::vector<std::string> chinese_column_labels(const std::vector<std::string> &keys,
                                               const KindLabels &kinds);

} // namespace qiancun::exporters
