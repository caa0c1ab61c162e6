// SPDX-License-Identifier: GPL-2.0-only
// Fills (fetch, pull) and replication (push, clear) (see daemon.hpp).
// core/fills and core/replication decide which answer counts and which
// dirty bit may be cleared; this file moves the data.
//
//   owner:   fetches missing regions from the peer when a bio waits for
//            them (control channel), pulls the other missing regions in
//            the background (bulk channel, within hydration_rate), and
//            pushes dirty regions, and any the peer lacks, to the peer (bulk
//            channel, within replication_rate);
//   replica: writes pushed regions and makes them durable before it
//            answers, tells the owner which regions it lacks, serves the
//            owner's fetches and pulls.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "daemon.hpp"
#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "log.hpp"
#include "stallwatch.hpp"

namespace dcc::dccd {

using ms = std::chrono::milliseconds;
using core::FillKind;

void Daemon::reload_invalid(Volume& v) { v.invalid = kernel_.set(v, DCC_SET_INVALID); }

// The link reset or the peer restarted: what was in flight is gone.
void Daemon::reset_transfers(Volume& v) {
    try {
        end_fills(v);  // their data is in place: keep it
    } catch (const Error& e) {
        log_warn("%s: %s", v.name.c_str(), e.what());
    }
    v.rep.reset();
    v.fills.reset();  // the regions stay locked and are asked for again
    v.acks.clear();   // unanswered pushes are sent again
    v.ho_in.clear();
    v.invalid_in.clear();
    v.attach_out = false;
    v.attach_unanswered = 0;
    v.check_pending = true;
    v.peer_backlog.reset();
    v.progress_sent = UINT64_MAX;
    v.mode_sent.reset();
}

// A fetch or pull of the owner's, answered from this site's copy.
void Daemon::serve_fill(Volume& v, Incoming& in) {
    const wire::Message& m = in.msg;
    wire::Message r = reply_to(m, m.type == wire::Type::Fetch ? wire::Type::FetchReply
                                                                : wire::Type::PullReply);
    r.generation = v.generation();
    // Only a replica of the asker's generation answers: its copy is what
    // the owner took over, and nothing writes it meanwhile.
    if (v.own.state().role != Role::Replica || m.generation != v.generation()) r.status = ESTALE;
    else if (m.region >= v.reg.nr_regions) r.status = ERANGE;
    if (!r.status && v.invalid.contains(m.region)) {
        reload_invalid(v);  // it may have been written whole here since
        if (v.invalid.contains(m.region)) r.status = ENODATA;
    }
    if (r.status) {
        link_.reply(in, r);
        return;
    }
    uint64_t region = m.region;  // (m is in's: moved below)
    data_call({.v = &v,
               .region = region,
               .in = std::move(in),
               .offset = region * v.region_bytes,
               .len = v.region_len(region),
               .then = &Daemon::fill_served,
               .what = "a read (a fill's answer)"});
}

void Daemon::fill_served(DataCall& c) {
    const wire::Message& m = c.in.msg;
    wire::Message r = reply_to(m, m.type == wire::Type::Fetch ? wire::Type::FetchReply
                                                                : wire::Type::PullReply);
    r.generation = c.v->generation();
    r.status = c.err;
    link_.reply(c.in, r, c.buf, c.len);
}

// A replica writes a pushed region; it answers once the region is durable.
void Daemon::apply_push(Volume& v, Incoming& in) {
    const wire::Message& m = in.msg;
    wire::Message r = reply_to(m, wire::Type::PushAck);
    int err = 0;
    if (v.own.state().role != Role::Replica || m.generation != v.generation()) err = ESTALE;
    else if (m.region >= v.reg.nr_regions) err = ERANGE;
    else if (in.payload.size() != v.region_len(m.region)) err = EINVAL;
    // Never over a newer push or sync write of the same region (a late
    // or repeated one).  Remembered only once written: a sync write older
    // than a push that failed here is not covered by it.
    else if (!v.order.fresh(m.region, m.seq, m.arg)) err = ESTALE;
    bool was_invalid = !err && v.invalid.contains(m.region);
    if (was_invalid) {
        int e = kernel_.fill_begin(v, m.region);
        if (e == -EEXIST) {
            v.invalid.remove(m.region);  // valid here after all: a plain overwrite
            was_invalid = false;
        } else if (e) {
            err = -e;
        }
    }
    if (err) {
        if (was_invalid) kernel_.fill_done(v, m.region, err);
        r.status = err;
        link_.reply(in, r);
        return;
    }
    write_payload(v, in, was_invalid, &Daemon::push_written, "a write (a push)");
}

// @in's payload written over its region, then @then (flag: @flag).
void Daemon::write_payload(Volume& v, Incoming& in, bool flag, void (Daemon::*then)(DataCall&),
                           const char* what) {
    uint64_t region = in.msg.region;  // (read before in is moved)
    size_t len = in.payload.size();
    data_call({.v = &v,
               .region = region,
               .in = std::move(in),
               .write = true,
               .offset = region * v.region_bytes,
               .len = len,
               .flag = flag,
               .then = then,
               .what = what});
}

void Daemon::push_written(DataCall& c) {
    Volume& v = *c.v;
    const wire::Message& m = c.in.msg;
    bool was_invalid = c.flag;
    if (!c.err) v.order.take(m.region, m.seq, m.arg);
    if (was_invalid && !c.err) {
        // Valid, and answered, with the next batch of fills.
        uncommitted(v);
        v.written.push_back({m.region, c.len, &v.pushed, std::move(c.in)});
        return;
    }
    if (was_invalid) kernel_.fill_done(v, m.region, c.err);
    if (c.err) {
        wire::Message r = reply_to(m, wire::Type::PushAck);
        r.status = c.err;
        link_.reply(c.in, r);
        return;
    }
    uncommitted(v);
    v.acks.push_back(std::move(c.in));
}

// A replica writes one of the owner's held writes (synchronous
// replication) and answers once it is durable, with the pushes' flush.
// The order with the pushes of its region is core::PushOrder's.
void Daemon::apply_sync_write(Volume& v, Incoming& in) {
    const wire::Message& m = in.msg;
    wire::Message r = reply_to(m, wire::Type::SyncAck);
    uint64_t sector = m.arg, sectors = in.payload.size() / 512;
    uint64_t rs = v.reg.region_sectors;
    int err = 0;
    if (v.own.state().role != Role::Replica || m.generation != v.generation() ||
        v.own.state().split != dcc::Split::None)
        err = ESTALE;
    else if (!sectors || in.payload.size() % 512 || sector / rs != m.region ||
             (sector + sectors - 1) / rs != m.region || m.region >= v.reg.nr_regions ||
             sector + sectors > v.reg.data_sectors)
        err = EINVAL;
    if (!err) {
        switch (v.order.take_write(m.region, m.seq)) {
        case core::SyncTake::Stale: err = ESTALE; break;
        case core::SyncTake::Covered:
            // A newer push holds it, if that push reached the disk: not
            // trusted once a flush here failed (its error is told once).
            if (v.flush_failed) err = EIO;
            break;
        case core::SyncTake::Apply: {
            std::memcpy(buf_.get(), in.payload.data(), in.payload.size());
            StallWatch::Busy busy(stall_watch(), on_data(v, "a write (a sync write)", sector * 512));
            err = write_full(v.data_fd, buf_.get(), in.payload.size(), sector * 512);
            break;
        }
        }
    }
    if (err) {
        r.status = err;
        link_.reply(in, r);
        return;
    }
    // Answered at the end of this batch of control messages, with the
    // other sync writes of the batch and the pushes taken so far (one
    // flush): an application write waits for this answer, and the loop
    // may be long in bulk work.
    uncommitted(v);
    v.acks.push_back(std::move(in));
    v.sync_waits = sync_waits_ = true;
}

void Daemon::flush_sync_writes() {
    if (!std::exchange(sync_waits_, false)) return;
    for (auto& [_, v] : vols_) {
        if (!std::exchange(v->sync_waits, false)) continue;
        try {
            flush_acks(*v);
        } catch (const Error& e) {
            // (What flush_acks did not answer, a later round does.)
            log_warn("%s: %s", v->name.c_str(), e.what());
        }
    }
}

void Daemon::flush_acks(Volume& v) {
    end_fills(v);
    if (v.acks.empty()) return;
    int err;
    {
        StallWatch::Busy busy(stall_watch(), "a flush of " + v.name + "'s data device");
        err = fdatasync(v.data_fd) ? errno : 0;
    }
    if (err) v.flush_failed = true;
    uint64_t syncs = 0;
    auto now = Clock::now();
    for (const Incoming& in : v.acks) {
        bool sync = in.msg.type == wire::Type::SyncWrite;
        syncs += sync;
        if (sync)
            sync_answered_.us +=
                uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(now - in.at).count());
        if (!err && !sync) v.pushed.add(in.payload.size());
        wire::Message r = reply_to(in.msg, sync ? wire::Type::SyncAck : wire::Type::PushAck);
        r.status = err;
        link_.reply(in, r);
    }
    v.acks.clear();
    if (!syncs) return;
    // How well sync writes share flushes, in the log every 10 s.
    sync_answered_.writes += syncs;
    sync_answered_.flushes++;
    if (now - sync_answered_.logged > std::chrono::seconds(10)) {
        log_info("sync: answered %llu writes of the owner with %llu flushes, on average %llu us "
                 "after their receipt",
                 (unsigned long long)sync_answered_.writes, (unsigned long long)sync_answered_.flushes,
                 (unsigned long long)(sync_answered_.us / sync_answered_.writes));
        sync_answered_ = {.logged = now};
    }
}

