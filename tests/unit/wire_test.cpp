// SPDX-License-Identifier: GPL-2.0-only
#include <gtest/gtest.h>

#include <cerrno>

#include "wire.hpp"

using namespace dcc;
using namespace dcc::wire;

namespace {

Uuid vol() { return *parse_uuid("0123456789abcdef0123456789abcdef"); }

Message attach() {
    Message m;
    m.type = Type::Attach;
    m.volume = vol();
    m.seq = 3;
    m.generation = 9;
    m.info = {128, 16384, 1};
    m.info.origin = 2;  // forced
    m.info.split = 1;   // old
    m.info.dirty = true;
    m.info.sync = true;
    return m;
}

}  // namespace

TEST(Wire, HeaderLayout) {
    Message m = attach();
    auto b = encode(m);
    ASSERT_EQ(b.size(), kHeaderSize + 16);
    EXPECT_EQ(b[0], 'D');
    EXPECT_EQ(b[1], 'C');
    EXPECT_EQ(b[2], kVersion);
    EXPECT_EQ(b[3], uint8_t(Type::Attach));
    EXPECT_EQ(b[6], 1);    // parts
    EXPECT_EQ(b[40], 3);   // seq
    EXPECT_EQ(b[48], 9);   // generation
    EXPECT_EQ(b[80], 16);  // body length
}

TEST(Wire, RoundTripsEveryType) {
    std::vector<Message> all;
    Message h;
    h.type = Type::Hello;
    h.site = "siteA";
    all.push_back(h);
    h.type = Type::HelloAck;
    h.status = 71;  // EPROTO: refused
    all.push_back(h);
    Message p;
    p.type = Type::Ping;
    all.push_back(p);
    all.push_back(attach());
    Message inv;
    inv.type = Type::InvalidSet;
    inv.volume = vol();
    inv.part = 2;
    inv.parts = 3;
    inv.arg = 400;
    inv.from = 0x1122334455667788ull;
    inv.to = 0x99aabbccddeeff00ull;
    inv.ranges = {{0, 10}, {12, 1}, {1ull << 40, 7}};
    all.push_back(inv);
    Message ho = inv;
    ho.type = Type::Handover;
    ho.generation = 10;
    ho.region = 5;  // the ask it answers
    all.push_back(ho);
    Message ack;
    ack.type = Type::HelloAck;
    ack.site = "siteB";
    ack.from = 99;
    ack.to = 98;
    all.push_back(ack);
    Message push;
    push.type = Type::Push;
    push.volume = vol();
    push.seq = 12;
    push.arg = 9;  // floor
    all.push_back(push);
    for (Type t : {Type::HandoverAck, Type::HandoverAsk, Type::Progress}) {
        Message x;
        x.type = t;
        x.volume = vol();
        x.generation = 10;
        all.push_back(x);
    }
    Message progress;
    progress.type = Type::Progress;
    progress.volume = vol();
    progress.region = 40;  // not yet the same
    progress.arg = 3;      // at risk
    all.push_back(progress);
    Message sw;
    sw.type = Type::SyncWrite;
    sw.volume = vol();
    sw.seq = 1ull << 50;
    sw.generation = 4;
    sw.region = 7;
    sw.arg = 7 * 128 + 16;  // its first sector
    all.push_back(sw);
    Message sa;
    sa.type = Type::SyncAck;
    sa.volume = vol();
    sa.seq = 1ull << 50;
    sa.status = 116;  // ESTALE: a refusal
    all.push_back(sa);
    for (uint64_t sync : {0, 1}) {
        Message mode;
        mode.type = Type::Mode;
        mode.volume = vol();
        mode.generation = 3;
        mode.arg = sync;
        all.push_back(mode);
    }
    Message detach;
    detach.type = Type::Detach;
    detach.volume = vol();
    detach.generation = 9;
    detach.seq = 12;
    all.push_back(detach);
    for (Type t : {Type::Fetch, Type::FetchReply, Type::Push, Type::PushAck, Type::Pull,
                   Type::PullReply, Type::SyncAck}) {
        Message x;
        x.type = t;
        x.volume = vol();
        x.region = 1ull << 35;
        x.seq = 77;
        all.push_back(x);
    }
    for (const Message& m : all) {
        auto d = decode(encode(m), has_payload(m.type) && m.status == 0 ? 1 : 0);
        ASSERT_TRUE(d.msg) << type_name(m.type) << ": " << d.error;
        EXPECT_EQ(*d.msg, m) << type_name(m.type);
    }
}

