// SPDX-License-Identifier: GPL-2.0-only
// The dm-dcc generic netlink channel, userspace side.
//
// Building requests and parsing replies is kept apart from the socket so
// that both can be tested without a kernel.
#pragma once

#include <linux/dm-dcc.h>
#include <netlink/genl/genl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dcc/meta.hpp"
#include "dcc/regions.hpp"

namespace dcc::nl {

struct Dev {
    uint32_t major = 0;
    uint32_t minor = 0;
    bool operator==(const Dev&) const = default;
};

struct MsgFree {
    void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using MsgPtr = std::unique_ptr<nl_msg, MsgFree>;

struct Request {
    uint8_t cmd = DCC_CMD_UNSPEC;
    Dev dev;
    std::optional<uint64_t> reg_id, region, count, generation;
    std::optional<uint8_t> set, role;
    std::optional<uint32_t> fill_errno;
    bool arm = false;  // the DCC_A_ARM flag, which version 2 refuses (tests send it)
    bool force = false;
    // CLEAR_DIRTY: only regions whose writes the other site confirmed;
    // WRITES_DONE: the other site holds these writes (else unconfirmed).
    bool confirmed = false;
    bool clean = false;         // SET_ROLE replica: drop every dirty bit in its commit
    std::vector<Range> ranges;  // SET_INVALID, FILL_DONE, ARM, CLEAR_DIRTY, SET_ROLE: many at once
    // SET_ROLE: DCC_ORIGIN_*, DCC_SPLIT_* and the split generation; absent: 0.
    std::optional<uint8_t> origin, split;
    std::optional<uint64_t> split_generation;
    // SET_LEASE: milliseconds from now, or DCC_LEASE_NONE.
    std::optional<uint32_t> lease_ms;
    // SET_SYNC: 0 or 1.
    std::optional<uint8_t> sync;
    // WRITES_DONE: the held writes it completes (with fill_errno: fails).
    std::vector<uint64_t> write_ids;
};

// A request for family @family, with NLM_F_REQUEST | NLM_F_ACK.
MsgPtr build(int family, const Request& req);

struct RegisterReply {
    uint64_t reg_id = 0;
    uint32_t region_sectors = 0;
    uint64_t nr_regions = 0;
    uint64_t data_sectors = 0;
    Dev data;
    uint8_t role = 0;
    uint8_t mode = 0;
    uint64_t generation = 0;
    Uuid uuid{};
    uint8_t origin = 0, split = 0;  // DCC_ORIGIN_*, DCC_SPLIT_*
    uint64_t split_generation = 0;
    bool lease = false;  // DCC_SB_F_LEASE: the owner serves only under a lease
    bool sync = false;   // DCC_SB_F_SYNC: writes wait for the other site
};

struct RegionsReply {
    std::vector<Range> ranges;
    std::optional<uint64_t> next;  // where the next request starts; none: the end
};

struct Event {
    uint8_t cmd = 0;  // DCC_CMD_EVENT_MISS, _STATE or _WRITTEN
    Dev dev;
    uint64_t region = 0;
    uint8_t mode = 0, role = 0;
    uint64_t generation = 0;
    uint8_t origin = 0, split = 0;  // EVENT_STATE: DCC_ORIGIN_*, DCC_SPLIT_*
    uint64_t split_generation = 0;
    bool lease = false;  // EVENT_STATE: DCC_SB_F_LEASE
    bool sync = false;   // EVENT_STATE: DCC_SB_F_SYNC
    std::vector<dcc_written> writes;  // EVENT_WRITTEN
};

// Each returns nullopt for a message that is not a well-formed reply.
std::optional<RegisterReply> parse_register(nlmsghdr* nlh);
std::optional<RegionsReply> parse_regions(nlmsghdr* nlh);
std::optional<uint64_t> parse_count(nlmsghdr* nlh);
std::optional<Event> parse_event(nlmsghdr* nlh);

// For an NLMSG_ERROR message: the (negative) error and the kernel's
// extended-ack text, if any.
int parse_error(nlmsghdr* nlh, std::string& text);

// Throws dcc::Error, naming both versions, unless the kernel's family
// version is the one this program was built for (DCC_GENL_VERSION).
void check_family_version(unsigned kernel_version);

// A generic netlink socket bound to the dm-dcc family; refuses a kernel
// whose family has another version than this program's.
class Client {
public:
    Client();
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    int family() const { return family_; }
    // Another socket to the family this one found and checked, without
    // looking it up again (a daemon opens one for each volume).
    std::unique_ptr<Client> another() const;
    uint32_t portid() const;

    // Send a request and wait for its answer.  Returns 0 or -errno; @msg
    // gets the kernel's explanation, @on_reply sees the reply, if any.
    int transact(const Request& req, const std::function<void(nlmsghdr*)>& on_reply,
                 std::string* msg = nullptr);
    // The same for a message built by the caller (tests send malformed ones).
    int transact_msg(nl_msg* m, const std::function<void(nlmsghdr*)>& on_reply,
                     std::string* msg = nullptr);

    // Helpers that throw dcc::Error for unexpected failures.
    RegisterReply register_volume(Dev dev);
    void unregister(Dev dev, uint64_t reg_id);
    RegionsReply get_regions(Dev dev, uint8_t set, uint64_t cursor);

private:
    explicit Client(int family);

    nl_sock* sk_ = nullptr;
    int family_ = -1;
};

// A socket subscribed to a multicast group of the family (events, or
// writes).  Events are hints: after an overflow (lost) the reader re-reads
// the state it cares about.
class EventSocket {
public:
    explicit EventSocket(const char* group = DCC_GENL_MCGRP_EVENTS);
    ~EventSocket();
    EventSocket(const EventSocket&) = delete;
    EventSocket& operator=(const EventSocket&) = delete;

    int fd() const;
    // Read what is queued without blocking.  Returns the events; sets
    // @lost when the kernel had to drop some.
    std::vector<Event> drain(bool& lost);

private:
    nl_sock* sk_ = nullptr;
};

}  // namespace dcc::nl
