// SPDX-License-Identifier: GPL-2.0-only
// Multi-part range sets (HANDOVER, INVALID_SET), no I/O.  The parts of one
// set have consecutive seqs base .. base+parts-1; each says its index, the
// number of parts and how many regions the whole set holds.  The receiver
// acts on a set only once every part of it arrived and the regions add up.
#pragma once

#include <cstdint>
#include <vector>

#include "dcc/regions.hpp"

namespace dcc::core {

// @set cut into parts of at most @max_ranges ranges (at least one part,
// empty for an empty set).
std::vector<std::vector<Range>> split_parts(const RangeSet& set, size_t max_ranges);

class PartSet {
public:
    enum class Add : uint8_t { Incomplete, Complete, Bad };
    // One part from incarnation @session.  A part of another set (another
    // session or base) starts over: the earlier set was abandoned.
    Add add(uint64_t session, uint64_t seq, uint32_t part, uint32_t parts, uint64_t total,
            const std::vector<Range>& ranges);
    const RangeSet& set() const { return set_; }
    uint64_t base() const { return base_; }
    void clear();

private:
    uint64_t session_ = 0, base_ = 0, total_ = 0;
    uint32_t parts_ = 0, got_ = 0;
    std::vector<bool> have_;
    RangeSet set_;
};

}  // namespace dcc::core
