// SPDX-License-Identifier: GPL-2.0-only
// What dccd's threads wait for, and when to say so.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace dcc::core {

// dccd's loop (and the sync shipper, on its own thread) makes calls that
// can block on a device: a read or write of a data device, its flush, a
// kernel request that commits metadata, a suspend.  A device that stops
// answering blocks the thread, and with it every volume that thread
// serves, which the log must say: each such call is marked while it runs,
// one that takes longer than @first is told, again each @again, and once
// more when it ends.  Slots are the threads, by number; not thread-safe
// (the caller locks).
class Stalls {
public:
    using Clock = std::chrono::steady_clock;

    // A thread's name, and what waits with it ("no volume is served").
    struct Thread {
        std::string name, blocks;
    };
    Stalls(std::vector<Thread> threads, std::chrono::milliseconds first, std::chrono::milliseconds again);

    // A call of @slot begins; false (and nothing changes) if one is under
    // way there already: only the outermost call of a thread is marked,
    // the one that says what the thread was asked to do.
    bool begin(size_t slot, std::string what, Clock::time_point now);
    // The call ended: a line to log if it was told.
    std::optional<std::string> end(size_t slot, Clock::time_point now);
    // The lines to log at @now.
    std::vector<std::string> tick(Clock::time_point now);

private:
    struct Slot {
        Thread thread;
        std::string what;
        std::optional<Clock::time_point> since;
        unsigned told = 0;
    };
    std::vector<Slot> slots_;
    std::chrono::milliseconds first_, again_;
};

}  // namespace dcc::core
