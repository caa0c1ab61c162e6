// SPDX-License-Identifier: GPL-2.0-only
#include "boot_clock.hpp"
#include "witnessd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include "dcc/error.hpp"
#include "log.hpp"
#include "witness_record.hpp"
#include "zmq_util.hpp"

namespace dcc {

using namespace std::chrono;

namespace {

// A witness message is a header and two site names; the limit also
// applies to the CURVE handshake's commands (INITIATE is some 300 bytes).
constexpr int64_t kMaxMessage = 4096;
constexpr size_t kMaxRecordFile = 4096;

uint64_t random64() {
    uint64_t x = 0;
    while (getrandom(&x, sizeof(x), 0) != ssize_t(sizeof(x)) || !x) {
    }
    return x;
}

__attribute__((format(printf, 1, 2))) std::string fmt(const char* f, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    return buf;
}


const char* status_name(int status) {
    switch (status) {
    case 0: return "granted";
    case EBUSY: return "EBUSY";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ESTALE: return "ESTALE";
    }
    return "refused";
}

}  // namespace

Witnessd::Witnessd(const WitnessConfig& cfg, WitnessOptions opt)
    : cfg_(cfg),
      opt_(std::move(opt)),
      ctx_(1),
      witness_(core::LeaseParams{milliseconds(cfg.lease_ms)}, opt_.clock()),
      incarnation_(random64()) {
    try {
        if (opt_.signals) sig_fd_ = stop_signals();
        stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (stop_fd_ < 0) throw Error(kExitError, errno_text("eventfd", errno), errno);
        open_state_dir();
        load_records();

        if (!cfg_.insecure) {
            for (auto& [name, key] : cfg_.sites) {
                uint8_t raw[32];
                if (!zmq_z85_decode(raw, key.c_str()))
                    throw Error(kExitUsage, "the key of site " + name + " is not a Z85 key");
                site_of_key_[std::string(reinterpret_cast<char*>(raw), 32)] = name;
            }
            // The ZAP handler must exist before the CURVE server binds.
            zap_ = zmq::socket_t(ctx_, zmq::socket_type::rep);
            zap_.set(zmq::sockopt::linger, 0);
            zap_.bind("inproc://zeromq.zap.01");
        }
        router_ = zmq::socket_t(ctx_, zmq::socket_type::router);
        router_.set(zmq::sockopt::linger, 0);
        router_.set(zmq::sockopt::maxmsgsize, kMaxMessage);
        router_.set(zmq::sockopt::router_handover, 1);
        // A site gone silent is closed, so that its next connection is
        // answered instead of a dead one.
        router_.set(zmq::sockopt::heartbeat_ivl, 1000);
        router_.set(zmq::sockopt::heartbeat_timeout, 5000);
        router_.set(zmq::sockopt::heartbeat_ttl, 5000);
        if (!cfg_.insecure) {
            router_.set(zmq::sockopt::curve_server, 1);
            router_.set(zmq::sockopt::curve_secretkey, cfg_.secret_key);
            router_.set(zmq::sockopt::zap_domain, "dcc-witness");
        }
        if (zmq_socket_monitor(router_.handle(), "inproc://dccd-witness-monitor",
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL))
            throw Error(kExitError, "cannot monitor the witness's listener");
        monitor_ = zmq::socket_t(ctx_, zmq::socket_type::pair);
        monitor_.set(zmq::sockopt::linger, 0);
        monitor_.connect("inproc://dccd-witness-monitor");
        try {
            router_.bind(cfg_.listen);
        } catch (const zmq::error_t& e) {
            throw Error(kExitError, "cannot listen on " + cfg_.listen + ": " + e.what(), e.num());
        }
        endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    } catch (...) {
        for (int fd : {sig_fd_, stop_fd_, dir_fd_, lock_fd_})
            if (fd >= 0) close(fd);
        throw;
    }
}

Witnessd::~Witnessd() {
    monitor_.close();
    router_.close();
    zap_.close();
    for (int fd : {sig_fd_, stop_fd_, dir_fd_, lock_fd_})
        if (fd >= 0) close(fd);
}

void Witnessd::stop() {
    uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof(one));
}

