// SPDX-License-Identifier: GPL-2.0-only
// The ownership state machine (daemon/core/ownership.hpp) driven by two
// simulated sites: planned handovers, refusals, and a crash of either
// site at every step of a handover (what a kill -9 of dccd or a power cut
// leaves is the persisted role and generation; the core starts again from
// it), each followed by pairing until the sites agree.  After every step
// at most one site accepts writes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "ownership.hpp"

using namespace dcc;
using namespace dcc::core;

namespace {

constexpr Role O = Role::Owner, R = Role::Replica, Y = Role::Yielding;

struct Site {
    explicit Site(SiteState s) : disk(s) { start(); }
    SiteState disk;              // what the kernel committed
    bool suspended = false;      // by this site's dccd
    bool metadata_fails = false; // every SET_ROLE fails
    bool dirty = false;          // holds writes the peer never took
    std::unique_ptr<Ownership> own;
    std::vector<int> rules;
    Outcome outcome = Outcome::None;

    void start() {
        own = std::make_unique<Ownership>(disk, Timeouts{});
        suspended = false;  // a restarted site's device is resumed by the driver
    }
    bool writes() const { return disk.role == O && !suspended && disk.split != Split::Old; }
    // Carry out a plan the way the driver does; returns the last plan.
    Plan run(Plan p) {
        if (p.rule) rules.push_back(p.rule);
        if (p.outcome != Outcome::None) outcome = p.outcome;
        if (p.invalidate_dirty) dirty = false;
        if (p.persist) {
            bool ok = !metadata_fails;
            if (ok) disk = *p.persist;
            return run(own->persisted(ok));
        }
        if (p.resume) suspended = false;
        return p;
    }
};

uint64_t g_seq = 100;
auto g_now = Clock::now();

struct Pair {
    Site a, b;
    Pair(SiteState sa, SiteState sb) : a(sa), b(sb) {}
    int writers() const { return a.writes() + b.writes(); }

    // @from sends ATTACH; @to takes it as a request, answers, and @from
    // takes the answer.
    void attach(Site& from, Site& to) {
        uint64_t seq = ++g_seq;
        from.own->attach_sent(seq);
        take(to, from, false, 0);
        take(from, to, true, seq);
    }
    // @s takes @peer's statement as the driver does: an old owner that
    // meets a newer owner by failover stops its I/O to decide.
    // An ATTACH states no split generation (daemon/core/wire.hpp).
    void take(Site& s, Site& peer, bool answer, uint64_t seq) {
        SiteState said = peer.own->state();
        said.split_generation = 0;
        bool quiesce = meets_newer_owner(s.own->state(), said) && !s.suspended;
        if (quiesce) s.suspended = true;
        s.run(s.own->peer_state(said, answer, seq, {s.dirty, peer.dirty}));
        if (quiesce) s.suspended = false;
    }
    // Pair until both say paired (true) or some rounds went by.
    bool settle() {
        for (int i = 0; i < 8; i++) {
            attach(a, b);
            EXPECT_LE(writers(), 1);
            attach(b, a);
            EXPECT_LE(writers(), 1);
            if (a.own->paired() && b.own->paired()) return true;
        }
        return false;
    }
    // After both restarted, or the link came back.
    void link_lost() {
        a.run(a.own->link_lost());
        b.run(b.own->link_lost());
    }
};

// The old owner's steps, up to @stop, with B answering; returns the
// HANDOVER's seq (0 if not sent).
enum class Step { Demote, Send, Receive, Apply, Ack, Complete };

uint64_t handover(Pair& p, Step stop, uint64_t ask = 0) {
    Site &a = p.a, &b = p.b;
    EXPECT_EQ(a.own->begin_handover(ask), nullptr);
    a.suspended = true;
    if (stop == Step::Demote) return 0;
    Plan d = a.run(a.own->demote());
    EXPECT_TRUE(d.send_handover);
    EXPECT_LE(p.writers(), 1);
    uint64_t seq = ++g_seq;
    a.run(a.own->sent(true, seq, g_now));
    if (stop == Step::Send) return seq;
    if (stop == Step::Receive) return seq;  // B got it and dies before acting
    Plan t = b.run(b.own->handover(a.own->handover_generation(), ask));
    EXPECT_LE(p.writers(), 1);
    if (stop == Step::Apply) return seq;  // B persisted, dies before its ack
    EXPECT_TRUE(t.reply.has_value());
    if (stop == Step::Ack) return seq;    // the ack arrives, A dies at once
    a.run(a.own->handover_answer(seq, a.own->handover_generation(), *t.reply, 0));
    return seq;
}

// The old owner @a up to Sending: demoted, its HANDOVER to be queued.
void demoted(Site& a) {
    ASSERT_EQ(a.own->begin_handover(0), nullptr);
    a.suspended = true;
    ASSERT_TRUE(a.run(a.own->demote()).send_handover);
}

}  // namespace

TEST(Ownership, PlannedHandover) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    EXPECT_EQ(p.a.rules.back(), 1);
    EXPECT_EQ(p.b.rules.back(), 2);
    handover(p, Step::Complete);
    EXPECT_EQ(p.a.disk, (SiteState{R, 2}));
    EXPECT_EQ(p.b.disk, (SiteState{O, 2}));
    EXPECT_EQ(p.a.outcome, Outcome::Done);
    EXPECT_EQ(p.a.own->phase(), Phase::Paired) << "the answer says where B stands";
    EXPECT_EQ(p.b.own->phase(), Phase::Unpaired) << "B pairs again before it replicates";
    EXPECT_FALSE(p.a.suspended);
    EXPECT_TRUE(p.settle());
    EXPECT_EQ(p.b.rules.back(), 1);
    EXPECT_EQ(p.writers(), 1);
}

// A HANDOVER that could not be queued (the link's queue full) is queued
// again at the next tick, not given up: the peer saw none of it, as if it
// were still on its way.  Only once a handover timeout went by since the
// first try does the old owner fence itself, and the pairing rules decide.
TEST(Ownership, AHandoverNotQueuedIsQueuedAgain) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    Site& a = p.a;
    demoted(a);
    Plan f = a.run(a.own->sent(false, 0, g_now));
    EXPECT_EQ(a.own->phase(), Phase::Sending);
    EXPECT_NE(std::string(f.why), "");
    EXPECT_FALSE(a.own->tick(g_now).send_handover) << "not before kSendRetry";
    auto later = g_now + Ownership::kSendRetry;
    EXPECT_TRUE(a.own->tick(later).send_handover);
    Plan again = a.run(a.own->sent(false, 0, later));
    EXPECT_STREQ(again.why, "") << "logged once";
    // Queued at last: B takes it and A completes, as in a planned handover.
    later += Ownership::kSendRetry;
    ASSERT_TRUE(a.own->tick(later).send_handover);
    uint64_t seq = ++g_seq;
    a.run(a.own->sent(true, seq, later));
    EXPECT_FALSE(a.own->tick(later + Ownership::kSendRetry).send_handover) << "queued: wait for the answer";
    EXPECT_FALSE(a.own->awaits(seq - 1, a.own->handover_generation()));
    Plan t = p.b.run(p.b.own->handover(a.own->handover_generation(), 0));
    ASSERT_TRUE(t.reply.has_value());
    a.run(a.own->handover_answer(seq, a.own->handover_generation(), *t.reply, 0));
    EXPECT_EQ(a.disk, (SiteState{R, 2}));
    EXPECT_EQ(p.b.disk, (SiteState{O, 2}));
    EXPECT_EQ(a.outcome, Outcome::Done);
    EXPECT_EQ(p.writers(), 1);
}

