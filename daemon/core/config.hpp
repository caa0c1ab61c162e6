// SPDX-License-Identifier: GPL-2.0-only
// dccd's configuration file (TOML), parsed and checked (no I/O).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dcc {

struct Config {
    std::string site;              // this site's name
    std::string listen;            // control channel, e.g. tcp://0.0.0.0:7788
    std::string listen_bulk;       // replication channel
    // The sync path's TCP listener (docs/protocol.md, "The sync path"), or
    // "none"; unset, listen's host and its port + 2 (derived: a port that
    // cannot be bound is then logged, not fatal).
    std::string listen_sync;
    bool listen_sync_derived = false;
    std::string peer;              // the peer's control endpoint
    std::string peer_bulk;         // the peer's replication endpoint
    bool insecure = false;         // no CURVE: for tests on a closed link only
    std::string secret_key;        // Z85, 40 characters
    std::string secret_key_file;   // or the file that holds it (load_secret_key_file)
    std::string public_key;
    std::string peer_public_key;   // the only key the peer may present
    static constexpr uint64_t kUnlimited = UINT64_MAX;
    uint64_t rate = 64ull << 20;   // replication bytes per second
    // Background pulls' bytes per second: kUnlimited (the window alone
    // bounds them) or 0 (none: only what bios wait for is fetched).
    uint64_t hydration_rate = kUnlimited;
    unsigned window = 8;           // replication and pull regions in flight
    // Sync volumes: regions the owner keeps dirty once the peer confirmed
    // their writes, so that their next write needs no metadata commit
    // (0: cleared at once; after a crash they are pushed again).
    unsigned warm_regions = 4096;
    unsigned heartbeat_ms = 1000;
    unsigned link_timeout_ms = 5000;
    unsigned handover_timeout_ms = 30000;  // then the old owner fences itself
    std::string control_socket = "/run/dcc/dccd.sock";
    // The witness at a third site (empty: none; failover is then manual,
    // with --force, and owners serve without leases).
    std::string witness;
    std::string witness_public_key;
    unsigned lease_ms = 5000;        // what this site promises, and asks for
    unsigned lease_margin_ms = 200;  // kept back from every lease it holds
    // What the owner of a sync volume does while its replica is away:
    // "suspend" (hold writes, EIO after miss_timeout) or "continue" (go on
    // alone once the witness fenced the replica); per volume (dm name) in
    // [volume.NAME] tables, this for the others.
    std::string on_peer_loss = "suspend";
    std::map<std::string, std::string> volume_on_peer_loss;

    const std::string& on_peer_loss_of(const std::string& volume) const {
        auto it = volume_on_peer_loss.find(volume);
        return it == volume_on_peer_loss.end() ? on_peer_loss : it->second;
    }
};

// Parse and check; throws dcc::Error(kExitUsage) naming @origin and the line.
// With secret_key_file, secret_key is left empty for the caller to load.
Config parse_config(std::string_view text, const std::string& origin);

// listen_sync when it is not given: @listen's host, its port + 2 ("*"
// stays "*"), or "none" if that is no port.
std::string derived_sync_endpoint(const std::string& listen);

// The secret key in the text of a secret_key_file: the key alone, or the
// secret_key line of `dccd keygen`'s output; nullopt if neither.
std::optional<std::string> secret_key_of_file(std::string_view text);

// Why a key file with @mode (st_mode) owned by @uid may not be used by a
// process of effective uid @euid, or nullopt: only its owner, this
// process's user, may read or write it (as ssh wants of a private key).
std::optional<std::string> key_file_problem(const std::string& path, unsigned mode, unsigned uid,
                                            unsigned euid);

// A rate as a SIGHUP's log line names it: "unlimited", "off" or "N bytes/s".
std::string rate_text(uint64_t rate);

// SIGHUP: what of @fresh (the file read again) dccd takes while it runs
// (replication_rate, hydration_rate, replication_window, warm_regions, on_peer_loss), in @running's
// copy; every other
// change is named in restart and waits for the next start.
struct Reload {
    Config config;                     // @running with the live changes
    std::vector<std::string> applied;  // "key: old -> new"
    std::vector<std::string> restart;  // keys that changed but need a restart
};
Reload reload_config(const Config& running, const Config& fresh);

}  // namespace dcc
