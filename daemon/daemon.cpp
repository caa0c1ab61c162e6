// SPDX-License-Identifier: GPL-2.0-only
// dccd's loop, its volumes and the link to the peer (see daemon.hpp).
#include "daemon.hpp"

#include <fcntl.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "dcc/error.hpp"
#include "log.hpp"
#include "stallwatch.hpp"
#include "zmq_util.hpp"

namespace dcc::dccd {

using ms = std::chrono::milliseconds;

namespace {

uint64_t random64() {
    uint64_t x = 0;
    while (getrandom(&x, sizeof(x), 0) != ssize_t(sizeof(x)) || !x) {
    }
    return x;
}

uint8_t* aligned_region() {
    void* p = nullptr;
    if (posix_memalign(&p, 4096, wire::kMaxPayload)) throw Error(kExitError, "out of memory", ENOMEM);
    return static_cast<uint8_t*>(p);
}

}  // namespace

Daemon::Daemon(const Config& cfg, std::function<Config()> reread)
    : cfg_(cfg), reread_(std::move(reread)), ctx_(kIoThreads), link_(ctx_, cfg), inc_(random64()), buf_(aligned_region(), free) {
    sig_fd_ = stop_signals();

    // The local control socket: only root may connect.
    std::string dir = cfg.control_socket.substr(0, cfg.control_socket.rfind('/'));
    if (!dir.empty()) mkdir(dir.c_str(), 0700);
    unlink(cfg.control_socket.c_str());
    ctl_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (cfg.control_socket.size() >= sizeof(sa.sun_path))
        throw Error(kExitUsage, "control_socket path too long");
    std::strcpy(sa.sun_path, cfg.control_socket.c_str());
    mode_t old = umask(0077);
    if (ctl_fd_ < 0 || bind(ctl_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) ||
        listen(ctl_fd_, SOMAXCONN))
        throw Error(kExitError, errno_text("control socket " + cfg.control_socket, errno), errno);
    umask(old);
    sync_ = std::make_unique<SyncShipper>(ctx_, cfg, seq_);
}

Daemon::~Daemon() {
    for (const CtlClient& c : ctl_)
        if (c.fd >= 0) close(c.fd);
    if (ctl_fd_ >= 0) close(ctl_fd_);
    if (sig_fd_ >= 0) close(sig_fd_);
}

Volume* Daemon::by_uuid(const Uuid& u) {
    auto it = uuids_.find(u);
    return it == uuids_.end() ? nullptr : it->second;
}

// Every message from the peer names its volume by UUID: an index, rebuilt
// when a volume comes or goes (the first by dm name wins a duplicate).
void Daemon::reindex() {
    uuids_.clear();
    for (auto& [_, v] : vols_) uuids_.emplace(v->reg.uuid, v.get());
}

wire::Message Daemon::vmsg(const Volume& v, wire::Type t, uint64_t region) {
    wire::Message m;
    m.type = t;
    m.volume = v.reg.uuid;
    m.from = inc_.mine();
    m.to = inc_.to();
    m.generation = v.generation();
    m.region = region;
    m.seq = seq_++;
    return m;
}

// The answer to @m: same seq, volume and region, to its sender.
wire::Message Daemon::reply_to(const wire::Message& m, wire::Type t) const {
    wire::Message r;
    r.type = t;
    r.seq = m.seq;
    r.from = inc_.mine();
    r.to = m.from;
    r.volume = m.volume;
    r.region = m.region;
    return r;
}

void Daemon::link_tick(Clock::time_point now) {
    release_progress(now);
    if (link_up_ && now - last_heard_ > ms(cfg_.link_timeout_ms)) link_down("no heartbeat");
    if (now - last_ping_ < ms(cfg_.heartbeat_ms)) return;
    last_ping_ = now;
    wire::Message m;
    m.seq = seq_++;
    m.from = inc_.mine();
    m.to = inc_.to();
    if (link_up_) {
        m.type = wire::Type::Ping;
    } else {
        m.type = wire::Type::Hello;
        m.site = cfg_.site;
    }
    bool sent = link_.request(Chan::Ctl, m);
    if (sent && link_up_) pings_[m.seq] = now;
    for (auto it = pings_.begin(); it != pings_.end();)
        it = now - it->second > ms(cfg_.lease_ms) ? pings_.erase(it) : std::next(it);
    if (!link_up_ && now - last_down_log_ > ms(30000)) {
        last_down_log_ = now;
        log_info("no link to the peer at %s yet (%s)", cfg_.peer.c_str(),
                 sent ? "hello sent, no answer" : "not connected");
    }
    if (!link_up_) return;
    for (auto& [_, v] : vols_) {
        // An answer that never came is asked for again.
        if (v->attach_out && now > v->attach_due + attach_wait(*v)) {
            v->attach_out = false;
            ++v->attach_unanswered;
        }
        core::Phase p = v->own.phase();
        // A replica paired on the owner's ATTACH asks until its own is
        // answered: only that answer lets the owner's reports count.
        if ((p == core::Phase::Unpaired || p == core::Phase::Fenced || v->own.wants_floor()) &&
            !v->attach_out && now >= v->attach_due)
            send_attach(*v);
    }
}

void Daemon::link_down(const char* why) {
    if (link_up_) {
        log_warn("link to %s lost: %s", peer_site_.c_str(), why);
        emit({{"event", "link"}, {"state", "down"}, {"peer", peer_site_}, {"why", why}});
    }
    link_up_ = false;
    rtt_.reset();
    for (auto& [_, v] : vols_) {
        v->news = true;  // no volume is paired now
        carry_out(*v, v->own.link_lost());
        reset_transfers(*v);
    }
}

// The peer started again while the link looked up: what it had in flight
// is gone; pair every volume again at once.
void Daemon::peer_reset() {
    log_info("%s restarted", peer_site_.c_str());
    for (auto& [_, v] : vols_) {
        carry_out(*v, v->own.link_lost());
        reset_transfers(*v);
        send_attach(*v);
    }
}

// A dccd this site has not heard from before (the peer restarted, whether
// or not the link looked up meanwhile): its seqs start again, so what the
// replica remembers of the last one's pushes and sync writes is void.
// (Kept only across a link loss, a dccd that ran on went on counting.)
void Daemon::new_peer() {
    for (auto& [_, v] : vols_) v->order.reset();
    for (auto& [_, k] : kept_) k.order.reset();
}

void Daemon::receive(Incoming& in) {
    last_heard_ = Clock::now();  // anything from the peer shows it is alive
    const wire::Message& m = in.msg;
    using wire::Type;
    if (m.type == Type::Hello || m.type == Type::HelloAck) return handle_link(in);
    if (!inc_.accept(m.from, m.to)) return;  // from, or to, a dccd that is gone
    if (m.type == Type::Ping || m.type == Type::Pong || m.type == Type::SyncOpen) return handle_link(in);
    bool reply = !in.request;
    Volume* v = by_uuid(m.volume);
    try {
        if (!v) {
            if (reply || m.type == Type::InvalidSet || m.type == Type::Progress ||
                m.type == Type::Mode || m.type == Type::Detach)
                return;
            if (absent_told_.insert(m.volume).second)
                log_warn("peer has volume %s, this site does not (said once)",
                         format_uuid(m.volume).c_str());
            wire::Type t = m.type == Type::Attach     ? Type::AttachAck
                           : m.type == Type::Fetch    ? Type::FetchReply
                           : m.type == Type::Pull     ? Type::PullReply
                           : m.type == Type::Push     ? Type::PushAck
                           : m.type == Type::SyncWrite ? Type::SyncAck
                                                      : Type::HandoverAck;
            wire::Message r = reply_to(m, t);
            r.status = ENOENT;
            if (t == Type::AttachAck) r.info = m.info;
            link_.reply(in, r);
            return;
        }
        v->news = true;
        if (reply) handle_reply(*v, in);
        else handle_request(*v, in);
    } catch (const Error& e) {
        log_warn("handling %s: %s", wire::type_name(m.type), e.what());
    }
}

void Daemon::handle_link(Incoming& in) {
    using wire::Type;
    const wire::Message& m = in.msg;
    switch (m.type) {
    case Type::Hello: {
        wire::Message r = reply_to(m, Type::HelloAck);
        r.site = cfg_.site;
        if (m.site == cfg_.site) {
            log_warn("peer calls itself '%s' too: refusing it", m.site.c_str());
            r.status = EINVAL;
            link_.reply(in, r);
            return;
        }
        auto h = inc_.hello(m.from);
        if (h == core::Incarnations::Hello::Retired) return;  // a dead dccd's
        if (h == core::Incarnations::Hello::New) new_peer();
        peer_site_ = m.site;
        // The answer first: it tells the peer our incarnation, which our
        // ATTACHes after a reset carry.
        link_.reply(in, r);
        if (h == core::Incarnations::Hello::New && link_up_) peer_reset();
        return;
    }
    case Type::HelloAck: {
        if (m.to != inc_.mine()) return;  // answers a HELLO of a dccd before this one
        if (m.status) {
            log_warn("peer '%s' refused us: %s", m.site.c_str(), std::strerror(m.status));
            return;
        }
        auto h = inc_.hello(m.from);
        if (h == core::Incarnations::Hello::Retired) return;
        if (h == core::Incarnations::Hello::New) new_peer();
        if (link_up_) {
            if (h == core::Incarnations::Hello::New) peer_reset();
            return;
        }
        link_up_ = true;
        peer_site_ = m.site;
        log_info("link to %s up", m.site.c_str());
        emit({{"event", "link"}, {"state", "up"}, {"peer", m.site}});
        for (auto& [_, v] : vols_) {
            v->news = true;
            v->attach_out = false;
            v->attach_unanswered = 0;
            send_attach(*v);
        }
        return;
    }
    case Type::Ping: {
        wire::Message r = promises(Clock::now());
        wire::Message head = reply_to(m, Type::Pong);
        r.seq = head.seq;
        r.from = head.from;
        r.to = head.to;
        link_.reply(in, r);
        return;
    }
    case Type::Pong:
        on_pong(m);
        return;
    case Type::SyncOpen: {
        // The owner's shipper asks for a key of the sync path: given here,
        // over CURVE, for one connection to its listener.
        wire::Message r = reply_to(m, Type::SyncOpenAck);
        SyncListener* sl = link_.sync();
        if (!sl) {
            r.status = ENOTSUP;
            link_.reply(in, r);
            return;
        }
        std::vector<uint8_t> secret = sl->open().bytes();
        r.arg = sl->port();
        link_.reply(in, r, secret.data(), secret.size());
        sodium_memzero(secret.data(), secret.size());
        return;
    }
    default:
        return;
    }
}

void Daemon::handle_request(Volume& v, Incoming& in) {
    using wire::Type;
    const wire::Message& m = in.msg;
    switch (m.type) {
    case Type::Attach: return on_attach(v, in);
    case Type::Detach: return on_detach(v);
    case Type::InvalidSet: return on_invalid_set(v, m);
    case Type::Progress: {
        const auto& floor = v.own.report_floor();
        if (v.own.takes_report(m.from, m.seq, m.generation)) {
            v.peer_backlog = m.region;
            v.last_owner_report = Volume::OwnerReport{m.arg, Clock::now()};  // what a failover weighs
        } else if (!v.owner() && m.generation == v.generation() && !v.told_old_report &&
                   (!floor || m.from == floor->incarnation)) {
            v.told_old_report = true;  // once per pairing
            if (floor)
                log_info("%s: ignoring the owner's report of %llu regions behind (seq %llu): sent "
                         "before the sites paired again (watermark %llu)",
                         v.name.c_str(), (unsigned long long)m.region, (unsigned long long)m.seq,
                         (unsigned long long)floor->watermark);
            else
                log_info("%s: ignoring the owner's report of %llu regions behind (seq %llu): none "
                         "counts until the owner answers an ATTACH of this site's",
                         v.name.c_str(), (unsigned long long)m.region, (unsigned long long)m.seq);
        }
        return;
    }
    case Type::Mode:
        if (core::follows_mode(v.own.state(), {Role::Owner, m.generation})) follow_mode(v, m.arg);
        return;
    case Type::Fetch:
    case Type::Pull: return serve_fill(v, in);
    case Type::Push: return apply_push(v, in);
    case Type::SyncWrite: return apply_sync_write(v, in);
    case Type::Handover: return on_handover_part(v, in);
    case Type::HandoverAsk: return on_handover_ask(v, in);
    default: return;
    }
}

void Daemon::handle_reply(Volume& v, Incoming& in) {
    using wire::Type;
    const wire::Message& m = in.msg;
    switch (m.type) {
    case Type::AttachAck: return on_attach_ack(v, m);
    case Type::HandoverAck: return on_handover_ack(v, m);
    case Type::FetchReply:
    case Type::PullReply: return finish_fill(v, in);
    case Type::PushAck: return on_push_ack(v, m);
    default: return;
    }
}

// Misses and state changes the kernel reports.
void Daemon::kernel_events() {
    bool lost = false;
    for (const nl::Event& e : kernel_.events().drain(lost))
        for (auto& [_, v] : vols_)
            if (e.dev == v->dev) {
                v->check_pending = true;
                v->news = true;
                if (e.cmd == DCC_CMD_EVENT_STATE) {
                    v->own.kernel_state(site_state(e));
                    v->reg.sync = e.sync;
                    v->reg.lease = e.lease;
                }
            }
    if (lost)
        for (auto& [_, v] : vols_) v->check_pending = v->news = true;
}

// Between two bulk messages (each may cost a write and a flush): new
// misses are asked for and fetched regions completed first, so a waiting
// bio never queues behind background fills.
void Daemon::serve_urgent() {
    kernel_events();
    for (auto& [_, v] : vols_)
        if (v->check_pending) {
            try {
                serve_pending(*v);
            } catch (const Error& e) {
                log_warn("%s: %s", v->name.c_str(), e.what());
            }
        }
    serve_sync();
}

// Between two of the loop's longer tasks: the peer's control messages,
// sync writes among them (the owner's application waits for their
// answers), without the kernel's events and the misses of serve_urgent.
void Daemon::serve_sync() {
    for (zmq::socket_t* s : link_.control_sockets()) receive_control(*s, 16);
    serve_sync_path(false);
    flush_sync_writes();
}

// The sync writes that came on the sync path (read without waiting);
// @accept: the listener polled readable.
void Daemon::serve_sync_path(bool accept) {
    for (Incoming& in : link_.receive_sync(accept)) receive(in);
}

// What the sync shipper needs to know of @v, when it changed.
void Daemon::tell_shipper(Volume& v) {
    if (!v.reg.sync && !v.shipper_told) return;
    ShipVolume s{.dev = v.dev,
                 .name = v.name,
                 .uuid = v.reg.uuid,
                 .reg_id = v.reg.reg_id,
                 .region_sectors = v.reg.region_sectors,
                 .data_fd = v.data_fd,
                 .generation = v.generation(),
                 .ship = v.reg.sync && v.owner() && v.own.paired() && link_up_,
                 .alone = v.reg.sync && v.owner() && v.alone.alone()};
    // Owner of a sync volume: the unconfirmed regions of before (writes
    // perhaps acknowledged without the peer; a warm one holds none) are at
    // risk until a push of each.
    bool sync_owner = v.reg.sync && v.owner();
    if (sync_owner && !v.presync) {
        // A push whose seq was taken before this (it may have read its
        // region before writes stopped being acknowledged without the
        // peer: a switch from async) does not take a region out.
        v.presync_seq = seq_.load();
        v.presync = kernel_.set(v, DCC_SET_UNCONFIRMED);
        for (const Range& x : v.invalid.ranges()) v.presync->remove(x.start, x.count);
    } else if (!sync_owner) {
        v.presync.reset();
    }
    if (v.shipper_told && *v.shipper_told == s) return;
    sync_->set_volume(s);
    v.shipper_told = s;
}

void Daemon::each_volume(const char* what, void (Daemon::*fn)(Volume&)) {
    for (auto& [_, v] : vols_) {
        try {
            (this->*fn)(*v);
        } catch (const Error& e) {
            log_warn("%s: %s: %s", v->name.c_str(), what, e.what());
        }
    }
}

// Whether @v needs its periodic work this round: always, unless it is
// quiet, nothing touched it, nothing is owed, and no lease or witness
// sets a clock (a site with a witness renews each owner's lease on
// time); then once a second, for the deadlines of the rest.
bool Daemon::due(const Volume& v, Clock::time_point now) const {
    return v.news || v.check_pending || v.release_check || v.invalid_set_owed || has_witness() ||
           !quiet(v) || now - v.maintained >= ms(1000);
}

// One volume's periodic work: deadlines, acks, fills, pushes.
void Daemon::maintain(Volume& v, Clock::time_point now) {
    v.maintained = now;
    try {
        carry_out(v, v.own.tick(now));
        tell_shipper(v);
        expire_waiters(v, now);
        lease_tick(v, now);
        if (commit_due(v, now)) flush_acks(v);
        if (!v.fills.due(core::FillKind::Fetch, now).empty()) v.check_pending = true;
        if (v.check_pending) serve_pending(v);
        if (v.release_check) release_fills(v);
        hydrate(v, now);
        // The answers' clears first: a region is pushed again only after.
        clear_pushed(v);
        replicate(v, now);
        if (v.invalid_set_owed) send_invalid_set(v);
    } catch (const Error& e) {
        // One volume's trouble must not stop the others.
        log_warn("%s: %s", v.name.c_str(), e.what());
    }
}

// Fault injection for the tests (built with DCC_TEST_HOOKS only): with
// DCCD_CRASH_AT=<point> in its environment dccd dies by SIGKILL at that
// point of a handover; see dccd(8).  What it queued for the peer first
// gets up to two seconds to reach the network, as a process that dies
// after send() returned has its message in the kernel's socket buffer.
bool Daemon::crash_armed([[maybe_unused]] const char* point) {
#ifdef DCC_TEST_HOOKS
    static const char* at = getenv("DCCD_CRASH_AT");
    return at && !std::strcmp(at, point);
#else
    return false;
#endif
}

void Daemon::crash_point([[maybe_unused]] const char* point) {
#ifdef DCC_TEST_HOOKS
    if (!crash_armed(point)) return;
    log_warn("crash point %s: killing myself", point);
    sync_.reset();  // its socket open, the context would never close
    link_.close(2000);
    ctx_.close();
    raise(SIGKILL);
#endif
}

// SIGHUP: the configuration file read again; what can change while dccd
// runs is taken, the rest is named and waits for a restart.  A bad file
// changes nothing.
void Daemon::reload() {
    sd_notify(0, "RELOADING=1");
    try {
        core_reload(reread_());
    } catch (const Error& e) {
        log_warn("SIGHUP: the configuration is not taken, nothing changed: %s", e.what());
    }
    sd_notifyf(0, "READY=1\nSTATUS=%zu volumes", vols_.size());
}

void Daemon::core_reload(const Config& fresh) {
    Reload r = reload_config(cfg_, fresh);
    cfg_ = r.config;
    push_pace_.set_rate(cfg_.rate);
    pull_pace_.set_rate(cfg_.hydration_rate);
    for (const std::string& a : r.applied) log_info("SIGHUP: %s", a.c_str());
    std::string later;
    for (const std::string& k : r.restart) later += (later.empty() ? "" : ", ") + k;
    if (!later.empty()) log_warn("SIGHUP: changed, taken at the next start of dccd: %s", later.c_str());
    if (r.applied.empty() && later.empty()) log_info("SIGHUP: the configuration is unchanged");
}

int Daemon::run() {
    StallWatch::this_thread_is(kLoopThread);
    scan_volumes();
    last_scan_ = last_ping_ = last_down_log_ = Clock::now();
    // Every volume's state published once (events --now has it at once).
    try {
        publish(Clock::now());
    } catch (const Error& e) {
        log_warn("%s", e.what());
    }
    // The control socket is bound and every volume the kernel has is known:
    // dccctl may ask (Type=notify).
    sd_notifyf(0, "READY=1\nSTATUS=%zu volumes", vols_.size());
    std::vector<zmq::socket_t*> socks = link_.sockets();
    for (;;) {
        // Poll slots by name: the peer's sockets, then the fixed ones,
        // then one per control client.
        std::vector<zmq::pollitem_t> items;
        auto slot = [&](zmq::pollitem_t it) {
            items.push_back(it);
            return items.size() - 1;
        };
        std::vector<size_t> peer;
        for (auto* s : socks) peer.push_back(slot({s->handle(), 0, ZMQ_POLLIN, 0}));
        const size_t zap = slot({cfg_.insecure ? nullptr : link_.zap().handle(),
                                 cfg_.insecure ? -1 : 0, short(cfg_.insecure ? 0 : ZMQ_POLLIN), 0});
        const size_t kernel = slot({nullptr, kernel_.events().fd(), ZMQ_POLLIN, 0});
        const size_t listener = slot({nullptr, ctl_fd_, ZMQ_POLLIN, 0});
        const size_t signals = slot({nullptr, sig_fd_, ZMQ_POLLIN, 0});
        zmq::socket_t* wsock = link_.witness();
        const size_t witness = slot({wsock ? wsock->handle() : nullptr, wsock ? 0 : -1,
                                     short(wsock ? ZMQ_POLLIN : 0), 0});
        std::vector<size_t> monitor;
        for (auto* s : link_.monitors()) monitor.push_back(slot({s->handle(), 0, ZMQ_POLLIN, 0}));
        const size_t first_sync = items.size();
        if (SyncListener* sl = link_.sync()) sl->poll_items(items);
        const size_t end_sync = items.size();
        const size_t first_client = items.size();
        std::erase_if(ctl_, [](const CtlClient& c) { return c.fd < 0; });
        for (const CtlClient& c : ctl_) slot({nullptr, c.fd, ZMQ_POLLIN, 0});
        bool busy = false;
        auto wait = ms(50);
        auto t_poll = Clock::now();
        for (auto& [_, v] : vols_) {
            busy |= v->rep.busy();
            if (!v->written.empty() || !v->acks.empty())  // until their commit is due
                wait = std::min(wait, std::max(ms(0), std::chrono::ceil<ms>(v->commit_by - t_poll)));
        }
        if (busy) wait = std::min(wait, ms(5));
        if (!starts_.empty()) wait = ms(0);
        zmq::poll(items.data(), items.size(), wait);
        auto ready = [&](size_t i) { return items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR); };

        int sig = ready(signals) ? take_signal(sig_fd_) : 0;
        if (sig) {
            if (sig == SIGHUP) {
                reload();
            } else {
                log_info("stopping");
                sd_notify(0, "STOPPING=1");
                for (Start& s : starts_)
                    for (int fd : s.clients)
                        answer_once(fd, control::failure(control::Code::Failed,
                                                         "dccd is stopping: the migration did not start"));
                each_volume("stopping", &Daemon::flush_acks);
                return 0;
            }
        }
        if (!cfg_.insecure && ready(zap)) link_.serve_zap();
        for (size_t i = 0; i < monitor.size(); i++)
            if (ready(monitor[i])) link_.serve_monitor(i);
        witness_link_news();
        link_.tick();
        if (ready(kernel)) kernel_events();
        if (wsock && ready(witness)) witness_answers();
        // Sync writes first: the owner's application waits for each.
        for (size_t i = first_sync; i < end_sync; i++)
            if (items[i].revents) {
                serve_sync_path(true);
                flush_sync_writes();
                break;
            }
        // Control first: drain both control sockets, then a bounded batch
        // of bulk, with misses and control messages served between bulk
        // ones.
        for (size_t i = 0; i < socks.size(); i++) {
            if (!ready(peer[i])) continue;
            if (link_.is_control(*socks[i])) {
                receive_control(*socks[i], 64);
            } else {
                // Their data-device calls side by side, a batch at a
                // time (transfers.cpp); the buffers made before a message
                // takes a lock.
                batch_buf(kDataBatch - 1);
                for (int budget = 16; budget--;) {
                    auto in = link_.receive(*socks[i]);
                    if (!in) break;
                    if (!batch_admits(*in)) {
                        run_batch();
                        serve_urgent();
                    }
                    batching_ = bulk_kind(*in) == core::BulkKind::Data;
                    try {
                        receive(*in);
                    } catch (...) {
                        batching_ = false;
                        throw;
                    }
                    batching_ = false;
                    if (batch_.empty() || batch_.size() >= kDataBatch) {
                        run_batch();
                        serve_urgent();
                    }
                }
                if (run_batch()) serve_urgent();
            }
            flush_sync_writes();
            // What this batch and those before it wrote becomes valid (or
            // is answered) with one commit per volume, once due.
            commit_due_writes(Clock::now());
            link_tick(Clock::now());  // heartbeats stay on time under load
        }
        // Then the clients, from the last (a request removes its client),
        // for up to 50 ms a round (a failover persists a role): the others
        // stay readable for the next round.  Migrations only queue here.
        // (After the peer, whose sync writes hold the owner's application.)
        auto t_ctl = Clock::now();
        for (size_t i = ctl_.size(); i-- > 0 && Clock::now() - t_ctl < ms(50);)
            if (ready(first_client + i)) {
                ctl_read(i);
                serve_sync();
            }
        if (ready(listener)) ctl_accept();
        run_starts();
        auto now = Clock::now();
        link_tick(now);
        if (now - last_scan_ > ms(2000)) {
            last_scan_ = now;
            try {
                scan_volumes();
            } catch (const Error& e) {
                log_warn("%s", e.what());
            }
            serve_sync();
            // (A quiet volume has no lock, so no bio waits; a lost
            // event marks every volume.)
            for (auto& [_, v] : vols_) v->check_pending |= !quiet(*v);
        }
        if (now - last_publish_ > ms(500)) {
            publish(now);
            serve_sync();
        }
        sync_->set_link(link_up_, inc_.mine(), inc_.to());
        // Volume work, round robin within a time budget, so that the link
        // and the control socket are served on time with many volumes.
        auto it = vols_.lower_bound(next_volume_);
        auto t0 = Clock::now();
        for (size_t k = 0; k < vols_.size(); k++) {
            if (it == vols_.end()) it = vols_.begin();
            if (due(*it->second, now)) {
                maintain(*it->second, now);
                serve_sync();
            }
            ++it;
            if (Clock::now() - t0 > ms(100)) break;
        }
        next_volume_ = it == vols_.end() ? std::string() : it->first;
    }
}

}  // namespace dcc::dccd
