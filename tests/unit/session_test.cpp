// SPDX-License-Identifier: GPL-2.0-only
// Incarnations (daemon/core/session.hpp).
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
