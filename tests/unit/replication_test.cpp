// SPDX-License-Identifier: GPL-2.0-only
// Replication bookkeeping (daemon/core/replication.hpp) against a small
// model of the kernel's dirty and armed bits: a region is clean at the
// owner only if the replica holds what the owner holds (C1), whatever the
// order writes, pushes and answers come in.
#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <cerrno>

#include "replication.hpp"

using namespace dcc;
using namespace dcc::core;

namespace {

// The kernel's bits as dm-dcc keeps them: a completed write sets dirty and
// disarms; ARM arms dirty regions; CLEAR_DIRTY clears armed ones.
struct Kernel {
    std::set<uint64_t> dirty, armed;
    std::map<uint64_t, int> data;  // region -> content version
    void write(uint64_t r, int v) {
        data[r] = v;
        dirty.insert(r);
        armed.erase(r);
    }
    void arm(uint64_t r) {
        if (dirty.count(r)) armed.insert(r);
    }
    void clear(const RangeSet& s) {
        for (const Range& x : s.ranges())
            for (uint64_t r = x.start; r < x.end(); r++)
                if (armed.erase(r)) dirty.erase(r);
    }
    std::vector<Range> dirty_ranges() const {
        RangeSet s;
        for (uint64_t r : dirty) s.add(r);
        return s.ranges();
    }
};

struct Harness {
    Kernel k;
    Replicator rep;
    std::map<uint64_t, int> replica;  // region -> version it holds
    PushOrder order;                  // the replica's
    struct Sent {
        uint64_t region;
        int version;
        uint64_t floor;
    };
    std::map<uint64_t, Sent> wire;  // seq -> push in flight
    uint64_t seq = 1;
    Clock::time_point now = Clock::now();
    bool rearm_in_flight = false;  // the bug C1 was: re-arming a region in flight

    void refill() {
        now += std::chrono::milliseconds(200);
        if (rep.wants_refill(now)) rep.refill({}, k.dirty_ranges(), 256, now);
        if (rearm_in_flight)
            for (uint64_t r : k.dirty) k.arm(r);
    }
    void push_all(size_t window = 8) {
        while (auto p = rep.next(window)) {
            if (p->dirty) k.arm(p->region);
            wire[seq] = {p->region, k.data[p->region], rep.floor(seq)};
            rep.sent(seq++, *p);
        }
    }
    // The answer to push @s; with @clear, the daemon's CLEAR_DIRTY of what
    // it allows follows at once, else at a later clear() (dccd handles
    // answers as they come and clears once per round).
    void answer(uint64_t s, int status = 0, bool clear = true) {
        Sent m = wire.at(s);
        wire.erase(s);
        if (!status && !order.take(m.region, s, m.floor)) status = ESTALE;
        if (!status) replica[m.region] = m.version;
        rep.answered(s, status);
        if (clear) this->clear();
    }
    void clear() { k.clear(rep.take_clears()); }
    // Clean at the owner => the replica holds the owner's content.
    bool coherent() const {
        for (const auto& [r, v] : k.data)
            if (!k.dirty.count(r) && (!replica.count(r) || replica.at(r) != v)) return false;
        return true;
    }
};

}  // namespace

// The review's sequence: R pushed (v1), rewritten (v2) while the push is
// in flight, the queue refilled, then the v1 answer arrives.
TEST(Replication, RewriteDuringPushStaysDirty) {
    for (bool bug : {false, true}) {
        Harness h;
        h.rearm_in_flight = bug;
        h.k.write(7, 1);
        h.refill();
        h.push_all();
        ASSERT_EQ(h.rep.in_flight(), 1u);
        h.k.write(7, 2);
        h.refill();
        h.push_all();
        EXPECT_EQ(h.rep.in_flight(), 1u) << "a region in flight was pushed again";
        h.answer(h.wire.begin()->first);
        // With the bug, the v1 answer clears the bit of v2.
        EXPECT_EQ(h.coherent(), !bug);
        EXPECT_EQ(h.k.dirty.count(7), bug ? 0u : 1u);
    }
}

