// SPDX-License-Identifier: GPL-2.0-only
#include "dcc/meta.hpp"

#include <linux/dm-dcc.h>

#include <bit>
#include <cstring>

#include "dcc/error.hpp"

namespace dcc {

static_assert(sizeof(dcc_disk_sb) == kSbSize);
static_assert(kMetaBlock == DCC_META_BLOCK_SIZE);

namespace {

struct Crc32Table {
    uint32_t t[256];
    constexpr Crc32Table() : t{} {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
    }
};
constexpr Crc32Table kCrc;

void put_le32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (8 * i));
}
void put_le64(uint8_t* p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = uint8_t(v >> (8 * i));
}
uint32_t get_le32(const uint8_t* p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
uint64_t get_le64(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

#define OFF(field) offsetof(dcc_disk_sb, field)

uint64_t div_round_up(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

}  // namespace

uint32_t crc32(std::span<const uint8_t> data, uint32_t crc) {
    crc = ~crc;
    for (uint8_t b : data) crc = kCrc.t[(crc ^ b) & 0xff] ^ (crc >> 8);
    return ~crc;
}

std::optional<Uuid> parse_uuid(const std::string& text) {
    Uuid u{};
    size_t n = 0;
    for (size_t i = 0; i < text.size(); i++) {
        char c = text[i];
        if (c == '-') {
            if (i != 8 && i != 13 && i != 18 && i != 23) return std::nullopt;
            continue;
        }
        int v;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        else return std::nullopt;
        if (n >= 32) return std::nullopt;
        u[n / 2] = uint8_t((u[n / 2] << 4) | v);
        n++;
    }
    if (n != 32 || (text.size() != 32 && text.size() != 36)) return std::nullopt;
    return u;
}

std::string format_uuid(const Uuid& u) {
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < u.size(); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
        s += hex[u[i] >> 4];
        s += hex[u[i] & 15];
    }
    return s;
}

const char* role_name(Role r) {
    switch (r) {
    case Role::Owner: return "owner";
    case Role::Replica: return "replica";
    case Role::Yielding: return "yielding";
    }
    return "?";
}

std::optional<Role> parse_role(const std::string& name) {
    for (Role r : {Role::Owner, Role::Replica, Role::Yielding})
        if (name == role_name(r)) return r;
    return std::nullopt;
}

const char* origin_name(Origin o) {
    switch (o) {
    case Origin::Handover: return "handover";
    case Origin::Failover: return "failover";
    case Origin::Forced: return "forced";
    case Origin::Resolved: return "resolved";
    }
    return "?";
}

std::optional<Origin> parse_origin(const std::string& name) {
    for (Origin o : {Origin::Handover, Origin::Failover, Origin::Forced, Origin::Resolved})
        if (name == origin_name(o)) return o;
    return std::nullopt;
}

const char* split_name(Split s) {
    switch (s) {
    case Split::None: return "none";
    case Split::Old: return "old";
    case Split::New: return "new";
    }
    return "?";
}

std::optional<Split> parse_split(const std::string& name) {
    for (Split s : {Split::None, Split::Old, Split::New})
        if (name == split_name(s)) return s;
    return std::nullopt;
}

bool split_state_valid(uint32_t role, uint32_t origin, uint32_t split, uint64_t split_generation,
                       uint64_t generation) {
    if (origin > DCC_ORIGIN_RESOLVED || split > DCC_SPLIT_NEW) return false;
    if (split == DCC_SPLIT_OLD)
        return split_generation > generation ||
               (role == DCC_ROLE_YIELDING && split_generation == generation);
    return split_generation == 0;
}

std::optional<uint64_t> parse_size(const std::string& text) {
    if (text.empty()) return std::nullopt;
    uint64_t v = 0;
    size_t i = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; i++) {
        if (v > (UINT64_MAX - 9) / 10) return std::nullopt;
        v = v * 10 + uint64_t(text[i] - '0');
    }
    if (i == 0) return std::nullopt;
    std::string suffix = text.substr(i);
    unsigned shift = 0;
    if (suffix.empty() || suffix == "b") shift = 0;
    else if (suffix == "k" || suffix == "K" || suffix == "KiB") shift = 10;
    else if (suffix == "m" || suffix == "M" || suffix == "MiB") shift = 20;
    else if (suffix == "g" || suffix == "G" || suffix == "GiB") shift = 30;
    else if (suffix == "t" || suffix == "T" || suffix == "TiB") shift = 40;
    else if (suffix == "s") shift = 9;  // sectors
    else return std::nullopt;
    if (shift && v > (UINT64_MAX >> shift)) return std::nullopt;
    return v << shift;
}

