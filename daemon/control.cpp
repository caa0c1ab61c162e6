// SPDX-License-Identifier: GPL-2.0-only
// The local control socket (see daemon.hpp and dcc/control.hpp): one
// request line per connection, answered with one JSON line (status,
// migrate) or a stream of them (events).  Every request gets exactly one
// answer within its bound; a failed answer carries a code for programs.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>

#include "daemon.hpp"
#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "log.hpp"

namespace dcc::dccd {

using ms = std::chrono::milliseconds;
using nlohmann::json;

namespace {

// One JSON line.  Requests and device names are bytes from outside: what
// is not UTF-8 is replaced, never a reason to throw.
std::string json_line(const json& j) { return control::dump(j) + "\n"; }

// Write a whole line to a control client; false if it is gone or stuck.
bool send_line(int fd, const std::string& line) {
    size_t off = 0;
    while (off < line.size()) {
        ssize_t n = send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += size_t(n);
    }
    return true;
}

int64_t wall_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

void answer_once(int fd, const json& j) {
    send_line(fd, json_line(j));
    close(fd);
}

json no_such_volume(const std::string& name) {
    return control::failure(control::Code::NotFound, "no dcc volume '" + name + "' here");
}

// Every client waiting to connect, a bounded number a round (a hundred
// dccctl migrate started at once each get their connection at once).
void Daemon::ctl_accept() {
    for (int n = 0; n < 64; n++) {
        int fd = accept4(ctl_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) return;
        if (ctl_.size() >= 256) {
            send_line(fd, json_line(control::failure(control::Code::Busy, "too many control clients")));
            close(fd);
            continue;
        }
        ctl_.push_back({fd, {}});
    }
}

// Read from control client @i; a whole line is a request.
void Daemon::ctl_read(size_t i) {
    if (ctl_[i].fd < 0) return;  // dropped by emit()
    char buf[512];
    ssize_t n = read(ctl_[i].fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0 || ctl_[i].events) {
        // Gone (or an event subscriber said something: it only listens).
        close(ctl_[i].fd);
        ctl_.erase(ctl_.begin() + long(i));
        return;
    }
    CtlClient& c = ctl_[i];
    c.in.append(buf, size_t(n));
    auto nl = c.in.find('\n');
    if (nl == std::string::npos) {
        if (c.in.size() > 1024) {
            send_line(c.fd, json_line(control::failure(control::Code::Usage, "request too long")));
            close(c.fd);
            ctl_.erase(ctl_.begin() + long(i));
        }
        return;
    }
    CtlClient taken = c;
    ctl_.erase(ctl_.begin() + long(i));
    ctl_request(taken, taken.in.substr(0, nl));
}

// One request: "status [VOL]", "migrate VOL SITE", "failover VOL [force]",
// "resolve VOL discard-local", "mode VOL sync|async" or "events [now]".  The client
// is ours now: answer and close it, keep it for a later answer, or keep it
// as an event subscriber.
void Daemon::ctl_request(CtlClient& c, const std::string& line) {
    using control::Code;
    int fd = c.fd;
    auto refuse = [&](Code code, const std::string& why) {
        send_line(fd, json_line(control::failure(code, why)));
        close(fd);
    };
    // Answers are short; a client that does not read them is not waited for long.
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

    std::istringstream in(line);
    std::vector<std::string> w;
    for (std::string x; in >> x;) w.push_back(x);
    if (w.empty()) return refuse(Code::Usage, "empty request");
    if (w[0] == "events" && (w.size() == 1 || (w.size() == 2 && w[1] == "now"))) {
        auto witness = witness_up();
        json hello{{"event", "subscribed"},
                   {"site", cfg_.site},
                   {"peer", peer_site_.empty() ? json(nullptr) : json(peer_site_)},
                   {"link", link_up_ ? "up" : "down"},
                   {"witness", witness ? json(*witness ? "up" : "down") : json(nullptr)},
                   {"time", wall_ms()}};
        bool sent = send_line(fd, json_line(hello));
        // "now": each volume's state as last published, which the change
        // events after it are relative to.
        if (w.size() == 2)
            for (auto& [_, v] : vols_) {
                if (!sent || !v->shown) continue;
                json e = report::state_event(*v->shown);
                e["time"] = wall_ms();
                sent = send_line(fd, json_line(e));
            }
        if (!sent) {
            close(fd);
            return;
        }
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        c.events = true;
        c.in.clear();
        ctl_.push_back(c);
        return;
    }
    if (w[0] == "status" && w.size() <= 2) {
        // The kernel is asked about a volume only where its last answer
        // may be out of date: a quiet volume that nothing touched was
        // looked at by a publish within 5 s, and the kernel raises an
        // event on whatever would end its quiet (a first dirty region, a
        // miss, a change of state), which news and the next look follow.
        // Not a lease's end, nor the timeouts of the bios it held: a
        // volume under a lease is looked at each time.  With a thousand
        // idle volumes, a status line each costs seconds of the loop.
        // (volume_named looks at the one asked for.)
        std::vector<VolumeStatus> states;
        try {
            if (w.size() == 1) {
                auto now = Clock::now();
                for (auto& [_, v] : vols_) {
                    if (v->news || !quiet(*v) || (v->reg.lease && v->owner()) ||
                        now - v->published >= kQuietLook)
                        refresh_kernel_status(*v);
                    states.push_back(state_of(*v));
                }
            } else if (Volume* v = volume_named(w[1])) {
                states.push_back(state_of(*v));
            } else {
                return answer_once(fd, no_such_volume(w[1]));
            }
        } catch (const Error& e) {
            return refuse(Code::Failed, e.what());
        }
        send_line(fd, json_line(status_answer(cfg_.site, peer_site_.empty() ? std::nullopt
                                                                           : std::optional(peer_site_),
                                              link_up_, states, started_, link_rtt(), witness_up())));
        close(fd);
        return;
    }
    if (w[0] == "status") return refuse(Code::Usage, "status takes one volume at most");
    if (w[0] == "failover") {
        if (w.size() < 2 || w.size() > 3 || (w.size() == 3 && w[2] != "force"))
            return refuse(Code::Usage, "failover takes a volume and, optionally, force");
        return ctl_failover(fd, w[1], w.size() == 3);
    }
    if (w[0] == "resolve") {
        if (w.size() != 3 || w[2] != "discard-local")
            return refuse(Code::Usage, "resolve takes a volume and discard-local");
        return ctl_resolve(fd, w[1]);
    }
    if (w[0] == "mode") {
        if (w.size() != 3 || (w[2] != "sync" && w[2] != "async"))
            return refuse(Code::Usage, "mode takes a volume and sync or async");
        return ctl_mode(fd, w[1], w[2] == "sync");
    }
    if (w[0] == "migrate" && w.size() != 3) return refuse(Code::Usage, "migrate takes a volume and a site");
    if (w[0] != "migrate") return refuse(Code::Usage, "unknown request '" + line.substr(0, 64) + "'");
    ctl_migrate(fd, w);
}

// The volume a request names, or nullptr once the client was told.
Volume* Daemon::ctl_volume(int fd, const std::string& name) {
    if (Volume* v = volume_named(name)) {
        v->news = true;  // an admin's request: published at once
        return v;
    }
    answer_once(fd, no_such_volume(name));
    return nullptr;
}

core::FailoverFacts Daemon::failover_facts(const Volume& v, bool force) const {
    core::FailoverFacts f;
    f.state = v.own.state();
    f.phase = v.own.phase();
    f.link_up = link_up_;
    f.peer_absent = v.peer_absent;
    f.force = force;
    if (const auto& r = v.last_owner_report) {
        f.owner_backlog = r->backlog;
        f.report_age_ms =
            uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - r->at).count());
    }
    f.witness = has_witness();
    f.owner_forced = v.owner_forced_gen == v.generation();
    f.owner_unwitnessed = v.owner_unwitnessed_gen == v.generation();
    f.lacking = v.invalid.count();
    return f;
}

