// SPDX-License-Identifier: GPL-2.0-only
// dcctest: helpers for the VM scenarios.
//
//   seqwrite DEV --seed S [--count N]
//       Write numbered 4 KiB records to distinct blocks with O_DIRECT|O_DSYNC
//       and print "ACK <seq>" once each write is acknowledged.
//   seqverify DEV --seed S --acked N [--meta META] [--region-bytes B]
//       Check that every record up to N is on DEV and, with --meta, that the
//       region of each is marked dirty in the metadata; with --region-bytes,
//       also print "seqverify: bad records in R regions" (of B bytes).
//   logcheck --log LOG --base IMG --source SRC --data-sectors N
//            --meta-offset SECTORS
//       Replay a dm-log-writes log over IMG (data at sector 0, metadata at
//       META-OFFSET) and check after every durable point that each region
//       the metadata calls valid holds the source's data.
//   readlat DEV --count N --region-bytes B --from-region R --seed S
//       Read 4 KiB with O_DIRECT at the start of N distinct random regions
//       from region R on, one at a time, and print the latency of each read
//       in microseconds, then "readlat: median M p90 P max X" (for misses:
//       regions the device does not hold yet).
//   ctlsend SOCKET TEXT [--times N] [--delay MS]
//       Send TEXT (with \n and \xNN escapes), N times over, to a Unix stream
//       socket such as dccd's control socket and print what comes back
//       until the other end closes (5 s at most); exit 1 if nothing did.
//       With --delay, connect first and send MS milliseconds later (so that
//       a request can reach a stopped dccd on a connection it accepted).
//   notifylisten PATH --seconds N
//       Bind a Unix datagram socket at PATH (for NOTIFY_SOCKET) and print
//       each message sd_notify sends there on one line, for N seconds.
//   flushcheck --log LOG --data-sectors N --meta-offset SECTORS [--verbose 1]
//       Replay a dm-log-writes log of a volume whose data and metadata are
//       on the logged device (as for logcheck) and check that no dirty bit
//       is cleared on disk while a write to its region is not yet durable
//       (no write to a region enters the log after its bit was cleared);
//       --verbose lists the entries.
//   nl VOL arm R [N] | clear R [N] | setrole owner|replica|yielding GEN
//          [--origin handover|failover|forced] [--split none|old|new]
//          [--split-gen N] | setlease --ms N|none [--reg-id N]
//       One request as a registered daemon; prints "armed N", "cleared N"
//       or "ok", or the error with the kernel's explanation (exit 1).
//       setrole sends ORIGIN, SPLIT and SPLIT_GENERATION only if given.
//       setlease sends LEASE_MS (none: DCC_LEASE_NONE; any other number
//       as it is, out of range too), with --reg-id that registration
//       number instead of its own (0 is never handed out).
//   sbedit META [--origin N] [--split N] [--split-gen N] [--flags N]
//       Rewrite those fields of the superblock on META, raw numbers (out of
//       range ones too), with a good checksum: for the constructor's checks.
//   nlprobe VOL
//       Drive the netlink channel with good and bad requests and check each
//       answer (bad input refused cleanly, registration rules, arming and
//       dirty-bit clearing only for regions not written since they were
//       armed, roles, generations, origins and splits).
//   nlprobe VOL --stuck R --clean C
//       With a write to region R held in flight below the target (dm-delay,
//       several seconds): CLEAR_DIRTY of R gives up with ETIMEDOUT after
//       about a second, and a first write to the clean region C completes
//       meanwhile.
//   witness ENDPOINT renew|claim|yield VOLUME_UUID GEN SITE [TO]
//           [--server-key K --secret-key S --public-key P]
//       One request to a witness (dccd --witness; TO only with yield),
//       CURVE with the three keys, plaintext without; prints the answer
//       ("granted generation=4 owner=b arg=5000", "refused EBUSY
//       generation=3 owner=a arg=1234"); exit 0 granted, 3 refused, 1 if
//       no answer came within 3 s.
//   cleancheck, regionhash, field, rewrite, rewriteverify, witness
//       In cleancheck.cpp, field.cpp, rewrite.cpp and witness.cpp.
#include <fcntl.h>
#include <netlink/genl/genl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstddef>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "dcc/meta.hpp"
#include "dcc/nl.hpp"
#include "dcc/status.hpp"
#include "tools.hpp"

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

int readlat(const std::string& dev, const std::map<std::string, std::string>& o) {
    int fd = open(dev.c_str(), O_RDONLY | O_DIRECT);
    if (fd < 0) die("open " + dev + ": " + std::strerror(errno));
    uint64_t n = num(o, "count"), rb = num(o, "region-bytes"), from = num(o, "from-region");
    uint64_t seed = num(o, "seed");
    uint64_t regions = dcc::device_size(fd) / rb;
    if (!rb || from >= regions || n == 0 || n > regions - from) die("bad readlat arguments");
    uint8_t* buf = aligned(kBs);
    std::vector<uint64_t> picked, lat;
    uint64_t x = seed;
    while (picked.size() < n) {
        uint64_t r = from + splitmix(x) % (regions - from);
        bool dup = false;
        for (uint64_t p : picked) dup |= p == r;
        if (!dup) picked.push_back(r);
    }
    for (uint64_t r : picked) {
        timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (pread(fd, buf, kBs, off_t(r * rb)) != ssize_t(kBs)) die("read failed");
        clock_gettime(CLOCK_MONOTONIC, &t1);
        uint64_t us = uint64_t((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
        lat.push_back(us);
        std::printf("region %" PRIu64 ": %" PRIu64 " us\n", r, us);
    }
    std::sort(lat.begin(), lat.end());
    std::printf("readlat: median %" PRIu64 " p90 %" PRIu64 " max %" PRIu64 "\n", lat[lat.size() / 2],
                lat[lat.size() * 9 / 10], lat.back());
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
    uint64_t region_bytes = o.count("region-bytes") ? num(o, "region-bytes") : 0;
    std::set<uint64_t> bad_regions;
    for (uint64_t i = 0; i <= acked && i < ord.nblocks; i++) {
        uint64_t b = ord.block(i);
        if (pread(fd, buf, kBs, off_t(b * kBs)) != ssize_t(kBs)) die("read failed");
        fill_record(want, seed, i, b);
        if (std::memcmp(buf, want, kBs)) {
            if (bad++ < 5)
                std::printf("record %" PRIu64 " (block %" PRIu64 ") missing or wrong\n", i, b);
            if (region_bytes) bad_regions.insert(b * kBs / region_bytes);
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
    if (region_bytes) std::printf("seqverify: bad records in %zu regions\n", bad_regions.size());
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

// A dirty bit cleared on disk says the other site holds the region; that
// is only true if every write to the region before it is durable here too.
// dm-log-writes logs a write without FUA only once a flush made it durable
// (or when the log ends), so a write to a region that enters the log after
// the region's dirty bit was cleared on disk was not durable when the bit
// said the region was replicated.
int flushcheck(const std::map<std::string, std::string>& o) {
    int lfd = open(o.at("log").c_str(), O_RDONLY);
    if (lfd < 0) die("cannot open the log");
    uint64_t data_sectors = num(o, "data-sectors"), meta_off = num(o, "meta-offset");
    bool verbose = o.count("verbose") && num(o, "verbose");
    LogSuper sup;
    if (pread(lfd, &sup, sizeof(sup), 0) != sizeof(sup) || sup.magic != kLogMagic)
        die("not a dm-log-writes log");
    uint64_t ss = sup.sectorsize, pos = ss;
    std::vector<uint8_t> block(ss), meta(16 << 20);  // the metadata image, from meta_off
    dcc::Superblock sb{};
    bool formatted = false;
    std::vector<uint8_t> dirty;        // the dirty bitmap as last written
    std::vector<uint64_t> cleared_at;  // region -> entry that cleared its dirty bit, +1
    uint64_t region_bytes = 0, cleared = 0, violations = 0, flushes = 0;
    for (uint64_t e = 0; e < sup.nr_entries; e++) {
        LogEntry le;
        if (pread(lfd, block.data(), ss, off_t(pos)) != ssize_t(ss)) die("short log");
        std::memcpy(&le, block.data(), sizeof(le));
        pos += ss;
        if (verbose)
            std::printf("entry %" PRIu64 ": sector %" PRIu64 " +%" PRIu64 "%s%s%s%s\n", e, le.sector,
                        le.nr_sectors, le.flags & kFlush ? " FLUSH" : "", le.flags & kFua ? " FUA" : "",
                        le.flags & kDiscard ? " DISCARD" : "", le.flags & kMark ? " MARK" : "");
        if (le.flags & kFlush) flushes++;
        uint64_t bytes = le.nr_sectors * ss;
        if ((le.flags & (kDiscard | kMark)) || !bytes) continue;
        std::vector<uint8_t> data(bytes);
        if (pread(lfd, data.data(), bytes, off_t(pos)) != ssize_t(bytes)) die("short log");
        pos += bytes;
        uint64_t off = le.sector * ss;
        if (off < data_sectors * 512) {
            for (uint64_t r = region_bytes ? off / region_bytes : cleared_at.size();
                 r < cleared_at.size() && r * region_bytes < off + bytes; r++)
                if (cleared_at[r] && violations++ < 5)
                    std::printf("entry %" PRIu64 ": a write to region %" PRIu64
                                " became durable after entry %" PRIu64 " had cleared its dirty bit\n",
                                e, r, cleared_at[r] - 1);
            continue;
        }
        if (off < meta_off * 512 || off - meta_off * 512 + bytes > meta.size()) continue;
        std::memcpy(meta.data() + (off - meta_off * 512), data.data(), bytes);
        if (!formatted) {
            formatted = dcc::decode_superblock({meta.data(), dcc::kMetaBlock}, sb) == dcc::SbStatus::Ok;
            if (!formatted) continue;
            region_bytes = uint64_t(sb.region_sectors) * 512;
            cleared_at.assign(sb.nr_regions, 0);
        }
        const uint8_t* now = meta.data() + sb.dirty_start * dcc::kMetaBlock;
        size_t n = size_t((sb.nr_regions + 7) / 8);
        if (dirty.empty()) dirty.assign(now, now + n);
        for (uint64_t r = 0; r < sb.nr_regions; r++) {
            bool was = (dirty[r >> 3] >> (r & 7)) & 1, is = (now[r >> 3] >> (r & 7)) & 1;
            if (was && !is) {
                cleared++;
                cleared_at[r] = e + 1;
            } else if (is) {
                cleared_at[r] = 0;
            }
        }
        dirty.assign(now, now + n);
    }
    std::printf("flushcheck: %" PRIu64 " entries, %" PRIu64 " flushes, %" PRIu64
                " dirty bits cleared on disk, %" PRIu64 " violations\n",
                sup.nr_entries, flushes, cleared, violations);
    return violations || !cleared ? 1 : 0;
}

int g_nl_failures = 0;

void expect(bool cond, const std::string& what) {
    std::printf("DCC-CHECK %s: nl: %s\n", cond ? "ok" : "FAIL", what.c_str());
    if (!cond) g_nl_failures++;
}

void expect_err(int got, int want, const std::string& what) {
    std::string w = what + " -> " + (got ? std::strerror(-got) : "ok");
    if (got != want) w += std::string(" (expected ") + (want ? std::strerror(-want) : "ok") + ")";
    expect(got == want, w);
}

dcc::TargetStatus vol_status(const std::string& vol) {
    auto s = dcc::parse_status(dcc::find_volume(vol).params);
    if (!s) die("cannot parse status of " + vol);
    return *s;
}

// One O_DIRECT write (or read) of @len bytes (4 KiB by default) at the
// start of region r; 0 or errno.
int vol_io(const std::string& vol, uint64_t r, uint32_t region_sectors, bool write, size_t len = kBs) {
    int fd = open(("/dev/mapper/" + vol).c_str(), (write ? O_WRONLY : O_RDONLY) | O_DIRECT);
    if (fd < 0) return errno;
    uint8_t* buf = aligned(len);
    std::memset(buf, 0x5a, len);
    off_t off = off_t(r * region_sectors * 512);
    ssize_t n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
    int err = n == ssize_t(len) ? 0 : (n < 0 ? errno : EIO);
    free(buf);
    close(fd);
    return err;
}

bool has_region(const dcc::nl::RegionsReply& rep, uint64_t r) {
    for (const auto& x : rep.ranges)
        if (r >= x.start && r < x.end()) return true;
    return false;
}

std::string unescape(const std::string& t) {
    std::string out;
    for (size_t i = 0; i < t.size(); i++) {
        if (t[i] != '\\' || i + 1 == t.size()) {
            out += t[i];
        } else if (t[i + 1] == 'n') {
            out += '\n';
            i++;
        } else if (t[i + 1] == 'x' && i + 3 < t.size()) {
            out += char(std::stoi(t.substr(i + 2, 2), nullptr, 16));
            i += 3;
        } else {
            out += t[++i];
        }
    }
    return out;
}

// A service manager's notification socket (sd_notify): print each
// datagram on one line (its newlines as spaces) until @seconds went by.
int notifylisten(const std::string& path, uint64_t seconds) {
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (fd < 0 || path.size() >= sizeof(sa.sun_path)) die("notifylisten: socket");
    std::strcpy(sa.sun_path, path.c_str());
    unlink(path.c_str());
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa))) die("notifylisten: bind " + path);
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, int(left.count())) <= 0) continue;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0) continue;
        std::string s(buf, size_t(n));
        std::replace(s.begin(), s.end(), '\n', ' ');
        std::printf("%s\n", s.c_str());
        std::fflush(stdout);
    }
    close(fd);
    return 0;
}