Superblock make_layout(uint64_t data_bytes, uint32_t region_bytes, const Uuid& uuid,
                       Role role) {
    if (!std::has_single_bit(region_bytes) || region_bytes < 4096 || region_bytes > (1u << 20))
        throw Error(kExitUsage, "region size must be a power of two from 4 KiB to 1 MiB");
    if (data_bytes == 0 || data_bytes % 512)
        throw Error(kExitUsage, "data size must be a non-zero multiple of 512 bytes");
    Superblock sb;
    sb.uuid = uuid;
    sb.role = role;
    sb.data_sectors = data_bytes / 512;
    sb.region_sectors = region_bytes / 512;
    sb.nr_regions = div_round_up(sb.data_sectors, sb.region_sectors);
    sb.bitmap_blocks = div_round_up(sb.nr_regions, uint64_t(kMetaBlock) * 8);
    sb.valid_start = 1;
    sb.dirty_start = sb.valid_start + sb.bitmap_blocks;
    return sb;
}

uint64_t meta_bytes_needed(const Superblock& sb) {
    return (sb.dirty_start + sb.bitmap_blocks) * uint64_t(kMetaBlock);
}

std::vector<uint8_t> encode_superblock(const Superblock& sb) {
    std::vector<uint8_t> b(kMetaBlock, 0);
    uint8_t* p = b.data();
    put_le32(p + OFF(magic), DCC_SB_MAGIC);
    put_le32(p + OFF(version), sb.version);
    put_le32(p + OFF(flags), sb.flags);
    std::memcpy(p + OFF(uuid), sb.uuid.data(), sb.uuid.size());
    put_le64(p + OFF(data_sectors), sb.data_sectors);
    put_le64(p + OFF(nr_regions), sb.nr_regions);
    put_le64(p + OFF(generation), sb.generation);
    put_le32(p + OFF(region_sectors), sb.region_sectors);
    put_le32(p + OFF(role), uint32_t(sb.role));
    put_le64(p + OFF(valid_start), sb.valid_start);
    put_le64(p + OFF(dirty_start), sb.dirty_start);
    put_le64(p + OFF(bitmap_blocks), sb.bitmap_blocks);
    put_le32(p + OFF(origin), uint32_t(sb.origin));
    put_le32(p + OFF(split), uint32_t(sb.split));
    put_le64(p + OFF(split_generation), sb.split_generation);
    put_le32(p + OFF(csum), crc32({p + 4, kSbSize - 4}));
    return b;
}

const char* sb_status_text(SbStatus s) {
    switch (s) {
    case SbStatus::Ok: return "ok";
    case SbStatus::NotFormatted: return "not formatted (no dcc superblock)";
    case SbStatus::BadChecksum: return "superblock checksum mismatch (corrupt)";
    case SbStatus::BadVersion: return "unsupported metadata version";
    case SbStatus::Inconsistent: return "superblock fields are inconsistent (corrupt)";
    }
    return "?";
}

