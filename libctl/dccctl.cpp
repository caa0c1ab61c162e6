// SPDX-License-Identifier: GPL-2.0-only
// dccctl: the command line for dcc volumes.  Verb first, resource next.
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "dcc/control.hpp"
#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "dcc/fill.hpp"
#include "dcc/meta.hpp"
#include "dcc/metrics.hpp"
#include "dcc/regions.hpp"
#include "dcc/status.hpp"
#include "dcc/volumes.hpp"

#ifndef DCC_VERSION
#define DCC_VERSION "0"
#endif

namespace {

using dcc::Error;

struct Verb {
    const char* name;
    const char* args;
    const char* summary;
    std::function<int(int, char**)> run;
};

std::string json_str(const std::string& s) {
    std::string o = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') o += '\\', o += char(c);
        else if (c < 0x20) {
            char b[8];
            std::snprintf(b, sizeof(b), "\\u%04x", c);
            o += b;
        } else o += char(c);
    }
    return o + "\"";
}

[[noreturn]] void usage_error(const std::string& msg) { throw Error(dcc::kExitUsage, msg); }

// getopt_long over argv[1..] (argv[0] is the verb).
struct Opts {
    std::map<std::string, std::string> val;
    std::vector<std::string> pos;
    bool has(const std::string& k) const { return val.count(k); }
    std::string get(const std::string& k, const std::string& d = "") const {
        auto it = val.find(k);
        return it == val.end() ? d : it->second;
    }
};

Opts parse_opts(int argc, char** argv, const std::vector<option>& spec) {
    std::vector<option> longopts = spec;
    longopts.push_back({nullptr, 0, nullptr, 0});
    Opts o;
    optind = 1;
    opterr = 0;
    for (;;) {
        int idx = -1;
        int c = getopt_long(argc, argv, "", longopts.data(), &idx);
        if (c == -1) break;
        if (c == '?' || idx < 0) {
            std::string bad = argv[optind - 1] ? argv[optind - 1] : "?";
            usage_error("unknown option or missing value: " + bad);
        }
        o.val[longopts[size_t(idx)].name] = optarg ? optarg : "";
    }
    for (int i = optind; i < argc; i++) o.pos.emplace_back(argv[i]);
    return o;
}

int cmd_format_meta(int argc, char** argv) {
    Opts o = parse_opts(argc, argv,
                        {{"data", required_argument, nullptr, 0},
                         {"meta", required_argument, nullptr, 0},
                         {"region-size", required_argument, nullptr, 0},
                         {"uuid", required_argument, nullptr, 0},
                         {"role", required_argument, nullptr, 0},
                         {"empty", no_argument, nullptr, 0},
                         {"sync", no_argument, nullptr, 0},
                         {"force", no_argument, nullptr, 0},
                         {"json", no_argument, nullptr, 0}});
    if (!o.pos.empty()) usage_error("format-meta takes no positional arguments");
    if (!o.has("data") || !o.has("meta")) usage_error("format-meta needs --data DEV and --meta DEV");
    dcc::FormatOptions f;
    f.data_path = o.get("data");
    f.meta_path = o.get("meta");
    f.empty = o.has("empty");
    f.force = o.has("force");
    f.sync = o.has("sync");
    if (o.has("region-size")) {
        auto v = dcc::parse_size(o.get("region-size"));
        if (!v || *v > UINT32_MAX) usage_error("invalid --region-size '" + o.get("region-size") + "'");
        f.region_bytes = uint32_t(*v);
    }
    if (o.has("uuid")) {
        auto u = dcc::parse_uuid(o.get("uuid"));
        if (!u) usage_error("invalid --uuid '" + o.get("uuid") + "' (need 32 hex digits)");
        f.uuid = *u;
    } else {
        if (getrandom(f.uuid.data(), f.uuid.size(), 0) != ssize_t(f.uuid.size()))
            throw Error(dcc::kExitError, "cannot generate a UUID", errno);
        f.uuid[6] = uint8_t((f.uuid[6] & 0x0f) | 0x40);
        f.uuid[8] = uint8_t((f.uuid[8] & 0x3f) | 0x80);
    }
    // A site that holds nothing yet starts as replica unless told otherwise.
    std::string role = o.get("role", f.empty ? "replica" : "owner");
    if (role == "owner") f.role = dcc::Role::Owner;
    else if (role == "replica") f.role = dcc::Role::Replica;
    else usage_error("invalid --role '" + role + "' (owner or replica)");

    dcc::FormatReport report;
    dcc::Superblock sb = dcc::format_meta(f, &report);
    if (o.has("json")) {
        nlohmann::json j{{"ok", true},
                         {"meta", f.meta_path},
                         {"data", f.data_path},
                         {"uuid", dcc::format_uuid(sb.uuid)},
                         {"regions", sb.nr_regions},
                         {"region_bytes", uint64_t(sb.region_sectors) * 512},
                         {"role", dcc::role_name(sb.role)},
                         {"valid", f.empty ? 0 : sb.nr_regions},
                         {"replication", sb.sync() ? "sync" : "async"},
                         {"wiped", report.wiped},
                         {"overruled", report.overruled}};
        std::printf("%s\n", j.dump().c_str());
        return 0;
    }
    for (const std::string& w : report.wiped)
        std::printf("wiped the %s signature on %s (--force)\n", w.c_str(), f.meta_path.c_str());
    for (const std::string& s : report.overruled)
        std::fprintf(stderr, "dccctl format-meta: warning: %s holds %s (blkid); with --empty and --force "
                     "the peer's copy will overwrite it\n", f.data_path.c_str(), s.c_str());
    std::printf("formatted %s: volume %s, %llu regions of %u KiB, role %s, %s, %s replication\n",
                f.meta_path.c_str(), dcc::format_uuid(sb.uuid).c_str(),
                (unsigned long long)sb.nr_regions, sb.region_sectors / 2,
                dcc::role_name(sb.role), f.empty ? "no region valid" : "every region valid",
                sb.sync() ? "synchronous" : "asynchronous");
    return 0;
}

