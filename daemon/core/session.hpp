// SPDX-License-Identifier: GPL-2.0-only
// Incarnations (no I/O).  Each dccd picks a random number when it starts;
// its requests carry it and replies to them echo it.  A site takes a
// request only from the peer incarnation its latest HELLO announced, and a
// reply only if it echoes its own: what a dead dccd sent, or what answers
// it, is dropped.  A replaced incarnation is never taken back, so a late
// HELLO from a dead dccd cannot bring its messages back to life.
#pragma once

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

    bool request_ok(uint64_t session) const { return peer_ && session == *peer_; }
    bool reply_ok(uint64_t session) const { return session == mine_; }

private:
    uint64_t mine_;
    std::optional<uint64_t> peer_;
    std::deque<uint64_t> retired_;  // the last few replaced ones
};

}  // namespace dcc::core
