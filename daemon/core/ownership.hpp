// SPDX-License-Identifier: GPL-2.0-only
// One volume's ownership at this site: the handover state machine and the
// pairing rules, as pure transitions (no I/O).  The driver
// (daemon/handover.cpp) carries out the Plan each step returns, in the
// order its fields are listed, and reports a persist back with persisted().
//
// Phases (the persisted role and generation are in the kernel).  dccd starts
// Unpaired, or Fenced if the kernel says yielding:
//
//                link lost, peer restarted
//       +---------------------------+
//       v                           |
//  +----------+   rule 1, 2    +--------+  migrate, ASK   +----------+
//  | Unpaired | -------------> | Paired | --------------> | Demoting |
//  +----------+                +--------+ <-------------- +----------+
//   ^  ^  |  ^                   |     ^   persist failed:     |
//   |  |  |  | rules 3, 4, 5:    |     |   resume              | persisted
//   |  |  +--+ persist and       |     |                       | yielding G+1:
//   |  |       ATTACH again      |     |                       | HANDOVER sent
//   |  |                         |     |                       | (queued again
//   |  |                         |     |                       | until it is)
//   |  |  a complete HANDOVER    |     |                       v
//   |  |  (replica)              v     |  ack ok: persist  +---------+
//   |  |  persisted owner   +--------+ |  replica G+1;     | Sending |
//   |  +------------------- | Taking | |  ECANCELED: owner +---------+
//   |    G+1: HANDOVER_ACK, +--------+ |  G+1; resume       |     |
//   |    ATTACH again                  +--------------------+     | refused, no
//   |    (persist failed: refuse, back to Paired or Unpaired)     | answer, link
//   |                                                             | lost: resume
//   |                                                             v
//   |                                                        +--------+
//   +------------------------- rule 4, 5 ------------------- | Fenced | yielding G+1:
//                                                            +--------+ every bio fails
//
// Demoting and Taking are each inside one handler: no message is taken
// while a site is in them.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

#include "boot_clock.hpp"
#include "pairing.hpp"

namespace dcc::core {

using Clock = BootClock;

enum class Phase : uint8_t { Unpaired, Paired, Demoting, Sending, Fenced, Taking };
const char* phase_name(Phase p);

// How a migration ended, for the clients waiting for it.
enum class Outcome : uint8_t {
    None,       // not ended (or nobody asked)
    Done,       // the volume moved
    Refused,    // it did not move, and never will by this request
    NoAnswer,   // the peer did not answer; it did not move, and never will by this request
    Uncertain,  // no answer: the next pairing decides; the clients are told so
};

struct Plan {
    int rule = 0;                      // the pairing rule behind it (logged), or 0
    const char* why = "";
    bool invalidate_dirty = false;     // before persist: the dirty regions become invalid
    std::optional<SiteState> persist;  // SET_ROLE; then call persisted()
    bool send_handover = false;        // send the HANDOVER set, then sent()
    bool drop_dirty = false;           // clear dirty bits left from an ownership
    bool resume = false;               // resume the device if this site suspended it
    bool attach = false;               // send ATTACH (pair again)
    bool invalid_set = false;          // tell the owner which regions are missing here
    std::optional<int> reply;          // answer to the HANDOVER being applied (0 or errno)
    Outcome outcome = Outcome::None;
    bool ignored = false;              // the event did not apply (stale, wrong phase)

