// SPDX-License-Identifier: GPL-2.0-only
// dcctest: helpers for the VM scenarios.
//
//   seqwrite DEV --seed S [--count N]
//       Write numbered 4 KiB records to distinct blocks with O_DIRECT|O_DSYNC
//       and print "ACK <seq>" once each write is acknowledged.
//   seqverify DEV --seed S --acked N [--meta META]
//       Check that every record up to N is on DEV and, with --meta, that the
//       region of each is marked dirty in the metadata.
//   logcheck --log LOG --base IMG --source SRC --data-sectors N
//            --meta-offset SECTORS
//       Replay a dm-log-writes log over IMG (data at sector 0, metadata at
//       META-OFFSET) and check after every durable point that each region
//       the metadata calls valid holds the source's data.
#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "dcc/meta.hpp"

namespace {

constexpr uint64_t kBs = 4096;
constexpr uint64_t kMagic = 0x3130514553434344ull;  // "DCCSEQ01"

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "dcctest: %s\n", msg.c_str());
    std::exit(2);
}

std::map<std::string, std::string> opts(int argc, char** argv, int first) {
    std::map<std::string, std::string> o;
    for (int i = first; i < argc; i++) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0 || i + 1 >= argc) die("bad argument " + a);
        o[a.substr(2)] = argv[++i];
    }
    return o;
}

uint64_t num(const std::map<std::string, std::string>& o, const char* k) {
    auto it = o.find(k);
    if (it == o.end()) die(std::string("missing --") + k);
    return std::strtoull(it->second.c_str(), nullptr, 0);
}

uint64_t splitmix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// Blocks are visited in a fixed permutation of a power-of-two range.
struct Order {
    uint64_t nblocks, mul, add;
    Order(uint64_t dev_bytes, uint64_t seed) {
        nblocks = 1;
        while (nblocks * 2 <= dev_bytes / kBs) nblocks *= 2;
        uint64_t s = seed;
        mul = splitmix(s) | 1;
        add = splitmix(s);
    }
    uint64_t block(uint64_t i) const { return (i * mul + add) & (nblocks - 1); }
};

void fill_record(uint8_t* buf, uint64_t seed, uint64_t seq, uint64_t block) {
    uint64_t x = seed ^ (seq * 0x100000001b3ull);
    auto* w = reinterpret_cast<uint64_t*>(buf);
    for (uint64_t i = 0; i < kBs / 8; i++) w[i] = splitmix(x);
    w[0] = kMagic;
    w[1] = seed;
    w[2] = seq;
    w[3] = block;
}

uint8_t* aligned(size_t n) {
    void* p;
    if (posix_memalign(&p, 4096, n)) die("out of memory");
    return static_cast<uint8_t*>(p);
}

int seqwrite(const std::string& dev, const std::map<std::string, std::string>& o) {
    int fd = open(dev.c_str(), O_RDWR | O_DIRECT | O_DSYNC);
    if (fd < 0) die("open " + dev + ": " + std::strerror(errno));
    uint64_t seed = num(o, "seed");
    Order ord(dcc::device_size(fd), seed);
    uint64_t count = o.count("count") ? num(o, "count") : ord.nblocks;
    if (count > ord.nblocks) count = ord.nblocks;
    uint8_t* buf = aligned(kBs);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t b = ord.block(i);
        fill_record(buf, seed, i, b);
        if (pwrite(fd, buf, kBs, off_t(b * kBs)) != ssize_t(kBs)) die("write failed");
        std::printf("ACK %" PRIu64 "\n", i);
        std::fflush(stdout);
    }
    return 0;
}

int seqverify(const std::string& dev, const std::map<std::string, std::string>& o) {
    int fd = open(dev.c_str(), O_RDONLY | O_DIRECT);
    if (fd < 0) die("open " + dev + ": " + std::strerror(errno));
    uint64_t seed = num(o, "seed"), acked = num(o, "acked");
    Order ord(dcc::device_size(fd), seed);
    std::optional<dcc::MetaImage> meta;
    if (o.count("meta")) meta = dcc::read_meta(o.at("meta"));
    uint8_t* buf = aligned(kBs);
    uint8_t* want = aligned(kBs);
    uint64_t bad = 0, notdirty = 0;
    for (uint64_t i = 0; i <= acked && i < ord.nblocks; i++) {
        uint64_t b = ord.block(i);
        if (pread(fd, buf, kBs, off_t(b * kBs)) != ssize_t(kBs)) die("read failed");
        fill_record(want, seed, i, b);
        if (std::memcmp(buf, want, kBs)) {
            if (bad++ < 5)
                std::printf("record %" PRIu64 " (block %" PRIu64 ") missing or wrong\n", i, b);
        }
        if (meta) {
            uint64_t region = b * (kBs / 512) / meta->sb.region_sectors;
            if (!meta->dirty.test(region) && notdirty++ < 5)
                std::printf("record %" PRIu64 ": region %" PRIu64 " not dirty on disk\n", i, region);
        }
    }
    std::printf("seqverify: %" PRIu64 " records checked, %" PRIu64 " bad, %" PRIu64
                " in clean regions\n",
                acked + 1, bad, notdirty);
    return bad || notdirty ? 1 : 0;
}

