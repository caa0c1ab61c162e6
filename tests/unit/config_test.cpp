// SPDX-License-Identifier: GPL-2.0-only
#include <unistd.h>

#include <gtest/gtest.h>

#include "config.hpp"
#include "log.hpp"
#include "zmq_util.hpp"
#include "dcc/error.hpp"

using namespace dcc;

namespace {

const char* kKeys = R"(
secret_key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
public_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
peer_public_key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
)";

std::string base(const std::string& extra = "") {
    return std::string("site = \"A\"\nlisten = \"tcp://0.0.0.0:7788\"\nlisten_bulk = \"tcp://0.0.0.0:7789\"\n"
                       "peer = \"tcp://10.0.0.2:7788\"\npeer_bulk = \"tcp://10.0.0.2:7789\"\n") +
           kKeys + extra;
}

std::string error_of(const std::string& text) {
    try {
        parse_config(text, "dccd.toml");
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), kExitUsage);
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Config, DefaultsAndValues) {
    Config c = parse_config(base("replication_rate = \"32M\"\nreplication_window = 4\n"), "x");
    EXPECT_EQ(c.site, "A");
    EXPECT_EQ(c.peer_bulk, "tcp://10.0.0.2:7789");
    EXPECT_EQ(c.rate, 32u << 20);
    EXPECT_EQ(c.window, 4u);
    EXPECT_FALSE(c.insecure);
    EXPECT_EQ(c.heartbeat_ms, 1000u);
    EXPECT_EQ(c.control_socket, "/run/dcc/dccd.sock");
    EXPECT_EQ(c.hydration_rate, Config::kUnlimited);
    EXPECT_EQ(c.warm_regions, 4096u);
    EXPECT_EQ(parse_config(base("warm_regions = 0\n"), "x").warm_regions, 0u);
}

// Background pulls: unlimited (the default), off, or a rate of at least 1M.
TEST(Config, HydrationRate) {
    EXPECT_EQ(parse_config(base("hydration_rate = \"16M\"\n"), "x").hydration_rate, 16u << 20);
    EXPECT_EQ(parse_config(base("hydration_rate = 2000000\n"), "x").hydration_rate, 2000000u);
    EXPECT_EQ(parse_config(base("hydration_rate = \"off\"\n"), "x").hydration_rate, 0u);
    EXPECT_EQ(parse_config(base("hydration_rate = \"unlimited\"\n"), "x").hydration_rate, Config::kUnlimited);
    for (const char* v : {"0", "\"1k\"", "\"none\"", "\"\"", "-1", "true", "1.5"})
        EXPECT_EQ(error_of(base(std::string("hydration_rate = ") + v + "\n")),
                  "dccd.toml:10: 'hydration_rate' must be \"unlimited\", \"off\" or at least 1M (bytes per "
                  "second)")
            << v;
}

TEST(Config, InsecureNeedsNoKeys) {
    std::string t = "site = \"B\"\nlisten = \"tcp://127.0.0.1:1\"\nlisten_bulk = \"tcp://127.0.0.1:2\"\n"
                    "peer = \"tcp://h:1\"\npeer_bulk = \"tcp://h:2\"\ninsecure = true\n";
    EXPECT_TRUE(parse_config(t, "x").insecure);
}

// L6: plaintext off loopback only when said twice.
TEST(Config, InsecureOffLoopbackMustBeSaidTwice) {
    std::string t = "site = \"B\"\nlisten = \"tcp://*:1\"\nlisten_bulk = \"tcp://127.0.0.1:2\"\n"
                    "peer = \"tcp://h:1\"\npeer_bulk = \"tcp://h:2\"\ninsecure = true\n";
    EXPECT_NE(error_of(t).find("dccd.toml:6: 'insecure' with 'listen' off loopback"), std::string::npos)
        << error_of(t);
    EXPECT_TRUE(parse_config(t + "insecure_network = true\n", "x").insecure);
}

