#pragma once

#include <functional>
#include <string_view>

namespace qiancun {

enum class LogLevel { debug, info, warning, error };

/// Receives every message of the library; the library itself never prints.
using LogSink = std::function<void(LogLevel, std::string_view)>;

/// Installs `sink` (an empty function discards messages). Not thread-safe against `log`.
void set_log_sink(LogSink sink);

/// Sends one message to the installed sink.
void log(LogLevel level, std::string_view message);

} // namespace qiancun
