// SPDX-License-Identifier: GPL-2.0-only
// Whether `dccctl failover` may take a volume at this site (no I/O).  The
// refusals, in order (docs/protocol.md, "Failover"):
//   1. a split brain is recorded here, this site is not an unpaired
//      replica, or the peer is reachable (a planned migration is the way
//      then): never overridden;
//   2. this copy lacks regions (not hydrated since the last migration),
//      or the owner last reported writes not yet replicated here;
//   3. nothing confirms that the owner stopped writing (no witness).
// --force overrides 2 and 3; it then takes the next generation at once
// with origin "forced", and the pairing rules find any split brain when
// the sites meet again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ownership.hpp"

namespace dcc::core {

struct FailoverFacts {
    SiteState state;
    Phase phase = Phase::Unpaired;
    bool link_up = false;                   // the peer's dccd answers heartbeats
    uint64_t lacking = 0;                   // regions not valid here
    std::optional<uint64_t> owner_backlog;  // the owner's last report: regions
                                            // not yet the same at both sites
    bool force = false;
};

struct Refusal {
    bool forceable = false;  // --force would take over anyway
    std::string why;
};

std::optional<Refusal> failover_refusal(const FailoverFacts& f);

// What a forced failover may lose, in one line for the admin.
std::string failover_risks(const FailoverFacts& f);

}  // namespace dcc::core
