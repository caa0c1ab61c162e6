// SPDX-License-Identifier: GPL-2.0-only
#include "boot_clock.hpp"
#include "sync.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "log.hpp"
#include "peer.hpp"
#include "stallwatch.hpp"
#include "wire.hpp"
#include "zmq_util.hpp"

namespace dcc::dccd {

using Clock = core::BootClock;

namespace {

// An answer that does not come within this is asked for again (the first
// message may have met a peer that restarted): a duplicate is harmless,
// the replica takes each sync write once (core::PushOrder::take_write).
constexpr auto kResend = std::chrono::seconds(3);

std::pair<uint32_t, uint32_t> key(nl::Dev d) { return {d.major, d.minor}; }

uint8_t* aligned_region() {
    void* p = nullptr;
    if (posix_memalign(&p, 4096, DCC_MAX_REGION_SECTORS * 512)) throw std::bad_alloc();
    return static_cast<uint8_t*>(p);
}

}  // namespace

SyncShipper::SyncShipper(zmq::context_t& ctx, const Config& cfg, std::atomic<uint64_t>& seq)
    : cfg_(cfg), seq_(seq), dealer_(ctx, zmq::socket_type::dealer),
      events_(DCC_GENL_MCGRP_WRITES), buf_(aligned_region(), free) {
    if (ctx.get(zmq::ctxopt::io_threads) >= kIoThreads)
        dealer_.set(zmq::sockopt::affinity, kControlThreads);
    dealer_.set(zmq::sockopt::linger, 0);
    dealer_.set(zmq::sockopt::maxmsgsize, int64_t(wire::kMaxPayload + 128));
    dealer_.set(zmq::sockopt::heartbeat_ivl, int(cfg.heartbeat_ms));
    dealer_.set(zmq::sockopt::heartbeat_timeout, int(cfg.link_timeout_ms));
    dealer_.set(zmq::sockopt::heartbeat_ttl, int(cfg.link_timeout_ms));
    dealer_.set(zmq::sockopt::routing_id, "sync:" + cfg.site);
    dealer_.set(zmq::sockopt::immediate, 1);
    dealer_.set(zmq::sockopt::reconnect_ivl, 100);
    dealer_.set(zmq::sockopt::reconnect_ivl_max, 2000);
    dealer_.set(zmq::sockopt::connect_timeout, 1000);
    if (!cfg.insecure) {
        dealer_.set(zmq::sockopt::curve_serverkey, cfg.peer_public_key);
        dealer_.set(zmq::sockopt::curve_publickey, cfg.public_key);
        dealer_.set(zmq::sockopt::curve_secretkey, cfg.secret_key);
    }
    dealer_.connect(cfg.peer);
    thread_ = std::thread([this] { run(); });
}

SyncShipper::~SyncShipper() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

void SyncShipper::set_volume(const ShipVolume& sv) {
    std::lock_guard<std::mutex> a(alone_mu_);
    std::lock_guard<std::mutex> l(mu_);
    Vol& v = by_dev_[key(sv.dev)];
    if (!v.fd || v.v.data_fd != sv.data_fd) {
        int fd = dup(sv.data_fd);
        if (fd < 0) log_warn("sync: cannot duplicate a data device descriptor: %s", std::strerror(errno));
        v.fd = fd < 0 ? nullptr : std::make_shared<Fd>(fd);
    }
    if (v.v.reg_id != sv.reg_id) forget(sv.dev);  // another table, perhaps
    // A new registration, or shipping again: the kernel announces what it
    // holds once more (what came while nothing could be sent was dropped).
    // Going alone or back: the held writes are announced again, for the
    // other way to take (what the other way had taken is dropped there).
    if (v.v.reg_id != sv.reg_id || (sv.ship && !v.v.ship) || sv.alone != v.v.alone) v.announce = true;
    v.v = sv;
}

void SyncShipper::drop_volume(nl::Dev dev) {
    std::lock_guard<std::mutex> l(mu_);
    by_dev_.erase(key(dev));
    forget(dev);
}

// Everything in hand for @dev: its ids mean nothing to a new table.
void SyncShipper::forget(nl::Dev dev) {
    std::erase_if(pending_, [&](const Held& w) { return w.dev == dev; });
    std::erase_if(alone_, [&](const Held& w) { return w.dev == dev; });
    std::erase_if(sent_, [&](const auto& s) { return s.second.w.dev == dev; });
    std::erase_if(known_, [&](const auto& k) {
        return std::get<0>(k) == dev.major && std::get<1>(k) == dev.minor;
    });
}

void SyncShipper::set_link(bool up, uint64_t from, uint64_t to) {
    std::lock_guard<std::mutex> l(mu_);
    if (up == up_ && from == from_ && to == to_) return;
    // A connection of its own that may have died with the link's: made
    // again (by the thread) whenever the link comes back or the peer
    // changed, as dccd's link makes its own.
    if (up) reconnect_ = true;
    // What was sent went to a link or a peer that is gone: forget it all;
    // the kernel announces what it still holds again.
    pending_.clear();
    sent_.clear();
    known_.clear();
    for (auto& [_, v] : by_dev_) v.announce = true;
    drop_path_ = true;
    up_ = up;
    from_ = from;
    to_ = to;
}

uint64_t SyncShipper::floor(const Uuid& uuid) const {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [seq, s] : sent_) {  // in seq order: the first is the oldest
        auto it = by_dev_.find(key(s.w.dev));
        if (it != by_dev_.end() && it->second.v.uuid == uuid) return seq;
    }
    return UINT64_MAX;
}

