// SPDX-License-Identifier: GPL-2.0-only
// The witness's configuration (daemon/core/witness_config.hpp): defaults,
// the sites and their keys, and errors that name the file and the line.
#include <gtest/gtest.h>

#include "dcc/error.hpp"
#include "witness_config.hpp"

using namespace dcc;

namespace {

const char* kOwn = R"(secret_key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
public_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
)";
const std::string kKeyA = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
const std::string kKeyB = "x3.kZ&b/LJ!s8WpE]fN)z0+Qm^gT#c$yV>R<uH2a";

// Line 1 listen, 2-3 the keys, then @extra, then the sites (unless @sites
// is empty).
std::string base(const std::string& extra = "",
                 const std::string& sites = "[sites]\na = \"" + kKeyA + "\"\nb = \"" + kKeyB + "\"\n") {
    return "listen = \"tcp://0.0.0.0:7790\"\n" + std::string(kOwn) + extra + sites;
}

std::string error_of(const std::string& text) {
    try {
        parse_witness_config(text, "witness.toml");
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), kExitUsage);
        return e.what();
    }
    return "";
}

}  // namespace

TEST(WitnessConfig, DefaultsAndValues) {
    WitnessConfig c = parse_witness_config(base(), "x");
    EXPECT_EQ(c.listen, "tcp://0.0.0.0:7790");
    EXPECT_FALSE(c.insecure);
    EXPECT_EQ(c.state_dir, "/var/lib/dcc/witness");
    EXPECT_EQ(c.lease_ms, 5000u);
    ASSERT_EQ(c.sites.size(), 2u);
    EXPECT_EQ(c.sites.at("a"), kKeyA);
    EXPECT_EQ(c.sites.at("b"), kKeyB);
    c = parse_witness_config(base("state_dir = \"/srv/w\"\nlease_ms = 1000\n"), "x");
    EXPECT_EQ(c.state_dir, "/srv/w");
    EXPECT_EQ(c.lease_ms, 1000u);
    // Site names as the wire carries them, quoted keys included.
    c = parse_witness_config(base("", "sites = { \"site-1.x\" = \"" + kKeyA + "\", \"B/2\" = \"" + kKeyB + "\" }\n"), "x");
    EXPECT_EQ(c.sites.count("site-1.x"), 1u);
    EXPECT_EQ(c.sites.count("B/2"), 1u);
}

TEST(WitnessConfig, InsecureNeedsNoKeysAndMaybeNoSites) {
    WitnessConfig c = parse_witness_config("listen = \"tcp://127.0.0.1:1\"\ninsecure = true\n", "x");
    EXPECT_TRUE(c.insecure);
    EXPECT_TRUE(c.sites.empty());
    c = parse_witness_config("listen = \"tcp://127.0.0.1:1\"\ninsecure = true\n[sites]\na = \"\"\n", "x");
    EXPECT_EQ(c.sites.count("a"), 1u);
}

TEST(WitnessConfig, InsecureOffLoopbackMustBeSaidTwice) {
    std::string t = "listen = \"tcp://*:1\"\ninsecure = true\n";
    EXPECT_NE(error_of(t).find("witness.toml:2: 'insecure' with 'listen' off loopback"), std::string::npos)
        << error_of(t);
    EXPECT_TRUE(parse_witness_config(t + "insecure_network = true\n", "x").insecure);
    EXPECT_NE(error_of(t + "insecure_network = 1\n").find("witness.toml:3: 'insecure_network' must be true or false"),
              std::string::npos);
}

TEST(WitnessConfig, ClearErrorsWithTheLine) {
    EXPECT_EQ(error_of(base("frobnicate = 1\n")), "witness.toml:4: unknown key 'frobnicate'");
    EXPECT_EQ(error_of("insecure = true\n"), "witness.toml: missing key 'listen'");
    EXPECT_NE(error_of("listen = \n").find("witness.toml:1:"), std::string::npos);  // TOML syntax
    EXPECT_EQ(error_of("listen = \"udp://h:1\"\n"), "witness.toml:1: 'listen' must be tcp://HOST:PORT");
    EXPECT_EQ(error_of("listen = \"tcp://h:1\"\n"), "witness.toml: missing key 'secret_key'");
    std::string bad_key = base();
    bad_key.replace(bad_key.find("JTKV"), 4, "JT K");
    EXPECT_EQ(error_of(bad_key), "witness.toml:2: 'secret_key' must be a 40-character Z85 CURVE key (dccd keygen)");
    EXPECT_EQ(error_of(base("lease_ms = 999\n")), "witness.toml:4: 'lease_ms' must be an integer from 1000 to 600000");
    EXPECT_NE(error_of(base("lease_ms = 600001\n")).find(":4: 'lease_ms'"), std::string::npos);
    EXPECT_NE(error_of(base("lease_ms = \"5s\"\n")).find(":4: 'lease_ms'"), std::string::npos);
    EXPECT_EQ(error_of(base("state_dir = \"var/w\"\n")), "witness.toml:4: 'state_dir' must be an absolute path");
    EXPECT_EQ(error_of(base("state_dir = 3\n")), "witness.toml:4: 'state_dir' must be a string");
    EXPECT_EQ(error_of(base("insecure = \"yes\"\n")), "witness.toml:4: 'insecure' must be true or false");
}

TEST(WitnessConfig, TheSitesAndTheirKeys) {
    EXPECT_EQ(error_of(base("", "")),
              "witness.toml: missing table 'sites' (the sites and their public keys)");
    EXPECT_EQ(error_of(base("", "[sites]\na = \"" + kKeyA + "\"\n")),
              "witness.toml:4: 'sites' must name at least two sites");
    EXPECT_EQ(error_of(base("", "sites = 3\n")),
              "witness.toml:4: 'sites' must be a table of site names and their public keys");
    EXPECT_EQ(error_of(base("", "[sites]\na = \"" + kKeyA + "\"\nb = \"" + kKeyA + "\"\n")),
              "witness.toml:6: sites 'a' and 'b' have the same key");
    EXPECT_EQ(error_of(base("", "[sites]\na = \"" + kKeyA + "\"\nb = \"short\"\n")),
              "witness.toml:6: the key of site 'b' must be a 40-character Z85 CURVE key");
    EXPECT_EQ(error_of(base("", "[sites]\na = \"" + kKeyA + "\"\nb = 7\n")),
              "witness.toml:6: the key of site 'b' must be a string");
    EXPECT_EQ(error_of(base("", "[sites]\na = \"" + kKeyA +
                                    "\"\nb = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n")),
              "witness.toml:6: site 'b' has the witness's own public key");
    EXPECT_EQ(error_of(base("", "[sites]\n\"a b\" = \"" + kKeyA + "\"\nb = \"" + kKeyB + "\"\n")),
              "witness.toml:5: site name 'a b' must be 1-64 printable ASCII characters without spaces");
    EXPECT_NE(error_of(base("", "[sites]\n" + std::string(65, 'x') + " = \"" + kKeyA + "\"\nb = \"" + kKeyB + "\"\n"))
                  .find("witness.toml:5: site name"),
              std::string::npos);
    EXPECT_NE(error_of(base("", "[sites]\n\"\" = \"" + kKeyA + "\"\nb = \"" + kKeyB + "\"\n")).find(":5: site name ''"),
              std::string::npos);
    // Insecure: names are checked, keys are not used.
    EXPECT_NE(error_of("listen = \"tcp://127.0.0.1:1\"\ninsecure = true\n[sites]\n\"a b\" = \"\"\n").find(":4: site name"),
              std::string::npos);
}