int ctlsend(const std::string& path, const std::string& text, const std::map<std::string, std::string>& o) {
    int times = o.count("times") ? std::stoi(o.at("times")) : 1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (fd < 0 || path.size() >= sizeof(sa.sun_path)) die("socket " + path);
    std::memcpy(sa.sun_path, path.c_str(), path.size());
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa))) die("connect " + path + ": " + std::strerror(errno));
    if (o.count("delay")) usleep(useconds_t(std::stoul(o.at("delay")) * 1000));
    std::string msg;
    for (int i = 0; i < times; i++) msg += unescape(text);
    // The other end may answer and close before it has read everything.
    for (size_t off = 0; off < msg.size();) {
        ssize_t n = send(fd, msg.data() + off, msg.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += size_t(n);
    }
    std::string got;
    pollfd p{fd, POLLIN, 0};
    char buf[4096];
    while (poll(&p, 1, 5000) == 1) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) break;
        got.append(buf, size_t(n));
    }
    close(fd);
    std::fwrite(got.data(), 1, got.size(), stdout);
    return got.empty() ? 1 : 0;
}

// ARM or CLEAR_DIRTY of regions: -errno or 0, and the COUNT it replied.
int arm_or_clear(dcc::nl::Client& c, uint8_t cmd, dcc::nl::Dev d, uint64_t id,
                 std::vector<dcc::Range> ranges, std::optional<uint64_t>& count,
                 std::string* text = nullptr, bool confirmed = false) {
    dcc::nl::Request r{.cmd = cmd, .dev = d, .reg_id = id, .confirmed = confirmed};
    if (ranges.size() == 1) {
        r.region = ranges[0].start;
        r.count = ranges[0].count;
    } else {
        r.ranges = std::move(ranges);
    }
    count.reset();
    return c.transact(r, [&](nlmsghdr* h) { count = dcc::nl::parse_count(h); }, text);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Writes in flight on a block device (its sysfs inflight counter).
uint64_t writes_in_flight(dcc::nl::Dev d) {
    std::string path = "/sys/dev/block/" + std::to_string(d.major) + ":" + std::to_string(d.minor) +
                       "/inflight";
    FILE* f = std::fopen(path.c_str(), "r");
    unsigned long long rd = 0, wr = 0;
    if (!f) die("cannot open " + path);
    if (std::fscanf(f, "%llu %llu", &rd, &wr) != 2) wr = 0;
    std::fclose(f);
    return wr;
}

// M7: a CLEAR_DIRTY that meets a write stuck in flight gives up after about
// a second, clears nothing, and holds up no other write meanwhile.
int nlprobe_stuck(const std::string& vol, uint64_t stuck, uint64_t clean) {
    using namespace dcc::nl;
    Dev d = dcc::find_volume(vol).dev;
    Client a;
    RegisterReply reg = a.register_volume(d);
    uint64_t id = reg.reg_id;
    uint32_t rs = reg.region_sectors;
    std::optional<uint64_t> n;
    expect(has_region(a.get_regions(d, DCC_SET_DIRTY, 0), stuck), "region " + std::to_string(stuck) + " dirty");
    expect(!has_region(a.get_regions(d, DCC_SET_DIRTY, 0), clean), "region " + std::to_string(clean) + " clean");
    expect_err(arm_or_clear(a, DCC_CMD_ARM, d, id, {{stuck, 1}}, n), 0, "arm the region to be held");
    expect(n == 1u, "one region armed");

    pid_t writer = fork();
    if (writer == 0) _exit(vol_io(vol, stuck, rs, true) ? 1 : 0);
    bool held = false;
    for (int i = 0; i < 100 && !held; i++) {
        held = writes_in_flight(d) > 0;
        if (!held) usleep(20000);
    }
    expect(held, "a write to region " + std::to_string(stuck) + " is held in flight");

    // The first write reports when it completed, through a pipe.
    int pfd[2];
    if (pipe(pfd)) die("pipe");
    auto t0 = std::chrono::steady_clock::now();
    pid_t first = fork();
    if (first == 0) {
        int err = vol_io(vol, clean, rs, true);
        double t = seconds_since(t0);
        if (write(pfd[1], &t, sizeof(t)) != ssize_t(sizeof(t))) _exit(2);
        _exit(err ? 1 : 0);
    }
    close(pfd[1]);
    std::string text;
    int e = arm_or_clear(a, DCC_CMD_CLEAR_DIRTY, d, id, {{stuck, 1}}, n, &text);
    double t_clear = seconds_since(t0);
    expect_err(e, -ETIMEDOUT, "clear dirty with a write in flight (" + text + ")");
    char buf[96];
    std::snprintf(buf, sizeof(buf), "%.2f", t_clear);
    expect(t_clear > 0.8 && t_clear < 3.0, std::string("it gave up after about a second (") + buf + " s)");
    int ws = 0;
    waitpid(first, &ws, 0);
    double t_first = 1e9;
    if (read(pfd[0], &t_first, sizeof(t_first)) != ssize_t(sizeof(t_first))) t_first = 1e9;
    close(pfd[0]);
    std::snprintf(buf, sizeof(buf), "%.2f s, the clear gave up at %.2f s", t_first, t_clear);
    expect(WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && t_first < t_clear,
           std::string("a first write to a clean region completed while the clear waited (") + buf + ")");
    expect(writes_in_flight(d) > 0, "the held write is still in flight");
    expect(has_region(a.get_regions(d, DCC_SET_DIRTY, 0), stuck), "the held region is still dirty");

    waitpid(writer, &ws, 0);
    expect(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the held write completed");
    expect_err(arm_or_clear(a, DCC_CMD_ARM, d, id, {{stuck, 1}}, n), 0, "arm it again");
    expect_err(arm_or_clear(a, DCC_CMD_CLEAR_DIRTY, d, id, {{stuck, 1}}, n), 0,
               "clear dirty once nothing is in flight");
    expect(n == 1u, "cleared now");
    return g_nl_failures ? 1 : 0;
}

// A whole decimal (or 0x) number, or die.
uint64_t number(const std::string& t) {
    char* end = nullptr;
    errno = 0;
    uint64_t v = std::strtoull(t.c_str(), &end, 0);
    if (t.empty() || t[0] == '-' || *end || errno) die("not a number: '" + t + "'");
    return v;
}

// Rewrite origin, split and split generation of the superblock on @meta,
// as raw numbers, and checksum it again.
int sbedit(const std::string& meta, const std::map<std::string, std::string>& o) {
    int fd = open(meta.c_str(), O_RDWR | O_DIRECT | O_DSYNC);
    if (fd < 0) die("cannot open " + meta + ": " + std::strerror(errno));
    uint8_t* b = aligned(dcc::kMetaBlock);
    if (pread(fd, b, dcc::kMetaBlock, 0) != ssize_t(dcc::kMetaBlock)) die("cannot read " + meta);
    auto put = [&](size_t off, uint64_t v, size_t len) {
        for (size_t i = 0; i < len; i++) b[off + i] = uint8_t(v >> (8 * i));
    };
    for (const auto& [k, v] : o) {
        if (k == "origin") put(offsetof(dcc_disk_sb, origin), number(v), 4);
        else if (k == "split") put(offsetof(dcc_disk_sb, split), number(v), 4);
        else if (k == "split-gen") put(offsetof(dcc_disk_sb, split_generation), number(v), 8);
        else if (k == "flags") put(offsetof(dcc_disk_sb, flags), number(v), 4);
        else die("unknown option --" + k);
    }
    uint32_t csum = dcc::crc32({b + 4, dcc::kSbSize - 4});
    put(offsetof(dcc_disk_sb, csum), csum, 4);
    int err = pwrite(fd, b, dcc::kMetaBlock, 0) == ssize_t(dcc::kMetaBlock) ? 0 : errno;
    free(b);
    close(fd);
    if (err) die("cannot write " + meta + ": " + std::strerror(err));
    return 0;
}

// One request as a registered daemon, for the scenarios.
int nl_once(const std::string& vol, const std::vector<std::string>& args) {
    using namespace dcc::nl;
    Dev d = dcc::find_volume(vol).dev;
    Client c;
    RegisterReply reg = c.register_volume(d);
    std::optional<uint64_t> n;
    std::string text;
    auto u64 = [&](size_t i, uint64_t dflt) {
        return i < args.size() ? std::strtoull(args[i].c_str(), nullptr, 0) : dflt;
    };
    int e;
    if ((args[0] == "arm" || args[0] == "clear") && args.size() >= 2) {
        e = arm_or_clear(c, args[0] == "arm" ? DCC_CMD_ARM : DCC_CMD_CLEAR_DIRTY, d, reg.reg_id,
                         {{u64(1, 0), u64(2, 1)}}, n, &text);
        if (!e) std::printf("%s %" PRIu64 "\n", args[0] == "arm" ? "armed" : "cleared", n.value_or(0));
    } else if (args[0] == "setrole" && args.size() >= 3 && args.size() % 2 == 1) {
        uint8_t role = args[1] == "owner" ? DCC_ROLE_OWNER : args[1] == "replica" ? DCC_ROLE_REPLICA
                       : args[1] == "yielding" ? DCC_ROLE_YIELDING : 0;
        if (!role) die("unknown role " + args[1]);
        Request r{.cmd = DCC_CMD_SET_ROLE, .dev = d, .reg_id = reg.reg_id, .generation = number(args[2]),
                  .role = role};
        for (size_t i = 3; i < args.size(); i += 2) {
            const std::string &opt = args[i], &val = args[i + 1];
            if (opt == "--origin") {
                auto o = dcc::parse_origin(val);
                if (!o) die("unknown origin " + val);
                r.origin = uint8_t(*o);
            } else if (opt == "--split") {
                auto sp = dcc::parse_split(val);
                if (!sp) die("unknown split " + val);
                r.split = uint8_t(*sp);
            } else if (opt == "--split-gen") {
                r.split_generation = number(val);
            } else if (opt == "--clean") {
                r.clean = val == "1";
            } else {
                die("unknown option " + opt);
            }
        }
        e = c.transact(r, nullptr, &text);
        if (!e) std::printf("ok\n");
    } else if (args[0] == "invalid" && args.size() >= 3) {
        Request r{.cmd = DCC_CMD_SET_INVALID, .dev = d, .reg_id = reg.reg_id, .region = u64(1, 0),
                  .count = u64(2, 1), .force = args.size() > 3 && args[3] == "--force"};
        e = c.transact(r, nullptr, &text);
        if (!e) std::printf("ok\n");
    } else if (args[0] == "setlease" && args.size() % 2 == 1) {
        std::optional<uint64_t> ms, reg_id;
        for (size_t i = 1; i < args.size(); i += 2) {
            const std::string &opt = args[i], &val = args[i + 1];
            if (opt == "--ms")
                ms = val == "none" ? DCC_LEASE_NONE : number(val);
            else if (opt == "--reg-id")
                reg_id = number(val);
            else
                die("unknown option " + opt);
        }
        if (!ms) die("setlease needs --ms N|none");
        if (*ms > UINT32_MAX) die("--ms does not fit 32 bits");
        Request r{.cmd = DCC_CMD_SET_LEASE, .dev = d, .reg_id = reg_id.value_or(reg.reg_id),
                  .lease_ms = uint32_t(*ms)};
        e = c.transact(r, nullptr, &text);
        if (!e) std::printf("ok\n");
    } else {
        die("usage: nl VOL arm R [N] | clear R [N] | invalid R N [--force] | setrole ROLE GEN [--origin O] [--split S] "
            "[--split-gen N] | setlease --ms N|none [--reg-id N]");
    }
    if (e) std::printf("error: %s (%s)\n", std::strerror(-e), text.c_str());
    return e ? 1 : 0;
}

int nlprobe(const std::string& vol) {
    using namespace dcc::nl;
    Dev d = dcc::find_volume(vol).dev;
    auto a = std::make_unique<Client>();
    Client b;
    RegisterReply reg = a->register_volume(d);
    uint64_t id = reg.reg_id, last = reg.nr_regions - 1;
    uint32_t rs = reg.region_sectors;
    expect(reg.nr_regions > 8, "register: " + std::to_string(reg.nr_regions) + " regions");

    auto req = [&](Client& c, Request r) { return c.transact(r, nullptr); };
    expect_err(req(b, {.cmd = DCC_CMD_REGISTER, .dev = d}), -EBUSY,
               "second daemon while the first socket lives");
    expect_err(req(*a, {.cmd = DCC_CMD_FILL_DONE, .dev = d, .reg_id = id, .region = 0}), -ENOENT,
               "fill done for a region nobody fills");
    expect_err(req(*a, {.cmd = DCC_CMD_FILL_DONE, .dev = d, .reg_id = id + 1, .region = 0}),
               -ESTALE, "wrong registration number");
    expect_err(req(b, {.cmd = DCC_CMD_FILL_DONE, .dev = d, .reg_id = id, .region = 0}), -ESTALE,
               "registration used from another socket");
    expect_err(req(*a, {.cmd = DCC_CMD_FILL_DONE, .dev = d, .reg_id = id, .region = last + 1}),
               -ERANGE, "region past the end");
    expect_err(req(*a, {.cmd = DCC_CMD_FILL_BEGIN, .dev = d, .reg_id = id, .region = 0}), -EEXIST,
               "fill begin on a valid region");
    // Values outside a policy's range: the netlink core answers ERANGE.
    expect_err(req(*a, {.cmd = DCC_CMD_GET_REGIONS, .dev = d, .set = 9}), -ERANGE,
               "unknown region set");
    {
        std::string text;
        int e = a->transact({.cmd = DCC_CMD_GET_REGIONS, .dev = d, .set = DCC_SET_DIRTY, .arm = true},
                            nullptr, &text);
        expect_err(e, -EINVAL, "GET_REGIONS with ARM, which is a command of its own (" + text + ")");
        expect(text.find("DCC_CMD_ARM") != std::string::npos, "and the kernel says what to use");
    }
    expect_err(req(*a, {.cmd = DCC_CMD_REGISTER, .dev = {d.major, 200}}), -ENODEV,
               "no such device");
    expect_err(req(*a, {.cmd = DCC_CMD_REGISTER, .dev = {d.major, 1u << 21}}), -ENODEV,
               "minor number out of range");
    expect_err(req(*a, {.cmd = DCC_CMD_SET_ROLE, .dev = d, .reg_id = id, .generation = 5, .role = 9}),
               -ERANGE, "unknown role");
    expect_err(req(*a, {.cmd = DCC_CMD_SET_ROLE, .dev = d, .reg_id = id, .generation = 0,
                        .role = DCC_ROLE_OWNER}),
               -ESTALE, "generation going backwards");
    expect_err(req(*a, {.cmd = DCC_CMD_FILL_DONE, .dev = d, .reg_id = id}), -EINVAL,
               "fill done without a region");

    // Only an admin may use the channel.
    pid_t child = fork();
    if (child == 0) {
        if (setgid(65534) || setuid(65534)) _exit(3);
        try {
            Client c;
            _exit(c.transact({.cmd = DCC_CMD_GET_REGIONS, .dev = d, .set = DCC_SET_DIRTY}, nullptr) ==
                          -EPERM
                      ? 0
                      : 1);
        } catch (...) {
            _exit(2);
        }
    }
    int ws = 0;
    waitpid(child, &ws, 0);
    expect(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "an unprivileged caller is refused (EPERM)");

    // Hand-made malformed messages.
    auto raw = [&](uint8_t cmd, const std::function<void(nl_msg*)>& add) {
        MsgPtr m(nlmsg_alloc());
        genlmsg_put(m.get(), NL_AUTO_PORT, NL_AUTO_SEQ, a->family(), 0, NLM_F_REQUEST | NLM_F_ACK,
                    cmd, DCC_GENL_VERSION);
        add(m.get());
        std::string text;
        int e = a->transact_msg(m.get(), nullptr, &text);
        return std::make_pair(e, text);
    };
    auto [e1, t1] = raw(DCC_CMD_REGISTER, [&](nl_msg* m) { nla_put_u32(m, DCC_A_MAJOR, d.major); });
    expect_err(e1, -EINVAL, "register without a minor number (" + t1 + ")");
    auto [e2, t2] = raw(DCC_CMD_REGISTER, [&](nl_msg* m) {
        nla_put_u32(m, DCC_A_MAJOR, d.major);
        nla_put_u32(m, DCC_A_MINOR, d.minor);
        uint8_t u[16] = {};
        nla_put(m, DCC_A_UUID, 16, u);
    });
    expect_err(e2, -EINVAL, "reply-only attribute in a request (" + t2 + ")");
    auto [e3, t3] = raw(DCC_CMD_REGISTER, [&](nl_msg* m) {
        nla_put_u32(m, DCC_A_MAJOR, d.major);
        nla_put_u32(m, DCC_A_MINOR, d.minor);
        nla_put_u32(m, 200, 1);
    });
    expect_err(e3, -EINVAL, "unknown attribute type (" + t3 + ")");
    auto [e4, t4] = raw(DCC_CMD_GET_REGIONS, [&](nl_msg* m) {
        nla_put_u32(m, DCC_A_MAJOR, d.major);
        nla_put_u32(m, DCC_A_MINOR, d.minor);
        nla_put_u32(m, DCC_A_SET, 1);  // u8 attribute sent as u32
    });
    expect(e4 < 0, std::string("attribute of the wrong size -> ") + std::strerror(-e4) + " (" + t4 + ")");
    auto [e5, t5] = raw(77, [&](nl_msg* m) { nla_put_u32(m, DCC_A_MAJOR, d.major); });
    expect(e5 == -EOPNOTSUPP, std::string("unknown command -> ") + std::strerror(-e5));

    // SET_LEASE requests that must change nothing (the scenario grants
    // leases itself).
    expect(!reg.lease, "register: the volume needs no lease");
    expect_err(req(*a, {.cmd = DCC_CMD_SET_LEASE, .dev = d, .reg_id = id}), -EINVAL,
               "set lease without LEASE_MS");
    for (uint32_t ms : {DCC_LEASE_MAX_MS + 1, DCC_LEASE_NONE - 1}) {
        std::string text;
        int e = a->transact({.cmd = DCC_CMD_SET_LEASE, .dev = d, .reg_id = id, .lease_ms = ms},
                            nullptr, &text);
        expect_err(e, -EINVAL, "set lease of " + std::to_string(ms) + " ms (" + text + ")");
        expect(text.find("DCC_LEASE_MAX_MS") != std::string::npos, "and the kernel says why");
    }
    expect_err(req(*a, {.cmd = DCC_CMD_SET_LEASE, .dev = d, .reg_id = id + 1, .lease_ms = 1000}),
               -ESTALE, "set lease with a wrong registration number");
    expect_err(req(b, {.cmd = DCC_CMD_SET_LEASE, .dev = d, .reg_id = id, .lease_ms = 1000}), -ESTALE,
               "set lease from another socket");
    auto [e6, t6] = raw(DCC_CMD_SET_LEASE, [&](nl_msg* m) {
        nla_put_u32(m, DCC_A_MAJOR, d.major);
        nla_put_u32(m, DCC_A_MINOR, d.minor);
        nla_put_u64(m, DCC_A_REG_ID, id);
        nla_put_u8(m, DCC_A_LEASE, 1);
    });
    expect_err(e6, -EINVAL, "set lease with the reply-only LEASE (" + t6 + ")");
    auto [e7, t7] = raw(DCC_CMD_SET_LEASE, [&](nl_msg* m) {
        nla_put_u32(m, DCC_A_MAJOR, d.major);
        nla_put_u32(m, DCC_A_MINOR, d.minor);
        nla_put_u64(m, DCC_A_REG_ID, id);
        nla_put_u64(m, DCC_A_LEASE_MS, 1000);  // u32 attribute sent as u64
    });
    expect(e7 < 0, std::string("LEASE_MS of the wrong size -> ") + std::strerror(-e7) + " (" + t7 + ")");
    expect(vol_status(vol).lease == "-", "refused leases changed nothing");

    // Synchronous replication: SET_SYNC, held writes, WRITES_DONE.
    expect(!reg.sync, "register: the volume is not sync");
    expect_err(req(*a, {.cmd = DCC_CMD_SET_SYNC, .dev = d, .reg_id = id}), -EINVAL,
               "set sync without SYNC");
    expect_err(req(*a, {.cmd = DCC_CMD_SET_SYNC, .dev = d, .reg_id = id, .sync = 2}), -ERANGE,
               "set sync 2");
    expect_err(req(*a, {.cmd = DCC_CMD_SET_SYNC, .dev = d, .reg_id = id + 1, .sync = 1}), -ESTALE,
               "set sync with a wrong registration number");
    expect_err(req(b, {.cmd = DCC_CMD_SET_SYNC, .dev = d, .reg_id = id, .sync = 1}), -ESTALE,
               "set sync from another socket");
    expect_err(req(*a, {.cmd = DCC_CMD_WRITES_DONE, .dev = d, .reg_id = id}), -EINVAL,
               "writes done without WRITE_IDS");
    expect_err(req(*a, {.cmd = DCC_CMD_WRITES_DONE, .dev = d, .reg_id = id + 1, .write_ids = {1}}),
               -ESTALE, "writes done with a wrong registration number");
    expect_err(req(*a, {.cmd = DCC_CMD_ANNOUNCE_WRITES, .dev = d, .reg_id = id + 1}), -ESTALE,
               "announce writes with a wrong registration number");
    auto [e8, t8] = raw(DCC_CMD_WRITES_DONE, [&](nl_msg* m) {
        nla_put_u32(m, DCC_A_MAJOR, d.major);
        nla_put_u32(m, DCC_A_MINOR, d.minor);
        nla_put_u64(m, DCC_A_REG_ID, id);
        uint8_t torn[12] = {};
        nla_put(m, DCC_A_WRITE_IDS, sizeof(torn), torn);
    });
    expect_err(e8, -EINVAL, "writes done with a torn id (" + t8 + ")");
    auto [e9, t9] = raw(DCC_CMD_SET_SYNC, [&](nl_msg* m) {
        nla_put_u32(m, DCC_A_MAJOR, d.major);
        nla_put_u32(m, DCC_A_MINOR, d.minor);
        nla_put_u64(m, DCC_A_REG_ID, id);
        nla_put_u8(m, DCC_A_SYNC, 1);
        nla_put(m, DCC_A_WRITES, 8, &id);
    });
    expect_err(e9, -EINVAL, "set sync with the event-only WRITES (" + t9 + ")");
    expect(!vol_status(vol).held, "refused requests changed nothing: still async");
    {
        uint64_t n = 0;
        int e = a->transact({.cmd = DCC_CMD_WRITES_DONE, .dev = d, .reg_id = id, .write_ids = {1, 2}},
                            [&](nlmsghdr* h) { n = parse_count(h).value_or(99); });
        expect(e == 0 && n == 0, "writes done for ids nobody holds: 0 found");
    }
    // The writes group, then sync on: a write waits for the daemon's word.
    EventSocket writes(DCC_GENL_MCGRP_WRITES);
    expect_err(req(*a, {.cmd = DCC_CMD_SET_SYNC, .dev = d, .reg_id = id, .sync = 1}), 0, "set sync");
    expect(vol_status(vol).held == 0u, "status: sync, no write held");
    auto held_write = [&](uint64_t r, int want, bool fail, const char* how) {
        std::atomic<int> rc{-1};
        std::thread t([&] { rc = vol_io(vol, r, rs, true); });
        std::optional<dcc_written> w;
        for (int i = 0; i < 100 && !w; i++) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            bool lost = false;
            for (const Event& ev : writes.drain(lost))
                if (ev.cmd == DCC_CMD_EVENT_WRITTEN && ev.dev == d && !ev.writes.empty()) w = ev.writes[0];
        }
        expect(w.has_value(), std::string("a write is announced (") + how + ")");
        expect(rc == -1, "... and waits");
        expect(vol_status(vol).held == 1u, "... status counts it held");
        if (w) {
            expect(w->sector == r * rs && w->sectors == kBs / 512, "... at its sector and length");
            Request done{.cmd = DCC_CMD_WRITES_DONE, .dev = d, .reg_id = id, .write_ids = {w->id}};
            if (fail) done.fill_errno = EIO;
            done.confirmed = !fail;  // the other site holds it
            if (!want && !fail) {
                // Answered from another socket: only the registration counts.
                expect_err(req(b, done), 0, "writes done from another socket of the daemon");
            } else if (want || fail) {
                expect_err(req(*a, done), 0, "writes done");
            }
        }
        if (!w) req(*a, {.cmd = DCC_CMD_SET_SYNC, .dev = d, .reg_id = id, .sync = 0});
        t.join();
        expect_err(rc, want, std::string("the write completes: ") + how);
    };
    held_write(60, 0, false, "confirmed");
    held_write(61, EIO, true, "failed by the daemon");
    {
        std::atomic<int> rc{-1};
        std::thread t([&] { rc = vol_io(vol, 62, rs, true); });
        for (int i = 0; i < 100 && vol_status(vol).held != 1u; i++)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        expect(vol_status(vol).held == 1u && rc == -1, "a third write is held");
        expect_err(req(*a, {.cmd = DCC_CMD_SET_SYNC, .dev = d, .reg_id = id, .sync = 0}), 0,
                   "set sync off");
        t.join();
        expect_err(rc, 0, "clearing the flag completes the held write");
    }
    expect(!vol_status(vol).held, "status: async again");
    expect_err(vol_io(vol, 63, rs, true), 0, "an async write completes at once");
    {
        // CLEAR_DIRTY with CONFIRMED (version 7): only a region whose every
        // write the other site confirmed (60) is cleared without a push;
        // not one whose write failed (61), was let go as sync mode ended
        // (62) or was never held (63).
        RegionsReply unc = a->get_regions(d, DCC_SET_UNCONFIRMED, 0);
        expect(!has_region(unc, 60) && has_region(unc, 61) && has_region(unc, 62) &&
                   has_region(unc, 63),
               "unconfirmed: 61, 62 and 63, not 60");
        std::optional<uint64_t> n;
        expect_err(arm_or_clear(*a, DCC_CMD_ARM, d, id, {{60, 4}}, n), 0, "arm 60-63");
        expect_err(arm_or_clear(*a, DCC_CMD_CLEAR_DIRTY, d, id, {{60, 4}}, n, nullptr, true), 0,
                   "clear confirmed 60-63");
        expect(n == 1u, "1 cleared without a push");
        RegionsReply dirty = a->get_regions(d, DCC_SET_DIRTY, 0);
        expect(!has_region(dirty, 60) && has_region(dirty, 61) && has_region(dirty, 62) &&
                   has_region(dirty, 63),
               "... region 60: 61-63 stay dirty");
        // A held write is not confirmed yet: its region stays, until the
        // daemon's word.
        expect_err(req(*a, {.cmd = DCC_CMD_SET_SYNC, .dev = d, .reg_id = id, .sync = 1}), 0,
                   "set sync again");
        std::atomic<int> rc{-1};
        std::thread t([&] { rc = vol_io(vol, 64, rs, true); });
        for (int i = 0; i < 100 && vol_status(vol).held != 1u; i++)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        expect(vol_status(vol).held == 1u, "a write to 64 is held");
        expect_err(arm_or_clear(*a, DCC_CMD_ARM, d, id, {{64, 1}}, n), 0, "arm 64");
        expect_err(arm_or_clear(*a, DCC_CMD_CLEAR_DIRTY, d, id, {{64, 1}}, n, nullptr, true), 0,
                   "clear confirmed 64 while its write is held");
        expect(n == 0u, "... none cleared");
        std::optional<dcc_written> w;
        bool lost = false;
        for (int i = 0; i < 100 && !w; i++) {
            for (const Event& ev : writes.drain(lost))
                if (ev.cmd == DCC_CMD_EVENT_WRITTEN && ev.dev == d && !ev.writes.empty())
                    w = ev.writes[0];
            if (!w) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        expect(w.has_value(), "the write to 64 is announced");
        if (w)
            expect_err(req(*a, {.cmd = DCC_CMD_WRITES_DONE, .dev = d, .reg_id = id,
                                .confirmed = true, .write_ids = {w->id}}),
                       0, "writes done for 64, confirmed");
        else
            req(*a, {.cmd = DCC_CMD_SET_SYNC, .dev = d, .reg_id = id, .sync = 0});
        t.join();
        expect_err(rc, 0, "the write to 64 completes");
        expect_err(arm_or_clear(*a, DCC_CMD_ARM, d, id, {{64, 1}}, n), 0, "arm 64 again");
        expect_err(arm_or_clear(*a, DCC_CMD_CLEAR_DIRTY, d, id, {{64, 1}}, n, nullptr, true), 0,
                   "clear confirmed 64 once confirmed");
        expect(n == 1u, "... cleared");
        // Completed without CONFIRMED, as a daemon going on alone does:
        // the region is left to a push.
        std::atomic<int> rc2{-1};
        std::thread t2([&] { rc2 = vol_io(vol, 64, rs, true); });
        uint64_t id2 = 0;
        for (int i = 0; i < 100 && !id2; i++) {
            for (const Event& ev : writes.drain(lost))
                if (ev.cmd == DCC_CMD_EVENT_WRITTEN && ev.dev == d && !ev.writes.empty())
                    id2 = ev.writes[0].id;
            if (!id2) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        expect(id2 != 0, "a second write to 64 is announced");
        if (id2)
            expect_err(req(*a, {.cmd = DCC_CMD_WRITES_DONE, .dev = d, .reg_id = id,
                                .write_ids = {id2}}),
                       0, "writes done for 64 without CONFIRMED (alone)");
        else
            req(*a, {.cmd = DCC_CMD_SET_SYNC, .dev = d, .reg_id = id, .sync = 0});
        t2.join();
        expect_err(rc2, 0, "... the write completes");
        expect(has_region(a->get_regions(d, DCC_SET_UNCONFIRMED, 0), 64), "... 64 is unconfirmed");
        expect_err(arm_or_clear(*a, DCC_CMD_ARM, d, id, {{64, 1}}, n), 0, "arm 64 a third time");
        expect_err(arm_or_clear(*a, DCC_CMD_CLEAR_DIRTY, d, id, {{64, 1}}, n, nullptr, true), 0,
                   "clear confirmed 64 written alone");
        expect(n == 0u, "... not cleared");
        expect_err(req(*a, {.cmd = DCC_CMD_SET_SYNC, .dev = d, .reg_id = id, .sync = 0}), 0,
                   "set sync off again");
    }
    {
        // Clean again, as a daemon that replicated them would leave them.
        std::optional<uint64_t> n;
        expect_err(arm_or_clear(*a, DCC_CMD_ARM, d, id, {{60, 5}}, n), 0, "arm 60-64");
        expect_err(arm_or_clear(*a, DCC_CMD_CLEAR_DIRTY, d, id, {{60, 5}}, n), 0, "clear 60-64");
        expect(n == 4, "4 cleared (60 was already)");
        RegionsReply unc = a->get_regions(d, DCC_SET_UNCONFIRMED, 0);
        expect(!has_region(unc, 61) && !has_region(unc, 62) && !has_region(unc, 63) &&
                   !has_region(unc, 64),
               "none of 61-64 unconfirmed once its dirty bit is cleared");
    }

    // Marking regions invalid.
    expect_err(vol_io(vol, 3, rs, true) ? -EIO : 0, 0, "write region 3");
    uint64_t valid0 = vol_status(vol).valid;
    expect_err(req(*a, {.cmd = DCC_CMD_SET_INVALID, .dev = d, .reg_id = id, .region = 2, .count = 3}),
               -ENOTEMPTY, "set invalid over a dirty region");
    expect(vol_status(vol).valid == valid0, "a refused request changed nothing");
    expect_err(req(*a, {.cmd = DCC_CMD_SET_INVALID, .dev = d, .reg_id = id, .region = last, .count = 2}),
               -ERANGE, "set invalid past the end");
    expect_err(req(*a, {.cmd = DCC_CMD_SET_INVALID, .dev = d, .reg_id = id, .region = 5, .count = 2}),
               0, "set invalid regions 5-6");
    expect(vol_status(vol).valid == valid0 - 2, "two regions fewer valid");
    RegionsReply inv = a->get_regions(d, DCC_SET_INVALID, 0);
    expect(inv.ranges.size() == 1 && inv.ranges[0] == dcc::Range{5, 2}, "invalid set is 5-6");
    Request many{.cmd = DCC_CMD_SET_INVALID, .dev = d, .reg_id = id};
    many.ranges = {{20, 2}, {10, 1}};
    expect_err(req(*a, many), -EINVAL, "set invalid with unsorted ranges");
    many.ranges = {{10, 1}, {20, 2}, {last, 2}};
    expect_err(req(*a, many), -ERANGE, "set invalid with a range past the end");
    expect(vol_status(vol).valid == valid0 - 2, "refused range lists changed nothing");
    many.ranges = {{10, 1}, {20, 2}, {30, 1}};
    expect_err(req(*a, many), 0, "set invalid three ranges at once");
    expect(vol_status(vol).valid == valid0 - 6, "four regions fewer valid");
    // FILL_DONE for many regions: all or nothing, one commit.
    for (uint64_t r : {10, 20, 21})
        expect_err(req(*a, {.cmd = DCC_CMD_FILL_BEGIN, .dev = d, .reg_id = id, .region = r}), 0,
                   "fill begin " + std::to_string(r));
    Request done{.cmd = DCC_CMD_FILL_DONE, .dev = d, .reg_id = id};
    done.ranges = {{10, 1}, {20, 2}, {30, 1}};
    expect_err(req(*a, done), -ENOENT, "fill done of four regions, one never begun");
    expect(vol_status(vol).valid == valid0 - 6, "a refused fill done changed nothing");
    expect_err(req(*a, {.cmd = DCC_CMD_FILL_BEGIN, .dev = d, .reg_id = id, .region = 30}), 0,
               "fill begin 30");
    done.ranges = {{20, 2}, {10, 1}};
    expect_err(req(*a, done), -EINVAL, "fill done with unsorted ranges");
    done.ranges = {{0, DCC_MAX_FILLS_PER_REQUEST + 1}};
    expect(last >= DCC_MAX_FILLS_PER_REQUEST, "the probe volume has more regions than one fill done may end");
    expect_err(req(*a, done), -E2BIG, "fill done of too many regions");
    done.ranges = {{10, 1}, {20, 2}, {30, 1}};
    expect_err(req(*a, done), 0, "fill done of four regions at once");
    expect(vol_status(vol).valid == valid0 - 2, "valid again");
    expect(a->get_regions(d, DCC_SET_PENDING, 0).ranges.empty(), "no fill left in progress");
    expect_err(req(*a, done), -ENOENT, "a second fill done for the same fills");

    // A background fill that a bio comes to wait for: the waiting set and
    // the miss count show it, and the fill's end lets the bio go on.
    expect_err(req(*a, {.cmd = DCC_CMD_SET_INVALID, .dev = d, .reg_id = id, .region = 40}), 0,
               "set invalid region 40");
    expect_err(req(*a, {.cmd = DCC_CMD_FILL_BEGIN, .dev = d, .reg_id = id, .region = 40}), 0,
               "fill begin 40 (background)");
    expect(has_region(a->get_regions(d, DCC_SET_PENDING, 0), 40), "region 40 pending");
    expect(a->get_regions(d, DCC_SET_WAITING, 0).ranges.empty(), "no bio waits yet");
    uint64_t misses0 = vol_status(vol).misses;
    pid_t reader = fork();
    if (reader == 0) _exit(vol_io(vol, 40, rs, false) ? 1 : 0);
    bool waits = false;
    for (int i = 0; i < 100 && !waits; i++) {
        waits = has_region(a->get_regions(d, DCC_SET_WAITING, 0), 40);
        if (!waits) usleep(50000);
    }
    expect(waits, "a read of region 40 waits for the background fill");
    expect(vol_status(vol).misses == misses0 + 1, "and counts as a miss");
    expect_err(req(*a, {.cmd = DCC_CMD_FILL_DONE, .dev = d, .reg_id = id, .region = 40}), 0,
               "fill done 40");
    int rstatus = 0;
    waitpid(reader, &rstatus, 0);
    expect(WIFEXITED(rstatus) && WEXITSTATUS(rstatus) == 0, "the waiting read completes");
    expect(a->get_regions(d, DCC_SET_WAITING, 0).ranges.empty(), "nothing waits any more");

    // FILL_RELEASE gives back the fills no waiting bio needs the data of:
    // a background fill, and one a whole-region write waits for (it runs
    // again as an overwrite); the fills a read and a partial write wait
    // for stay.
    std::optional<uint64_t> given;
    auto release = [&](std::vector<dcc::Range> rs_, uint64_t reg_id = 0) {
        return arm_or_clear(*a, DCC_CMD_FILL_RELEASE, d, reg_id ? reg_id : id, rs_, given);
    };
    auto pending = [&] {
        dcc::RangeSet p;
        for (const auto& x : a->get_regions(d, DCC_SET_PENDING, 0).ranges) p.add(x.start, x.count);
        return p.ranges();
    };
    // Forks one O_DIRECT bio to region @r (whole: the whole region).
    auto bio_to = [&](uint64_t r, bool write, bool whole) {
        pid_t p = fork();
        if (p == 0) _exit(vol_io(vol, r, rs, write, whole ? size_t(rs) * 512 : kBs));
        return p;
    };
    auto wait_for = [&](std::initializer_list<uint64_t> regions) {
        for (int i = 0; i < 100; i++) {
            auto w = a->get_regions(d, DCC_SET_WAITING, 0);
            bool all = true;
            for (uint64_t r : regions) all = all && has_region(w, r);
            if (all) return true;
            usleep(50000);
        }
        return false;
    };
    auto exit_code = [](pid_t p) {
        int st = 0;
        waitpid(p, &st, 0);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    };
    expect_err(req(*a, {.cmd = DCC_CMD_SET_INVALID, .dev = d, .reg_id = id, .region = 41, .count = 4}),
               0, "set invalid regions 41-44");
    uint64_t valid1 = vol_status(vol).valid;
    for (uint64_t r : {41, 42, 43, 44})
        expect_err(req(*a, {.cmd = DCC_CMD_FILL_BEGIN, .dev = d, .reg_id = id, .region = r}), 0,
                   "fill begin " + std::to_string(r));
    pid_t rd42 = bio_to(42, false, false), wr43 = bio_to(43, true, true), wr44 = bio_to(44, true, false);
    expect(wait_for({42, 43, 44}), "a read waits for region 42, a whole-region write for 43, a 4 KiB write for 44");
    expect_err(release({{41, 3}}, id + 1), -ESTALE, "fill release with a stale registration");
    expect_err(release({{last, 2}}), -ERANGE, "fill release past the end");
    expect_err(release({{0, DCC_MAX_FILLS_PER_REQUEST + 1}}), -E2BIG, "fill release of too many regions");
    expect(pending() == std::vector<dcc::Range>{{41, 4}}, "refused fill releases changed nothing");
    expect_err(release({{40, 3}, {43, 2}}), 0, "fill release of regions 40-42 and 43-44");
    expect(given == 2u, "two fills given back (41, 43), got " + (given ? std::to_string(*given) : "none"));
    expect(exit_code(wr43) == 0, "the whole-region write of 43 completes");
    expect(pending() == std::vector<dcc::Range>{{42, 1}, {44, 1}},
           "the fills of the read (42) and of the partial write (44) stay");
    expect(vol_status(vol).valid == valid1 + 1, "43 valid by its write, 41 still invalid");
    expect_err(req(*a, {.cmd = DCC_CMD_FILL_BEGIN, .dev = d, .reg_id = id, .region = 41}), 0,
               "fill begin 41 again after it was given back");
    expect_err(req(*a, {.cmd = DCC_CMD_FILL_DONE, .dev = d, .reg_id = id, .ranges = {{41, 2}, {44, 1}}}), 0,
               "fill done 41-42 and 44");
    expect(exit_code(rd42) == 0, "the read of 42 completes");
    expect(exit_code(wr44) == 0, "the 4 KiB write of 44 completes");
    expect(vol_status(vol).valid == valid1 + 4, "41-44 valid");

    // A fill that fails: the read that needs its data gets EIO, and the
    // whole-region write, which does not, runs as an overwrite.
    expect_err(req(*a, {.cmd = DCC_CMD_SET_INVALID, .dev = d, .reg_id = id, .region = 45, .count = 2}),
               0, "set invalid regions 45-46");
    uint64_t valid2 = vol_status(vol).valid;
    for (uint64_t r : {45, 46})
        expect_err(req(*a, {.cmd = DCC_CMD_FILL_BEGIN, .dev = d, .reg_id = id, .region = r}), 0,
                   "fill begin " + std::to_string(r));
    pid_t rd45 = bio_to(45, false, false), wr46 = bio_to(46, true, true);
    expect(wait_for({45, 46}), "a read waits for region 45, a whole-region write for 46");
    expect_err(req(*a, {.cmd = DCC_CMD_FILL_DONE, .dev = d, .reg_id = id, .fill_errno = EIO,
                        .ranges = {{45, 2}}}),
               0, "fill done 45-46 failed (EIO)");
    expect(exit_code(rd45) == EIO, "the read of 45 fails with EIO");
    expect(exit_code(wr46) == 0, "the whole-region write of 46 completes");
    expect(pending().empty(), "no fill left after the failed one");
    expect(vol_status(vol).valid == valid2 + 1, "46 valid by its write, 45 still invalid");
    expect_err(req(*a, {.cmd = DCC_CMD_FILL_BEGIN, .dev = d, .reg_id = id, .region = 45}), 0,
               "fill begin 45 again after its fill failed");
    expect_err(req(*a, {.cmd = DCC_CMD_FILL_DONE, .dev = d, .reg_id = id, .region = 45}), 0,
               "fill done 45");
    expect(vol_status(vol).valid == valid2 + 2, "45-46 valid");

    // Dirty bits: armed (DCC_CMD_ARM) just before the daemon reads a region,
    // cleared only if no write reached the region since.
    expect(has_region(a->get_regions(d, DCC_SET_DIRTY, 0), 3), "region 3 in the dirty set");
    std::optional<uint64_t> armed, cleared;
    auto arm = [&](std::vector<dcc::Range> rs_) { return arm_or_clear(*a, DCC_CMD_ARM, d, id, rs_, armed); };
    auto clear = [&](std::vector<dcc::Range> rs_) {
        return arm_or_clear(*a, DCC_CMD_CLEAR_DIRTY, d, id, rs_, cleared);
    };
    uint64_t dirty0 = vol_status(vol).dirty;
    expect_err(clear({{3, 1}}), 0, "clear region 3 before it was armed");
    expect(cleared == 0u, "nothing cleared without arming");
    expect_err(arm({{3, 1}}), 0, "arm region 3");
    expect(armed == 1u, "one region armed");
    expect_err(clear({{3, 1}}), 0, "clear region 3");
    expect(cleared == 1u, "one region cleared");
    expect(vol_status(vol).dirty == dirty0 - 1, "dirty count went down");
    expect(!has_region(a->get_regions(d, DCC_SET_DIRTY, 0), 3), "region 3 clean");
    expect_err(clear({{3, 1}}), 0, "clear region 3 again");
    expect(cleared == 0u, "nothing cleared the second time");
    expect_err(arm({{3, 1}}), 0, "arm the clean region 3");
    expect(armed == 0u, "a clean region is not armed");
    expect_err(vol_io(vol, 3, rs, true) ? -EIO : 0, 0, "write region 3 again");
    expect_err(arm({{3, 1}}), 0, "arm region 3, dirty again");
    expect(armed == 1u, "armed");
    expect_err(vol_io(vol, 3, rs, true) ? -EIO : 0, 0, "write region 3 after it was armed");
    expect_err(clear({{3, 1}}), 0, "clear region 3 after the new write");
    expect(cleared == 0u, "a region written since it was armed stays dirty");
    expect(has_region(a->get_regions(d, DCC_SET_DIRTY, 0), 3), "region 3 still dirty");
    // Many regions at once: 50-52 and 60 armed, 52 written after, so two clear.
    for (uint64_t r : {50, 51, 52, 60})
        expect_err(vol_io(vol, r, rs, true) ? -EIO : 0, 0, "write region " + std::to_string(r));
    expect_err(arm({{50, 3}, {60, 1}}), 0, "arm two ranges");
    expect(armed == 4u, "four regions armed");
    expect_err(vol_io(vol, 52, rs, true) ? -EIO : 0, 0, "write region 52 after it was armed");
    expect_err(clear({{50, 3}, {60, 1}}), 0, "clear two ranges");
    expect(cleared == 3u, "three regions cleared, 52 not");
    RegionsReply after = a->get_regions(d, DCC_SET_DIRTY, 0);
    expect(has_region(after, 52) && !has_region(after, 50) && !has_region(after, 51) &&
               !has_region(after, 60),
           "of 50-52 and 60 only 52 is dirty");
    expect_err(clear({{20, 2}, {10, 1}}), -EINVAL, "clear with unsorted ranges");
    expect_err(arm({{0, DCC_MAX_CLEARS_PER_REQUEST + 1}}), -E2BIG, "arm of too many regions");
    expect_err(clear({{0, DCC_MAX_CLEARS_PER_REQUEST + 1}}), -E2BIG, "clear of too many regions");
    expect_err(clear({{last, 2}}), -ERANGE, "clear past the end");
    expect_err(arm_or_clear(*a, DCC_CMD_ARM, d, id + 1, {{3, 1}}, armed), -ESTALE,
               "arm with a wrong registration number");
    expect_err(arm_or_clear(b, DCC_CMD_CLEAR_DIRTY, d, id, {{3, 1}}, cleared), -ESTALE,
               "clear from another socket");

    // Role and generation.  (74 is written for the ranges of SET_ROLE below.)
    // A SET_ROLE refused with @err, the kernel saying @says.
    auto refused = [&](const Request& r, int err, const char* says, const std::string& what) {
        std::string text;
        int e = a->transact(r, nullptr, &text);
        expect_err(e, err, what + " (" + text + ")");
        expect(text.find(says) != std::string::npos, std::string("the kernel says '") + says + "'");
    };
    expect_err(vol_io(vol, 74, rs, true) ? -EIO : 0, 0, "write region 74");
    expect_err(req(*a, {.cmd = DCC_CMD_SET_ROLE, .dev = d, .reg_id = id, .generation = 2,
                        .role = DCC_ROLE_REPLICA}),
               0, "become replica, generation 2");
    expect_err(-vol_io(vol, 0, rs, false), -EIO, "a replica serves no reads");
    expect_err(-vol_io(vol, 0, rs, true), -EIO, "a replica serves no writes");
    expect_err(req(*a, {.cmd = DCC_CMD_SET_ROLE, .dev = d, .reg_id = id, .generation = 2,
                        .role = DCC_ROLE_OWNER}),
               0, "owner again at the same generation");
    expect_err(req(*a, {.cmd = DCC_CMD_SET_ROLE, .dev = d, .reg_id = id, .generation = 2,
                        .role = DCC_ROLE_YIELDING}),
               0, "yielding, generation 2");
    {
        auto y = vol_status(vol);
        expect(y.role == "yielding" && y.generation == 2, "status shows yielding, generation 2");
    }
    expect_err(-vol_io(vol, 0, rs, false), -EIO, "a yielding site serves no reads");
    expect_err(-vol_io(vol, 0, rs, true), -EIO, "a yielding site serves no writes");
    {
        std::string text;
        int e = a->transact({.cmd = DCC_CMD_SET_ROLE, .dev = d, .reg_id = id, .generation = 1,
                             .role = DCC_ROLE_OWNER},
                            nullptr, &text);
        expect_err(e, -ESTALE, "owner at generation 1, backwards (" + text + ")");
        auto y = vol_status(vol);
        expect(y.role == "yielding" && y.generation == 2, "a refused SET_ROLE changed nothing");
    }
    {
        // Version 8: SET_ROLE makes RANGES invalid in its commit, all or
        // nothing, under SET_INVALID's rules.  70-72 and 74 valid, 74
        // dirty; all of them valid and clean at the end.
        RegionsReply inv0 = a->get_regions(d, DCC_SET_INVALID, 0);
        expect(!has_region(inv0, 70) && !has_region(inv0, 71) && !has_region(inv0, 72) && !has_region(inv0, 74),
               "70-72 and 74 valid before");
        expect_err(req(*a, {.cmd = DCC_CMD_SET_INVALID, .dev = d, .reg_id = id, .region = 73}), 0,
                   "set invalid region 73");
        expect_err(req(*a, {.cmd = DCC_CMD_FILL_BEGIN, .dev = d, .reg_id = id, .region = 73}), 0,
                   "fill begin 73");
        uint64_t v0 = vol_status(vol).valid;
        const Request take{.cmd = DCC_CMD_SET_ROLE, .dev = d, .reg_id = id, .generation = 3,
                           .role = DCC_ROLE_OWNER};
        std::vector<dcc::Range> too_many;
        for (uint64_t i = 0; i <= DCC_MAX_RANGES_PER_REQUEST; i++) too_many.push_back({2 * i, 1});
        struct {
            const char* what;
            std::vector<dcc::Range> ranges;
            std::optional<uint64_t> region;
            bool force;
            int err;
            const char* says;
        } bad[] = {
            {"unsorted ranges", {{74, 1}, {70, 2}}, std::nullopt, true, -EINVAL, "sorted and disjoint"},
            {"one range more than a request holds", too_many, std::nullopt, true, -EINVAL, "too many ranges"},
            {"a range past the end", {{70, 2}, {last, 2}}, std::nullopt, true, -ERANGE, "outside the volume"},
            {"a dirty region without force", {{70, 2}, {74, 1}}, std::nullopt, false, -ENOTEMPTY, "dirty"},
            {"a region being filled", {{70, 5}}, std::nullopt, true, -EBUSY, "locked"},
            {"REGION instead of RANGES", {}, 70, false, -EINVAL, "RANGES only"},
            {"FORCE without RANGES", {}, std::nullopt, true, -EINVAL, "FORCE needs RANGES"},
        };
        for (const auto& x : bad) {
            Request r = take;
            r.ranges = x.ranges;
            r.region = x.region;
            r.force = x.force;
            refused(r, x.err, x.says, std::string("set role owner with ") + x.what);
            auto now = vol_status(vol);
            expect(now.role == "yielding" && now.generation == 2 && now.valid == v0 &&
                       has_region(a->get_regions(d, DCC_SET_DIRTY, 0), 74),
                   std::string("refused ") + x.what + ": nothing changed");
        }
        expect_err(req(*a, {.cmd = DCC_CMD_FILL_DONE, .dev = d, .reg_id = id, .region = 73}), 0, "fill done 73");
        Request r = take;
        r.ranges = {{70, 2}, {74, 1}};
        r.force = true;
        expect_err(req(*a, r), 0, "become owner, generation 3, with 70-71 and 74 made invalid (force)");
        auto now = vol_status(vol);
        expect(now.role == "owner" && now.generation == 3, "status shows owner, generation 3");
        expect(now.valid == v0 + 1 - 3, "73 valid by its fill, 70-71 and 74 invalid");
        RegionsReply inv = a->get_regions(d, DCC_SET_INVALID, 0);
        expect(has_region(inv, 70) && has_region(inv, 71) && has_region(inv, 74) && !has_region(inv, 72),
               "the invalid set has 70-71 and 74, not 72");
        expect(!has_region(a->get_regions(d, DCC_SET_DIRTY, 0), 74), "74's dirty bit went with it");
        for (uint64_t x : {70, 71, 74})
            expect_err(req(*a, {.cmd = DCC_CMD_FILL_BEGIN, .dev = d, .reg_id = id, .region = x}), 0,
                       "fill begin " + std::to_string(x));
        expect_err(req(*a, {.cmd = DCC_CMD_FILL_DONE, .dev = d, .reg_id = id, .ranges = {{70, 2}, {74, 1}}}), 0,
                   "fill done 70-71 and 74");
        expect(vol_status(vol).valid == v0 + 1, "70-74 valid again");
    }
    expect_err(req(*a, {.cmd = DCC_CMD_SET_ROLE, .dev = d, .reg_id = id, .generation = 3,
                        .role = DCC_ROLE_OWNER}),
               0, "owner at generation 3 again, no ranges");
    auto st = vol_status(vol);
    expect(st.role == "owner" && st.generation == 3, "status shows owner, generation 3");
    expect_err(vol_io(vol, 0, rs, false) ? -EIO : 0, 0, "an owner serves reads");

    // Origin and split.  Bad ones are refused with the kernel's explanation
    // and change nothing; an old split stops all I/O, whatever the role.
    expect(st.origin == "handover" && st.split == "-", "status shows origin handover, no split");
    auto shows = [&](const char* role, uint64_t gen, const char* origin, const char* split) {
        auto now = vol_status(vol);
        return now.role == role && now.generation == gen && now.origin == origin && now.split == split;
    };
    {
        const Request to4{.cmd = DCC_CMD_SET_ROLE, .dev = d, .reg_id = id, .generation = 4,
                          .role = DCC_ROLE_OWNER, .origin = DCC_ORIGIN_FORCED};
        struct {
            const char* what;
            std::optional<uint8_t> origin, split;
            std::optional<uint64_t> split_generation;
            int err;  // the policy's ERANGE (as for ROLE), or the handler's EINVAL
            const char* says;
        } bad[] = {
            {"origin 4", 4, std::nullopt, std::nullopt, -ERANGE, "integer out of range"},
            {"origin 255", 255, std::nullopt, std::nullopt, -ERANGE, "integer out of range"},
            {"split 3", DCC_ORIGIN_FORCED, 3, std::nullopt, -ERANGE, "integer out of range"},
            {"split old with no split generation", DCC_ORIGIN_FORCED, DCC_SPLIT_OLD, std::nullopt,
             -EINVAL, "split old needs a SPLIT_GENERATION above GENERATION"},
            {"split old with split generation = generation", DCC_ORIGIN_FORCED, DCC_SPLIT_OLD, 4,
             -EINVAL, "split old needs a SPLIT_GENERATION above GENERATION"},
            {"split old with split generation < generation", DCC_ORIGIN_FORCED, DCC_SPLIT_OLD, 3,
             -EINVAL, "split old needs a SPLIT_GENERATION above GENERATION"},
            {"split new with a split generation", DCC_ORIGIN_FORCED, DCC_SPLIT_NEW, 5, -EINVAL,
             "SPLIT_GENERATION must be 0 unless split is old"},
            {"no split with a split generation", DCC_ORIGIN_FORCED, std::nullopt, 5, -EINVAL,
             "SPLIT_GENERATION must be 0 unless split is old"},
        };
        for (const auto& x : bad) {
            Request r = to4;
            r.origin = x.origin;
            r.split = x.split;
            r.split_generation = x.split_generation;
            refused(r, x.err, x.says, std::string("set role with ") + x.what);
            expect(shows("owner", 3, "handover", "-"), std::string("refused ") + x.what + ": nothing changed");
        }
    }
    {
        EventSocket events;
        expect_err(req(*a, {.cmd = DCC_CMD_SET_ROLE, .dev = d, .reg_id = id, .generation = 4,
                            .role = DCC_ROLE_OWNER, .origin = DCC_ORIGIN_FAILOVER,
                            .split = DCC_SPLIT_OLD, .split_generation = 5}),
                   0, "owner at generation 4 by failover, split old (peer at 5)");
        expect(shows("owner", 4, "failover", "old"), "status shows owner 4, failover, split old");
        bool lost = false, seen = false;
        for (const Event& ev : events.drain(lost))
            seen |= ev.cmd == DCC_CMD_EVENT_STATE && ev.dev == d && ev.generation == 4 &&
                    ev.role == DCC_ROLE_OWNER && ev.origin == DCC_ORIGIN_FAILOVER &&
                    ev.split == DCC_SPLIT_OLD && ev.split_generation == 5;
        expect(seen && !lost, "a state event carries origin failover, split old, split generation 5");
    }
    expect_err(-vol_io(vol, 0, rs, false), -EIO, "an owner with an old split serves no reads");
    expect_err(-vol_io(vol, 3, rs, true), -EIO, "an owner with an old split serves no writes");
    expect_err(req(*a, {.cmd = DCC_CMD_SET_ROLE, .dev = d, .reg_id = id, .generation = 4,
                        .role = DCC_ROLE_OWNER, .origin = DCC_ORIGIN_FAILOVER,
                        .split = DCC_SPLIT_NONE}),
               0, "the same generation, split none (resolved)");
    expect(shows("owner", 4, "failover", "-"), "status shows owner 4, failover, no split");
    expect_err(vol_io(vol, 0, rs, false) ? -EIO : 0, 0, "it serves reads again");
    expect_err(vol_io(vol, 3, rs, true) ? -EIO : 0, 0, "it serves writes again");
    expect_err(req(*a, {.cmd = DCC_CMD_SET_ROLE, .dev = d, .reg_id = id, .generation = 5,
                        .role = DCC_ROLE_OWNER, .origin = DCC_ORIGIN_FORCED,
                        .split = DCC_SPLIT_NEW}),
               0, "owner at generation 5, forced, split new");
    expect(shows("owner", 5, "forced", "new"), "status shows owner 5, forced, split new");
    expect_err(vol_io(vol, 3, rs, true) ? -EIO : 0, 0, "the new side of a split serves writes");

    // A new daemon once the old socket is gone; the old number is dead.
    a.reset();
    RegisterReply reg2 = b.register_volume(d);
    expect(reg2.reg_id > id, "new registration after the old socket closed");
    expect(reg2.generation == 5, "registration reports generation 5");
    expect(reg2.origin == DCC_ORIGIN_FORCED && reg2.split == DCC_SPLIT_NEW && reg2.split_generation == 0,
           "registration reports origin forced, split new");
    expect_err(req(b, {.cmd = DCC_CMD_FILL_BEGIN, .dev = d, .reg_id = id, .region = 5}), -ESTALE,
               "old registration number refused");
    expect_err(req(b, {.cmd = DCC_CMD_FILL_BEGIN, .dev = d, .reg_id = reg2.reg_id, .region = 5}), 0,
               "fill begin on an invalid region");
    expect_err(req(b, {.cmd = DCC_CMD_FILL_BEGIN, .dev = d, .reg_id = reg2.reg_id, .region = 5}), 0,
               "fill begin again (already ours)");
    expect_err(req(b, {.cmd = DCC_CMD_SET_INVALID, .dev = d, .reg_id = reg2.reg_id, .region = 5}),
               -EBUSY, "set invalid on a region being filled");
    expect_err(req(b, {.cmd = DCC_CMD_FILL_DONE, .dev = d, .reg_id = reg2.reg_id, .region = 5}), 0,
               "fill done");
    expect_err(req(b, {.cmd = DCC_CMD_FILL_DONE, .dev = d, .reg_id = reg2.reg_id, .region = 5}),
               -ENOENT, "a second fill done for the same fill");
    expect(vol_status(vol).valid == valid0 - 1, "region 5 valid again");
    b.unregister(d, reg2.reg_id);
    expect(!vol_status(vol).registration, "unregistered");
    return g_nl_failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) die("usage: dcctest seqwrite|seqverify|logcheck ...");
    std::string cmd = argv[1];
    try {
        if (cmd == "seqwrite" && argc >= 3) return seqwrite(argv[2], opts(argc, argv, 3));
        if (cmd == "seqverify" && argc >= 3) return seqverify(argv[2], opts(argc, argv, 3));
        if (cmd == "logcheck") return logcheck(opts(argc, argv, 2));
        if (cmd == "readlat" && argc >= 3) return readlat(argv[2], opts(argc, argv, 3));
        if (cmd == "nlprobe" && argc == 3) return nlprobe(argv[2]);
        if (cmd == "nlprobe" && argc == 7) {
            auto o = opts(argc, argv, 3);
            return nlprobe_stuck(argv[2], num(o, "stuck"), num(o, "clean"));
        }
        if (cmd == "nl" && argc >= 4) return nl_once(argv[2], std::vector<std::string>(argv + 3, argv + argc));
        if (cmd == "sbedit" && argc >= 3) return sbedit(argv[2], opts(argc, argv, 3));
        if (cmd == "flushcheck") return flushcheck(opts(argc, argv, 2));
        if (cmd == "notifylisten" && argc >= 3) return notifylisten(argv[2], num(opts(argc, argv, 3), "seconds"));
        if (cmd == "ctlsend" && argc >= 4) return ctlsend(argv[2], argv[3], opts(argc, argv, 4));
        if (cmd == "regionhash" && argc >= 3)
            return dcctest::regionhash(argv[2], num(opts(argc, argv, 3), "region-bytes"));
        if (cmd == "cleancheck") {
            auto o = opts(argc, argv, 2);
            return dcctest::cleancheck(o.at("log"), o.at("base"), o.at("replica"), num(o, "data-sectors"),
                                       num(o, "meta-offset"));
        }
        if (cmd == "field" && argc >= 4)
            return dcctest::field(argv[2], std::vector<std::string>(argv + 3, argv + argc));
        if (cmd == "rewrite" && argc >= 3) {
            auto o = opts(argc, argv, 3);
            return dcctest::rewrite(argv[2], num(o, "seed"), num(o, "blocks"), num(o, "seconds"));
        }
        if (cmd == "witness") return dcctest::witness(std::vector<std::string>(argv + 2, argv + argc));
        if (cmd == "rewriteverify" && argc >= 3) {
            auto o = opts(argc, argv, 3);
            return dcctest::rewriteverify(argv[2], num(o, "seed"), num(o, "blocks"), num(o, "count"));
        }
    } catch (const dcc::Error& e) {
        die(e.what());
    } catch (const std::out_of_range&) {
        die("missing argument");
    }
    die("unknown command " + cmd);
}
