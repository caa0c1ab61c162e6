// SPDX-License-Identifier: GPL-2.0-only
// The witness's decisions (daemon/core/witness.hpp): at most one site is
// ever granted a generation, a claim waits for the owner's lease, a lost
// answer can be claimed again, and a restarted witness holds every lease.
// The fence: an owner that goes on alone outdates its replica (OUTDATE),
// which then cannot claim until the owner lifts it with that epoch.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "witness.hpp"

using namespace dcc;
using namespace dcc::core;
using namespace std::chrono;

namespace {

const Uuid kVol{1, 2, 3};
const LeaseParams kP{milliseconds(5000), milliseconds(200), 1e-3};
const LeaseClock::time_point kT0(seconds(1000));

TEST(Witness, TheFirstRenewIsRecordedBeforeItIsAnswered) {
    Witness w(kP, kT0 - hours(1));
    auto a = w.renew(kVol, 3, "a", kT0);
    EXPECT_TRUE(a.granted);
    EXPECT_TRUE(a.persist);
    EXPECT_EQ(a.length, kP.length);
    EXPECT_FALSE(w.renew(kVol, 3, "b", kT0).granted);  // not b's
    auto again = w.renew(kVol, 3, "a", kT0 + seconds(1));
    EXPECT_TRUE(again.granted);
    EXPECT_FALSE(again.persist);  // nothing new to record
    EXPECT_TRUE(w.renew(kVol, 4, "a", kT0 + seconds(2)).persist) << "a's own next generation";
}

TEST(Witness, AClaimWaitsForTheOwnersLease) {
    Witness w(kP, kT0 - hours(1));
    w.renew(kVol, 3, "a", kT0);
    auto early = w.claim(kVol, 4, "b", kT0 + seconds(4));
    EXPECT_FALSE(early.granted);
    EXPECT_EQ(early.lease_left, milliseconds(1000));
    EXPECT_EQ(early.record.owner, "a");
    auto late = w.claim(kVol, 4, "b", kT0 + seconds(5));
    EXPECT_TRUE(late.granted);
    EXPECT_TRUE(late.persist);
    // The old owner learns at once that it lost the volume.
    auto old = w.renew(kVol, 3, "a", kT0 + seconds(6));
    EXPECT_FALSE(old.granted);
    EXPECT_EQ(old.record.generation, 4u);
    EXPECT_EQ(old.record.owner, "b");
    EXPECT_FALSE(w.claim(kVol, 4, "a", kT0 + seconds(60)).granted);  // one owner per generation
}

TEST(Witness, AClaimWhoseAnswerWasLostIsGrantedAgain) {
    Witness w(kP, kT0 - hours(1));
    w.renew(kVol, 3, "a", kT0);
    ASSERT_TRUE(w.claim(kVol, 4, "b", kT0 + seconds(6)).granted);
    auto again = w.claim(kVol, 4, "b", kT0 + seconds(7));
    EXPECT_TRUE(again.granted);
    EXPECT_FALSE(again.persist);
    // Once b renewed, its own lease holds against a claim of 5 by a.
    ASSERT_TRUE(w.renew(kVol, 4, "b", kT0 + seconds(8)).granted);
    EXPECT_FALSE(w.claim(kVol, 5, "a", kT0 + seconds(12)).granted);
}

TEST(Witness, ARestartedWitnessHoldsEveryLeaseForAFullLength) {
    Witness w(kP, kT0);
    w.load(kVol, {3, "a", 0, {}});
    EXPECT_FALSE(w.claim(kVol, 4, "b", kT0 + milliseconds(4999)).granted);
    EXPECT_TRUE(w.claim(kVol, 4, "b", kT0 + kP.length).granted);
}

TEST(Witness, APlannedHandoverMovesTheRecord) {
    Witness w(kP, kT0 - hours(1));
    w.renew(kVol, 3, "a", kT0);
    EXPECT_FALSE(w.yield(kVol, 4, "b", "a", kT0).granted);  // only the owner
    EXPECT_FALSE(w.yield(kVol, 5, "a", "b", kT0).granted);  // only the next generation
    auto y = w.yield(kVol, 4, "a", "b", kT0);
    EXPECT_TRUE(y.granted);
    EXPECT_TRUE(y.persist);
    auto r = w.renew(kVol, 4, "b", kT0 + seconds(1));
    EXPECT_TRUE(r.granted);
    EXPECT_TRUE(r.persist);
    EXPECT_FALSE(w.renew(kVol, 3, "a", kT0 + seconds(1)).granted);
}

// The owner of a generation the witness did not see begin (a handover,
// a force) is recorded at once; the recorded owner then learns it lost.
TEST(Witness, ANewerGenerationIsRecordedAtOnce) {
    Witness w(kP, kT0 - hours(1));
    w.renew(kVol, 3, "a", kT0);
    auto b = w.renew(kVol, 4, "b", kT0 + seconds(1));
    EXPECT_TRUE(b.granted);
    EXPECT_TRUE(b.persist);
    EXPECT_EQ(b.record.generation, 4u);
    EXPECT_EQ(b.record.owner, "b");
    auto a = w.renew(kVol, 3, "a", kT0 + seconds(2));
    EXPECT_FALSE(a.granted) << "a learns it lost";
    EXPECT_EQ(a.record.owner, "b");
    EXPECT_FALSE(w.renew(kVol, 4, "a", kT0 + seconds(2)).granted) << "4 is b's";
    EXPECT_FALSE(w.claim(kVol, 5, "a", kT0 + seconds(3)).granted) << "b's lease holds";
    EXPECT_TRUE(w.claim(kVol, 5, "a", kT0 + seconds(1) + kP.length).granted);
}

// Only a lease that still holds makes a refusal worth asking again
// (EBUSY on the wire); every other refusal stands (EPERM).
TEST(Witness, ARefusalSaysWhetherALeaseHolds) {
    Witness w(kP, kT0 - hours(1));
    ASSERT_TRUE(w.renew(kVol, 3, "a", kT0).granted);
    EXPECT_TRUE(w.claim(kVol, 4, "b", kT0 + seconds(1)).lease_holds);
    EXPECT_FALSE(w.claim(kVol, 5, "b", kT0 + seconds(1)).lease_holds);  // not the next one
    EXPECT_FALSE(w.claim(kVol, 4, "a", kT0 + seconds(1)).lease_holds);  // a owns 3
    EXPECT_FALSE(w.renew(kVol, 3, "b", kT0 + seconds(1)).lease_holds);  // not b's
    EXPECT_FALSE(w.yield(kVol, 4, "b", "a", kT0 + seconds(1)).lease_holds);
    EXPECT_FALSE(w.renew(kVol, 3, "a", kT0 + seconds(1)).lease_holds);  // granted
    ASSERT_TRUE(w.claim(kVol, 4, "b", kT0 + seconds(7)).granted);
    auto old = w.renew(kVol, 3, "a", kT0 + seconds(7));
    EXPECT_FALSE(old.granted);
    EXPECT_FALSE(old.lease_holds) << "the old owner lost the volume for good";
}

TEST(Witness, OnlyTheRecordedOwnerOutdatesItsReplica) {
    Witness w(kP, kT0 - hours(1));
    EXPECT_FALSE(w.outdate(kVol, 3, "a", kT0).granted) << "no record";
    ASSERT_TRUE(w.renew(kVol, 3, "a", kT0).granted);
    for (auto [gen, site] : {std::pair<uint64_t, const char*>{3, "b"}, {2, "a"}, {4, "a"}, {0, "a"}}) {
        auto no = w.outdate(kVol, gen, site, kT0);
        EXPECT_FALSE(no.granted) << gen << " " << site;
        EXPECT_FALSE(no.persist);
        EXPECT_FALSE(no.record.outdated);
        EXPECT_EQ(no.record.generation, 3u);
    }
    auto a = w.outdate(kVol, 3, "a", kT0 + seconds(1));
    EXPECT_TRUE(a.granted);
    EXPECT_TRUE(a.persist) << "the fence is on disk before the owner goes on";
    EXPECT_TRUE(a.record.outdated);
    EXPECT_EQ(a.record.epoch, 1u);
    EXPECT_TRUE(w.record(kVol)->outdated);
    // Each OUTDATE takes a new epoch, fenced already or not.
    auto again = w.outdate(kVol, 3, "a", kT0 + seconds(2));
    EXPECT_TRUE(again.granted);
    EXPECT_TRUE(again.persist);
    EXPECT_EQ(again.record.epoch, 2u);
    // The owner's own renewals go on; the fence stays.
    auto r = w.renew(kVol, 3, "a", kT0 + seconds(3));
    EXPECT_TRUE(r.granted);
    EXPECT_TRUE(r.record.outdated);
}

// While the fence stands no CLAIM is granted, even once the owner's lease
// ended: the replica may lack writes the owner acknowledged alone.
TEST(Witness, AFencedReplicaCannotClaimUntilTheOwnerLiftsTheFence) {
    Witness w(kP, kT0 - hours(1));
    ASSERT_TRUE(w.renew(kVol, 3, "a", kT0).granted);
    ASSERT_TRUE(w.outdate(kVol, 3, "a", kT0).granted);
    auto early = w.claim(kVol, 4, "b", kT0 + seconds(1));
    EXPECT_FALSE(early.granted);
    EXPECT_TRUE(early.fenced);
    EXPECT_FALSE(early.lease_holds);
    EXPECT_TRUE(early.record.outdated);
    auto late = w.claim(kVol, 4, "b", kT0 + hours(1));
    EXPECT_FALSE(late.granted) << "the lease ended, the fence stands";
    EXPECT_TRUE(late.fenced);
    EXPECT_FALSE(late.persist);
    // Refusals for other reasons are not the fence's.
    EXPECT_FALSE(w.claim(kVol, 5, "b", kT0 + hours(1)).fenced);
    EXPECT_FALSE(w.claim(kVol, 4, "a", kT0 + hours(1)).fenced);

    EXPECT_FALSE(w.uptodate(kVol, 3, "b", 1, kT0 + hours(1)).granted) << "not b's to lift";
    EXPECT_FALSE(w.uptodate(kVol, 4, "a", 1, kT0 + hours(1)).granted);
    EXPECT_FALSE(w.uptodate(kVol, 3, "a", 2, kT0 + hours(1)).granted) << "no such epoch yet";
    EXPECT_FALSE(w.uptodate(kVol, 3, "a", 0, kT0 + hours(1)).granted);
    auto up = w.uptodate(kVol, 3, "a", 1, kT0 + hours(1));
    EXPECT_TRUE(up.granted);
    EXPECT_TRUE(up.persist);
    EXPECT_FALSE(up.record.outdated);
    EXPECT_EQ(up.record.epoch, 1u) << "the epoch is kept";
    // Sent again until answered: granted, nothing new to record.
    auto repeat = w.uptodate(kVol, 3, "a", 1, kT0 + hours(1));
    EXPECT_TRUE(repeat.granted);
    EXPECT_FALSE(repeat.persist);
    auto claim = w.claim(kVol, 4, "b", kT0 + hours(1));
    EXPECT_TRUE(claim.granted);
    EXPECT_FALSE(claim.fenced);
    EXPECT_EQ(claim.record.epoch, 1u);
}

// An UPTODATE delayed past the next OUTDATE lifts nothing: the writes
// acknowledged alone since that OUTDATE may be missing at the replica.
TEST(Witness, AnUptodateOfAnOlderEpochKeepsTheNewerFence) {
    Witness w(kP, kT0 - hours(1));
    ASSERT_TRUE(w.renew(kVol, 3, "a", kT0).granted);
    ASSERT_EQ(w.outdate(kVol, 3, "a", kT0).record.epoch, 1u);
    ASSERT_TRUE(w.uptodate(kVol, 3, "a", 1, kT0).granted);
    ASSERT_EQ(w.outdate(kVol, 3, "a", kT0).record.epoch, 2u);
    auto old = w.uptodate(kVol, 3, "a", 1, kT0 + seconds(1));
    EXPECT_FALSE(old.granted);
    EXPECT_FALSE(old.persist);
    EXPECT_TRUE(old.record.outdated);
    EXPECT_EQ(old.record.epoch, 2u);
    EXPECT_TRUE(w.claim(kVol, 4, "b", kT0 + hours(1)).fenced);
    // Twice outdated with no UPTODATE between: only the second lifts it.
    ASSERT_EQ(w.outdate(kVol, 3, "a", kT0).record.epoch, 3u);
    EXPECT_FALSE(w.uptodate(kVol, 3, "a", 2, kT0 + hours(1)).granted);
    EXPECT_TRUE(w.uptodate(kVol, 3, "a", 3, kT0 + hours(1)).granted);
    EXPECT_TRUE(w.claim(kVol, 4, "b", kT0 + hours(1)).granted);
}

// A record of a newer generation has no fence (its replica is the old
// owner, which holds what it wrote), and keeps the epoch: an UPTODATE of
// the old generation lifts nothing, and epochs never repeat.
TEST(Witness, ANewerGenerationHasNoFenceAndKeepsTheEpoch) {
    Witness w(kP, kT0 - hours(1));
    ASSERT_TRUE(w.renew(kVol, 3, "a", kT0).granted);
    ASSERT_TRUE(w.outdate(kVol, 3, "a", kT0).granted);
    auto b = w.renew(kVol, 4, "b", kT0 + seconds(1));  // a handover, a force
    EXPECT_TRUE(b.granted);
    EXPECT_TRUE(b.persist);
    EXPECT_FALSE(b.record.outdated);
    EXPECT_EQ(b.record.epoch, 1u);
    EXPECT_FALSE(w.uptodate(kVol, 3, "a", 1, kT0 + seconds(1)).granted);
    EXPECT_EQ(w.outdate(kVol, 4, "b", kT0 + seconds(2)).record.epoch, 2u);

    // By a planned handover the old owner announced.
    ASSERT_TRUE(w.yield(kVol, 5, "b", "a", kT0 + seconds(3)).granted);
    EXPECT_TRUE(w.record(kVol)->outdated) << "announced, not yet taken";
    auto y = w.renew(kVol, 5, "a", kT0 + seconds(3));
    EXPECT_TRUE(y.granted);
    EXPECT_FALSE(y.record.outdated);
    EXPECT_EQ(y.record.epoch, 2u);

    // By a claim, once the fence was lifted.
    ASSERT_TRUE(w.outdate(kVol, 5, "a", kT0 + seconds(4)).granted);
    ASSERT_TRUE(w.uptodate(kVol, 5, "a", 3, kT0 + seconds(4)).granted);
    auto c = w.claim(kVol, 6, "b", kT0 + hours(1));
    EXPECT_TRUE(c.granted);
    EXPECT_FALSE(c.record.outdated);
    EXPECT_EQ(c.record.epoch, 3u);
    EXPECT_EQ(w.outdate(kVol, 6, "b", kT0 + hours(1)).record.epoch, 4u);
}

// Random requests from both sites, restarts of the witness (it keeps what
// it persisted, which the adapter writes before every answer that says so):
// no generation is ever granted to two sites, no claim while the record is
// fenced, and no epoch twice.
TEST(Witness, NeverTwoSitesForOneGeneration) {
    std::mt19937_64 rng(11);
    for (int round = 0; round < 200; round++) {
        LeaseClock::time_point now = kT0;
        auto w = std::make_unique<Witness>(kP, now);
        WitnessRecord disk;
        std::map<uint64_t, std::set<std::string>> granted;
        const char* sites[] = {"a", "b"};
        uint64_t last_epoch = 0;  // of the last OUTDATE granted
        for (int i = 0; i < 300; i++) {
            now += milliseconds(rng() % 3000);
            const std::string site = sites[rng() % 2], other = site == "a" ? "b" : "a";
            uint64_t base = disk.generation ? disk.generation : 1;
            uint64_t gen = base + rng() % 3;
            const bool fenced = w->record(kVol) && w->record(kVol)->outdated;
            WitnessAnswer a;
            const unsigned op = unsigned(rng() % 6);
            switch (op) {
            case 0: a = w->renew(kVol, gen, site, now); break;
            case 1:
                a = w->claim(kVol, gen, site, now);
                ASSERT_FALSE(a.granted && fenced) << "claimed while fenced";
                break;
            case 2: a = w->yield(kVol, gen, site, other, now); break;
            case 3:
                a = w->outdate(kVol, gen, site, now);
                if (a.granted) {
                    ASSERT_GT(a.record.epoch, last_epoch) << "an epoch taken twice";
                    last_epoch = a.record.epoch;
                }
                break;
            case 4: a = w->uptodate(kVol, gen, site, last_epoch - rng() % 2, now); break;
            case 5:  // a power cut: what was persisted comes back
                w = std::make_unique<Witness>(kP, now);
                if (disk.generation) w->load(kVol, disk);
                continue;
            }
            if (a.persist) disk = *w->record(kVol);
            if (a.granted && op <= 1) granted[a.record.generation].insert(a.record.owner);
        }
        for (auto& [g, s] : granted) ASSERT_LE(s.size(), 1u) << "generation " << g;
    }
}

}  // namespace
