// SPDX-License-Identifier: GPL-2.0-only
#include "dcc/nl.hpp"

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/family.h>
#include <netlink/msg.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "dcc/error.hpp"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace dcc::nl {

namespace {

nla_policy g_policy[DCC_A_MAX + 1];
nla_policy g_range_policy[DCC_RANGE_A_MAX + 1];

struct PolicyInit {
    PolicyInit() {
        for (int a : {DCC_A_MAJOR, DCC_A_MINOR, DCC_A_REGION_SECTORS, DCC_A_DATA_MAJOR,
                      DCC_A_DATA_MINOR, DCC_A_ERRNO, DCC_A_LEASE_MS})
            g_policy[a].type = NLA_U32;
        for (int a : {DCC_A_REG_ID, DCC_A_REGION, DCC_A_COUNT, DCC_A_NEXT, DCC_A_GENERATION,
                      DCC_A_NR_REGIONS, DCC_A_DATA_SECTORS, DCC_A_SPLIT_GENERATION})
            g_policy[a].type = NLA_U64;
        for (int a : {DCC_A_SET, DCC_A_ROLE, DCC_A_MODE, DCC_A_ORIGIN, DCC_A_SPLIT, DCC_A_LEASE,
                      DCC_A_SYNC})
            g_policy[a].type = NLA_U8;
        g_policy[DCC_A_ARM].type = NLA_FLAG;
        g_policy[DCC_A_FORCE].type = NLA_FLAG;
        g_policy[DCC_A_RANGES].type = NLA_NESTED;
        g_policy[DCC_A_UUID].type = NLA_UNSPEC;
        g_policy[DCC_A_UUID].minlen = 16;
        g_policy[DCC_A_WRITES].type = NLA_UNSPEC;
        g_range_policy[DCC_RANGE_A_START].type = NLA_U64;
        g_range_policy[DCC_RANGE_A_COUNT].type = NLA_U64;
    }
} g_policy_init;

bool parse_attrs(nlmsghdr* nlh, nlattr** tb) {
    if (!nlh || nlh->nlmsg_type < NLMSG_MIN_TYPE) return false;
    return genlmsg_parse(nlh, 0, tb, DCC_A_MAX, g_policy) == 0;
}

bool has(nlattr** tb, std::initializer_list<int> attrs) {
    for (int a : attrs)
        if (!tb[a]) return false;
    return true;
}

uint8_t genl_cmd(nlmsghdr* nlh) {
    return static_cast<genlmsghdr*>(nlmsg_data(nlh))->cmd;
}

// ORIGIN, SPLIT and SPLIT_GENERATION of a reply or event, which must all be
// there and fit GENERATION as the kernel keeps them.
bool get_split_state(nlattr** tb, uint8_t role, uint64_t generation, uint8_t& origin, uint8_t& split,
                     uint64_t& split_generation) {
    if (!has(tb, {DCC_A_ORIGIN, DCC_A_SPLIT, DCC_A_SPLIT_GENERATION})) return false;
    origin = nla_get_u8(tb[DCC_A_ORIGIN]);
    split = nla_get_u8(tb[DCC_A_SPLIT]);
    split_generation = nla_get_u64(tb[DCC_A_SPLIT_GENERATION]);
    return split_state_valid(role, origin, split, split_generation, generation);
}

// LEASE of a reply or event: there, and 0 or 1.
bool get_lease(nlattr** tb, bool& lease) {
    if (!tb[DCC_A_LEASE] || nla_get_u8(tb[DCC_A_LEASE]) > 1) return false;
    lease = nla_get_u8(tb[DCC_A_LEASE]);
    return true;
}

// SYNC of a reply or event: there, and 0 or 1.
bool get_sync(nlattr** tb, bool& sync) {
    if (!tb[DCC_A_SYNC] || nla_get_u8(tb[DCC_A_SYNC]) > 1) return false;
    sync = nla_get_u8(tb[DCC_A_SYNC]);
    return true;
}

}  // namespace

