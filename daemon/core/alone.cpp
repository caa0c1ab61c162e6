// SPDX-License-Identifier: GPL-2.0-only
#include "alone.hpp"

#include <algorithm>

namespace dcc::core {

namespace {

// An answer that does not come within this is taken as lost: the request
// may go out again (a request is asked again at most this often).
constexpr milliseconds kAnswer{1000};

}  // namespace

const char* peer_loss_name(PeerLoss p) { return p == PeerLoss::Continue ? "continue" : "suspend"; }

void GoingAlone::end() {
    alone_ = false;
    epoch_ = 0;
    out_ = Send::None;
}

GoingAlone::Send GoingAlone::tick(const AloneFacts& f, LeaseClock::time_point now) {
    bool owner = f.state.role == Role::Owner;
    if (owner != owner_ || f.state.generation != gen_) {
        // Another role or generation: its record at the witness has no
        // fence of ours (a newer generation never carries one).
        end();
        owner_ = owner;
        gen_ = f.state.generation;
    }
    if (!owner_) return Send::None;
    bool may = GoingAlone::may(f);
    // Paired again, writes wait for the replica again; the policy turned
    // off holds them from now on.
    if (alone_ && (!may || f.paired)) alone_ = false;
    if (out_ != Send::None) {
        if (now - out_at_ < kAnswer) return Send::None;
        out_ = Send::None;  // lost: a late answer is not taken
    }
    if (now - out_at_ < kAnswer) return Send::None;  // paced
    if (may && !alone_ && !f.paired && f.held) return Send::Outdate;
    if (epoch_ && !alone_ && f.paired && f.caught_up) return Send::Uptodate;
    return Send::None;
}

void GoingAlone::sent(Send what, uint64_t seq, LeaseClock::time_point now) {
    out_ = what;
    out_seq_ = seq;
    out_at_ = now;
}

GoingAlone::Send GoingAlone::answered(uint64_t seq, bool granted, uint64_t record_gen,
                          const std::string& record_owner, uint64_t fence, const std::string& site,
                          const AloneFacts& f) {
    Send mine = out_ != Send::None && seq == out_seq_ ? out_ : Send::None;
    if (mine != Send::None) out_ = Send::None;
    if (!owner_) return mine;
    if (record_gen > gen_ || (record_gen == gen_ && record_owner != site)) {
        // The witness knows a newer owner: nothing of ours stands there.
        alone_ = false;
        epoch_ = 0;
        return mine;
    }
    if (record_gen != gen_) return mine;  // a record behind ours: says nothing of our fence
    if (mine == Send::Outdate && granted && fence) {
        // Taken only while the facts that asked for it still hold (this
        // role and generation, not paired again, the policy and the mode
        // unchanged); the fence stands either way, and is lifted once
        // caught up.
        alone_ = f.state.role == Role::Owner && f.state.generation == gen_ && may(f) && !f.paired;
        epoch_ = fence;
        return mine;
    }
    // Any other answer states the record's fence as it is now (answers
    // come in the order the witness took the requests).  While alone this
    // site's own grant stands: only its UPTODATE, not sent while alone,
    // lifts it.
    epoch_ = alone_ ? std::max(epoch_, fence) : fence;
    return mine;
}

}  // namespace dcc::core
