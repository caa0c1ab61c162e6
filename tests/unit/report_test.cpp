// SPDX-License-Identifier: GPL-2.0-only
#include <gtest/gtest.h>

#include "report.hpp"

using namespace dcc::report;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

VolumeState owner_state() {
    VolumeState v;
    v.name = "vm1";
    v.role = "owner";
    v.generation = 3;
    v.mode = "rw";
    v.regions = 100;
    v.valid = 100;
    v.paired = true;
    v.peer_role = "replica";
    v.backlog = 0;
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

TEST(VolumeState, InSyncNeedsPairingBacklogAndAllRegions) {
    VolumeState v = owner_state();
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

TEST(VolumeState, JsonHasNumbersAndNullForUnknown) {
    VolumeState v = owner_state();
    v.backlog.reset();
    v.peer_role.reset();
    v.replication.bytes_per_second = 1234.6;
    json j = to_json(v);
    EXPECT_TRUE(j["generation"].is_number_unsigned());
    EXPECT_EQ(j["generation"], 3);
    EXPECT_TRUE(j["backlog"].is_null());
    EXPECT_TRUE(j["in_sync"].is_null());
    EXPECT_TRUE(j["peer_role"].is_null());
    EXPECT_TRUE(j["last_handover_ms"].is_null());
    EXPECT_EQ(j["replication"]["bytes_per_second"], 1235);
    EXPECT_EQ(j["hydrated"], true);
    json s = status_json("a", "", false, {v});
    EXPECT_TRUE(s["peer"].is_null());
    EXPECT_EQ(s["link"], "down");
    EXPECT_EQ(s["volumes"].size(), 1u);
}

TEST(Changes, NewVolumeThenEachTransitionOnce) {
    VolumeState a = owner_state();
    EXPECT_EQ(names(changes(nullptr, a)), std::vector<std::string>{"added"});
    EXPECT_TRUE(changes(&a, a).empty());

    VolumeState b = a;
    b.backlog = 10;
    auto ev = changes(&a, b);
    ASSERT_EQ(names(ev), std::vector<std::string>{"out-of-sync"});
    EXPECT_EQ(ev[0]["backlog"], 10);
    EXPECT_EQ(ev[0]["volume"], "vm1");

    VolumeState c = b;
    c.handover = "sending";
    c.paired = true;
    EXPECT_EQ(names(changes(&b, c)), std::vector<std::string>{"handover"});

    VolumeState d = c;
    d.handover = "none";
    d.role = "replica";
    d.generation = 4;
    d.last_handover_ms = 42;
    d.backlog.reset();
    ev = changes(&c, d);
    ASSERT_EQ(names(ev), (std::vector<std::string>{"role", "handover"}));
    EXPECT_EQ(ev[0]["generation"], 4);
    EXPECT_EQ(ev[1]["handover_ms"], 42);

    VolumeState e = d;
    e.valid = 50;
    VolumeState f = e;
    f.valid = 100;
    f.backlog = 0;
    EXPECT_EQ(names(changes(&e, f)), (std::vector<std::string>{"hydrated", "in-sync"}));
    VolumeState g = f;
    g.paired = false;
    EXPECT_EQ(names(changes(&f, g)), (std::vector<std::string>{"unpaired", "out-of-sync"}));
    VolumeState h = g;
    h.mode = "ro";
    EXPECT_EQ(names(changes(&g, h)), std::vector<std::string>{"mode"});
}
