// SPDX-License-Identifier: GPL-2.0-only
// What dccd reports about its volumes: transfer rates, and the events a
// change of state makes (no I/O).  The status schema itself is libctl's
// (dcc/status.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "boot_clock.hpp"
#include "dcc/status.hpp"

namespace dcc::report {

using dcc::Flow;
using dcc::VolumeStatus;

using Clock = dcc::core::BootClock;

// Bytes moved per second over the last few seconds.
class RateMeter {
public:
    explicit RateMeter(std::chrono::milliseconds span = std::chrono::milliseconds(5000))
        : span_(span) {}
    void add(uint64_t bytes, uint64_t regions = 1) {
        bytes_ += bytes;
        regions_ += regions;
    }
    // Record a sample at @now; call it regularly (every few hundred ms).
    void sample(Clock::time_point now);
    double bytes_per_second() const;
    uint64_t bytes() const { return bytes_; }
    uint64_t regions() const { return regions_; }

private:
    std::chrono::milliseconds span_;
    uint64_t bytes_ = 0, regions_ = 0;
    std::deque<std::pair<Clock::time_point, uint64_t>> samples_;
};

// Events for the change from @before (nullptr: the volume is new) to
// @after, each an object with "event", "volume" and details; "time" is
// added by the caller.
std::vector<nlohmann::json> changes(const VolumeStatus* before, const VolumeStatus& after);

// The "state" event of a volume (events --now): what the change events
// that follow are relative to.
nlohmann::json state_event(const VolumeStatus& s);

}  // namespace dcc::report
