// SPDX-License-Identifier: GPL-2.0-only
// dccd: one per host, for all its dcc volumes.
//
// It registers with the kernel for every dcc device, pairs each with the
// peer's by UUID and then, per volume:
//   owner:   fetches missing regions from the peer when a bio waits for
//            them (control channel), pulls the other missing regions in the
//            background (bulk channel), and pushes dirty regions, and any the
//            peer lacks, to the peer (bulk channel, rate-limited); a pushed
//            region's dirty bit is cleared once the peer has it on disk, and
//            only if it was not written again meanwhile;
//   replica: writes pushed regions and makes them durable before it
//            acknowledges, tells the owner which regions it lacks, serves the
//            owner's fetches and pulls.
// Everything runs in one thread around zmq::poll.
#include <fcntl.h>
#include <signal.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "config.hpp"
#include "dcc/control.hpp"
#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "dcc/nl.hpp"
#include "dcc/status.hpp"
#include "log.hpp"
#include "peer.hpp"
#include "report.hpp"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

namespace dcc {

namespace {

using Clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;
using nlohmann::json;

// One JSON line for a control client.  Requests and device names are bytes
// from outside: what is not UTF-8 is replaced, never a reason to throw.
std::string json_line(const json& j) { return control::dump(j) + "\n"; }

struct AlignedFree {
    void operator()(void* p) const { free(p); }
};
using Buffer = std::unique_ptr<uint8_t, AlignedFree>;

Buffer aligned(size_t n) {
    void* p = nullptr;
    if (posix_memalign(&p, 4096, n)) throw Error(kExitError, "out of memory", ENOMEM);
    return Buffer(static_cast<uint8_t*>(p));
}

// The answer to @m: same seq, volume and region, type @t.
wire::Message answer_to(const wire::Message& m, wire::Type t) {
    wire::Message r;
    r.type = t;
    r.seq = m.seq;
    r.volume = m.volume;
    r.region = m.region;
    return r;
}

struct Push {
    uint64_t region;
    bool dirty;  // from the dirty set (clear it when acknowledged)
    Clock::time_point sent{};
};

struct Fill {
    uint64_t seq;
    Clock::time_point retry_at;  // ask again from then on if no answer came
    bool written = false;        // the data is in place, FILL_DONE is due
};

// A region whose data is written here, waiting for the FILL_DONE that makes
// it valid: several are ended with one request, so one metadata commit (and
// one flush of the data device) serves them all.
struct WrittenFill {
    uint64_t region;
    size_t bytes;
    report::RateMeter* meter;     // what to count it in once valid
    std::optional<Incoming> ack;  // replica: the push to acknowledge then
};

struct Volume {
    std::string name;
    nl::Dev dev;
    nl::RegisterReply reg;
    int data_fd = -1;
    uint64_t region_bytes = 0;
    uint8_t role = 0;
    uint64_t generation = 0;
    RangeSet invalid;  // regions not valid here; changes only through us

    bool attached = false;
    bool attach_sent = false;
    wire::VolumeInfo peer;
    uint64_t peer_generation = 0;

    // owner
    RangeSet resync;                     // regions the peer lacks
    std::deque<Push> queue;              // regions to push next
    std::map<uint64_t, Push> pushing;    // seq -> push in flight
    uint64_t dirty_cursor = 0;
    Clock::time_point last_refill{};
    std::map<uint64_t, Fill> filling;    // region -> the newest fetch/pull for it
    std::set<uint64_t> pulls;            // regions we locked for a background pull
    bool check_pending = true;

    // replica
    std::vector<Incoming> acks;  // pushes written, awaiting a flush

    std::vector<WrittenFill> written;  // fills awaiting their FILL_DONE

    // handover, old owner: Sending (suspended, waiting for the ack), or
    // Uncertain (no ack: suspended until the peer's generation is known)
    // Fenced: the handover stayed unanswered too long; I/O fails (replica at
    // the old generation) until pairing shows who owns it.
    enum class Ho { None, Sending, Uncertain, Fenced } ho = Ho::None;
    uint64_t ho_gen = 0;
    Clock::time_point ho_start, ho_deadline;
    RangeSet ho_ranges;    // new owner: parts received so far
    std::vector<int> waiters;  // control clients waiting for a migration

    // what status and events report
    std::optional<TargetStatus> kst;          // the kernel's status line
    report::RateMeter pushed, pulled, fetched;
    std::optional<uint64_t> peer_backlog;     // replica: the owner's last report
    std::optional<int64_t> last_ho_ms;
    std::optional<report::VolumeState> shown; // as last published
    uint64_t progress_sent = UINT64_MAX;      // owner: backlog last reported
    Clock::time_point progress_time{};

    ~Volume() {
        if (data_fd >= 0) close(data_fd);
    }
    const char* ho_name() const {
        switch (ho) {
        case Ho::Sending: return "sending";
        case Ho::Uncertain: return "uncertain";
        case Ho::Fenced: return "fenced";
        default: return "none";
        }
    }
    uint64_t region_len(uint64_t r) const {
        return std::min<uint64_t>(region_bytes, reg.data_sectors * 512 - r * region_bytes);
    }
    bool owner() const { return role == DCC_ROLE_OWNER; }
};

// A connection on the local control socket.
struct CtlClient {
    int fd;
    std::string in;       // request bytes so far
    bool events = false;  // subscribed to the event stream
};

class Daemon {
public:
    explicit Daemon(const Config& cfg);
    int run();

private:
    void scan_volumes();
    void add_volume(const dcc::Volume& v);
    void link_tick(Clock::time_point now);
    void link_down(const char* why);
    void reset_volumes();
    void send_attach(Volume& v);
    void reload_invalid(Volume& v);
    RangeSet kernel_set(const Volume& v, uint8_t set);
    void handle(Incoming& in);
    void handle_request(Incoming& in);
    void handle_reply(Incoming& in);
    void on_attach_ack(Volume& v, const wire::Message& m);
    void send_invalid_set(Volume& v);
    void serve_pending(Volume& v);
    void hydrate(Volume& v);
    void replicate(Volume& v, Clock::time_point now);
    void finish_fill(Volume& v, uint64_t region, uint64_t seq, const Incoming& in);
    void apply_push(Volume& v, Incoming& in);
    void flush_acks(Volume& v);
    void end_fills(Volume& v);
    // migration
    std::string start_handover(Volume& v);
    void crash_point(const char* point);
    void finish_handover(Volume& v, int status);
    void apply_handover(Volume& v, Incoming& in);
    void become_replica(Volume& v, uint64_t generation);
    void answer(Volume& v, json reply);
    void answer_error(Volume& v, const std::string& text) { answer(v, {{"ok", false}, {"error", text}}); }
    // status and events
    void refresh_kernel_status();
    report::VolumeState state_of(const Volume& v) const;
    void publish(Clock::time_point now);
    void emit(json e);
    void clear_stale_dirty(Volume& v);
    // the control socket
    void maintain(Volume& v, Clock::time_point now);
    void receive(Incoming& in);
    void kernel_events();
    void serve_urgent();
    void ctl_accept();
    void ctl_read(size_t i);
    void ctl_request(CtlClient& c, const std::string& line);
    int kernel(nl::Request r, std::string* text = nullptr);
    Volume* by_uuid(const Uuid& u);
    wire::Message vmsg(const Volume& v, wire::Type t, uint64_t region = 0);

