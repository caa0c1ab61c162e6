// SPDX-License-Identifier: GPL-2.0-only
// The pairing rules (daemon/core/pairing.hpp), row by row, and as a whole:
// whatever two sites hold, at most one of them acts, they agree on
// whether they are paired, and a pairing always has one owner.
#include <gtest/gtest.h>

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
