// SPDX-License-Identifier: GPL-2.0-only
// The sync path: its sealed frames (core/sealed.*) and its sockets
// (daemon/synclink.*) over loopback.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <cstring>

#include "sealed.hpp"
#include "synclink.hpp"

using namespace dcc;
using namespace dcc::core;

namespace {

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

struct Pair {
    SyncSecret s = SyncSecret::random();
    Sealer tx{s.key};
    Opener rx{s.key, tx.header()};
};

}  // namespace

TEST(Sealed, FramesComeOutAsTheyWentIn) {
    Pair p;
    std::vector<uint8_t> wire;
    p.tx.seal(bytes("head-1"), bytes("data-1"), wire);
    p.tx.seal(bytes("head-2"), {}, wire);
    // Byte by byte: a frame comes out only once whole.
    std::vector<Opener::Frame> got;
    for (uint8_t b : wire) {
        p.rx.feed({&b, 1});
        while (auto f = p.rx.next()) got.push_back(*f);
    }
    ASSERT_EQ(got.size(), 2u) << p.rx.error();
    EXPECT_EQ(got[0].head, bytes("head-1"));
    EXPECT_EQ(got[0].data, bytes("data-1"));
    EXPECT_EQ(got[1].head, bytes("head-2"));
    EXPECT_TRUE(got[1].data.empty());
    EXPECT_FALSE(p.rx.failed());
}

TEST(Sealed, AChangedByteFails) {
    Pair p;
    std::vector<uint8_t> wire;
    p.tx.seal(bytes("head"), bytes("data"), wire);
    wire[wire.size() - 3] ^= 1;
    p.rx.feed(wire);
    EXPECT_FALSE(p.rx.next());
    EXPECT_TRUE(p.rx.failed());
    EXPECT_EQ(p.rx.error(), "a frame does not open (changed, replayed or out of order)");
    // And stays failed.
    std::vector<uint8_t> more;
    p.tx.seal(bytes("x"), {}, more);
    p.rx.feed(more);
    EXPECT_FALSE(p.rx.next());
}

TEST(Sealed, AReplayedOrMovedFrameFails) {
    Pair p;
    std::vector<uint8_t> one, two;
    p.tx.seal(bytes("first"), {}, one);
    p.tx.seal(bytes("second"), {}, two);
    p.rx.feed(one);
    ASSERT_TRUE(p.rx.next());
    p.rx.feed(one);  // again
    EXPECT_FALSE(p.rx.next());
    EXPECT_TRUE(p.rx.failed());

    Pair q;
    std::vector<uint8_t> a, b;
    q.tx.seal(bytes("first"), {}, a);
    q.tx.seal(bytes("second"), {}, b);
    q.rx.feed(b);  // the second before the first
    EXPECT_FALSE(q.rx.next());
    EXPECT_TRUE(q.rx.failed());
}

TEST(Sealed, AnotherKeyOrStreamFails) {
    Pair p;
    SyncSecret other = SyncSecret::random();
    Opener wrong(other.key, p.tx.header());
    std::vector<uint8_t> wire;
    p.tx.seal(bytes("head"), {}, wire);
    wrong.feed(wire);
    EXPECT_FALSE(wrong.next());
    EXPECT_TRUE(wrong.failed());
}

TEST(Sealed, ALengthOutOfRangeFails) {
    Pair p;
    uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
    p.rx.feed({huge, 4});
    EXPECT_FALSE(p.rx.next());
    EXPECT_EQ(p.rx.error(), "frame length 4294967295 out of range");
    Pair q;
    uint8_t tiny[4] = {0, 0, 0, 3};
    q.rx.feed({tiny, 4});
    EXPECT_FALSE(q.rx.next());
    EXPECT_TRUE(q.rx.failed());
    Pair r;
    std::vector<uint8_t> big(kSyncMaxFrame);
    std::vector<uint8_t> out;
    EXPECT_THROW(r.tx.seal(bytes("h"), big, out), std::length_error);
}

TEST(Sealed, HelloAndSecret) {
    SyncSecret s = SyncSecret::random();
    auto b = s.bytes();
    ASSERT_EQ(b.size(), 48u);
    auto back = SyncSecret::of(b);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->key, s.key);
    EXPECT_EQ(back->token, s.token);
    b.pop_back();
    EXPECT_FALSE(SyncSecret::of(b));
    EXPECT_NE(SyncSecret::random().key, s.key);

    Sealer tx(s.key);
    auto hello = sync_hello(s, tx.header());
    auto h = parse_sync_hello(hello);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->token, s.token);
    EXPECT_EQ(h->header, tx.header());
    hello[0] = 'X';
    EXPECT_FALSE(parse_sync_hello(hello));
    hello.pop_back();
    EXPECT_FALSE(parse_sync_hello(hello));
}

namespace {

// Serve @l until @n messages came, @done is set, or 5 s passed.
std::vector<SyncListener::Message> serve(SyncListener& l, size_t n,
                                         const std::atomic<bool>* done = nullptr) {
    std::vector<SyncListener::Message> got;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (got.size() < n && !(done && *done) && std::chrono::steady_clock::now() < end) {
        std::vector<zmq::pollitem_t> items;
        l.poll_items(items);
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(20));
        l.serve(got);
    }
    return got;
}

// Connect to @l with @s while a thread serves @l: the listener greets the
// connection in its own time, as dccd's loop does.
std::unique_ptr<SyncConn> connect_to(SyncListener& l, const SyncSecret& s, std::string& why, int ms = 3000) {
    std::atomic<bool> done{false};
    std::thread greeter([&] { serve(l, 1, &done); });
    auto c = SyncConn::connect("127.0.0.1", l.port(), s, std::chrono::milliseconds(ms), why);
    done = true;
    greeter.join();
    return c;
}

