// SPDX-License-Identifier: GPL-2.0-only
// What dccd reports about its volumes: the state a status request shows,
// transfer rates, and the events a change of state makes (no I/O).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dcc::report {

using Clock = std::chrono::steady_clock;

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

// One transfer direction: what is in flight and what has moved.
struct Flow {
    uint64_t in_flight = 0;
    uint64_t regions = 0;  // since dccd started
    uint64_t bytes = 0;
    double bytes_per_second = 0;
};

// One volume as this site's dccd sees it.
struct VolumeState {
    std::string name, uuid;
    std::string role;          // owner, replica
    uint64_t generation = 0;
    std::string mode;          // rw, ro, fail (the kernel's)
    uint64_t region_bytes = 0, regions = 0;
    uint64_t valid = 0;        // regions valid here
    uint64_t dirty = 0;        // the kernel's dirty count
    uint64_t locked = 0, misses = 0, timeouts = 0;
    bool paired = false;
    std::optional<std::string> peer_role;
    std::string handover = "none";  // none, demoting, sending, fenced, taking
    std::optional<int> rule;        // the last pairing rule applied
    std::string pairing;            // what it said
    // Regions not yet the same at both sites, as the owner counts them
    // (dirty, owed to the replica, missing at the owner); at a replica, the
    // owner's last report; nullopt: unknown.
    std::optional<uint64_t> backlog;
    Flow replication, hydration, fetch;
    std::optional<int64_t> last_handover_ms;

    bool hydrated() const { return valid == regions; }
    // Both copies complete and equal; nullopt when this site cannot know.
    std::optional<bool> in_sync() const;
};

nlohmann::json to_json(const VolumeState& v);

// The top of a status answer.
nlohmann::json status_json(const std::string& site, const std::string& peer, bool link_up,
                           const std::vector<VolumeState>& vols);

// Events for the change from @before (nullptr: the volume is new) to
// @after, each an object with "event", "volume" and details; "time" is
// added by the caller.
std::vector<nlohmann::json> changes(const VolumeState* before, const VolumeState& after);

}  // namespace dcc::report
