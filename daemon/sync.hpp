// SPDX-License-Identifier: GPL-2.0-only
// Synchronous replication, owner side: a thread of its own that ships the
// writes the kernel holds (EVENT_WRITTEN) to the peer and completes them
// (WRITES_DONE) when the peer says they are durable there.
//
// It runs apart from dccd's loop because that loop blocks in calls that
// wait for held writes: the write-back and the suspend of a handover.  It has
// its own netlink sockets, its own copy of each data device's descriptor
// and its own connection to the peer's control listener; the peer's loop
// writes what it sends (docs/protocol.md, "Synchronous replication").
// What it needs of dccd's state, dccd tells it (set_volume, set_link);
// what dccd needs of it (the floor of the volume's pushes) it reads.
#pragma once

#include <unistd.h>
#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <vector>

#include "boot_clock.hpp"
#include "config.hpp"
#include "dcc/meta.hpp"
#include "dcc/nl.hpp"
#include "synclink.hpp"

namespace dcc::dccd {

// What the shipper knows of a sync volume.
struct ShipVolume {
    nl::Dev dev;
    std::string name;  // for the log
    Uuid uuid{};
    uint64_t reg_id = 0;
    uint32_t region_sectors = 0;
    int data_fd = -1;         // dccd's; the shipper keeps a duplicate
    uint64_t generation = 0;
    bool ship = false;        // this site owns it and is paired: send
    bool alone = false;       // this site owns it and goes on alone: complete
                              // each held write at once (on_peer_loss = continue)
    bool operator==(const ShipVolume&) const = default;
};

class SyncShipper {
public:
    // @seq: dccd's message count, shared: a sync write's seq orders it
    // among the pushes of its region (taken before its data is read).
    SyncShipper(zmq::context_t& ctx, const Config& cfg, std::atomic<uint64_t>& seq);
    ~SyncShipper();
    SyncShipper(const SyncShipper&) = delete;
    SyncShipper& operator=(const SyncShipper&) = delete;

    void set_volume(const ShipVolume& v);
    void drop_volume(nl::Dev dev);
    // The link to the peer, and the incarnations its messages carry; a
    // change of either drops what was sent, and the kernel's held writes
    // are announced again.
    void set_link(bool up, uint64_t from, uint64_t to);
    // The oldest unanswered sync write of @uuid (UINT64_MAX if none): no
    // push of the volume may carry a floor above it.
    uint64_t floor(const Uuid& uuid) const;

private:
    struct Held {
        nl::Dev dev;
        uint64_t id, sector;
        uint32_t sectors;
        core::BootClock::time_point seen;  // announced
    };
    struct Sent {
        Held w;
        core::BootClock::time_point at;
        bool path = false;  // on the sync path (else on the dealer)
    };
    struct Fd {
        int fd;
        explicit Fd(int f) : fd(f) {}
        ~Fd() { close(fd); }
    };
    struct Vol {
        ShipVolume v;
        std::shared_ptr<Fd> fd;  // the duplicate (kept by a read in progress)
        bool announce = true;  // ask the kernel for its held writes
    };

    void run();
    void take_events();
    void take_answers();
    void take_path_answers();
    // What the answers of a round complete (each a WRITES_DONE).
    struct Answers {
        std::map<std::pair<uint32_t, uint32_t>, std::vector<uint64_t>> ok, failed;
        std::vector<std::pair<core::BootClock::time_point, core::BootClock::time_point>>
            times;  // (seen, sent) of each
        uint64_t on_path = 0;  // of them, sent on the sync path
    };
    void answered(const wire::Message& m, Answers& a);
    void complete(Answers& a);
    // The sync path: asked for (SYNC_OPEN on the dealer), connected on the
    // answer, dropped on any failure (what it carried goes again).
    void open_path();
    void on_open_answer(const wire::Message& m, const zmq::message_t* data);
    void drop_path(std::string why);
    void tell_path(const std::string& state);
    void ship();
    void resend_unanswered();
    void forget(nl::Dev dev);
    void announce();
    // Complete held writes: @failed with EIO; @confirmed, the peer holds them
    // (else their regions are left to a push).
    void done(nl::Dev dev, const std::vector<uint64_t>& ids, bool failed, bool confirmed);
    void complete_alone();

    const Config& cfg_;
    std::atomic<uint64_t>& seq_;
    zmq::socket_t dealer_;
    nl::EventSocket events_;
    nl::Client nl_;
    std::unique_ptr<uint8_t, void (*)(void*)> buf_;

    // Held by complete_alone() from taking a volume's writes until the
    // kernel completed them, and by set_volume(): once a volume is told it
    // no longer goes alone, no write completes without the peer, so that
    // dccd's presync, read next (DCC_SET_UNCONFIRMED, where the kernel
    // marks such a write only as it completes it), holds each of them.
    // Taken before mu_.
    std::mutex alone_mu_;
    mutable std::mutex mu_;  // what follows, up to the thread
    std::map<std::pair<uint32_t, uint32_t>, Vol> by_dev_;  // (major, minor)
    bool up_ = false;
    std::atomic<bool> reconnect_{false};
    bool blocked_ = false;  // the last send found no connection (the thread's own)
    // The thread's own: the sync path and the state of asking for it.
    std::unique_ptr<SyncConn> path_;
    bool opening_ = false;
    // The seqs of the last few SYNC_OPENs of this link: an answer to any
    // of them is taken (one may come after its ask was given up).
    std::deque<uint64_t> asked_;
    // Attempts that failed in a row (no answer, no connection, a path
    // that never answered a write): each waits twice as long as the last.
    unsigned failures_ = 0;
    bool path_answered_ = false;  // the path in use answered a write
    std::chrono::milliseconds backoff(std::chrono::milliseconds base, std::chrono::milliseconds most);
    core::BootClock::time_point open_sent_{}, open_next_{};
    std::string path_told_;  // the last state logged ("" = none)
    std::atomic<bool> drop_path_{false};
    uint64_t from_ = 0, to_ = 0;
    std::deque<Held> pending_;          // announced, not yet sent
    std::vector<Held> alone_;           // announced, to complete without the peer
    std::map<uint64_t, Sent> sent_;     // seq -> unanswered
    std::set<std::tuple<uint32_t, uint32_t, uint64_t>> known_;  // (dev, id) pending or sent

    // Where a write's time goes, logged every 10 s while writes come:
    // announced to sent, sent to answered, answered to completed (us).
    struct Timing {
        uint64_t n = 0, on_path = 0, wait_us = 0, peer_us = 0, done_us = 0;
        core::BootClock::time_point logged{};
    } timing_;

    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace dcc::dccd
