// SPDX-License-Identifier: GPL-2.0-only
// dccd's log: one line per event on stderr (journald adds the time).
#pragma once

#include <cstdarg>
#include <cstdio>

namespace dcc {

inline void log_line(const char* level, const char* fmt, va_list ap) {
    std::fprintf(stderr, "dccd: %s", level);
    std::vfprintf(stderr, fmt, ap);
    std::fputc('\n', stderr);
    std::fflush(stderr);
}

__attribute__((format(printf, 1, 2))) inline void log_info(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_line("", fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 1, 2))) inline void log_warn(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_line("warning: ", fmt, ap);
    va_end(ap);
}

}  // namespace dcc
