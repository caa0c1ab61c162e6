// SPDX-License-Identifier: GPL-2.0-only
// Leases on unsynchronised clocks (daemon/core/lease.hpp): the holder's
// lease always ends, in real time, before the granter's promise, whatever
// the two clocks' offsets and rates within the drift, and however late the
// request and its answer travel.
#include <gtest/gtest.h>

#include <random>

#include "lease.hpp"

using namespace dcc::core;
using namespace std::chrono;

namespace {

// A host's monotonic clock: its own origin and rate against real time.
struct HostClock {
    double offset_s, rate;
    LeaseClock::time_point at(double real_s) const {
        return LeaseClock::time_point(duration_cast<LeaseClock::duration>(
            duration<double>(offset_s + real_s * rate)));
    }
    double real(LeaseClock::time_point t) const {
        return (duration<double>(t.time_since_epoch()).count() - offset_s) / rate;
    }
};

TEST(Lease, HeldFromTheRequestNotTheAnswer) {
    LeaseParams p{milliseconds(5000), milliseconds(200), 1e-3};
    Lease l(p);
    auto t0 = LeaseClock::time_point(seconds(100));
    EXPECT_FALSE(l.held(t0));
    l.granted(t0, p.length);  // the answer may come much later: counted from t0
    EXPECT_TRUE(l.held(t0 + milliseconds(4700)));
    EXPECT_FALSE(l.held(t0 + milliseconds(4800)));  // 5000 * 0.999 - 200 = 4795
    l.granted(t0 - seconds(2), p.length);             // a late, older grant
    EXPECT_TRUE(l.held(t0 + milliseconds(4700)));     // does not shorten it
    l.drop();
    EXPECT_FALSE(l.held(t0 + milliseconds(1)));
}

TEST(Lease, AGrantShorterThanTheMarginHoldsNothing) {
    Lease l({milliseconds(5000), milliseconds(200), 1e-3});
    auto t0 = LeaseClock::time_point(seconds(100));
    l.granted(t0, milliseconds(150));
    EXPECT_FALSE(l.held(t0));
}

TEST(Lease, ARestartedGranterIsBoundForAFullLength) {
    LeaseParams p;
    auto start = LeaseClock::time_point(seconds(7));
    Promise g(p, start);
    EXPECT_TRUE(g.binds(start + p.length - milliseconds(1)));
    EXPECT_FALSE(g.binds(start + p.length));
    g.give(start + seconds(1));
    EXPECT_TRUE(g.binds(start + p.length + milliseconds(999)));
}

// Random clocks within the drift, random delays: at every grant the
// holder's lease ends in real time at least the margin before the promise.
TEST(Lease, EndsBeforeThePromiseInRealTime) {
    LeaseParams p{milliseconds(3000), milliseconds(100), 1e-3};
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> off(-1e4, 1e4), rate(1 - p.drift / 2, 1 + p.drift / 2),
        delay(0, 2.0);
    for (int i = 0; i < 20000; i++) {
        HostClock holder{off(rng), rate(rng)}, granter{off(rng), rate(rng)};
        double real_sent = 50 + delay(rng) * 100;
        double real_received = real_sent + delay(rng);
        Lease l(p);
        Promise g(p, granter.at(0));
        l.granted(holder.at(real_sent), g.give(granter.at(real_received)));
        double lease_end = holder.real(l.until());
        double promise_end = granter.real(g.until());
        ASSERT_LE(lease_end, promise_end - 0.1 * 0.999) << "holder rate " << holder.rate
                                                         << ", granter rate " << granter.rate;
    }
}

// The same property fails when the holder counts from the answer's arrival
// (the mutant the model checks too): shown here so the test can fail.
TEST(Lease, CountingFromTheAnswerWouldOutliveThePromise) {
    LeaseParams p{milliseconds(3000), milliseconds(100), 1e-3};
    HostClock holder{0, 1}, granter{0, 1};
    Lease l(p);
    Promise g(p, granter.at(0));
    double real_sent = 10, real_received = 10.5, real_answered = 11.0;
    l.granted(holder.at(real_answered), g.give(granter.at(real_received)));
    EXPECT_GT(holder.real(l.until()), granter.real(g.until()));
    (void)real_sent;
}

}  // namespace
