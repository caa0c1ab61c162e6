// SPDX-License-Identifier: GPL-2.0-only
// The status of a dcc volume: the kernel's status line (dmsetup status),
// parsed by field name, and the JSON object dccd and dccctl answer with.
// This file is the one owner of both schemas.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dcc {

// The INFO status line of a dcc target, in the order the kernel prints it:
//   region_sectors valid/regions dirty locked role generation mode
//   registration misses timeouts origin split [lease [held [unconfirmed
//   [waiting]]]]
// A kernel before leases prints no lease field; it needs none ("-").
// held: writes waiting for the other site (sync), "-" for async.
// unconfirmed: the dirty regions with a write the other site did not
// confirm (all dirty ones in async); the rest are kept dirty only so that
// their next write needs no metadata commit.  nullopt from an older kernel.
// waiting: bios waiting here for a region's fill or overwrite, or for a
// lease; nullopt from an older kernel.
struct TargetStatus {
    uint64_t region_sectors = 0;
    uint64_t valid = 0;
    uint64_t regions = 0;
    uint64_t dirty = 0;
    uint64_t locked = 0;
    std::string role;  // owner, replica, yielding
    uint64_t generation = 0;
    std::string mode;  // rw, ro, fail
    std::optional<uint64_t> registration;  // nullopt: no daemon ("-")
    uint64_t misses = 0;
    uint64_t timeouts = 0;
    std::string origin;  // handover, failover, forced
    std::string split;   // "-" (none), old, new
    std::string lease = "-";  // "-" (none needed), held (one runs), expired
    std::optional<uint64_t> held;  // sync: writes waiting for the other site; nullopt: async
    std::optional<uint64_t> unconfirmed;  // nullopt: a kernel that does not count them
    std::optional<uint64_t> waiting;      // nullopt: a kernel that does not count them

    // The dirty regions that may differ from the other site's copy.
    uint64_t unreplicated() const { return std::min(dirty, unconfirmed.value_or(dirty)); }
    // The others: warm, the same at both sites.
    uint64_t warm() const { return dirty - unreplicated(); }
};

// Parse the INFO status of one dcc target (the part after "dcc ").
std::optional<TargetStatus> parse_status(const std::string& params);

// Whether every read of the volume is served here at once, from this
// site's copy: an owner that serves I/O (mode rw or ro, not the old side
// of a split brain, its lease not expired) with every region valid.  Only
// such a volume is probed by udev (blkid) and LVM: a replica fails every
// read, and a read of a missing region waits for the other site.
bool serves_reads_at_once(const TargetStatus& s);
// The owner's lease as status shows it: "none", "held" or "expired".  A
// site that does not own holds none, whatever its flag (with a witness
// dccd sets it at a replica, so that it serves nothing as owner before a
// lease: dmsetup status shows "expired" there).
std::string owner_lease(const TargetStatus& s);

// One field of it by name: region_sectors, valid, regions, dirty, locked,
// role, generation, mode, registration ("-" if none), misses, timeouts,
// origin, split ("-" if none), lease ("-" if none needed, also from a
// kernel before leases), held ("-" for async), unconfirmed and waiting
// ("-" from an older kernel).
// nullopt for an unknown name or a malformed line.
std::optional<std::string> status_field(const std::string& params, const std::string& name);

// One transfer direction: what is in flight and what has moved.
struct Flow {
    uint64_t in_flight = 0;
    uint64_t regions = 0;  // since dccd started
    uint64_t bytes = 0;
    double bytes_per_second = 0;
};

// A latency histogram with fixed bounds, in seconds, as Prometheus shows
// one: counts[i] for bounds()[i-1] < t <= bounds()[i], the last above
// every bound.
struct Histogram {
    static const std::vector<double>& bounds();  // 1 ms to 10 s
    std::vector<uint64_t> counts = std::vector<uint64_t>(bounds().size() + 1);
    uint64_t count = 0;
    double sum = 0;  // seconds
    void observe(double seconds);
};