TEST(Wire, DataFramesMustMatchTheType) {
    Message m;
    m.type = Type::Push;
    m.volume = vol();
    EXPECT_FALSE(decode(encode(m), 0).msg);  // a push without data
    EXPECT_FALSE(decode(encode(m), 2).msg);
    m.type = Type::PushAck;
    EXPECT_FALSE(decode(encode(m), 1).msg);  // an ack with data
    m.type = Type::FetchReply;
    m.status = 61;  // ENODATA: a failed reply carries no data
    EXPECT_TRUE(decode(encode(m), 0).msg);
    EXPECT_FALSE(decode(encode(m), 1).msg);
}

TEST(Wire, RefusesHostileHeaders) {
    auto good = encode(attach());
    struct Case {
        const char* what;
        size_t off;
        uint8_t value;
    };
    for (Case c : {Case{"magic", 0, 'X'}, Case{"version", 2, 1}, Case{"type", 3, 99},
                   Case{"type zero", 3, 0}, Case{"part past parts", 4, 1},
                   Case{"parts on a single message", 6, 2}, Case{"no parts", 6, 0},
                   Case{"arg on ATTACH", 64, 1}, Case{"count", 72, 1},
                   Case{"status", 77, 0x10}, Case{"body length", 80, 15},
                   Case{"reserved", 87, 1}, Case{"origin", 93, 4},
                   Case{"split", 94, 3}, Case{"attach flags", 95, 8},
                   Case{"role", 92, 4}, Case{"region size", 88, 96}}) {
        auto b = good;
        b[c.off] = c.value;
        auto d = decode(b, 0);
        EXPECT_FALSE(d.msg) << c.what;
        EXPECT_FALSE(d.error.empty()) << c.what;
    }
    EXPECT_FALSE(decode(std::span(good).first(87), 0).msg);
    {
        auto b = good;
        b[93] = 3;  // resolved: a split brain resolved at its newer site
        auto d = decode(b, 0);
        ASSERT_TRUE(d.msg) << d.error;
        EXPECT_EQ(d.msg->info.origin, DCC_ORIGIN_RESOLVED);
    }
    EXPECT_EQ(decode(std::span(good).first(10), 0).error, "short header");
    auto v1 = good;
    v1[2] = 1;
    EXPECT_EQ(decode(v1, 0).error, "protocol version 1, this side speaks 10");
    auto yielding = good;
    yielding[92] = 3;
    EXPECT_TRUE(decode(yielding, 0).msg) << "yielding is a role";
}

TEST(Wire, ModeIsSyncOrAsyncOfAGeneration) {
    Message m;
    m.type = Type::Mode;
    m.volume = vol();
    m.generation = 2;
    m.arg = 2;
    EXPECT_EQ(decode(encode(m), 0).error, "MODE is 0 (async) or 1 (sync)");
    m.arg = 1;
    m.generation = 0;
    EXPECT_EQ(decode(encode(m), 0).error, "generation 0");
    m.generation = 2;
    EXPECT_TRUE(decode(encode(m), 0).msg);
    EXPECT_FALSE(decode(encode(m), 1).msg);  // no data
}

