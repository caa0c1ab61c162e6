// SPDX-License-Identifier: GPL-2.0-only
// The pairing rules (daemon/core/pairing.hpp), row by row, and as a whole:
// whatever two sites hold, at most one of them acts, they agree on
// whether they are paired, and a pairing always has one owner.
#include <gtest/gtest.h>

#include "failover.hpp"
#include "pairing.hpp"

using namespace dcc;
using namespace dcc::core;

namespace {

constexpr Role O = Role::Owner, R = Role::Replica, Y = Role::Yielding;

struct Row {
    SiteState here, peer;
    int rule;
    Verdict verdict;
    SiteState next;
};

}  // namespace

TEST(Pairing, EveryRule) {
    const Row rows[] = {
        {{O, 5}, {R, 5}, 1, Verdict::Paired, {O, 5}},
        {{R, 5}, {O, 5}, 2, Verdict::Paired, {R, 5}},
        {{R, 5}, {Y, 6}, 3, Verdict::Burn, {R, 6}},
        {{Y, 6}, {R, 6}, 4, Verdict::TakeBack, {O, 6}},
        {{Y, 6}, {O, 6}, 5, Verdict::Complete, {R, 6}},
        {{Y, 6}, {R, 5}, 6, Verdict::Wait, {Y, 6}},
        {{O, 6}, {Y, 6}, 7, Verdict::Wait, {O, 6}},
        {{R, 6}, {Y, 6}, 8, Verdict::Wait, {R, 6}},
        {{O, 5}, {O, 5}, 9, Verdict::Refuse, {O, 5}},
        {{O, 5}, {O, 7}, 9, Verdict::Refuse, {O, 5}},
        {{R, 5}, {R, 5}, 10, Verdict::Refuse, {R, 5}},
        {{R, 5}, {O, 7}, 11, Verdict::Refuse, {R, 5}},  // a replica two behind
        {{O, 7}, {R, 5}, 11, Verdict::Refuse, {O, 7}},
        {{R, 5}, {R, 6}, 11, Verdict::Refuse, {R, 5}},
        {{Y, 5}, {Y, 5}, 11, Verdict::Refuse, {Y, 5}},
        {{R, 5}, {Y, 7}, 11, Verdict::Refuse, {R, 5}},
        {{Y, 6}, {O, 7}, 11, Verdict::Refuse, {Y, 6}},
    };
    for (const Row& r : rows) {
        Decision d = decide(r.here, r.peer);
        SCOPED_TRACE(testing::Message() << role_name(r.here.role) << " " << r.here.generation << " / "
                                        << role_name(r.peer.role) << " " << r.peer.generation);
        EXPECT_EQ(d.rule, r.rule);
        EXPECT_EQ(d.verdict, r.verdict);
        EXPECT_EQ(d.next, r.next);
        EXPECT_NE(std::string(d.why), "");
    }
}

TEST(Pairing, BothSidesAgree) {
    const Role roles[] = {O, R, Y};
    int pairs = 0;
    for (Role a : roles)
        for (Role b : roles)
            for (uint64_t ga = 3; ga <= 6; ga++)
                for (uint64_t gb = 3; gb <= 6; gb++) {
                    Decision x = decide({a, ga}, {b, gb});
                    Decision y = decide({b, gb}, {a, ga});
                    SCOPED_TRACE(testing::Message() << role_name(a) << " " << ga << " / "
                                                    << role_name(b) << " " << gb);
                    auto acts = [](const Decision& d) {
                        return d.verdict == Verdict::Burn || d.verdict == Verdict::TakeBack ||
                               d.verdict == Verdict::Complete;
                    };
                    EXPECT_FALSE(acts(x) && acts(y)) << "both sites would change at once";
                    EXPECT_EQ(x.verdict == Verdict::Paired, y.verdict == Verdict::Paired);
                    EXPECT_EQ(x.verdict == Verdict::Refuse, y.verdict == Verdict::Refuse);
                    if (x.verdict == Verdict::Paired) {
                        pairs++;
                        EXPECT_EQ(ga, gb);
                        EXPECT_TRUE((a == O && b == R) || (a == R && b == O));
                    }
                    // Nothing but a refusal or a pairing is final: a site that
                    // waits does so for the other to act.
                    if (x.verdict == Verdict::Wait) {
                        EXPECT_TRUE(acts(y)) << "a wait nobody ends";
                    }
                    // Acting moves a site along, never back.
                    if (acts(x)) {
                        EXPECT_GE(x.next.generation, ga);
                    }
                }
    EXPECT_EQ(pairs, 2 * 4);
}