void SyncShipper::run() {
    StallWatch::this_thread_is(kShipperThread);
    while (!stop_) {
        bool waiting;
        {
            std::lock_guard<std::mutex> l(mu_);
            waiting = !pending_.empty();
        }
        // A send that found no connection waits for one (POLLOUT: with
        // immediate, only once the peer is connected), a failed read for
        // the 10 ms.
        zmq::pollitem_t items[] = {
            {dealer_.handle(), 0, short(ZMQ_POLLIN | (blocked_ ? ZMQ_POLLOUT : 0)), 0},
            {nullptr, events_.fd(), ZMQ_POLLIN, 0},
            {nullptr, path_ ? path_->fd() : -1,
             short(path_ ? ZMQ_POLLIN | (path_->wants_out() ? ZMQ_POLLOUT : 0) : 0), 0}};
        try {
            zmq::poll(items, 3, std::chrono::milliseconds(waiting ? 10 : 100));
        } catch (const zmq::error_t& e) {
            if (e.num() == ETERM) return;
            if (e.num() != EINTR) log_warn("sync: poll: %s", e.what());
            continue;
        }
        try {
            if (reconnect_.exchange(false)) {
                try {
                    dealer_.disconnect(cfg_.peer);
                } catch (const zmq::error_t&) {
                }
                dealer_.connect(cfg_.peer);
            }
            if (drop_path_.exchange(false)) {
                // Another link or peer: a new key, asked for at once.
                if (path_) drop_path("the link to the peer changed");
                opening_ = false;
                open_next_ = {};
                asked_.clear();
                failures_ = 0;
            }
            // New writes go out before the answers are completed (each a
            // WRITES_DONE), so that they do not wait for those calls.
            if (items[1].revents & ZMQ_POLLIN) take_events();
            ship();
            if (path_ && items[2].revents) {
                if (path_->wants_out() && !path_->flush()) drop_path(path_->why());
                else take_path_answers();
            }
            if (items[0].revents & ZMQ_POLLIN) take_answers();
            resend_unanswered();
            announce();
            complete_alone();
            open_path();
            ship();
        } catch (const zmq::error_t& e) {
            if (e.num() == ETERM) return;
            log_warn("sync: %s", e.what());
        } catch (const std::exception& e) {
            log_warn("sync: %s", e.what());
        }
    }
}

