#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

/// Runs independent work items on several threads, the calling thread included.

namespace qiancun::metrics {

/// Threads to use for `requested` (0 = hardware concurrency) and `items` work items.
inline unsigned thread_count(int requested, std::size_t items) {
    unsigned n = requested > 0 ? static_cast<unsigned>(requested)
                               : std::max(1u, std::thread::hardware_concurrency());
    return static_cast<unsigned>(std::clamp<std::size_t>(items, 1, n));
}

/// Calls `make_worker()` once per thread (on that thread) and the resulting worker with each
/// index in [0, count), each exactly once. `progress(done)` runs on the calling thread only.
/// The first exception stops the remaining work and is rethrown here after every thread ended.
template <class MakeWorker>
void for_each_parallel(std::size_t count, unsigned threads, MakeWorker make_worker,
                       const std::function<void(std::size_t)> &progress = {}) {
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> done{0};
    std::atomic<bool> stop{false};
    std::exception_ptr failure;
    std::mutex failure_mutex;

    auto run = [&](bool report) {
        try {
            auto worker = make_worker();
            while (!stop.load(std::memory_order_relaxed)) {
                const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
                if (i >= count)
                    break;
                worker(i);
                const std::size_t d = done.fetch_add(1, std::memory_order_relaxed) + 1;
                if (report && progress)
                    progress(d);
            }
        } catch (...) {
            std::lock_guard lock(failure_mutex);
            if (!failure)
                failure = std::current_exception();
            stop = true;
        }
    };

    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t)
        pool.emplace_back(run, false);
    run(true);
    for (auto &t : pool)
        t.join();
    if (failure)
        std::rethrow_exception(failure);
    if (progress)
        progress(done.load());
}

} // namespace qiancun::metrics