    const Config& cfg_;
    zmq::context_t ctx_;
    PeerLink link_;
    nl::Client kernel_;
    nl::EventSocket events_;
    std::map<std::string, std::unique_ptr<Volume>> vols_;  // by dm name
    Buffer buf_;
    bool link_up_ = false;
    std::string peer_site_;
    uint64_t seq_ = 1;
    Clock::time_point last_heard_, last_ping_, last_scan_, last_down_log_{};
    double tokens_ = 0;
    Clock::time_point token_time_ = Clock::now();
    int sig_fd_ = -1;
    int ctl_fd_ = -1;
    std::vector<CtlClient> ctl_;
    Clock::time_point last_publish_;
    std::string next_volume_;  // where the next round of volume work starts
};

Daemon::Daemon(const Config& cfg)
    : cfg_(cfg), ctx_(1), link_(ctx_, cfg), buf_(aligned(wire::kMaxPayload)) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    sig_fd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

    // The local control socket: only root may connect.
    std::string dir = cfg.control_socket.substr(0, cfg.control_socket.rfind('/'));
    if (!dir.empty()) mkdir(dir.c_str(), 0700);
    unlink(cfg.control_socket.c_str());
    ctl_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (cfg.control_socket.size() >= sizeof(sa.sun_path))
        throw Error(kExitUsage, "control_socket path too long");
    std::strcpy(sa.sun_path, cfg.control_socket.c_str());
    mode_t old = umask(0077);
    if (ctl_fd_ < 0 || bind(ctl_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) ||
        listen(ctl_fd_, 16))
        throw Error(kExitError, errno_text("control socket " + cfg.control_socket, errno), errno);
    umask(old);
}

int Daemon::kernel(nl::Request r, std::string* text) { return kernel_.transact(r, nullptr, text); }

Volume* Daemon::by_uuid(const Uuid& u) {
    for (auto& [_, v] : vols_)
        if (v->reg.uuid == u) return v.get();
    return nullptr;
}

wire::Message Daemon::vmsg(const Volume& v, wire::Type t, uint64_t region) {
    wire::Message m;
    m.type = t;
    m.volume = v.reg.uuid;
    m.generation = v.generation;
    m.region = region;
    m.seq = seq_++;
    return m;
}

void Daemon::scan_volumes() {
    std::set<std::string> seen;
    for (const dcc::Volume& v : list_volumes()) {
        seen.insert(v.name);
        if (!vols_.count(v.name)) add_volume(v);
    }
    for (auto it = vols_.begin(); it != vols_.end();) {
        if (seen.count(it->first)) {
            ++it;
            continue;
        }
        log_info("%s: device gone", it->first.c_str());
        answer_error(*it->second, "the device is gone");
        emit({{"event", "removed"}, {"volume", it->first}});
        it = vols_.erase(it);
    }
}

void Daemon::add_volume(const dcc::Volume& dv) {
    auto v = std::make_unique<Volume>();
    v->name = dv.name;
    v->dev = dv.dev;
    try {
        v->reg = kernel_.register_volume(dv.dev);
    } catch (const Error& e) {
        log_warn("%s: %s", dv.name.c_str(), e.what());
        return;
    }
    v->role = v->reg.role;
    v->generation = v->reg.generation;
    v->region_bytes = uint64_t(v->reg.region_sectors) * 512;
    v->data_fd = open_block_device(v->reg.data, O_RDWR | O_DIRECT);
    reload_invalid(*v);
    log_info("%s: volume %s, %llu regions, %s, generation %llu, %llu regions missing here",
             dv.name.c_str(), format_uuid(v->reg.uuid).c_str(),
             (unsigned long long)v->reg.nr_regions, role_name(Role(v->role)),
             (unsigned long long)v->generation, (unsigned long long)v->invalid.count());
    try {
        if (dm_suspended(dv.name) && v->owner()) {
            // A handover was cut short: the peer's generation decides.
            log_warn("%s: suspended owner found: waiting for the peer's generation", dv.name.c_str());
            v->ho = Volume::Ho::Uncertain;
            v->ho_deadline = Clock::now() + ms(cfg_.handover_timeout_ms);
        }
    } catch (const Error&) {
    }
    Volume& ref = *v;
    vols_[dv.name] = std::move(v);
    if (link_up_) send_attach(ref);
}

// The kernel's invalid set.  Ours changes through our fills, but a write
// that covers a whole region makes it valid in the kernel alone.
void Daemon::reload_invalid(Volume& v) { v.invalid = kernel_set(v, DCC_SET_INVALID); }

// A whole region set of the kernel's (DCC_SET_*), read a reply at a time.
RangeSet Daemon::kernel_set(const Volume& v, uint8_t set) {
    RangeSet s;
    for (uint64_t cursor = 0;;) {
        nl::RegionsReply r = kernel_.get_regions(v.dev, set, cursor);
        for (const Range& x : r.ranges) s.add(x.start, x.count);
        if (!r.next) return s;
        cursor = *r.next;
    }
}

void Daemon::send_attach(Volume& v) {
    wire::Message m = vmsg(v, wire::Type::Attach);
    m.info = {v.reg.region_sectors, v.reg.nr_regions, v.role};
    v.attach_sent = link_.request(Chan::Ctl, m);
}

void Daemon::link_down(const char* why) {
    if (link_up_) {
        log_warn("link to %s lost: %s", peer_site_.c_str(), why);
        emit({{"event", "link"}, {"state", "down"}, {"peer", peer_site_}, {"why", why}});
    }
    link_up_ = false;
    reset_volumes();
}

// Forget what was in flight; volumes pair again and resend what is owed.
void Daemon::reset_volumes() {
    for (auto& [_, v] : vols_) {
        try {
            end_fills(*v);  // their data is in place: keep it
        } catch (const Error& e) {
            log_warn("%s: %s", v->name.c_str(), e.what());
        }
        v->attached = v->attach_sent = false;
        v->queue.clear();
        v->pushing.clear();
        v->acks.clear();
        // Fills in flight are asked for again once the link is back; the
        // regions stay locked in the kernel meanwhile.
        v->filling.clear();
        v->check_pending = true;
        v->peer_backlog.reset();
        v->progress_sent = UINT64_MAX;
        // With the link still up (the peer restarted), at once rather than
        // at the next heartbeat: the peer answers ATTACH whether or not it
        // has our HELLO_ACK yet.
        if (link_up_) send_attach(*v);
    }
}

void Daemon::link_tick(Clock::time_point now) {
    if (link_up_ && now - last_heard_ > ms(cfg_.link_timeout_ms)) link_down("no heartbeat");
    if (now - last_ping_ < ms(cfg_.heartbeat_ms)) return;
    last_ping_ = now;
    wire::Message m;
    m.seq = seq_++;
    if (link_up_) {
        m.type = wire::Type::Ping;
    } else {
        m.type = wire::Type::Hello;
        m.site = cfg_.site;
    }
    bool sent = link_.request(Chan::Ctl, m);
    if (!link_up_ && now - last_down_log_ > ms(30000)) {
        last_down_log_ = now;
        log_info("no link to the peer at %s yet (%s)", cfg_.peer.c_str(),
                 sent ? "hello sent, no answer" : "not connected");
    }
    for (auto& [_, v] : vols_)
        if (link_up_ && !v->attached && !v->attach_sent) send_attach(*v);
}

void Daemon::handle(Incoming& in) {
    last_heard_ = Clock::now();  // anything from the peer shows it is alive
    if (in.request) handle_request(in);
    else handle_reply(in);
}

void Daemon::handle_request(Incoming& in) {
    using wire::Type;
    const wire::Message& m = in.msg;
    wire::Message r = answer_to(m, m.type);
    switch (m.type) {
    case Type::Hello:
        r.type = Type::HelloAck;
        r.site = cfg_.site;
        if (m.site == cfg_.site) {
            log_warn("peer calls itself '%s' too: refusing it", m.site.c_str());
            r.status = EINVAL;
        } else if (link_up_) {
            // The peer started again while the link looked up: what it had
            // in flight is gone, so pair again from scratch.
            log_info("%s restarted", m.site.c_str());
            reset_volumes();
        }
        link_.reply(in, r);
        return;
    case Type::Ping:
        r.type = Type::Pong;
        link_.reply(in, r);
        return;
    default:
        break;
    }
    Volume* v = by_uuid(m.volume);
    if (m.type == Type::Attach) {
        r.type = Type::AttachAck;
        if (!v) {
            log_warn("peer has volume %s, this site does not", format_uuid(m.volume).c_str());
            r.status = ENOENT;
            r.info = m.info;
        } else {
            r.generation = v->generation;
            r.info = {v->reg.region_sectors, v->reg.nr_regions, v->role};
            if (r.info.region_sectors != m.info.region_sectors ||
                r.info.nr_regions != m.info.nr_regions) {
                log_warn("%s: peer's copy has %llu regions of %u sectors, ours %llu of %u: refusing",
                         v->name.c_str(), (unsigned long long)m.info.nr_regions,
                         m.info.region_sectors, (unsigned long long)r.info.nr_regions,
                         r.info.region_sectors);
                r.status = EINVAL;
            }
        }
        link_.reply(in, r);
        return;
    }
    if (v && m.type == Type::InvalidSet) {
        // May come before our own ATTACH is answered: the peer checked the
        // pairing when it answered ours, and we check the ranges here.
        if (!v->owner()) return;
        if (!m.ranges.empty() && m.ranges.back().end() > v->reg.nr_regions) {
            log_warn("%s: peer reported missing regions past the end: ignored", v->name.c_str());
            return;
        }
        for (const Range& x : m.ranges) v->resync.add(x.start, x.count);
        if (m.flags & wire::kFlagLast)
            log_info("%s: peer lacks %llu regions; sending them", v->name.c_str(),
                     (unsigned long long)v->resync.count());
        return;
    }
    if (v && m.type == Type::Progress) {
        if (!v->owner() && m.generation == v->generation) v->peer_backlog = m.region;
        return;
    }
    // The requester paired the volume (we answered its ATTACH); what it asks
    // must still be about our generation.
    if (!v || (m.generation != v->generation && m.type != Type::Handover)) {
        if (m.type == Type::Handover || m.type == Type::HandoverAsk) {
            r.type = Type::HandoverAck;
            r.status = v ? ESTALE : ENOENT;
            link_.reply(in, r);
            return;
        }
        r.type = m.type == Type::Push ? Type::PushAck
                 : m.type == Type::Fetch ? Type::FetchReply
                 : Type::PullReply;
        r.status = v ? ESTALE : ENOENT;
        if (m.type == Type::Fetch || m.type == Type::Pull || m.type == Type::Push) link_.reply(in, r);
        return;
    }
    switch (m.type) {
    case Type::Fetch:
    case Type::Pull: {
        r.type = m.type == Type::Fetch ? Type::FetchReply : Type::PullReply;
        r.generation = v->generation;
        if (m.region < v->reg.nr_regions && v->invalid.contains(m.region))
            reload_invalid(*v);  // it may have been written whole here since
        if (m.region >= v->reg.nr_regions || v->invalid.contains(m.region)) {
            r.status = m.region >= v->reg.nr_regions ? ERANGE : ENODATA;
            link_.reply(in, r);
            return;
        }
        uint64_t len = v->region_len(m.region);
        int e = read_full(v->data_fd, buf_.get(), len, m.region * v->region_bytes);
        r.status = e;
        link_.reply(in, r, buf_.get(), len);
        return;
    }
    case Type::Push:
        apply_push(*v, in);
        return;
    case Type::Handover:
        apply_handover(*v, in);
        return;
    case Type::HandoverAsk: {
        std::string err = v->owner() ? start_handover(*v) : "not the owner";
        if (!err.empty()) {
            log_warn("%s: peer asked for the volume: %s", v->name.c_str(), err.c_str());
            r.type = Type::HandoverAck;
            r.status = EBUSY;
            link_.reply(in, r);
        }
        return;
    }
    default:
        return;
    }
}

// A replica writes a pushed region; it acknowledges once it is durable.
void Daemon::apply_push(Volume& v, Incoming& in) {
    const wire::Message& m = in.msg;
    wire::Message r = answer_to(m, wire::Type::PushAck);
    int err = 0;
    if (v.owner() || m.generation != v.generation) err = ESTALE;
    else if (m.region >= v.reg.nr_regions) err = ERANGE;
    else if (in.payload.size() != v.region_len(m.region)) err = EINVAL;
    if (err) {
        r.status = err;
        link_.reply(in, r);
        return;
    }
    bool was_invalid = v.invalid.contains(m.region);
    if (was_invalid) {
        int e = kernel({.cmd = DCC_CMD_FILL_BEGIN, .dev = v.dev, .reg_id = v.reg.reg_id,
                        .region = m.region});
        if (e == -EEXIST) {
            v.invalid.remove(m.region);  // valid here after all: a plain overwrite
            was_invalid = false;
        } else if (e) {
            err = -e;
        }
    }
    std::memcpy(buf_.get(), in.payload.data(), in.payload.size());
    if (!err) err = write_full(v.data_fd, buf_.get(), in.payload.size(), m.region * v.region_bytes);
    if (was_invalid && !err) {
        // Valid, and acknowledged, with the next batch of fills.
        v.written.push_back({m.region, in.payload.size(), &v.pushed, std::move(in)});
        return;
    }
    if (was_invalid) {
        nl::Request done{.cmd = DCC_CMD_FILL_DONE, .dev = v.dev, .reg_id = v.reg.reg_id,
                         .region = m.region, .fill_errno = uint32_t(err)};
        kernel(done);
        r.status = err;
        link_.reply(in, r);
        return;
    }
    if (err) {
        r.status = err;
        link_.reply(in, r);
        return;
    }
    v.acks.push_back(std::move(in));
}

// End the fills written so far with as few FILL_DONEs as the kernel takes.
// The kernel flushes the data device before it records a region valid.
// If it refuses a batch, each fill is ended alone, so that one bad region
// does not fail the others.
void Daemon::end_fills(Volume& v) {
    if (v.written.empty()) return;
    std::vector<WrittenFill> batch;
    batch.swap(v.written);
    std::map<uint64_t, int> result;  // region -> 0 or -errno
    RangeSet all;
    for (const WrittenFill& w : batch) all.add(w.region, 1);
    nl::Request done{.cmd = DCC_CMD_FILL_DONE, .dev = v.dev, .reg_id = v.reg.reg_id};
    uint64_t regions = 0;
    auto send = [&] {
        int e = kernel(done);
        for (const Range& x : done.ranges)
            for (uint64_t r = x.start; r < x.end(); r++) result[r] = e;
        done.ranges.clear();
        regions = 0;
    };
    for (const Range& x : all.ranges()) {
        // Each range here is short: a batch holds at most a few hundred regions.
        if (regions + x.count > DCC_MAX_FILLS_PER_REQUEST || done.ranges.size() == DCC_MAX_RANGES_PER_REQUEST)
            send();
        done.ranges.push_back(x);
        regions += x.count;
    }
    if (!done.ranges.empty()) send();
    for (auto& [r, e] : result) {
        if (!e) continue;
        std::string text;
        e = kernel({.cmd = DCC_CMD_FILL_DONE, .dev = v.dev, .reg_id = v.reg.reg_id, .region = r}, &text);
        result[r] = e;
        if (e)
            log_warn("%s: region %llu: the kernel refused the fill: %s", v.name.c_str(),
                     (unsigned long long)r, text.empty() ? std::strerror(-e) : text.c_str());
    }
    for (WrittenFill& w : batch) {
        int e = result[w.region];
        auto f = v.filling.find(w.region);
        if (f != v.filling.end() && f->second.written) v.filling.erase(f);
        if (!e) {
            v.invalid.remove(w.region);
            w.meter->add(w.bytes);
        }
        if (w.ack) {
            wire::Message r = answer_to(w.ack->msg, wire::Type::PushAck);
            r.status = -e;
            link_.reply(*w.ack, r);
        }
    }
}

void Daemon::flush_acks(Volume& v) {
    end_fills(v);
    if (v.acks.empty()) return;
    int err = fdatasync(v.data_fd) ? errno : 0;
    for (const Incoming& in : v.acks) {
        if (!err) v.pushed.add(in.payload.size());
        wire::Message r = answer_to(in.msg, wire::Type::PushAck);
        r.status = err;
        link_.reply(in, r);
    }
    v.acks.clear();
}

void Daemon::handle_reply(Incoming& in) {
    using wire::Type;
    const wire::Message& m = in.msg;
    switch (m.type) {
    case Type::HelloAck:
        if (m.status) {
            log_warn("peer '%s' refused us: %s", m.site.c_str(), std::strerror(m.status));
            return;
        }
        if (!link_up_) {
            link_up_ = true;
            peer_site_ = m.site;
            last_heard_ = Clock::now();
            log_info("link to %s up", m.site.c_str());
            emit({{"event", "link"}, {"state", "up"}, {"peer", m.site}});
            for (auto& [_, v] : vols_) send_attach(*v);
        }
        return;
    case Type::Pong:
        return;
    default:
        break;
    }
    Volume* v = by_uuid(m.volume);
    if (!v) return;
    switch (m.type) {
    case Type::AttachAck:
        on_attach_ack(*v, m);
        return;
    case Type::HandoverAck:
        if (v->ho == Volume::Ho::Sending ||
            (v->ho != Volume::Ho::None && !m.status && m.generation == v->ho_gen)) {
            if (!m.status) crash_point("handover-acked");
            finish_handover(*v, m.status);  // a late ack still proves the peer took over
        } else if (m.status) {
            answer_error(*v, std::string("the owner refused: ") + std::strerror(m.status));
        }
        return;
    case Type::FetchReply:
    case Type::PullReply:
        finish_fill(*v, m.region, m.seq, in);
        return;
    case Type::PushAck: {
        auto it = v->pushing.find(m.seq);
        if (it == v->pushing.end()) return;  // from before a reconnect
        Push p = it->second;
        v->pushing.erase(it);
        if (m.status) {
            log_warn("%s: peer could not take region %llu: %s", v->name.c_str(),
                     (unsigned long long)p.region, std::strerror(m.status));
            return;  // dirty or still in resync: sent again later
        }
        v->resync.remove(p.region);
        v->pushed.add(v->region_len(p.region));
        if (p.dirty)
            kernel({.cmd = DCC_CMD_CLEAR_DIRTY, .dev = v->dev, .reg_id = v->reg.reg_id,
                    .region = p.region});
        return;
    }
    default:
        return;
    }
}

void Daemon::on_attach_ack(Volume& v, const wire::Message& m) {
    v.attach_sent = false;
    if (m.status) {
        log_warn("%s: peer refused to pair the volume: %s", v.name.c_str(), std::strerror(m.status));
        return;
    }
    if (m.info.region_sectors != v.reg.region_sectors || m.info.nr_regions != v.reg.nr_regions) {
        log_warn("%s: peer's copy has another geometry: not pairing", v.name.c_str());
        return;
    }
    if (v.ho == Volume::Ho::Uncertain || v.ho == Volume::Ho::Fenced) {
        if (m.info.role == DCC_ROLE_OWNER && m.generation > v.generation) {
            log_info("%s: the peer owns generation %llu: the handover had completed",
                     v.name.c_str(), (unsigned long long)m.generation);
            become_replica(v, m.generation);
        } else if (m.info.role == DCC_ROLE_REPLICA && m.generation == v.generation) {
            log_info("%s: the peer did not take generation %llu: staying owner", v.name.c_str(),
                     (unsigned long long)(v.generation + 1));
            if (v.ho == Volume::Ho::Fenced) {
                int e = kernel({.cmd = DCC_CMD_SET_ROLE, .dev = v.dev, .reg_id = v.reg.reg_id,
                                .generation = v.generation, .role = DCC_ROLE_OWNER});
                if (e) log_warn("%s: cannot take the owner role back: %s", v.name.c_str(),
                                std::strerror(-e));
                else v.role = DCC_ROLE_OWNER;
            } else {
                dm_resume(v.name);
            }
            v.ho = Volume::Ho::None;
        } else {
            log_warn("%s: peer is %s at generation %llu, we are owner at %llu: staying suspended",
                     v.name.c_str(), role_name(Role(m.info.role)), (unsigned long long)m.generation,
                     (unsigned long long)v.generation);
            return;
        }
    }
    if (v.ho == Volume::Ho::Sending) return;  // its ack decides
    if (m.info.role == v.role) {
        log_warn("%s: both sites are %s (generations %llu here, %llu there): not pairing; an "
                 "admin must choose",
                 v.name.c_str(), role_name(Role(v.role)), (unsigned long long)v.generation,
                 (unsigned long long)m.generation);
        return;
    }
    v.peer = m.info;
    v.peer_generation = m.generation;
    if (m.generation != v.generation) {
        log_warn("%s: generation %llu here, %llu at the peer: not pairing", v.name.c_str(),
                 (unsigned long long)v.generation, (unsigned long long)m.generation);
        return;
    }
    v.attached = true;
    v.check_pending = true;
    log_info("%s: paired with %s (%s there)", v.name.c_str(), peer_site_.c_str(),
             role_name(Role(m.info.role)));
    if (!v.owner()) send_invalid_set(v);
}

void Daemon::send_invalid_set(Volume& v) {
    const auto& rs = v.invalid.ranges();
    size_t i = 0;
    do {
        wire::Message m = vmsg(v, wire::Type::InvalidSet);
        for (; i < rs.size() && m.ranges.size() < wire::kMaxRanges; i++) m.ranges.push_back(rs[i]);
        if (i == rs.size()) m.flags = wire::kFlagLast;
        link_.request(Chan::Ctl, m);
    } while (i < rs.size());
}

// Old owner: stop I/O, send the dirty set and the next generation.
// Returns why it cannot, or "".
std::string Daemon::start_handover(Volume& v) {
    if (v.ho != Volume::Ho::None) return "a handover is already in progress";
    if (!v.owner()) return "this site is not the owner";
    if (!v.attached) return "the volume is not paired with the peer";
    end_fills(v);
    // Written-back page cache first, so that those writes are in the dirty set.
    try {
        int fd = open_block_device(v.dev, O_RDONLY);
        fsync(fd);
        close(fd);
        dm_suspend(v.name, true);  // waiting bios go back to dm's queue
    } catch (const Error& e) {
        return e.what();
    }
    v.ho_start = Clock::now();
    v.ho_gen = v.generation + 1;
    RangeSet dirty = kernel_set(v, DCC_SET_DIRTY);
    v.queue.clear();
    v.pushing.clear();
    const auto& rs = dirty.ranges();
    size_t i = 0;
    do {
        wire::Message m = vmsg(v, wire::Type::Handover);
        m.generation = v.ho_gen;
        for (; i < rs.size() && m.ranges.size() < wire::kMaxRanges; i++) m.ranges.push_back(rs[i]);
        if (i == rs.size()) m.flags = wire::kFlagLast;
        link_.request(Chan::Ctl, m);
    } while (i < rs.size());
    v.ho = Volume::Ho::Sending;
    v.ho_deadline = Clock::now() + ms(cfg_.handover_timeout_ms);
    log_info("%s: handing over to %s: generation %llu, %llu dirty regions", v.name.c_str(),
             peer_site_.c_str(), (unsigned long long)v.ho_gen, (unsigned long long)dirty.count());
    crash_point("handover-sent");
    return "";
}

// Fault injection for the tests: with DCCD_CRASH_AT=<point> in its
// environment dccd dies by SIGKILL, like kill -9, at that point of a
// handover; see dccd(8).  What it queued for the peer before the point
// first gets up to two seconds to reach the network (a real process that
// dies after send() returned has its message in the kernel's socket buffer,
// ZeroMQ's I/O thread needs a moment to put it there), and nothing that
// arrives meanwhile is acted on.
void Daemon::crash_point(const char* point) {
    static const char* at = getenv("DCCD_CRASH_AT");
    if (!at || std::strcmp(at, point)) return;
    log_warn("crash point %s: killing myself", point);
    link_.close(2000);
    ctx_.close();
    raise(SIGKILL);
}

void Daemon::become_replica(Volume& v, uint64_t generation) {
    end_fills(v);
    int e = kernel({.cmd = DCC_CMD_SET_ROLE, .dev = v.dev, .reg_id = v.reg.reg_id,
                    .generation = generation, .role = DCC_ROLE_REPLICA});
    if (e) log_warn("%s: cannot persist replica role: %s", v.name.c_str(), std::strerror(-e));
    v.role = DCC_ROLE_REPLICA;
    v.generation = generation;
    v.ho = Volume::Ho::None;
    v.peer.role = DCC_ROLE_OWNER;
    v.peer_backlog.reset();
    if (!e) {
        try {
            clear_stale_dirty(v);
        } catch (const Error& err) {
            log_warn("%s: %s", v.name.c_str(), err.what());
        }
    }
    v.queue.clear();
    v.pushing.clear();
    v.resync = RangeSet();
    v.filling.clear();
    v.pulls.clear();
    try {
        dm_resume(v.name);
        // No later read here may see what the new owner changes.
        int fd = open_block_device(v.dev, O_RDONLY);
        ioctl(fd, BLKFLSBUF, 0);
        close(fd);
    } catch (const Error& err) {
        log_warn("%s: %s", v.name.c_str(), err.what());
    }
}

void Daemon::finish_handover(Volume& v, int status) {
    auto took = std::chrono::duration_cast<ms>(Clock::now() - v.ho_start).count();
    if (status) {
        log_warn("%s: peer refused the handover: %s; staying owner", v.name.c_str(),
                 std::strerror(status));
        v.ho = Volume::Ho::None;
        dm_resume(v.name);
        answer_error(v, std::string("the peer refused: ") + std::strerror(status));
        return;
    }
    become_replica(v, v.ho_gen);
    v.last_ho_ms = took;
    log_info("%s: %s owns generation %llu now (handover %lld ms)", v.name.c_str(),
             peer_site_.c_str(), (unsigned long long)v.generation, (long long)took);
    send_invalid_set(v);
    answer(v, {{"ok", true}, {"owner", peer_site_}, {"generation", v.generation}, {"handover_ms", took}});
}

// New owner: the old owner's dirty set becomes invalid here, then we own it.
void Daemon::apply_handover(Volume& v, Incoming& in) {
    const wire::Message& m = in.msg;
    end_fills(v);  // pushes received so far are acknowledged as a replica's
    wire::Message r = answer_to(m, wire::Type::HandoverAck);
    r.generation = m.generation;
    if (v.owner() || m.generation != v.generation + 1 ||
        (!m.ranges.empty() && m.ranges.back().end() > v.reg.nr_regions)) {
        r.status = ESTALE;
        link_.reply(in, r);
        return;
    }
    for (const Range& x : m.ranges) v.ho_ranges.add(x.start, x.count);
    if (!(m.flags & wire::kFlagLast)) return;
    crash_point("handover-received");
    auto start = Clock::now();
    int e = 0;
    const auto& rs = v.ho_ranges.ranges();
    constexpr size_t per_request = 256;  // well inside DCC_MAX_RANGES_PER_REQUEST
    for (size_t i = 0; i < rs.size() && !e; i += per_request) {
        nl::Request req{.cmd = DCC_CMD_SET_INVALID, .dev = v.dev, .reg_id = v.reg.reg_id,
                        .force = true};
        req.ranges.assign(rs.begin() + long(i), rs.begin() + long(std::min(rs.size(), i + per_request)));
        e = kernel(req);
        if (!e)
            for (const Range& x : req.ranges) v.invalid.add(x.start, x.count);
    }
    if (!e)
        e = kernel({.cmd = DCC_CMD_SET_ROLE, .dev = v.dev, .reg_id = v.reg.reg_id,
                    .generation = m.generation, .role = DCC_ROLE_OWNER});
    uint64_t n = v.ho_ranges.count();
    v.ho_ranges = RangeSet();
    if (e) {
        log_warn("%s: cannot take the volume: %s", v.name.c_str(), std::strerror(-e));
        r.status = -e;
        link_.reply(in, r);
        answer_error(v, std::string("cannot take the volume: ") + std::strerror(-e));
        return;
    }
    crash_point("handover-applied");
    v.role = DCC_ROLE_OWNER;
    v.generation = m.generation;
    v.peer.role = DCC_ROLE_REPLICA;
    v.peer_backlog.reset();
    v.acks.clear();
    v.check_pending = true;
    link_.reply(in, r);
    auto took = std::chrono::duration_cast<ms>(Clock::now() - start).count();
    v.last_ho_ms = took;
    log_info("%s: this site owns generation %llu now; %llu regions to fetch from %s",
             v.name.c_str(), (unsigned long long)v.generation, (unsigned long long)v.invalid.count(),
             peer_site_.c_str());
    answer(v, {{"ok", true}, {"owner", cfg_.site}, {"generation", v.generation}, {"invalidated", n},
               {"apply_ms", took}});
}

// Write a whole line to a control client; false if it is gone or stuck.
bool send_line(int fd, const std::string& line) {
    size_t off = 0;
    while (off < line.size()) {
        ssize_t n = send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += size_t(n);
    }
    return true;
}

// Tell every client waiting on @v's migration how it ended.
void Daemon::answer(Volume& v, json reply) {
    reply["volume"] = v.name;
    std::string line = json_line(reply);
    for (int fd : v.waiters) {
        if (!send_line(fd, line)) log_warn("control client gone");
        close(fd);
    }
    v.waiters.clear();
}

// The kernel's view of every volume: counts, mode, misses.
void Daemon::refresh_kernel_status() {
    for (const dcc::Volume& dv : list_volumes()) {
        auto it = vols_.find(dv.name);
        if (it != vols_.end() && it->second->dev == dv.dev) it->second->kst = parse_status(dv.params);
    }
}

report::VolumeState Daemon::state_of(const Volume& v) const {
    report::VolumeState s;
    s.name = v.name;
    s.uuid = format_uuid(v.reg.uuid);
    s.role = role_name(Role(v.role));
    s.generation = v.generation;
    s.region_bytes = v.region_bytes;
    s.regions = v.reg.nr_regions;
    s.valid = v.reg.nr_regions - std::min<uint64_t>(v.invalid.count(), v.reg.nr_regions);
    if (v.kst) {
        s.mode = v.kst->mode;
        s.valid = v.kst->valid;
        s.dirty = v.kst->dirty;
        s.locked = v.kst->locked;
        s.misses = v.kst->misses;
        s.timeouts = v.kst->timeouts;
    } else {
        s.mode = "unknown";
    }
    s.paired = v.attached && link_up_;
    if (s.paired) s.peer_role = role_name(Role(v.peer.role));
    s.handover = v.ho_name();
    if (v.owner()) s.backlog = s.dirty + v.resync.count() + (s.regions - s.valid);
    else if (s.paired) s.backlog = v.peer_backlog;
    s.replication = {v.pushing.size(), v.pushed.regions(), v.pushed.bytes(),
                     v.pushed.bytes_per_second()};
    s.hydration = {v.pulls.size(), v.pulled.regions(), v.pulled.bytes(),
                   v.pulled.bytes_per_second()};
    s.fetch = {v.filling.size() - std::min(v.filling.size(), v.pulls.size()), v.fetched.regions(),
               v.fetched.bytes(), v.fetched.bytes_per_second()};
    s.last_handover_ms = v.last_ho_ms;
    return s;
}

void Daemon::emit(json e) {
    if (ctl_.empty()) return;
    using namespace std::chrono;
    e["time"] = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    std::string line = json_line(e);
    for (auto it = ctl_.begin(); it != ctl_.end();) {
        // A subscriber that cannot keep up is dropped, never waited for.
        if (it->events && send(it->fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT) !=
                              ssize_t(line.size())) {
            log_warn("event subscriber dropped: it does not read");
            close(it->fd);
            it = ctl_.erase(it);
        } else {
            ++it;
        }
    }
}

// Refresh what status shows, send events for what changed, and tell the
// replica of each volume this site owns how far behind it is.
void Daemon::publish(Clock::time_point now) {
    last_publish_ = now;
    try {
        refresh_kernel_status();
    } catch (const Error& e) {
        log_warn("%s", e.what());
    }
    for (auto& [_, v] : vols_) {
        v->pushed.sample(now);
        v->pulled.sample(now);
        v->fetched.sample(now);
        if (v->kst && v->kst->valid != v->reg.nr_regions - std::min(v->invalid.count(), v->reg.nr_regions)) {
            try {
                reload_invalid(*v);
            } catch (const Error& e) {
                log_warn("%s: %s", v->name.c_str(), e.what());
            }
        }
        report::VolumeState st = state_of(*v);
        for (json& e : report::changes(v->shown ? &*v->shown : nullptr, st)) emit(std::move(e));
        v->shown = st;
        if (v->owner() && v->attached && link_up_ && st.backlog &&
            (*st.backlog != v->progress_sent || now - v->progress_time > ms(2000))) {
            if (link_.request(Chan::Ctl, vmsg(*v, wire::Type::Progress, *st.backlog))) {
                v->progress_sent = *st.backlog;
                v->progress_time = now;
            }
        }
    }
}

// A site that gave the volume up keeps no dirty bits: the new owner took
// those regions as invalid and fetches them, so they are owed no more.
void Daemon::clear_stale_dirty(Volume& v) {
    RangeSet dirty = kernel_set(v, DCC_SET_DIRTY);
    uint64_t cleared = dirty.count();
    for (const Range& x : dirty.ranges())
        for (uint64_t r = x.start; r < x.end(); r += DCC_MAX_CLEARS_PER_REQUEST) {
            uint64_t n = std::min<uint64_t>(DCC_MAX_CLEARS_PER_REQUEST, x.end() - r);
            int e = kernel({.cmd = DCC_CMD_ARM, .dev = v.dev, .reg_id = v.reg.reg_id, .region = r,
                            .count = n});
            if (!e)
                e = kernel({.cmd = DCC_CMD_CLEAR_DIRTY, .dev = v.dev, .reg_id = v.reg.reg_id,
                            .region = r, .count = n});
            if (e) {
                log_warn("%s: cannot clear the old dirty bits: %s", v.name.c_str(), std::strerror(-e));
                return;
            }
        }
    if (cleared)
        log_info("%s: %llu dirty bits cleared (the new owner fetches those regions)",
                 v.name.c_str(), (unsigned long long)cleared);
}

void Daemon::ctl_accept() {
    int fd = accept4(ctl_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    if (ctl_.size() >= 256) {
        send_line(fd, "{\"ok\": false, \"error\": \"too many control clients\"}\n");
        close(fd);
        return;
    }
    ctl_.push_back({fd, {}});
}

// Read from control client @i; a whole line is a request.
void Daemon::ctl_read(size_t i) {
    char buf[512];
    ssize_t n = read(ctl_[i].fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0 || ctl_[i].events) {
        // Gone (or an event subscriber said something: it only listens).
        close(ctl_[i].fd);
        ctl_.erase(ctl_.begin() + long(i));
        return;
    }
    CtlClient& c = ctl_[i];
    c.in.append(buf, size_t(n));
    auto nl = c.in.find('\n');
    if (nl == std::string::npos) {
        if (c.in.size() > 1024) {
            send_line(c.fd, json_line({{"ok", false}, {"error", "request too long"}}));
            close(c.fd);
            ctl_.erase(ctl_.begin() + long(i));
        }
        return;
    }
    CtlClient taken = c;
    ctl_.erase(ctl_.begin() + long(i));
    ctl_request(taken, taken.in.substr(0, nl));
}

// One request: "status [VOL]", "migrate VOL SITE" or "events".  The client
// is ours now: answer and close it, keep it for a later answer, or keep it
// as an event subscriber.
void Daemon::ctl_request(CtlClient& c, const std::string& line) {
    int fd = c.fd;
    auto refuse = [&](const std::string& why) {
        send_line(fd, json_line({{"ok", false}, {"error", why}}));
        close(fd);
    };
    // Answers are short; a client that does not read them is not waited for long.
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

    std::istringstream in(line);
    std::vector<std::string> w;
    for (std::string x; in >> x;) w.push_back(x);
    if (w.empty()) return refuse("empty request");
    if (w[0] == "events" && w.size() == 1) {
        using namespace std::chrono;
        json hello{{"event", "subscribed"},
                   {"site", cfg_.site},
                   {"peer", peer_site_.empty() ? json(nullptr) : json(peer_site_)},
                   {"link", link_up_ ? "up" : "down"},
                   {"time", duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count()}};
        if (!send_line(fd, json_line(hello))) {
            close(fd);
            return;
        }
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        c.events = true;
        c.in.clear();
        ctl_.push_back(c);
        return;
    }
    if (w[0] == "status" && w.size() <= 2) {
        try {
            refresh_kernel_status();
        } catch (const Error& e) {
            return refuse(e.what());
        }
        std::vector<report::VolumeState> states;
        for (auto& [name, v] : vols_)
            if (w.size() == 1 || name == w[1]) states.push_back(state_of(*v));
        if (w.size() == 2 && states.empty()) return refuse("no dcc volume '" + w[1] + "' here");
        send_line(fd, json_line(report::status_json(cfg_.site, peer_site_, link_up_, states)));
        close(fd);
        return;
    }
    if (w[0] == "status") return refuse("status takes one volume at most");
    if (w[0] == "migrate" && w.size() != 3) return refuse("migrate takes a volume and a site");
    if (w[0] != "migrate") return refuse("unknown request '" + line.substr(0, 64) + "'");
    const std::string &name = w[1], &site = w[2];
    auto it = vols_.find(name);
    if (it == vols_.end()) return refuse("no dcc volume '" + name + "' here");
    Volume& v = *it->second;
    if (site != cfg_.site && site != peer_site_)
        return refuse("unknown site '" + site + "' (this is " + cfg_.site + ", the peer " +
                      (peer_site_.empty() ? "unknown" : peer_site_) + ")");
    bool here = site == cfg_.site;
    if (here == v.owner() && v.ho == Volume::Ho::None) {
        v.waiters.push_back(fd);
        answer(v, {{"ok", true}, {"owner", site}, {"generation", v.generation}, {"already", true}});
        return;
    }
    if (!v.attached || !link_up_) return refuse("the volume is not paired with the peer");
    if (here) {
        // Ask the owner to hand over; answered when its handover arrives.
        wire::Message m = vmsg(v, wire::Type::HandoverAsk);
        if (!link_.request(Chan::Ctl, m)) return refuse("cannot reach the peer");
        v.waiters.push_back(fd);
        return;
    }
    std::string err = start_handover(v);
    if (!err.empty()) return refuse(err);
    v.waiters.push_back(fd);
}

// Owner: ask the peer for every region a bio waits for.
void Daemon::serve_pending(Volume& v) {
    v.check_pending = false;
    if (!v.owner() || !v.attached) return;  // unpaired: the kernel's bound applies
    // Only regions a bio waits for: a background pull's lock is pending too,
    // and asking for those on the control channel would queue this miss
    // behind them.
    RangeSet waiting = kernel_set(v, DCC_SET_WAITING);
    for (const Range& x : waiting.ranges()) {
        for (uint64_t r = x.start; r < x.end(); r++) {
            auto it = v.filling.find(r);
            auto now = Clock::now();
            // A fetch in flight is asked again only if its answer is late.
            // A region written and about to be valid is not asked for again.
            if (it != v.filling.end() &&
                (it->second.written || (!v.pulls.count(r) && now < it->second.retry_at)))
                continue;
            wire::Message m = vmsg(v, wire::Type::Fetch, r);
            if (link_.request(Chan::Ctl, m)) {
                v.filling[r] = {m.seq, now + ms(cfg_.link_timeout_ms)};
                v.pulls.erase(r);  // the fetch now answers for it
            }
        }
    }
}

// Owner: pull regions missing here in the background, a window at a time.
void Daemon::hydrate(Volume& v) {
    if (!v.owner() || !v.attached) return;
    auto now = Clock::now();
    // Pulls not answered in time (or not sent) go again: the region is
    // locked in the kernel until one is answered.
    for (uint64_t r : v.pulls) {
        Fill& f = v.filling[r];
        if (now < f.retry_at) continue;
        wire::Message m = vmsg(v, wire::Type::Pull, r);
        if (!link_.request(Chan::Bulk, m)) return;
        f = {m.seq, now + ms(2 * cfg_.link_timeout_ms)};
    }
    if (v.invalid.empty()) return;
    for (const Range& x : std::vector<Range>(v.invalid.ranges())) {
        for (uint64_t r = x.start; r < x.end(); r++) {
            if (v.pulls.size() >= cfg_.window) return;
            if (v.filling.count(r)) continue;
            int e = kernel({.cmd = DCC_CMD_FILL_BEGIN, .dev = v.dev, .reg_id = v.reg.reg_id,
                            .region = r});
            if (e == -EEXIST) {
                v.invalid.remove(r);  // written whole meanwhile
                return;
            }
            if (e) continue;  // being overwritten: valid soon
            wire::Message m = vmsg(v, wire::Type::Pull, r);
            bool sent = link_.request(Chan::Bulk, m);
            v.pulls.insert(r);
            v.filling[r] = {m.seq, sent ? now + ms(2 * cfg_.link_timeout_ms) : now};
            if (!sent) return;
        }
    }
}

// A fetch or pull came back: write it; the kernel hears of it with the
// next batch of fills, at once for a fetch (a bio waits for it).
void Daemon::finish_fill(Volume& v, uint64_t region, uint64_t seq, const Incoming& in) {
    auto it = v.filling.find(region);
    if (it == v.filling.end() || it->second.written) return;  // filled by the other request
    (void)seq;
    int err = in.msg.status;
    if (err == ENOENT || err == ESTALE) {
        // The peer is not ready for this volume yet (or restarted): the
        // region stays locked and is asked for again shortly.
        it->second.retry_at = Clock::now() + ms(500);
        return;
    }
    if (!err && in.payload.size() != v.region_len(region)) err = EINVAL;
    if (!err) {
        std::memcpy(buf_.get(), in.payload.data(), in.payload.size());
        err = write_full(v.data_fd, buf_.get(), in.payload.size(), region * v.region_bytes);
    }
    bool pulled = v.pulls.erase(region);
    if (!err) {
        it->second.written = true;
        v.written.push_back({region, in.payload.size(), pulled ? &v.pulled : &v.fetched, {}});
        if (!pulled) end_fills(v);
        return;
    }
    log_warn("%s: region %llu could not be filled from the peer: %s", v.name.c_str(),
             (unsigned long long)region, std::strerror(err));
    std::string text;
    int e = kernel({.cmd = DCC_CMD_FILL_DONE, .dev = v.dev, .reg_id = v.reg.reg_id, .region = region,
                    .fill_errno = uint32_t(err)},
                   &text);
    if (e) log_warn("%s: region %llu: the kernel refused the failed fill: %s", v.name.c_str(),
                    (unsigned long long)region, text.empty() ? std::strerror(-e) : text.c_str());
    v.filling.erase(it);
}

// Owner: push dirty regions, and those the peer lacks, within the rate.
void Daemon::replicate(Volume& v, Clock::time_point now) {
    if (!v.owner() || !v.attached) return;
    // Pushes the peer never answered (it restarted, a message was lost) are
    // dropped; their regions are still dirty or still owed, so they go again.
    for (auto it = v.pushing.begin(); it != v.pushing.end();)
        it = now - it->second.sent > ms(2 * cfg_.link_timeout_ms) ? v.pushing.erase(it) : std::next(it);
    if (v.queue.empty() && now - v.last_refill > ms(100)) {
        v.last_refill = now;
        for (const Range& x : v.resync.ranges())
            for (uint64_t r = x.start; r < x.end() && v.queue.size() < 256; r++)
                if (!v.invalid.contains(r)) v.queue.push_back({r, false});
        if (v.queue.empty()) {
            // A region with a push in flight is not queued again: its arm belongs to that push.
            std::set<uint64_t> in_flight;
            for (const auto& [seq, p] : v.pushing) in_flight.insert(p.region);
            nl::RegionsReply rep = kernel_.get_regions(v.dev, DCC_SET_DIRTY, v.dirty_cursor);
            for (const Range& x : rep.ranges)
                for (uint64_t r = x.start; r < x.end(); r++)
                    if (!v.invalid.contains(r) && !in_flight.count(r))
                        v.queue.push_back({r, true});  // only what we hold
            v.dirty_cursor = rep.next ? *rep.next : 0;
        }
    }
    double dt = std::chrono::duration<double>(now - token_time_).count();
    token_time_ = now;
    tokens_ = std::min<double>(double(cfg_.rate), tokens_ + dt * double(cfg_.rate));
    while (!v.queue.empty() && v.pushing.size() < cfg_.window && tokens_ >= double(v.region_bytes)) {
        Push p = v.queue.front();
        v.queue.pop_front();
        uint64_t len = v.region_len(p.region);
        // Armed just before the read: a write that lands from now on keeps it dirty.
        if (p.dirty) {
            std::string text;
            if (int e = kernel({.cmd = DCC_CMD_ARM, .dev = v.dev, .reg_id = v.reg.reg_id,
                                .region = p.region},
                               &text)) {
                log_warn("%s: cannot arm region %llu: %s", v.name.c_str(),
                         (unsigned long long)p.region, text.empty() ? std::strerror(-e) : text.c_str());
                continue;
            }
        }
        if (int e = read_full(v.data_fd, buf_.get(), len, p.region * v.region_bytes)) {
            log_warn("%s: cannot read region %llu: %s", v.name.c_str(),
                     (unsigned long long)p.region, std::strerror(e));
            continue;
        }
        wire::Message m = vmsg(v, wire::Type::Push, p.region);
        if (!link_.request(Chan::Bulk, m, buf_.get(), len)) {
            v.queue.push_front(p);
            return;
        }
        tokens_ -= double(len);
        p.sent = now;
        v.pushing[m.seq] = p;
    }
}

int Daemon::run() {
    scan_volumes();
    auto socks = link_.sockets();
    last_scan_ = last_ping_ = last_down_log_ = Clock::now();
    for (;;) {
        std::vector<zmq::pollitem_t> items;
        for (auto* s : socks) items.push_back({s->handle(), 0, ZMQ_POLLIN, 0});
        items.push_back({cfg_.insecure ? nullptr : link_.zap().handle(), 0, ZMQ_POLLIN, 0});
        items.push_back({nullptr, events_.fd(), ZMQ_POLLIN, 0});
        items.push_back({nullptr, ctl_fd_, ZMQ_POLLIN, 0});
        size_t first_client = items.size();
        for (const CtlClient& c : ctl_) items.push_back({nullptr, c.fd, ZMQ_POLLIN, 0});
        items.push_back({nullptr, sig_fd_, ZMQ_POLLIN, 0});
        if (cfg_.insecure) items[socks.size()] = {nullptr, -1, 0, 0};
        bool busy = false;
        for (auto& [_, v] : vols_) busy |= !v->queue.empty() || !v->resync.empty();
        zmq::poll(items.data(), items.size(), ms(busy ? 5 : 50));

        if (items.back().revents & ZMQ_POLLIN) {
            log_info("stopping");
            for (auto& [_, v] : vols_) flush_acks(*v);
            return 0;
        }
        if (!cfg_.insecure && (items[socks.size()].revents & ZMQ_POLLIN)) link_.serve_zap();
        // Clients first (by index, from the end: a request removes its client).
        // A few requests per round (a migration suspends a device): the
        // others stay readable for the next one.
        int requests = 4;
        for (size_t i = ctl_.size(); i-- > 0 && requests > 0;)
            if (items[first_client + i].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) {
                requests--;
                ctl_read(i);
            }
        if (items[socks.size() + 2].revents & ZMQ_POLLIN) ctl_accept();
        if (items[socks.size() + 1].revents & ZMQ_POLLIN) kernel_events();
        // Control first: drain both control sockets, then a bounded batch of
        // bulk, with misses and control messages served between bulk ones.
        for (size_t i = 0; i < socks.size(); i++) {
            if (!(items[i].revents & ZMQ_POLLIN)) continue;
            int budget = i < 2 ? 64 : 16;
            while (budget--) {
                auto in = link_.receive(*socks[i]);
                if (!in) break;
                receive(*in);
                if (i >= 2) serve_urgent();
            }
            // What this batch filled becomes valid with one commit per volume.
            for (auto& [_, v] : vols_) {
                try {
                    end_fills(*v);
                } catch (const Error& e) {
                    log_warn("%s: %s", v->name.c_str(), e.what());
                }
            }
            link_tick(Clock::now());  // heartbeats stay on time under load
        }
        auto now = Clock::now();
        link_tick(now);
        if (now - last_scan_ > ms(2000)) {
            last_scan_ = now;
            scan_volumes();
            for (auto& [_, v] : vols_) v->check_pending = true;
        }
        if (now - last_publish_ > ms(500)) publish(now);
        // Volume work, round robin within a time budget, so that the link
        // and the control socket are served on time with many volumes.
        auto it = vols_.lower_bound(next_volume_);
        auto t0 = Clock::now();
        for (size_t k = 0; k < vols_.size(); k++) {
            if (it == vols_.end()) it = vols_.begin();
            maintain(*it->second, now);
            ++it;
            if (Clock::now() - t0 > ms(100)) break;
        }
        next_volume_ = it == vols_.end() ? std::string() : it->first;
    }
}

void Daemon::receive(Incoming& in) {
    try {
        handle(in);
    } catch (const Error& e) {
        log_warn("handling %s: %s", wire::type_name(in.msg.type), e.what());
    }
}

// Misses and state changes the kernel reports.
void Daemon::kernel_events() {
    bool lost;
    for (const nl::Event& e : events_.drain(lost))
        for (auto& [_, v] : vols_)
            if (e.dev == v->dev) {
                v->check_pending = true;
                if (e.cmd == DCC_CMD_EVENT_STATE) {
                    v->role = e.role;
                    v->generation = e.generation;
                }
            }
    if (lost)
        for (auto& [_, v] : vols_) v->check_pending = true;
}

// Between two bulk messages (each may cost a write and a flush): new
// misses are asked for and fetched regions completed first, so a waiting
// bio never queues behind background fills.
void Daemon::serve_urgent() {
    kernel_events();
    for (auto& [_, v] : vols_) {
        if (!v->check_pending) continue;
        try {
            serve_pending(*v);
        } catch (const Error& e) {
            log_warn("%s: %s", v->name.c_str(), e.what());
        }
    }
    for (zmq::socket_t* s : link_.control_sockets())
        for (int budget = 16; budget--;) {
            auto in = link_.receive(*s);
            if (!in) break;
            receive(*in);
        }
}

// One volume's periodic work: handover deadline, acks, fills, pushes.
void Daemon::maintain(Volume& vol, Clock::time_point now) {
    Volume* v = &vol;
    if ((v->ho == Volume::Ho::Sending || v->ho == Volume::Ho::Uncertain) &&
        now > v->ho_deadline) {
        // Nothing may wait forever: fence the volume (I/O fails, no
        // write is accepted) until pairing shows who owns it.
        log_warn("%s: no answer to the handover: fenced (replica at generation %llu) "
                 "until the peer's generation is known",
                 v->name.c_str(), (unsigned long long)v->generation);
        int e = kernel({.cmd = DCC_CMD_SET_ROLE, .dev = v->dev, .reg_id = v->reg.reg_id,
                        .generation = v->generation, .role = DCC_ROLE_REPLICA});
        if (e) log_warn("%s: cannot fence: %s", v->name.c_str(), std::strerror(-e));
        v->role = DCC_ROLE_REPLICA;
        v->ho = Volume::Ho::Fenced;
        try {
            dm_resume(v->name);
        } catch (const Error& err) {
            log_warn("%s: %s", v->name.c_str(), err.what());
        }
        v->attached = v->attach_sent = false;  // pair again to learn it
        answer_error(*v, "no answer from the peer: the volume is fenced until the peer "
                          "is back");
    }
    try {
        flush_acks(*v);
        for (auto& [r, f] : v->filling)
            if (now >= f.retry_at && !f.written && !v->pulls.count(r)) v->check_pending = true;
        if (v->check_pending) serve_pending(*v);
        hydrate(*v);
        replicate(*v, now);
    } catch (const Error& e) {
        // One volume's trouble must not stop the others.
        log_warn("%s: %s", v->name.c_str(), e.what());
    }
}

std::string read_file(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw Error(kExitNotFound, errno_text("open " + path, errno), errno);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

int keygen() {
    char pub[41], sec[41];
    if (zmq_curve_keypair(pub, sec)) throw Error(kExitError, "cannot make a CURVE key pair");
    std::printf("public_key = \"%s\"\nsecret_key = \"%s\"\n", pub, sec);
    return 0;
}

}  // namespace

}  // namespace dcc

int main(int argc, char** argv) {
    using namespace dcc;
    std::string path = "/etc/dcc/dccd.toml";
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "keygen") return keygen();
        if (a == "--config" && i + 1 < argc) path = argv[++i];
        else if (a == "--version") {
            std::printf("dccd 0.1.0\n");
            return 0;
        } else {
            std::fprintf(stderr, "usage: dccd [--config FILE] | dccd keygen\n");
            return kExitUsage;
        }
    }
    try {
        Config cfg = parse_config(read_file(path), path);
        // In the I/O path: keep our pages, and let reclaim not wait on us.
        if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0)) log_warn("PR_SET_IO_FLUSHER: %s", std::strerror(errno));
        if (mlockall(MCL_CURRENT | MCL_FUTURE)) log_warn("mlockall: %s", std::strerror(errno));
        log_info("site %s, listening on %s and %s, peer %s%s", cfg.site.c_str(), cfg.listen.c_str(),
                 cfg.listen_bulk.c_str(), cfg.peer.c_str(), cfg.insecure ? " (insecure)" : "");
        Daemon d(cfg);
        return d.run();
    } catch (const Error& e) {
        std::fprintf(stderr, "dccd: %s\n", e.what());
        return e.code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dccd: %s\n", e.what());
        return kExitError;
    }
}
