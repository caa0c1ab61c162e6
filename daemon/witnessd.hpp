// SPDX-License-Identifier: GPL-2.0-only
// dccd --witness: the witness at a third site (docs/failover-design.md,
// dccd(8) WITNESS).  The decisions are core::Witness's; this is the I/O
// around them: a ROUTER the sites' requests come in on, CURVE with a ZAP
// handler that admits only the configured sites' keys (and names the site
// a connection belongs to), and one file per volume in the state
// directory, written durably before any answer that needs it.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "boot_clock.hpp"
#include "lease.hpp"
#include "wire.hpp"
#include "witness.hpp"
#include "witness_config.hpp"
#include "zmq_util.hpp"

namespace dcc {

struct WitnessOptions {
    bool signals = true;  // end run() on SIGTERM or SIGINT (off in tests)
    // The clock leases are counted on (tests move it).
    std::function<core::LeaseClock::time_point()> clock = [] { return core::LeaseClock::now(); };
};

// The file that makes a directory a witness's state directory.  A witness
// starts only where it finds it: an empty directory may be the mount
// point of a disk that is not mounted, and a witness without its records
// may grant a generation twice.
inline constexpr const char* kWitnessMarker = "witness-state";

// dccd --witness --init: make @dir a witness's state directory (the
// directory too, mode 0700, if missing).  Refused (Error, kExitRefused) if
// it is one already or holds records; nothing is changed then.
void init_witness_state(const std::string& dir);

class Witnessd {
public:
    // Reads every record in the state directory (an unreadable or corrupt
    // one throws Error naming the file) and binds the listener.
    explicit Witnessd(const WitnessConfig& cfg, WitnessOptions opt = {});
    ~Witnessd();
    Witnessd(const Witnessd&) = delete;
    Witnessd& operator=(const Witnessd&) = delete;

    // Serves until a signal or stop() (0), or until a record could not be
    // written (kExitError: the witness must not go on with a state its
    // disk does not have; it reads the disk again when it starts).
    int run();
    // Ends run(), from any thread.
    void stop();
    // Where the listener is bound (with the port ZeroMQ chose for ":*").
    std::string endpoint() const { return endpoint_; }
    size_t records() const { return loaded_; }

private:
    void open_state_dir();
    void load_records();
    void persist(const Uuid& vol, const core::WitnessRecord& r);
    void serve_zap();
    void serve_monitor();
    // One message from the ROUTER; false if a record could not be written.
    bool serve(std::vector<zmq::message_t>& frames);
    void answer(const zmq::message_t& identity, const wire::Message& req, int status,
                const core::WitnessRecord& rec, uint64_t arg);
    // Logs @line, at most once a minute for each @key (with how many were
    // left out): refusals repeat with every renewal.
    void quietly(const std::string& key, const std::string& line, bool warn = false);

    WitnessConfig cfg_;
    WitnessOptions opt_;
    int sig_fd_ = -1, stop_fd_ = -1, dir_fd_ = -1, lock_fd_ = -1;
    zmq::context_t ctx_;
    zmq::socket_t zap_, router_, monitor_;
    std::string endpoint_;
    std::map<std::string, std::string> site_of_key_;  // 32 raw bytes -> site name
    core::Witness witness_;
    uint64_t incarnation_ = 0;
    size_t loaded_ = 0;
    bool failed_ = false;  // a record could not be written
    std::set<uint8_t> unserved_;  // request types dropped (each logged once)
    struct Quiet {
        core::BootClock::time_point logged;
        unsigned left_out = 0;
    };
    std::map<std::string, Quiet> quiet_;
    RefusalLog monitor_log_;
};

}  // namespace dcc
