// SPDX-License-Identifier: GPL-2.0-only
#include "lease.hpp"

#include <algorithm>

namespace dcc::core {

void Lease::granted(LeaseClock::time_point sent, milliseconds length) {
    // This clock may run slower than the granter's by drift (our lease
    // would then last longer in real time than we count): of the
    // granter's `length`, at most length * (1 - drift) of ours is safe.
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(length);
    auto safe = std::chrono::nanoseconds(int64_t(double(ns.count()) * (1.0 - p_.drift)));
    auto end = sent + std::chrono::duration_cast<LeaseClock::duration>(safe) - p_.margin;
    if (end <= sent) return;  // a grant too short to hold anything
    if (!any_ || end > until_) until_ = end;
    any_ = true;
}

milliseconds Promise::give(LeaseClock::time_point received) {
    until_ = std::max(until_, received + p_.length);
    return p_.length;
}

}  // namespace dcc::core