// End the fills written so far with as few FILL_DONEs as the kernel takes
// (it flushes the data device before it records a region valid).  If it
// refuses a batch, each fill is ended alone, so that one bad region does
// not fail the others.
void Daemon::end_fills(Volume& v) {
    if (v.written.empty()) return;
    std::vector<WrittenFill> batch;
    batch.swap(v.written);
    RangeSet all;
    for (const WrittenFill& w : batch) all.add(w.region, 1);
    std::map<uint64_t, int> result;  // region -> 0 or -errno
    if (kernel_.fill_done(v, all.ranges())) {
        for (const WrittenFill& w : batch) {
            int e = kernel_.fill_done(v, w.region);
            if (e)
                log_warn("%s: region %llu: %s", v.name.c_str(), (unsigned long long)w.region,
                         kernel_.why("the kernel refused the fill", e).c_str());
            result[w.region] = e;
        }
    }
    for (WrittenFill& w : batch) {
        int e = result[w.region];
        v.fills.done(w.region);
        if (!e) {
            v.invalid.remove(w.region);
            w.meter->add(w.bytes);
            if (w.waited_since)
                v.fetch_latency.observe(
                    std::chrono::duration<double>(Clock::now() - *w.waited_since).count());
        }
        if (w.ack) {
            wire::Message r = reply_to(w.ack->msg, wire::Type::PushAck);
            r.status = -e;
            link_.reply(*w.ack, r);
        }
    }
}

