// SPDX-License-Identifier: GPL-2.0-only
// Netlink requests and replies, built and parsed without a kernel.
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cstring>
#include <string>

#include "dcc/error.hpp"
#include "dcc/nl.hpp"

using namespace dcc;
using namespace dcc::nl;

namespace {

constexpr int kFamily = 0x1234;

MsgPtr reply(uint8_t cmd) {
    MsgPtr m(nlmsg_alloc());
    genlmsg_put(m.get(), 1, 1, kFamily, 0, 0, cmd, DCC_GENL_VERSION);
    return m;
}

nlattr* attr(nl_msg* m, int type) {
    return nlmsg_find_attr(nlmsg_hdr(m), GENL_HDRLEN, type);
}

}  // namespace

TEST(NlBuild, PutsExactlyTheRequestedAttributes) {
    Request r{.cmd = DCC_CMD_FILL_DONE, .dev = {253, 4}, .reg_id = 9, .region = 1ull << 36,
              .fill_errno = 5};
    MsgPtr m = build(kFamily, r);
    nlmsghdr* nlh = nlmsg_hdr(m.get());
    EXPECT_EQ(nlh->nlmsg_type, kFamily);
    EXPECT_EQ(nlh->nlmsg_flags & (NLM_F_REQUEST | NLM_F_ACK), NLM_F_REQUEST | NLM_F_ACK);
    auto* g = static_cast<genlmsghdr*>(nlmsg_data(nlh));
    EXPECT_EQ(g->cmd, DCC_CMD_FILL_DONE);
    EXPECT_EQ(g->version, DCC_GENL_VERSION);
    EXPECT_EQ(nla_get_u32(attr(m.get(), DCC_A_MAJOR)), 253u);
    EXPECT_EQ(nla_get_u32(attr(m.get(), DCC_A_MINOR)), 4u);
    EXPECT_EQ(nla_get_u64(attr(m.get(), DCC_A_REG_ID)), 9u);
    EXPECT_EQ(nla_get_u64(attr(m.get(), DCC_A_REGION)), 1ull << 36);
    EXPECT_EQ(nla_get_u32(attr(m.get(), DCC_A_ERRNO)), 5u);
    for (int a : {DCC_A_COUNT, DCC_A_SET, DCC_A_ARM, DCC_A_FORCE, DCC_A_ROLE, DCC_A_GENERATION,
                  DCC_A_ORIGIN, DCC_A_SPLIT, DCC_A_SPLIT_GENERATION, DCC_A_LEASE_MS, DCC_A_LEASE})
        EXPECT_EQ(attr(m.get(), a), nullptr) << a;
}

TEST(NlBuild, SetLease) {
    for (uint32_t ms : {0u, 3000u, DCC_LEASE_MAX_MS, DCC_LEASE_NONE}) {
        Request r{.cmd = DCC_CMD_SET_LEASE, .dev = {253, 4}, .reg_id = 9, .lease_ms = ms};
        MsgPtr m = build(kFamily, r);
        EXPECT_EQ(static_cast<genlmsghdr*>(nlmsg_data(nlmsg_hdr(m.get())))->cmd, DCC_CMD_SET_LEASE);
        EXPECT_EQ(nla_get_u64(attr(m.get(), DCC_A_REG_ID)), 9u);
        ASSERT_NE(attr(m.get(), DCC_A_LEASE_MS), nullptr) << ms;
        EXPECT_EQ(nla_len(attr(m.get(), DCC_A_LEASE_MS)), 4);
        EXPECT_EQ(nla_get_u32(attr(m.get(), DCC_A_LEASE_MS)), ms);
        EXPECT_EQ(attr(m.get(), DCC_A_LEASE), nullptr);
    }
}