TEST(Config, ClearErrorsWithTheLine) {
    EXPECT_EQ(error_of(base("frobnicate = 1\n")), "dccd.toml:10: unknown key 'frobnicate'");
    EXPECT_EQ(error_of("site = \"A\"\n"), "dccd.toml: missing key 'listen'");
    EXPECT_NE(error_of(base("replication_window = 0\n")).find("from 1 to 256"), std::string::npos);
    EXPECT_NE(error_of(base("warm_regions = 16777217\n")).find("from 0 to 16777216"), std::string::npos);
    EXPECT_NE(error_of(base("warm_regions = -1\n")).find("warm_regions"), std::string::npos);
    EXPECT_NE(error_of(base("replication_rate = \"1k\"\n")).find("at least 1M"), std::string::npos);
    EXPECT_NE(error_of(base("heartbeat_ms = 1000\nlink_timeout_ms = 1500\n")).find("twice"),
              std::string::npos);
    EXPECT_NE(error_of(base("insecure = \"yes\"\n")).find("true or false"), std::string::npos);
    EXPECT_NE(error_of("site = \n").find("dccd.toml:1:"), std::string::npos);  // TOML syntax
    std::string bad_key = base();
    bad_key.replace(bad_key.find("JTKV"), 4, "JT K");
    EXPECT_NE(error_of(bad_key).find("Z85"), std::string::npos);
    std::string bad_ep = base();
    bad_ep.replace(bad_ep.find("tcp://10.0.0.2:7788"), 19, "udp://10.0.0.2:7788");
    EXPECT_NE(error_of(bad_ep).find("tcp://HOST:PORT"), std::string::npos);
    std::string bad_site = base();
    bad_site.replace(0, 10, "site = \"A B\"");
    EXPECT_NE(error_of(bad_site).find("'site'"), std::string::npos);
}

// What only shows later as refused handshakes or a link to itself.
TEST(Config, KeysAndEndpointsThatCannotWork) {
    std::string own = base();
    own.replace(own.find("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"), 40, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    EXPECT_NE(error_of(own).find("dccd.toml:9: 'peer_public_key' is this site's own"), std::string::npos)
        << error_of(own);
    std::string loop = base();
    loop.replace(loop.find("tcp://10.0.0.2:7788"), 19, "tcp://0.0.0.0:7788");
    EXPECT_NE(error_of(loop).find("'peer' is the same endpoint as 'listen'"), std::string::npos) << error_of(loop);
    std::string one = base();
    one.replace(one.find("tcp://0.0.0.0:7789"), 18, "tcp://0.0.0.0:7788");
    EXPECT_NE(error_of(one).find("'listen_bulk' is the same endpoint as 'listen'"), std::string::npos)
        << error_of(one);
    EXPECT_EQ(error_of(base()), "");

    // The key pair (dccd checks it before it starts, and with --check).
    EXPECT_FALSE(key_pair_mismatch("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6",
                                   "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", "f"));
    auto why = key_pair_mismatch("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6",
                                 "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", "dccd.toml");
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("dccd.toml: 'public_key' is not the public key of 'secret_key'"), std::string::npos) << *why;
}