int cmd_dump_meta(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"json", no_argument, nullptr, 0},
                                     {"ranges", no_argument, nullptr, 0}});
    if (o.pos.size() != 1) usage_error("dump-meta needs exactly one metadata device");
    dcc::MetaImage m = dcc::read_meta(o.pos[0]);
    auto valid = dcc::bitmap_ranges(m.valid, true);
    auto dirty = dcc::bitmap_ranges(m.dirty, true);
    auto list = [](const std::vector<dcc::Range>& rs) {
        dcc::RangeSet s;
        for (auto& r : rs) s.add(r.start, r.count);
        return s.to_string();
    };
    if (o.has("json")) {
        std::printf("{\"uuid\": %s, \"version\": %u, \"data_sectors\": %llu, \"region_sectors\": %u, "
                    "\"regions\": %llu, \"generation\": %llu, \"role\": %s, \"valid\": %llu, "
                    "\"dirty\": %llu",
                    json_str(dcc::format_uuid(m.sb.uuid)).c_str(), m.sb.version,
                    (unsigned long long)m.sb.data_sectors, m.sb.region_sectors,
                    (unsigned long long)m.sb.nr_regions, (unsigned long long)m.sb.generation,
                    json_str(dcc::role_name(m.sb.role)).c_str(),
                    (unsigned long long)m.valid.count(), (unsigned long long)m.dirty.count());
        std::printf(", \"origin\": %s, \"split\": %s, \"split_generation\": %llu",
                    json_str(dcc::origin_name(m.sb.origin)).c_str(),
                    json_str(dcc::split_name(m.sb.split)).c_str(),
                    (unsigned long long)m.sb.split_generation);
        std::printf(", \"lease\": %s, \"replication\": %s", m.sb.lease() ? "true" : "false",
                    m.sb.sync() ? "\"sync\"" : "\"async\"");
        if (o.has("ranges"))
            std::printf(", \"valid_ranges\": %s, \"dirty_ranges\": %s", json_str(list(valid)).c_str(),
                        json_str(list(dirty)).c_str());
        std::printf("}\n");
        return 0;
    }
    std::printf("uuid           %s\nversion        %u\ndata sectors   %llu\nregion sectors %u\n"
                "regions        %llu\ngeneration     %llu\nrole           %s\nvalid          %llu\n"
                "dirty          %llu\n",
                dcc::format_uuid(m.sb.uuid).c_str(), m.sb.version,
                (unsigned long long)m.sb.data_sectors, m.sb.region_sectors,
                (unsigned long long)m.sb.nr_regions, (unsigned long long)m.sb.generation,
                dcc::role_name(m.sb.role), (unsigned long long)m.valid.count(),
                (unsigned long long)m.dirty.count());
    std::printf("origin         %s\nsplit          %s", dcc::origin_name(m.sb.origin),
                dcc::split_name(m.sb.split));
    if (m.sb.split_generation)
        std::printf(" (the newer owner's generation %llu)", (unsigned long long)m.sb.split_generation);
    std::printf("\nlease          %s\n",
                m.sb.lease() ? "needed (the owner serves only under its daemon's lease)" : "-");
    std::printf("replication    %s\n",
                m.sb.sync() ? "sync (a write completes once the other site holds it)" : "async");
    if (o.has("ranges"))
        std::printf("valid ranges   %s\ndirty ranges   %s\n", list(valid).c_str(), list(dirty).c_str());
    return 0;
}

// Whether a metadata device (and its data device) can be used as they are.
int cmd_check_meta(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"data", required_argument, nullptr, 0},
                                     {"json", no_argument, nullptr, 0}});
    if (o.pos.size() != 1) usage_error("check-meta needs exactly one metadata device");
    std::optional<std::string> data;
    if (o.has("data")) data = o.get("data");
    dcc::MetaCheck c = dcc::check_meta(o.pos[0], data);
    if (o.has("json")) {
        nlohmann::json j{{"ok", c.ok()}, {"meta", o.pos[0]}, {"data", data ? nlohmann::json(*data) : nullptr},
                         {"problems", c.problems}};
        if (c.image) {
            const dcc::Superblock& sb = c.image->sb;
            j["uuid"] = dcc::format_uuid(sb.uuid);
            j["regions"] = sb.nr_regions;
            j["region_bytes"] = uint64_t(sb.region_sectors) * 512;
            j["data_sectors"] = sb.data_sectors;
            j["generation"] = sb.generation;
            j["role"] = dcc::role_name(sb.role);
            j["valid"] = c.image->valid.count();
            j["dirty"] = c.image->dirty.count();
        }
        std::printf("%s\n", j.dump().c_str());
    } else {
        if (c.image) {
            const dcc::Superblock& sb = c.image->sb;
            std::printf("%s: volume %s, %llu regions of %llu KiB, generation %llu, %s; %llu valid, %llu dirty\n",
                        o.pos[0].c_str(), dcc::format_uuid(sb.uuid).c_str(), (unsigned long long)sb.nr_regions,
                        (unsigned long long)sb.region_sectors / 2, (unsigned long long)sb.generation,
                        dcc::role_name(sb.role), (unsigned long long)c.image->valid.count(),
                        (unsigned long long)c.image->dirty.count());
        }
        for (const std::string& p : c.problems) std::fprintf(stderr, "dccctl: %s: %s\n", o.pos[0].c_str(), p.c_str());
        if (c.ok()) std::printf("%s: ok\n", o.pos[0].c_str());
    }
    return c.ok() ? 0 : dcc::kExitError;
}

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

