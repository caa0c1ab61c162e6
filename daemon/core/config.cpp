// SPDX-License-Identifier: GPL-2.0-only
#include "config.hpp"

#include <cstdio>
#include <cstdlib>
#include <toml++/toml.h>

#include "config_checks.hpp"
#include "dcc/error.hpp"
#include "dcc/meta.hpp"

namespace dcc {

using namespace config_checks;

Config parse_config(std::string_view text, const std::string& origin) {
    Toml t(text, origin,
           {"site", "listen", "listen_bulk", "listen_sync", "peer", "peer_bulk", "insecure", "secret_key",
            "secret_key_file", "public_key", "peer_public_key", "replication_rate", "replication_window",
            "hydration_rate", "warm_regions",
            "heartbeat_ms", "link_timeout_ms", "handover_timeout_ms", "control_socket",
            "insecure_network", "witness", "witness_public_key", "lease_ms", "lease_margin_ms", "on_peer_loss",
            "volume"});
    Config c;
    auto str = [&](const char* key, std::string& out, bool required) { t.str(key, out, required); };
    auto num = [&](const char* key, unsigned& out, unsigned lo, unsigned hi) { t.num(key, out, lo, hi); };

    str("site", c.site, true);
    if (c.site.empty() || c.site.size() > 64 ||
        c.site.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
            std::string::npos)
        bad(origin, t.get("site")->source(), "'site' must be 1-64 letters, digits, '-', '_' or '.'");
    str("listen", c.listen, true);
    str("listen_bulk", c.listen_bulk, true);
    str("peer", c.peer, true);
    str("peer_bulk", c.peer_bulk, true);
    for (auto* k : {"listen", "listen_bulk", "peer", "peer_bulk"})
        if (!endpoint(t.get(k)->value<std::string>().value()))
            bad(origin, t.get(k)->source(), std::string("'") + k + "' must be tcp://HOST:PORT");
    // Four endpoints, two of this site and two of the peer's: never one twice.
    const std::pair<const char*, const char*> same[] = {{"listen_bulk", "listen"},
                                                        {"peer_bulk", "peer"},
                                                        {"peer", "listen"},
                                                        {"peer_bulk", "listen_bulk"},
                                                        {"peer", "listen_bulk"},
                                                        {"peer_bulk", "listen"}};
    for (auto [k, other] : same)
        if (t.get(k)->value<std::string>() == t.get(other)->value<std::string>())
            bad(origin, t.get(k)->source(), std::string("'") + k + "' is the same endpoint as '" + other + "'");

    // The sync path's listener: given, "none", or derived from listen.
    str("listen_sync", c.listen_sync, false);
    if (const toml::node* n = t.get("listen_sync")) {
        if (c.listen_sync != "none" && !endpoint(c.listen_sync))
            bad(origin, n->source(), "'listen_sync' must be tcp://HOST:PORT or \"none\"");
        for (auto* other : {"listen", "listen_bulk"})
            if (c.listen_sync == t.get(other)->value<std::string>())
                bad(origin, n->source(), std::string("'listen_sync' is the same endpoint as '") + other + "'");
    } else {
        c.listen_sync = derived_sync_endpoint(c.listen);
        c.listen_sync_derived = true;
    }

    c.insecure = t.flag("insecure");
    // Without CURVE anyone who reaches the port can push data and take the
    // volume: only on loopback, unless said a second time.
    bool network = t.flag("insecure_network");
    if (c.insecure && !network)
        for (auto* k : {"listen", "listen_bulk", "listen_sync"})
            if (t.get(k) && t.get(k)->value<std::string>() != "none" &&
                !loopback(t.get(k)->value<std::string>().value()))
                bad(origin, t.get("insecure")->source(),
                    std::string("'insecure' with '") + k +
                        "' off loopback lets anyone who reaches it write the volume: add "
                        "'insecure_network = true' if that is really meant");
    // The secret key inline, or in a file of its own (readable by root
    // only, while the configuration may be readable by others).
    str("secret_key_file", c.secret_key_file, false);
    if (const toml::node* n = t.get("secret_key_file")) {
        if (t.get("secret_key"))
            bad(origin, n->source(), "'secret_key_file' and 'secret_key' together: give one");
        if (c.secret_key_file.empty() || c.secret_key_file[0] != '/')
            bad(origin, n->source(), "'secret_key_file' must be an absolute path");
    } else {
        str("secret_key", c.secret_key, !c.insecure);
    }
    str("public_key", c.public_key, !c.insecure);
    str("peer_public_key", c.peer_public_key, !c.insecure);
    if (!c.insecure) {
        for (auto* k : {"secret_key", "public_key", "peer_public_key"})
            if (t.get(k) && !z85_key(t.get(k)->value<std::string>().value()))
                bad(origin, t.get(k)->source(),
                    std::string("'") + k + "' must be a 40-character Z85 CURVE key (dccd keygen)");
        if (c.peer_public_key == c.public_key)
            bad(origin, t.get("peer_public_key")->source(),
                "'peer_public_key' is this site's own 'public_key': it must be the peer's");
    }

    // A rate: bytes per second, at least 1M.
    auto rate = [](const toml::node& n) -> std::optional<uint64_t> {
        std::optional<uint64_t> v;
        if (n.is_string()) v = parse_size(n.value<std::string>().value());
        else if (n.is_integer() && n.value<int64_t>().value() > 0) v = uint64_t(n.value<int64_t>().value());
        if (v && *v < (1u << 20)) v.reset();
        return v;
    };
    if (const toml::node* n = t.get("replication_rate")) {
        auto v = rate(*n);
        if (!v) bad(origin, n->source(), "'replication_rate' must be at least 1M (bytes per second)");
        c.rate = *v;
    }
    if (const toml::node* n = t.get("hydration_rate")) {
        auto word = n->value<std::string>();
        auto v = word == "unlimited" ? Config::kUnlimited : word == "off" ? 0 : rate(*n);
        if (!v)
            bad(origin, n->source(),
                "'hydration_rate' must be \"unlimited\", \"off\" or at least 1M (bytes per second)");
        c.hydration_rate = *v;
    }
    num("replication_window", c.window, 1, 256);
    num("warm_regions", c.warm_regions, 0, 1u << 24);
    num("heartbeat_ms", c.heartbeat_ms, 50, 60000);
    num("link_timeout_ms", c.link_timeout_ms, 200, 600000);
    num("handover_timeout_ms", c.handover_timeout_ms, 1000, 3600000);
    if (c.link_timeout_ms < 2 * c.heartbeat_ms)
        throw Error(kExitUsage, origin + ": 'link_timeout_ms' must be at least twice 'heartbeat_ms'");
    str("witness", c.witness, false);
    if (!c.witness.empty()) {
        if (!endpoint(c.witness)) bad(origin, t.get("witness")->source(), "'witness' must be tcp://HOST:PORT");
        if (c.witness == c.peer || c.witness == c.listen)
            bad(origin, t.get("witness")->source(), "'witness' must be a third site's endpoint");
        str("witness_public_key", c.witness_public_key, !c.insecure);
        if (!c.insecure && !z85_key(c.witness_public_key))
            bad(origin, t.get("witness_public_key")->source(),
                "'witness_public_key' must be a 40-character Z85 CURVE key (dccd keygen)");
    } else if (const toml::node* n = t.get("witness_public_key")) {
        bad(origin, n->source(), "'witness_public_key' without 'witness'");
    }
    num("lease_ms", c.lease_ms, 1000, 600000);
    num("lease_margin_ms", c.lease_margin_ms, 10, 60000);
    // A lease must outlast a few heartbeats, and hold something after its
    // margin and the worst drift are taken off.
    if (c.lease_ms < 3 * c.heartbeat_ms)
        throw Error(kExitUsage, origin + ": 'lease_ms' must be at least three times 'heartbeat_ms'");
    if (c.lease_margin_ms * 4 > c.lease_ms)
        throw Error(kExitUsage, origin + ": 'lease_margin_ms' must be at most a quarter of 'lease_ms'");
    auto policy = [&](const toml::node& n, const std::string& key, std::string& out) {
        if (!n.is_string() || (n.value<std::string>() != "suspend" && n.value<std::string>() != "continue"))
            bad(origin, n.source(), "'" + key + "' must be \"suspend\" or \"continue\"");
        out = n.value<std::string>().value();
    };
    if (const toml::node* n = t.get("on_peer_loss")) policy(*n, "on_peer_loss", c.on_peer_loss);
    if (const toml::node* n = t.get("volume")) {
        if (!n->is_table()) bad(origin, n->source(), "'volume' must be tables: [volume.NAME]");
        for (auto&& [name, vt] : *n->as_table()) {
            std::string vol(name.str());
            if (vol.empty() || vol.size() > 127 || vol.find('/') != std::string::npos || vol == "." ||
                vol == "..")
                bad(origin, vt.source(), "[volume." + vol + "]: not a device-mapper name");
            if (!vt.is_table()) bad(origin, vt.source(), "'volume." + vol + "' must be a table");
            for (auto&& [k, v] : *vt.as_table()) {
                if (k.str() != "on_peer_loss")
                    bad(origin, v.source(), "unknown key '" + std::string(k.str()) + "' in [volume." + vol + "]");
                policy(v, "volume." + vol + ".on_peer_loss", c.volume_on_peer_loss[vol]);
            }
        }
    }
    // Going on alone needs a witness to fence the replica first.
    bool alone = c.on_peer_loss == "continue";
    for (auto& [_, p] : c.volume_on_peer_loss) alone |= p == "continue";
    if (alone && c.witness.empty())
        throw Error(kExitUsage, origin + ": 'on_peer_loss = \"continue\"' needs a 'witness' (the replica "
                                         "is fenced there before the owner goes on alone)");
    str("control_socket", c.control_socket, false);
    if (c.control_socket.empty() || c.control_socket[0] != '/')
        throw Error(kExitUsage, origin + ": 'control_socket' must be an absolute path");
    return c;
}

std::string derived_sync_endpoint(const std::string& listen) {
    size_t colon = listen.rfind(':');
    std::string host = listen.substr(0, colon + 1), port = listen.substr(colon + 1);
    if (port == "*") return listen;  // any free port (SYNC_OPEN_ACK tells it)
    char* end = nullptr;
    unsigned long p = std::strtoul(port.c_str(), &end, 10);
    if (port.empty() || *end || p + 2 > 65535) return "none";
    return host + std::to_string(p + 2);
}

std::optional<std::string> secret_key_of_file(std::string_view text) {
    auto trim = [](std::string_view s) {
        size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
        return b == std::string_view::npos ? std::string_view{} : s.substr(b, e - b + 1);
    };
    std::string_view all = trim(text);
    // The key alone ('=' is one of Z85's characters: try it as a key first).
    if (all.find('\n') == std::string_view::npos && z85_key(std::string(all))) return std::string(all);
    // dccd keygen's output: the secret_key line.
    std::optional<std::string> key;
    for (size_t at = 0; at <= text.size();) {
        size_t nl = text.find('\n', at);
        std::string_view line = trim(text.substr(at, nl == std::string_view::npos ? text.npos : nl - at));
        at = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
        if (line.rfind("secret_key", 0) != 0) continue;
        std::string_view rest = trim(line.substr(10));
        if (rest.empty() || rest[0] != '=') continue;
        rest = trim(rest.substr(1));
        if (rest.size() < 2 || rest.front() != '"' || rest.back() != '"' || key) return std::nullopt;
        key = std::string(rest.substr(1, rest.size() - 2));
    }
    if (!key || !z85_key(*key)) return std::nullopt;
    return key;
}

std::optional<std::string> key_file_problem(const std::string& path, unsigned mode, unsigned uid,
                                            unsigned euid) {
    char octal[8];
    std::snprintf(octal, sizeof(octal), "%04o", mode & 07777);
    if ((mode & 0170000) != 0100000) return path + " is not a regular file";
    if (uid != euid)
        return path + " belongs to uid " + std::to_string(uid) + ", not to dccd's user (uid " +
               std::to_string(euid) + ")";
    if (mode & 077)
        return path + " may be read or written by others (mode " + octal + "): chmod 600 " + path;
    return std::nullopt;
}

std::string rate_text(uint64_t rate) {
    if (rate == Config::kUnlimited) return "unlimited";
    if (rate == 0) return "off";
    return std::to_string(rate) + " bytes/s";
}

Reload reload_config(const Config& running, const Config& fresh) {
    Reload r{running, {}, {}};
    if (fresh.rate != running.rate) {
        r.applied.push_back("replication_rate: " + std::to_string(running.rate) + " -> " +
                            std::to_string(fresh.rate) + " bytes/s");
        r.config.rate = fresh.rate;
    }
    if (fresh.hydration_rate != running.hydration_rate) {
        r.applied.push_back("hydration_rate: " + rate_text(running.hydration_rate) + " -> " +
                            rate_text(fresh.hydration_rate));
        r.config.hydration_rate = fresh.hydration_rate;
    }
    if (fresh.window != running.window) {
        r.applied.push_back("replication_window: " + std::to_string(running.window) + " -> " +
                            std::to_string(fresh.window));
        r.config.window = fresh.window;
    }
    if (fresh.warm_regions != running.warm_regions) {
        r.applied.push_back("warm_regions: " + std::to_string(running.warm_regions) + " -> " +
                            std::to_string(fresh.warm_regions));
        r.config.warm_regions = fresh.warm_regions;
    }
    bool alone = fresh.on_peer_loss == "continue";
    for (auto& [_, p] : fresh.volume_on_peer_loss) alone |= p == "continue";
    bool policy = fresh.on_peer_loss != running.on_peer_loss ||
                  fresh.volume_on_peer_loss != running.volume_on_peer_loss;
    if (policy && alone && running.witness.empty()) {
        // "continue" needs the witness, which only a restart brings.
        r.restart.push_back("on_peer_loss");
    } else if (policy) {
        r.applied.push_back("on_peer_loss: " + running.on_peer_loss + " -> " + fresh.on_peer_loss +
                            (fresh.volume_on_peer_loss != running.volume_on_peer_loss
                                 ? " (and per volume)"
                                 : ""));
        r.config.on_peer_loss = fresh.on_peer_loss;
        r.config.volume_on_peer_loss = fresh.volume_on_peer_loss;
    }
    auto other = [&](const char* key, bool changed) {
        if (changed) r.restart.push_back(key);
    };
    const Config &a = running, &b = fresh;
    other("site", a.site != b.site);
    other("listen", a.listen != b.listen);
    other("listen_bulk", a.listen_bulk != b.listen_bulk);
    other("listen_sync", a.listen_sync != b.listen_sync);
    other("peer", a.peer != b.peer);
    other("peer_bulk", a.peer_bulk != b.peer_bulk);
    other("insecure", a.insecure != b.insecure);
    other("secret_key", a.secret_key != b.secret_key || a.secret_key_file != b.secret_key_file);
    other("public_key", a.public_key != b.public_key);
    other("peer_public_key", a.peer_public_key != b.peer_public_key);
    other("heartbeat_ms", a.heartbeat_ms != b.heartbeat_ms);
    other("link_timeout_ms", a.link_timeout_ms != b.link_timeout_ms);
    other("handover_timeout_ms", a.handover_timeout_ms != b.handover_timeout_ms);
    other("control_socket", a.control_socket != b.control_socket);
    other("witness", a.witness != b.witness || a.witness_public_key != b.witness_public_key);
    other("lease_ms", a.lease_ms != b.lease_ms);
    other("lease_margin_ms", a.lease_margin_ms != b.lease_margin_ms);
    return r;
}

}  // namespace dcc
