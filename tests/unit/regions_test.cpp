// SPDX-License-Identifier: GPL-2.0-only
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "dcc/meta.hpp"
#include "dcc/regions.hpp"

using namespace dcc;

TEST(RangeSet, MergesOverlappingAndAdjacent) {
    RangeSet s;
    s.add(10, 5);
    s.add(20, 1);
    s.add(15, 5);  // touches both neighbours
    EXPECT_EQ(s.ranges(), (std::vector<Range>{{10, 11}}));
    s.add(0, 2);
    s.add(1, 3);
    EXPECT_EQ(s.to_string(), "0-3,10-20");
    EXPECT_EQ(s.count(), 15u);
}

TEST(RangeSet, RemoveSplits) {
    RangeSet s;
    s.add(0, 100);
    s.remove(10, 5);
    s.remove(99);
    s.remove(0);
    EXPECT_EQ(s.to_string(), "1-9,15-98");
    EXPECT_TRUE(s.contains(1));
    EXPECT_FALSE(s.contains(10));
    EXPECT_FALSE(s.contains(99));
    EXPECT_TRUE(s.contains(98));
}

TEST(RangeSet, AgreesWithAPlainSet) {
    std::mt19937_64 rng(7);
    RangeSet s;
    std::set<uint64_t> ref;
    for (int i = 0; i < 2000; i++) {
        uint64_t a = rng() % 500, n = 1 + rng() % 20;
        if (rng() % 3) {
            s.add(a, n);
            for (uint64_t j = a; j < a + n; j++) ref.insert(j);
        } else {
            s.remove(a, n);
            for (uint64_t j = a; j < a + n; j++) ref.erase(j);
        }
        ASSERT_EQ(s.count(), ref.size());
    }
    for (uint64_t j = 0; j < 530; j++) ASSERT_EQ(s.contains(j), ref.count(j) == 1) << j;
    for (size_t i = 1; i < s.ranges().size(); i++)
        ASSERT_LT(s.ranges()[i - 1].end(), s.ranges()[i].start);  // disjoint, not adjacent
}

TEST(RangeSet, IntersectAgreesWithPlainSets) {
    std::mt19937_64 rng(11);
    for (int round = 0; round < 200; round++) {
        RangeSet a, b;
        std::set<uint64_t> ra, rb;
        for (int i = 0; i < 20; i++) {
            uint64_t s = rng() % 300, n = 1 + rng() % 15;
            RangeSet& t = i % 2 ? a : b;
            std::set<uint64_t>& rt = i % 2 ? ra : rb;
            t.add(s, n);
            for (uint64_t j = s; j < s + n; j++) rt.insert(j);
        }
        RangeSet c = a.intersect(b);
        uint64_t n = 0;
        for (uint64_t j = 0; j < 320; j++) {
            bool in = ra.count(j) && rb.count(j);
            ASSERT_EQ(c.contains(j), in) << j;
            n += in;
        }
        ASSERT_EQ(c.count(), n);
        for (size_t i = 1; i < c.ranges().size(); i++)
            ASSERT_LT(c.ranges()[i - 1].end(), c.ranges()[i].start);  // apart
    }
    EXPECT_TRUE(RangeSet().intersect(RangeSet()).empty());
}

TEST(RangeSet, HandlesRegionsBeyond32Bits) {
    RangeSet s;
    s.add(1ull << 40, 3);
    s.add((1ull << 40) + 3, 1);
    EXPECT_EQ(s.ranges(), (std::vector<Range>{{1ull << 40, 4}}));
}

TEST(BitmapRanges, SetAndClearRuns) {
    Bitmap b(20);
    for (uint64_t i : {0, 1, 2, 7, 18, 19}) b.set(i);
    EXPECT_EQ(bitmap_ranges(b, true), (std::vector<Range>{{0, 3}, {7, 1}, {18, 2}}));
    EXPECT_EQ(bitmap_ranges(b, false), (std::vector<Range>{{3, 4}, {8, 10}}));
    EXPECT_TRUE(bitmap_ranges(Bitmap(0), true).empty());
}
