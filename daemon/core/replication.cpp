// SPDX-License-Identifier: GPL-2.0-only
#include "replication.hpp"

#include <algorithm>
#include <utility>

namespace dcc::core {

bool Replicator::wants_refill(Clock::time_point now) const {
    return queue_.empty() && now - last_refill_ > std::chrono::milliseconds(100);
}

size_t Replicator::refill(const RangeSet& invalid, const std::vector<Range>& dirty, size_t max,
                          Clock::time_point now) {
    last_refill_ = now;
    size_t n = 0;
    auto queue = [&](uint64_t r, bool d) {
        // Only what this site holds, and never a region already on its way
        // or whose answer awaits its clear.
        if (invalid.contains(r) || busy_with(r)) return;
        queue_.push_back({r, d});
        n++;
    };
    for (const Range& x : owed_.ranges())
        for (uint64_t r = x.start; r < x.end() && n < max; r++) queue(r, false);
    if (n) return n;
    for (const Range& x : dirty)
        for (uint64_t r = x.start; r < x.end(); r++) queue(r, true);
    return n;
}

void Replicator::drop_busy(RangeSet& s) const {
    for (uint64_t r : regions_) s.remove(r, 1);
    for (const Range& x : clears_.ranges()) s.remove(x.start, x.count);
}

uint64_t warm_over(uint64_t dirty, uint64_t unreplicated, uint64_t keep) {
    uint64_t warm = dirty - std::min(dirty, unreplicated);
    return warm > keep ? warm - keep : 0;
}

RangeSet warm_excess(const RangeSet& confirmed, uint64_t over) {
    RangeSet out;
    for (const Range& x : confirmed.ranges()) {
        if (!over) break;
        uint64_t n = std::min(over, x.count);
        out.add(x.start, n);
        over -= n;
    }
    return out;
}

bool look_for_dirty(uint64_t dirty, uint64_t unreplicated, uint64_t keep) {
    return std::min(dirty, unreplicated) != 0 || warm_over(dirty, unreplicated, keep) != 0;
}

DirtySplit split_dirty(const std::vector<Range>& dirty, const std::vector<Range>& unconfirmed,
                       std::optional<uint64_t> unconfirmed_next) {
    uint64_t end = unconfirmed_next.value_or(UINT64_MAX);
    DirtySplit s;
    RangeSet page;
    for (const Range& x : dirty) {
        if (x.end() > end) {
            s.next = end;  // not known yet: the next page
            if (x.start < end) page.add(x.start, end - x.start);
            break;
        }
        page.add(x.start, x.count);
    }
    s.confirmed = page;
    for (const Range& x : unconfirmed) s.confirmed.remove(x.start, x.count);
    RangeSet push = page;
    for (const Range& x : s.confirmed.ranges()) push.remove(x.start, x.count);
    s.push = push.ranges();
    return s;
}

std::optional<PushItem> Replicator::next(size_t window) {
    while (!queue_.empty() && pushing_.size() < window) {
        PushItem p = queue_.front();
        queue_.pop_front();
        if (!busy_with(p.region)) return p;
    }
    return std::nullopt;
}

void Replicator::sent(uint64_t seq, PushItem p) {
    pushing_[seq] = p;
    regions_.insert(p.region);
}

void Replicator::unsent(PushItem p) { queue_.push_front(p); }

std::optional<Replicator::Answer> Replicator::answered(uint64_t seq, int status) {
    auto it = pushing_.find(seq);
    if (it == pushing_.end()) return std::nullopt;
    PushItem p = it->second;
    pushing_.erase(it);
    regions_.erase(p.region);
    if (status) return Answer{p, false};  // still dirty or still owed: sent again later
    owed_.remove(p.region);
    if (p.dirty) clears_.add(p.region);
    return Answer{p, true};
}

RangeSet Replicator::take_clears() {
    return std::exchange(clears_, RangeSet());
}

uint64_t Replicator::floor(uint64_t next_seq) const {
    return pushing_.empty() ? next_seq : pushing_.begin()->first;
}

void Replicator::reset() {
    pushing_.clear();
    regions_.clear();
    queue_.clear();
    // Answers collected but not yet cleared stay valid: the peer has them.
}

bool joins_batch(BulkKind kind, const DataKey& key, std::span<const DataKey> batch, size_t max) {
    if (batch.empty() || kind == BulkKind::Neutral) return true;
    if (kind != BulkKind::Data || batch.size() >= max) return false;
    for (const DataKey& k : batch) {
        if (k.volume != key.volume) continue;
        if (k.region == key.region || (key.seq && key.seq < k.floor)) return false;
    }
    return true;
}

bool PushOrder::take(uint64_t region, uint64_t seq, uint64_t floor) {
    if (floor > floor_) {
        floor_ = floor;
        for (auto it = last_.begin(); it != last_.end();)
            it = it->second.seq < floor_ ? last_.erase(it) : std::next(it);
    }
    if (seq < floor_) return false;
    auto [it, fresh] = last_.try_emplace(region, Last{seq, true});
    if (!fresh) {
        if (seq <= it->second.seq) return false;
        it->second = {seq, true};
    }
    return true;
}

bool PushOrder::fresh(uint64_t region, uint64_t seq, uint64_t floor) const {
    if (seq < std::max(floor, floor_)) return false;
    auto it = last_.find(region);
    return it == last_.end() || seq > it->second.seq;
}

SyncTake PushOrder::take_write(uint64_t region, uint64_t seq) {
    // Below the floor the owner gave the write up (its application got
    // EIO): newer data may be here already.
    if (seq < floor_) return SyncTake::Stale;
    auto [it, fresh] = last_.try_emplace(region, Last{seq, false});
    if (fresh || seq > it->second.seq) {
        it->second = {seq, false};
        return SyncTake::Apply;
    }
    // A push whose seq was taken later read this write's data.  A newer
    // sync write covers other sectors, perhaps, not these: that order is
    // not one the owner sends, so it is refused rather than guessed at.
    return it->second.push && seq < it->second.seq ? SyncTake::Covered : SyncTake::Stale;
}

void PushOrder::reset() {
    last_.clear();
    floor_ = 0;
}

}  // namespace dcc::core
