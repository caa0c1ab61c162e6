// SPDX-License-Identifier: GPL-2.0-only
// dccd --witness (daemon/witnessd.hpp) in-process over loopback: answers,
// records on disk before the answer, a restart that reads them back, a
// corrupt record that stops the start, requests in another site's name,
// and CURVE with the sites' keys; the fence (OUTDATE, UPTODATE) and a
// CLAIM it refuses.  Also the record's file format.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <thread>

#include "dcc/error.hpp"
#include "witness_record.hpp"
#include "witnessd.hpp"

using namespace dcc;
using namespace std::chrono;
namespace fs = std::filesystem;

namespace {

const Uuid kVol{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01};
const Uuid kOther{0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

// A witness's state directory (dccd --witness --init), or with @init
// false a bare one.
struct TempDir {
    std::string path;
    explicit TempDir(bool init = true) {
        char t[] = "/tmp/dcc-witnessd-XXXXXX";
        path = mkdtemp(t);
        if (init) init_witness_state(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

// A clock the test moves on.
std::atomic<int64_t> g_offset_ms{0};
WitnessOptions options() {
    WitnessOptions o;
    o.signals = false;
    o.clock = [] { return dcc::core::BootClock::now() + milliseconds(g_offset_ms.load()); };
    return o;
}

// A witness on its own thread; stopped and joined at the end of scope.
struct Running {
    Witnessd w;
    std::thread t;
    std::atomic<int> rc{-1};
    Running(const WitnessConfig& c) : w(c, options()) {
        t = std::thread([this] { rc = w.run(); });
    }
    ~Running() {
        w.stop();
        t.join();
    }
};

struct Client {
    zmq::context_t ctx{1};
    zmq::socket_t s{ctx, zmq::socket_type::dealer};
    uint64_t seq = 0;
    // Keys: {server, public, secret}, or none for plaintext.
    Client(const std::string& ep, const char* server = nullptr, const char* pub = nullptr,
           const char* sec = nullptr) {
        s.set(zmq::sockopt::linger, 0);
        if (server) {
            s.set(zmq::sockopt::curve_serverkey, server);
            s.set(zmq::sockopt::curve_publickey, pub);
            s.set(zmq::sockopt::curve_secretkey, sec);
        }
        s.connect(ep);
    }
    // One request; the answer, or nullopt after @wait.
    std::optional<wire::Message> ask(wire::Type t, const Uuid& vol, uint64_t gen, const std::string& site,
                                     const std::string& to = "", milliseconds wait = milliseconds(2000)) {
        wire::Message m;
        m.type = t;
        m.volume = vol;
        m.generation = gen;
        m.seq = ++seq;
        m.site = site;
        m.to_site = to;
        return send(m, wait);
    }
    std::optional<wire::Message> send(const wire::Message& m, milliseconds wait) {
        auto h = wire::encode(m);
        s.send(zmq::buffer(h), zmq::send_flags::none);
        auto end = steady_clock::now() + wait;
        while (steady_clock::now() < end) {
            zmq::pollitem_t it{s.handle(), 0, ZMQ_POLLIN, 0};
            zmq::poll(&it, 1, milliseconds(20));
            zmq::message_t f;
            if (!(it.revents & ZMQ_POLLIN) || !s.recv(f, zmq::recv_flags::dontwait)) continue;
            auto d = wire::decode({static_cast<const uint8_t*>(f.data()), f.size()}, 0);
            EXPECT_TRUE(d.msg) << d.error;
            if (!d.msg) return std::nullopt;
            EXPECT_EQ(d.msg->type, wire::Type::WAnswer);
            if (d.msg->seq == m.seq) return d.msg;
        }
        return std::nullopt;
    }
};

WitnessConfig insecure(const std::string& dir) {
    WitnessConfig c;
    c.listen = "tcp://127.0.0.1:*";
    c.insecure = true;
    c.state_dir = dir;
    c.lease_ms = 1000;
    c.sites = {{"a", ""}, {"b", ""}};
    return c;
}

// @body as a record file: its checksum line added.
std::string summed(const std::string& body) {
    char sum[32];
    std::snprintf(sum, sizeof(sum), "crc32=%08x\n",
                  crc32({reinterpret_cast<const uint8_t*>(body.data()), body.size()}));
    return body + sum;
}

std::string record_path(const std::string& dir, const Uuid& vol) {
    return dir + "/" + format_uuid(vol) + ".rec";
}

}  // namespace

TEST(WitnessRecord, FormatsAndParsesStrictly) {
    core::WitnessRecord r{7, "site-a", 8, "b"};
    std::string text = core::format_witness_record(kVol, r);
    EXPECT_EQ(text.substr(0, 21), "dcc-witness-record 2\n");
    std::string why;
    auto back = core::parse_witness_record(text, kVol, why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(back->generation, 7u);
    EXPECT_EQ(back->owner, "site-a");
    EXPECT_EQ(back->yield_generation, 8u);
    EXPECT_EQ(back->yield_to, "b");
    EXPECT_FALSE(back->outdated);
    EXPECT_EQ(back->epoch, 0u);
    ASSERT_TRUE(core::parse_witness_record(core::format_witness_record(kVol, {3, "a", 0, {}}), kVol, why));

    EXPECT_FALSE(core::parse_witness_record(text, kOther, why));
    EXPECT_NE(why.find("of volume"), std::string::npos) << why;
    std::string flipped = text;
    flipped[flipped.find("generation=7")+11] = '9';
    EXPECT_FALSE(core::parse_witness_record(flipped, kVol, why));
    EXPECT_EQ(why, "bad checksum");
    EXPECT_FALSE(core::parse_witness_record(text.substr(0, text.size() - 1), kVol, why));
    EXPECT_FALSE(core::parse_witness_record(text + "x\n", kVol, why));
    EXPECT_FALSE(core::parse_witness_record("", kVol, why));
    EXPECT_FALSE(core::parse_witness_record("dcc-witness-record 2\n", kVol, why));
    EXPECT_FALSE(core::parse_witness_record("dcc-witness-record 3\n", kVol, why));
    // Well summed but not a record the witness makes.
    for (core::WitnessRecord bad : {core::WitnessRecord{0, "a", 0, {}}, core::WitnessRecord{3, "", 0, {}},
                                    core::WitnessRecord{3, "a", 5, "b"}, core::WitnessRecord{3, "a", 4, "a"},
                                    core::WitnessRecord{3, "a", 0, "b"}, core::WitnessRecord{3, "a b", 0, {}},
                                    core::WitnessRecord{3, "a", 0, {}, true, 0}})
        EXPECT_FALSE(core::parse_witness_record(core::format_witness_record(kVol, bad), kVol, why))
            << core::format_witness_record(kVol, bad);
}

// The fence and its epoch: a line each, both kept through a round trip.
TEST(WitnessRecord, KeepsTheFenceAndItsEpoch) {
    core::WitnessRecord r{7, "site-a", 8, "b", true, 12};
    std::string text = core::format_witness_record(kVol, r);
    EXPECT_NE(text.find("\nyield_to=b\noutdated=1\nepoch=12\ncrc32="), std::string::npos) << text;
    std::string why;
    auto back = core::parse_witness_record(text, kVol, why);
    ASSERT_TRUE(back) << why;
    EXPECT_TRUE(back->outdated);
    EXPECT_EQ(back->epoch, 12u);
    EXPECT_EQ(back->generation, 7u);
    EXPECT_EQ(back->yield_to, "b");
    r.outdated = false;  // lifted: the epoch stays
    back = core::parse_witness_record(core::format_witness_record(kVol, r), kVol, why);
    ASSERT_TRUE(back) << why;
    EXPECT_FALSE(back->outdated);
    EXPECT_EQ(back->epoch, 12u);

    // Lines the witness does not write, each with a right sum.
    const std::string head = "dcc-witness-record 2\nvolume=" + format_uuid(kVol) +
                             "\ngeneration=7\nowner=a\nyield_generation=0\nyield_to=\n";
    ASSERT_TRUE(core::parse_witness_record(summed(head + "outdated=1\nepoch=3\n"), kVol, why)) << why;
    for (const char* bad : {"outdated=2\nepoch=3\n", "outdated=\nepoch=3\n", "outdated=01\nepoch=3\n",
                            "outdated=1\nepoch=0\n", "outdated=0\nepoch=\n", "outdated=0\nepoch=07\n",
                            "outdated=0\nepoch=-1\n", "epoch=3\noutdated=1\n", "outdated=0\n",
                            "outdated=0\nepoch=1\nepoch=1\n"}) {
        EXPECT_FALSE(core::parse_witness_record(summed(head + bad), kVol, why)) << bad;
        EXPECT_FALSE(why.empty());
    }
    EXPECT_FALSE(core::parse_witness_record(summed(head + "outdated=0\nepoch=1\n").substr(1), kVol, why));
}

// A record written before the fence (version 1) is read as one without
// it, so that a witness upgraded in place keeps its records; one of
// version 1 with the new lines is not a record the witness wrote.
TEST(WitnessRecord, ReadsVersion1AsUnfenced) {
    const std::string v1 = "dcc-witness-record 1\nvolume=" + format_uuid(kVol) +
                           "\ngeneration=7\nowner=site-a\nyield_generation=8\nyield_to=b\n";
    std::string why;
    auto r = core::parse_witness_record(summed(v1), kVol, why);
    ASSERT_TRUE(r) << why;
    EXPECT_EQ(r->generation, 7u);
    EXPECT_EQ(r->owner, "site-a");
    EXPECT_EQ(r->yield_generation, 8u);
    EXPECT_EQ(r->yield_to, "b");
    EXPECT_FALSE(r->outdated);
    EXPECT_EQ(r->epoch, 0u);
    EXPECT_FALSE(core::parse_witness_record(summed(v1 + "outdated=0\nepoch=0\n"), kVol, why));
    std::string v2 = v1;
    v2[19] = '2';
    EXPECT_FALSE(core::parse_witness_record(summed(v2), kVol, why)) << "version 2 without the fence";
    std::string flipped = summed(v1);
    flipped[flipped.find("generation=7") + 11] = '9';
    EXPECT_FALSE(core::parse_witness_record(flipped, kVol, why));
    EXPECT_EQ(why, "bad checksum");
}

TEST(Witnessd, GrantsRefusesAndRemembers) {
    TempDir dir;
    WitnessConfig cfg = insecure(dir.path);
    {
        Running r(cfg);
        Client c(r.w.endpoint());
        auto a = c.ask(wire::Type::WRenew, kVol, 3, "a");
        ASSERT_TRUE(a);
        EXPECT_EQ(a->status, 0);
        EXPECT_EQ(a->generation, 3u);
        EXPECT_EQ(a->site, "a");
        EXPECT_EQ(a->arg, 1000u);
        EXPECT_EQ(a->volume, kVol);
        EXPECT_TRUE(fs::exists(record_path(dir.path, kVol)));

        auto early = c.ask(wire::Type::WClaim, kVol, 4, "b");
        ASSERT_TRUE(early);
        EXPECT_EQ(early->status, EBUSY);
        EXPECT_EQ(early->generation, 3u);
        EXPECT_EQ(early->site, "a");
        EXPECT_GT(early->arg, 0u);
        EXPECT_LE(early->arg, 1000u);

        g_offset_ms += 1100;  // a's lease ended
        auto late = c.ask(wire::Type::WClaim, kVol, 4, "b");
        ASSERT_TRUE(late);
        EXPECT_EQ(late->status, 0);
        EXPECT_EQ(late->generation, 4u);
        EXPECT_EQ(late->site, "b");

        // A site the witness does not serve changes nothing.
        auto stranger = c.ask(wire::Type::WRenew, kOther, 1, "c");
        ASSERT_TRUE(stranger);
        EXPECT_EQ(stranger->status, EACCES);
        EXPECT_FALSE(fs::exists(record_path(dir.path, kOther)));
        auto to_stranger = c.ask(wire::Type::WYield, kVol, 5, "b", "c");
        ASSERT_TRUE(to_stranger);
        EXPECT_EQ(to_stranger->status, EACCES);

        // What is not a witness request gets no answer.
        wire::Message ans;
        ans.type = wire::Type::WAnswer;
        ans.volume = kVol;
        ans.seq = 99;
        EXPECT_FALSE(c.send(ans, milliseconds(200)));
    }
    // Started again on the same directory: the record is back, and every
    // lease counts as held for a full length.
    Running r(cfg);
    EXPECT_EQ(r.w.records(), 1u);
    Client c(r.w.endpoint());
    auto old = c.ask(wire::Type::WRenew, kVol, 3, "a");
    ASSERT_TRUE(old);
    EXPECT_EQ(old->status, EPERM);
    EXPECT_EQ(old->generation, 4u);
    EXPECT_EQ(old->site, "b");
    auto claim = c.ask(wire::Type::WClaim, kVol, 5, "a");
    ASSERT_TRUE(claim);
    EXPECT_EQ(claim->status, EBUSY);
    EXPECT_EQ(claim->generation, 4u);
}

// An owner that goes on alone fences its replica: the replica's CLAIM is
// refused with ESTALE, after the lease too and after a restart of the
// witness, until the owner lifts the fence with its epoch.
TEST(Witnessd, AFenceRefusesClaimsUntilLiftedAndOutlivesARestart) {
    TempDir dir;
    WitnessConfig cfg = insecure(dir.path);
    auto uptodate = [](Client& c, uint64_t epoch) {
        wire::Message m;
        m.type = wire::Type::WUptodate;
        m.volume = kVol;
        m.generation = 3;
        m.seq = ++c.seq;
        m.site = "a";
        m.region = epoch;
        return c.send(m, milliseconds(2000));
    };
    {
        Running r(cfg);
        Client c(r.w.endpoint());
        ASSERT_TRUE(c.ask(wire::Type::WRenew, kVol, 3, "a"));
        auto out = c.ask(wire::Type::WOutdate, kVol, 3, "a");
        ASSERT_TRUE(out);
        EXPECT_EQ(out->status, 0);
        EXPECT_EQ(out->generation, 3u);
        EXPECT_EQ(out->site, "a");
        EXPECT_EQ(out->region, 1u) << "the fence's epoch";
        auto not_b = c.ask(wire::Type::WOutdate, kVol, 3, "b");
        ASSERT_TRUE(not_b);
        EXPECT_EQ(not_b->status, EPERM);
        EXPECT_EQ(not_b->region, 1u);

        g_offset_ms += 1100;  // a's lease ended
        auto claim = c.ask(wire::Type::WClaim, kVol, 4, "b");
        ASSERT_TRUE(claim);
        EXPECT_EQ(claim->status, ESTALE);
        EXPECT_EQ(claim->generation, 3u);
        EXPECT_EQ(claim->site, "a");
        EXPECT_EQ(claim->region, 1u);
        auto renew = c.ask(wire::Type::WRenew, kVol, 3, "a");
        ASSERT_TRUE(renew);
        EXPECT_EQ(renew->status, 0);
        EXPECT_EQ(renew->region, 1u) << "every answer carries the fence";
    }
    std::string why;
    std::ifstream f(record_path(dir.path, kVol));
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto disk = core::parse_witness_record(text, kVol, why);
    ASSERT_TRUE(disk) << why;
    EXPECT_TRUE(disk->outdated);
    EXPECT_EQ(disk->epoch, 1u);

    Running r(cfg);
    Client c(r.w.endpoint());
    auto claim = c.ask(wire::Type::WClaim, kVol, 4, "b");
    ASSERT_TRUE(claim);
    EXPECT_EQ(claim->status, ESTALE) << "the fence comes back from disk";
    auto stale = uptodate(c, 2);
    ASSERT_TRUE(stale);
    EXPECT_EQ(stale->status, EPERM) << "not the last OUTDATE's epoch";
    EXPECT_EQ(stale->region, 1u);
    auto up = uptodate(c, 1);
    ASSERT_TRUE(up);
    EXPECT_EQ(up->status, 0);
    EXPECT_EQ(up->region, 0u) << "lifted";
    auto again = uptodate(c, 1);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 0);

    g_offset_ms += 1100;  // the lease a restarted witness counts as held
    claim = c.ask(wire::Type::WClaim, kVol, 4, "b");
    ASSERT_TRUE(claim);
    EXPECT_EQ(claim->status, 0);
    EXPECT_EQ(claim->generation, 4u);
    EXPECT_EQ(claim->site, "b");
    EXPECT_EQ(claim->region, 0u);
    // The next OUTDATE, at b's generation, takes the next epoch.
    ASSERT_TRUE(c.ask(wire::Type::WRenew, kVol, 4, "b"));
    auto next = c.ask(wire::Type::WOutdate, kVol, 4, "b");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 0);
    EXPECT_EQ(next->region, 2u);
}

TEST(Witnessd, ACorruptRecordStopsTheStart) {
    TempDir dir;
    WitnessConfig cfg = insecure(dir.path);
    {
        Running r(cfg);
        Client c(r.w.endpoint());
        ASSERT_TRUE(c.ask(wire::Type::WRenew, kVol, 3, "a"));
    }
    std::string path = record_path(dir.path, kVol);
    {
        std::fstream f(path, std::ios::in | std::ios::out);
        f.seekp(30);
        f.put('X');
    }
    try {
        Witnessd w(cfg, options());
        FAIL() << "started with a corrupt record";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(path + ": corrupt witness record"), std::string::npos) << e.what();
    }
    fs::remove(path);
    std::ofstream(dir.path + "/NOT-A-UUID.rec") << "x";
    EXPECT_THROW({ Witnessd w(cfg, options()); }, Error);
}

// A state directory that is not there, or is not marked (an empty mount
// point: a disk not mounted): the witness does not start and writes
// nothing there, rather than start without its records.
TEST(Witnessd, AMissingOrUnmarkedStateDirectoryStopsTheStart) {
    TempDir dir(false);
    auto refused = [](const std::string& d, const std::string& want) {
        try {
            Witnessd w(insecure(d), options());
            ADD_FAILURE() << "started in " << d;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), kExitUsage);
            EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
        }
    };
    const std::string missing = dir.path + "/not-mounted";
    refused(missing, missing + " does not exist");
    EXPECT_FALSE(fs::exists(missing));
    refused(dir.path, dir.path + " is not a witness's state directory");
    EXPECT_TRUE(fs::is_empty(dir.path)) << "it wrote in a directory it refused";