namespace {

constexpr Origin HO = Origin::Handover, FO = Origin::Failover, FORCED = Origin::Forced,
                 RESOLVED = Origin::Resolved;

struct FoRow {
    const char* what;
    SiteState here, peer;
    Dirt dirt;
    int rule;
    Verdict verdict;
    SiteState next;
    bool invalidate = false;
};

}  // namespace

// Rules 12 to 14: an old owner meets the owner that took the volume by
// failover, with and without writes of its own, and the flags they leave.
TEST(Pairing, ReplicaFollowsTheModeOfItsOwner) {
    EXPECT_TRUE(follows_mode({R, 4}, {O, 4}));
    EXPECT_TRUE(follows_mode({R, 4}, {O, 4, FORCED}));
    EXPECT_FALSE(follows_mode({O, 4}, {R, 4}));  // an owner's mode is its own
    EXPECT_FALSE(follows_mode({R, 4}, {O, 5}));  // not yet its owner's generation
    EXPECT_FALSE(follows_mode({R, 5}, {O, 4}));  // an older owner
    EXPECT_FALSE(follows_mode({R, 4}, {Y, 4}));  // yielding: a handover decides
    EXPECT_FALSE(follows_mode({Y, 4}, {O, 4}));
    EXPECT_FALSE(follows_mode({R, 4, Origin::Handover, Split::Old}, {O, 4}));  // a split brain: an admin decides
}

