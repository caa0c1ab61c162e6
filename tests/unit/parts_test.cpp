// SPDX-License-Identifier: GPL-2.0-only
// Multi-part sets (daemon/core/parts.hpp): a set is acted on only when
// every part arrived and the regions add up (M5).
#include <gtest/gtest.h>

#include "parts.hpp"

using namespace dcc;
using namespace dcc::core;

namespace {

RangeSet spread(uint64_t n) {  // n single regions, none adjacent
    RangeSet s;
    for (uint64_t i = 0; i < n; i++) s.add(i * 2);
    return s;
}

}  // namespace

TEST(Parts, SplitAndReassemble) {
    RangeSet s = spread(10);
    auto parts = split_parts(s, 4);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[2].size(), 2u);
    PartSet in;
    // Out of order, with a duplicate.
    EXPECT_EQ(in.add(1, 102, 2, 3, 10, parts[2]), PartSet::Add::Incomplete);
    EXPECT_EQ(in.add(1, 100, 0, 3, 10, parts[0]), PartSet::Add::Incomplete);
    EXPECT_EQ(in.add(1, 100, 0, 3, 10, parts[0]), PartSet::Add::Incomplete);
    EXPECT_EQ(in.add(1, 101, 1, 3, 10, parts[1]), PartSet::Add::Complete);
    EXPECT_EQ(in.set().ranges(), s.ranges());
    EXPECT_EQ(in.base(), 100u);
    EXPECT_EQ(split_parts(RangeSet(), 4).size(), 1u) << "an empty set is one empty part";
}

TEST(Parts, APartMissingIsNeverComplete) {
    RangeSet s = spread(10);
    auto parts = split_parts(s, 4);
    PartSet in;
    EXPECT_EQ(in.add(1, 100, 0, 3, 10, parts[0]), PartSet::Add::Incomplete);
    EXPECT_EQ(in.add(1, 102, 2, 3, 10, parts[2]), PartSet::Add::Incomplete);
    // The next set starts: the incomplete one is dropped, never applied.
    EXPECT_EQ(in.add(1, 200, 0, 1, 1, {{5, 1}}), PartSet::Add::Complete);
    EXPECT_EQ(in.set().count(), 1u);
    // A part from another incarnation starts over too.
    EXPECT_EQ(in.add(1, 300, 0, 2, 2, {{0, 1}}), PartSet::Add::Incomplete);
    EXPECT_EQ(in.add(2, 301, 1, 2, 2, {{4, 1}}), PartSet::Add::Incomplete);
}

TEST(Parts, InconsistentSetsAreRefused) {
    PartSet in;
    EXPECT_EQ(in.add(1, 100, 0, 2, 5, {{0, 2}}), PartSet::Add::Incomplete);
    EXPECT_EQ(in.add(1, 101, 1, 3, 5, {{4, 3}}), PartSet::Add::Bad) << "parts changed";
    EXPECT_EQ(in.add(1, 100, 0, 2, 5, {{0, 2}}), PartSet::Add::Incomplete);
    EXPECT_EQ(in.add(1, 101, 1, 2, 5, {{4, 1}}), PartSet::Add::Bad) << "regions do not add up";
    EXPECT_EQ(in.add(1, 5, 3, 2, 1, {}), PartSet::Add::Bad) << "part past the end";
    EXPECT_EQ(in.add(1, 1, 2, 4, 1, {}), PartSet::Add::Bad) << "seq below its part index";
}