// Take the volume at this site, its owner being unreachable.  The checks
// are core::failover_refusal's; the answer says what a forced one may
// have lost.
void Daemon::ctl_failover(int fd, const std::string& name, bool force) {
    using control::Code;
    auto reply = [&](const json& j) { answer_once(fd, j); };
    Volume* vp = ctl_volume(fd, name);
    if (!vp) return;
    Volume& v = *vp;
    if (v.attempt) return reply(control::failure(Code::Busy, "a failover of this volume is under way"));
    try {
        reload_invalid(v);
    } catch (const Error& e) {
        return reply(control::failure(Code::Failed, e.what()));
    }
    core::FailoverFacts f = failover_facts(v, force);
    if (auto r = core::failover_refusal(f)) {
        json j = control::failure(Code::Refused, r->why);
        j["forceable"] = r->forceable;
        return reply(j);
    }
    if (!force && has_witness()) return start_attempt(v, fd);
    uint64_t from = v.generation();
    std::string risks = core::failover_risks(f);
    core::Plan p = v.own.force_failover();
    if (!p.persist) return reply(control::failure(Code::Refused, p.why));
    try {
        p = carry_out(v, p);
    } catch (const Error& e) {
        log_warn("%s: %s", v.name.c_str(), e.what());
        p.why = e.what();
    }
    if (!v.owner() || v.generation() != from + 1)
        return reply(control::failure(Code::Failed, *p.why ? p.why : "cannot persist ownership"));
    crash_point("failover-persisted");
    log_warn("%s: FORCED FAILOVER: this site owns generation %llu (%s)", v.name.c_str(),
             (unsigned long long)v.generation(), risks.c_str());
    emit({{"event", "failover"}, {"volume", v.name}, {"generation", v.generation()},
          {"origin", "forced"}, {"risks", risks}});
    reply({{"ok", true},
           {"volume", v.name},
           {"owner", cfg_.site},
           {"generation", v.generation()},
           {"origin", "forced"},
           {"lacking", f.lacking},
           {"owner_backlog", f.owner_backlog ? json(*f.owner_backlog) : json(nullptr)},
           {"writes_wait", v.reg.sync},
           {"on_peer_loss", cfg_.on_peer_loss_of(v.name)},
           {"risks", risks}});
}

