// SPDX-License-Identifier: GPL-2.0-only
// dccctl migrate: one volume, several at once, or --all.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"
#include "dcc/control.hpp"
#include "dcc/devices.hpp"
#include "dcc/error.hpp"

namespace dcc::cli {

namespace {

// One line for a migration's answer; false if it failed (said on stderr).
bool say_migrated(const std::string& vol, const json& reply) {
    if (!reply.value("ok", false)) {
        std::fprintf(stderr, "dccctl migrate: %s: %s\n", vol.c_str(),
                     str_or(reply, "error", "dccd refused").c_str());
        return false;
    }
    std::string extra;
    if (reply.value("already", false)) extra = " (already)";
    else if (reply.contains("handover_ms"))
        extra = " (handover " + std::to_string(reply["handover_ms"].get<int64_t>()) + " ms)";
    std::printf("%s: owned by %s, generation %llu%s\n", vol.c_str(), str_or(reply, "owner", "?").c_str(),
                (unsigned long long)reply.value("generation", 0ull), extra.c_str());
    return true;
}

// Several volumes (or --all): one request each, all at once, each volume
// all or nothing with its own answer; the exit code is the first failed
// one's.
int migrate_many(const Opts& o, std::vector<std::string> vols, const std::string& site, int timeout) {
    std::string sock = socket_of(o);
    if (o.has("all")) {
        json st = dcc::control::ask(sock, "status", 30000);
        if (!st.value("ok", true) || !st["volumes"].is_array())
            throw Error(dcc::kExitError, "dccctl migrate: cannot list the volumes: " +
                                             str_or(st, "error", "no volume list from dccd"));
        for (const json& v : st["volumes"])
            if (v["name"].is_string()) vols.push_back(v["name"].get<std::string>());
        if (vols.empty()) throw Error(dcc::kExitNotFound, "dccctl migrate: dccd has no volumes");
    }
    std::vector<std::string> reqs;
    for (const std::string& v : vols) reqs.push_back("migrate " + v + " " + site);
    auto t0 = std::chrono::steady_clock::now();
    // dccd serves up to 256 clients: leave room for others.
    std::vector<json> replies = dcc::control::ask_each(sock, reqs, timeout * 1000, 128);
    long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    int rc = 0;
    size_t ok = 0;
    json all = json::array();
    for (size_t i = 0; i < vols.size(); i++) {
        json r = replies[i];
        r["volume"] = vols[i];
        all.push_back(r);
        if (r.value("ok", false)) ok++;
        else if (!rc) rc = dcc::control::exit_code_of(r);
        if (!o.has("json")) say_migrated(vols[i], replies[i]);
    }
    if (o.has("json"))
        std::printf("%s\n", dcc::control::dump(json{{"ok", rc == 0}, {"migrated", ok},
                                                    {"volumes", vols.size()}, {"ms", ms},
                                                    {"results", all}})
                                .c_str());
    else
        std::printf("%zu of %zu volumes owned by %s (%lld ms)\n", ok, vols.size(), site.c_str(), ms);
    return rc;
}

}  // namespace

int cmd_migrate(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"to", required_argument, nullptr, 0},
                                     {"socket", required_argument, nullptr, 0},
                                     {"timeout", required_argument, nullptr, 0},
                                     {"all", no_argument, nullptr, 0},
                                     {"json", no_argument, nullptr, 0}});
    if (o.has("all") ? !o.pos.empty() : o.pos.empty())
        usage_error("migrate needs one or more volumes, or --all");
    if (!o.has("to")) usage_error("migrate needs --to SITE");
    std::string site = o.get("to");
    if (site.empty() || site.find_first_of(" \t\n") != std::string::npos) usage_error("invalid site name");
    int timeout = timeout_of(o, 60, false);
    if (o.has("all") || o.pos.size() > 1) {
        std::vector<std::string> vols;
        for (const std::string& v : o.pos)
            vols.push_back(v.find('/') != std::string::npos ? dcc::find_volume(v).name : v);
        return migrate_many(o, vols, site, timeout);
    }
    by_name(o);
    json reply = dcc::control::ask(socket_of(o), "migrate " + o.pos[0] + " " + site, timeout * 1000);
    if (o.has("json")) std::printf("%s\n", dcc::control::dump(reply).c_str());
    if (!reply.value("ok", false)) {
        std::string err = str_or(reply, "error", "dccd refused");
        if (!o.has("json")) std::fprintf(stderr, "dccctl migrate: %s\n", err.c_str());
        return dcc::control::exit_code_of(reply);
    }
    if (!o.has("json")) say_migrated(o.pos[0], reply);
    return 0;
}

}  // namespace dcc::cli