    // --init makes one (a missing directory too), once.
    init_witness_state(missing);
    EXPECT_TRUE(fs::exists(missing + "/" + kWitnessMarker));
    EXPECT_NO_THROW({ Witnessd w(insecure(missing), options()); });
    try {
        init_witness_state(missing);
        ADD_FAILURE() << "initialised twice";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), kExitRefused);
    }
    // Records without the marker: refused too, nothing changed.
    const std::string stray = dir.path + "/stray";
    fs::create_directory(stray);
    std::ofstream(stray + "/" + format_uuid(kVol) + ".rec") << "x";
    EXPECT_THROW(init_witness_state(stray), Error);
    EXPECT_FALSE(fs::exists(stray + "/" + kWitnessMarker));
}

// A record that cannot be written: no answer, and the witness ends.
TEST(Witnessd, StopsWhenARecordCannotBeWritten) {
    TempDir dir;
    WitnessConfig cfg = insecure(dir.path);
    Running r(cfg);
    // Where the record is written first, a directory: nothing opens it for writing.
    fs::create_directory(dir.path + "/." + format_uuid(kVol) + ".rec.tmp");
    Client c(r.w.endpoint());
    EXPECT_FALSE(c.ask(wire::Type::WRenew, kVol, 3, "a", "", milliseconds(500)));
    for (int i = 0; i < 100 && r.rc < 0; i++) std::this_thread::sleep_for(milliseconds(10));
    EXPECT_NE(r.rc.load(), 0);
    EXPECT_FALSE(fs::exists(record_path(dir.path, kVol)));
}