// A site of a split brain drops its writes since the sites parted: the
// older site becomes the newer owner's replica; the newer site, which
// serves I/O, stops it first and becomes replica of the next generation,
// which the older site takes with its writes (pairing rule 15).
void Daemon::ctl_resolve(int fd, const std::string& name) {
    using control::Code;
    auto reply = [&](const json& j) { answer_once(fd, j); };
    Volume* vp = ctl_volume(fd, name);
    if (!vp) return;
    Volume& v = *vp;
    bool newer = v.own.state().split == dcc::Split::New;
    if (newer && v.owner()) {
        // No write may land between reading the dirty set and the persist
        // (it would be kept here and lost): the page cache written back,
        // then every bio held; a bio held now fails once this site is
        // replica.
        try {
            end_fills(v);
            write_back_logged(v);
            if (!v.suspended) suspend(v);
        } catch (const Error& e) {
            return reply(control::failure(Code::Failed, std::string("cannot stop I/O: ") + e.what()));
        }
    }
    uint64_t dropped = 0;
    try {
        dropped = kernel_.set(v, DCC_SET_DIRTY).count();
    } catch (const Error& e) {
        if (newer) resume(v);
        return reply(control::failure(Code::Failed, e.what()));
    }
    core::Plan p = v.own.resolve_discard_local();
    if (!p.persist) {
        if (newer) resume(v);
        return reply(control::failure(Code::Refused, p.why));
    }
    uint64_t to = p.persist->generation;
    try {
        p = carry_out(v, p);
    } catch (const Error& e) {
        log_warn("%s: %s", v.name.c_str(), e.what());
        p.why = e.what();
    }
    if (v.own.state().split != dcc::Split::None) {
        std::string why = *p.why ? p.why : "cannot persist the resolution";
        if (newer && v.owner()) {
            // Still the newer owner: it serves again rather than hold its
            // bios for good; some of the regions written here may be
            // invalid already (reads of them fail until the sites pair).
            resume(v);
            why += "; this site still owns the volume and serves I/O again, but regions written "
                   "here may already be dropped: resolve again";
        }
        return reply(control::failure(Code::Failed, why));
    }
    log_warn("%s: split brain resolved here: %llu regions written here dropped; replica of "
             "generation %llu%s",
             v.name.c_str(), (unsigned long long)dropped, (unsigned long long)to,
             newer ? ", which the other site takes with its writes" : "");
    emit({{"event", "resolved"}, {"volume", v.name}, {"generation", to}, {"dropped", dropped}});
    reply({{"ok", true},
           {"volume", v.name},
           {"role", "replica"},
           {"generation", to},
           {"dropped", dropped}});
}