TEST(Pairing, FailoverRules) {
    const FoRow rows[] = {
        {"old owner, clean, meets a forced owner", {O, 5}, {O, 6, FORCED}, {false, false}, 12,
         Verdict::Record, {R, 6}, true},
        {"old owner with writes meets a forced owner", {O, 5}, {O, 6, FORCED}, {true, false}, 14,
         Verdict::Record, {O, 5, HO, Split::Old, 6}},
        {"old owner with writes meets an owner by (witnessed) failover", {O, 5}, {O, 6, FO},
         {true, false}, 12, Verdict::Record, {R, 6}, true},
        {"a yielding old owner, clean", {Y, 6}, {O, 6, FORCED}, {false, false}, 12,
         Verdict::Record, {R, 6}, true},
        {"a yielding old owner with its handover set", {Y, 6}, {O, 6, FORCED}, {true, false}, 14,
         Verdict::Record, {Y, 6, HO, Split::Old, 6}},
        {"forced owner meets the clean old one", {O, 6, FORCED}, {O, 5}, {false, false}, 13,
         Verdict::Wait, {O, 6, FORCED}},
        {"forced owner meets an old one with writes", {O, 6, FORCED}, {O, 5}, {false, true}, 14,
         Verdict::Record, {O, 6, FORCED, Split::New}},
        {"witnessed owner meets an old one with writes", {O, 6, FO}, {O, 5}, {false, true}, 13,
         Verdict::Wait, {O, 6, FO}},
        {"old site of a split brain, recorded", {O, 5, HO, Split::Old, 6}, {O, 6, FORCED, Split::New},
         {true, false}, 14, Verdict::Refuse, {O, 5, HO, Split::Old, 6}},
        {"the same, its dirty bits gone", {O, 5, HO, Split::Old, 6}, {O, 6, FORCED, Split::New},
         {false, false}, 14, Verdict::Refuse, {O, 5, HO, Split::Old, 6}},
        {"new site of a split brain, recorded", {O, 6, FORCED, Split::New}, {O, 5, HO, Split::Old, 6},
         {false, true}, 14, Verdict::Refuse, {O, 6, FORCED, Split::New}},
        {"the other site recorded it first", {O, 6, FORCED}, {O, 5, HO, Split::Old, 6},
         {false, false}, 14, Verdict::Record, {O, 6, FORCED, Split::New}},
        {"old site of a split brain meets anything", {O, 5, HO, Split::Old, 6}, {R, 5},
         {false, false}, 14, Verdict::Refuse, {O, 5, HO, Split::Old, 6}},
        {"resolved at the old site: the new one clears its flag", {O, 6, FORCED, Split::New},
         {R, 6}, {true, false}, 1, Verdict::Record, {O, 6, FORCED}},
        {"resolved: the old site pairs as replica", {R, 6}, {O, 6, FORCED, Split::New},
         {false, true}, 2, Verdict::Paired, {R, 6}},
        {"then both clear", {O, 6, FORCED}, {R, 6}, {true, false}, 1, Verdict::Paired,
         {O, 6, FORCED}},
        {"an owner by handover is not rule 12", {O, 5}, {O, 6}, {false, false}, 9, Verdict::Refuse,
         {O, 5}},
        {"resolved at the new site: the old site takes the next generation",
         {O, 5, HO, Split::Old, 6}, {R, 7, RESOLVED}, {true, false}, 15, Verdict::Record, {O, 7}},
        {"... a yielding old site too (the peer forced the generation it yielded)",
         {Y, 6, HO, Split::Old, 6}, {R, 7, RESOLVED}, {true, false}, 15, Verdict::Record, {O, 7}},
        {"... and one that resolved as well (they crossed)", {R, 6}, {R, 7, RESOLVED},
         {false, false}, 15, Verdict::Record, {O, 7}},
        {"the new site waits for it (a statement has no split generation)", {R, 7, RESOLVED},
         {O, 5, HO, Split::Old, 0}, {false, true}, 16, Verdict::Wait, {R, 7, RESOLVED}},
        {"... or for the crossed one", {R, 7, RESOLVED}, {R, 6}, {false, false}, 16, Verdict::Wait,
         {R, 7, RESOLVED}},
        {"then they pair", {R, 7, RESOLVED}, {O, 7}, {false, true}, 2, Verdict::Paired,
         {R, 7, RESOLVED}},
        {"... or after the peer moved on by force since (a resolve of a later split)",
         {O, 5, HO, Split::Old, 6}, {R, 8, RESOLVED}, {true, false}, 15, Verdict::Record, {O, 8}},
        {"... an old owner that never recorded the split (the answer was lost)", {O, 3, FORCED},
         {R, 5, RESOLVED}, {true, false}, 15, Verdict::Record, {O, 5}},
        {"the new site waits for that one too", {R, 5, RESOLVED}, {O, 3, FORCED}, {false, true}, 16,
         Verdict::Wait, {R, 5, RESOLVED}},
        {"not for the owner of the generation below", {O, 7, FORCED}, {R, 8, RESOLVED},
         {false, false}, 11, Verdict::Refuse, {O, 7, FORCED}},
        {"... one that was the newer site of an earlier split the peer overtook since",
         {O, 5, FORCED, Split::New}, {R, 7, RESOLVED}, {true, false}, 15, Verdict::Record, {O, 7}},
        {"the resolved site waits for it", {R, 7, RESOLVED}, {O, 5, FORCED, Split::New},
         {false, true}, 16, Verdict::Wait, {R, 7, RESOLVED}},
        {"not for the newer site of a split brain", {O, 7, FORCED, Split::New}, {R, 8, RESOLVED},
         {false, false}, 11, Verdict::Refuse, {O, 7, FORCED, Split::New}},
        {"an older site meets the peer forced again: the split is with that generation",
         {O, 5, HO, Split::Old, 6}, {O, 8, FORCED, Split::New}, {true, false}, 14, Verdict::Record,
         {O, 5, HO, Split::Old, 8}},
        {"not for a replica two behind", {R, 5}, {R, 7, RESOLVED}, {false, false}, 11,
         Verdict::Refuse, {R, 5}},
        {"not for a replica that is not resolved", {O, 5, HO, Split::Old, 6}, {R, 7},
         {true, false}, 14, Verdict::Refuse, {O, 5, HO, Split::Old, 6}},
        {"a replica meets an owner forced since without it (resolves that crossed)", {R, 6},
         {O, 8, FORCED}, {false, true}, 17, Verdict::Record, {R, 8}},
        {"... or one by failover", {R, 5}, {O, 7, FO}, {false, false}, 17, Verdict::Record, {R, 7}},
        {"that owner waits for it", {O, 8, FORCED}, {R, 6}, {true, false}, 18, Verdict::Wait,
         {O, 8, FORCED}},
        {"... even with a split recorded against the older site", {O, 8, FORCED, Split::New},
         {R, 6}, {true, false}, 18, Verdict::Wait, {O, 8, FORCED, Split::New}},
        {"then they pair, and the owner's flag clears", {O, 8, FORCED, Split::New}, {R, 8},
         {true, false}, 1, Verdict::Record, {O, 8, FORCED}},
        {"not a replica with a split brain recorded", {R, 6, HO, Split::Old, 7}, {O, 8, FORCED},
         {false, true}, 14, Verdict::Refuse, {R, 6, HO, Split::Old, 7}},
        {"nor one that meets an owner by handover (rules 3 to 8 decide)", {R, 5}, {O, 7}, {false, false},
         11, Verdict::Refuse, {R, 5}},
        {"nor an older owner", {R, 7}, {O, 6, FORCED}, {false, false}, 11, Verdict::Refuse, {R, 7}},
    };
    for (const FoRow& r : rows) {
        SCOPED_TRACE(r.what);
        Decision d = decide(r.here, r.peer, r.dirt);
        EXPECT_EQ(d.rule, r.rule);
        EXPECT_EQ(d.verdict, r.verdict);
        EXPECT_EQ(d.next, r.next);
        EXPECT_EQ(d.invalidate_dirty, r.invalidate);
        EXPECT_NE(std::string(d.why), "");
    }
    // When the driver must stop I/O before it decides.
    EXPECT_TRUE(meets_newer_owner({O, 5}, {O, 6, FORCED}));
    EXPECT_TRUE(meets_newer_owner({Y, 6}, {O, 6, FORCED}));
    EXPECT_TRUE(meets_newer_owner({O, 5}, {O, 6, FO}));
    EXPECT_FALSE(meets_newer_owner({O, 5}, {O, 6}));
    EXPECT_FALSE(meets_newer_owner({R, 5}, {O, 6, FORCED}));
    EXPECT_FALSE(meets_newer_owner({O, 6, FORCED}, {O, 5}));
    EXPECT_FALSE(meets_newer_owner({O, 6}, {O, 6, FORCED}));
}

