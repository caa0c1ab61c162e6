// SPDX-License-Identifier: GPL-2.0-only
// Incarnations (daemon/core/session.hpp).
#include <gtest/gtest.h>

#include "session.hpp"

using namespace dcc::core;
using H = Incarnations::Hello;

TEST(Incarnations, RequestsFromTheLivePeerRepliesToUs) {
    Incarnations s(77);
    EXPECT_FALSE(s.request_ok(5)) << "nothing is taken before a HELLO";
    EXPECT_EQ(s.hello(5), H::New);
    EXPECT_EQ(s.hello(5), H::Same);
    EXPECT_TRUE(s.request_ok(5));
    EXPECT_FALSE(s.request_ok(6));
    EXPECT_TRUE(s.reply_ok(77));
    EXPECT_FALSE(s.reply_ok(5));
}

TEST(Incarnations, ADeadPeerNeverComesBack) {
    Incarnations s(77);
    s.hello(5);
    EXPECT_EQ(s.hello(6), H::New);  // restarted
    EXPECT_FALSE(s.request_ok(5));
    EXPECT_EQ(s.hello(5), H::Retired) << "a late HELLO of the dead one";
    EXPECT_TRUE(s.request_ok(6));
}