MsgPtr build(int family, const Request& r) {
    MsgPtr m(nlmsg_alloc_size(1024 + r.ranges.size() * 40 + r.write_ids.size() * 8));
    if (!m) throw Error(kExitError, "cannot allocate netlink message", ENOMEM);
    if (!genlmsg_put(m.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_REQUEST | NLM_F_ACK,
                     r.cmd, DCC_GENL_VERSION))
        throw Error(kExitError, "cannot build netlink header", ENOMEM);
    int e = nla_put_u32(m.get(), DCC_A_MAJOR, r.dev.major);
    e = e ?: nla_put_u32(m.get(), DCC_A_MINOR, r.dev.minor);
    if (r.reg_id) e = e ?: nla_put_u64(m.get(), DCC_A_REG_ID, *r.reg_id);
    if (r.region) e = e ?: nla_put_u64(m.get(), DCC_A_REGION, *r.region);
    if (r.count) e = e ?: nla_put_u64(m.get(), DCC_A_COUNT, *r.count);
    if (r.generation) e = e ?: nla_put_u64(m.get(), DCC_A_GENERATION, *r.generation);
    if (r.set) e = e ?: nla_put_u8(m.get(), DCC_A_SET, *r.set);
    if (r.role) e = e ?: nla_put_u8(m.get(), DCC_A_ROLE, *r.role);
    if (r.fill_errno) e = e ?: nla_put_u32(m.get(), DCC_A_ERRNO, *r.fill_errno);
    if (r.origin) e = e ?: nla_put_u8(m.get(), DCC_A_ORIGIN, *r.origin);
    if (r.split) e = e ?: nla_put_u8(m.get(), DCC_A_SPLIT, *r.split);
    if (r.split_generation)
        e = e ?: nla_put_u64(m.get(), DCC_A_SPLIT_GENERATION, *r.split_generation);
    if (r.lease_ms) e = e ?: nla_put_u32(m.get(), DCC_A_LEASE_MS, *r.lease_ms);
    if (r.sync) e = e ?: nla_put_u8(m.get(), DCC_A_SYNC, *r.sync);
    if (!r.write_ids.empty())
        e = e ?: nla_put(m.get(), DCC_A_WRITE_IDS, int(r.write_ids.size() * sizeof(uint64_t)),
                         r.write_ids.data());
    if (r.arm) e = e ?: nla_put_flag(m.get(), DCC_A_ARM);
    if (r.force) e = e ?: nla_put_flag(m.get(), DCC_A_FORCE);
    if (r.confirmed) e = e ?: nla_put_flag(m.get(), DCC_A_CONFIRMED);
    if (r.clean) e = e ?: nla_put_flag(m.get(), DCC_A_CLEAN);
    if (!r.ranges.empty()) {
        nlattr* nest = nla_nest_start(m.get(), DCC_A_RANGES);
        for (const Range& x : r.ranges) {
            nlattr* one = nla_nest_start(m.get(), DCC_A_RANGE);
            e = e ?: nla_put_u64(m.get(), DCC_RANGE_A_START, x.start);
            e = e ?: nla_put_u64(m.get(), DCC_RANGE_A_COUNT, x.count);
            if (!one || e) throw Error(kExitError, "netlink message too large", EMSGSIZE);
            nla_nest_end(m.get(), one);
        }
        nla_nest_end(m.get(), nest);
    }
    if (e) throw Error(kExitError, "netlink message too large", EMSGSIZE);
    return m;
}

std::optional<RegisterReply> parse_register(nlmsghdr* nlh) {
    nlattr* tb[DCC_A_MAX + 1];
    if (!parse_attrs(nlh, tb) || genl_cmd(nlh) != DCC_CMD_REGISTER ||
        !has(tb, {DCC_A_REG_ID, DCC_A_REGION_SECTORS, DCC_A_NR_REGIONS, DCC_A_DATA_SECTORS,
                  DCC_A_DATA_MAJOR, DCC_A_DATA_MINOR, DCC_A_ROLE, DCC_A_MODE, DCC_A_GENERATION,
                  DCC_A_UUID}) ||
        nla_len(tb[DCC_A_UUID]) != 16)
        return std::nullopt;
    RegisterReply r;
    r.reg_id = nla_get_u64(tb[DCC_A_REG_ID]);
    r.region_sectors = nla_get_u32(tb[DCC_A_REGION_SECTORS]);
    r.nr_regions = nla_get_u64(tb[DCC_A_NR_REGIONS]);
    r.data_sectors = nla_get_u64(tb[DCC_A_DATA_SECTORS]);
    r.data = {nla_get_u32(tb[DCC_A_DATA_MAJOR]), nla_get_u32(tb[DCC_A_DATA_MINOR])};
    r.role = nla_get_u8(tb[DCC_A_ROLE]);
    r.mode = nla_get_u8(tb[DCC_A_MODE]);
    r.generation = nla_get_u64(tb[DCC_A_GENERATION]);
    std::memcpy(r.uuid.data(), nla_data(tb[DCC_A_UUID]), 16);
    if (!r.region_sectors || (r.region_sectors & (r.region_sectors - 1)) || !r.nr_regions ||
        !get_split_state(tb, r.role, r.generation, r.origin, r.split, r.split_generation) ||
        !get_lease(tb, r.lease) || !get_sync(tb, r.sync))
        return std::nullopt;
    return r;
}