int cmd_fill(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"source", required_argument, nullptr, 0},
                                     {"hydrate", no_argument, nullptr, 0},
                                     {"exit-when-done", no_argument, nullptr, 0},
                                     {"pause-at", required_argument, nullptr, 0},
                                     {"verbose", no_argument, nullptr, 0},
                                     {"progress", no_argument, nullptr, 0},
                                     {"json", no_argument, nullptr, 0}});
    if (o.pos.size() != 1) usage_error("fill needs exactly one volume");
    if (!o.has("source")) usage_error("fill needs --source DEV|FILE");
    dcc::FillOptions f;
    f.source = o.get("source");
    f.hydrate = o.has("hydrate");
    f.exit_when_done = o.has("exit-when-done");
    f.verbose = o.has("verbose");
    f.pause_at = o.get("pause-at");
    if (f.exit_when_done && !f.hydrate) usage_error("--exit-when-done needs --hydrate");
    if (!f.pause_at.empty() && f.pause_at != "claimed" && f.pause_at != "written" &&
        f.pause_at != "done")
        usage_error("--pause-at takes claimed, written or done");
    dcc::Volume v = dcc::find_volume(o.pos[0]);

    struct sigaction sa {};
    sa.sa_handler = on_signal;  // no SA_RESTART: poll returns EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    // --progress: every two seconds, how far the volume is from whole, at
    // the rate of the last two seconds (the kernel's valid count).
    using Clock = std::chrono::steady_clock;
    auto valid_of = [&]() -> std::optional<dcc::TargetStatus> {
        try {
            return dcc::parse_status(dcc::find_volume(v.name).params);
        } catch (const Error&) {
            return std::nullopt;
        }
    };
    auto last = Clock::now();
    auto before = valid_of();
    if (o.has("progress"))
        f.tick = [&] {
            auto now = Clock::now();
            if (now - last < std::chrono::seconds(2)) return;
            auto st = valid_of();
            if (!st || !before) return;
            double dt = std::chrono::duration<double>(now - last).count();
            double rate = st->valid > before->valid
                              ? double(st->valid - before->valid) * double(st->region_sectors) * 512 / dt
                              : 0;
            auto p = dcc::progress_of(st->valid, st->regions, st->region_sectors * 512, rate);
            std::fprintf(stderr, "dccctl fill: %s: %s\n", v.name.c_str(), dcc::progress_text(p).c_str());
            last = now;
            before = st;
        };
    auto start = Clock::now();
    dcc::FillStats s = dcc::run_fill(v.dev, f, g_stop);
    std::fprintf(stderr,
                 "dccctl fill: %llu misses filled, %llu regions hydrated, %llu stale, %llu errors\n",
                 (unsigned long long)s.misses_filled, (unsigned long long)s.regions_hydrated,
                 (unsigned long long)s.stale_completions, (unsigned long long)s.errors);
    if (o.has("json")) {
        auto st = valid_of();
        nlohmann::json j{{"ok", s.errors == 0},
                         {"volume", v.name},
                         {"misses_filled", s.misses_filled},
                         {"regions_hydrated", s.regions_hydrated},
                         {"stale", s.stale_completions},
                         {"errors", s.errors},
                         {"valid", st ? nlohmann::json(st->valid) : nlohmann::json(nullptr)},
                         {"regions", st ? nlohmann::json(st->regions) : nlohmann::json(nullptr)},
                         {"seconds", std::chrono::duration<double>(Clock::now() - start).count()}};
        if (s.errors) {
            j["error"] = std::to_string(s.errors) + " regions could not be filled";
            j["code"] = "failed";
            j["exit"] = dcc::kExitError;
        }
        std::printf("%s\n", dcc::control::dump(j).c_str());
    }
    return s.errors ? dcc::kExitError : 0;
}

using nlohmann::json;

std::string socket_of(const Opts& o) { return o.get("socket", dcc::control::kDefaultSocket); }

// Seconds from a --timeout option (0: no limit).
int timeout_of(const Opts& o, int dflt, bool zero_ok) {
    if (!o.has("timeout")) return dflt;
    auto v = dcc::parse_size(o.get("timeout"));
    if (!v || (!*v && !zero_ok) || *v > 86400) usage_error("invalid --timeout '" + o.get("timeout") + "' (seconds)");
    return int(*v);
}

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

std::string str_or(const json& v, const char* k, const char* dflt) {
    return v.contains(k) && v[k].is_string() ? v[k].get<std::string>() : std::string(dflt);
}

