// SPDX-License-Identifier: GPL-2.0-only
#include "pairing.hpp"

namespace dcc::core {

Decision decide(SiteState here, SiteState peer) {
    const uint64_t g = here.generation, p = peer.generation;
    const Role r = here.role, q = peer.role;
    auto d = [&](int rule, Verdict v, SiteState next, const char* why) {
        return Decision{rule, v, next, why};
    };
    if (r == Role::Owner && q == Role::Replica && p == g)
        return d(1, Verdict::Paired, here, "this site owns, the peer is its replica");
    if (r == Role::Replica && q == Role::Owner && p == g)
        return d(2, Verdict::Paired, here, "the peer owns, this site is its replica");
    if (r == Role::Replica && q == Role::Yielding && p == g + 1)
        return d(3, Verdict::Burn, {Role::Replica, p},
                 "the peer's handover never arrived: refusing it for good");
    if (r == Role::Yielding && q == Role::Replica && p == g)
        return d(4, Verdict::TakeBack, {Role::Owner, g},
                 "the peer never took the handover and never will: taking the volume back");
    if (r == Role::Yielding && q == Role::Owner && p == g)
        return d(5, Verdict::Complete, {Role::Replica, g}, "the peer took the handover");
    if (r == Role::Yielding && q == Role::Replica && p + 1 == g)
        return d(6, Verdict::Wait, here, "waiting for the peer to refuse the handover");
    if (r == Role::Owner && q == Role::Yielding && p == g)
        return d(7, Verdict::Wait, here, "waiting for the peer to learn that this site took it");
    if (r == Role::Replica && q == Role::Yielding && p == g)
        return d(8, Verdict::Wait, here, "waiting for the peer to take the volume back");
    if (r == Role::Owner && q == Role::Owner)
        return d(9, Verdict::Refuse, here, "both sites are owner (split brain): an admin must choose");
    if (r == Role::Replica && q == Role::Replica && p == g)
        return d(10, Verdict::Refuse, here, "neither site is owner: an admin must choose");
    return d(11, Verdict::Refuse, here,
             "the generations do not fit together (metadata from elsewhere?): an admin must choose");
}

const char* verdict_name(Verdict v) {
    switch (v) {
    case Verdict::Paired: return "paired";
    case Verdict::Burn: return "burn";
    case Verdict::TakeBack: return "take back";
    case Verdict::Complete: return "complete";
    case Verdict::Wait: return "wait";
    case Verdict::Refuse: return "refuse";
    }
    return "?";
}

}  // namespace dcc::core