// An answer whose clear has not been sent yet: the region is pushed (and
// armed) again only after that clear, else the clear of the older push
// would take the newer push's arm as its own and clear the bit while the
// newer data is still on its way (a handover then leaves the replica one
// push behind: the rewrite scenario's stale blocks).
TEST(Replication, NoPushAgainBeforeTheAnswersClear) {
    Harness h;
    h.k.write(7, 1);
    h.refill();
    h.push_all();
    h.k.write(7, 2);                             // while the push is in flight
    h.answer(h.wire.begin()->first, 0, false);   // v1 answered, not cleared yet
    h.refill();
    h.push_all();
    h.clear();
    EXPECT_EQ(h.k.dirty.count(7), 1u) << "v1's answer cleared the bit of v2";
    EXPECT_TRUE(h.coherent());
    h.refill();
    h.push_all();
    ASSERT_EQ(h.wire.size(), 1u) << "the region is pushed again once cleared";
    h.answer(h.wire.begin()->first);
    EXPECT_EQ(h.k.dirty.count(7), 0u);
    EXPECT_TRUE(h.coherent());
}

TEST(Replication, ReorderedAnswersAndResets) {
    std::mt19937_64 rng(42);
    for (int run = 0; run < 200; run++) {
        Harness h;
        for (int step = 0; step < 300; step++) {
            switch (rng() % 7) {
            case 0:
            case 1:
                h.k.write(rng() % 6, step + 1);
                break;
            case 2:
                h.refill();
                h.push_all(1 + rng() % 4);
                break;
            case 3:
            case 4:
                if (!h.wire.empty()) {
                    auto it = h.wire.begin();
                    std::advance(it, long(rng() % h.wire.size()));
                    h.answer(it->first, rng() % 8 ? 0 : EIO, rng() % 2);
                }
                break;
            case 5:
                // The link resets: what was in flight may still arrive and
                // be written, but its answer matches nothing any more.
                h.rep.reset();
                break;
            case 6:
                h.clear();
                break;
            }
            ASSERT_TRUE(h.coherent()) << "run " << run << " step " << step;
        }
    }
}

TEST(Replication, OwedRegionsGoFirstAndOnlyWhatIsHeld) {
    Replicator rep;
    rep.owe(10, 3);
    RangeSet invalid;
    invalid.add(11);
    auto now = Clock::now() + std::chrono::hours(1);
    EXPECT_EQ(rep.refill(invalid, {{0, 2}}, 256, now), 2u);  // 10, 12; not 11, not the dirty ones yet
    auto a = rep.next(8), b = rep.next(8);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(*a, (PushItem{10, false}));
    EXPECT_EQ(*b, (PushItem{12, false}));
    rep.sent(1, *a);
    rep.answered(1, 0);
    EXPECT_FALSE(rep.owed().contains(10));
    EXPECT_TRUE(rep.take_clears().empty());  // not from the dirty set: no clear
}

// The kernel's last count had nothing to push: its dirty set is not asked
// for; a count of some, or none known yet, is.  Warm regions (dirty, their
// writes all confirmed) are looked for only once there are more than the
// owner keeps.
TEST(Replication, LooksForDirtyRegionsOnlyWhenTheKernelCountsSome) {
    EXPECT_FALSE(look_for_dirty(0, 0, 0));
    EXPECT_TRUE(look_for_dirty(1, 1, 0));
    EXPECT_TRUE(look_for_dirty(UINT64_MAX, UINT64_MAX, 0)) << "not known: ask";
    EXPECT_FALSE(look_for_dirty(100, 0, 100)) << "all warm, as many as kept";
    EXPECT_TRUE(look_for_dirty(101, 0, 100)) << "one warm region too many";
    EXPECT_TRUE(look_for_dirty(100, 1, 4096)) << "one to push";
    EXPECT_TRUE(look_for_dirty(1, 0, 0)) << "keeping none: clear it";
}

