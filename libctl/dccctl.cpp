// SPDX-License-Identifier: GPL-2.0-only
// dccctl: the command line for dcc volumes.  Verb first, resource next.
#include "cli.hpp"

#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dcc/control.hpp"
#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "dcc/meta.hpp"
#include "dcc/metrics.hpp"
#include "dcc/status.hpp"

#ifndef DCC_VERSION
#define DCC_VERSION "0"
#endif

namespace dcc::cli {

[[noreturn]] void usage_error(const std::string& msg) { throw Error(dcc::kExitUsage, msg); }

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

std::string socket_of(const Opts& o) { return o.get("socket", dcc::control::kDefaultSocket); }

// Seconds from a --timeout option (0: no limit).
int timeout_of(const Opts& o, int dflt, bool zero_ok) {
    if (!o.has("timeout")) return dflt;
    auto v = dcc::parse_size(o.get("timeout"));
    if (!v || (!*v && !zero_ok) || *v > 86400) usage_error("invalid --timeout '" + o.get("timeout") + "' (seconds)");
    return int(*v);
}

std::string str_or(const json& v, const char* k, const char* dflt) {
    return v.contains(k) && v[k].is_string() ? v[k].get<std::string>() : std::string(dflt);
}

// A volume named by a path (/dev/mapper/NAME, /dev/dm-N): its dm name,
// which dccd knows it by.
void by_name(Opts& o) {
    if (!o.pos.empty() && o.pos[0].find('/') != std::string::npos) o.pos[0] = dcc::find_volume(o.pos[0]).name;
}

namespace {

struct Verb {
    const char* name;
    const char* args;
    const char* summary;
    std::function<int(int, char**)> run;
};

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
                            (split == "new" ? " (a split brain is recorded: resolve it at either site)" : "") +
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
        if (reply.value("writes_wait", false) && str_or(reply, "on_peer_loss", "") == "continue")
            std::printf("sync: writes go on alone once the witness fences the other site "
                        "(on_peer_loss = continue)\n");
        else if (reply.value("writes_wait", false))
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
        {"migrate", "VOL... | --all --to SITE [--json] [--timeout S]",
         "move ownership of volumes (through dccd), several at once",
         cmd_migrate},
        {"failover", "VOL [--force] [--json]", "take a volume whose owner is unreachable", cmd_failover},
        {"resolve", "VOL --discard-local [--json]", "end a split brain, dropping this site's changes",
         cmd_resolve},
        {"mode", "VOL sync|async [--json]", "set a volume's replication mode (a replica keeps its owner's)", cmd_mode},
        {"wait", "VOL COND [--timeout S] [--json] [--progress]", "wait for paired, hydrated, in-sync, role=R, owner=SITE, split-brain",
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

// The --json form of an error: {"ok":false,"error":...,"code":...,"exit":N}.
json error_json(int code, const std::string& what) {
    return {{"ok", false}, {"error", what}, {"code", exit_name(code)}, {"exit", code}};
}

}  // namespace dcc::cli

using dcc::Error;
using namespace dcc::cli;

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
