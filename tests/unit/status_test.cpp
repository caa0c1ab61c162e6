// SPDX-License-Identifier: GPL-2.0-only
#include <gtest/gtest.h>

#include <algorithm>

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
        EXPECT_EQ(kernel_view("v", *s).lease, std::string(lease) == "-" ? "none" : lease);
    }
    // A replica's flag (set with a witness) is no lease of its own.
    for (const char* role : {"replica", "yielding"}) {
        auto s = parse_status(std::string("128 4/4 0 0 ") + role + " 9 rw 3 0 0 handover - expired");
        ASSERT_TRUE(s) << role;
        EXPECT_EQ(s->lease, "expired") << role;
        EXPECT_EQ(kernel_view("v", *s).lease, "none") << role;
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

// The unconfirmed count (a later field): the dirty regions that may differ
// from the other site; the other dirty ones are warm.  Without it (an older
// kernel) every dirty region counts.
TEST(Status, UnconfirmedRegionsAreTheOnesNotReplicated) {
    auto s = parse_status("128 100/16384 30 0 owner 7 rw 12 5 1 handover - - 0 4");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->unconfirmed, 4u);
    EXPECT_EQ(s->unreplicated(), 4u);
    auto old = parse_status("128 100/16384 30 0 owner 7 rw 12 5 1 handover - - 0");
    ASSERT_TRUE(old);
    EXPECT_FALSE(old->unconfirmed);
    EXPECT_EQ(old->unreplicated(), 30u);
    auto racy = parse_status("128 100/16384 3 0 owner 7 rw 12 5 1 handover - - 0 5");
    EXPECT_EQ(racy->unreplicated(), 3u) << "never more than the dirty count";
    EXPECT_FALSE(parse_status("128 100/16384 3 0 owner 7 rw 12 5 1 handover - - 0 x"));
}

// The bios waiting for a fill, an overwrite or a lease (a later field).
TEST(Status, WaitingBios) {
    auto s = parse_status("128 100/16384 30 1 owner 7 rw 12 5 1 handover - - 0 4 64");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->waiting, 64u);
    EXPECT_EQ(status_field("128 100/16384 30 1 owner 7 rw 12 5 1 handover - - 0 4 64", "waiting"), "64");
    EXPECT_EQ(to_json(kernel_view("v", *s))["waiting"], 64);
    auto old = parse_status("128 100/16384 30 1 owner 7 rw 12 5 1 handover - - 0 4");
    ASSERT_TRUE(old);
    EXPECT_FALSE(old->waiting);
    EXPECT_TRUE(to_json(kernel_view("v", *old))["waiting"].is_null());
    EXPECT_EQ(status_field("128 100/16384 30 1 owner 7 rw 12 5 1 handover - - 0 4", "waiting"), "-");
    EXPECT_FALSE(parse_status("128 100/16384 30 1 owner 7 rw 12 5 1 handover - - 0 4 -2"));
}