// Only the warm regions over what is kept are cleared, the first found;
// an unconfirmed count above the dirty one (read at another moment) is no
// warm region at all.
TEST(Replication, ClearsOnlyTheWarmRegionsOverWhatIsKept) {
    EXPECT_EQ(warm_over(10, 4, 6), 0u);
    EXPECT_EQ(warm_over(10, 4, 2), 4u);
    EXPECT_EQ(warm_over(10, 12, 0), 0u);
    EXPECT_EQ(warm_over(10, 0, 0), 10u);
    RangeSet confirmed;
    confirmed.add(3, 2);
    confirmed.add(10, 5);
    EXPECT_TRUE(warm_excess(confirmed, 0).empty());
    RangeSet three = warm_excess(confirmed, 3);
    EXPECT_EQ(three.count(), 3u);
    EXPECT_TRUE(three.contains(3) && three.contains(4) && three.contains(10));
    EXPECT_FALSE(three.contains(11));
    EXPECT_EQ(warm_excess(confirmed, 100).count(), 7u) << "no more than the page holds";
}

TEST(Replication, FloorIsTheOldestUnanswered) {
    Replicator rep;
    EXPECT_EQ(rep.floor(9), 9u);
    rep.sent(3, {1, true});
    rep.sent(5, {2, true});
    EXPECT_EQ(rep.floor(9), 3u);
    rep.answered(3, 0);
    EXPECT_EQ(rep.floor(9), 5u);
    rep.reset();
    EXPECT_EQ(rep.floor(9), 9u);
    EXPECT_FALSE(rep.answered(5, 0)) << "a late answer after a reset matched";
}

TEST(PushOrder, NeverTakesAnOlderPush) {
    PushOrder o;
    EXPECT_TRUE(o.take(4, 10, 10));
    EXPECT_FALSE(o.take(4, 10, 10)) << "a duplicate";
    EXPECT_TRUE(o.take(4, 12, 10));
    EXPECT_FALSE(o.take(4, 11, 10)) << "an older push of the same region";
    EXPECT_TRUE(o.take(5, 11, 10)) << "another region";
    // Everything below the floor was answered or abandoned.
    EXPECT_TRUE(o.take(6, 20, 15));
    EXPECT_FALSE(o.take(7, 14, 15));
    EXPECT_EQ(o.remembered(), 1u) << "entries below the floor are forgotten";
    o.reset();
    EXPECT_TRUE(o.take(4, 1, 1)) << "a restarted peer starts again";
}

TEST(PushOrder, SyncWriteNewerThanAPushApplies) {
    PushOrder o;
    EXPECT_TRUE(o.take(4, 10, 10));
    EXPECT_EQ(o.take_write(4, 12), SyncTake::Apply);
    EXPECT_FALSE(o.take(4, 11, 10)) << "a push that read the region before the write landed";
    EXPECT_TRUE(o.take(4, 13, 10)) << "a push that read it after";
}

TEST(PushOrder, SyncWriteOlderThanATakenPushIsCovered) {
    PushOrder o;
    EXPECT_TRUE(o.take(4, 12, 10));
    EXPECT_EQ(o.take_write(4, 11), SyncTake::Covered) << "the push read this write's data";
    EXPECT_TRUE(o.take(4, 13, 10)) << "and Covered remembered nothing newer";
    EXPECT_EQ(o.take_write(5, 11), SyncTake::Apply) << "another region";
}

TEST(PushOrder, SyncWriteBelowTheFloorOrOutOfOrderIsStale) {
    PushOrder o;
    EXPECT_TRUE(o.take(4, 20, 15));
    EXPECT_EQ(o.take_write(6, 14), SyncTake::Stale) << "given up by the owner";
    EXPECT_EQ(o.take_write(6, 16), SyncTake::Apply);
    EXPECT_EQ(o.take_write(6, 16), SyncTake::Stale) << "a duplicate";
    EXPECT_EQ(o.take_write(6, 15), SyncTake::Stale) << "older than a sync write taken: not guessed at";
    o.reset();
    EXPECT_EQ(o.take_write(6, 1), SyncTake::Apply) << "a restarted peer starts again";
}