// dm-log-writes on-disk format (Documentation/admin-guide/device-mapper/log-writes.rst).
struct LogSuper {
    uint64_t magic, version, nr_entries;
    uint32_t sectorsize;
} __attribute__((packed));
struct LogEntry {
    uint64_t sector, nr_sectors, flags, data_len;
} __attribute__((packed));
constexpr uint64_t kLogMagic = 0x6a736677736872ull;
constexpr uint64_t kFlush = 1, kFua = 2, kDiscard = 4, kMark = 8;

int logcheck(const std::map<std::string, std::string>& o) {
    int lfd = open(o.at("log").c_str(), O_RDONLY);
    int bfd = open(o.at("base").c_str(), O_RDONLY);
    int sfd = open(o.at("source").c_str(), O_RDONLY);
    if (lfd < 0 || bfd < 0 || sfd < 0) die("cannot open log, base or source");
    uint64_t data_sectors = num(o, "data-sectors"), meta_off = num(o, "meta-offset");
    uint64_t img_bytes = dcc::device_size(bfd);
    std::vector<uint8_t> img(img_bytes), src(data_sectors * 512);
    if (pread(bfd, img.data(), img.size(), 0) != ssize_t(img.size())) die("read base");
    if (pread(sfd, src.data(), src.size(), 0) != ssize_t(src.size())) die("read source");

    LogSuper sup;
    if (pread(lfd, &sup, sizeof(sup), 0) != sizeof(sup) || sup.magic != kLogMagic)
        die("not a dm-log-writes log");
    uint64_t ss = sup.sectorsize, pos = ss;
    std::vector<uint8_t> block(ss);

    uint64_t region_bytes = 0, nr_regions = 0, checks = 0, violations = 0, flushes = 0;
    std::vector<int8_t> match;  // -1 unknown, 0 differs, 1 equals the source
    auto check = [&](uint64_t entry) {
        dcc::Superblock sb;
        if (dcc::decode_superblock({img.data() + meta_off * 512, dcc::kMetaBlock}, sb) !=
            dcc::SbStatus::Ok)
            return;  // not formatted yet
        if (!region_bytes) {
            region_bytes = uint64_t(sb.region_sectors) * 512;
            nr_regions = sb.nr_regions;
            match.assign(nr_regions, -1);
        }
        const uint8_t* valid = img.data() + meta_off * 512 + sb.valid_start * dcc::kMetaBlock;
        checks++;
        for (uint64_t r = 0; r < nr_regions; r++) {
            if (!((valid[r >> 3] >> (r & 7)) & 1)) continue;
            if (match[r] < 0) {
                uint64_t off = r * region_bytes;
                uint64_t len = std::min<uint64_t>(region_bytes, data_sectors * 512 - off);
                match[r] = std::memcmp(img.data() + off, src.data() + off, len) == 0;
            }
            if (!match[r] && violations++ < 5)
                std::printf("entry %" PRIu64 ": region %" PRIu64
                            " is valid on disk but its data is not there\n",
                            entry, r);
        }
    };

    for (uint64_t e = 0; e < sup.nr_entries; e++) {
        LogEntry le;
        if (pread(lfd, block.data(), ss, off_t(pos)) != ssize_t(ss)) die("short log");
        std::memcpy(&le, block.data(), sizeof(le));
        pos += ss;
        uint64_t bytes = le.nr_sectors * ss;
        if (!(le.flags & (kDiscard | kMark)) && bytes) {
            uint64_t off = le.sector * ss;
            if (off + bytes > img.size()) die("log entry beyond the image");
            if (pread(lfd, img.data() + off, bytes, off_t(pos)) != ssize_t(bytes)) die("short log");
            pos += bytes;
            if (region_bytes && off < data_sectors * 512)
                for (uint64_t r = off / region_bytes;
                     r < nr_regions && r * region_bytes < off + bytes; r++)
                    match[r] = -1;
        }
        if (le.flags & kFlush) flushes++;
        if (le.flags & (kFlush | kFua)) check(e);
    }
    check(sup.nr_entries);
    std::printf("logcheck: %" PRIu64 " entries, %" PRIu64 " flushes, %" PRIu64
                " durable points checked, %" PRIu64 " violations\n",
                sup.nr_entries, flushes, checks, violations);
    return violations || !checks ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) die("usage: dcctest seqwrite|seqverify|logcheck ...");
    std::string cmd = argv[1];
    try {
        if (cmd == "seqwrite" && argc >= 3) return seqwrite(argv[2], opts(argc, argv, 3));
        if (cmd == "seqverify" && argc >= 3) return seqverify(argv[2], opts(argc, argv, 3));
        if (cmd == "logcheck") return logcheck(opts(argc, argv, 2));
    } catch (const dcc::Error& e) {
        die(e.what());
    } catch (const std::out_of_range&) {
        die("missing argument");
    }
    die("unknown command " + cmd);
}