// Queued late: the answer is still due a handover timeout after the
// first try (the migration's client is answered within one), and a set
// that can never be sent fences at once.
TEST(Ownership, AHandoverQueuedLateKeepsTheFirstDeadline) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    Site& a = p.a;
    demoted(a);
    a.run(a.own->sent(false, 0, g_now));
    auto late = g_now + Timeouts{}.handover - Ownership::kSendRetry;
    ASSERT_TRUE(a.own->tick(late).send_handover);
    a.run(a.own->sent(true, ++g_seq, late));
    EXPECT_EQ(a.own->phase(), Phase::Sending);
    a.run(a.own->tick(g_now + Timeouts{}.handover));
    EXPECT_EQ(a.own->phase(), Phase::Fenced) << "no answer within the first try's timeout";

    Pair q({O, 1}, {R, 1});
    ASSERT_TRUE(q.settle());
    demoted(q.a);
    Plan f = q.a.run(q.a.own->sent(false, 0, g_now, false));
    EXPECT_EQ(q.a.own->phase(), Phase::Fenced);
    EXPECT_STREQ(f.why, "the handover set is too large to send");
}

// Never queued within a handover timeout: fenced, and pairing gives the
// volume back to A (B never saw the HANDOVER).
TEST(Ownership, AHandoverNeverQueuedFences) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    Site& a = p.a;
    demoted(a);
    a.run(a.own->sent(false, 0, g_now));
    auto t = g_now + Timeouts{}.handover - Ownership::kSendRetry;
    ASSERT_TRUE(a.own->tick(t).send_handover);
    a.run(a.own->sent(false, 0, t));
    EXPECT_EQ(a.own->phase(), Phase::Sending);
    t = g_now + Timeouts{}.handover;
    ASSERT_TRUE(a.own->tick(t).send_handover);
    a.run(a.own->sent(false, 0, t));
    EXPECT_EQ(a.own->phase(), Phase::Fenced);
    EXPECT_EQ(p.writers(), 0);
    ASSERT_TRUE(p.settle());
    EXPECT_EQ(a.disk.role, O);
    EXPECT_EQ(p.b.disk.role, R);
    EXPECT_EQ(p.writers(), 1);
}

// The model's FIX_REPAIR: a new owner hands the volume on only once the
// old owner is its replica.  Else, with the old owner fenced (yielding
// G+1), a handover of G+2 to it is refused and both sites stay yielding.
TEST(Ownership, NewOwnerWaitsForItsReplicaBeforeHandingOn) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    handover(p, Step::Ack);  // B took 2 and answered; A never hears it
    p.a.run(p.a.own->tick(g_now + std::chrono::hours(1)));
    EXPECT_EQ(p.a.own->phase(), Phase::Fenced);
    EXPECT_STREQ(p.b.own->begin_handover(0), "the volume is not paired with the peer");
    ASSERT_TRUE(p.settle());
    EXPECT_EQ(p.a.disk, (SiteState{R, 2}));
    EXPECT_EQ(p.b.own->begin_handover(0), nullptr);
}

// The model's FIX_NEWEST: a late ATTACH that states an older state than
// the peer stated since (here A's owner 1, after its HANDOVER of 2) is
// ignored; taken, it would read as two owners (rule 9).
TEST(Ownership, ALateAttachIsIgnored) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    handover(p, Step::Complete);
    ASSERT_EQ(p.b.disk, (SiteState{O, 2}));
    Plan late = p.b.own->peer_state({O, 1}, false, 0);
    EXPECT_TRUE(late.ignored);
    EXPECT_NE(p.b.own->decision() ? p.b.own->decision()->rule : 0, 9);
    // An answer that is older than a statement seen since counts as none:
    // the site asks again.
    p.b.own->attach_sent(900);
    EXPECT_TRUE(p.b.own->peer_state({O, 1}, true, 900).ignored);
    EXPECT_EQ(p.b.own->attach_seq(), 0u);
}

TEST(Ownership, RefusesWhatItCannotDo) {
    Pair p({O, 1}, {R, 1});
    EXPECT_STREQ(p.a.own->begin_handover(0), "the volume is not paired with the peer");
    ASSERT_TRUE(p.settle());
    EXPECT_STREQ(p.b.own->begin_handover(0), "this site is not the owner");
    EXPECT_EQ(p.a.own->begin_handover(0), nullptr);
    EXPECT_STREQ(p.a.own->begin_handover(0), "a handover is already in progress");
    // A stale HANDOVER: B is not at generation - 1.
    Plan s = p.b.own->handover(5, 0);
    EXPECT_EQ(s.reply, ESTALE);
    EXPECT_FALSE(s.persist);
}

TEST(Ownership, DemoteThatCannotPersistStaysOwner) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    ASSERT_EQ(p.a.own->begin_handover(0), nullptr);
    p.a.suspended = true;
    p.a.metadata_fails = true;
    Plan d = p.a.run(p.a.own->demote());
    EXPECT_FALSE(d.send_handover);
    EXPECT_EQ(p.a.outcome, Outcome::Refused);
    EXPECT_EQ(p.a.disk, (SiteState{O, 1}));
    EXPECT_FALSE(p.a.suspended);
    EXPECT_EQ(p.a.own->phase(), Phase::Paired);
}

TEST(Ownership, LateAndDuplicateAnswersAreIgnored) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    uint64_t seq = handover(p, Step::Ack);
    EXPECT_TRUE(p.a.own->handover_answer(seq + 1, 2, 0, 0).ignored);  // another seq
    EXPECT_TRUE(p.a.own->handover_answer(seq, 3, 0, 0).ignored);      // another generation
    p.a.run(p.a.own->handover_answer(seq, 2, 0, 0));
    EXPECT_EQ(p.a.disk, (SiteState{R, 2}));
    EXPECT_TRUE(p.a.own->handover_answer(seq, 2, 0, 0).ignored);      // a duplicate
    // A duplicate HANDOVER at the new owner is stale and changes nothing.
    Plan d = p.b.own->handover(2, 0);
    EXPECT_EQ(d.reply, ESTALE);
    EXPECT_EQ(p.b.disk, (SiteState{O, 2}));
}