// The owner's procedure against the replica's PushOrder, at random: a
// region of 8 sectors; writes land on the owner's disk; a push takes its
// seq, then reads the region (writes may land in between), then travels
// on the bulk channel; a landed write's sync write takes its seq, then
// reads its sectors, then travels on the control channel; the two
// channels deliver in their own order, interleaved at random; a sync
// write is acknowledged when the replica applied it or found it covered.
// Invariant: every acknowledged write's sectors hold its version, or a
// newer one, at the replica, at every step.
TEST(PushOrder, RandomPushesAndSyncWritesNeverLoseAnAcknowledgedWrite) {
    constexpr int kSectors = 8;
    for (unsigned run = 0; run < 3000; run++) {
        std::mt19937 rng(run);
        auto pick = [&](int n) { return int(rng() % unsigned(n)); };
        std::array<uint64_t, kSectors> owner{}, replica{};
        struct Write {
            uint64_t version;
            int first, count;
        };
        struct Msg {
            uint64_t seq;
            bool push;
            std::array<uint64_t, kSectors> data;  // push: all; sync: its sectors
            Write w;
        };
        uint64_t version = 0, seq = 1;
        std::vector<Write> landed, acked;
        std::deque<Msg> bulk, ctl;
        std::optional<std::pair<uint64_t, bool>> reading_push;  // seq taken, not yet read
        std::optional<std::pair<uint64_t, Write>> reading_sync;
        PushOrder o;
        for (int step = 0; step < 60; step++) {
            switch (pick(7)) {
            case 0: {  // a write lands at the owner
                Write w{++version, pick(kSectors), 0};
                w.count = 1 + pick(kSectors - w.first);
                for (int i = 0; i < w.count; i++) owner[size_t(w.first + i)] = w.version;
                landed.push_back(w);
                break;
            }
            case 1:  // a push takes its seq
                if (!reading_push) reading_push = {seq++, true};
                break;
            case 2:  // ... and reads the region
                if (reading_push) {
                    bulk.push_back({reading_push->first, true, owner, {}});
                    reading_push.reset();
                }
                break;
            case 3:  // the oldest landed write's sync write takes its seq
                if (!reading_sync && !landed.empty()) {
                    reading_sync = {seq++, landed.front()};
                    landed.erase(landed.begin());
                }
                break;
            case 4:  // ... and reads its sectors
                if (reading_sync) {
                    ctl.push_back({reading_sync->first, false, owner, reading_sync->second});
                    reading_sync.reset();
                }
                break;
            case 5:  // the bulk channel delivers a push
                if (!bulk.empty()) {
                    Msg m = bulk.front();
                    bulk.pop_front();
                    if (o.take(0, m.seq, 1)) replica = m.data;
                }
                break;
            case 6:  // the control channel delivers a sync write
                if (!ctl.empty()) {
                    Msg m = ctl.front();
                    ctl.pop_front();
                    SyncTake t = o.take_write(0, m.seq);
                    if (t == SyncTake::Apply)
                        for (int i = 0; i < m.w.count; i++)
                            replica[size_t(m.w.first + i)] = m.data[size_t(m.w.first + i)];
                    if (t != SyncTake::Stale) acked.push_back(m.w);
                }
                break;
            }
            for (const Write& w : acked)
                for (int i = 0; i < w.count; i++)
                    ASSERT_GE(replica[size_t(w.first + i)], w.version)
                        << "run " << run << " step " << step << ": acknowledged write v" << w.version
                        << " lost at sector " << w.first + i;
        }
    }
}

TEST(PushOrder, FreshSaysWhatTakeWouldDoAndChangesNothing) {
    PushOrder o;
    EXPECT_TRUE(o.take(4, 10, 10));
    EXPECT_FALSE(o.fresh(4, 10, 10));
    EXPECT_TRUE(o.fresh(4, 11, 10));
    EXPECT_FALSE(o.fresh(5, 11, 12)) << "below the floor it carries";
    EXPECT_TRUE(o.fresh(5, 11, 10));
    // A push checked but not taken (its write failed) leaves an older sync
    // write of the region to be applied, not covered.
    EXPECT_EQ(o.take_write(4, 11), SyncTake::Apply);
    EXPECT_EQ(o.remembered(), 1u);
}

