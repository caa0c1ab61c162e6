// SPDX-License-Identifier: GPL-2.0-only
#include "wire.hpp"

#include <cstring>

namespace dcc::wire {

namespace {

class Writer {
public:
    void u8(uint8_t v) { b_.push_back(v); }
    void u16(uint16_t v) { le(v, 2); }
    void u32(uint32_t v) { le(v, 4); }
    void u64(uint64_t v) { le(v, 8); }
    void bytes(const void* p, size_t n) {
        auto* c = static_cast<const uint8_t*>(p);
        b_.insert(b_.end(), c, c + n);
    }
    std::vector<uint8_t>& out() { return b_; }

private:
    void le(uint64_t v, int n) {
        for (int i = 0; i < n; i++) b_.push_back(uint8_t(v >> (8 * i)));
    }
    std::vector<uint8_t> b_;
};

class Reader {
public:
    explicit Reader(std::span<const uint8_t> s) : s_(s) {}
    bool has(size_t n) const { return s_.size() - pos_ >= n; }
    uint8_t u8() { return s_[pos_++]; }
    uint16_t u16() { return uint16_t(le(2)); }
    uint32_t u32() { return uint32_t(le(4)); }
    uint64_t u64() { return le(8); }
    void bytes(void* p, size_t n) {
        std::memcpy(p, s_.data() + pos_, n);
        pos_ += n;
    }
    size_t left() const { return s_.size() - pos_; }

private:
    uint64_t le(int n) {
        uint64_t v = 0;
        for (int i = n - 1; i >= 0; i--) v = (v << 8) | s_[pos_ + size_t(i)];
        pos_ += size_t(n);
        return v;
    }
    std::span<const uint8_t> s_;
    size_t pos_ = 0;
};

bool known(uint8_t t) { return t >= uint8_t(Type::Hello) && t <= uint8_t(Type::SyncOpenAck); }

bool has_ranges(Type t) { return t == Type::InvalidSet || t == Type::Handover; }

bool has_arg(Type t) {
    return t == Type::Push || t == Type::InvalidSet || t == Type::Handover || t == Type::Pong ||
           t == Type::WAnswer || t == Type::SyncWrite || t == Type::Progress || t == Type::Mode ||
           t == Type::AttachAck || t == Type::SyncOpenAck;
}

bool has_count(Type t) { return has_ranges(t) || t == Type::Pong; }

bool good_name(const std::string& s) {
    if (s.empty() || s.size() > kMaxSiteName) return false;
    for (char c : s)
        if (c < 0x21 || c > 0x7e) return false;
    return true;
}

void put_name(Writer& w, const std::string& s) {
    w.u8(uint8_t(s.size()));
    w.bytes(s.data(), s.size());
}

// A length-prefixed name; false if it does not fit what is left.
bool get_name(Reader& r, std::string& s) {
    if (!r.has(1)) return false;
    size_t n = r.u8();
    if (!r.has(n)) return false;
    s.resize(n);
    r.bytes(s.data(), n);
    return true;
}

bool is_link(Type t) {
    return t == Type::Hello || t == Type::HelloAck || t == Type::Ping || t == Type::Pong ||
           t == Type::SyncOpen || t == Type::SyncOpenAck;
}

Decoded refuse(std::string why) { return Decoded{std::nullopt, std::move(why)}; }

}  // namespace

const char* type_name(Type t) {
    switch (t) {
    case Type::Hello: return "HELLO";
    case Type::HelloAck: return "HELLO_ACK";
    case Type::Ping: return "PING";
    case Type::Pong: return "PONG";
    case Type::Attach: return "ATTACH";
    case Type::AttachAck: return "ATTACH_ACK";
    case Type::InvalidSet: return "INVALID_SET";
    case Type::Fetch: return "FETCH";
    case Type::FetchReply: return "FETCH_REPLY";
    case Type::Push: return "PUSH";
    case Type::PushAck: return "PUSH_ACK";
    case Type::Pull: return "PULL";
    case Type::PullReply: return "PULL_REPLY";
    case Type::Handover: return "HANDOVER";
    case Type::HandoverAck: return "HANDOVER_ACK";
    case Type::HandoverAsk: return "HANDOVER_ASK";
    case Type::Progress: return "PROGRESS";
    case Type::WRenew: return "W_RENEW";
    case Type::WClaim: return "W_CLAIM";
    case Type::WYield: return "W_YIELD";
    case Type::WAnswer: return "W_ANSWER";
    case Type::SyncWrite: return "SYNC_WRITE";
    case Type::SyncAck: return "SYNC_ACK";
    case Type::Mode: return "MODE";
    case Type::Detach: return "DETACH";
    case Type::WOutdate: return "W_OUTDATE";
    case Type::WUptodate: return "W_UPTODATE";
    case Type::SyncOpen: return "SYNC_OPEN";
    case Type::SyncOpenAck: return "SYNC_OPEN_ACK";
    }
    return "?";
}

bool has_payload(Type t) {
    return t == Type::FetchReply || t == Type::Push || t == Type::PullReply ||
           t == Type::SyncWrite || t == Type::SyncOpenAck;
}

bool is_multipart(Type t) { return has_ranges(t); }

bool is_witness(Type t) {
    return (t >= Type::WRenew && t <= Type::WAnswer) || t == Type::WOutdate || t == Type::WUptodate;
}

std::vector<uint8_t> encode(const Message& m) {
    Writer body;
    switch (m.type) {
    case Type::Hello:
    case Type::HelloAck:
        body.bytes(m.site.data(), m.site.size());
        break;
    case Type::Attach:
    case Type::AttachAck:
        body.u32(m.info.region_sectors);
        body.u8(m.info.role);
        body.u8(m.info.origin);
        body.u8(m.info.split);
        body.u8(uint8_t((m.info.dirty ? 1 : 0) | (m.info.sync ? 2 : 0) | (m.info.witness ? 4 : 0)));
        body.u64(m.info.nr_regions);
        break;
    case Type::InvalidSet:
    case Type::Handover:
        for (const Range& r : m.ranges) {
            body.u64(r.start);
            body.u64(r.count);
        }
        break;
    case Type::Pong:
        for (const Promised& p : m.promises) {
            body.bytes(p.volume.data(), p.volume.size());
            body.u64(p.generation);
        }
        break;
    case Type::WRenew:
    case Type::WClaim:
    case Type::WYield:
    case Type::WOutdate:
    case Type::WUptodate:
        put_name(body, m.site);
        put_name(body, m.to_site);
        break;
    case Type::WAnswer:
        put_name(body, m.site);
        break;
    default:
        break;
    }
    Writer w;
    w.u16(kMagic);
    w.u8(kVersion);
    w.u8(uint8_t(m.type));
    w.u16(m.part);
    w.u16(m.parts);
    w.bytes(m.volume.data(), m.volume.size());
    w.u64(m.from);
    w.u64(m.to);
    w.u64(m.seq);
    w.u64(m.generation);
    w.u64(m.region);
    w.u64(m.arg);
    w.u32(has_ranges(m.type)     ? uint32_t(m.ranges.size())
          : m.type == Type::Pong ? uint32_t(m.promises.size())
                                 : 0);
    w.u32(uint32_t(m.status));
    w.u32(uint32_t(body.out().size()));
    w.u32(0);
    w.bytes(body.out().data(), body.out().size());
    return std::move(w.out());
}

Decoded decode(std::span<const uint8_t> frame, size_t payload_frames) {
    if (frame.size() < kHeaderSize) return refuse("short header");
    Reader r(frame);
    if (r.u16() != kMagic) return refuse("bad magic");
    uint8_t version = r.u8();
    if (version != kVersion)
        return refuse("protocol version " + std::to_string(version) + ", this side speaks " +
                      std::to_string(kVersion));
    uint8_t type = r.u8();
    if (!known(type)) return refuse("unknown message type " + std::to_string(type));
    Message m;
    m.type = Type(type);
    m.part = r.u16();
    m.parts = r.u16();
    if (!m.parts || m.part >= m.parts) return refuse("bad part number");
    if (m.parts != 1 && !is_multipart(m.type))
        return refuse(std::string(type_name(m.type)) + " in parts");
    r.bytes(m.volume.data(), m.volume.size());
    m.from = r.u64();
    m.to = r.u64();
    m.seq = r.u64();
    m.generation = r.u64();
    m.region = r.u64();
    m.arg = r.u64();
    uint32_t count = r.u32();
    uint32_t status = r.u32();
    uint32_t body_len = r.u32();
    if (r.u32()) return refuse("reserved header bytes not zero");
    if (m.arg && !has_arg(m.type)) return refuse(std::string(type_name(m.type)) + " with an arg");
    if (body_len != r.left()) return refuse("body length does not match the frame");
    if (status > 4095) return refuse("status out of range");
    m.status = int32_t(status);
    if ((payload_frames != 0) != (has_payload(m.type) && m.status == 0))
        return refuse(std::string(type_name(m.type)) + " with a wrong number of data frames");
    if (payload_frames > 1) return refuse("more than one data frame");
    if (is_link(m.type) != (m.volume == Uuid{}))
        return refuse(std::string(type_name(m.type)) + (is_link(m.type) ? " names a volume"
                                                                          : " names no volume"));
    if (!has_count(m.type) && count) return refuse("range count on a message without ranges");

    switch (m.type) {
    case Type::Hello:
    case Type::HelloAck:
        if (body_len == 0 || body_len > kMaxSiteName) return refuse("bad site name length");
        m.site.resize(body_len);
        r.bytes(m.site.data(), body_len);
        if (!good_name(m.site)) return refuse("site name is not printable ASCII");
        break;
    case Type::Pong: {
        if (count > kMaxPromises || body_len != uint64_t(count) * 24)
            return refuse("bad promise list");
        for (uint32_t i = 0; i < count; i++) {
            Promised p;
            r.bytes(p.volume.data(), p.volume.size());
            p.generation = r.u64();
            if (p.volume == Uuid{} || !p.generation) return refuse("bad promise");
            m.promises.push_back(p);
        }
        if (count && !m.arg) return refuse("promises without a length");
        break;
    }
    case Type::WRenew:
    case Type::WClaim:
    case Type::WYield:
    case Type::WOutdate:
    case Type::WUptodate:
        if (!get_name(r, m.site) || !get_name(r, m.to_site) || r.left())
            return refuse(std::string("bad ") + type_name(m.type) + " body");
        if (!good_name(m.site)) return refuse("bad site name");
        if ((m.type == Type::WYield) != !m.to_site.empty())
            return refuse(std::string(type_name(m.type)) +
                          (m.to_site.empty() ? " names no site to yield to" : " names a second site"));
        if (m.type == Type::WYield && (!good_name(m.to_site) || m.to_site == m.site))
            return refuse("bad site to yield to");
        if (!m.generation) return refuse("generation 0");
        // Only an UPTODATE names an epoch (the region field), and it must.
        if ((m.type == Type::WUptodate) != (m.region != 0))
            return refuse(std::string(type_name(m.type)) +
                          (m.region ? " with a region" : " names no epoch"));
        break;
    case Type::WAnswer:
        if (!get_name(r, m.site) || r.left()) return refuse("bad W_ANSWER body");
        if (!m.site.empty() && !good_name(m.site)) return refuse("bad site name");
        break;
    case Type::Attach:
    case Type::AttachAck: {
        if (body_len != 16) return refuse("bad ATTACH body");
        m.info.region_sectors = r.u32();
        m.info.role = r.u8();
        m.info.origin = r.u8();
        m.info.split = r.u8();
        uint8_t flags = r.u8();
        m.info.nr_regions = r.u64();
        if (m.info.origin > DCC_ORIGIN_RESOLVED) return refuse("bad origin");
        if (m.info.split > 2) return refuse("bad split state");
        if (flags > 7) return refuse("unknown ATTACH flags");
        m.info.dirty = flags & 1;
        m.info.sync = flags & 2;
        m.info.witness = flags & 4;
        uint32_t rs = m.info.region_sectors;
        if (rs < 8 || rs > 2048 || (rs & (rs - 1))) return refuse("bad region size");
        if (m.info.role < 1 || m.info.role > 3) return refuse("bad role");
        if (!m.info.nr_regions) return refuse("volume without regions");
        break;
    }
    case Type::InvalidSet:
    case Type::Handover: {
        if (count > kMaxRanges || body_len != uint64_t(count) * 16) return refuse("bad range list");
        for (uint32_t i = 0; i < count; i++) {
            Range x{r.u64(), r.u64()};
            if (!x.count || x.start + x.count < x.start) return refuse("empty or wrapping range");
            if (!m.ranges.empty() && x.start <= m.ranges.back().end())
                return refuse("ranges unsorted, overlapping or adjacent");
            m.ranges.push_back(x);
        }
        break;
    }
    case Type::Mode:
        if (body_len) return refuse("MODE has a body");
        if (m.arg > 1) return refuse("MODE is 0 (async) or 1 (sync)");
        if (!m.generation) return refuse("generation 0");
        break;
    default:
        if (body_len) return refuse(std::string(type_name(m.type)) + " has a body");
    }
    return Decoded{std::move(m), {}};
}

}  // namespace dcc::wire