// Whatever the two sites of a failover hold, both see a split brain or
// neither does, and one acts at a time.
TEST(Pairing, BothSidesSeeTheSameSplit) {
    const Origin origins[] = {FO, FORCED};
    const SiteState olds[] = {{O, 5}, {Y, 6}, {O, 5, HO, Split::Old, 6}};
    int splits = 0;
    for (Origin o : origins)
        for (const SiteState& old : olds)
            for (Split ns : {Split::None, Split::New})
                for (int bits = 0; bits < 4; bits++) {
                    SiteState neu{O, 6, o, ns};
                    if (ns == Split::New && o != FORCED) continue;
                    bool old_dirty = bits & 1, new_dirty = bits & 2;
                    Decision x = decide(old, neu, {old_dirty, new_dirty});
                    Decision y = decide(neu, old, {new_dirty, old_dirty});
                    SCOPED_TRACE(testing::Message() << origin_name(o) << " split " << split_name(ns)
                                                    << " old " << role_name(old.role)
                                                    << " split " << split_name(old.split) << " bits " << bits);
                    EXPECT_EQ(x.rule == 14, y.rule == 14);
                    if (x.rule == 14) splits++;
                    if (x.rule != 14) {
                        EXPECT_EQ(x.rule, 12);
                        EXPECT_EQ(y.rule, 13);
                    }
                    // A split brain needs a force or a flag already recorded.
                    if (x.rule == 14) {
                        EXPECT_TRUE(o == FORCED || old.split != Split::None || ns != Split::None);
                    }
                }
    EXPECT_GT(splits, 0);
}

