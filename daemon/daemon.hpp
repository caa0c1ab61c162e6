// SPDX-License-Identifier: GPL-2.0-only
// dccd: one per host, for all its dcc volumes, in one thread around
// zmq::poll.  The methods are grouped by concern, one file each:
//   daemon.cpp    the loop, the volumes, the link to the peer;
//   handover.cpp  ownership: pairing, migration, carrying out the
//                 decisions of core/ownership;
//   ahead.cpp     the kernel work of many handover messages side by side;
//   quiesce.cpp   a volume's I/O stopped and resumed around a handover;
//   starts.cpp    migrations begun at the old owner, in batches;
//   transfers.cpp fills (fetch, pull) and replication (push, clear);
//   control.cpp   the local control socket: status, migrate, events;
//   status.cpp    what status and events report.
// Every decision is taken in daemon/core (no I/O); these files carry
// them out.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config.hpp"
#include "failover.hpp"
#include "dcc/control.hpp"
#include "dcc/devices.hpp"
#include "kernel.hpp"
#include "pace.hpp"
#include "peer.hpp"
#include "session.hpp"
#include "sync.hpp"
#include "volume.hpp"
#include "workers.hpp"

namespace dcc::dccd {

// "a write (a push) at byte 4096 of vol's data device": a call on a data
// device, as the stall watch names it (data_calls.cpp).
std::string on_data(const Volume& v, const char* what, uint64_t offset);

// A connection on the local control socket.
struct CtlClient {
    int fd;               // -1: dropped, to be taken out of the list
    std::string in;       // request bytes so far
    bool events = false;  // subscribed to the event stream
};

// Answer a control client once, and let it go (control.cpp).
void answer_once(int fd, const nlohmann::json& j);
// The answer to a request naming a volume dccd does not have.
nlohmann::json no_such_volume(const std::string& name);
// Suspend dm device @name (noflush), leaving @marker for a dccd that
// starts after this one died (quiesce.cpp).  Throws dcc::Error.
void suspend_marked(const std::string& name, const std::string& marker);
// Resume @name, suspended by us (its marker @marker): "" or why not.
std::string resume_marked(const std::string& name, const std::string& marker);
struct Volume;
// @v's page cache written back (dcc::write_back), a failure logged
// (quiesce.cpp).  Throws dcc::Error if the device cannot be opened.
void write_back_logged(const Volume& v);

// Why something this daemon was asked to do failed.
struct Failure {
    control::Code code;
    std::string text;
};

// A migration to the peer asked for this round, by control clients or by
// the peer's HANDOVER_ASK (@ask its seq, @asker the message to answer).
struct Start {
    std::string volume;
    uint64_t ask = 0;
    std::vector<int> clients;
    std::optional<Incoming> asker;
};

// How a start's work on a worker went (run_starts): its write-back and
// suspend, and why it failed ("" if it did not).  In async mode the worker
// also read the sets the HANDOVER needs and persisted yielding (the
// core's demote, done ahead: nothing else happens to the volume meanwhile).
struct Quiesced {
    bool suspended = false, cache_empty = false;
    std::string why;
    std::optional<RangeSet> invalid, dirty;
    std::optional<Ahead> yielded;
};

class Daemon {
public:
    // @reread reads the configuration file again (SIGHUP); it throws
    // dcc::Error if the file is bad.
    Daemon(const Config& cfg, std::function<Config()> reread);
    ~Daemon();
    int run();

private:
    // daemon.cpp
    void scan_volumes();
    void consider(const DmDevice& d);
    void add_volume(const std::string& name, nl::Dev dev);
    void remove_volume(std::map<std::string, std::unique_ptr<Volume>>::iterator it);
    void link_tick(Clock::time_point now);
    void link_down(const char* why);
    void peer_reset();
    void new_peer();
    void receive(Incoming& in);
    void handle_link(Incoming& in);
    void handle_request(Volume& v, Incoming& in);
    void handle_reply(Volume& v, Incoming& in);
    void kernel_events();
    void serve_urgent();
    void maintain(Volume& v, Clock::time_point now);
    bool due(const Volume& v, Clock::time_point now) const;
    void each_volume(const char* what, void (Daemon::*fn)(Volume&));
    void tell_shipper(Volume& v);
    Volume* by_uuid(const Uuid& u);
    void reindex();
    wire::Message vmsg(const Volume& v, wire::Type t, uint64_t region = 0);
    wire::Message reply_to(const wire::Message& m, wire::Type t) const;
    void crash_point(const char* point);
    static bool crash_armed(const char* point);