std::optional<RegionsReply> parse_regions(nlmsghdr* nlh) {
    nlattr* tb[DCC_A_MAX + 1];
    if (!parse_attrs(nlh, tb) || genl_cmd(nlh) != DCC_CMD_GET_REGIONS || !tb[DCC_A_RANGES])
        return std::nullopt;
    RegionsReply out;
    nlattr* pos;
    int rem;
    nla_for_each_nested(pos, tb[DCC_A_RANGES], rem) {
        nlattr* rt[DCC_RANGE_A_MAX + 1];
        if (nla_type(pos) != DCC_A_RANGE ||
            nla_parse_nested(rt, DCC_RANGE_A_MAX, pos, g_range_policy) ||
            !rt[DCC_RANGE_A_START] || !rt[DCC_RANGE_A_COUNT])
            return std::nullopt;
        Range r{nla_get_u64(rt[DCC_RANGE_A_START]), nla_get_u64(rt[DCC_RANGE_A_COUNT])};
        if (!r.count || r.start + r.count < r.start) return std::nullopt;
        if (!out.ranges.empty() && r.start < out.ranges.back().end()) return std::nullopt;
        out.ranges.push_back(r);
    }
    if (out.ranges.size() > DCC_MAX_RANGES_PER_REPLY) return std::nullopt;
    if (tb[DCC_A_NEXT]) out.next = nla_get_u64(tb[DCC_A_NEXT]);
    return out;
}

std::optional<uint64_t> parse_count(nlmsghdr* nlh) {
    nlattr* tb[DCC_A_MAX + 1];
    if (!parse_attrs(nlh, tb) || !tb[DCC_A_COUNT]) return std::nullopt;
    return nla_get_u64(tb[DCC_A_COUNT]);
}

std::optional<Event> parse_event(nlmsghdr* nlh) {
    nlattr* tb[DCC_A_MAX + 1];
    if (!parse_attrs(nlh, tb) || !has(tb, {DCC_A_MAJOR, DCC_A_MINOR})) return std::nullopt;
    Event ev;
    ev.cmd = genl_cmd(nlh);
    ev.dev = {nla_get_u32(tb[DCC_A_MAJOR]), nla_get_u32(tb[DCC_A_MINOR])};
    if (ev.cmd == DCC_CMD_EVENT_MISS) {
        if (!tb[DCC_A_REGION]) return std::nullopt;
        ev.region = nla_get_u64(tb[DCC_A_REGION]);
    } else if (ev.cmd == DCC_CMD_EVENT_STATE) {
        if (!has(tb, {DCC_A_MODE, DCC_A_ROLE, DCC_A_GENERATION})) return std::nullopt;
        ev.mode = nla_get_u8(tb[DCC_A_MODE]);
        ev.role = nla_get_u8(tb[DCC_A_ROLE]);
        ev.generation = nla_get_u64(tb[DCC_A_GENERATION]);
        if (!get_split_state(tb, ev.role, ev.generation, ev.origin, ev.split, ev.split_generation) ||
            !get_lease(tb, ev.lease) || !get_sync(tb, ev.sync))
            return std::nullopt;
    } else if (ev.cmd == DCC_CMD_EVENT_WRITTEN) {
        if (!tb[DCC_A_WRITES]) return std::nullopt;
        size_t len = size_t(nla_len(tb[DCC_A_WRITES]));
        if (!len || len % sizeof(dcc_written) || len / sizeof(dcc_written) > DCC_MAX_WRITES_PER_EVENT)
            return std::nullopt;
        ev.writes.resize(len / sizeof(dcc_written));
        std::memcpy(ev.writes.data(), nla_data(tb[DCC_A_WRITES]), len);
        for (const dcc_written& w : ev.writes)
            if (!w.sectors || w.sector + w.sectors < w.sector) return std::nullopt;
    } else {
        return std::nullopt;
    }
    return ev;
}

