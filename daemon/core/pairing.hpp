// SPDX-License-Identifier: GPL-2.0-only
// The pairing rules: what a site does when it learns the peer's role and
// generation for a volume (no I/O).  docs/protocol.md has the same table;
// tests/model/dcc.pml checks it with spin.
//
//   rule  here          peer          decision
//    15   owner or      replica S+1   take it: persist owner S+1 (the peer
//         yielding      resolved      resolved the split brain dropping its
//         older than                  writes; this site keeps its own)
//         owner S, not
//         split new; or
//         replica S
//    16   replica S+1   such a site   wait (the peer takes it, rule 15)
//         resolved
//    12   owner G or    owner G' > G  become its replica: persist replica
//         yielding G    by failover   G', the regions written here that it
//                                     never took invalid (fetched back)
//    13   owner G' by   owner or      wait (the peer becomes replica)
//         failover      yielding G
//    14   either of 12, 13, and the   split brain: persist the flag; the
//         newer one forced while the  older site serves nothing, neither
//         older one has dirty         pairs, until resolved
//         regions, or a flag recorded
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
// Rules 15 and 16 come first, then 12 to 14.  "By failover" is the origin the newer owner
// states (failover or forced, not handover); "newer" is the order a
// site's state moves in (yielding G < owner or replica G < yielding G+1).
// Rule 1 or 2 at a site that recorded a split brain clears the flag first
// (the other site resolved it).  Rules 9 to 11 cannot arise from dcc's
// own steps; they need metadata formatted or restored by hand, and then
// nothing is changed.
#pragma once

#include <cstdint>

#include "dcc/meta.hpp"

namespace dcc::core {

// Origin (how a site's current generation began) and Split (a split
// brain it recorded: Old, it wrote while apart from a newer forced owner
// and serves nothing until resolved; New, it is that newer owner and
// serves on) are dcc/meta.hpp's, as Role is.

// A site's persisted ownership of a volume, as its kernel confirmed it.
struct SiteState {
    Role role = Role::Replica;
    uint64_t generation = 0;
    Origin origin = Origin::Handover;
    Split split = Split::None;
    uint64_t split_generation = 0;  // Split::Old: the newer owner's generation
    bool operator==(const SiteState&) const = default;
};

// Where a state stands in the only order a site's state moves in.
inline uint64_t order(SiteState s) { return s.generation * 2 + (s.role != Role::Yielding); }

// Whether each site may hold writes it acknowledged that the other never
// took, as the site itself says: here from its kernel (DCC_SET_AHEAD: in
// async any dirty region; in sync a region with a write completed without
// the peer, which a warm region, dirty with every write confirmed, is
// not), the peer in its ATTACH.
struct Dirt {
    bool here = false;
    bool peer = false;
};

enum class Verdict : uint8_t {
    Paired,    // the pair is consistent: work may start
    Burn,      // persist replica at the peer's generation, then pair again
    TakeBack,  // persist owner at this generation, then pair again
    Complete,  // persist replica at this generation, then pair again
    Wait,      // the peer moves first; ask again shortly
    Refuse,    // an admin must choose; change nothing
    Record,    // persist next (rules 12, 14, a split cleared), then pair again
};

struct Decision {
    int rule = 0;
    Verdict verdict = Verdict::Refuse;
    SiteState next;   // this site's state once the decision is carried out
    const char* why;  // one line for the log and for dccctl status
    // Rule 12: before persisting next, mark the dirty regions invalid
    // (they hold writes the new owner never took; its copy is the one).
    bool invalidate_dirty = false;
};

Decision decide(SiteState here, SiteState peer, Dirt dirt = {});

// Rules 12 and 14 at the older site: this site (owner or yielding) meets
// a newer owner by failover.  The driver must stop I/O here (suspend)
// and read its dirty bits before it decides, so that no write slips in
// between the decision and its persist.
bool meets_newer_owner(SiteState here, SiteState peer);

// Whether this site takes the replication mode @peer states (ATTACH,
// MODE): a replica keeps the mode of the owner of its own generation, so
// that it is in force once the replica owns the volume.  Nothing else
// changes a site's mode but an admin (an owner's mode is its own).
bool follows_mode(SiteState here, SiteState peer);

const char* verdict_name(Verdict v);

}  // namespace dcc::core
