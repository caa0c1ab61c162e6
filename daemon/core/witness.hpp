// SPDX-License-Identifier: GPL-2.0-only
// The witness's decisions (docs/failover-design.md), pure: per volume a
// record of the newest generation it granted and the site that owns it,
// and when that owner's lease ends on the witness's clock.  The adapter
// writes a record durably before it sends an answer whose `persist` is
// set, so a witness that loses power never grants one generation twice.
// Lease ends are not persisted: a witness that starts counts every lease
// as held for a full length.
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
    // lease ended; granted again to the same site if its answer was lost.
    WitnessAnswer claim(const Uuid& vol, uint64_t gen, const std::string& site,
                        LeaseClock::time_point now);
    // The owner of @gen - 1, demoted, announces that @gen goes to @to.
    WitnessAnswer yield(const Uuid& vol, uint64_t gen, const std::string& site,
                        const std::string& to, LeaseClock::time_point now);

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
