// SPDX-License-Identifier: GPL-2.0-only
#include "witness.hpp"

#include <algorithm>

namespace dcc::core {

const WitnessRecord* Witness::record(const Uuid& vol) const {
    auto it = vols_.find(vol);
    return it == vols_.end() ? nullptr : &it->second.rec;
}

WitnessAnswer Witness::refuse(const Vol& v, const char* why, LeaseClock::time_point now) const {
    WitnessAnswer a;
    a.record = v.rec;
    a.why = why;
    auto end = lease_end(v);
    if (end > now) a.lease_left = std::chrono::ceil<milliseconds>(end - now);
    return a;
}

void Witness::move(WitnessRecord& r, uint64_t gen, const std::string& site) {
    r.generation = gen;
    r.owner = site;
    r.yield_generation = 0;
    r.yield_to.clear();
    r.outdated = false;
}

WitnessAnswer Witness::renew(const Uuid& vol, uint64_t gen, const std::string& site,
                             LeaseClock::time_point now) {
    Vol& v = vols_[vol];
    WitnessAnswer a;
    if (!gen) return refuse(v, "generation 0 is never owned", now);
    if (!v.rec.generation) {
        // The first owner the witness hears of for this volume.
        move(v.rec, gen, site);
        a.persist = true;
    } else if (v.rec.generation + 1 == gen && v.rec.yield_generation == gen &&
               v.rec.yield_to == site) {
        // A planned handover the old owner announced.
        move(v.rec, gen, site);
        a.persist = true;
    } else if (gen > v.rec.generation) {
        // A newer generation the witness did not see begin: a planned
        // handover, or a forced failover.  Sites renew only generations
        // they own, and a handover or a CLAIM never makes two owners of
        // one generation, so it is recorded at once; the recorded owner's
        // next renewal is refused, and it stops within its lease.
        move(v.rec, gen, site);
        a.persist = true;
    } else if (v.rec.generation != gen || v.rec.owner != site) {
        return refuse(v, "this site does not own that generation here", now);
    }
    v.lease_end = std::max(lease_end(v), now + p_.length);
    a.granted = true;
    a.record = v.rec;
    a.length = p_.length;
    return a;
}

WitnessAnswer Witness::claim(const Uuid& vol, uint64_t gen, const std::string& site,
                             LeaseClock::time_point now) {
    Vol& v = vols_[vol];
    bool again = v.rec.generation == gen && v.rec.owner == site;
    if (!again) {
        if (!v.rec.generation || v.rec.generation + 1 != gen)
            return refuse(v, "the claim is not for the generation after the recorded one", now);
        if (v.rec.owner == site) return refuse(v, "this site owns the recorded generation", now);
    }
    // Fenced, the replica may lack writes the owner acknowledged alone;
    // whether the owner's lease still holds does not matter.  (A record
    // the claimer already holds has no fence unless that site, as owner,
    // went on alone since: then it is refused as well.)
    if (v.rec.outdated) {
        WitnessAnswer a = refuse(v, "the owner went on without this site's copy", now);
        a.fenced = true;
        return a;
    }
    if (now < lease_end(v)) return busy(v, "the owner's lease still holds", now);
    WitnessAnswer a;
    a.persist = !again;
    if (!again) move(v.rec, gen, site);
    v.lease_end = now;  // the claimer's own lease starts with its first renew
    a.granted = true;
    a.record = v.rec;
    return a;
}

WitnessAnswer Witness::yield(const Uuid& vol, uint64_t gen, const std::string& site,
                             const std::string& to, LeaseClock::time_point now) {
    Vol& v = vols_[vol];
    if (v.rec.generation + 1 != gen || v.rec.owner != site || to == site)
        return refuse(v, "only the recorded owner hands the next generation on", now);
    WitnessAnswer a;
    v.rec.yield_generation = gen;
    v.rec.yield_to = to;
    a.persist = true;
    a.granted = true;
    a.record = v.rec;
    return a;
}

WitnessAnswer Witness::outdate(const Uuid& vol, uint64_t gen, const std::string& site,
                               LeaseClock::time_point now) {
    Vol& v = vols_[vol];
    if (!gen || v.rec.generation != gen || v.rec.owner != site)
        return refuse(v, "this site does not own that generation here", now);
    WitnessAnswer a;
    v.rec.outdated = true;
    v.rec.epoch++;
    a.persist = true;
    a.granted = true;
    a.record = v.rec;
    return a;
}

WitnessAnswer Witness::uptodate(const Uuid& vol, uint64_t gen, const std::string& site,
                                uint64_t epoch, LeaseClock::time_point now) {
    Vol& v = vols_[vol];
    if (!gen || v.rec.generation != gen || v.rec.owner != site)
        return refuse(v, "this site does not own that generation here", now);
    if (!epoch || epoch != v.rec.epoch)
        return refuse(v, "not the epoch of the last OUTDATE", now);
    WitnessAnswer a;
    a.persist = v.rec.outdated;
    v.rec.outdated = false;
    a.granted = true;
    a.record = v.rec;
    return a;
}

}  // namespace dcc::core