// The answer to an ATTACH counts only if it answers the latest one.
TEST(Ownership, OnlyTheLatestAttachAnswerCounts) {
    Pair p({O, 1}, {R, 1});
    p.a.own->attach_sent(7);
    p.a.own->attach_sent(8);
    EXPECT_TRUE(p.a.own->peer_state({R, 1}, true, 7).ignored);
    EXPECT_FALSE(p.a.own->peer_state({R, 1}, true, 8).ignored);
    EXPECT_TRUE(p.a.own->paired());
}

// Every step of a handover, with the old owner (A) or the new one (B)
// dying there: dccd killed or the power cut, the same to the core since
// only what was persisted survives.  Then both start again and pair.
struct CrashRow {
    const char* point;     // dccd's crash point, or a name
    Step stop;
    bool a_dies, b_dies;
    SiteState a_after, b_after;
    int a_rule;            // the rule that settled A (0: none needed)
};

TEST(Ownership, CrashAtEveryStep) {
    const CrashRow rows[] = {
        // A suspended, nothing persisted yet: A is owner 1 as before.
        {"before-demote", Step::Demote, true, false, {O, 1}, {R, 1}, 1},
        // A persisted yielding 2, nothing sent: B burns 2, A takes it back.
        {"handover-demoted", Step::Send, true, false, {O, 2}, {R, 2}, 4},
        // A sent and died; B took it: A learns it lost the volume.
        {"handover-sent", Step::Apply, true, false, {R, 2}, {O, 2}, 5},
        // A sent and died; the message died with it.
        {"handover-sent, lost", Step::Send, true, false, {O, 2}, {R, 2}, 4},
        // B died on receipt, before persisting: A (fenced) takes it back.
        {"handover-received", Step::Receive, false, true, {O, 2}, {R, 2}, 4},
        // B persisted owner 2 and died before its ack: A learns it.
        {"handover-applied", Step::Apply, false, true, {R, 2}, {O, 2}, 5},
        // A got the ack and died before persisting replica.
        {"handover-acked", Step::Ack, true, false, {R, 2}, {O, 2}, 5},
        // Both died after B persisted.
        {"both, after apply", Step::Apply, true, true, {R, 2}, {O, 2}, 5},
        // Both died after A persisted yielding, B never got it.
        {"both, after send", Step::Send, true, true, {O, 2}, {R, 2}, 4},
    };
    for (const CrashRow& row : rows) {
        SCOPED_TRACE(row.point);
        Pair p({O, 1}, {R, 1});
        ASSERT_TRUE(p.settle());
        handover(p, row.stop);
        EXPECT_LE(p.writers(), 1);
        // The crash: volatile state gone, persisted state stays.
        if (row.a_dies) p.a.start();
        if (row.b_dies) p.b.start();
        EXPECT_LE(p.writers(), 1) << "a site came back accepting writes next to another";
        // A survivor sees the peer's new incarnation: what was in flight is gone.
        p.link_lost();
        if (!row.a_dies) p.a.run(p.a.own->tick(g_now + std::chrono::hours(1)));
        p.a.rules.clear();
        ASSERT_TRUE(p.settle());
        EXPECT_EQ(p.a.disk, row.a_after);
        EXPECT_EQ(p.b.disk, row.b_after);
        EXPECT_EQ(p.writers(), 1);
        if (row.a_rule) {
            ASSERT_FALSE(p.a.rules.empty());
            EXPECT_EQ(p.a.rules.front(), row.a_rule);
        }
    }
}

// A's client waits across a fence: the rules give it a definite answer.
TEST(Ownership, FencedMigrationGetsItsOutcome) {
    for (bool b_took_it : {false, true}) {
        Pair p({O, 1}, {R, 1});
        ASSERT_TRUE(p.settle());
        handover(p, b_took_it ? Step::Apply : Step::Send);
        p.a.run(p.a.own->tick(g_now + std::chrono::hours(1)));  // no answer
        EXPECT_EQ(p.a.own->phase(), Phase::Fenced);
        EXPECT_FALSE(p.a.suspended) << "a fenced site must not hold bios";
        EXPECT_FALSE(p.a.writes());
        ASSERT_TRUE(p.settle());
        EXPECT_EQ(p.a.outcome, b_took_it ? Outcome::Done : Outcome::Refused);
    }
}

// D3: a migrate asked at B and reported failed never takes effect.
TEST(Ownership, AskReportedFailedNeverTakesEffect) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    uint64_t ask = ++g_seq;
    p.b.own->ask(ask, g_now);
    p.b.run(p.b.own->tick(g_now + std::chrono::hours(1)));
    EXPECT_EQ(p.b.outcome, Outcome::NoAnswer);
    // The ask reaches A late; A hands over, B refuses it for good.
    uint64_t seq = handover(p, Step::Apply, ask);
    EXPECT_EQ(p.b.disk, (SiteState{R, 2}));
    p.a.run(p.a.own->handover_answer(seq, 2, ECANCELED, 0));
    EXPECT_EQ(p.a.disk, (SiteState{O, 2}));
    EXPECT_FALSE(p.a.suspended);
    EXPECT_TRUE(p.settle());
    // The same HANDOVER again (a duplicate) is stale now.
    EXPECT_EQ(p.b.own->handover(2, ask).reply, ESTALE);
    EXPECT_EQ(p.writers(), 1);
}

TEST(Ownership, AskAnsweredInTimeMoves) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    uint64_t ask = ++g_seq;
    p.b.own->ask(ask, g_now);
    handover(p, Step::Complete, ask);
    EXPECT_EQ(p.b.outcome, Outcome::Done);
    EXPECT_EQ(p.b.disk, (SiteState{O, 2}));
}

// Two migrations to B at once, one asked at A and one at B: each site
// knows which way the volume is going, and B's ask, which the owner
// answers with EALREADY, waits for the owner's own HANDOVER.
TEST(Ownership, AskDuringTheOwnersHandoverWaitsForIt) {
    using Toward = Ownership::Toward;
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    EXPECT_EQ(p.a.own->migrating(), Toward::None);
    EXPECT_EQ(p.b.own->migrating(), Toward::None);
    uint64_t ask = ++g_seq;
    p.b.own->ask(ask, g_now);
    EXPECT_EQ(p.b.own->migrating(), Toward::Here);
    ASSERT_EQ(p.a.own->begin_handover(0), nullptr);
    EXPECT_EQ(p.a.own->migrating(), Toward::Peer) << "demoting";
    p.a.suspended = true;
    p.a.run(p.a.own->demote());
    EXPECT_EQ(p.a.own->migrating(), Toward::Peer) << "sending";
    // A answers B's ask: its own handover is under way.
    Plan r = p.b.run(p.b.own->ask_refused(ask, EALREADY));
    EXPECT_EQ(r.outcome, Outcome::None);
    EXPECT_TRUE(p.b.own->asking());
    uint64_t seq = ++g_seq;
    p.a.run(p.a.own->sent(true, seq, g_now));
    Plan t = p.b.run(p.b.own->handover(2, 0));
    EXPECT_EQ(p.b.outcome, Outcome::Done) << "B's client is told the volume moved";
    EXPECT_FALSE(p.b.own->asking());
    ASSERT_TRUE(t.reply.has_value());
    p.a.run(p.a.own->handover_answer(seq, 2, *t.reply, 0));
    EXPECT_EQ(p.a.outcome, Outcome::Done);
    EXPECT_EQ(p.b.disk, (SiteState{O, 2}));
    EXPECT_EQ(p.a.own->migrating(), Toward::None);
    EXPECT_EQ(p.b.own->migrating(), Toward::None);
    EXPECT_TRUE(p.settle());
    EXPECT_EQ(p.writers(), 1);
}

