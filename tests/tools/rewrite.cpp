// SPDX-License-Identifier: GPL-2.0-only
// dcctest rewrite / rewriteverify: the same few blocks written again and
// again, then checked for the last record of each.
//
//   rewrite DEV --seed S --blocks N --seconds T
//       Write 4 KiB records (seed, seq, block) with O_DIRECT|O_DSYNC to
//       block seq % N, seq = 0, 1, ... for T seconds; print "REWRITE count".
//   rewriteverify DEV --seed S --blocks N --count C
//       Check that each block holds the last record written to it.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <string>

#include "tools.hpp"

namespace dcctest {

namespace {

constexpr uint64_t kBs = 4096;

void record(uint8_t* buf, uint64_t seed, uint64_t seq, uint64_t block) {
    uint64_t x = seed ^ (seq * 0x9e3779b97f4a7c15ull) ^ block;
    auto* w = reinterpret_cast<uint64_t*>(buf);
    for (uint64_t i = 0; i < kBs / 8; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        w[i] = x;
    }
    w[0] = 0x3130575245434344ull;  // "DCCREW01"
    w[1] = seed;
    w[2] = seq;
    w[3] = block;
}

uint8_t* block_buf() {
    void* p;
    if (posix_memalign(&p, 4096, kBs)) std::exit(2);
    return static_cast<uint8_t*>(p);
}

}  // namespace

int rewrite(const std::string& dev, uint64_t seed, uint64_t blocks, uint64_t seconds) {
    int fd = open(dev.c_str(), O_RDWR | O_DIRECT | O_DSYNC);
    if (fd < 0 || !blocks) {
        std::fprintf(stderr, "dcctest: open %s: %s\n", dev.c_str(), std::strerror(errno));
        return 2;
    }
    uint8_t* buf = block_buf();
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    uint64_t seq = 0;
    for (; std::chrono::steady_clock::now() < end; seq++) {
        uint64_t b = seq % blocks;
        record(buf, seed, seq, b);
        if (pwrite(fd, buf, kBs, off_t(b * kBs)) != ssize_t(kBs)) {
            std::fprintf(stderr, "dcctest: write failed: %s\n", std::strerror(errno));
            return 1;
        }
    }
    std::printf("REWRITE %" PRIu64 "\n", seq);
    return 0;
}

int rewriteverify(const std::string& dev, uint64_t seed, uint64_t blocks, uint64_t count) {
    int fd = open(dev.c_str(), O_RDONLY | O_DIRECT);
    if (fd < 0 || !blocks || count < blocks) {
        std::fprintf(stderr, "dcctest: open %s or arguments: %s\n", dev.c_str(), std::strerror(errno));
        return 2;
    }
    uint8_t *buf = block_buf(), *want = block_buf();
    uint64_t bad = 0;
    for (uint64_t b = 0; b < blocks; b++) {
        uint64_t last = (count - 1) - ((count - 1 - b) % blocks);  // largest seq < count on b
        if (pread(fd, buf, kBs, off_t(b * kBs)) != ssize_t(kBs)) {
            std::printf("block %" PRIu64 ": read failed: %s\n", b, std::strerror(errno));
            bad++;
            continue;
        }
        record(want, seed, last, b);
        if (std::memcmp(buf, want, kBs)) {
            uint64_t held;
            std::memcpy(&held, buf + 16, 8);
            if (bad++ < 10)
                std::printf("block %" PRIu64 " holds record %" PRIu64 ", the last written was %" PRIu64 "\n",
                            b, held, last);
        }
    }
    std::printf("rewriteverify: %" PRIu64 " blocks, %" PRIu64 " stale or wrong\n", blocks, bad);
    return bad ? 1 : 0;
}

}  // namespace dcctest