// What is kept of a dropped volume applies to it when it comes back with
// the same metadata (its own state as then or newer, the same geometry),
// not to a volume formatted again under the same UUID.
TEST(KeptVolume, AppliesOnlyToTheSameMetadata) {
    using dcc::core::SiteState;
    dcc::core::KeptVolume k;
    k.own = dcc::core::order(SiteState{dcc::Role::Owner, 5});
    k.region_sectors = 128;
    k.nr_regions = 1000;
    EXPECT_TRUE(k.applies(SiteState{dcc::Role::Owner, 5}, 128, 1000));
    EXPECT_TRUE(k.applies(SiteState{dcc::Role::Yielding, 6}, 128, 1000)) << "moved on since";
    EXPECT_FALSE(k.applies(SiteState{dcc::Role::Owner, 1}, 128, 1000)) << "formatted again";
    EXPECT_FALSE(k.applies(SiteState{dcc::Role::Yielding, 5}, 128, 1000)) << "older";
    EXPECT_FALSE(k.applies(SiteState{dcc::Role::Owner, 5}, 256, 500)) << "another geometry";
    EXPECT_FALSE(k.applies(SiteState{dcc::Role::Owner, 5}, 128, 999));
}

// A sync volume's owner pushes only the regions a write of which ended
// without the peer's confirmation; the rest are cleared without a push
// (spin model: CONFIRM).
TEST(Replication, ConfirmedRegionsAreClearedNotPushed) {
    std::vector<Range> dirty{{0, 4}, {10, 2}, {20, 1}};
    std::vector<Range> unc{{2, 1}, {11, 5}};
    DirtySplit s = split_dirty(dirty, unc, std::nullopt);
    EXPECT_EQ(s.push, (std::vector<Range>{{2, 1}, {11, 1}}));
    RangeSet want;
    want.add(0, 2);
    want.add(3, 1);
    want.add(10, 1);
    want.add(20, 1);
    EXPECT_EQ(s.confirmed.ranges(), want.ranges());
    EXPECT_FALSE(s.next);
    // Nothing unconfirmed: all cleared, none pushed.
    s = split_dirty(dirty, {}, std::nullopt);
    EXPECT_TRUE(s.push.empty());
    EXPECT_EQ(s.confirmed.count(), 7u);
}

TEST(Replication, RegionsPastTheUnconfirmedPageWaitForTheNext) {
    // The unconfirmed page stopped at 11: what lies past it is not known
    // yet, and is neither pushed nor cleared now.
    DirtySplit s = split_dirty({{0, 2}, {9, 4}, {30, 1}}, {{1, 1}, {9, 1}}, 11);
    EXPECT_EQ(s.push, (std::vector<Range>{{1, 1}, {9, 1}}));
    EXPECT_EQ(s.confirmed.count(), 2u);  // 0 and 10
    EXPECT_TRUE(s.confirmed.contains(0));
    EXPECT_TRUE(s.confirmed.contains(10));
    EXPECT_FALSE(s.confirmed.contains(11));
    ASSERT_TRUE(s.next);
    EXPECT_EQ(*s.next, 11u);
}

TEST(Replication, AConfirmedClearLeavesTheRegionsOfPushesInFlight) {
    Replicator rep;
    rep.refill({}, {{5, 1}, {6, 1}}, 256, Clock::now());
    auto a = rep.next(8), b = rep.next(8);
    ASSERT_TRUE(a && b);
    rep.sent(100, *a);
    rep.sent(101, *b);
    ASSERT_TRUE(rep.answered(101, 0));  // region 6: its clear is due
    RangeSet s;
    s.add(0, 10);
    rep.drop_busy(s);
    EXPECT_FALSE(s.contains(5)) << "its push is in flight: the armed bit is the push's";
    EXPECT_FALSE(s.contains(6)) << "its answer awaits its clear";
    EXPECT_EQ(s.count(), 8u);
}

