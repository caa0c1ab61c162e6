// SPDX-License-Identifier: GPL-2.0-only
// Fill bookkeeping at the owner (no I/O): for each region it locked in the
// kernel to fill, the request outstanding for it.  An answer is taken only
// if it is the answer to that request (seq) for this site's generation;
// anything else is late (an earlier request, an earlier ownership) and is
// dropped, so old data never fills a region.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "boot_clock.hpp"
#include "dcc/regions.hpp"

namespace dcc::core {

using Clock = BootClock;

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

// Misses first, a reader's sweep ahead.  A fetch's answer queues on the
// link behind the answers of the pulls already under way (a window of 8
// regions of 64 KiB is 28 ms at 150 Mbit/s), and at both sites its read
// and write share the disks and CPUs with theirs.  So while bios of a
// volume wait for fetches, and for @quiet after the last, its pulls keep
// to one in flight, except ahead of a reader that goes through the volume
// in order: three runs of fetches (the regions asked in one pass, one
// after another), each of the regions just after the run before, mark
// the next window of regions as that reader's, and each run no more than
// a window and one regions after the one before moves it on;
// those are pulled first at the full window, since the reader would wait
// for each of them in turn.
// (A reader that jumps about gains nothing from pulls and pays for them;
// one that sweeps the volume pays for each region it reaches first.)
class MissOrder {
public:
    explicit MissOrder(Clock::duration quiet) : quiet_(quiet) {}
    // Fetches were asked at @now for the @count regions from @first, a
    // run of those bios wait for (@window: the most pulls in flight, and
    // how far ahead of a sweep to pull).
    void fetched(uint64_t first, uint64_t count, unsigned window, Clock::time_point now);
    // A bio still waits for a fetch at @now.
    void waiting(Clock::time_point now) { missed_ = later(missed_, now); }
    // The regions to pull first at @now: those ahead of a reader's sweep
    // (count 0: none).
    Range ahead(Clock::time_point now) const {
        return swept_ && now - *swept_ < quiet_ ? ahead_ : Range{};
    }
    // How many pulls may be in flight at @now, of @window, besides those
    // of ahead().
    unsigned window(unsigned window, Clock::time_point now) const {
        return missed_ && now - *missed_ < quiet_ ? std::min(window, 1u) : window;
    }

private:
    static Clock::time_point later(std::optional<Clock::time_point> t, Clock::time_point now) {
        return t ? std::max(*t, now) : now;
    }
    Clock::duration quiet_;
    std::optional<Clock::time_point> missed_, swept_;
    std::optional<uint64_t> last_;  // the last region of the latest run
    unsigned in_a_row_ = 0;         // runs each just after the one before
    Range ahead_{};
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
