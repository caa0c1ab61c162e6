// SPDX-License-Identifier: GPL-2.0-only
// dcctest witness: one request to a witness (dccd --witness), its answer
// on one line.
#include <zmq.hpp>

#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "dcc/error.hpp"
#include "dcc/meta.hpp"
#include "tools.hpp"
#include "wire.hpp"

namespace dcctest {

namespace {

[[noreturn]] void usage() {
    throw dcc::Error(dcc::kExitUsage,
                     "usage: witness ENDPOINT renew|claim|yield VOLUME_UUID GEN SITE [TO] "
                     "[--server-key K --secret-key S --public-key P]");
}

}  // namespace

int witness(const std::vector<std::string>& args) {
    std::vector<std::string> pos;
    std::map<std::string, std::string> keys;
    for (size_t i = 0; i < args.size(); i++) {
        if (args[i].rfind("--", 0) != 0) {
            if (!keys.empty()) usage();
            pos.push_back(args[i]);
            continue;
        }
        std::string k = args[i].substr(2);
        if ((k != "server-key" && k != "secret-key" && k != "public-key") || i + 1 >= args.size())
            usage();
        keys[k] = args[++i];
    }
    if (pos.size() < 5) usage();
    const std::string& verb = pos[1];
    dcc::wire::Message m;
    if (verb == "renew") m.type = dcc::wire::Type::WRenew;
    else if (verb == "claim") m.type = dcc::wire::Type::WClaim;
    else if (verb == "yield") m.type = dcc::wire::Type::WYield;
    else usage();
    if (pos.size() != (verb == "yield" ? 6u : 5u)) usage();
    if (!keys.empty() && keys.size() != 3) usage();
    auto vol = dcc::parse_uuid(pos[2]);
    if (!vol) throw dcc::Error(dcc::kExitUsage, "bad volume UUID " + pos[2]);
    char* end = nullptr;
    errno = 0;
    m.generation = std::strtoull(pos[3].c_str(), &end, 10);
    if (errno || pos[3].empty() || *end) throw dcc::Error(dcc::kExitUsage, "bad generation " + pos[3]);
    m.volume = *vol;
    m.site = pos[4];
    if (verb == "yield") m.to_site = pos[5];
    while (getrandom(&m.seq, sizeof(m.seq), 0) != ssize_t(sizeof(m.seq))) {
    }

    zmq::context_t ctx(1);
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    if (!keys.empty()) {
        s.set(zmq::sockopt::curve_serverkey, keys["server-key"]);
        s.set(zmq::sockopt::curve_publickey, keys["public-key"]);
        s.set(zmq::sockopt::curve_secretkey, keys["secret-key"]);
    }
    s.connect(pos[0]);
    std::vector<uint8_t> h = dcc::wire::encode(m);
    s.send(zmq::buffer(h), zmq::send_flags::none);

    using namespace std::chrono;
    auto deadline = steady_clock::now() + seconds(3);
    while (steady_clock::now() < deadline) {
        zmq::pollitem_t it{s.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&it, 1, duration_cast<milliseconds>(deadline - steady_clock::now()) + milliseconds(1));
        zmq::message_t f;
        if (!(it.revents & ZMQ_POLLIN) || !s.recv(f, zmq::recv_flags::dontwait)) continue;
        while (f.more()) (void)s.recv(f, zmq::recv_flags::dontwait);  // a witness sends one frame
        auto d = dcc::wire::decode({static_cast<const uint8_t*>(f.data()), f.size()}, 0);
        if (!d.msg) {
            std::fprintf(stderr, "dcctest: a bad answer: %s\n", d.error.c_str());
            continue;
        }
        const dcc::wire::Message& a = *d.msg;
        if (a.type != dcc::wire::Type::WAnswer || a.seq != m.seq || a.volume != m.volume) continue;
        std::string status = "granted";
        if (a.status) {
            const char* name = strerrorname_np(a.status);
            status = std::string("refused ") + (name ? name : "errno " + std::to_string(a.status));
        }
        std::printf("%s generation=%" PRIu64 " owner=%s arg=%" PRIu64 "\n", status.c_str(), a.generation,
                    a.site.c_str(), a.arg);
        return a.status ? 3 : 0;
    }
    std::fprintf(stderr, "dcctest: no answer from %s within 3 s\n", pos[0].c_str());
    return 1;
}

}  // namespace dcctest
