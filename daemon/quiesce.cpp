// SPDX-License-Identifier: GPL-2.0-only
// Stopping and resuming a volume's I/O around a change of owner: the
// page cache written back and dropped, the device suspended with a
// marker a later dccd recognises, and resumed.  The parts that touch no
// daemon state run on the workers too (starts.cpp, ahead.cpp).
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "daemon.hpp"
#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "log.hpp"
#include "stallwatch.hpp"

namespace dcc::dccd {

std::string Daemon::marker_path(const std::string& name) const {
    std::string dir = cfg_.control_socket.substr(0, cfg_.control_socket.rfind('/') + 1);
    return dir + "suspended-" + name;
}

// A suspend of ours leaves a marker, so that a dccd started after this
// one died knows it may resume the device (and leaves an admin's alone).
// Waiting bios go back to dm's queue (noflush).  Throws dcc::Error.
void suspend_marked(const std::string& name, const std::string& marker) {
    int fd = open(marker.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
    try {
        dm_suspend(name, true);
    } catch (...) {
        unlink(marker.c_str());
        throw;
    }
}

// @v's page cache written back before it is suspended.  A write that
// failed is said here and not waited for again; only failing to open the
// device throws (dcc::Error).
void write_back_logged(const Volume& v) {
    StallWatch::Busy busy(stall_watch(), "the write-back of " + v.name + "'s page cache");
    int fd = open_block_device(v.dev, O_RDONLY);
    try {
        write_back(fd);
    } catch (const Error& e) {
        log_warn("%s: %s", v.name.c_str(), e.what());
    }
    close(fd);
}

void Daemon::suspend(Volume& v) {
    StallWatch::Busy busy(stall_watch(), "the suspend of " + v.name);
    suspend_marked(v.name, marker_path(v.name));
    v.suspended = true;
}

// Resume @name, suspended by us (its marker @marker): "" or why it could
// not be.  Runs on a worker too.
std::string resume_marked(const std::string& name, const std::string& marker) {
    try {
        dm_resume(name);
        unlink(marker.c_str());
        return {};
    } catch (const std::exception& e) {
        return e.what();
    }
}

void Daemon::resume(Volume& v) {
    if (v.suspended) resumed(v, resume_marked(v.name, marker_path(v.name)));
}

// @v resumed, or not (@why).
void Daemon::resumed(Volume& v, const std::string& why) {
    if (!why.empty()) {
        log_warn("%s: %s", v.name.c_str(), why.c_str());
        return;
    }
    v.suspended = false;
    v.cache_empty = false;
}

// Drop what the page cache holds of the volume: nothing read before a
// change of owner may be served after it.  A suspended device cannot
// write back, so then only clean pages go (the rest was written back
// before the suspend); and none come back until it resumes, so once
// dropped while suspended there is nothing to drop again.
void Daemon::drop_page_cache(Volume& v) {
    if (v.suspended && v.cache_empty) return;
    std::string why = drop_cache_of(v);
    if (!why.empty()) log_warn("%s: %s", v.name.c_str(), why.c_str());
    else if (v.suspended) v.cache_empty = true;
}

// The drop itself, which runs on a worker too: "" or why it failed.
std::string Daemon::drop_cache_of(const Volume& v) {
    StallWatch::Busy busy(stall_watch(), "the drop of " + v.name + "'s page cache");
    int fd = -1;
    try {
        fd = open_block_device(v.dev, O_RDONLY);
    } catch (const Error& e) {
        return e.what();
    }
    int e = v.suspended ? posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
                        : (ioctl(fd, BLKFLSBUF, 0) ? errno : 0);
    close(fd);
    return e ? errno_text("cannot drop the page cache", e) : std::string();
}

}  // namespace dcc::dccd