// A joined ask whose HANDOVER does not come in time is uncertain, not
// failed: the HANDOVER may still come and is taken.  Another error
// refuses the ask.
TEST(Ownership, JoinedAskThatTimesOutIsUncertain) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    uint64_t ask = ++g_seq;
    p.b.own->ask(ask, g_now);
    demoted(p.a);
    p.b.run(p.b.own->ask_refused(ask, EALREADY));
    p.b.run(p.b.own->tick(g_now + std::chrono::hours(1)));
    EXPECT_EQ(p.b.outcome, Outcome::Uncertain);
    EXPECT_FALSE(p.b.own->asking());
    uint64_t seq = ++g_seq;
    p.a.run(p.a.own->sent(true, seq, g_now));
    Plan t = p.b.run(p.b.own->handover(2, 0));
    EXPECT_EQ(t.reply, 0) << "the owner's own handover is taken all the same";
    EXPECT_EQ(p.b.disk, (SiteState{O, 2}));

    Pair q({O, 1}, {R, 1});
    ASSERT_TRUE(q.settle());
    uint64_t ask2 = ++g_seq;
    q.b.own->ask(ask2, g_now);
    q.b.run(q.b.own->ask_refused(ask2, EBUSY));
    EXPECT_EQ(q.b.outcome, Outcome::Refused);
    EXPECT_FALSE(q.b.own->asking());
}

// An ask does not outlive its end: a Take that cannot persist answers it
// (once), and a failover makes an ask left open moot.
TEST(Ownership, AnAskEndsWithTheTakeOrAFailover) {
    using Toward = Ownership::Toward;
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    uint64_t ask = ++g_seq;
    p.b.own->ask(ask, g_now);
    p.b.metadata_fails = true;
    handover(p, Step::Apply, ask);
    EXPECT_EQ(p.b.outcome, Outcome::Refused);
    EXPECT_FALSE(p.b.own->asking());
    EXPECT_EQ(p.b.own->migrating(), Toward::None);
    p.b.outcome = Outcome::None;
    p.b.run(p.b.own->tick(g_now + std::chrono::hours(1)));
    EXPECT_EQ(p.b.outcome, Outcome::None) << "no second outcome at the ask's deadline";

    Pair q({O, 5}, {R, 5});
    ASSERT_TRUE(q.settle());
    q.b.own->ask(++g_seq, g_now);
    q.link_lost();
    q.b.run(q.b.own->force_failover());
    EXPECT_EQ(q.b.disk.role, O);
    EXPECT_EQ(q.b.own->migrating(), Toward::None) << "an owner by failover has nothing under way";
}

// A new owner whose metadata fails: nothing moves, nobody writes until it
// is repaired, then the old owner takes the volume back.
TEST(Ownership, NewOwnerMetadataFails) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    p.b.metadata_fails = true;
    uint64_t seq = handover(p, Step::Apply);
    p.a.run(p.a.own->handover_answer(seq, 2, EIO, 0));
    EXPECT_EQ(p.a.own->phase(), Phase::Fenced);
    EXPECT_FALSE(p.settle());
    EXPECT_EQ(p.writers(), 0);
    EXPECT_EQ(p.a.rules.back(), 6);  // A waits for B to burn generation 2
    p.b.metadata_fails = false;
    ASSERT_TRUE(p.settle());
    EXPECT_EQ(p.a.disk, (SiteState{O, 2}));
    EXPECT_EQ(p.b.disk, (SiteState{R, 2}));
}

// A handover from a site that is not this one's owner any more (stale)
// after a take-back cannot make a second owner.
TEST(Ownership, StaleHandoverAfterTakeBack) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    handover(p, Step::Send);  // in flight, delayed
    p.link_lost();
    p.a.run(p.a.own->tick(g_now + std::chrono::hours(1)));
    ASSERT_TRUE(p.settle());  // B burned 2, A took it back
    EXPECT_EQ(p.a.disk, (SiteState{O, 2}));
    Plan late = p.b.own->handover(2, 0);  // the delayed HANDOVER arrives
    EXPECT_EQ(late.reply, ESTALE);
    EXPECT_EQ(p.writers(), 1);
}

// H2: a fenced old owner whose dccd restarts (its fence lived only in
// memory before) pairs again and settles, whether or not the peer took it.
TEST(Ownership, FencedRestartPairsAgain) {
    for (bool b_took_it : {false, true}) {
        SCOPED_TRACE(b_took_it ? "B took it" : "B never got it");
        Pair p({O, 1}, {R, 1});
        ASSERT_TRUE(p.settle());
        handover(p, b_took_it ? Step::Apply : Step::Send);
        p.b.start();  // B's dccd died in the handover
        p.link_lost();
        p.a.run(p.a.own->tick(g_now + std::chrono::hours(1)));
        ASSERT_EQ(p.a.own->phase(), Phase::Fenced);
        p.a.start();  // and then A's dccd restarts, fenced
        EXPECT_EQ(p.a.own->phase(), Phase::Fenced) << "the fence is persisted: yielding";
        EXPECT_EQ(p.a.disk, (SiteState{Y, 2}));
        EXPECT_EQ(p.writers(), b_took_it ? 1 : 0);
        ASSERT_TRUE(p.settle());
        EXPECT_EQ(p.a.disk, b_took_it ? (SiteState{R, 2}) : (SiteState{O, 2}));
        EXPECT_EQ(p.b.disk, b_took_it ? (SiteState{O, 2}) : (SiteState{R, 2}));
        EXPECT_EQ(p.writers(), 1);
    }
}

