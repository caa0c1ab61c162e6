// SPDX-License-Identifier: GPL-2.0-only
#include "stallwatch.hpp"

#include <optional>
#include <vector>

#include "log.hpp"
#include "workers.hpp"

namespace dcc::dccd {

namespace {
constexpr size_t kStack = 128 * 1024;  // (dccd locks its memory: a small stack)
constexpr auto kFirst = std::chrono::seconds(10), kAgain = std::chrono::seconds(60);
}  // namespace

StallWatch::StallWatch()
    : stalls_({{"dccd's loop", "no volume is served (no replication, fill, handover, lease or control request)"},
               {"the sync shipper", "no sync write is shipped"}},
              kFirst, kAgain) {
    started_ = start_thread(&thread_, kStack, &StallWatch::main, this) == 0;
    if (!started_) log_warn("cannot start the thread that watches for devices that do not answer");
}

StallWatch::~StallWatch() {
    {
        std::lock_guard<std::mutex> l(mu_);
        stop_ = true;
    }
    wake_.notify_all();
    if (started_) pthread_join(thread_, nullptr);
}

void* StallWatch::main(void* self) {
    static_cast<StallWatch*>(self)->watch();
    return nullptr;
}

void StallWatch::watch() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
        wake_.wait_for(l, std::chrono::seconds(1));
        std::vector<std::string> lines = stalls_.tick(core::Stalls::Clock::now());
        l.unlock();  // (the log may be slow: never in a Busy's way)
        for (const std::string& line : lines) log_warn("%s", line.c_str());
        l.lock();
    }
}

namespace {
thread_local int this_thread = -1;
}  // namespace

void StallWatch::this_thread_is(StallThread t) { this_thread = int(t); }

StallWatch::Busy::Busy(StallWatch& w, std::string what) : w_(w), t_(this_thread) {
    if (t_ < 0) return;
    std::lock_guard<std::mutex> l(w_.mu_);
    outer_ = w_.stalls_.begin(size_t(t_), std::move(what), core::Stalls::Clock::now());
}

StallWatch::Busy::~Busy() {
    if (!outer_) return;
    std::optional<std::string> line;
    try {
        std::lock_guard<std::mutex> l(w_.mu_);
        line = w_.stalls_.end(size_t(t_), core::Stalls::Clock::now());
    } catch (const std::exception&) {
        return;  // (no memory for the line: the mark is gone all the same)
    }
    if (line) log_info("%s", line->c_str());
}

StallWatch& stall_watch() {
    static StallWatch w;
    return w;
}

}  // namespace dcc::dccd
