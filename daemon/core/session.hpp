// SPDX-License-Identifier: GPL-2.0-only
// Incarnations (no I/O).  Each dccd picks a random number when it starts.
// Every message carries its sender's incarnation (from) and the receiver's
// as the sender knows it (to).  A site takes a message only if it comes
// from the peer incarnation the latest HELLO or HELLO_ACK announced and is
// addressed to its own: what a dead dccd sent, and what was sent to one
// (a late copy reaching its successor), is dropped.  A replaced
// incarnation is never taken back, so a late HELLO from a dead dccd cannot
// bring its messages back to life.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>

namespace dcc::core {

class Incarnations {
public:
    explicit Incarnations(uint64_t mine) : mine_(mine) {}
    uint64_t mine() const { return mine_; }
    std::optional<uint64_t> peer() const { return peer_; }

    enum class Hello : uint8_t {
        Same,     // the incarnation we know
        New,      // the peer started (again): forget everything in flight
        Retired,  // from a dead dccd: drop it
    };
    Hello hello(uint64_t peer);

    // A message (other than HELLO) from the live peer to this incarnation?
    bool accept(uint64_t from, uint64_t to) const { return peer_ && from == *peer_ && to == mine_; }
    // What an outgoing message carries.
    uint64_t to() const { return peer_.value_or(0); }

private:
    uint64_t mine_;
    std::optional<uint64_t> peer_;
    std::deque<uint64_t> retired_;  // the last few replaced ones
};

// The round trip to the peer's dccd, from each PING to its PONG: both
// loops and the link, what a control message pays (status shows it beside
// the network's own ping time).  Smoothed as TCP smooths its RTT (each
// sample moves it by an eighth), so that one late answer does not swing it;
// the last and the least sample beside it, since the smoothed figure keeps
// a busy period's samples for several seconds after it.
class RoundTrip {
public:
    void sample(double ms) {
        srtt_ = srtt_ ? *srtt_ + (ms - *srtt_) / 8 : ms;
        last_ = ms;
        min_ = min_ ? std::min(*min_, ms) : ms;
    }
    void reset() { srtt_ = last_ = min_ = std::nullopt; }
    std::optional<double> ms() const { return srtt_; }
    std::optional<double> last() const { return last_; }
    std::optional<double> min() const { return min_; }

private:
    std::optional<double> srtt_, last_, min_;
};

}  // namespace dcc::core
