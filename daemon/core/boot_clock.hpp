// SPDX-License-Identifier: GPL-2.0-only
// dccd's clock: CLOCK_BOOTTIME as a std::chrono clock.  Monotonic, as
// steady_clock is, but it counts on while the host is suspended: a lease
// held here must end, in real time, before the other site's promise does
// (docs/protocol.md "Leases and the witness"), and the other site's clock
// does not stop when this host sleeps.  The kernel counts its lease on
// the same clock.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>

namespace dcc::core {

struct BootClock {
    using duration = std::chrono::nanoseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<BootClock>;
    static constexpr bool is_steady = true;

    static time_point now() noexcept {
        timespec ts{};
        clock_gettime(CLOCK_BOOTTIME, &ts);
        return time_point(duration(int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec));
    }
};

}  // namespace dcc::core