// The kernel's announcements: each held write once, in id order.
void SyncShipper::take_events() {
    bool lost = false;
    std::vector<nl::Event> evs = events_.drain(lost);
    std::lock_guard<std::mutex> l(mu_);
    for (const nl::Event& ev : evs) {
        if (ev.cmd != DCC_CMD_EVENT_WRITTEN) continue;
        auto v = by_dev_.find(key(ev.dev));
        // Kept only while it can be sent: the kernel holds the others and
        // announces them again (set_volume, set_link), so that nothing
        // piles up here while the peer is away.
        if (v == by_dev_.end()) continue;
        if (v->second.v.alone) {
            // Going on alone: the witness fenced the replica.  Each write
            // completes now; its region stays dirty and is pushed later.
            for (const dcc_written& w : ev.writes)
                alone_.push_back({ev.dev, w.id, w.sector, w.sectors, Clock::now()});
            continue;
        }
        if (!v->second.v.ship || !up_) continue;
        for (const dcc_written& w : ev.writes)
            if (known_.insert({ev.dev.major, ev.dev.minor, w.id}).second)
                pending_.push_back({ev.dev, w.id, w.sector, w.sectors, Clock::now()});
    }
    if (!lost) return;
    // Some were dropped: every volume's held writes again (those known
    // are skipped above).
    log_warn("sync: announcements of held writes were lost: asking again");
    for (auto& [_, v] : by_dev_) v.announce = true;
}

// Ask the kernel to announce every held write again, for the volumes that
// want it (from this thread: the netlink socket is its own).
void SyncShipper::announce() {
    std::vector<std::pair<nl::Dev, uint64_t>> asks;
    {
        std::lock_guard<std::mutex> l(mu_);
        for (auto& [_, v] : by_dev_)
            if (std::exchange(v.announce, false) && ((v.v.ship && up_) || v.v.alone))
                asks.push_back({v.v.dev, v.v.reg_id});
    }
    for (auto [dev, reg_id] : asks) {
        nl::Request r{.cmd = DCC_CMD_ANNOUNCE_WRITES, .dev = dev, .reg_id = reg_id};
        std::string text;
        if (int e = nl_.transact(r, {}, &text))
            log_warn("sync: cannot ask for the held writes: %s", text.empty() ? std::strerror(-e) : text.c_str());
    }
}

void SyncShipper::take_answers() {
    Answers a;
    for (;;) {
        std::vector<zmq::message_t> frames = recv_multipart(dealer_);
        if (frames.empty()) break;
        auto& h = frames[0];
        wire::Decoded d = wire::decode({static_cast<const uint8_t*>(h.data()), h.size()},
                                       frames.size() - 1);
        if (d.msg && d.msg->type == wire::Type::SyncOpenAck) {
            on_open_answer(*d.msg, frames.size() > 1 ? &frames[1] : nullptr);
            if (frames.size() > 1) sodium_memzero(frames[1].data(), frames[1].size());
            continue;
        }
        if (!d.msg || d.msg->type != wire::Type::SyncAck) {
            log_warn("sync: refused an answer from the peer: %s",
                     d.msg ? "not a SYNC_ACK" : d.error.c_str());
            continue;
        }
        answered(*d.msg, a);
    }
    complete(a);
}

void SyncShipper::answered(const wire::Message& m, Answers& a) {
    std::lock_guard<std::mutex> l(mu_);
    // Only an answer of this peer to this dccd: a seq alone may be an
    // earlier one's.
    if (m.to != from_ || m.from != to_) return;
    auto it = sent_.find(m.seq);
    if (it == sent_.end()) return;  // answered already, or sent again since
    const Held& w = it->second.w;
    if (m.status) {
        log_warn("sync: the peer refused a write at sector %llu: %s", (unsigned long long)w.sector,
                 std::strerror(m.status));
        a.failed[key(w.dev)].push_back(w.id);
    } else {
        a.ok[key(w.dev)].push_back(w.id);
    }
    known_.erase({w.dev.major, w.dev.minor, w.id});
    a.times.push_back({w.seen, it->second.at});
    a.on_path += it->second.path;
    sent_.erase(it);
}