TEST(NlBuild, SetSyncAndWritesDone) {
    Request s{.cmd = DCC_CMD_SET_SYNC, .dev = {253, 4}, .reg_id = 9, .sync = 1};
    MsgPtr m = build(kFamily, s);
    ASSERT_NE(attr(m.get(), DCC_A_SYNC), nullptr);
    EXPECT_EQ(nla_get_u8(attr(m.get(), DCC_A_SYNC)), 1);
    EXPECT_EQ(attr(m.get(), DCC_A_WRITE_IDS), nullptr);

    Request d{.cmd = DCC_CMD_WRITES_DONE, .dev = {253, 4}, .reg_id = 9, .fill_errno = 5u,
              .write_ids = {7, 8, 1ull << 40}};
    m = build(kFamily, d);
    nlattr* ids = attr(m.get(), DCC_A_WRITE_IDS);
    ASSERT_NE(ids, nullptr);
    ASSERT_EQ(nla_len(ids), 24);
    uint64_t got[3];
    std::memcpy(got, nla_data(ids), sizeof(got));
    EXPECT_EQ(got[0], 7u);
    EXPECT_EQ(got[2], 1ull << 40);
    EXPECT_EQ(nla_get_u32(attr(m.get(), DCC_A_ERRNO)), 5u);
    EXPECT_EQ(attr(m.get(), DCC_A_SYNC), nullptr);
}

TEST(NlBuild, SetRoleWithOriginAndSplit) {
    Request r{.cmd = DCC_CMD_SET_ROLE, .dev = {253, 4}, .reg_id = 9, .generation = 5,
              .role = DCC_ROLE_OWNER, .origin = DCC_ORIGIN_FORCED, .split = DCC_SPLIT_OLD,
              .split_generation = 1ull << 40};
    MsgPtr m = build(kFamily, r);
    EXPECT_EQ(nla_get_u8(attr(m.get(), DCC_A_ROLE)), DCC_ROLE_OWNER);
    EXPECT_EQ(nla_get_u64(attr(m.get(), DCC_A_GENERATION)), 5u);
    ASSERT_NE(attr(m.get(), DCC_A_ORIGIN), nullptr);
    EXPECT_EQ(nla_len(attr(m.get(), DCC_A_ORIGIN)), 1);
    EXPECT_EQ(nla_get_u8(attr(m.get(), DCC_A_ORIGIN)), DCC_ORIGIN_FORCED);
    EXPECT_EQ(nla_len(attr(m.get(), DCC_A_SPLIT)), 1);
    EXPECT_EQ(nla_get_u8(attr(m.get(), DCC_A_SPLIT)), DCC_SPLIT_OLD);
    EXPECT_EQ(nla_len(attr(m.get(), DCC_A_SPLIT_GENERATION)), 8);
    EXPECT_EQ(nla_get_u64(attr(m.get(), DCC_A_SPLIT_GENERATION)), 1ull << 40);

    // Set to 0 is sent (the caller asked for it); unset is not.
    Request z{.cmd = DCC_CMD_SET_ROLE, .dev = {253, 4}, .reg_id = 9, .generation = 5,
              .role = DCC_ROLE_OWNER, .origin = DCC_ORIGIN_HANDOVER};
    MsgPtr mz = build(kFamily, z);
    ASSERT_NE(attr(mz.get(), DCC_A_ORIGIN), nullptr);
    EXPECT_EQ(nla_get_u8(attr(mz.get(), DCC_A_ORIGIN)), DCC_ORIGIN_HANDOVER);
    EXPECT_EQ(attr(mz.get(), DCC_A_SPLIT), nullptr);
    EXPECT_EQ(attr(mz.get(), DCC_A_SPLIT_GENERATION), nullptr);
}

