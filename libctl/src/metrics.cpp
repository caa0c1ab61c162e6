// SPDX-License-Identifier: GPL-2.0-only
#include "dcc/metrics.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <vector>

#include "dcc/error.hpp"

namespace dcc {

using nlohmann::json;

namespace {

// A label value, escaped as the format asks (backslash, quote, newline).
std::string esc(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '\\' || c == '"') o += '\\', o += c;
        else if (c == '\n') o += "\\n";
        else o += c;
    }
    return o;
}

std::string str(const json& v, const char* k) {
    return v.contains(k) && v[k].is_string() ? v[k].get<std::string>() : std::string();
}

// One metric family: its HELP and TYPE once, then its samples.
struct Family {
    const char* type;
    const char* help;
    std::vector<std::string> samples;  // "{labels} value"
};

class Out {
public:
    void add(const std::string& name, const char* type, const char* help, const std::string& labels,
             double value) {
        Family& f = fams_.try_emplace(name, Family{type, help, {}}).first->second;
        char b[64];
        std::snprintf(b, sizeof(b), "%.17g", value);
        f.samples.push_back((labels.empty() ? std::string() : "{" + labels + "}") + " " + b);
    }
    // A number (or a boolean as 0 or 1) from @v's field @k scaled by
    // @scale, if it has one: null means not known, and gives no sample.
    void num(const std::string& name, const char* type, const char* help, const std::string& labels,
             const json& v, const char* k, double scale = 1) {
        if (!v.contains(k)) return;
        if (v[k].is_number()) add(name, type, help, labels, v[k].get<double>() * scale);
        else if (v[k].is_boolean()) add(name, type, help, labels, v[k].get<bool>() ? 1 : 0);
    }
    // A histogram from @h ({"bounds", "counts", "count", "sum_seconds"}):
    // cumulative buckets, their sum and count.
    void hist(const std::string& name, const char* help, const std::string& labels, const json& h) {
        if (!h.is_object() || !h.contains("bounds") || !h.contains("counts")) return;
        const json &b = h["bounds"], &c = h["counts"];
        if (!b.is_array() || !c.is_array() || c.size() != b.size() + 1) return;
        Family& f = fams_.try_emplace(name, Family{"histogram", help, {}}).first->second;
        auto sample = [&](const char* suffix, const std::string& l, double value) {
            char v[64];
            std::snprintf(v, sizeof(v), "%.17g", value);
            f.samples.push_back(std::string(suffix) + "{" + l + "} " + v);
        };
        double cum = 0;
        for (size_t i = 0; i < c.size(); i++) {
            cum += c[i].get<double>();
            char le[64];
            if (i < b.size()) std::snprintf(le, sizeof(le), "%g", b[i].get<double>());
            else std::snprintf(le, sizeof(le), "+Inf");
            sample("_bucket", labels + ",le=\"" + le + "\"", cum);
        }
        sample("_sum", labels, h.value("sum_seconds", 0.0));
        sample("_count", labels, h.value("count", 0.0));
    }
    std::string text() const {
        std::string t;
        for (const auto& [name, f] : fams_) {
            t += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
            for (const std::string& s : f.samples) t += name + s + "\n";
        }
        return t;
    }

private:
    std::map<std::string, Family> fams_;
};

}  // namespace

