// SPDX-License-Identifier: GPL-2.0-only
// Region ranges: the compact form in which sets of regions travel.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dcc {

class Bitmap;

struct Range {
    uint64_t start = 0;
    uint64_t count = 0;
    uint64_t end() const { return start + count; }
    bool operator==(const Range&) const = default;
};

// A set of regions kept as sorted, disjoint, non-adjacent ranges.
class RangeSet {
public:
    void add(uint64_t start, uint64_t count = 1);
    void remove(uint64_t start, uint64_t count = 1);
    bool contains(uint64_t region) const;
    uint64_t count() const;
    // The regions in both.
    RangeSet intersect(const RangeSet& other) const;
    bool empty() const { return ranges_.empty(); }
    const std::vector<Range>& ranges() const { return ranges_; }
    std::string to_string() const;  // "0-3,7,9-10"

private:
    std::vector<Range> ranges_;
};

// Ranges of set (or clear) bits of a bitmap.
std::vector<Range> bitmap_ranges(const Bitmap& map, bool set_bits);

}  // namespace dcc