void check_family_version(unsigned kernel_version) {
    if (kernel_version == DCC_GENL_VERSION) return;
    throw Error(kExitError, "the dm-dcc module speaks netlink version " +
                                std::to_string(kernel_version) + ", this program version " +
                                std::to_string(DCC_GENL_VERSION) +
                                ": load the module that came with these tools");
}

int parse_error(nlmsghdr* nlh, std::string& text) {
    text.clear();
    if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr)))
        return -EPROTO;
    auto* err = static_cast<nlmsgerr*>(nlmsg_data(nlh));
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return err->error;
    // With NETLINK_CAP_ACK the request is not echoed: TLVs follow the header.
    size_t off = sizeof(nlmsgerr);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
        off += err->msg.nlmsg_len - sizeof(nlmsghdr);
    if (NLMSG_LENGTH(off) > nlh->nlmsg_len) return err->error;
    auto* attrs = reinterpret_cast<nlattr*>(static_cast<char*>(nlmsg_data(nlh)) + off);
    int len = int(nlh->nlmsg_len - NLMSG_LENGTH(off));
    nlattr* pos;
    int rem;
    nla_for_each_attr(pos, attrs, len, rem) {
        if (nla_type(pos) == NLMSGERR_ATTR_MSG && nla_len(pos) > 0) {
            const char* s = static_cast<const char*>(nla_data(pos));
            text.assign(s, strnlen(s, size_t(nla_len(pos))));
        }
    }
    return err->error;
}

// A socket of the family's protocol, with room for range lists and the
// kernel's explanations of errors.
static nl_sock* open_genl_socket() {
    nl_sock* sk = nl_socket_alloc();
    if (!sk) throw Error(kExitError, "cannot allocate netlink socket", ENOMEM);
    if (genl_connect(sk) < 0) {
        nl_socket_free(sk);
        throw Error(kExitError, "cannot open generic netlink socket", errno);
    }
    nl_socket_set_buffer_size(sk, 1 << 20, 1 << 20);  // room for range lists
    int one = 1;
    setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
    return sk;
}

Client::Client() {
    sk_ = open_genl_socket();
    family_ = genl_ctrl_resolve(sk_, DCC_GENL_NAME);
    if (family_ < 0) {
        nl_socket_free(sk_);
        throw Error(kExitNotFound,
                    "generic netlink family '" DCC_GENL_NAME "' not found: is the dm-dcc module loaded?");
    }
    nl_cache* cache = nullptr;
    genl_family* fam = nullptr;
    if (genl_ctrl_alloc_cache(sk_, &cache) >= 0) fam = genl_ctrl_search_by_name(cache, DCC_GENL_NAME);
    unsigned version = fam ? genl_family_get_version(fam) : 0;
    if (fam) genl_family_put(fam);
    if (cache) nl_cache_free(cache);
    try {
        if (!fam)
            throw Error(kExitError, "cannot read the version of the '" DCC_GENL_NAME "' netlink family");
        check_family_version(version);
    } catch (...) {
        nl_socket_free(sk_);
        throw;
    }
}

Client::Client(int family) : sk_(open_genl_socket()), family_(family) {}

std::unique_ptr<Client> Client::another() const { return std::unique_ptr<Client>(new Client(family_)); }

Client::~Client() { nl_socket_free(sk_); }

uint32_t Client::portid() const { return nl_socket_get_local_port(sk_); }

int Client::transact(const Request& req, const std::function<void(nlmsghdr*)>& on_reply,
                     std::string* msg) {
    MsgPtr m = build(family_, req);
    return transact_msg(m.get(), on_reply, msg);
}

int Client::transact_msg(nl_msg* m, const std::function<void(nlmsghdr*)>& on_reply,
                         std::string* msg) {
    if (int e = nl_send_auto(sk_, m); e < 0)
        throw Error(kExitError, std::string("netlink send failed: ") + nl_geterror(e));
    uint32_t seq = nlmsg_hdr(m)->nlmsg_seq;
    for (;;) {
        sockaddr_nl peer{};
        unsigned char* buf = nullptr;
        int n = nl_recv(sk_, &peer, &buf, nullptr);
        if (n <= 0) {
            free(buf);
            throw Error(kExitError, std::string("netlink receive failed: ") + nl_geterror(n));
        }
        auto* nlh = reinterpret_cast<nlmsghdr*>(buf);
        int len = n;
        int result = 1;  // 1: keep reading
        for (; nlmsg_ok(nlh, len); nlh = nlmsg_next(nlh, &len)) {
            if (nlh->nlmsg_seq != seq) continue;  // a late answer to an earlier request
            if (nlh->nlmsg_type == NLMSG_ERROR) {
                std::string text;
                result = parse_error(nlh, text);
                if (msg) *msg = text;
                break;
            }
            if (nlh->nlmsg_type == NLMSG_DONE) continue;
            if (on_reply) on_reply(nlh);
        }
        free(buf);
        if (result <= 0) return result;
    }
}

