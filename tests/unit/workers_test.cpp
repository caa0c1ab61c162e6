// SPDX-License-Identifier: GPL-2.0-only
#include "workers.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

using dcc::dccd::Workers;

TEST(Workers, RunsEveryJobBeforeReturning) {
    Workers w(4);
    std::vector<int> done(40, 0);
    std::vector<std::function<void()>> jobs;
    for (size_t i = 0; i < done.size(); i++)
        jobs.push_back([&done, i] {
            std::this_thread::sleep_for(std::chrono::milliseconds(i % 3));
            done[i] = int(i) + 1;
        });
    w.run_all(jobs);
    for (size_t i = 0; i < done.size(); i++) EXPECT_EQ(done[i], int(i) + 1) << i;
    // Again, on the same threads.
    std::atomic<int> n{0};
    std::vector<std::function<void()>> more(7, [&n] { n++; });
    w.run_all(more);
    EXPECT_EQ(n.load(), 7);
}

TEST(Workers, RunSideBySide) {
    Workers w(4);
    std::atomic<int> in{0}, most{0};
    std::vector<std::function<void()>> jobs(8, [&] {
        int now = ++in;
        for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        in--;
    });
    w.run_all(jobs);
    EXPECT_GT(most.load(), 1);
    EXPECT_LE(most.load(), 4);
}

// dccd takes its signals with a signalfd in its loop: a worker that could
// take a SIGHUP would end the process.
TEST(Workers, BlockEverySignalWhateverTheCallerBlocks) {
    sigset_t none, before;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, &before);
    Workers w(2);
    std::vector<int> blocked(4, 0);
    std::vector<std::function<void()>> jobs;
    for (size_t i = 0; i < blocked.size(); i++)
        jobs.push_back([&blocked, i] {
            sigset_t cur;
            pthread_sigmask(SIG_BLOCK, nullptr, &cur);
            blocked[i] = sigismember(&cur, SIGHUP) && sigismember(&cur, SIGTERM) && sigismember(&cur, SIGINT);
        });
    w.run_all(jobs);
    for (int b : blocked) EXPECT_TRUE(b);
    // The caller's own mask is as it was.
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, nullptr, &cur);
    EXPECT_FALSE(sigismember(&cur, SIGHUP));
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
}