namespace {

// @text as file @name in directory @dir_fd (@dir, for messages), durably:
// a temporary file written and synced, renamed, and the directory synced.
// Throws Error naming the temporary file.
void write_durably(int dir_fd, const std::string& dir, const std::string& name,
                   const std::string& text) {
    const std::string tmp = "." + name + ".tmp";
    auto fail = [&](const std::string& what) {
        int err = errno;
        throw Error(kExitError, errno_text(what + " " + dir + "/" + tmp, err), err);
    };
    int fd = openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) fail("create");
    for (size_t done = 0; done < text.size();) {
        ssize_t n = write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            errno = err;
            fail("write");
        }
        done += size_t(n);
    }
    if (fsync(fd)) {
        int err = errno;
        close(fd);
        errno = err;
        fail("fsync");
    }
    if (close(fd)) fail("close");
    if (renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str())) fail("rename");
    if (fsync(dir_fd)) fail("fsync the directory of");
}

void fsync_path(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd)) {
        int e = errno;
        if (fd >= 0) close(fd);
        throw Error(kExitError, errno_text("fsync " + path, e), e);
    }
    close(fd);
}

}  // namespace

void init_witness_state(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        fs::create_directories(dir, ec);
        if (ec) throw Error(kExitError, "cannot make " + dir + ": " + ec.message());
        fs::permissions(dir, fs::perms::owner_all, ec);
        fsync_path(fs::path(dir).parent_path().empty() ? "." : fs::path(dir).parent_path().string());
    }
    if (!fs::is_directory(dir, ec)) throw Error(kExitUsage, dir + " is not a directory");
    const std::string marker = dir + "/" + kWitnessMarker;
    if (fs::exists(marker, ec))
        throw Error(kExitRefused, dir + " is a witness's state directory already: nothing changed");
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".rec")
            throw Error(kExitRefused, dir + " holds witness records (" + e.path().filename().string() +
                                          ") but no " + kWitnessMarker + ": nothing changed");
    if (ec) throw Error(kExitError, "cannot read " + dir + ": " + ec.message());
    int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) throw Error(kExitError, errno_text("open " + dir, errno), errno);
    try {
        write_durably(dir_fd, dir, kWitnessMarker,
                      "dcc witness state directory: its records are what the witness granted\n");
    } catch (...) {
        close(dir_fd);
        throw;
    }
    close(dir_fd);
}

// The state directory, locked: two witnesses on one directory would each
// grant from a record the other changes.  It is never made here, and one
// without the marker is refused before anything is written in it: a
// missing or unmarked directory (a disk not mounted, a path mistyped)
// would be a witness without its records.  dccd --witness --init makes it.
void Witnessd::open_state_dir() {
    const std::string& dir = cfg_.state_dir;
    dir_fd_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0 && errno == ENOENT)
        throw Error(kExitUsage, "the state directory " + dir + " does not exist (a disk that is not "
                                "mounted? a new witness: dccd --witness --init, once)");
    if (dir_fd_ < 0) throw Error(kExitError, errno_text("open " + dir, errno), errno);
    if (faccessat(dir_fd_, kWitnessMarker, F_OK, 0))
        throw Error(kExitUsage, dir + " is not a witness's state directory (no " + kWitnessMarker +
                                    " in it): a disk that is not mounted? a new witness: dccd "
                                    "--witness --init, once");
    lock_fd_ = openat(dir_fd_, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) throw Error(kExitError, errno_text("open " + dir + "/.lock", errno), errno);
    if (flock(lock_fd_, LOCK_EX | LOCK_NB))
        throw Error(kExitError, errno == EWOULDBLOCK ? "another witness uses " + dir
                                                     : errno_text("lock " + dir + "/.lock", errno));
}

