// SPDX-License-Identifier: GPL-2.0-only
#include "pairing.hpp"

namespace dcc::core {

bool meets_newer_owner(SiteState here, SiteState peer) {
    return (here.role == Role::Owner || here.role == Role::Yielding) && peer.role == Role::Owner &&
           peer.origin != Origin::Handover && order(here) < order(peer);
}

bool follows_mode(SiteState here, SiteState peer) {
    return here.role == Role::Replica && here.split == Split::None && peer.role == Role::Owner &&
           peer.generation == here.generation;
}

namespace {

// Rule 13's side: this site owns a generation it took by failover and the
// peer is the owner it took it from.
bool met_by_older_owner(SiteState here, SiteState peer) {
    return here.role == Role::Owner && here.origin != Origin::Handover &&
           (peer.role == Role::Owner || peer.role == Role::Yielding) && order(peer) < order(here);
}

}  // namespace

Decision decide(SiteState here, SiteState peer, Dirt dirt) {
    const uint64_t g = here.generation, p = peer.generation;
    const Role r = here.role, q = peer.role;
    auto d = [&](int rule, Verdict v, SiteState next, const char* why) {
        return Decision{rule, v, next, why};
    };
    const bool flagged = here.split != Split::None || peer.split != Split::None;
    // Rules 15 and 16: the newer site of a split brain resolved it by
    // dropping its own writes, and is replica of the next generation S+1
    // (origin resolved): the older site takes S+1 with its writes.  The
    // older site is any owner or yielding site older than an owner of S,
    // whether or not it recorded the split (the newer site may have
    // recorded it from an ATTACH whose answer was lost), even one that was
    // the newer site of an earlier split brain (the peer has since
    // resolved that one, taken a newer generation by force and resolved
    // again), or a plain replica of S (it dropped its writes too, by a
    // resolve that crossed).
    auto resolved = [](SiteState s) {
        return s.role == Role::Replica && s.origin == Origin::Resolved && s.split == Split::None;
    };
    auto older_site = [](SiteState s, uint64_t gen) {
        if (s.role == Role::Replica) return s.split == Split::None && s.generation + 1 == gen;
        return order(s) < order({Role::Owner, gen - 1});
    };
    if (resolved(peer) && older_site(here, p))
        return d(15, Verdict::Record, {Role::Owner, p},
                 "the peer resolved the split brain by dropping its writes: taking the volume "
                 "with this site's");
    if (resolved(here) && older_site(peer, g))
        return d(16, Verdict::Wait, here,
                 "this site dropped its writes of the split brain: waiting for the peer to take "
                 "the volume");
    if (meets_newer_owner(here, peer) || here.split == Split::Old) {
        if (flagged || (peer.origin == Origin::Forced && dirt.here)) {
            // (A site that was the newer one of an earlier split brain and
            // meets a newer forced owner is now the older one.)
            if (here.split == Split::Old && meets_newer_owner(here, peer) &&
                p > here.split_generation) {
                // The peer moved on by force again (after a resolve there,
                // say): the split is now with that generation, so that a
                // resolve here becomes its replica.
                SiteState next = here;
                next.split_generation = p;
                return d(14, Verdict::Record, next,
                         "split brain: the peer took a newer generation by force; recording it, "
                         "serving nothing");
            }
            if (here.split == Split::Old)
                return d(14, Verdict::Refuse, here,
                         "split brain: this site wrote while the peer owned a newer generation; "
                         "it serves nothing until an admin resolves it");
            SiteState next = here;
            next.split = Split::Old;
            next.split_generation = p;
            return d(14, Verdict::Record, next,
                     "split brain: this site wrote while apart from the peer, which took the "
                     "volume by force; recording it, serving nothing");
        }
        Decision x = d(12, Verdict::Record, {Role::Replica, p},
                       "the peer took the volume by failover: becoming its replica");
        x.invalidate_dirty = true;
        return x;
    }
    if (met_by_older_owner(here, peer)) {
        if (flagged || (here.origin == Origin::Forced && dirt.peer)) {
            if (here.split != Split::None)
                return d(14, Verdict::Refuse, here,
                         "split brain: the peer wrote while this site owned the volume by force; "
                         "waiting for an admin to resolve it");
            SiteState next = here;
            next.split = Split::New;
            return d(14, Verdict::Record, next,
                     "split brain: the peer wrote while this site took the volume by force; "
                     "recording it, serving on");
        }
        return d(13, Verdict::Wait, here, "waiting for the old owner to become this site's replica");
    }
    // Rules 17 and 18: a plain replica of G meets an owner of a newer
    // generation that was not handed over to it from G: the owner took it
    // without this site (by force after resolves that crossed, say).  A
    // replica acknowledges no writes, so nothing diverged here: it becomes
    // that owner's replica; what it lacks comes as after rule 12 (the
    // owner's dirty regions by replication, its own invalid ones fetched).
    auto plain_replica = [](SiteState s) {
        return s.role == Role::Replica && s.split == Split::None;
    };
    if (plain_replica(here) && q == Role::Owner && peer.origin != Origin::Handover && p > g)
        return d(17, Verdict::Record, {Role::Replica, p},
                 "the peer took a newer generation without this site: becoming its replica");
    if (r == Role::Owner && here.origin != Origin::Handover && plain_replica(peer) && p < g)
        return d(18, Verdict::Wait, here, "waiting for the peer to become this site's replica");
    if (here.split != Split::None &&
        ((r == Role::Owner && q == Role::Replica) || (r == Role::Replica && q == Role::Owner)) &&
        p == g && peer.split == Split::None) {
        SiteState next = here;
        next.split = Split::None;
        next.split_generation = 0;
        return d(r == Role::Owner ? 1 : 2, Verdict::Record, next,
                 "the peer resolved the split brain: clearing it");
    }
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
    case Verdict::Record: return "record";
    }
    return "?";
}

}  // namespace dcc::core
