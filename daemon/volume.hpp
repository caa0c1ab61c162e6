// SPDX-License-Identifier: GPL-2.0-only
// What dccd holds for one volume: the kernel's handle on it, the pure
// cores that decide (ownership, replication, fills), and what is in
// flight with the peer.
#pragma once

#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alone.hpp"
#include "boot_clock.hpp"
#include "dcc/nl.hpp"
#include "dcc/status.hpp"
#include "failover.hpp"
#include "fills.hpp"
#include "lease.hpp"
#include "ownership.hpp"
#include "parts.hpp"
#include "peer.hpp"
#include "replication.hpp"
#include "report.hpp"
#include "sync.hpp"

namespace dcc::dccd {

using Clock = core::BootClock;

// A region written here, waiting for the FILL_DONE that makes it valid:
// several are ended with one request (one flush, one commit).
struct WrittenFill {
    uint64_t region;
    size_t bytes;
    report::RateMeter* meter;     // what to count it in once valid
    std::optional<Incoming> ack;  // replica: the push to acknowledge then
    std::optional<Clock::time_point> waited_since;  // a bio waited for it since (fetch latency)
};

// The kernel's word on this site's ownership of a volume: REGISTER's
// reply or a state event.
template <class K>
core::SiteState site_state(const K& k) {
    return {Role(k.role), k.generation, dcc::Origin(k.origin), dcc::Split(k.split),
            k.split_generation};
}

// Kernel work done ahead of the core's plan, on a worker, for volumes
// handled in a batch (a migration's start; the old owner's answer from
// the new one): a persist, and what the plan does after a persist that
// succeeded.  carry_out takes these results instead of asking again.
struct Ahead {
    core::SiteState to;  // the state persisted
    int error = 0;
    std::string why;     // the error explained (the kernel's text on that thread)
    // After a persist of replica that succeeded: the old dirty bits dropped
    // (what drop_stale_dirty logs: warn or not, the line), and the device
    // resumed ("" or why not).
    std::optional<std::pair<bool, std::string>> dropped;
    std::optional<std::string> resumed;
    std::optional<bool> dirty_here;  // an ATTACH's: whether ahead (Kernel::has_ahead), as read to decide ahead
    // New owner, before the persist (which makes the HANDOVER's set
    // invalid): the page cache dropped ("" or why not).
    std::optional<std::string> cache_dropped;
};

// A control client waiting for a migration to end.
struct Waiter {
    int fd;
    Clock::time_point deadline;
};

struct Volume {
    Volume(std::string n, nl::Dev d, std::unique_ptr<nl::Client> sock, const nl::RegisterReply& r,
           core::Timeouts t, core::LeaseParams lp)
        : name(std::move(n)), dev(d), nl(std::move(sock)), reg(r),
          own(site_state(r), t), peer_lease(lp), witness_lease(lp),
          promise(lp, Clock::now()) {}
    ~Volume() {
        if (data_fd >= 0) close(data_fd);
    }
    Volume(const Volume&) = delete;
    Volume& operator=(const Volume&) = delete;

    std::string name;
    nl::Dev dev;
    // The socket the volume is registered on: its commands go there (the
    // kernel checks the sender), and closing it ends the registration.
    std::unique_ptr<nl::Client> nl;
    nl::RegisterReply reg;
    int data_fd = -1;
    uint64_t region_bytes = 0;
    RangeSet invalid;  // the kernel's invalid set (reloaded when it drifts)

    // Ownership and pairing.
    core::Ownership own;
    int logged_rule = 0;              // the pairing rule last logged
    bool attach_out = false;          // an ATTACH awaits its answer
    Clock::time_point attach_due{};   // when to ATTACH (again)
    unsigned attach_unanswered = 0;   // ATTACHes in a row given up on
    bool suspended = false;           // by this dccd (a handover)
    bool cache_empty = false;         // page cache dropped while suspended: empty till resumed
    std::optional<Ahead> ahead;       // kernel work done ahead of the next carry_out
    RangeSet ho_set;                  // old owner: the HANDOVER being sent
    core::PartSet ho_in, invalid_in;  // sets arriving from the peer
    bool invalid_set_owed = false;    // replica: tell the owner what is missing
    bool peer_absent = false;         // the peer said it has no such volume
    bool logged_older = false;        // an older peer statement was logged
    std::vector<Waiter> waiters;      // clients waiting for a migration

