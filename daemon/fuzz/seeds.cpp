// SPDX-License-Identifier: GPL-2.0-only
// Writes the seed corpus for wire_fuzz: one valid message of each type.
#include <cstdio>
#include <fstream>

#include "wire.hpp"

int main(int argc, char** argv) {
    using namespace dcc::wire;
    if (argc != 2) return 2;
    std::vector<Message> all;
    Message m;
    m.type = Type::Hello;
    m.site = "site-A";
    all.push_back(m);
    m.type = Type::HelloAck;
    all.push_back(m);
    Message v;
    v.volume = *dcc::parse_uuid("0123456789abcdef0123456789abcdef");
    v.seq = 5;
    v.generation = 2;
    v.region = 77;
    v.type = Type::Attach;
    v.info = {128, 16384, 2};
    all.push_back(v);
    v.type = Type::AttachAck;
    all.push_back(v);
    Message inv = v;
    inv.type = Type::InvalidSet;
    inv.part = 1;
    inv.parts = 2;
    inv.arg = 103;
    inv.from = 42;
    inv.to = 43;
    inv.ranges = {{0, 100}, {200, 3}};
    all.push_back(inv);
    Message ho = inv;
    ho.type = Type::Handover;
    all.push_back(ho);
    for (Type t : {Type::HandoverAck, Type::HandoverAsk, Type::Progress}) {
        Message x = v;
        x.type = t;
        all.push_back(x);
    }
    for (Type t : {Type::Ping, Type::Pong, Type::SyncOpen, Type::SyncOpenAck}) {
        Message p;
        p.type = t;
        all.push_back(p);
    }
    for (Type t : {Type::Fetch, Type::FetchReply, Type::Push, Type::PushAck, Type::Pull,
                   Type::PullReply}) {
        Message x = v;
        x.type = t;
        all.push_back(x);
    }
    Message sw = v;
    sw.type = Type::SyncWrite;
    sw.arg = 77 * 128 + 8;
    all.push_back(sw);
    sw.type = Type::SyncAck;
    sw.arg = 0;
    all.push_back(sw);
    Message mode = v;
    mode.type = Type::Mode;
    mode.arg = 1;
    all.push_back(mode);
    Message detach = v;
    detach.type = Type::Detach;
    all.push_back(detach);
    for (Type t : {Type::WRenew, Type::WClaim, Type::WYield, Type::WAnswer, Type::WOutdate,
                   Type::WUptodate}) {
        Message w = v;
        w.type = t;
        w.region = 0;
        w.site = "site-A";
        if (t == Type::WYield) w.to_site = "site-B";
        if (t == Type::WAnswer) w.arg = 3000, w.region = 1;  // a fenced record
        if (t == Type::WUptodate) w.region = 1;              // the epoch it lifts
        all.push_back(w);
    }
    int i = 0;
    for (const Message& x : all) {
        auto b = encode(x);
        std::ofstream f(std::string(argv[1]) + "/seed-" + type_name(x.type));
        char frames = has_payload(x.type) ? 1 : 0;
        f.write(&frames, 1);
        f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
        i++;
    }
    std::printf("%d seeds\n", i);
    return 0;
}
