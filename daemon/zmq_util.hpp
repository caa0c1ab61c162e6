// SPDX-License-Identifier: GPL-2.0-only
// What the peer link and the witness share of ZeroMQ: reading a whole
// message, the ZAP exchange (RFC 27) and the reading of a socket
// monitor's handshake events.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dcc {

// The frames of one message, without waiting; empty if none is there.
std::vector<zmq::message_t> recv_multipart(zmq::socket_t& s);

// One ZAP request: who connects, with which mechanism and CURVE key.
struct ZapRequest {
    std::string request_id;
    std::string address;
    std::string mechanism;
    std::string key;  // 32 raw bytes with CURVE, else empty
};
std::optional<ZapRequest> zap_request(zmq::socket_t& zap);
// Admit (with @user_id) or refuse the connection @r asked about.
void zap_reply(zmq::socket_t& zap, const ZapRequest& r, bool ok, const std::string& user_id = "");

// One event of a socket monitor that watches handshakes.
struct HandshakeEvent {
    uint16_t event = 0;
    uint32_t value = 0;
    std::string endpoint;
};
std::optional<HandshakeEvent> read_monitor(zmq::socket_t& monitor);
// Why a handshake failed, for the log; @insecure_side names this side
// when it runs without CURVE ("this site", "the witness").
std::string handshake_failure(const HandshakeEvent& e, bool insecure, const char* insecure_side);

// Which refused handshakes of one socket go to the log: at most one every
// ten seconds, but a reason that names the cause and differs from the last
// one logged (the peer restarted with another setup) at once. The same
// refusal may reach a socket either way: as a protocol error that names
// it, or, when the other side closed first, as a bare failure.
class RefusalLog {
public:
    using Clock = std::chrono::steady_clock;
    // Whether to log @why now; @named: it names its cause.
    bool take(bool named, const std::string& why, Clock::time_point now);

private:
    std::string reason_;
    Clock::time_point logged_{};
    bool any_ = false;
};

// SIGTERM, SIGINT and SIGHUP blocked and readable from the returned
// signalfd (throws dcc::Error if it cannot be made).
int stop_signals();
// The signal read from that signalfd, or 0 if none was pending.
int take_signal(int fd);

// Whether @public_key is the one of @secret_key (both Z85): nullopt if
// so, else why not, naming @origin (the configuration file).
std::optional<std::string> key_pair_mismatch(const std::string& secret_key,
                                             const std::string& public_key,
                                             const std::string& origin);

}  // namespace dcc