// The old owner's metadata fails after the new owner took the volume: its
// migrate is not reported as done (review L9), it stays yielding and
// serves nothing, and pairing settles it by rule 5 once it can persist.
TEST(Ownership, OldOwnerCannotPersistReplicaAfterTheAck) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    uint64_t seq = handover(p, Step::Ack);
    p.a.metadata_fails = true;
    p.a.run(p.a.own->handover_answer(seq, 2, 0, 0));
    EXPECT_EQ(p.a.outcome, Outcome::Uncertain);
    EXPECT_EQ(p.a.disk, (SiteState{Y, 2}));
    EXPECT_EQ(p.a.own->phase(), Phase::Fenced);
    EXPECT_EQ(p.writers(), 1);
    EXPECT_TRUE(p.b.writes());
    p.a.metadata_fails = false;
    ASSERT_TRUE(p.settle());
    EXPECT_NE(std::find(p.a.rules.begin(), p.a.rules.end(), 5), p.a.rules.end());
    EXPECT_EQ(p.a.disk, (SiteState{R, 2}));
    EXPECT_EQ(p.b.disk, (SiteState{O, 2}));
}

// Failover by force while the owner is cut off, and the old owner coming
// back without having written since: it becomes the replica quietly.
TEST(Ownership, ForcedFailoverAndACleanReturn) {
    Pair p({O, 5}, {R, 5});
    ASSERT_TRUE(p.settle());
    p.link_lost();
    Plan f = p.b.run(p.b.own->force_failover());
    EXPECT_EQ(p.b.disk, (SiteState{O, 6, Origin::Forced}));
    EXPECT_TRUE(f.attach);
    // A wrote nothing B lacks (its dirty bits are clear).
    ASSERT_TRUE(p.settle());
    EXPECT_EQ(p.a.disk, (SiteState{R, 6}));
    EXPECT_EQ(p.b.disk.split, Split::None);
    EXPECT_NE(std::find(p.a.rules.begin(), p.a.rules.end(), 12), p.a.rules.end());
    EXPECT_NE(std::find(p.b.rules.begin(), p.b.rules.end(), 13), p.b.rules.end());
    EXPECT_EQ(p.writers(), 1);
}

// The old owner wrote while apart: both record a split brain, the old one
// serves nothing, nothing pairs, until resolve at the old one; then they
// pair and the new one's flag goes.
TEST(Ownership, SplitBrainIsRecordedAndResolvedByName) {
    Pair p({O, 5}, {R, 5});
    ASSERT_TRUE(p.settle());
    p.link_lost();
    p.b.run(p.b.own->force_failover());
    p.a.dirty = true;   // A's application went on writing
    p.b.dirty = true;   // and so did B's
    EXPECT_EQ(p.writers(), 2) << "forced: both write until they meet";
    EXPECT_FALSE(p.settle());
    EXPECT_EQ(p.a.disk, (SiteState{O, 5, Origin::Handover, Split::Old, 6}));
    EXPECT_EQ(p.b.disk, (SiteState{O, 6, Origin::Forced, Split::New}));
    EXPECT_EQ(p.writers(), 1) << "the old site of a split brain serves nothing";
    EXPECT_TRUE(p.a.dirty) << "nothing of A's is dropped before an admin says so";
    // Restarts change nothing.
    p.a.start();
    p.b.start();
    EXPECT_FALSE(p.settle());
    EXPECT_EQ(p.a.disk.split, Split::Old);
    // A failover is refused where it makes no sense.
    EXPECT_EQ(p.b.run(p.b.own->force_failover()).outcome, Outcome::Refused);
    // At the old site: its writes go, it becomes the replica.
    Plan r = p.a.run(p.a.own->resolve_discard_local());
    EXPECT_EQ(p.a.disk, (SiteState{R, 6}));
    EXPECT_FALSE(p.a.dirty);
    EXPECT_TRUE(r.attach);
    ASSERT_TRUE(p.settle());
    EXPECT_EQ(p.b.disk, (SiteState{O, 6, Origin::Forced}));
    EXPECT_EQ(p.writers(), 1);
}

// The same split brain resolved at the newer site: its writes go, it
// becomes replica of the next generation, and the older site takes that
// generation with its own writes (rule 15), which it then replicates.
TEST(Ownership, SplitBrainResolvedAtTheNewerSite) {
    Pair p({O, 5, Origin::Handover, Split::Old, 6}, {O, 6, Origin::Forced, Split::New});
    p.a.dirty = true;
    p.b.dirty = true;
    EXPECT_FALSE(p.settle());
    EXPECT_EQ(p.writers(), 1);
    Plan r = p.b.run(p.b.own->resolve_discard_local());
    EXPECT_EQ(p.b.disk, (SiteState{R, 7, Origin::Resolved}));
    EXPECT_FALSE(p.b.dirty) << "the newer site's writes are dropped";
    EXPECT_TRUE(r.attach);
    EXPECT_EQ(p.writers(), 0) << "nobody writes until the older site takes generation 7";
    ASSERT_TRUE(p.settle());
    EXPECT_EQ(p.a.disk, (SiteState{O, 7}));
    EXPECT_TRUE(p.a.dirty) << "the older site keeps its writes, to replicate";
    EXPECT_EQ(p.b.disk, (SiteState{R, 7, Origin::Resolved}));
    EXPECT_EQ(p.writers(), 1);
    // Resolved once: a second resolve at either site is refused.
    EXPECT_EQ(p.a.run(p.a.own->resolve_discard_local()).outcome, Outcome::Refused);
    EXPECT_EQ(p.b.run(p.b.own->resolve_discard_local()).outcome, Outcome::Refused);
}

// Resolved at the newer site, and the older site restarts before it hears
// of it, or hears it only once the newer site restarted: rule 16 waits,
// rule 15 takes, once.
TEST(Ownership, ResolveAtTheNewerSiteSurvivesRestarts) {
    Pair p({O, 5, Origin::Handover, Split::Old, 6}, {O, 6, Origin::Forced, Split::New});
    p.a.dirty = true;
    p.b.dirty = true;
    EXPECT_FALSE(p.settle());
    p.b.run(p.b.own->resolve_discard_local());
    p.b.start();
    p.a.start();
    ASSERT_TRUE(p.settle());
    EXPECT_EQ(p.a.disk, (SiteState{O, 7}));
    EXPECT_EQ(p.writers(), 1);
    p.a.start();
    p.b.start();
    ASSERT_TRUE(p.settle());
    EXPECT_EQ(p.a.disk, (SiteState{O, 7}));
    EXPECT_EQ(p.b.disk, (SiteState{R, 7, Origin::Resolved}));
}

