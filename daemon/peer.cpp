// SPDX-License-Identifier: GPL-2.0-only
#include "boot_clock.hpp"
#include "peer.hpp"

#include <cstdio>
#include <cstring>

#include "log.hpp"
#include "zmq_util.hpp"

namespace dcc {

PeerLink::PeerLink(zmq::context_t& ctx, const Config& cfg)
    : cfg_(cfg),
      zap_(ctx, zmq::socket_type::rep),
      ctl_server_(ctx, zmq::socket_type::router),
      bulk_server_(ctx, zmq::socket_type::router),
      ctl_client_(ctx, zmq::socket_type::dealer),
      bulk_client_(ctx, zmq::socket_type::dealer) {
    // Two ZeroMQ I/O threads (the context's): bulk on one, everything else
    // on the other, so that a control message, a demand fetch or a sync
    // write never queues behind the encryption of bulk transfers.
    // (A context with one thread, as in unit tests, puts all on it.)
    two_threads_ = ctx.get(zmq::ctxopt::io_threads) >= kIoThreads;
    if (two_threads_) {
        bulk_server_.set(zmq::sockopt::affinity, kBulkThreads);
        bulk_client_.set(zmq::sockopt::affinity, kBulkThreads);
        ctl_server_.set(zmq::sockopt::affinity, kControlThreads);
        ctl_client_.set(zmq::sockopt::affinity, kControlThreads);
    }
    if (!cfg.insecure) {
        uint8_t key[32];
        if (!zmq_z85_decode(key, cfg.peer_public_key.c_str()))
            throw std::runtime_error("peer_public_key is not a Z85 key");
        peer_key_.assign(reinterpret_cast<char*>(key), 32);
        // The ZAP handler must exist before any CURVE server socket binds.
        zap_.bind("inproc://zeromq.zap.01");
    }
    setup_server(ctl_server_, cfg.listen);
    setup_server(bulk_server_, cfg.listen_bulk);
    if (!cfg.listen_sync.empty() && cfg.listen_sync != "none") {
        try {
            sync_ = std::make_unique<SyncListener>(cfg.listen_sync);
        } catch (const std::runtime_error& e) {
            // A port dccd chose itself may be taken: sync writes then go
            // over the control channel.  One the admin named must work.
            if (!cfg.listen_sync_derived) throw;
            log_warn("%s: sync writes will take the control channel (set listen_sync)", e.what());
        }
    }
    setup_client(ctl_client_, cfg.peer, "ctl:" + cfg.site, cfg.peer_public_key);
    setup_client(bulk_client_, cfg.peer_bulk, "bulk:" + cfg.site, cfg.peer_public_key);
    if (!cfg.witness.empty()) {
        witness_.emplace(ctx, zmq::socket_type::dealer);
        if (two_threads_) witness_->set(zmq::sockopt::affinity, kControlThreads);
        // (connected once its monitor is on: its first handshake counts)
        setup_client(*witness_, "", "site:" + cfg.site, cfg.witness_public_key);
    }
    monitors_.reserve(5);
    monitor(ctx, ctl_server_, "control listener");
    monitor(ctx, bulk_server_, "bulk listener");
    monitor(ctx, ctl_client_, "control connection to the peer", cfg.peer);
    monitor(ctx, bulk_client_, "bulk connection to the peer", cfg.peer_bulk);
    if (witness_) {
        witness_up_ = false;
        monitor(ctx, *witness_, "connection to the witness", cfg.witness,
                ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED);
        monitors_.back().witness = true;
        witness_->connect(cfg.witness);
    }
}

void PeerLink::monitor(zmq::context_t& ctx, zmq::socket_t& s, const char* what,
                       const std::string& endpoint, int more_events) {
    static unsigned serial;  // endpoints are per context: one per monitor
    std::string ep = "inproc://dccd-monitor-" + std::to_string(serial++);
    if (zmq_socket_monitor(s.handle(), ep.c_str(),
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               more_events))
        throw std::runtime_error("cannot monitor the " + std::string(what));
    zmq::socket_t pair(ctx, zmq::socket_type::pair);
    pair.set(zmq::sockopt::linger, 0);
    pair.connect(ep);
    monitors_.push_back({std::move(pair), what, endpoint.empty() ? nullptr : &s, endpoint});
}

void PeerLink::tick() {
    auto now = core::BootClock::now();
    for (Monitor& m : monitors_) {
        if (!m.lost || now - m.retried < std::chrono::seconds(1)) continue;
        m.lost = false;
        m.retried = now;
        try {
            m.client->disconnect(m.endpoint);
        } catch (const zmq::error_t&) {
            // Already gone with its session: connecting again is enough.
        }
        m.client->connect(m.endpoint);
    }
}

std::vector<zmq::socket_t*> PeerLink::monitors() {
    std::vector<zmq::socket_t*> v;
    for (Monitor& m : monitors_) v.push_back(&m.pair);
    return v;
}

// One monitor event: {u16 event, u32 value} then the socket's endpoint.
// Keys that are wrong or missing are logged by serve_zap(); what fails
// before ZAP is asked (no CURVE at all, a CURVE handshake that does not
// decrypt) is logged here, as RefusalLog lets it.
void PeerLink::serve_monitor(size_t i) {
    Monitor& m = monitors_[i];
    auto e = read_monitor(m.pair);
    if (!e) return;
    if (m.witness) {
        // The DEALER has one connection: it is up from its handshake to
        // its end (or a heartbeat unanswered for link_timeout_ms).
        bool up = e->event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
        witness_up_ = up;
        if (up || e->event == ZMQ_EVENT_DISCONNECTED) return;
    }
    // A protocol error ends the connection for good in ZeroMQ (no reconnect).
    bool named = e->event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
    if (named && m.client) m.lost = true;
    std::string why = handshake_failure(*e, cfg_.insecure, "this site");
    if (m.log.take(named, why, RefusalLog::Clock::now()))
        log_warn("refused a connection on the %s (%s): %s", m.what, e->endpoint.c_str(), why.c_str());
}

// What every socket of the link shares: nothing lingers, no frame from the
// peer may be larger than a region and a header, and ZeroMQ's own
// heartbeats close a connection that carried nothing for link_timeout_ms,
// so that a link that comes back is used again at once instead of after
// TCP gave up retransmitting on the dead connection.
void PeerLink::setup_common(zmq::socket_t& s) {
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::maxmsgsize, int64_t(wire::kMaxPayload + 128));
    s.set(zmq::sockopt::heartbeat_ivl, int(cfg_.heartbeat_ms));
    s.set(zmq::sockopt::heartbeat_timeout, int(cfg_.link_timeout_ms));
    s.set(zmq::sockopt::heartbeat_ttl, int(cfg_.link_timeout_ms));
}