void Witnessd::load_records() {
    const std::string& dir = cfg_.state_dir;
    int fd = dup(dir_fd_);
    DIR* d = fd >= 0 ? fdopendir(fd) : nullptr;
    if (!d) {
        if (fd >= 0) close(fd);
        throw Error(kExitError, errno_text("read " + dir, errno), errno);
    }
    std::unique_ptr<DIR, int (*)(DIR*)> guard(d, closedir);
    std::vector<std::string> names;
    while (dirent* e = readdir(d)) names.push_back(e->d_name);
    for (const std::string& name : names) {
        const std::string path = dir + "/" + name;
        auto ends = [&](std::string_view s) {
            return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
        };
        if (name == "." || name == ".." || name == ".lock" || name == kWitnessMarker) continue;
        if (name[0] == '.' && ends(".rec.tmp")) {
            // Written but never renamed: its answer was never sent.
            if (unlinkat(dir_fd_, name.c_str(), 0))
                log_warn("cannot remove the unfinished record %s: %s", path.c_str(), std::strerror(errno));
            else
                log_info("removed the unfinished record %s", path.c_str());
            continue;
        }
        if (!ends(".rec")) {
            log_warn("ignoring %s: not a witness record", path.c_str());
            continue;
        }
        std::string stem = name.substr(0, name.size() - 4);
        auto vol = parse_uuid(stem);
        if (!vol || format_uuid(*vol) != stem)
            throw Error(kExitError, path + ": not a volume's record (the name is not a lower-case UUID)");
        int rfd = openat(dir_fd_, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (rfd < 0) throw Error(kExitError, errno_text("open " + path, errno), errno);
        std::string text(kMaxRecordFile + 1, '\0');
        size_t got = 0;
        for (;;) {
            ssize_t n = read(rfd, text.data() + got, text.size() - got);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                int err = errno;
                close(rfd);
                throw Error(kExitError, errno_text("read " + path, err), err);
            }
            if (n == 0 || (got += size_t(n)) == text.size()) break;
        }
        close(rfd);
        text.resize(got);
        std::string why = "larger than a record";
        std::optional<core::WitnessRecord> r;
        if (got <= kMaxRecordFile) r = core::parse_witness_record(text, *vol, why);
        if (!r)
            throw Error(kExitError, path + ": corrupt witness record (" + why +
                                        "); the witness does not start without every record it wrote");
        witness_.load(*vol, std::move(*r));
        loaded_++;
    }
}

// Temporary file, fsync, rename, fsync of the directory: after a power cut
// the record is the old one or the new one, and the new one is on disk
// before the answer that relies on it leaves.
void Witnessd::persist(const Uuid& vol, const core::WitnessRecord& r) {
    write_durably(dir_fd_, cfg_.state_dir, format_uuid(vol) + ".rec", core::format_witness_record(vol, r));
}

// ZAP (RFC 27): only the sites' keys, and the site's name as User-Id, so
// that a request is checked against the connection it came on.
void Witnessd::serve_zap() {
    auto r = zap_request(zap_);
    if (!r) return;
    std::string site;
    if (auto it = site_of_key_.find(r->key); !r->key.empty() && it != site_of_key_.end())
        site = it->second;
    bool ok = !site.empty();
    if (!ok)
        quietly("zap:" + r->address,
                fmt("refused a %s connection from %s: key not allowed", r->mechanism.c_str(),
                    r->address.c_str()),
                true);
    zap_reply(zap_, *r, ok, site);
}

// Handshakes that fail before ZAP is asked (no CURVE, a wrong server key).
void Witnessd::serve_monitor() {
    auto e = read_monitor(monitor_);
    if (!e) return;
    bool named = e->event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
    std::string why = handshake_failure(*e, cfg_.insecure, "the witness");
    if (monitor_log_.take(named, why, RefusalLog::Clock::now()))
        log_warn("refused a connection to the witness (%s): %s", e->endpoint.c_str(), why.c_str());
}

void Witnessd::quietly(const std::string& key, const std::string& line, bool warn) {
    auto now = core::BootClock::now();
    if (quiet_.size() > 4096) quiet_.clear();  // bounded, whoever sends what
    auto [it, fresh] = quiet_.try_emplace(key);
    Quiet& q = it->second;
    if (!fresh && now - q.logged < minutes(1)) {
        q.left_out++;
        return;
    }
    std::string more = q.left_out ? " (and " + std::to_string(q.left_out) + " more like it)" : "";
    if (warn)
        log_warn("%s%s", line.c_str(), more.c_str());
    else
        log_info("%s%s", line.c_str(), more.c_str());
    q.logged = now;
    q.left_out = 0;
}

