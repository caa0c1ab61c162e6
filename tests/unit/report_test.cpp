// SPDX-License-Identifier: GPL-2.0-only
#include <gtest/gtest.h>

#include "report.hpp"

using namespace dcc::report;
using dcc::VolumeStatus;
using dcc::status_answer;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

VolumeStatus owner_state() {
    VolumeStatus v;
    v.name = "vm1";
    v.role = "owner";
    v.generation = 3;
    v.mode = "rw";
    v.regions = 100;
    v.valid = 100;
    v.paired = true;
    v.peer_role = "replica";
    v.handover = "none";
    v.backlog = 0;
    v.replication = dcc::Flow{};
    return v;
}

std::vector<std::string> names(const std::vector<json>& evs) {
    std::vector<std::string> out;
    for (const json& e : evs) out.push_back(e["event"]);
    return out;
}

}  // namespace

TEST(RateMeter, BytesPerSecondOverTheSpan) {
    RateMeter m(milliseconds(1000));
    Clock::time_point t0{};
    m.sample(t0);
    EXPECT_EQ(m.bytes_per_second(), 0);
    m.add(500);
    m.sample(t0 + milliseconds(500));
    EXPECT_DOUBLE_EQ(m.bytes_per_second(), 1000);
    // Old samples age out: an idle second brings the rate back to zero.
    for (int i = 2; i <= 6; i++) m.sample(t0 + milliseconds(500 * i));
    EXPECT_EQ(m.bytes_per_second(), 0);
    EXPECT_EQ(m.bytes(), 500u);
    EXPECT_EQ(m.regions(), 1u);
}

TEST(VolumeStatus, InSyncNeedsPairingBacklogAndAllRegions) {
    VolumeStatus v = owner_state();
    EXPECT_EQ(v.in_sync(), true);
    v.backlog = 4;
    EXPECT_EQ(v.in_sync(), false);
    v.backlog.reset();
    EXPECT_EQ(v.in_sync(), std::nullopt);  // a replica not told yet
    v.backlog = 0;
    v.valid = 99;
    EXPECT_EQ(v.in_sync(), false);
    v.valid = 100;
    v.paired = false;
    EXPECT_EQ(v.in_sync(), false);
}

TEST(VolumeStatus, JsonHasNumbersAndNullForUnknown) {
    VolumeStatus v = owner_state();
    v.backlog.reset();
    v.peer_role.reset();
    v.replication->bytes_per_second = 1234.6;
    json j = to_json(v);
    EXPECT_TRUE(j["generation"].is_number_unsigned());
    EXPECT_EQ(j["generation"], 3);
    EXPECT_EQ(j["origin"], "handover") << "the default";
    EXPECT_EQ(j["split"], "none") << "the default";
    EXPECT_TRUE(j["backlog"].is_null());
    EXPECT_TRUE(j["in_sync"].is_null());
    EXPECT_TRUE(j["peer_role"].is_null());
    EXPECT_TRUE(j["failover"].is_null()) << "only dccd says what a failover would do";
    EXPECT_TRUE(j["failover_why"].is_null());
    v.failover = "force-only";
    v.failover_why = "no witness";
    EXPECT_EQ(to_json(v)["failover"], "force-only");
    EXPECT_EQ(to_json(v)["failover_why"], "no witness");
    EXPECT_TRUE(j["last_handover_ms"].is_null());
    EXPECT_EQ(j["replication"]["bytes_per_second"], 1235);
    EXPECT_EQ(j["hydrated"], true);
    EXPECT_TRUE(j["hydration"].is_null());
    json s = status_answer("a", std::nullopt, false, {v});
    EXPECT_TRUE(s["peer"].is_null());
    EXPECT_EQ(s["link"], "down");
    EXPECT_TRUE(s["link_rtt_ms"].is_null()) << "no round trip without the link";
    EXPECT_TRUE(s["link_rtt_min_ms"].is_null());
    json up = status_answer("a", "b", true, {v}, std::nullopt,
                            dcc::LinkRtt{.smoothed = 9, .last = 6, .min = 4.5});
    EXPECT_EQ(up["link_rtt_ms"], 9.0);
    EXPECT_EQ(up["link_rtt_last_ms"], 6.0);
    EXPECT_EQ(up["link_rtt_min_ms"], 4.5);
    EXPECT_EQ(s["daemon"], true);
    EXPECT_TRUE(s["witness"].is_null()) << "dccd says up or down, with a witness only";
    EXPECT_EQ(s["volumes"].size(), 1u);
    // The kernel's view: what only dccd knows is null.
    json k = status_answer(std::nullopt, std::nullopt, std::nullopt,
                           {dcc::kernel_view("vm1", *dcc::parse_status("128 4/4 0 0 yielding 3 rw - 0 0 forced -"))});
    EXPECT_EQ(k["daemon"], false);
    EXPECT_TRUE(k["link"].is_null());
    EXPECT_EQ(k["volumes"][0]["role"], "yielding");
    EXPECT_EQ(k["volumes"][0]["origin"], "forced");
    EXPECT_EQ(k["volumes"][0]["split"], "none");
    EXPECT_TRUE(k["volumes"][0]["paired"].is_null());
    EXPECT_TRUE(k["volumes"][0]["in_sync"].is_null());
    EXPECT_TRUE(k["volumes"][0]["registration"].is_null());
}

