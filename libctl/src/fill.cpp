// SPDX-License-Identifier: GPL-2.0-only
#include "dcc/fill.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "dcc/devices.hpp"
#include "dcc/error.hpp"

namespace dcc {

namespace {

struct AlignedFree {
    void operator()(void* p) const { free(p); }
};

class Filler {
public:
    Filler(nl::Dev vol, const FillOptions& opt) : vol_(vol), opt_(opt) {}
    ~Filler() {
        if (data_fd_ >= 0) close(data_fd_);
        if (src_fd_ >= 0) close(src_fd_);
    }

    FillStats run(const std::atomic<bool>& stop);

private:
    void open_devices();
    void pause(const char* stage, uint64_t region);
    int copy_region(uint64_t region);
    void fill(uint64_t region, bool is_miss);
    bool serve_pending();
    bool hydrate_some();
    void log(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

    nl::Dev vol_;
    const FillOptions& opt_;
    nl::Client client_;
    nl::RegisterReply reg_;
    int data_fd_ = -1;
    int src_fd_ = -1;
    uint64_t region_bytes_ = 0;
    std::unique_ptr<char, AlignedFree> buf_;
    uint64_t hydrate_cursor_ = 0;
    bool hydrate_done_ = false;
    FillStats stats_;
};

void Filler::log(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::fputs("dccctl fill: ", stderr);
    std::vfprintf(stderr, fmt, ap);
    std::fputc('\n', stderr);
    va_end(ap);
}

void Filler::open_devices() {
    region_bytes_ = uint64_t(reg_.region_sectors) * 512;
    data_fd_ = open_block_device(reg_.data, O_RDWR | O_DIRECT);
    src_fd_ = open(opt_.source.c_str(), O_RDONLY | O_CLOEXEC);
    if (src_fd_ < 0)
        throw Error(kExitNotFound, errno_text("open source " + opt_.source, errno), errno);
    uint64_t need = reg_.data_sectors * 512;
    if (device_size(src_fd_) < need)
        throw Error(kExitUsage, "source " + opt_.source + " is smaller than the volume (" +
                                    std::to_string(need) + " bytes)");
    void* p = nullptr;
    if (posix_memalign(&p, 4096, region_bytes_))
        throw Error(kExitError, "cannot allocate I/O buffer", ENOMEM);
    buf_.reset(static_cast<char*>(p));
}

void Filler::pause(const char* stage, uint64_t region) {
    if (opt_.pause_at != stage) return;
    std::fprintf(stderr, "dccctl fill: paused at %s region %llu\n", stage,
                 (unsigned long long)region);
    std::fflush(stderr);
    raise(SIGSTOP);
}

// Copy one region from the source to the data device; 0 or an errno.
// Just before the write, the kernel is asked again whether this
// registration still holds the region's fill (FILL_BEGIN answers 0 for a
// fill of its own): the data device is written past the target, and a
// table removed and created meanwhile has none of this fill's locks, so
// the region may hold the application's write by now.  (A reload carries
// the locks over.)
int Filler::copy_region(uint64_t region) {
    uint64_t off = region * region_bytes_;
    uint64_t len = std::min<uint64_t>(region_bytes_, reg_.data_sectors * 512 - off);
    if (int e = read_full(src_fd_, buf_.get(), len, off)) return e;
    pause("claimed", region);
    nl::Request again{.cmd = DCC_CMD_FILL_BEGIN, .dev = vol_, .reg_id = reg_.reg_id, .region = region};
    std::string text;
    if (int e = client_.transact(again, nullptr, &text)) {
        if (e == -EEXIST || e == -EBUSY) return -e;  // written whole meanwhile: not ours to fill
        throw Error(kExitError,
                    "region " + std::to_string(region) + " not written: " +
                        (e == -ESTALE ? std::string("this registration is gone (the device was removed, or "
                                                    "another program registered)")
                                      : errno_text("the kernel", -e) + (text.empty() ? "" : " (" + text + ")")),
                    -e);
    }
    if (int e = write_full(data_fd_, buf_.get(), len, off)) return e;
    pause("written", region);
    return 0;
}

void Filler::fill(uint64_t region, bool is_miss) {
    int err = copy_region(region);
    if (err == EEXIST || err == EBUSY) {
        log("region %llu: written whole by the application meanwhile: not filled", (unsigned long long)region);
        return;
    }
    if (err) {
        log("region %llu: copy failed: %s", (unsigned long long)region, std::strerror(err));
        stats_.errors++;
    }
    nl::Request done{.cmd = DCC_CMD_FILL_DONE, .dev = vol_, .reg_id = reg_.reg_id,
                     .region = region};
    if (err) done.fill_errno = uint32_t(err);
    std::string text;
    int e = client_.transact(done, nullptr, &text);
    if (e == -ENOENT) {
        stats_.stale_completions++;
        log("region %llu: the kernel no longer waits for this fill", (unsigned long long)region);
    } else if (e) {
        throw Error(kExitError, errno_text("report fill of region " + std::to_string(region), -e) +
                                    (text.empty() ? "" : " (" + text + ")"), -e);
    } else if (!err) {
        (is_miss ? stats_.misses_filled : stats_.regions_hydrated)++;
        if (opt_.verbose)
            log("region %llu filled (%s)", (unsigned long long)region, is_miss ? "miss" : "hydrate");
    }
    pause("done", region);
}

// Fill every region a bio waits for.  Returns whether there were any.
bool Filler::serve_pending() {
    bool any = false;
    uint64_t cursor = 0;
    for (;;) {
        nl::RegionsReply rep = client_.get_regions(vol_, DCC_SET_PENDING, cursor);
        for (const Range& r : rep.ranges)
            for (uint64_t i = r.start; i < r.end(); i++) {
                fill(i, true);
                any = true;
            }
        if (!rep.next) return any;
        cursor = *rep.next;
    }
}

// Fill a few invalid regions.  Returns false once none is left.
bool Filler::hydrate_some() {
    nl::RegionsReply rep = client_.get_regions(vol_, DCC_SET_INVALID, hydrate_cursor_);
    if (rep.ranges.empty()) {
        if (hydrate_cursor_ == 0) return false;
        hydrate_cursor_ = 0;  // wrap: regions skipped as busy may be invalid still
        return true;
    }
    unsigned budget = 16;
    for (const Range& r : rep.ranges) {
        for (uint64_t i = r.start; i < r.end() && budget; i++, budget--) {
            hydrate_cursor_ = i + 1;
            nl::Request begin{.cmd = DCC_CMD_FILL_BEGIN, .dev = vol_, .reg_id = reg_.reg_id,
                              .region = i};
            std::string text;
            int e = client_.transact(begin, nullptr, &text);
            if (e == -EEXIST || e == -EBUSY) continue;  // valid now, or being overwritten
            if (e)
                throw Error(kExitError, errno_text("lock region " + std::to_string(i), -e) +
                                            (text.empty() ? "" : " (" + text + ")"), -e);
            fill(i, false);
        }
        if (!budget) break;
    }
    return true;
}

FillStats Filler::run(const std::atomic<bool>& stop) {
    nl::EventSocket events;  // subscribe before registering: no miss goes unseen
    reg_ = client_.register_volume(vol_);
    open_devices();
    log("registered for %u:%u (registration %llu, %llu regions of %llu KiB)", vol_.major,
        vol_.minor, (unsigned long long)reg_.reg_id, (unsigned long long)reg_.nr_regions,
        (unsigned long long)(region_bytes_ >> 10));

    while (!stop) {
        if (opt_.tick) opt_.tick();
        serve_pending();
        bool more = false;
        if (opt_.hydrate && !hydrate_done_) {
            more = hydrate_some();
            if (!more) {
                hydrate_done_ = true;
                log("every region is valid");
                if (opt_.exit_when_done) break;
            }
        }
        pollfd pfd{events.fd(), POLLIN, 0};
        int n = poll(&pfd, 1, more ? 0 : 1000);
        if (n < 0 && errno != EINTR) throw Error(kExitError, errno_text("poll", errno), errno);
        if (n > 0) {
            bool lost;
            events.drain(lost);  // the pending set is re-read at the top either way
        }
    }
    try {
        client_.unregister(vol_, reg_.reg_id);
    } catch (const Error& e) {
        log("%s", e.what());
    }
    return stats_;
}

}  // namespace

FillStats run_fill(nl::Dev vol, const FillOptions& opt, const std::atomic<bool>& stop) {
    Filler f(vol, opt);
    return f.run(stop);
}

}  // namespace dcc
