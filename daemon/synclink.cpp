// SPDX-License-Identifier: GPL-2.0-only
#include "boot_clock.hpp"
#include "synclink.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "dcc/error.hpp"
#include "log.hpp"

namespace dcc {

using Clock = core::BootClock;

namespace {

constexpr size_t kMaxPending = 4;     // keys given out, not yet used
// Connections: a few not yet greeted, each for a few seconds (anyone who
// reaches the port can open one: they must not push out the owner's),
// and two greeted (the owner's newest, and one it is replacing).
constexpr size_t kMaxHellos = 4;
constexpr auto kHelloTime = std::chrono::seconds(5);
constexpr size_t kMaxGreeted = 2;
constexpr auto kKeyLife = std::chrono::seconds(10);

void tune(int fd) {
    int one = 1;
    // One small message a write, answered at once: no Nagle delay.
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
}

// "tcp://HOST:PORT" into a host and a port for getaddrinfo ("*" for any).
std::pair<std::string, std::string> split_endpoint(const std::string& ep) {
    std::string rest = ep.rfind("tcp://", 0) == 0 ? ep.substr(6) : ep;
    size_t colon = rest.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("'" + ep + "' is not tcp://HOST:PORT");
    std::string host = rest.substr(0, colon), port = rest.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host == "*") host.clear();
    if (port == "*") port = "0";
    return {host, port};
}

// Wait until @fd is ready for @events or @deadline passes.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        int n = poll(&p, 1, int(left));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return false;
    }
}

}  // namespace

std::string endpoint_host(const std::string& ep) { return split_endpoint(ep).first; }

SyncConn::SyncConn(int fd) : fd_(fd) {}

SyncConn::~SyncConn() {
    if (fd_ >= 0) close(fd_);
}

void SyncConn::abort() {
    struct linger l = {1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(fd_);
    fd_ = -1;
}

bool SyncConn::fail(std::string why) {
    if (why_.empty()) why_ = std::move(why);
    return false;
}

std::unique_ptr<SyncConn> SyncConn::connect(const std::string& host, uint16_t port,
                                            const core::SyncSecret& s, std::chrono::milliseconds timeout,
                                            std::string& why) {
    auto deadline = Clock::now() + timeout;
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (int e = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res)) {
        why = "cannot resolve " + host + ": " + gai_strerror(e);
        return nullptr;
    }
    std::unique_ptr<SyncConn> c;
    why = "no address for " + host;
    for (addrinfo* a = res; a && !c; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        auto conn = std::make_unique<SyncConn>(fd);
        int r = ::connect(fd, a->ai_addr, a->ai_addrlen);
        if (r && errno != EINPROGRESS) {
            why = errno_text("connect", errno);
            continue;
        }
        if (r && !wait_fd(fd, POLLOUT, deadline)) {
            why = "connect: no answer";
            continue;
        }
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            why = errno_text("connect", err);
            continue;
        }
        c = std::move(conn);
    }
    freeaddrinfo(res);
    if (!c) return nullptr;
    tune(c->fd_);
    c->sealer_ = std::make_unique<core::Sealer>(s.key);
    std::vector<uint8_t> hello = core::sync_hello(s, c->sealer_->header());
    c->out_ = hello;
    while (c->wants_out())
        if (!c->flush() || (c->wants_out() && !wait_fd(c->fd_, POLLOUT, deadline))) {
            why = c->why_.empty() ? "hello: no room to send" : c->why_;
            return nullptr;
        }
    // The listener's stream header, or nothing if it did not know the token.
    std::vector<uint8_t> header;
    while (header.size() < core::kSyncStreamHeader) {
        if (!wait_fd(c->fd_, POLLIN, deadline)) {
            why = "no answer to the hello";
            return nullptr;
        }
        if (!c->read_some(header, core::kSyncStreamHeader - header.size())) {
            why = c->why_ == "closed" ? "the peer closed the connection (it did not know the key)" : c->why_;
            return nullptr;
        }
    }
    std::array<uint8_t, core::kSyncStreamHeader> h;
    std::copy(header.begin(), header.end(), h.begin());
    c->opener_ = std::make_unique<core::Opener>(s.key, h);
    return c;
}