// Both sites dropped their writes (two resolves that crossed while the
// sites were apart): the older site takes the next generation, and the
// sites pair; nothing is left of either's writes but what the other never
// replaced.
TEST(Ownership, ResolvesThatCrossEndWithOneOwner) {
    Pair p({O, 5, Origin::Handover, Split::Old, 6}, {O, 6, Origin::Forced, Split::New});
    p.a.dirty = true;
    p.b.dirty = true;
    EXPECT_FALSE(p.settle());
    p.link_lost();
    p.a.run(p.a.own->resolve_discard_local());
    p.b.run(p.b.own->resolve_discard_local());
    EXPECT_EQ(p.a.disk, (SiteState{R, 6}));
    EXPECT_EQ(p.b.disk, (SiteState{R, 7, Origin::Resolved}));
    ASSERT_TRUE(p.settle());
    EXPECT_EQ(p.a.disk, (SiteState{O, 7}));
    EXPECT_EQ(p.writers(), 1);
}

// The newer site that cannot persist its resolve stays the newer owner,
// with its split recorded (its driver keeps its I/O held); resolve again.
TEST(Ownership, ResolveAtTheNewerSiteThatCannotPersist) {
    Pair p({O, 5, Origin::Handover, Split::Old, 6}, {O, 6, Origin::Forced, Split::New});
    p.a.dirty = true;
    p.b.dirty = true;
    EXPECT_FALSE(p.settle());
    p.b.metadata_fails = true;
    Plan r = p.b.run(p.b.own->resolve_discard_local());
    EXPECT_STREQ(r.why, "cannot persist the pairing decision");
    EXPECT_EQ(p.b.disk, (SiteState{O, 6, Origin::Forced, Split::New}));
    p.b.metadata_fails = false;
    p.b.run(p.b.own->resolve_discard_local());
    EXPECT_EQ(p.b.disk, (SiteState{R, 7, Origin::Resolved}));
    ASSERT_TRUE(p.settle());
    EXPECT_EQ(p.a.disk, (SiteState{O, 7}));
}

// The newer site recorded the split from the older one's ATTACH, whose
// answer was lost: the older site never recorded it.  A resolve at the
// newer site still ends with the older one owning the next generation.
TEST(Ownership, ResolveAtTheNewerSiteTheOlderNeverRecorded) {
    Pair p({O, 5}, {R, 5});
    ASSERT_TRUE(p.settle());
    p.link_lost();
    p.b.run(p.b.own->force_failover());
    p.a.dirty = true;
    p.b.dirty = true;
    p.take(p.b, p.a, false, 0);  // B takes A's ATTACH; its answer is lost
    EXPECT_EQ(p.b.disk.split, Split::New);
    EXPECT_EQ(p.a.disk, (SiteState{O, 5}));
    p.b.run(p.b.own->resolve_discard_local());
    EXPECT_EQ(p.b.disk, (SiteState{R, 7, Origin::Resolved}));
    ASSERT_TRUE(p.settle());
    EXPECT_EQ(p.a.disk, (SiteState{O, 7}));
    EXPECT_TRUE(p.a.dirty);
    EXPECT_EQ(p.writers(), 1);
}

// Resolved at the newer site, whose admin then takes the volume by force
// before the older site took it: a split brain again, with the newer
// generation; resolved at either site, it ends with one owner.
TEST(Ownership, AForceAfterAResolveAtTheNewerSite) {
    for (bool at_older : {true, false}) {
        SCOPED_TRACE(at_older ? "resolved at the older site" : "resolved at the newer site again");
        Pair p({O, 5, Origin::Handover, Split::Old, 6}, {O, 6, Origin::Forced, Split::New});
        p.a.dirty = true;
        p.b.dirty = true;
        EXPECT_FALSE(p.settle());
        p.b.run(p.b.own->resolve_discard_local());
        p.link_lost();
        p.b.run(p.b.own->force_failover());
        EXPECT_EQ(p.b.disk, (SiteState{O, 8, Origin::Forced}));
        p.b.dirty = true;
        EXPECT_FALSE(p.settle());
        EXPECT_EQ(p.a.disk, (SiteState{O, 5, Origin::Handover, Split::Old, 8}));
        EXPECT_EQ(p.b.disk, (SiteState{O, 8, Origin::Forced, Split::New}));
        EXPECT_EQ(p.writers(), 1);
        if (at_older) {
            p.a.run(p.a.own->resolve_discard_local());
            EXPECT_EQ(p.a.disk, (SiteState{R, 8}));
            ASSERT_TRUE(p.settle());
            EXPECT_EQ(p.b.disk, (SiteState{O, 8, Origin::Forced}));
        } else {
            p.b.run(p.b.own->resolve_discard_local());
            EXPECT_EQ(p.b.disk, (SiteState{R, 9, Origin::Resolved}));
            ASSERT_TRUE(p.settle());
            EXPECT_EQ(p.a.disk, (SiteState{O, 9}));
        }
        EXPECT_EQ(p.writers(), 1);
    }
}

// A crash between the two steps of resolve (dirty regions invalid, then
// replica persisted) leaves the split recorded: resolve again works.
TEST(Ownership, ResolveThatCannotPersistKeepsTheSplit) {
    Pair p({O, 5, Origin::Handover, Split::Old, 6}, {O, 6, Origin::Forced, Split::New});
    p.a.dirty = true;
    p.a.metadata_fails = true;
    Plan r = p.a.run(p.a.own->resolve_discard_local());
    EXPECT_STREQ(r.why, "cannot persist the pairing decision");
    EXPECT_EQ(p.a.disk.split, Split::Old);
    EXPECT_EQ(p.writers(), 1);
    p.a.metadata_fails = false;
    p.a.start();
    p.a.run(p.a.own->resolve_discard_local());
    EXPECT_EQ(p.a.disk, (SiteState{R, 6}));
    ASSERT_TRUE(p.settle());
}

TEST(Ownership, ForcedFailoverRefusals) {
    Pair p({O, 5}, {R, 5});
    ASSERT_TRUE(p.settle());
    EXPECT_EQ(p.b.run(p.b.own->force_failover()).outcome, Outcome::Refused) << "paired";
    EXPECT_EQ(p.b.disk, (SiteState{R, 5}));
    EXPECT_EQ(p.a.run(p.a.own->force_failover()).outcome, Outcome::Refused) << "the owner";
    EXPECT_EQ(p.a.run(p.a.own->resolve_discard_local()).outcome, Outcome::Refused) << "no split";
    p.link_lost();
    p.b.metadata_fails = true;
    EXPECT_STREQ(p.b.run(p.b.own->force_failover()).why, "cannot persist ownership");
    EXPECT_EQ(p.b.disk, (SiteState{R, 5}));
    EXPECT_EQ(p.b.own->phase(), Phase::Unpaired);
    p.b.metadata_fails = false;
    p.b.run(p.b.own->force_failover());
    EXPECT_EQ(p.b.disk, (SiteState{O, 6, Origin::Forced}));
}