void print_status_text(const json& st) {
    if (st.value("daemon", true))
        std::printf("site %s, peer %s, link %s\n", str_or(st, "site", "?").c_str(),
                    str_or(st, "peer", "unknown").c_str(), str_or(st, "link", "?").c_str());
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
        std::printf("  valid %llu/%llu (%.1f %%), dirty %llu, locked %llu, in sync: %s\n",
                    (unsigned long long)valid, (unsigned long long)regions,
                    regions ? 100.0 * double(valid) / double(regions) : 0.0,
                    (unsigned long long)v.value("dirty", 0ull), (unsigned long long)v.value("locked", 0ull),
                    sync.c_str());
        if (str_or(v, "replication_mode", "async") == "sync") {
            uint64_t held = v["held_writes"].is_number() ? v["held_writes"].get<uint64_t>() : 0;
            std::printf("  synchronous: a write completes once the peer holds it; %llu waiting\n",
                        (unsigned long long)held);
        }
        if (!v["replication"].is_null()) {
            std::printf("  replication %s\n", rate_text(v["replication"]).c_str());
            std::printf("  hydration   %s\n", rate_text(v["hydration"]).c_str());
            std::printf("  fetches     %s\n", rate_text(v["fetch"]).c_str());
        }
        for (const char* what : {"hydration", "replication"})
            if (auto p = progress_from(v, what))
                std::printf("  %s %s\n", what == std::string("hydration") ? "hydrating  " : "replicating",
                            dcc::progress_text(*p).c_str());
        std::printf("  misses %llu, timeouts %llu", (unsigned long long)v.value("misses", 0ull),
                    (unsigned long long)v.value("timeouts", 0ull));
        if (v["last_handover_ms"].is_number())
            std::printf(", last handover %lld ms", (long long)v["last_handover_ms"].get<int64_t>());
        std::printf("\n");
        if (str_or(v, "origin", "handover") != "handover")
            std::printf("  generation %llu began by %s\n", (unsigned long long)v.value("generation", 0ull),
                        str_or(v, "origin", "?") == "forced" ? "a forced failover" : "a failover");
        if (str_or(v, "lease", "none") == "expired" && str_or(v, "role", "") == "owner")
            std::printf("  NO LEASE: cut off from both the peer and the witness; I/O waits for a "
                        "lease and fails after miss_timeout\n");
        if (str_or(v, "split", "none") == "old")
            std::printf("  SPLIT BRAIN: this site wrote while the peer owned the volume by force; it "
                        "serves nothing. `dccctl resolve %s --discard-local` here drops its changes\n",
                        str_or(v, "name", "?").c_str());
        else if (str_or(v, "split", "none") == "new")
            std::printf("  SPLIT BRAIN: the peer wrote while this site owned the volume by force; "
                        "this site serves on. Resolve it at the peer\n");
        if (v["pairing"].is_object())
            std::printf("  pairing rule %d: %s\n", v["pairing"].value("rule", 0),
                        str_or(v["pairing"], "why", "").c_str());
    }
}

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

// A volume named by a path (/dev/mapper/NAME, /dev/dm-N): its dm name,
// which dccd knows it by.
void by_name(Opts& o) {
    if (!o.pos.empty() && o.pos[0].find('/') != std::string::npos) o.pos[0] = dcc::find_volume(o.pos[0]).name;
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

// For udev's IMPORT{program} (56-dcc.rules): KEY=value lines from the
// kernel alone (never dccd, which may be waiting for this very device).
int cmd_udev(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {});
    if (o.pos.size() != 1) usage_error("udev takes one device-mapper name");
    dcc::Volume v = dcc::find_volume(o.pos[0]);
    auto st = dcc::parse_status(v.params);
    if (!st) throw Error(dcc::kExitError, "cannot parse the status of " + v.name);
    std::string uuid = dcc::dm_info(v.name).uuid;
    std::printf("DCC_VOLUME=%s\n", v.name.c_str());
    if (uuid.rfind("DCC-", 0) == 0 && uuid.size() > 4) std::printf("DCC_UUID=%s\n", uuid.c_str() + 4);
    std::printf("DCC_ROLE=%s\n", st->role.c_str());
    std::printf("DCC_MODE=%s\n", st->mode.c_str());
    std::printf("DCC_SPLIT=%s\n", st->split == "-" ? "none" : st->split.c_str());
    std::printf("DCC_SCAN=%d\n", dcc::serves_reads_at_once(*st) ? 1 : 0);
    return 0;
}

// Metrics for Prometheus (node_exporter's textfile collector with
// --output), from dccd's status or, without dccd, the kernel's view.
int cmd_metrics(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"output", required_argument, nullptr, 0},
                                     {"socket", required_argument, nullptr, 0}});
    if (!o.pos.empty()) usage_error("metrics takes no volume: it reports every one");
    std::string text = dcc::prometheus_text(get_status(o, ""));
    if (!o.has("output")) {
        std::fputs(text.c_str(), stdout);
        return 0;
    }
    if (o.get("output").empty()) usage_error("--output needs a file");
    dcc::write_atomically(o.get("output"), text);
    return 0;
}

volatile bool g_interrupted = false;
void on_interrupt(int) { g_interrupted = true; }

