// SPDX-License-Identifier: GPL-2.0-only
// Fill bookkeeping (daemon/core/fills.hpp): only the answer to the request
// outstanding, for this site's generation, fills a region (M3).
#include <gtest/gtest.h>

#include <cerrno>

#include "fills.hpp"

using namespace dcc::core;

TEST(Fills, OnlyTheOutstandingRequestsAnswer) {
    Fills f;
    auto now = Clock::now();
    f.begun(3);
    f.asked(3, FillKind::Pull, 10, now);
    EXPECT_EQ(f.answer(3, 9, 4, 4, 0, now), Fills::Verdict::Late) << "an earlier request";
    EXPECT_EQ(f.answer(4, 10, 4, 4, 0, now), Fills::Verdict::Late) << "another region";
    EXPECT_EQ(f.answer(3, 10, 3, 4, 0, now), Fills::Verdict::Late) << "an earlier generation";
    // A bio now waits: the fetch answers for the pull, the pull's answer is late.
    f.asked(3, FillKind::Fetch, 11, now);
    EXPECT_EQ(f.find(3)->kind, FillKind::Fetch);
    EXPECT_EQ(f.answer(3, 10, 4, 4, 0, now), Fills::Verdict::Late);
    EXPECT_EQ(f.answer(3, 11, 4, 4, 0, now), Fills::Verdict::Take);
    f.written(3);
    EXPECT_EQ(f.answer(3, 11, 4, 4, 0, now), Fills::Verdict::Late) << "a duplicate";
    f.done(3);
    EXPECT_FALSE(f.has(3));
}

// The review's M3 sequence: a PULL_REPLY of generation g+1 arrives after
// two handovers; the region was asked for again at g+3.
TEST(Fills, ReplyFromAnEarlierOwnershipIsDropped) {
    Fills f;
    auto now = Clock::now();
    f.begun(8);
    f.asked(8, FillKind::Pull, 20, now);
    f.clear();  // this site gave the volume up
    f.begun(8);
    f.asked(8, FillKind::Fetch, 31, now);  // owner again, later
    EXPECT_EQ(f.answer(8, 20, 2, 4, 0, now), Fills::Verdict::Late);
    EXPECT_EQ(f.answer(8, 31, 4, 4, 0, now), Fills::Verdict::Take);
}

TEST(Fills, NotReadyIsAskedAgainErrorsEndTheFill) {
    Fills f;
    auto now = Clock::now();
    f.begun(1);
    f.asked(1, FillKind::Pull, 5, now + std::chrono::hours(1));
    EXPECT_TRUE(f.due(FillKind::Pull, now).empty());
    EXPECT_EQ(f.answer(1, 5, 2, 2, ESTALE, now), Fills::Verdict::Retry);
    EXPECT_TRUE(f.due(FillKind::Pull, now).empty());
    EXPECT_EQ(f.due(FillKind::Pull, now + std::chrono::seconds(1)), std::vector<uint64_t>{1});
    f.asked(1, FillKind::Pull, 6, now);
    EXPECT_EQ(f.answer(1, 6, 0, 2, ENODATA, now), Fills::Verdict::Take) << "an error ends it";
    f.reset();
    EXPECT_EQ(f.due(FillKind::Pull, now), std::vector<uint64_t>{1}) << "asked again after a reset";
}

namespace {
dcc::RangeSet set_of(std::initializer_list<uint64_t> regions) {
    dcc::RangeSet s;
    for (uint64_t r : regions) s.add(r, 1);
    return s;
}
}  // namespace

// Which locks the owner gives back (FILL_RELEASE): none it is about to end
// or that a bio waits for while it can fill; every one not written when it
// cannot.  Regions: 1 a fetch whose bios timed out, 2 a pull in flight,
// 3 written (FILL_DONE due), 4 a lock with no request (a miss whose bios
// timed out before it was asked for), 5 a fetch a bio waits for, 6 a miss
// a bio waits for, not asked yet.
TEST(Fills, LocksNobodyWillFillAreGivenBack) {
    Fills f;
    auto now = Clock::now();
    f.asked(1, FillKind::Fetch, 7, now);
    f.begun(2);
    f.asked(2, FillKind::Pull, 8, now);
    f.begun(3);
    f.asked(3, FillKind::Pull, 9, now);
    f.written(3);
    f.asked(5, FillKind::Fetch, 10, now);
    auto pending = set_of({1, 2, 3, 4, 5, 6});
    auto waiting = set_of({5, 6});
    EXPECT_EQ(f.to_release(pending, waiting, true).ranges(), set_of({1, 4}).ranges())
        << "paired: only the fetches whose bios are gone, and locks with no request";
    EXPECT_EQ(f.to_release(pending, waiting, false).ranges(), set_of({1, 2, 4, 5, 6}).ranges())
        << "unpaired: all but the written one (the kernel keeps those a bio needs)";
    EXPECT_TRUE(f.to_release({}, {}, false).empty());
    EXPECT_TRUE(f.to_release(set_of({3}), {}, false).empty()) << "a written fill is never given back";
}

