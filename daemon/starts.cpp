// SPDX-License-Identifier: GPL-2.0-only
// Migrations started by the old owner (see daemon.hpp): asked by control
// clients or by the peer's HANDOVER_ASK, queued, and started in batches
// whose write-backs and suspends run side by side on the workers.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "daemon.hpp"
#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "log.hpp"
#include "stallwatch.hpp"

namespace dcc::dccd {

using ms = std::chrono::milliseconds;
using core::Phase;

// Old owner: what stops I/O to @dev before a handover, none of it the
// daemon's state, so that several volumes do it at once (each waits for
// its device's bios): the page cache written back without a cache flush
// (those writes are then in the dirty set; the SET_ROLE that persists
// yielding flushes the data device), the marker left (suspend_marked),
// every bio held, and what the page cache still holds dropped (it could
// only be clean now).  Runs on a worker: never throws.
static Quiesced quiesce(nl::Dev dev, const std::string& name, const std::string& marker) {
    Quiesced q;
    int fd = -1;
    try {
        fd = open_block_device(dev, O_RDONLY);
        write_back(fd);
        suspend_marked(name, marker);
        q.suspended = true;
        if (int e = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
            q.why = errno_text("cannot drop the page cache", e);
        else
            q.cache_empty = true;
    } catch (const std::exception& e) {
        q.why = e.what();
    }
    if (fd >= 0) close(fd);
    return q;
}

// Old owner, in async mode, once @v's I/O stopped: what end_start and the
// core's demote would ask of the kernel next, done on a worker.  The
// regions invalid and dirty read, then yielding @to persisted.  Never
// throws: a failed read leaves @q.why, and no persist.
void Daemon::yield_ahead(const Volume& v, core::SiteState to, Quiesced& q) {
    try {
        q.invalid = kernel_.set(v, DCC_SET_INVALID);
        q.dirty = kernel_.set(v, DCC_SET_DIRTY);
    } catch (const std::exception& e) {
        q.why = e.what();
        return;
    }
    Ahead a{.to = to};
    a.error = kernel_.guarded(a.why, [&] { return kernel_.set_role(v, to); });
    q.yielded = std::move(a);
}

// Old owner: the migrations asked for (by control clients or the peer's
// HANDOVER_ASK) started, at most 16 at a time and for about 100 ms a
// round; each stops I/O, persists yielding and sends the dirty set and
// the next generation, all or nothing.  Each volume's start is one step
// to the rest of dccd, as if started alone: no message or request is
// handled between its begin and its HANDOVER (the model's Demoting).
void Daemon::run_starts() {
    auto t0 = Clock::now();
    while (!starts_.empty() && Clock::now() - t0 < ms(100)) {
        size_t n = std::min<size_t>(starts_.size(), 16);
        std::vector<Start> batch(std::make_move_iterator(starts_.begin()),
                                 std::make_move_iterator(starts_.begin() + long(n)));
        starts_.erase(starts_.begin(), starts_.begin() + long(n));
        std::vector<std::pair<Volume*, Start*>> begun;
        std::vector<Start> later;  // of a volume begun in this batch
        for (Start& s : batch) {
            auto it = vols_.find(s.volume);
            if (it == vols_.end()) {
                for (int fd : s.clients) answer_once(fd, no_such_volume(s.volume));
                if (s.asker) {
                    wire::Message r = reply_to(s.asker->msg, wire::Type::HandoverAck);
                    r.status = ENOENT;
                    link_.reply(*s.asker, r);
                }
                continue;
            }
            Volume& v = *it->second;
            // Answered once that volume's start has ended, as if it had
            // come after it.
            if (std::any_of(begun.begin(), begun.end(), [&](auto& b) { return b.first == &v; })) {
                later.push_back(std::move(s));
                continue;
            }
            if (s.asker ? answered_ask(v, *s.asker) : join_move(v, s.clients, false)) continue;
            if (const char* why = v.own.begin_handover(s.ask)) {
                auto code = v.own.phase() == Phase::Unpaired ? control::Code::NoPeer
                            : v.owner()                       ? control::Code::Busy
                                                              : control::Code::Refused;
                std::string text = why;
                if (code == control::Code::NoPeer && link_up_ && v.peer_absent)
                    text += ": the peer has no such volume";
                start_failed(v, s, {code, text});
                continue;
            }
            v.ho_start = Clock::now();
            try {
                end_fills(v);
            } catch (const Error& e) {
                carry_out(v, v.own.abort_demote(e.what()));
                start_failed(v, s, {control::Code::Failed, e.what()});
                continue;
            }
            begun.push_back({&v, &s});
        }
        std::vector<Quiesced> q(begun.size());
        std::vector<std::function<void()>> jobs;
        for (size_t i = 0; i < begun.size(); i++) {
            const Volume& v = *begun[i].first;
            // Each volume's commands on its own socket: the commits of
            // several volumes run side by side too.  In sync mode the
            // confirmed regions are cleared first (end_start), here.
            std::optional<core::SiteState> yielding;
            if (!v.reg.sync) yielding = core::SiteState{Role::Yielding, v.own.handover_generation()};
            jobs.push_back([this, &q, i, &v, yielding, marker = marker_path(v.name)] {
                q[i] = quiesce(v.dev, v.name, marker);
                if (q[i].why.empty() && yielding) yield_ahead(v, *yielding, q[i]);
            });
        }
        {
            StallWatch::Busy busy(stall_watch(), "the write-back and suspend of " + std::to_string(jobs.size()) +
                                                     " volumes (their kernel work too) on worker threads");
            workers_.run_all(jobs);
        }
        for (size_t i = 0; i < begun.size(); i++) {
            auto [vp, sp] = begun[i];
            try {
                end_start(*vp, *sp, q[i]);
            } catch (const Error& e) {
                // One volume's trouble must not stop the others.
                log_warn("%s: %s", vp->name.c_str(), e.what());
                start_failed(*vp, *sp, {control::Code::Failed, e.what()});
            }
        }
        starts_.insert(starts_.begin(), std::make_move_iterator(later.begin()),
                       std::make_move_iterator(later.end()));
    }
}

// The rest of a start, once @q says how the volume's quiesce went: the
// dirty set read, yielding persisted and the HANDOVER sent, or the start
// undone.
void Daemon::end_start(Volume& v, Start& s, Quiesced& q) {
    v.suspended |= q.suspended;
    v.cache_empty |= q.cache_empty;
    std::string& why = q.why;
    if (why.empty() && q.dirty) {
        v.invalid = std::move(*q.invalid);
        v.ho_set = std::move(*q.dirty);
        for (const Range& x : v.invalid.ranges()) v.ho_set.remove(x.start, x.count);
    } else if (why.empty()) {
        try {
            reload_invalid(v);
            // In sync, what the peer confirmed write by write is not sent
            // to be fetched back: its dirty bits go first (the SET_ROLE
            // commit writes them).
            if (v.reg.sync)
                clear_confirmed(v, core::split_dirty(kernel_.set(v, DCC_SET_DIRTY).ranges(),
                                                     kernel_.set(v, DCC_SET_UNCONFIRMED).ranges(),
                                                     std::nullopt)
                                       .confirmed);
            // Only what this site holds is newer here: a region invalid
            // here (a failed whole-region write) keeps the peer's copy.
            v.ho_set = kernel_.set(v, DCC_SET_DIRTY);
            for (const Range& x : v.invalid.ranges()) v.ho_set.remove(x.start, x.count);
        } catch (const Error& e) {
            why = e.what();
        }
    }
    if (!why.empty()) {
        carry_out(v, v.own.abort_demote(why.c_str()));
        return start_failed(v, s, {control::Code::Failed, why});
    }
    v.ahead = std::move(q.yielded);
    carry_out(v, v.own.demote());
    Phase p = v.own.phase();
    if (p != Phase::Sending && p != Phase::Fenced)
        return start_failed(v, s, {control::Code::Failed, "cannot persist the handover: staying owner"});
    for (int fd : s.clients)
        wait_for_move(v, fd);
}

// A migration that did not start: its clients, or the peer that asked,
// are told why.
void Daemon::start_failed(Volume& v, Start& s, const Failure& f) {
    for (int fd : s.clients) answer_once(fd, control::failure(f.code, f.text));
    if (!s.asker) return;
    log_warn("%s: the peer asked for the volume: %s", v.name.c_str(), f.text.c_str());
    wire::Message r = reply_to(s.asker->msg, wire::Type::HandoverAck);
    r.generation = v.generation();
    r.status = EBUSY;
    link_.reply(*s.asker, r);
}

// Control clients asking to migrate @v to this site (@here) or to the
// peer while that very move is under way: they wait for its outcome.
// False if it is not.
bool Daemon::join_move(Volume& v, const std::vector<int>& clients, bool here) {
    using Toward = core::Ownership::Toward;
    Toward t = v.own.migrating();
    if (t == Toward::None || (t == Toward::Here) != here) return false;
    log_info("%s: migrate to %s asked again while it is under way: waiting for it", v.name.c_str(),
             (here ? cfg_.site : peer_site_).c_str());
    for (int fd : clients)
        wait_for_move(v, fd);
    return true;
}

// The peer's HANDOVER_ASK: answered at once if a handover of @v is under
// way or the ask is of an earlier ownership, else started with the other
// migrations of this round (run_starts).
void Daemon::on_handover_ask(Volume& v, Incoming& in) {
    if (answered_ask(v, in)) return;
    starts_.push_back({v.name, in.msg.seq, {}, std::move(in)});
}

// True if the peer's HANDOVER_ASK @in needs no start: a handover of @v to
// the peer is under way (which answers it, or refuses it if it answers an
// earlier one), or it asks of an earlier ownership (dropped).
bool Daemon::answered_ask(Volume& v, Incoming& in) {
    const wire::Message& m = in.msg;
    if (v.own.migrating() == core::Ownership::Toward::Peer) {
        // Our own handover to the peer is under way: it answers this ask,
        // unless it answers an earlier one (which the peer gave up on and
        // will refuse, so this one cannot be met).
        uint64_t answers = v.own.handover_ask();
        bool same = !answers || answers == m.seq;
        log_info("%s: the peer asked for the volume while this site hands it over already%s",
                 v.name.c_str(), same ? "" : " for an earlier ask: refused");
        wire::Message r = reply_to(m, wire::Type::HandoverAck);
        r.generation = v.generation();
        r.status = same ? EALREADY : EBUSY;
        link_.reply(in, r);
        return true;
    }
    return m.generation != v.generation();  // asked of an earlier ownership
}

}  // namespace dcc::dccd
