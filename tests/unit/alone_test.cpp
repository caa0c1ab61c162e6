// SPDX-License-Identifier: GPL-2.0-only
// on_peer_loss = continue (daemon/core/alone.hpp): an owner goes on alone
// only on the witness's grant of its OUTDATE, stops when paired again, and
// lifts the fence with the epoch the witness last stated, only once the
// replica holds everything.
#include <gtest/gtest.h>

#include "alone.hpp"

using namespace dcc::core;
using namespace std::chrono;
using Send = GoingAlone::Send;

namespace {

const std::string kSite = "A";

AloneFacts cut_off(uint64_t gen = 3) {
    AloneFacts f;
    f.state = {dcc::Role::Owner, gen};
    f.sync = true;
    f.policy = PeerLoss::Continue;
    f.witness = true;
    f.paired = false;
    f.held = 2;
    return f;
}

struct AloneTest : ::testing::Test {
    GoingAlone g;
    LeaseClock::time_point now = LeaseClock::time_point(seconds(100));
    uint64_t seq = 10;

    // Ticks once; sends what is asked for and returns it with its seq.
    Send step(const AloneFacts& f, uint64_t* sent_seq = nullptr) {
        Send s = g.tick(f, now);
        if (s != Send::None) {
            g.sent(s, ++seq, now);
            if (sent_seq) *sent_seq = seq;
        }
        return s;
    }
    void later(int ms) { now += milliseconds(ms); }
};

TEST_F(AloneTest, GoesAloneOnlyOnTheGrant) {
    AloneFacts f = cut_off();
    uint64_t s = 0;
    ASSERT_EQ(step(f, &s), Send::Outdate);
    EXPECT_FALSE(g.alone());
    EXPECT_EQ(step(f), Send::None);  // one at a time
    g.answered(s, true, 3, kSite, 7, kSite, f);
    EXPECT_TRUE(g.alone());
    EXPECT_EQ(g.fence(), 7u);
    later(5000);
    EXPECT_EQ(step(f), Send::None);  // alone: nothing more to ask
}

TEST_F(AloneTest, RefusedHoldsTheWritesAndAsksAgainPaced) {
    AloneFacts f = cut_off();
    uint64_t s = 0;
    ASSERT_EQ(step(f, &s), Send::Outdate);
    g.answered(s, false, 3, kSite, 0, kSite, f);
    EXPECT_FALSE(g.alone());
    EXPECT_EQ(step(f), Send::None);  // not at once
    later(1000);
    EXPECT_EQ(step(f), Send::Outdate);
}

TEST_F(AloneTest, NothingAskedUnlessEveryConditionHolds) {
    AloneFacts f = cut_off();
    auto none = [&](AloneFacts x) {
        GoingAlone fresh;
        return fresh.tick(x, now) == Send::None;
    };
    AloneFacts x = f;
    x.policy = PeerLoss::Suspend;
    EXPECT_TRUE(none(x));
    x = f, x.sync = false;
    EXPECT_TRUE(none(x));
    x = f, x.witness = false;
    EXPECT_TRUE(none(x));
    x = f, x.paired = true;
    EXPECT_TRUE(none(x));
    x = f, x.held = 0;  // nothing waits: no reason to fence the replica
    EXPECT_TRUE(none(x));
    x = f, x.state.role = dcc::Role::Replica;
    EXPECT_TRUE(none(x));
    x = f, x.state.split = dcc::Split::New;
    EXPECT_TRUE(none(x));
    EXPECT_FALSE(none(f));
}

TEST_F(AloneTest, AGrantForAnotherGenerationOrSiteIsNotTaken) {
    AloneFacts f = cut_off();
    uint64_t s = 0;
    ASSERT_EQ(step(f, &s), Send::Outdate);
    g.answered(s, true, 4, "B", 7, kSite, f);  // the record moved on: B failed over
    EXPECT_FALSE(g.alone());
    EXPECT_EQ(g.fence(), 0u);
    later(1000);
    ASSERT_EQ(step(f, &s), Send::Outdate);
    g.answered(s + 1, true, 3, kSite, 8, kSite, f);  // not the answer to this request
    EXPECT_FALSE(g.alone());
    later(1000);  // the answer was lost: asked again, a late one not taken
    uint64_t s2 = 0;
    ASSERT_EQ(step(f, &s2), Send::Outdate);
    g.answered(s, true, 3, kSite, 8, kSite, f);
    EXPECT_FALSE(g.alone());
    g.answered(s2, true, 3, kSite, 9, kSite, f);
    EXPECT_TRUE(g.alone());
}

TEST_F(AloneTest, PairedAgainWritesWaitThenTheFenceIsLiftedWhenCaughtUp) {
    AloneFacts f = cut_off();
    uint64_t s = 0;
    ASSERT_EQ(step(f, &s), Send::Outdate);
    g.answered(s, true, 3, kSite, 5, kSite, f);
    ASSERT_TRUE(g.alone());
    later(2000);
    f.paired = true;
    f.held = 0;
    EXPECT_EQ(step(f), Send::None);  // not caught up yet
    EXPECT_FALSE(g.alone());          // writes wait for the replica again
    EXPECT_EQ(g.fence(), 5u);
    f.caught_up = true;
    ASSERT_EQ(step(f, &s), Send::Uptodate);
    EXPECT_EQ(step(f), Send::None);
    later(1000);  // no answer: sent again until answered
    ASSERT_EQ(step(f, &s), Send::Uptodate);
    g.answered(s, true, 3, kSite, 0, kSite, f);
    EXPECT_EQ(g.fence(), 0u);
    later(1000);
    EXPECT_EQ(step(f), Send::None);
}

TEST_F(AloneTest, CutOffAgainBeforeCaughtUpGoesAloneWithANewEpoch) {
    AloneFacts f = cut_off();
    uint64_t s = 0;
    ASSERT_EQ(step(f, &s), Send::Outdate);
    g.answered(s, true, 3, kSite, 5, kSite, f);
    later(1000);
    f.paired = true;
    EXPECT_EQ(step(f), Send::None);
    EXPECT_FALSE(g.alone());
    f.paired = false;  // gone again, writes wait
    later(1000);
    ASSERT_EQ(step(f, &s), Send::Outdate);
    g.answered(s, true, 3, kSite, 6, kSite, f);
    EXPECT_TRUE(g.alone());
    EXPECT_EQ(g.fence(), 6u);
}

TEST_F(AloneTest, TheEpochIsLearntFromTheWitnessAfterARestart) {
    // A restarted dccd knows of no fence; its renewals' answers state it.
    AloneFacts f = cut_off();
    f.paired = true;
    f.held = 0;
    f.caught_up = true;
    EXPECT_EQ(step(f), Send::None);
    g.answered(999, true, 3, kSite, 4, kSite, f);  // a RENEW's answer
    EXPECT_EQ(g.fence(), 4u);
    uint64_t s = 0;
    ASSERT_EQ(step(f, &s), Send::Uptodate);
    // Refused: the record's fence is a newer one (an OUTDATE of the last
    // incarnation granted after): lifted with that epoch.
    g.answered(s, false, 3, kSite, 6, kSite, f);
    EXPECT_EQ(g.fence(), 6u);
    later(1000);
    ASSERT_EQ(step(f, &s), Send::Uptodate);
    g.answered(s, true, 3, kSite, 0, kSite, f);
    EXPECT_EQ(g.fence(), 0u);
}

TEST_F(AloneTest, WhileAloneAnOlderStatementDoesNotDropTheFence) {
    AloneFacts f = cut_off();
    uint64_t s = 0;
    ASSERT_EQ(step(f, &s), Send::Outdate);
    g.answered(s, true, 3, kSite, 5, kSite, f);
    g.answered(999, true, 3, kSite, 0, kSite, f);
    EXPECT_TRUE(g.alone());
    EXPECT_EQ(g.fence(), 5u);
}

TEST_F(AloneTest, EndsWithTheGenerationTheRoleOrThePolicy) {
    for (int k = 0; k < 4; k++) {
        GoingAlone fresh;
        g = fresh;
        AloneFacts f = cut_off();
        uint64_t s = 0;
        ASSERT_EQ(step(f, &s), Send::Outdate);
        g.answered(s, true, 3, kSite, 5, kSite, f);
        ASSERT_TRUE(g.alone());
        switch (k) {
        case 0: f.state.generation = 4; break;      // a handover, a failover
        case 1: f.state.role = dcc::Role::Yielding; break;
        case 2: f.policy = PeerLoss::Suspend; break;  // SIGHUP
        case 3: f.sync = false; break;                // dccctl mode async
        }
        later(1000);
        step(f);
        EXPECT_FALSE(g.alone()) << k;
        if (k < 2) EXPECT_EQ(g.fence(), 0u) << k;  // that record has no fence of ours
        else EXPECT_EQ(g.fence(), 5u) << k;        // still to be lifted once caught up
    }
}

// A grant that comes once the facts changed (paired again, the policy
// turned off) is not taken: the fence stands, and is lifted when caught up.
TEST_F(AloneTest, ALateGrantIsNotTakenOnceTheFactsChanged) {
    for (int k = 0; k < 4; k++) {
        g = GoingAlone{};
        AloneFacts f = cut_off();
        uint64_t s = 0;
        ASSERT_EQ(step(f, &s), Send::Outdate);
        if (k % 2 == 0) f.paired = true;
        else f.policy = PeerLoss::Suspend;
        // (k >= 2: the answer comes before the next look at the facts.)
        if (k < 2) {
            EXPECT_EQ(step(f), Send::None);
        }
        g.answered(s, true, 3, kSite, 5, kSite, f);
        EXPECT_FALSE(g.alone()) << k;
        EXPECT_EQ(g.fence(), 5u) << k;
    }
}

TEST_F(AloneTest, AFenceIsNeverLiftedWhileAlone) {
    AloneFacts f = cut_off();
    uint64_t s = 0;
    ASSERT_EQ(step(f, &s), Send::Outdate);
    g.answered(s, true, 3, kSite, 5, kSite, f);
    f.caught_up = true;  // whatever the adapter says: not paired
    for (int i = 0; i < 5; i++, later(1000)) EXPECT_EQ(step(f), Send::None);
}

}  // namespace
