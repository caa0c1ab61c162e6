// SPDX-License-Identifier: GPL-2.0-only
#include "dcc/regions.hpp"

#include <algorithm>

#include "dcc/meta.hpp"

namespace dcc {

void RangeSet::add(uint64_t start, uint64_t count) {
    if (!count) return;
    uint64_t end = start + count;
    // First range that ends at or after start (touching counts: merge).
    auto it = std::lower_bound(ranges_.begin(), ranges_.end(), start,
                               [](const Range& r, uint64_t s) { return r.end() < s; });
    auto last = it;
    while (last != ranges_.end() && last->start <= end) {
        start = std::min(start, last->start);
        end = std::max(end, last->end());
        ++last;
    }
    it = ranges_.erase(it, last);
    ranges_.insert(it, Range{start, end - start});
}

void RangeSet::remove(uint64_t start, uint64_t count) {
    if (!count) return;
    uint64_t end = start + count;
    std::vector<Range> out;
    out.reserve(ranges_.size() + 1);
    for (const Range& r : ranges_) {
        if (r.end() <= start || r.start >= end) {
            out.push_back(r);
            continue;
        }
        if (r.start < start) out.push_back({r.start, start - r.start});
        if (r.end() > end) out.push_back({end, r.end() - end});
    }
    ranges_ = std::move(out);
}

bool RangeSet::contains(uint64_t region) const {
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), region,
                               [](uint64_t v, const Range& r) { return v < r.start; });
    if (it == ranges_.begin()) return false;
    --it;
    return region < it->end();
}

RangeSet RangeSet::intersect(const RangeSet& other) const {
    RangeSet r;
    auto o = other.ranges_.begin();
    for (const Range& x : ranges_) {
        while (o != other.ranges_.end() && o->end() <= x.start) ++o;
        for (auto e = o; e != other.ranges_.end() && e->start < x.end(); ++e) {
            uint64_t s = std::max(x.start, e->start), t = std::min(x.end(), e->end());
            r.ranges_.push_back({s, t - s});  // in order, disjoint and apart as both are
        }
    }
    return r;
}

uint64_t RangeSet::count() const {
    uint64_t n = 0;
    for (const Range& r : ranges_) n += r.count;
    return n;
}

std::string RangeSet::to_string() const {
    std::string s;
    for (const Range& r : ranges_) {
        if (!s.empty()) s += ',';
        s += std::to_string(r.start);
        if (r.count > 1) s += '-' + std::to_string(r.end() - 1);
    }
    return s;
}

std::vector<Range> bitmap_ranges(const Bitmap& map, bool set_bits) {
    std::vector<Range> out;
    uint64_t n = map.size(), i = 0;
    while (i < n) {
        if (map.test(i) != set_bits) {
            i++;
            continue;
        }
        uint64_t s = i;
        while (i < n && map.test(i) == set_bits) i++;
        out.push_back({s, i - s});
    }
    return out;
}

}  // namespace dcc