SbStatus decode_superblock(std::span<const uint8_t> block, Superblock& sb) {
    if (block.size() < kSbSize) return SbStatus::NotFormatted;
    const uint8_t* p = block.data();
    if (get_le32(p + OFF(magic)) != DCC_SB_MAGIC) return SbStatus::NotFormatted;
    if (get_le32(p + OFF(csum)) != crc32({p + 4, kSbSize - 4})) return SbStatus::BadChecksum;
    sb.version = get_le32(p + OFF(version));
    if (sb.version != DCC_SB_VERSION) return SbStatus::BadVersion;
    sb.flags = get_le32(p + OFF(flags));
    std::memcpy(sb.uuid.data(), p + OFF(uuid), sb.uuid.size());
    sb.data_sectors = get_le64(p + OFF(data_sectors));
    sb.nr_regions = get_le64(p + OFF(nr_regions));
    sb.generation = get_le64(p + OFF(generation));
    sb.region_sectors = get_le32(p + OFF(region_sectors));
    uint32_t role = get_le32(p + OFF(role));
    sb.valid_start = get_le64(p + OFF(valid_start));
    sb.dirty_start = get_le64(p + OFF(dirty_start));
    sb.bitmap_blocks = get_le64(p + OFF(bitmap_blocks));
    uint32_t origin = get_le32(p + OFF(origin)), split = get_le32(p + OFF(split));
    sb.split_generation = get_le64(p + OFF(split_generation));
    // The same checks the kernel makes (dcc_check_sb).
    if ((sb.flags & ~DCC_SB_F_ALL) || !std::has_single_bit(sb.region_sectors) ||
        sb.region_sectors < DCC_MIN_REGION_SECTORS || sb.region_sectors > DCC_MAX_REGION_SECTORS ||
        !sb.data_sectors || sb.nr_regions != div_round_up(sb.data_sectors, sb.region_sectors) ||
        sb.bitmap_blocks != div_round_up(sb.nr_regions, uint64_t(kMetaBlock) * 8) ||
        sb.valid_start != 1 || sb.dirty_start != sb.valid_start + sb.bitmap_blocks ||
        role < DCC_ROLE_OWNER || role > DCC_ROLE_YIELDING ||
        !split_state_valid(role, origin, split, sb.split_generation, sb.generation))
        return SbStatus::Inconsistent;
    sb.role = Role(role);
    sb.origin = Origin(origin);
    sb.split = Split(split);
    return SbStatus::Ok;
}

Bitmap::Bitmap(uint64_t nbits) : nbits_(nbits), bytes_(div_round_up(nbits, 8), 0) {}

Bitmap::Bitmap(uint64_t nbits, std::vector<uint8_t> bytes)
    : nbits_(nbits), bytes_(std::move(bytes)) {
    if (bytes_.size() < div_round_up(nbits, 8))
        throw Error(kExitError, "bitmap shorter than its region count");
}

void Bitmap::set_all() {
    std::fill(bytes_.begin(), bytes_.end(), 0);
    uint64_t full = nbits_ / 8;
    std::fill(bytes_.begin(), bytes_.begin() + long(full), 0xff);
    for (uint64_t i = full * 8; i < nbits_; i++) set(i);
}

uint64_t Bitmap::count() const {
    uint64_t n = 0, full = nbits_ / 8;
    for (uint64_t i = 0; i < full; i++) n += uint64_t(std::popcount(bytes_[i]));
    for (uint64_t i = full * 8; i < nbits_; i++) n += test(i);
    return n;
}

bool Bitmap::tail_clean(uint64_t padded_bits) const {
    for (uint64_t i = nbits_; i < padded_bits && (i >> 3) < bytes_.size(); i++)
        if (test(i)) return false;
    return true;
}

std::vector<uint8_t> Bitmap::blocks(uint64_t nblocks) const {
    std::vector<uint8_t> out(nblocks * kMetaBlock, 0);
    std::copy(bytes_.begin(), bytes_.begin() + long(std::min<uint64_t>(bytes_.size(), out.size())),
              out.begin());
    return out;
}

}  // namespace dcc
