#include "qiancun/log.hpp"

#include <mutex>
#include <utility>

namespace qiancun {

namespace {

std::mutex g_mutex;
LogSink g_sink;
thread_local std::vector<LogMessage> *t_capture = nullptr;

} // namespace

void set_log_sink(LogSink sink) {
    std::lock_guard lock(g_mutex);
    g_sink = std::move(sink);
}

void log(LogLevel level, std::string_view message) {
    if (t_capture) {
        t_capture->push_back({level, std::string(message)});
        return;
    }
    std::lock_guard lock(g_mutex);
    if (g_sink)
        g_sink(level, message);
}

LogCapture::LogCapture(std::vector<LogMessage> &into) {
    t_capture = &into;
}

LogCapture::~LogCapture() {
    t_capture = nullptr;
}

void replay(const std::vector<LogMessage> &messages) {
    for (const auto &m : messages)
        log(m.level, m.text);
}

} // namespace qiancun
