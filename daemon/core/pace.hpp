// SPDX-License-Identifier: GPL-2.0-only
// A rate for background transfers (pushes, pulls), as a token bucket.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

#include "boot_clock.hpp"

namespace dcc::core {

// Bytes per second, with at most one second's worth saved up while
// nothing is sent (so a quiet minute is not followed by a burst of a
// minute's worth).  A rate of kUnlimited lets everything through; 0 lets
// nothing through ("off").  What is in flight is not its business: the
// window bounds that.
class Pacer {
public:
    using Clock = BootClock;
    static constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

    explicit Pacer(uint64_t rate) : rate_(rate) {}

    // A new rate (SIGHUP) keeps what was saved up, within the new bound.
    void set_rate(uint64_t rate) {
        rate_ = rate;
        tokens_ = std::min(tokens_, double(rate_));
    }
    uint64_t rate() const { return rate_; }

    // Whether @bytes may go at @now (the saved-up bytes grown to @now first).
    // @bytes above a second's worth would never fit: it goes once a whole
    // second's worth is saved up.
    bool may(uint64_t bytes, Clock::time_point now) {
        if (rate_ == kUnlimited) return true;
        if (rate_ == 0) return false;
        advance(now);
        return tokens_ >= double(std::min<uint64_t>(bytes, rate_));
    }
    // A copy brought up to @now, to decide a batch transfer by transfer
    // (may, took) before any goes; the caller then charges this pacer with
    // took() for each that went.
    Pacer trial(Clock::time_point now) {
        advance(now);
        return *this;
    }
    // @bytes went (after may() said yes).
    void took(uint64_t bytes) {
        if (rate_ != kUnlimited) tokens_ = std::max(0.0, tokens_ - double(bytes));
    }

private:
    // The saved-up bytes grown to @now.
    void advance(Clock::time_point now) {
        if (last_) {
            double dt = std::chrono::duration<double>(now - *last_).count();
            if (dt > 0) tokens_ = std::min(double(rate_), tokens_ + dt * double(rate_));
        }
        if (!last_ || now > *last_) last_ = now;
    }
    uint64_t rate_;
    double tokens_ = 0;
    std::optional<Clock::time_point> last_;
};

}  // namespace dcc::core