    // handover.cpp
    void send_attach(Volume& v);
    // How long past attach_due the answer to @v's ATTACH may take.
    Clock::duration attach_wait(const Volume& v) const;
    wire::VolumeInfo info_of(Volume& v);
    void take_statement(Volume& v, const wire::Message& m, bool answer);
    void on_attach(Volume& v, Incoming& in);
    void on_attach_ack(Volume& v, const wire::Message& m);
    void on_detach(Volume& v);
    void paired(Volume& v);
    bool geometry_ok(const Volume& v, const wire::VolumeInfo& peer) const;
    core::Plan carry_out(Volume& v, core::Plan p, bool hold_attach = false, const RangeSet* taken = nullptr);
    core::Plan carry_out_steps(Volume& v, core::Plan p, bool hold_attach, const RangeSet* taken);
    void role_changed(Volume& v, core::SiteState before);
    void run_starts();
    void yield_ahead(const Volume& v, core::SiteState to, Quiesced& q);
    // A message whose kernel work may be done ahead (receive_control).
    struct AheadOf {
        Volume* v;
        core::SiteState to{};
        bool drop = false, resume = false;
        std::optional<bool> dirty_here;
        std::optional<RangeSet> invalid;  // new owner: the HANDOVER's set
    };
    std::optional<AheadOf> to_take_ahead(const Incoming& in);
    void take_ahead(const AheadOf& of, Ahead& a);
    bool drops_dirty_after(const Volume& v, core::SiteState to) const;
    int persist_role(const Volume& v, core::SiteState to, const RangeSet* invalid, bool clean, bool* cleaned,
                     std::string& why, std::string& note);
    void note_owner(Volume& v);
    void receive_control(zmq::socket_t& s, int budget);
    void end_start(Volume& v, Start& s, Quiesced& q);
    void start_failed(Volume& v, Start& s, const Failure& f);
    bool join_move(Volume& v, const std::vector<int>& clients, bool here);
    bool answered_ask(Volume& v, Incoming& in);
    bool send_handover(Volume& v, uint64_t* base);
    bool send_set(Volume& v, wire::Type t, uint64_t generation, uint64_t region,
                  const RangeSet& set, uint64_t* base);
    void on_handover_part(Volume& v, Incoming& in);
    void on_handover_ack(Volume& v, const wire::Message& m);
    void on_handover_ask(Volume& v, Incoming& in);
    std::optional<Failure> ask_handover(Volume& v);
    std::string marker_path(const std::string& name) const;
    void suspend(Volume& v);
    void resume(Volume& v);
    void resumed(Volume& v, const std::string& why);
    void drop_page_cache(Volume& v);
    std::string drop_cache_of(const Volume& v);
    void drop_stale_dirty(Volume& v);
    std::pair<bool, std::string> drop_stale_dirty_kernel(const Volume& v);
    void settle_outcome(Volume& v, core::Outcome o, const char* why);