// This site stops filling (it gave the volume up): what is written is
// kept, every other fill ends in the kernel, so that no lock is left.
// That includes the misses not asked for yet (a bio came a moment before
// the handover and its event is still queued): the kernel's pending set
// is the list, not what this daemon knows of.  Their bios were handed
// back to dm by the suspend, or fail now: this site serves no I/O.
void Daemon::cancel_fills(Volume& v) {
    end_fills(v);
    v.fills.clear();
    RangeSet pending = kernel_.set(v, DCC_SET_PENDING);
    if (pending.empty()) return;
    if (kernel_.fill_done(v, pending.ranges(), ECANCELED))
        for (const Range& x : pending.ranges())
            for (uint64_t r = x.start; r < x.end(); r++)
                if (int e = kernel_.fill_done(v, r, ECANCELED); e && e != -ENOENT)
                    log_warn("%s: region %llu: %s", v.name.c_str(), (unsigned long long)r,
                             kernel_.why("cannot end the fill", e).c_str());
}

// A fetch or pull came back: write it if it is the answer we wait for;
// the kernel hears of it with the next batch of fills, at once for a
// fetch (a bio waits for it).
void Daemon::finish_fill(Volume& v, Incoming& in) {
    const wire::Message& m = in.msg;
    auto now = Clock::now();
    if (v.fills.answer(m.region, m.seq, m.generation, v.generation(), m.status, now) !=
        core::Fills::Verdict::Take)
        return;
    const core::Fill* f = v.fills.find(m.region);
    bool fetch = f->kind == FillKind::Fetch;
    int err = m.status;
    if (!err && in.payload.size() != v.region_len(m.region)) err = EINVAL;
    if (!err) {
        // Still this registration's fill?  The data device is written past
        // the target, and a table removed and created again (not a reload,
        // which carries the locks over) holds none of this fill's locks:
        // the region may hold the application's write by now.  FILL_BEGIN
        // answers 0 for a fill of this registration's own.
        if (int e = kernel_.fill_begin(v, m.region)) {
            log_warn("%s: region %llu: the peer's data not written: %s", v.name.c_str(),
                     (unsigned long long)m.region,
                     kernel_.why("the kernel no longer holds the fill", e).c_str());
            if (e == -EEXIST) v.invalid.remove(m.region);
            v.fills.done(m.region);
            return;
        }
        write_payload(v, in, fetch, &Daemon::fill_written, "a write (a fill)");
        return;
    }
    fill_failed(v, m.region, err);
}

