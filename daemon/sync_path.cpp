// SPDX-License-Identifier: GPL-2.0-only
// The shipper's sync path (docs/protocol.md "The sync path"): asked for
// over the control channel, opened, given up and asked for again.
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "boot_clock.hpp"
#include "log.hpp"
#include "sync.hpp"
#include "synclink.hpp"
#include "wire.hpp"

namespace dcc::dccd {

using Clock = core::BootClock;

// The answers that came on the sync path.
void SyncShipper::take_path_answers() {
    std::vector<SyncConn::Received> got;
    bool ok = path_->receive(got);
    Answers a;
    for (const auto& r : got) {
        if (r.msg.type != wire::Type::SyncAck) {
            ok = false;
            break;
        }
        answered(r.msg, a);
    }
    complete(a);
    if (!ok) drop_path(path_->why().empty() ? "a message other than SYNC_ACK" : path_->why());
}

// Ask the peer for a key of the sync path, when there is none and a volume
// ships (again after a failure, a little later each time it failed).
void SyncShipper::open_path() {
    if (path_) return;
    auto now = Clock::now();
    uint64_t from, to;
    bool want = false;
    {
        std::lock_guard<std::mutex> l(mu_);
        for (const auto& [_, v] : by_dev_) want |= v.v.ship;
        want &= up_;
        from = from_;
        to = to_;
    }
    if (!want) {
        opening_ = false;
        return;
    }
    if (opening_ && now - open_sent_ < std::chrono::seconds(3)) return;
    if (opening_) {
        // (A peer that has not yet taken this site's HELLO drops it.)
        opening_ = false;
        open_next_ = now + backoff(std::chrono::seconds(3), std::chrono::seconds(60));
        tell_path("the peer did not answer SYNC_OPEN (a dccd without the sync path?): sync writes take "
                  "the control channel");
    }
    if (now < open_next_) return;
    wire::Message m;
    m.type = wire::Type::SyncOpen;
    m.from = from;
    m.to = to;
    m.seq = seq_.fetch_add(1);
    std::vector<uint8_t> h = wire::encode(m);
    bool sent = false;
    try {
        sent = bool(dealer_.send(zmq::buffer(h), zmq::send_flags::dontwait));
    } catch (const zmq::error_t&) {
    }
    if (sent) {
        opening_ = true;
        open_sent_ = now;
        asked_.push_back(m.seq);
        if (asked_.size() > 8) asked_.pop_front();
    } else {
        open_next_ = now + std::chrono::seconds(1);
    }
}

void SyncShipper::on_open_answer(const wire::Message& m, const zmq::message_t* data) {
    if (path_ || std::find(asked_.begin(), asked_.end(), m.seq) == asked_.end()) return;
    {
        std::lock_guard<std::mutex> l(mu_);
        if (m.to != from_ || m.from != to_) return;
    }
    opening_ = false;
    asked_.clear();
    auto now = Clock::now();
    if (m.status) {
        open_next_ = now + std::chrono::seconds(60);
        tell_path(std::string("the peer has no sync path (") + std::strerror(m.status) +
                  "): sync writes take the control channel");
        return;
    }
    std::optional<core::SyncSecret> secret;
    if (data) secret = core::SyncSecret::of({static_cast<const uint8_t*>(data->data()), data->size()});
    if (!secret || !m.arg || m.arg > 65535) {
        open_next_ = now + std::chrono::seconds(60);
        tell_path("the peer's SYNC_OPEN_ACK holds no key or port: sync writes take the control channel");
        return;
    }
    std::string host = endpoint_host(cfg_.peer), why;
    path_ = SyncConn::connect(host, uint16_t(m.arg), *secret, std::chrono::milliseconds(1000), why);
    sodium_memzero(secret->key.data(), secret->key.size());
    std::string where = host + " port " + std::to_string(m.arg);
    if (!path_) {
        open_next_ = now + backoff(std::chrono::seconds(10), std::chrono::seconds(300));
        tell_path("cannot open the sync path to " + where + ": " + why +
                  " (sync writes take the control channel; the port may be closed by a firewall)");
        return;
    }
    path_told_.clear();
    path_answered_ = false;
    log_info("sync: sync path to %s open", where.c_str());
}

// How long to wait before the next attempt: @base, doubled for each
// attempt that failed in a row before this one, at most @most.
std::chrono::milliseconds SyncShipper::backoff(std::chrono::milliseconds base, std::chrono::milliseconds most) {
    auto d = base * (1u << std::min(failures_, 10u));
    failures_++;
    return std::min(d, most);
}

// The sync path failed: what it carried unanswered goes again, in front
// and in order (the replica takes each write once); it is asked for again
// in a second.
void SyncShipper::drop_path(std::string why) {
    path_->abort();
    path_.reset();
    {
        std::lock_guard<std::mutex> l(mu_);
        std::vector<Held> again;
        for (auto it = sent_.begin(); it != sent_.end();) {
            if (it->second.path) {
                again.push_back(it->second.w);
                it = sent_.erase(it);
            } else {
                ++it;
            }
        }
        pending_.insert(pending_.begin(), again.begin(), again.end());
    }
    // Asked for again in a second, or later and later while each new
    // path fails before it answered a write (a connection that opens but
    // carries nothing).
    open_next_ = Clock::now() + (path_answered_ ? std::chrono::milliseconds(std::chrono::seconds(1))
                                                : backoff(std::chrono::seconds(1), std::chrono::seconds(60)));
    tell_path("the sync path failed: " + why);
}

// The sync path's state, logged when it changes.
void SyncShipper::tell_path(const std::string& state) {
    if (state == path_told_) return;
    path_told_ = state;
    log_warn("sync: %s", state.c_str());
}

}  // namespace dcc::dccd
