#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace qiancun {

enum class LogLevel { debug, info, warning, error };

/// Receives every message of the library; the library itself never prints.
using LogSink = std::function<void(LogLevel, std::string_view)>;

/// Installs `sink` (an empty function discards messages). Not thread-safe against `log`.
void set_log_sink(LogSink sink);

/// Sends one message to the installed sink.
void log(LogLevel level, std::string_view message);

struct LogMessage {
    LogLevel level;
    std::string text;
};

/// While alive, the messages `log` receives on the thread that made it are appended to `into`
/// instead of going to the sink: work done ahead on another thread keeps its messages for
/// `replay` in their turn. Not nested.
class LogCapture {
public:
    explicit LogCapture(std::vector<LogMessage> &into);
    LogCapture(const LogCapture &) = delete;
    LogCapture &operator=(const LogCapture &) = delete;
    ~LogCapture();
};

/// Sends captured messages to the sink, in order.
void replay(const std::vector<LogMessage> &messages);

} // namespace qiancun