void Daemon::fill_written(DataCall& c) {
    Volume& v = *c.v;
    if (c.err) return fill_failed(v, c.region, c.err);
    bool fetch = c.flag;
    auto waited = v.fills.waited_since(c.region);
    v.fills.written(c.region);
    uncommitted(v);
    v.written.push_back({c.region, c.len, fetch ? &v.fetched : &v.pulled, {}, waited});
    if (fetch || waited) end_fills(v);  // a bio waits for it
}

void Daemon::fill_failed(Volume& v, uint64_t region, int err) {
    log_warn("%s: region %llu could not be filled from the peer: %s", v.name.c_str(),
             (unsigned long long)region, std::strerror(err));
    if (int e = kernel_.fill_done(v, region, err))
        log_warn("%s: region %llu: %s", v.name.c_str(), (unsigned long long)region,
                 kernel_.why("the kernel refused the failed fill", e).c_str());
    v.fills.done(region);
}

// Owner: ask the peer for every region a bio waits for.
void Daemon::serve_pending(Volume& v) {
    v.check_pending = false;
    if (!v.owner()) return;  // a replica's bios fail: none waits
    // Only regions a bio waits for: a background pull's lock is pending
    // too, and asking for those on the control channel would queue this
    // miss behind them.
    auto now = Clock::now();
    RangeSet waiting = kernel_.set(v, DCC_SET_WAITING);
    v.fills.seen_waiting(waiting, now);  // each wait's clock, for the latency
    if (!can_fill(v)) {
        // Unpaired: the kernel's bound applies to the bios that need the
        // data; a whole-region write need not wait for it at all.
        v.release_check = true;
        return;
    }
    Range run{};  // the regions just asked for, one after another
    auto ran = [&] { v.misses.fetched(run.start, run.count, cfg_.window, now); };
    bool written = false;  // a bio waits for a region written, not yet valid
    for (const Range& x : waiting.ranges())
        for (uint64_t r = x.start; r < x.end(); r++) {
            const core::Fill* f = v.fills.find(r);
            // A fetch in flight is asked again only if its answer is late;
            // a region written is made valid now.
            if (f && f->written) {
                written = true;
                continue;
            }
            if (f && f->kind == FillKind::Fetch && f->seq && now < f->retry_at) continue;
            wire::Message m = vmsg(v, wire::Type::Fetch, r);
            bool sent = link_.request(Chan::Ctl, m);
            v.fills.asked(r, FillKind::Fetch, sent ? m.seq : 0,
                          sent ? now + ms(cfg_.link_timeout_ms) : now);
            if (run.count && r == run.end()) {
                run.count++;
            } else {
                ran();
                run = {r, 1};
            }
        }
    ran();
    if (written) end_fills(v);
}

bool Daemon::can_fill(const Volume& v) const { return v.owner() && v.own.paired() && link_up_; }