TEST(NlAbi, Versions3To9AppendTheirNumbers) {
    // Numbers the daemon and older tools rely on never move.
    EXPECT_EQ(DCC_A_MODE, 21);
    EXPECT_EQ(DCC_A_PAD, 22);
    EXPECT_EQ(DCC_A_ORIGIN, 23);
    EXPECT_EQ(DCC_A_SPLIT, 24);
    EXPECT_EQ(DCC_A_SPLIT_GENERATION, 25);
    EXPECT_EQ(DCC_A_LEASE_MS, 26);
    EXPECT_EQ(DCC_A_LEASE, 27);
    EXPECT_EQ(DCC_A_SYNC, 28);
    EXPECT_EQ(DCC_A_WRITES, 29);
    EXPECT_EQ(DCC_A_WRITE_IDS, 30);
    EXPECT_EQ(DCC_A_CONFIRMED, 31);
    EXPECT_EQ(DCC_A_CLEAN, 32);
    EXPECT_EQ(DCC_A_MAX, DCC_A_CLEAN);
    EXPECT_EQ(DCC_SET_UNCONFIRMED, 4);
    EXPECT_EQ(DCC_SET_AHEAD, 5);
    EXPECT_EQ(DCC_CMD_ARM, 11);
    EXPECT_EQ(DCC_CMD_SET_LEASE, 12);
    EXPECT_EQ(DCC_CMD_SET_SYNC, 13);
    EXPECT_EQ(DCC_CMD_EVENT_WRITTEN, 14);
    EXPECT_EQ(DCC_CMD_WRITES_DONE, 15);
    EXPECT_EQ(DCC_CMD_ANNOUNCE_WRITES, 16);
    EXPECT_EQ(DCC_CMD_FILL_RELEASE, 17);
    EXPECT_EQ(DCC_CMD_MAX, DCC_CMD_FILL_RELEASE);
    EXPECT_EQ(DCC_GENL_VERSION, 9);
    EXPECT_EQ(DCC_SB_F_AHEAD, 4u);
    // The kernel's event layout, host-endian.
    EXPECT_EQ(sizeof(dcc_written), 24u);
}

TEST(NlBuild, ClearDirtyConfirmedIsAFlag) {
    Request r{.cmd = DCC_CMD_CLEAR_DIRTY, .dev = {1, 2}, .reg_id = 7, .confirmed = true};
    r.ranges = {{4, 2}};
    MsgPtr m = build(kFamily, r);
    ASSERT_NE(attr(m.get(), DCC_A_CONFIRMED), nullptr);
    EXPECT_EQ(nla_len(attr(m.get(), DCC_A_CONFIRMED)), 0);
    r.confirmed = false;
    EXPECT_EQ(attr(build(kFamily, r).get(), DCC_A_CONFIRMED), nullptr);
}

TEST(NlBuild, SetRoleCarriesRangesForceAndClean) {
    Request r{.cmd = DCC_CMD_SET_ROLE, .dev = {1, 2}, .reg_id = 7, .generation = 3, .role = DCC_ROLE_OWNER,
              .force = true};
    r.ranges = {{4, 2}, {9, 1}};
    MsgPtr m = build(kFamily, r);
    ASSERT_NE(attr(m.get(), DCC_A_RANGES), nullptr);
    ASSERT_NE(attr(m.get(), DCC_A_FORCE), nullptr);
    EXPECT_EQ(attr(m.get(), DCC_A_CLEAN), nullptr);
    Request c{.cmd = DCC_CMD_SET_ROLE, .dev = {1, 2}, .reg_id = 7, .generation = 3, .role = DCC_ROLE_REPLICA,
              .clean = true};
    MsgPtr mc = build(kFamily, c);
    ASSERT_NE(attr(mc.get(), DCC_A_CLEAN), nullptr);
    EXPECT_EQ(nla_len(attr(mc.get(), DCC_A_CLEAN)), 0);
    EXPECT_EQ(attr(mc.get(), DCC_A_RANGES), nullptr);
}

TEST(NlBuild, FlagsAndSmallTypes) {
    Request r{.cmd = DCC_CMD_GET_REGIONS, .dev = {1, 2}, .set = DCC_SET_DIRTY, .arm = true};
    MsgPtr m = build(kFamily, r);
    EXPECT_EQ(nla_get_u8(attr(m.get(), DCC_A_SET)), DCC_SET_DIRTY);
    ASSERT_NE(attr(m.get(), DCC_A_ARM), nullptr);
    EXPECT_EQ(nla_len(attr(m.get(), DCC_A_ARM)), 0);
    EXPECT_EQ(attr(m.get(), DCC_A_FORCE), nullptr);
}