void catch_interrupts() {
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;  // no SA_RESTART: poll returns EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

int cmd_wait(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"timeout", required_argument, nullptr, 0},
                                     {"socket", required_argument, nullptr, 0},
                                     {"json", no_argument, nullptr, 0},
                                     {"progress", no_argument, nullptr, 0}});
    if (o.pos.size() != 2) usage_error("wait needs a volume and a condition");
    by_name(o);
    auto cond = dcc::control::parse_condition(o.pos[1]);
    if (!cond)
        usage_error("unknown condition '" + o.pos[1] +
                    "' (paired, hydrated, in-sync, role=owner, role=replica, owner=SITE, "
                    "split-brain)");
    int timeout = timeout_of(o, 300, true);
    auto start = std::chrono::steady_clock::now();
    catch_interrupts();
    std::string last_err, split = "none";
    auto next_line = start;
    for (bool first = true;; first = false) {
        try {
            json st = dcc::control::ask(socket_of(o), "status " + o.pos[0], 10000);
            if (!st.value("ok", false))
                throw Error(dcc::control::exit_code_of(st), str_or(st, "error", "dccd refused"));
            const json* v = dcc::control::find(st, o.pos[0]);
            if (!v) throw Error(dcc::kExitNotFound, "no dcc volume '" + o.pos[0] + "'");
            if (auto why = dcc::control::never_met(*cond, str_or(st, "site", ""), str_or(st, "peer", "")))
                throw Error(dcc::kExitUsage, *why);
            if (dcc::control::met(*cond, *v, str_or(st, "site", ""), str_or(st, "peer", ""))) {
                if (o.has("json")) std::printf("%s\n", dcc::control::dump(*v).c_str());
                return 0;
            }
            // The older site of a split brain changes only when an admin
            // resolves it here: nothing else is worth waiting for.  The
            // newer one waits for that resolve at the peer.
            split = str_or(*v, "split", "none");
            if (split == "old")
                throw Error(dcc::kExitRefused,
                            o.pos[0] + ": split brain recorded here (the older site): not " + o.pos[1] +
                                " until it is resolved here (dccctl resolve --discard-local)");
            // --progress: a line on stderr every 2 s while it waits.
            auto now = std::chrono::steady_clock::now();
            if (o.has("progress") && now >= next_line) {
                next_line = now + std::chrono::seconds(2);
                std::string line;
                for (const char* what : {"hydration", "replication"})
                    if (auto p = progress_from(*v, what))
                        line += std::string(line.empty() ? "" : "; ") +
                                (what == std::string("hydration") ? "hydrating " : "replicating ") +
                                dcc::progress_text(*p);
                if (line.empty())
                    line = "not " + o.pos[1] + " yet (" + str_or(*v, "role", "?") + ", " +
                           ((*v)["paired"].is_boolean() && (*v)["paired"].get<bool>() ? "paired" : "not paired") + ")";
                std::fprintf(stderr, "%s: %s\n", o.pos[0].c_str(), line.c_str());
            }
        } catch (const Error& e) {
            // The first answer decides whether there is anything to wait
            // for; later, dccd may be restarting.
            if (first || e.code() == dcc::kExitNotFound || e.code() == dcc::kExitRefused) throw;
            last_err = e.what();
        }
        double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (g_interrupted) throw Error(dcc::kExitError, "interrupted");
        if (timeout && waited >= timeout)
            throw Error(dcc::kExitTimeout,
                        o.pos[0] + ": not " + o.pos[1] + " after " + std::to_string(timeout) + " s" +
                            (split == "new" ? " (a split brain is recorded: resolve it at the peer)" : "") +
                            (last_err.empty() ? "" : " (" + last_err + ")"));
        usleep(200000);
    }
}

std::string event_text(const json& e) {
    time_t t = time_t(e.value("time", int64_t(0)) / 1000);
    struct tm tm {};
    gmtime_r(&t, &tm);
    char ts[32];
    std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    std::string line = std::string(ts) + "." +
                       std::to_string(1000 + e.value("time", int64_t(0)) % 1000).substr(1) + "Z";
    line += " " + (e.contains("volume") && e["volume"].is_string() ? e["volume"].get<std::string>() : "-");
    line += " " + str_or(e, "event", "?");
    for (auto& [k, v] : e.items()) {
        if (k == "time" || k == "volume" || k == "event") continue;
        line += " " + k + "=" + (v.is_string() ? v.get<std::string>() : dcc::control::dump(v));
    }
    return line;
}

int cmd_events(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"json", no_argument, nullptr, 0},
                                     {"count", required_argument, nullptr, 0},
                                     {"now", no_argument, nullptr, 0},
                                     {"socket", required_argument, nullptr, 0}});
    if (o.pos.size() > 1) usage_error("events takes at most one volume");
    by_name(o);
    uint64_t limit = 0;
    if (o.has("count")) {
        auto v = dcc::parse_size(o.get("count"));
        if (!v || !*v) usage_error("invalid --count '" + o.get("count") + "'");
        limit = *v;
    }
    catch_interrupts();
    uint64_t seen = 0;
    bool json_out = o.has("json");
    bool ended = dcc::control::stream(
        socket_of(o), o.has("now") ? "events now" : "events",
        [&](const json& e) {
            std::string vol = e.contains("volume") && e["volume"].is_string() ? e["volume"].get<std::string>() : "";
            bool mine = o.pos.empty() || vol == o.pos[0] || (vol.empty() && e.value("event", "") != "subscribed");
            if (e.value("event", "") == "subscribed" || mine) {
                std::printf("%s\n", json_out ? dcc::control::dump(e).c_str() : event_text(e).c_str());
                std::fflush(stdout);
            }
            if (mine && e.value("event", "") != "subscribed" && e.value("event", "") != "state") seen++;
            return !(limit && seen >= limit);
        },
        &g_interrupted);
    if (!ended) throw Error(dcc::kExitError, "dccd closed the event stream");
    return 0;
}