TEST(Status, FieldsAddedAtTheEndAreIgnored) {
    auto s = parse_status("128 100/16384 3 2 owner 7 rw 12 5 1 handover - held 3 1 0 later 42");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->unconfirmed, 1u);
    EXPECT_EQ(s->split, "-");
    EXPECT_EQ(s->lease, "held");
    EXPECT_EQ(s->held, 3u);
    EXPECT_EQ(status_field("128 100/16384 3 2 owner 7 rw 12 5 1 forced old expired - 0 0 more", "split"),
              "old");
    EXPECT_EQ(status_field("128 100/16384 3 2 owner 7 rw 12 5 1 forced old expired - 0 0 more", "lease"),
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

// Progress and time left: hydration at an owner that lacks regions (pulls
// and fetches together), replication while the sites differ; nothing once
// done, and no ETA while nothing moves.
TEST(Status, ProgressAndTimeLeft) {
    dcc::VolumeStatus v;
    v.role = "owner";
    v.region_bytes = 1 << 20;
    v.regions = 1000;
    v.valid = 250;
    v.hydration = dcc::Flow{8, 0, 0, 4.0 * (1 << 20)};
    v.fetch = dcc::Flow{0, 0, 0, 1.0 * (1 << 20)};
    auto h = dcc::hydration_progress(v);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->done, 250u);
    EXPECT_DOUBLE_EQ(h->percent(), 25.0);
    ASSERT_TRUE(h->eta_seconds);
    EXPECT_DOUBLE_EQ(*h->eta_seconds, 150.0) << "750 MiB left at 5 MiB/s";
    EXPECT_EQ(dcc::progress_text(*h), "25.0 %, 750 regions left, 5.0 MiB/s, ETA 2m30s");
    nlohmann::json j = dcc::to_json(v)["progress"];
    EXPECT_EQ(j["hydration"]["eta_seconds"], 150);
    EXPECT_EQ(j["hydration"]["percent"], 25.0);
    EXPECT_TRUE(j["replication"].is_null()) << "not paired";

    v.hydration->bytes_per_second = v.fetch->bytes_per_second = 0;
    h = dcc::hydration_progress(v);
    ASSERT_TRUE(h);
    EXPECT_FALSE(h->eta_seconds);
    EXPECT_EQ(dcc::progress_text(*h), "25.0 %, 750 regions left, 0.0 MiB/s, ETA unknown (nothing moves now)");
    EXPECT_TRUE(dcc::to_json(v)["progress"]["hydration"]["eta_seconds"].is_null());
    EXPECT_TRUE(dcc::to_json(v)["hydration_off"].is_null()) << "not known without dccd";
    v.hydration_off = true;  // hydration_rate "off": still what is left, at no rate
    EXPECT_EQ(dcc::to_json(v)["hydration_off"], true);
    EXPECT_EQ(dcc::progress_text(*dcc::hydration_progress(v)),
              "25.0 %, 750 regions left, 0.0 MiB/s, ETA unknown (nothing moves now)");

    v.valid = v.regions;
    EXPECT_FALSE(dcc::hydration_progress(v)) << "hydrated";
    v.valid = 0;
    v.role = "replica";
    EXPECT_FALSE(dcc::hydration_progress(v)) << "a replica does not hydrate";

    v.paired = true;
    v.backlog = 100;
    v.replication = dcc::Flow{1, 0, 0, 10.0 * (1 << 20)};
    auto r = dcc::replication_progress(v);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->done, 900u);
    EXPECT_DOUBLE_EQ(*r->eta_seconds, 10.0);
    v.backlog = 0;
    EXPECT_FALSE(dcc::replication_progress(v)) << "in sync";
    v.backlog = 5000;  // more than the volume (a stale report): all left
    EXPECT_EQ(dcc::replication_progress(v)->done, 0u);
    v.paired = false;
    EXPECT_FALSE(dcc::replication_progress(v)) << "not paired: nothing moves";

    EXPECT_EQ(dcc::duration_text(42), "42s");
    EXPECT_EQ(dcc::duration_text(3599), "59m59s");
    EXPECT_EQ(dcc::duration_text(7380), "2h03m");
}

// What udev may probe (dccctl udev's DCC_SCAN): only an owner that serves
// every read from its own copy at once.
TEST(Status, ServesReadsAtOnce) {
    auto at_once = [](const char* line) {
        auto s = parse_status(line);
        EXPECT_TRUE(s) << line;
        return s && serves_reads_at_once(*s);
    };
    EXPECT_TRUE(at_once("128 256/256 0 0 owner 1 rw - 0 0 handover - - -"));
    EXPECT_TRUE(at_once("128 256/256 0 0 owner 1 ro 3 0 0 handover new held 0")) << "ro serves valid reads";
    EXPECT_FALSE(at_once("128 255/256 0 0 owner 1 rw - 0 0 handover - - -")) << "a region missing";
    EXPECT_FALSE(at_once("128 256/256 0 0 replica 1 rw - 0 0 handover - - -"));
    EXPECT_FALSE(at_once("128 256/256 0 0 yielding 2 rw - 0 0 handover - - -"));
    EXPECT_FALSE(at_once("128 256/256 0 0 owner 1 fail - 0 0 handover - - -"));
    EXPECT_FALSE(at_once("128 256/256 0 0 owner 3 rw - 0 0 forced old - -")) << "old side of a split";
    EXPECT_FALSE(at_once("128 256/256 0 0 owner 1 rw - 0 0 handover - expired -")) << "bios wait for a lease";
    EXPECT_FALSE(at_once("128 0/0 0 0 owner 1 rw - 0 0 handover - - -"));
}

TEST(Status, HistogramBuckets) {
    Histogram h;
    const auto& b = Histogram::bounds();
    ASSERT_EQ(h.counts.size(), b.size() + 1);
    EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
    h.observe(0);
    h.observe(b.front());
    h.observe(b.back());
    h.observe(b.back() * 2);
    EXPECT_EQ(h.counts.front(), 2u) << "a bound belongs to its own bucket (le)";
    EXPECT_EQ(h.counts[b.size() - 1], 1u);
    EXPECT_EQ(h.counts.back(), 1u);
    EXPECT_EQ(h.count, 4u);
    EXPECT_DOUBLE_EQ(h.sum, b.front() + b.back() * 3);
    EXPECT_TRUE(to_json(VolumeStatus{}).at("fetch_latency").is_null()) << "the kernel's view knows none";
}