TEST(Wire, DetachNamesAVolumeAndCarriesNothingElse) {
    Message m;
    m.type = Type::Detach;
    EXPECT_EQ(decode(encode(m), 0).error, "DETACH names no volume");
    m.volume = vol();
    EXPECT_TRUE(decode(encode(m), 0).msg);
    EXPECT_FALSE(decode(encode(m), 1).msg);  // no data
    m.arg = 1;
    EXPECT_EQ(decode(encode(m), 0).error, "DETACH with an arg");
    m.arg = 0;
    auto b = encode(m);
    b[2] = 6;  // a dccd of the version before DETACH
    EXPECT_EQ(decode(b, 0).error, "protocol version 6, this side speaks 10");
}

TEST(Wire, VolumeAndLinkMessagesAreKeptApart) {
    Message p;
    p.type = Type::Ping;
    p.volume = vol();
    EXPECT_FALSE(decode(encode(p), 0).msg);
    Message f;
    f.type = Type::Fetch;
    EXPECT_FALSE(decode(encode(f), 0).msg);
}

TEST(Wire, RefusesBadBodies) {
    Message h;
    h.type = Type::Hello;
    EXPECT_FALSE(decode(encode(h), 0).msg);  // empty name
    h.site = std::string(65, 'a');
    EXPECT_FALSE(decode(encode(h), 0).msg);
    h.site = "bad name";
    EXPECT_FALSE(decode(encode(h), 0).msg);

    Message inv;
    inv.type = Type::InvalidSet;
    inv.volume = vol();
    for (auto rs : std::vector<std::vector<Range>>{{{5, 0}},
                                                   {{10, 2}, {3, 1}},
                                                   {{0, 5}, {5, 1}},
                                                   {{UINT64_MAX, 2}}}) {
        inv.ranges = rs;
        EXPECT_FALSE(decode(encode(inv), 0).msg);
    }
    Message f;
    f.type = Type::Fetch;
    f.volume = vol();
    auto b = encode(f);
    b.push_back(0);  // a body on a bodiless message, with its length
    b[80] = 1;
    EXPECT_FALSE(decode(b, 0).msg);
}

TEST(Wire, AttachStatesOriginSplitDirtAndMode) {
    Message m = attach();
    auto b = encode(m);
    EXPECT_EQ(b[93], 2);  // origin
    EXPECT_EQ(b[94], 1);  // split
    EXPECT_EQ(b[95], 3);  // flags: dirty, sync
    auto d = decode(b, 0);
    ASSERT_TRUE(d.msg);
    EXPECT_EQ(d.msg->info.origin, 2);
    EXPECT_EQ(d.msg->info.split, 1);
    EXPECT_TRUE(d.msg->info.dirty);
    EXPECT_TRUE(d.msg->info.sync);
    m.info.sync = false;
    b = encode(m);
    EXPECT_EQ(b[95], 1);
    EXPECT_FALSE(decode(b, 0).msg->info.sync);
    m.info.witness = true;
    b = encode(m);
    EXPECT_EQ(b[95], 5);  // dirty, witness
    EXPECT_TRUE(decode(b, 0).msg->info.witness);
    m.info.witness = false;
    m.info.dirty = false;
    m.info.origin = m.info.split = 0;
    d = decode(encode(m), 0);
    ASSERT_TRUE(d.msg);
    EXPECT_FALSE(d.msg->info.dirty);
    EXPECT_EQ(*d.msg, m);
}

// An ATTACH_ACK's arg is its sender's watermark (core::ReportFloor); an
// ATTACH has none.
TEST(Wire, AttachAckCarriesAWatermark) {
    Message m = attach();
    m.type = Type::AttachAck;
    m.arg = 0x0102030405060708ull;
    auto b = encode(m);
    EXPECT_EQ(b[64], 0x08);
    EXPECT_EQ(b[71], 0x01);
    auto d = decode(b, 0);
    ASSERT_TRUE(d.msg) << d.error;
    EXPECT_EQ(d.msg->arg, m.arg);
    m.type = Type::Attach;
    EXPECT_EQ(decode(encode(m), 0).error, "ATTACH with an arg");
}

