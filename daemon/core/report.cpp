// SPDX-License-Identifier: GPL-2.0-only
#include "report.hpp"

namespace dcc::report {

using nlohmann::json;

void RateMeter::sample(Clock::time_point now) {
    samples_.emplace_back(now, bytes_);
    while (samples_.size() > 2 && now - samples_[1].first >= span_) samples_.pop_front();
}

double RateMeter::bytes_per_second() const {
    if (samples_.size() < 2) return 0;
    const auto& [t0, b0] = samples_.front();
    const auto& [t1, b1] = samples_.back();
    double dt = std::chrono::duration<double>(t1 - t0).count();
    return dt > 0 ? double(b1 - b0) / dt : 0;
}

std::optional<bool> VolumeState::in_sync() const {
    if (!paired) return false;
    if (!backlog) return std::nullopt;
    return *backlog == 0 && hydrated();
}

namespace {

template <typename T>
json opt(const std::optional<T>& v) {
    return v ? json(*v) : json(nullptr);
}

json flow(const Flow& f) {
    return {{"in_flight", f.in_flight},
            {"regions", f.regions},
            {"bytes", f.bytes},
            {"bytes_per_second", uint64_t(f.bytes_per_second + 0.5)}};
}

}  // namespace

json to_json(const VolumeState& v) {
    return {{"name", v.name},
            {"uuid", v.uuid},
            {"role", v.role},
            {"generation", v.generation},
            {"mode", v.mode},
            {"region_bytes", v.region_bytes},
            {"regions", v.regions},
            {"valid", v.valid},
            {"dirty", v.dirty},
            {"locked", v.locked},
            {"misses", v.misses},
            {"timeouts", v.timeouts},
            {"paired", v.paired},
            {"peer_role", opt(v.peer_role)},
            {"handover", v.handover},
            {"pairing", v.rule ? json{{"rule", *v.rule}, {"why", v.pairing}} : json(nullptr)},
            {"hydrated", v.hydrated()},
            {"backlog", opt(v.backlog)},
            {"in_sync", opt(v.in_sync())},
            {"replication", flow(v.replication)},
            {"hydration", flow(v.hydration)},
            {"fetch", flow(v.fetch)},
            {"last_handover_ms", opt(v.last_handover_ms)}};
}

json status_json(const std::string& site, const std::string& peer, bool link_up,
                 const std::vector<VolumeState>& vols) {
    json a = json::array();
    for (const VolumeState& v : vols) a.push_back(to_json(v));
    return {{"ok", true},
            {"site", site},
            {"peer", peer.empty() ? json(nullptr) : json(peer)},
            {"link", link_up ? "up" : "down"},
            {"volumes", a}};
}

std::vector<json> changes(const VolumeState* before, const VolumeState& after) {
    std::vector<json> out;
    auto ev = [&](const char* name) -> json& {
        out.push_back({{"event", name}, {"volume", after.name}});
        return out.back();
    };
    if (!before) {
        json& e = ev("added");
        e["role"] = after.role;
        e["generation"] = after.generation;
        e["valid"] = after.valid;
        e["regions"] = after.regions;
        return out;
    }
    if (before->role != after.role || before->generation != after.generation) {
        json& e = ev("role");
        e["role"] = after.role;
        e["generation"] = after.generation;
    }
    if (before->mode != after.mode) ev("mode")["mode"] = after.mode;
    if (before->paired != after.paired) ev(after.paired ? "paired" : "unpaired");
    if (before->handover != after.handover) {
        json& e = ev("handover");
        e["state"] = after.handover;
        if (after.handover == "none" && after.last_handover_ms)
            e["handover_ms"] = *after.last_handover_ms;
    }
    if (!before->hydrated() && after.hydrated()) ev("hydrated");
    auto was = before->in_sync(), now = after.in_sync();
    if (now && was != now) {
        json& e = ev(*now ? "in-sync" : "out-of-sync");
        e["backlog"] = opt(after.backlog);
    }
    return out;
}

}  // namespace dcc::report
