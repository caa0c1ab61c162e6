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

#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "dcc/fill.hpp"
#include "dcc/meta.hpp"
#include "dcc/regions.hpp"
#include "dcc/status.hpp"

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
                         {"force", no_argument, nullptr, 0}});
    if (!o.pos.empty()) usage_error("format-meta takes no positional arguments");
    if (!o.has("data") || !o.has("meta")) usage_error("format-meta needs --data DEV and --meta DEV");
    dcc::FormatOptions f;
    f.data_path = o.get("data");
    f.meta_path = o.get("meta");
    f.empty = o.has("empty");
    f.force = o.has("force");
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

    dcc::Superblock sb = dcc::format_meta(f);
    std::printf("formatted %s: volume %s, %llu regions of %u KiB, role %s, %s\n",
                f.meta_path.c_str(), dcc::format_uuid(sb.uuid).c_str(),
                (unsigned long long)sb.nr_regions, sb.region_sectors / 2,
                dcc::role_name(sb.role), f.empty ? "no region valid" : "every region valid");
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
    if (o.has("ranges"))
        std::printf("valid ranges   %s\ndirty ranges   %s\n", list(valid).c_str(), list(dirty).c_str());
    return 0;
}

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

int cmd_fill(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"source", required_argument, nullptr, 0},
                                     {"hydrate", no_argument, nullptr, 0},
                                     {"exit-when-done", no_argument, nullptr, 0},
                                     {"pause-at", required_argument, nullptr, 0},
                                     {"verbose", no_argument, nullptr, 0}});
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
    dcc::FillStats s = dcc::run_fill(v.dev, f, g_stop);
    std::fprintf(stderr,
                 "dccctl fill: %llu misses filled, %llu regions hydrated, %llu stale, %llu errors\n",
                 (unsigned long long)s.misses_filled, (unsigned long long)s.regions_hydrated,
                 (unsigned long long)s.stale_completions, (unsigned long long)s.errors);
    return s.errors ? dcc::kExitError : 0;
}

void print_status(const dcc::Volume& v, const dcc::TargetStatus& s, bool json, bool first) {
    if (json) {
        std::printf("%s{\"name\": %s, \"major\": %u, \"minor\": %u, \"role\": %s, \"generation\": %llu, "
                    "\"mode\": %s, \"region_sectors\": %llu, \"regions\": %llu, \"valid\": %llu, "
                    "\"dirty\": %llu, \"locked\": %llu, \"registration\": %s, \"misses\": %llu, "
                    "\"timeouts\": %llu}",
                    first ? "" : ", ", json_str(v.name).c_str(), v.dev.major, v.dev.minor,
                    json_str(s.role).c_str(), (unsigned long long)s.generation,
                    json_str(s.mode).c_str(), (unsigned long long)s.region_sectors,
                    (unsigned long long)s.regions, (unsigned long long)s.valid,
                    (unsigned long long)s.dirty, (unsigned long long)s.locked,
                    s.registration ? std::to_string(*s.registration).c_str() : "null",
                    (unsigned long long)s.misses, (unsigned long long)s.timeouts);
        return;
    }
    double pct = s.regions ? 100.0 * double(s.valid) / double(s.regions) : 0;
    std::printf("%s: %s, generation %llu, mode %s, valid %llu/%llu (%.1f %%), dirty %llu, "
                "locked %llu, daemon %s, misses %llu, timeouts %llu\n",
                v.name.c_str(), s.role.c_str(), (unsigned long long)s.generation, s.mode.c_str(),
                (unsigned long long)s.valid, (unsigned long long)s.regions, pct,
                (unsigned long long)s.dirty, (unsigned long long)s.locked,
                s.registration ? "registered" : "none", (unsigned long long)s.misses,
                (unsigned long long)s.timeouts);
}

int cmd_status(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"json", no_argument, nullptr, 0}});
    if (o.pos.size() > 1) usage_error("status takes at most one volume");
    std::vector<dcc::Volume> vols;
    if (o.pos.empty()) vols = dcc::list_volumes();
    else vols.push_back(dcc::find_volume(o.pos[0]));
    bool json = o.has("json");
    if (json) std::printf("[");
    bool first = true;
    for (const auto& v : vols) {
        auto s = dcc::parse_status(v.params);
        if (!s) throw Error(dcc::kExitError, v.name + ": cannot parse status '" + v.params + "'");
        print_status(v, *s, json, first);
        first = false;
        if (!json) continue;
    }
    if (json) std::printf("]\n");
    return 0;
}