int cmd_migrate(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"to", required_argument, nullptr, 0},
                                     {"socket", required_argument, nullptr, 0},
                                     {"timeout", required_argument, nullptr, 0},
                                     {"json", no_argument, nullptr, 0}});
    if (o.pos.size() != 1) usage_error("migrate needs exactly one volume");
    by_name(o);
    if (!o.has("to")) usage_error("migrate needs --to SITE");
    std::string site = o.get("to");
    if (site.empty() || site.find_first_of(" \t\n") != std::string::npos) usage_error("invalid site name");
    int timeout = timeout_of(o, 60, false);
    json reply = dcc::control::ask(socket_of(o), "migrate " + o.pos[0] + " " + site, timeout * 1000);
    if (o.has("json")) std::printf("%s\n", dcc::control::dump(reply).c_str());
    if (!reply.value("ok", false)) {
        std::string err = str_or(reply, "error", "dccd refused");
        if (!o.has("json")) std::fprintf(stderr, "dccctl migrate: %s\n", err.c_str());
        return dcc::control::exit_code_of(reply);
    }
    if (!o.has("json")) {
        std::string extra;
        if (reply.value("already", false)) extra = " (already)";
        else if (reply.contains("handover_ms"))
            extra = " (handover " + std::to_string(reply["handover_ms"].get<int64_t>()) + " ms)";
        std::printf("%s: owned by %s, generation %llu%s\n", o.pos[0].c_str(),
                    str_or(reply, "owner", "?").c_str(),
                    (unsigned long long)reply.value("generation", 0ull), extra.c_str());
    }
    return 0;
}

// dccd's answer to @request about volume @vol, printed with --json; a
// failure is also said on stderr without it.
json ask_about(const Opts& o, const char* verb, const std::string& vol, const std::string& request,
               int timeout_ms = 30000) {
    json reply = dcc::control::ask(socket_of(o), request, timeout_ms);
    if (o.has("json")) std::printf("%s\n", dcc::control::dump(reply).c_str());
    else if (!reply.value("ok", false))
        std::fprintf(stderr, "dccctl %s: %s: %s\n", verb, vol.c_str(),
                     str_or(reply, "error", "dccd refused").c_str());
    return reply;
}

// Take the volume here while its owner is unreachable.
int cmd_failover(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"force", no_argument, nullptr, 0},
                                     {"socket", required_argument, nullptr, 0},
                                     {"json", no_argument, nullptr, 0}});
    if (o.pos.size() != 1) usage_error("failover needs exactly one volume");
    by_name(o);
    const std::string& vol = o.pos[0];
    // With a witness, dccd first waits for this site's last promise to the
    // owner to end (at most lease_ms, up to ten minutes), then for the
    // witness's answer.
    json reply = ask_about(o, "failover", vol, "failover " + vol + (o.has("force") ? " force" : ""),
                           660000);
    if (!reply.value("ok", false)) return dcc::control::exit_code_of(reply);
    if (!o.has("json")) {
        bool forced = str_or(reply, "origin", "?") == "forced";
        std::printf("%s: owned by %s, generation %llu, %s\n", vol.c_str(),
                    str_or(reply, "owner", "?").c_str(),
                    (unsigned long long)reply.value("generation", 0ull),
                    forced ? "taken by force" : "granted by the witness");
        if (forced) std::printf("may be lost: %s\n", str_or(reply, "risks", "?").c_str());
        if (reply.value("writes_wait", false))
            std::printf("sync: writes wait for the other site until it is back (EIO after miss_timeout); "
                        "`dccctl mode %s async` goes on without it\n",
                        vol.c_str());
    }
    return 0;
}

// Settle a split brain at the site whose writes since the sites parted go.
int cmd_resolve(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"discard-local", no_argument, nullptr, 0},
                                     {"socket", required_argument, nullptr, 0},
                                     {"json", no_argument, nullptr, 0}});
    if (o.pos.size() != 1) usage_error("resolve needs exactly one volume");
    by_name(o);
    if (!o.has("discard-local"))
        usage_error("resolve needs --discard-local (run it at the site whose changes are dropped)");
    const std::string& vol = o.pos[0];
    json reply = ask_about(o, "resolve", vol, "resolve " + vol + " discard-local");
    if (!reply.value("ok", false)) return dcc::control::exit_code_of(reply);
    if (!o.has("json"))
        std::printf("%s: %llu regions written here dropped; replica of generation %llu, pairing\n",
                    vol.c_str(), (unsigned long long)reply.value("dropped", 0ull),
                    (unsigned long long)reply.value("generation", 0ull));
    return 0;
}

