// SPDX-License-Identifier: GPL-2.0-only
#include "zmq_util.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "dcc/error.hpp"

namespace dcc {

std::vector<zmq::message_t> recv_multipart(zmq::socket_t& s) {
    std::vector<zmq::message_t> frames;
    for (;;) {
        zmq::message_t f;
        if (!s.recv(f, zmq::recv_flags::dontwait)) break;
        bool more = f.more();
        frames.push_back(std::move(f));
        if (!more) break;
    }
    return frames;
}

std::optional<ZapRequest> zap_request(zmq::socket_t& zap) {
    std::vector<zmq::message_t> req = recv_multipart(zap);
    if (req.size() < 6) return std::nullopt;
    ZapRequest r{req[1].to_string(), req[3].to_string(), req[5].to_string(), {}};
    if (r.mechanism == "CURVE" && req.size() >= 7 && req[6].size() == 32) r.key = req[6].to_string();
    return r;
}

void zap_reply(zmq::socket_t& zap, const ZapRequest& r, bool ok, const std::string& user_id) {
    std::vector<std::string> rep = {"1.0", r.request_id, ok ? "200" : "400",
                                    ok ? "OK" : "key not allowed", ok ? user_id : "", ""};
    for (size_t i = 0; i < rep.size(); i++)
        zap.send(zmq::buffer(rep[i]), i + 1 < rep.size() ? zmq::send_flags::sndmore
                                                         : zmq::send_flags::none);
}

// {u16 event, u32 value} then the socket's endpoint.
std::optional<HandshakeEvent> read_monitor(zmq::socket_t& monitor) {
    zmq::message_t ev, ep;
    if (!monitor.recv(ev, zmq::recv_flags::dontwait)) return std::nullopt;
    if (ev.more()) (void)monitor.recv(ep, zmq::recv_flags::dontwait);
    if (ev.size() < 6) return std::nullopt;
    HandshakeEvent e;
    std::memcpy(&e.event, ev.data(), 2);
    std::memcpy(&e.value, static_cast<const char*>(ev.data()) + 2, 4);
    e.endpoint = ep.to_string();
    return e;
}

std::string handshake_failure(const HandshakeEvent& e, bool insecure, const char* insecure_side) {
    if (e.event != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) return "the handshake failed";
    if (e.value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        return insecure ? std::string("the other side uses CURVE and ") + insecure_side + " is insecure"
                        : "the other side does not use CURVE (plaintext?)";
    if (e.value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC || e.value == ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE)
        return "the CURVE handshake failed (the keys do not match)";
    return "a protocol error in the handshake";
}

bool RefusalLog::take(bool named, const std::string& why, Clock::time_point now) {
    bool quiet = any_ && now - logged_ < std::chrono::seconds(10);
    if (quiet && (!named || why == reason_)) return false;
    any_ = true;
    logged_ = now;
    reason_ = why;
    return true;
}

int stop_signals() {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) throw Error(kExitError, errno_text("signalfd", errno), errno);
    return fd;
}

int take_signal(int fd) {
    signalfd_siginfo si;
    if (read(fd, &si, sizeof(si)) != ssize_t(sizeof(si))) return 0;
    return int(si.ssi_signo);
}

std::optional<std::string> key_pair_mismatch(const std::string& secret_key,
                                             const std::string& public_key,
                                             const std::string& origin) {
    char derived[41];
    if (zmq_curve_public(derived, secret_key.c_str()))
        return origin + ": 'secret_key' is not a CURVE secret key";
    if (public_key != derived)
        return origin + ": 'public_key' is not the public key of 'secret_key' (the peer would "
                        "refuse every handshake): dccd keygen makes a pair";
    return std::nullopt;
}

}  // namespace dcc