namespace {

// What a kernel of version 5 says of origin, split and the lease and sync
// flags; a field that is nullopt is left out.
struct SplitState {
    std::optional<uint8_t> origin = DCC_ORIGIN_HANDOVER, split = DCC_SPLIT_NONE;
    std::optional<uint64_t> split_generation = 0;
    std::optional<uint8_t> lease = 0;
    std::optional<uint8_t> sync = 0;
};

void put_split_state(nl_msg* m, const SplitState& s) {
    if (s.origin) nla_put_u8(m, DCC_A_ORIGIN, *s.origin);
    if (s.split) nla_put_u8(m, DCC_A_SPLIT, *s.split);
    if (s.split_generation) nla_put_u64(m, DCC_A_SPLIT_GENERATION, *s.split_generation);
    if (s.lease) nla_put_u8(m, DCC_A_LEASE, *s.lease);
    if (s.sync) nla_put_u8(m, DCC_A_SYNC, *s.sync);
}

MsgPtr register_reply(uint64_t generation, const SplitState& s) {
    MsgPtr m = reply(DCC_CMD_REGISTER);
    uint8_t uuid[16];
    for (int i = 0; i < 16; i++) uuid[i] = uint8_t(i);
    nla_put_u64(m.get(), DCC_A_REG_ID, 77);
    nla_put_u32(m.get(), DCC_A_REGION_SECTORS, 128);
    nla_put_u64(m.get(), DCC_A_NR_REGIONS, 16384);
    nla_put_u64(m.get(), DCC_A_DATA_SECTORS, 2097152);
    nla_put_u32(m.get(), DCC_A_DATA_MAJOR, 254);
    nla_put_u32(m.get(), DCC_A_DATA_MINOR, 16);
    nla_put_u8(m.get(), DCC_A_ROLE, DCC_ROLE_OWNER);
    nla_put_u8(m.get(), DCC_A_MODE, DCC_MODE_WRITE);
    nla_put_u64(m.get(), DCC_A_GENERATION, generation);
    nla_put(m.get(), DCC_A_UUID, 16, uuid);
    put_split_state(m.get(), s);
    return m;
}

MsgPtr state_event(uint64_t generation, const SplitState& s) {
    MsgPtr m = reply(DCC_CMD_EVENT_STATE);
    nla_put_u32(m.get(), DCC_A_MAJOR, 253);
    nla_put_u32(m.get(), DCC_A_MINOR, 0);
    nla_put_u8(m.get(), DCC_A_MODE, DCC_MODE_READ_ONLY);
    nla_put_u8(m.get(), DCC_A_ROLE, DCC_ROLE_REPLICA);
    nla_put_u64(m.get(), DCC_A_GENERATION, generation);
    put_split_state(m.get(), s);
    return m;
}

// Origin, split and lease states a reply or event must not carry, at
// generation 3.
const struct {
    const char* what;
    SplitState s;
} kBadSplitStates[] = {
    {"no ORIGIN", {.origin = std::nullopt}},
    {"no SPLIT", {.split = std::nullopt}},
    {"no SPLIT_GENERATION", {.split_generation = std::nullopt}},
    {"origin 4", {.origin = 4}},
    {"origin 255", {.origin = 255}},
    {"split 3", {.split = 3}},
    {"split old, split generation 0", {.split = DCC_SPLIT_OLD}},
    {"split old, split generation = generation", {.split = DCC_SPLIT_OLD, .split_generation = 3}},
    {"split old, split generation below", {.split = DCC_SPLIT_OLD, .split_generation = 2}},
    {"split new with a split generation", {.split = DCC_SPLIT_NEW, .split_generation = 9}},
    {"no split with a split generation", {.split_generation = 9}},
    {"no LEASE (version 3)", {.lease = std::nullopt}},
    {"lease 2", {.lease = 2}},
    {"lease 255", {.lease = 255}},
    {"no SYNC (version 4)", {.sync = std::nullopt}},
    {"sync 2", {.sync = 2}},
};

}  // namespace