TEST(Config, Witness) {
    Config none = parse_config(base(), "x");
    EXPECT_TRUE(none.witness.empty());
    EXPECT_EQ(none.lease_ms, 5000u);
    EXPECT_EQ(none.lease_margin_ms, 200u);
    Config c = parse_config(base("witness = \"tcp://10.0.1.3:7790\"\n"
                                 "witness_public_key = \"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hIE\"\n"
                                 "lease_ms = 8000\n"),
                            "x");
    EXPECT_EQ(c.witness, "tcp://10.0.1.3:7790");
    EXPECT_EQ(c.lease_ms, 8000u);
    EXPECT_EQ(error_of(base("witness = \"tcp://10.0.1.3:7790\"\n")),
              "dccd.toml: missing key 'witness_public_key'");
    EXPECT_EQ(error_of(base("witness = \"10.0.1.3\"\n")),
              "dccd.toml:10: 'witness' must be tcp://HOST:PORT");
    EXPECT_EQ(error_of(base("witness = \"tcp://10.0.0.2:7788\"\n")),
              "dccd.toml:10: 'witness' must be a third site's endpoint");
    EXPECT_EQ(error_of(base("witness_public_key = \"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hIE\"\n")),
              "dccd.toml:10: 'witness_public_key' without 'witness'");
    EXPECT_EQ(error_of(base("lease_ms = 2000\n")),
              "dccd.toml: 'lease_ms' must be at least three times 'heartbeat_ms'");
    EXPECT_EQ(error_of(base("lease_margin_ms = 2000\n")),
              "dccd.toml: 'lease_margin_ms' must be at most a quarter of 'lease_ms'");
}

// on_peer_loss: for every sync volume, and per volume in [volume.NAME];
// "continue" needs a witness; every bad value names its line.
TEST(Config, OnPeerLoss) {
    const std::string w = "witness = \"tcp://10.0.1.3:7790\"\n"
                          "witness_public_key = \"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hIE\"\n";
    Config none = parse_config(base(), "x");
    EXPECT_EQ(none.on_peer_loss_of("vm1"), "suspend");
    Config c = parse_config(base(w + "on_peer_loss = \"continue\"\n[volume.vm2]\non_peer_loss = \"suspend\"\n"
                                     "[volume.\"vm-3\"]\non_peer_loss = \"continue\"\n"),
                            "x");
    EXPECT_EQ(c.on_peer_loss_of("vm1"), "continue");
    EXPECT_EQ(c.on_peer_loss_of("vm2"), "suspend");
    EXPECT_EQ(c.on_peer_loss_of("vm-3"), "continue");
    Config one = parse_config(base(w + "[volume.db]\non_peer_loss = \"continue\"\n"), "x");
    EXPECT_EQ(one.on_peer_loss_of("db"), "continue");
    EXPECT_EQ(one.on_peer_loss_of("vm1"), "suspend");

    EXPECT_EQ(error_of(base("on_peer_loss = \"go\"\n")),
              "dccd.toml:10: 'on_peer_loss' must be \"suspend\" or \"continue\"");
    EXPECT_EQ(error_of(base("on_peer_loss = \"continue\"\n")),
              "dccd.toml: 'on_peer_loss = \"continue\"' needs a 'witness' (the replica is fenced "
              "there before the owner goes on alone)");
    EXPECT_EQ(error_of(base("[volume.db]\non_peer_loss = \"continue\"\n")),
              "dccd.toml: 'on_peer_loss = \"continue\"' needs a 'witness' (the replica is fenced "
              "there before the owner goes on alone)");
    EXPECT_EQ(error_of(base(w + "[volume.db]\non_peer_los = \"continue\"\n")),
              "dccd.toml:13: unknown key 'on_peer_los' in [volume.db]");
    EXPECT_EQ(error_of(base(w + "[volume.db]\non_peer_loss = 1\n")),
              "dccd.toml:13: 'volume.db.on_peer_loss' must be \"suspend\" or \"continue\"");
    EXPECT_EQ(error_of(base(w + "volume = 3\n")), "dccd.toml:12: 'volume' must be tables: [volume.NAME]");
    EXPECT_EQ(error_of(base(w + "[volume]\ndb = 1\n")), "dccd.toml:13: 'volume.db' must be a table");
    EXPECT_EQ(error_of(base(w + "[volume.\"a/b\"]\non_peer_loss = \"continue\"\n")).substr(0, 40),
              "dccd.toml:12: [volume.a/b]: not a device");

    // SIGHUP takes it at once, with the witness there.
    Config w1 = parse_config(base(w), "x");
    Reload r = reload_config(w1, c);
    ASSERT_EQ(r.applied.size(), 1u);
    EXPECT_TRUE(r.restart.empty());
    EXPECT_EQ(r.applied[0], "on_peer_loss: suspend -> continue (and per volume)");
    EXPECT_EQ(r.config.on_peer_loss_of("vm2"), "suspend");
    EXPECT_EQ(r.config.on_peer_loss_of("vm1"), "continue");
    // Without it (a new witness waits for a restart): not taken.
    Reload r2 = reload_config(none, c);
    EXPECT_TRUE(r2.applied.empty());
    EXPECT_EQ(r2.restart, (std::vector<std::string>{"on_peer_loss", "witness"}));
    EXPECT_EQ(r2.config.on_peer_loss_of("vm1"), "suspend");
}