void SyncShipper::complete(Answers& a) {
    if (a.times.empty()) return;
    auto answered = Clock::now();
    for (auto& [k, ids] : a.ok) done({k.first, k.second}, ids, false, true);
    for (auto& [k, ids] : a.failed) done({k.first, k.second}, ids, true, false);
    auto us = [](auto d) { return uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(d).count()); };
    auto now = Clock::now();
    timing_.on_path += a.on_path;
    if (a.on_path && path_) {
        if (!path_answered_) log_info("sync: the sync path answered its first write");
        path_answered_ = true;
        failures_ = 0;
    }
    for (auto [seen, sent] : a.times) {
        timing_.n++;
        timing_.wait_us += us(sent - seen);
        timing_.peer_us += us(answered - sent);
        timing_.done_us += us(now - answered);
    }
    if (timing_.n && now - timing_.logged > std::chrono::seconds(10)) {
        log_info("sync: %llu writes confirmed (%llu on the sync path); on average %llu us to send, "
                 "%llu us to the peer's answer, %llu us to complete",
                 (unsigned long long)timing_.n, (unsigned long long)timing_.on_path,
                 (unsigned long long)(timing_.wait_us / timing_.n),
                 (unsigned long long)(timing_.peer_us / timing_.n),
                 (unsigned long long)(timing_.done_us / timing_.n));
        timing_ = Timing{.logged = now};
    }
}

void SyncShipper::done(nl::Dev dev, const std::vector<uint64_t>& ids, bool failed, bool confirmed) {
    uint64_t reg_id;
    std::string name;
    {
        std::lock_guard<std::mutex> l(mu_);
        auto v = by_dev_.find(key(dev));
        if (v == by_dev_.end()) return;
        reg_id = v->second.v.reg_id;
        name = v->second.v.name;
    }
    for (size_t i = 0; i < ids.size(); i += DCC_MAX_WRITES_PER_REQUEST) {
        nl::Request r{.cmd = DCC_CMD_WRITES_DONE, .dev = dev, .reg_id = reg_id};
        if (failed) r.fill_errno = EIO;
        r.confirmed = confirmed;
        r.write_ids.assign(ids.begin() + long(i),
                           ids.begin() + long(std::min(ids.size(), i + DCC_MAX_WRITES_PER_REQUEST)));
        std::string text;
        StallWatch::Busy busy(stall_watch(), "the kernel's answer to WRITES_DONE for " + name);
        if (int e = nl_.transact(r, {}, &text))
            log_warn("sync: cannot complete held writes: %s", text.empty() ? std::strerror(-e) : text.c_str());
    }
}

// The held writes of volumes that go on alone, completed with success: the
// owner holds the witness's fence of its replica (dccd decided).  A write
// announced before the volume went alone and not yet answered completes
// here too, once the kernel announces it again (set_volume asks).
void SyncShipper::complete_alone() {
    std::map<std::pair<uint32_t, uint32_t>, std::vector<uint64_t>> ids;
    std::lock_guard<std::mutex> a(alone_mu_);
    {
        std::lock_guard<std::mutex> l(mu_);
        for (const Held& w : alone_) {
            auto v = by_dev_.find(key(w.dev));
            if (v == by_dev_.end()) continue;
            if (v->second.v.alone) ids[key(w.dev)].push_back(w.id);
            else v->second.announce = true;  // no longer alone: shipped once announced again
        }
        alone_.clear();
        if (ids.empty()) return;
        // What was pending or sent for them is answered here.
        std::erase_if(pending_, [&](const Held& w) { return ids.count(key(w.dev)); });
        std::erase_if(sent_, [&](const auto& s) { return ids.count(key(s.second.w.dev)); });
        std::erase_if(known_, [&](const auto& k) { return ids.count({std::get<0>(k), std::get<1>(k)}); });
    }
    // Not confirmed: the regions stay for a push (spin model: CONFIRM).
    for (auto& [k, list] : ids) done({k.first, k.second}, list, false, false);
}