namespace {

[[noreturn]] void fail(const char* what, int err, const std::string& text) {
    std::string s = errno_text(what, -err);
    if (!text.empty()) s += " (" + text + ")";
    throw Error(err == -ENODEV ? kExitNotFound : err == -EBUSY ? kExitRefused : kExitError, s,
                -err);
}

}  // namespace

RegisterReply Client::register_volume(Dev dev) {
    std::optional<RegisterReply> reply;
    std::string text;
    Request req{.cmd = DCC_CMD_REGISTER, .dev = dev};
    int e = transact(req, [&](nlmsghdr* nlh) { reply = parse_register(nlh); }, &text);
    if (e) fail("register with the kernel", e, text);
    if (!reply) throw Error(kExitError, "malformed REGISTER reply from the kernel");
    return *reply;
}

void Client::unregister(Dev dev, uint64_t reg_id) {
    std::string text;
    Request req{.cmd = DCC_CMD_UNREGISTER, .dev = dev, .reg_id = reg_id};
    if (int e = transact(req, nullptr, &text)) fail("unregister", e, text);
}

RegionsReply Client::get_regions(Dev dev, uint8_t set, uint64_t cursor) {
    std::optional<RegionsReply> reply;
    std::string text;
    Request req{.cmd = DCC_CMD_GET_REGIONS, .dev = dev, .region = cursor, .set = set};
    int e = transact(req, [&](nlmsghdr* nlh) { reply = parse_regions(nlh); }, &text);
    if (e) fail("read the region set", e, text);
    if (!reply) throw Error(kExitError, "malformed GET_REGIONS reply from the kernel");
    return *reply;
}

EventSocket::EventSocket(const char* group) {
    sk_ = nl_socket_alloc();
    if (!sk_) throw Error(kExitError, "cannot allocate netlink socket", ENOMEM);
    nl_socket_disable_seq_check(sk_);
    if (genl_connect(sk_) < 0) {
        nl_socket_free(sk_);
        throw Error(kExitError, "cannot open generic netlink socket", errno);
    }
    int grp = genl_ctrl_resolve_grp(sk_, DCC_GENL_NAME, group);
    if (grp < 0 || nl_socket_add_membership(sk_, grp) < 0) {
        nl_socket_free(sk_);
        throw Error(kExitError, std::string("cannot join the dm-dcc ") + group + " group");
    }
    // Held writes come in bursts; a drop costs an ANNOUNCE_WRITES round.
    // (As root past net.core.rmem_max; otherwise as much as it allows.)
    int rcv = 4 << 20;
    if (setsockopt(nl_socket_get_fd(sk_), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)))
        nl_socket_set_buffer_size(sk_, rcv, 0);
    nl_socket_set_nonblocking(sk_);
}

EventSocket::~EventSocket() { nl_socket_free(sk_); }

int EventSocket::fd() const { return nl_socket_get_fd(sk_); }

std::vector<Event> EventSocket::drain(bool& lost) {
    std::vector<Event> out;
    lost = false;
    for (;;) {
        sockaddr_nl peer{};
        unsigned char* buf = nullptr;
        int n = nl_recv(sk_, &peer, &buf, nullptr);
        if (n == -NLE_NOMEM && errno == ENOBUFS) {  // the kernel dropped events
            lost = true;
            continue;
        }
        if (n <= 0) {
            free(buf);
            if (n < 0 && n != -NLE_AGAIN) lost = true;
            return out;
        }
        auto* nlh = reinterpret_cast<nlmsghdr*>(buf);
        int len = n;
        for (; nlmsg_ok(nlh, len); nlh = nlmsg_next(nlh, &len))
            if (auto ev = parse_event(nlh)) out.push_back(*ev);
        free(buf);
    }
}

}  // namespace dcc::nl