    // Owner: replication and fills.
    core::Replicator rep;
    uint64_t dirty_cursor = 0;  // where the next dirty page is read
    core::Fills fills;
    core::MissOrder misses{std::chrono::milliseconds(300)};  // which pulls go first
    bool check_pending = true;  // the kernel may have new misses
    bool release_check = false;  // some fill may be one nobody will do soon
    uint64_t timeouts_seen = 0;  // the kernel's count of bios failed by miss_timeout

    // Replica: pushes taken.
    core::PushOrder order;
    std::vector<Incoming> acks;  // written, acknowledged after the next flush
    // When the writes of written and acks, waiting to share a commit,
    // must be committed at the latest (Daemon::commit_due).
    Clock::time_point commit_by{};
    bool flush_failed = false;   // a flush of the data device failed here
    bool sync_waits = false;     // acks holds a sync write: flush at the batch's end

    std::vector<WrittenFill> written;  // fills awaiting their FILL_DONE
    std::optional<ShipVolume> shipper_told;  // sync: what the shipper knows
    // Owner of a sync volume: regions that may hold writes acknowledged
    // without the peer (unconfirmed when this began, not pushed since; a
    // warm region holds none).
    std::optional<RangeSet> presync;
    uint64_t presync_seq = 0;  // the first seq taken after presync was read

    // Leases (a site with a witness; docs/protocol.md).  Owner: the leases
    // it holds, the RENEWs in flight (seq -> send time), and what the
    // kernel was last told.  Replica: what it promised.
    core::Lease peer_lease, witness_lease;
    core::Promise promise;
    std::map<uint64_t, Clock::time_point> renewals;
    Clock::time_point next_renew{};
    bool lease_told = false;                     // the kernel has our last word
    std::optional<Clock::time_point> lease_sent;  // ... which was this end
    int lease_error = 0;                          // the last refusal, once logged
    std::string witness_said;                    // the last refusal, once logged
    // Owner of a sync volume with on_peer_loss = continue: going on alone
    // (docs/protocol.md, "Going on alone"), and the last refusal of an
    // OUTDATE, once logged.
    core::GoingAlone alone;
    std::string outdate_said;
    bool peer_set_heard = false;  // owner: the replica's INVALID_SET since pairing
    // dccctl failover asking the witness, and the client waiting for it.
    std::optional<core::FailoverAttempt> attempt;
    int attempt_fd = -1;

    // What status and events report.
    std::optional<TargetStatus> kst;  // the kernel's status line
    bool target_seen = true;          // ... and its device still had our dcc target then
    report::RateMeter pushed, pulled, fetched;
    uint64_t confirmed = 0;  // dirty bits cleared without a push (sync)
    Histogram fetch_latency;  // bio waiting (as dccd first saw it) to valid
    std::optional<uint64_t> peer_backlog;  // replica: the owner's last report
    // The same and when it came, kept when the link goes (a failover
    // weighs it).
    struct OwnerReport {
        uint64_t backlog;
        Clock::time_point at;  // when it came
    };
    std::optional<OwnerReport> last_owner_report;
    // Replica: logged an owner's report it ignored (Ownership::takes_report).
    bool told_old_report = false;
    // Replica: the generation whose owner took it by force (its statement
    // at the last pairing; a failover weighs it).
    std::optional<uint64_t> owner_forced_gen;
    // Replica: the generation whose owner runs without a witness (its
    // statement at the last pairing): it serves without a lease.  And
    // what the peer's last ATTACH or ATTACH_ACK said of its witness.
    std::optional<uint64_t> owner_unwitnessed_gen;
    bool peer_witness = false;
    bool told_unwitnessed = false;  // logged that its leased I/O waits for a pairing
    std::optional<int64_t> last_ho_ms;
    Clock::time_point ho_start{};
    std::optional<VolumeStatus> shown;  // as last published
    Clock::time_point published{};      // ... then
    bool news = true;                   // touched since (a message, an event, a plan)
    Clock::time_point maintained{};     // its periodic work last done
    uint64_t progress_sent = UINT64_MAX;       // owner: backlog last reported
    uint64_t progress_risk_sent = UINT64_MAX;  // ... and what was at risk
    Clock::time_point progress_time{};
    std::optional<Clock::time_point> progress_again;  // owner: report once more then
    // owner: the mode last told the replica (MODE), and when; reset with
    // progress_sent
    std::optional<bool> mode_sent;
    Clock::time_point mode_time{};

    bool owner() const { return own.owner(); }
    uint64_t generation() const { return own.state().generation; }
    uint64_t region_len(uint64_t r) const {
        return std::min<uint64_t>(region_bytes, reg.data_sectors * 512 - r * region_bytes);
    }
};

}  // namespace dcc::dccd