void PeerLink::setup_server(zmq::socket_t& s, const std::string& ep) {
    setup_common(s);
    s.set(zmq::sockopt::router_mandatory, 1);
    // The peer's reconnection (same routing id) takes over the old route.
    s.set(zmq::sockopt::router_handover, 1);
    if (!cfg_.insecure) {
        s.set(zmq::sockopt::curve_server, 1);
        s.set(zmq::sockopt::curve_secretkey, cfg_.secret_key);
        s.set(zmq::sockopt::zap_domain, "dcc");
    }
    s.bind(ep);
}

void PeerLink::setup_client(zmq::socket_t& s, const std::string& ep, const std::string& id,
                            const std::string& server_key) {
    setup_common(s);
    s.set(zmq::sockopt::routing_id, id);
    s.set(zmq::sockopt::immediate, 1);  // queue nothing for a peer that is not there
    s.set(zmq::sockopt::reconnect_ivl, 100);
    s.set(zmq::sockopt::reconnect_ivl_max, 2000);  // back off to 2 s
    s.set(zmq::sockopt::connect_timeout, 1000);    // a cut link: try again each second
    if (!cfg_.insecure) {
        s.set(zmq::sockopt::curve_serverkey, server_key);
        s.set(zmq::sockopt::curve_publickey, cfg_.public_key);
        s.set(zmq::sockopt::curve_secretkey, cfg_.secret_key);
    }
    if (!ep.empty()) s.connect(ep);
}

std::vector<zmq::socket_t*> PeerLink::sockets() {
    return {&ctl_server_, &ctl_client_, &bulk_server_, &bulk_client_};
}

// ZAP (RFC 27): admit only the peer's public key.
void PeerLink::serve_zap() {
    auto r = zap_request(zap_);
    if (!r) return;
    bool ok = !r->key.empty() && r->key == peer_key_;
    if (!ok) log_warn("refused a %s connection from %s: key not allowed", r->mechanism.c_str(),
                      r->address.c_str());
    zap_reply(zap_, *r, ok, "peer");
}

