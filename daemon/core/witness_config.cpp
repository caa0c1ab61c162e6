// SPDX-License-Identifier: GPL-2.0-only
#include "witness_config.hpp"

#include <toml++/toml.h>

#include "config_checks.hpp"
#include "dcc/error.hpp"

namespace dcc {

using namespace config_checks;

namespace {

// As the wire carries a site name: printable ASCII without spaces.
bool site_name(const std::string& s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s)
        if (c < 0x21 || c > 0x7e) return false;
    return true;
}

}  // namespace

WitnessConfig parse_witness_config(std::string_view text, const std::string& origin) {
    Toml t(text, origin,
           {"listen", "insecure", "insecure_network", "secret_key", "public_key", "state_dir",
            "lease_ms", "sites"});
    WitnessConfig c;
    auto str = [&](const char* key, std::string& out, bool required) { t.str(key, out, required); };
    auto flag = [&](const char* key) { return t.flag(key); };

    str("listen", c.listen, true);
    if (!endpoint(c.listen)) bad(origin, t.get("listen")->source(), "'listen' must be tcp://HOST:PORT");

    c.insecure = flag("insecure");
    // Without CURVE anyone who reaches the port can renew or claim any
    // volume: only on loopback, unless said a second time.
    bool network = flag("insecure_network");
    if (c.insecure && !network && !loopback(c.listen))
        bad(origin, t.get("insecure")->source(),
            "'insecure' with 'listen' off loopback lets anyone who reaches it take any volume: "
            "add 'insecure_network = true' if that is really meant");
    str("secret_key", c.secret_key, !c.insecure);
    str("public_key", c.public_key, !c.insecure);
    if (!c.insecure)
        for (auto* k : {"secret_key", "public_key"})
            if (!z85_key(t.get(k)->value<std::string>().value()))
                bad(origin, t.get(k)->source(),
                    std::string("'") + k + "' must be a 40-character Z85 CURVE key (dccd keygen)");

    str("state_dir", c.state_dir, false);
    if (c.state_dir.empty() || c.state_dir[0] != '/')
        bad(origin, t.get("state_dir")->source(), "'state_dir' must be an absolute path");

    t.num("lease_ms", c.lease_ms, 1000, 600000);

    const toml::node* sn = t.get("sites");
    if (sn && !sn->is_table())
        bad(origin, sn->source(), "'sites' must be a table of site names and their public keys");
    if (sn) {
        std::map<std::string, std::string> by_key;  // key -> site, for duplicates
        for (auto&& [k, v] : *sn->as_table()) {
            std::string name(k.str());
            if (!site_name(name))
                bad(origin, v.source(), "site name '" + name +
                                            "' must be 1-64 printable ASCII characters without spaces");
            if (!v.is_string())
                bad(origin, v.source(), "the key of site '" + name + "' must be a string");
            std::string key = v.value<std::string>().value();
            if (!c.insecure) {
                if (!z85_key(key))
                    bad(origin, v.source(),
                        "the key of site '" + name + "' must be a 40-character Z85 CURVE key");
                if (key == c.public_key)
                    bad(origin, v.source(), "site '" + name + "' has the witness's own public key");
                if (auto [it, fresh] = by_key.emplace(key, name); !fresh)
                    bad(origin, v.source(),
                        "sites '" + it->second + "' and '" + name + "' have the same key");
            }
            c.sites[name] = key;
        }
    }
    if (!c.insecure && c.sites.size() < 2) {
        if (sn) bad(origin, sn->source(), "'sites' must name at least two sites");
        throw Error(kExitUsage, origin + ": missing table 'sites' (the sites and their public keys)");
    }
    return c;
}

}  // namespace dcc
