// SPDX-License-Identifier: GPL-2.0-only
// dccctl's verbs on metadata and data devices, which need no dccd.
#include "cli.hpp"

#include <signal.h>
#include <sys/random.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "dcc/control.hpp"
#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "dcc/fill.hpp"
#include "dcc/meta.hpp"
#include "dcc/regions.hpp"
#include "dcc/status.hpp"

namespace dcc::cli {

namespace {

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

}  // namespace

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
        std::printf(", \"lease\": %s, \"replication\": %s, \"ahead\": %s", m.sb.lease() ? "true" : "false",
                    m.sb.sync() ? "\"sync\"" : "\"async\"", m.sb.ahead() ? "true" : "false");
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
    std::printf("ahead          %s\n",
                m.sb.ahead() ? "yes (this site may hold writes it acknowledged that the other site lacks)" : "-");
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

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

}  // namespace

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

}  // namespace dcc::cli
