// SPDX-License-Identifier: GPL-2.0-only
#include "fills.hpp"

#include <cerrno>
#include <utility>

namespace dcc::core {

const Fill* Fills::find(uint64_t region) const {
    auto it = fills_.find(region);
    return it == fills_.end() ? nullptr : &it->second;
}

void Fills::begun(uint64_t region) { fills_.try_emplace(region); }

void Fills::seen_waiting(const RangeSet& waiting, Clock::time_point now) {
    for (auto it = waited_.begin(); it != waited_.end();)
        it = waiting.contains(it->first) ? std::next(it) : waited_.erase(it);
    for (const Range& x : waiting.ranges())
        for (uint64_t r = x.start; r < x.end(); r++) waited_.try_emplace(r, now);
}

std::optional<Clock::time_point> Fills::waited_since(uint64_t region) const {
    auto it = waited_.find(region);
    if (it == waited_.end()) return std::nullopt;
    return it->second;
}

void Fills::asked(uint64_t region, FillKind kind, uint64_t seq, Clock::time_point retry_at) {
    Fill& f = fills_[region];
    // A fetch answers for a pull of the same region (a bio now waits for it).
    if (kind == FillKind::Fetch) f.kind = kind;
    f.seq = seq;
    f.retry_at = retry_at;
}

Fills::Verdict Fills::answer(uint64_t region, uint64_t seq, uint64_t generation,
                             uint64_t my_generation, int status, Clock::time_point now) {
    auto it = fills_.find(region);
    if (it == fills_.end() || it->second.written || !seq || it->second.seq != seq)
        return Verdict::Late;
    if (status == ENOENT || status == ESTALE) {
        // The peer is not ready for this volume yet (or restarted).
        it->second.seq = 0;
        it->second.retry_at = now + std::chrono::milliseconds(500);
        return Verdict::Retry;
    }
    if (!status && generation != my_generation) return Verdict::Late;
    return Verdict::Take;
}

void Fills::written(uint64_t region) {
    auto it = fills_.find(region);
    if (it != fills_.end()) it->second.written = true;
}

std::vector<uint64_t> Fills::due(FillKind kind, Clock::time_point now) const {
    std::vector<uint64_t> v;
    for (const auto& [r, f] : fills_)
        if (f.kind == kind && !f.written && now >= f.retry_at) v.push_back(r);
    return v;
}

size_t Fills::count(FillKind kind) const {
    size_t n = 0;
    for (const auto& [r, f] : fills_) n += f.kind == kind;
    return n;
}

RangeSet Fills::to_release(const RangeSet& pending, const RangeSet& waiting, bool can_fill) const {
    RangeSet out;
    for (const Range& x : pending.ranges())
        for (uint64_t r = x.start; r < x.end(); r++) {
            const Fill* f = find(r);
            bool give_back;
            if (f && f->written) give_back = false;  // its FILL_DONE is due
            else if (!can_fill) give_back = true;
            else if (waiting.contains(r)) give_back = false;  // fetched now
            else give_back = !f || f->kind == FillKind::Fetch;
            if (give_back) out.add(r, 1);
        }
    return out;
}

void Fills::give_back(const RangeSet& give) {
    for (const Range& x : give.ranges())
        for (uint64_t r = x.start; r < x.end(); r++) fills_.erase(r);
}

void Fills::reset() {
    for (auto& [r, f] : fills_)
        if (!f.written) f = {f.kind, 0, {}, false};
}


void MissOrder::fetched(uint64_t first, uint64_t count, unsigned window, Clock::time_point now) {
    if (!count) return;
    bool recent = missed_ && now - *missed_ < quiet_;
    missed_ = later(missed_, now);
    if (last_ && first == *last_ && count == 1) return;  // asked again
    uint64_t step = last_ && first > *last_ ? first - *last_ : 0;
    last_ = first + count - 1;
    // A sweep goes on with a read no more than a window and one after the
    // last (the regions in between were pulled, or are being), and begins
    // with three reads in a row, each of the regions just after the one
    // before: two could be chance, and one read across many regions is no
    // sweep.  Reads in a row count only while misses follow each other.
    bool going = swept_ && now - *swept_ < quiet_ && step && step <= uint64_t(window) + 1;
    in_a_row_ = step == 1 && recent ? in_a_row_ + 1 : 0;
    if (!going && in_a_row_ < 2) return;
    ahead_ = {*last_ + 1, window};
    swept_ = later(swept_, now);
}

}  // namespace dcc::core
