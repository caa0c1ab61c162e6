// SPDX-License-Identifier: GPL-2.0-only
#include "workers.hpp"

#include <signal.h>

#include <cstring>

#include "dcc/error.hpp"

namespace dcc::dccd {

namespace {
// What a job needs: system calls, libstdc++'s strings and streams.
constexpr size_t kStack = 256 * 1024;
}  // namespace

int start_thread(pthread_t* t, size_t stack, void* (*fn)(void*), void* arg) {
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, stack);
    // (A thread inherits its creator's signal mask.)
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(t, &a, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    pthread_attr_destroy(&a);
    return e;
}

Workers::Workers(size_t n) {
    int e = 0;
    for (size_t i = 0; i < n && !e; i++) {
        pthread_t t;
        e = start_thread(&t, kStack, &Workers::main, this);
        if (!e) threads_.push_back(t);
    }
    if (e) {
        stop_all();
        throw Error(kExitError, std::string("cannot start a worker thread: ") + std::strerror(e), e);
    }
}

Workers::~Workers() { stop_all(); }

void Workers::stop_all() {
    {
        std::lock_guard<std::mutex> l(mu_);
        stop_ = true;
    }
    wake_.notify_all();
    for (pthread_t t : threads_) pthread_join(t, nullptr);
    threads_.clear();
}

void* Workers::main(void* self) {
    static_cast<Workers*>(self)->work();
    return nullptr;
}

void Workers::work() {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
        wake_.wait(l, [&] { return stop_ || (jobs_ && next_ < jobs_->size()); });
        if (stop_) return;
        std::function<void()>& job = (*jobs_)[next_++];
        l.unlock();
        job();
        l.lock();
        if (++finished_ == jobs_->size()) done_.notify_one();
    }
}

void Workers::run_all(std::vector<std::function<void()>>& jobs) {
    if (jobs.empty()) return;
    if (threads_.empty()) {
        for (auto& j : jobs) j();
        return;
    }
    std::unique_lock<std::mutex> l(mu_);
    jobs_ = &jobs;
    next_ = finished_ = 0;
    wake_.notify_all();
    done_.wait(l, [&] { return finished_ == jobs.size(); });
    jobs_ = nullptr;
}

}  // namespace dcc::dccd
