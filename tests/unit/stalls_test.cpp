// SPDX-License-Identifier: GPL-2.0-only
// What dccd says about a call that waits on a device that does not answer
// (daemon/core/stalls.hpp): nothing while it is quick, a line after the
// first bound, again after each further one, and one when it ends.
#include <gtest/gtest.h>

#include "stalls.hpp"

using namespace dcc::core;
using namespace std::chrono_literals;

namespace {
const Stalls::Clock::time_point t0{};

Stalls two() {
    return Stalls({{"the loop", "nothing is served"}, {"the shipper", "nothing is shipped"}}, 10s, 60s);
}
}  // namespace

TEST(Stalls, QuickCallsSayNothing) {
    Stalls s = two();
    s.begin(0, "a write", t0);
    EXPECT_TRUE(s.tick(t0 + 9s).empty());
    EXPECT_EQ(s.end(0, t0 + 9900ms), std::nullopt);
    EXPECT_TRUE(s.tick(t0 + 100s).empty()) << "nothing under way";
}

TEST(Stalls, ToldAfterTheBoundThenEachPeriodAndAtTheEnd) {
    Stalls s = two();
    s.begin(0, "a write at byte 4096 of v1's data device", t0);
    auto first = s.tick(t0 + 10s);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0],
              "the loop has waited 10 s for a write at byte 4096 of v1's data device: nothing is served "
              "meanwhile (a device that does not answer?)");
    EXPECT_TRUE(s.tick(t0 + 11s).empty()) << "told once";
    EXPECT_TRUE(s.tick(t0 + 69s).empty());
    auto again = s.tick(t0 + 70s);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_NE(again[0].find("has waited 70 s"), std::string::npos) << again[0];
    EXPECT_EQ(s.end(0, t0 + 75s), "the loop: a write at byte 4096 of v1's data device ended after 75 s");
    EXPECT_TRUE(s.tick(t0 + 200s).empty());
}

TEST(Stalls, ALateLookTellsOnce) {
    Stalls s = two();
    s.begin(0, "a write", t0);
    EXPECT_EQ(s.tick(t0 + 300s).size(), 1u) << "a watch that ran late (a stopped process)";
    EXPECT_TRUE(s.tick(t0 + 301s).empty()) << "not once per period missed";
    EXPECT_TRUE(s.tick(t0 + 309s).empty());
    EXPECT_EQ(s.tick(t0 + 310s).size(), 1u) << "then on the periods' beat again";
}

TEST(Stalls, OnlyTheOutermostCallIsMarked) {
    Stalls s = two();
    EXPECT_TRUE(s.begin(0, "the suspend of v1", t0));
    EXPECT_FALSE(s.begin(0, "the kernel's answer to SET_ROLE for v1", t0 + 1s)) << "nested";
    auto lines = s.tick(t0 + 10s);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].rfind("the loop has waited 10 s for the suspend of v1", 0), 0u) << lines[0];
}

TEST(Stalls, EachThreadOnItsOwn) {
    Stalls s = two();
    s.begin(0, "a flush", t0);
    s.begin(1, "a read", t0 + 5s);
    auto lines = s.tick(t0 + 12s);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].rfind("the loop has waited 12 s for a flush", 0), 0u) << lines[0];
    lines = s.tick(t0 + 15s);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].rfind("the shipper has waited 10 s for a read: nothing is shipped", 0), 0u) << lines[0];
    EXPECT_EQ(s.end(1, t0 + 16s), "the shipper: a read ended after 11 s");
    // A new call of the loop starts its count again.
    EXPECT_TRUE(s.end(0, t0 + 16s).has_value());
    s.begin(0, "a read", t0 + 20s);
    EXPECT_TRUE(s.tick(t0 + 29s).empty());
    EXPECT_EQ(s.tick(t0 + 30s).size(), 1u);
}