// Change a volume's replication mode at this site.
int cmd_mode(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"socket", required_argument, nullptr, 0},
                                     {"json", no_argument, nullptr, 0}});
    if (o.pos.size() != 2) usage_error("mode needs a volume and sync or async");
    by_name(o);
    const std::string &vol = o.pos[0], &mode = o.pos[1];
    if (mode != "sync" && mode != "async") usage_error("mode is sync or async, not '" + mode + "'");
    json reply = ask_about(o, "mode", vol, "mode " + vol + " " + mode);
    if (!reply.value("ok", false)) return dcc::control::exit_code_of(reply);
    if (!o.has("json")) {
        if (!reply.value("changed", false))
            std::printf("%s: %s already\n", vol.c_str(), mode.c_str());
        else if (reply.value("owner", false))
            std::printf("%s: %s from now on; the replica %s\n", vol.c_str(), mode.c_str(),
                        reply.value("peer_told", false) ? "is told" : "takes it when it pairs");
        else
            std::printf("%s: %s once this site owns it; the owner's mode replaces it when they pair\n",
                        vol.c_str(), mode.c_str());
    }
    return 0;
}

const char* exit_name(int code);

// The declared volumes @o names (VOL... or --all), each with its file.
std::vector<std::string> declared(const Opts& o, const std::string& verb) {
    std::string dir = o.get("dir", dcc::kVolumesDir);
    if (o.has("all") == !o.pos.empty()) usage_error(verb + " takes volumes, or --all");
    if (!o.has("all")) return o.pos;
    std::vector<std::string> names;
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) return names;  // no volume declared yet
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().extension() == ".toml") names.push_back(e.path().stem().string());
    if (ec) throw Error(dcc::kExitNotFound, "cannot read " + dir + ": " + ec.message());
    std::sort(names.begin(), names.end());
    return names;
}

// The --json form of an error: {"ok":false,"error":...,"code":...,"exit":N}.
json error_json(int code, const std::string& what) {
    return {{"ok", false}, {"error", what}, {"code", exit_name(code)}, {"exit", code}};
}

// @one for each declared volume @o names, each on its own: one that fails
// is reported (stderr, or its error object with --json) and the others
// still run; the exit status is the worst.
int each_declared(const Opts& o, const std::string& verb, const std::function<void(const std::string&)>& one) {
    int worst = 0;
    for (const std::string& name : declared(o, verb)) {
        try {
            one(name);
        } catch (const Error& e) {
            if (o.has("json")) {
                json err = error_json(e.code(), e.what());
                err["volume"] = name;
                std::printf("%s\n", dcc::control::dump(err).c_str());
            } else {
                std::fprintf(stderr, "dccctl: %s\n", e.what());
            }
            worst = std::max(worst, int(e.code()));
        }
    }
    return worst;
}

// One declared volume up: its table from the file and the superblock.
json volume_up(const std::string& dir, const std::string& name) {
    std::string path = dir + "/" + name + ".toml";
    std::ifstream f(path);
    if (!f) throw Error(dcc::kExitNotFound, name + ": not declared (no " + path + ")");
    std::stringstream text;
    text << f.rdbuf();
    dcc::VolumeDecl d = dcc::parse_volume_decl(text.str(), name, path);
    dcc::MetaImage img = dcc::read_meta(d.meta);
    std::string uuid = dcc::volume_dm_uuid(img.sb), table = dcc::volume_table(d, img.sb);
    json r{{"volume", name}, {"uuid", uuid}, {"table", table}};
    dcc::DmInfo i = dcc::dm_info(name);
    if (i.exists) {
        if (i.uuid != uuid)
            throw Error(dcc::kExitRefused, name + ": a device of that name exists with UUID '" + i.uuid +
                                               "', not " + uuid + " (another volume?)");
        r["already"] = true;
        return r;
    }
    {
        int fd = open(d.data.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw Error(dcc::kExitNotFound, dcc::errno_text(name + ": data device " + d.data, errno), errno);
        uint64_t have = dcc::device_size(fd);
        close(fd);
        if (have < img.sb.data_sectors * 512)
            throw Error(dcc::kExitRefused, name + ": data device " + d.data + " holds " + std::to_string(have) +
                                               " bytes, the volume " + std::to_string(img.sb.data_sectors * 512));
    }
    dcc::dm_create(name, uuid, table);
    r["already"] = false;
    return r;
}

int cmd_up(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"all", no_argument, nullptr, 0},
                                     {"dir", required_argument, nullptr, 0},
                                     {"json", no_argument, nullptr, 0}});
    std::string dir = o.get("dir", dcc::kVolumesDir);
    return each_declared(o, "up", [&](const std::string& name) {
        json r = volume_up(dir, name);
        r["ok"] = true;
        if (o.has("json")) std::printf("%s\n", dcc::control::dump(r).c_str());
        else if (r["already"].get<bool>()) std::printf("%s: up already\n", name.c_str());
        else std::printf("%s: up (%s)\n", name.c_str(), r["table"].get<std::string>().c_str());
    });
}

int cmd_down(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"all", no_argument, nullptr, 0},
                                     {"dir", required_argument, nullptr, 0},
                                     {"json", no_argument, nullptr, 0}});
    return each_declared(o, "down", [&](const std::string& name) {
        dcc::DmInfo i = dcc::dm_info(name);
        bool gone = !i.exists;
        if (!gone && i.uuid.rfind("DCC-", 0) != 0)
            throw Error(dcc::kExitRefused, name + " is no volume dccctl up made (dm UUID '" + i.uuid +
                                               "'): remove it with dmsetup if it is meant");
        if (!gone) dcc::dm_remove(name);
        if (o.has("json"))
            std::printf("%s\n", dcc::control::dump({{"ok", true}, {"volume", name}, {"already", gone}}).c_str());
        else std::printf("%s: down%s\n", name.c_str(), gone ? " already" : "");
    });
}

