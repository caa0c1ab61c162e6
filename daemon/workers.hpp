// SPDX-License-Identifier: GPL-2.0-only
// A few threads that run blocking system calls of several volumes at once
// (a migration's write-back and suspend) while dccd's loop waits for all
// of them.  Started once: dccd locks its memory (mlockall), so a thread
// started per job would fault in and lock a whole default stack first;
// these get small stacks.
#pragma once

#include <pthread.h>

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

namespace dcc::dccd {

// Start a thread of dccd's own: a small stack of @stack bytes (dccd locks
// its memory) and every signal blocked (dccd takes its signals in the
// loop, by signalfd; a SIGHUP delivered to another thread would end the
// process).  0 or an errno.
int start_thread(pthread_t* t, size_t stack, void* (*fn)(void*), void* arg);

class Workers {
public:
    explicit Workers(size_t n);
    ~Workers();
    Workers(const Workers&) = delete;
    Workers& operator=(const Workers&) = delete;

    // Run every job, on the workers, and return when all have returned.
    // The jobs must not throw.
    void run_all(std::vector<std::function<void()>>& jobs);

private:
    static void* main(void* self);
    void work();
    void stop_all();

    std::mutex mu_;
    std::condition_variable wake_, done_;
    std::vector<std::function<void()>>* jobs_ = nullptr;
    size_t next_ = 0, finished_ = 0;
    bool stop_ = false;
    std::vector<pthread_t> threads_;
};

}  // namespace dcc::dccd