    // data_calls.cpp (and transfers.cpp below)
    //
    // The data-device calls of bulk messages run side by side: the loop
    // takes up to kDataBatch of them (pushes to write, pulls to answer,
    // pulled regions to write), each on a region no other call of the
    // batch has, decides each as it comes, then runs their reads and
    // writes on the workers at once and finishes each call (DataCall::then)
    // in the messages' order.  A message of another kind, or for a region
    // already in the batch, runs the batch first: every decision is taken
    // as if the messages were handled one after another.  The owner reads
    // the regions it pushes the same way (replicate).
    struct DataCall {
        Volume* v = nullptr;
        uint64_t region = 0;
        Incoming in;  // the message it serves (none for a push's read)
        bool write = false;
        uint64_t offset = 0;
        size_t len = 0;
        uint8_t* buf = nullptr;
        int err = 0;
        bool flag = false;  // apply_push: the region was invalid; finish_fill: a fetch
        void (Daemon::*then)(DataCall&) = nullptr;
        const char* what = "";  // "a write (a push)", for the stall watch
    };
    static constexpr size_t kDataBatch = 8;
    std::vector<DataCall> batch_;
    std::vector<core::DataKey> batch_keys_;  // batch_'s volumes and regions
    std::vector<std::unique_ptr<uint8_t, void (*)(void*)>> batch_bufs_;  // kDataBatch regions, made with the first transfer
    bool batching_ = false;  // while the loop hands a bulk message over
    uint8_t* batch_buf(size_t i);
    static void run_call(DataCall& c);
    static core::DataKey data_key(const Incoming& in);
    static core::BulkKind bulk_kind(const Incoming& in);
    bool batch_admits(const Incoming& in) const;
    void data_call(DataCall c);
    void write_payload(Volume& v, Incoming& in, bool flag, void (Daemon::*then)(DataCall&), const char* what);
    void run_data_calls(std::vector<DataCall>& calls);
    bool run_batch();
    void fill_served(DataCall& c);
    void push_written(DataCall& c);
    void fill_written(DataCall& c);
    void fill_failed(Volume& v, uint64_t region, int err);
    // Writes of fills and pushes wait up to kCommitWait for others to share
    // their commit (one FILL_DONE, one flush of the data device), or until
    // half of what may be in flight waits (commit_batch; at most
    // kCommitBatch), so that the other half keeps the link busy; a write a
    // bio waits for is committed at once.
    static constexpr std::chrono::milliseconds kCommitWait{10};
    static constexpr size_t kCommitBatch = 16;
    size_t commit_batch(const Volume& v) const;
    void uncommitted(Volume& v);
    bool commit_due(const Volume& v, Clock::time_point now) const;
    void commit_due_writes(Clock::time_point now);
    void serve_fill(Volume& v, Incoming& in);
    void apply_push(Volume& v, Incoming& in);
    void apply_sync_write(Volume& v, Incoming& in);
    void flush_acks(Volume& v);
    // The sync writes of a batch of messages answered with one flush.
    void flush_sync_writes();
    void serve_sync();
    void serve_sync_path(bool accept);
    bool sync_waits_ = false;  // some volume's sync_waits
    struct {
        uint64_t writes = 0, flushes = 0, us = 0;  // us: from receipt to answer, summed
        Clock::time_point logged{};
    } sync_answered_;
    void end_fills(Volume& v);
    void cancel_fills(Volume& v);
    void finish_fill(Volume& v, Incoming& in);
    void serve_pending(Volume& v);
    bool can_fill(const Volume& v) const;
    void release_fills(Volume& v);
    void hydrate(Volume& v, Clock::time_point now);
    void replicate(Volume& v, Clock::time_point now);
    void on_push_ack(Volume& v, const wire::Message& m);
    void clear_pushed(Volume& v);
    uint64_t clear_confirmed(Volume& v, RangeSet set);
    void send_invalid_set(Volume& v);
    void on_invalid_set(Volume& v, const wire::Message& m);
    void reload_invalid(Volume& v);
    void reset_transfers(Volume& v);

    // control.cpp
    void ctl_accept();
    void ctl_read(size_t i);
    void ctl_request(CtlClient& c, const std::string& line);
    void ctl_migrate(int fd, const std::vector<std::string>& w);
    Volume* ctl_volume(int fd, const std::string& name);
    Volume* volume_named(const std::string& name);
    void ctl_failover(int fd, const std::string& name, bool force);
    void ctl_resolve(int fd, const std::string& name);
    void ctl_mode(int fd, const std::string& name, bool sync);
    void follow_mode(Volume& v, bool sync);
    void answer(Volume& v, const nlohmann::json& reply);
    void answer_failure(Volume& v, const Failure& f);
    void wait_for_move(Volume& v, int fd);
    void expire_waiters(Volume& v, Clock::time_point now);
    void emit(nlohmann::json e);

    // leases.cpp
    core::LeaseParams lease_params() const {
        return {std::chrono::milliseconds(cfg_.lease_ms),
                std::chrono::milliseconds(cfg_.lease_margin_ms), 1e-3};
    }
    bool has_witness() const { return !cfg_.witness.empty(); }
    wire::Message promises(Clock::time_point now);
    void on_pong(const wire::Message& m);
    void lease_tick(Volume& v, Clock::time_point now);
    void tell_kernel_lease(Volume& v, Clock::time_point now);
    std::optional<bool> lease_flag_before(const Volume& v, core::SiteState to) const;
    int lease_flag_first(Volume& v, core::SiteState to, std::string& why);
    void witness_answers();
    void on_witness_answer(Volume& v, const wire::Message& m);
    core::AloneFacts alone_facts(const Volume& v) const;
    void alone_tick(Volume& v, Clock::time_point now);
    bool caught_up(Volume& v);
    void presync_still_dirty(Volume& v, const RangeSet* cleaned = nullptr);
    void alone_changed(Volume& v, bool alone);
    void start_attempt(Volume& v, int fd);
    void attempt_tick(Volume& v, Clock::time_point now);
    void end_attempt(Volume& v, const nlohmann::json& reply);