TEST(Wire, PongCarriesPromises) {
    Message p;
    p.type = Type::Pong;
    p.seq = 41;
    p.arg = 5000;
    p.promises = {{vol(), 7}, {*parse_uuid("ffffffffffffffffffffffffffffffff"), 1}};
    auto b = encode(p);
    EXPECT_EQ(b.size(), kHeaderSize + 48);
    EXPECT_EQ(b[72], 2);  // count
    auto d = decode(b, 0);
    ASSERT_TRUE(d.msg) << d.error;
    EXPECT_EQ(*d.msg, p);

    Message none = p;
    none.promises.clear();
    none.arg = 0;
    EXPECT_TRUE(decode(encode(none), 0).msg) << "a PONG may promise nothing";
    Message nolength = p;
    nolength.arg = 0;
    EXPECT_EQ(decode(encode(nolength), 0).error, "promises without a length");
    Message gen0 = p;
    gen0.promises[1].generation = 0;
    EXPECT_EQ(decode(encode(gen0), 0).error, "bad promise");
    auto shortb = b;
    shortb[72] = 3;  // says three, carries two
    EXPECT_EQ(decode(shortb, 0).error, "bad promise list");
}

TEST(Wire, WitnessMessages) {
    std::vector<Message> all;
    for (Type t : {Type::WRenew, Type::WClaim, Type::WYield, Type::WOutdate, Type::WUptodate}) {
        Message m;
        m.type = t;
        m.volume = vol();
        m.seq = 5;
        m.generation = 12;
        m.site = "siteA";
        if (t == Type::WYield) m.to_site = "siteB";
        if (t == Type::WUptodate) m.region = 3;  // the epoch
        all.push_back(m);
    }
    Message a;
    a.type = Type::WAnswer;
    a.volume = vol();
    a.seq = 5;
    a.generation = 11;
    a.site = "siteB";
    a.status = 1;  // EPERM
    a.arg = 1234;  // lease left
    all.push_back(a);
    a.site.clear();  // no record yet
    all.push_back(a);
    a.site = "siteA";
    a.status = 116;  // ESTALE: a CLAIM refused, the replica is fenced
    a.region = 1ull << 40;  // at that epoch
    all.push_back(a);
    for (const Message& m : all) {
        EXPECT_TRUE(is_witness(m.type));
        auto d = decode(encode(m), 0);
        ASSERT_TRUE(d.msg) << type_name(m.type) << ": " << d.error;
        EXPECT_EQ(*d.msg, m) << type_name(m.type);
    }
    EXPECT_FALSE(is_witness(Type::Pong));

    Message bad = all[0];
    bad.to_site = "siteB";
    EXPECT_EQ(decode(encode(bad), 0).error, "W_RENEW names a second site");
    bad = all[2];
    bad.to_site.clear();
    EXPECT_EQ(decode(encode(bad), 0).error, "W_YIELD names no site to yield to");
    bad.to_site = bad.site;
    EXPECT_EQ(decode(encode(bad), 0).error, "bad site to yield to");
    bad = all[1];
    bad.site = "two words";
    EXPECT_EQ(decode(encode(bad), 0).error, "bad site name");
    bad.site.clear();
    EXPECT_EQ(decode(encode(bad), 0).error, "bad site name");
    bad = all[1];
    bad.generation = 0;
    EXPECT_EQ(decode(encode(bad), 0).error, "generation 0");
    bad = all[1];
    bad.volume = Uuid{};
    EXPECT_FALSE(decode(encode(bad), 0).msg) << "a witness message names a volume";
    auto b = encode(all[0]);
    b[88] = 40;  // the name's length runs past the body
    EXPECT_EQ(decode(b, 0).error, "bad W_RENEW body");
}

