// SPDX-License-Identifier: GPL-2.0-only
#include "ownership.hpp"

#include <cerrno>

namespace dcc::core {

const char* phase_name(Phase p) {
    switch (p) {
    case Phase::Unpaired: return "unpaired";
    case Phase::Paired: return "paired";
    case Phase::Demoting: return "demoting";
    case Phase::Sending: return "sending";
    case Phase::Fenced: return "fenced";
    case Phase::Taking: return "taking";
    }
    return "?";
}

namespace {

Plan ignored() {
    Plan p;
    p.ignored = true;
    return p;
}

}  // namespace

std::optional<ReportFloor> statement_floor(bool answer, uint64_t from, uint64_t arg) {
    if (!answer) return std::nullopt;
    return ReportFloor{from, arg};
}

bool takes_report(const SiteState& here, const std::optional<ReportFloor>& floor, uint64_t from,
                  uint64_t seq, uint64_t generation) {
    if (here.role == Role::Owner || generation != here.generation) return false;
    return floor && from == floor->incarnation && seq > floor->watermark;
}

Ownership::Ownership(SiteState confirmed, Timeouts t) : state_(confirmed), t_(t) {
    // A yielding site found at start: a handover of an earlier run (or
    // before a power cut) is still open; the next pairing settles it.
    if (state_.role == Role::Yielding) phase_ = Phase::Fenced;
}

void Ownership::kernel_state(SiteState s) {
    if (pending_ != Pending::None || s == state_) return;
    state_ = s;
    if (state_.role == Role::Owner) floor_.reset();
    if (phase_ == Phase::Paired) phase_ = Phase::Unpaired;
}

bool Ownership::in_handover() const {
    return pending_ != Pending::None || phase_ == Phase::Demoting || phase_ == Phase::Sending ||
           phase_ == Phase::Taking;
}

Plan Ownership::fence(const char* why) {
    phase_ = Phase::Fenced;
    Plan p;
    p.why = why;
    p.resume = true;  // as yielding: bios fail instead of waiting
    p.attach = true;  // the pairing rules settle it
    return p;
}

Plan Ownership::link_lost() { return lose_peer("the link to the peer was lost during the handover"); }

// (DETACH: the HANDOVER may still be taken if the volume comes back, so a
// handover under way is fenced as when the link goes.)
Plan Ownership::peer_detached() { return lose_peer("the peer dropped the volume during the handover"); }

Plan Ownership::lose_peer(const char* fence_why) {
    peer_.reset();
    attach_seq_ = 0;  // its answer, if it still comes, states what held before
    if (phase_ == Phase::Sending) return fence(fence_why);
    if (phase_ == Phase::Paired) phase_ = Phase::Unpaired;
    return {};
}

bool Ownership::saw(SiteState peer) {
    if (order(peer) < newest_) return false;
    newest_ = order(peer);
    return true;
}

Plan Ownership::peer_state(SiteState peer, bool answer, uint64_t seq, Dirt dirt, ReportFloor mark) {
    if (answer && seq != attach_seq_) return ignored();
    if (answer) attach_seq_ = 0;
    if (pending_ != Pending::None || phase_ == Phase::Demoting || phase_ == Phase::Taking)
        return ignored();
    if (!saw(peer)) {  // older than what the peer said since
        Plan p = ignored();
        p.why = kOlderStatement;
        return p;
    }
    Decision d = decide(state_, peer, dirt);
    bool settles = d.verdict == Verdict::Burn || d.verdict == Verdict::TakeBack ||
                   d.verdict == Verdict::Complete || d.verdict == Verdict::Record;
    // While the HANDOVER is out, only what settles it counts.
    if (phase_ == Phase::Sending && !settles) return ignored();
    peer_ = peer;
    decision_ = d;
    Plan p;
    p.rule = d.rule;
    p.why = d.why;
    switch (d.verdict) {
    case Verdict::Paired: {
        bool again = phase_ != Phase::Paired;
        phase_ = Phase::Paired;
        if (state_.role == Role::Replica) {
            p.drop_dirty = true;
            p.invalid_set = true;
        }
        pairing_floor(p, answer, again, mark);
        return p;
    }
    case Verdict::Wait:
    case Verdict::Refuse:
        if (phase_ != Phase::Fenced) phase_ = Phase::Unpaired;
        return p;
    case Verdict::Record:
        pending_ = Pending::Record;
        p.invalidate_dirty = d.invalidate_dirty;
        break;
    case Verdict::Burn: pending_ = Pending::Burn; break;
    case Verdict::TakeBack: pending_ = Pending::TakeBack; break;
    case Verdict::Complete: pending_ = Pending::Complete; break;
    }
    target_ = d.next;
    before_ = phase_;
    p.persist = target_;
    return p;
}

// Spin model: FIX_PROG_PAIRING, FIX_OWN_ATTACH, MUTANT_KEEP_ATTACH.
void Ownership::pairing_floor(Plan& p, bool answer, bool again, ReportFloor mark) {
    if (state_.role != Role::Replica) {
        floor_.reset();
        return;
    }
    // The answer to this site's latest ATTACH, sent since it last lost
    // the peer, sets the floor; the owner's ATTACH, which may be as old as
    // a stale report, sets none.
    if (answer || again) floor_ = statement_floor(answer, mark.incarnation, mark.watermark);
    if (!floor_) {
        attach_seq_ = 0;
        p.attach = true;
    }
}

bool Ownership::wants_floor() const {
    return phase_ == Phase::Paired && state_.role == Role::Replica && !floor_;
}

const char* Ownership::begin_handover(uint64_t ask) {
    if (in_handover()) return "a handover is already in progress";
    if (state_.role != Role::Owner) return "this site is not the owner";
    if (phase_ != Phase::Paired) return "the volume is not paired with the peer";
    phase_ = Phase::Demoting;
    ho_ask_ = ask;
    ho_gen_ = state_.generation + 1;
    ho_seq_ = 0;
    ho_retry_at_ = {};
    return nullptr;
}

Plan Ownership::demote() {
    if (phase_ != Phase::Demoting) return ignored();
    pending_ = Pending::Demote;
    target_ = {Role::Yielding, ho_gen_};
    before_ = Phase::Paired;
    Plan p;
    p.persist = target_;
    return p;
}

Plan Ownership::abort_demote(const char* why) {
    if (phase_ != Phase::Demoting) return ignored();
    phase_ = Phase::Paired;
    Plan p;
    p.why = why;
    p.resume = true;
    p.outcome = Outcome::Refused;
    return p;
}

Plan Ownership::sent(bool queued, uint64_t seq, Clock::time_point now, bool can_retry) {
    if (phase_ != Phase::Sending || ho_seq_) return ignored();
    if (!queued && !can_retry) return fence("the handover set is too large to send");
    if (!queued) {
        // Nothing the peer could take left (a part of a set never
        // completes): the same as a HANDOVER still on its way, so it is
        // queued again, within one handover timeout of the first try.
        Plan p;
        if (ho_retry_at_ == Clock::time_point{}) {
            ho_deadline_ = now + t_.handover;
            p.why = "the handover could not be queued for the peer: trying again";
        }
        if (now >= ho_deadline_) return fence("the handover could not be queued for the peer");
        ho_retry_at_ = now + kSendRetry;
        return p;
    }
    ho_seq_ = seq;
    // Queued at last after tries that failed: the deadline stays the one
    // of the first try (a migration is answered within one timeout).
    if (ho_retry_at_ == Clock::time_point{}) ho_deadline_ = now + t_.handover;
    ho_retry_at_ = {};
    return {};
}

bool Ownership::awaits(uint64_t seq, uint64_t generation) const {
    return phase_ == Phase::Sending && ho_seq_ && seq == ho_seq_ && generation == ho_gen_ &&
           pending_ == Pending::None;
}

Plan Ownership::handover_answer(uint64_t seq, uint64_t generation, int status, uint64_t from) {
    if (!awaits(seq, generation)) return ignored();
    ho_from_ = from;
    if (status == 0 || status == ECANCELED) {
        peer_ = SiteState{status ? Role::Replica : Role::Owner, generation};
        saw(*peer_);
    }
    Plan p;
    if (status == 0) {
        pending_ = Pending::AckComplete;
        target_ = {Role::Replica, ho_gen_};
        p.why = "the peer took the volume";
    } else if (status == ECANCELED) {
        pending_ = Pending::AckTakeBack;
        target_ = {Role::Owner, ho_gen_};
        p.why = "the peer refused the handover for good: taking the volume back";
    } else {
        return fence("the peer refused the handover");
    }
    before_ = phase_;
    p.persist = target_;
    return p;
}

void Ownership::ask(uint64_t seq, Clock::time_point now) {
    ask_seq_ = seq;
    ask_joined_ = false;
    ask_deadline_ = now + t_.ask;
}

Ownership::Toward Ownership::migrating() const {
    if (phase_ == Phase::Taking || pending_ == Pending::Take) return Toward::Here;
    // (An ask left from before this site became owner otherwise, by a
    // failover, moves nothing.)
    if (asking() && state_.role != Role::Owner) return Toward::Here;
    if (phase_ == Phase::Demoting || phase_ == Phase::Sending || pending_ == Pending::Demote)
        return Toward::Peer;
    return Toward::None;
}

Plan Ownership::ask_refused(uint64_t seq, int status) {
    if (!ask_seq_ || seq != ask_seq_ || !status) return ignored();
    if (status == EALREADY) {
        // The owner began handing over before our ask came: its HANDOVER
        // (ask 0) is taken as the answer; the ask's deadline still holds.
        ask_joined_ = true;
        Plan p;
        p.why = "the owner is already handing the volume over to this site";
        return p;
    }
    ask_seq_ = 0;
    ask_joined_ = false;
    Plan p;
    p.why = "the owner refused to hand over";
    p.outcome = Outcome::Refused;
    return p;
}

Plan Ownership::handover(uint64_t generation, uint64_t ask) {
    if (saw({Role::Yielding, generation})) peer_ = SiteState{Role::Yielding, generation};
    Plan p;
    if (in_handover() || state_.role != Role::Replica ||
        generation != state_.generation + 1) {
        p.reply = ESTALE;
        p.why = "a stale handover";
        return p;
    }
    target_ = {Role::Replica, generation};
    before_ = phase_;
    if (ask && ask != ask_seq_) {
        // It answers a migration this site gave up on (or a run before
        // this one asked for): never take it, and make sure no copy of it
        // ever can be taken.
        pending_ = Pending::Refuse;
        p.why = "a handover for a migration already reported as failed: refusing it for good";
    } else {
        pending_ = Pending::Take;
        phase_ = Phase::Taking;
        target_.role = Role::Owner;
    }
    p.persist = target_;
    return p;
}

Plan Ownership::fail_over(Origin how, std::optional<uint64_t> granted) {
    Plan p;
    p.outcome = Outcome::Refused;
    if (granted && *granted != state_.generation + 1)
        p.why = "the witness granted another generation than the next one here";
    else if (in_handover())
        p.why = "a handover is in progress";
    else if (state_.role != Role::Replica)
        p.why = "this site is not the replica";
    else if (state_.split != Split::None)
        p.why = "a split brain is recorded here: resolve it first";
    else if (phase_ == Phase::Paired)
        p.why = "the volume is paired with its owner: use migrate";
    if (*p.why) return p;
    pending_ = Pending::Force;
    target_ = {Role::Owner, state_.generation + 1, how};
    before_ = phase_;
    return Plan{.persist = target_};
}

Plan Ownership::resolve_discard_local() {
    Plan p;
    p.outcome = Outcome::Refused;
    if (in_handover())
        p.why = "a handover is in progress";
    else if (state_.split == Split::None)
        p.why = "no split brain is recorded here";
    else if (state_.split == Split::New && state_.role != Role::Owner)
        p.why = "this site is not the owner of the split brain's newer generation";
    if (*p.why) return p;
    pending_ = Pending::Resolve;
    // The older site becomes the newer owner's replica; the newer site
    // becomes replica of the next generation, which the older one takes
    // with its writes (rule 15): never an owner at both.
    target_ = state_.split == Split::Old
                  ? SiteState{Role::Replica, state_.split_generation}
                  : SiteState{Role::Replica, state_.generation + 1, Origin::Resolved};
    before_ = phase_;
    return Plan{.invalidate_dirty = true, .persist = target_};
}

Plan Ownership::persisted(bool ok) {
    Pending what = pending_;
    pending_ = Pending::None;
    Plan p;
    if (what == Pending::None) return ignored();
    if (ok) {
        state_ = target_;
        if (state_.role == Role::Owner) floor_.reset();
    }
    bool migrating = before_ == Phase::Sending || before_ == Phase::Fenced;
    switch (what) {
    case Pending::Demote:
        if (!ok) {
            phase_ = Phase::Paired;
            p.why = "cannot persist the handover: staying owner";
            p.resume = true;
            p.outcome = Outcome::Refused;
            return p;
        }
        phase_ = Phase::Sending;
        p.send_handover = true;
        return p;
    case Pending::Complete:
    case Pending::TakeBack:
    case Pending::AckComplete:
    case Pending::AckTakeBack: {
        if (!ok) {
            Plan f = fence("cannot persist the outcome of the handover");
            if (migrating) f.outcome = Outcome::Uncertain;
            return f;
        }
        bool complete = what == Pending::Complete || what == Pending::AckComplete;
        p.resume = true;
        p.drop_dirty = complete;
        if (migrating) p.outcome = complete ? Outcome::Done : Outcome::Refused;
        if (what == Pending::AckComplete || what == Pending::AckTakeBack) {
            // The answer itself says where the peer stands (owner, or
            // replica that burned the generation): paired.
            phase_ = Phase::Paired;
            p.invalid_set = complete;
            // Replica of the new owner's generation: each of its reports
            // counts.
            if (complete) floor_ = handover_floor(ho_from_);
            return p;
        }
        phase_ = Phase::Unpaired;
        p.attach = true;
        return p;
    }
    case Pending::Burn:
        phase_ = Phase::Unpaired;
        p.attach = ok;
        return p;
    case Pending::Refuse:
        p.reply = ok ? ECANCELED : EIO;
        return p;
    case Pending::Take:
        p.reply = ok ? 0 : EIO;
        if (!ok) {
            phase_ = before_ == Phase::Paired ? Phase::Paired : Phase::Unpaired;
            p.outcome = Outcome::Refused;
            p.why = "cannot persist ownership";
            ask_seq_ = 0;  // answered: the clients are told now, once
            ask_joined_ = false;
            return p;
        }
        // Not paired yet: the old owner may have given up waiting (fenced),
        // and this site may replicate to it, or hand the volume on, only once
        // it is this generation's replica (rule 1).  Pair again at once.
        phase_ = Phase::Unpaired;
        p.attach = true;
        ask_seq_ = 0;
        ask_joined_ = false;
        p.outcome = Outcome::Done;
        return p;
    case Pending::Record:
    case Pending::Resolve:
        // Pair again in the new state; a site that stopped I/O to decide
        // resumes (as replica, or as the older site of a split brain, it
        // serves nothing).
        // If it could not be persisted, an old owner that stopped its I/O
        // to decide keeps it stopped: it must not serve next to the newer
        // owner; the next ATTACH tries again.
        phase_ = Phase::Unpaired;
        p.resume = ok;
        p.attach = true;
        if (!ok) p.why = "cannot persist the pairing decision";
        if (migrating) p.outcome = Outcome::Refused;
        return p;
    case Pending::Force:
        // (The control request that asked answers for itself.)  An ask
        // still open is moot once this site owns the volume.
        if (ok) {
            ask_seq_ = 0;
            ask_joined_ = false;
        }
        phase_ = Phase::Unpaired;
        p.attach = ok;
        if (!ok) p.why = "cannot persist ownership";
        return p;
    case Pending::None:
        break;
    }
    return p;
}

Plan Ownership::tick(Clock::time_point now) {
    if (phase_ == Phase::Sending && ho_seq_ && now >= ho_deadline_)
        return fence("no answer to the handover");
    if (phase_ == Phase::Sending && !ho_seq_ && pending_ == Pending::None &&
        ho_retry_at_ != Clock::time_point{} && now >= ho_retry_at_) {
        Plan p;
        p.send_handover = true;
        return p;
    }
    if (ask_seq_ && now >= ask_deadline_) {
        ask_seq_ = 0;
        Plan p;
        if (ask_joined_) {
            // The owner's HANDOVER may still come, and is taken (ask 0).
            p.why = "the owner's handover to this site did not end in time: the sites' "
                    "next pairing decides where the volume is";
            p.outcome = Outcome::Uncertain;
        } else {
            p.why = "no answer from the peer";
            p.outcome = Outcome::NoAnswer;
        }
        ask_joined_ = false;
        return p;
    }
    return {};
}

}  // namespace dcc::core
