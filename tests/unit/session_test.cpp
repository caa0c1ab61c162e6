// SPDX-License-Identifier: GPL-2.0-only
// Incarnations and the round trip (daemon/core/session.hpp).
#include <gtest/gtest.h>

#include "session.hpp"

using namespace dcc::core;
using H = Incarnations::Hello;

TEST(Incarnations, FromTheLivePeerToThisOne) {
    Incarnations s(77);
    EXPECT_FALSE(s.accept(5, 77)) << "nothing is taken before a HELLO";
    EXPECT_EQ(s.to(), 0u);
    EXPECT_EQ(s.hello(5), H::New);
    EXPECT_EQ(s.hello(5), H::Same);
    EXPECT_EQ(s.to(), 5u);
    EXPECT_TRUE(s.accept(5, 77));
    EXPECT_FALSE(s.accept(6, 77)) << "from another peer incarnation";
    EXPECT_FALSE(s.accept(5, 76)) << "sent to an earlier incarnation of this site";
}

TEST(Incarnations, ADeadPeerNeverComesBack) {
    Incarnations s(77);
    s.hello(5);
    EXPECT_EQ(s.hello(6), H::New);  // restarted
    EXPECT_FALSE(s.accept(5, 77));
    EXPECT_EQ(s.hello(5), H::Retired) << "a late HELLO of the dead one";
    EXPECT_TRUE(s.accept(6, 77));
}

TEST(RoundTrip, SmoothedLikeTcp) {
    RoundTrip r;
    EXPECT_FALSE(r.ms()) << "no figure before the first answer";
    r.sample(4.0);
    EXPECT_DOUBLE_EQ(*r.ms(), 4.0) << "the first sample is taken whole";
    r.sample(12.0);
    EXPECT_DOUBLE_EQ(*r.ms(), 5.0) << "a late answer moves it by an eighth";
    for (int i = 0; i < 100; i++) r.sample(2.0);
    EXPECT_NEAR(*r.ms(), 2.0, 1e-3);
    r.reset();
    EXPECT_FALSE(r.ms()) << "a lost link forgets it";
}

TEST(RoundTrip, LastAndLeastBesideTheSmoothedFigure) {
    RoundTrip r;
    EXPECT_FALSE(r.last());
    EXPECT_FALSE(r.min());
    r.sample(30.0);
    r.sample(4.5);
    r.sample(9.0);
    EXPECT_DOUBLE_EQ(*r.last(), 9.0);
    EXPECT_DOUBLE_EQ(*r.min(), 4.5) << "the least sample, not the smoothed one";
    EXPECT_GT(*r.ms(), 20.0) << "the smoothed figure still remembers the busy sample";
    r.reset();
    EXPECT_FALSE(r.last());
    EXPECT_FALSE(r.min()) << "a lost link forgets the least too";
}