std::string prometheus_text(const json& st) {
    Out o;
    bool daemon = st.value("daemon", false);
    o.add("dcc_daemon_up", "gauge", "1 if dccd answered, 0 if only the kernel's view was read", "",
          daemon ? 1 : 0);
    // Counters count from dccd's start: a new start time says they reset.
    if (daemon) o.num("dcc_daemon_start_time_seconds", "gauge",
                      "when dccd started (seconds since the epoch); its counters count from then", "",
                      st, "started");
    if (daemon && st.contains("link") && st["link"].is_string())
        o.add("dcc_link_up", "gauge", "1 while the link to the peer site is up", "",
              st["link"] == "up" ? 1 : 0);
    if (daemon && st.contains("witness") && st["witness"].is_string())
        o.add("dcc_witness_up", "gauge", "1 while the connection to the witness is up", "",
              st["witness"] == "up" ? 1 : 0);
    if (daemon)
        o.num("dcc_link_round_trip_seconds", "gauge",
              "dccd's smoothed round trip to the peer's dccd (while the link is up)", "", st,
              "link_rtt_ms", 1e-3);
    if (daemon)
        o.num("dcc_link_round_trip_min_seconds", "gauge",
              "the least round trip to the peer's dccd since the link came up", "", st,
              "link_rtt_min_ms", 1e-3);
    for (const json& v : st.value("volumes", json::array())) {
        std::string l = "volume=\"" + esc(str(v, "name")) + "\"";
        o.add("dcc_volume_info", "gauge", "1 per volume, its state in labels",
              l + ",uuid=\"" + esc(str(v, "uuid")) + "\",role=\"" + esc(str(v, "role")) + "\",mode=\"" +
                  esc(str(v, "mode")) + "\",replication_mode=\"" + esc(str(v, "replication_mode")) +
                  "\",origin=\"" + esc(str(v, "origin")) + "\",split=\"" + esc(str(v, "split")) +
                  "\",lease=\"" + esc(str(v, "lease")) + "\"",
              1);
        o.add("dcc_volume_owner", "gauge", "1 if this site owns the volume", l, str(v, "role") == "owner");
        o.add("dcc_volume_split_brain", "gauge", "1 if a split brain is recorded here", l,
              str(v, "split") != "none" && !str(v, "split").empty());
        o.num("dcc_volume_generation", "gauge", "the ownership generation", l, v, "generation");
        o.num("dcc_volume_region_bytes", "gauge", "bytes per region", l, v, "region_bytes");
        o.num("dcc_volume_regions", "gauge", "regions in the volume", l, v, "regions");
        o.num("dcc_volume_valid_regions", "gauge", "regions whose data is here", l, v, "valid");
        o.num("dcc_volume_dirty_regions", "gauge", "regions written here and not yet replicated", l, v,
              "dirty");
        o.num("dcc_volume_locked_regions", "gauge", "regions locked for a fill or a whole-region write",
              l, v, "locked");
        o.num("dcc_volume_misses_total", "counter", "bios that waited for a region to be fetched", l, v,
              "misses");
        o.num("dcc_volume_miss_timeouts_total", "counter", "times waiting bios failed after miss_timeout",
              l, v, "timeouts");
        o.num("dcc_volume_waiting_bios", "gauge", "bios waiting for a fill, an overwrite or a lease", l, v,
              "waiting");
        o.num("dcc_volume_held_writes", "gauge", "sync: writes waiting for the other site", l, v,
              "held_writes");
        o.num("dcc_volume_paired", "gauge", "1 while paired with the peer", l, v, "paired");
        o.num("dcc_volume_in_sync", "gauge", "1 if both copies are complete and equal", l, v, "in_sync");
        o.num("dcc_volume_backlog_regions", "gauge", "regions not yet the same at both sites", l, v,
              "backlog");
        o.num("dcc_volume_last_handover_seconds", "gauge", "the last handover's duration", l, v,
              "last_handover_ms", 0.001);
        for (const char* t : {"replication", "hydration", "fetch"}) {
            if (!v.contains(t) || !v[t].is_object()) continue;
            std::string lt = l + ",transfer=\"" + t + "\"";
            o.num("dcc_volume_transfer_bytes_total", "counter", "bytes moved since dccd started", lt, v[t],
                  "bytes");
            o.num("dcc_volume_transfer_regions_total", "counter", "regions moved since dccd started", lt,
                  v[t], "regions");
            o.num("dcc_volume_transfer_in_flight", "gauge", "regions asked for or sent, not yet answered",
                  lt, v[t], "in_flight");
        }
        if (v.contains("fetch_latency"))
            o.hist("dcc_volume_fetch_seconds",
                   "from dccd's first sight of a bio waiting for a region to the region valid here", l,
                   v["fetch_latency"]);
        if (v.contains("progress") && v["progress"].is_object())
            for (const char* t : {"hydration", "replication"}) {
                const json& p = v["progress"][t];
                if (!p.is_object()) continue;
                std::string lt = l + ",transfer=\"" + t + "\"";
                o.num("dcc_volume_progress_ratio", "gauge", "share of the transfer done (0 to 1)", lt, p,
                      "percent", 0.01);
                o.num("dcc_volume_eta_seconds", "gauge", "time left at the current rate", lt, p,
                      "eta_seconds");
            }
    }
    return o.text();
}

void write_atomically(const std::string& path, const std::string& text) {
    std::string tmp = path + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) throw Error(kExitError, "cannot create " + tmp + ": " + std::strerror(errno));
    const char* p = text.data();
    size_t left = text.size();
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp.c_str());
            throw Error(kExitError, "cannot write " + tmp + ": " + std::strerror(e));
        }
        p += n;
        left -= size_t(n);
    }
    if (close(fd) || rename(tmp.c_str(), path.c_str())) {
        int e = errno;
        unlink(tmp.c_str());
        throw Error(kExitError, "cannot put " + path + " in place: " + std::strerror(e));
    }
}

}  // namespace dcc
