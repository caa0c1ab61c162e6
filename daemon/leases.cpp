// SPDX-License-Identifier: GPL-2.0-only
// Leases and the witness (docs/protocol.md, "Leases and the witness").
//
// An owner at a site with a witness serves I/O only while it holds a lease
// from its replica (a promise in each PONG) or from the witness (a granted
// W_RENEW), and the kernel enforces the end of it (DCC_CMD_SET_LEASE), so
// a dccd that dies or stalls cannot extend it.  A replica promises, in
// every PONG, not to fail over the volumes it lists for lease_ms from
// when it got the PING.  dccctl failover, without --force, stops those
// promises, waits for the last one to end, and claims the next generation
// at the witness, which grants it only once the owner's lease there ended.
// Decisions are core's (lease.hpp, failover.hpp, witness.hpp); this file
// sends, receives and tells the kernel.
#include <cerrno>
#include <cstring>
#include <utility>

#include "daemon.hpp"
#include "dcc/error.hpp"
#include "log.hpp"

namespace dcc::dccd {

using ms = std::chrono::milliseconds;
using nlohmann::json;

namespace {

// How long a failover waits for the witness's answer to its CLAIM.
constexpr ms kClaimAnswer{5000};

std::string witness_refusal(const wire::Message& m) {
    std::string owner = m.site.empty() ? "nobody" : m.site;
    switch (m.status) {
    case EBUSY:
        return "the owner's lease at the witness still holds (" + std::to_string(m.arg) +
               " ms left; generation " + std::to_string(m.generation) + " owned by " + owner + ")";
    case EACCES: return "the witness does not admit this site under that name";
    case ESTALE:
        return "the owner (" + owner + ", generation " + std::to_string(m.generation) +
               ") went on writing without this copy: the witness holds it outdated until the "
               "owner reports it up to date";
    default:
        return "the witness records generation " + std::to_string(m.generation) + " owned by " + owner;
    }
}

}  // namespace

// A replica's answer to a PING: the volumes it will not fail over for
// lease_ms from now.  Not while a failover of that volume is under way,
// nor with a split brain recorded (it pairs with nobody then).
wire::Message Daemon::promises(Clock::time_point now) {
    wire::Message r;
    r.type = wire::Type::Pong;
    for (auto& [_, v] : vols_) {
        core::SiteState s = v->own.state();
        if (s.role == Role::Owner || s.split != Split::None || v->attempt) continue;
        if (r.promises.size() == wire::kMaxPromises) {
            log_warn("more volumes than one PONG can promise: %s gets no promise", v->name.c_str());
            continue;
        }
        v->promise.give(now);
        r.promises.push_back({v->reg.uuid, s.generation});
    }
    if (!r.promises.empty()) r.arg = cfg_.lease_ms;
    return r;
}

// What status shows of the round trip to the peer's dccd.
std::optional<LinkRtt> Daemon::link_rtt() const {
    if (!rtt_.ms()) return std::nullopt;
    return LinkRtt{.smoothed = *rtt_.ms(), .last = *rtt_.last(), .min = *rtt_.min()};
}

// The owner's side: each promise for a generation this site owns is a
// lease counted from when the PING left.
void Daemon::on_pong(const wire::Message& m) {
    auto it = pings_.find(m.seq);
    if (it == pings_.end()) return;  // an answer to a PING long gone
    Clock::time_point sent = it->second;
    pings_.erase(it);
    auto now = Clock::now();
    if (link_up_) rtt_.sample(std::chrono::duration<double, std::milli>(now - sent).count());
    for (const wire::Promised& p : m.promises) {
        Volume* v = by_uuid(p.volume);
        if (!v || !v->owner() || v->generation() != p.generation) continue;
        v->peer_lease.granted(sent, ms(std::min<uint64_t>(m.arg, DCC_LEASE_MAX_MS)));
        tell_kernel_lease(*v, now);
    }
}

// Every volume, often: renew at the witness, move a failover on, and keep
// the kernel's lease up to date.
void Daemon::lease_tick(Volume& v, Clock::time_point now) {
    if (has_witness() && v.owner() && now >= v.next_renew) {
        wire::Message m = vmsg(v, wire::Type::WRenew);
        m.seq = seq_++;
        m.generation = v.generation();
        m.site = cfg_.site;
        if (link_.witness_request(m)) v.renewals[m.seq] = now;
        v.next_renew = now + ms(cfg_.lease_ms / 4);
    }
    // A grant that comes later than a lease length is worth nothing.
    for (auto it = v.renewals.begin(); it != v.renewals.end();)
        it = now - it->second > ms(cfg_.lease_ms) ? v.renewals.erase(it) : std::next(it);
    attempt_tick(v, now);
    alone_tick(v, now);
    tell_kernel_lease(v, now);
}

// Owner of a sync volume: presync keeps only what is still dirty (spin
// model: FIX_PRESYNC).  A region no longer dirty is at the replica
// whatever cleaned it: a dirty bit is cleared only by the answer to a push
// that read the region after its last write, or as confirmed, when the
// replica confirmed each of its writes (the kernel leaves one completed
// alone: WRITES_DONE without CONFIRMED).  (A push in flight across a
// switch from async, whose answer does not count for presync, cleans it
// too; nothing would push it again.)  Without this, a region cleared as
// confirmed, which nothing pushes, would stay at risk for good.  (A region
// cleaned and written again is not put back: its new writes waited for the
// replica, or were never acknowledged.)  With @cleaned (what a clear just
// cleaned), only if that touched a region at risk.
void Daemon::presync_still_dirty(Volume& v, const RangeSet* cleaned) {
    if (!v.presync || v.presync->empty() || (cleaned && v.presync->intersect(*cleaned).empty())) return;
    try {
        uint64_t before = v.presync->count();
        *v.presync = v.presync->intersect(kernel_.set(v, DCC_SET_DIRTY));
        // Less at risk: the replica hears it at the next publish, not after
        // the 5 s a quiet volume waits for its turn.
        if (v.presync->count() != before) v.news = true;
    } catch (const Error& e) {
        log_warn("%s: %s", v.name.c_str(), e.what());  // kept whole: at risk still
    }
}

// Owner: the replica holds everything this site acknowledged without it,
// and lacks nothing (its missing set of this pairing heard, nothing owed).
// In sync, what was acknowledged alone is in the regions unconfirmed when
// going alone ended (read after the shipper stopped completing writes
// alone, and its last WRITES_DONE returned: SyncShipper::alone_mu_):
// presync, each taken out once it is no longer dirty.  Writes since then
// waited for the replica, so a volume written without pause is caught up
// too.  Otherwise (the mode switched to async
// since), nothing may be dirty: the kernel's set read afresh (the status
// line may be older than the writes made alone).
bool Daemon::caught_up(Volume& v) {
    if (!v.own.paired() || !link_up_ || !v.peer_set_heard || !v.rep.owed().empty()) return false;
    if (v.presync) {
        presync_still_dirty(v);
        return v.presync->empty();
    }
    if (v.rep.in_flight() || (v.kst && v.kst->dirty)) return false;
    return kernel_.set(v, DCC_SET_DIRTY).empty();
}

// on_peer_loss = continue: ask the witness to fence the replica, or to lift
// the fence, as core::GoingAlone decides; what changed is carried out.
core::AloneFacts Daemon::alone_facts(const Volume& v) const {
    return {.state = v.own.state(),
            .sync = v.reg.sync,
            .policy = cfg_.on_peer_loss_of(v.name) == "continue" ? core::PeerLoss::Continue
                                                                 : core::PeerLoss::Suspend,
            .witness = has_witness(),
            .paired = v.own.paired() && link_up_,
            .held = v.kst && v.kst->held ? *v.kst->held : 0};
}

void Daemon::alone_tick(Volume& v, Clock::time_point now) {
    core::AloneFacts f = alone_facts(v);
    bool was = v.alone.alone();
    // Reading the dirty set is not free: only when an UPTODATE is owed.
    if (v.alone.fence() && !was && f.paired && v.owner()) {
        try {
            f.caught_up = caught_up(v);
        } catch (const Error& e) {
            log_warn("%s: %s", v.name.c_str(), e.what());  // not caught up: asked again later
        }
    }
    core::GoingAlone::Send s = v.alone.tick(f, now);
    if (was && !v.alone.alone()) alone_changed(v, false);
    if (s == core::GoingAlone::Send::None) return;
    bool out = s == core::GoingAlone::Send::Outdate;
    wire::Message m = vmsg(v, out ? wire::Type::WOutdate : wire::Type::WUptodate);
    m.seq = seq_++;
    m.generation = v.generation();
    m.site = cfg_.site;
    if (!out) m.region = v.alone.fence();
    if (!link_.witness_request(m)) return;
    v.alone.sent(s, m.seq, now);
    if (out && v.outdate_said.empty())
        log_warn("%s: %llu writes wait for the replica, which this site does not hear: asking the "
                 "witness to fence it (on_peer_loss = continue)",
                 v.name.c_str(), (unsigned long long)f.held);
}

// Going on alone began (the witness granted this site's OUTDATE) or ended.
void Daemon::alone_changed(Volume& v, bool alone) {
    v.news = true;
    if (alone) {
        log_warn("%s: GOING ON ALONE: the witness holds the replica outdated (epoch %llu); writes "
                 "complete without it and are pushed when it is back",
                 v.name.c_str(), (unsigned long long)v.alone.fence());
        emit({{"event", "alone"}, {"volume", v.name}, {"generation", v.generation()},
              {"epoch", v.alone.fence()}});
        tell_shipper(v);
        return;
    }
    bool back = v.own.paired() && link_up_;
    log_info("%s: no longer alone (%s): writes wait for the replica again", v.name.c_str(),
             back          ? "paired again"
             : !v.owner()  ? "no longer owner"
             : v.alone.fence() ? "the policy or the mode changed"
                               : "the witness records a newer owner");
    emit({{"event", "alone-end"}, {"volume", v.name}, {"generation", v.generation()}});
    // The shipper stops completing writes alone first (set_volume waits
    // for a WRITES_DONE under way); then the regions unconfirmed now hold
    // every write it completed so: at risk (PROGRESS) and owed before the
    // fence may be lifted (caught_up), until pushed.
    tell_shipper(v);
    v.presync.reset();
    tell_shipper(v);
}

// Tell the kernel the lease it is to enforce, when that changed.  Without a
// witness (or for a forced owner) the kernel's lease flag is cleared; with
// one, a site that does not own sets it too, with no lease, so that it
// serves nothing as owner before a lease (core::lease_need).
void Daemon::tell_kernel_lease(Volume& v, Clock::time_point now) {
    core::LeaseNeed need = core::lease_need(has_witness(), v.own.state(), v.peer_lease,
                                            v.witness_lease, now);
    if (!need.needed) {
        v.lease_told = false;
        if (!v.reg.lease) return;
        // An owner that served under leases and now runs without a witness
        // keeps the flag (its I/O waits) until the sites pair: its replica,
        // which may have a witness, learns from this site's ATTACH that it
        // serves without a lease (refusal 3) before it does.  Otherwise
        // the witness, this site's renewals lapsed, would grant the
        // replica a failover while this site writes on.
        if (!has_witness() && v.owner() && !(v.own.paired() && link_up_)) {
            if (!v.told_unwitnessed) {
                v.told_unwitnessed = true;
                log_warn("%s: served under leases before, and no witness is configured now: no I/O "
                         "until the replica hears so (when the sites pair)",
                         v.name.c_str());
            }
            return;
        }
        if (int e = kernel_.set_lease(v, DCC_LEASE_NONE)) {
            if (std::exchange(v.lease_error, e) != e)
                log_warn("%s: %s", v.name.c_str(), kernel_.why("clearing the lease flag", e).c_str());
            return;
        }
        v.lease_error = 0;
        v.reg.lease = false;
        log_info("%s: serves without a lease (%s)", v.name.c_str(),
                 has_witness() ? "owner by a forced failover" : "no witness configured");
        return;
    }
    if (v.lease_told && v.lease_sent == need.until) return;
    // The kernel counts from its own now: read the clock again right
    // before telling it (the caller's may be a round old, and each
    // SET_LEASE before this one may have waited for a commit).
    auto fresh = Clock::now();
    uint32_t left = 0;
    if (need.until && *need.until > fresh)
        left = uint32_t(std::min<int64_t>(DCC_LEASE_MAX_MS,
                                          std::chrono::duration_cast<ms>(*need.until - fresh).count()));
    if (int e = kernel_.set_lease(v, left)) {
        // Tried again each round: said once until it changes.
        if (std::exchange(v.lease_error, e) != e)
            log_warn("%s: %s", v.name.c_str(), kernel_.why("setting the lease", e).c_str());
        return;
    }
    v.lease_error = 0;
    if (v.owner() && !need.until && v.lease_sent)
        log_warn("%s: no lease held: the device serves nothing", v.name.c_str());
    if (need.until && v.lease_told && !v.lease_sent) log_info("%s: lease held again", v.name.c_str());
    // Between held and not held the kernel's status line changes, and
    // raises no event unless the lease flag changed with it: publish (and
    // the lease event) looks at once, not at the volume's next quiet look.
    if (!v.lease_told || !need.until != !v.lease_sent) v.news = true;
    v.reg.lease = true;
    v.lease_told = true;
    v.lease_sent = need.until;
}

// What the kernel's lease flag must be made before @to is persisted, if
// it is not so already (core::lease_need); only for a persist to owner (the
// other roles serve nothing).  With a witness, set: it is on disk before
// the commit that makes this site an owner that needs a lease, so that a
// dccd that dies between that commit and its first lease leaves a device
// that waits for a lease (a replica sets it already, in
// tell_kernel_lease: this is for one where that failed or has not run
// yet).  For an owner by force, cleared: it serves at once, as a replica's
// flag would otherwise hold its I/O until the next round.
std::optional<bool> Daemon::lease_flag_before(const Volume& v, core::SiteState to) const {
    if (to.role != Role::Owner) return std::nullopt;
    bool need = core::lease_need(has_witness(), to, v.peer_lease, v.witness_lease, {}).needed;
    if (need == v.reg.lease) return std::nullopt;
    return need;
}

// Makes the flag so if lease_flag_before() says: 0, or the error (the
// persist is then not made), explained in @why.
int Daemon::lease_flag_first(Volume& v, core::SiteState to, std::string& why) {
    auto flag = lease_flag_before(v, to);
    if (!flag) return 0;
    int e = kernel_.guarded(why, [&] { return kernel_.set_lease(v, *flag ? 0 : DCC_LEASE_NONE); });
    if (e) {
        why = std::string(*flag ? "cannot set" : "cannot clear") + " the lease flag before it owns: " + why;
        return e;
    }
    v.reg.lease = *flag;
    v.lease_told = false;
    return 0;
}

// The connection to the witness came up or went: logged and told once a
// change (ZeroMQ's heartbeats end a silent one within link_timeout_ms).
void Daemon::witness_link_news() {
    auto up = link_.witness_up();
    if (!up || *up == witness_up_) return;
    witness_up_ = *up;
    if (witness_up_)
        log_info("the witness (%s) is reachable", cfg_.witness.c_str());
    else
        log_warn("the witness (%s) is not reachable: an owner cut off from its replica too stops "
                 "within its lease",
                 cfg_.witness.c_str());
    emit({{"event", "witness"}, {"state", witness_up_ ? "up" : "down"}, {"witness", cfg_.witness}});
}

std::optional<bool> Daemon::witness_up() const {
    if (!link_.witness_up()) return std::nullopt;
    return witness_up_;
}

void Daemon::witness_answers() {
    while (auto m = link_.witness_receive()) {
        // An answer to this dccd's request (the witness echoes its
        // incarnation): a late one to an earlier dccd's, whose seqs start
        // where this one's do, must not count from this one's sending.
        if (m->to != inc_.mine()) continue;
        Volume* v = by_uuid(m->volume);
        if (!v) continue;
        try {
            on_witness_answer(*v, *m);
        } catch (const Error& e) {
            log_warn("%s: %s", v->name.c_str(), e.what());
        }
    }
}

void Daemon::on_witness_answer(Volume& v, const wire::Message& m) {
    auto now = Clock::now();
    if (v.attempt && m.seq == v.attempt->nonce()) {
        v.attempt->answered(m.seq, m.generation, m.status == 0,
                            m.status ? witness_refusal(m) : std::string());
        attempt_tick(v, now);
        return;
    }
    // Every answer states the record's fence (W_ANSWER's region).
    bool was = v.alone.alone();
    uint64_t fence = v.alone.fence();
    auto mine = v.alone.answered(m.seq, m.status == 0, m.generation, m.site, m.region, cfg_.site,
                                 alone_facts(v));
    if (!was && v.alone.alone()) {
        v.outdate_said.clear();
        alone_changed(v, true);
    } else if (was && !v.alone.alone()) {
        alone_changed(v, false);
    }
    if (fence && !v.alone.fence() && v.owner() && m.generation == v.generation() && m.site == cfg_.site) {
        log_info("%s: the witness lifted the fence: the replica is up to date (epoch %llu)",
                 v.name.c_str(), (unsigned long long)fence);
        emit({{"event", "fence-lifted"}, {"volume", v.name}, {"generation", v.generation()}});
    }
    if (mine == core::GoingAlone::Send::Outdate && m.status) {
        std::string said = witness_refusal(m);
        if (said != v.outdate_said)
            log_warn("%s: the witness does not fence the replica: %s; writes wait (EIO after "
                     "miss_timeout)", v.name.c_str(), said.c_str());
        v.outdate_said = said;
    }
    auto it = v.renewals.find(m.seq);
    if (it == v.renewals.end()) return;
    Clock::time_point sent = it->second;
    v.renewals.erase(it);
    if (m.status == 0) {
        if (v.owner() && m.generation == v.generation() && m.site == cfg_.site)
            v.witness_lease.granted(sent, ms(std::min<uint64_t>(m.arg, DCC_LEASE_MAX_MS)));
        if (!v.witness_said.empty()) log_info("%s: the witness grants this site's lease again", v.name.c_str());
        v.witness_said.clear();
    } else {
        // Refused: whatever it granted before no longer counts.
        v.witness_lease.drop();
        std::string said = witness_refusal(m);
        if (said != v.witness_said)
            log_warn("%s: the witness refuses this site's lease: %s", v.name.c_str(), said.c_str());
        v.witness_said = said;
    }
    tell_kernel_lease(v, now);
}

// dccctl failover VOL at a site with a witness, refusals 1 and 2 passed.
void Daemon::start_attempt(Volume& v, int fd) {
    auto now = Clock::now();
    v.attempt.emplace(v.generation(), seq_++, v.promise.until(), now, kClaimAnswer);
    v.attempt_fd = fd;
    auto wait = std::chrono::ceil<ms>(v.promise.until() - now).count();
    log_info("%s: failover: claiming generation %llu at the witness%s", v.name.c_str(),
             (unsigned long long)v.attempt->generation(),
             wait > 0 ? (" once this site's promise ends (" + std::to_string(wait) + " ms)").c_str()
                      : "");
}

void Daemon::attempt_tick(Volume& v, Clock::time_point now) {
    if (!v.attempt) return;
    core::FailoverAttempt& a = *v.attempt;
    if (a.step() == core::FailoverAttempt::Step::WaitPromise && link_up_) {
        json j = control::failure(control::Code::Refused, "the peer became reachable: use dccctl migrate");
        j["forceable"] = false;
        return end_attempt(v, j);
    }
    if (a.claim_due(now)) {
        wire::Message m = vmsg(v, wire::Type::WClaim);
        m.seq = a.nonce();
        m.generation = a.generation();
        m.site = cfg_.site;
        link_.witness_request(m);  // if it cannot leave, the attempt gives up in time
    }
    a.tick(now);
    if (!a.over()) return;
    using Step = core::FailoverAttempt::Step;
    if (a.step() != Step::Granted) {
        std::string why = a.step() == Step::Refused ? "the witness refuses: " + a.why()
                                                    : a.why() + " (" + cfg_.witness + ")";
        json j = control::failure(a.step() == Step::Refused ? control::Code::Refused
                                                             : control::Code::Failed,
                                  why + "; --force takes over anyway");
        j["forceable"] = true;
        return end_attempt(v, j);
    }
    uint64_t gen = a.generation();
    crash_point("failover-granted");
    // The refusals again, on what this site knows now: a report of the
    // owner taken since the attempt began (one sent before the sites
    // parted may arrive late) can say writes this copy lacks, and the
    // peer may be reachable again.  The grant is then left unused (the
    // witness's record names this site for gen until the next handover).
    if (auto r = core::failover_refusal(failover_facts(v, false))) {
        log_warn("%s: the witness granted generation %llu, but a failover is refused now: %s",
                 v.name.c_str(), (unsigned long long)gen, r->why.c_str());
        json j = control::failure(control::Code::Refused, r->why);
        j["forceable"] = r->forceable;
        return end_attempt(v, j);
    }
    core::Plan p = v.own.fail_over(Origin::Failover, gen);
    if (p.persist) {
        try {
            p = carry_out(v, p);
        } catch (const Error& e) {
            p.why = e.what();
        }
    }
    if (!v.owner() || v.generation() != gen) {
        // The witness's record names this site for gen: the old owner can
        // no longer renew there.  A new attempt is granted again.
        log_warn("%s: the witness granted generation %llu but it could not be persisted: %s",
                 v.name.c_str(), (unsigned long long)gen, *p.why ? p.why : "?");
        return end_attempt(v, control::failure(control::Code::Failed,
                                               std::string("cannot persist ownership: ") +
                                                   (*p.why ? p.why : "?") + "; try again"));
    }
    crash_point("failover-persisted");
    log_warn("%s: FAILOVER: the witness granted generation %llu: this site owns the volume",
             v.name.c_str(), (unsigned long long)gen);
    emit({{"event", "failover"}, {"volume", v.name}, {"generation", gen}, {"origin", "failover"}});
    v.next_renew = {};  // a lease from the witness at once
    end_attempt(v, {{"ok", true},
                    {"volume", v.name},
                    {"owner", cfg_.site},
                    {"generation", gen},
                    {"origin", "failover"},
                    {"lacking", 0},
                    {"owner_backlog", v.last_owner_report ? json(v.last_owner_report->backlog) : json(nullptr)},
                    {"writes_wait", v.reg.sync},
                    {"on_peer_loss", cfg_.on_peer_loss_of(v.name)}});
    if (v.reg.sync && cfg_.on_peer_loss_of(v.name) == "continue")
        log_info("%s: sync: writes go on alone once the witness fences the other site "
                 "(on_peer_loss = continue)", v.name.c_str());
    else if (v.reg.sync)
        log_warn("%s: sync: writes wait for the other site until it is back (EIO after "
                 "miss_timeout); dccctl mode %s async goes on without it",
                 v.name.c_str(), v.name.c_str());
}

void Daemon::end_attempt(Volume& v, const json& reply) {
    if (v.attempt_fd >= 0) answer_once(v.attempt_fd, reply);
    v.attempt_fd = -1;
    v.attempt.reset();
}

}  // namespace dcc::dccd
