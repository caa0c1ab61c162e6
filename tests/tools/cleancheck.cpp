// SPDX-License-Identifier: GPL-2.0-only
// dcctest cleancheck: replay an owner's dm-log-writes log and check at
// every durable point that each region its metadata calls valid and clean
// after it was dirty holds what the replica acknowledged (what the replica
// holds at the end: the writer wrote each region once; a region never
// dirty holds its first content at both sites).
//
//   cleancheck --log LOG --base IMG --replica HASHES --data-sectors N --meta-offset S
//       HASHES: regionhash's output at the replica.
//   regionhash DEV --region-bytes B
//       One line per region of DEV: a 64-bit hash of its bytes, in hex.
//
// dm-log-writes logs writes in the order they became durable: one without
// FUA only when a flush made it so (or when the log ends).  So the image at
// each entry is what a power cut there would leave.
#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dcc/meta.hpp"
#include "logwrites.hpp"
#include "tools.hpp"

namespace dcctest {

namespace {

[[noreturn]] void fail(const std::string& why) {
    std::fprintf(stderr, "dcctest: %s\n", why.c_str());
    std::exit(2);
}

// FNV-1a: enough to tell two regions apart in a test.
uint64_t hash(const uint8_t* p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

std::vector<uint8_t> read_all(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) fail("cannot open " + path);
    std::vector<uint8_t> b;
    uint8_t chunk[1 << 16];
    for (ssize_t n; (n = read(fd, chunk, sizeof(chunk))) > 0;) b.insert(b.end(), chunk, chunk + n);
    close(fd);
    return b;
}

}  // namespace

LogReader::LogReader(const std::string& path) {
    fd_ = open(path.c_str(), O_RDONLY);
    uint64_t sup[4] = {};
    if (fd_ < 0 || pread(fd_, sup, sizeof(sup), 0) != ssize_t(sizeof(sup)) ||
        sup[0] != 0x6a736677736872ull)
        fail("not a dm-log-writes log: " + path);
    entries_ = sup[2];
    sector_ = uint32_t(sup[3]);
    pos_ = sector_;
}

LogReader::~LogReader() {
    if (fd_ >= 0) close(fd_);
}

bool LogReader::next(LogEntry& e) {
    if (index_ == entries_) return false;
    std::vector<uint8_t> head(sector_);
    if (pread(fd_, head.data(), sector_, off_t(pos_)) != ssize_t(sector_)) fail("short log");
    pos_ += sector_;
    uint64_t f[4];  // sector, nr_sectors, flags, data_len
    std::memcpy(f, head.data(), sizeof(f));
    e.index = index_++;
    e.offset = f[0] * sector_;
    e.flags = f[2];
    e.data.clear();
    uint64_t bytes = f[1] * sector_;
    if (!(e.flags & (LogEntry::kDiscard | LogEntry::kMark)) && bytes) {
        e.data.resize(bytes);
        if (pread(fd_, e.data.data(), bytes, off_t(pos_)) != ssize_t(bytes)) fail("short log");
        pos_ += bytes;
    }
    return true;
}

int regionhash(const std::string& dev, uint64_t region_bytes) {
    std::vector<uint8_t> b = read_all(dev);
    if (!region_bytes) fail("bad --region-bytes");
    for (uint64_t off = 0; off < b.size(); off += region_bytes)
        std::printf("%016" PRIx64 "\n", hash(b.data() + off, std::min<uint64_t>(region_bytes, b.size() - off)));
    return 0;
}

int cleancheck(const std::string& log, const std::string& base, const std::string& replica,
               uint64_t data_sectors, uint64_t meta_offset) {
    std::vector<uint8_t> img = read_all(base);
    std::vector<uint64_t> rep;
    {
        FILE* f = std::fopen(replica.c_str(), "r");
        if (!f) fail("cannot open " + replica);
        for (uint64_t h; std::fscanf(f, "%" SCNx64, &h) == 1;) rep.push_back(h);
        std::fclose(f);
    }
    const uint64_t data_bytes = data_sectors * 512, meta_off = meta_offset * 512;
    if (img.size() < meta_off + dcc::kMetaBlock) fail("the base image is too small");
    LogReader r(log);
    uint64_t region_bytes = 0, nr_regions = 0, points = 0, clean_checked = 0, violations = 0;
    std::vector<int8_t> same;  // region -> durable data equals the replica's (-1: unknown)
    std::vector<bool> written;  // region -> it was dirty on disk at some point
    auto land = [&](uint64_t off, const std::vector<uint8_t>& d) {
        if (off + d.size() > img.size()) fail("a log entry beyond the image");
        std::memcpy(img.data() + off, d.data(), d.size());
        if (region_bytes && off < data_bytes)
            for (uint64_t x = off / region_bytes; x < nr_regions && x * region_bytes < off + d.size(); x++)
                same[x] = -1;
    };
    auto check = [&](uint64_t entry) {
        dcc::Superblock sb;
        if (dcc::decode_superblock({img.data() + meta_off, dcc::kMetaBlock}, sb) != dcc::SbStatus::Ok)
            return;
        if (!region_bytes) {
            region_bytes = uint64_t(sb.region_sectors) * 512;
            nr_regions = sb.nr_regions;
            same.assign(nr_regions, -1);
            written.assign(nr_regions, false);
            if (rep.size() != nr_regions) fail("the replica's hashes do not cover the volume");
        }
        points++;
        const uint8_t* valid = img.data() + meta_off + sb.valid_start * dcc::kMetaBlock;
        const uint8_t* dirty = img.data() + meta_off + sb.dirty_start * dcc::kMetaBlock;
        for (uint64_t x = 0; x < nr_regions; x++) {
            bool v = (valid[x >> 3] >> (x & 7)) & 1, d = (dirty[x >> 3] >> (x & 7)) & 1;
            if (d) written[x] = true;
            if (!v || d || !written[x]) continue;
            clean_checked++;
            if (same[x] < 0) {
                uint64_t off = x * region_bytes, len = std::min(region_bytes, data_bytes - off);
                same[x] = hash(img.data() + off, len) == rep[x];
            }
            if (!same[x] && violations++ < 5)
                std::printf("entry %" PRIu64 ": region %" PRIu64
                            " is clean on disk, but a power cut here leaves other data than the "
                            "replica acknowledged\n",
                            entry, x);
        }
    };
    for (LogEntry e; r.next(e);) {
        if (!e.write()) continue;
        land(e.offset, e.data);
        if (e.offset >= meta_off) check(e.index);
    }
    std::printf("cleancheck: %" PRIu64 " entries, %" PRIu64 " durable points, %" PRIu64
                " clean regions checked, %" PRIu64 " violations\n",
                r.entries(), points, clean_checked, violations);
    return violations || !points ? 1 : 0;
}

}  // namespace dcctest