// dccd's lines carry their syslog priority only when stderr is the stream
// systemd named in JOURNAL_STREAM (journald strips it), never elsewhere.
// The secret key in a file of its own: one of the two, an absolute path;
// the file holds the key alone or dccd keygen's output, and only its
// owner, dccd's user, may read it.
TEST(Config, SecretKeyFile) {
    std::string keys = kKeys;
    std::string no_secret = keys.substr(keys.find("public_key"));
    std::string head = base().substr(0, base().find("secret_key"));
    Config c = parse_config(head + no_secret + "secret_key_file = \"/etc/dcc/dccd.key\"\n", "x");
    EXPECT_EQ(c.secret_key_file, "/etc/dcc/dccd.key");
    EXPECT_EQ(c.secret_key, "") << "the caller loads it";
    EXPECT_NE(error_of(base("secret_key_file = \"/etc/dcc/dccd.key\"\n")).find("give one"), std::string::npos);
    EXPECT_NE(error_of(head + no_secret + "secret_key_file = \"dccd.key\"\n").find("absolute path"),
              std::string::npos);
    EXPECT_NE(error_of(head + no_secret).find("secret_key"), std::string::npos) << "neither";

    const std::string key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
    EXPECT_EQ(secret_key_of_file(key + "\n"), key);
    EXPECT_EQ(secret_key_of_file("  " + key + "  \r\n"), key);
    EXPECT_EQ(secret_key_of_file("public_key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\nsecret_key = \"" + key +
                                 "\"\n"),
              key)
        << "dccd keygen's output";
    const std::string with_eq = "=TKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh=";
    EXPECT_EQ(secret_key_of_file(with_eq + "\n"), with_eq) << "'=' is a Z85 character";
    EXPECT_EQ(secret_key_of_file("secret_key = \"" + with_eq + "\"\n"), with_eq);
    EXPECT_EQ(secret_key_of_file(""), std::nullopt);
    EXPECT_EQ(secret_key_of_file(key.substr(1)), std::nullopt) << "39 characters";
    EXPECT_EQ(secret_key_of_file("secret_key = \"" + key + "\"\nsecret_key = \"" + key + "\"\n"), std::nullopt)
        << "twice";
    EXPECT_EQ(secret_key_of_file("public_key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n"), std::nullopt);

    EXPECT_EQ(key_file_problem("/k", 0100600, 0, 0), std::nullopt);
    EXPECT_EQ(key_file_problem("/k", 0100400, 0, 0), std::nullopt);
    EXPECT_EQ(*key_file_problem("/k", 0100644, 0, 0), "/k may be read or written by others (mode 0644): chmod 600 /k");
    EXPECT_NE(key_file_problem("/k", 0100640, 0, 0), std::nullopt) << "the group too";
    EXPECT_NE(key_file_problem("/k", 0100600, 1000, 0)->find("belongs to uid 1000"), std::string::npos);
    EXPECT_NE(key_file_problem("/k", 0040700, 0, 0)->find("not a regular file"), std::string::npos);
}

