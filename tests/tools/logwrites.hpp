// SPDX-License-Identifier: GPL-2.0-only
// A dm-log-writes log read entry by entry (the format is the kernel's
// Documentation/admin-guide/device-mapper/log-writes.rst).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dcctest {

struct LogEntry {
    uint64_t index = 0;
    uint64_t offset = 0;  // in bytes on the logged device
    uint64_t flags = 0;
    std::vector<uint8_t> data;
    static constexpr uint64_t kFlush = 1, kFua = 2, kDiscard = 4, kMark = 8;
    bool flush() const { return flags & kFlush; }
    bool fua() const { return flags & kFua; }
    bool write() const { return !(flags & (kDiscard | kMark)) && !data.empty(); }
};

class LogReader {
public:
    explicit LogReader(const std::string& path);  // exits with a message if unreadable
    ~LogReader();
    uint64_t entries() const { return entries_; }
    bool next(LogEntry& e);  // false at the end

private:
    int fd_ = -1;
    uint64_t entries_ = 0, sector_ = 512, pos_ = 0, index_ = 0;
};

}  // namespace dcctest
