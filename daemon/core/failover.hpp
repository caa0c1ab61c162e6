// SPDX-License-Identifier: GPL-2.0-only
// Whether `dccctl failover` may take a volume at this site (no I/O).  The
// refusals, in order (docs/protocol.md, "Failover"):
//   1. a split brain is recorded here, this site is not an unpaired
//      replica, or the peer is reachable (a planned migration is the way
//      then): never overridden;
//   2. this copy lacks regions (not hydrated since the last migration),
//      or the owner last reported writes not yet replicated here;
//   3. nothing confirms that the owner stopped writing (no witness here,
//      an owner by force, or an owner that runs without a witness: those
//      serve without a lease).
// --force overrides 2 and 3; it then takes the next generation at once
// with origin "forced", and the pairing rules find any split brain when
// the sites meet again.  With a witness and without --force, a
// FailoverAttempt follows: this site stops promising, waits for its last
// promise to end, and CLAIMs the next generation at the witness, which
// refuses (refusal 4) while the owner's lease holds.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "lease.hpp"
#include "ownership.hpp"

namespace dcc::core {

struct FailoverFacts {
    SiteState state;
    Phase phase = Phase::Unpaired;
    bool link_up = false;                   // the peer's dccd answers heartbeats
    bool peer_absent = false;               // ... and says it has no such volume
    uint64_t lacking = 0;                   // regions not valid here
    std::optional<uint64_t> owner_backlog;  // the owner's last report: regions
                                            // not yet the same at both sites
    std::optional<uint64_t> report_age_ms;  // ... and how long ago it came
    bool force = false;
    bool witness = false;                   // a witness is configured
    // The owner of this site's generation took it by force (its statement
    // when the sites last paired): it serves without a lease, so nothing,
    // not the witness either, can show that it stopped.
    bool owner_forced = false;
    // The owner of this site's generation runs without a witness (its
    // statement when the sites last paired): it serves without a lease
    // whatever this site's witness says.
    bool owner_unwitnessed = false;
};

struct Refusal {
    bool forceable = false;  // --force would take over anyway
    std::string why;
};

std::optional<Refusal> failover_refusal(const FailoverFacts& f);

// What a forced failover may lose, in one line for the admin.
std::string failover_risks(const FailoverFacts& f);

// One `dccctl failover` that asks the witness.  The CLAIM goes out only
// once this site's last promise to the owner has ended, and its answer
// counts only in the attempt that sent it (@nonce: the CLAIM's seq), so
// that a CLAIM granted after an attempt gave up, and after this site
// promised again, is never taken by a later attempt.
class FailoverAttempt {
public:
    enum class Step : uint8_t {
        WaitPromise,  // this site's last promise still binds it
        WaitAnswer,   // the CLAIM is out
        Granted,      // persist owner G+1, origin failover
        Refused,      // the witness said no (why())
        GaveUp,       // no answer in time
    };
    FailoverAttempt(uint64_t generation, uint64_t nonce, LeaseClock::time_point promise_until,
                    LeaseClock::time_point now, milliseconds answer_timeout)
        : gen_(generation + 1), nonce_(nonce), promise_until_(promise_until),
          deadline_(std::max(promise_until, now) + answer_timeout) {}

    // Called often: true once, when the CLAIM is to be sent (with nonce()).
    bool claim_due(LeaseClock::time_point now);
    // The witness's answer to request @seq; ignored unless it answers this
    // attempt's CLAIM for its generation.
    void answered(uint64_t seq, uint64_t record_generation, bool granted, std::string why);
    // Gives up once the answer is overdue.
    void tick(LeaseClock::time_point now);

    Step step() const { return step_; }
    bool over() const { return step_ == Step::Granted || step_ == Step::Refused || step_ == Step::GaveUp; }
    uint64_t generation() const { return gen_; }  // the one claimed
    uint64_t nonce() const { return nonce_; }
    const std::string& why() const { return why_; }
    LeaseClock::time_point promise_until() const { return promise_until_; }

private:
    uint64_t gen_, nonce_;
    LeaseClock::time_point promise_until_, deadline_;
    Step step_ = Step::WaitPromise;
    std::string why_;
};

// The lease the kernel is to enforce for this site's copy.  Not needed
// (the flag cleared) when no witness is configured, or for an owner by a
// forced failover (it serves without a lease, the witness may be what is
// lost).  Otherwise needed: for an owner the longer of the two leases it
// holds (empty: none held, the device serves nothing); for a site that
// does not own, none (it serves nothing anyway), but the flag is set, so
// that it is on disk before the commit that makes the site owner: a dccd
// that dies between that commit and its first lease leaves a device that
// waits for a lease, never one that serves without (docs/protocol.md).
struct LeaseNeed {
    bool needed = false;
    std::optional<LeaseClock::time_point> until;
};
LeaseNeed lease_need(bool witness, const SiteState& s, const Lease& peer, const Lease& witness_lease,
                     LeaseClock::time_point now);

}  // namespace dcc::core