TEST(NlParse, RegisterReply) {
    MsgPtr m = register_reply(3, {});
    auto r = parse_register(nlmsg_hdr(m.get()));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->reg_id, 77u);
    EXPECT_EQ(r->region_sectors, 128u);
    EXPECT_EQ(r->data, (Dev{254, 16}));
    EXPECT_EQ(r->generation, 3u);
    EXPECT_EQ(r->uuid[15], 15);
    EXPECT_EQ(r->origin, DCC_ORIGIN_HANDOVER);
    EXPECT_EQ(r->split, DCC_SPLIT_NONE);
    EXPECT_EQ(r->split_generation, 0u);
    EXPECT_FALSE(r->lease);

    MsgPtr leased = register_reply(3, {.lease = 1});
    r = parse_register(nlmsg_hdr(leased.get()));
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->lease);
    EXPECT_FALSE(r->sync);
    MsgPtr synced = register_reply(3, {.sync = 1});
    r = parse_register(nlmsg_hdr(synced.get()));
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->sync);

    MsgPtr old = register_reply(3, {.origin = DCC_ORIGIN_FORCED, .split = DCC_SPLIT_OLD,
                                    .split_generation = 4});
    r = parse_register(nlmsg_hdr(old.get()));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->origin, DCC_ORIGIN_FORCED);
    EXPECT_EQ(r->split, DCC_SPLIT_OLD);
    EXPECT_EQ(r->split_generation, 4u);

    MsgPtr nw = register_reply(3, {.origin = DCC_ORIGIN_FAILOVER, .split = DCC_SPLIT_NEW});
    r = parse_register(nlmsg_hdr(nw.get()));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->origin, DCC_ORIGIN_FAILOVER);
    EXPECT_EQ(r->split, DCC_SPLIT_NEW);
}

TEST(NlParse, RegisterReplyWithABadSplitStateIsRefused) {
    for (const auto& b : kBadSplitStates) {
        MsgPtr m = register_reply(3, b.s);
        EXPECT_FALSE(parse_register(nlmsg_hdr(m.get()))) << b.what;
    }
}

TEST(NlParse, RegisterReplyMissingAnAttributeIsRefused) {
    MsgPtr m = reply(DCC_CMD_REGISTER);
    nla_put_u64(m.get(), DCC_A_REG_ID, 77);
    EXPECT_FALSE(parse_register(nlmsg_hdr(m.get())));
    MsgPtr wrong = reply(DCC_CMD_GET_REGIONS);
    EXPECT_FALSE(parse_register(nlmsg_hdr(wrong.get())));
}

namespace {

MsgPtr regions_reply(const std::vector<Range>& rs, std::optional<uint64_t> next) {
    MsgPtr m = reply(DCC_CMD_GET_REGIONS);
    nlattr* nest = nla_nest_start(m.get(), DCC_A_RANGES);
    for (const Range& r : rs) {
        nlattr* one = nla_nest_start(m.get(), DCC_A_RANGE);
        nla_put_u64(m.get(), DCC_RANGE_A_START, r.start);
        nla_put_u64(m.get(), DCC_RANGE_A_COUNT, r.count);
        nla_nest_end(m.get(), one);
    }
    nla_nest_end_keep_empty(m.get(), nest);  // as the kernel sends an empty set
    if (next) nla_put_u64(m.get(), DCC_A_NEXT, *next);
    return m;
}

}  // namespace

TEST(NlParse, RegionsReply) {
    MsgPtr m = regions_reply({{0, 3}, {10, 1}, {1ull << 40, 5}}, 1ull << 41);
    auto r = parse_regions(nlmsg_hdr(m.get()));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->ranges, (std::vector<Range>{{0, 3}, {10, 1}, {1ull << 40, 5}}));
    EXPECT_EQ(r->next, 1ull << 41);

    MsgPtr end = regions_reply({}, std::nullopt);
    auto e = parse_regions(nlmsg_hdr(end.get()));
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->ranges.empty());
    EXPECT_FALSE(e->next);
}

