// SPDX-License-Identifier: GPL-2.0-only
// The watch over dccd's calls that can block on a device (core::Stalls):
// a thread of its own looks each second and logs what waits too long.
#pragma once

#include <pthread.h>

#include <condition_variable>
#include <mutex>
#include <string>

#include "stalls.hpp"

namespace dcc::dccd {

// The threads watched.
enum StallThread : size_t { kLoopThread, kShipperThread };

class StallWatch {
public:
    StallWatch();
    ~StallWatch();
    StallWatch(const StallWatch&) = delete;
    StallWatch& operator=(const StallWatch&) = delete;

    // The calling thread is @t from now on: its Busy marks count.  The
    // marks of other threads (the workers) are not watched.
    static void this_thread_is(StallThread t);

    // Marks one call of the calling thread while it lives: "a write at
    // byte 4096 of vol's data device".
    class Busy {
    public:
        Busy(StallWatch& w, std::string what);
        ~Busy();
        Busy(const Busy&) = delete;
        Busy& operator=(const Busy&) = delete;

    private:
        StallWatch& w_;
        int t_;
        bool outer_ = false;
    };

private:
    static void* main(void* self);
    void watch();

    std::mutex mu_;
    std::condition_variable wake_;
    core::Stalls stalls_;
    bool stop_ = false;
    pthread_t thread_{};
    bool started_ = false;
};

// dccd's one watch.
StallWatch& stall_watch();

}  // namespace dcc::dccd
