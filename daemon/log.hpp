// SPDX-License-Identifier: GPL-2.0-only
// dccd's log: one line per event on stderr (journald adds the time).
//
// Under systemd, stderr is a stream to journald when $JOURNAL_STREAM names
// its device and inode (systemd.exec(5)).  Each line then starts with its
// syslog priority ("<4>" warning, "<6>" info, "<3>" for the error that
// ends dccd), which journald takes and strips (SyslogLevelPrefix=, on by
// default), so that 'journalctl -p warning' shows the warnings.
// Elsewhere (a terminal, a file) lines are as they were.
#pragma once

#include <sys/stat.h>
#include <time.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace dcc {

// Whether @env ("DEV:INO", as systemd sets JOURNAL_STREAM) names the file
// @st is.
inline bool journal_stream(const char* env, const struct stat& st) {
    if (!env) return false;
    unsigned long long dev = 0, ino = 0;
    char end = 0;
    if (std::sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2) return false;
    return dev == (unsigned long long)st.st_dev && ino == (unsigned long long)st.st_ino;
}

inline bool log_to_journal() {
    static const bool j = [] {
        struct stat st;
        return fstat(2, &st) == 0 && journal_stream(std::getenv("JOURNAL_STREAM"), st);
    }();
    return j;
}

// With DCCD_LOG_TIME set (to anything), each line starts with the
// monotonic clock in seconds ("[  123.456789] "), to time one step against
// another; the journal has its own timestamps.
inline bool log_with_time() {
    static const bool t = std::getenv("DCCD_LOG_TIME") != nullptr;
    return t;
}

// The line is put together first and written with one call: stderr is
// unbuffered, so piece by piece it cost a system call a piece (each one
// slow under emulation), and lines of two threads could interleave.
inline void log_line(int priority, const char* level, const char* fmt, va_list ap) {
    char head[64];
    int h = 0;
    if (log_to_journal()) h += std::snprintf(head + h, sizeof(head) - h, "<%d>", priority);
    if (log_with_time()) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        h += std::snprintf(head + h, sizeof(head) - h, "[%5lld.%06ld] ", (long long)ts.tv_sec, ts.tv_nsec / 1000);
    }
    std::string line(head, size_t(h));
    line += "dccd: ";
    line += level;
    char body[512];
    va_list again;
    va_copy(again, ap);
    int n = std::vsnprintf(body, sizeof(body), fmt, ap);
    if (n >= int(sizeof(body))) {
        std::string big(size_t(n) + 1, '\0');
        std::vsnprintf(big.data(), big.size(), fmt, again);
        line.append(big.data(), size_t(n));
    } else if (n > 0) {
        line.append(body, size_t(n));
    }
    va_end(again);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

__attribute__((format(printf, 1, 2))) inline void log_info(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_line(6, "", fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 1, 2))) inline void log_warn(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_line(4, "warning: ", fmt, ap);
    va_end(ap);
}

// The error that ends dccd (priority 3).
__attribute__((format(printf, 1, 2))) inline void log_fatal(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_line(3, "", fmt, ap);
    va_end(ap);
}

}  // namespace dcc