std::optional<Incoming> PeerLink::receive(zmq::socket_t& s) {
    std::vector<zmq::message_t> frames = recv_multipart(s);
    if (frames.empty()) return std::nullopt;
    Incoming in;
    in.request = &s == &ctl_server_ || &s == &bulk_server_;
    in.chan = (&s == &ctl_server_ || &s == &ctl_client_) ? Chan::Ctl : Chan::Bulk;
    size_t first = 0;
    if (in.request) {
        in.identity = std::move(frames[0]);
        first = 1;
    }
    if (frames.size() <= first) {
        log_warn("refused a peer message: no header frame");
        return std::nullopt;
    }
    size_t data_frames = frames.size() - first - 1;
    auto& h = frames[first];
    wire::Decoded d = wire::decode({static_cast<const uint8_t*>(h.data()), h.size()}, data_frames);
    if (!d.msg) {
        log_warn("refused a peer message: %s", d.error.c_str());
        return std::nullopt;
    }
    if (data_frames) {
        if (frames.back().size() > wire::kMaxPayload) {
            log_warn("refused a peer message: data frame too large");
            return std::nullopt;
        }
        in.payload = std::move(frames.back());
    }
    in.msg = std::move(*d.msg);
    in.at = core::BootClock::now();
    return in;
}

bool PeerLink::send(zmq::socket_t& s, const zmq::message_t* identity, const wire::Message& m,
                    const void* data, size_t len) {
    std::vector<uint8_t> h = wire::encode(m);
    bool with_data = wire::has_payload(m.type) && m.status == 0;
    try {
        if (identity) {
            if (!s.send(zmq::buffer(identity->data(), identity->size()),
                        zmq::send_flags::sndmore | zmq::send_flags::dontwait))
                return false;
        }
        if (!s.send(zmq::buffer(h), (with_data ? zmq::send_flags::sndmore : zmq::send_flags::none) |
                                        zmq::send_flags::dontwait))
            return false;
        if (with_data && !s.send(zmq::buffer(data, len), zmq::send_flags::dontwait)) return false;
    } catch (const zmq::error_t& e) {
        // EHOSTUNREACH from a ROUTER whose peer went away: the reply is lost,
        // which the requester handles like any other loss.
        return false;
    }
    return true;
}

bool PeerLink::request(Chan c, const wire::Message& m, const void* data, size_t len) {
    return send(c == Chan::Ctl ? ctl_client_ : bulk_client_, nullptr, m, data, len);
}

std::vector<Incoming> PeerLink::receive_sync(bool accept) {
    std::vector<Incoming> ins;
    if (!sync_) return ins;
    std::vector<SyncListener::Message> got;
    sync_->serve(got, accept);
    auto now = core::BootClock::now();
    for (auto& g : got) {
        Incoming in;
        in.chan = Chan::Sync;
        in.request = true;
        in.identity = zmq::message_t(&g.conn, sizeof(g.conn));
        in.msg = std::move(g.msg);
        if (!g.data.empty()) in.payload = zmq::message_t(g.data.data(), g.data.size());
        in.at = now;
        ins.push_back(std::move(in));
    }
    return ins;
}

void PeerLink::reply(const Incoming& to, const wire::Message& m, const void* data, size_t len) {
    if (to.chan == Chan::Sync) {
        uint64_t conn = 0;
        if (sync_ && to.identity.size() == sizeof(conn)) {
            std::memcpy(&conn, to.identity.data(), sizeof(conn));
            sync_->reply(conn, m);  // (a SYNC_ACK: no data)
        }
        (void)data, (void)len;
        return;
    }
    send(to.chan == Chan::Ctl ? ctl_server_ : bulk_server_, &to.identity, m, data, len);
}

bool PeerLink::witness_request(const wire::Message& m) {
    return witness_ && send(*witness_, nullptr, m, nullptr, 0);
}

std::optional<wire::Message> PeerLink::witness_receive() {
    if (!witness_) return std::nullopt;
    std::vector<zmq::message_t> frames = recv_multipart(*witness_);
    if (frames.empty()) return std::nullopt;
    auto& h = frames[0];
    wire::Decoded d = wire::decode({static_cast<const uint8_t*>(h.data()), h.size()}, frames.size() - 1);
    if (!d.msg || d.msg->type != wire::Type::WAnswer) {
        log_warn("refused a message from the witness: %s",
                 d.msg ? "not an answer" : d.error.c_str());
        return std::nullopt;
    }
    return std::move(*d.msg);
}

void PeerLink::close(int linger_ms) {
    for (Monitor& m : monitors_) m.pair.close();
    for (zmq::socket_t* s : sockets()) {
        s->set(zmq::sockopt::linger, linger_ms);
        s->close();
    }
    if (witness_) witness_->close();
    zap_.close();
}

}  // namespace dcc
