// SPDX-License-Identifier: GPL-2.0-only
// Ownership: pairing, migration, and carrying out what core/ownership
// decides (see daemon.hpp).  core::Ownership says what to do; this file
// does it and reports back; nothing here decides who owns a volume.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "daemon.hpp"
#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "log.hpp"

namespace dcc::dccd {

using ms = std::chrono::milliseconds;
using core::Outcome;
using core::Phase;

// What this site states of a volume in ATTACH and ATTACH_ACK.
wire::VolumeInfo Daemon::info_of(Volume& v) {
    core::SiteState s = v.own.state();
    wire::VolumeInfo i{v.reg.region_sectors, v.reg.nr_regions, uint8_t(s.role)};
    i.origin = uint8_t(s.origin);
    i.split = uint8_t(s.split);
    i.sync = v.reg.sync;
    i.witness = has_witness();
    try {
        i.dirty = kernel_.has_ahead(v);
    } catch (const Error& e) {
        log_warn("%s: %s", v.name.c_str(), e.what());
        i.dirty = true;  // the safe guess: it makes a forced owner see a split brain
    }
    return i;
}

void Daemon::send_attach(Volume& v) {
    wire::Message m = vmsg(v, wire::Type::Attach);
    m.info = info_of(v);
    if (link_.request(Chan::Ctl, m)) {
        v.own.attach_sent(m.seq);
        v.attach_out = true;
    }
    // A peer without the volume says ATTACH itself once it has it again.
    v.attach_due = Clock::now() + (v.peer_absent ? ms(cfg_.heartbeat_ms) * 10 : attach_wait(v));
}

// An answer only counts for the latest ATTACH (Ownership::attach_seq), so
// one is given up on after twice this, and each one given up on doubles
// it: 2, 4, 8, then 16 heartbeats.  A peer slow to answer (a thousand
// volumes pairing on a loaded host) is not sent ATTACHes faster than it
// answers them.
Clock::duration Daemon::attach_wait(const Volume& v) const {
    return ms(cfg_.heartbeat_ms) * (1 << std::min(v.attach_unanswered, 3u));
}

bool Daemon::geometry_ok(const Volume& v, const wire::VolumeInfo& p) const {
    if (p.region_sectors == v.reg.region_sectors && p.nr_regions == v.reg.nr_regions) return true;
    log_warn("%s: the peer's copy has %llu regions of %u sectors, this one %llu of %u: not pairing",
             v.name.c_str(), (unsigned long long)p.nr_regions, p.region_sectors,
             (unsigned long long)v.reg.nr_regions, v.reg.region_sectors);
    return false;
}

// The peer pairs: the rules may change this site first (a burn), so that
// the answer says what holds now.
void Daemon::on_attach(Volume& v, Incoming& in) {
    const wire::Message& m = in.msg;
    // Not while this site sees the link down: a late ATTACH would pair it
    // with a peer it cannot reach, and a failover would then be refused
    // as if the peer were reachable.  Both sides say ATTACH once the link
    // is up again.
    if (!link_up_) return;
    // Nor while a failover is under way here (the spin model's FailingOver
    // pairs with nothing): pairing forgets the owner's report the attempt
    // was let through on.  The peer asks again; the attempt ends in
    // seconds, refused at its grant if the peer is reachable.
    if (v.attempt) return;
    wire::Message r = reply_to(m, wire::Type::AttachAck);
    if (!geometry_ok(v, m.info)) {
        r.status = EINVAL;
        r.info = m.info;
        link_.reply(in, r);
        return;
    }
    v.peer_absent = false;
    bool was = v.own.paired();
    // A replica paired on it forgets its own ATTACH still out and sends
    // another (Ownership::report_floor()).
    take_statement(v, m, false);
    if (v.own.paired() && !was) paired(v);
    // The peer may have paired again on this answer and forgotten the
    // owner's report: an owner reports again at once, and once more a
    // second later, since the first may overtake this answer (another
    // connection) and not count.
    if (v.owner()) {
        v.progress_sent = UINT64_MAX;
        v.progress_again = Clock::now() + ms(1000);
    }
    r.generation = v.generation();
    r.info = info_of(v);
    // The watermark: every request after this answer has a larger seq
    // (core::ReportFloor).
    r.arg = seq_++;
    link_.reply(in, r);
}

void Daemon::on_attach_ack(Volume& v, const wire::Message& m) {
    if (m.seq != v.own.attach_seq()) return;  // answers an earlier ATTACH
    v.attach_out = false;
    v.attach_unanswered = 0;
    if (m.status == ENOENT) {
        if (v.own.paired()) return;  // answers an ATTACH from before the volume came back
        if (!v.peer_absent) log_warn("%s: the peer has no such volume: not paired", v.name.c_str());
        v.peer_absent = true;
        return;
    }
    v.peer_absent = false;
    if (m.status) {
        log_warn("%s: the peer refused to pair the volume: %s", v.name.c_str(), std::strerror(m.status));
        return;
    }
    if (!geometry_ok(v, m.info)) return;
    if (v.attempt) return;  // (as in on_attach: not while failing over)
    bool was = v.own.paired();
    take_statement(v, m, true);
    if (!v.own.paired()) return;
    if (!was) paired(v);
    v.told_old_report = false;  // a new floor (paired on the owner's ATTACH before)
}

// The peer dropped the volume (its device went away): not paired until
// it is back and says ATTACH.
void Daemon::on_detach(Volume& v) {
    log_warn("%s: the peer dropped the volume: not paired", v.name.c_str());
    v.peer_absent = true;
    emit({{"event", "detached"}, {"volume", v.name}, {"peer", peer_site_}});
    carry_out(v, v.own.peer_detached());
    reset_transfers(v);
}

// The peer's statement of its state, from its ATTACH or ATTACH_ACK.  An
// old owner that meets a newer owner by failover stops its I/O before it
// reads its dirty bits and decides (rules 12 and 14): a write accepted
// between the two would be lost, or make a split brain go unseen.
void Daemon::take_statement(Volume& v, const wire::Message& m, bool answer) {
    core::SiteState peer{Role(m.info.role), m.generation, dcc::Origin(m.info.origin),
                         dcc::Split(m.info.split)};
    // (The older site of a recorded split brain serves nothing already.)
    auto must_decide = [&] {
        return core::meets_newer_owner(v.own.state(), peer) && v.own.state().split != dcc::Split::Old;
    };
    bool quiesced = must_decide();
    if (quiesced && !v.suspended) {
        try {
            // Buffered writes reach the device (and its dirty bits) first.
            write_back_logged(v);
            suspend(v);
        } catch (const Error& e) {
            log_warn("%s: cannot stop I/O to decide: %s", v.name.c_str(), e.what());
            return;  // the next ATTACH tries again
        }
    }
    core::Dirt dirt{true, m.info.dirty};
    v.peer_witness = m.info.witness;  // (paired() weighs it)
    if (v.ahead && v.ahead->dirty_here) {
        dirt.here = *v.ahead->dirty_here;  // read when this was decided ahead
    } else {
        try {
            dirt.here = kernel_.has_ahead(v);
        } catch (const Error& e) {
            log_warn("%s: %s", v.name.c_str(), e.what());  // dirty: the safe guess
        }
    }
    try {
        core::Plan p = carry_out(v, v.own.peer_state(peer, answer, answer ? m.seq : 0, dirt,
                                                   {m.from, answer ? m.arg : 0}));
        if (p.ignored && p.why == core::kOlderStatement && !v.logged_older) {
            // Only metadata formatted again at the peer under the same UUID
            // makes this last: a dccd restarted here forgets it.
            log_warn("%s: ignoring the peer's statement (%s, generation %llu): %s", v.name.c_str(),
                     role_name(peer.role), (unsigned long long)peer.generation, p.why);
            v.logged_older = true;
        }
    } catch (const Error& e) {
        log_warn("%s: %s", v.name.c_str(), e.what());
    }
    // Serving again only once this site is no longer the owner that must
    // decide (replica by rule 12, or the older site of a split brain, which
    // serves nothing); if the decision could not be persisted, I/O stays
    // held and the next ATTACH tries again.
    if (quiesced && !must_decide()) resume(v);
    if (core::follows_mode(v.own.state(), peer)) follow_mode(v, m.info.sync);
    if (v.own.paired()) note_owner(v);
}

// A replica keeps its owner's replication mode (core::follows_mode).
void Daemon::follow_mode(Volume& v, bool sync) {
    if (v.reg.sync == sync) return;
    if (int e = kernel_.set_sync(v, sync)) {
        log_warn("%s: %s", v.name.c_str(), kernel_.why("cannot take the owner's replication mode", e).c_str());
        return;  // the next ATTACH or MODE tries again
    }
    v.reg.sync = sync;
    tell_shipper(v);
    log_info("%s: replication mode %s, as the owner's", v.name.c_str(), sync ? "sync" : "async");
    emit({{"event", "mode"}, {"volume", v.name}, {"mode", sync ? "sync" : "async"}, {"from", "owner"}});
}

void Daemon::paired(Volume& v) {
    v.check_pending = true;
    v.peer_absent = false;
    v.logged_older = false;
    v.peer_set_heard = false;  // the replica's INVALID_SET of this pairing is to come
    // The owner may have written while apart: until its next report a
    // failover here cannot tell what this copy lacks, and a report it sent
    // before this pairing, still on its way, does not count.  So the owner
    // reports at once (the link may have looked up all along here).
    if (!v.owner()) {
        v.last_owner_report.reset();
        v.peer_backlog.reset();
        v.told_old_report = false;
    }
    v.progress_sent = UINT64_MAX;
    v.mode_sent.reset();
    auto p = v.own.peer();
    v.owner_forced_gen.reset();
    v.owner_unwitnessed_gen.reset();
    note_owner(v);
    if (v.owner_unwitnessed_gen && has_witness())
        log_warn("%s: the owner runs without a witness (this site has one): it serves without a lease, "
                 "and a failover here needs --force",
                 v.name.c_str());
    log_info("%s: paired with %s (%s there, generation %llu)", v.name.c_str(), peer_site_.c_str(),
             p ? role_name(p->role) : "?", (unsigned long long)v.generation());
}

// Replica: what a failover must weigh of its owner (refusal 3): that it
// took its generation by force, or runs without a witness, as its last
// statement said.  Taken when the sites pair, and again while they stay
// paired when the generation moves on without a new pairing (a handover
// to the peer, the peer's take-back): each statement of the peer's, and
// the old owner's persist of replica after its handover.  Kept while
// they are apart: that is when a failover asks.
void Daemon::note_owner(Volume& v) {
    auto p = v.own.peer();
    // (A statement that is not the owner's of this generation, one of a
    // handover under way, leaves what the last one said.)
    if (v.owner() || !p || p->role != Role::Owner || p->generation != v.generation()) return;
    v.owner_forced_gen.reset();
    v.owner_unwitnessed_gen.reset();
    if (p->origin == dcc::Origin::Forced) v.owner_forced_gen = p->generation;
    if (!v.peer_witness) v.owner_unwitnessed_gen = p->generation;
}

// Carry out what the ownership core decided, in the order of the Plan's
// fields, reporting each persist back; returns the last plan.  With
// @hold_attach the caller sends its answer first and then the ATTACH the
// plan asks for.  What v.ahead says was done already (a persist of that
// state, and what follows it) is taken instead of asking the kernel again.
core::Plan Daemon::carry_out(Volume& v, core::Plan p, bool hold_attach, const RangeSet* taken) {
    struct Done {
        Volume& v;
        ~Done() { v.ahead.reset(); }  // (even if a step throws)
    } done{v};
    return carry_out_steps(v, p, hold_attach, taken);
}

core::Plan Daemon::carry_out_steps(Volume& v, core::Plan p, bool hold_attach, const RangeSet* taken) {
    bool cleaned = false;  // the old dirty bits dropped by the persist (CLEAN)
    for (;;) {
        if (p.ignored) return p;
        if (p.acts()) v.news = true;  // it may change what status shows
        if (p.rule) {
            if (p.rule != v.logged_rule) {
                v.logged_rule = p.rule;
                // A split brain (rule 14) is a warning: an admin must act.
                (p.rule == 14 ? log_warn : log_info)(
                    "%s: pairing rule %d (%s %llu, peer %s %llu): %s", v.name.c_str(), p.rule,
                    role_name(v.own.state().role), (unsigned long long)v.generation(),
                    v.own.peer() ? role_name(v.own.peer()->role) : "?",
                    (unsigned long long)(v.own.peer() ? v.own.peer()->generation : 0), p.why);
                emit({{"event", "pairing"}, {"volume", v.name}, {"rule", p.rule}, {"why", p.why}});
            }
        } else if (*p.why) {
            log_info("%s: %s", v.name.c_str(), p.why);
        }
        if (p.invalidate_dirty) {
            // Rule 12, resolve: the regions written here that the other
            // site never took go (SET_INVALID with FORCE clears their dirty
            // bits in the same commit); fills first, or their locks refuse.
            p.invalidate_dirty = false;
            RangeSet gone;
            int e = 0;
            try {
                cancel_fills(v);
                gone = kernel_.set(v, DCC_SET_DIRTY);
                e = kernel_.set_invalid(v, gone, true);
                if (e)
                    log_warn("%s: %s", v.name.c_str(),
                             kernel_.why("cannot mark the regions written here invalid", e).c_str());
                else
                    reload_invalid(v);
            } catch (const Error& x) {
                log_warn("%s: %s", v.name.c_str(), x.what());
                e = -EIO;
            }
            if (e) {
                p = v.own.persisted(false);
                continue;
            }
            if (!gone.empty())
                log_warn("%s: %llu regions written here and never taken by the peer are dropped; "
                         "they come from the peer",
                         v.name.c_str(), (unsigned long long)gone.count());
        }
        if (p.persist) {
            core::SiteState before = v.own.state(), to = *p.persist;
            // The old owner learnt that the new one took the volume, from its
            // answer or from its ATTACH (they travel on two connections).
            if (before.role == Role::Yielding && to.role == Role::Replica)
                crash_point("handover-acked");
            std::string what = std::string("cannot persist ") + role_name(to.role) + " " +
                               std::to_string(to.generation);
            // Taking the volume: the HANDOVER's set goes invalid in the same commit.
            const RangeSet* invalid = to.role == Role::Owner && before.role == Role::Replica ? taken : nullptr;
            taken = nullptr;
            int e;
            if (v.ahead && v.ahead->to == to) {
                e = v.ahead->error;
                if (e) log_warn("%s: %s: %s", v.name.c_str(), what.c_str(), v.ahead->why.c_str());
            } else {
                v.ahead.reset();  // (for another plan: not ours to take)
                std::string why, note;
                e = lease_flag_first(v, to, why);
                if (!e) e = persist_role(v, to, invalid, drops_dirty_after(v, to), &cleaned, why, note);
                if (!note.empty()) log_warn("%s: %s", v.name.c_str(), note.c_str());
                if (e) log_warn("%s: %s: %s", v.name.c_str(), what.c_str(), why.c_str());
            }
            if (!e && invalid) {
                for (const Range& x : invalid->ranges()) v.invalid.add(x.start, x.count);
            } else if (e && invalid && invalid->ranges().size() > DCC_MAX_RANGES_PER_REQUEST) {
                // Its first ranges went invalid before the SET_ROLE failed.
                try {
                    reload_invalid(v);
                } catch (const Error& x) {
                    log_warn("%s: %s", v.name.c_str(), x.what());
                }
            }
            p = v.own.persisted(e == 0);
            if (!e) {
                role_changed(v, before);
                if (to.role == Role::Yielding) crash_point("handover-demoted");
                if (to.role == Role::Owner && before.role == Role::Replica)
                    crash_point("handover-applied");
            }
            continue;
        }
        if (p.send_handover) {
            uint64_t base = 0;
            bool queued = send_handover(v, &base);
            if (queued) crash_point("handover-sent");
            // A full queue passes; a set too large for one message set never does.
            bool can_retry = queued || core::split_parts(v.ho_set, wire::kMaxRanges).size() <= wire::kMaxParts;
            p = v.own.sent(queued, base, Clock::now(), can_retry);
            continue;
        }
        if (p.drop_dirty && cleaned) {
            cleaned = false;  // (by the persist: nothing to log)
        } else if (p.drop_dirty) {
            if (v.ahead && v.ahead->dropped) {
                auto& [warn, line] = *v.ahead->dropped;
                if (!line.empty()) (warn ? log_warn : log_info)("%s: %s", v.name.c_str(), line.c_str());
            } else {
                drop_stale_dirty(v);
            }
        }
        if (p.resume) {
            if (v.ahead && v.ahead->resumed) resumed(v, *v.ahead->resumed);
            else resume(v);
        }
        if (p.invalid_set) v.invalid_set_owed = true;
        if (p.attach && link_up_ && !hold_attach) send_attach(v);
        if (p.outcome != Outcome::None) settle_outcome(v, p.outcome, p.why);
        return p;
    }
}

// After the kernel committed a new role or generation.
void Daemon::role_changed(Volume& v, core::SiteState before) {
    pull_gate_.role_changed(Clock::now());
    bool was_owner = before.role == Role::Owner;
    if (was_owner != v.owner())
        drop_page_cache(v);  // nothing read or written before may be served after
    // (The new role is persisted: a failure to talk to the kernel here is
    // logged, and the rest of the plan still runs.)
    try {
        if (was_owner && !v.owner()) {
            // Nothing of an ownership survives it: no fill, no push.
            v.rep = core::Replicator();
            cancel_fills(v);
        }
        if (!was_owner && v.owner()) {
            v.peer_backlog.reset();
            v.last_owner_report.reset();
            v.check_pending = true;
            flush_acks(v);  // pushes taken as a replica are answered as one
            reload_invalid(v);
        }
    } catch (const Error& e) {
        log_warn("%s: %s", v.name.c_str(), e.what());
    }
    v.progress_sent = UINT64_MAX;
    v.mode_sent.reset();
    // Leases belong to one ownership: a new one starts with none, and asks
    // for them at once (the kernel holds its I/O until it has one).
    v.peer_lease.drop();
    v.witness_lease.drop();
    v.renewals.clear();
    v.next_renew = {};
    v.lease_told = false;
    if (v.owner() && has_witness()) last_ping_ = {};
    // Handed over: the peer owns the next generation (its answer said so).
    if (before.role == Role::Yielding && v.own.state().role == Role::Replica) note_owner(v);
}

// The HANDOVER set, every part or none: false if a part could not be queued.
bool Daemon::send_handover(Volume& v, uint64_t* base) {
    if (!send_set(v, wire::Type::Handover, v.own.handover_generation(), v.own.handover_ask(),
                  v.ho_set, base))
        return false;
    log_info("%s: handing over to %s: generation %llu, %llu dirty regions", v.name.c_str(),
             peer_site_.c_str(), (unsigned long long)v.own.handover_generation(),
             (unsigned long long)v.ho_set.count());
    return true;
}

// New owner: a part of the old owner's dirty set.  On the whole set, the
// set becomes invalid here and this site owns the next generation.
void Daemon::on_handover_part(Volume& v, Incoming& in) {
    const wire::Message& m = in.msg;
    auto add = v.ho_in.add(m.from, m.seq, m.part, m.parts, m.arg, m.ranges);
    if (add == core::PartSet::Add::Bad) {
        log_warn("%s: an inconsistent handover set: dropped", v.name.c_str());
        return;
    }
    if (add == core::PartSet::Add::Incomplete) return;
    RangeSet set = v.ho_in.set();
    uint64_t base = v.ho_in.base();
    v.ho_in.clear();
    wire::Message r = reply_to(m, wire::Type::HandoverAck);
    r.seq = base;
    r.generation = m.generation;
    if (!set.empty() && set.ranges().back().end() > v.reg.nr_regions) {
        log_warn("%s: a handover names regions past the end: refused", v.name.c_str());
        r.status = EINVAL;
        link_.reply(in, r);
        return;
    }
    crash_point("handover-received");
    auto start = in.at;  // (its kernel work may have been done ahead)
    bool asked = v.own.asking();
    flush_acks(v);  // pushes taken so far are answered as a replica's
    core::Plan p = v.own.handover(m.generation, m.region);
    if (p.persist && p.persist->role == Role::Owner) {
        // Timed from the ask at the site that asked, from here at the other.
        if (!asked) v.ho_start = start;
        // Nothing cached from this site's time as replica may be read, and
        // the old owner's newer regions are fetched, not read from here:
        // the persist makes them invalid in its commit (carry_out).
        if (v.ahead && v.ahead->cache_dropped) {  // done ahead (receive_control)
            if (!v.ahead->cache_dropped->empty())
                log_warn("%s: %s", v.name.c_str(), v.ahead->cache_dropped->c_str());
        } else {
            drop_page_cache(v);
        }
    }
    p = carry_out(v, p, true, &set);
    r.status = p.reply.value_or(EPROTO);
    if (!r.status) {
        v.last_ho_ms = std::chrono::duration_cast<ms>(Clock::now() - start).count();
        log_info("%s: this site owns generation %llu now; %llu regions to fetch from %s",
                 v.name.c_str(), (unsigned long long)v.generation(),
                 (unsigned long long)v.invalid.count(), peer_site_.c_str());
    } else if (r.status == ECANCELED) {
        log_warn("%s: refused the handover of generation %llu for good (its migration was "
                 "reported as failed here)",
                 v.name.c_str(), (unsigned long long)m.generation);
    }
    link_.reply(in, r);
    // The answer first: the old owner mostly learns the outcome from it
    // (this ATTACH goes on another connection and may still overtake it).
    if (p.attach && link_up_) send_attach(v);
}

// Old owner: the answer to our HANDOVER; or, at a replica, the owner's
// refusal of our HANDOVER_ASK.
void Daemon::on_handover_ack(Volume& v, const wire::Message& m) {
    if (!v.own.awaits(m.seq, m.generation)) {
        carry_out(v, v.own.ask_refused(m.seq, m.status));
        return;
    }
    carry_out(v, v.own.handover_answer(m.seq, m.generation, m.status, m.from));
    v.told_old_report = false;
}

// Replica: ask the owner to hand over; answered when its HANDOVER arrives,
// or refused by the core's deadline.
std::optional<Failure> Daemon::ask_handover(Volume& v) {
    if (v.own.asking()) return Failure{control::Code::Busy, "a migration to this site is already asked for"};
    if (!link_up_ || !v.own.paired())
        return Failure{control::Code::NoPeer,
                       std::string("the volume is not paired with the peer") +
                           (link_up_ && v.peer_absent ? ": the peer has no such volume" : "")};
    wire::Message m = vmsg(v, wire::Type::HandoverAsk);
    if (!link_.request(Chan::Ctl, m)) return Failure{control::Code::NoPeer, "cannot reach the peer"};
    v.own.ask(m.seq, Clock::now());
    v.ho_start = Clock::now();
    return std::nullopt;
}

// Whether persisting @to now is followed by dropping the old dirty bits
// (what the core plans once that persist succeeded): then the persist
// drops them in its own commit.  Only from a role that serves no I/O (the
// kernel's rule for CLEAN): an owner's bits go after, as before.
bool Daemon::drops_dirty_after(const Volume& v, core::SiteState to) const {
    if (to.role != Role::Replica || v.own.state().role == Role::Owner) return false;
    core::Ownership probe = v.own;
    return probe.persisted(true).drop_dirty;
}

// Persist @to (with @invalid made invalid, and with @clean the dirty bits
// dropped) in one commit; *@cleaned says whether they were.  A kernel that
// refuses CLEAN because a write is still in flight (EBUSY, ETIMEDOUT) gets
// the persist without it (@note says so): the bits then go by
// drop_stale_dirty, as the core plans.  Returns 0 or the error, explained
// in @why.  Runs on a worker too: never throws, logs nothing.
int Daemon::persist_role(const Volume& v, core::SiteState to, const RangeSet* invalid, bool clean,
                         bool* cleaned, std::string& why, std::string& note) {
    *cleaned = false;
    int e = kernel_.guarded(why, [&] { return kernel_.set_role(v, to, invalid, clean); });
    if (clean && (e == -EBUSY || e == -ETIMEDOUT)) {
        note = "the old dirty bits not dropped with the persist (" + why + ")";
        clean = false;
        e = kernel_.guarded(why, [&] { return kernel_.set_role(v, to, invalid, false); });
    }
    *cleaned = clean && !e;
    return e;
}

// A site that is replica keeps no dirty bits: the owner took those
// regions as invalid when it took the volume, so they are owed no more.
void Daemon::drop_stale_dirty(Volume& v) {
    auto [warn, line] = drop_stale_dirty_kernel(v);
    if (!line.empty()) (warn ? log_warn : log_info)("%s: %s", v.name.c_str(), line.c_str());
}

// The kernel's part of it, which runs on a worker too: what to log (a
// warning or not; "" if nothing was dirty).  Never throws.
std::pair<bool, std::string> Daemon::drop_stale_dirty_kernel(const Volume& v) {
    RangeSet dirty;
    try {
        dirty = kernel_.set(v, DCC_SET_DIRTY);
    } catch (const Error& e) {
        return {true, std::string("cannot drop the old dirty bits: ") + e.what()};
    }
    if (dirty.empty()) return {false, {}};
    uint64_t cleared = 0;
    std::string why;
    int e = kernel_.guarded(why, [&] { return kernel_.arm(v, dirty); });
    if (!e) e = kernel_.guarded(why, [&] { return kernel_.clear_dirty(v, dirty, &cleared); });
    if (e) return {true, "cannot drop the old dirty bits: " + why};
    return {false, std::to_string(cleared) + " dirty bits of an earlier ownership dropped"};
}

// Tell the clients waiting for a migration of @v how it ended.
void Daemon::settle_outcome(Volume& v, Outcome o, const char* why) {
    using control::Code;
    switch (o) {
    case Outcome::Done: {
        auto took = std::chrono::duration_cast<ms>(Clock::now() - v.ho_start).count();
        if (!v.owner()) v.last_ho_ms = took;
        log_info("%s: %s owns generation %llu now (%lld ms)", v.name.c_str(),
                 v.owner() ? cfg_.site.c_str() : peer_site_.c_str(),
                 (unsigned long long)v.generation(), (long long)took);
        answer(v, {{"ok", true},
                   {"owner", v.owner() ? cfg_.site : peer_site_},
                   {"generation", v.generation()},
                   {"handover_ms", took}});
        return;
    }
    case Outcome::Refused: return answer_failure(v, {Code::Refused, why});
    case Outcome::NoAnswer: return answer_failure(v, {Code::NoPeer, why});
    case Outcome::Uncertain: return answer_failure(v, {Code::Uncertain, why});
    case Outcome::None: return;
    }
}

}  // namespace dcc::dccd