// OUTDATE and UPTODATE: the region field is an UPTODATE's epoch, and only
// an UPTODATE's; nothing else of theirs may be set.
TEST(Wire, OutdateAndUptodate) {
    Message out;
    out.type = Type::WOutdate;
    out.volume = vol();
    out.seq = 9;
    out.generation = 4;
    out.site = "siteA";
    auto b = encode(out);
    EXPECT_EQ(b[3], 26);
    ASSERT_TRUE(decode(b, 0).msg) << decode(b, 0).error;
    EXPECT_STREQ(type_name(Type::WOutdate), "W_OUTDATE");
    EXPECT_STREQ(type_name(Type::WUptodate), "W_UPTODATE");
    EXPECT_TRUE(is_witness(Type::WOutdate));
    EXPECT_TRUE(is_witness(Type::WUptodate));
    EXPECT_FALSE(has_payload(Type::WUptodate));
    EXPECT_FALSE(is_multipart(Type::WOutdate));

    Message up = out;
    up.type = Type::WUptodate;
    EXPECT_EQ(decode(encode(up), 0).error, "W_UPTODATE names no epoch");
    up.region = 2;
    b = encode(up);
    EXPECT_EQ(b[3], 27);
    EXPECT_EQ(b[56], 2);
    auto d = decode(b, 0);
    ASSERT_TRUE(d.msg) << d.error;
    EXPECT_EQ(d.msg->region, 2u);
    EXPECT_EQ(*d.msg, up);

    Message bad = out;
    bad.region = 2;
    EXPECT_EQ(decode(encode(bad), 0).error, "W_OUTDATE with a region");
    for (Type t : {Type::WRenew, Type::WClaim}) {
        bad.type = t;
        EXPECT_EQ(decode(encode(bad), 0).error, std::string(type_name(t)) + " with a region");
    }
    bad = up;
    bad.arg = 1;
    EXPECT_EQ(decode(encode(bad), 0).error, "W_UPTODATE with an arg");
    bad = out;
    bad.to_site = "siteB";
    EXPECT_EQ(decode(encode(bad), 0).error, "W_OUTDATE names a second site");
    bad = up;
    bad.generation = 0;
    EXPECT_EQ(decode(encode(bad), 0).error, "generation 0");
    bad = out;
    bad.volume = Uuid{};
    EXPECT_EQ(decode(encode(bad), 0).error, "W_OUTDATE names no volume");
    bad = up;
    bad.parts = 2;
    EXPECT_EQ(decode(encode(bad), 0).error, "W_UPTODATE in parts");
    EXPECT_FALSE(decode(encode(up), 1).msg) << "no data frame";

    // A site of the version before the fence is not understood.
    b = encode(up);
    b[2] = 7;
    EXPECT_EQ(decode(b, 0).error, "protocol version 7, this side speaks 10");
    b = encode(out);
    b[3] = 30;
    EXPECT_EQ(decode(b, 0).error, "unknown message type 30");
}

// The sync path's key exchange: link messages (no volume); the answer
// carries the key as data and the port as its arg.
TEST(Wire, SyncOpen) {
    Message open;
    open.type = Type::SyncOpen;
    open.from = 4;
    open.to = 5;
    open.seq = 9;
    auto d = decode(encode(open), 0);
    ASSERT_TRUE(d.msg) << d.error;
    EXPECT_EQ(*d.msg, open);
    EXPECT_STREQ(type_name(Type::SyncOpen), "SYNC_OPEN");
    EXPECT_FALSE(has_payload(Type::SyncOpen));
    Message named = open;
    named.volume[0] = 1;
    EXPECT_EQ(decode(encode(named), 0).error, "SYNC_OPEN names a volume");
    named = open;
    named.arg = 7790;
    EXPECT_EQ(decode(encode(named), 0).error, "SYNC_OPEN with an arg");

    Message ack = open;
    ack.type = Type::SyncOpenAck;
    ack.arg = 7790;
    EXPECT_TRUE(has_payload(Type::SyncOpenAck));
    d = decode(encode(ack), 1);
    ASSERT_TRUE(d.msg) << d.error;
    EXPECT_EQ(*d.msg, ack);
    EXPECT_EQ(decode(encode(ack), 0).error, "SYNC_OPEN_ACK with a wrong number of data frames");
    ack.status = ENOTSUP;  // no sync path there: no key
    d = decode(encode(ack), 0);
    ASSERT_TRUE(d.msg) << d.error;
}
