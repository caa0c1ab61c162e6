// SPDX-License-Identifier: GPL-2.0-only
// What status and events report (see daemon.hpp); the JSON itself is
// built in core/report.
#include <cstdlib>

#include "daemon.hpp"
#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "log.hpp"

namespace dcc::dccd {

using ms = std::chrono::milliseconds;

// The kernel's view of a volume dccd knows (counts, mode, misses): its
// status line, by its device number (one ioctl; new and removed devices
// are the scan's).
void Daemon::refresh_kernel_status(Volume& v) {
    auto dv = volume_at(v.dev);
    v.target_seen = dv && dv->name == v.name;
    if (v.target_seen) v.kst = parse_status(dv->params);
}

VolumeStatus Daemon::state_of(const Volume& v) const {
    VolumeStatus s;
    s.name = v.name;
    s.uuid = format_uuid(v.reg.uuid);
    s.role = role_name(v.own.state().role);
    s.generation = v.generation();
    s.origin = dcc::origin_name(v.own.state().origin);
    s.split = dcc::split_name(v.own.state().split);
    if (v.own.state().split == dcc::Split::Old) s.split_generation = v.own.state().split_generation;
    s.region_bytes = v.region_bytes;
    s.regions = v.reg.nr_regions;
    s.valid = v.reg.nr_regions - std::min<uint64_t>(v.invalid.count(), v.reg.nr_regions);
    if (v.kst) {
        s.mode = v.kst->mode;
        s.valid = v.kst->valid;
        s.dirty = v.kst->dirty;
        s.warm = v.kst->warm();
        s.locked = v.kst->locked;
        s.misses = v.kst->misses;
        s.timeouts = v.kst->timeouts;
        s.waiting = v.kst->waiting;
        s.registration = v.kst->registration;
        s.lease = owner_lease(*v.kst);
        s.replication_mode = v.kst->held ? "sync" : "async";
        s.held_writes = v.kst->held;
    } else {
        s.mode = "unknown";
    }
    s.on_peer_loss = cfg_.on_peer_loss_of(v.name);
    s.alone = v.alone.alone();
    s.fence_epoch = v.alone.fence();
    s.paired = v.own.paired() && link_up_;
    if (*s.paired && v.own.peer()) s.peer_role = role_name(v.own.peer()->role);
    core::Phase ph = v.own.phase();
    s.handover = ph == core::Phase::Paired || ph == core::Phase::Unpaired ? "none" : core::phase_name(ph);
    if (v.peer_absent && link_up_ && !v.own.paired()) {
        s.pairing = "the peer has no such volume";
    } else if (const auto& d = v.own.decision()) {
        s.rule = d->rule;
        s.pairing = d->why;
    }
    // (Warm regions, dirty with every write confirmed, are the same at
    // both sites.)
    if (v.owner()) s.backlog = (v.kst ? v.kst->unreplicated() : 0) + v.rep.owed().count() + (s.regions - s.valid);
    else if (*s.paired) s.backlog = v.peer_backlog;
    s.replication = Flow{v.rep.in_flight(), v.pushed.regions(), v.pushed.bytes(),
                         v.pushed.bytes_per_second()};
    if (v.owner()) s.confirmed = v.confirmed;
    s.hydration = Flow{v.fills.count(core::FillKind::Pull), v.pulled.regions(), v.pulled.bytes(),
                       v.pulled.bytes_per_second()};
    s.hydration_off = v.owner() && cfg_.hydration_rate == 0 && !s.hydrated();
    s.fetch = Flow{v.fills.count(core::FillKind::Fetch), v.fetched.regions(), v.fetched.bytes(),
                   v.fetched.bytes_per_second()};
    s.last_handover_ms = v.last_ho_ms;
    s.fetch_latency = v.fetch_latency;
    // What `dccctl failover` would answer now, short of the witness's word
    // (with the regions lacking here as the kernel last counted them).
    core::FailoverFacts f = failover_facts(v, false);
    f.lacking = s.regions - std::min(s.valid, s.regions);
    if (auto r = core::failover_refusal(f)) {
        s.failover = r->forceable ? "force-only" : "refused";
        s.failover_why = r->why;
    } else {
        s.failover = "ask-witness";
    }
    return s;
}

// What a failover at the replica would lose: in sync, only what was
// written before writes waited for the peer, and what the replica lacks;
// in async, the whole @backlog.
static uint64_t at_risk(const Volume& v, uint64_t backlog) {
    return v.presync ? v.presync->count() + v.rep.owed().count() : backlog;
}

// Fault injection for the tests (DCC_TEST_HOOKS only): with
// DCCD_HOLD_PROGRESS_MS=<ms> an owner's report (PROGRESS) leaves that long
// after it was counted, whatever happened to the link meanwhile, as one
// held up in a connection that outlived a link loss; see dccd(8).
bool Daemon::hold_progress([[maybe_unused]] const wire::Message& m, [[maybe_unused]] Clock::time_point now) {
#ifdef DCC_TEST_HOOKS
    static const long hold = [] {
        const char* e = getenv("DCCD_HOLD_PROGRESS_MS");
        return e ? std::strtol(e, nullptr, 10) : 0L;
    }();
    if (hold > 0) {
        held_progress_.emplace_back(now + ms(hold), m);
        return true;
    }
#endif
    return false;
}

void Daemon::release_progress(Clock::time_point now) {
    while (!held_progress_.empty() && held_progress_.front().first <= now) {
        link_.request(Chan::Ctl, held_progress_.front().second);
        held_progress_.pop_front();
    }
}

// Owner: tell the replica how far behind it is (PROGRESS) when that
// changed, and again every 2 s while anything is behind or at risk, every
// 30 s when nothing is: a PROGRESS lost on a connection that came back
// (no link loss, nothing reset) is made good.  A replica that last heard
// of a backlog refuses a failover without --force until it hears it is
// gone; one that last heard of none is told of a new one with the next
// publish.  The mode (MODE) when it was not told since the sites paired
// and every 10 s: a MODE lost, or overtaken by an older ATTACH_ACK
// (another connection), is made good before a migration could carry the
// wrong mode far.  With a thousand volumes in sync this is some 130
// messages a second, not 600.
void Daemon::tell_progress(Volume& v, uint64_t backlog, Clock::time_point now) {
    uint64_t risk = at_risk(v, backlog);
    auto period = ms(backlog || risk ? 2000 : 30000);
    bool again = v.progress_again && now >= *v.progress_again;
    if (again || backlog != v.progress_sent || risk != v.progress_risk_sent || now - v.progress_time > period) {
        wire::Message m = vmsg(v, wire::Type::Progress, backlog);
        m.arg = risk;
        if (hold_progress(m, now) || link_.request(Chan::Ctl, m)) {
            v.progress_sent = backlog;
            v.progress_risk_sent = risk;
            v.progress_time = now;
            if (again) v.progress_again.reset();
        }
    }
    if (v.mode_sent != v.reg.sync || now - v.mode_time > ms(10000)) {
        wire::Message mode = vmsg(v, wire::Type::Mode);
        mode.arg = v.reg.sync;
        if (link_.request(Chan::Ctl, mode)) {
            v.mode_sent = v.reg.sync;
            v.mode_time = now;
        }
    }
}

// Nothing to do for @v, as last seen: settled, all valid, nothing dirty,
// locked, held or in flight, nobody waiting.
bool Daemon::quiet(const Volume& v) const {
    core::Phase ph = v.own.phase();
    return v.kst && !core::look_for_dirty(v.kst->dirty, v.kst->unreplicated(), keep_warm(v)) &&
           !v.kst->locked && v.kst->valid == v.reg.nr_regions &&
           !v.kst->held.value_or(0) && (ph == core::Phase::Paired || ph == core::Phase::Unpaired) &&
           !v.suspended && !v.rep.busy() && !v.rep.in_flight() && !v.fills.count(core::FillKind::Fetch) &&
           !v.fills.count(core::FillKind::Pull) && v.waiters.empty() && v.written.empty() &&
           v.acks.empty() && !v.attempt;
}

// Refresh what status shows, send events for what changed, and tell the
// replica of each volume this site owns how far behind it is.  Each
// volume is looked at when something touched it (news), while it is not
// quiet, and every 5 s: a thousand idle volumes cost a hundred status
// ioctls a publish, not a thousand.
void Daemon::publish(Clock::time_point now) {
    last_publish_ = now;
    // At most a tenth of the volumes (and 10) for their 5 s look a
    // publish: the rest wait for the next one, so that the looks spread
    // over the 5 s instead of falling on one publish together.
    size_t looks = vols_.size() / 10 + 10;
    for (auto& [_, v] : vols_) {
        v->pushed.sample(now);
        v->pulled.sample(now);
        v->fetched.sample(now);
        // A quiet volume that nothing touched is looked at every 5 s: the
        // kernel tells of what would wake it (a miss, a first dirty
        // region, a change of state) and the rest comes through dccd.
        if (!v->news && quiet(*v)) {
            if (now - v->published < kQuietLook || !looks) continue;
            looks--;
        }
        v->news = false;
        v->published = now;
        bool fresh = true;
        try {
            refresh_kernel_status(*v);
            fresh = v->target_seen;  // else kst is an older line
        } catch (const Error& e) {
            log_warn("%s: %s", v->name.c_str(), e.what());
            fresh = false;
        }
        if (v->kst) {
            // Events may be lost: the status line is the kernel's word too.
            // (The split generation comes with the state events only.)
            auto r = parse_role(v->kst->role);
            auto o = parse_origin(v->kst->origin);
            auto sp = parse_split(v->kst->split == "-" ? "none" : v->kst->split);
            if (r && o && sp) {
                core::SiteState s = v->own.state();
                if (*sp != s.split) s.split_generation = 0;
                s.role = *r;
                s.generation = v->kst->generation;
                s.origin = *o;
                s.split = *sp;
                if (s.split == dcc::Split::Old && !s.split_generation) s = v->own.state();  // wait for the event
                v->own.kernel_state(s);
            }
            // Locks whose bios timed out, or that no fill can end now,
            // are looked at (the kernel keeps them for this daemon).
            if (v->owner() && v->kst->locked &&
                (v->kst->timeouts != v->timeouts_seen || !can_fill(*v)))
                v->release_check = true;
            v->timeouts_seen = v->kst->timeouts;
            // The kernel's mode (a held-write count, or - in async): the
            // events that carry it are hints and may be lost.
            if (fresh) v->reg.sync = v->kst->held.has_value();
            if (v->kst->valid != v->reg.nr_regions - std::min(v->invalid.count(), v->reg.nr_regions)) {
                try {
                    reload_invalid(*v);
                } catch (const Error& e) {
                    log_warn("%s: %s", v->name.c_str(), e.what());
                }
            }
        }
        VolumeStatus st = state_of(*v);
        for (nlohmann::json& e : report::changes(v->shown ? &*v->shown : nullptr, st)) emit(std::move(e));
        v->shown = st;
        // A report counted from an old status line (the kernel did not answer)
        // could predate writes made since the sites paired again.
        if (fresh && v->owner() && v->own.paired() && link_up_ && st.backlog)
            tell_progress(*v, *st.backlog, now);
    }
}

}  // namespace dcc::dccd