// Owner: give back the fills nobody will do soon (core::Fills::to_release
// says which), so that no region stays locked once its bios are gone, and
// a whole-region write never waits for a fill that cannot come.
void Daemon::release_fills(Volume& v) {
    v.release_check = false;
    if (!v.owner()) return;
    RangeSet pending = kernel_.set(v, DCC_SET_PENDING);
    if (pending.empty()) return;
    RangeSet waiting = kernel_.set(v, DCC_SET_WAITING);
    bool fill = can_fill(v);
    RangeSet give = v.fills.to_release(pending, waiting, fill);
    if (give.empty()) return;
    // Forgotten before the kernel is asked: a late answer is dropped, even
    // if the reply is lost after the locks went.  Those the kernel keeps
    // (a bio needs them) are asked for again once the peer can answer.
    v.fills.give_back(give);
    if (fill) v.check_pending = true;
    uint64_t released = 0;
    if (int e = kernel_.fill_release(v, give, &released)) {
        log_warn("%s: %s", v.name.c_str(), kernel_.why("cannot give back fills", e).c_str());
        return;
    }
    if (released)
        log_info("%s: %llu fills given back: %s", v.name.c_str(), (unsigned long long)released,
                 fill ? "their bios timed out" : "the peer cannot answer now");
}

// Owner: pull regions missing here in the background, a window at a time.
void Daemon::hydrate(Volume& v, Clock::time_point now) {
    if (!v.owner() || !v.own.paired() || !link_up_) return;
    auto ask = [&](uint64_t r) {
        wire::Message m = vmsg(v, wire::Type::Pull, r);
        bool sent = link_.request(Chan::Bulk, m);
        v.fills.asked(r, FillKind::Pull, sent ? m.seq : 0,
                      sent ? now + ms(2 * cfg_.link_timeout_ms) : now);
        return sent;
    };
    // Pulls not answered in time (or not sent) go again: the region is
    // locked in the kernel until one is answered.
    for (uint64_t r : v.fills.due(FillKind::Pull, now))
        if (!ask(r)) return;
    if (!pull_gate_.may_begin(now) || pull_pace_.rate() == 0) return;
    if (v.fills.count(FillKind::Fetch)) v.misses.waiting(now);
    // Pull what @set holds while fewer than @limit pulls are in flight;
    // false once this round must pull no more.
    auto pull = [&](const RangeSet& set, size_t limit) {
        for (const Range& x : set.ranges())
            for (uint64_t r = x.start; r < x.end(); r++) {
                if (v.fills.count(FillKind::Pull) >= limit) return true;
                if (v.fills.has(r)) continue;
                if (!pull_pace_.may(v.region_len(r), now)) return false;
                int e = kernel_.fill_begin(v, r);
                if (e == -EEXIST) {
                    v.invalid.remove(r);  // written whole meanwhile
                    return false;
                }
                if (e) continue;  // being overwritten: valid soon
                v.fills.begun(r);
                pull_pace_.took(v.region_len(r));
                if (!ask(r)) return false;
            }
        return true;
    };
    // Ahead of a reader's sweep first, at the full window; the rest while
    // no bio waits for a fetch, or one at a time (core::MissOrder).
    Range ahead = v.misses.ahead(now);
    if (ahead.count) {
        RangeSet zone;
        zone.add(ahead.start, ahead.count);
        if (!pull(v.invalid.intersect(zone), cfg_.window)) return;
    }
    // (The invalid set is copied only when a pull may begin: most rounds
    // find the window full.)
    size_t limit = v.misses.window(cfg_.window, now);
    if (v.fills.count(FillKind::Pull) < limit) pull(RangeSet(v.invalid), limit);
}