// SIGHUP: the rate and window are taken; every other change is named and
// waits for a restart; nothing changed says nothing.
TEST(Config, Reload) {
    Config run = parse_config(base(), "x");
    Reload same = reload_config(run, run);
    EXPECT_TRUE(same.applied.empty());
    EXPECT_TRUE(same.restart.empty());

    Config fresh = parse_config(base("replication_rate = \"8M\"\nreplication_window = 2\nlease_ms = 9000\n"
                                     "handover_timeout_ms = 5000\nwarm_regions = 16\n"),
                                "x");
    fresh.peer = "tcp://10.0.0.3:7788";
    Reload r = reload_config(run, fresh);
    EXPECT_EQ(r.config.rate, 8u << 20);
    EXPECT_EQ(r.config.window, 2u);
    EXPECT_EQ(r.config.warm_regions, 16u);
    ASSERT_EQ(r.applied.size(), 3u);
    EXPECT_EQ(r.applied[0], "replication_rate: 67108864 -> 8388608 bytes/s");
    EXPECT_EQ(r.applied[1], "replication_window: 8 -> 2");
    EXPECT_EQ(r.applied[2], "warm_regions: 4096 -> 16");
    EXPECT_EQ(r.restart, (std::vector<std::string>{"peer", "handover_timeout_ms", "lease_ms"}));
    // What waits for a restart is not taken.
    EXPECT_EQ(r.config.peer, run.peer);
    EXPECT_EQ(r.config.lease_ms, run.lease_ms);
    EXPECT_EQ(r.config.handover_timeout_ms, run.handover_timeout_ms);

    // hydration_rate is taken at once, in each direction.
    Config off = parse_config(base("hydration_rate = \"off\"\n"), "x");
    Reload o = reload_config(run, off);
    EXPECT_EQ(o.config.hydration_rate, 0u);
    EXPECT_EQ(o.applied, (std::vector<std::string>{"hydration_rate: unlimited -> off"}));
    EXPECT_TRUE(o.restart.empty());
    Config two = parse_config(base("hydration_rate = \"2M\"\n"), "x");
    EXPECT_EQ(reload_config(off, two).applied, (std::vector<std::string>{"hydration_rate: off -> 2097152 bytes/s"}));
    EXPECT_EQ(reload_config(two, run).applied,
              (std::vector<std::string>{"hydration_rate: 2097152 bytes/s -> unlimited"}));
}

TEST(Log, PrioritiesOnlyOnJournaldsStream) {
    struct stat st {};
    ASSERT_EQ(stat("/", &st), 0);
    std::string me = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    EXPECT_TRUE(journal_stream(me.c_str(), st));
    std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
    EXPECT_FALSE(journal_stream(other.c_str(), st)) << "stderr redirected elsewhere under systemd";
    EXPECT_FALSE(journal_stream((me + "x").c_str(), st));
    EXPECT_FALSE(journal_stream("", st));
    EXPECT_FALSE(journal_stream(nullptr, st));
}

// A line is put together whole before it is written: short, and longer
// than log_line's buffer.
TEST(Log, LinesWhole) {
    std::fflush(stderr);
    FILE* tmp = std::tmpfile();
    ASSERT_NE(tmp, nullptr);
    int saved = dup(2);
    ASSERT_GE(saved, 0);
    ASSERT_EQ(dup2(fileno(tmp), 2), 2);
    std::string big(3000, 'x');
    log_info("%s: %d", "short", 42);
    log_warn("long %s end", big.c_str());
    std::fflush(stderr);
    dup2(saved, 2);
    close(saved);
    std::rewind(tmp);
    std::string got;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), tmp)) > 0) got.append(buf, n);
    std::fclose(tmp);
    std::string want = "dccd: short: 42\ndccd: warning: long " + big + " end\n";
    if (log_to_journal()) {
        EXPECT_NE(got.find("short: 42"), std::string::npos);
    } else if (log_with_time()) {
        EXPECT_NE(got.find("dccd: warning: long " + big + " end\n"), std::string::npos);
    } else {
        EXPECT_EQ(got, want);
    }
}

