// SPDX-License-Identifier: GPL-2.0-only
// The pairing rules: what a site does when it learns the peer's role and
// generation for a volume (no I/O).  docs/protocol.md has the same table;
// tests/model/dcc.pml checks it with spin.
//
//   rule  here          peer          decision
//     1   owner G       replica G     paired; this site owns
//     2   replica G     owner G       paired; old dirty bits are dropped
//     3   replica G     yielding G+1  burn: persist replica G+1
//     4   yielding G    replica G     take back: persist owner G
//     5   yielding G    owner G       complete: persist replica G
//     6   yielding G    replica G-1   wait (the peer burns G)
//     7   owner G       yielding G    wait (the peer completes)
//     8   replica G     yielding G    wait (the peer takes it back)
//     9   owner         owner         refuse: two owners
//    10   replica G     replica G     refuse: no owner
//    11   anything else               refuse: inconsistent generations
//
// Rules 9 to 11 cannot arise from dcc's own steps; they need metadata
// formatted or restored by hand, and then nothing is changed.
#pragma once

#include <cstdint>

#include "dcc/meta.hpp"

namespace dcc::core {

// A site's persisted ownership of a volume, as its kernel confirmed it.
struct SiteState {
    Role role = Role::Replica;
    uint64_t generation = 0;
    bool operator==(const SiteState&) const = default;
};

enum class Verdict : uint8_t {
    Paired,    // the pair is consistent: work may start
    Burn,      // persist replica at the peer's generation, then pair again
    TakeBack,  // persist owner at this generation, then pair again
    Complete,  // persist replica at this generation, then pair again
    Wait,      // the peer moves first; ask again shortly
    Refuse,    // an admin must choose; change nothing
};

struct Decision {
    int rule = 0;
    Verdict verdict = Verdict::Refuse;
    SiteState next;   // this site's state once the decision is carried out
    const char* why;  // one line for the log and for dccctl status
};

Decision decide(SiteState here, SiteState peer);

const char* verdict_name(Verdict v);

}  // namespace dcc::core