TEST(NlParse, RegionsReplyHostileContentIsRefused) {
    // Overlapping, unordered, empty and wrapping ranges are all refused.
    for (auto rs : std::vector<std::vector<Range>>{{{0, 3}, {2, 1}},
                                                   {{10, 1}, {0, 1}},
                                                   {{5, 0}},
                                                   {{UINT64_MAX, 2}}}) {
        MsgPtr m = regions_reply(rs, std::nullopt);
        EXPECT_FALSE(parse_regions(nlmsg_hdr(m.get())));
    }
    MsgPtr none = reply(DCC_CMD_GET_REGIONS);  // no RANGES at all
    EXPECT_FALSE(parse_regions(nlmsg_hdr(none.get())));
}

TEST(NlParse, Events) {
    MsgPtr m = reply(DCC_CMD_EVENT_MISS);
    nla_put_u32(m.get(), DCC_A_MAJOR, 253);
    nla_put_u32(m.get(), DCC_A_MINOR, 0);
    nla_put_u64(m.get(), DCC_A_REGION, 42);
    auto e = parse_event(nlmsg_hdr(m.get()));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->cmd, DCC_CMD_EVENT_MISS);
    EXPECT_EQ(e->region, 42u);

    MsgPtr s = reply(DCC_CMD_EVENT_STATE);
    nla_put_u32(s.get(), DCC_A_MAJOR, 253);
    nla_put_u32(s.get(), DCC_A_MINOR, 0);
    EXPECT_FALSE(parse_event(nlmsg_hdr(s.get())));  // STATE without its fields
    nla_put_u8(s.get(), DCC_A_MODE, DCC_MODE_READ_ONLY);
    nla_put_u8(s.get(), DCC_A_ROLE, DCC_ROLE_REPLICA);
    nla_put_u64(s.get(), DCC_A_GENERATION, 8);
    EXPECT_FALSE(parse_event(nlmsg_hdr(s.get())));  // version 2's STATE
    put_split_state(s.get(), {.origin = DCC_ORIGIN_FAILOVER, .split = DCC_SPLIT_OLD,
                              .split_generation = 9, .lease = std::nullopt, .sync = std::nullopt});
    EXPECT_FALSE(parse_event(nlmsg_hdr(s.get())));  // version 3's STATE
    nla_put_u8(s.get(), DCC_A_LEASE, 1);
    EXPECT_FALSE(parse_event(nlmsg_hdr(s.get())));  // version 4's STATE
    nla_put_u8(s.get(), DCC_A_SYNC, 1);
    auto st = parse_event(nlmsg_hdr(s.get()));
    ASSERT_TRUE(st);
    EXPECT_EQ(st->mode, DCC_MODE_READ_ONLY);
    EXPECT_EQ(st->generation, 8u);
    EXPECT_EQ(st->origin, DCC_ORIGIN_FAILOVER);
    EXPECT_EQ(st->split, DCC_SPLIT_OLD);
    EXPECT_EQ(st->split_generation, 9u);
    EXPECT_TRUE(st->lease);
    EXPECT_TRUE(st->sync);
}

