// SPDX-License-Identifier: GPL-2.0-only
// Fill bookkeeping at the owner (no I/O): for each region it locked in the
// kernel to fill, the request outstanding for it.  An answer is taken only
// if it is the answer to that request (seq) for this site's generation;
// anything else is late (an earlier request, an earlier ownership) and is
// dropped, so old data never fills a region.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "dcc/regions.hpp"

namespace dcc::core {

using Clock = std::chrono::steady_clock;

enum class FillKind : uint8_t { Pull, Fetch };  // background; a bio waits

struct Fill {
    FillKind kind = FillKind::Pull;
    uint64_t seq = 0;               // the request outstanding, 0 if none
    Clock::time_point retry_at{};   // ask (again) from then on
    bool written = false;           // the data is in place: FILL_DONE is due
};

// Background pulls give way to handovers.  A migration of many volumes
// holds each one's I/O until its handover ends, and a pull begun meanwhile
// (a region read, encrypted and sent at one site, written and committed at
// the other) takes CPU, disk and link from the handovers still to come.
// So new pulls begin only once no role changed at this site for @quiet; a
// pull already asked is asked again when due, and a fetch (a bio waits)
// never waits for this.
class PullGate {
public:
    explicit PullGate(Clock::duration quiet) : quiet_(quiet) {}
    void role_changed(Clock::time_point now) { last_ = now; }
    bool may_begin(Clock::time_point now) const { return !last_ || now - *last_ >= quiet_; }

private:
    Clock::duration quiet_;
    std::optional<Clock::time_point> last_;
};

class Fills {
public:
    bool has(uint64_t region) const { return fills_.count(region); }
    const Fill* find(uint64_t region) const;
    // A region locked for a background pull (FILL_BEGIN succeeded).
    void begun(uint64_t region);
    // The regions bios wait for (the kernel's waiting set), read at @now:
    // a region's wait runs from the first time it was seen there, through
    // requests asked again, link resets and fills given back, until its
    // fill is done or no bio waits for it any more.
    void seen_waiting(const RangeSet& waiting, Clock::time_point now);
    std::optional<Clock::time_point> waited_since(uint64_t region) const;
    // A request for @region was sent (or, with seq 0, could not be).
    void asked(uint64_t region, FillKind kind, uint64_t seq, Clock::time_point retry_at);

    enum class Verdict : uint8_t {
        Take,   // write the data (status 0) or fail the fill (an error)
        Late,   // not the request outstanding, or another generation: drop
        Retry,  // the peer is not ready: ask again shortly
    };
    Verdict answer(uint64_t region, uint64_t seq, uint64_t generation, uint64_t my_generation,
                   int status, Clock::time_point now);
    void written(uint64_t region);
    void done(uint64_t region) {
        fills_.erase(region);
        waited_.erase(region);
    }

    // Regions of @kind not written whose request is due (again).
    std::vector<uint64_t> due(FillKind kind, Clock::time_point now) const;
    size_t count(FillKind kind) const;
    size_t size() const { return fills_.size(); }
    // Of the regions the kernel holds locked for a fill (@pending), those
    // this site gives back (FILL_RELEASE): every one not written yet if it
    // cannot fill now (@can_fill: owner, paired, link up); otherwise those
    // no bio waits for (@waiting) whose data nobody will bring: a fetch
    // whose bios have timed out, or a lock it has no request for.  A
    // background pull in flight is kept.  The kernel keeps any a waiting
    // bio needs, so a bio that came since the sets were read is safe.
    RangeSet to_release(const RangeSet& pending, const RangeSet& waiting, bool can_fill) const;
    // @give is about to be given back (FILL_RELEASE): its fills are
    // forgotten first, whatever the kernel answers, so that an answer that
    // comes later is late and never writes over a region the kernel may
    // already have let an overwrite into.  One the kernel keeps is asked
    // for again.
    void give_back(const RangeSet& give);
    // The link reset: every request is lost; the regions stay locked and
    // are asked for again.
    void reset();
    // This site stops filling (it gave the volume up): every fill is
    // forgotten (the kernel's pending set says which locks to end).
    void clear() { fills_.clear(); }

private:
    std::map<uint64_t, Fill> fills_;
    std::map<uint64_t, Clock::time_point> waited_;  // see seen_waiting()
};

}  // namespace dcc::core
