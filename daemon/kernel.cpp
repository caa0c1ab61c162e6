// SPDX-License-Identifier: GPL-2.0-only
#include "kernel.hpp"

#include <cstring>

#include "stallwatch.hpp"
#include "volume.hpp"

namespace dcc::dccd {

nl::Request Kernel::req(const Volume& v, uint8_t cmd) const {
    return {.cmd = cmd, .dev = v.dev, .reg_id = v.reg.reg_id};
}

thread_local std::string Kernel::text_;

namespace {

// A request's name, for the watch (a request that commits metadata waits
// for the metadata device, and often for a flush of the data device).
const char* command_name(uint8_t cmd) {
    switch (cmd) {
    case DCC_CMD_FILL_BEGIN: return "FILL_BEGIN";
    case DCC_CMD_FILL_DONE: return "FILL_DONE";
    case DCC_CMD_SET_INVALID: return "SET_INVALID";
    case DCC_CMD_CLEAR_DIRTY: return "CLEAR_DIRTY";
    case DCC_CMD_SET_ROLE: return "SET_ROLE";
    case DCC_CMD_ARM: return "ARM";
    case DCC_CMD_SET_LEASE: return "SET_LEASE";
    case DCC_CMD_SET_SYNC: return "SET_SYNC";
    case DCC_CMD_WRITES_DONE: return "WRITES_DONE";
    case DCC_CMD_ANNOUNCE_WRITES: return "ANNOUNCE_WRITES";
    case DCC_CMD_FILL_RELEASE: return "FILL_RELEASE";
    default: return "a request";
    }
}

[[nodiscard]] StallWatch::Busy on_kernel(const Volume& v, const char* what) {
    return {stall_watch(), std::string("the kernel's answer to ") + what + " for " + v.name};
}

}  // namespace

int Kernel::call(const Volume& v, const nl::Request& r, uint64_t* count) {
    text_.clear();
    auto busy = on_kernel(v, command_name(r.cmd));
    int e = v.nl->transact(
        r,
        [&](nlmsghdr* h) {
            if (count)
                if (auto c = nl::parse_count(h)) *count += *c;
        },
        &text_);
    return e;
}

std::string Kernel::reason(int e) const { return text_.empty() ? std::strerror(-e) : text_; }

std::string Kernel::why(const char* what, int e) const { return std::string(what) + ": " + reason(e); }

RangeSet Kernel::set(const Volume& v, uint8_t which) {
    RangeSet s;
    auto busy = on_kernel(v, "GET_REGIONS");
    for (uint64_t cursor = 0;;) {
        nl::RegionsReply r = v.nl->get_regions(v.dev, which, cursor);
        for (const Range& x : r.ranges) s.add(x.start, x.count);
        if (!r.next) return s;
        cursor = *r.next;
    }
}

nl::RegionsReply Kernel::page(const Volume& v, uint8_t which, uint64_t cursor) {
    auto busy = on_kernel(v, "GET_REGIONS");
    return v.nl->get_regions(v.dev, which, cursor);
}

int Kernel::fill_begin(const Volume& v, uint64_t region) {
    nl::Request r = req(v, DCC_CMD_FILL_BEGIN);
    r.region = region;
    return call(v, r);
}

int Kernel::each_cut(const Volume& v, nl::Request r, const RangeSet& s, uint64_t max_regions, uint64_t* count) {
    uint64_t regions = 0, n = 0;
    int first = 0;
    auto send = [&] {
        if (r.ranges.empty()) return;
        int e = call(v, r, &n);
        if (e && !first) first = e;
        r.ranges.clear();
        regions = 0;
    };
    for (const Range& x : s.ranges())
        for (uint64_t a = x.start; a < x.end();) {
            if (regions == max_regions || r.ranges.size() == DCC_MAX_RANGES_PER_REQUEST) send();
            uint64_t c = std::min<uint64_t>(x.end() - a, max_regions - regions);
            r.ranges.push_back({a, c});
            regions += c;
            a += c;
        }
    send();
    if (count) *count = n;
    return first;
}

int Kernel::fill_done(const Volume& v, const std::vector<Range>& ranges, int err) {
    nl::Request r = req(v, DCC_CMD_FILL_DONE);
    if (err) r.fill_errno = uint32_t(err);
    RangeSet s;
    for (const Range& x : ranges) s.add(x.start, x.count);
    return each_cut(v, r, s, DCC_MAX_FILLS_PER_REQUEST, nullptr);
}

int Kernel::fill_release(const Volume& v, const RangeSet& s, uint64_t* released) {
    return each_cut(v, req(v, DCC_CMD_FILL_RELEASE), s, DCC_MAX_FILLS_PER_REQUEST, released);
}

int Kernel::arm(const Volume& v, uint64_t region) {
    nl::Request r = req(v, DCC_CMD_ARM);
    r.region = region;
    return call(v, r);
}

int Kernel::arm(const Volume& v, const RangeSet& s) {
    return each_cut(v, req(v, DCC_CMD_ARM), s, DCC_MAX_CLEARS_PER_REQUEST, nullptr);
}

int Kernel::clear_dirty(const Volume& v, const RangeSet& s, uint64_t* cleared) {
    return each_cut(v, req(v, DCC_CMD_CLEAR_DIRTY), s, DCC_MAX_CLEARS_PER_REQUEST, cleared);
}

int Kernel::clear_confirmed(const Volume& v, const RangeSet& s, uint64_t* cleared) {
    nl::Request r = req(v, DCC_CMD_CLEAR_DIRTY);
    r.confirmed = true;
    return each_cut(v, r, s, DCC_MAX_CLEARS_PER_REQUEST, cleared);
}

// SET_INVALID of @rs[from, to), as many requests as it takes.
int Kernel::set_invalid(const Volume& v, const std::vector<Range>& rs, size_t to, bool force) {
    nl::Request r = req(v, DCC_CMD_SET_INVALID);
    r.force = force;
    for (size_t i = 0; i < to; i += DCC_MAX_RANGES_PER_REQUEST) {
        r.ranges.assign(rs.begin() + long(i), rs.begin() + long(std::min<size_t>(to, i + DCC_MAX_RANGES_PER_REQUEST)));
        if (int e = call(v, r)) return e;
    }
    return 0;
}

int Kernel::set_invalid(const Volume& v, const RangeSet& s, bool force) {
    return set_invalid(v, s.ranges(), s.ranges().size(), force);
}

int Kernel::set_role(const Volume& v, core::SiteState s, const RangeSet* invalid, bool clean) {
    nl::Request r = req(v, DCC_CMD_SET_ROLE);
    r.clean = clean;
    r.role = uint8_t(s.role);
    r.generation = s.generation;
    r.origin = uint8_t(s.origin);
    r.split = uint8_t(s.split);
    if (s.split_generation) r.split_generation = s.split_generation;
    if (invalid && !invalid->empty()) {
        // The last request's worth goes with the role; those before it first.
        const auto& rs = invalid->ranges();
        size_t last = (rs.size() - 1) / DCC_MAX_RANGES_PER_REQUEST * DCC_MAX_RANGES_PER_REQUEST;
        if (int e = set_invalid(v, rs, last, true)) return e;
        r.ranges.assign(rs.begin() + long(last), rs.end());
        r.force = true;
    }
    return call(v, r);
}

int Kernel::set_lease(const Volume& v, uint32_t ms) {
    nl::Request r = req(v, DCC_CMD_SET_LEASE);
    r.lease_ms = ms;
    return call(v, r);
}

int Kernel::set_sync(const Volume& v, bool on) {
    nl::Request r = req(v, DCC_CMD_SET_SYNC);
    r.sync = on ? 1 : 0;
    return call(v, r);
}

bool Kernel::has_ahead(const Volume& v) { return !page(v, DCC_SET_AHEAD, 0).ranges.empty(); }

}  // namespace dcc::dccd
