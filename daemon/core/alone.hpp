// SPDX-License-Identifier: GPL-2.0-only
// on_peer_loss = continue: when an owner of a sync volume may complete
// writes without its replica, and when it lifts the fence that lets it
// (docs/protocol.md, "Going on alone"; the spin model's CONTINUE).  Pure:
// the adapter sends what tick() asks for and feeds back the witness's
// answers.
//
//   - The owner of generation G whose writes wait for a replica it does
//     not hear asks the witness to fence that replica (OUTDATE G).  Only a
//     grant lets it go on alone: the witness then refuses every CLAIM, so
//     the replica cannot fail over and lose what the owner acknowledged
//     without it.  Refused, or with no witness, it holds its writes (the
//     `suspend` policy, bounded by miss_timeout).
//   - Paired again, its writes wait for the replica again; once nothing is
//     dirty here and the replica lacks nothing, it sends UPTODATE G with
//     the fence's epoch until the witness answers.  The epoch keeps an
//     UPTODATE that was delayed past a later OUTDATE from lifting the
//     later fence.
//   - A new role or generation, a restart, or the policy turned off ends
//     going alone.  The fence's epoch is also learnt from every answer of
//     the witness about this site's record (after a restart, or when the
//     answer to an OUTDATE was lost), so a fence is always lifted in the
//     end: an UPTODATE is safe whatever epoch it names, since it is sent
//     only when the replica holds everything and the witness takes only
//     the epoch of its last fence.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "lease.hpp"
#include "ownership.hpp"

namespace dcc::core {

enum class PeerLoss : uint8_t {
    Suspend,   // hold writes while the replica is away (EIO after miss_timeout)
    Continue,  // go on alone once the witness fenced the replica
};
const char* peer_loss_name(PeerLoss p);

struct AloneFacts {
    SiteState state;
    bool sync = false;       // the volume's mode is sync
    PeerLoss policy = PeerLoss::Suspend;
    bool witness = false;    // a witness is configured
    bool paired = false;     // paired with the replica
    uint64_t held = 0;       // writes the kernel holds for the other site
    // Paired, and the replica holds everything this site acknowledged:
    // nothing dirty here, and the replica's set of missing regions, heard
    // since this pairing, empty.
    bool caught_up = false;
};

class GoingAlone {
public:
    enum class Send : uint8_t { None, Outdate, Uptodate };

    // What to send now, if anything: the adapter sends it with a seq of
    // its own and tells sent().  Also ends going alone when the facts no
    // longer allow it.
    Send tick(const AloneFacts& f, LeaseClock::time_point now);
    void sent(Send what, uint64_t seq, LeaseClock::time_point now);
    // The witness's answer to request @seq (if it is ours): @granted, and
    // the record it states (generation, owner, the fence's epoch or 0).
    // @site is this site's name; @f the facts as they are now (a grant
    // that comes once paired again, or after the policy changed, leaves
    // the fence standing but does not let writes go on alone).  Returns
    // what it answered (None: not a request of ours, or one given up).
    Send answered(uint64_t seq, bool granted, uint64_t record_gen, const std::string& record_owner,
                  uint64_t fence, const std::string& site, const AloneFacts& f);

    // Writes may complete without the replica (OUTDATE granted).
    bool alone() const { return alone_; }
    // The epoch of the fence this site holds at the witness (0: none it
    // knows of).
    uint64_t fence() const { return epoch_; }

private:
    void end();
    static bool may(const AloneFacts& f) {
        return f.sync && f.policy == PeerLoss::Continue && f.witness && f.state.split == Split::None;
    }

    uint64_t gen_ = 0;
    bool owner_ = false;
    bool alone_ = false;
    uint64_t epoch_ = 0;
    Send out_ = Send::None;  // in flight
    uint64_t out_seq_ = 0;
    LeaseClock::time_point out_at_{};
};

}  // namespace dcc::core
