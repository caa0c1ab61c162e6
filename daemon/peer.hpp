// SPDX-License-Identifier: GPL-2.0-only
// The link to the peer site: ZeroMQ sockets, CURVE and the key allow-list.
//
// Each site binds a ROUTER for the control channel (hello, heartbeats,
// attach, demand fetches) and one for the bulk channel (replication and
// hydration), and connects a DEALER to each of the peer's.  Requests go out
// on the DEALERs; the peer answers on the same connection.  Control and
// bulk never share a queue, so a demand fetch never waits behind a bulk
// transfer.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "boot_clock.hpp"
#include "config.hpp"
#include "synclink.hpp"
#include "wire.hpp"
#include "zmq_util.hpp"

namespace dcc {

// Sync: the sync path (synclink.hpp), whose replies go back on the
// connection a message came on (its serial in Incoming::identity).
enum class Chan { Ctl, Bulk, Sync };

// The context's I/O threads (ZMQ_AFFINITY bits): dccd's context has two.
constexpr uint64_t kBulkThreads = 1;
constexpr uint64_t kControlThreads = 2;
constexpr int kIoThreads = 2;

struct Incoming {
    Chan chan;
    bool request;             // from the peer's DEALER (answer with reply())
    zmq::message_t identity;  // for reply()
    wire::Message msg;
    zmq::message_t payload;   // region data, if the type has any
    core::BootClock::time_point at;  // taken from its socket
};

class PeerLink {
public:
    PeerLink(zmq::context_t& ctx, const Config& cfg);

    // Sockets to poll, in priority order (control first), and the ZAP socket.
    std::vector<zmq::socket_t*> sockets();
    std::vector<zmq::socket_t*> control_sockets() { return {&ctl_server_, &ctl_client_}; }
    bool is_control(const zmq::socket_t& s) const { return &s == &ctl_server_ || &s == &ctl_client_; }
    zmq::socket_t& zap() { return zap_; }
    void serve_zap();
    // Handshakes that failed (a client without CURVE, wrong keys) are
    // logged from the sockets' monitors.
    std::vector<zmq::socket_t*> monitors();
    void serve_monitor(size_t i);
    // ZeroMQ gives up on a connection whose handshake hit a protocol error
    // (a peer without CURVE, for one); this connects such a socket again,
    // at most once a second.  Call it regularly.
    void tick();

    // Read one message from a readable socket; nullopt if it was refused
    // (logged) or nothing was there.
    std::optional<Incoming> receive(zmq::socket_t& s);

    // The sync path's listener, or nullptr (listen_sync "none", or a
    // derived port that could not be bound).
    SyncListener* sync() { return sync_.get(); }
    // What came on the sync path's connections (non-blocking); @accept:
    // new connections too (SyncListener::serve).
    std::vector<Incoming> receive_sync(bool accept);

    // Send a request; false if it could not be queued (no connection).
    bool request(Chan c, const wire::Message& m, const void* data = nullptr, size_t len = 0);
    void reply(const Incoming& to, const wire::Message& m, const void* data = nullptr,
               size_t len = 0);

    // The witness (a DEALER, CURVE with the witness's key), if configured.
    zmq::socket_t* witness() { return witness_ ? &*witness_ : nullptr; }
    bool witness_request(const wire::Message& m);
    // One answer from the witness; nullopt if none is there or it was refused.
    std::optional<wire::Message> witness_receive();
    // Whether a connection to the witness is up (its CURVE handshake done,
    // ZeroMQ's heartbeats answered within link_timeout_ms); nullopt without
    // a witness.  Only serve_monitor() changes it.
    std::optional<bool> witness_up() const { return witness_up_; }

    // Close every socket, giving what was queued on them up to @linger_ms
    // to reach the network when the context is closed.  For the crash
    // points of the tests: "dies after sending" must mean the peer gets it.
    void close(int linger_ms);

private:
    bool two_threads_ = false;
    void setup_common(zmq::socket_t& s);
    void setup_server(zmq::socket_t& s, const std::string& ep);
    void setup_client(zmq::socket_t& s, const std::string& ep, const std::string& id,
                      const std::string& server_key);
    bool send(zmq::socket_t& s, const zmq::message_t* identity, const wire::Message& m,
              const void* data, size_t len);

    void monitor(zmq::context_t& ctx, zmq::socket_t& s, const char* what,
                 const std::string& endpoint = "", int more_events = 0);

    const Config& cfg_;
    zmq::socket_t zap_;
    zmq::socket_t ctl_server_, bulk_server_, ctl_client_, bulk_client_;
    std::optional<zmq::socket_t> witness_;
    std::optional<bool> witness_up_;
    struct Monitor {
        zmq::socket_t pair;
        const char* what;
        zmq::socket_t* client;  // the DEALER it watches, or nullptr
        std::string endpoint;   // and where that connects
        bool lost = false;      // ZeroMQ gave that connection up
        bool witness = false;   // it watches the witness's connection
        RefusalLog log;
        core::BootClock::time_point retried{};
    };
    std::vector<Monitor> monitors_;
    std::string peer_key_;  // 32 raw bytes
    std::unique_ptr<SyncListener> sync_;
};

}  // namespace dcc
