// SPDX-License-Identifier: GPL-2.0-only
// Replication bookkeeping (no I/O).
//
// Owner (Replicator): which regions to push next, which pushes are in
// flight, and which dirty bits their answers allow to clear.  A region
// with a push in flight, or whose answer allows a clear not yet taken by
// take_clears(), is never queued (so never armed) again: the kernel's
// single armed bit then always belongs to the push whose answer clears it.  Pushes in flight end only with their answer or a reset (link
// lost, peer restarted); a late answer matches nothing and is ignored.
//
// Replica (PushOrder): never takes a push older than the last one it took
// for that region.  Each push carries the owner's floor, its oldest
// unanswered push or sync write: anything below it was answered or
// abandoned, so the replica drops it and forgets what it remembered below
// it.  Sync writes (SYNC_WRITE) take their seq from the same count, just
// before their data is read, but travel on another connection: a push
// read before a sync write's data landed may arrive after it, and a sync
// write may arrive after a push that read its data already.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <vector>

#include "boot_clock.hpp"
#include "dcc/meta.hpp"
#include "dcc/regions.hpp"
#include "pairing.hpp"

namespace dcc::core {

using Clock = BootClock;

struct PushItem {
    uint64_t region = 0;
    bool dirty = false;  // from the dirty set: its answer clears the bit
    bool operator==(const PushItem&) const = default;
};

class Replicator {
public:
    // The peer lacks these regions: push them whether dirty or not.
    void owe(uint64_t start, uint64_t count) { owed_.add(start, count); }
    const RangeSet& owed() const { return owed_; }

    // Whether the queue wants refilling (empty, and not refilled lately).
    bool wants_refill(Clock::time_point now) const;
    // Queue owed regions held here, up to @max; then, if none were,
    // @dirty (a reply of the kernel's dirty set) less what is invalid here.
    // Regions in flight are skipped.  Returns how many were queued.
    size_t refill(const RangeSet& invalid, const std::vector<Range>& dirty, size_t max,
                  Clock::time_point now);

    // The next region to push while fewer than @window are in flight.
    // The caller arms it if dirty, reads and sends it, then reports
    // sent() or unsent().
    std::optional<PushItem> next(size_t window);
    void sent(uint64_t seq, PushItem p);
    void unsent(PushItem p);  // could not be queued on the link: first again

    struct Answer {
        PushItem push;
        bool ok;
    };
    // The peer answered push @seq.  nullopt: it matches no push in flight.
    std::optional<Answer> answered(uint64_t seq, int status);
    // Dirty regions whose pushes were answered ok since the last call.
    // (What the kernel then does not clear, written meanwhile, stays dirty
    // and is pushed again by a later refill.)
    RangeSet take_clears();

    // Oldest unanswered push, or @next_seq if none: sent with every push.
    uint64_t floor(uint64_t next_seq) const;
    void reset();  // forget what is queued and in flight

    size_t in_flight() const { return pushing_.size(); }
    bool busy() const { return !queue_.empty() || !owed_.empty(); }
    bool pushing(uint64_t region) const { return regions_.count(region); }
    // Take out of @s the regions busy_with() says: their armed bits are
    // those pushes'.
    void drop_busy(RangeSet& s) const;

private:
    bool busy_with(uint64_t region) const {
        return regions_.count(region) || clears_.contains(region);
    }