TEST(Fills, GivenBackFillsTakeNoLateAnswer) {
    Fills f;
    auto now = Clock::now();
    f.asked(1, FillKind::Fetch, 7, now);
    f.begun(2);
    f.asked(2, FillKind::Pull, 8, now);
    f.asked(3, FillKind::Fetch, 9, now);
    f.give_back(set_of({1, 2}));
    // The kernel may have let an overwrite in: the peer's old data must
    // not follow it, whether or not the kernel's reply arrived.
    EXPECT_EQ(f.answer(1, 7, 1, 1, 0, now), Fills::Verdict::Late);
    EXPECT_EQ(f.answer(2, 8, 1, 1, 0, now), Fills::Verdict::Late);
    EXPECT_FALSE(f.has(1));
    EXPECT_FALSE(f.has(2));
    EXPECT_EQ(f.answer(3, 9, 1, 1, 0, now), Fills::Verdict::Take) << "a fill not given back is kept";
    EXPECT_EQ(f.due(FillKind::Fetch, now), std::vector<uint64_t>{3});
}

// The fetch latency runs from the first sight of a waiting bio, across a
// request asked again, a link reset and a fill given back, until the fill
// is done or no bio waits any more.
TEST(Fills, AWaitRunsFromItsFirstSight) {
    Fills f;
    auto t0 = Clock::now();
    auto at = [&](int s) { return t0 + std::chrono::seconds(s); };
    f.begun(4);
    f.asked(4, FillKind::Pull, 3, t0);
    f.seen_waiting({}, at(0));
    EXPECT_FALSE(f.waited_since(4)) << "a background pull: nobody waits";
    f.seen_waiting(set_of({4}), at(1));
    f.asked(4, FillKind::Fetch, 5, t0);
    f.seen_waiting(set_of({4}), at(2));
    f.reset();
    f.give_back(set_of({4}));
    f.seen_waiting(set_of({4, 9}), at(3));
    EXPECT_EQ(f.waited_since(4), at(1));
    EXPECT_EQ(f.waited_since(9), at(3));
    f.done(4);
    EXPECT_FALSE(f.waited_since(4)) << "the fill is done";
    f.seen_waiting({}, at(4));
    EXPECT_FALSE(f.waited_since(9)) << "its bios are gone (timed out)";
    f.seen_waiting(set_of({9}), at(5));
    EXPECT_EQ(f.waited_since(9), at(5)) << "a new wait starts anew";
}

TEST(PullGate, NewPullsWaitForHandoversToSettle) {
    using namespace std::chrono_literals;
    Clock::time_point t0{};
    PullGate g(300ms);
    EXPECT_TRUE(g.may_begin(t0)) << "no role changed since dccd started";
    g.role_changed(t0 + 1s);
    EXPECT_FALSE(g.may_begin(t0 + 1s));
    EXPECT_FALSE(g.may_begin(t0 + 1299ms)) << "within 300 ms of the last role change";
    g.role_changed(t0 + 1200ms);  // the next volume of the same migration
    EXPECT_FALSE(g.may_begin(t0 + 1400ms)) << "counted from the latest change";
    EXPECT_TRUE(g.may_begin(t0 + 1500ms));
}

TEST(MissOrder, PullsKeepToOneWhileMissesJumpAbout) {
    using namespace std::chrono_literals;
    Clock::time_point t0{};
    MissOrder m(300ms);
    EXPECT_EQ(m.window(8, t0), 8u) << "no miss yet: the full window";
    EXPECT_EQ(m.ahead(t0).count, 0u);
    m.fetched(500, 1, 8, t0 + 1s);
    m.fetched(40, 1, 8, t0 + 1010ms);  // before the last: no sweep
    m.fetched(900, 1, 8, t0 + 1020ms);  // far after it: no sweep
    EXPECT_EQ(m.window(8, t0 + 1020ms), 1u) << "misses under way: one pull in flight";
    EXPECT_EQ(m.ahead(t0 + 1020ms).count, 0u) << "a reader that jumps about has nothing ahead";
    EXPECT_EQ(m.window(8, t0 + 1319ms), 1u) << "within 300 ms of the last miss";
    EXPECT_EQ(m.window(8, t0 + 1320ms), 8u) << "the misses ended: the full window again";
    m.waiting(t0 + 1400ms);  // a bio still waits for a fetch asked before
    EXPECT_EQ(m.window(8, t0 + 1600ms), 1u);
    EXPECT_EQ(m.window(8, t0 + 1700ms), 8u);
    EXPECT_EQ(m.window(0, t0 + 1600ms), 0u) << "never more than the window";
}

