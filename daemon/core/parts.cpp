// SPDX-License-Identifier: GPL-2.0-only
#include "parts.hpp"

namespace dcc::core {

std::vector<std::vector<Range>> split_parts(const RangeSet& set, size_t max_ranges) {
    std::vector<std::vector<Range>> parts(1);
    for (const Range& r : set.ranges()) {
        if (parts.back().size() == max_ranges) parts.emplace_back();
        parts.back().push_back(r);
    }
    return parts;
}

void PartSet::clear() {
    session_ = base_ = total_ = 0;
    parts_ = got_ = 0;
    have_.clear();
    set_ = RangeSet();
}

PartSet::Add PartSet::add(uint64_t session, uint64_t seq, uint32_t part, uint32_t parts,
                          uint64_t total, const std::vector<Range>& ranges) {
    if (!parts || part >= parts || seq < part) return Add::Bad;
    uint64_t base = seq - part;
    if (!parts_ || session != session_ || base != base_) {
        clear();
        session_ = session;
        base_ = base;
        parts_ = parts;
        total_ = total;
        have_.assign(parts, false);
    } else if (parts != parts_ || total != total_) {
        clear();
        return Add::Bad;
    }
    if (have_[part]) return got_ == parts_ ? Add::Complete : Add::Incomplete;
    have_[part] = true;
    got_++;
    for (const Range& r : ranges) set_.add(r.start, r.count);
    if (got_ < parts_) return Add::Incomplete;
    if (set_.count() != total_) {
        clear();
        return Add::Bad;
    }
    return Add::Complete;
}

}  // namespace dcc::core