TEST(NlParse, WrittenEvent) {
    auto event = [](const std::vector<dcc_written>& w, size_t bytes) {
        MsgPtr m = reply(DCC_CMD_EVENT_WRITTEN);
        nla_put_u32(m.get(), DCC_A_MAJOR, 253);
        nla_put_u32(m.get(), DCC_A_MINOR, 1);
        nla_put(m.get(), DCC_A_WRITES, int(bytes), w.data());
        return m;
    };
    std::vector<dcc_written> w = {{.id = 5, .sector = 8, .sectors = 8, .pad = 0},
                                  {.id = 6, .sector = 1ull << 33, .sectors = 2048, .pad = 0}};
    MsgPtr m = event(w, 2 * sizeof(dcc_written));
    auto e = parse_event(nlmsg_hdr(m.get()));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->cmd, DCC_CMD_EVENT_WRITTEN);
    EXPECT_EQ(e->dev, (Dev{253, 1}));
    ASSERT_EQ(e->writes.size(), 2u);
    EXPECT_EQ(e->writes[1].id, 6u);
    EXPECT_EQ(e->writes[1].sector, 1ull << 33);
    EXPECT_EQ(e->writes[1].sectors, 2048u);
    // A torn array, an empty write and a wrapping one are refused.
    MsgPtr torn = event(w, sizeof(dcc_written) + 8);
    EXPECT_FALSE(parse_event(nlmsg_hdr(torn.get())));
    MsgPtr empty = event({{.id = 1, .sector = 0, .sectors = 0, .pad = 0}}, sizeof(dcc_written));
    EXPECT_FALSE(parse_event(nlmsg_hdr(empty.get())));
    MsgPtr wraps = event({{.id = 1, .sector = ~0ull, .sectors = 8, .pad = 0}}, sizeof(dcc_written));
    EXPECT_FALSE(parse_event(nlmsg_hdr(wraps.get())));
    MsgPtr none = reply(DCC_CMD_EVENT_WRITTEN);
    nla_put_u32(none.get(), DCC_A_MAJOR, 253);
    nla_put_u32(none.get(), DCC_A_MINOR, 1);
    EXPECT_FALSE(parse_event(nlmsg_hdr(none.get())));
}

TEST(NlParse, StateEventWithABadSplitStateIsRefused) {
    MsgPtr good = state_event(3, {});
    EXPECT_TRUE(parse_event(nlmsg_hdr(good.get())));
    for (const auto& b : kBadSplitStates) {
        MsgPtr m = state_event(3, b.s);
        EXPECT_FALSE(parse_event(nlmsg_hdr(m.get()))) << b.what;
    }
}

TEST(NlVersion, OnlyThisProgramsVersionIsTaken) {
    EXPECT_NO_THROW(check_family_version(DCC_GENL_VERSION));
    try {
        check_family_version(1);
        FAIL() << "version 1 taken";
    } catch (const Error& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("version 1"), std::string::npos) << what;
        EXPECT_NE(what.find("version " + std::to_string(DCC_GENL_VERSION)), std::string::npos) << what;
    }
    EXPECT_THROW(check_family_version(DCC_GENL_VERSION + 1), Error);
}

TEST(NlParse, ErrorWithExtendedAck) {
    // NLMSG_ERROR, capped, with an NLMSGERR_ATTR_MSG TLV.
    alignas(4) uint8_t buf[256] = {};
    auto* nlh = reinterpret_cast<nlmsghdr*>(buf);
    auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(nlh));
    err->error = -ESTALE;
    const char text[] = "not the registered daemon";
    auto* a = reinterpret_cast<nlattr*>(reinterpret_cast<uint8_t*>(err) + sizeof(nlmsgerr));
    a->nla_type = NLMSGERR_ATTR_MSG;
    a->nla_len = uint16_t(NLA_HDRLEN + sizeof(text));
    std::memcpy(reinterpret_cast<uint8_t*>(a) + NLA_HDRLEN, text, sizeof(text));
    nlh->nlmsg_type = NLMSG_ERROR;
    nlh->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
    nlh->nlmsg_len = uint32_t(NLMSG_LENGTH(sizeof(nlmsgerr)) + NLA_ALIGN(a->nla_len));
    std::string msg;
    EXPECT_EQ(parse_error(nlh, msg), -ESTALE);
    EXPECT_EQ(msg, text);

    nlh->nlmsg_flags = 0;  // a plain ack
    err->error = 0;
    EXPECT_EQ(parse_error(nlh, msg), 0);
    EXPECT_TRUE(msg.empty());
}
