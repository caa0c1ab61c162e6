// SPDX-License-Identifier: GPL-2.0-only
// dccctl status: dccd's answer, or the kernel's view when no dccd runs
// here, as JSON or as text; and what other verbs read of it.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "dcc/control.hpp"
#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "dcc/status.hpp"

namespace dcc::cli {

namespace {

// The kernel's view alone, in the shape of dccd's status answer, for when
// no dccd runs here: what only the daemon knows is null.
json kernel_status(const std::vector<dcc::Volume>& vols) {
    std::vector<dcc::VolumeStatus> v;
    for (const auto& d : vols) {
        auto s = dcc::parse_status(d.params);
        if (!s) throw Error(dcc::kExitError, d.name + ": cannot parse status '" + d.params + "'");
        v.push_back(dcc::kernel_view(d.name, *s));
    }
    return dcc::status_answer(std::nullopt, std::nullopt, std::nullopt, v);
}

std::string rate_text(const json& f) {
    if (!f.is_object()) return "-";
    double r = f.value("bytes_per_second", 0.0);
    char b[64];
    if (r >= 1048576) std::snprintf(b, sizeof(b), "%.1f MiB/s", r / 1048576);
    else std::snprintf(b, sizeof(b), "%.0f KiB/s", r / 1024);
    return std::string(b) + " (" + std::to_string(f.value("regions", 0ull)) + " regions, " +
           std::to_string(f.value("in_flight", 0ull)) + " in flight)";
}

}  // namespace

// A volume's progress of @what (hydration, replication) from a status
// answer, if it has one.
std::optional<dcc::Progress> progress_from(const json& v, const char* what) {
    if (!v.contains("progress") || !v["progress"].is_object()) return std::nullopt;
    const json& p = v["progress"][what];
    if (!p.is_object()) return std::nullopt;
    dcc::Progress r;
    r.done = p.value("done_regions", 0ull);
    r.total = p.value("total_regions", 0ull);
    r.bytes_per_second = p.value("bytes_per_second", 0.0);
    if (p["eta_seconds"].is_number()) r.eta_seconds = p["eta_seconds"].get<double>();
    return r;
}

namespace {

void print_status_text(const json& st) {
    if (st.value("daemon", true)) {
        char rtt[96] = "";
        if (st.contains("link_rtt_ms") && st["link_rtt_ms"].is_number())
            std::snprintf(rtt, sizeof(rtt), " (round trip %.1f ms, least %.1f ms)",
                          st["link_rtt_ms"].get<double>(), st.value("link_rtt_min_ms", 0.0));
        std::string witness = st.contains("witness") && st["witness"].is_string()
                                  ? ", witness " + st["witness"].get<std::string>()
                                  : ", no witness";
        std::printf("site %s, peer %s, link %s%s%s\n", str_or(st, "site", "?").c_str(),
                    str_or(st, "peer", "unknown").c_str(), str_or(st, "link", "?").c_str(), rtt,
                    witness.c_str());
    }
    else
        std::printf("dccd is not running here: the kernel's state only\n");
    for (const json& v : st["volumes"]) {
        uint64_t valid = v.value("valid", 0ull), regions = v.value("regions", 0ull);
        std::string pairing = v["paired"].is_null()      ? ""
                              : v["paired"].get<bool>() ? ", paired (peer is " + str_or(v, "peer_role", "?") + ")"
                                                        : ", not paired";
        std::string ho = str_or(v, "handover", "none");
        std::printf("%s: %s, generation %llu, mode %s%s%s\n", str_or(v, "name", "?").c_str(),
                    str_or(v, "role", "?").c_str(), (unsigned long long)v.value("generation", 0ull),
                    str_or(v, "mode", "?").c_str(), pairing.c_str(),
                    ho == "none" ? "" : (", handover " + ho).c_str());
        std::string sync = v["in_sync"].is_null() ? "unknown"
                           : v["in_sync"].get<bool>() ? "yes"
                                                      : "no";
        if (v["backlog"].is_number())
            sync += " (backlog " + std::to_string(v["backlog"].get<uint64_t>()) + " regions)";
        uint64_t warm = v.value("warm", 0ull);
        std::string dirty = std::to_string(v.value("dirty", 0ull));
        if (warm) dirty += " (" + std::to_string(warm) + " warm)";
        std::printf("  valid %llu/%llu (%.1f %%), dirty %s, locked %llu, in sync: %s\n",
                    (unsigned long long)valid, (unsigned long long)regions,
                    regions ? 100.0 * double(valid) / double(regions) : 0.0, dirty.c_str(),
                    (unsigned long long)v.value("locked", 0ull), sync.c_str());
        if (str_or(v, "replication_mode", "async") == "sync") {
            uint64_t held = v["held_writes"].is_number() ? v["held_writes"].get<uint64_t>() : 0;
            std::string policy = str_or(v, "on_peer_loss", "");
            std::printf("  synchronous: a write completes once the peer holds it; %llu waiting%s\n",
                        (unsigned long long)held,
                        policy.empty() ? "" : ("; with the peer away: " + policy).c_str());
        }
        uint64_t fence = v["fence_epoch"].is_number() ? v["fence_epoch"].get<uint64_t>() : 0;
        if (v["alone"].is_boolean() && v["alone"].get<bool>())
            std::printf("  GOING ON ALONE: writes complete without the replica, which the witness "
                        "holds outdated (epoch %llu)\n", (unsigned long long)fence);
        else if (fence)
            std::printf("  the witness holds the replica outdated (epoch %llu) until it has every "
                        "write made alone\n", (unsigned long long)fence);
        if (!v["replication"].is_null()) {
            std::printf("  replication %s\n", rate_text(v["replication"]).c_str());
            std::printf("  hydration   %s\n", rate_text(v["hydration"]).c_str());
            std::printf("  fetches     %s\n", rate_text(v["fetch"]).c_str());
        }
        for (const char* what : {"hydration", "replication"})
            if (auto p = progress_from(v, what))
                std::printf("  %s %s\n", what == std::string("hydration") ? "hydrating  " : "replicating",
                            dcc::progress_text(*p).c_str());
        if (v["hydration_off"].is_boolean() && v["hydration_off"].get<bool>())
            std::printf("  hydration is off here (hydration_rate): regions come only as bios touch them\n");
        std::printf("  misses %llu, timeouts %llu", (unsigned long long)v.value("misses", 0ull),
                    (unsigned long long)v.value("timeouts", 0ull));
        if (v["waiting"].is_number() && v["waiting"].get<uint64_t>())
            std::printf(", %llu bios waiting", (unsigned long long)v["waiting"].get<uint64_t>());
        if (v["last_handover_ms"].is_number())
            std::printf(", last handover %lld ms", (long long)v["last_handover_ms"].get<int64_t>());
        std::printf("\n");
        if (str_or(v, "origin", "handover") != "handover") {
            std::string o = str_or(v, "origin", "?");
            std::printf("  generation %llu began by %s\n", (unsigned long long)v.value("generation", 0ull),
                        o == "forced"     ? "a forced failover"
                        : o == "resolved" ? "a split brain resolved here: the other site takes it"
                                          : "a failover");
        }
        if (str_or(v, "lease", "none") == "expired" && str_or(v, "role", "") == "owner")
            std::printf("  NO LEASE: cut off from both the peer and the witness; I/O waits for a "
                        "lease and fails after miss_timeout\n");
        if (str_or(v, "split", "none") == "old") {
            std::string gen = v.contains("split_generation") && v["split_generation"].is_number()
                                  ? " (generation " + std::to_string(v["split_generation"].get<uint64_t>()) + ")"
                                  : "";
            std::printf("  SPLIT BRAIN: this site wrote while the peer owned the volume by force%s; it "
                        "serves nothing. `dccctl resolve %s --discard-local` here drops its changes\n",
                        gen.c_str(), str_or(v, "name", "?").c_str());
        }
        else if (str_or(v, "split", "none") == "new")
            std::printf("  SPLIT BRAIN: the peer wrote while this site owned the volume by force; "
                        "this site serves on. `dccctl resolve %s --discard-local` at the peer drops "
                        "the peer's changes, here this site's\n",
                        str_or(v, "name", "?").c_str());
        // Where a failover is the question: a replica cut off from its owner.
        std::string fo = str_or(v, "failover", "");
        if (str_or(v, "role", "") == "replica" && v["paired"] == false && !fo.empty()) {
            std::string why = str_or(v, "failover_why", "");
            std::string what = fo == "ask-witness" ? "possible, the witness decides (dccctl failover " +
                                                         str_or(v, "name", "?") + ")"
                               : fo == "force-only" ? "only with --force: " + why
                                                    : "refused: " + why;
            std::printf("  failover: %s\n", what.c_str());
        }
        if (v["pairing"].is_object() && v["pairing"]["rule"].is_number())
            std::printf("  pairing rule %d: %s\n", v["pairing"]["rule"].get<int>(),
                        str_or(v["pairing"], "why", "").c_str());
        else if (v["pairing"].is_object())
            std::printf("  not paired: %s\n", str_or(v["pairing"], "why", "").c_str());
    }
}

}  // namespace

// dccd's status, or the kernel's when no dccd listens here.
json get_status(const Opts& o, const std::string& vol) {
    try {
        json j = dcc::control::ask(socket_of(o), vol.empty() ? "status" : "status " + vol, 10000);
        if (!j.value("ok", false)) throw Error(dcc::control::exit_code_of(j), str_or(j, "error", "dccd refused"));
        return j;
    } catch (const Error& e) {
        if (e.code() != dcc::kExitNotFound || e.err() == 0) throw;
    }
    std::vector<dcc::Volume> vols;
    if (vol.empty()) vols = dcc::list_volumes();
    else vols.push_back(dcc::find_volume(vol));
    return kernel_status(vols);
}

int cmd_status(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"json", no_argument, nullptr, 0},
                                     {"socket", required_argument, nullptr, 0}});
    if (o.pos.size() > 1) usage_error("status takes at most one volume");
    by_name(o);
    json st = get_status(o, o.pos.empty() ? "" : o.pos[0]);
    if (o.has("json")) std::printf("%s\n", dcc::control::dump(st).c_str());
    else print_status_text(st);
    return 0;
}

}  // namespace dcc::cli
