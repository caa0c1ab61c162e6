// SPDX-License-Identifier: GPL-2.0-only
#include "failover.hpp"

namespace dcc::core {

std::optional<Refusal> failover_refusal(const FailoverFacts& f) {
    auto hard = [](std::string why) { return Refusal{false, std::move(why)}; };
    auto soft = [&](std::string why) -> std::optional<Refusal> {
        if (f.force) return std::nullopt;
        return Refusal{true, why + "; --force takes over anyway"};
    };
    if (f.state.split != Split::None)
        return hard("a split brain is recorded here: resolve it first (dccctl resolve)");
    if (f.state.role == Role::Owner) return hard("this site owns the volume already");
    if (f.state.role == Role::Yielding || f.phase == Phase::Taking)
        return hard("a handover is in progress: wait for it to end");
    if (f.link_up || f.phase == Phase::Paired)
        return hard("the peer is reachable: use dccctl migrate");
    if (f.lacking)
        if (auto r = soft("this copy lacks " + std::to_string(f.lacking) +
                          " regions (not hydrated since the last migration): reads of them would "
                          "fail until the old owner returns"))
            return r;
    if (f.owner_backlog && *f.owner_backlog)
        if (auto r = soft("the owner last reported " + std::to_string(*f.owner_backlog) +
                          " regions not yet the same at both sites: writes it had not "
                          "replicated here would be lost"))
            return r;
    return soft("nothing confirms that the owner has stopped writing (no witness): if it still "
                "runs, both sites would write (split brain)");
}

std::string failover_risks(const FailoverFacts& f) {
    std::string s = "generation " + std::to_string(f.state.generation + 1) + " taken by force";
    s += "; regions this copy lacks: " + std::to_string(f.lacking);
    s += "; regions the owner last reported not yet replicated: ";
    s += f.owner_backlog ? std::to_string(*f.owner_backlog) : std::string("unknown");
    s += "; writes at the old owner after that report are lost, and if it wrote at all it "
         "reports a split brain when the sites meet again";
    return s;
}

}  // namespace dcc::core
