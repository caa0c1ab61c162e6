// SPDX-License-Identifier: GPL-2.0-only
// The sync path's sockets (docs/protocol.md, "The sync path"): a plain TCP
// connection from the owner's shipper to the replica's loop, keyed over
// the CURVE link, that carries SYNC_WRITE and SYNC_ACK without ZeroMQ's
// I/O threads (each of which costs a thread hand-off at both ends).  The
// bytes are core::Sealer's and core::Opener's.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "boot_clock.hpp"
#include "sealed.hpp"
#include "wire.hpp"

namespace dcc {

// The host of endpoint @ep (tcp://HOST:PORT), without IPv6's brackets.
std::string endpoint_host(const std::string& ep);

// One connection, either end, non-blocking once greeted.
class SyncConn {
public:
    // The owner's end: connect to @host:@port, say hello with @s's token and
    // take the listener's stream header, all within @timeout.  nullptr and
    // @why if that fails.
    static std::unique_ptr<SyncConn> connect(const std::string& host, uint16_t port,
                                             const core::SyncSecret& s,
                                             std::chrono::milliseconds timeout, std::string& why);
    // The listener's end of an accepted socket (owns @fd); greet() next.
    explicit SyncConn(int fd);
    ~SyncConn();
    SyncConn(const SyncConn&) = delete;
    SyncConn& operator=(const SyncConn&) = delete;

    int fd() const { return fd_; }
    // Close with a reset: what the socket still holds is never sent (a
    // sync write given up here goes again elsewhere, with a newer seq).
    void abort();
    bool greeted() const { return opener_ != nullptr; }
    // Listener: read the connector's hello; @key_of names the key of a
    // token (nullopt: unknown).  Returns false once the connection failed
    // (why()); true while the hello is still coming or once greeted.
    using KeyOf = std::function<std::optional<std::array<uint8_t, core::kSyncKeyBytes>>(
        const std::array<uint8_t, core::kSyncTokenBytes>&)>;
    bool greet(const KeyOf& key_of);

    // Queue @m (and its data) and write what the socket takes; false once
    // the connection failed.
    bool send(const wire::Message& m, const void* data = nullptr, size_t len = 0);
    // Write what is queued (POLLOUT); false once failed.
    bool flush();
    bool wants_out() const { return out_at_ < out_.size(); }
    // Read what is there and decode whole messages into @out; false once the
    // connection failed or ended (why()).
    struct Received {
        wire::Message msg;
        std::vector<uint8_t> data;
    };
    bool receive(std::vector<Received>& out);
    const std::string& why() const { return why_; }

private:
    bool fail(std::string why);
    // Read up to @n bytes into @buf; false on an error or the end.
    bool read_some(std::vector<uint8_t>& buf, size_t n);

    int fd_;
    std::unique_ptr<core::Sealer> sealer_;
    std::unique_ptr<core::Opener> opener_;
    std::vector<uint8_t> hello_;  // the listener's: the connector's hello, as it comes
    std::vector<uint8_t> out_;
    size_t out_at_ = 0;
    std::string why_;
};

// The replica's listener and the connections it accepted.
class SyncListener {
public:
    // Binds @endpoint (tcp://HOST:PORT, "*" for any host or port); throws
    // std::runtime_error if it cannot.
    explicit SyncListener(const std::string& endpoint);
    ~SyncListener();
    uint16_t port() const { return port_; }

    // A key and token for one connection (for SYNC_OPEN_ACK); at most a
    // few wait, each for ten seconds.
    core::SyncSecret open();

    // The descriptors to poll: the listener's and each connection's.
    void poll_items(std::vector<zmq::pollitem_t>& items) const;
    // Accept, greet and read whatever is there (non-blocking); each
    // message in @out with the serial of its connection (reply()'s).
    struct Message {
        uint64_t conn;
        wire::Message msg;
        std::vector<uint8_t> data;
    };
    // @accept: take new connections too (the listener polled readable);
    // without, nothing is done while there is no connection, so that
    // dccd may call it between any two of its tasks at no cost.
    void serve(std::vector<Message>& out, bool accept = true);
    // Answer on connection @conn; false if it is gone.
    bool reply(uint64_t conn, const wire::Message& m);

private:
    struct Pending {
        core::SyncSecret secret;
        core::BootClock::time_point until;
    };
    struct Conn {
        uint64_t serial;
        std::unique_ptr<SyncConn> c;
        core::BootClock::time_point accepted;
    };
    void drop(size_t i, std::string why);  // (by value: often the connection's own)

    int fd_ = -1;
    uint16_t port_ = 0;
    uint64_t next_serial_ = 1;
    std::deque<Pending> pending_;
    std::vector<Conn> conns_;
    core::BootClock::time_point logged_{};
    uint64_t unlogged_ = 0;
    core::BootClock::time_point accept_pause_{};  // out of descriptors
};

}  // namespace dcc