// The owner's reports a replica takes (spin model: FIX_PROG_PAIRING).
TEST(Failover, TakesOnlyReportsSentAfterThePairingStatement) {
    const uint64_t inc = 77;
    SiteState here{R, 5};
    std::optional<ReportFloor> floor;
    EXPECT_FALSE(takes_report(here, floor, inc, 10, 5)) << "none before a first pairing";
    // Paired again on the owner's ATTACH, which may have been on its way
    // since before the sites were apart: no report counts yet.
    floor = statement_floor(false, inc, 0);
    EXPECT_FALSE(floor);
    EXPECT_FALSE(takes_report(here, floor, inc, 1u << 30, 5));
    // The answer to this site's own ATTACH: the watermark in arg (not the
    // seq it echoes, this site's own).
    floor = statement_floor(true, inc, 900);
    EXPECT_FALSE(takes_report(here, floor, inc, 899, 5));
    EXPECT_FALSE(takes_report(here, floor, inc, 900, 5));
    EXPECT_TRUE(takes_report(here, floor, inc, 901, 5));
    EXPECT_FALSE(takes_report(here, floor, inc + 1, 901, 5)) << "another incarnation of the owner";
    EXPECT_FALSE(takes_report(here, floor, inc, 901, 4)) << "another generation";
    EXPECT_FALSE(takes_report(here, floor, inc, 901, 6));
    EXPECT_FALSE(takes_report({O, 5}, floor, inc, 901, 5)) << "an owner takes none";
    // A handover made this site replica of generation 6: all of the new
    // owner's reports of it count.
    floor = handover_floor(inc + 1);
    here = {R, 6};
    EXPECT_TRUE(takes_report(here, floor, inc + 1, 1, 6));
    EXPECT_FALSE(takes_report(here, floor, inc, 901, 6));
}

// The race the rule closes, in order: the owner reports none, the link
// goes (both sites see it), the owner writes apart, the sites pair again on
// the replica's ATTACH and the owner's ATTACH_ACK, and only then does the
// old report arrive.  It must not count: a failover would lose the writes.
TEST(Failover, AReportFromBeforeALinkLossDoesNotCountAfterPairingAgain) {
    const uint64_t inc = 9;
    SiteState here{R, 2};
    std::optional<ReportFloor> floor = statement_floor(true, inc, 1);  // first pairing
    uint64_t owner_seq = 1;
    uint64_t stale = ++owner_seq;  // PROGRESS: none at risk, still on its way
    // link lost, writes apart; the replica's ATTACH answered:
    uint64_t watermark = ++owner_seq;
    floor = statement_floor(true, inc, watermark);
    std::optional<uint64_t> last;  // Daemon::paired forgot the last report
    if (takes_report(here, floor, inc, stale, 2)) last = 0;
    FailoverFacts f;
    f.state = here;
    f.owner_backlog = last;
    auto r = failover_refusal(f);
    ASSERT_TRUE(r);
    EXPECT_NE(r->why.find("no report from the owner"), std::string::npos) << r->why;
    uint64_t fresh = ++owner_seq;  // the owner's report at once, counted after
    EXPECT_TRUE(takes_report(here, floor, inc, fresh, 2));
}

// The owner's ATTACH can be late too (spin model: flaw-late-attach): sent
// before the replica paired on the owner's ACK, it arrives after both saw
// the link go, with a report of nothing behind sent after it.  Pairing on
// it takes no report; the answer to the replica's own ATTACH then sets the
// floor above both.
TEST(Failover, ALateAttachFromTheOwnerAdmitsNoOldReport) {
    const uint64_t inc = 4;
    SiteState here{R, 3};
    uint64_t owner_seq = 10;
    uint64_t attach = ++owner_seq;                                   // still on its way
    std::optional<ReportFloor> floor = statement_floor(true, inc, ++owner_seq);  // paired on the ACK
    uint64_t report = ++owner_seq;                                   // none behind, on its way
    EXPECT_TRUE(takes_report(here, floor, inc, report, 3)) << "had it come in time";
    // Both see the link go; the owner writes apart; the late ATTACH pairs
    // the replica again.
    floor = statement_floor(false, inc, 0);
    EXPECT_FALSE(takes_report(here, floor, inc, report, 3));
    EXPECT_GT(report, attach) << "a floor from the ATTACH's seq would have taken it";
    // The replica's own ATTACH, answered after the writes made apart.
    floor = statement_floor(true, inc, ++owner_seq);
    EXPECT_FALSE(takes_report(here, floor, inc, report, 3));
    EXPECT_TRUE(takes_report(here, floor, inc, ++owner_seq, 3));
}

