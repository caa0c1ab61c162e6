// SPDX-License-Identifier: GPL-2.0-only
// The witness's decisions (docs/failover-design.md), pure: per volume a
// record of the newest generation it granted and the site that owns it,
// and when that owner's lease ends on the witness's clock.  The adapter
// writes a record durably before it sends an answer whose `persist` is
// set, so a witness that loses power never grants one generation twice.
// Lease ends are not persisted: a witness that starts counts every lease
// as held for a full length.
//
// The record also holds a fence (docs/failover-design.md, "Going on alone
// in `sync`"): the owner of the recorded generation that goes on without
// its replica has it marked outdated (OUTDATE), and no CLAIM is granted
// until the owner says the replica is up to date again (UPTODATE, with the
// epoch of that OUTDATE).  A record of a newer generation has no fence:
// its replica is the old owner, which holds what it wrote.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "dcc/meta.hpp"
#include "lease.hpp"

namespace dcc::core {

struct WitnessRecord {
    uint64_t generation = 0;  // 0: nothing recorded
    std::string owner;
    // A planned handover the owner announced: generation + 1 goes to `to`.
    uint64_t yield_generation = 0;
    std::string yield_to;
    // The replica of `generation` is outdated: no CLAIM is granted.
    bool outdated = false;
    // The last OUTDATE granted for the volume: it only grows, and is kept
    // when the fence is lifted and when the generation moves on.
    uint64_t epoch = 0;
};

struct WitnessAnswer {
    bool granted = false;
    bool persist = false;            // write the record durably, then answer
    WitnessRecord record;            // what holds now (sent with a refusal)
    milliseconds length{0};          // a granted lease's length
    milliseconds lease_left{0};      // a refused CLAIM: how long the lease still holds
    // Refused only because the recorded owner's lease still holds: the
    // same request may be granted later (EBUSY on the wire, else EPERM).
    bool lease_holds = false;
    // A CLAIM refused because the record's replica is outdated (ESTALE on
    // the wire): granted only once its owner lifted the fence.
    bool fenced = false;
    const char* why = "";
};

class Witness {
public:
    Witness(LeaseParams p, LeaseClock::time_point started) : p_(p), started_(started) {}
    // Records read back from disk at start.
    void load(const Uuid& vol, WitnessRecord r) { vols_[vol].rec = std::move(r); }

    // The owner of @gen renews its lease (request received at @now).  A
    // generation above the record is recorded and granted: the owner
    // after a planned handover, or after a forced failover.  (That one
    // site owns a generation is the handover's guarantee; the witness
    // keeps it for failovers, whose CLAIM needs the record just below.)
    WitnessAnswer renew(const Uuid& vol, uint64_t gen, const std::string& site,
                        LeaseClock::time_point now);
    // A replica claims @gen (one more than the record's) after the owner's
    // lease ended and while its copy is not fenced; granted again to the
    // same site if its answer was lost.
    WitnessAnswer claim(const Uuid& vol, uint64_t gen, const std::string& site,
                        LeaseClock::time_point now);
    // The owner of @gen - 1, demoted, announces that @gen goes to @to.
    WitnessAnswer yield(const Uuid& vol, uint64_t gen, const std::string& site,
                        const std::string& to, LeaseClock::time_point now);
    // The owner of @gen goes on without its replica: granted if the record
    // is (@gen, @site), the replica then outdated at a new epoch (each
    // OUTDATE takes one, a repeated one too), persisted before the answer.
    WitnessAnswer outdate(const Uuid& vol, uint64_t gen, const std::string& site,
                          LeaseClock::time_point now);
    // The owner of @gen says its replica holds what it wrote alone since
    // the OUTDATE of @epoch: granted if the record is (@gen, @site) and
    // @epoch the last OUTDATE's, the fence then lifted (granted again,
    // with nothing to persist, once lifted).  An UPTODATE that arrives
    // after a newer OUTDATE never lifts that one.
    WitnessAnswer uptodate(const Uuid& vol, uint64_t gen, const std::string& site, uint64_t epoch,
                           LeaseClock::time_point now);

    const WitnessRecord* record(const Uuid& vol) const;

private:
    struct Vol {
        WitnessRecord rec;
        std::optional<LeaseClock::time_point> lease_end;  // unset: started_ + length
    };
    LeaseClock::time_point lease_end(const Vol& v) const {
        return v.lease_end.value_or(started_ + p_.length);
    }
    WitnessAnswer refuse(const Vol& v, const char* why, LeaseClock::time_point now) const;
    // The record moves to @gen of @site: no yield, no fence, the epoch kept.
    static void move(WitnessRecord& r, uint64_t gen, const std::string& site);
    WitnessAnswer busy(const Vol& v, const char* why, LeaseClock::time_point now) const {
        WitnessAnswer a = refuse(v, why, now);
        a.lease_holds = true;
        return a;
    }

    LeaseParams p_;
    LeaseClock::time_point started_;
    std::map<Uuid, Vol> vols_;
};

}  // namespace dcc::core