// A plain TCP connection to @port on loopback that says nothing; -1 if
// it cannot be made.
int raw_connect(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a))) {
        close(fd);
        return -1;
    }
    return fd;
}

wire::Message sync_write(uint64_t seq) {
    wire::Message m;
    m.type = wire::Type::SyncWrite;
    m.volume[0] = 7;
    m.seq = seq;
    m.region = 2;
    m.arg = 2 * 128 + 8;
    return m;
}

}  // namespace

// A write out and its answer back, over loopback, with the listener
// greeting the connection on another thread's schedule (the connector
// waits for the header).
TEST(SyncPath, AWriteAndItsAnswer) {
    SyncListener l("tcp://127.0.0.1:*");
    ASSERT_NE(l.port(), 0);
    SyncSecret s = l.open();
    std::string why;
    auto c = connect_to(l, s, why, 3000);
    ASSERT_TRUE(c) << why;
    std::vector<uint8_t> data(4096, 0x5a);
    ASSERT_TRUE(c->send(sync_write(11), data.data(), data.size()));
    auto got = serve(l, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].msg, sync_write(11));
    EXPECT_EQ(got[0].data, data);

    wire::Message ack;
    ack.type = wire::Type::SyncAck;
    ack.volume[0] = 7;
    ack.seq = 11;
    ASSERT_TRUE(l.reply(got[0].conn, ack));
    std::vector<SyncConn::Received> answers;
    for (int i = 0; i < 250 && answers.empty(); i++) {
        pollfd p{c->fd(), POLLIN, 0};
        poll(&p, 1, 20);
        ASSERT_TRUE(c->receive(answers)) << c->why();
    }
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].msg, ack);

    // A key serves one connection only.
    auto c2 = connect_to(l, s, why, 1500);
    EXPECT_FALSE(c2);
    EXPECT_EQ(why, "the peer closed the connection (it did not know the key)");
}

TEST(SyncPath, AKeyNotGivenIsRefused) {
    SyncListener l("tcp://127.0.0.1:*");
    SyncSecret mine = SyncSecret::random();  // not from l.open()
    std::string why;
    auto c = connect_to(l, mine, why, 1500);
    EXPECT_FALSE(c);
    EXPECT_EQ(why, "the peer closed the connection (it did not know the key)");
}

// Anything but a SYNC_WRITE ends the connection, and nothing is taken.
TEST(SyncPath, OnlySyncWritesAreTaken) {
    SyncListener l("tcp://127.0.0.1:*");
    SyncSecret s = l.open();
    std::string why;
    auto c = connect_to(l, s, why, 3000);
    ASSERT_TRUE(c) << why;
    wire::Message push = sync_write(3);
    push.type = wire::Type::Push;
    std::vector<uint8_t> data(512, 1);
    ASSERT_TRUE(c->send(push, data.data(), data.size()));
    // The listener takes nothing and closes the connection.
    std::vector<SyncListener::Message> got;
    std::vector<SyncConn::Received> answers;
    bool open = true;
    for (int i = 0; i < 250 && open; i++) {
        std::vector<zmq::pollitem_t> items;
        l.poll_items(items);
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(20));
        l.serve(got);
        open = c->receive(answers);
    }
    EXPECT_TRUE(got.empty());
    EXPECT_FALSE(open);
    EXPECT_EQ(c->why(), "closed");
}

TEST(SyncPath, NothingListensThere) {
    SyncSecret s = SyncSecret::random();
    std::string why;
    uint16_t port;
    {
        SyncListener l("tcp://127.0.0.1:*");
        port = l.port();
    }
    auto c = SyncConn::connect("127.0.0.1", port, s, std::chrono::milliseconds(1000), why);
    EXPECT_FALSE(c);
    EXPECT_EQ(why, "connect: Connection refused");
    EXPECT_THROW(SyncListener("tcp://127.0.0.1:notaport"), std::runtime_error);
}

// Anyone who reaches the port can open connections: those that say no
// hello do not push out the owner's.
TEST(SyncPath, SilentConnectionsDoNotPushOutTheOwners) {
    SyncListener l("tcp://127.0.0.1:*");
    SyncSecret s = l.open();
    std::string why;
    auto c = connect_to(l, s, why, 3000);
    ASSERT_TRUE(c) << why;
    std::vector<int> silent;
    for (int i = 0; i < 8; i++) {
        int fd = raw_connect(l.port());
        ASSERT_GE(fd, 0);
        silent.push_back(fd);
    }
    std::vector<uint8_t> data(4096, 1);
    ASSERT_TRUE(c->send(sync_write(5), data.data(), data.size()));
    auto got = serve(l, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].msg.seq, 5u);
    for (int fd : silent) close(fd);
}

// Connections that come in the same round as the owner's, its hello
// already sent, do not push it out before that hello is read.
TEST(SyncPath, ABurstOfConnectionsDoesNotPushOutAHelloUnread) {
    SyncListener l("tcp://127.0.0.1:*");
    SyncSecret s = l.open();
    std::string why;
    std::unique_ptr<SyncConn> c;
    std::atomic<bool> done{false};
    std::thread owner([&] {
        c = SyncConn::connect("127.0.0.1", l.port(), s, std::chrono::milliseconds(3000), why);
        done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // its hello is sent, not yet read
    std::vector<int> others;
    for (int i = 0; i < 6; i++) {
        int fd = raw_connect(l.port());
        ASSERT_GE(fd, 0);
        others.push_back(fd);
    }
    std::vector<SyncListener::Message> got;
    for (int i = 0; i < 300 && !done; i++) {
        l.serve(got);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    owner.join();
    ASSERT_TRUE(c) << why;
    for (int fd : others) close(fd);
}