    // Whether it does anything (log, persist, send, resume, answer).
    bool acts() const {
        return rule || *why || invalidate_dirty || persist || send_handover || drop_dirty || resume ||
               attach || invalid_set || reply || outcome != Outcome::None;
    }
};

// Which of the owner's reports (PROGRESS) a replica takes: only one the
// owner counted after it answered an ATTACH this site sent since it last
// lost the peer, since the owner may have written while the sites were
// apart and a report counted before those writes says nothing of them.
// PROGRESS travels on the owner's control connection and the pairing may
// be made on the replica's, so one sent before a link loss can arrive after
// the sites paired again; so can the owner's own ATTACH, which is why a
// site that pairs again on it takes no report until its own ATTACH is
// answered.  An ATTACH_ACK carries its sender's watermark (arg), a seq
// taken for it: every request the sender makes after has a larger seq, so
// its reports are told apart by their seq (spin model: FIX_PROG_PAIRING,
// FIX_OWN_ATTACH).
struct ReportFloor {
    uint64_t incarnation = 0;  // the owner's dccd
    uint64_t watermark = 0;    // its reports above this seq count
    bool operator==(const ReportFloor&) const = default;
};

// The floor a site sets as it pairs again on the peer's statement (@answer:
// an ATTACH_ACK to its latest ATTACH, else the peer's ATTACH: none, every
// report refused until its own ATTACH is answered).
std::optional<ReportFloor> statement_floor(bool answer, uint64_t from, uint64_t arg);
// After a handover made this site replica of the peer's new generation:
// every report of that generation counts (none was sent before it).
inline ReportFloor handover_floor(uint64_t from) { return {from, 0}; }
// Whether this site takes a report: not an owner, of its generation, from
// the owner's incarnation it paired with and sent after that pairing's
// statement.  None before a first pairing since dccd started.
bool takes_report(const SiteState& here, const std::optional<ReportFloor>& floor, uint64_t from,
                  uint64_t seq, uint64_t generation);

// The why of a peer statement ignored as older than one seen before.
inline constexpr const char* kOlderStatement = "older than a statement the peer made before";

struct Timeouts {
    std::chrono::milliseconds handover{30000};  // Sending: then Fenced
    std::chrono::milliseconds ask{30000};       // a HANDOVER_ASK's answer
};

class Ownership {
public:
    Ownership(SiteState confirmed, Timeouts t);

    SiteState state() const { return state_; }  // what the kernel confirmed
    Phase phase() const { return phase_; }
    const std::optional<Decision>& decision() const { return decision_; }
    std::optional<SiteState> peer() const { return peer_; }
    bool paired() const { return phase_ == Phase::Paired; }
    bool owner() const { return state_.role == Role::Owner; }
    // The kernel reported another role or generation (after a table reload
    // or by an admin): only outside a step of ours.
    void kernel_state(SiteState s);

    // Pairing.  attach_sent records the seq of the ATTACH just sent; only
    // the answer to that one counts.  peer_state takes the peer's state
    // from its ATTACH (answer = false) or from the ATTACH_ACK with @seq.
    // A statement older than one seen already (a late or repeated ATTACH)
    // is ignored: a site's state only moves forward, in the order
    // yielding G < owner or replica G < yielding G+1.
    void attach_sent(uint64_t seq) { attach_seq_ = seq; }
    uint64_t attach_seq() const { return attach_seq_; }
    // @dirt says whether either site holds dirty regions; when
    // meets_newer_owner(state(), peer), this site's must be read with its
    // I/O stopped (suspended), and the plan resumes it.  @mark: the
    // sender's incarnation and, in an answer, its watermark.
    Plan peer_state(SiteState peer, bool answer, uint64_t seq, Dirt dirt = {}, ReportFloor mark = {});
    // Which of the owner's reports a replica takes (ReportFloor).  Set as
    // it pairs on the answer to its latest ATTACH, or by a handover that
    // made it replica; kept over a link loss (the next pairing sets it
    // again).  Paired on the owner's ATTACH it has none: that plan forgets
    // its own ATTACH still out (the owner may have answered it before it
    // last wrote apart) and sends a new one, and wants_floor() says to ask
    // again at each heartbeat until one is answered.
    const std::optional<ReportFloor>& report_floor() const { return floor_; }
    bool wants_floor() const;
    bool takes_report(uint64_t from, uint64_t seq, uint64_t generation) const {
        return core::takes_report(state_, floor_, from, seq, generation);
    }
    // The link to the peer was lost, or the peer restarted.
    Plan link_lost();
    // The peer dropped the volume (DETACH): for this volume, as if the
    // link were lost.  Its next ATTACH (once the device is back) pairs.
    Plan peer_detached();
    // The newest statement of the peer's state seen, as order(); a volume
    // dropped and added again within one peer incarnation starts from it
    // (remember()), so that a statement older than one seen before the
    // drop is still ignored.
    uint64_t newest() const { return newest_; }
    void remember(uint64_t newest) { newest_ = std::max(newest_, newest); }

