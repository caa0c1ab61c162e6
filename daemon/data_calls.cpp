// SPDX-License-Identifier: GPL-2.0-only
// The data-device calls of bulk messages, side by side (see daemon.hpp,
// DataCall), and the commits their writes share.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>

#include "daemon.hpp"
#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "log.hpp"
#include "stallwatch.hpp"

namespace dcc::dccd {

// The read or write of @c, its result in @c.err.
void Daemon::run_call(DataCall& c) {
    c.err = c.write ? write_full(c.v->data_fd, c.buf, c.len, c.offset) : read_full(c.v->data_fd, c.buf, c.len, c.offset);
}

// The volume, region and (a push's) order of @in's call.
core::DataKey Daemon::data_key(const Incoming& in) {
    const wire::Message& m = in.msg;
    bool push = in.request && m.type == wire::Type::Push;
    return {m.volume, m.region, push ? m.seq : 0, push ? m.arg : 0};
}

std::string on_data(const Volume& v, const char* what, uint64_t offset) {
    return std::string(what) + " at byte " + std::to_string(offset) + " of " + v.name + "'s data device";
}

uint8_t* Daemon::batch_buf(size_t i) {
    while (batch_bufs_.size() <= i) {
        void* p = nullptr;
        if (posix_memalign(&p, 4096, wire::kMaxPayload)) throw Error(kExitError, "out of memory", ENOMEM);
        batch_bufs_.emplace_back(static_cast<uint8_t*>(p), free);
    }
    return batch_bufs_[i].get();
}

core::BulkKind Daemon::bulk_kind(const Incoming& in) {
    using wire::Type;
    const wire::Message& m = in.msg;
    if (in.request ? m.type == Type::Push || m.type == Type::Pull : m.type == Type::PullReply)
        return core::BulkKind::Data;
    return !in.request && m.type == Type::PushAck ? core::BulkKind::Neutral : core::BulkKind::Other;
}

// Whether @in may join the batch under way (core::joins_batch).
bool Daemon::batch_admits(const Incoming& in) const {
    return core::joins_batch(bulk_kind(in), data_key(in), batch_keys_, kDataBatch);
}

// Run @c's read or write and then @c.then: in the batch under way if the
// loop is handing a bulk message over, or at once.
void Daemon::data_call(DataCall c) {
    if (batching_ && batch_.size() < kDataBatch) {
        c.buf = batch_buf(batch_.size());
        if (c.write) std::memcpy(c.buf, c.in.payload.data(), c.len);
        batch_keys_.push_back(data_key(c.in));
        batch_.push_back(std::move(c));
        return;
    }
    c.buf = buf_.get();
    if (c.write) std::memcpy(c.buf, c.in.payload.data(), c.len);
    {
        StallWatch::Busy busy(stall_watch(), on_data(*c.v, c.what, c.offset));
        run_call(c);
    }
    (this->*c.then)(c);
}

// The reads and writes of @calls, side by side on the workers (each call's
// region is its own; O_DIRECT, into buffers of their own).
void Daemon::run_data_calls(std::vector<DataCall>& calls) {
    if (calls.empty()) return;
    std::vector<std::function<void()>> jobs;
    jobs.reserve(calls.size());
    for (DataCall& c : calls) jobs.emplace_back([&c] { run_call(c); });
    const DataCall& c = calls.front();
    std::string what = on_data(*c.v, c.what, c.offset);
    if (calls.size() > 1) {
        // (Which of them waits the watch cannot tell: every volume is named.)
        std::set<std::string> others;
        for (const DataCall& o : calls)
            if (o.v != c.v) others.insert(o.v->name);
        what += ", with " + std::to_string(calls.size() - 1) + " more beside it";
        if (!others.empty()) {
            what += " (also on the data devices of";
            for (const std::string& n : others) what += " " + n;
            what += ")";
        }
    }
    StallWatch::Busy busy(stall_watch(), std::move(what));
    workers_.run_all(jobs);
}

// The batch under way: its calls, then each call's end in order.
bool Daemon::run_batch() {
    if (batch_.empty()) return false;
    std::vector<DataCall> calls;
    calls.swap(batch_);
    batch_keys_.clear();
    run_data_calls(calls);
    for (DataCall& c : calls) {
        try {
            (this->*c.then)(c);
        } catch (const Error& e) {
            log_warn("%s: %s", c.v->name.c_str(), e.what());
        }
    }
    return true;
}

void Daemon::uncommitted(Volume& v) {
    if (v.written.empty() && v.acks.empty()) v.commit_by = Clock::now() + kCommitWait;
}

// The owner's writes are its pulls' (a fetch commits at once): half of
// those in flight, written or not.  The replica's are the owner's pushes:
// half of this site's replication_window (the peer's, as configured
// alike).
size_t Daemon::commit_batch(const Volume& v) const {
    size_t window = v.owner() ? v.fills.count(core::FillKind::Pull) : cfg_.window;
    return std::clamp<size_t>(window / 2, 1, kCommitBatch);
}

bool Daemon::commit_due(const Volume& v, Clock::time_point now) const {
    size_t n = v.written.size() + v.acks.size();
    return n && (n >= commit_batch(v) || now >= v.commit_by);
}

// The writes that waited long enough, or are enough, to share a commit.
void Daemon::commit_due_writes(Clock::time_point now) {
    for (auto& [_, v] : vols_) {
        if (!commit_due(*v, now)) continue;
        try {
            flush_acks(*v);
        } catch (const Error& e) {
            log_warn("%s: %s", v->name.c_str(), e.what());
        }
    }
}

}  // namespace dcc::dccd