// Change a volume's replication mode at this site (its superblock).  At
// the owner it takes effect at once: from sync to async the writes held
// for the peer complete (their regions are dirty and replicated later);
// from async to sync, writes from now on wait for the peer, and the
// regions dirty before stay at risk (PROGRESS) until pushed.  At a replica
// it is what the site does once it owns the volume.
void Daemon::ctl_mode(int fd, const std::string& name, bool sync) {
    using control::Code;
    auto reply = [&](const json& j) { answer_once(fd, j); };
    Volume* vp = ctl_volume(fd, name);
    if (!vp) return;
    Volume& v = *vp;
    const char* mode = sync ? "sync" : "async";
    json ok{{"ok", true}, {"volume", v.name}, {"mode", mode}, {"changed", false}};
    if (v.reg.sync == sync) return reply(ok);
    core::SiteState s = v.own.state();
    if (s.role == Role::Yielding || v.own.phase() == core::Phase::Taking)
        return reply(control::failure(Code::Busy, "a handover is in progress: wait for it to end"));
    // A replica keeps its owner's mode: changed here, it would be changed
    // back at the next pairing.
    if (!v.owner() && v.own.paired()) {
        auto p = v.own.peer();
        if (p && core::follows_mode(s, *p))
            return reply(control::failure(Code::Refused, std::string("a replica keeps its owner's mode (") +
                                                             (v.reg.sync ? "sync" : "async") +
                                                             "): change it at the owner, " + peer_site_));
    }
    uint64_t held = 0;
    if (v.kst && v.kst->held) held = *v.kst->held;
    if (int e = kernel_.set_sync(v, sync))
        return reply(control::failure(Code::Failed, kernel_.why("set the replication mode", e)));
    v.reg.sync = sync;
    try {
        tell_shipper(v);
    } catch (const Error& e) {
        log_warn("%s: %s", v.name.c_str(), e.what());  // told again at the next publish
    }
    // The replica keeps the same (MODE now, and again with PROGRESS).
    bool told = false;
    if (v.owner() && v.own.paired() && link_up_) {
        wire::Message m = vmsg(v, wire::Type::Mode);
        m.arg = sync;
        told = link_.request(Chan::Ctl, m);
        if (told) {
            v.mode_sent = sync;
            v.mode_time = Clock::now();
        }
    }
    log_warn("%s: replication mode %s here (%s)%s", v.name.c_str(), mode,
             v.owner() ? "in force now" : "in force once this site owns the volume",
             !sync && held ? (", " + std::to_string(held) + " held writes completed").c_str() : "");
    emit({{"event", "mode"}, {"volume", v.name}, {"mode", mode}});
    ok["changed"] = true;
    ok["owner"] = v.owner();
    ok["peer_told"] = told;
    reply(ok);
}