bool SyncConn::read_some(std::vector<uint8_t>& buf, size_t n) {
    size_t at = buf.size();
    buf.resize(at + n);
    ssize_t r = read(fd_, buf.data() + at, n);
    buf.resize(at + size_t(std::max<ssize_t>(r, 0)));
    if (r > 0) return true;
    if (r == 0) return fail("closed");
    if (errno == EAGAIN || errno == EINTR) return true;
    return fail(errno_text("read", errno));
}

bool SyncConn::greet(const KeyOf& key_of) {
    if (greeted()) return true;
    if (!read_some(hello_, core::kSyncHelloBytes - hello_.size())) return false;
    if (hello_.size() < core::kSyncHelloBytes) return true;
    auto h = core::parse_sync_hello(hello_);
    if (!h) return fail("not a sync path hello");
    auto key = key_of(h->token);
    if (!key) return fail("a hello with a key this site did not give (or gave too long ago)");
    tune(fd_);
    opener_ = std::make_unique<core::Opener>(*key, h->header);
    sealer_ = std::make_unique<core::Sealer>(*key);
    sodium_memzero(key->data(), key->size());
    out_.assign(sealer_->header().begin(), sealer_->header().end());
    return flush();
}

bool SyncConn::flush() {
    while (out_at_ < out_.size()) {
        ssize_t w = ::send(fd_, out_.data() + out_at_, out_.size() - out_at_, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) return true;
            return fail(errno_text("write", errno));
        }
        out_at_ += size_t(w);
    }
    out_.clear();
    out_at_ = 0;
    return true;
}

bool SyncConn::send(const wire::Message& m, const void* data, size_t len) {
    if (!why_.empty() || !sealer_) return false;
    std::vector<uint8_t> h = wire::encode(m);
    sealer_->seal(h, {static_cast<const uint8_t*>(data), data ? len : 0}, out_);
    return flush();
}

bool SyncConn::receive(std::vector<Received>& out) {
    if (!why_.empty() || !opener_) return false;
    uint8_t buf[65536];
    std::string ended;  // after the frames already read are taken
    for (;;) {
        ssize_t r = read(fd_, buf, sizeof(buf));
        if (r == 0) {
            ended = "closed";
            break;
        }
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) ended = errno_text("read", errno);
            break;
        }
        opener_->feed({buf, size_t(r)});
        if (size_t(r) < sizeof(buf)) break;
    }
    while (auto f = opener_->next()) {
        wire::Decoded d = wire::decode(f->head, f->data.empty() ? 0 : 1);
        if (!d.msg) return fail("a message that does not decode: " + d.error);
        out.push_back({std::move(*d.msg), std::move(f->data)});
    }
    if (opener_->failed()) return fail(opener_->error());
    return ended.empty() || fail(ended);
}

SyncListener::SyncListener(const std::string& endpoint) {
    auto [host, port] = split_endpoint(endpoint);
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (int e = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res))
        throw std::runtime_error("listen_sync " + endpoint + ": " + gai_strerror(e));
    std::string why = "no address";
    for (addrinfo* a = res; a && fd_ < 0; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, a->ai_addr, a->ai_addrlen) || listen(fd, 8)) {
            why = errno_text("bind", errno);
            close(fd);
            continue;
        }
        fd_ = fd;
    }
    freeaddrinfo(res);
    if (fd_ < 0) throw std::runtime_error("listen_sync " + endpoint + ": " + why);
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
    port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

SyncListener::~SyncListener() {
    for (Pending& p : pending_) sodium_memzero(&p.secret, sizeof(p.secret));
    if (fd_ >= 0) close(fd_);
}

core::SyncSecret SyncListener::open() {
    auto now = Clock::now();
    auto wipe = [](Pending& p) { sodium_memzero(&p.secret, sizeof(p.secret)); };
    for (Pending& p : pending_)
        if (p.until < now) wipe(p);
    std::erase_if(pending_, [&](const Pending& p) { return p.until < now; });
    while (pending_.size() >= kMaxPending) {
        wipe(pending_.front());
        pending_.pop_front();
    }
    pending_.push_back({core::SyncSecret::random(), now + kKeyLife});
    return pending_.back().secret;
}

