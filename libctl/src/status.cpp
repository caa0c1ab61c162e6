// SPDX-License-Identifier: GPL-2.0-only
#include "dcc/status.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "dcc/meta.hpp"

namespace dcc {

using nlohmann::json;

namespace {

// The kernel's status line, field by field (valid/regions is one field).
// The first kRequired are in every line this program accepts; lease, held,
// unconfirmed and waiting came later, and a line without them reads as
// "-" (no lease needed, asynchronous replication, not counted).
constexpr std::array<const char*, 16> kFields = {"region_sectors", "valid/regions", "dirty",
                                                 "locked", "role", "generation", "mode",
                                                 "registration", "misses", "timeouts",
                                                 "origin", "split", "lease", "held",
                                                 "unconfirmed", "waiting"};
constexpr size_t kRequired = 12;

bool to_u64(const std::string& s, uint64_t& out) {
    if (s.empty() || s.size() > 20) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        uint64_t d = uint64_t(c - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    out = v;
    return true;
}

// The line split into its named fields, or nullopt; an optional field
// the line lacks is "-".  Fields a later kernel adds at the end
// (docs/dm-dcc.rst) are not ours to judge.
std::optional<std::array<std::string, kFields.size()>> split(const std::string& params) {
    static const std::string absent = "-";
    std::istringstream in(params);
    std::array<std::string, kFields.size()> f;
    size_t n = 0;
    while (n < f.size() && in >> f[n]) n++;
    if (n < kRequired) return std::nullopt;
    for (; n < f.size(); n++) f[n] = absent;
    return f;
}

size_t index_of(const char* name) {
    for (size_t i = 0; i < kFields.size(); i++)
        if (std::string(kFields[i]) == name) return i;
    return kFields.size();
}

template <typename T>
json opt(const std::optional<T>& v) {
    return v ? json(*v) : json(nullptr);
}

json progress_json(const std::optional<Progress>& p) {
    if (!p) return nullptr;
    return {{"done_regions", p->done},
            {"total_regions", p->total},
            {"percent", std::round(p->percent() * 10) / 10},
            {"bytes_per_second", uint64_t(p->bytes_per_second + 0.5)},
            {"eta_seconds", p->eta_seconds ? json(uint64_t(*p->eta_seconds + 0.5)) : json(nullptr)}};
}

json flow(const std::optional<Flow>& f) {
    if (!f) return nullptr;
    return {{"in_flight", f->in_flight},
            {"regions", f->regions},
            {"bytes", f->bytes},
            {"bytes_per_second", uint64_t(f->bytes_per_second + 0.5)}};
}

}  // namespace

std::optional<TargetStatus> parse_status(const std::string& params) {
    auto f = split(params);
    if (!f) return std::nullopt;
    auto at = [&](const char* name) -> const std::string& { return (*f)[index_of(name)]; };
    TargetStatus st;
    const std::string& vr = at("valid/regions");
    auto slash = vr.find('/');
    if (slash == std::string::npos) return std::nullopt;
    if (!to_u64(at("region_sectors"), st.region_sectors) || !to_u64(vr.substr(0, slash), st.valid) ||
        !to_u64(vr.substr(slash + 1), st.regions) || !to_u64(at("dirty"), st.dirty) ||
        !to_u64(at("locked"), st.locked) || !to_u64(at("generation"), st.generation) ||
        !to_u64(at("misses"), st.misses) || !to_u64(at("timeouts"), st.timeouts))
        return std::nullopt;
    st.role = at("role");
    st.mode = at("mode");
    if (st.role != "owner" && st.role != "replica" && st.role != "yielding") return std::nullopt;
    if (st.mode != "rw" && st.mode != "ro" && st.mode != "fail") return std::nullopt;
    st.origin = at("origin");
    st.split = at("split");
    if (!parse_origin(st.origin)) return std::nullopt;
    if (st.split != "-" && st.split != split_name(Split::Old) && st.split != split_name(Split::New))
        return std::nullopt;
    st.lease = at("lease");
    if (st.lease != "-" && st.lease != "held" && st.lease != "expired") return std::nullopt;
    if (at("held") != "-") {
        uint64_t held;
        if (!to_u64(at("held"), held)) return std::nullopt;
        st.held = held;
    }
    if (at("unconfirmed") != "-") {
        uint64_t unc;
        if (!to_u64(at("unconfirmed"), unc)) return std::nullopt;
        st.unconfirmed = unc;
    }
    if (at("waiting") != "-") {
        uint64_t w;
        if (!to_u64(at("waiting"), w)) return std::nullopt;
        st.waiting = w;
    }
    if (at("registration") != "-") {
        uint64_t reg;
        if (!to_u64(at("registration"), reg)) return std::nullopt;
        st.registration = reg;
    }
    return st;
}

std::string owner_lease(const TargetStatus& s) { return s.role != "owner" || s.lease == "-" ? "none" : s.lease; }

bool serves_reads_at_once(const TargetStatus& s) {
    return s.role == "owner" && (s.mode == "rw" || s.mode == "ro") && s.split != "old" &&
           s.lease != "expired" && s.regions && s.valid == s.regions;
}

std::optional<std::string> status_field(const std::string& params, const std::string& name) {
    auto t = parse_status(params);
    if (!t) return std::nullopt;
    if (name == "valid") return std::to_string(t->valid);
    if (name == "regions") return std::to_string(t->regions);
    size_t i = index_of(name.c_str());
    if (i == kFields.size() || name == "valid/regions") return std::nullopt;
    return (*split(params))[i];
}

std::optional<bool> VolumeStatus::in_sync() const {
    if (!paired) return std::nullopt;
    if (!*paired) return false;
    if (!backlog) return std::nullopt;
    return *backlog == 0 && hydrated();
}

Progress progress_of(uint64_t done, uint64_t total, uint64_t region_bytes, double bytes_per_second) {
    Progress p{std::min(done, total), total, bytes_per_second, std::nullopt};
    if (bytes_per_second >= 1)
        p.eta_seconds = double(p.total - p.done) * double(region_bytes) / bytes_per_second;
    return p;
}

std::optional<Progress> hydration_progress(const VolumeStatus& v) {
    if (v.role != "owner" || v.hydrated()) return std::nullopt;
    double rate = (v.hydration ? v.hydration->bytes_per_second : 0) + (v.fetch ? v.fetch->bytes_per_second : 0);
    return progress_of(v.valid, v.regions, v.region_bytes, rate);
}

std::optional<Progress> replication_progress(const VolumeStatus& v) {
    if (!v.paired || !*v.paired || !v.backlog || !*v.backlog) return std::nullopt;
    double rate = v.replication ? v.replication->bytes_per_second : 0;
    return progress_of(v.regions - std::min(*v.backlog, v.regions), v.regions, v.region_bytes, rate);
}

std::string duration_text(double seconds) {
    uint64_t s = uint64_t(seconds + 0.5);
    char b[32];
    if (s < 60) std::snprintf(b, sizeof(b), "%llus", (unsigned long long)s);
    else if (s < 3600) std::snprintf(b, sizeof(b), "%llum%02llus", (unsigned long long)(s / 60),
                                     (unsigned long long)(s % 60));
    else std::snprintf(b, sizeof(b), "%lluh%02llum", (unsigned long long)(s / 3600),
                       (unsigned long long)(s / 60 % 60));
    return b;
}

std::string progress_text(const Progress& p) {
    char b[128];
    double r = p.bytes_per_second;
    std::snprintf(b, sizeof(b), "%.1f %%, %llu regions left, %.1f MiB/s, ", p.percent(),
                  (unsigned long long)(p.total - p.done), r / 1048576);
    return b + (p.eta_seconds ? "ETA " + duration_text(*p.eta_seconds) : std::string("ETA unknown (nothing moves now)"));
}

VolumeStatus kernel_view(const std::string& name, const TargetStatus& t) {
    VolumeStatus v;
    v.name = name;
    v.role = t.role;
    v.generation = t.generation;
    v.mode = t.mode;
    v.origin = t.origin;
    v.split = t.split == "-" ? split_name(Split::None) : t.split;
    v.lease = owner_lease(t);
    v.replication_mode = t.held ? "sync" : "async";
    v.held_writes = t.held;
    v.region_bytes = t.region_sectors * 512;
    v.regions = t.regions;
    v.valid = t.valid;
    v.dirty = t.dirty;
    v.warm = t.warm();
    v.locked = t.locked;
    v.misses = t.misses;
    v.timeouts = t.timeouts;
    v.waiting = t.waiting;
    v.registration = t.registration;
    return v;
}

const std::vector<double>& Histogram::bounds() {
    static const std::vector<double> b = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,  0.5,    1,     2.5,  5,     10};
    return b;
}

void Histogram::observe(double seconds) {
    const auto& b = bounds();
    size_t i = size_t(std::lower_bound(b.begin(), b.end(), seconds) - b.begin());
    counts[i]++;
    count++;
    sum += seconds;
}

static json histogram_json(const std::optional<Histogram>& h) {
    if (!h) return nullptr;
    return {{"bounds", Histogram::bounds()}, {"counts", h->counts}, {"count", h->count},
            {"sum_seconds", h->sum}};
}

json to_json(const VolumeStatus& v) {
    return {{"name", v.name},
            {"uuid", opt(v.uuid)},
            {"role", v.role},
            {"generation", v.generation},
            {"mode", v.mode},
            {"origin", v.origin},
            {"split", v.split},
            {"split_generation", opt(v.split_generation)},
            {"lease", v.lease},
            {"replication_mode", v.replication_mode},
            {"held_writes", opt(v.held_writes)},
            {"on_peer_loss", opt(v.on_peer_loss)},
            {"failover", opt(v.failover)},
            {"failover_why", opt(v.failover_why)},
            {"alone", opt(v.alone)},
            {"fence_epoch", opt(v.fence_epoch)},
            {"region_bytes", v.region_bytes},
            {"regions", v.regions},
            {"valid", v.valid},
            {"dirty", v.dirty},
            {"warm", v.warm},
            {"locked", v.locked},
            {"misses", v.misses},
            {"timeouts", v.timeouts},
            {"waiting", opt(v.waiting)},
            {"registration", opt(v.registration)},
            {"paired", opt(v.paired)},
            {"peer_role", opt(v.peer_role)},
            {"handover", opt(v.handover)},
            {"pairing", v.rule              ? json{{"rule", *v.rule}, {"why", v.pairing}}
                        : !v.pairing.empty() ? json{{"rule", nullptr}, {"why", v.pairing}}
                                             : json(nullptr)},
            {"hydrated", v.hydrated()},
            {"backlog", opt(v.backlog)},
            {"in_sync", opt(v.in_sync())},
            {"replication", flow(v.replication)},
            {"confirmed", opt(v.confirmed)},
            {"hydration", flow(v.hydration)},
            {"hydration_off", opt(v.hydration_off)},
            {"fetch", flow(v.fetch)},
            {"last_handover_ms", opt(v.last_handover_ms)},
            {"fetch_latency", histogram_json(v.fetch_latency)},
            {"progress", {{"hydration", progress_json(hydration_progress(v))},
                          {"replication", progress_json(replication_progress(v))}}}};
}

json status_answer(const std::optional<std::string>& site, const std::optional<std::string>& peer,
                   const std::optional<bool>& link_up, const std::vector<VolumeStatus>& vols,
                   const std::optional<double>& started, const std::optional<LinkRtt>& rtt,
                   const std::optional<bool>& witness_up) {
    json a = json::array();
    for (const VolumeStatus& v : vols) a.push_back(to_json(v));
    return {{"ok", true},
            {"daemon", site.has_value()},
            {"site", opt(site)},
            {"peer", opt(peer)},
            {"link", link_up ? json(*link_up ? "up" : "down") : json(nullptr)},
            {"link_rtt_ms", rtt ? json(rtt->smoothed) : json(nullptr)},
            {"link_rtt_last_ms", rtt ? json(rtt->last) : json(nullptr)},
            {"link_rtt_min_ms", rtt ? json(rtt->min) : json(nullptr)},
            {"started", started ? json(*started) : json(nullptr)},
            {"witness", witness_up ? json(*witness_up ? "up" : "down") : json(nullptr)},
            {"volumes", a}};
}

}  // namespace dcc
