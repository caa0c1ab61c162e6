// SPDX-License-Identifier: GPL-2.0-only
// The witness's decisions (daemon/core/witness.hpp): at most one site is
// ever granted a generation, a claim waits for the owner's lease, a lost
// answer can be claimed again, and a restarted witness holds every lease.
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

// Random requests from both sites, restarts of the witness (it keeps what
// it persisted, which the adapter writes before every answer that says so):
// no generation is ever granted to two sites.
TEST(Witness, NeverTwoSitesForOneGeneration) {
    std::mt19937_64 rng(11);
    for (int round = 0; round < 200; round++) {
        LeaseClock::time_point now = kT0;
        auto w = std::make_unique<Witness>(kP, now);
        WitnessRecord disk;
        std::map<uint64_t, std::set<std::string>> granted;
        const char* sites[] = {"a", "b"};
        for (int i = 0; i < 300; i++) {
            now += milliseconds(rng() % 3000);
            const std::string site = sites[rng() % 2], other = site == "a" ? "b" : "a";
            uint64_t base = disk.generation ? disk.generation : 1;
            uint64_t gen = base + rng() % 3;
            WitnessAnswer a;
            switch (rng() % 4) {
            case 0: a = w->renew(kVol, gen, site, now); break;
            case 1: a = w->claim(kVol, gen, site, now); break;
            case 2: a = w->yield(kVol, gen, site, other, now); break;
            case 3:  // a power cut: what was persisted comes back
                w = std::make_unique<Witness>(kP, now);
                if (disk.generation) w->load(kVol, disk);
                continue;
            }
            if (a.persist) disk = *w->record(kVol);
            if (a.granted && a.length.count()) granted[a.record.generation].insert(a.record.owner);
            if (a.granted && !a.length.count() && a.record.yield_to.empty())
                granted[a.record.generation].insert(a.record.owner);
        }
        for (auto& [g, s] : granted) ASSERT_LE(s.size(), 1u) << "generation " << g;
    }
}

}  // namespace