const std::vector<Verb>& verbs();

// The exit codes by name, for --json errors (dccctl(8), EXIT STATUS).
const char* exit_name(int code) {
    switch (code) {
    case dcc::kExitUsage: return "usage";
    case dcc::kExitRefused: return "refused";
    case dcc::kExitNotFound: return "not-found";
    case dcc::kExitTimeout: return "timeout";
    default: return "failed";
    }
}

// One verb's usage line and summary (dccctl VERB --help, dccctl help VERB).
int verb_help(const Verb& v) {
    std::printf("usage: dccctl %s %s\n  %s (see dccctl(8))\n", v.name, v.args, v.summary);
    return 0;
}

int cmd_help(int argc, char** argv) {
    if (argc == 2)
        for (const Verb& v : verbs())
            if (argv[1] == std::string(v.name)) return verb_help(v);
    if (argc > 1) usage_error("help takes nothing, or one verb");
    std::printf("usage: dccctl <verb> [options] [resource]\n\nverbs:\n");
    for (const Verb& v : verbs()) std::printf("  %-12s %-44s %s\n", v.name, v.args, v.summary);
    std::printf("\nexit codes: 0 ok, 1 failed, 2 usage, 3 refused, 4 not found, 5 timed out. "
                "See dccctl(8).\n");
    return 0;
}

const std::vector<Verb>& verbs() {
    static const std::vector<Verb> v = {
        {"format-meta",
         "--data DEV --meta DEV [--region-size 64k] [--uuid U] [--role R] [--empty] [--sync] [--force] [--json]",
         "write a new metadata device", cmd_format_meta},
        {"dump-meta", "[--json] [--ranges] META_DEV", "show a metadata device's superblock and bitmaps",
         cmd_dump_meta},
        {"check-meta", "[--data DEV] [--json] META_DEV",
         "check a metadata device (and that DEV is its volume's data device)", cmd_check_meta},
        {"fill", "--source DEV|FILE [--hydrate [--exit-when-done]] [--progress] [--json] VOL",
         "answer a volume's misses from a local source", cmd_fill},
        {"status", "[--json] [VOL]", "show the state of dcc volumes", cmd_status},
        {"metrics", "[--output FILE]", "print metrics for Prometheus (or write FILE, for node_exporter)",
         cmd_metrics},
        {"migrate", "VOL --to SITE [--json] [--timeout S]", "move ownership of a volume (through dccd)",
         cmd_migrate},
        {"failover", "VOL [--force] [--json]", "take a volume whose owner is unreachable", cmd_failover},
        {"resolve", "VOL --discard-local [--json]", "end a split brain, dropping this site's changes",
         cmd_resolve},
        {"mode", "VOL sync|async [--json]", "set a volume's replication mode (a replica keeps its owner's)", cmd_mode},
        {"wait", "VOL COND [--timeout S] [--json] [--progress]", "wait for paired, hydrated, in-sync, role=R, owner=SITE",
         cmd_wait},
        {"events", "[--json] [--now] [--count N] [VOL]",
         "follow state changes as they happen (--now: each volume's state first)", cmd_events},
        {"udev", "NAME", "print a volume's udev properties (for 56-dcc.rules)", cmd_udev},
        {"up", "[--dir D] [--json] VOL...|--all",
         "create declared volumes (/etc/dcc/volumes.d/VOL.toml) from their metadata", cmd_up},
        {"down", "[--dir D] [--json] VOL...|--all", "remove declared volumes' devices", cmd_down},
        {"help", "[VERB]", "show this list, or one verb's usage", cmd_help},
    };
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        cmd_help(0, nullptr);
        return dcc::kExitUsage;
    }
    std::string verb = argv[1];
    if (verb == "--help" || verb == "-h") return cmd_help(0, nullptr);
    if (verb == "--version") {
        std::printf("dccctl %s\n", DCC_VERSION);
        return 0;
    }
    for (const Verb& v : verbs()) {
        if (verb != v.name) continue;
        bool want_json = false;
        for (int i = 2; i < argc; i++) {
            if (argv[i] == std::string("--help") || argv[i] == std::string("-h")) return verb_help(v);
            if (argv[i] == std::string("--json")) want_json = true;
        }
        // An error is a line on stderr and, with --json, an object on stdout
        // (as dccd's failures are): {"ok":false,"error":...,"code":...,"exit":N}.
        auto fail = [&](int code, const char* what) {
            std::fprintf(stderr, "dccctl %s: %s\n", v.name, what);
            if (want_json) std::printf("%s\n", dcc::control::dump(error_json(code, what)).c_str());
            return code;
        };
        try {
            return v.run(argc - 1, argv + 1);
        } catch (const Error& e) {
            return fail(e.code(), e.what());
        } catch (const std::exception& e) {
            return fail(dcc::kExitError, e.what());
        }
    }
    std::fprintf(stderr, "dccctl: unknown verb '%s' (try dccctl help)\n", verb.c_str());
    return dcc::kExitUsage;
}
