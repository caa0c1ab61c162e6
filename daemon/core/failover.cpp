// SPDX-License-Identifier: GPL-2.0-only
#include "failover.hpp"

#include <cstdio>

namespace dcc::core {

std::optional<Refusal> failover_refusal(const FailoverFacts& f) {
    auto hard = [](std::string why) { return Refusal{false, std::move(why)}; };
    auto soft = [&](std::string why) -> std::optional<Refusal> {
        if (f.force) return std::nullopt;
        return Refusal{true, why + "; --force takes over anyway"};
    };
    if (f.state.split != Split::None)
        return hard("a split brain is recorded here: resolve it first (dccctl resolve)");
    if (f.state.role == Role::Owner) return hard("this site owns the volume already");
    if (f.state.role == Role::Yielding || f.phase == Phase::Taking)
        return hard("a handover is in progress: wait for it to end");
    if (f.link_up && f.peer_absent && f.phase != Phase::Paired)
        return hard("the peer is reachable but has no such volume: set it up there again and use "
                    "dccctl migrate; if its copy is lost, stop dccd there first");
    if (f.link_up || f.phase == Phase::Paired)
        return hard("the peer is reachable: use dccctl migrate");
    if (f.lacking)
        if (auto r = soft("this copy lacks " + std::to_string(f.lacking) +
                          " regions (not hydrated since the last migration): reads of them would "
                          "fail until the old owner returns"))
            return r;
    // No report since dccd started here or the sites last paired: what
    // the owner wrote after is unknown, as DRBD's "Consistent" (not
    // UpToDate) disk is never promoted without fencing or --force.
    if (!f.owner_backlog)
        if (auto r = soft("this site has had no report from the owner since its dccd started or the "
                          "sites last paired: it cannot tell which writes this copy lacks"))
            return r;
    if (f.owner_backlog && *f.owner_backlog)
        if (auto r = soft("the owner last reported " + std::to_string(*f.owner_backlog) +
                          " regions not yet the same at both sites: writes it had not "
                          "replicated here would be lost"))
            return r;
    if (!f.witness)
        return soft("nothing confirms that the owner has stopped writing (no witness): if it "
                    "still runs, both sites would write (split brain)");
    // A forced owner serves without a lease; its renewals move the
    // witness's record to its generation all the same, so the witness
    // would grant a claim once they lapsed while it still writes (and,
    // the new owner's origin being failover, its writes would then be
    // dropped by rule 12 unseen).  Only a force, which rule 14 weighs.
    if (f.owner_forced)
        return soft("the owner took the volume by force and serves without a lease: nothing "
                    "confirms that it has stopped writing");
    // The same for an owner whose dccd runs without a witness (one site's
    // configuration without it): it never asks for a lease.
    if (f.owner_unwitnessed)
        return soft("the owner runs without a witness (it said so when the sites last paired) and "
                    "serves without a lease: nothing confirms that it has stopped writing");
    return std::nullopt;  // the witness decides (refusal 4)
}

bool FailoverAttempt::claim_due(LeaseClock::time_point now) {
    if (step_ != Step::WaitPromise || now < promise_until_) return false;
    step_ = Step::WaitAnswer;
    return true;
}

void FailoverAttempt::answered(uint64_t seq, uint64_t record_generation, bool granted,
                               std::string why) {
    if (step_ != Step::WaitAnswer || seq != nonce_) return;
    if (granted && record_generation != gen_) return;  // not an answer to this CLAIM
    step_ = granted ? Step::Granted : Step::Refused;
    why_ = std::move(why);
}

void FailoverAttempt::tick(LeaseClock::time_point now) {
    if (over() || now < deadline_) return;
    step_ = Step::GaveUp;
    why_ = "the witness did not answer";
}

LeaseNeed lease_need(bool witness, const SiteState& s, const Lease& peer, const Lease& witness_lease,
                     LeaseClock::time_point now) {
    LeaseNeed n;
    if (!witness || (s.role == Role::Owner && s.origin == Origin::Forced)) return n;
    n.needed = true;
    if (s.role != Role::Owner) return n;
    for (const Lease* l : {&peer, &witness_lease})
        if (l->held(now) && (!n.until || l->until() > *n.until)) n.until = l->until();
    return n;
}

std::string failover_risks(const FailoverFacts& f) {
    std::string s = "generation " + std::to_string(f.state.generation + 1) + " taken by force";
    s += "; regions this copy lacks: " + std::to_string(f.lacking);
    s += "; regions the owner last reported not yet replicated: ";
    s += f.owner_backlog ? std::to_string(*f.owner_backlog) : std::string("unknown");
    if (f.report_age_ms) {
        char age[64];
        std::snprintf(age, sizeof(age), " (that report came %.1f s ago)", double(*f.report_age_ms) / 1000);
        s += age;
    }
    s += "; writes at the old owner after that report are lost, and if it wrote at all it "
         "reports a split brain when the sites meet again";
    return s;
}

}  // namespace dcc::core