    // Old owner.  begin_handover returns why it cannot start, or nullptr;
    // the Plan to carry out is then pending(): suspend, read the dirty set,
    // and persist.  @ask is the seq of the peer's HANDOVER_ASK, or 0.
    const char* begin_handover(uint64_t ask);
    Plan demote();                        // suspended, dirty set read: persist
    Plan abort_demote(const char* why);   // could not suspend or read it
    // The HANDOVER was queued for the peer with @seq; if it could not be,
    // tick() asks for it again every kSendRetry, and fences once a
    // handover timeout went by since the first try (at once if it never
    // can be: !@can_retry).  The answer is due a handover timeout after
    // the first try.
    Plan sent(bool queued, uint64_t seq, Clock::time_point now, bool can_retry = true);
    static constexpr std::chrono::milliseconds kSendRetry{200};
    bool awaits(uint64_t seq, uint64_t generation) const;  // the answer to our HANDOVER?
    // (@from: the incarnation of the peer's dccd that answered.)
    Plan handover_answer(uint64_t seq, uint64_t generation, int status, uint64_t from);
    uint64_t handover_generation() const { return ho_gen_; }
    uint64_t handover_ask() const { return ho_ask_; }

    // New owner.  ask() records a HANDOVER_ASK sent with @seq; handover()
    // takes a complete HANDOVER set for @generation answering ask @ask.
    void ask(uint64_t seq, Clock::time_point now);
    bool asking() const { return ask_seq_ != 0; }
    // The owner answered ask @seq with an error (HANDOVER_ACK).  EALREADY
    // says its own handover to this site is under way: the ask waits for
    // that HANDOVER, as if it answered it, until its deadline; any other
    // error refuses it.
    Plan ask_refused(uint64_t seq, int status);

    // Where a migration under way takes the volume: here (this site asked
    // for it or is taking it), to the peer (this site is handing it
    // over), or nowhere.  A second request for the same move waits for
    // this one's outcome; one for the other way is refused, saying so.
    enum class Toward : uint8_t { None, Here, Peer };
    Toward migrating() const;
    Plan handover(uint64_t generation, uint64_t ask);

    // dccctl failover --force at a replica cut off from its owner (the
    // driver checked failover_refusal() first): owner of the next
    // generation at once, origin forced.  Refused (outcome, why) if this
    // site is not an unpaired replica.
    Plan force_failover() { return fail_over(Origin::Forced); }
    // The same after the witness granted the next generation (a CLAIM):
    // origin failover.  With @granted, refused unless that is the next
    // generation here (a pairing meanwhile may have moved this site on).
    Plan fail_over(Origin how, std::optional<uint64_t> granted = std::nullopt);
    // dccctl resolve --discard-local at a site of a split brain: its
    // writes since the sites parted go (its dirty regions become invalid).
    // The older site becomes the replica of the newer owner's generation;
    // the newer site (the driver stops its I/O first) becomes replica of
    // the next generation, origin resolved, which the older site takes
    // with its writes (pairing rule 15).
    Plan resolve_discard_local();

    // The driver carried out plan.persist: ok if the kernel committed it.
    Plan persisted(bool ok);

    // Deadlines: a HANDOVER unanswered, an ask unanswered; and a HANDOVER
    // to queue again.
    Plan tick(Clock::time_point now);

private:
    enum class Pending : uint8_t {
        None, Demote, Complete, TakeBack, AckComplete, AckTakeBack, Burn, Refuse, Take,
        Record, Force, Resolve
    };
    Plan fence(const char* why);
    // The peer is gone for this volume (link lost, DETACH): not paired; a
    // handover under way is fenced, saying @fence_why.
    Plan lose_peer(const char* fence_why);
    // A step of a handover is under way: persist pending, or demoting,
    // sending or taking.
    bool in_handover() const;
    // A statement of the peer's state: false if older than the newest seen.
    bool saw(SiteState peer);
    // The report floor as the statement @mark pairs this site.
    void pairing_floor(Plan& p, bool answer, bool again, ReportFloor mark);

    SiteState state_;
    Timeouts t_;
    Phase phase_ = Phase::Unpaired;
    std::optional<Decision> decision_;
    std::optional<SiteState> peer_;
    uint64_t newest_ = 0;  // the newest peer statement seen, as order()
    uint64_t attach_seq_ = 0;
    std::optional<ReportFloor> floor_;
    Pending pending_ = Pending::None;
    SiteState target_;
    Phase before_ = Phase::Unpaired;  // where a failed persist returns to
    // old owner
    uint64_t ho_seq_ = 0, ho_gen_ = 0, ho_ask_ = 0, ho_from_ = 0;
    Clock::time_point ho_deadline_{};
    Clock::time_point ho_retry_at_{};  // queue the HANDOVER again then (not queued yet)
    // new owner
    uint64_t ask_seq_ = 0;
    bool ask_joined_ = false;  // the owner's own handover answers it
    Clock::time_point ask_deadline_{};
};

}  // namespace dcc::core