void SyncListener::poll_items(std::vector<zmq::pollitem_t>& items) const {
    bool paused = Clock::now() < accept_pause_;
    items.push_back({nullptr, paused ? -1 : fd_, short(paused ? 0 : ZMQ_POLLIN), 0});
    for (const Conn& c : conns_)
        items.push_back({nullptr, c.c->fd(), short(ZMQ_POLLIN | (c.c->wants_out() ? ZMQ_POLLOUT : 0)), 0});
}

// A connection ends: logged unless the owner closed it, at most once in
// 10 s (anyone who reaches the port can make connections fail).
void SyncListener::drop(size_t i, std::string why) {
    auto now = Clock::now();
    if (why != "closed") {
        if (now - logged_ >= std::chrono::seconds(10)) {
            log_warn("sync path: dropped a connection: %s%s", why.c_str(),
                     unlogged_ ? (" (and " + std::to_string(unlogged_) + " more since the last)").c_str() : "");
            logged_ = now;
            unlogged_ = 0;
        } else {
            unlogged_++;
        }
    }
    conns_.erase(conns_.begin() + long(i));
}

// The oldest connection that is (or is not) greeted, if there are at
// least @max of them.
static std::optional<size_t> oldest_over(const auto& conns, bool greeted, size_t max) {
    size_t n = 0;
    std::optional<size_t> first;
    for (size_t i = 0; i < conns.size(); i++)
        if (conns[i].c->greeted() == greeted && n++ == 0) first = i;
    return n >= max ? first : std::nullopt;
}

void SyncListener::serve(std::vector<Message>& out, bool accept) {
    if (!accept && conns_.empty()) return;
    auto now = Clock::now();
    // New connections first, a bounded number a call; none is dropped
    // before every connection's hello has been read below, so that the
    // owner's, its hello already there, is never pushed out unread.
    for (int n = 0; accept && n < 16 && now >= accept_pause_; n++) {
        int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            conns_.push_back({next_serial_++, std::make_unique<SyncConn>(fd), now});
            continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            // The listener stays readable: not polled for a second.
            log_warn("sync path: cannot take a connection: %s", std::strerror(errno));
            accept_pause_ = now + std::chrono::seconds(1);
        }
        break;
    }
    auto key_of = [&](const std::array<uint8_t, core::kSyncTokenBytes>& token)
        -> std::optional<std::array<uint8_t, core::kSyncKeyBytes>> {
        for (auto it = pending_.begin(); it != pending_.end(); ++it)
            if (it->until >= now && sodium_memcmp(it->secret.token.data(), token.data(), token.size()) == 0) {
                auto key = it->secret.key;
                sodium_memzero(&it->secret, sizeof(it->secret));
                pending_.erase(it);  // one connection a key
                return key;
            }
        return std::nullopt;
    };
    for (size_t i = 0; i < conns_.size();) {
        SyncConn& c = *conns_[i].c;
        bool was = c.greeted();
        bool ok = was ? c.flush() : c.greet(key_of);
        if (ok && !was && !c.greeted() && now - conns_[i].accepted > kHelloTime) {
            drop(i, "no hello within 5 s");
            continue;
        }
        if (ok && !was && c.greeted()) {
            // The owner's new connection replaces its oldest.
            if (auto j = oldest_over(conns_, true, kMaxGreeted + 1)) {
                drop(*j, "replaced by a newer connection");
                if (*j < i) i--;
                continue;  // (this one again, now greeted)
            }
        }
        std::vector<SyncConn::Received> got;
        if (ok && c.greeted()) ok = c.receive(got);
        bool other = false;
        for (auto& r : got) {
            // Only sync writes travel here (the rest has its ZeroMQ channel).
            if (r.msg.type != wire::Type::SyncWrite) {
                other = true;
                break;
            }
            out.push_back({conns_[i].serial, std::move(r.msg), std::move(r.data)});
        }
        if (!ok || other) {
            drop(i, other ? "a message other than SYNC_WRITE" : c.why());
            continue;
        }
        i++;
    }
    // Then the bound on connections without a hello: the oldest go.
    while (auto i = oldest_over(conns_, false, kMaxHellos + 1)) drop(*i, "too many connections without a hello");
}

bool SyncListener::reply(uint64_t conn, const wire::Message& m) {
    for (size_t i = 0; i < conns_.size(); i++)
        if (conns_[i].serial == conn) {
            if (conns_[i].c->send(m)) return true;
            drop(i, conns_[i].c->why());
            return false;
        }
    return false;
}

}  // namespace dcc