TEST(Changes, NewVolumeThenEachTransitionOnce) {
    VolumeStatus a = owner_state();
    EXPECT_EQ(names(changes(nullptr, a)), std::vector<std::string>{"added"});
    EXPECT_TRUE(changes(&a, a).empty());

    VolumeStatus b = a;
    b.backlog = 10;
    auto ev = changes(&a, b);
    ASSERT_EQ(names(ev), std::vector<std::string>{"out-of-sync"});
    EXPECT_EQ(ev[0]["backlog"], 10);
    EXPECT_EQ(ev[0]["volume"], "vm1");

    VolumeStatus c = b;
    c.handover = "sending";
    c.paired = true;
    EXPECT_EQ(names(changes(&b, c)), std::vector<std::string>{"handover"});

    VolumeStatus d = c;
    d.handover = "none";
    d.role = "replica";
    d.generation = 4;
    d.last_handover_ms = 42;
    d.backlog.reset();
    ev = changes(&c, d);
    ASSERT_EQ(names(ev), (std::vector<std::string>{"role", "handover"}));
    EXPECT_EQ(ev[0]["generation"], 4);
    EXPECT_EQ(ev[1]["handover_ms"], 42);

    VolumeStatus e = d;
    e.valid = 50;
    VolumeStatus f = e;
    f.valid = 100;
    f.backlog = 0;
    EXPECT_EQ(names(changes(&e, f)), (std::vector<std::string>{"hydrated", "in-sync"}));
    VolumeStatus g = f;
    g.paired = false;
    EXPECT_EQ(names(changes(&f, g)), (std::vector<std::string>{"unpaired", "out-of-sync"}));
    VolumeStatus h = g;
    h.mode = "ro";
    EXPECT_EQ(names(changes(&g, h)), std::vector<std::string>{"mode"});
}

// The owner's lease, as the kernel's status line shows it: each change is
// an event (the kernel raises none for a lease's end; dccd looks at the
// volume when it tells the kernel the lease is held or gone).
TEST(Changes, LeaseHeldThenExpiredThenNone) {
    VolumeStatus a = owner_state();
    VolumeStatus b = a;
    b.lease = "held";
    auto ev = changes(&a, b);
    ASSERT_EQ(names(ev), std::vector<std::string>{"lease"});
    EXPECT_EQ(ev[0]["state"], "held");
    EXPECT_TRUE(changes(&b, b).empty());
    VolumeStatus c = b;
    c.lease = "expired";
    ev = changes(&b, c);
    ASSERT_EQ(names(ev), std::vector<std::string>{"lease"});
    EXPECT_EQ(ev[0]["state"], "expired");
    VolumeStatus d = c;
    d.lease = "none";
    EXPECT_EQ(changes(&c, d)[0]["state"], "none");
    EXPECT_EQ(dcc::report::state_event(c)["lease"], "expired");
}

// A split brain recorded, or ended by a resolve: each an event with the
// generation it concerns.
TEST(Changes, SplitBrainRecordedThenResolved) {
    VolumeStatus a = owner_state();
    VolumeStatus b = a;
    b.split = "old";
    b.split_generation = a.generation + 1;
    auto ev = changes(&a, b);
    ASSERT_EQ(names(ev), std::vector<std::string>{"split-brain"});
    EXPECT_EQ(ev[0]["split"], "old");
    EXPECT_EQ(ev[0]["generation"], a.generation);
    EXPECT_EQ(ev[0]["split_generation"], a.generation + 1);
    EXPECT_EQ(to_json(b)["split_generation"], a.generation + 1);
    EXPECT_TRUE(changes(&b, b).empty());
    // Recorded again against a still newer forced owner: split stays old.
    VolumeStatus b2 = b;
    b2.split_generation = a.generation + 3;
    ev = changes(&b, b2);
    ASSERT_EQ(names(ev), std::vector<std::string>{"split-brain"});
    EXPECT_EQ(ev[0]["split_generation"], a.generation + 3);
    VolumeStatus c = b;
    c.split_generation.reset();
    c.split = "none";
    c.role = "replica";
    c.generation = a.generation + 1;
    ev = changes(&b, c);
    ASSERT_EQ(names(ev), (std::vector<std::string>{"role", "split-brain"}));
    EXPECT_EQ(ev[1]["split"], "none");
    EXPECT_TRUE(ev[1]["split_generation"].is_null());
    EXPECT_TRUE(to_json(c)["split_generation"].is_null());
}

// events --now: one "state" event per volume, the whole baseline the
// change events after it are relative to; unknowns are null.
TEST(Changes, StateEventIsTheBaseline) {
    VolumeStatus a = owner_state();
    a.dirty = 7;
    a.backlog = 7;
    json e = dcc::report::state_event(a);
    EXPECT_EQ(e["event"], "state");
    EXPECT_EQ(e["volume"], "vm1");
    EXPECT_EQ(e["role"], "owner");
    EXPECT_EQ(e["generation"], 3);
    EXPECT_EQ(e["mode"], "rw");
    EXPECT_EQ(e["replication_mode"], "async");
    EXPECT_EQ(e["paired"], true);
    EXPECT_EQ(e["handover"], "none");
    EXPECT_EQ(e["valid"], 100);
    EXPECT_EQ(e["regions"], 100);
    EXPECT_EQ(e["dirty"], 7);
    EXPECT_EQ(e["backlog"], 7);
    EXPECT_EQ(e["in_sync"], false);
    EXPECT_EQ(e["split"], "none");
    VolumeStatus u;
    u.name = "vm2";
    u.role = "replica";
    json n = dcc::report::state_event(u);
    EXPECT_TRUE(n["paired"].is_null());
    EXPECT_TRUE(n["handover"].is_null());
    EXPECT_TRUE(n["backlog"].is_null());
    EXPECT_TRUE(n["in_sync"].is_null());
}