// A witness's grant counts only for the next generation here: a site
// that moved on meanwhile (a pairing, rule 3) does not take the one after.
TEST(Ownership, FailoverTakesOnlyTheGrantedGeneration) {
    Pair p({O, 5}, {R, 5});
    ASSERT_TRUE(p.settle());
    p.link_lost();
    Plan f = p.b.run(p.b.own->fail_over(Origin::Failover, 7));
    EXPECT_EQ(f.outcome, Outcome::Refused);
    EXPECT_STREQ(f.why, "the witness granted another generation than the next one here");
    EXPECT_EQ(p.b.disk, (SiteState{R, 5}));
    p.b.run(p.b.own->fail_over(Origin::Failover, 6));
    EXPECT_EQ(p.b.disk, (SiteState{O, 6, Origin::Failover}));
}

// An old owner that was yielding (its handover never taken) when the
// replica took the volume by force.
TEST(Ownership, ForcedFailoverDuringAHandover) {
    Pair p({O, 5}, {R, 5});
    ASSERT_TRUE(p.settle());
    handover(p, Step::Send);
    p.link_lost();  // A is fenced, yielding 6; B never got the HANDOVER
    EXPECT_EQ(p.a.disk, (SiteState{Y, 6}));
    p.b.run(p.b.own->force_failover());
    p.a.dirty = true;  // the handover's dirty set: writes B never took
    EXPECT_FALSE(p.settle());
    EXPECT_EQ(p.a.disk.split, Split::Old);
    EXPECT_EQ(p.b.disk.split, Split::New);
    EXPECT_EQ(p.writers(), 1);
}

// Resolved at A, but the link went before B cleared its flag, and A was
// forced again: B, the newer site of the first split brain, is the older
// one of the second.  Exactly one site is the older one, which resolve
// ends.
TEST(Ownership, ASecondForceMakesTheEarlierNewerSiteTheOlder) {
    Pair p({O, 5, Origin::Handover, Split::Old, 6}, {O, 6, Origin::Forced, Split::New});
    p.a.dirty = true;
    p.a.run(p.a.own->resolve_discard_local());
    EXPECT_EQ(p.a.disk, (SiteState{R, 6}));
    p.a.run(p.a.own->force_failover());  // before any ATTACH
    EXPECT_EQ(p.a.disk, (SiteState{O, 7, Origin::Forced}));
    p.b.dirty = true;
    EXPECT_FALSE(p.settle());
    EXPECT_EQ(p.b.disk, (SiteState{O, 6, Origin::Forced, Split::Old, 7}));
    EXPECT_EQ(p.a.disk, (SiteState{O, 7, Origin::Forced, Split::New}));
    EXPECT_EQ(p.writers(), 1);
    p.b.run(p.b.own->resolve_discard_local());
    EXPECT_EQ(p.b.disk, (SiteState{R, 7}));
    ASSERT_TRUE(p.settle());
    EXPECT_EQ(p.a.disk, (SiteState{O, 7, Origin::Forced}));
}

// A decision that cannot be persisted leaves the old owner's I/O held: it
// must not serve next to the newer owner; the next ATTACH tries again.
TEST(Ownership, OldOwnerThatCannotPersistTheDecisionStaysStopped) {
    Pair p({O, 5}, {R, 5});
    ASSERT_TRUE(p.settle());
    p.link_lost();
    p.b.run(p.b.own->force_failover());
    p.a.metadata_fails = true;
    p.a.suspended = true;  // the driver stopped its I/O to decide
    Plan r = p.a.run(p.a.own->peer_state(p.b.own->state(), false, 0, {false, false}));
    EXPECT_FALSE(r.resume);
    EXPECT_TRUE(r.attach);
    EXPECT_TRUE(p.a.suspended);
    EXPECT_EQ(p.writers(), 1);
    p.a.metadata_fails = false;
    p.a.run(p.a.own->peer_state(p.b.own->state(), false, 0, {false, false}));
    EXPECT_EQ(p.a.disk, (SiteState{R, 6}));
    EXPECT_FALSE(p.a.suspended);
}

// The peer dropped the volume (DETACH): not paired, so a migrate is refused
// before anything is persisted; it pairs again once the volume is back.
TEST(Ownership, PeerDetachedUnpairsAndMigrateIsRefused) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    Plan d = p.a.run(p.a.own->peer_detached());
    EXPECT_FALSE(d.persist);
    EXPECT_EQ(p.a.own->phase(), Phase::Unpaired);
    EXPECT_FALSE(p.a.own->peer());
    EXPECT_STREQ(p.a.own->begin_handover(0), "the volume is not paired with the peer");
    EXPECT_EQ(p.a.disk, (SiteState{O, 1}));
    EXPECT_EQ(p.writers(), 1) << "the owner goes on serving";
    p.b.start();  // B's volume is added again: a new Ownership
    ASSERT_TRUE(p.settle());
    handover(p, Step::Complete);
    EXPECT_EQ(p.b.disk, (SiteState{O, 2}));
    EXPECT_EQ(p.writers(), 1);
}

// A DETACH that overtakes the HANDOVER's answer: the HANDOVER may still be
// taken once the volume is back, so the old owner is fenced, as when the
// link goes, and pairing settles it either way.
TEST(Ownership, PeerDetachedDuringTheHandoverFences) {
    for (bool b_took_it : {false, true}) {
        SCOPED_TRACE(b_took_it ? "B took it" : "B never got it");
        Pair p({O, 1}, {R, 1});
        ASSERT_TRUE(p.settle());
        handover(p, b_took_it ? Step::Apply : Step::Send);
        Plan d = p.a.run(p.a.own->peer_detached());
        EXPECT_EQ(p.a.own->phase(), Phase::Fenced);
        EXPECT_TRUE(d.resume) << "as yielding: its bios fail instead of waiting";
        EXPECT_EQ(p.a.disk, (SiteState{Y, 2}));
        uint64_t newest = p.b.own->newest();
        p.b.start();
        p.b.own->remember(newest);
        ASSERT_TRUE(p.settle());
        EXPECT_EQ(p.a.disk, b_took_it ? (SiteState{R, 2}) : (SiteState{O, 2}));
        EXPECT_EQ(p.b.disk, b_took_it ? (SiteState{O, 2}) : (SiteState{R, 2}));
        EXPECT_EQ(p.writers(), 1);
    }
}

// A volume added again keeps the newest statement of the peer seen before
// it was dropped: an ATTACH from before (still in flight to this dccd) is
// as old as it was, and is ignored.
TEST(Ownership, RememberedStatementKeepsALateAttachOld) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    handover(p, Step::Complete);  // B owns 2, A is replica 2
    ASSERT_TRUE(p.settle());
    uint64_t newest = p.b.own->newest();
    EXPECT_EQ(newest, order({R, 2}));
    p.b.start();
    p.b.own->remember(newest);
    EXPECT_TRUE(p.b.own->peer_state({O, 1}, false, 0).ignored) << "A's ATTACH of generation 1";
    EXPECT_TRUE(p.b.own->peer_state({Y, 2}, false, 0).ignored) << "A's HANDOVER-time state";
    p.b.own->remember(0);  // never moves back
    EXPECT_EQ(p.b.own->newest(), newest);
    Site fresh({O, 2});
    EXPECT_FALSE(fresh.own->peer_state({O, 1}, false, 0).ignored) << "without it: taken";
}

