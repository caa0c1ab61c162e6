// SPDX-License-Identifier: GPL-2.0-only
#include <gtest/gtest.h>

#include "dcc/status.hpp"

using namespace dcc;

TEST(Status, ParsesAFullLine) {
    auto s = parse_status("128 100/16384 3 2 owner 7 rw 12 5 1 failover new");
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
    EXPECT_EQ(s->origin, "failover");
    EXPECT_EQ(s->split, "new");
}

TEST(Status, NoDaemonIsNull) {
    auto s = parse_status("8 0/4 0 0 replica 1 ro - 0 0 handover -");
    ASSERT_TRUE(s);
    EXPECT_FALSE(s->registration);
    EXPECT_EQ(s->mode, "ro");
    EXPECT_EQ(s->origin, "handover");
    EXPECT_EQ(s->split, "-");
}

TEST(Status, OriginsAndSplits) {
    for (const char* origin : {"handover", "failover", "forced"}) {
        for (const char* split : {"-", "old", "new"}) {
            std::string line = std::string("128 4/4 0 0 owner 9 rw - 0 0 ") + origin + " " + split;
            auto s = parse_status(line);
            ASSERT_TRUE(s) << line;
            EXPECT_EQ(s->origin, origin);
            EXPECT_EQ(s->split, split);
            VolumeStatus v = kernel_view("vm1", *s);
            EXPECT_EQ(v.origin, origin);
            EXPECT_EQ(v.split, std::string(split) == "-" ? "none" : split);
            nlohmann::json j = to_json(v);
            EXPECT_EQ(j["origin"], origin);
            EXPECT_EQ(j["split"], v.split);
        }
    }
}

TEST(Status, Yielding) {
    auto s = parse_status("128 100/16384 3 0 yielding 8 rw 12 5 1 handover -");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->role, "yielding");
    EXPECT_EQ(s->generation, 8u);
}

TEST(Status, Leases) {
    for (const char* lease : {"-", "held", "expired"}) {
        std::string line = std::string("128 4/4 0 0 owner 9 rw 3 0 0 handover - ") + lease;
        auto s = parse_status(line);
        ASSERT_TRUE(s) << line;
        EXPECT_EQ(s->lease, lease);
        EXPECT_EQ(s->split, "-");
        EXPECT_EQ(status_field(line, "lease"), lease);
    }
}

TEST(Status, ALineWithoutTheLeaseNeedsNone) {
    // A kernel before leases: no lease field, and none needed.
    const std::string line = "128 100/16384 3 2 owner 7 rw 12 5 1 failover new";
    auto s = parse_status(line);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->lease, "-");
    EXPECT_EQ(s->split, "new");
    EXPECT_EQ(status_field(line, "lease"), "-");
    EXPECT_EQ(status_field(line, "split"), "new");
}

TEST(Status, HeldWritesMeanSync) {
    auto a = parse_status("128 100/16384 3 2 owner 7 rw 12 5 1 handover - - -");
    ASSERT_TRUE(a);
    EXPECT_FALSE(a->held);
    EXPECT_EQ(kernel_view("v", *a).replication_mode, "async");
    auto s = parse_status("128 100/16384 3 2 owner 7 rw 12 5 1 handover - - 0");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->held, 0u);
    EXPECT_EQ(kernel_view("v", *s).replication_mode, "sync");
    EXPECT_EQ(to_json(kernel_view("v", *s))["held_writes"], 0);
    EXPECT_FALSE(parse_status("128 100/16384 3 2 owner 7 rw 12 5 1 handover - - x"));
    EXPECT_FALSE(parse_status("128 100/16384 3 2 owner 7 rw 12 5 1 handover - - -1"));
}

TEST(Status, FieldsAddedAtTheEndAreIgnored) {
    auto s = parse_status("128 100/16384 3 2 owner 7 rw 12 5 1 handover - held 3 later 42");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->split, "-");
    EXPECT_EQ(s->lease, "held");
    EXPECT_EQ(s->held, 3u);
    EXPECT_EQ(status_field("128 100/16384 3 2 owner 7 rw 12 5 1 forced old expired - more", "split"),
              "old");
    EXPECT_EQ(status_field("128 100/16384 3 2 owner 7 rw 12 5 1 forced old expired - more", "lease"),
              "expired");
}

TEST(Status, RefusesMalformedLines) {
    for (const char* bad : {"", "128 100/16384 3 2 owner 7 rw 12 5 1 handover",
                            "128 10016384 3 2 owner 7 rw 12 5 1 handover -",
                            "128 100/16384 3 2 boss 7 rw 12 5 1 handover -",
                            "128 100/16384 3 2 owner 7 rx 12 5 1 handover -",
                            "x 100/16384 3 2 owner 7 rw 12 5 1 handover -",
                            "128 100/16384 3 2 owner 99999999999999999999 rw 12 5 1 handover -",
                            // the line of a kernel before origin and split
                            "128 100/16384 3 2 owner 7 rw 12 5 1",
                            // unknown origin or split words
                            "128 100/16384 3 2 owner 7 rw 12 5 1 forcd -",
                            "128 100/16384 3 2 owner 7 rw 12 5 1 - handover",
                            "128 100/16384 3 2 owner 7 rw 12 5 1 handover none",
                            "128 100/16384 3 2 owner 7 rw 12 5 1 handover 1",
                            "128 100/16384 3 2 owner 7 rw 12 5 1 2 old",
                            // unknown lease words
                            "128 100/16384 3 2 owner 7 rw 12 5 1 handover - Held",
                            "128 100/16384 3 2 owner 7 rw 12 5 1 handover - none",
                            "128 100/16384 3 2 owner 7 rw 12 5 1 handover - 1",
                            "128 100/16384 3 2 owner 7 rw 12 5 1 handover - expired_"})
        EXPECT_FALSE(parse_status(bad)) << bad;
}

TEST(Status, FieldsByName) {
    const std::string line = "128 100/16384 3 2 yielding 7 rw 12 5 1 forced old";
    struct {
        const char* name;
        const char* value;
    } rows[] = {{"region_sectors", "128"}, {"valid", "100"}, {"regions", "16384"}, {"dirty", "3"},
                {"locked", "2"}, {"role", "yielding"}, {"generation", "7"}, {"mode", "rw"},
                {"registration", "12"}, {"misses", "5"}, {"timeouts", "1"}, {"origin", "forced"},
                {"split", "old"}, {"lease", "-"}};
    for (auto r : rows) EXPECT_EQ(status_field(line, r.name), r.value) << r.name;
    EXPECT_EQ(status_field("8 0/4 0 0 replica 1 ro - 0 0 handover -", "registration"), "-");
    EXPECT_EQ(status_field("8 0/4 0 0 replica 1 ro - 0 0 handover -", "split"), "-");
    EXPECT_FALSE(status_field(line, "valid/regions"));
    EXPECT_FALSE(status_field(line, "nonsense"));
    EXPECT_FALSE(status_field("128 100/16384", "role")) << "a malformed line";
    EXPECT_FALSE(status_field("128 100/16384 3 2 yielding 7 rw 12 5 1", "origin"))
        << "a line without origin and split";
}
