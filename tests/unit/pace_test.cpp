// SPDX-License-Identifier: GPL-2.0-only
// The rate of background transfers (daemon/core/pace.hpp): what goes over
// any stretch of time stays within the rate and one second saved up.
#include <gtest/gtest.h>

#include "pace.hpp"

using namespace dcc::core;
using namespace std::chrono_literals;

namespace {
constexpr uint64_t M = 1 << 20;
const Pacer::Clock::time_point t0{};

// Polls every @step for @span from @from, sending @size whenever allowed;
// the bytes sent.
uint64_t drive(Pacer& p, Pacer::Clock::time_point from, std::chrono::milliseconds span,
               std::chrono::milliseconds step, uint64_t size) {
    uint64_t sent = 0;
    for (auto t = from; t < from + span; t += step)
        while (p.may(size, t)) {
            p.took(size);
            sent += size;
        }
    return sent;
}
// As dccd's replicate() decides a batch: the bucket brought up to the
// time, a copy of it asked region by region (at most @max), the bucket
// charged for each region sent.
uint64_t drive_batches(Pacer& p, Pacer::Clock::time_point from, std::chrono::milliseconds span,
                       std::chrono::milliseconds step, uint64_t size, size_t max) {
    uint64_t sent = 0;
    for (auto t = from; t < from + span; t += step) {
        Pacer c = p.trial(t);
        size_t n = 0;
        for (; n < max && c.may(size, t); n++) c.took(size);
        for (size_t i = 0; i < n; i++) p.took(size);
        sent += n * size;
    }
    return sent;
}
}  // namespace

TEST(Pacer, BatchesDecidedOnACopyKeepTheRate) {
    Pacer p(M);
    uint64_t sent = drive_batches(p, t0, 10s, 10ms, 64 << 10, 8);
    EXPECT_GE(sent, 10 * M - 8 * 64 * 1024);
    EXPECT_LE(sent, 10 * M);
    // A rate below a batch's worth a second: still the rate, not a batch
    // each time a region's worth is saved up.
    Pacer slow(128 << 10);
    sent = drive_batches(slow, t0, 10s, 10ms, 64 << 10, 8);
    EXPECT_GE(sent, 10u * (128 << 10) - 64 * 1024);
    EXPECT_LE(sent, 10u * (128 << 10));
}

TEST(Pacer, UnlimitedAndOff) {
    Pacer any(Pacer::kUnlimited), none(0);
    for (int i = 0; i < 1000; i++) {
        EXPECT_TRUE(any.may(M, t0));
        any.took(M);
    }
    EXPECT_EQ(drive(none, t0, 10s, 10ms, 64 << 10), 0u) << "off lets nothing through";
}

TEST(Pacer, HoldsTheRateOverAnyStretch) {
    Pacer p(M);
    EXPECT_FALSE(p.may(64 << 10, t0)) << "nothing saved up at the start";
    // 10 s at 1M/s in 64 KiB pieces: 10 MiB, give or take one piece.
    uint64_t sent = drive(p, t0, 10s, 10ms, 64 << 10);
    EXPECT_GE(sent, 10 * M - 128 * 1024);
    EXPECT_LE(sent, 10 * M);
    // Idle for a minute: one second's worth is saved up, not a minute's.
    uint64_t burst = drive(p, t0 + 70s, 1ms, 1ms, 64 << 10);
    EXPECT_EQ(burst, M);
}

TEST(Pacer, ARegionAboveTheRateStillGoes) {
    Pacer p(M);
    EXPECT_FALSE(p.may(2 * M, t0));
    EXPECT_FALSE(p.may(2 * M, t0 + 500ms));
    EXPECT_TRUE(p.may(2 * M, t0 + 1s)) << "a whole second's worth saved up";
    EXPECT_TRUE(p.may(2 * M, t0 + 5s)) << "and no more than that";
    p.took(2 * M);
    EXPECT_FALSE(p.may(64 << 10, t0 + 5s)) << "nothing left";
    EXPECT_TRUE(p.may(64 << 10, t0 + 5s + 63ms)) << "and nothing owed";
}

TEST(Pacer, ANewRateKeepsWithinItsBound) {
    Pacer p(8 * M);
    EXPECT_FALSE(p.may(M, t0));
    EXPECT_TRUE(p.may(8 * M, t0 + 2s)) << "8 MiB saved up";
    p.set_rate(M);
    EXPECT_EQ(p.rate(), M);
    EXPECT_EQ(drive(p, t0 + 2s, 1ms, 1ms, 64 << 10), M) << "what was saved up shrinks to the new bound";
    p.set_rate(0);
    EXPECT_EQ(drive(p, t0 + 5s, 5s, 10ms, 64 << 10), 0u);
    p.set_rate(Pacer::kUnlimited);
    EXPECT_TRUE(p.may(1ull << 40, t0 + 10s));
}