TEST(Witnessd, CurveAdmitsOnlyTheSitesAndInTheirOwnName) {
    char wpub[41], wsec[41], apub[41], asec[41], bpub[41], bsec[41], xpub[41], xsec[41];
    for (auto [p, s] : {std::pair{wpub, wsec}, {apub, asec}, {bpub, bsec}, {xpub, xsec}})
        ASSERT_EQ(zmq_curve_keypair(p, s), 0);
    TempDir dir;
    WitnessConfig cfg;
    cfg.listen = "tcp://127.0.0.1:*";
    cfg.secret_key = wsec;
    cfg.public_key = wpub;
    cfg.state_dir = dir.path;
    cfg.lease_ms = 1000;
    cfg.sites = {{"a", apub}, {"b", bpub}};
    Running r(cfg);

    Client a(r.w.endpoint(), wpub, apub, asec);
    auto ok = a.ask(wire::Type::WRenew, kVol, 3, "a");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 0);
    auto as_b = a.ask(wire::Type::WRenew, kOther, 1, "b");
    ASSERT_TRUE(as_b);
    EXPECT_EQ(as_b->status, EACCES);
    EXPECT_FALSE(fs::exists(record_path(dir.path, kOther)));

    Client stranger(r.w.endpoint(), wpub, xpub, xsec);
    EXPECT_FALSE(stranger.ask(wire::Type::WRenew, kOther, 1, "a", "", milliseconds(300)));
    Client plain(r.w.endpoint());
    EXPECT_FALSE(plain.ask(wire::Type::WRenew, kOther, 1, "a", "", milliseconds(300)));
    EXPECT_FALSE(fs::exists(record_path(dir.path, kOther)));
}
