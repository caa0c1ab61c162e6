// SPDX-License-Identifier: GPL-2.0-only
// Leases between hosts whose monotonic clocks are not synchronised (see
// docs/failover-design.md).  A grant says "for `length` from when I got
// your request"; the holder counts from when it sent that request, shrunk
// by the worst drift between the two clocks and a margin, so its lease
// ends, in real time, before the granter's promise does.  Pure: time is
// passed in.
#pragma once

#include <chrono>
#include <cstdint>

#include "boot_clock.hpp"

namespace dcc::core {

using LeaseClock = BootClock;
using std::chrono::milliseconds;

struct LeaseParams {
    milliseconds length{5000};  // what a granter promises
    milliseconds margin{200};   // what the holder keeps back on top of the drift
    double drift = 1e-3;        // the largest rate difference between two clocks
};

// Held by the owner, from one granter (the peer or the witness).
class Lease {
public:
    explicit Lease(LeaseParams p) : p_(p) {}
    // A grant of @length answering a request sent at @sent (this clock).
    // Each grant is safe on its own, so a late one never shortens the lease.
    void granted(LeaseClock::time_point sent, milliseconds length);
    bool held(LeaseClock::time_point now) const { return any_ && now < until_; }
    // When the lease ends (meaningless unless ever granted).
    LeaseClock::time_point until() const { return until_; }
    void drop() { any_ = false; }  // refused, or the granter restarted

private:
    LeaseParams p_;
    bool any_ = false;
    LeaseClock::time_point until_{};
};

// Given by a granter: the promises it made bind it until the last ends.
// A granter that restarts cannot know what it promised before: it is bound
// for a full length from its start.
class Promise {
public:
    Promise(LeaseParams p, LeaseClock::time_point started)
        : p_(p), until_(started + p.length) {}
    // Promise @length from @received, the time the request arrived.
    milliseconds give(LeaseClock::time_point received);
    bool binds(LeaseClock::time_point now) const { return now < until_; }
    LeaseClock::time_point until() const { return until_; }

private:
    LeaseParams p_;
    LeaseClock::time_point until_;
};

}  // namespace dcc::core
