// SPDX-License-Identifier: GPL-2.0-only
#include <gtest/gtest.h>

#include "dcc/status.hpp"

using namespace dcc;

TEST(Status, ParsesAFullLine) {
    auto s = parse_status("128 100/16384 3 2 owner 7 rw 12 5 1");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->region_sectors, 128u);
    EXPECT_EQ(s->valid, 100u);
    EXPECT_EQ(s->regions, 16384u);
    EXPECT_EQ(s->dirty, 3u);
    EXPECT_EQ(s->locked, 2u);
    EXPECT_EQ(s->role, "owner");
    EXPECT_EQ(s->generation, 7u);
    EXPECT_EQ(s->mode, "rw");
    EXPECT_EQ(s->registration, 12u);
    EXPECT_EQ(s->misses, 5u);
    EXPECT_EQ(s->timeouts, 1u);
}

TEST(Status, NoDaemonIsNull) {
    auto s = parse_status("8 0/4 0 0 replica 1 ro - 0 0");
    ASSERT_TRUE(s);
    EXPECT_FALSE(s->registration);
    EXPECT_EQ(s->mode, "ro");
}

TEST(Status, Yielding) {
    auto s = parse_status("128 100/16384 3 0 yielding 8 rw 12 5 1");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->role, "yielding");
    EXPECT_EQ(s->generation, 8u);
}

TEST(Status, RefusesMalformedLines) {
    for (const char* bad : {"", "128 100/16384 3 2 owner 7 rw 12 5",
                            "128 100/16384 3 2 owner 7 rw 12 5 1 extra",
                            "128 10016384 3 2 owner 7 rw 12 5 1", "128 100/16384 3 2 boss 7 rw 12 5 1",
                            "128 100/16384 3 2 owner 7 rx 12 5 1", "x 100/16384 3 2 owner 7 rw 12 5 1",
                            "128 100/16384 3 2 owner 99999999999999999999 rw 12 5 1"})
        EXPECT_FALSE(parse_status(bad)) << bad;
}

TEST(Status, FieldsByName) {
    const std::string line = "128 100/16384 3 2 yielding 7 rw 12 5 1";
    struct {
        const char* name;
        const char* value;
    } rows[] = {{"region_sectors", "128"}, {"valid", "100"}, {"regions", "16384"}, {"dirty", "3"},
                {"locked", "2"}, {"role", "yielding"}, {"generation", "7"}, {"mode", "rw"},
                {"registration", "12"}, {"misses", "5"}, {"timeouts", "1"}};
    for (auto r : rows) EXPECT_EQ(status_field(line, r.name), r.value) << r.name;
    EXPECT_EQ(status_field("8 0/4 0 0 replica 1 ro - 0 0", "registration"), "-");
    EXPECT_FALSE(status_field(line, "valid/regions"));
    EXPECT_FALSE(status_field(line, "nonsense"));
    EXPECT_FALSE(status_field("128 100/16384", "role")) << "a malformed line";
}
