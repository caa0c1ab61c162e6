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

namespace {

template <typename T>
json opt(const std::optional<T>& v) {
    return v ? json(*v) : json(nullptr);
}

}  // namespace

json state_event(const VolumeStatus& s) {
    json e{{"event", "state"},     {"volume", s.name},    {"role", s.role},
           {"generation", s.generation}, {"mode", s.mode}, {"replication_mode", s.replication_mode},
           {"valid", s.valid},     {"regions", s.regions}, {"dirty", s.dirty},
           {"split", s.split},     {"lease", s.lease}};
    e["paired"] = s.paired ? json(*s.paired) : json(nullptr);
    e["handover"] = s.handover ? json(*s.handover) : json(nullptr);
    auto sync = s.in_sync();
    e["in_sync"] = sync ? json(*sync) : json(nullptr);
    e["backlog"] = opt(s.backlog);
    return e;
}

std::vector<json> changes(const VolumeStatus* before, const VolumeStatus& after) {
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
    if (before->lease != after.lease) ev("lease")["state"] = after.lease;
    if (before->split != after.split || before->split_generation != after.split_generation) {
        // recorded ("old": serves nothing, against the newer owner's
        // generation; "new": serves on), recorded again against a still
        // newer forced owner, or ended by a resolve
        json& e = ev("split-brain");
        e["split"] = after.split;
        e["generation"] = after.generation;
        e["split_generation"] = opt(after.split_generation);
    }
    if (before->paired != after.paired && after.paired) ev(*after.paired ? "paired" : "unpaired");
    if (before->handover != after.handover && after.handover) {
        json& e = ev("handover");
        e["state"] = *after.handover;
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
