// SPDX-License-Identifier: GPL-2.0-only
// Typed calls into dm-dcc for dccd (generic netlink through libctl).  Each
// returns 0 or a negative errno and keeps the kernel's explanation of the
// last failure (per thread); requests too large for one message are cut
// into several.  A volume's commands go on its own socket, the one it is
// registered on (the kernel checks the sender): the calls of different
// volumes may run on different threads at once, each volume's on one.
#pragma once

#include <cerrno>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "dcc/nl.hpp"
#include "dcc/regions.hpp"
#include "pairing.hpp"

namespace dcc::dccd {

struct Volume;

class Kernel {
public:
    // A new socket for a volume, and the volume registered on it: closing
    // the socket ends the registration.  Throws dcc::Error.
    std::unique_ptr<nl::Client> open() { return nl_.another(); }
    static nl::RegisterReply register_volume(nl::Client& c, nl::Dev dev) { return c.register_volume(dev); }
    // A whole region set (DCC_SET_*); throws dcc::Error.
    RangeSet set(const Volume& v, uint8_t which);
    // One reply's worth of it, from @cursor; throws dcc::Error.
    nl::RegionsReply page(const Volume& v, uint8_t which, uint64_t cursor);

    int fill_begin(const Volume& v, uint64_t region);
    // End the fills of @ranges: valid if @err is 0, failed otherwise.
    int fill_done(const Volume& v, const std::vector<Range>& ranges, int err = 0);
    int fill_done(const Volume& v, uint64_t region, int err = 0) {
        return fill_done(v, {{region, 1}}, err);
    }
    // Give back the fills of @s no waiting bio needs; @released gets how
    // many the kernel ended.
    int fill_release(const Volume& v, const RangeSet& s, uint64_t* released = nullptr);
    int arm(const Volume& v, uint64_t region);
    int arm(const Volume& v, const RangeSet& s);
    // Clear the dirty bits of armed regions not written since; @cleared
    // gets how many were.
    int clear_dirty(const Volume& v, const RangeSet& s, uint64_t* cleared = nullptr);
    // Armed regions whose every write the peer confirmed (none left
    // unconfirmed, none held): cleared without a push.
    int clear_confirmed(const Volume& v, const RangeSet& s, uint64_t* cleared = nullptr);
    int set_invalid(const Volume& v, const RangeSet& s, bool force);
    // Whether this site may hold a write it acknowledged that the peer
    // lacks (one request: DCC_SET_AHEAD, in async any dirty region, in
    // sync one of a write completed without the peer): what a forced
    // failover's older site weighs (rule 14).
    bool has_ahead(const Volume& v);
    // Persist @s; with @invalid, make those regions invalid (and drop
    // their dirty bits: FORCE) in the same commit.  A set of more ranges
    // than one request carries has its first ones made invalid first,
    // each request all or nothing.  With @clean (replica, from a device
    // that serves no I/O) every dirty bit goes in the same commit.
    int set_role(const Volume& v, core::SiteState s, const RangeSet* invalid = nullptr, bool clean = false);
    // Let the owner serve for @ms milliseconds from now (the first lease
    // makes it need one from then on), or with DCC_LEASE_NONE serve
    // without a lease.
    int set_lease(const Volume& v, uint32_t ms);
    // Synchronous replication on or off (committed first); off completes
    // the writes held for the other site.
    int set_sync(const Volume& v, bool on);

    // What the kernel said about this thread's last failure ("" if nothing).
    const std::string& text() const { return text_; }
    // The kernel's text for this thread's last failure, or strerror(-@e).
    std::string reason(int e) const;
    // @call (a command of this class returning 0 or -errno) where nothing
    // may throw (a worker's job): a failure to talk to the kernel at all
    // is -EIO.  @why gets any error explained.
    template <class F>
    int guarded(std::string& why, F call) {
        try {
            int e = call();
            if (e) why = reason(e);
            return e;
        } catch (const std::exception& x) {
            why = x.what();
            return -EIO;
        }
    }
    // "what: the kernel's text or strerror"
    std::string why(const char* what, int e) const;

    nl::EventSocket& events() { return events_; }

private:
    int call(const Volume& v, const nl::Request& r, uint64_t* count = nullptr);
    // @r once for every cut of @s within the kernel's limits of ranges and
    // of regions a request; the first error, and the COUNTs added up.
    int each_cut(const Volume& v, nl::Request r, const RangeSet& s, uint64_t max_regions,
                 uint64_t* count);
    nl::Request req(const Volume& v, uint8_t cmd) const;
    int set_invalid(const Volume& v, const std::vector<Range>& rs, size_t to, bool force);

    nl::Client nl_;  // finds the family; opens the volumes' sockets
    nl::EventSocket events_;
    static thread_local std::string text_;
};

}  // namespace dcc::dccd