void Daemon::ctl_migrate(int fd, const std::vector<std::string>& w) {
    using control::Code;
    auto refuse = [&](Code code, const std::string& why) { answer_once(fd, control::failure(code, why)); };
    const std::string &name = w[1], &site = w[2];
    Volume* vp = ctl_volume(fd, name);
    if (!vp) return;
    Volume& v = *vp;
    if (site != cfg_.site && site != peer_site_)
        return refuse(Code::NotFound, "unknown site '" + site + "' (this is " + cfg_.site +
                                          ", the peer " +
                                          (peer_site_.empty() ? "unknown" : peer_site_) + ")");
    bool here = site == cfg_.site;
    using Toward = core::Ownership::Toward;
    if (Toward t = v.own.migrating(); t != Toward::None) {
        const std::string& to = t == Toward::Here ? cfg_.site : peer_site_;
        if (here != (t == Toward::Here))
            return refuse(Code::Busy, "a migration of " + v.name + " to " + to +
                                          " is under way: wait for it (dccctl wait " + v.name +
                                          " owner=" + to + "), then migrate again");
        join_move(v, {fd}, here);  // the same move: this client gets its outcome too
        return;
    }
    core::Phase ph = v.own.phase();
    bool settled = ph == core::Phase::Paired || ph == core::Phase::Unpaired;
    if (settled && here == v.owner()) {
        send_line(fd, json_line({{"ok", true},
                                 {"volume", v.name},
                                 {"owner", site},
                                 {"generation", v.generation()},
                                 {"already", true}}));
        close(fd);
        return;
    }
    if (!here) {
        // Queued, and started with the others in a batch (run_starts).
        for (Start& s : starts_)
            if (s.volume == v.name && !s.asker) {
                s.clients.push_back(fd);
                return;
            }
        starts_.push_back({v.name, 0, {fd}, std::nullopt});
        return;
    }
    if (auto f = ask_handover(v)) return refuse(f->code, f->text);
    wait_for_move(v, fd);
}

// Tell every client waiting on @v's migration how it ended.
void Daemon::answer(Volume& v, const json& reply) {
    json r = reply;
    r["volume"] = v.name;
    std::string line = json_line(r);
    for (const Waiter& w : v.waiters) {
        if (!send_line(w.fd, line)) log_warn("control client gone");
        close(w.fd);
    }
    v.waiters.clear();
}

void Daemon::answer_failure(Volume& v, const Failure& f) { answer(v, control::failure(f.code, f.text)); }

// Control client @fd waits for the migration of @v under way: answered
// when the core settles it, or at the handover's bound and a margin.
void Daemon::wait_for_move(Volume& v, int fd) {
    v.waiters.push_back({fd, Clock::now() + ms(cfg_.handover_timeout_ms) + ms(2000)});
}

void Daemon::expire_waiters(Volume& v, Clock::time_point now) {
    for (auto it = v.waiters.begin(); it != v.waiters.end();) {
        if (now < it->deadline) {
            ++it;
            continue;
        }
        json r = control::failure(control::Code::Uncertain,
                                  "no answer in time: the volume is fenced until the sites pair "
                                  "again, and that decides where it is");
        r["volume"] = v.name;
        send_line(it->fd, json_line(r));
        close(it->fd);
        it = v.waiters.erase(it);
    }
}

void Daemon::emit(json e) {
    if (ctl_.empty()) return;
    e["time"] = wall_ms();
    std::string line = json_line(e);
    // A subscriber that cannot keep up is dropped, never waited for: closed
    // now, taken out of ctl_ at the top of the loop (an event may be sent
    // while the loop walks the clients by index).
    for (CtlClient& c : ctl_)
        if (c.events && c.fd >= 0 &&
            send(c.fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT) != ssize_t(line.size())) {
            log_warn("event subscriber dropped: it does not read");
            close(c.fd);
            c.fd = -1;
        }
}

}  // namespace dcc::dccd