TEST(Failover, RefusesInOrderAndForceOverridesOnlyWhatItMay) {
    FailoverFacts f;
    f.state = {R, 5};
    f.phase = Phase::Unpaired;
    auto why = [&]() {
        auto r = failover_refusal(f);
        return r ? r->why : std::string();
    };
    EXPECT_NE(why().find("no report from the owner"), std::string::npos) << why();
    EXPECT_TRUE(failover_refusal(f)->forceable);
    f.witness = true;
    EXPECT_NE(why().find("no report from the owner"), std::string::npos) << "a witness does not make up for it";
    f.witness = false;
    f.lacking = 3;
    f.owner_backlog = 7;
    EXPECT_NE(why().find("lacks 3 regions"), std::string::npos) << why();
    EXPECT_TRUE(failover_refusal(f)->forceable);
    f.lacking = 0;
    EXPECT_NE(why().find("7 regions not yet the same"), std::string::npos) << why();
    f.owner_backlog = 0;
    EXPECT_NE(why().find("no witness"), std::string::npos) << why();
    f.witness = true;
    EXPECT_FALSE(failover_refusal(f)) << "with a witness, the witness decides";
    // An owner by force serves without a lease: the witness cannot show
    // it stopped, so only a force takes the volume from it.
    f.owner_forced = true;
    EXPECT_NE(why().find("took the volume by force and serves without a lease"), std::string::npos)
        << why();
    EXPECT_TRUE(failover_refusal(f)->forceable);
    f.force = true;
    EXPECT_FALSE(failover_refusal(f));
    f.force = false;
    // So does an owner that runs without a witness, whatever this site's.
    f.owner_forced = false;
    f.owner_unwitnessed = true;
    EXPECT_NE(why().find("the owner runs without a witness"), std::string::npos) << why();
    EXPECT_TRUE(failover_refusal(f)->forceable);
    f.force = true;
    EXPECT_FALSE(failover_refusal(f));
    f.force = false;
    f.owner_unwitnessed = false;
    f.owner_forced = true;
    f.witness = false;  // without a witness that is the reason given
    EXPECT_NE(why().find("no witness"), std::string::npos) << why();
    f.witness = true;
    f.owner_forced = false;
    f.lacking = 2;
    EXPECT_NE(why().find("lacks 2 regions"), std::string::npos) << "a witness does not make up for it";
    f.lacking = 0;
    f.witness = false;
    f.force = true;
    EXPECT_FALSE(failover_refusal(f));
    f.lacking = 3;
    f.owner_backlog = 7;
    EXPECT_FALSE(failover_refusal(f)) << "--force takes over a copy that lacks data";
    EXPECT_NE(failover_risks(f).find("lacks: 3"), std::string::npos);
    EXPECT_NE(failover_risks(f).find("generation 6"), std::string::npos);
    EXPECT_NE(failover_risks(f).find("replicated: 7;"), std::string::npos) << failover_risks(f);
    f.report_age_ms = 12345;
    EXPECT_NE(failover_risks(f).find("replicated: 7 (that report came 12.3 s ago);"), std::string::npos)
        << "the last replication position, and how old it is";
    // Never overridden.
    f.link_up = true;
    EXPECT_NE(why().find("use dccctl migrate"), std::string::npos) << why();
    EXPECT_FALSE(failover_refusal(f)->forceable);
    f.peer_absent = true;  // the peer dropped the volume: it must come back first
    EXPECT_NE(why().find("has no such volume"), std::string::npos) << why();
    EXPECT_FALSE(failover_refusal(f)->forceable);
    f.peer_absent = false;
    f.link_up = false;
    f.phase = Phase::Paired;
    EXPECT_NE(why().find("use dccctl migrate"), std::string::npos);
    f.phase = Phase::Unpaired;
    f.state = {O, 5};
    EXPECT_NE(why().find("owns the volume already"), std::string::npos);
    f.state = {Y, 6};
    EXPECT_NE(why().find("handover is in progress"), std::string::npos);
    f.state = {R, 5, HO, Split::New};
    EXPECT_NE(why().find("split brain"), std::string::npos);
    f.state = {R, 5};
    f.phase = Phase::Taking;
    EXPECT_NE(why().find("handover is in progress"), std::string::npos);
}

using namespace std::chrono;