void Witnessd::answer(const zmq::message_t& identity, const wire::Message& req, int status,
                      const core::WitnessRecord& rec, uint64_t arg) {
    wire::Message m;
    m.type = wire::Type::WAnswer;
    m.volume = req.volume;
    m.from = incarnation_;
    m.to = req.from;
    m.seq = req.seq;
    m.generation = rec.generation;
    m.site = rec.owner;
    m.status = status;
    m.arg = arg;
    m.region = rec.outdated ? rec.epoch : 0;  // the fence that stands
    std::vector<uint8_t> h = wire::encode(m);
    try {
        if (router_.send(zmq::buffer(identity.data(), identity.size()),
                         zmq::send_flags::sndmore | zmq::send_flags::dontwait))
            (void)router_.send(zmq::buffer(h), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
        // The site went away: it asks again, and gets the same answer.
    }
}

bool Witnessd::serve(std::vector<zmq::message_t>& frames) {
    if (frames.size() < 2) {
        quietly("decode", "dropped a message to the witness: no header frame", true);
        return true;
    }
    const zmq::message_t& h = frames[1];
    wire::Decoded d = wire::decode({static_cast<const uint8_t*>(h.data()), h.size()}, frames.size() - 2);
    if (!d.msg) {
        quietly("decode:" + d.error, "dropped a message to the witness: " + d.error, true);
        return true;
    }
    const wire::Message& req = *d.msg;
    if (!wire::is_witness(req.type) || req.type == wire::Type::WAnswer) {
        if (unserved_.insert(uint8_t(req.type)).second)
            log_warn("dropped a %s: the witness serves only W_RENEW, W_CLAIM, W_YIELD, W_OUTDATE and "
                     "W_UPTODATE (logged once)",
                     wire::type_name(req.type));
        return true;
    }
    const std::string vol = format_uuid(req.volume);
    const char* type = wire::type_name(req.type);

    // Who sent it: the connection's site (CURVE), or what the body says.
    std::string who;
    if (!cfg_.insecure) {
        const char* uid = zmq_msg_gets(h.handle(), "User-Id");
        who = uid ? uid : "";
        if (req.site != who) {
            quietly("acces:" + who + ":" + req.site,
                    fmt("refused a %s of volume %s: the site %s sent it in the name of %s", type,
                        vol.c_str(), who.empty() ? "(unknown)" : who.c_str(), req.site.c_str()),
                    true);
            answer(frames[0], req, EACCES, {}, 0);
            return true;
        }
    } else if (!cfg_.sites.empty() && !cfg_.sites.count(req.site)) {
        quietly("acces:" + req.site, fmt("refused a %s of volume %s: %s is not one of the sites",
                                         type, vol.c_str(), req.site.c_str()),
                true);
        answer(frames[0], req, EACCES, {}, 0);
        return true;
    }
    if (req.type == wire::Type::WYield && !cfg_.sites.empty() && !cfg_.sites.count(req.to_site)) {
        quietly("acces-to:" + req.site + ":" + req.to_site,
                fmt("refused a W_YIELD of volume %s from %s: %s is not one of the sites", vol.c_str(),
                    req.site.c_str(), req.to_site.c_str()),
                true);
        answer(frames[0], req, EACCES, {}, 0);
        return true;
    }

    auto now = opt_.clock();
    const core::WitnessRecord before = witness_.record(req.volume) ? *witness_.record(req.volume)
                                                                   : core::WitnessRecord{};
    core::WitnessAnswer a;
    switch (req.type) {
    case wire::Type::WRenew: a = witness_.renew(req.volume, req.generation, req.site, now); break;
    case wire::Type::WClaim: a = witness_.claim(req.volume, req.generation, req.site, now); break;
    case wire::Type::WOutdate: a = witness_.outdate(req.volume, req.generation, req.site, now); break;
    case wire::Type::WUptodate:
        a = witness_.uptodate(req.volume, req.generation, req.site, req.region, now);
        break;
    default: a = witness_.yield(req.volume, req.generation, req.site, req.to_site, now); break;
    }
    if (a.persist) {
        try {
            persist(req.volume, a.record);
        } catch (const Error& e) {
            // The answer is not sent, and this process's state is ahead of
            // its disk: end it; started again, it reads the disk.
            log_warn("cannot write the record of volume %s, stopping without answering: %s",
                     vol.c_str(), e.what());
            return false;
        }
#ifdef DCC_TEST_HOOKS
        // The VM tests' crash point: a claim's record is on disk, its
        // answer never leaves.
        const char* at = getenv("DCCD_CRASH_AT");
        if (at && !std::strcmp(at, "witness-claimed") && req.type == wire::Type::WClaim) {
            log_warn("crash point witness-claimed: killing myself");
            raise(SIGKILL);
        }
#endif
    }
    const unsigned long long gen = a.record.generation, epoch = a.record.epoch;
    // A record that moved on to a newer generation took no fence with it.
    const std::string unfenced =
        before.outdated && !a.record.outdated && before.generation != a.record.generation
            ? fmt("; the fence of epoch %llu went with it", (unsigned long long)before.epoch)
            : "";
    if (a.granted) {
        if (req.type == wire::Type::WRenew && a.persist && !before.generation)
            log_info("volume %s: generation %llu is %s's (the first renewal the witness hears of)",
                     vol.c_str(), gen, req.site.c_str());
        else if (req.type == wire::Type::WRenew && a.persist)
            log_info("volume %s: generation %llu is %s's (its renewal; the record was %llu of %s%s)",
                     vol.c_str(), gen, req.site.c_str(), (unsigned long long)before.generation,
                     before.owner.c_str(), unfenced.c_str());
        else if (req.type == wire::Type::WClaim)
            log_info("volume %s: generation %llu claimed by %s%s", vol.c_str(), gen, req.site.c_str(),
                     a.persist ? "" : " (again: the answer to its claim was lost)");
        else if (req.type == wire::Type::WYield)
            log_info("volume %s: %s yields generation %llu to %s", vol.c_str(), req.site.c_str(),
                     (unsigned long long)a.record.yield_generation, a.record.yield_to.c_str());
        else if (req.type == wire::Type::WOutdate)
            log_warn("volume %s: %s goes on without its replica at generation %llu: fenced, epoch %llu; "
                     "no claim is granted until it says the replica is up to date",
                     vol.c_str(), req.site.c_str(), gen, epoch);
        else if (req.type == wire::Type::WUptodate && a.persist)
            log_info("volume %s: %s says its replica is up to date at generation %llu: the fence of "
                     "epoch %llu is lifted",
                     vol.c_str(), req.site.c_str(), gen, epoch);
        answer(frames[0], req, 0, a.record, uint64_t(a.length.count()));
        return true;
    }
    int status = a.fenced ? ESTALE : a.lease_holds ? EBUSY : EPERM;
    std::string fence = a.record.outdated ? fmt(", fenced at epoch %llu", epoch) : "";
    if (req.type == wire::Type::WUptodate)
        fence += fmt(" (the UPTODATE names epoch %llu)", (unsigned long long)req.region);
    // A refused OUTDATE holds the owner's writes, a refused UPTODATE keeps
    // the fence, a fenced CLAIM keeps a replica from failing over.
    bool warn = a.fenced || req.type == wire::Type::WOutdate || req.type == wire::Type::WUptodate;
    quietly(fmt("refused:%s:%s:%s:%s", vol.c_str(), type, req.site.c_str(), a.why),
            fmt("volume %s: refused %s's %s of generation %llu (%s): %s; the record is %llu of %s%s",
                vol.c_str(), req.site.c_str(), type, (unsigned long long)req.generation,
                status_name(status), a.why, gen,
                a.record.owner.empty() ? "nobody" : a.record.owner.c_str(), fence.c_str()),
            warn);
    answer(frames[0], req, status, a.record, uint64_t(a.lease_left.count()));
    return true;
}

int Witnessd::run() {
    if (failed_) return kExitError;  // its state is not its disk's
    log_info("witness: listening on %s%s, %zu sites, %zu records in %s, leases of %u ms", endpoint_.c_str(),
             cfg_.insecure ? " (insecure)" : "", cfg_.sites.size(), loaded_, cfg_.state_dir.c_str(),
             cfg_.lease_ms);
    if (opt_.signals) sd_notifyf(0, "READY=1\nSTATUS=%zu records", loaded_);
    for (;;) {
        std::vector<zmq::pollitem_t> items = {
            {router_.handle(), 0, ZMQ_POLLIN, 0},
            {monitor_.handle(), 0, ZMQ_POLLIN, 0},
            {nullptr, stop_fd_, ZMQ_POLLIN, 0},
            {nullptr, sig_fd_, short(sig_fd_ >= 0 ? ZMQ_POLLIN : 0), 0},
        };
        if (!cfg_.insecure) items.push_back({zap_.handle(), 0, ZMQ_POLLIN, 0});
        zmq::poll(items.data(), items.size(), milliseconds(1000));
        auto ready = [&](size_t i) { return items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR); };
        int sig = sig_fd_ >= 0 && ready(3) ? take_signal(sig_fd_) : 0;
        if (sig == SIGHUP) {
            log_info("witness: SIGHUP: nothing to reload (a changed configuration takes effect at "
                     "the next start)");
            sig = 0;
        }
        if (ready(2) || sig) {
            log_info("witness: stopping");
            return 0;
        }
        if (!cfg_.insecure && ready(4)) serve_zap();
        if (ready(1)) serve_monitor();
        if (ready(0))
            for (int budget = 64; budget--;) {
                std::vector<zmq::message_t> frames = recv_multipart(router_);
                if (frames.empty()) break;
                if (!serve(frames)) {
                    failed_ = true;
                    return kExitError;
                }
            }
    }
}

}  // namespace dcc