// Unanswered writes whose answer is late go out again.  One sent on the
// sync path takes the path down with it: a connection that swallows
// writes (a firewall that now drops its port, a peer stuck) is not used
// again until a new one is made; until then the control channel.
void SyncShipper::resend_unanswered() {
    auto late = [now = Clock::now()](const Sent& s) { return now - s.at > kResend; };
    if (path_) {
        bool path_late = false;
        {
            std::lock_guard<std::mutex> l(mu_);
            for (const auto& [_, s] : sent_) path_late |= s.path && late(s);
        }
        // (What it carried goes in front, in order.)
        if (path_late) drop_path("no answer within 3 s");
    }
    std::lock_guard<std::mutex> l(mu_);
    std::vector<Held> again;
    for (auto it = sent_.begin(); it != sent_.end();) {
        if (late(it->second)) {
            again.push_back(it->second.w);
            it = sent_.erase(it);
        } else {
            ++it;
        }
    }
    // In front, oldest first: a region's writes keep their order.
    pending_.insert(pending_.begin(), again.begin(), again.end());
}

// Send what is pending for volumes this site owns while the link is up,
// in order.  The seq is taken before the data is read, so that a push that
// read the region before this write landed carries a smaller one; the
// write counts as unanswered (floor()) from then on.  The read and the
// send are done without the lock: dccd's loop asks floor() for each push.
void SyncShipper::ship() {
    blocked_ = false;
    for (;;) {
        Held w;
        ShipVolume sv;
        std::shared_ptr<Fd> fd;
        uint64_t seq, from, to;
        bool via_path;
        {
            std::lock_guard<std::mutex> l(mu_);
            if (!up_) return;
            auto it = pending_.begin();
            std::map<std::pair<uint32_t, uint32_t>, Vol>::iterator v;
            for (; it != pending_.end(); ++it) {
                v = by_dev_.find(key(it->dev));
                if (v != by_dev_.end() && v->second.v.ship && v->second.fd && v->second.v.region_sectors)
                    break;
            }
            if (it == pending_.end()) return;
            w = *it;
            pending_.erase(it);
            sv = v->second.v;
            fd = v->second.fd;
            from = from_;
            to = to_;
            seq = seq_.fetch_add(1);
            // The sync path only once nothing sent on the dealer is
            // unanswered: the replica refuses a region's sync write older
            // than one it took, and the two channels do not keep order
            // between them.
            via_path = path_ && std::none_of(sent_.begin(), sent_.end(),
                                             [](const auto& s) { return !s.second.path; });
            sent_[seq] = {w, Clock::now(), via_path};
        }
        auto put_back = [&] {
            std::lock_guard<std::mutex> l(mu_);
            if (sent_.erase(seq)) pending_.push_front(w);
        };
        size_t len = size_t(w.sectors) * 512;
        if (len > DCC_MAX_REGION_SECTORS * 512) {
            log_warn("sync: a held write of %u sectors is larger than a region", w.sectors);
            std::lock_guard<std::mutex> l(mu_);
            sent_.erase(seq);  // never answered: it fails at its deadline
            continue;
        }
        int e;
        {
            StallWatch::Busy busy(stall_watch(), "a read (a held write) at byte " + std::to_string(w.sector * 512) +
                                                     " of " + sv.name + "'s data device");
            e = read_full(fd->fd, buf_.get(), len, w.sector * 512);
        }
        if (e) {
            log_warn("sync: cannot read sector %llu: %s", (unsigned long long)w.sector, std::strerror(e));
            put_back();
            return;  // the next round tries again
        }
        wire::Message m;
        m.type = wire::Type::SyncWrite;
        m.volume = sv.uuid;
        m.from = from;
        m.to = to;
        m.seq = seq;
        m.generation = sv.generation;
        m.region = w.sector / sv.region_sectors;
        m.arg = w.sector;
        if (via_path) {
            if (path_->send(m, buf_.get(), len)) continue;
            put_back();
            drop_path(path_->why());
            continue;  // on the dealer, now
        }
        std::vector<uint8_t> h = wire::encode(m);
        bool sent;
        try {
            sent = dealer_.send(zmq::buffer(h), zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
                   dealer_.send(zmq::buffer(buf_.get(), len), zmq::send_flags::dontwait);
        } catch (const zmq::error_t&) {
            sent = false;
        }
        if (!sent) {  // no connection yet: once there is one
            put_back();
            blocked_ = true;
            return;
        }
    }
}

}  // namespace dcc::dccd