// Owner: push dirty regions, and those the peer lacks, within the rate.
void Daemon::replicate(Volume& v, Clock::time_point now) {
    if (!v.owner() || !v.own.paired() || !link_up_) return;
    if (v.rep.wants_refill(now)) {
        bool look = v.rep.owed().empty() &&
                    (!v.kst || core::look_for_dirty(v.kst->dirty, v.kst->unreplicated(), keep_warm(v)));
        nl::RegionsReply dirty;
        if (look) dirty = kernel_.page(v, DCC_SET_DIRTY, v.dirty_cursor);
        std::optional<uint64_t> next = dirty.next;
        if (look && v.reg.sync && !dirty.ranges.empty()) {
            // What the peer confirmed write by write goes without a push,
            // and stays dirty (warm) unless more than warm_regions are.
            nl::RegionsReply unc = kernel_.page(v, DCC_SET_UNCONFIRMED, v.dirty_cursor);
            core::DirtySplit split = core::split_dirty(dirty.ranges, unc.ranges, unc.next);
            if (split.next) next = split.next;
            dirty.ranges = std::move(split.push);
            uint64_t keep = keep_warm(v);
            uint64_t over = keep ? core::warm_over(v.kst->dirty, v.kst->unreplicated(), keep)
                                 : split.confirmed.count();
            uint64_t cleared = clear_confirmed(v, core::warm_excess(split.confirmed, over));
            // (The status line is read every 500 ms, refills come every
            // 100: the next one must not clear the same excess again.)
            if (v.kst) v.kst->dirty -= std::min(v.kst->dirty, cleared);
        }
        v.rep.refill(v.invalid, dirty.ranges, 256, now);
        if (look) v.dirty_cursor = next.value_or(0);
    }
    // Batches of regions read side by side, each then sent in order,
    // while the window and the rate allow.
    batch_buf(kDataBatch - 1);  // (all made before a region is armed)
    for (;;) {
        std::vector<DataCall> reads;
        std::vector<core::PushItem> items;
        std::vector<wire::Message> msgs;
        // The rate decides region by region, as if each went at once.
        core::Pacer pace = push_pace_.trial(now);
        size_t room = cfg_.window > v.rep.in_flight() ? cfg_.window - v.rep.in_flight() : 0;
        try {
            while (reads.size() < std::min(room, kDataBatch) && pace.may(v.region_bytes, now)) {
                auto p = v.rep.next(cfg_.window);
                if (!p) break;
                if (std::find(items.begin(), items.end(), *p) != items.end()) {
                    v.rep.unsent(*p);  // (queued twice: once is enough)
                    break;
                }
                // Armed just before it is read: a write that ends after this
                // point keeps the region dirty whatever the push's answer says.
                if (p->dirty) {
                    if (int e = kernel_.arm(v, p->region)) {
                        log_warn("%s: %s", v.name.c_str(), kernel_.why("cannot arm a region", e).c_str());
                        continue;
                    }
                }
                // The seq before the read: at the replica a sync write with a
                // larger one (its data landed after this read began) wins.
                msgs.push_back(vmsg(v, wire::Type::Push, p->region));
                items.push_back(*p);
                uint64_t len = v.region_len(p->region);
                pace.took(len);
                reads.push_back({.v = &v,
                                 .region = p->region,
                                 .offset = p->region * v.region_bytes,
                                 .len = len,
                                 .buf = batch_buf(reads.size()),
                                 .what = "a read (a push)"});
            }
        } catch (...) {
            for (size_t j = items.size(); j-- > 0;) v.rep.unsent(items[j]);  // first again, in order
            throw;
        }
        if (reads.empty()) return;
        run_data_calls(reads);
        for (size_t i = 0; i < reads.size(); i++) {
            bool ok = !reads[i].err;
            if (!ok)
                log_warn("%s: cannot read region %llu: %s", v.name.c_str(), (unsigned long long)items[i].region,
                         std::strerror(reads[i].err));
            wire::Message& m = msgs[i];
            // Nothing unanswered may fall below the floor: pushes nor sync writes.
            if (ok) m.arg = std::min(v.rep.floor(m.seq), sync_->floor(v.reg.uuid));
            if (!ok || !link_.request(Chan::Bulk, m, reads[i].buf, reads[i].len)) {
                // First again at the next round (not in a loop), in their order.
                for (size_t j = reads.size(); j-- > i;) v.rep.unsent(items[j]);
                return;
            }
            push_pace_.took(reads[i].len);
            v.rep.sent(m.seq, items[i]);
        }
    }
}

