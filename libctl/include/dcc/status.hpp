// SPDX-License-Identifier: GPL-2.0-only
// The dm-dcc status line (dmsetup status), parsed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace dcc {

struct TargetStatus {
    uint64_t region_sectors = 0;
    uint64_t valid = 0;
    uint64_t regions = 0;
    uint64_t dirty = 0;
    uint64_t locked = 0;
    std::string role;
    uint64_t generation = 0;
    std::string mode;
    std::optional<uint64_t> registration;  // nullopt: no daemon
    uint64_t misses = 0;
    uint64_t timeouts = 0;
};

// Parse the INFO status of one dcc target (the part after "dcc ").
std::optional<TargetStatus> parse_status(const std::string& params);

}  // namespace dcc