TEST(MissOrder, AReadersSweepIsPulledAhead) {
    using namespace std::chrono_literals;
    Clock::time_point t0{};
    MissOrder m(300ms);
    m.fetched(100, 1, 8, t0);
    m.fetched(101, 1, 8, t0 + 5ms);
    EXPECT_EQ(m.ahead(t0 + 5ms).count, 0u) << "two regions in a row may be chance";
    m.fetched(102, 1, 8, t0 + 10ms);
    EXPECT_EQ(m.ahead(t0 + 10ms), (dcc::Range{103, 8})) << "three: the next window after the reader";
    EXPECT_EQ(m.window(8, t0 + 10ms), 1u) << "the rest still keeps to one";
    m.fetched(102, 1, 8, t0 + 20ms);  // the same region asked again
    EXPECT_EQ(m.ahead(t0 + 20ms), (dcc::Range{103, 8}));
    m.fetched(111, 1, 8, t0 + 30ms);  // skipped 103-110: pulled meanwhile
    EXPECT_EQ(m.ahead(t0 + 30ms), (dcc::Range{112, 8}));
    m.fetched(121, 1, 8, t0 + 40ms);  // 10 after: more than a window and one
    EXPECT_EQ(m.ahead(t0 + 40ms), (dcc::Range{112, 8})) << "a jump leaves the sweep where it was";
    m.fetched(130, 1, 8, t0 + 50ms);  // within a window of the jump
    EXPECT_EQ(m.ahead(t0 + 50ms), (dcc::Range{131, 8})) << "the sweep goes on from there";
    EXPECT_EQ(m.ahead(t0 + 349ms), (dcc::Range{131, 8}));
    EXPECT_EQ(m.ahead(t0 + 350ms).count, 0u) << "300 ms after the sweep's last step";
    m.fetched(135, 1, 8, t0 + 400ms);
    EXPECT_EQ(m.ahead(t0 + 400ms).count, 0u) << "the sweep ended: a near miss does not start one";
    m.fetched(136, 1, 8, t0 + 410ms);
    m.fetched(137, 1, 8, t0 + 420ms);
    EXPECT_EQ(m.ahead(t0 + 420ms), (dcc::Range{138, 8})) << "three in a row again";
    m.fetched(20, 1, 8, t0 + 430ms);
    EXPECT_EQ(m.ahead(t0 + 430ms), (dcc::Range{138, 8})) << "a jump back leaves the sweep where it was";
    m.fetched(21, 1, 8, t0 + 440ms);
    EXPECT_EQ(m.ahead(t0 + 440ms), (dcc::Range{22, 8})) << "a sweep under way follows the reader's jump";
}

TEST(MissOrder, OneReadAcrossManyRegionsIsNoSweep) {
    using namespace std::chrono_literals;
    Clock::time_point t0{};
    MissOrder m(300ms);
    m.fetched(1000, 16, 8, t0);  // a 1 MiB read of 64 KiB regions
    EXPECT_EQ(m.ahead(t0).count, 0u);
    EXPECT_EQ(m.window(8, t0), 1u) << "a miss all the same";
    m.fetched(5000, 16, 8, t0 + 10ms);
    EXPECT_EQ(m.ahead(t0 + 10ms).count, 0u) << "nor two far apart";
    // Read-ahead of a reader in order: runs of two regions, each just
    // after the one before.
    m.fetched(0, 2, 8, t0 + 20ms);
    m.fetched(2, 2, 8, t0 + 30ms);
    EXPECT_EQ(m.ahead(t0 + 30ms).count, 0u);
    m.fetched(4, 2, 8, t0 + 40ms);
    EXPECT_EQ(m.ahead(t0 + 40ms), (dcc::Range{6, 8})) << "three runs in a row, from region 0";
    m.fetched(5, 1, 8, t0 + 50ms);  // within the last run: no step
    EXPECT_EQ(m.ahead(t0 + 50ms), (dcc::Range{6, 8}));
}

TEST(MissOrder, RunsInARowCountOnlyWhileMissesFollowEachOther) {
    using namespace std::chrono_literals;
    Clock::time_point t0{};
    MissOrder m(300ms);
    m.fetched(10, 1, 8, t0);
    m.fetched(11, 1, 8, t0 + 1h);
    m.fetched(12, 1, 8, t0 + 2h);
    EXPECT_EQ(m.ahead(t0 + 2h).count, 0u) << "hours apart: no sweep";
    m.fetched(13, 1, 8, t0 + 2h + 100ms);
    EXPECT_EQ(m.ahead(t0 + 2h + 100ms).count, 0u) << "two in a row so far";
    m.fetched(14, 1, 8, t0 + 2h + 200ms);
    EXPECT_EQ(m.ahead(t0 + 2h + 200ms), (dcc::Range{15, 8}));
}