    // daemon.cpp
    void reload();
    void core_reload(const Config& fresh);

    // status.cpp
    void refresh_kernel_status(Volume& v);
    VolumeStatus state_of(const Volume& v) const;
    // What core::failover_refusal weighs for @v, with @v.invalid as it is.
    core::FailoverFacts failover_facts(const Volume& v, bool force) const;
    void publish(Clock::time_point now);
    bool quiet(const Volume& v) const;
    // How many warm regions @v's owner keeps (core::warm_over): none but
    // in sync, and none with a kernel that does not count its unconfirmed
    // regions (it clears what the peer confirmed at once, as before).
    uint64_t keep_warm(const Volume& v) const {
        return v.reg.sync && v.owner() && v.kst && v.kst->unconfirmed ? cfg_.warm_regions : 0;
    }
    // How often a quiet volume that nothing touched is looked at (its
    // kernel status line read) by publish; status relies on it too.
    static constexpr std::chrono::milliseconds kQuietLook{5000};
    void tell_progress(Volume& v, uint64_t backlog, Clock::time_point now);

    Config cfg_;  // replication_rate and _window change on SIGHUP
    std::function<Config()> reread_;
    zmq::context_t ctx_;
    PeerLink link_;
    Kernel kernel_;
    core::Incarnations inc_;
    std::map<std::string, std::unique_ptr<Volume>> vols_;  // by dm name
    std::map<Uuid, Volume*> uuids_;                         // by_uuid's index of vols_
    std::map<Uuid, core::KeptVolume> kept_;  // volumes dropped, by UUID
    std::set<Uuid> absent_told_;  // volumes the peer has and this site not, logged
    std::map<std::string, nl::Dev> not_dcc_;  // dm devices the scan found without dcc
    unsigned scans_ = 0;
    std::unique_ptr<uint8_t, void (*)(void*)> buf_;        // one region, aligned
    bool link_up_ = false;
    // The connection to the witness as last logged and told (events).
    bool witness_up_ = false;
    void witness_link_news();
    // ... as status shows it; nullopt without a witness.
    std::optional<bool> witness_up() const;
    // When this dccd started, seconds since the epoch: its counters (status,
    // metrics) count from then.
    double started_ = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::string peer_site_;
    // Shared with the sync shipper: a push's and a sync write's seqs order
    // them at the replica (taken before their data is read).
    std::atomic<uint64_t> seq_{1};
    std::map<uint64_t, Clock::time_point> pings_;  // PINGs in flight: seq -> send time
    // DCCD_HOLD_PROGRESS_MS (DCC_TEST_HOOKS): PROGRESS sent that long after
    // it was counted, as one held up on its way; see dccd(8).
    std::deque<std::pair<Clock::time_point, wire::Message>> held_progress_;
    bool hold_progress(const wire::Message& m, Clock::time_point now);
    void release_progress(Clock::time_point now);
    std::optional<LinkRtt> link_rtt() const;
    core::RoundTrip rtt_;                           // to the peer's dccd, while the link is up
    Clock::time_point last_heard_{}, last_ping_{}, last_scan_{}, last_down_log_{}, last_publish_{};
    // New background pulls wait 300 ms after a role changed here (a
    // migration of many volumes takes the CPU first).
    core::PullGate pull_gate_{std::chrono::milliseconds(300)};
    // replication_rate for pushes, hydration_rate for background pulls (at
    // this site, over all volumes); a fetch is never paced.
    static_assert(Config::kUnlimited == core::Pacer::kUnlimited);
    core::Pacer push_pace_{cfg_.rate};
    core::Pacer pull_pace_{cfg_.hydration_rate};
    int sig_fd_ = -1;
    int ctl_fd_ = -1;
    std::vector<CtlClient> ctl_;
    std::vector<Start> starts_;  // migrations to start this round (run_starts)
    Workers workers_{4};         // their write-backs and suspends, side by side
    std::string next_volume_;  // where the next round of volume work starts
    std::unique_ptr<SyncShipper> sync_;  // after ctx_: closed before it
};

}  // namespace dcc::dccd
