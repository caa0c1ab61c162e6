// SPDX-License-Identifier: GPL-2.0-only
#include "stalls.hpp"

#include <utility>

namespace dcc::core {

namespace {

unsigned long long seconds(Stalls::Clock::duration d) {
    return (unsigned long long)std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

}  // namespace

Stalls::Stalls(std::vector<Thread> threads, std::chrono::milliseconds first, std::chrono::milliseconds again)
    : first_(first), again_(again) {
    for (Thread& t : threads) slots_.push_back({.thread = std::move(t)});
}

bool Stalls::begin(size_t slot, std::string what, Clock::time_point now) {
    Slot& s = slots_.at(slot);
    if (s.since) return false;
    s.what = std::move(what);
    s.since = now;
    s.told = 0;
    return true;
}

std::optional<std::string> Stalls::end(size_t slot, Clock::time_point now) {
    Slot& s = slots_.at(slot);
    auto since = std::exchange(s.since, std::nullopt);
    if (!since || !std::exchange(s.told, 0)) return std::nullopt;
    // (Ended before the line is made: a line that cannot be made leaves no
    // call under way.)
    return s.thread.name + ": " + s.what + " ended after " + std::to_string(seconds(now - *since)) + " s";
}

std::vector<std::string> Stalls::tick(Clock::time_point now) {
    std::vector<std::string> out;
    for (Slot& s : slots_) {
        if (!s.since || now - *s.since < first_ + again_ * s.told) continue;
        out.push_back(s.thread.name + " has waited " + std::to_string(seconds(now - *s.since)) + " s for " +
                      s.what + ": " + s.thread.blocks + " meanwhile (a device that does not answer?)");
        // The next one a period on (not at once if this look came late).
        s.told = unsigned((now - *s.since - first_) / again_) + 1;
    }
    return out;
}

}  // namespace dcc::core