TEST(Batch, JoinsOnlyDataCallsOfRegionsOfTheirOwn) {
    Uuid a{}, b{};
    a[0] = 1;
    b[0] = 2;
    std::vector<DataKey> batch;
    // An empty batch takes anything: a message that makes no call runs alone.
    EXPECT_TRUE(joins_batch(BulkKind::Other, {a, 1}, batch, 3));
    batch.push_back({a, 1});
    EXPECT_FALSE(joins_batch(BulkKind::Other, {a, 2}, batch, 3));
    EXPECT_FALSE(joins_batch(BulkKind::Data, {a, 1}, batch, 3));  // the same region
    EXPECT_TRUE(joins_batch(BulkKind::Data, {b, 1}, batch, 3));   // another volume's
    EXPECT_TRUE(joins_batch(BulkKind::Data, {a, 2}, batch, 3));
    batch.push_back({b, 1});
    batch.push_back({a, 2});
    EXPECT_FALSE(joins_batch(BulkKind::Data, {a, 3}, batch, 3));  // full
    EXPECT_TRUE(joins_batch(BulkKind::Neutral, {a, 1}, batch, 3));
    // A push below the floor of one in the batch waits for it.
    batch = {{a, 1, 10, 8}};
    EXPECT_FALSE(joins_batch(BulkKind::Data, {a, 2, 7, 7}, batch, 3));
    EXPECT_TRUE(joins_batch(BulkKind::Data, {a, 2, 8, 8}, batch, 3));
    EXPECT_TRUE(joins_batch(BulkKind::Data, {b, 2, 7, 7}, batch, 3));  // another volume's order
    EXPECT_TRUE(joins_batch(BulkKind::Data, {a, 2}, batch, 3));        // a pull
}

// A replica's pushes handled as dccd batches them (each decided as it
// comes, its write's outcome taken in order at the batch's end) decide
// exactly as one after another: the same pushes taken, the same refused.
TEST(Batch, PushesDecideAsOneAfterAnother) {
    std::mt19937_64 rng(7);
    for (int round = 0; round < 200; round++) {
        struct Push {
            uint64_t region, seq, floor;
            bool fails;  // its write fails
        };
        std::vector<Push> in;
        uint64_t seq = 1, floor = 1;
        for (int i = 0; i < 60; i++) {
            seq += 1 + rng() % 3;
            if (rng() % 4 == 0) floor = std::min(seq, floor + rng() % 5);
            // Now and then one sent again (a retry after a reset: older).
            uint64_t s = rng() % 8 == 0 && seq > 4 ? seq - 1 - rng() % 4 : seq;
            in.push_back({rng() % 6, s, std::min(floor, s), rng() % 10 == 0});
        }
        std::vector<bool> one, batched;
        PushOrder o1, o2;
        for (const Push& p : in) {
            bool take = o1.fresh(p.region, p.seq, p.floor);
            if (take && !p.fails) o1.take(p.region, p.seq, p.floor);
            one.push_back(take && !p.fails);
        }
        std::vector<DataKey> keys;
        std::vector<std::pair<Push, bool>> batch;  // push, fresh when it came
        auto run = [&] {
            for (auto& [p, fresh] : batch) {
                if (fresh && !p.fails) o2.take(p.region, p.seq, p.floor);
                batched.push_back(fresh && !p.fails);
            }
            batch.clear();
            keys.clear();
        };
        for (const Push& p : in) {
            DataKey k{Uuid{}, p.region, p.seq, p.floor};
            if (!joins_batch(BulkKind::Data, k, keys, 4)) run();
            keys.push_back(k);
            batch.push_back({p, o2.fresh(p.region, p.seq, p.floor)});
        }
        run();
        ASSERT_EQ(one, batched) << "round " << round;
    }
}