// A peer that comes back with another setup is named at once; the same
// refusal over and over is not, nor a bare failure right after a named one.
TEST(Log, RefusedHandshakes) {
    using namespace std::chrono_literals;
    RefusalLog log;
    auto t = std::chrono::steady_clock::time_point{} + 1h;
    EXPECT_TRUE(log.take(false, "the handshake failed", t)) << "the first is logged";
    EXPECT_FALSE(log.take(false, "the handshake failed", t + 1s));
    EXPECT_TRUE(log.take(true, "the other side does not use CURVE", t + 2s)) << "a named new reason";
    EXPECT_FALSE(log.take(true, "the other side does not use CURVE", t + 3s));
    EXPECT_FALSE(log.take(false, "the handshake failed", t + 4s)) << "a bare one says less";
    EXPECT_FALSE(log.take(true, "the other side does not use CURVE", t + 11s));
    EXPECT_TRUE(log.take(true, "the other side does not use CURVE", t + 12s)) << "10 s on: again";
    EXPECT_TRUE(log.take(true, "the CURVE handshake failed", t + 13s));
    EXPECT_TRUE(log.take(false, "the handshake failed", t + 23s));
}

// The sync path's listener: listen's host and port + 2 unless given;
// "none" turns it off; a bad or shared endpoint is refused.
TEST(Config, ListenSync) {
    Config c = parse_config(base(), "x");
    EXPECT_EQ(c.listen_sync, "tcp://0.0.0.0:7790");
    EXPECT_TRUE(c.listen_sync_derived);
    c = parse_config(base("listen_sync = \"tcp://10.0.0.1:9000\"\n"), "x");
    EXPECT_EQ(c.listen_sync, "tcp://10.0.0.1:9000");
    EXPECT_FALSE(c.listen_sync_derived);
    EXPECT_EQ(parse_config(base("listen_sync = \"none\"\n"), "x").listen_sync, "none");
    EXPECT_EQ(derived_sync_endpoint("tcp://127.0.0.1:*"), "tcp://127.0.0.1:*");
    EXPECT_EQ(derived_sync_endpoint("tcp://[::1]:7788"), "tcp://[::1]:7790");
    EXPECT_EQ(derived_sync_endpoint("tcp://h:65534"), "none");
    EXPECT_EQ(derived_sync_endpoint("tcp://h:x"), "none");
    EXPECT_EQ(error_of(base("listen_sync = \"udp://h:1\"\n")),
              "dccd.toml:10: 'listen_sync' must be tcp://HOST:PORT or \"none\"");
    EXPECT_EQ(error_of(base("listen_sync = \"tcp://0.0.0.0:7789\"\n")),
              "dccd.toml:10: 'listen_sync' is the same endpoint as 'listen_bulk'");
    // insecure off loopback: the sync listener is the third way in.
    std::string lo = "site = \"A\"\nlisten = \"tcp://127.0.0.1:7788\"\nlisten_bulk = \"tcp://127.0.0.1:7789\"\n"
                     "peer = \"tcp://127.0.0.1:7798\"\npeer_bulk = \"tcp://127.0.0.1:7799\"\ninsecure = true\n";
    EXPECT_EQ(parse_config(lo, "x").listen_sync, "tcp://127.0.0.1:7790");
    EXPECT_NE(error_of(lo + "listen_sync = \"tcp://0.0.0.0:7790\"\n").find("'insecure' with 'listen_sync' off loopback"),
              std::string::npos);
    // A change waits for a restart.
    Config fresh = parse_config(base("listen_sync = \"none\"\n"), "x");
    Reload r = reload_config(parse_config(base(), "x"), fresh);
    EXPECT_EQ(r.restart, std::vector<std::string>{"listen_sync"});
}