void Daemon::on_push_ack(Volume& v, const wire::Message& m) {
    auto a = v.rep.answered(m.seq, m.status);
    if (!a) return;  // from before a reset
    if (!a->ok) {
        // (ESTALE: a newer push or sync write of the region got there
        // first, which a sync volume's writes make common.)
        if (m.status != ESTALE)
            log_warn("%s: the peer could not take region %llu: %s", v.name.c_str(),
                     (unsigned long long)a->push.region, std::strerror(m.status));
        return;  // dirty or still owed: sent again later
    }
    v.pushed.add(v.region_len(a->push.region));
    if (v.presync && m.seq >= v.presync_seq) v.presync->remove(a->push.region, 1);
}

// The dirty bits of @set's regions whose every write the peer confirmed,
// without a push (the kernel leaves a region with a write held or ended
// unconfirmed).  Not those a push holds the armed bit of, nor those
// invalid here (a whole-region write's, which a push takes).
uint64_t Daemon::clear_confirmed(Volume& v, RangeSet set) {
    v.rep.drop_busy(set);
    for (const Range& x : v.invalid.ranges()) set.remove(x.start, x.count);
    if (set.empty()) return 0;
    uint64_t cleared = 0;
    int e = kernel_.arm(v, set);
    if (!e) e = kernel_.clear_confirmed(v, set, &cleared);
    if (e && e != -ETIMEDOUT)
        log_warn("%s: %s", v.name.c_str(), kernel_.why("cannot clear confirmed regions", e).c_str());
    v.confirmed += cleared;
    if (cleared) presync_still_dirty(v, &set);
    return cleared;
}

// The dirty bits of the regions whose pushes were answered, in one request.
void Daemon::clear_pushed(Volume& v) {
    RangeSet done = v.rep.take_clears();
    if (done.empty() || !v.owner()) return;
    uint64_t cleared = 0;
    if (int e = kernel_.clear_dirty(v, done, &cleared); e && e != -ETIMEDOUT)
        log_warn("%s: %s", v.name.c_str(), kernel_.why("cannot clear dirty bits", e).c_str());
    // (A push whose seq does not count for presync cleans a region too.)
    if (cleared) presync_still_dirty(v, &done);
}

// A set in parts of consecutive seqs from *@base on, every part or none:
// false if one could not be queued (the receiver then never completes it).
bool Daemon::send_set(Volume& v, wire::Type t, uint64_t generation, uint64_t region,
                      const RangeSet& set, uint64_t* base) {
    auto parts = core::split_parts(set, wire::kMaxRanges);
    if (parts.size() > wire::kMaxParts) return false;
    // Consecutive seqs, which the sync shipper must not take in between.
    *base = seq_.fetch_add(parts.size());
    for (size_t i = 0; i < parts.size(); i++) {
        wire::Message m = vmsg(v, t, region);
        m.seq = *base + i;
        m.generation = generation;
        m.arg = set.count();
        m.part = uint16_t(i);
        m.parts = uint16_t(parts.size());
        m.ranges = std::move(parts[i]);
        if (!link_.request(Chan::Ctl, m)) return false;
    }
    return true;
}

// Replica: tell the owner which regions are missing here, every part or
// none (then again at the next round).
void Daemon::send_invalid_set(Volume& v) {
    if (!link_up_ || !v.own.paired() || v.owner()) return;
    uint64_t base;
    if (!send_set(v, wire::Type::InvalidSet, v.generation(), 0, v.invalid, &base)) return;
    v.invalid_set_owed = false;
}

// Owner: the replica's whole invalid set, once every part of it arrived.
void Daemon::on_invalid_set(Volume& v, const wire::Message& m) {
    if (!v.owner() || m.generation != v.generation()) return;
    auto add = v.invalid_in.add(m.from, m.seq, m.part, m.parts, m.arg, m.ranges);
    if (add != core::PartSet::Add::Complete) return;
    RangeSet set = v.invalid_in.set();
    v.invalid_in.clear();
    if (!set.empty() && set.ranges().back().end() > v.reg.nr_regions) {
        log_warn("%s: the peer reported missing regions past the end: ignored", v.name.c_str());
        return;
    }
    for (const Range& x : set.ranges()) v.rep.owe(x.start, x.count);
    v.peer_set_heard = true;
    if (!set.empty())
        log_info("%s: the peer lacks %llu regions; sending them", v.name.c_str(),
                 (unsigned long long)set.count());
}

}  // namespace dcc::dccd