// An ATTACH answered by the peer just before it dropped the volume: the
// answer, overtaken by the DETACH, pairs nothing; nor does one that comes
// after a link loss.  A statement ignored as older says so.
TEST(Ownership, AnswersFromBeforeADetachOrALinkLossPairNothing) {
    for (bool detach : {true, false}) {
        SCOPED_TRACE(detach ? "detach" : "link lost");
        Site a({O, 1});
        a.own->attach_sent(700);
        a.run(detach ? a.own->peer_detached() : a.own->link_lost());
        EXPECT_EQ(a.own->attach_seq(), 0u);
        EXPECT_TRUE(a.own->peer_state({R, 1}, true, 700).ignored);
        EXPECT_FALSE(a.own->paired());
        // The peer's own ATTACH (a request) pairs.
        a.run(a.own->peer_state({R, 1}, false, 0));
        EXPECT_TRUE(a.own->paired());
        Plan old = a.own->peer_state({Y, 1}, false, 0);
        EXPECT_TRUE(old.ignored);
        EXPECT_STREQ(old.why, kOlderStatement);
    }
}

// Which of the owner's reports a replica takes (ReportFloor; spin model
// FIX_PROG_PAIRING, FIX_OWN_ATTACH, MUTANT_KEEP_ATTACH).
constexpr uint64_t kOwnerInc = 0xa11ce;

TEST(Ownership, AReplicaPairedOnTheOwnersAttachAsksUntilItsOwnIsAnswered) {
    Ownership b({R, 3}, Timeouts{});
    b.attach_sent(40);  // its ATTACH, still out as the owner's comes
    Plan p = b.peer_state({O, 3}, false, 0, {}, {kOwnerInc, 0});
    ASSERT_TRUE(b.paired());
    EXPECT_TRUE(p.attach) << "a new ATTACH at once";
    EXPECT_EQ(b.attach_seq(), 0u) << "the one still out is forgotten";
    EXPECT_TRUE(b.wants_floor());
    EXPECT_FALSE(b.report_floor());
    EXPECT_FALSE(b.takes_report(kOwnerInc, 1u << 30, 3)) << "the owner's ATTACH sets no floor";
    // The owner's answer to the forgotten ATTACH (it may have answered it
    // before it last wrote apart) sets none either.
    EXPECT_TRUE(b.peer_state({O, 3}, true, 40, {}, {kOwnerInc, 500}).ignored);
    EXPECT_TRUE(b.wants_floor());
    // The answer to the new one does.
    b.attach_sent(41);
    EXPECT_FALSE(b.peer_state({O, 3}, true, 41, {}, {kOwnerInc, 900}).ignored);
    EXPECT_FALSE(b.wants_floor());
    ASSERT_TRUE(b.report_floor());
    EXPECT_EQ(*b.report_floor(), (ReportFloor{kOwnerInc, 900}));
    EXPECT_FALSE(b.takes_report(kOwnerInc, 900, 3));
    EXPECT_TRUE(b.takes_report(kOwnerInc, 901, 3));
    EXPECT_FALSE(b.takes_report(kOwnerInc + 1, 901, 3)) << "another incarnation";
    EXPECT_FALSE(b.takes_report(kOwnerInc, 901, 4)) << "another generation";
    // A repeated ATTACH of the owner while paired keeps that floor.
    Plan again = b.peer_state({O, 3}, false, 0, {}, {kOwnerInc, 0});
    EXPECT_FALSE(again.attach);
    EXPECT_TRUE(b.takes_report(kOwnerInc, 901, 3));
}

TEST(Ownership, PairingAgainOnTheOwnersAttachDropsTheOldFloor) {
    Ownership b({R, 3}, Timeouts{});
    b.attach_sent(7);
    b.peer_state({O, 3}, true, 7, {}, {kOwnerInc, 100});
    ASSERT_TRUE(b.takes_report(kOwnerInc, 101, 3));
    b.link_lost();
    EXPECT_FALSE(b.wants_floor()) << "not paired: the floor waits for the next pairing";
    EXPECT_TRUE(b.takes_report(kOwnerInc, 101, 3)) << "kept over the link loss";
    // Paired again on the owner's ATTACH: a report counted before the
    // link loss may still be on its way, so none counts.
    Plan p = b.peer_state({O, 3}, false, 0, {}, {kOwnerInc, 0});
    EXPECT_TRUE(p.attach);
    EXPECT_FALSE(b.takes_report(kOwnerInc, 101, 3));
    EXPECT_FALSE(b.takes_report(kOwnerInc, 1u << 30, 3));
    EXPECT_TRUE(b.wants_floor());
}

TEST(Ownership, AnOwnerKeepsNoFloor) {
    Ownership a({O, 3}, Timeouts{});
    a.attach_sent(9);
    Plan p = a.peer_state({R, 3}, false, 0, {}, {kOwnerInc, 0});
    ASSERT_TRUE(a.paired());
    EXPECT_FALSE(p.attach);
    EXPECT_FALSE(a.wants_floor());
    EXPECT_EQ(a.attach_seq(), 9u) << "its own ATTACH still counts";
    a.peer_state({R, 3}, true, 9, {}, {kOwnerInc, 5});
    EXPECT_FALSE(a.report_floor());
    EXPECT_FALSE(a.takes_report(kOwnerInc, 6, 3));
}

TEST(Ownership, AHandoverMakesEachReportOfTheNewOwnerCount) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    uint64_t seq = handover(p, Step::Ack);
    p.a.run(p.a.own->handover_answer(seq, 2, 0, kOwnerInc));
    ASSERT_EQ(p.a.disk, (SiteState{R, 2}));
    EXPECT_TRUE(p.a.own->paired());
    EXPECT_FALSE(p.a.own->wants_floor());
    EXPECT_TRUE(p.a.own->takes_report(kOwnerInc, 1, 2));
    EXPECT_FALSE(p.a.own->takes_report(kOwnerInc, 1, 1)) << "the old generation's";
    // And the new owner takes none.
    EXPECT_FALSE(p.b.own->report_floor());
    EXPECT_FALSE(p.b.own->takes_report(kOwnerInc, 1, 2));
}

TEST(Ownership, ARefusedHandoverSetsNoFloor) {
    Pair p({O, 1}, {R, 1});
    ASSERT_TRUE(p.settle());
    uint64_t seq = handover(p, Step::Ack);
    p.a.run(p.a.own->handover_answer(seq, 2, ECANCELED, kOwnerInc));
    ASSERT_EQ(p.a.disk, (SiteState{O, 2}));
    EXPECT_FALSE(p.a.own->report_floor());
}
