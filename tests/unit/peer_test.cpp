// SPDX-License-Identifier: GPL-2.0-only
// The peer link (daemon/peer.cpp) over loopback: a CURVE client that once
// met a peer without CURVE reaches the real peer afterwards.  ZeroMQ ends
// a connection for good on such a protocol error; PeerLink connects again.
#include <gtest/gtest.h>

#include <chrono>

#include "peer.hpp"

using namespace dcc;
using namespace std::chrono;

namespace {

Config site(const std::string& name, int port, int peer_port, bool insecure) {
    Config c;
    c.site = name;
    c.listen = "tcp://127.0.0.1:" + std::to_string(port);
    c.listen_bulk = "tcp://127.0.0.1:" + std::to_string(port + 1);
    c.peer = "tcp://127.0.0.1:" + std::to_string(peer_port);
    c.peer_bulk = "tcp://127.0.0.1:" + std::to_string(peer_port + 1);
    c.insecure = insecure;
    c.heartbeat_ms = 100;
    c.link_timeout_ms = 1000;
    return c;
}

// Serve both links for @d: @a asks, @b answers; true once @a got an answer.
bool exchange(PeerLink& a, bool a_insecure, PeerLink& b, bool b_insecure, milliseconds d) {
    auto end = steady_clock::now() + d;
    while (steady_clock::now() < end) {
        for (PeerLink* l : {&a, &b}) {
            bool insecure = l == &a ? a_insecure : b_insecure;
            std::vector<zmq::pollitem_t> items;
            for (auto* s : l->sockets()) items.push_back({s->handle(), 0, ZMQ_POLLIN, 0});
            for (auto* m : l->monitors()) items.push_back({m->handle(), 0, ZMQ_POLLIN, 0});
            if (!insecure) items.push_back({l->zap().handle(), 0, ZMQ_POLLIN, 0});
            zmq::poll(items.data(), items.size(), milliseconds(5));
            auto socks = l->sockets();
            for (size_t i = 0; i < socks.size(); i++)
                if (items[i].revents & ZMQ_POLLIN)
                    while (auto in = l->receive(*socks[i])) {
                        if (!in->request) return true;
                        wire::Message r = in->msg;
                        r.type = wire::Type::Pong;
                        l->reply(*in, r);
                    }
            for (size_t i = 0; i < l->monitors().size(); i++)
                if (items[socks.size() + i].revents & ZMQ_POLLIN) l->serve_monitor(i);
            if (!insecure && (items.back().revents & ZMQ_POLLIN)) l->serve_zap();
            l->tick();
        }
        wire::Message ping;
        ping.type = wire::Type::Ping;
        ping.seq = 1;
        a.request(Chan::Ctl, ping);
    }
    return false;
}

}  // namespace

TEST(PeerLink, ReachesThePeerAgainAfterAPlaintextOne) {
    char apub[41], asec[41], bpub[41], bsec[41];
    ASSERT_EQ(zmq_curve_keypair(apub, asec), 0);
    ASSERT_EQ(zmq_curve_keypair(bpub, bsec), 0);
    // Below the ephemeral range: no outgoing connection takes these.
    int pa = 20000 + getpid() % 3000 * 4, pb = pa + 2;
    Config ca = site("a", pa, pb, false);
    ca.secret_key = asec;
    ca.public_key = apub;
    ca.peer_public_key = bpub;
    zmq::context_t ctx(1);
    PeerLink a(ctx, ca);
    {
        // Plaintext at B's address, in a context of its own (as a process
        // of its own would be).
        zmq::context_t pctx(1);
        Config cp = site("b", pb, pa, true);
        PeerLink plain(pctx, cp);
        EXPECT_FALSE(exchange(a, false, plain, true, milliseconds(1500)));
    }
    Config cb = site("b", pb, pa, false);
    cb.secret_key = bsec;
    cb.public_key = bpub;
    cb.peer_public_key = apub;
    zmq::context_t bctx(1);  // the ZAP endpoint is one per context
    PeerLink b(bctx, cb);
    EXPECT_TRUE(exchange(a, false, b, false, seconds(10))) << "A never reached the real B";
}
