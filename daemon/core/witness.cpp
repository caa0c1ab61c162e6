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

WitnessAnswer Witness::renew(const Uuid& vol, uint64_t gen, const std::string& site,
                             LeaseClock::time_point now) {
    Vol& v = vols_[vol];
    WitnessAnswer a;
    if (!gen) return refuse(v, "generation 0 is never owned", now);
    if (!v.rec.generation) {
        // The first owner the witness hears of for this volume.
        v.rec = {gen, site, 0, {}};
        a.persist = true;
    } else if (v.rec.generation + 1 == gen && v.rec.yield_generation == gen &&
               v.rec.yield_to == site) {
        // A planned handover the old owner announced.
        v.rec = {gen, site, 0, {}};
        a.persist = true;
    } else if (gen > v.rec.generation) {
        // A newer generation the witness did not see begin: a planned
        // handover, or a forced failover.  Sites renew only generations
        // they own, and a handover or a CLAIM never makes two owners of
        // one generation, so it is recorded at once; the recorded owner's
        // next renewal is refused, and it stops within its lease.
        v.rec = {gen, site, 0, {}};
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
    if (now < lease_end(v)) return busy(v, "the owner's lease still holds", now);
    WitnessAnswer a;
    a.persist = !again;
    v.rec = {gen, site, 0, {}};
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

}  // namespace dcc::core