    std::map<uint64_t, PushItem> pushing_;  // seq -> push in flight
    std::set<uint64_t> regions_;            // their regions
    std::deque<PushItem> queue_;
    RangeSet owed_, clears_;
    Clock::time_point last_refill_{};
};

// A sync volume's owner: of @dirty (a page of the kernel's dirty set, from
// a cursor) and @unconfirmed (its unconfirmed set paged from the same
// cursor, complete up to @unconfirmed_next; nullopt: to the end), the
// regions to push, a write of which ended without the peer's confirmation,
// and those whose every write the peer confirmed (SYNC_ACK): the owner
// clears these without a push, and the kernel checks again that none of
// their writes is held or ended unconfirmed (spin model: CONFIRM).
// Regions at or past @unconfirmed_next wait for the next page, which
// starts at next.
struct DirtySplit {
    std::vector<Range> push;
    RangeSet confirmed;
    std::optional<uint64_t> next;  // nullopt: the whole page was split
};
DirtySplit split_dirty(const std::vector<Range>& dirty, const std::vector<Range>& unconfirmed,
                       std::optional<uint64_t> unconfirmed_next);

// A sync volume's owner keeps up to @keep regions dirty once the peer
// confirmed their writes ("warm"), as DRBD's activity log keeps its
// extents: a write to a warm region needs no metadata commit first.  Of
// the kernel's counts (status: @dirty regions, @unreplicated of them with
// a write the peer did not confirm), how many warm ones are over @keep.
uint64_t warm_over(uint64_t dirty, uint64_t unreplicated, uint64_t keep);

// Of @confirmed (warm regions found in a page of the dirty set), the first
// @over to clear: the rest stay dirty.
RangeSet warm_excess(const RangeSet& confirmed, uint64_t over);

// Whether to ask the kernel for a volume's dirty set: not when its last
// count (status, every 500 ms; UINT64_MAX: not known) had nothing to push
// (@unreplicated: every dirty region in async) and no warm region over
// @keep (in async 0: what is dirty is pushed), so that a site with many
// idle volumes does not ask for each one's dirty set ten times a second;
// a region dirtied since is found at the next count.
bool look_for_dirty(uint64_t dirty, uint64_t unreplicated, uint64_t keep);

enum class SyncTake {
    Apply,    // write it, then answer
    Covered,  // a newer push of the region was taken: it holds this data
    Stale,    // abandoned by the owner, or out of order: refuse it
};

class PushOrder {
public:
    // Whether a push of @region with @seq and the sender's @floor may be
    // taken; if so it is remembered as the last one for that region.
    bool take(uint64_t region, uint64_t seq, uint64_t floor);
    // Whether take() would take it, changing nothing.
    bool fresh(uint64_t region, uint64_t seq, uint64_t floor) const;
    // What to do with a sync write of @region with @seq; Apply remembers it
    // as the last one for the region, so that an older push is refused.
    SyncTake take_write(uint64_t region, uint64_t seq);
    void reset();  // the peer restarted: its seqs start again
    size_t remembered() const { return last_.size(); }

private:
    struct Last {
        uint64_t seq;
        bool push;  // a PUSH (whole region), or a sync write (some sectors)
    };
    std::unordered_map<uint64_t, Last> last_;  // region -> last taken
    uint64_t floor_ = 0;
};

// dccd runs the data-device calls of several bulk messages side by side:
// it decides each message as it comes, runs the reads and writes at once,
// then finishes each in the messages' order.  That equals handling them
// one after another only while no two calls share a region (a push's
// order, a fill's lock, the invalid set are all per region), nothing else
// comes in between that looks at what a call decides, and no push comes
// below the floor of one before it in the batch (PushOrder raises its
// floor only once a push is written).
struct DataKey {
    Uuid volume{};
    uint64_t region = 0;
    uint64_t seq = 0, floor = 0;  // a push's seq and floor (else 0)
};
enum class BulkKind {
    Data,     // a push to write, a pull to answer, a pulled region to write
    Neutral,  // a push's answer: the replicator's, no region state of a call
    Other,    // anything else: the batch runs first
};
// Whether a message of @kind for @key may join @batch (at most @max calls).
// An empty batch takes anything (a message that makes no call runs alone).
bool joins_batch(BulkKind kind, const DataKey& key, std::span<const DataKey> batch, size_t max);

// What dccd keeps of a volume it dropped (its device went away) for the
// same volume added again while the same peer dccd runs: messages sent
// before the drop may still come, addressed to this dccd.  The replica's
// push order and flush failure, the newest peer statement seen, and this
// site's own state and geometry at the drop.
struct KeptVolume {
    PushOrder order;
    bool flush_failed = false;
    uint64_t newest = 0;  // Ownership::newest()
    uint64_t own = 0;     // order() of this site's state
    uint32_t region_sectors = 0;
    uint64_t nr_regions = 0;
    // Whether it applies to the volume come back as @now with this
    // geometry: a site's state never moves back, so an older one (or
    // another shape) is new metadata, to which nothing kept applies.
    bool applies(SiteState now, uint32_t sectors, uint64_t regions) const {
        return core::order(now) >= own && sectors == region_sectors && regions == nr_regions;
    }
};

}  // namespace dcc::core
