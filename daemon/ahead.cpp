// SPDX-License-Identifier: GPL-2.0-only
// Handover messages of many volumes at once (a migration of many): the
// kernel work of a run of them done side by side on the workers, each
// message then handled in its order as if alone (see receive_control).
#include <algorithm>
#include <functional>

#include "daemon.hpp"
#include "dcc/error.hpp"
#include "log.hpp"
#include "stallwatch.hpp"

namespace dcc::dccd {

// Whether @in is a handover message whose kernel work may be done ahead:
// at the new owner a whole HANDOVER; at the old owner what tells it that
// the new owner took the volume (its answer to the HANDOVER, or its
// ATTACH, which may overtake the answer).  Done ahead
// (receive_control): what a copy of the volume's core decides, under
// exactly the checks receive, on_handover_ack, on_attach and
// take_statement make, from the same inputs.
std::optional<Daemon::AheadOf> Daemon::to_take_ahead(const Incoming& in) {
    const wire::Message& m = in.msg;
    bool ack = !in.request && m.type == wire::Type::HandoverAck;
    bool attach = in.request && m.type == wire::Type::Attach;
    bool handover = in.request && m.type == wire::Type::Handover;
    if ((!ack && !attach && !handover) || !inc_.accept(m.from, m.to)) return std::nullopt;
    Volume* v = by_uuid(m.volume);
    if (!v) return std::nullopt;
    AheadOf a{v};
    core::Ownership probe = v->own;
    core::Plan p;
    if (handover) {
        // New owner: the whole set in this part, nothing of this site's
        // time as replica to end first (flush_acks has nothing to do).
        // (The crash point there is before the persist: nothing ahead.)
        core::PartSet parts = v->ho_in;
        if (crash_armed("handover-received") || !v->written.empty() || !v->acks.empty() ||
            parts.add(m.from, m.seq, m.part, m.parts, m.arg, m.ranges) != core::PartSet::Add::Complete)
            return std::nullopt;
        a.invalid = parts.set();
        if (!a.invalid->empty() && a.invalid->ranges().back().end() > v->reg.nr_regions)
            return std::nullopt;
        p = probe.handover(m.generation, m.region);
        // (Not one that must set or clear the lease flag first: carry_out does.)
        if (!p.persist || p.persist->role != Role::Owner || lease_flag_before(*v, *p.persist))
            return std::nullopt;
        a.to = *p.persist;
        return a;
    }
    // Old owner.  (The crash point there is before the persist.)
    if (!v->suspended || crash_armed("handover-acked")) return std::nullopt;
    if (ack) {
        if (m.status || !v->own.awaits(m.seq, m.generation)) return std::nullopt;
        p = probe.handover_answer(m.seq, m.generation, m.status, m.from);
    } else {
        core::SiteState peer{Role(m.info.role), m.generation, dcc::Origin(m.info.origin),
                             dcc::Split(m.info.split)};
        // (Not one that makes take_statement stop I/O to decide: a failover's.)
        if (!link_up_ || m.info.region_sectors != v->reg.region_sectors ||
            m.info.nr_regions != v->reg.nr_regions ||
            (core::meets_newer_owner(v->own.state(), peer) && v->own.state().split != dcc::Split::Old))
            return std::nullopt;
        try {
            a.dirty_here = kernel_.has_ahead(*v);
        } catch (const Error&) {
            return std::nullopt;
        }
        p = probe.peer_state(peer, false, 0, {*a.dirty_here, m.info.dirty}, {m.from, 0});
    }
    if (!p.persist || p.persist->role != Role::Replica || p.invalidate_dirty) return std::nullopt;
    a.to = *p.persist;
    p = probe.persisted(true);
    a.drop = p.drop_dirty;
    a.resume = p.resume;
    return a;
}

// The kernel work of it, on a worker: replica persisted, then (if it was)
// the old dirty bits dropped and the device resumed, if the plan does so,
// in carry_out's order.  Never throws.
void Daemon::take_ahead(const AheadOf& of, Ahead& a) {
    const Volume& v = *of.v;
    a.to = of.to;
    a.dirty_here = of.dirty_here;
    // New owner: as on_handover_part, then the persist with the set.  Old
    // owner: the persist drops the old dirty bits if the plan does next.
    if (of.invalid) a.cache_dropped = drop_cache_of(v);
    const RangeSet* invalid = of.invalid ? &*of.invalid : nullptr;
    bool cleaned = false;
    std::string note;
    a.error = persist_role(v, of.to, invalid, of.drop, &cleaned, a.why, note);
    if (a.error) return;
    if (of.drop && !cleaned) {
        a.dropped = drop_stale_dirty_kernel(v);
        if (!note.empty()) a.dropped = {true, note + "; " + (a.dropped->second.empty() ? "none dirty" : a.dropped->second)};
    } else if (of.drop) {
        a.dropped = std::pair<bool, std::string>{false, {}};
    }
    if (of.resume) a.resumed = resume_marked(v.name, marker_path(v.name));
}

// The peer's messages on control socket @s, up to @budget, each handled in
// the order it came.  A run of answers that each complete a handover of a
// volume of its own (a migration of many volumes) first has the kernel
// work of each done side by side on the workers; each is then handled as
// if alone, taking those results.  Nothing else is handled in between, so
// every core decides what its copy was asked ahead.
void Daemon::receive_control(zmq::socket_t& s, int budget) {
    std::vector<Incoming> batch;
    while (int(batch.size()) < budget) {
        auto in = link_.receive(s);
        if (!in) break;
        batch.push_back(std::move(*in));
    }
    // A new owner's writes as replica are committed first, as
    // on_handover_part would: a handover finds none waiting, and may be
    // taken ahead.
    for (const Incoming& in : batch)
        if (in.request && in.msg.type == wire::Type::Handover)
            if (Volume* v = by_uuid(in.msg.volume); v && (!v->written.empty() || !v->acks.empty())) {
                try {
                    flush_acks(*v);
                } catch (const Error& e) {
                    log_warn("%s: %s", v->name.c_str(), e.what());
                }
            }
    for (size_t i = 0; i < batch.size();) {
        std::vector<AheadOf> run;
        for (size_t j = i; j < batch.size() && run.size() < 16; j++) {
            auto a = to_take_ahead(batch[j]);
            if (!a || std::any_of(run.begin(), run.end(), [&](auto& r) { return r.v == a->v; })) break;
            run.push_back(*a);
        }
        if (run.size() < 2) {
            receive(batch[i++]);
            continue;
        }
        std::vector<Ahead> ahead(run.size());
        std::vector<std::function<void()>> jobs;
        for (size_t k = 0; k < run.size(); k++)
            jobs.push_back([this, &ahead, &run, k] { take_ahead(run[k], ahead[k]); });
        {
            StallWatch::Busy busy(stall_watch(), "the kernel work of " + std::to_string(jobs.size()) +
                                                     " handover messages on worker threads");
            workers_.run_all(jobs);
        }
        log_info("the kernel work of %zu handover messages done side by side", run.size());
        for (size_t k = 0; k < run.size(); k++) {
            run[k].v->ahead = std::move(ahead[k]);
            receive(batch[i++]);
            run[k].v->ahead.reset();  // (taken by carry_out already)
        }
    }
}

}  // namespace dcc::dccd