// The CLAIM leaves only once this site's promise ended, and only its own
// answer counts: an answer to an earlier attempt's CLAIM, or for another
// generation, is ignored.
TEST(Failover, AnAttemptClaimsAfterItsPromiseAndTakesOnlyItsAnswer) {
    const LeaseClock::time_point t0(seconds(100));
    FailoverAttempt a(5, 42, t0 + seconds(3), t0, milliseconds(5000));
    EXPECT_EQ(a.generation(), 6u);
    EXPECT_FALSE(a.claim_due(t0));
    EXPECT_FALSE(a.claim_due(t0 + milliseconds(2999)));
    a.answered(41, 6, true, "");  // an earlier attempt's CLAIM, granted late
    EXPECT_EQ(a.step(), FailoverAttempt::Step::WaitPromise);
    EXPECT_TRUE(a.claim_due(t0 + seconds(3)));
    EXPECT_FALSE(a.claim_due(t0 + seconds(3))) << "once";
    a.answered(41, 6, true, "");
    EXPECT_EQ(a.step(), FailoverAttempt::Step::WaitAnswer);
    a.answered(42, 7, true, "");  // granted, but not the generation claimed
    EXPECT_EQ(a.step(), FailoverAttempt::Step::WaitAnswer);
    a.answered(42, 6, true, "");
    EXPECT_EQ(a.step(), FailoverAttempt::Step::Granted);

    FailoverAttempt r(5, 43, t0, t0, milliseconds(5000));
    EXPECT_TRUE(r.claim_due(t0));
    r.answered(43, 5, false, "the owner's lease still holds");
    EXPECT_EQ(r.step(), FailoverAttempt::Step::Refused);
    EXPECT_EQ(r.why(), "the owner's lease still holds");

    FailoverAttempt g(5, 44, t0 + seconds(2), t0, milliseconds(5000));
    g.tick(t0 + milliseconds(6999));
    EXPECT_FALSE(g.over()) << "the wait for the promise does not count against the answer";
    EXPECT_TRUE(g.claim_due(t0 + seconds(2)));
    g.tick(t0 + seconds(7));
    EXPECT_EQ(g.step(), FailoverAttempt::Step::GaveUp);
    g.answered(44, 6, true, "");
    EXPECT_EQ(g.step(), FailoverAttempt::Step::GaveUp) << "a late grant is not taken";
}

// Whether the kernel is to enforce a lease, and until when.
TEST(Failover, LeaseNeed) {
    const LeaseClock::time_point t0(seconds(100));
    LeaseParams lp{milliseconds(5000), milliseconds(200), 1e-3};
    Lease peer(lp), wit(lp);
    SiteState owner{O, 5}, forced{O, 5, Origin::Forced}, replica{R, 5}, after_forced{R, 5, Origin::Forced};
    EXPECT_FALSE(lease_need(false, owner, peer, wit, t0).needed) << "no witness: no lease";
    EXPECT_FALSE(lease_need(false, replica, peer, wit, t0).needed) << "no witness: no lease";
    EXPECT_FALSE(lease_need(true, forced, peer, wit, t0).needed) << "a forced owner serves without";
    // A site that does not own keeps the flag set, with no lease: the flag
    // is on disk before a commit makes it owner (handover or failover).
    for (const SiteState& s : {replica, after_forced, SiteState{Role::Yielding, 5}}) {
        auto r = lease_need(true, s, peer, wit, t0);
        EXPECT_TRUE(r.needed) << role_name(s.role) << ": the flag set before it may own";
        EXPECT_FALSE(r.until) << role_name(s.role) << ": serves nothing";
    }
    auto n = lease_need(true, owner, peer, wit, t0);
    EXPECT_TRUE(n.needed);
    EXPECT_FALSE(n.until) << "nothing held: serve nothing";
    peer.granted(t0, milliseconds(5000));
    wit.granted(t0 + seconds(1), milliseconds(5000));
    n = lease_need(true, owner, peer, wit, t0 + seconds(2));
    ASSERT_TRUE(n.until);
    EXPECT_EQ(*n.until, wit.until()) << "the longer lease";
    EXPECT_LT(*n.until, t0 + seconds(6)) << "counted from the send time, less drift and margin";
    EXPECT_FALSE(lease_need(true, owner, peer, wit, t0 + seconds(6)).until);
    EXPECT_FALSE(lease_need(true, replica, peer, wit, t0 + seconds(2)).until)
        << "a lease left from an ownership is not the replica's";
}