// Ask the local dccd; returns its one-line JSON answer.
std::string ask_daemon(const std::string& socket_path, const std::string& request, int timeout_s) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (fd < 0 || socket_path.size() >= sizeof(sa.sun_path))
        throw Error(dcc::kExitError, "bad control socket path " + socket_path);
    std::strcpy(sa.sun_path, socket_path.c_str());
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa))) {
        int e = errno;
        close(fd);
        throw Error(dcc::kExitNotFound, dcc::errno_text("cannot reach dccd at " + socket_path, e), e);
    }
    std::string line = request + "\n";
    if (write(fd, line.data(), line.size()) != ssize_t(line.size())) {
        close(fd);
        throw Error(dcc::kExitError, "cannot send the request to dccd");
    }
    std::string reply;
    char buf[1024];
    pollfd p{fd, POLLIN, 0};
    while (reply.find('\n') == std::string::npos) {
        if (poll(&p, 1, timeout_s * 1000) <= 0) {
            close(fd);
            throw Error(dcc::kExitError, "no answer from dccd within " + std::to_string(timeout_s) + " s");
        }
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) break;
        reply.append(buf, size_t(n));
    }
    close(fd);
    if (reply.empty()) throw Error(dcc::kExitError, "dccd closed the connection without an answer");
    return reply.substr(0, reply.find('\n'));
}

// The value of "key" in a flat one-line JSON object ("" if absent).
std::string json_field(const std::string& j, const std::string& key) {
    auto k = j.find("\"" + key + "\": ");
    if (k == std::string::npos) return "";
    k += key.size() + 4;
    if (j[k] == '"') return j.substr(k + 1, j.find('"', k + 1) - k - 1);
    auto e = j.find_first_of(",}", k);
    return j.substr(k, e - k);
}

int cmd_migrate(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"to", required_argument, nullptr, 0},
                                     {"socket", required_argument, nullptr, 0},
                                     {"timeout", required_argument, nullptr, 0},
                                     {"json", no_argument, nullptr, 0}});
    if (o.pos.size() != 1) usage_error("migrate needs exactly one volume");
    if (!o.has("to")) usage_error("migrate needs --to SITE");
    std::string site = o.get("to");
    if (site.empty() || site.find_first_of(" \t\n") != std::string::npos) usage_error("invalid site name");
    int timeout = 60;
    if (o.has("timeout")) {
        auto v = dcc::parse_size(o.get("timeout"));
        if (!v || !*v || *v > 3600) usage_error("invalid --timeout (seconds, 1 to 3600)");
        timeout = int(*v);
    }
    std::string reply = ask_daemon(o.get("socket", "/run/dcc/dccd.sock"),
                                   "migrate " + o.pos[0] + " " + site, timeout);
    if (o.has("json")) std::printf("%s\n", reply.c_str());
    if (json_field(reply, "ok") != "true") {
        if (!o.has("json"))
            std::fprintf(stderr, "dccctl migrate: %s\n", json_field(reply, "error").c_str());
        return dcc::kExitError;
    }
    if (!o.has("json")) {
        std::string ms = json_field(reply, "handover_ms");
        std::printf("%s: owned by %s, generation %s%s\n", o.pos[0].c_str(),
                    json_field(reply, "owner").c_str(), json_field(reply, "generation").c_str(),
                    (json_field(reply, "already") == "true" ? std::string(" (already)")
                     : ms.empty()                           ? std::string()
                                                            : " (handover " + ms + " ms)")
                        .c_str());
    }
    return 0;
}

const std::vector<Verb>& verbs();

int cmd_help(int, char**) {
    std::printf("usage: dccctl <verb> [options] [resource]\n\nverbs:\n");
    for (const Verb& v : verbs()) std::printf("  %-12s %-44s %s\n", v.name, v.args, v.summary);
    std::printf("\nexit codes: 0 ok, 1 failed, 2 usage, 3 refused, 4 not found. See dccctl(8).\n");
    return 0;
}

const std::vector<Verb>& verbs() {
    static const std::vector<Verb> v = {
        {"format-meta", "--data DEV --meta DEV [--region-size 64k] [--uuid U] [--role R] [--empty] [--force]",
         "write a new metadata device", cmd_format_meta},
        {"dump-meta", "[--json] [--ranges] META_DEV", "show a metadata device's superblock and bitmaps",
         cmd_dump_meta},
        {"fill", "--source DEV|FILE [--hydrate [--exit-when-done]] VOL",
         "answer a volume's misses from a local source", cmd_fill},
        {"status", "[--json] [VOL]", "show the state of dcc volumes", cmd_status},
        {"migrate", "VOL --to SITE [--json] [--timeout S]", "move ownership of a volume (through dccd)",
         cmd_migrate},
        {"help", "", "show this list", cmd_help},
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
        try {
            return v.run(argc - 1, argv + 1);
        } catch (const Error& e) {
            std::fprintf(stderr, "dccctl %s: %s\n", v.name, e.what());
            return e.code();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "dccctl %s: %s\n", v.name, e.what());
            return dcc::kExitError;
        }
    }
    std::fprintf(stderr, "dccctl: unknown verb '%s' (try dccctl help)\n", verb.c_str());
    return dcc::kExitUsage;
}