// One volume as a status answer shows it.  What only dccd knows is
// nullopt (JSON null) in the kernel's view.
struct VolumeStatus {
    std::string name;
    std::optional<std::string> uuid;
    std::string role;  // owner, replica, yielding
    uint64_t generation = 0;
    std::string mode;  // rw, ro, fail, or unknown
    std::string origin = "handover";  // how this generation began: handover, failover, forced
    std::string split = "none";       // a recorded split brain: none, old, new
    // With split "old", the newer owner's generation (dccd only).
    std::optional<uint64_t> split_generation;
    std::string lease = "none";       // the owner's lease: none (not needed), held, expired
    std::string replication_mode = "async";  // async or sync (DCC_SB_F_SYNC)
    std::optional<uint64_t> held_writes;  // sync: writes waiting for the other site
    // dccd's: what the owner of a sync volume does while its replica is
    // away (suspend, continue); whether it goes on alone now; and the
    // epoch of the witness's fence of the replica it knows of (0: none).
    std::optional<std::string> on_peer_loss;
    // What `dccctl failover` would do here now (dccd only): "ask-witness"
    // (no refusal: the witness decides), "force-only" (refused, --force
    // would take it) or "refused"; and why, when refused.
    std::optional<std::string> failover;
    std::optional<std::string> failover_why;
    std::optional<bool> alone;
    std::optional<uint64_t> fence_epoch;
    uint64_t region_bytes = 0, regions = 0;
    uint64_t valid = 0, dirty = 0, locked = 0, misses = 0, timeouts = 0;
    // Of the dirty regions, those every write of which the other site
    // confirmed (sync), kept dirty so that the next write needs no
    // metadata commit: the same at both sites.
    uint64_t warm = 0;
    // Bios waiting here for a region's fill or overwrite, or for a lease
    // (nullopt: a kernel that does not count them).
    std::optional<uint64_t> waiting;
    std::optional<uint64_t> registration;
    std::optional<bool> paired;
    std::optional<std::string> peer_role;
    std::optional<std::string> handover;  // none, demoting, sending, fenced, taking
    std::optional<int> rule;              // the last pairing rule applied
    std::string pairing;                  // and what it said
    // Regions not yet the same at both sites, as the owner counts them
    // (dirty, owed to the replica, missing at the owner); at a replica, the
    // owner's last report.
    std::optional<uint64_t> backlog;
    std::optional<Flow> replication, hydration, fetch;
    // An owner that lacks regions while its dccd's hydration_rate is "off":
    // they come only as bios touch them.
    std::optional<bool> hydration_off;
    // Owner: regions whose dirty bit was cleared without a push, every
    // write of them confirmed by the peer (sync), since dccd started.
    std::optional<uint64_t> confirmed;
    // From dccd's first sight of a bio waiting for a region to the region
    // valid here, since dccd started.
    std::optional<Histogram> fetch_latency;
    std::optional<int64_t> last_handover_ms;

    bool hydrated() const { return valid == regions; }
    // Both copies complete and equal; nullopt when this site cannot know.
    std::optional<bool> in_sync() const;
};

// How far a transfer has come, in regions, and when it ends at the rate
// of the last seconds.
struct Progress {
    uint64_t done = 0, total = 0;
    double bytes_per_second = 0;
    std::optional<double> eta_seconds;  // none while nothing moves
    double percent() const { return total ? 100.0 * double(done) / double(total) : 100.0; }
};
Progress progress_of(uint64_t done, uint64_t total, uint64_t region_bytes, double bytes_per_second);
// Hydration at an owner that lacks regions: valid of all, at the rate of
// background pulls and fetches together.
std::optional<Progress> hydration_progress(const VolumeStatus& v);
// Replication while the sites differ (the first copy, or a backlog): the
// regions the same at both sites of all, at the rate pushes go.
std::optional<Progress> replication_progress(const VolumeStatus& v);
// "45.0 %, 1234 regions left, 12.0 MiB/s, ETA 1m42s"
std::string progress_text(const Progress& p);
// 42s, 1m42s, 2h03m
std::string duration_text(double seconds);

// The kernel's view of volume @name, for when no dccd answers.
VolumeStatus kernel_view(const std::string& name, const TargetStatus& t);

nlohmann::json to_json(const VolumeStatus& v);

// dccd's round trip to the peer's dccd, in ms: smoothed (as TCP smooths
// its RTT), the last sample and the least since the link came up.
struct LinkRtt {
    double smoothed = 0, last = 0, min = 0;
};

// A status answer: @site, @peer, @link and @started (when dccd started,
// in seconds since the epoch: its counters count from then) are null in
// the kernel's view; @rtt (dccd's round trip to the peer's dccd) is null
// too while the link is down; @witness_up (the connection to the
// witness) without a witness.
nlohmann::json status_answer(const std::optional<std::string>& site,
                             const std::optional<std::string>& peer,
                             const std::optional<bool>& link_up,
                             const std::vector<VolumeStatus>& vols,
                             const std::optional<double>& started = std::nullopt,
                             const std::optional<LinkRtt>& rtt = std::nullopt,
                             const std::optional<bool>& witness_up = std::nullopt);

}  // namespace dcc
